//! Weekly availability rules, time off, and the pure planning of the slots a rule generates:
//! which local times it yields over a window, which of them fall in a daylight-saving gap,
//! overlap a slot that exists or an accepted one, or fall inside time off.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;

use super::calendar::locate;
use super::slot::{CAPACITY_RANGE, DURATION_RANGE, HORIZON_DAYS};
use super::text::string_serde;
use super::{DoctorId, FieldError, ScheduleId, TimeOffId};

/// A day of the week as clients write it: `MON` … `SUN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DayOfWeek(pub Weekday);

const NAMES: [(&str, Weekday); 7] = [
    ("MON", Weekday::Mon),
    ("TUE", Weekday::Tue),
    ("WED", Weekday::Wed),
    ("THU", Weekday::Thu),
    ("FRI", Weekday::Fri),
    ("SAT", Weekday::Sat),
    ("SUN", Weekday::Sun),
];

impl DayOfWeek {
    /// Every day, Monday first.
    pub const ALL: [Self; 7] = [
        Self(Weekday::Mon),
        Self(Weekday::Tue),
        Self(Weekday::Wed),
        Self(Weekday::Thu),
        Self(Weekday::Fri),
        Self(Weekday::Sat),
        Self(Weekday::Sun),
    ];

    /// Parses `MON` … `SUN`, case-insensitively.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let up = raw.trim().to_ascii_uppercase();
        NAMES
            .iter()
            .find(|(n, _)| *n == up)
            .map(|(_, d)| Self(*d))
            .ok_or_else(|| "must be one of MON, TUE, WED, THU, FRI, SAT, SUN".into())
    }

    /// The wire and stored spelling.
    pub fn as_str(&self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, d)| *d == self.0)
            .map(|(n, _)| *n)
            .unwrap_or("MON")
    }
}

impl TryFrom<String> for DayOfWeek {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}
string_serde!(DayOfWeek);

/// Weekdays as stored: `MON,WED,FRI`, in week order.
pub fn join_days(days: &[DayOfWeek]) -> String {
    let mut sorted: Vec<DayOfWeek> = days.to_vec();
    sorted.sort_by_key(|d| d.0.num_days_from_monday());
    sorted.dedup();
    sorted
        .iter()
        .map(DayOfWeek::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// Weekdays from their stored form.
pub fn split_days(stored: &str) -> Result<Vec<DayOfWeek>, String> {
    stored.split(',').map(DayOfWeek::parse).collect()
}

/// What a rule says: on these weekdays, slots of `slot_minutes` from `start_time` while they
/// end by `end_time`, local to the doctor's zone, from `valid_from` to `valid_until` inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub weekdays: Vec<DayOfWeek>,
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
    pub slot_minutes: i32,
    pub capacity: i32,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

impl Rule {
    /// Checks the rule's own consistency; errors name the field at fault.
    pub fn check(self) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.weekdays.is_empty() {
            errors.push(FieldError::new("weekdays", "must name at least one day"));
        }
        let (lo, hi) = DURATION_RANGE;
        if !(lo..=hi).contains(&i64::from(self.slot_minutes)) {
            errors.push(FieldError::new(
                "slot_minutes",
                format!("must be between {lo} and {hi}"),
            ));
        } else if after(self.start_time, self.slot_minutes).is_none_or(|e| e > self.end_time) {
            errors.push(FieldError::new(
                "end_time",
                "must leave room for at least one slot after start_time",
            ));
        }
        let (lo, hi) = CAPACITY_RANGE;
        if !(lo..=hi).contains(&i64::from(self.capacity)) {
            errors.push(FieldError::new(
                "capacity",
                format!("must be between {lo} and {hi}"),
            ));
        }
        let today = Utc::now().date_naive();
        if self.valid_from > today + Duration::days(HORIZON_DAYS) {
            errors.push(FieldError::new("valid_from", "must be within 10 years"));
        }
        if self.valid_until.is_some_and(|u| u < self.valid_from) {
            errors.push(FieldError::new(
                "valid_until",
                "must not be before valid_from",
            ));
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }

    /// The local start times of one day, in order.
    pub fn times(&self) -> Vec<NaiveTime> {
        let mut out = Vec::new();
        let mut t = self.start_time;
        while let Some(end) = after(t, self.slot_minutes.max(1)).filter(|e| *e <= self.end_time) {
            out.push(t);
            t = end;
        }
        out
    }
}

/// `t` plus `minutes`, or `None` past midnight (NaiveTime arithmetic would wrap).
fn after(t: NaiveTime, minutes: i32) -> Option<NaiveTime> {
    let (end, wrapped) = t.overflowing_add_signed(Duration::minutes(minutes.into()));
    (wrapped == 0).then_some(end)
}

/// A stored rule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub id: ScheduleId,
    pub doctor_id: DoctorId,
    pub rule: Rule,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A local date and time the generator did not create, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub date: NaiveDate,
    pub time: NaiveTime,
    pub reason: &'static str,
}

/// Why a time was skipped: it does not exist locally (clocks sprang forward over it).
pub const IN_DST_GAP: &str = "the local time does not exist (daylight-saving gap)";
/// Why a time was skipped: it overlaps a slot that exists (a manual one, or another rule's).
pub const OVERLAPS_SLOT: &str = "overlaps an existing slot";
/// Why a time was skipped: it falls inside the doctor's time off.
pub const IN_TIME_OFF: &str = "inside time off";

/// What one generation run did.
#[derive(Debug, Clone, Default)]
pub struct Generation {
    pub created: u64,
    pub skipped: Vec<Skipped>,
}

/// A slot that exists, as far as planning is concerned.
#[derive(Debug, Clone)]
pub struct Existing {
    pub schedule_id: Option<ScheduleId>,
    pub slot_date: NaiveDate,
    pub slot_time: NaiveTime,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i32,
}

/// A slot the generator will insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub slot_date: NaiveDate,
    pub slot_time: NaiveTime,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub max_capacity: i32,
}

