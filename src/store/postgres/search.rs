//! Finding free slots across doctors on PostgreSQL.
//!
//! Two plans, one per shape of the search, each walking an index of migration 0010 in
//! (starts_at, id) order and stopping after `limit` free slots:
//! - one specialization: for each of its active doctors (`doctors_specialization_idx`), the
//!   doctor's first `limit` free slots in order (`time_slots_open_doctor_start_idx`), merged.
//!   Work grows with the doctors of that specialization, never with the others' slots, so a
//!   rare specialization is as quick as a common one.
//! - every specialization: the free slots of everyone in order (`time_slots_open_start_idx`),
//!   each checked against its doctor's row.

use crate::domain::search::{FoundSlot, SlotSearch};
use crate::domain::DomainResult;
use crate::store::retry::retry;
use crate::store::rows;
use crate::store::search::FoundRow;

use super::tx_pool::TxPool;

/// The reported columns of a free slot `t` whose overdue holds `l.lapsed` no longer count.
macro_rules! free_columns {
    () => {
        "t.id, t.doctor_id, t.slot_date, t.slot_time, t.duration_minutes, t.max_capacity,
         t.current_bookings - l.lapsed AS current_bookings,
         t.max_capacity - t.current_bookings + l.lapsed AS available_capacity,
         'AVAILABLE' AS status, t.starts_at, t.created_at, t.updated_at"
    };
}

/// The slots `t` with their overdue holds `l`, kept when free and inside the search. `$join`
/// adds a table and `$doctor` a condition; `$1`/`$2` are the local dates, `$3`/`$4` the
/// instants bounding them, `$5`/`$6` the cursor.
macro_rules! free_slots {
    ($join:literal, $doctor:literal) => {
        concat!(
            "FROM time_slots t
             CROSS JOIN LATERAL (
                 SELECT count(*)::int AS lapsed FROM appointments a
                 WHERE t.current_bookings > 0 AND a.time_slot_id = t.id
                   AND a.status = 'PENDING' AND a.expires_at <= now()
             ) l ",
            $join,
            " WHERE t.status = 'AVAILABLE' AND t.starts_at > now() ",
            $doctor,
            "
               AND t.starts_at >= coalesce($3, '-infinity'::timestamptz)
               AND t.starts_at < coalesce($4, 'infinity'::timestamptz)
               AND t.slot_date BETWEEN $1 AND $2
               AND (t.starts_at, t.id) > (coalesce($5, '-infinity'::timestamptz),
                                          coalesce($6, '00000000-0000-0000-0000-000000000000'::uuid))
               AND t.current_bookings - l.lapsed < t.max_capacity "
        )
    };
}

/// The doctor columns of a found slot, from `d`.
macro_rules! doctor_columns {
    () => {
        "d.name AS doctor_name, d.specialization AS doctor_specialization,
         d.clinic_name AS doctor_clinic_name, d.timezone AS doctor_timezone"
    };
}

/// One specialization (`$8`): each active doctor's first `$7` free slots, merged.
const OF_SPECIALIZATION: &str = concat!(
    "SELECT s.*, ",
    doctor_columns!(),
    " FROM doctors d
     CROSS JOIN LATERAL (SELECT ",
    free_columns!(),
    " ",
    free_slots!("", "AND t.doctor_id = d.id"),
    " ORDER BY t.starts_at, t.id LIMIT $7) s
     WHERE d.is_active AND lower(d.specialization) = lower($8)
     ORDER BY s.starts_at, s.id LIMIT $7"
);

/// Every specialization: the first `$7` free slots of active doctors.
const OF_ALL: &str = concat!(
    "SELECT ",
    free_columns!(),
    ", ",
    doctor_columns!(),
    " ",
    free_slots!("JOIN doctors d ON d.id = t.doctor_id AND d.is_active", ""),
    " ORDER BY t.starts_at, t.id LIMIT $7"
);

pub async fn find_free_slots(pool: &TxPool, q: &SlotSearch) -> DomainResult<Vec<FoundSlot>> {
    let (lower, upper) = q.instant_bounds();
    let found: Vec<FoundRow> = retry(|| async move {
        let sql = match q.specialization {
            Some(_) => OF_SPECIALIZATION,
            None => OF_ALL,
        };
        let mut query = crate::store::statements::query_as(sql)
            .bind(q.from)
            .bind(q.to)
            .bind(lower)
            .bind(upper)
            .bind(q.after.map(|c| c.starts_at))
            .bind(q.after.map(|c| c.id))
            .bind(q.limit);
        if let Some(s) = &q.specialization {
            query = query.bind(s.as_str());
        }
        Ok(query.fetch_all(pool).await?)
    })
    .await?;
    rows::all(found)
}
