//! Reviews: the shared use case (`crate::store::shared::reviews`).

crate::store::shared::reviews::review_queries!(super::adapter::SqliteStore);
