//! Token buckets by key, for the door's limits: requests per agency, and
//! refused calls per peer address (a caller that keeps being refused, with
//! or without credentials, cannot fill the audit trail). The map is bounded:
//! past [`MAX_KEYS`] the keys whose bucket is full again are dropped, as a
//! fresh bucket would be the same.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Keys kept before full buckets are pruned.
pub const MAX_KEYS: usize = 10_000;

/// A token bucket per key: `per_second` tokens a second up to `burst`.
#[derive(Debug)]
pub struct TokenBuckets {
    per_second: f64,
    burst: f64,
    state: Mutex<HashMap<String, (f64, Instant)>>,
}

impl TokenBuckets {
    /// Buckets refilling at `per_second` up to `burst` (0 per second: no limit).
    pub fn new(per_second: f64, burst: f64) -> Self {
        Self {
            per_second,
            burst: burst.max(1.0),
            state: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` has a token left; takes it when `take`.
    fn check(&self, key: &str, take: bool) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.len() >= MAX_KEYS && !state.contains_key(key) {
            let (rate, burst) = (self.per_second, self.burst);
            state.retain(|_, (tokens, last)| *tokens + now.duration_since(*last).as_secs_f64() * rate < burst);
        }
        let (tokens, last) = state.entry(key.to_owned()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.per_second).min(self.burst);
        *last = now;
        let allowed = *tokens >= 1.0;
        if take {
            *tokens = (*tokens - 1.0).max(0.0);
        }
        allowed
    }

    /// Takes a token of `key` if one is left; whether one was.
    pub fn allow(&self, key: &str) -> bool {
        self.check(key, true)
    }

    /// Whether `key` has a token left, taking none.
    pub fn has(&self, key: &str) -> bool {
        self.check(key, false)
    }

    /// Takes a token of `key` (none left: it stays empty).
    pub fn charge(&self, key: &str) {
        self.check(key, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_and_is_bounded() {
        let buckets = TokenBuckets::new(0.001, 3.0);
        assert!((0..3).all(|_| buckets.allow("a")));
        assert!(!buckets.allow("a"));
        assert!(buckets.has("b"), "another key has its own bucket");
        buckets.charge("b");
        for i in 0..MAX_KEYS + 10 {
            buckets.has(&i.to_string());
        }
        let kept = buckets.state.lock().expect("lock").len();
        assert!(kept <= MAX_KEYS + 1, "{kept} keys kept");
        assert!(!buckets.has("a"), "an empty bucket is never pruned");
    }
}
