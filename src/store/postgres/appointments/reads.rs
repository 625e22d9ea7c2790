//! Reading appointments on PostgreSQL: the shared functions (`crate::store::shared::reads`).

crate::store::shared::reads::appointment_reads!(super::super::tx);
