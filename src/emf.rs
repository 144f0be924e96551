//! cutover's own metrics in CloudWatch's Embedded Metric Format: one JSON line per service on
//! stdout, which Lambda's log delivery turns into metrics with no agent and no API call
//! (docs/reference/cloudwatch.md "Embedded Metric Format"). Namespace `cutover`, dimension
//! `Service`, plus a fleet-wide aggregate (the empty dimension set) for alarms over all
//! services.

use std::io::Write;
use std::sync::Mutex;

use serde_json::{json, Map, Value};

use cutover_core::config::Config;
use cutover_core::observation::Verdict;
use cutover_core::planner::DecisionKind;

use crate::report::Report;

pub const NAMESPACE: &str = "cutover";

/// Where the lines go.
pub trait MetricsSink: Send + Sync {
    fn emit(&self, line: &str);
}

/// stdout: what Lambda sends to CloudWatch Logs, where EMF lines become metrics.
#[derive(Debug, Default)]
pub struct Stdout;

impl MetricsSink for Stdout {
    fn emit(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// Keeps the lines (tests, the demo).
#[derive(Debug, Default)]
pub struct Collect(pub Mutex<Vec<String>>);

impl MetricsSink for Collect {
    fn emit(&self, line: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line.to_string());
    }
}

impl Collect {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A verdict as a number, so it can be graphed and alarmed on: good 1, inconclusive 0, bad -1.
pub fn verdict_value(v: Verdict) -> i64 {
    match v {
        Verdict::Good => 1,
        Verdict::Inconclusive => 0,
        Verdict::Bad => -1,
    }
}

/// The EMF lines of one invocation: per service `Weight` (to's share after the decision),
/// `ObservedShare` (when measured), `Verdict` (to's), `Rollbacks`, `Route53Requests` (the change
/// requests sent for it) and `TickDuration` (the invocation's, in ms).
pub fn lines(config: &Config, report: &Report, tick_duration_ms: u64) -> Vec<String> {
    report
        .services
        .iter()
        .map(|s| {
            let d = &s.decision;
            let mut metrics: Vec<(&str, &str, Value)> = Vec::new();
            if let Some(w) = d.weights_after.or(d.weights_before) {
                metrics.push(("Weight", "Percent", json!(w.to.get())));
            }
            if let Some(share) = d
                .traffic
                .as_ref()
                .and_then(|t| t.split.as_ref())
                .and_then(|s| s.latest_percent.or(s.share_percent))
            {
                metrics.push(("ObservedShare", "Percent", json!(share)));
            }
            let to_verdict = config
                .service(&d.service)
                .and_then(|svc| d.health.get(&svc.to))
                .map(|h| h.verdict);
            if let Some(v) = to_verdict {
                metrics.push(("Verdict", "None", json!(verdict_value(v))));
            }
            let rolled_back = d.kind == DecisionKind::Rollback && s.applied;
            metrics.push(("Rollbacks", "Count", json!(u8::from(rolled_back))));
            let requests = if s.applied { s.attempts.max(1) } else { 0 };
            metrics.push(("Route53Requests", "Count", json!(requests)));
            metrics.push(("TickDuration", "Milliseconds", json!(tick_duration_ms)));
            let definitions: Vec<Value> = metrics
                .iter()
                .map(|(name, unit, _)| json!({ "Name": name, "Unit": unit }))
                .collect();
            let mut root = Map::new();
            root.insert(
                "_aws".into(),
                json!({
                    "Timestamp": report.at_millis,
                    "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Service"], []],
                        "Metrics": definitions,
                    }],
                }),
            );
            root.insert("Service".into(), json!(d.service));
            root.insert("Decision".into(), json!(d.kind));
            for (name, _, value) in metrics {
                root.insert(name.into(), value);
            }
            Value::Object(root).to_string()
        })
        .collect()
}
