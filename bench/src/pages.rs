//! The pages' scenarios: the front desk's day view of 20 doctors × 16 slots, and a doctor's
//! month view, each read by the page clients. Run on a server of their own: the day view has a
//! column per active doctor, so doctors other scenarios made would widen it.

use std::time::{Duration, Instant};

use crate::api::SlotSpec;
use crate::fixtures::{Fixtures, Target};
use crate::jobs::Get;
use crate::load::Plan;
use crate::results::ScenarioResult;
use crate::scenarios::{measure, result, Settings};

/// Doctors on the day view, and slots each that day.
const DOCTORS: usize = 20;
const SLOTS: u32 = 16;

/// `day`'s 16 half-hourly two-seat slots from 08:00.
fn day_of_slots(day: chrono::NaiveDate) -> Vec<SlotSpec> {
    (0..SLOTS)
        .map(|k| SlotSpec {
            date: day,
            time: chrono::NaiveTime::from_hms_opt(8 + k / 2, (k % 2) * 30, 0).unwrap_or_default(),
            capacity: 2,
        })
        .collect()
}

/// Measures `GET path` (a page, with the admin's session) after checking once that it
/// answers 200 with HTML naming `expect`.
async fn page_load(
    fx: &Fixtures,
    s: &Settings,
    name: &str,
    path: String,
    expect: &str,
    setup: Duration,
) -> Result<ScenarioResult, String> {
    let pages = fx.api.pages();
    let probe = pages.get(&path).await;
    let body = String::from_utf8_lossy(&probe.body);
    if probe.status != 200 || !body.contains(expect) {
        return Err(format!("{name}: {}", probe.describe()));
    }
    let plan = Plan {
        clients: s.page_clients,
        duration: s.duration,
        max_iterations: 10_000_000,
    };
    let w = measure(plan, Get { api: pages, path }, s).await?;
    let mut r = result(name, setup, "get", w);
    r.notes.push(format!(
        "each answer is a page of {} bytes",
        probe.body.len()
    ));
    Ok(r)
}

/// The front desk's day: 20 doctors × 16 two-seat slots, a third of the seats taken.
pub async fn desk_day(fx: &Fixtures, s: &Settings) -> Result<ScenarioResult, String> {
    let started = Instant::now();
    let day = Fixtures::day(4);
    let doctors = fx.doctors(DOCTORS).await?;
    let mut bookings: Vec<Target> = Vec::new();
    for d in &doctors {
        let ids = fx.api.create_slots(d, &day_of_slots(day)).await?;
        bookings.extend(ids.iter().step_by(3).map(|id| (d.clone(), id.clone())));
    }
    fx.book_all(bookings).await?;
    let path = format!("/desk?day={day}");
    page_load(
        fx,
        s,
        "page-desk-day",
        path,
        "table class=\"day\"",
        started.elapsed(),
    )
    .await
}

/// A doctor's month: 16 slots on each of 20 days, the first day chosen.
pub async fn doctor_month(fx: &Fixtures, s: &Settings) -> Result<ScenarioResult, String> {
    let started = Instant::now();
    let first = Fixtures::day(35);
    let first = chrono::Datelike::with_day(&first, 1).unwrap_or(first);
    let doctor = fx.doctors(1).await?.remove(0);
    let specs: Vec<SlotSpec> = (0..20u64)
        .flat_map(|d| {
            day_of_slots(
                first
                    .checked_add_days(chrono::Days::new(d))
                    .unwrap_or(first),
            )
        })
        .collect();
    fx.api.create_slots(&doctor, &specs).await?;
    let month = first.format("%Y-%m");
    let path = format!("/doctors/{doctor}?month={month}&day={first}");
    page_load(
        fx,
        s,
        "page-doctor-month",
        path,
        "table class=\"month\"",
        started.elapsed(),
    )
    .await
}
