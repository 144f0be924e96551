//! Time as the planner sees it: passed in, never read inside the planner, so that decisions are
//! reproducible and the sandbox can run minutes of bake time in milliseconds.
//!
//! The CLI can follow the sandbox's simulated clock for a rehearsal (`--clock
//! sandbox:CONTROL_URL`, docs/sandbox.md "Rehearsing with the CLI"): one read of the sandbox's
//! offset when the command starts, then the system clock plus that offset. Lambda always uses
//! the system clock.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cutover_core::types::Millis;

pub trait Clock: Send + Sync {
    fn now_millis(&self) -> Millis;
}

impl std::fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock(now_millis={})", self.now_millis())
    }
}

/// The real clock, used in Lambda and the CLI.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> Millis {
        system_now_millis()
    }
}

fn system_now_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// A clock that reads a shared offset; the demo and tests drive it alongside the sandbox's.
impl<F: Fn() -> Millis + Send + Sync> Clock for F {
    fn now_millis(&self) -> Millis {
        self()
    }
}

/// The system clock moved by a fixed offset: the sandbox's simulated time, read once.
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock {
    pub offset_millis: Millis,
}

impl Clock for OffsetClock {
    fn now_millis(&self) -> Millis {
        system_now_millis().saturating_add(self.offset_millis)
    }
}

/// Which clock a CLI command follows (`--clock`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClockChoice {
    System,
    /// The sandbox's simulated clock, read from its control API (loopback only).
    Sandbox {
        control_url: String,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClockError {
    /// A value `--clock` does not take (clap names the flag).
    #[error("{0}")]
    Choice(String),
    #[error("--clock: cannot read the sandbox clock at {url}: {reason}")]
    Read { url: String, reason: String },
}

impl std::str::FromStr for ClockChoice {
    type Err = ClockError;

    fn from_str(text: &str) -> Result<Self, ClockError> {
        if text == "system" {
            return Ok(ClockChoice::System);
        }
        let Some(url) = text.strip_prefix("sandbox:") else {
            return Err(ClockError::Choice(format!(
                "\"{text}\" is neither \"system\" nor \"sandbox:CONTROL_URL\""
            )));
        };
        let control_url = url.trim_end_matches('/').to_string();
        check_loopback(&control_url)?;
        Ok(ClockChoice::Sandbox { control_url })
    }
}

/// A simulated clock is for rehearsals: the control URL must be `http://` on a loopback address,
/// so that a real migration can never be driven by a clock someone else moves.
fn check_loopback(url: &str) -> Result<(), ClockError> {
    let refuse = |why: &str| Err(ClockError::Choice(format!("{url}: {why}")));
    let Some(rest) = url.strip_prefix("http://") else {
        return refuse("the sandbox control URL must start with http://");
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        refuse("the sandbox clock is only followed on a loopback address (127.0.0.0/8, ::1)")
    }
}

impl ClockChoice {
    /// The clock this choice stands for; the sandbox's is read once, now.
    pub async fn resolve(&self) -> Result<std::sync::Arc<dyn Clock>, ClockError> {
        match self {
            ClockChoice::System => Ok(std::sync::Arc::new(SystemClock)),
            ClockChoice::Sandbox { control_url } => {
                let offset_millis = read_sandbox_offset(control_url).await?;
                Ok(std::sync::Arc::new(OffsetClock { offset_millis }))
            }
        }
    }
}

/// `GET {control}/clock` → `{"now_millis": …, "offset_millis": …}` (docs/sandbox.md "The control API").
async fn read_sandbox_offset(control_url: &str) -> Result<Millis, ClockError> {
    let url = format!("{control_url}/clock");
    let err = |reason: String| ClockError::Read {
        url: url.clone(),
        reason,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .map_err(|e| err(e.to_string()))?;
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| err(e.to_string()))?;
    if !response.status().is_success() {
        return Err(err(format!("HTTP {}", response.status().as_u16())));
    }
    let body: serde_json::Value = response.json().await.map_err(|e| err(e.to_string()))?;
    body.get("offset_millis")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| err("the answer has no integer \"offset_millis\"".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_choices_parse_and_only_loopback_sandboxes_are_followed() {
        assert_eq!("system".parse(), Ok(ClockChoice::System));
        for ok in [
            "sandbox:http://127.0.0.1:4000",
            "sandbox:http://127.8.9.1:4000/",
            "sandbox:http://localhost:4000",
            "sandbox:http://[::1]:4000",
        ] {
            assert!(
                matches!(ok.parse(), Ok(ClockChoice::Sandbox { .. })),
                "{ok}"
            );
        }
        for bad in [
            "sandbox:http://10.0.0.1:4000",
            "sandbox:https://127.0.0.1:4000",
            "sandbox:http://example.com",
            "sandbox:http://127.0.0.1.example.com:80",
            "wall",
        ] {
            let err = bad.parse::<ClockChoice>().unwrap_err();
            assert!(matches!(err, ClockError::Choice(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn an_offset_clock_runs_ahead_of_the_system_clock() {
        let ahead = OffsetClock {
            offset_millis: 3_600_000,
        };
        let before = SystemClock.now_millis();
        let read = ahead.now_millis();
        let after = SystemClock.now_millis();
        assert!(before + 3_600_000 <= read && read <= after + 3_600_000);
    }
}
