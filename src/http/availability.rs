//! The availability cache: `GET /doctors/{id}/available-slots` answers, kept as ready-to-send
//! bytes per doctor and query for at most `AVAILABILITY_CACHE_MS`.
//!
//! Patients ask for availability far more often than anyone books, and the answer for one
//! doctor and range is the same for everyone. So the first request for a doctor and query
//! string runs the database query and serialises the envelope once; requests for the same key
//! within the lifetime get those bytes (and 304 when their `If-None-Match` names its `ETag`).
//!
//! Staleness is bounded by the lifetime, whatever changed: a booking through another instance,
//! the expiry sweeper, a slot's start passing. Writes through this instance that change a
//! doctor's seats or slots (booking, cancel, reschedule, slot, schedule and time-off routes)
//! drop that doctor's entries at once, so an instance's own clients read their writes. A stale
//! answer can only show a seat that is gone (the booking then gets 409) or hide one that came
//! back: every booking is checked by the database, never by this cache.
//!
//! Concurrent misses of one key wait for a single query (no stampede when an entry lapses), and
//! the cache's bytes are bounded: past [`MAX_BYTES`] it starts over empty.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::domain::DoctorId;

/// The most bytes of answers kept; an entry that would pass it empties the cache first.
pub const MAX_BYTES: usize = 16 << 20;

/// One ready answer.
#[derive(Clone)]
pub struct Answer {
    /// The serialised envelope.
    body: Bytes,
    /// A strong validator of the body: the same bytes give the same tag on every instance.
    etag: HeaderValue,
}

impl Answer {
    /// An answer for `body`, with its tag.
    pub fn new(body: Vec<u8>) -> Self {
        // std's DefaultHasher::new() has fixed keys, so every instance of one build tags the
        // same bytes alike; the tag only has to change when the bytes do.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        body.hash(&mut h);
        let etag = HeaderValue::from_str(&format!("\"{:016x}-{:x}\"", h.finish(), body.len()))
            .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Self {
            body: body.into(),
            etag,
        }
    }

    /// 304 when `If-None-Match` names this answer's tag (or `*`), else 200 with the body.
    /// Either way with the tag and `Cache-Control: no-cache` (keep it, but ask again).
    pub fn respond(&self, request: &HeaderMap) -> Response {
        let headers = [
            (header::ETAG, self.etag.clone()),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ];
        if matches(request, &self.etag) {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        let json = (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        (headers, [json], self.body.clone()).into_response()
    }
}

/// Whether any `If-None-Match` tag is `etag` (weak comparison, as RFC 9110 asks for it).
fn matches(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = etag.as_bytes();
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.trim_start_matches("W/").as_bytes() == ours)
}

/// An answer with when it was made and how many bytes it counts for.
struct Entry {
    answer: Answer,
    made: Instant,
    /// The doctor's generation the answer was read in.
    generation: u64,
    bytes: Arc<AtomicUsize>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.bytes
            .fetch_sub(self.answer.body.len(), Ordering::Relaxed);
    }
}

/// One key's place: the answer, behind the lock that one filling request holds.
type Cell = Arc<tokio::sync::Mutex<Option<Entry>>>;

/// A doctor's entries and how many times they were dropped.
#[derive(Default)]
struct Doctor {
    generation: u64,
    cells: HashMap<String, Cell>,
}

/// The cache of one instance.
pub struct AvailabilityCache {
    lifetime: Duration,
    doctors: Mutex<HashMap<DoctorId, Doctor>>,
    bytes: Arc<AtomicUsize>,
}

impl AvailabilityCache {
    /// A cache whose answers live `lifetime`; zero turns it off.
    pub fn new(lifetime: Duration) -> Self {
        Self {
            lifetime,
            doctors: Mutex::default(),
            bytes: Arc::default(),
        }
    }

    fn doctors(&self) -> std::sync::MutexGuard<'_, HashMap<DoctorId, Doctor>> {
        self.doctors.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn generation(&self, doctor: DoctorId) -> u64 {
        self.doctors().get(&doctor).map_or(0, |d| d.generation)
    }

