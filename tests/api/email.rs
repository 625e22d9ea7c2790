//! Patient e-mail through a real SMTP server on loopback (the sink in `common/smtp.rs`): the
//! four messages of an appointment's life with their invites, reminders exactly once at their
//! time, e-mail off, and a server that defers or refuses. Delivery is driven step by step
//! through the worker's `deliver_once`, reminders through `remind_once`; time moves in the
//! database, never by sleeping.

use std::time::Duration;

use carebook::config::{NotifySettings, Secret};
use carebook::domain::outbox::{Channel, OutboxItem, OutboxStatus};
use carebook::domain::page::Page;
use carebook::notify::reminders::remind_once;
use carebook::notify::worker::{deliver_once, Step};
use carebook::notify::Channels;
use chrono::{DateTime, Utc};
use mail_parser::MimeHeaders;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::smtp::{Received, SmtpSink};
use crate::common::{Backend, TestApp};

/// One test per backend for each named `async fn(Backend)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(crate::common::Backend::Postgres).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::common::Backend::Sqlite).await
            }
        }
    )*};
}

const SENDER: &str = "clinic@carebook.test";
/// Values that must never reach an e-mail: medical fields of the patient and the booking.
const MEDICAL: &str = "MEDICAL-MARKER";
const WAIT: Duration = Duration::from_secs(10);

/// An app whose e-mail goes to a sink of its own, and the worker's channels to step it.
struct Mailroom {
    app: TestApp,
    sink: SmtpSink,
    channels: Channels,
    notify: NotifySettings,
}

impl Mailroom {
    async fn open(backend: Backend, tweak: impl FnOnce(&mut NotifySettings)) -> Self {
        let sink = SmtpSink::start().await;
        let mut notify = NotifySettings {
            smtp_url: Some(Secret(sink.url())),
            smtp_from: format!("Clinic <{SENDER}>"),
            poll_interval: Duration::from_secs(3600),
            ..NotifySettings::default()
        };
        tweak(&mut notify);
        let for_app = notify.clone();
        let app = TestApp::spawn_with(backend, |s| s.notify = for_app).await;
        let channels =
            Channels::from_settings(&notify, crate::common::test_vault()).expect("channels");
        Self {
            app,
            sink,
            channels,
            notify,
        }
    }

    /// One worker step.
    async fn deliver(&self) -> Step {
        deliver_once(&*self.app.store, &self.channels, &self.notify)
            .await
            .expect("a worker step")
    }

    /// Queues the reminders due now.
    async fn remind(&self) -> u64 {
        remind_once(&*self.app.store, &self.notify.reminder_hours)
            .await
            .expect("a reminder step")
    }

    /// One step that must deliver exactly one message; returns it.
    async fn deliver_one(&self) -> Received {
        let before = self.sink.received().len();
        let step = self.deliver().await;
        assert_eq!(step.delivered, 1, "{step:?}");
        let got = self.sink.wait_for(before + 1, WAIT).await;
        assert_eq!(got.len(), before + 1, "one message more");
        got[before].clone()
    }
}

