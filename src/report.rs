//! The answer to every invocation (docs/design.md §6): per service, the decision, the weights
//! before and after, owners, health with its samples, the Route53 change id and what cutover
//! waits for next.

use serde::Serialize;

use cutover_core::planner::{Decision, DecisionKind};
use cutover_core::types::{Millis, Name};

/// The JSON report of one command (docs/design.md §6).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub action: String,
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub dry_run: bool,
    pub at_millis: Millis,
    pub services: Vec<ServiceReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Clusters whose Kubernetes API failed, and what that blocks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<ClusterProblem>,
    /// The SNS notifications of this invocation's decisions, published or not
    /// (docs/design.md §4): a failed publish never fails the decision.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<crate::notify::NotificationOutcome>,
    /// The waves (docs/design.md §10): queued, active, done and rolled-back services, what this
    /// invocation started, and why a wave stopped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waves: Vec<crate::engine::waves::WaveReport>,
}

/// A cluster whose Kubernetes API could not be read this time (docs/design.md §9).
#[derive(Debug, Clone, Serialize)]
pub struct ClusterProblem {
    pub cluster: Name,
    /// What failed: EKS DescribeCluster, the token, TLS, the list call…
    pub error: String,
    /// What waits because of it, and for which services.
    pub blocks: String,
}

/// The per-service part of a report: the planner's decision and what became of its batch.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceReport {
    #[serde(flatten)]
    pub decision: Decision,
    /// True when Route53 accepted the batch.
    pub applied: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How many times the service was planned (more than one: a compare-and-swap was lost).
    pub attempts: u32,
    /// The change was not sent for want of time; the next tick sends it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deferred: bool,
    /// It failed for a reason a retry may fix (throttling, a 5xx, no answer, an API out of
    /// reach): Lambda retries such an event.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub transient: bool,
    /// A split-horizon name: what became of each zone's batch, in the order they were sent
    /// (docs/design.md §8.1).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub zone_results: Vec<ZoneResult>,
}

/// What became of one zone's batch of a split-horizon name.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneResult {
    pub zone_id: String,
    pub applied: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What an invocation came to: the CLI's exit code, and whether Lambda should retry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked was done: applied, or nothing to do (a no-op, a wait, a hold).
    Done,
    /// It failed for a reason a retry may fix (throttling, a 5xx, no answer, an API out of
    /// reach, the time ran out), and nothing else was done.
    Failed,
    /// It was refused: bad input, a precondition not met, a batch that would break a rule.
    Refused,
    /// Some of it was done and some failed or was refused (one service of many, one SNS
    /// record of two).
    Partial,
}

impl Outcome {
    /// Its name in the report (`"outcome"`) and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
            Outcome::Partial => "partial",
        }
    }

    /// The CLI's exit code: 0 done, 1 failed (retry may help), 2 refused, 3 partially done.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Done => 0,
            Outcome::Failed => 1,
            Outcome::Refused => 2,
            Outcome::Partial => 3,
        }
    }

    /// Several parts' outcomes as one.
    pub fn combine(parts: &[Outcome]) -> Outcome {
        let any = |o: Outcome| parts.contains(&o);
        let done = any(Outcome::Done) || any(Outcome::Partial);
        if any(Outcome::Partial) || (done && (any(Outcome::Failed) || any(Outcome::Refused))) {
            Outcome::Partial
        } else if any(Outcome::Failed) {
            Outcome::Failed
        } else if any(Outcome::Refused) {
            Outcome::Refused
        } else {
            Outcome::Done
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Report {
    /// What this command came to, from its services' reports and its own errors.
    pub fn outcome(&self) -> Outcome {
        let mut parts: Vec<Outcome> = self.services.iter().map(ServiceReport::outcome).collect();
        if !self.errors.is_empty() {
            parts.push(Outcome::Refused);
        }
        Outcome::combine(&parts)
    }

    /// Whether some work failed for a reason a retry may fix.
    pub fn has_transient_failure(&self) -> bool {
        self.services.iter().any(|s| s.transient)
    }
}

impl ServiceReport {
    /// Applied (whatever came after) or nothing to do: done; a transient failure: failed; any
    /// other error or a refusal: refused.
    pub fn outcome(&self) -> Outcome {
        if self.applied {
            Outcome::Done
        } else if self.transient {
            Outcome::Failed
        } else if self.error.is_some() || self.decision.kind == DecisionKind::Refused {
            Outcome::Refused
        } else {
            Outcome::Done
        }
    }
    /// A decision whose batch was not sent (nothing to send, a dry run, or a refusal).
    pub fn unapplied(decision: Decision, attempts: u32) -> ServiceReport {
        ServiceReport {
            decision,
            applied: false,
            change_id: None,
            error: None,
            attempts,
            deferred: false,
            transient: false,
            zone_results: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_combine_into_one_exit_code() {
        use Outcome::*;
        assert_eq!(Outcome::combine(&[]), Done);
        assert_eq!(Outcome::combine(&[Done, Done]), Done);
        assert_eq!(Outcome::combine(&[Failed, Failed]), Failed);
        assert_eq!(Outcome::combine(&[Refused]), Refused);
        assert_eq!(Outcome::combine(&[Failed, Refused]), Failed);
        assert_eq!(Outcome::combine(&[Done, Failed]), Partial);
        assert_eq!(Outcome::combine(&[Refused, Done]), Partial);
        assert_eq!(Outcome::combine(&[Partial, Done]), Partial);
        assert_eq!(
            [Done, Failed, Refused, Partial].map(Outcome::exit_code),
            [0, 1, 2, 3]
        );
    }
}
