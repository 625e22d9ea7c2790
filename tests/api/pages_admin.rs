//! The admin's page: staff accounts, webhooks and the outbox, each action the API's own.

use reqwest::StatusCode;

use crate::backends;
use crate::common::browser::Browser;
use crate::common::{unique_email, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD};

/// The admin adds a front desk account, which signs in; disables it, and it cannot; adds and
/// deletes a webhook.
async fn the_admin_runs_accounts_and_webhooks(app: TestApp) {
    let mut admin = Browser::new(&app);
    admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let email = unique_email("desk");
    let made = admin
        .post(
            "/admin/users",
            &[
                ("csrf", &page.csrf()),
                ("email", &email),
                ("role", "scheduler"),
                ("doctor", ""),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        (made.status, made.location()),
        (StatusCode::SEE_OTHER, "/admin"),
        "{}",
        made.body
    );
    let mut desk = Browser::new(&app);
    assert_eq!(desk.sign_in(&email, PASSWORD).await.location(), "/desk");

    let (_, users) = app.get("/users?limit=100").await;
    let id = users["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email.as_str())
        .expect("the new account")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let off = admin
        .post(
            &format!("/admin/users/{id}/disable"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    assert_eq!(
        desk.get("/desk").await.status,
        StatusCode::SEE_OTHER,
        "its session ended"
    );
    let mut again = Browser::new(&app);
    let token = again.get("/login").await.csrf();
    let refused = again
        .post(
            "/login",
            &[("csrf", &token), ("email", &email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let hook = admin
        .post(
            "/admin/webhooks",
            &[
                ("csrf", &page.csrf()),
                ("url", "http://hooks.example.com/carebook"),
                ("events", "appointment.booked"),
                ("events", "appointment.cancelled"),
                ("secret", "a webhook signing secret of some length"),
            ],
        )
        .await;
    assert_eq!(hook.status, StatusCode::SEE_OTHER, "{}", hook.body);
    let (_, hooks) = app.get("/webhooks").await;
    let hook_id = hooks["data"][0]["id"]
        .as_str()
        .expect("the webhook")
        .to_owned();
    let listed = admin.get("/admin").await;
    assert!(listed.body.contains("hooks.example.com"));
    let gone = admin
        .post(
            &format!("/admin/webhooks/{hook_id}/delete"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    let (_, hooks) = app.get("/webhooks").await;
    assert_eq!(hooks["data"].as_array().map(Vec::len), Some(0));
    let missing = admin
        .post("/admin/outbox/999999/retry", &[("csrf", &page.csrf())])
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

/// The admin's page is the admin's only: the front desk gets 403, and so does a doctor.
async fn only_the_admin_administers(app: TestApp) {
    let desk = app.account("scheduler", None).await;
    let mut b = Browser::new(&app);
    b.sign_in(&desk.email, PASSWORD).await;
    assert_eq!(b.get("/admin").await.status, StatusCode::FORBIDDEN);
    let token = b.get("/desk").await.csrf();
    let res = b
        .post(
            "/admin/users",
            &[
                ("csrf", &token),
                ("email", "x@people.test"),
                ("role", "admin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let (_, users) = app.get("/users?limit=100").await;
    assert!(!users.to_string().contains("x@people.test"));
}

backends!(
    the_admin_runs_accounts_and_webhooks,
    only_the_admin_administers
);
