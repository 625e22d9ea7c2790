//! Accounts, sessions, signing keys, login failures and the access log, for both adapters.
//!
//! The statements are the same on PostgreSQL and SQLite (both take `$n` placeholders and
//! `RETURNING`); only the clock differs. One macro writes the functions once per backend, with
//! that backend's "now" and "n seconds ago" spelled in.

mod access;
mod port;
mod sessions;
mod users;

pub(crate) use port::impl_account_store;

/// The functions of every part for one backend (see [`users::user_queries`] for the
/// parameters), each part in a module of its own, all re-exported together.
macro_rules! spelt {
    ($db:ty, $pool:ty, $now:literal, $ago_open:literal, $ago_close:literal) => {
        mod users {
            crate::store::accounts::users_macro!($db, $pool, $now, $ago_open, $ago_close);
        }
        mod sessions {
            crate::store::accounts::sessions_macro!($db, $pool, $now, $ago_open, $ago_close);
        }
        mod access {
            crate::store::accounts::access_macro!($db, $pool, $now, $ago_open, $ago_close);
        }
        pub use access::*;
        pub use sessions::*;
        pub use users::*;
    };
}
pub(crate) use access::access_queries as access_macro;
pub(crate) use sessions::session_queries as sessions_macro;
pub(crate) use spelt;
pub(crate) use users::user_queries as users_macro;

/// The PostgreSQL spelling.
pub mod pg {
    crate::store::accounts::spelt!(
        sqlx::Postgres,
        crate::store::postgres::tx_pool::TxPool,
        "now()",
        "(now() - make_interval(secs => ",
        "::float8))"
    );
}

/// The SQLite spelling: instants are fixed-format UTC text.
pub mod lite {
    crate::store::accounts::spelt!(
        sqlx::Sqlite,
        sqlx::Pool<sqlx::Sqlite>,
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || ",
        " || ' seconds')"
    );
}
