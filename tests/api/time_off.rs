//! `/doctors/{id}/time-off`: blocking the free slots inside, reporting the booked ones,
//! restoring exactly what it blocked, generation skipping it, and who may enter it.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::common::{assert_error, error_fields, TestApp};

fn off(doctor: &str) -> String {
    format!("/doctors/{doctor}/time-off")
}

fn date(days: i64) -> NaiveDate {
    Utc::now().date_naive() + Duration::days(days)
}

/// A rule for the weekdays of dates `days` and `days + 1` ahead, only those two dates,
/// 09:00-12:30 in 20-minute slots.
fn two_days(days: i64) -> Value {
    let (a, b) = (date(days), date(days + 1));
    let name = |d: NaiveDate| d.weekday().to_string().to_uppercase()[..3].to_owned();
    json!({"weekdays": [name(a), name(b)], "start_time": "09:00", "end_time": "12:30",
           "slot_minutes": 20, "valid_from": a.to_string(), "valid_until": b.to_string()})
}

/// Every slot of the doctor from yesterday on, by start.
async fn slots(app: &TestApp, doctor: &str) -> Vec<Value> {
    let (s, b) = app
        .get(&format!(
            "/doctors/{doctor}/time-slots?from_date={}",
            date(-1)
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["data"].as_array().unwrap().clone()
}

fn find<'a>(slots: &'a [Value], d: NaiveDate, time: &str) -> &'a Value {
    slots
        .iter()
        .find(|s| s["slot_date"] == d.to_string() && s["slot_time"] == time)
        .unwrap_or_else(|| panic!("a slot at {d} {time}"))
}

