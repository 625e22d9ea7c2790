//! Removing a time slot laid by mistake, for both adapters: the statements are the same on
//! PostgreSQL and SQLite, so they are written once.

macro_rules! removal {
    ($pool:ty) => {
        use crate::domain::{DomainError, DomainResult, DoctorId, SlotId};
        use crate::store::retry::{in_tx, TxError};
        use crate::store::statements::{query, query_as};

        /// Deletes the slot if it never held an appointment and no weekly rule laid it.
        pub async fn delete_slot(pool: &$pool, doctor: DoctorId, slot: SlotId) -> DomainResult<()> {
            in_tx(|| pool.begin(), |mut tx| async move {
                let found: Option<(bool, bool)> = query_as(
                    "SELECT EXISTS (SELECT 1 FROM appointments a WHERE a.time_slot_id = s.id),
                            s.schedule_id IS NOT NULL
                     FROM time_slots s WHERE s.id = $1 AND s.doctor_id = $2",
                )
                .bind(slot)
                .bind(doctor)
                .fetch_optional(&mut *tx)
                .await?;
                match found {
                    None => return Err(TxError::Domain(DomainError::NotFound("time slot"))),
                    Some((true, _)) => {
                        return Err(TxError::Domain(DomainError::conflict(
                            "SLOT_IN_USE",
                            "This time slot has held appointments: block it instead",
                        )))
                    }
                    Some((false, true)) => {
                        return Err(TxError::Domain(DomainError::conflict(
                            "SLOT_FROM_SCHEDULE",
                            "A weekly schedule lays this time slot: change the schedule, or block the slot",
                        )))
                    }
                    Some((false, false)) => {}
                }
                query("DELETE FROM time_slots WHERE id = $1 AND doctor_id = $2")
                    .bind(slot)
                    .bind(doctor)
                    .execute(&mut *tx)
                    .await?;
                Ok(((), tx))
            })
            .await
        }
    };
}

/// The PostgreSQL spelling (SERIALIZABLE write pool: a booking racing the delete conflicts).
pub mod pg {
    removal!(crate::store::postgres::tx_pool::TxPool);
}

/// The SQLite spelling (the one writer: nothing races).
pub mod lite {
    removal!(sqlx::Pool<sqlx::Sqlite>);
}