/// A patient with medical fields set, and their address.
async fn patient(app: &TestApp) -> (String, String) {
    let email = format!("pat{}@mail.test", uuid::Uuid::new_v4().simple());
    let (s, b) = app
        .post(
            "/patients",
            json!({"name": "Pat Mail", "email": email, "phone": "+1 555 010 0000",
                   "allergies": MEDICAL, "medical_history": MEDICAL}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    (b["data"]["id"].as_str().unwrap().to_owned(), email)
}

/// A slot of `doctor` (in `zone`) at local `date` and `time`.
async fn slot(app: &TestApp, doctor: &str, date: &str, time: &str) -> String {
    let body = json!({"slot_date": date, "slot_time": time, "max_capacity": 1});
    let (s, b) = app
        .post(&format!("/doctors/{doctor}/time-slots"), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["data"]["id"].as_str().unwrap().to_owned()
}

/// Books with a reason for the visit (a medical field) and returns the appointment id.
async fn book(app: &TestApp, patient: &str, doctor: &str, slot: &str) -> String {
    let (s, b) = app
        .post(
            "/appointments",
            json!({"patient_id": patient, "doctor_id": doctor, "time_slot_id": slot,
                   "reason_for_visit": MEDICAL}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["data"]["id"].as_str().unwrap().to_owned()
}

async fn act(app: &TestApp, appointment: &str, action: &str, body: serde_json::Value) {
    let (s, b) = app
        .post(&format!("/appointments/{appointment}/{action}"), body)
        .await;
    assert_eq!(s, StatusCode::OK, "{action}: {b}");
}

/// A local date `days` from today in `zone`.
fn local_date(zone: chrono_tz::Tz, days: i64) -> chrono::NaiveDate {
    Utc::now().with_timezone(&zone).date_naive() + chrono::Duration::days(days)
}

/// What a test reads from a delivered message.
struct Mail {
    to: Vec<String>,
    from: String,
    subject: String,
    text: String,
    html: String,
    /// The calendar part's `method` parameter and its unfolded content lines.
    invite: Option<(String, Vec<String>)>,
    raw: String,
}

fn read(m: &Received) -> Mail {
    let parsed = m.parsed();
    let invite = parsed.parts.iter().find_map(|p| {
        let ct = p.content_type()?;
        (ct.ctype() == "text" && ct.subtype() == Some("calendar")).then(|| {
            let body = String::from_utf8(p.contents().to_vec()).expect("UTF-8 invite");
            assert!(
                !body.replace("\r\n", "").contains('\n'),
                "CRLF lines: {body:?}"
            );
            let lines = body
                .replace("\r\n ", "")
                .split("\r\n")
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            (ct.attribute("method").unwrap_or("").to_owned(), lines)
        })
    });
    let mail = Mail {
        to: m.to.clone(),
        from: m.from.clone(),
        subject: parsed.subject().unwrap_or("").to_owned(),
        text: parsed.body_text(0).unwrap_or_default().into_owned(),
        html: parsed.body_html(0).unwrap_or_default().into_owned(),
        invite,
        raw: String::from_utf8_lossy(&m.data).into_owned(),
    };
    for body in [&mail.text, &mail.html, &mail.raw] {
        assert!(!body.contains(MEDICAL), "a medical field in: {body}");
    }
    mail
}

/// The value of an invite's property (`NAME:value`, or `NAME;params:value` given in full).
fn prop<'a>(lines: &'a [String], name: &str) -> &'a str {
    let found: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .collect();
    assert_eq!(found.len(), 1, "one {name} in {lines:#?}");
    found[0]
}

/// The app's e-mail outbox rows, oldest first.
async fn email_rows(app: &TestApp, status: Option<OutboxStatus>) -> Vec<OutboxItem> {
    let mut rows = app
        .store
        .list_outbox(status, Page::new(Some(100), None))
        .await
        .expect("list the outbox")
        .items;
    rows.retain(|r| r.channel == Channel::Email);
    rows.reverse();
    rows
}

/// Lets every pending row's retry wait pass: its next attempt one second ago.
async fn retry_waits_over(app: &TestApp) {
    let sql = match app.backend {
        Backend::Postgres => {
            "UPDATE outbox SET next_attempt_at = now() - interval '1 second' WHERE status = 'pending'"
        }
        Backend::Sqlite => {
            "UPDATE outbox SET next_attempt_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 seconds') \
             WHERE status = 'pending'"
        }
    };
    app.execute_raw(sql).await.expect("move retry times");
}

async fn booking_confirm_reschedule_cancel_send_four_mails_with_one_calendar_entry(
    backend: Backend,
) {
    four_mails(backend, Delivery::AfterEachChange).await
}

/// The same four mails when the worker gets to them only after all four changes: each tells
/// its own event (the confirmation invite at the first time, the booking with its deadline),
/// not the appointment as it stands when delivered.
async fn four_changes_before_delivery_mail_each_event_as_it_was(backend: Backend) {
    four_mails(backend, Delivery::AfterAllChanges).await
}

/// When the worker runs in [`four_mails`].
#[derive(PartialEq)]
enum Delivery {
    AfterEachChange,
    AfterAllChanges,
}

async fn four_mails(backend: Backend, delivery: Delivery) {
    let room = Mailroom::open(backend, |_| {}).await;
    let app = &room.app;
    let zone = chrono_tz::America::New_York;
    let doctor = app.doctor_in(zone.name()).await;
    let (patient, address) = patient(app).await;
    let (first_day, second_day) = (local_date(zone, 5), local_date(zone, 6));
    let first = slot(app, &doctor, &first_day.to_string(), "09:00").await;
    let second = slot(app, &doctor, &second_day.to_string(), "14:30").await;

    let each = delivery == Delivery::AfterEachChange;
    let appointment = book(app, &patient, &doctor, &first).await;
    let (status, held) = app.get(&format!("/appointments/{appointment}")).await;
    assert_eq!(status, StatusCode::OK, "{held}");
    let held_until: DateTime<Utc> = held["data"]["expires_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("a hold deadline");
    let mut sent = Vec::new();
    if each {
        sent.push(room.deliver_one().await);
    }
    act(app, &appointment, "confirm", json!({})).await;
    if each {
        sent.push(room.deliver_one().await);
    }
    act(
        app,
        &appointment,
        "reschedule",
        json!({"time_slot_id": second}),
    )
    .await;
    if each {
        sent.push(room.deliver_one().await);
    }
    act(app, &appointment, "cancel", json!({})).await;
    // One row per appointment and channel at a time: a backlog goes out one step per message.
    while sent.len() < 4 {
        sent.push(room.deliver_one().await);
    }
    let [booked, confirmed, rescheduled, cancelled] = [0, 1, 2, 3].map(|i| read(&sent[i]));
    assert_eq!(
        room.deliver().await,
        Step::default(),
        "nothing more to send"
    );

    let at = |day: chrono::NaiveDate, time: &str| format!("Dr Test on {day} at {time}");
    let mails = [&booked, &confirmed, &rescheduled, &cancelled];
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            format!("Booking received: {}", at(first_day, "09:00")),
            format!("Appointment confirmed: {}", at(first_day, "09:00")),
            format!("Appointment rescheduled: {}", at(second_day, "14:30")),
            format!("Appointment cancelled: {}", at(second_day, "14:30")),
        ]
    );
    for m in mails {
        assert_eq!(m.to, std::slice::from_ref(&address));
        assert_eq!(m.from, SENDER);
        assert!(m.text.starts_with("Hello Pat Mail,"), "{}", m.text);
        assert!(m.text.contains("(America/New_York)"), "{}", m.text);
        assert!(m.html.contains("Hello Pat Mail,"), "{}", m.html);
    }
    assert!(booked.invite.is_none());
    assert!(booked.text.contains("The seat is held for you until "));
    // The hold's deadline as booked, in the doctor's zone (confirming ends the hold later on).
    let deadline = held_until
        .with_timezone(&zone)
        .format("%Y-%m-%d %H:%M (America/New_York)");
    assert!(
        booked.text.contains(&deadline.to_string()),
        "{deadline}: {}",
        booked.text
    );

    let uid = format!("{appointment}@carebook");
    let tzid = "DTSTART;TZID=America/New_York";
    let mut sequences = Vec::new();
    for (m, method, day, time) in [
        (&confirmed, "REQUEST", first_day, "090000"),
        (&rescheduled, "REQUEST", second_day, "143000"),
        (&cancelled, "CANCEL", second_day, "143000"),
    ] {
        let (content_method, lines) = m.invite.as_ref().expect("an invite");
        assert_eq!(content_method, method);
        assert_eq!(prop(lines, "METHOD"), method);
        assert_eq!(prop(lines, "UID"), uid);
        assert_eq!(
            prop(lines, tzid),
            format!("{}T{time}", day.format("%Y%m%d"))
        );
        assert_eq!(prop(lines, "TZID"), "America/New_York");
        assert!(prop(
            lines,
            "ATTENDEE;CN=\"Pat Mail\";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE"
        )
        .eq_ignore_ascii_case(&format!("mailto:{address}")));
        assert_eq!(
            prop(lines, "ORGANIZER;CN=carebook"),
            format!("mailto:{SENDER}")
        );
        assert_eq!(
            prop(lines, "STATUS"),
            if method == "CANCEL" {
                "CANCELLED"
            } else {
                "CONFIRMED"
            }
        );
        sequences.push(prop(lines, "SEQUENCE").parse::<i64>().expect("a number"));
    }
    assert!(
        sequences.windows(2).all(|w| w[0] < w[1]),
        "SEQUENCE grows: {sequences:?}"
    );

    let rows = email_rows(app, None).await;
    let events: Vec<(&str, OutboxStatus)> =
        rows.iter().map(|r| (r.event.as_str(), r.status)).collect();
    assert_eq!(
        events,
        [
            ("appointment.booked", OutboxStatus::Delivered),
            ("appointment.confirmed", OutboxStatus::Delivered),
            ("appointment.rescheduled", OutboxStatus::Delivered),
            ("appointment.cancelled", OutboxStatus::Delivered),
        ]
    );
}

/// The local date and `HH:MM` in `zone` of the first whole minute after `at`.
fn next_minute(zone: chrono_tz::Tz, at: DateTime<Utc>) -> (String, String) {
    use chrono::{DurationRound, TimeDelta};
    let minute = at.duration_trunc(TimeDelta::minutes(1)).unwrap() + TimeDelta::minutes(1);
    let local = minute.with_timezone(&zone);
    (
        local.format("%Y-%m-%d").to_string(),
        local.format("%H:%M").to_string(),
    )
}

async fn a_reminder_arrives_once_at_each_lead_time(backend: Backend) {
    let room = Mailroom::open(backend, |n| n.reminder_hours = vec![24, 2]).await;
    let app = &room.app;
    let zone = chrono_tz::Europe::Berlin;
    let doctor = app.doctor_in(zone.name()).await;
    let (patient, address) = patient(app).await;
    let (date, time) = next_minute(zone, Utc::now() + chrono::Duration::hours(23));
    let slot_id = slot(app, &doctor, &date, &time).await;
    let appointment = book(app, &patient, &doctor, &slot_id).await;
    act(app, &appointment, "confirm", json!({})).await;
    room.deliver_one().await;
    room.deliver_one().await;

    assert_eq!(room.remind().await, 1, "the 24-hour reminder is due");
    assert_eq!(room.remind().await, 0, "and queued once");
    let first = read(&room.deliver_one().await);
    assert_eq!(
        first.subject,
        format!("Reminder: Dr Test on {date} at {time}")
    );
    assert_eq!(first.to, std::slice::from_ref(&address));
    assert!(
        first.text.contains("starts in less than 24 hours"),
        "{}",
        first.text
    );
    assert!(first.invite.is_none());
    assert_eq!(room.remind().await, 0);
    assert_eq!(room.deliver().await, Step::default());

    // An hour before the start: the 2-hour reminder, once.
    app.move_slot_start(&slot_id, chrono::Duration::hours(1))
        .await;
    assert_eq!(room.remind().await, 1, "the 2-hour reminder is due");
    assert_eq!(room.remind().await, 0);
    let second = read(&room.deliver_one().await);
    assert!(
        second.subject.starts_with("Reminder: Dr Test on "),
        "{}",
        second.subject
    );
    assert!(
        second.text.contains("starts in less than 2 hours"),
        "{}",
        second.text
    );
    assert_eq!(room.remind().await, 0);
    assert_eq!(room.deliver().await, Step::default());
    assert_eq!(
        room.sink.received().len(),
        4,
        "booked, confirmed, two reminders"
    );
}

async fn without_smtp_url_email_rows_are_skipped(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let notify = NotifySettings::default();
    let channels = Channels::from_settings(&notify, crate::common::test_vault()).expect("channels");
    assert!(channels.mailer.is_none());
    let doctor = app.doctor().await;
    let (patient, _) = patient(&app).await;
    let day = local_date(chrono_tz::UTC, 4).to_string();
    let slot_id = slot(&app, &doctor, &day, "10:00").await;
    let appointment = book(&app, &patient, &doctor, &slot_id).await;
    act(&app, &appointment, "confirm", json!({})).await;
    act(&app, &appointment, "cancel", json!({})).await;
    let mut skipped = 0;
    loop {
        let step = deliver_once(&*app.store, &channels, &notify).await.unwrap();
        assert_eq!((step.delivered, step.retried, step.dead), (0, 0, 0));
        if step.skipped == 0 {
            break;
        }
        skipped += step.skipped;
    }
    assert_eq!(skipped, 3);
    assert!(email_rows(&app, Some(OutboxStatus::Pending))
        .await
        .is_empty());
    let rows = email_rows(&app, Some(OutboxStatus::Skipped)).await;
    assert_eq!(rows.len(), 3);
    for r in rows {
        assert!(
            r.last_error
                .as_deref()
                .is_some_and(|e| e.contains("SMTP_URL")),
            "{r:?}"
        );
    }
}

async fn a_deferring_or_refusing_server_is_retried_then_dead(backend: Backend) {
    let room = Mailroom::open(backend, |n| n.max_attempts = 3).await;
    let app = &room.app;
    let doctor = app.doctor().await;
    let (patient, address) = patient(app).await;
    let day = local_date(chrono_tz::UTC, 4).to_string();

    // 451: retried after a wait, then delivered.
    room.sink.refuse_next(&[451]);
    let first = book(
        app,
        &patient,
        &doctor,
        &slot(app, &doctor, &day, "09:00").await,
    )
    .await;
    let step = room.deliver().await;
    assert_eq!((step.retried, step.delivered), (1, 0), "{step:?}");
    let rows = email_rows(app, Some(OutboxStatus::Pending)).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].attempts, 1);
    let error = rows[0].last_error.clone().unwrap_or_default();
    assert!(
        error.contains("451") && !error.contains(&address),
        "{error}"
    );
    assert!(rows[0].next_attempt_at > Utc::now());
    assert_eq!(room.deliver().await, Step::default(), "not due yet");
    retry_waits_over(app).await;
    let m = read(&room.deliver_one().await);
    assert!(m.subject.starts_with("Booking received: "));

    // 550: dead at once; later messages of the appointment still go.
    room.sink.refuse_next(&[550]);
    act(app, &first, "confirm", json!({})).await;
    let step = room.deliver().await;
    assert_eq!(step.dead, 1, "{step:?}");
    let dead = email_rows(app, Some(OutboxStatus::Dead)).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event, "appointment.confirmed");
    let error = dead[0].last_error.clone().unwrap_or_default();
    assert!(
        error.contains("550") && !error.contains(&address),
        "{error}"
    );
    act(app, &first, "cancel", json!({})).await;
    let m = read(&room.deliver_one().await);
    assert!(m.subject.starts_with("Appointment cancelled: "));

    // Deferred at every attempt: dead after OUTBOX_MAX_ATTEMPTS (3).
    room.sink.refuse_next(&[451, 451, 451]);
    book(
        app,
        &patient,
        &doctor,
        &slot(app, &doctor, &day, "11:00").await,
    )
    .await;
    for _ in 0..2 {
        assert_eq!(room.deliver().await.retried, 1);
        retry_waits_over(app).await;
    }
    assert_eq!(room.deliver().await.dead, 1);
    let dead = email_rows(app, Some(OutboxStatus::Dead)).await;
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[1].attempts, 3);
    assert_eq!(
        room.sink.received().len(),
        2,
        "the booking and the cancellation"
    );

    // An admin's retry sends the dead confirmation after all.
    app.store.retry_outbox(dead[0].id).await.expect("retry");
    let m = read(&room.deliver_one().await);
    assert!(m.subject.starts_with("Appointment confirmed: "));
}

