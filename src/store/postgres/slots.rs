//! Time slots: the shared functions (`crate::store::shared::slots`), and the batch insert,
//! which PostgreSQL does in one statement.

crate::store::shared::slots::slot_queries!();

/// Inserts a batch of slots in one statement, skipping those whose doctor, date and time are
/// taken; the rows it created. One statement rather than one per slot: a SERIALIZABLE batch of
/// a thousand separate statements collects enough predicate locks to have them promoted to a
/// lock on the whole table, and two doctors' batches then fail each other.
async fn insert_many(tx: &mut WriteTx, doctor: DoctorId, batch: &Batch<'_>) -> Inserted {
    let ids: Vec<SlotId> = batch.iter().map(|b| b.0).collect();
    let dates: Vec<NaiveDate> = batch.iter().map(|b| b.1.slot_date).collect();
    let times: Vec<chrono::NaiveTime> = batch.iter().map(|b| b.1.slot_time).collect();
    let starts: Vec<super::tx::Instant> = batch.iter().map(|b| b.2).collect();
    let minutes: Vec<i32> = batch.iter().map(|b| b.1.duration_minutes).collect();
    let seats: Vec<i32> = batch.iter().map(|b| b.1.max_capacity).collect();
    query_as(concat!(
        "INSERT INTO time_slots (id, doctor_id, slot_date, slot_time, starts_at,
                                 duration_minutes, max_capacity)
         SELECT u.id, $2, u.d, u.t, u.s, u.m, u.c
         FROM unnest($1::uuid[], $3::date[], $4::time[], $5::timestamptz[], $6::int[], $7::int[])
              AS u(id, d, t, s, m, c)
         ON CONFLICT (doctor_id, slot_date, slot_time) DO NOTHING ",
        new_slot_returning!()
    ))
    .bind(ids)
    .bind(doctor)
    .bind(dates)
    .bind(times)
    .bind(starts)
    .bind(minutes)
    .bind(seats)
    .fetch_all(&mut **tx)
    .await
    .map_err(doctor_fk)
}
