//! Store-level contract of the reads that gather many rows at once: the front desk's day sheet
//! and a month's free days. Both adapters must return the same rows for the same data.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use carebook::domain::slot::SlotAdminStatus;
use carebook::domain::store::Actor;

use crate::common::port::TestStore;
use crate::on_both_stores;
use crate::store_contract::{booking, doctor, new_slot, patient};

/// The sheet of a day holds every doctor's slots on it (by doctor, then start) and only the
/// live appointments on them, each with its patient's name; another day's are not there.
async fn the_day_sheet_holds_the_days_slots_and_live_appointments(port: TestStore) {
    let store = &*port.store;
    let (first, second) = (doctor(store).await, doctor(store).await);
    let nine = store
        .create_slot(first.id, new_slot(2, 9, 2))
        .await
        .unwrap();
    let ten = store
        .create_slot(first.id, new_slot(2, 10, 1))
        .await
        .unwrap();
    let other = store
        .create_slot(second.id, new_slot(2, 9, 1))
        .await
        .unwrap();
    let next_day = store
        .create_slot(first.id, new_slot(3, 9, 1))
        .await
        .unwrap();
    let (kept, dropped) = (patient(store).await, patient(store).await);
    let live = store
        .book(booking(kept.id, first.id, nine.id), None, Actor::system())
        .await
        .unwrap()
        .appointment;
    let gone = store
        .book(booking(dropped.id, first.id, ten.id), None, Actor::system())
        .await
        .unwrap()
        .appointment;
    store.cancel(gone.id, None, Actor::system()).await.unwrap();

    let sheet = store.day_sheet(nine.slot_date).await.unwrap();
    let mut want = vec![
        (first.id, nine.id),
        (first.id, ten.id),
        (second.id, other.id),
    ];
    want.sort_by_key(|(d, _)| d.0);
    // By doctor (as each database orders a uuid: by its bytes), then start.
    let got: Vec<_> = sheet.slots.iter().map(|s| (s.doctor_id, s.id)).collect();
    assert_eq!(got, want);
    let seats: Vec<_> = sheet
        .slots
        .iter()
        .map(|s| (s.id, s.available_capacity))
        .collect();
    assert!(
        seats.contains(&(nine.id, 1)) && seats.contains(&(ten.id, 1)),
        "{seats:?}"
    );
    assert_eq!(sheet.appointments.len(), 1, "{:?}", sheet.appointments);
    assert_eq!(sheet.appointments[0].id, live.id);
    assert_eq!(
        sheet.appointments[0].patient_name.as_deref(),
        Some("Pat Port")
    );

    let later = store.day_sheet(next_day.slot_date).await.unwrap();
    assert_eq!(later.slots.len(), 1);
    assert!(later.appointments.is_empty());
}

/// A month's free days count exactly the slots `available_slots` lists on each day: a full
/// slot and a blocked one are not free, and a day with none is left out.
async fn free_days_count_what_available_slots_lists(port: TestStore) {
    let store = &*port.store;
    let d = doctor(store).await;
    let full = store.create_slot(d.id, new_slot(2, 9, 1)).await.unwrap();
    store.create_slot(d.id, new_slot(2, 10, 2)).await.unwrap();
    store.create_slot(d.id, new_slot(2, 11, 1)).await.unwrap();
    let blocked = store.create_slot(d.id, new_slot(3, 9, 1)).await.unwrap();
    store.create_slot(d.id, new_slot(4, 9, 1)).await.unwrap();
    let p = patient(store).await;
    store
        .book(booking(p.id, d.id, full.id), None, Actor::system())
        .await
        .unwrap();
    store
        .set_slot_status(d.id, blocked.id, SlotAdminStatus::Blocked)
        .await
        .unwrap();

    let (from, to) = (full.slot_date, full.slot_date + chrono::Duration::days(5));
    let days = store.free_days(d.id, from, to).await.unwrap();
    let mut listed: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for s in store.available_slots(d.id, from, to).await.unwrap() {
        *listed.entry(s.slot_date).or_default() += 1;
    }
    assert_eq!(days, listed.into_iter().collect::<Vec<_>>());
    assert_eq!(days.len(), 2, "{days:?}");
    assert_eq!(days[0], (full.slot_date, 2));
    assert!(days.iter().all(|(day, _)| *day != blocked.slot_date));
}

on_both_stores!(
    the_day_sheet_holds_the_days_slots_and_live_appointments,
    free_days_count_what_available_slots_lists,
);
