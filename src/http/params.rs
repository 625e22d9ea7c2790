//! Path and query parameters shared by several routes.

use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::{AppointmentId, DoctorId, PatientId};

/// `{id}` of a doctor.
#[derive(Deserialize, garde::Validate, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DoctorPath {
    /// The doctor's id.
    #[garde(skip)]
    pub id: DoctorId,
}

/// `{id}` of a patient.
#[derive(Deserialize, garde::Validate, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PatientPath {
    /// The patient's id.
    #[garde(skip)]
    pub id: PatientId,
}

/// `{id}` of an appointment.
#[derive(Deserialize, garde::Validate, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AppointmentPath {
    /// The appointment's id.
    #[garde(skip)]
    pub id: AppointmentId,
}

/// Declares a query struct with `limit` and `offset` plus the given fields, and its `page()`.
macro_rules! paged_query {
    ($(#[$doc:meta])* $name:ident { $($(#[$fm:meta])* $f:ident: $t:ty,)* }) => {
        $(#[$doc])*
        #[derive(Deserialize, garde::Validate, IntoParams)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            $($(#[$fm])* pub $f: $t,)*
            /// Items per page: 1 or more, default 20; above 100 is served as 100.
            #[garde(inner(range(min = 1)))]
            #[param(minimum = 1, example = 20)]
            pub limit: Option<i64>,
            /// Items to skip, default 0.
            #[garde(inner(range(min = 0)))]
            #[param(minimum = 0, example = 0)]
            pub offset: Option<i64>,
        }

        impl $name {
            /// The page asked for.
            pub fn page(&self) -> $crate::domain::page::Page {
                $crate::domain::page::Page::new(self.limit, self.offset)
            }
        }
    };
}
pub(crate) use paged_query;

paged_query!(
    /// `limit` and `offset`.
    PageQuery {}
);
