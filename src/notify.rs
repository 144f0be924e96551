//! Notifications (docs/design.md §4): every decision that changes or blocks traffic is published
//! to an SNS topic as one JSON message, with message attributes to filter on. Publishing never
//! blocks or fails a decision: it runs after the decision was applied, within a time bound, and
//! a failed publish is logged and reported (docs/reference/cloudwatch.md "SNS Publish").

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};

use aws_sdk_sns::types::MessageAttributeValue;
use cutover_core::planner::DecisionKind;

use crate::engine::waves::WaveReport;
use crate::report::{Report, ServiceReport};

/// How long all of one invocation's publishes may take together.
pub const PUBLISH_BUDGET: Duration = Duration::from_secs(5);
/// Publishes in flight at once.
const CONCURRENCY: usize = 8;

/// Publishes one message to a topic; `Ok` holds the message id.
pub trait Notifier: Send + Sync {
    fn publish<'a>(
        &'a self,
        topic_arn: &'a str,
        message: &'a str,
        attributes: &'a BTreeMap<String, String>,
    ) -> BoxFuture<'a, Result<String, String>>;
}

/// [`Notifier`] on the AWS SDK's SNS client (from the standard environment).
#[derive(Debug)]
pub struct SdkSns {
    client: aws_sdk_sns::Client,
    requests: AtomicU64,
}

impl SdkSns {
    pub fn new(client: aws_sdk_sns::Client) -> Self {
        SdkSns {
            client,
            requests: AtomicU64::new(0),
        }
    }
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Notifier for SdkSns {
    fn publish<'a>(
        &'a self,
        topic_arn: &'a str,
        message: &'a str,
        attributes: &'a BTreeMap<String, String>,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let mut request = self.client.publish().topic_arn(topic_arn).message(message);
            for (key, value) in attributes {
                let attribute = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(value)
                    .build()
                    .map_err(|e| format!("message attribute {key}: {e}"))?;
                request = request.message_attributes(key, attribute);
            }
            let answer = request.send().await.map_err(|e| {
                use aws_sdk_sns::error::ProvideErrorMetadata;
                match e.as_service_error() {
                    Some(s) => format!(
                        "SNS Publish failed: {}: {}",
                        s.code().unwrap_or("error"),
                        s.message().unwrap_or("no message")
                    ),
                    None => format!("SNS Publish failed: {}", crate::observe::error_chain(&e)),
                }
            })?;
            Ok(answer.message_id().unwrap_or_default().to_string())
        })
    }
}

/// What became of one notification, for the report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NotificationOutcome {
    /// The service decided (empty for a wave's alert).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service: String,
    /// The wave whose alert this is (docs/design.md §10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wave: Option<String>,
    pub decision: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One message: its JSON body and its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub service: String,
    pub wave: Option<String>,
    pub decision: String,
    pub message: String,
    pub attributes: BTreeMap<String, String>,
}

/// Whether a decision changes or blocks traffic and so is published: start, advance, rollback,
/// completion and handover steps, holds, a completion waiting for the team (handover waiting),
/// and any decision that carries an alert.
pub fn is_notable(s: &ServiceReport) -> bool {
    let d = &s.decision;
    let changes = matches!(
        d.kind,
        DecisionKind::Start
            | DecisionKind::Advance
            | DecisionKind::Rollback
            | DecisionKind::Complete
            | DecisionKind::Handover
            | DecisionKind::DeleteFrom
            | DecisionKind::SetWeight
    ) && (s.applied || !d.writes());
    let blocks = d.kind == DecisionKind::Hold
        || (d.kind == DecisionKind::Wait && d.summary.starts_with("completing"));
    changes || blocks || !d.alerts.is_empty()
}

