//! Seeds appointment history directly in SQL, for `growth`: 100 doctors, 20,000 patients, and
//! N/10 past slots of capacity 10, each holding 10 appointments (7 COMPLETED, 2 CANCELLED,
//! 1 EXPIRED, from distinct patients). Each slot's `current_bookings` is 7, the number of
//! seat-holding (COMPLETED) appointments on it; no row is PENDING or CONFIRMED, so the partial
//! unique index holds trivially. One INSERT … SELECT per table in one transaction.

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor};

use crate::results::SeedReport;

/// Doctors the seeded slots belong to.
const DOCTORS: u64 = 100;
/// Patients the seeded appointments belong to (each gets N / 20,000 of them).
const PATIENTS: u64 = 20_000;
/// Appointments per seeded slot, and its capacity.
const PER_SLOT: u64 = 10;

/// Inserts `appointments` (rounded down to a multiple of 10) into the database at `url`;
/// `tag` keeps the seeded e-mails and licence numbers unique.
pub async fn seed(url: &str, appointments: u64, tag: &str) -> Result<SeedReport, String> {
    let slots = appointments / PER_SLOT;
    let plan = Counts {
        slots,
        tag: tag.chars().filter(char::is_ascii_alphanumeric).collect(),
    };
    let report = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        postgres(url, &plan).await
    } else if let Some(path) = url.strip_prefix("sqlite:") {
        sqlite(path, &plan).await
    } else {
        Err(format!(
            "cannot seed '{url}': use postgres://… or sqlite:PATH"
        ))
    }?;
    Ok(SeedReport {
        appointments: slots * PER_SLOT,
        slots,
        patients: PATIENTS,
        doctors: DOCTORS,
        insert_s: report.0.as_secs_f64(),
        maintenance_s: report.1.as_secs_f64(),
        appointments_total: report.2,
    })
}

struct Counts {
    slots: u64,
    tag: String,
}

fn err(what: &str) -> impl Fn(sqlx::Error) -> String + '_ {
    move |e| format!("seeding ({what}): {e}")
}

