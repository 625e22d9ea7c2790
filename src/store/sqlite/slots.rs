//! Time slots: the shared functions (`crate::store::shared::slots`), and the batch insert,
//! one statement a slot on the single writer.

crate::store::shared::slots::slot_queries!();

/// Inserts a batch of slots, skipping those whose doctor, date and time are taken; the rows it
/// created. The writer holds the database's lock throughout: no batch can conflict with
/// another, so a statement a slot costs nothing but its own work.
async fn insert_many(tx: &mut WriteTx, doctor: DoctorId, batch: &Batch<'_>) -> Inserted {
    let mut created = Vec::with_capacity(batch.len());
    for (id, s, start) in batch {
        created.extend(insert(tx, *id, doctor, s, start).await?);
    }
    Ok(created)
}
