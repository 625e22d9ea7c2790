//! Several carebook instances on one PostgreSQL database, as behind a load balancer: requests
//! go round robin to three instances. Booking races keep capacity, every background job keeps
//! its exactly-once effect (the expiry sweeper, run by all three at once), and a token issued
//! by one instance works on the others until a logout there reaches them by their sync step.

use carebook::jobs::expiry::sweep_once;
use carebook::jobs::revocations::sync_once;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{Backend, Instance, TestApp};

/// The test app and two more instances on its database.
async fn three(app: &TestApp) -> Vec<Instance> {
    vec![app.another_instance().await, app.another_instance().await]
}

/// Base URLs of all three, the test app's first.
fn bases(app: &TestApp, others: &[Instance]) -> Vec<String> {
    std::iter::once(app.base.clone())
        .chain(others.iter().map(|i| i.base.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_never_overbook_a_slot() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let others = three(&app).await;
    let bases = bases(&app, &others);
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 2, "10:00", 5).await;
    let patients = join_all((0..60).map(|_| app.patient())).await;
    let answers = join_all(patients.iter().enumerate().map(|(i, p)| {
        let url = format!("{}/appointments", bases[i % bases.len()]);
        let req = app
            .client
            .post(url)
            .json(&json!({"patient_id": p, "doctor_id": doctor, "time_slot_id": slot}));
        async move {
            let res = req.send().await.expect("book");
            let status = res.status();
            (status, res.json::<Value>().await.expect("JSON"))
        }
    }))
    .await;
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    for (s, b) in &answers {
        assert!(
            *s == StatusCode::CREATED
                || (*s == StatusCode::CONFLICT && b["error"]["code"] == "SLOT_UNAVAILABLE"),
            "{s} {b}"
        );
    }
    assert_eq!(created, 5);
    let live = app
        .count_rows(&format!(
            "appointments WHERE time_slot_id = '{slot}' AND status IN ('PENDING', 'CONFIRMED')"
        ))
        .await;
    assert_eq!(live, 5);
    assert_eq!(app.slot_view(&doctor, &slot).await["current_bookings"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sweepers_at_once_expire_each_hold_once_and_purge_old_keys() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let others = three(&app).await;
    let doctor = app.doctor().await;
    let mut holds = Vec::new();
    for hour in 8..18 {
        let slot = app.slot(&doctor, 1, &format!("{hour:02}:00"), 3).await;
        for _ in 0..3 {
            let (s, b) = app.book(&app.patient().await, &doctor, &slot).await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
            holds.push(b["data"]["id"].as_str().unwrap().to_owned());
        }
    }
    // The sweep's other duty: idempotency keys past their retention, purged once (their
    // bookings, of another doctor, stay live).
    let keyed = app.doctor().await;
    for n in 0..5 {
        let slot = app.slot(&keyed, 2, &format!("1{n}:30"), 1).await;
        let res = app
            .client
            .post(format!("{}/appointments", app.base))
            .header("Idempotency-Key", format!("old-key-{n}"))
            .json(&serde_json::json!({"patient_id": app.patient().await, "doctor_id": keyed, "time_slot_id": slot}))
            .send()
            .await
            .expect("keyed booking");
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    app.execute_raw("UPDATE idempotency_keys SET created_at = now() - interval '2 days'")
        .await
        .expect("age the keys");
    app.expire_holds(&holds).await;
    let stores = std::iter::once(app.store.clone()).chain(others.iter().map(|i| i.store.clone()));
    let swept =
        join_all(stores.map(|s| async move { sweep_once(&*s).await.expect("sweep") })).await;
    assert_eq!(swept.iter().sum::<u64>(), holds.len() as u64, "{swept:?}");
    let expire_rows = app
        .count_rows("appointment_audit_log WHERE action = 'EXPIRE'")
        .await;
    assert_eq!(expire_rows, holds.len() as i64);
    let (_, list) = app.get(&format!("/doctors/{doctor}/time-slots")).await;
    for slot in list["data"].as_array().unwrap() {
        assert_eq!(slot["current_bookings"], 0, "{slot}");
    }
    assert_eq!(app.count_rows("idempotency_keys").await, 0, "old keys left");
    // Nothing is left for any of them.
    for i in &others {
        assert_eq!(sweep_once(&*i.store).await.unwrap(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_works_on_every_instance_until_a_logout_reaches_them() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let others = three(&app).await;
    let patient = app.sign_up().await;
    let me = |base: &str| {
        app.anon
            .get(format!("{base}/auth/me"))
            .bearer_auth(&patient.access)
            .send()
    };
    for i in &others {
        assert_eq!(me(&i.base).await.unwrap().status(), StatusCode::OK);
    }
    let res = app
        .anon
        .post(format!("{}/auth/logout", others[0].base))
        .bearer_auth(&patient.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The instance that logged out knows at once; the others after their sync step.
    assert_eq!(
        me(&others[0].base).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    sync_once(&*others[1].store, &others[1].auth).await.unwrap();
    assert_eq!(
        me(&others[1].base).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}
