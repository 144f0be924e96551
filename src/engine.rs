//! One invocation, end to end: observe → decide → apply → report.
//!
//! The engine owns every I/O call of a tick and nothing else: what to do is the planner's, how a
//! batch must look is the validator's. Per tick: one listing per zone, one Ingress list per
//! cluster, probes in parallel under a bound, then as few Route53 batches as the limits allow.
//! A packed batch that Route53 refuses is split per service; a service whose compare-and-swap
//! lost (someone changed the zone since the listing) is re-observed and re-planned, a bounded
//! number of times (PRODUCT.md §7.5, §10).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::future::join_all;
use serde::Serialize;
use serde_json::{json, Value};

use crate::clock::{Clock, Millis};
use crate::command::Command;
use crate::config::{ClusterConfig, Config, HealthCheck, ServiceConfig};
use crate::events;
use crate::health::{self, ClusterHealth, ProbeSpec, ProbeTarget, Prober, Verdict};
use crate::kubernetes::{ApiOverride, ClusterRef, IngressInfo, IngressSource};
use crate::planner::{self, Decision, Observed, ServiceView};
use crate::route53::client::{Route53Api, Route53Error};
use crate::route53::model::{ChangeBatch, ChangeInfo, ChangeStatus, RecordSet};
use crate::route53::pack::pack;
use crate::route53::validate::{validate_batch, Limits};
use crate::route53::zone::ZoneSnapshot;
use crate::types::{DnsName, Name};

/// What one invocation needs: the config, the clock and the three ports to the world.
#[derive(Clone)]
pub struct Context {
    pub config: Arc<Config>,
    pub route53: Arc<dyn Route53Api>,
    pub ingresses: Arc<dyn IngressSource>,
    pub prober: Arc<dyn Prober>,
    pub clock: Arc<dyn Clock>,
}

