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

use serde::Serialize;
use serde_json::{json, Value};

use cutover_core::command::Command;
use cutover_core::config::{Config, ServiceConfig};
use cutover_core::planner::{self, Decision, DecisionKind};
use cutover_core::types::Name;

use crate::events;
pub use outputs::TrafficPorts;

use crate::observe::clock::Clock;
use crate::observe::health::Prober;
use crate::observe::kubernetes::ClusterSources;
use crate::observe::route53::Route53Api;
use crate::report::{Outcome, Report, ServiceReport};

mod apply;
mod observe;
mod outputs;
pub mod retry;
pub mod traffic;
pub mod waves;

use apply::{apply, record_changes, Settled, Tagged};
use cutover_core::text::quoted;
use observe::{list_zones, observe_needs};
use retry::{Deadline, DEFAULT_BUDGET};
use waves::WaveWork;

/// What one invocation needs: the config, the clock and the three ports to the world.
#[derive(Clone)]
pub struct Context {
    pub config: Arc<Config>,
    pub route53: Arc<dyn Route53Api>,
    /// The clusters' source objects (Ingresses, Services, HTTPRoutes).
    pub sources: Arc<dyn ClusterSources>,
    pub prober: Arc<dyn Prober>,
    pub clock: Arc<dyn Clock>,
    /// Real traffic and the outputs of decisions: CloudWatch, SNS notifications, EMF metrics
    /// (docs/design.md §4); each optional.
    pub traffic: TrafficPorts,
}

/// The answer to one invocation: the JSON report and what it came to.
#[derive(Debug, Clone)]
pub struct Answer {
    pub report: Value,
    pub outcome: Outcome,
    /// Some work failed for a reason a retry may fix: an asynchronous event should be retried.
    pub retry: bool,
}

/// The answer to one invocation with its report still typed: what the Lambda returns (its
/// runtime serializes it straight into the response). A fleet's report as a JSON value tree
/// would take several times the memory of its text (docs/design.md §10).
#[derive(Debug)]
pub struct TypedAnswer {
    pub report: ReportBody,
    pub outcome: Outcome,
    pub retry: bool,
}

/// The report of one invocation, serialized as [`Answer::report`] holds it: one command's report
/// (or the error of a refused record) with its `outcome`, an SNS batch's `records`, or the error
/// of a refused invocation.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ReportBody {
    One {
        #[serde(flatten)]
        item: ReportItem,
        outcome: &'static str,
    },
    Records {
        records: Vec<ReportItem>,
        outcome: &'static str,
    },
    Refused(Value),
}

/// One record's part of a report: its command's report, or why it was refused.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ReportItem {
    Report(Box<Report>),
    Refused(Value),
}

impl ReportBody {
    /// As a JSON value (tests and the CLI's table read it so).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self)
            .unwrap_or_else(|e| json!({ "error": { "field": "report", "message": e.to_string() } }))
    }
}

/// Handles one raw invocation payload with exactly the Lambda's logic, with the CLI's time
/// budget. Never fails: bad input is answered with an error naming the field, and nothing is
/// changed.
pub async fn handle(ctx: &Context, payload: Value) -> Value {
    handle_until(ctx, payload, Deadline::after(DEFAULT_BUDGET))
        .await
        .report
}

/// Handles one raw invocation payload, keeping to `deadline` (Lambda's, in Lambda).
pub async fn handle_until(ctx: &Context, payload: Value, deadline: Deadline) -> Answer {
    let answer = answer_until(ctx, payload, deadline).await;
    Answer {
        report: answer.report.to_value(),
        outcome: answer.outcome,
        retry: answer.retry,
    }
}

/// [`handle_until`] with the report left typed, for the Lambda's response.
pub async fn answer_until(ctx: &Context, payload: Value, deadline: Deadline) -> TypedAnswer {
    let items = match events::parse_invocation(&payload, &ctx.config.sns_topic_arns) {
        Ok(items) => items,
        Err(e) => {
            tracing::warn!(field = e.field(), error = %e, "refused invocation");
            return TypedAnswer {
                report: ReportBody::Refused(json!({
                    "error": { "field": e.field(), "message": e.to_string() },
                    "outcome": Outcome::Refused.name(),
                })),
                outcome: Outcome::Refused,
                retry: false,
            };
        }
    };
    drop(payload);
    let mut reports = Vec::with_capacity(items.len());
    let mut outcomes = Vec::with_capacity(items.len());
    let mut retry = false;
    for item in items {
        match item {
            Ok(cmd) => {
                let report = run_until(ctx, &cmd, deadline).await;
                outcomes.push(report.outcome());
                retry |= report.has_transient_failure();
                reports.push(ReportItem::Report(Box::new(report)));
            }
            Err(e) => {
                tracing::warn!(field = e.field(), error = %e, "refused record");
                outcomes.push(Outcome::Refused);
                reports.push(ReportItem::Refused(
                    json!({ "error": { "field": e.field(), "message": e.to_string() } }),
                ));
            }
        }
    }
    let outcome = Outcome::combine(&outcomes);
    let report = match (reports.pop(), reports.is_empty()) {
        (Some(item), true) => ReportBody::One {
            item,
            outcome: outcome.name(),
        },
        (last, _) => {
            reports.extend(last);
            ReportBody::Records {
                records: reports,
                outcome: outcome.name(),
            }
        }
    };
    TypedAnswer {
        report,
        outcome,
        retry,
    }
}