/// The notification of one service's decision (`None`: not notable).
pub fn notification(report: &Report, s: &ServiceReport) -> Option<Notification> {
    if !is_notable(s) {
        return None;
    }
    let d = &s.decision;
    let decision = d.kind.name().to_string();
    let kind = if d.alerts.is_empty() {
        decision.clone()
    } else {
        "alert".to_string()
    };
    let health: BTreeMap<String, Value> = d
        .health
        .iter()
        .map(|(cluster, h)| {
            (
                cluster.to_string(),
                json!({ "verdict": h.verdict, "reason": h.reason }),
            )
        })
        .collect();
    let message = json!({
        "service": d.service,
        "decision": decision,
        "summary": d.summary,
        "weights_before": d.weights_before,
        "weights_after": d.weights_after,
        "health": health,
        "traffic": d.traffic,
        "actor": report.actor,
        "reason": report.reason,
        "action": report.action,
        "change_id": s.change_id,
        "applied": s.applied,
        "waits_for": d.waits_for,
        "alerts": d.alerts,
        "error": s.error,
        "at_millis": report.at_millis,
    });
    let mut attributes = BTreeMap::new();
    attributes.insert("service".to_string(), d.service.to_string());
    attributes.insert("decision".to_string(), decision.clone());
    attributes.insert("kind".to_string(), kind);
    attributes.insert("actor".to_string(), report.actor.clone());
    Some(Notification {
        service: d.service.to_string(),
        wave: None,
        decision,
        message: message.to_string(),
        attributes,
    })
}

/// A wave's alerts (it stopped after `max_failures` rollbacks, it is done, its record could not
/// be written): one message each, decision `wave`, kind `alert`.
pub fn wave_notifications(report: &Report, w: &WaveReport) -> Vec<Notification> {
    w.alerts
        .iter()
        .map(|alert| {
            let message = json!({
                "wave": w.name,
                "decision": "wave",
                "status": w.status,
                "summary": alert,
                "queued": w.queued,
                "active": w.active,
                "done": w.done,
                "rolled_back": w.rolled_back,
                "actor": report.actor,
                "at_millis": report.at_millis,
            });
            let mut attributes = BTreeMap::new();
            attributes.insert("wave".to_string(), w.name.to_string());
            attributes.insert("decision".to_string(), "wave".to_string());
            attributes.insert("kind".to_string(), "alert".to_string());
            attributes.insert("actor".to_string(), report.actor.clone());
            Notification {
                service: String::new(),
                wave: Some(w.name.to_string()),
                decision: "wave".to_string(),
                message: message.to_string(),
                attributes,
            }
        })
        .collect()
}

/// Publishes the notable decisions of `report` to `topic_arn`, in parallel under a bound and
/// within [`PUBLISH_BUDGET`]; never fails. A dry run or a read-only command publishes nothing.
pub async fn publish_report(
    notifier: &dyn Notifier,
    topic_arn: &str,
    report: &Report,
    writes: bool,
) -> Vec<NotificationOutcome> {
    if !writes {
        return Vec::new();
    }
    let messages: Vec<Notification> = report
        .services
        .iter()
        .filter_map(|s| notification(report, s))
        .chain(
            report
                .waves
                .iter()
                .flat_map(|w| wave_notifications(report, w)),
        )
        .collect();
    if messages.is_empty() {
        return Vec::new();
    }
    let sends = futures::stream::iter(messages.iter())
        .map(|n| async move {
            let result = notifier.publish(topic_arn, &n.message, &n.attributes).await;
            outcome(n, result)
        })
        .buffered(CONCURRENCY)
        .collect::<Vec<_>>();
    match tokio::time::timeout(PUBLISH_BUDGET, sends).await {
        Ok(outcomes) => {
            for o in outcomes.iter().filter(|o| o.error.is_some()) {
                tracing::warn!(service = %o.service, decision = %o.decision, error = o.error.as_deref().unwrap_or(""), "notification not published");
            }
            outcomes
        }
        Err(_) => {
            tracing::warn!(
                "notifications not all published within {}s",
                PUBLISH_BUDGET.as_secs()
            );
            messages
                .iter()
                .map(|n| {
                    outcome(
                        n,
                        Err(format!(
                            "not published within {}s (the decision stands)",
                            PUBLISH_BUDGET.as_secs()
                        )),
                    )
                })
                .collect()
        }
    }
}

fn outcome(n: &Notification, result: Result<String, String>) -> NotificationOutcome {
    match result {
        Ok(id) => NotificationOutcome {
            service: n.service.clone(),
            wave: n.wave.clone(),
            decision: n.decision.clone(),
            message_id: Some(id),
            error: None,
        },
        Err(e) => NotificationOutcome {
            service: n.service.clone(),
            wave: n.wave.clone(),
            decision: n.decision.clone(),
            message_id: None,
            error: Some(e),
        },
    }
}