async fn postgres(url: &str, c: &Counts) -> Result<(Duration, Duration, i64), String> {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .map_err(err("connect"))?;
    let (d, p, s, t) = (DOCTORS, PATIENTS, c.slots, &c.tag);
    let statements = [
        format!("CREATE TEMP TABLE seed_doctors ON COMMIT DROP AS
                 SELECT g AS n, gen_random_uuid() AS id FROM generate_series(0, {d} - 1) g"),
        format!("INSERT INTO doctors (id, name, specialization, email, license_number, timezone, created_at, updated_at)
                 SELECT id, 'Dr Seed ' || n, 'General Practice', 'seed-{t}-d' || n || '@clinic.example',
                        'SEED-{t}-' || n, 'UTC', now() - interval '400 days', now() - interval '400 days'
                 FROM seed_doctors"),
        format!("CREATE TEMP TABLE seed_patients ON COMMIT DROP AS
                 SELECT g AS n, gen_random_uuid() AS id FROM generate_series(0, {p} - 1) g"),
        "ALTER TABLE seed_patients ADD PRIMARY KEY (n)".to_owned(),
        format!("INSERT INTO patients (id, name, email, phone, created_at, updated_at)
                 SELECT id, 'Seed Patient ' || n, 'seed-{t}-p' || n || '@mail.example', '+1 555 010 0000',
                        now() - interval '400 days' + n * interval '1 second', now() - interval '400 days'
                 FROM seed_patients"),
        // Slot g belongs to doctor g mod D; its j = g / D picks day (30 + j / 24) days ago and a
        // quarter hour from 08:00, so (doctor, date, time) is unique.
        format!("CREATE TEMP TABLE seed_slots ON COMMIT DROP AS
                 SELECT g AS n, gen_random_uuid() AS id, d.id AS doctor_id,
                        current_date - 30 - ((g / {d}) / 24)::int AS slot_date,
                        time '08:00' + ((g / {d}) % 24) * interval '15 minutes' AS slot_time
                 FROM generate_series(0, {s} - 1) g JOIN seed_doctors d ON d.n = g % {d}"),
        "INSERT INTO time_slots (id, doctor_id, slot_date, slot_time, starts_at, duration_minutes, max_capacity,
                                 current_bookings, created_at, updated_at)
         SELECT id, doctor_id, slot_date, slot_time, (slot_date + slot_time) AT TIME ZONE 'UTC', 15, 10, 7,
                (slot_date + slot_time) AT TIME ZONE 'UTC' - interval '60 days',
                (slot_date + slot_time) AT TIME ZONE 'UTC' + interval '1 hour'
         FROM seed_slots".to_owned(),
        format!("INSERT INTO appointments (id, patient_id, doctor_id, time_slot_id, appointment_date, appointment_time,
                     starts_at, status, consultation_type, reason_for_visit, expires_at, confirmed_at, cancelled_at,
                     cancellation_reason, completed_at, created_at, updated_at)
                 SELECT gen_random_uuid(), p.id, s.doctor_id, s.id, s.slot_date, s.slot_time, s.at,
                        CASE WHEN k < 7 THEN 'COMPLETED' WHEN k < 9 THEN 'CANCELLED' ELSE 'EXPIRED' END,
                        (ARRAY['in-person', 'video', 'phone'])[1 + (s.n + k) % 3], 'seeded history',
                        s.at - interval '3 days' + interval '5 minutes',
                        CASE WHEN k < 7 THEN s.at - interval '3 days' + interval '1 minute' END,
                        CASE WHEN k IN (7, 8) THEN s.at - interval '1 day' END,
                        CASE WHEN k IN (7, 8) THEN 'seeded cancellation' END,
                        CASE WHEN k < 7 THEN s.at + interval '15 minutes' END,
                        s.at - interval '3 days', s.at - interval '1 day'
                 FROM (SELECT *, (slot_date + slot_time) AT TIME ZONE 'UTC' AS at FROM seed_slots) s
                 CROSS JOIN generate_series(0, {per} - 1) k
                 JOIN seed_patients p ON p.n = (s.n * {per} + k) % {p}", per = PER_SLOT),
    ];
    let started = Instant::now();
    let mut tx = conn.begin().await.map_err(err("begin"))?;
    for sql in &statements {
        tx.execute(sql.as_str()).await.map_err(err("insert"))?;
    }
    tx.commit().await.map_err(err("commit"))?;
    let inserted = started.elapsed();
    // What autovacuum would soon do on its own, done now so it does not land in a window.
    let started = Instant::now();
    for sql in [
        "VACUUM (ANALYZE) doctors, patients, time_slots, appointments",
        "CHECKPOINT",
    ] {
        conn.execute(sql).await.map_err(err("maintenance"))?;
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM appointments")
        .fetch_one(&mut conn)
        .await
        .map_err(err("count"))?;
    conn.close().await.map_err(err("close"))?;
    Ok((inserted, started.elapsed(), total))
}

/// SQLite: ids are random 16-byte BLOBs, dates 'YYYY-MM-DD', times 'HH:MM:SS', instants
/// '%Y-%m-%dT%H:%M:%fZ' text, as migrations/sqlite describes.
async fn sqlite(path: &str, c: &Counts) -> Result<(Duration, Duration, i64), String> {
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite:{path}"))
        .map_err(err("options"))?
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(60))
        .pragma("cache_size", "-262144");
    let mut conn = sqlx::SqliteConnection::connect_with(&opts)
        .await
        .map_err(err("connect"))?;
    let (d, p, s, t) = (DOCTORS, PATIENTS, c.slots, &c.tag);
    let iso = "'%Y-%m-%dT%H:%M:%fZ'";
    let series = |n: u64| {
        format!("WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < {n} - 1)")
    };
    let statements = [
        "CREATE TEMP TABLE seed_doctors (n INTEGER PRIMARY KEY, id BLOB NOT NULL)".to_owned(),
        format!("{} INSERT INTO seed_doctors SELECT n, randomblob(16) FROM g", series(d)),
        format!("INSERT INTO doctors (id, name, specialization, email, license_number, timezone, created_at, updated_at)
                 SELECT id, 'Dr Seed ' || n, 'General Practice', 'seed-{t}-d' || n || '@clinic.example',
                        'SEED-{t}-' || n, 'UTC', strftime({iso}, 'now', '-400 days'), strftime({iso}, 'now', '-400 days')
                 FROM seed_doctors"),
        "CREATE TEMP TABLE seed_patients (n INTEGER PRIMARY KEY, id BLOB NOT NULL)".to_owned(),
        format!("{} INSERT INTO seed_patients SELECT n, randomblob(16) FROM g", series(p)),
        format!("INSERT INTO patients (id, name, email, phone, created_at, updated_at)
                 SELECT id, 'Seed Patient ' || n, 'seed-{t}-p' || n || '@mail.example', '+1 555 010 0000',
                        strftime({iso}, 'now', '-400 days', '+' || n || ' seconds'), strftime({iso}, 'now', '-400 days')
                 FROM seed_patients"),
        "CREATE TEMP TABLE seed_slots (n INTEGER PRIMARY KEY, id BLOB NOT NULL, doctor_id BLOB NOT NULL,
                                       slot_date TEXT NOT NULL, slot_time TEXT NOT NULL, at TEXT NOT NULL)".to_owned(),
        format!("{g}, x AS (SELECT n, date('now', '-' || (30 + (n / {d}) / 24) || ' days') AS dt,
                                                  time('08:00:00', '+' || (((n / {d}) % 24) * 15) || ' minutes') AS tm FROM g)
                 INSERT INTO seed_slots SELECT x.n, randomblob(16), d.id, x.dt, x.tm, strftime({iso}, x.dt || ' ' || x.tm)
                 FROM x JOIN seed_doctors d ON d.n = x.n % {d}", g = series(s)),
        format!("INSERT INTO time_slots (id, doctor_id, slot_date, slot_time, starts_at, duration_minutes, max_capacity,
                                         current_bookings, created_at, updated_at)
                 SELECT id, doctor_id, slot_date, slot_time, at, 15, 10, 7,
                        strftime({iso}, at, '-60 days'), strftime({iso}, at, '+1 hour')
                 FROM seed_slots"),
        format!("{k} INSERT INTO appointments (id, patient_id, doctor_id, time_slot_id, appointment_date, appointment_time,
                     starts_at, status, consultation_type, reason_for_visit, expires_at, confirmed_at, cancelled_at,
                     cancellation_reason, completed_at, created_at, updated_at)
                 SELECT randomblob(16), p.id, s.doctor_id, s.id, s.slot_date, s.slot_time, s.at,
                        CASE WHEN k.n < 7 THEN 'COMPLETED' WHEN k.n < 9 THEN 'CANCELLED' ELSE 'EXPIRED' END,
                        CASE (s.n + k.n) % 3 WHEN 0 THEN 'in-person' WHEN 1 THEN 'video' ELSE 'phone' END,
                        'seeded history', s.created5,
                        CASE WHEN k.n < 7 THEN s.created1 END,
                        CASE WHEN k.n IN (7, 8) THEN s.before END,
                        CASE WHEN k.n IN (7, 8) THEN 'seeded cancellation' END,
                        CASE WHEN k.n < 7 THEN s.after END,
                        s.created, s.before
                 FROM (SELECT *, strftime({iso}, at, '-3 days') AS created,
                              strftime({iso}, at, '-3 days', '+1 minutes') AS created1,
                              strftime({iso}, at, '-3 days', '+5 minutes') AS created5,
                              strftime({iso}, at, '-1 days') AS before,
                              strftime({iso}, at, '+15 minutes') AS after FROM seed_slots) s
                 CROSS JOIN g k
                 JOIN seed_patients p ON p.n = (s.n * {per} + k.n) % {p}", k = series(PER_SLOT), per = PER_SLOT),
    ];
    let started = Instant::now();
    conn.execute("BEGIN IMMEDIATE")
        .await
        .map_err(err("begin"))?;
    for sql in &statements {
        if let Err(e) = conn.execute(sql.as_str()).await {
            let _ = conn.execute("ROLLBACK").await;
            return Err(err("insert")(e));
        }
    }
    conn.execute("COMMIT").await.map_err(err("commit"))?;
    let inserted = started.elapsed();
    // Fold the WAL back into the file so the next writes do not start behind a huge log.
    // No ANALYZE: carebook itself never runs one, so plans stay as in production.
    let started = Instant::now();
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
        .map_err(err("checkpoint"))?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM appointments")
        .fetch_one(&mut conn)
        .await
        .map_err(err("count"))?;
    conn.close().await.map_err(err("close"))?;
    Ok((inserted, started.elapsed(), total))
}
