//! The domain's typed ids as SQL values: each is stored, bound and read as its UUID.

use crate::domain::{
    AppointmentId, DoctorId, PatientId, ScheduleId, SessionId, SlotId, TimeOffId, UserId,
};

macro_rules! sqlx_id {
    ($($t:ty),*) => {$(
        impl<DB: sqlx::Database> sqlx::Type<DB> for $t
        where
            uuid::Uuid: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <uuid::Uuid as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <uuid::Uuid as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $t
        where
            uuid::Uuid: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <uuid::Uuid as sqlx::Encode<'q, DB>>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $t
        where
            uuid::Uuid: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(Self(<uuid::Uuid as sqlx::Decode<'r, DB>>::decode(value)?))
            }
        }

        impl sqlx::postgres::PgHasArrayType for $t {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <uuid::Uuid as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }
    )*};
}

sqlx_id!(
    DoctorId,
    PatientId,
    SlotId,
    AppointmentId,
    UserId,
    SessionId,
    ScheduleId,
    TimeOffId
);