/// The dates a rule generates over, in the doctor's zone: from today (or `valid_from`) to
/// `horizon_days` ahead (or `valid_until`); `None` when that is empty.
pub fn window(rule: &Rule, tz: Tz, now: DateTime<Utc>, horizon_days: i64) -> Option<Window> {
    let today = now.with_timezone(&tz).date_naive();
    let from = rule.valid_from.max(today);
    let mut to = today + Duration::days(horizon_days);
    if let Some(u) = rule.valid_until {
        to = to.min(u);
    }
    (from <= to).then_some(Window { from, to })
}

/// Local dates, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Window {
    /// Instants surely before and after every slot of the window (a day and a slot's length
    /// of margin each side covers any zone offset).
    pub fn instants(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let margin = Duration::days(2);
        let start = self.from.and_time(NaiveTime::MIN).and_utc() - margin;
        let end = self.to.and_time(NaiveTime::MIN).and_utc() + margin;
        (start, end)
    }
}

fn overlaps(a: (DateTime<Utc>, DateTime<Utc>), b: (DateTime<Utc>, DateTime<Utc>)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

fn span(start: DateTime<Utc>, minutes: i32) -> (DateTime<Utc>, DateTime<Utc>) {
    (start, start + Duration::minutes(minutes.into()))
}

/// Occupied spans by start (the latest end kept per start). No slot is longer than the longest
/// duration, so only spans starting that long before a query can reach into it.
#[derive(Default)]
struct Taken(std::collections::BTreeMap<DateTime<Utc>, DateTime<Utc>>);

impl Taken {
    fn add(&mut self, (start, end): (DateTime<Utc>, DateTime<Utc>)) {
        let e = self.0.entry(start).or_insert(end);
        *e = (*e).max(end);
    }

    fn overlaps(&self, me: (DateTime<Utc>, DateTime<Utc>)) -> bool {
        let reach = me.0 - Duration::minutes(DURATION_RANGE.1);
        self.0
            .range(reach..me.1)
            .any(|(s, e)| overlaps(me, (*s, *e)))
    }
}

/// Plans a run of rule `id` over `w`: the slots to insert and the times skipped. A time the
/// rule already generated (same date and time) is neither; times in the past are left out
/// silently; a time in a DST overlap takes its first occurrence.
pub fn plan(
    id: ScheduleId,
    rule: &Rule,
    (tz, now): (Tz, DateTime<Utc>),
    w: Window,
    existing: &[Existing],
    time_off: &[(DateTime<Utc>, DateTime<Utc>)],
) -> (Vec<Planned>, Vec<Skipped>) {
    let own: std::collections::HashSet<(NaiveDate, NaiveTime)> = existing
        .iter()
        .filter(|e| e.schedule_id == Some(id))
        .map(|e| (e.slot_date, e.slot_time))
        .collect();
    let mut taken = Taken::default();
    for e in existing {
        taken.add(span(e.starts_at, e.duration_minutes));
    }
    let (mut planned, mut skipped) = (Vec::new(), Vec::new());
    let times = rule.times();
    let mut date = w.from;
    while date <= w.to {
        if rule.weekdays.iter().any(|d| d.0 == date.weekday()) {
            for &time in &times {
                if own.contains(&(date, time)) {
                    continue;
                }
                let skip = |reason| Skipped { date, time, reason };
                let Ok(starts_at) = locate(tz, date, time) else {
                    skipped.push(skip(IN_DST_GAP));
                    continue;
                };
                if starts_at <= now {
                    continue;
                }
                let me = span(starts_at, rule.slot_minutes);
                if time_off.iter().any(|t| overlaps(me, *t)) {
                    skipped.push(skip(IN_TIME_OFF));
                } else if taken.overlaps(me) {
                    skipped.push(skip(OVERLAPS_SLOT));
                } else {
                    taken.add(me);
                    planned.push(Planned {
                        slot_date: date,
                        slot_time: time,
                        starts_at,
                        duration_minutes: rule.slot_minutes,
                        max_capacity: rule.capacity,
                    });
                }
            }
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    (planned, skipped)
}

/// Longest reason of a time off, in characters.
pub const TIME_OFF_REASON_MAX: usize = 500;

/// A period a doctor does not work, as instants.
#[derive(Debug, Clone)]
pub struct NewTimeOff {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// A stored time-off entry.
#[derive(Debug, Clone)]
pub struct TimeOff {
    pub id: TimeOffId,
    pub doctor_id: DoctorId,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What entering time off did: the slots it blocked, and the slots inside it that hold live
/// appointments (left as they are, for staff to move).
#[derive(Debug, Clone)]
pub struct TimeOffOutcome {
    pub time_off: TimeOff,
    pub blocked: u64,
    pub booked: Vec<super::slot::Slot>,
}

/// What ending or changing a rule did to its future slots: free ones removed, booked ones
/// kept and listed.
#[derive(Debug, Clone, Default)]
pub struct Removal {
    pub removed: u64,
    pub booked: Vec<super::slot::Slot>,
}

/// Whether a slot starting at `start` for `minutes` overlaps `[from, to)`.
pub fn slot_in(start: DateTime<Utc>, minutes: i32, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    overlaps(span(start, minutes), (from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn rule(days: &[Weekday], from: NaiveDate) -> Rule {
        Rule {
            weekdays: days.iter().map(|d| DayOfWeek(*d)).collect(),
            start_time: t(9, 0),
            end_time: t(12, 30),
            slot_minutes: 20,
            capacity: 1,
            valid_from: from,
            valid_until: None,
        }
    }

    #[test]
    fn times_fit_in_the_day() {
        let r = rule(&[Weekday::Mon], Utc::now().date_naive());
        let times = r.times();
        // 09:00 … 12:00 every 20 minutes: 10 slots, the last ending at 12:20.
        assert_eq!(times.len(), 10);
        assert_eq!(*times.last().unwrap(), t(12, 0));
        let late = Rule {
            start_time: t(23, 0),
            end_time: t(23, 59),
            slot_minutes: 30,
            ..r
        };
        assert_eq!(late.times(), vec![t(23, 0)]);
    }

    #[test]
    fn days_parse_and_join() {
        assert_eq!(DayOfWeek::parse("mon").unwrap().0, Weekday::Mon);
        assert!(DayOfWeek::parse("MONDAY").is_err());
        let days = [
            DayOfWeek(Weekday::Fri),
            DayOfWeek(Weekday::Mon),
            DayOfWeek(Weekday::Fri),
        ];
        assert_eq!(join_days(&days), "MON,FRI");
        assert_eq!(split_days("MON,FRI").unwrap().len(), 2);
    }

    #[test]
    fn check_names_fields() {
        let mut r = rule(&[], Utc::now().date_naive());
        r.end_time = t(9, 10);
        r.valid_until = Some(r.valid_from - Duration::days(1));
        let errors = r.check().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["weekdays", "end_time", "valid_until"]);
    }

    #[test]
    fn plan_skips_own_overlaps_and_time_off() {
        let now = Utc::now();
        let from = now.date_naive() + Duration::days(1);
        let r = rule(&[from.weekday()], from);
        let w = Window { from, to: from };
        let id = ScheduleId::random();
        let at = |h, m| locate(Tz::UTC, from, t(h, m)).unwrap();
        let existing = vec![
            Existing {
                schedule_id: Some(id),
                slot_date: from,
                slot_time: t(9, 0),
                starts_at: at(9, 0),
                duration_minutes: 20,
            },
            Existing {
                schedule_id: None,
                slot_date: from,
                slot_time: t(9, 30),
                starts_at: at(9, 30),
                duration_minutes: 15,
            },
        ];
        let off = [(at(11, 0), at(12, 0))];
        let (planned, skipped) = plan(id, &r, (Tz::UTC, now), w, &existing, &off);
        let reasons: Vec<_> = skipped.iter().map(|s| (s.time, s.reason)).collect();
        assert_eq!(
            reasons,
            [
                (t(9, 20), OVERLAPS_SLOT),
                (t(9, 40), OVERLAPS_SLOT),
                (t(11, 0), IN_TIME_OFF),
                (t(11, 20), IN_TIME_OFF),
                (t(11, 40), IN_TIME_OFF),
            ]
        );
        let times: Vec<_> = planned.iter().map(|p| p.slot_time).collect();
        assert_eq!(times, [t(10, 0), t(10, 20), t(10, 40), t(12, 0)]);
    }
}
