//! One invocation, end to end: observe → decide → apply → report.
//!
//! The engine owns every I/O call of a tick and nothing else: what to do is the planner's, how a
//! batch must look is the validator's. Per tick: one listing per zone, one Ingress list per
//! cluster, probes in parallel under a bound, then as few Route53 batches as the limits allow.
//! A packed batch that Route53 refuses is split per service; a service whose compare-and-swap
//! lost (someone changed the zone since the listing) is re-observed and re-planned, a bounded
//! number of times (docs/design.md §7.5, §10).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use cutover_core::command::Command;
use cutover_core::config::{Config, ServiceConfig};
use cutover_core::planner::{self, Decision};
use cutover_core::types::Name;

use crate::events;
pub use outputs::TrafficPorts;

use crate::observe::clock::Clock;
use crate::observe::health::Prober;
use crate::observe::kubernetes::IngressSource;
use crate::observe::route53::Route53Api;
use crate::report::{Report, ServiceReport};

mod apply;
mod observe;
mod outputs;
pub mod traffic;

use apply::{apply, Outcome};
use observe::observe;

/// What one invocation needs: the config, the clock and the three ports to the world.
#[derive(Clone)]
pub struct Context {
    pub config: Arc<Config>,
    pub route53: Arc<dyn Route53Api>,
    pub ingresses: Arc<dyn IngressSource>,
    pub prober: Arc<dyn Prober>,
    pub clock: Arc<dyn Clock>,
    /// Real traffic and the outputs of decisions: CloudWatch, SNS notifications, EMF metrics
    /// (docs/design.md §4); each optional.
    pub traffic: TrafficPorts,
}

/// Handles one raw invocation payload with exactly the Lambda's logic. Never fails: bad input is
/// answered with an error naming the field, and nothing is changed.
pub async fn handle(ctx: &Context, payload: Value) -> Value {
    let items = match events::parse_invocation(&payload, &ctx.config.sns_topic_arns) {
        Ok(items) => items,
        Err(e) => {
            tracing::warn!(field = e.field(), error = %e, "refused invocation");
            return json!({ "error": { "field": e.field(), "message": e.to_string() } });
        }
    };
    let mut reports = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Ok(cmd) => {
                let report = run(ctx, &cmd).await;
                reports.push(serde_json::to_value(&report).unwrap_or_else(
                    |e| json!({ "error": { "field": "report", "message": e.to_string() } }),
                ));
            }
            Err(e) => {
                tracing::warn!(field = e.field(), error = %e, "refused record");
                reports.push(json!({ "error": { "field": e.field(), "message": e.to_string() } }));
            }
        }
    }
    if reports.len() == 1 {
        reports.pop().unwrap_or(Value::Null)
    } else {
        json!({ "records": reports })
    }
}

/// Runs one command for its services.
pub async fn run(ctx: &Context, cmd: &Command) -> Report {
    let started = std::time::Instant::now();
    let mut report = Report {
        action: cmd.action.name().to_string(),
        actor: cmd.actor.clone(),
        reason: cmd.reason.clone(),
        dry_run: cmd.dry_run,
        at_millis: ctx.clock.now_millis(),
        services: Vec::new(),
        errors: Vec::new(),
        clusters: Vec::new(),
        notifications: Vec::new(),
    };
    let services = match select_services(&ctx.config, cmd) {
        Ok(s) => s,
        Err(e) => {
            report.errors.push(e);
            return report;
        }
    };
    let writes = !(cmd.dry_run || cmd.action.is_read_only());
    let max_attempts = ctx.config.cas_retries.saturating_add(1);
    let mut pending: Vec<&ServiceConfig> = services;
    let mut done: BTreeMap<Name, ServiceReport> = BTreeMap::new();
    for attempt in 1..=max_attempts {
        let now = ctx.clock.now_millis();
        let observed = match observe(ctx, &pending, cmd).await {
            Ok(o) => o,
            Err(e) => {
                report.errors.push(e);
                break;
            }
        };
        // The clusters' TXT encryption keys, read from the environment at config load: the
        // planner reads encrypted owners with them, never rewrites encrypted entries
        // (docs/reference/external-dns.md §1 "Encryption").
        let keys = ctx.config.txt_encrypt_keys();
        let decisions: Vec<(Decision, &ServiceConfig)> = pending
            .iter()
            .map(|svc| {
                let view = observed.view_of(svc);
                let mut d = planner::decide_with_keys(&ctx.config, svc, &view, cmd, now, &keys);
                d.alerts.extend(observed.cluster_alerts(svc));
                (d, *svc)
            })
            .collect();
        report.clusters = observed.cluster_problems();
        for (d, _) in &decisions {
            tracing::info!(
                service = %d.service, kind = ?d.kind, summary = %d.summary,
                waits_for = ?d.waits_for, alerts = ?d.alerts, attempt, "decided"
            );
        }
        if !writes {
            for (d, _) in decisions {
                done.insert(d.service.clone(), ServiceReport::unapplied(d, attempt));
            }
            pending.clear();
            break;
        }
        let outcomes = apply(ctx, decisions, &observed, attempt).await;
        pending.clear();
        for (svc, outcome) in outcomes {
            match outcome {
                Outcome::Conflict(d, messages) if attempt < max_attempts => {
                    tracing::info!(service = %d.service, ?messages, "compare-and-swap lost; re-planning");
                    pending.push(svc);
                }
                Outcome::Conflict(d, messages) => {
                    let mut r = ServiceReport::unapplied(*d, attempt);
                    r.error = Some(format!(
                        "the zone kept changing under cutover; gave up after {attempt} attempts: {}",
                        messages.join("; ")
                    ));
                    done.insert(r.decision.service.clone(), r);
                }
                Outcome::Done(r) => {
                    done.insert(r.decision.service.clone(), *r);
                }
            }
        }
        if pending.is_empty() {
            break;
        }
    }
    report.services = done.into_values().collect();
    outputs::deliver(ctx, &mut report, writes, started).await;
    report
}

fn select_services<'c>(cfg: &'c Config, cmd: &Command) -> Result<Vec<&'c ServiceConfig>, String> {
    match &cmd.service {
        Some(name) => cfg
            .service(name)
            .map(|s| vec![s])
            .ok_or_else(|| format!("service: unknown service {name:?} (not in the config)")),
        None => Ok(cfg.services().collect()),
    }
}
