//! Data of every kind, made through the HTTP API: doctors (one patched), patients (one with
//! every field), slots (bulk, blocked), appointments in every state (one booked with an
//! idempotency key, two expired by the sweeper), accounts of every
//! role (one disabled, one signed up), access records (one break-glass) and a review.

use std::str::FromStr;

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::{ConnectOptions, Connection};

use super::harness::{Server, PASSWORD};

/// The ids of what was made.
#[derive(Debug, Default)]
pub struct Ids {
    pub doctors: Vec<String>,
    pub patients: Vec<String>,
    pub appointments: Vec<String>,
}

fn day(offset: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(offset))
        .date_naive()
        .to_string()
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// Fills the server's database; `url` is its database, for the one change the API cannot
/// make (a hold whose time is up).
pub async fn populate(s: &Server, url: &str) -> Ids {
    let mut ids = Ids::default();
    let doctors = [
        json!({"name": "Dr. Ada Lovelace", "specialization": "Cardiology", "email": "ada@clinic.test",
               "license_number": "MD-1", "phone": "+33 1 23 45 67 89", "clinic_name": "Heart Clinic",
               "address": "1 Rue de la Paix", "bio": "Hearts", "timezone": "Europe/Paris"}),
        json!({"name": "Dr. Ben Carson", "specialization": "Neurology", "email": "ben@clinic.test",
               "license_number": "MD-2", "timezone": "UTC"}),
        json!({"name": "Dr. Cy Young", "specialization": "cardiology", "email": "cy@clinic.test",
               "license_number": "MD-3", "timezone": "America/New_York"}),
    ];
    for d in doctors {
        ids.doctors
            .push(id(&s.send(Method::POST, "/doctors", d, 201).await));
    }
    let (ada, ben) = (ids.doctors[0].clone(), ids.doctors[1].clone());
    s.send(
        Method::PATCH,
        &format!("/doctors/{ada}"),
        json!({"bio": "Hearts, now children's too", "phone": null}),
        200,
    )
    .await;

    let full = json!({"name": "John Doe", "email": "john@people.test", "phone": "+1 (234) 567-890",
        "date_of_birth": "1990-01-15", "gender": "Male", "blood_group": "O+", "allergies": "Penicillin",
        "medical_history": "Hypertension\nsince 2019", "emergency_contact_name": "Jane Doe",
        "emergency_contact_phone": "+1 234 567 899"});
    ids.patients
        .push(id(&s.send(Method::POST, "/patients", full, 201).await));
    for n in 1..4 {
        // Apart in time, so the list order never rests on a tie between equal instants.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let p = json!({"name": format!("Patient {n}"), "email": format!("p{n}@people.test"),
                       "phone": "+1 555 010 0000"});
        ids.patients
            .push(id(&s.send(Method::POST, "/patients", p, 201).await));
    }
    let p = ids.patients.clone();
    s.send(
        Method::PATCH,
        &format!("/patients/{}", p[1]),
        json!({"allergies": "None"}),
        200,
    )
    .await;

    let slot = |doctor: &str, days: i64, time: &str, cap: i64| {
        let body = json!({"slot_date": day(days), "slot_time": time, "max_capacity": cap, "duration_minutes": 45});
        (format!("/doctors/{doctor}/time-slots"), body)
    };
    let (path, body) = slot(&ada, 3, "09:00", 3);
    let s1 = id(&s.send(Method::POST, &path, body, 201).await);
    let (path, body) = slot(&ada, 3, "10:30", 1);
    let s2 = id(&s.send(Method::POST, &path, body, 201).await);
    let bulk = json!({"slots": [{"slot_date": day(4), "slot_time": "08:00"},
                                {"slot_date": day(4), "slot_time": "08:30", "max_capacity": 2},
                                {"slot_date": day(5), "slot_time": "14:00"}]});
    let made = s
        .send(
            Method::POST,
            &format!("/doctors/{ben}/time-slots/bulk"),
            bulk,
            201,
        )
        .await;
    let bulk_ids: Vec<String> = made["created"]
        .as_array()
        .or_else(|| made.as_array())
        .expect("created slots")
        .iter()
        .map(id)
        .collect();
    s.send(
        Method::PATCH,
        &format!("/doctors/{ben}/time-slots/{}", bulk_ids[2]),
        json!({"status": "BLOCKED"}),
        200,
    )
    .await;

    let book = |patient: &str, doctor: &str, slot: &str| {
        json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot,
               "reason_for_visit": "Checkup", "consultation_type": "video"})
    };
    let completed = id(&s
        .send(Method::POST, "/appointments", book(&p[0], &ada, &s1), 201)
        .await);
    let confirmed = id(&s
        .send(Method::POST, "/appointments", book(&p[1], &ada, &s1), 201)
        .await);
    let cancelled = id(&s
        .send(Method::POST, "/appointments", book(&p[2], &ada, &s1), 201)
        .await);
    let (st, b) = s
        .call_as(
            Some(&s.token),
            Method::POST,
            "/appointments",
            book(&p[0], &ada, &s2),
            &[("Idempotency-Key", "retry-safe-1")],
        )
        .await;
    assert_eq!(st.as_u16(), 201, "{b}");
    let pending = id(&b["data"]);
    let expired = id(&s
        .send(
            Method::POST,
            "/appointments",
            book(&p[1], &ben, &bulk_ids[0]),
            201,
        )
        .await);
    let overdue = id(&s
        .send(
            Method::POST,
            "/appointments",
            book(&p[2], &ben, &bulk_ids[1]),
            201,
        )
        .await);
    for a in [&completed, &confirmed] {
        s.send(
            Method::POST,
            &format!("/appointments/{a}/confirm"),
            Value::Null,
            200,
        )
        .await;
    }
    s.send(
        Method::POST,
        &format!("/appointments/{completed}/complete"),
        Value::Null,
        200,
    )
    .await;
    s.send(
        Method::POST,
        &format!("/appointments/{cancelled}/cancel"),
        json!({"reason": "Unable to attend"}),
        200,
    )
    .await;
    make_overdue(url, &[&expired, &overdue]).await;
    let swept = carebook::jobs::expiry::sweep_once(&*s.store)
        .await
        .expect("sweep");
    assert_eq!(swept, 2, "both overdue holds expire");
    ids.appointments = vec![completed, confirmed, cancelled, pending, expired, overdue];

    accounts(s, &ada, &p).await;
    review(s, &ids.appointments[0]).await;
    // A subscription last, so nothing is queued for it (a public address that is never reached).
    s.send(
        Method::POST,
        "/webhooks",
        json!({"url": "https://93.184.216.34/carebook?clinic=north", "events": ["appointment.no_show", "waitlist.offered"], "secret": "the clinic's webhook secret"}),
        201,
    )
    .await;
    ids
}

