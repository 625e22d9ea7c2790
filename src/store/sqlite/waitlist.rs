//! The waitlist on SQLite: its routes' use cases, and the offer every releasing use case
//! (cancel, expiry, reschedule, time off lifted) runs inside its own write transaction. Writes
//! are serialized, so the first in line read here is still first when the hold is written.

use async_trait::async_trait;
use sqlx::{SqliteConnection, SqlitePool};

use super::{begin_write, db_now, SqliteStore};
use crate::domain::page::{Page, Paged};
use crate::domain::user::{AccessAction, Accessor};
use crate::domain::waitlist::{
    NewWaitlistEntry, OfferTerms, WaitlistEntry, WaitlistFilter, WaitlistId, WaitlistStore,
};
use crate::domain::{AppointmentId, DomainError, DomainResult, PatientId, SlotId};
use crate::store::accounts::lite::record_write;
use crate::store::retry::retry;
use crate::store::rows;
use crate::store::waitlist_rows::{overlapping, WaitlistRow, COLS, FILTER, OVERLAP};

/// The first entry in line for a free seat of slot `?1` as of `?2` (AVAILABLE, a seat left, not
/// started): same doctor, the slot's local date within the entry's dates, a patient with no
/// appointment on the slot at all (held, cancelled or expired) and under the hold cap `?3`
/// (NULL: none), FIFO by join time.
const FIRST_IN_LINE: &str = "SELECT w.id, w.patient_id FROM time_slots s
     JOIN waitlist_entries w ON w.doctor_id = s.doctor_id AND w.status = 'WAITING'
          AND s.slot_date BETWEEN w.from_date AND w.to_date
     WHERE s.id = ?1 AND s.status = 'AVAILABLE' AND s.current_bookings < s.max_capacity
       AND s.starts_at > ?2
       AND NOT EXISTS (SELECT 1 FROM appointments a
                       WHERE a.time_slot_id = s.id AND a.patient_id = w.patient_id)
       AND (?3 IS NULL OR (SELECT count(*) FROM appointments a WHERE a.patient_id = w.patient_id
                           AND a.status = 'PENDING' AND a.expires_at > ?2) < ?3)
     ORDER BY w.created_at, w.id LIMIT 1";

/// Gives one free seat of `slot` to the first in line: the hold, its seat, the entry marked
/// OFFERED and the `OFFERED_FROM_WAITLIST` audit row by `system`. `false` when nobody fits.
async fn offer_one(
    conn: &mut SqliteConnection,
    now: &str,
    slot: SlotId,
    terms: OfferTerms,
) -> Result<bool, sqlx::Error> {
    let pick: Option<(uuid::Uuid, PatientId)> = sqlx::query_as(FIRST_IN_LINE)
        .bind(slot)
        .bind(now)
        .bind(terms.max_holds)
        .fetch_optional(&mut *conn)
        .await?;
    let Some((entry, patient)) = pick else {
        return Ok(false);
    };
    let id = AppointmentId::time_ordered();
    sqlx::query(
        "UPDATE time_slots SET current_bookings = current_bookings + 1, updated_at = ?2 WHERE id = ?1",
    )
    .bind(slot)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO appointments (id, patient_id, doctor_id, time_slot_id, appointment_date, appointment_time,
                                   starts_at, consultation_type, reason_for_visit, expires_at,
                                   created_at, updated_at)
         SELECT ?1, ?2, s.doctor_id, s.id, s.slot_date, s.slot_time, s.starts_at, 'in-person', NULL,
                strftime('%Y-%m-%dT%H:%M:%fZ', ?4, ?5), ?4, ?4
         FROM time_slots s WHERE s.id = ?3",
    )
    .bind(id)
    .bind(patient)
    .bind(slot)
    .bind(now)
    .bind(format!("{:+} seconds", terms.hold_secs))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE waitlist_entries SET status = 'OFFERED', appointment_id = ?2, offered_at = ?3
         WHERE id = ?1",
    )
    .bind(entry)
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO appointment_audit_log (appointment_id, action, old_status, new_status, reason, actor, actor_role)
         VALUES (?1, 'OFFERED_FROM_WAITLIST', NULL, 'PENDING', ?2, 'system', 'system')",
    )
    .bind(id)
    .bind(format!("offered from waitlist entry {entry}"))
    .execute(&mut *conn)
    .await?;
    tracing::info!(appointment_id = %id, slot_id = %slot, "seat offered from the waitlist");
    Ok(true)
}