/// The JSON report of one command (PRODUCT.md §6).
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
    let mut report = Report {
        action: cmd.action.name().to_string(),
        actor: cmd.actor.clone(),
        reason: cmd.reason.clone(),
        dry_run: cmd.dry_run,
        at_millis: ctx.clock.now_millis(),
        services: Vec::new(),
        errors: Vec::new(),
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
        // planner reads encrypted owners with them, never rewrites encrypted entries (reference
        // external-dns.md §1, "Encryption").
        let keys = ctx.config.txt_encrypt_keys();
        let decisions: Vec<(Decision, &ServiceConfig)> = pending
            .iter()
            .map(|svc| {
                let view = observed.view_of(svc);
                let d = planner::decide_with_keys(&ctx.config, svc, &view, cmd, now, &keys);
                (d, *svc)
            })
            .collect();
        for (d, _) in &decisions {
            tracing::info!(
                service = %d.service, kind = ?d.kind, summary = %d.summary,
                waits_for = ?d.waits_for, alerts = ?d.alerts, attempt, "decided"
            );
        }
        if !writes {
            for (d, _) in decisions {
                done.insert(d.service.clone(), unapplied(d, attempt));
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
                    let mut r = unapplied(*d, attempt);
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
    report
}

fn unapplied(decision: Decision, attempts: u32) -> ServiceReport {
    ServiceReport {
        decision,
        applied: false,
        change_id: None,
        error: None,
        attempts,
    }
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

// ---------------------------------------------------------------------------------------------
// OBSERVE

/// Everything read from the world for one attempt.
struct Observations {
    /// zone id → its records, as listed.
    zones: BTreeMap<String, ZoneView>,
    /// cluster key → its Ingresses.
    ingresses: BTreeMap<Name, Observed<Vec<IngressInfo>>>,
    /// change id → status.
    changes: BTreeMap<String, ChangeStatus>,
    /// (service, cluster) → verdict.
    health: BTreeMap<(Name, Name), ClusterHealth>,
    /// service → its names of interest and pending change.
    scopes: BTreeMap<Name, Scope>,
}

struct Scope {
    names: BTreeSet<DnsName>,
    change_id: Option<String>,
}

/// One zone's listing, indexed once per attempt: by name for the services' views, and as a
/// snapshot for the pre-send validator (a fleet tick must not copy the zone per service).
struct ZoneView {
    by_name: BTreeMap<DnsName, Vec<RecordSet>>,
    snapshot: Result<ZoneSnapshot, String>,
}

impl ZoneView {
    fn new(zone_name: Option<DnsName>, records: Vec<RecordSet>) -> ZoneView {
        let mut by_name: BTreeMap<DnsName, Vec<RecordSet>> = BTreeMap::new();
        for r in &records {
            by_name.entry(r.name.clone()).or_default().push(r.clone());
        }
        let snapshot = match zone_name {
            Some(name) => ZoneSnapshot::from_listing(name, records).map_err(|e| e.to_string()),
            None => Err("the zone is not configured".to_string()),
        };
        ZoneView { by_name, snapshot }
    }
}

impl Observations {
    fn records_of(&self, svc: &ServiceConfig) -> Vec<RecordSet> {
        let (Some(scope), Some(records)) =
            (self.scopes.get(&svc.name), self.zones.get(&svc.zone_id))
        else {
            return Vec::new();
        };
        scope
            .names
            .iter()
            .filter_map(|name| records.by_name.get(name))
            .flatten()
            .cloned()
            .collect()
    }

    fn view_of(&self, svc: &ServiceConfig) -> ServiceView {
        let clusters = [&svc.from, &svc.to];
        ServiceView {
            records: self.records_of(svc),
            ingresses: clusters
                .iter()
                .filter_map(|c| {
                    let observed = match self.ingresses.get(*c)? {
                        Observed::Known(list) => Observed::Known(claiming(list, &svc.hostname)),
                        Observed::Unavailable(why) => Observed::Unavailable(why.clone()),
                    };
                    Some(((*c).clone(), observed))
                })
                .collect(),
            health: clusters
                .iter()
                .filter_map(|c| {
                    self.health
                        .get(&(svc.name.clone(), (*c).clone()))
                        .map(|h| ((*c).clone(), h.clone()))
                })
                .collect(),
            change_status: self
                .scopes
                .get(&svc.name)
                .and_then(|s| s.change_id.as_ref())
                .and_then(|id| self.changes.get(id).copied()),
        }
    }
}

/// The Ingresses that carry `host`: all the planner looks at (a fleet tick must not copy every
/// Ingress of a cluster for every service).
fn claiming(list: &[IngressInfo], host: &DnsName) -> Vec<IngressInfo> {
    list.iter()
        .filter(|i| i.hosts.contains(host))
        .cloned()
        .collect()
}

/// One listing per zone, then — only as the planner needs them — one Ingress list per cluster,
/// the pending changes' statuses and the probes.
async fn observe(
    ctx: &Context,
    services: &[&ServiceConfig],
    cmd: &Command,
) -> Result<Observations, String> {
    let cfg = &ctx.config;
    let zone_ids: BTreeSet<&str> = services.iter().map(|s| s.zone_id.as_str()).collect();
    let mut zones = BTreeMap::new();
    for zone_id in zone_ids {
        let records = ctx
            .route53
            .list_records(zone_id)
            .await
            .map_err(|e| format!("listing zone {zone_id}: {e}"))?;
        let zone_name = cfg.zone(zone_id).map(|z| z.name.clone());
        zones.insert(zone_id.to_string(), ZoneView::new(zone_name, records));
    }
    let mut obs = Observations {
        zones,
        ingresses: BTreeMap::new(),
        changes: BTreeMap::new(),
        health: BTreeMap::new(),
        scopes: services
            .iter()
            .map(|svc| {
                let names = planner::names_of_interest(cfg, svc).into_iter().collect();
                (
                    svc.name.clone(),
                    Scope {
                        names,
                        change_id: None,
                    },
                )
            })
            .collect(),
    };

    let mut clusters_to_list: BTreeSet<Name> = BTreeSet::new();
    let mut to_probe: Vec<&ServiceConfig> = Vec::new();
    for svc in services {
        let needs = planner::needs(cfg, svc, &obs.records_of(svc), cmd);
        if needs.ingresses || needs.probe {
            clusters_to_list.insert(svc.from.clone());
            clusters_to_list.insert(svc.to.clone());
        }
        if needs.probe {
            to_probe.push(svc);
        }
        if let Some(scope) = obs.scopes.get_mut(&svc.name) {
            scope.change_id = needs.change_id;
        }
    }

    obs.ingresses = join_all(clusters_to_list.iter().map(|key| async move {
        let observed = match cfg.cluster(key) {
            Some(cluster) => match ctx.ingresses.list_ingresses(&cluster_ref(cluster)).await {
                Ok(list) => Observed::Known(list),
                Err(e) => {
                    tracing::warn!(cluster = %key, error = %e, "Ingress list failed");
                    Observed::Unavailable(e.to_string())
                }
            },
            None => Observed::Unavailable(format!("cluster {key} is not configured")),
        };
        (key.clone(), observed)
    }))
    .await
    .into_iter()
    .collect();

    let change_ids: BTreeSet<String> = obs
        .scopes
        .values()
        .filter_map(|s| s.change_id.clone())
        .collect();
    for id in change_ids {
        match ctx.route53.get_change(&id).await {
            Ok(status) => {
                obs.changes.insert(id, status);
            }
            // Unknown status: the planner waits.
            Err(e) => tracing::warn!(change_id = %id, error = %e, "GetChange failed"),
        }
    }

    obs.health = probe(ctx, &to_probe, &obs).await;
    Ok(obs)
}

fn cluster_ref(cluster: &ClusterConfig) -> ClusterRef {
    ClusterRef {
        eks_name: cluster.eks_name.clone(),
        region: cluster.region.clone(),
        annotation_prefix: cluster.annotation_prefix.clone(),
        api_override: match (&cluster.api_endpoint, &cluster.api_ca_pem) {
            (Some(endpoint), Some(ca_pem)) => Some(ApiOverride {
                endpoint: endpoint.clone(),
                ca_pem: ca_pem.clone(),
            }),
            _ => None,
        },
    }
}

/// Probes both clusters of every service that needs it, in parallel under the configured bound.
async fn probe(
    ctx: &Context,
    services: &[&ServiceConfig],
    obs: &Observations,
) -> BTreeMap<(Name, Name), ClusterHealth> {
    let mut keys = Vec::new();
    let mut checks = Vec::new();
    let mut out = BTreeMap::new();
    for svc in services {
        let spec = probe_spec(&svc.rollout.health_check);
        for cluster in [&svc.from, &svc.to] {
            let key = (svc.name.clone(), cluster.clone());
            match probe_target(&ctx.config, svc, cluster, obs) {
                Some(target) => {
                    keys.push(key);
                    checks.push((spec.clone(), target));
                }
                None => {
                    out.insert(
                        key,
                        ClusterHealth {
                            verdict: Verdict::Inconclusive,
                            reason: format!(
                                "no load balancer known for {} in cluster {cluster}",
                                svc.hostname
                            ),
                            samples: Vec::new(),
                        },
                    );
                }
            }
        }
    }
    let concurrency = ctx.config.probe_concurrency.max(1) as usize;
    let results = health::check_all(ctx.prober.as_ref(), &checks, concurrency).await;
    out.extend(keys.into_iter().zip(results));
    out
}

fn probe_spec(check: &HealthCheck) -> ProbeSpec {
    ProbeSpec {
        scheme: check.scheme,
        path: check.path.clone(),
        port: Some(check.port),
        expected_status: (check.expected_status.min, check.expected_status.max),
        timeout: std::time::Duration::from_millis(check.timeout.millis().max(1) as u64),
        samples: check.samples,
        allowed_failures: check.allowed_failures,
        extra_root_pem: None,
    }
}

/// Where to probe a cluster for a service: the load balancer in its Ingress's status or, when
/// the cluster's API is out of reach, the alias target Route53 holds for the cluster's key (so
/// that health, like rollback, can go on with Route53 alone).
fn probe_target(
    cfg: &Config,
    svc: &ServiceConfig,
    cluster: &Name,
    obs: &Observations,
) -> Option<ProbeTarget> {
    let from_ingress = match obs.ingresses.get(cluster) {
        Some(Observed::Known(list)) => list
            .iter()
            .filter(|i| i.hosts.contains(&svc.hostname))
            .find_map(|i| i.load_balancer_hostnames.first().cloned()),
        _ => None,
    };
    let from_zone = || {
        let set_id = svc.set_identifier(cluster)?;
        obs.records_of(svc)
            .into_iter()
            .find(|r| r.name == svc.hostname && r.set_identifier.as_ref() == Some(&set_id))
            .and_then(|r| r.alias.map(|a| a.dns_name.to_string()))
    };
    Some(ProbeTarget {
        hostname: svc.hostname.clone(),
        load_balancer: from_ingress.or_else(from_zone)?,
        connect_to: cfg.cluster(cluster).and_then(|c| c.connect_to),
    })
}

// ---------------------------------------------------------------------------------------------
// APPLY

enum Outcome {
    Done(Box<ServiceReport>),
    /// The compare-and-swap lost: re-observe and re-plan.
    Conflict(Box<Decision>, Vec<String>),
}

/// Validates every batch before sending, packs per zone, sends, splits per service on failure.
async fn apply<'c>(
    ctx: &Context,
    decisions: Vec<(Decision, &'c ServiceConfig)>,
    obs: &Observations,
    attempt: u32,
) -> Vec<(&'c ServiceConfig, Outcome)> {
    let mut outcomes = Vec::new();
    let mut per_zone: BTreeMap<String, Vec<(Decision, &'c ServiceConfig)>> = BTreeMap::new();
    for (decision, svc) in decisions {
        let Some(batch) = decision.batch.as_ref().filter(|b| !b.changes.is_empty()) else {
            outcomes.push((svc, Outcome::Done(Box::new(unapplied(decision, attempt)))));
            continue;
        };
        // Invariant 2: every batch sent is valid under every rule, checked before sending.
        if let Err(reason) = prevalidate(svc, obs, batch) {
            let mut r = unapplied(decision, attempt);
            tracing::error!(service = %svc.name, %reason, "pre-send validation failed");
            r.error = Some(format!(
                "refused to send an invalid batch (nothing was changed): {reason}"
            ));
            outcomes.push((svc, Outcome::Done(Box::new(r))));
            continue;
        }
        per_zone
            .entry(svc.zone_id.clone())
            .or_default()
            .push((decision, svc));
    }

    for (zone_id, items) in per_zone {
        let by_name: BTreeMap<Name, (Decision, &'c ServiceConfig)> = items
            .into_iter()
            .map(|(d, s)| (s.name.clone(), (d, s)))
            .collect();
        let packing = pack(
            by_name
                .iter()
                .filter_map(|(name, (d, _))| d.batch.clone().map(|b| (name.clone(), b)))
                .collect(),
            Limits::default(),
        );
        let mut by_name = by_name;
        for refused in packing.refused {
            if let Some((d, s)) = by_name.remove(refused.service()) {
                let mut r = unapplied(d, attempt);
                r.error = Some(refused.to_string());
                outcomes.push((s, Outcome::Done(Box::new(r))));
            }
        }
        for group in packing.packed {
            let members: Vec<Name> = group.services().cloned().collect();
            match ctx.route53.change(&zone_id, &group.batch).await {
                Ok(info) => {
                    for name in members {
                        if let Some((d, s)) = by_name.remove(&name) {
                            let outcome = after_applied(d, &info, attempt);
                            outcomes.push((s, outcome));
                        }
                    }
                }
                Err(e) if members.len() > 1 => {
                    // One bad service never blocks the rest: send each on its own.
                    tracing::warn!(zone = %zone_id, error = %e, "packed batch refused; splitting per service");
                    for name in members {
                        if let Some((d, s)) = by_name.remove(&name) {
                            let outcome = send_one(ctx, d, &zone_id, attempt).await;
                            outcomes.push((s, outcome));
                        }
                    }
                }
                Err(e) => {
                    for name in members {
                        if let Some((d, s)) = by_name.remove(&name) {
                            outcomes.push((s, failure(d, e.clone(), attempt)));
                        }
                    }
                }
            }
        }
    }
    record_change_ids(ctx, &mut outcomes).await;
    outcomes
}

fn prevalidate(svc: &ServiceConfig, obs: &Observations, batch: &ChangeBatch) -> Result<(), String> {
    let snapshot = match obs.zones.get(&svc.zone_id).map(|z| &z.snapshot) {
        Some(Ok(snapshot)) => snapshot,
        Some(Err(e)) => return Err(format!("zone {}: {e}", svc.zone_id)),
        None => return Err(format!("zone {} was not listed", svc.zone_id)),
    };
    validate_batch(snapshot, batch).map_err(|violations| {
        violations
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

async fn send_one(ctx: &Context, decision: Decision, zone_id: &str, attempt: u32) -> Outcome {
    let Some(batch) = decision.batch.clone() else {
        return Outcome::Done(Box::new(unapplied(decision, attempt)));
    };
    match ctx.route53.change(zone_id, &batch).await {
        Ok(info) => after_applied(decision, &info, attempt),
        Err(e) => failure(decision, e, attempt),
    }
}

/// Route53 accepted the batch.
fn after_applied(decision: Decision, info: &ChangeInfo, attempt: u32) -> Outcome {
    tracing::info!(service = %decision.service, change_id = %info.id, "batch applied");
    Outcome::Done(Box::new(ServiceReport {
        applied: true,
        change_id: Some(info.id.clone()),
        error: None,
        attempts: attempt,
        decision,
    }))
}

/// The state records learn the ids of the changes just applied (for the INSYNC gate), in small
/// follow-up compare-and-swaps packed like the changes themselves. If one fails, the next tick
/// sees a pending change without an id and the planner handles it.
async fn record_change_ids(ctx: &Context, outcomes: &mut [(&ServiceConfig, Outcome)]) {
    let mut per_zone: BTreeMap<String, Vec<(Name, ChangeBatch)>> = BTreeMap::new();
    for (svc, outcome) in outcomes.iter() {
        let Outcome::Done(report) = outcome else {
            continue;
        };
        let Some(id) = report.change_id.as_ref().filter(|_| report.applied) else {
            continue;
        };
        let info = ChangeInfo {
            id: id.clone(),
            status: ChangeStatus::Pending,
        };
        if let Some(batch) = planner::record_change(&ctx.config, svc, &report.decision, &info) {
            per_zone
                .entry(svc.zone_id.clone())
                .or_default()
                .push((svc.name.clone(), batch));
        }
    }
    let mut failed: BTreeMap<Name, String> = BTreeMap::new();
    for (zone_id, batches) in per_zone {
        let packing = pack(batches, Limits::default());
        for refused in packing.refused {
            failed.insert(refused.service().clone(), refused.to_string());
        }
        for group in packing.packed {
            if let Err(e) = ctx.route53.change(&zone_id, &group.batch).await {
                tracing::warn!(zone = %zone_id, error = %e, "recording change ids failed");
                for name in group.services() {
                    failed.insert(name.clone(), e.to_string());
                }
            }
        }
    }
    for (svc, outcome) in outcomes.iter_mut() {
        if let (Outcome::Done(report), Some(e)) = (outcome, failed.get(&svc.name)) {
            report.error = Some(format!(
                "applied, but recording the change id in the state record failed: {e}"
            ));
        }
    }
}

fn failure(decision: Decision, error: Route53Error, attempt: u32) -> Outcome {
    match error {
        // A DELETE whose values no longer match: the zone changed since the listing.
        Route53Error::InvalidChangeBatch { messages } => {
            Outcome::Conflict(Box::new(decision), messages)
        }
        other => {
            let mut r = unapplied(decision, attempt);
            r.error = Some(format!("Route53 refused the change: {other}"));
            Outcome::Done(Box::new(r))
        }
    }
}