async fn an_unreachable_server_is_a_transient_failure(backend: Backend) {
    let room = Mailroom::open(backend, |_| {}).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let notify = NotifySettings {
        smtp_url: Some(Secret(format!("smtp://127.0.0.1:{closed}"))),
        ..room.notify.clone()
    };
    let channels = Channels::from_settings(&notify, crate::common::test_vault()).unwrap();
    let app = &room.app;
    let doctor = app.doctor().await;
    let (patient, _) = patient(app).await;
    let day = local_date(chrono_tz::UTC, 4).to_string();
    book(
        app,
        &patient,
        &doctor,
        &slot(app, &doctor, &day, "09:00").await,
    )
    .await;
    let step = deliver_once(&*app.store, &channels, &notify).await.unwrap();
    assert_eq!(step.retried, 1, "{step:?}");
    let rows = email_rows(app, Some(OutboxStatus::Pending)).await;
    let error = rows[0].last_error.clone().unwrap_or_default();
    assert!(error.starts_with("SMTP "), "{error}");
    assert_eq!(room.sink.sessions(), 0);
}

async fn a_seat_offered_from_the_waitlist_is_mailed_with_its_deadline(backend: Backend) {
    let room = Mailroom::open(backend, |_| {}).await;
    let app = &room.app;
    let doctor = app.doctor().await;
    let (holder, holder_address) = patient(app).await;
    let (waiter, waiter_address) = patient(app).await;
    let day = local_date(chrono_tz::UTC, 3);
    let seat = slot(app, &doctor, &day.to_string(), "10:00").await;
    let held = book(app, &holder, &doctor, &seat).await;
    room.deliver_one().await;
    let (from, to) = (local_date(chrono_tz::UTC, 1), local_date(chrono_tz::UTC, 5));
    let (s, b) = app
        .post(
            "/waitlist",
            json!({"patient_id": waiter, "doctor_id": doctor,
                   "from_date": from.to_string(), "to_date": to.to_string()}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    act(app, &held, "cancel", json!({})).await;
    let step = room.deliver().await;
    assert_eq!(
        step.delivered, 2,
        "the cancellation and the offer: {step:?}"
    );
    let got = room.sink.wait_for(3, WAIT).await;
    let mails: Vec<Mail> = got[1..].iter().map(read).collect();
    let offer = mails
        .iter()
        .find(|m| m.to == [waiter_address.clone()])
        .expect("a message to the waiting patient");
    assert_eq!(
        offer.subject,
        format!("Seat offered: Dr Test on {day} at 10:00")
    );
    assert!(
        offer.text.contains("Please confirm it by "),
        "{}",
        offer.text
    );
    assert!(offer.text.contains("(UTC)"), "{}", offer.text);
    assert!(offer.invite.is_none());
    let cancelled = mails
        .iter()
        .find(|m| m.to == [holder_address.clone()])
        .expect("a message to the patient who cancelled");
    assert!(cancelled.subject.starts_with("Appointment cancelled: "));
}

/// Changes made while the worker was away are mailed one by one, in the order they happened.
async fn a_backlog_is_mailed_in_order(backend: Backend) {
    let room = Mailroom::open(backend, |_| {}).await;
    let app = &room.app;
    let doctor = app.doctor().await;
    let (patient, _) = patient(app).await;
    let day = local_date(chrono_tz::UTC, 3).to_string();
    let appointment = book(
        app,
        &patient,
        &doctor,
        &slot(app, &doctor, &day, "08:00").await,
    )
    .await;
    act(app, &appointment, "confirm", json!({})).await;
    act(app, &appointment, "cancel", json!({})).await;
    for _ in 0..3 {
        room.deliver_one().await;
    }
    assert_eq!(room.deliver().await, Step::default());
    let subjects: Vec<String> = room
        .sink
        .received()
        .iter()
        .map(|m| read(m).subject.split(':').next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        subjects,
        [
            "Booking received",
            "Appointment confirmed",
            "Appointment cancelled"
        ]
    );
}

/// The rest of an appointment's life is told too: a hold that lapsed, a completed visit (with
/// the invitation to review) and a no-show, each once and without an invite.
async fn an_expiry_a_completion_and_a_no_show_are_mailed(backend: Backend) {
    let room = Mailroom::open(backend, |_| {}).await;
    let app = &room.app;
    let doctor = app.doctor().await;
    let day = local_date(chrono_tz::UTC, 3);
    let lapsing = slot(app, &doctor, &day.to_string(), "08:00").await;
    let (patient_a, _) = patient(app).await;
    let held = book(app, &patient_a, &doctor, &lapsing).await;
    room.deliver_one().await;
    app.expire_hold(&held).await;
    carebook::jobs::expiry::sweep_once(&*app.store)
        .await
        .expect("sweep");
    let expired = read(&room.deliver_one().await);
    assert_eq!(
        expired.subject,
        format!("Hold expired: Dr Test on {day} at 08:00")
    );

    let visit = slot(app, &doctor, &day.to_string(), "09:00").await;
    let other = slot(app, &doctor, &day.to_string(), "10:00").await;
    let (patient_b, _) = patient(app).await;
    let (patient_c, _) = patient(app).await;
    let done = book(app, &patient_b, &doctor, &visit).await;
    let missed = book(app, &patient_c, &doctor, &other).await;
    for id in [&done, &missed] {
        act(app, id, "confirm", json!({})).await;
    }
    // Their booked and confirmed mails: two appointments, so two per step.
    let before = room.sink.received().len();
    while room.deliver().await != Step::default() {}
    let sent = room.sink.wait_for(before + 4, WAIT).await;
    assert_eq!(sent.len(), before + 4);
    // Both visits start in the past (moved in the database: the subjects name the new times).
    app.start_slot(&visit).await;
    app.move_slot_start(&other, -chrono::Duration::seconds(3))
        .await;
    act(app, &done, "complete", json!({})).await;
    let completed = read(&room.deliver_one().await);
    act(app, &missed, "no-show", json!({})).await;
    let no_show = read(&room.deliver_one().await);
    assert_eq!(
        room.deliver().await,
        Step::default(),
        "nothing more to send"
    );
    assert!(
        completed
            .subject
            .starts_with("Thank you for your visit: Dr Test on "),
        "{}",
        completed.subject
    );
    assert!(
        completed.text.contains("leave a review"),
        "{}",
        completed.text
    );
    assert!(
        no_show
            .subject
            .starts_with("Missed appointment: Dr Test on "),
        "{}",
        no_show.subject
    );
    for m in [&expired, &completed, &no_show] {
        assert!(m.invite.is_none(), "{}", m.subject);
        assert!(m.text.starts_with("Hello Pat Mail,"), "{}", m.text);
        assert!(!m.raw.contains(MEDICAL), "{}", m.raw);
    }
}

/// A malformed `SMTP_URL` stops carebook at start, with one line that keeps the password out.
#[tokio::test]
async fn a_bad_smtp_url_stops_startup() {
    let dir = std::env::temp_dir().join(format!("carebook-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let _cleanup = crate::common::TempDir(dir.clone());
    let mut s = crate::common::settings(&format!("sqlite:{}", dir.join("test.db").display()));
    s.notify.smtp_url = Some(Secret("smtps://user:hunter2@/".into()));
    let store = carebook::startup::open_store(&s).await.expect("the store");
    let e = carebook::startup::Application::with_store(s, store)
        .await
        .err()
        .expect("startup refused")
        .to_string();
    assert!(e.contains("SMTP_URL"), "{e}");
    assert!(!e.contains('\n') && !e.contains("hunter2"), "{e}");
}

on_both_backends!(
    booking_confirm_reschedule_cancel_send_four_mails_with_one_calendar_entry,
    four_changes_before_delivery_mail_each_event_as_it_was,
    a_reminder_arrives_once_at_each_lead_time,
    without_smtp_url_email_rows_are_skipped,
    a_deferring_or_refusing_server_is_retried_then_dead,
    an_unreachable_server_is_a_transient_failure,
    a_seat_offered_from_the_waitlist_is_mailed_with_its_deadline,
    a_backlog_is_mailed_in_order,
    an_expiry_a_completion_and_a_no_show_are_mailed,
);
