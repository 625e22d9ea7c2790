//! `/doctors/{id}/schedules`: weekly rules and the slots generated from them — exactly the
//! expected slots across daylight-saving changes, idempotent regeneration, manual slots
//! winning, changing and ending a rule with booked slots, roles, and concurrent generators.

use std::collections::BTreeSet;

use carebook::config::Settings;
use carebook::jobs::generation::generate_once;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, next_clock_change, Backend, ClockChange, TestApp};

/// Days from today (UTC) past both next clock changes of both test zones, plus a week: a
/// horizon that covers a spring gap and an autumn overlap whatever today is.
fn long_horizon() -> i64 {
    let today = Utc::now().date_naive();
    ["Europe/Berlin", "America/New_York"]
        .iter()
        .flat_map(|z| {
            let tz: Tz = z.parse().unwrap();
            [ClockChange::Forward, ClockChange::Back].map(|c| next_clock_change(tz, c))
        })
        .map(|d| (d - today).num_days())
        .max()
        .unwrap()
        + 8
}

fn with_long_horizon(s: &mut Settings) {
    s.schedule_horizon_days = long_horizon();
}

/// Like `backends!`, for apps whose schedule horizon covers the next clock changes.
macro_rules! long_horizon_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use crate::common::{Backend, TestApp};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(TestApp::spawn_with(Backend::Postgres, super::with_long_horizon).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(TestApp::spawn_with(Backend::Sqlite, super::with_long_horizon).await).await
            }
        }
    )*};
}

fn rules(doctor: &str) -> String {
    format!("/doctors/{doctor}/schedules")
}

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