fn statuses(slots: &[Value]) -> Vec<(String, String)> {
    slots
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn time_off_blocks_free_slots_reports_booked_ones_and_delete_restores_exactly(app: TestApp) {
    let doctor = app.doctor().await;
    let (s, b) = app
        .post(&format!("/doctors/{doctor}/schedules"), two_days(2))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["created"], 20, "{b}");
    let d = date(2);
    let before = slots(&app, &doctor).await;
    let booked = find(&before, d, "10:00:00")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, b) = app.book(&app.patient().await, &doctor, &booked).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // Blocked by hand before the time off: it stays blocked after the time off goes.
    let manual = find(&before, d, "10:20:00")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, b) = app
        .patch(
            &format!("/doctors/{doctor}/time-slots/{manual}"),
            json!({"status": "BLOCKED"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let before = slots(&app, &doctor).await;

    // 09:30-11:00 covers 09:20 (until 09:40), 09:40, 10:00 (booked), 10:20 (blocked), 10:40.
    let (s, b) = app
        .post(
            &off(&doctor),
            json!({"from": format!("{d}T09:30:00Z"), "to": format!("{d}T11:00:00Z"), "reason": "Conference"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let data = &b["data"];
    assert_eq!(data["blocked"], 4, "{data}");
    assert_eq!(data["reason"], "Conference");
    assert_eq!(data["from"], format!("{d}T09:30:00Z"));
    let listed: Vec<&str> = data["booked_slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [booked.as_str()], "{data}");
    let id = data["id"].as_str().unwrap().to_owned();
    let during = slots(&app, &doctor).await;
    for time in ["09:20:00", "09:40:00", "10:00:00", "10:20:00", "10:40:00"] {
        assert_eq!(find(&during, d, time)["status"], "BLOCKED", "{time}");
    }
    for time in ["09:00:00", "11:00:00", "12:00:00"] {
        assert_eq!(find(&during, d, time)["status"], "AVAILABLE", "{time}");
    }
    // The appointment is untouched.
    assert_eq!(find(&during, d, "10:00:00")["current_bookings"], 1);
    assert_eq!(app.live_on_slot(&doctor, &booked).await, 1);

    let (s, b) = app.get(&off(&doctor)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"].as_array().unwrap().len(), 1);
    assert_eq!(b["data"][0]["id"], id.as_str());

    let (s, b) = app
        .call(
            Method::DELETE,
            &format!("{}/{id}", off(&doctor)),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["restored"], 4, "{b}");
    // Exactly as before: the hand-blocked slot is still blocked, the others bookable again.
    assert_eq!(statuses(&slots(&app, &doctor).await), statuses(&before));
    let (_, b) = app.get(&off(&doctor)).await;
    assert_eq!(b["data"], json!([]));
    let (s, b) = app
        .call(
            Method::DELETE,
            &format!("{}/{id}", off(&doctor)),
            Value::Null,
        )
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
}

async fn overlapping_time_off_keeps_a_slot_blocked_until_the_last_goes(app: TestApp) {
    let doctor = app.doctor().await;
    let d = date(2);
    let slot = app.slot(&doctor, 2, "10:00", 1).await;
    let mut ids = Vec::new();
    for (from, to) in [("09:00", "11:00"), ("09:30", "10:30")] {
        let (s, b) = app
            .post(
                &off(&doctor),
                json!({"from": format!("{d}T{from}:00Z"), "to": format!("{d}T{to}:00Z")}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        ids.push(b["data"]["id"].as_str().unwrap().to_owned());
    }
    let (s, b) = app
        .call(
            Method::DELETE,
            &format!("{}/{}", off(&doctor), ids[0]),
            Value::Null,
        )
        .await;
    assert_eq!(
        (s, b["data"]["restored"].clone()),
        (StatusCode::OK, json!(0)),
        "{b}"
    );
    assert_eq!(app.slot_view(&doctor, &slot).await["status"], "BLOCKED");
    let (s, b) = app
        .call(
            Method::DELETE,
            &format!("{}/{}", off(&doctor), ids[1]),
            Value::Null,
        )
        .await;
    assert_eq!(
        (s, b["data"]["restored"].clone()),
        (StatusCode::OK, json!(1)),
        "{b}"
    );
    assert_eq!(app.slot_view(&doctor, &slot).await["status"], "AVAILABLE");
}

async fn generation_skips_time_off_given_as_local_dates(app: TestApp) {
    let doctor = app.doctor_in("Europe/Berlin").await;
    let d = date(3);
    let (s, b) = app
        .post(
            &off(&doctor),
            json!({"from": d.to_string(), "to": d.to_string()}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["blocked"], 0, "{b}");
    // A local date means the doctor's whole day: from midnight in Berlin.
    let from = chrono::DateTime::parse_from_rfc3339(b["data"]["from"].as_str().unwrap()).unwrap();
    let to = chrono::DateTime::parse_from_rfc3339(b["data"]["to"].as_str().unwrap()).unwrap();
    assert_eq!((to - from).num_hours(), 24, "{b}");
    assert!(
        from.to_rfc3339()
            .starts_with(&(d - Duration::days(1)).to_string()),
        "{b}"
    );
    let (s, b) = app
        .post(&format!("/doctors/{doctor}/schedules"), two_days(3))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["data"]["created"], 10, "{b}");
    let skipped = b["data"]["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 10, "{b}");
    assert!(skipped
        .iter()
        .all(|s| s["date"] == d.to_string() && s["reason"] == "inside time off"));
    let listed = slots(&app, &doctor).await;
    assert!(listed.iter().all(|s| s["slot_date"] == date(4).to_string()));
}

async fn bad_time_off_is_refused_and_roles_apply(app: TestApp) {
    let own = app.doctor_account().await;
    let mine = own.doctor_id.clone().unwrap();
    let other = app.doctor().await;
    let d = date(5);
    let (s, b) = app
        .post(
            &off(&mine),
            json!({"from": "soon", "to": d.to_string(), "x": 1}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    let fields = error_fields(&b);
    assert!(
        fields.contains(&"from".to_owned()) && fields.contains(&"x".to_owned()),
        "{fields:?}"
    );
    let (s, b) = app
        .post(
            &off(&mine),
            json!({"from": d.to_string(), "to": (d - Duration::days(1)).to_string()}),
        )
        .await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&b), ["to"]);
    let body = json!({"from": d.to_string(), "to": d.to_string()});
    let (s, b) = app
        .as_user(&own, Method::POST, &off(&mine), body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = app
        .as_user(&own, Method::POST, &off(&other), body.clone())
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let patient = app.sign_up().await;
    let (s, b) = app
        .as_user(&patient, Method::GET, &off(&mine), Value::Null)
        .await;
    assert_error(s, &b, 403, "FORBIDDEN");
    let (s, b) = app.call_as(None, Method::POST, &off(&mine), body).await;
    assert_error(s, &b, 401, "UNAUTHORIZED");
    let scheduler = app.account("scheduler", None).await;
    let (s, b) = app
        .as_user(&scheduler, Method::GET, &off(&mine), Value::Null)
        .await;
    assert_eq!(
        (s, b["data"].as_array().unwrap().len()),
        (StatusCode::OK, 1)
    );
}

backends!(
    time_off_blocks_free_slots_reports_booked_ones_and_delete_restores_exactly,
    overlapping_time_off_keeps_a_slot_blocked_until_the_last_goes,
    generation_skips_time_off_given_as_local_dates,
    bad_time_off_is_refused_and_roles_apply,
);
