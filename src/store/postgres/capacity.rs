//! What the PostgreSQL server can hold, checked at start.

use crate::store::options::OpenError;

/// Refuses pools the server cannot hold: `DB_POOL_SIZE` is per pool, and an instance opens a
/// write pool and a read pool on the primary, so it may hold twice that many connections.
/// Past `max_connections` (less the superuser reserve) requests would wait out their acquire
/// timeout for connections the server refuses. (Behind a pooler the pooler's own limits count,
/// so this is checked only on direct connections.)
pub(super) async fn check_pools_fit(
    conn: &mut sqlx::PgConnection,
    pool_size: u32,
) -> Result<(), OpenError> {
    let (max, reserved): (String, String) = sqlx::query_as(
        "SELECT current_setting('max_connections'), current_setting('superuser_reserved_connections')",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(OpenError::Connect)?;
    let (max, reserved) = (
        max.parse::<u32>().unwrap_or(0),
        reserved.parse::<u32>().unwrap_or(0),
    );
    let room = max.saturating_sub(reserved);
    let wanted = pool_size.saturating_mul(2);
    if max > 0 && wanted > room {
        return Err(OpenError::Config(format!(
            "DB_POOL_SIZE {pool_size} opens up to {wanted} connections (a write and a read pool of \
             {pool_size} each), but the server allows max_connections {max} ({reserved} kept for \
             superusers): set DB_POOL_SIZE to at most {} or raise max_connections",
            room / 2
        )));
    }
    Ok(())
}
