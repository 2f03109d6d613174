//! A per-token rate limit (token bucket): each bearer token may send `per_minute`
//! requests a minute on average, in bursts of up to `burst`. Over the limit the request
//! is answered `429` with a `RATE_LIMITED` error before any work. A batch counts one
//! request per operation.
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Clone)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Arc<Mutex<HashMap<u64, (f64, Instant)>>>,
}

/// Buckets kept before idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;

impl RateLimiter {
    /// `per_minute == 0` turns the limit off.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        RateLimiter {
            per_second: f64::from(per_minute) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Arc::default(),
        }
    }

    /// Takes one request from `token`'s bucket; `false` when it is empty.
    pub fn allow(&self, token: &str) -> bool {
        self.allow_n(token, 1)
    }

    /// Takes `n` requests (a batch's operations) from `token`'s bucket at once, or none:
    /// `false` when it holds fewer, so a batch larger than the burst never passes.
    pub fn allow_n(&self, token: &str, n: usize) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let mut h = DefaultHasher::new();
        token.hash(&mut h);
        let key = h.finish();
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        if buckets.len() >= MAX_BUCKETS {
            let full = self.burst;
            let rate = self.per_second;
            buckets.retain(|_, (tokens, at)| *tokens + at.elapsed().as_secs_f64() * rate < full);
        }
        let (tokens, at) = buckets.entry(key).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        // Exact for any batch size (far below 2^52).
        let n = n as f64;
        if *tokens >= n {
            *tokens -= n;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_bucket_runs_dry_per_token() {
        let l = RateLimiter::new(60, 3);
        assert!(l.allow("a") && l.allow("a") && l.allow("a"));
        assert!(!l.allow("a"));
        assert!(l.allow("b"), "another token has its own bucket");
        assert!(RateLimiter::new(0, 1).allow("x"), "0 turns the limit off");
    }

    #[test]
    fn a_batch_takes_one_request_per_operation_or_none() {
        let l = RateLimiter::new(60, 5);
        assert!(l.allow_n("a", 3));
        assert!(!l.allow_n("a", 3), "two are left: the batch takes none");
        assert!(l.allow_n("a", 2));
        assert!(!l.allow("a"));
        assert!(
            !RateLimiter::new(60, 5).allow_n("b", 6),
            "over the burst never passes"
        );
    }
}