/// Runs one command for its services, with the CLI's time budget.
pub async fn run(ctx: &Context, cmd: &Command) -> Report {
    run_until(ctx, cmd, Deadline::after(DEFAULT_BUDGET)).await
}

/// Runs one command for its services, keeping to `deadline`.
pub async fn run_until(ctx: &Context, cmd: &Command, deadline: Deadline) -> Report {
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
        waves: Vec::new(),
    };
    // A wave start acts on the wave's services; any other command on the ones it names.
    let services = match waves::members_of_start(&ctx.config, cmd) {
        Some(members) => members,
        None => match select_services(&ctx.config, cmd) {
            Ok(s) => s,
            Err(e) => {
                report.errors.push(e);
                return report;
            }
        },
    };
    let writes = !(cmd.dry_run || cmd.action.is_read_only());
    let max_attempts = ctx.config.cas_retries.saturating_add(1);
    let mut pending: Vec<&ServiceConfig> = services;
    let mut done: BTreeMap<Name, ServiceReport> = BTreeMap::new();
    // This invocation's changes are found by their tag (docs/state-record.md "Change ids").
    let tag = new_tag();
    let mut tagged = Tagged::default();
    let mut listed_changes: BTreeMap<String, Option<cutover_core::route53::model::RecordSet>> =
        BTreeMap::new();
    let mut wave_work: Option<WaveWork> = None;
    for attempt in 1..=max_attempts {
        let now = ctx.clock.now_millis();
        // A command that plans waves lists the waves' zone too, whichever services it names.
        let waves_zone = if attempt == 1 && waves::concerns_waves(cmd) {
            cutover_core::wave::home_zone(&ctx.config)
        } else {
            None
        };
        let mut observed = list_zones(ctx, deadline, &pending, waves_zone, &tag).await;
        for (zone_id, zone) in &observed.zones {
            if let Ok(zone) = zone {
                listed_changes.insert(zone_id.clone(), zone.changes_record.clone());
            }
        }
        // The waves are planned once, from the first listing (docs/design.md §10).
        if attempt == 1 && waves::concerns_waves(cmd) {
            match waves::plan_waves(ctx, &observed, cmd, now) {
                Ok(work) => wave_work = work,
                Err(e) => {
                    tracing::warn!(error = %e, "waves");
                    report.errors.push(e);
                    if waves::members_of_start(&ctx.config, cmd).is_some() {
                        return report;
                    }
                }
            }
            if let Some(work) = wave_work.as_mut().filter(|_| writes) {
                // A wave's record is written before any of its services starts: a start
                // without its wave would never be followed by the next.
                work.write(ctx, deadline).await;
                if work.began_and_failed() {
                    report.waves = work.report();
                    return report;
                }
            }
        }
        let wave_starts: BTreeMap<Name, Command> = wave_work
            .as_ref()
            .map(|w| w.starts.clone())
            .unwrap_or_default();
        let cmd_of =
            |svc: &ServiceConfig| -> &Command { wave_starts.get(&svc.name).unwrap_or(cmd) };
        observe_needs(ctx, deadline, &mut observed, &pending, cmd_of).await;
        // A service whose zone could not be listed is not decided this time (and says why).
        let (listed, unlisted): (Vec<&ServiceConfig>, Vec<&ServiceConfig>) = pending
            .iter()
            .partition(|svc| observed.zone_error(svc).is_none());
        for svc in unlisted {
            let why = observed.zone_error(svc).unwrap_or_default();
            let mut d = Decision::new(svc, DecisionKind::Hold, format!("not decided: {why}"));
            d.alerts.push(why);
            let mut r = ServiceReport::unapplied(d, attempt);
            r.error = r.decision.alerts.first().cloned();
            r.transient = !observed.zone_refused(svc);
            done.insert(svc.name.clone(), r);
        }
        let pending_now = listed;
        // The clusters' TXT encryption keys, read from the environment at config load: the
        // planner reads encrypted owners with them, never rewrites encrypted entries
        // (docs/reference/external-dns.md §1 "Encryption").
        let keys = ctx.config.txt_encrypt_keys();
        let began = wave_work.as_ref().is_some_and(|w| w.began.is_some());
        let mut decisions: Vec<(Decision, &ServiceConfig)> = Vec::new();
        for svc in pending_now.iter().copied() {
            let view = observed.view_of(svc);
            let own = cmd_of(svc);
            let mut d = planner::decide_with_keys(&ctx.config, svc, &view, own, now, &keys);
            if !std::ptr::eq(own, cmd) {
                // A wave's candidate: one of its starts this time, or back in the queue.
                let is_start = d.kind == DecisionKind::Start && d.batch.is_some();
                let taken = wave_work
                    .as_mut()
                    .is_some_and(|w| w.take(&svc.name, is_start, &d.summary));
                if !taken {
                    if began {
                        continue;
                    }
                    d = planner::decide_with_keys(&ctx.config, svc, &view, cmd, now, &keys);
                }
            } else if began {
                // A wave start decides its starts only.
                continue;
            }
            // A split-horizon name: the decision is mirrored into each of its zones.
            if let Some((zones, lead)) = observed.horizon_of(svc) {
                d = planner::horizon::mirror(&ctx.config, svc, &zones, lead, d, &keys);
            }
            d.alerts.extend(observed.cluster_alerts(svc));
            decisions.push((d, svc));
        }
        report.clusters = observed.cluster_problems();
        for (d, _) in &decisions {
            tracing::info!(
                service = %d.service, kind = %d.kind, summary = %d.summary,
                waits_for = d.waits_for.as_deref().unwrap_or(""), alerts = %d.alerts.join("; "), attempt, "decided"
            );
        }
        // A refusal caused by what could not be observed this time (a cluster's API out of
        // reach, a probe that could not run) is transient: a retry may see more.
        let transient: Vec<Name> = decisions
            .iter()
            .filter(|(d, svc)| d.kind == DecisionKind::Refused && observed.was_blind(svc, d))
            .map(|(d, _)| d.service.clone())
            .collect();
        if !writes {
            for (d, _) in decisions {
                let mut r = ServiceReport::unapplied(d, attempt);
                r.transient = transient.contains(&r.decision.service);
                done.insert(r.decision.service.clone(), r);
            }
            pending.clear();
            break;
        }
        observed.keep_for_apply();
        let outcomes = apply(ctx, deadline, decisions, &observed, attempt, &mut tagged).await;
        pending.clear();
        for (svc, outcome) in outcomes {
            match outcome {
                Settled::Conflict(d, messages) if attempt < max_attempts => {
                    tracing::info!(service = %d.service, messages = %messages.join("; "), "compare-and-swap lost; re-planning");
                    pending.push(svc);
                }
                Settled::Conflict(d, messages) => {
                    let mut r = ServiceReport::unapplied(*d, attempt);
                    r.transient = true;
                    r.error = Some(format!(
                        "the zone kept changing under cutover; gave up after {attempt} attempts: {}",
                        messages.join("; ")
                    ));
                    done.insert(r.decision.service.clone(), r);
                }
                Settled::Done(mut r) => {
                    if transient.contains(&r.decision.service) {
                        r.transient = true;
                    }
                    done.insert(r.decision.service.clone(), *r);
                }
            }
        }
        if pending.is_empty() {
            break;
        }
    }
    // One write per zone records the ids of every request that carried a tagged change.
    let unrecorded = record_changes(ctx, deadline, &tag, tagged, &listed_changes).await;
    for (service, error) in unrecorded {
        if let Some(r) = done.get_mut(&service) {
            r.error = Some(format!(
                "applied, but recording its change id in the zone's change record failed ({error}): \
                 the INSYNC gate falls back to its assumption"
            ));
        }
    }
    report.services = done.into_values().collect();
    if let Some(work) = &wave_work {
        report.waves = work.report();
    }
    outputs::deliver(ctx, &mut report, writes, started).await;
    report
}

/// A fresh tag for this invocation's changes: 10 random base-36 characters.
fn new_tag() -> String {
    use rand::Rng;
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| {
            let i = rng.random_range(0..DIGITS.len());
            char::from(DIGITS.get(i).copied().unwrap_or(b'0'))
        })
        .collect()
}

fn select_services<'c>(cfg: &'c Config, cmd: &Command) -> Result<Vec<&'c ServiceConfig>, String> {
    match &cmd.service {
        Some(name) => cfg.service(name).map(|s| vec![s]).ok_or_else(|| {
            format!(
                "service: unknown service {name} (not in the config)",
                name = quoted(name.as_str())
            )
        }),
        None => Ok(cfg.services().collect()),
    }
}
