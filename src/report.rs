//! The answer to every invocation (docs/design.md §6): per service, the decision, the weights
//! before and after, owners, health with its samples, the Route53 change id and what cutover
//! waits for next.

use serde::Serialize;
use serde_json::Value;

use cutover_core::planner::Decision;
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
}

impl ServiceReport {
    /// A decision whose batch was not sent (nothing to send, a dry run, or a refusal).
    pub fn unapplied(decision: Decision, attempts: u32) -> ServiceReport {
        ServiceReport {
            decision,
            applied: false,
            change_id: None,
            error: None,
            attempts,
        }
    }
}

/// True when a report carries an error anywhere a command or record could have failed.
pub fn report_has_error(report: &Value) -> bool {
    let failed = |r: &Value| {
        r.get("error").is_some()
            || r.get("errors")
                .and_then(Value::as_array)
                .is_some_and(|e| !e.is_empty())
            || r.get("services")
                .and_then(Value::as_array)
                .is_some_and(|s| s.iter().any(|s| s.get("error").is_some()))
    };
    failed(report)
        || report
            .get("records")
            .and_then(Value::as_array)
            .is_some_and(|rs| rs.iter().any(failed))
}
