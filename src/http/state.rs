//! What every handler can reach.

use std::sync::Arc;

use crate::auth::Auth;
use crate::config::Settings;
use crate::domain::store::Store;

use super::availability;
use super::limits::Limits;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub auth: Arc<Auth>,
    pub limits: Arc<Limits>,
    /// Ready answers of `GET /doctors/{id}/available-slots`.
    pub availability: Arc<availability::AvailabilityCache>,
    /// How this instance's background jobs fare (`/health/ready`).
    pub jobs: Arc<crate::jobs::health::JobHealth>,
    /// Sends the account e-mails (verification, invitation, password reset).
    pub mail: Arc<crate::notify::email::account::AccountMail>,
    /// The callers whose writes the read replica has not replayed yet.
    pub fences: Arc<super::fences::Fences>,
}

impl AppState {
    /// Today in the clinic's time zone (bounds dates of birth).
    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.settings.clinic_timezone)
            .date_naive()
    }
}