/// John reviews his completed visit: a review, Ada's rating and an access record.
async fn review(s: &Server, completed: &str) {
    let john = s.login("john.account@people.test", PASSWORD).await;
    let (st, b) = s
        .call_as(
            Some(&john),
            Method::POST,
            &format!("/appointments/{completed}/review"),
            json!({"rating": 4, "comment": "Kind and thorough.\nWould come back."}),
            &[],
        )
        .await;
    assert_eq!(st.as_u16(), 201, "{b}");
}

/// Accounts of every role, one disabled, one signed up (a fifth patient), and their reads.
async fn accounts(s: &Server, doctor: &str, p: &[String]) {
    let scheduler = s
        .send(
            Method::POST,
            "/users",
            json!({"email": "desk@clinic.test", "password": PASSWORD, "role": "scheduler"}),
            201,
        )
        .await;
    s.send(
        Method::POST,
        "/users",
        json!({"email": "ada.account@clinic.test", "password": PASSWORD, "role": "doctor", "doctor_id": doctor}),
        201,
    )
    .await;
    s.send(
        Method::POST,
        "/users",
        json!({"email": "john.account@people.test", "password": PASSWORD, "role": "patient", "patient_id": p[0]}),
        201,
    )
    .await;
    s.send(
        Method::PATCH,
        &format!("/users/{}", id(&scheduler)),
        json!({"disabled": true}),
        200,
    )
    .await;
    let (st, b) = s
        .call_as(
            None,
            Method::POST,
            "/auth/register",
            json!({"name": "Sam Signup", "email": "sam@people.test", "phone": "+1 555 010 0001",
                   "password": PASSWORD}),
            &[],
        )
        .await;
    assert_eq!(st.as_u16(), 201, "{b}");

    // Access records: a doctor reading their patient, and one they have no appointment with.
    let ada = s.login("ada.account@clinic.test", PASSWORD).await;
    let (st, b) = s
        .call_as(
            Some(&ada),
            Method::GET,
            &format!("/patients/{}", p[0]),
            Value::Null,
            &[],
        )
        .await;
    assert_eq!(st.as_u16(), 200, "{b}");
    let (st, b) = s
        .call_as(
            Some(&ada),
            Method::GET,
            &format!("/patients/{}", p[3]),
            Value::Null,
            &[("Break-Glass-Reason", "unconscious in the ER")],
        )
        .await;
    assert_eq!(st.as_u16(), 200, "{b}");
    let john = s.login("john.account@people.test", PASSWORD).await;
    let (st, b) = s
        .call_as(
            Some(&john),
            Method::GET,
            &format!("/appointments/patient/{}", p[0]),
            Value::Null,
            &[],
        )
        .await;
    assert_eq!(st.as_u16(), 200, "{b}");
}

/// Moves the holds' `expires_at` a minute into the past, on a connection of the test's own.
pub async fn make_overdue(url: &str, appointments: &[&str]) {
    for a in appointments {
        let a = uuid::Uuid::parse_str(a).expect("uuid");
        let n = if url.starts_with("sqlite:") {
            let mut c = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .expect("url")
                .busy_timeout(std::time::Duration::from_secs(10))
                .connect()
                .await
                .expect("connect");
            sqlx::query(
                "UPDATE appointments SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute') WHERE id = ?1",
            )
            .bind(a)
            .execute(&mut c)
            .await
            .map(|r| r.rows_affected())
        } else {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::query("UPDATE appointments SET expires_at = now() - interval '1 minute' WHERE id = $1")
                .bind(a)
                .execute(&mut c)
                .await
                .map(|r| r.rows_affected())
        }
        .expect("move expires_at");
        assert_eq!(n, 1);
    }
}
