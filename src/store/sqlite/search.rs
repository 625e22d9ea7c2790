//! Finding free slots across doctors on SQLite.
//!
//! The same two plans as on PostgreSQL, over the indexes of migration 0006: for one
//! specialization, each of its active doctors' first `limit` free slots in (starts_at, id)
//! order (a correlated `IN` list per doctor, SQLite having no LATERAL), merged; for every
//! specialization, everyone's free slots in that order, each checked against its doctor.

use chrono::Datelike;
use sqlx::SqlitePool;

use super::tx::instant;
use crate::domain::search::{FoundSlot, SlotSearch};
use crate::domain::{DomainResult, SlotId};
use crate::store::retry::retry;
use crate::store::rows;
use crate::store::search::FoundRow;

/// Overdue holds of the slot `$t`, which no longer count against its seats.
macro_rules! lapsed {
    ($t:literal) => {
        concat!(
            "(CASE WHEN ",
            $t,
            ".current_bookings > 0 THEN (SELECT count(*) FROM appointments a WHERE a.time_slot_id = ",
            $t,
            ".id AND a.status = 'PENDING' AND a.expires_at <= ",
            now_sql!(),
            ") ELSE 0 END)"
        )
    };
}

/// The slots `$t` kept when free and inside the search: `?1`/`?2` the local dates, `?3`/`?4`
/// the instants bounding them, `?5`/`?6` the cursor.
macro_rules! free {
    ($t:literal) => {
        concat!(
            $t,
            ".status = 'AVAILABLE' AND ",
            $t,
            ".starts_at > ",
            now_sql!(),
            " AND ",
            $t,
            ".starts_at >= ?3 AND ",
            $t,
            ".starts_at < ?4
              AND ",
            $t,
            ".slot_date BETWEEN ?1 AND ?2
              AND (",
            $t,
            ".starts_at, ",
            $t,
            ".id) > (?5, ?6)
              AND ",
            $t,
            ".max_capacity - ",
            $t,
            ".current_bookings + ",
            lapsed!($t),
            " > 0"
        )
    };
}

/// The reported columns of the free slot `t` and its doctor `d`.
macro_rules! columns {
    () => {
        concat!(
            "SELECT t.id, t.doctor_id, t.slot_date, t.slot_time, t.duration_minutes, t.max_capacity,
                    t.current_bookings - ", lapsed!("t"), " AS current_bookings,
                    t.max_capacity - t.current_bookings + ", lapsed!("t"), " AS available_capacity,
                    'AVAILABLE' AS status, t.starts_at, t.created_at, t.updated_at,
                    d.name AS doctor_name, d.specialization AS doctor_specialization,
                    d.clinic_name AS doctor_clinic_name, d.timezone AS doctor_timezone "
        )
    };
}

/// One specialization (`?8`): each active doctor's first `?7` free slots, merged.
const OF_SPECIALIZATION: &str = concat!(
    columns!(),
    "FROM doctors d JOIN time_slots t ON t.id IN (
         SELECT f.id FROM time_slots f WHERE f.doctor_id = d.id AND ",
    free!("f"),
    " ORDER BY f.starts_at, f.id LIMIT ?7)
     WHERE d.is_active AND lower(d.specialization) = lower(?8)
     ORDER BY t.starts_at, t.id LIMIT ?7"
);

/// Every specialization: the first `?7` free slots of active doctors.
const OF_ALL: &str = concat!(
    columns!(),
    "FROM time_slots t JOIN doctors d ON d.id = t.doctor_id
     WHERE d.is_active AND ",
    free!("t"),
    " ORDER BY t.starts_at, t.id LIMIT ?7"
);

/// `text`, or the text below (`year` < 0) or above every stored instant.
fn beyond(text: Option<String>, year: i32) -> String {
    match text {
        Some(t) => t,
        None if year < 0 => String::new(),
        None => "~".into(),
    }
}

pub async fn find_free_slots(pool: &SqlitePool, q: &SlotSearch) -> DomainResult<Vec<FoundSlot>> {
    // Stored instants are fixed-width text; a bound outside 0000..=9999 is the text below or
    // above every one of them.
    let (lower, upper) = q.instant_bounds();
    let lower = lower.and_then(instant).unwrap_or_default();
    let upper = upper.and_then(instant).unwrap_or_else(|| "~".into());
    let cursor = match q.after {
        Some(c) => (beyond(instant(c.starts_at), c.starts_at.year()), c.id),
        None => (String::new(), SlotId(uuid::Uuid::nil())),
    };
    let (lower, upper, cursor) = (&lower, &upper, &cursor);
    let found: Vec<FoundRow> = retry(|| async move {
        let sql = match q.specialization {
            Some(_) => OF_SPECIALIZATION,
            None => OF_ALL,
        };
        let mut query = sqlx::query_as(sql)
            .bind(q.from)
            .bind(q.to)
            .bind(lower)
            .bind(upper)
            .bind(&cursor.0)
            .bind(cursor.1)
            .bind(q.limit);
        if let Some(s) = &q.specialization {
            query = query.bind(s.as_str());
        }
        Ok(query.fetch_all(pool).await?)
    })
    .await?;
    rows::all(found)
}
