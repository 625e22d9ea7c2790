//! Time slots: the shared functions (`crate::store::shared::slots`).

crate::store::shared::slots::slot_queries!();
