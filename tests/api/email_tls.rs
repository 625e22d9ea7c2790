//! E-mail leaves over TLS as real providers require: STARTTLS (`smtp://…?tls=required`) and
//! implicit TLS (`smtps://`) against a sink whose certificate comes from a CA made for the test
//! and given by `SMTP_CA_FILE`. A certificate from another CA fails the delivery (retried, the
//! reason says why), and a server that does not offer TLS gets nothing in plain text.

use std::time::Duration;

use carebook::config::{NotifySettings, Secret};
use carebook::domain::outbox::OutboxStatus;
use carebook::domain::page::Page;
use carebook::notify::worker::deliver_once;
use carebook::notify::Channels;
use reqwest::StatusCode;

use crate::common::smtp::{SmtpSink, TestCa};
use crate::common::{Backend, TestApp};

/// An app with e-mail to `url` (trusting `ca`'s certificate), one booking made; the result of
/// one worker step.
async fn book_and_deliver(backend: Backend, url: String, ca: &TestCa) -> (TestApp, u64, u64) {
    let dir = std::env::temp_dir();
    let notify = NotifySettings {
        smtp_url: Some(Secret(url)),
        smtp_from: "Clinic <clinic@carebook.test>".into(),
        smtp_ca_file: Some(ca.ca_file(&dir)),
        poll_interval: Duration::from_secs(3600),
        ..NotifySettings::default()
    };
    let for_app = notify.clone();
    let app = TestApp::spawn_with(backend, |s| s.notify = for_app).await;
    let doctor = app.doctor().await;
    let slot = app.slot(&doctor, 3, "10:00", 1).await;
    let (s, b) = app.book(&app.patient().await, &doctor, &slot).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let channels = Channels::from_settings(&notify, crate::common::test_vault()).unwrap();
    let step = deliver_once(&*app.store, &channels, &notify).await.unwrap();
    (app, step.delivered, step.retried)
}

async fn tls_delivery(backend: Backend) {
    let ca = TestCa::new();
    let starttls = SmtpSink::start_starttls(&ca).await;
    let url = format!("smtp://localhost:{}?tls=required", starttls.port);
    let (_app, delivered, _) = book_and_deliver(backend, url, &ca).await;
    assert_eq!(delivered, 1, "STARTTLS delivery");
    assert_eq!(starttls.received().len(), 1);

    let implicit = SmtpSink::start_implicit_tls(&ca).await;
    let url = format!("smtps://127.0.0.1:{}", implicit.port);
    let (_app, delivered, _) = book_and_deliver(backend, url, &ca).await;
    assert_eq!(delivered, 1, "implicit TLS delivery");
    assert_eq!(implicit.received().len(), 1);
}

async fn a_wrong_certificate_or_no_tls_sends_nothing(backend: Backend) {
    // The sink's certificate is another CA's: verification fails, the row is retried.
    let (theirs, ours) = (TestCa::new(), TestCa::new());
    let sink = SmtpSink::start_starttls(&theirs).await;
    let url = format!("smtp://localhost:{}?tls=required", sink.port);
    let (app, delivered, retried) = book_and_deliver(backend, url, &ours).await;
    assert_eq!((delivered, retried), (0, 1));
    assert!(
        sink.received().is_empty(),
        "a message left without a verified certificate"
    );
    let rows = app
        .store
        .list_outbox(
            Some(OutboxStatus::Pending),
            Page {
                limit: 10,
                offset: 0,
            },
        )
        .await
        .unwrap();
    let why = rows.items[0].last_error.clone().unwrap_or_default();
    assert!(why.to_lowercase().contains("certificate"), "{why}");

    // TLS required, the server offers none: nothing goes in plain text.
    let plain = SmtpSink::start().await;
    let url = format!("smtp://localhost:{}?tls=required", plain.port);
    let (_app, delivered, retried) = book_and_deliver(backend, url, &ours).await;
    assert_eq!((delivered, retried), (0, 1));
    assert!(plain.received().is_empty(), "a message left in plain text");
}

crate::on_both!(tls_delivery, a_wrong_certificate_or_no_tls_sends_nothing);
