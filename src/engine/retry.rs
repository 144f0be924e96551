//! Time: the invocation's deadline, and retries of transient Route53 errors with exponential
//! backoff and full jitter, bounded by that deadline rather than by a number of attempts
//! (docs/design.md §10; docs/reference/route53.md "Other error codes": `Throttling` and
//! `PriorRequestNotComplete` are retried with backoff). Route53 allows 5 requests/second per
//! account, shared with every external-dns: a throttled call is the normal state of a busy
//! account, not a failure.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::observe::route53::Route53Error;

/// When the invocation must have answered: Lambda's deadline, or the CLI's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
}

/// How long the CLI (and a caller that names no deadline) may take.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(300);

/// 2001-09-09 in milliseconds since the Unix epoch: no real deadline is earlier, and no
/// function timeout (at most 15 minutes) is later.
const EPOCH_MILLIS_FLOOR: u64 = 1_000_000_000_000;

/// Time kept back at the deadline to report and answer; a rollback keeps less.
pub const NORMAL_MARGIN: Duration = Duration::from_secs(3);
pub const ROLLBACK_MARGIN: Duration = Duration::from_millis(800);

/// The first backoff's upper bound, and the largest one.
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(5);

impl Deadline {
    /// `budget` from now.
    pub fn after(budget: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + budget,
        }
    }

    /// Lambda's deadline, milliseconds since the Unix epoch (`Lambda-Runtime-Deadline-Ms`), as
    /// seen from `now_ms` on the same clock.
    ///
    /// Local Runtime API emulators (cargo-lambda's `watch`) send the function's timeout in
    /// milliseconds instead (`600000`), not a point in time. Taken as an epoch time it lies in
    /// 1970, so every invocation would start with no time left and defer all its work. A value
    /// too small to be an epoch time of this century is therefore read as a budget from now.
    pub fn from_epoch_millis(deadline_ms: u64, now_ms: u64) -> Deadline {
        if deadline_ms < EPOCH_MILLIS_FLOOR {
            return Deadline::after(Duration::from_millis(deadline_ms));
        }
        Deadline::after(Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Time left for work of `priority`: the remaining time less its margin.
    pub fn left_for(&self, priority: Priority) -> Duration {
        self.remaining().saturating_sub(priority.margin())
    }
}

/// Whose work it is: a rollback keeps trying closer to the deadline than anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Rollback,
    Normal,
}

impl Priority {
    fn margin(self) -> Duration {
        match self {
            Priority::Rollback => ROLLBACK_MARGIN,
            Priority::Normal => NORMAL_MARGIN,
        }
    }
}

/// The pause before retry number `attempt` (0 for the first retry): a random time up to
/// `min(cap, base × 2^attempt)` ("full jitter"), so that callers throttled together do not retry
/// together.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1u32 << attempt.min(16))
        .min(BACKOFF_CAP);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

/// What a call came to, with the attempts it took.
#[derive(Debug)]
pub struct Attempts<T> {
    pub result: Result<T, Route53Error>,
    pub attempts: u32,
}

/// Calls `call` until it succeeds, fails for good, or the pause before the next try would cross
/// the deadline less the margin of `priority`. Only transient errors are retried.
pub async fn with_retries<T, F, Fut>(
    deadline: Deadline,
    priority: Priority,
    mut call: F,
) -> Attempts<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Route53Error>>,
{
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let result = call().await;
        match &result {
            Err(e) if e.is_transient() => {
                let pause = backoff(attempts - 1);
                if pause >= deadline.left_for(priority) {
                    return Attempts { result, attempts };
                }
                tracing::info!(error = %e, attempts, pause_ms = pause.as_millis() as u64, "transient Route53 error; retrying");
                tokio::time::sleep(pause).await;
            }
            _ => return Attempts { result, attempts },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn an_epoch_deadline_counts_from_now() {
        let now_ms = 1_796_102_462_953;
        let d = Deadline::from_epoch_millis(now_ms + 30_000, now_ms);
        let left = d.remaining();
        assert!(
            left > Duration::from_secs(29) && left <= Duration::from_secs(30),
            "{left:?}"
        );
        // A deadline already passed leaves no time.
        let past = Deadline::from_epoch_millis(now_ms - 5_000, now_ms);
        assert_eq!(past.remaining(), Duration::ZERO);
    }

    #[test]
    fn an_emulators_relative_deadline_is_a_budget_from_now() {
        // cargo-lambda's local Runtime API sends `Lambda-Runtime-Deadline-Ms: 600000`.
        let now_ms = 1_796_102_462_953;
        let d = Deadline::from_epoch_millis(600_000, now_ms);
        let left = d.remaining();
        assert!(
            left > Duration::from_secs(599) && left <= Duration::from_secs(600),
            "{left:?}"
        );
    }

    #[test]
    fn backoff_grows_to_its_cap_and_is_jittered() {
        for attempt in 0..20 {
            let pause = backoff(attempt);
            let ceiling = (BACKOFF_BASE * 2u32.pow(attempt.min(16))).min(BACKOFF_CAP);
            assert!(pause <= ceiling, "{attempt}: {pause:?} > {ceiling:?}");
        }
        let pauses: std::collections::BTreeSet<Duration> = (0..50).map(|_| backoff(5)).collect();
        assert!(pauses.len() > 1, "full jitter varies");
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let out = with_retries(
            Deadline::after(Duration::from_secs(60)),
            Priority::Normal,
            || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 3 {
                        Err(Route53Error::Throttled("Rate exceeded".into()))
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await;
        assert_eq!(out.result, Ok(3));
        assert_eq!(out.attempts, 4);
    }

    #[tokio::test]
    async fn a_final_error_is_not_retried() {
        let calls = AtomicU32::new(0);
        let out: Attempts<()> = with_retries(
            Deadline::after(Duration::from_secs(60)),
            Priority::Normal,
            || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(Route53Error::InvalidInput("bad".into())) }
            },
        )
        .await;
        assert_eq!(out.attempts, 1);
        assert!(out.result.is_err());
    }

    #[tokio::test]
    async fn the_deadline_bounds_the_retries() {
        // Less time left than the normal margin: no retry at all.
        let out: Attempts<()> = with_retries(
            Deadline::after(NORMAL_MARGIN / 2),
            Priority::Normal,
            || async { Err(Route53Error::Throttled("Rate exceeded".into())) },
        )
        .await;
        assert_eq!(out.attempts, 1);
        // A rollback keeps trying closer to the deadline than normal work would.
        let deadline = Deadline::after(NORMAL_MARGIN);
        assert!(deadline.left_for(Priority::Rollback) > deadline.left_for(Priority::Normal));
        assert_eq!(deadline.left_for(Priority::Normal), Duration::ZERO);
    }
}