    /// The answer for `doctor` and `query`: the kept one if it is young enough and no write
    /// of this instance dropped it, else `fill`'s (kept for the next requests).
    pub async fn get<E, F, Fut>(&self, doctor: DoctorId, query: &str, fill: F) -> Result<Answer, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Answer, E>>,
    {
        if self.lifetime.is_zero() {
            return fill().await;
        }
        let cell: Cell = {
            let mut doctors = self.doctors();
            let d = doctors.entry(doctor).or_default();
            d.cells.entry(query.to_owned()).or_default().clone()
        };
        let mut kept = cell.lock().await;
        let generation = self.generation(doctor);
        if let Some(e) = kept.as_ref() {
            if e.generation == generation && e.made.elapsed() < self.lifetime {
                return Ok(e.answer.clone());
            }
        }
        // The time and generation before the read: a write committed after them drops or
        // outlives this entry, never hides behind it.
        let made = Instant::now();
        let answer = fill().await?;
        *kept = None;
        if self.generation(doctor) == generation {
            let len = answer.body.len();
            if self.bytes.fetch_add(len, Ordering::Relaxed) + len > MAX_BYTES {
                self.bytes.fetch_sub(len, Ordering::Relaxed);
                // Entries are dropped when their last holder lets go, which subtracts them.
                self.doctors().clear();
                self.bytes.fetch_add(len, Ordering::Relaxed);
            }
            *kept = Some(Entry {
                answer: answer.clone(),
                made,
                generation,
                bytes: self.bytes.clone(),
            });
        }
        Ok(answer)
    }

    /// Drops `doctor`'s answers: a write of this instance changed their slots or seats.
    pub fn touch(&self, doctor: DoctorId) {
        let mut doctors = self.doctors();
        let d = doctors.entry(doctor).or_default();
        d.generation += 1;
        d.cells.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(s: &str) -> Result<Answer, ()> {
        Ok(Answer::new(s.as_bytes().to_vec()))
    }

    #[tokio::test]
    async fn keeps_an_answer_until_touched() {
        let cache = AvailabilityCache::new(Duration::from_secs(60));
        let d = DoctorId(uuid::Uuid::new_v4());
        let a = cache.get(d, "q", || async { answer("one") }).await.unwrap();
        let b = cache.get(d, "q", || async { answer("two") }).await.unwrap();
        assert_eq!(a.body, b.body);
        cache.touch(d);
        let c = cache
            .get(d, "q", || async { answer("three") })
            .await
            .unwrap();
        assert_eq!(&c.body[..], b"three");
        assert_ne!(c.etag, a.etag);
    }

    #[tokio::test]
    async fn zero_lifetime_keeps_nothing() {
        let cache = AvailabilityCache::new(Duration::ZERO);
        let d = DoctorId(uuid::Uuid::new_v4());
        cache.get(d, "q", || async { answer("one") }).await.unwrap();
        let b = cache.get(d, "q", || async { answer("two") }).await.unwrap();
        assert_eq!(&b.body[..], b"two");
    }

    #[tokio::test]
    async fn a_failed_fill_is_not_kept() {
        let cache = AvailabilityCache::new(Duration::from_secs(60));
        let d = DoctorId(uuid::Uuid::new_v4());
        assert!(cache
            .get(d, "q", || async { Err::<Answer, _>(()) })
            .await
            .is_err());
        let b = cache.get(d, "q", || async { answer("two") }).await.unwrap();
        assert_eq!(&b.body[..], b"two");
    }

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists() {
        let a = Answer::new(b"body".to_vec());
        let tag = a.etag.to_str().unwrap().to_owned();
        let mut h = HeaderMap::new();
        assert!(!matches(&h, &a.etag));
        h.insert(
            header::IF_NONE_MATCH,
            format!("\"x\", W/{tag}").parse().unwrap(),
        );
        assert!(matches(&h, &a.etag));
        h.insert(header::IF_NONE_MATCH, "*".parse().unwrap());
        assert!(matches(&h, &a.etag));
        h.insert(header::IF_NONE_MATCH, "\"other\"".parse().unwrap());
        assert!(!matches(&h, &a.etag));
    }
}