/// Offers up to `seats` freed seats of `slot` to the first patients in line, inside the
/// caller's write transaction. Returns how many were offered.
pub(super) async fn offer_seats(
    conn: &mut SqliteConnection,
    now: &str,
    slot: SlotId,
    seats: usize,
    terms: OfferTerms,
) -> Result<u64, sqlx::Error> {
    let mut offered = 0;
    for _ in 0..seats {
        if !offer_one(conn, now, slot, terms).await? {
            break;
        }
        offered += 1;
    }
    Ok(offered)
}

async fn join(
    pool: &SqlitePool,
    new: &NewWaitlistEntry,
    by: Option<&Accessor>,
) -> DomainResult<WaitlistEntry> {
    let id = WaitlistId::random();
    let row: WaitlistRow = retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let now = db_now(&mut tx).await?;
        let (patient, doctor): (bool, bool) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM patients WHERE id = $1),
                    EXISTS (SELECT 1 FROM doctors WHERE id = $2)",
        )
        .bind(new.patient_id)
        .bind(new.doctor_id)
        .fetch_one(&mut *tx)
        .await?;
        if !patient {
            return Err(DomainError::NotFound("patient").into());
        }
        if !doctor {
            return Err(DomainError::NotFound("doctor").into());
        }
        let taken: bool = sqlx::query_scalar(OVERLAP)
            .bind(new.patient_id)
            .bind(new.doctor_id)
            .bind(new.from_date)
            .bind(new.to_date)
            .fetch_one(&mut *tx)
            .await?;
        if taken {
            return Err(overlapping().into());
        }
        let sql = format!(
            "INSERT INTO waitlist_entries (id, patient_id, doctor_id, from_date, to_date, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLS}"
        );
        let row: WaitlistRow = sqlx::query_as(&sql)
            .bind(id.0)
            .bind(new.patient_id)
            .bind(new.doctor_id)
            .bind(new.from_date)
            .bind(new.to_date)
            .bind(&now)
            .fetch_one(&mut *tx)
            .await?;
        record_write(&mut tx, by, new.patient_id, AccessAction::Create).await?;
        tx.commit().await?;
        Ok(row)
    })
    .await?;
    row.try_into()
}

async fn list(
    pool: &SqlitePool,
    filter: WaitlistFilter,
    page: Page,
) -> DomainResult<Paged<WaitlistEntry>> {
    let (total, items): (i64, Vec<WaitlistRow>) = retry(|| async move {
        let mut tx = pool.begin().await?;
        let total = sqlx::query_scalar(&format!("SELECT count(*) {FILTER}"))
            .bind(filter.patient)
            .bind(filter.doctor)
            .fetch_one(&mut *tx)
            .await?;
        let sql = format!("SELECT {COLS} {FILTER} ORDER BY created_at, id LIMIT $3 OFFSET $4");
        let items = sqlx::query_as(&sql)
            .bind(filter.patient)
            .bind(filter.doctor)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((total, items))
    })
    .await?;
    rows::paged(total, items)
}

async fn leave(
    pool: &SqlitePool,
    id: WaitlistId,
    only: WaitlistFilter,
    by: Option<&Accessor>,
) -> DomainResult<WaitlistEntry> {
    retry(|| async move {
        let mut tx = begin_write(pool).await?;
        let sql = format!(
            "DELETE FROM waitlist_entries WHERE id = $1 AND ($2 IS NULL OR patient_id = $2)
               AND ($3 IS NULL OR doctor_id = $3)
             RETURNING {COLS}"
        );
        let row: Option<WaitlistRow> = sqlx::query_as(&sql)
            .bind(id.0)
            .bind(only.patient)
            .bind(only.doctor)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(DomainError::NotFound("waitlist entry").into());
        };
        let entry: WaitlistEntry = row.try_into()?;
        record_write(&mut tx, by, entry.patient_id, AccessAction::Update).await?;
        tx.commit().await?;
        Ok(entry)
    })
    .await
}

#[async_trait]
impl WaitlistStore for SqliteStore {
    fn set_offer_terms(&self, terms: OfferTerms) {
        self.terms.set(terms);
    }
    async fn join_waitlist(
        &self,
        new: NewWaitlistEntry,
        by: Option<Accessor>,
    ) -> DomainResult<WaitlistEntry> {
        join(&self.writer, &new, by.as_ref()).await
    }
    async fn list_waitlist(
        &self,
        filter: WaitlistFilter,
        page: Page,
    ) -> DomainResult<Paged<WaitlistEntry>> {
        list(&self.reader, filter, page).await
    }
    async fn leave_waitlist(
        &self,
        id: WaitlistId,
        only: WaitlistFilter,
        by: Option<Accessor>,
    ) -> DomainResult<WaitlistEntry> {
        leave(&self.writer, id, only, by.as_ref()).await
    }
}