/// The UTC date `days` from now, `YYYY-MM-DD`.
fn day(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

fn today(tz: Tz) -> NaiveDate {
    Utc::now().with_timezone(&tz).date_naive()
}

/// Every slot of the doctor from yesterday on, via the list route.
async fn slots(app: &TestApp, doctor: &str) -> Vec<Value> {
    let from = Utc::now().date_naive() - Duration::days(1);
    let (s, b) = app
        .get(&format!("/doctors/{doctor}/time-slots?from_date={from}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["data"].as_array().unwrap().clone()
}

/// (date, time, starts_at) of slots as the API reports them.
fn keys(slots: &[Value]) -> BTreeSet<(NaiveDate, NaiveTime, DateTime<Utc>)> {
    slots
        .iter()
        .map(|s| {
            (
                s["slot_date"].as_str().unwrap().parse().unwrap(),
                s["slot_time"].as_str().unwrap().parse().unwrap(),
                DateTime::parse_from_rfc3339(s["starts_at"].as_str().unwrap())
                    .unwrap()
                    .with_timezone(&Utc),
            )
        })
        .collect()
}

/// What a rule should generate: for each date from `from` to `to` on `days`, each time in
/// `times` that exists locally (first occurrence when it repeats) and has not started.
fn expected(
    tz: Tz,
    (from, to): (NaiveDate, NaiveDate),
    days: &[Weekday],
    times: &[NaiveTime],
) -> BTreeSet<(NaiveDate, NaiveTime, DateTime<Utc>)> {
    let mut out = BTreeSet::new();
    let mut d = from;
    while d <= to {
        if days.contains(&d.weekday()) {
            for &time in times {
                if let Some(at) = tz.from_local_datetime(&d.and_time(time)).earliest() {
                    let at = at.with_timezone(&Utc);
                    if at > Utc::now() {
                        out.insert((d, time, at));
                    }
                }
            }
        }
        d = d.succ_opt().unwrap();
    }
    out
}

/// Creates a rule and returns the answer's `data`; asserts 201.
async fn create(app: &TestApp, doctor: &str, body: Value) -> Value {
    let (s, b) = app.post(&rules(doctor), body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["success"], true);
    b["data"].clone()
}

fn day_names(days: &[Weekday]) -> Vec<String> {
    days.iter()
        .map(|d| d.to_string().to_uppercase()[..3].to_owned())
        .collect()
}

async fn a_week_across_a_dst_change_yields_exactly_the_expected_slots(app: TestApp) {
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    let doctor = app.doctor_in("Europe/Berlin").await;
    let days = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ];
    let from = today(tz);
    let data = create(
        &app,
        &doctor,
        json!({"weekdays": day_names(&days), "start_time": "09:00", "end_time": "12:30",
               "slot_minutes": 20, "capacity": 2, "valid_from": from.to_string()}),
    )
    .await;
    let horizon = long_horizon();
    let want = expected(
        tz,
        (from, from + Duration::days(horizon)),
        &days,
        &(0..10)
            .map(|n| t(9, 0) + Duration::minutes(20 * n))
            .collect::<Vec<_>>(),
    );
    assert_eq!(data["created"], want.len() as u64, "{data}");
    assert_eq!(data["skipped"], json!([]), "{data}");
    assert_eq!(data["weekdays"], json!(day_names(&days)));
    let listed = slots(&app, &doctor).await;
    assert_eq!(keys(&listed), want);
    assert!(listed
        .iter()
        .all(|s| s["max_capacity"] == 2 && s["duration_minutes"] == 20));
    // 09:00 stays 09:00 local across the spring change; its instant moves an hour earlier.
    let change = next_clock_change(tz, ClockChange::Forward);
    let monday_after = (1..=7)
        .map(|n| change + Duration::days(n))
        .find(|d| d.weekday() == Weekday::Mon)
        .unwrap();
    let nine = |d: NaiveDate| {
        listed
            .iter()
            .find(|s| s["slot_date"] == d.to_string() && s["slot_time"] == "09:00:00")
            .map(|s| s["starts_at"].as_str().unwrap().to_owned())
            .expect("a 09:00 slot")
    };
    let before = monday_after - Duration::days(7);
    if before > from {
        assert_eq!(nine(before), format!("{before}T08:00:00Z"));
    }
    assert_eq!(nine(monday_after), format!("{monday_after}T07:00:00Z"));
    // Running the generator again, as the daily job does, creates nothing.
    let run = generate_once(&*app.store, horizon).await.unwrap();
    assert_eq!((run.rules, run.created), (1, 0), "{run:?}");
    assert_eq!(slots(&app, &doctor).await.len(), want.len());
}

async fn a_gap_is_skipped_and_reported_and_an_overlap_takes_the_first_occurrence(app: TestApp) {
    let tz: Tz = "America/New_York".parse().unwrap();
    let doctor = app.doctor_in("America/New_York").await;
    // New York changes clocks at 02:00 on Sundays: 02:00-02:59 is skipped in spring, and
    // 01:00-01:59 happens twice in autumn.
    let from = today(tz) + Duration::days(1);
    let times: Vec<NaiveTime> = (0..6)
        .map(|n| t(1, 0) + Duration::minutes(30 * n))
        .collect();
    let data = create(
        &app,
        &doctor,
        json!({"weekdays": ["SUN"], "start_time": "01:00", "end_time": "04:00",
               "slot_minutes": 30, "valid_from": from.to_string()}),
    )
    .await;
    let horizon = long_horizon();
    let to = today(tz) + Duration::days(horizon);
    let want = expected(tz, (from, to), &[Weekday::Sun], &times);
    assert_eq!(data["created"], want.len() as u64, "{data}");
    let spring = next_clock_change(tz, ClockChange::Forward);
    let skipped: Vec<(String, String)> = data["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert!(s["reason"].as_str().unwrap().contains("gap"), "{s}");
            (
                s["date"].as_str().unwrap().to_owned(),
                s["time"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            (spring.to_string(), "02:00:00".to_owned()),
            (spring.to_string(), "02:30:00".to_owned())
        ]
    );
    let listed = slots(&app, &doctor).await;
    assert_eq!(keys(&listed), want);
    let autumn = next_clock_change(tz, ClockChange::Back);
    let at = |time: &str| {
        listed
            .iter()
            .find(|s| s["slot_date"] == autumn.to_string() && s["slot_time"] == time)
            .map(|s| s["starts_at"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("a {time} slot on {autumn}"))
    };
    // The first 01:30 is daylight time (UTC-4); 02:00 comes after the repeated hour (UTC-5).
    assert_eq!(at("01:30:00"), format!("{autumn}T05:30:00Z"));
    assert_eq!(at("02:00:00"), format!("{autumn}T07:00:00Z"));
    let run = generate_once(&*app.store, horizon).await.unwrap();
    assert_eq!(run.created, 0, "{run:?}");
}

long_horizon_backends!(
    a_week_across_a_dst_change_yields_exactly_the_expected_slots,
    a_gap_is_skipped_and_reported_and_an_overlap_takes_the_first_occurrence,
);

/// A UTC doctor's rule on one date `days` ahead, 09:00-12:30 in 20-minute slots.
fn one_day(days: i64) -> (NaiveDate, Value) {
    let d = Utc::now().date_naive() + Duration::days(days);
    let name = d.weekday().to_string().to_uppercase()[..3].to_owned();
    (
        d,
        json!({"weekdays": [name], "start_time": "09:00", "end_time": "12:30",
               "slot_minutes": 20, "valid_from": d.to_string(), "valid_until": d.to_string()}),
    )
}

async fn a_manual_slot_wins_over_the_rule(app: TestApp) {
    let doctor = app.doctor().await;
    let (d, body) = one_day(2);
    let (s, b) = app
        .post(
            &format!("/doctors/{doctor}/time-slots"),
            json!({"slot_date": d.to_string(), "slot_time": "09:10"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let manual = b["data"]["id"].clone();
    let data = create(&app, &doctor, body).await;
    // 09:00 and 09:20 overlap the manual 09:10-09:40; the other 8 are created.
    assert_eq!(data["created"], 8, "{data}");
    let skipped = data["skipped"].as_array().unwrap();
    let times: Vec<&str> = skipped
        .iter()
        .map(|s| s["time"].as_str().unwrap())
        .collect();
    assert_eq!(times, ["09:00:00", "09:20:00"]);
    assert!(skipped
        .iter()
        .all(|s| s["date"] == d.to_string() && s["reason"].as_str().unwrap().contains("overlaps")));
    let listed = slots(&app, &doctor).await;
    assert_eq!(listed.len(), 9);
    assert_eq!(listed[0]["id"], manual);
    assert_eq!(listed[0]["slot_time"], "09:10:00");
}

async fn validation_errors_name_each_field(app: TestApp) {
    let doctor = app.doctor().await;
    let (s, b) = app
        .post(
            &rules(&doctor),
            json!({"weekdays": ["MON", "FUNDAY"], "start_time": "25:00", "end_time": "12:00",
                   "slot_minutes": 20, "valid_from": "tomorrow", "extra": 1}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let fields = error_fields(&b);
    for f in ["start_time", "valid_from", "extra"] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }
    assert!(
        fields.iter().any(|x| x.starts_with("weekdays")),
        "{fields:?}"
    );
    let (s, b) = app
        .post(
            &rules(&doctor),
            json!({"weekdays": ["MON"], "start_time": "09:00", "end_time": "12:00",
                   "slot_minutes": 4, "capacity": 1001, "valid_from": day(1)}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let mut fields = error_fields(&b);
    fields.sort();
    assert_eq!(fields, ["capacity", "slot_minutes"]);
    let (s, b) = app
        .post(
            &rules(&doctor),
            json!({"weekdays": ["MON"], "start_time": "12:00", "end_time": "09:00",
                   "slot_minutes": 30, "valid_from": day(10), "valid_until": day(1)}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let fields = error_fields(&b);
    for f in ["end_time", "valid_until"] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }
    let unknown = "00000000-0000-4000-8000-000000000000";
    let (s, b) = app.post(&rules(unknown), one_day(2).1).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = app
        .patch(
            &format!("{}/{unknown}", rules(&doctor)),
            json!({"capacity": 2}),
        )
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
}

async fn changing_and_ending_a_rule_keeps_booked_slots_and_lists_them(app: TestApp) {
    let doctor = app.doctor().await;
    let (d, body) = one_day(3);
    let rule = create(&app, &doctor, body).await;
    assert_eq!(rule["created"], 10, "{rule}");
    let id = rule["id"].as_str().unwrap().to_owned();
    let listed = slots(&app, &doctor).await;
    let booked = listed[1]["id"].as_str().unwrap().to_owned(); // 09:20
    let (s, b) = app.book(&app.patient().await, &doctor, &booked).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = app.get(&rules(&doctor)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"].as_array().unwrap().len(), 1);
    assert_eq!(b["data"][0]["id"], id.as_str());

    // Shorter days: free slots are laid out anew, the booked one stays as it is.
    let (s, b) = app
        .patch(
            &format!("{}/{id}", rules(&doctor)),
            json!({"end_time": "11:00", "capacity": 3}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let data = &b["data"];
    assert_eq!(data["end_time"], "11:00:00", "{data}");
    assert_eq!(data["removed"], 9, "{data}");
    assert_eq!(data["booked_slots"][0]["id"], booked.as_str(), "{data}");
    assert_eq!(data["created"], 5, "{data}");
    let listed = slots(&app, &doctor).await;
    let times: Vec<&str> = listed
        .iter()
        .map(|s| s["slot_time"].as_str().unwrap())
        .collect();
    assert_eq!(
        times,
        ["09:00:00", "09:20:00", "09:40:00", "10:00:00", "10:20:00", "10:40:00"]
    );
    assert_eq!(listed[1]["id"], booked.as_str());
    assert_eq!(listed[0]["max_capacity"], 3);
    assert!(listed.iter().all(|s| s["slot_date"] == d.to_string()));

    // Ending it removes the free future slots and keeps (and lists) the booked one.
    let (s, b) = app
        .call(
            Method::DELETE,
            &format!("{}/{id}", rules(&doctor)),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["removed"], 5, "{b}");
    assert_eq!(b["data"]["booked_slots"][0]["id"], booked.as_str(), "{b}");
    let listed = slots(&app, &doctor).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], booked.as_str());
    assert_eq!(listed[0]["current_bookings"], 1);
    let (_, b) = app.get(&rules(&doctor)).await;
    assert_eq!(b["data"], json!([]));
    let (s, b) = app
        .call(
            Method::DELETE,
            &format!("{}/{id}", rules(&doctor)),
            Value::Null,
        )
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
    // Nothing is left for the job to regenerate.
    let run = generate_once(&*app.store, 60).await.unwrap();
    assert_eq!(run, Default::default());
}

async fn staff_and_the_doctor_herself_manage_rules(app: TestApp) {
    let own = app.doctor_account().await;
    let mine = own.doctor_id.clone().unwrap();
    let other = app.doctor().await;
    let patient = app.sign_up().await;
    let scheduler = app.account("scheduler", None).await;
    let (_, body) = one_day(2);
    let (s, b) = app
        .as_user(&own, Method::POST, &rules(&mine), body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = app
        .as_user(&own, Method::GET, &rules(&mine), Value::Null)
        .await;
    assert_eq!(
        (s, b["data"].as_array().unwrap().len()),
        (StatusCode::OK, 1)
    );
    let (s, b) = app
        .as_user(&own, Method::POST, &rules(&other), body.clone())
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = app
        .as_user(&scheduler, Method::POST, &rules(&other), body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = app
        .as_user(&patient, Method::POST, &rules(&mine), body.clone())
        .await;
    assert_error(s, &b, 403, "FORBIDDEN");
    let (s, b) = app
        .as_user(&patient, Method::GET, &rules(&mine), Value::Null)
        .await;
    assert_error(s, &b, 403, "FORBIDDEN");
    let (s, b) = app.call_as(None, Method::POST, &rules(&mine), body).await;
    assert_error(s, &b, 401, "UNAUTHORIZED");
}

backends!(
    a_manual_slot_wins_over_the_rule,
    validation_errors_name_each_field,
    changing_and_ending_a_rule_keeps_booked_slots_and_lists_them,
    staff_and_the_doctor_herself_manage_rules,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_generators_on_one_database_create_each_slot_once() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let other = app.another_instance().await;
    let doctor = app.doctor().await;
    // Starts past the horizon: creating it generates nothing, the generators below do.
    let from = Utc::now().date_naive() + Duration::days(70);
    let data = create(
        &app,
        &doctor,
        json!({"weekdays": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"],
               "start_time": "08:00", "end_time": "18:00", "slot_minutes": 15,
               "valid_from": from.to_string()}),
    )
    .await;
    assert_eq!(data["created"], 0, "{data}");
    let (a, b) = tokio::join!(
        generate_once(&*app.store, 100),
        generate_once(&*other.store, 100)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let want = expected(
        Tz::UTC,
        (from, Utc::now().date_naive() + Duration::days(100)),
        &[
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ],
        &(0..40)
            .map(|n| t(8, 0) + Duration::minutes(15 * n))
            .collect::<Vec<_>>(),
    );
    assert_eq!(a.created + b.created, want.len() as u64, "{a:?} {b:?}");
    assert_eq!(keys(&slots(&app, &doctor).await), want);
    let rows = app
        .count_rows(&format!("time_slots WHERE doctor_id = '{doctor}'"))
        .await;
    assert_eq!(rows, want.len() as i64);
}
