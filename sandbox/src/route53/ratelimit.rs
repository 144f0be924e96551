//! The account-wide request rate limit (docs/reference/route53.md "Limits": 5 requests/second per
//! account, all Route53 calls together), a token bucket on real time.

use std::time::Instant;

#[derive(Debug)]
pub struct TokenBucket {
    per_second: Option<f64>,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// `None` disables the limit. The burst equals one second's worth (at least one request).
    pub fn new(per_second: Option<f64>) -> Self {
        let per_second = per_second.filter(|r| r.is_finite() && *r > 0.0);
        TokenBucket {
            per_second,
            tokens: per_second.map(capacity).unwrap_or(0.0),
            last: Instant::now(),
        }
    }

    pub fn set_rate(&mut self, per_second: Option<f64>) {
        *self = TokenBucket::new(per_second);
    }

    /// Takes one token if there is one.
    pub fn try_acquire(&mut self) -> bool {
        self.try_acquire_at(Instant::now())
    }

    fn try_acquire_at(&mut self, now: Instant) -> bool {
        let Some(rate) = self.per_second else {
            return true;
        };
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * rate).min(capacity(rate));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn capacity(rate: f64) -> f64 {
    rate.max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill() {
        let mut b = TokenBucket::new(Some(5.0));
        let t0 = b.last;
        for _ in 0..5 {
            assert!(b.try_acquire_at(t0));
        }
        assert!(!b.try_acquire_at(t0));
        // 200 ms at 5/s refills one token.
        assert!(b.try_acquire_at(t0 + Duration::from_millis(200)));
        assert!(!b.try_acquire_at(t0 + Duration::from_millis(200)));
    }

    #[test]
    fn disabled_always_allows() {
        let mut b = TokenBucket::new(None);
        assert!((0..1000).all(|_| b.try_acquire()));
        let mut nan = TokenBucket::new(Some(f64::NAN));
        assert!(nan.try_acquire());
    }
}
