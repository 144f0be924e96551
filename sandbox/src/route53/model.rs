//! The sandbox Route53's value types: record sets, changes, change infos and API errors.
//! All serialise to JSON so the control API can dump them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    Create,
    Delete,
    Upsert,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "CREATE",
            Action::Delete => "DELETE",
            Action::Upsert => "UPSERT",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "CREATE" => Some(Action::Create),
            "DELETE" => Some(Action::Delete),
            "UPSERT" => Some(Action::Upsert),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AliasTarget {
    /// Without the `/hostedzone/` prefix.
    pub hosted_zone_id: String,
    pub dns_name: String,
    pub evaluate_target_health: bool,
}

/// One resource record set as Route53 holds it. Numbers are `i64` so that out-of-range input can
/// be represented and refused with Route53's own errors.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Rrset {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_target: Option<AliasTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_id: Option<String>,
}

impl Rrset {
    pub fn is_weighted(&self) -> bool {
        self.weight.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub action: Action,
    pub rrset: Rrset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChangeStatus {
    Pending,
    Insync,
}

impl ChangeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Pending => "PENDING",
            ChangeStatus::Insync => "INSYNC",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeInfo {
    /// Without the `/change/` prefix.
    pub id: String,
    pub status: ChangeStatus,
    /// ISO 8601, simulated clock.
    pub submitted_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// An error as Route53 answers it: HTTP status, error code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Error)]
#[error("{code} (HTTP {status}): {message}")]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// The texts of the reference (docs/reference/route53.md) and of the Route53 limits documentation.
pub mod texts {
    pub const RATE_EXCEEDED: &str = "Rate exceeded";
    pub const PRIOR_REQUEST_NOT_COMPLETE: &str =
        "The request was rejected because Route 53 was still processing a prior request.";
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// `Sender` for client errors, `Receiver` for server errors (the `<Type>` of the wire form).
    pub fn fault_type(&self) -> &'static str {
        if self.status >= 500 {
            "Receiver"
        } else {
            "Sender"
        }
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        ApiError::new(400, "InvalidInput", message)
    }

    /// docs/reference/route53.md "Error wire form": several messages joined inside one bracketed
    /// Message.
    pub fn invalid_change_batch(messages: &[String]) -> Self {
        ApiError::new(
            400,
            "InvalidChangeBatch",
            format!("[{}]", messages.join(", ")),
        )
    }

    pub fn no_such_hosted_zone(id: &str) -> Self {
        ApiError::new(
            404,
            "NoSuchHostedZone",
            format!("No hosted zone found with ID: {id}"),
        )
    }

    pub fn no_such_change(id: &str) -> Self {
        ApiError::new(
            404,
            "NoSuchChange",
            format!("A change with the specified change ID does not exist: {id}"),
        )
    }

    /// docs/reference/route53.md "Other error codes": `Throttling` (400, "Rate exceeded").
    pub fn throttling() -> Self {
        ApiError::new(400, "Throttling", texts::RATE_EXCEEDED)
    }

    pub fn prior_request_not_complete() -> Self {
        ApiError::new(
            400,
            "PriorRequestNotComplete",
            texts::PRIOR_REQUEST_NOT_COMPLETE,
        )
    }

    pub fn service_unavailable() -> Self {
        ApiError::new(503, "ServiceUnavailable", "Service Unavailable")
    }

    /// The individual messages of an `InvalidChangeBatch` (the bracketed list split apart).
    pub fn batch_messages(&self) -> Vec<String> {
        let inner = self
            .message
            .strip_prefix('[')
            .and_then(|m| m.strip_suffix(']'))
            .unwrap_or(&self.message);
        split_top_level(inner)
    }
}

/// Splits `a [x, y], b` at commas that are not inside brackets.
fn split_top_level(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 && chars.peek() == Some(&' ') => {
                chars.next();
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// One committed change batch and the zone right after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedChange {
    pub change_id: String,
    pub zone_id: String,
    pub comment: Option<String>,
    pub at_millis: i64,
    pub changes: Vec<Change>,
    pub records_after: Vec<Rrset>,
}

/// HTTP requests received, per operation name (`ChangeResourceRecordSets`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    pub total: u64,
    pub by_operation: BTreeMap<String, u64>,
    /// Answered `Throttling` (rate limit or injected).
    pub throttled: u64,
    /// Answered with an injected 5xx or injected change failure.
    pub faulted: u64,
}

impl RequestCounts {
    pub fn operation(&self, name: &str) -> u64 {
        self.by_operation.get(name).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_change_batch_joins_and_splits() {
        let msgs = vec![
            "Tried to create resource record set [name='a.example.com.', type='A'] but it already exists".to_string(),
            "Tried to delete resource record set [name='b.example.com.', type='A'] but it was not found".to_string(),
        ];
        let e = ApiError::invalid_change_batch(&msgs);
        assert_eq!(e.status, 400);
        assert_eq!(e.code, "InvalidChangeBatch");
        assert_eq!(e.message, format!("[{}, {}]", msgs[0], msgs[1]));
        assert_eq!(e.batch_messages(), msgs);
    }
}
