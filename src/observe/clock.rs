//! Time as the planner sees it: passed in, never read inside the planner, so that decisions are
//! reproducible and the sandbox can run minutes of bake time in milliseconds.

use std::time::{SystemTime, UNIX_EPOCH};

use cutover_core::types::Millis;

pub trait Clock: Send + Sync {
    fn now_millis(&self) -> Millis;
}

/// The real clock, used in Lambda and the CLI.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> Millis {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as Millis)
            .unwrap_or(0)
    }
}

/// A clock that reads a shared offset; the demo and tests drive it alongside the sandbox's.
impl<F: Fn() -> Millis + Send + Sync> Clock for F {
    fn now_millis(&self) -> Millis {
        self()
    }
}
