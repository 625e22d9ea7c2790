//! Throttling windows this instance has seen refuse, remembered until they close: a flood of
//! attempts from an address already refused is answered 429 at once, without a database
//! round trip (the database still decides every attempt it sees, so N parallel guesses still
//! evaluate at most the limit; another instance learns of a window at its own first refusal).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys remembered; past it, closed windows are dropped, then the whole map if needed.
const MOST: usize = 10_000;

/// Keys refused, with when their window closes.
#[derive(Default)]
pub struct Refusals {
    until: Mutex<HashMap<String, Instant>>,
}

impl Refusals {
    /// Seconds left of a refusal of `key`, if it is still refused.
    pub fn refused(&self, key: &str) -> Option<u64> {
        let now = Instant::now();
        let map = self.until.lock().ok()?;
        let until = *map.get(key)?;
        (until > now).then(|| (until - now).as_secs().max(1))
    }

    /// Remembers that `key` is refused for `secs` more seconds.
    pub fn refuse(&self, key: &str, secs: u64) {
        let Ok(mut map) = self.until.lock() else {
            return;
        };
        let now = Instant::now();
        if map.len() >= MOST {
            map.retain(|_, until| *until > now);
            if map.len() >= MOST {
                map.clear();
            }
        }
        map.insert(key.to_owned(), now + Duration::from_secs(secs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_lasts_its_window() {
        let r = Refusals::default();
        assert_eq!(r.refused("ip:1"), None);
        r.refuse("ip:1", 30);
        assert!(matches!(r.refused("ip:1"), Some(s) if (1..=30).contains(&s)));
        r.refuse("ip:2", 0);
        assert_eq!(r.refused("ip:2"), None);
    }
}
