//! The waitlist's own use cases: the shared ones (`crate::store::shared::waitlist`); the offers
//! a freed seat makes are in `offers.rs`.

crate::store::shared::waitlist::waitlist_queries!(super::adapter::SqliteStore);
