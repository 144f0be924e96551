//! A client-side token bucket shared by every Route53 call of one process.
//!
//! Route53 allows 5 requests/second per AWS account, all calls together, shared with every
//! external-dns of the account (docs/reference/route53.md "Limits"). cutover takes a configurable
//! part of it (default 2/s) so that both external-dns instances keep room.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The default share of the account's 5 requests/second that cutover uses.
pub const DEFAULT_REQUESTS_PER_SECOND: f64 = 2.0;

/// The pure accounting of a token bucket: no clock inside, `now` is passed in.
///
/// Callers reserve a token even when none is left (the balance goes negative) and wait for the
/// returned delay, so waiters are served in the order they asked.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate_per_second: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens refilled at `rate_per_second`. A rate that is not a
    /// positive finite number falls back to [`DEFAULT_REQUESTS_PER_SECOND`]; a capacity below 1
    /// becomes 1 (otherwise no request could ever pass).
    pub fn new(rate_per_second: f64, capacity: f64, now: Instant) -> Self {
        let rate = sanitize_rate(rate_per_second);
        let capacity = if capacity.is_finite() && capacity >= 1.0 {
            capacity
        } else {
            1.0
        };
        TokenBucket {
            rate_per_second: rate,
            capacity,
            tokens: capacity,
            last: now,
        }
    }

    pub fn rate_per_second(&self) -> f64 {
        self.rate_per_second
    }

    /// Takes one token at `now` and returns how long the caller must wait before sending.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate_per_second)
        }
    }

    fn refill(&mut self, now: Instant) {
        // A clock that went backwards (it cannot with Instant, but be safe) adds nothing.
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate_per_second).min(self.capacity);
    }
}

fn sanitize_rate(rate: f64) -> f64 {
    if rate.is_finite() && rate > 0.0 {
        rate
    } else {
        DEFAULT_REQUESTS_PER_SECOND
    }
}

/// The token bucket behind a lock, with the async wait.
#[derive(Debug)]
pub struct RateLimiter {
    bucket: Mutex<TokenBucket>,
}

impl RateLimiter {
    /// `requests_per_second` with a burst of one request: calls are spread evenly, which keeps
    /// the account-wide rate smooth for the external-dns instances sharing it.
    pub fn new(requests_per_second: f64) -> Self {
        RateLimiter {
            bucket: Mutex::new(TokenBucket::new(requests_per_second, 1.0, Instant::now())),
        }
    }

    pub fn rate_per_second(&self) -> f64 {
        self.lock().rate_per_second()
    }

    /// Waits until this caller may send one request.
    pub async fn acquire(&self) {
        let wait = self.lock().reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TokenBucket> {
        // The bucket holds plain numbers: a panic elsewhere cannot leave it inconsistent.
        self.bucket.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn first_request_passes_then_requests_are_spaced_by_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2.0, 1.0, t0);
        assert_eq!(b.reserve(t0), Duration::ZERO);
        // Second at the same instant: waits 1/2 s.
        assert_eq!(b.reserve(t0), ms(500));
        // Third at the same instant: queued behind the second.
        assert_eq!(b.reserve(t0), ms(1000));
    }

    #[test]
    fn tokens_refill_over_time_up_to_capacity() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2.0, 3.0, t0);
        for _ in 0..3 {
            assert_eq!(b.reserve(t0), Duration::ZERO);
        }
        assert_eq!(b.reserve(t0), ms(500));
        // Ten seconds later the bucket is full again, but never above capacity.
        let later = t0 + Duration::from_secs(10);
        for _ in 0..3 {
            assert_eq!(b.reserve(later), Duration::ZERO);
        }
        assert_eq!(b.reserve(later), ms(500));
    }

    #[test]
    fn n_requests_take_at_least_n_minus_burst_over_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(5.0, 1.0, t0);
        let last_wait = (0..11).map(|_| b.reserve(t0)).last();
        // 11 requests at 5/s with a burst of 1: the 11th goes out 2 s after the first.
        assert_eq!(last_wait, Some(Duration::from_secs(2)));
    }

    #[test]
    fn bad_rates_fall_back_to_the_default() {
        let t0 = Instant::now();
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let b = TokenBucket::new(bad, 1.0, t0);
            assert_eq!(b.rate_per_second(), DEFAULT_REQUESTS_PER_SECOND);
        }
        let mut b = TokenBucket::new(2.0, 0.0, t0);
        assert_eq!(b.reserve(t0), Duration::ZERO, "capacity is at least one");
    }
}
