//! Settings from the environment (and `.env`), documented by `carebook --help`.

mod raw;
mod resolve;
mod secret;
mod security;
mod settings;

pub use raw::{LogFormat, RawSettings, DEFAULT_DATABASE_URL};
pub use secret::Secret;
pub use security::{MasterKey, RawSecurity, Registration, SecuritySettings};
pub use settings::{
    AuthSettings, BookingSettings, DbSettings, NotifySettings, PageSettings, Settings,
};

#[cfg(test)]
mod tests;
