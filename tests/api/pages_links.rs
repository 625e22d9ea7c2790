//! The pages behind the e-mailed links, with a real SMTP server on loopback: finishing a
//! sign-up, setting up an invited account, and choosing a new password after asking for a
//! link. Each spends its link through the API's own rules.

use carebook::config::Registration;
use reqwest::StatusCode;

use crate::common::browser::Browser;
use crate::common::{unique_email, Backend, PASSWORD};
use crate::signup::{app_with_mail, token_in};

const NEW_PASSWORD: &str = "a brand new passphrase 77";

/// Sign-up in `verify` mode: the page says to check the e-mail, the link's page creates the
/// account, and the patient signs in.
async fn a_sign_up_is_finished_from_its_link(backend: Backend) {
    let (app, sink) = app_with_mail(backend, Registration::Verify).await;
    let mut b = Browser::new(&app);
    let token = b.get("/signup").await.csrf();
    let email = unique_email("verify");
    let res = b
        .post(
            "/signup",
            &[
                ("csrf", &token),
                ("name", "Vera Fy"),
                ("email", &email),
                ("phone", "+1 555 010 0004"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    assert!(res.body.contains("Check your e-mail"));
    let link = token_in(&sink, 1, &email).await;
    let page = b.get(&format!("/verify?token={link}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.input("token", 0).as_deref(), Some(link.as_str()));
    let done = b
        .post("/verify", &[("csrf", &page.csrf()), ("token", &link)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let again = b
        .post("/verify", &[("csrf", &page.csrf()), ("token", &link)])
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "a link is good once");
    assert_eq!(b.sign_in(&email, PASSWORD).await.location(), "/me");
}

/// The front desk registers a patient and invites them; the invitation's page sets the
/// account up and the patient signs in.
async fn an_invitation_sets_up_the_account(backend: Backend) {
    let (app, sink) = app_with_mail(backend, Registration::Verify).await;
    let patient = app.patient().await;
    let (_, p) = app.get(&format!("/patients/{patient}")).await;
    let email = p["data"]["email"].as_str().unwrap().to_owned();
    let desk = app.account("scheduler", None).await;
    let mut front = Browser::new(&app);
    front.sign_in(&desk.email, PASSWORD).await;
    let token = front.get("/desk/patients").await.csrf();
    let sent = front
        .post(
            &format!("/desk/patients/{patient}/invite"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let link = token_in(&sink, 1, &email).await;
    let mut b = Browser::new(&app);
    let page = b.get(&format!("/invite?token={link}")).await;
    let weak = b
        .post(
            "/invite",
            &[
                ("csrf", &page.csrf()),
                ("token", &link),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert!(weak.body.contains("role=\"alert\""));
    let done = b
        .post(
            "/invite",
            &[
                ("csrf", &page.csrf()),
                ("token", &link),
                ("password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(b.sign_in(&email, NEW_PASSWORD).await.location(), "/me");
}

/// A forgotten password: the request page answers alike for any address, the link's page sets
/// a new password, the old one no longer opens the account.
async fn a_forgotten_password_is_reset_from_its_link(backend: Backend) {
    let (app, sink) = app_with_mail(backend, Registration::Open).await;
    let mut b = Browser::new(&app);
    let email = b.sign_up().await;
    let mut other = Browser::new(&app);
    let token = other.get("/forgot-password").await.csrf();
    for address in [email.as_str(), "nobody-at-all@people.test"] {
        let asked = other
            .post("/forgot-password", &[("csrf", &token), ("email", address)])
            .await;
        assert_eq!(asked.status, StatusCode::ACCEPTED, "{address}");
    }
    let link = token_in(&sink, 1, &email).await;
    let page = other.get(&format!("/reset-password?token={link}")).await;
    let done = other
        .post(
            "/reset-password",
            &[
                ("csrf", &page.csrf()),
                ("token", &link),
                ("password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    // The session signed in before the reset has ended.
    let me = b.get("/me").await;
    assert_eq!(me.status, StatusCode::SEE_OTHER);
    let mut fresh = Browser::new(&app);
    let token = fresh.get("/login").await.csrf();
    let old = fresh
        .post(
            "/login",
            &[("csrf", &token), ("email", &email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    assert_eq!(fresh.sign_in(&email, NEW_PASSWORD).await.location(), "/me");
}

crate::on_both!(
    a_sign_up_is_finished_from_its_link,
    an_invitation_sets_up_the_account,
    a_forgotten_password_is_reset_from_its_link
);
