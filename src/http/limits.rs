//! Request rate limits per caller: the signed-in user, or the client's IP for anonymous calls.
//!
//! GCRA (governor): `RATE_LIMIT_PER_MINUTE` requests a minute on average, with bursts of up to
//! that many. The counters are per instance: behind a load balancer over N instances a caller
//! gets up to N times the limit; see the README.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Keys kept before idle ones are forgotten.
const PRUNE_AT: usize = 100_000;

/// The limiter; `None` inside when limits are off.
pub struct Limits(Option<DefaultKeyedRateLimiter<String>>);

impl Limits {
    /// A limiter allowing `per_minute` requests a minute per key; 0 turns limits off.
    pub fn new(per_minute: u32) -> Self {
        Self(NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))))
    }

    /// Counts a request for `key`; `Err(seconds to wait)` when over the limit.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        if limiter.len() > PRUNE_AT {
            limiter.retain_recent();
        }
        limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + 1
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_off_at_zero() {
        let l = Limits::new(3);
        for _ in 0..3 {
            assert!(l.check("a").is_ok());
        }
        let wait = l.check("a").unwrap_err();
        assert!((1..=21).contains(&wait), "{wait}");
        assert!(l.check("b").is_ok());
        let off = Limits::new(0);
        for _ in 0..1000 {
            assert!(off.check("a").is_ok());
        }
    }
}
