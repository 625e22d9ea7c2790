//! The outbox's admin reads and writes and the reminders' loop, for both adapters. Claiming,
//! settling and renewing leases are each adapter's own: they are the worker's hot path, tuned
//! per database. The expansion site supplies, besides the seam of [`super`], `begin_queue`
//! (the transaction an outbox write runs in: READ COMMITTED on PostgreSQL, where row locks and
//! the lease keep it safe; the write lock on SQLite) and `REMIND` (the reminders' insert for
//! appointments starting within `$1` hours but after `$2` hours).

/// The shared outbox functions, expanded in an adapter's `outbox` module.
macro_rules! outbox_queries {
    () => {
        // Full paths: the adapter's own half of the module imports what it needs itself.
        use crate::domain::outbox::{OutboxItem as Item, OutboxStatus as ItemStatus};
        use crate::store::outbox_rows::{OutboxRow as Row, OUTBOX_COLUMNS as COLUMNS};

        pub async fn list(
            pool: &super::tx::Pool,
            status: Option<ItemStatus>,
            page: crate::domain::page::Page,
        ) -> crate::domain::DomainResult<crate::domain::page::Paged<Item>> {
            let status = status.map(ItemStatus::as_str);
            let filter = "WHERE $1 IS NULL OR o.status = $1";
            let count = format!("SELECT count(*) FROM outbox o {filter}");
            let list = format!(
                "SELECT {COLUMNS} FROM outbox o {filter} ORDER BY o.id DESC LIMIT $2 OFFSET $3"
            );
            let (count, list) = (&count, &list);
            let (total, rows): (i64, Vec<Row>) = super::tx::snapshot(pool, |mut tx| async move {
                Ok((
                    crate::store::shared::count_and_page!(tx, count, list, page, status),
                    tx,
                ))
            })
            .await?;
            Ok(crate::domain::page::Paged {
                items: rows
                    .into_iter()
                    .map(Item::try_from)
                    .collect::<Result<_, _>>()?,
                total,
            })
        }

        pub async fn retry_row(
            pool: &super::tx::Pool,
            id: i64,
        ) -> crate::domain::DomainResult<Item> {
            let sql = format!(
                concat!(
                    "UPDATE outbox SET attempts = 0, next_attempt_at = ",
                    now_sql!(),
                    ", last_error = NULL,
                     lease_until = CASE WHEN status = 'pending' THEN lease_until END,
                     lease_token = CASE WHEN status = 'pending' THEN lease_token END,
                     status = 'pending', delivered_at = NULL
                     WHERE id = $1 AND status IN ('dead', 'skipped', 'pending') RETURNING {}"
                ),
                COLUMNS.replace("o.", "")
            );
            let sql = &sql;
            let row: Row = crate::store::retry::in_tx(
                || super::tx::begin_queue(pool),
                |mut tx| async move {
                    let row: Option<Row> = crate::store::statements::query_as(sql)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(row) = row else {
                        let status: Option<String> = crate::store::statements::query_scalar(
                            "SELECT status FROM outbox WHERE id = $1",
                        )
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                        return Err(crate::store::retry::TxError::Domain(
                            crate::store::outbox_rows::refusal(status),
                        ));
                    };
                    Ok((row, tx))
                },
            )
            .await?;
            row.try_into()
        }

        /// Queues the reminders due for each of `hours` (largest first), skipping those
        /// queued already; how many it queued.
        pub async fn enqueue_reminders(
            pool: &super::tx::Pool,
            hours: &[u32],
        ) -> crate::domain::DomainResult<u64> {
            let mut total = 0;
            for (i, &h) in hours.iter().enumerate() {
                let floor = hours.get(i + 1).copied().unwrap_or(0);
                total += crate::store::retry::in_tx(
                    || super::tx::begin_queue(pool),
                    |mut tx| async move {
                        let n = crate::store::statements::query(REMIND)
                            .bind(h as i32)
                            .bind(floor as i32)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        Ok((n, tx))
                    },
                )
                .await?;
            }
            Ok(total)
        }

        /// One outbox write in its own transaction, retried whole; the rows it changed.
        async fn write<'q>(
            pool: &super::tx::Pool,
            statement: impl Fn() -> sqlx::query::Query<
                'q,
                super::tx::Db,
                <super::tx::Db as sqlx::Database>::Arguments<'q>,
            >,
        ) -> crate::domain::DomainResult<u64> {
            let statement = &statement;
            crate::store::retry::in_tx(
                || super::tx::begin_queue(pool),
                |mut tx| async move {
                    let n = statement().execute(&mut *tx).await?.rows_affected();
                    Ok((n, tx))
                },
            )
            .await
        }
    };
}
pub(crate) use outbox_queries;
