//! The sandbox's simulated clock: real time plus an offset that tests and the control API move
//! forward, so minutes of bake time and external-dns intervals pass in milliseconds.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug, Default)]
pub struct SimClock {
    offset_ms: Arc<AtomicI64>,
}

impl SimClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Simulated now.
    pub fn now(&self) -> SystemTime {
        let offset = self.offset_ms.load(Ordering::SeqCst);
        let real = SystemTime::now();
        if offset >= 0 {
            real + Duration::from_millis(offset as u64)
        } else {
            real - Duration::from_millis(offset.unsigned_abs())
        }
    }

    /// Simulated now in milliseconds since the Unix epoch.
    pub fn now_millis(&self) -> i64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    /// Moves simulated time forward (never backward).
    pub fn advance(&self, by: Duration) {
        self.offset_ms.fetch_add(
            by.as_millis().min(i64::MAX as u128) as i64,
            Ordering::SeqCst,
        );
    }

    /// How far simulated time is ahead of real time.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::SeqCst).max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now_forward() {
        let clock = SimClock::new();
        let before = clock.now_millis();
        clock.advance(Duration::from_secs(3600));
        let after = clock.now_millis();
        assert!(after - before >= 3_600_000, "{before} -> {after}");
        assert_eq!(clock.offset(), Duration::from_secs(3600));
    }
}
