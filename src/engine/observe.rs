//! OBSERVE, for one attempt of one command: one listing per zone, then — only as the planner
//! needs them — one list per cluster and per source kind in use (Ingresses, Services,
//! HTTPRoutes with their Gateways), the pending changes' statuses and the probes.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;

use cutover_core::command::Command;
use cutover_core::config::{ClusterConfig, Config, HealthCheck, ServiceConfig};
use cutover_core::observation::{ClusterHealth, Observed, SourceKind, SourceObject, Verdict};
use cutover_core::planner::{self, Decision, ServiceView};
use cutover_core::route53::model::{ChangeStatus, RecordSet};
use cutover_core::route53::zone::ZoneSnapshot;
use cutover_core::traffic::TrafficView;
use cutover_core::types::{DnsName, Name};

use super::retry::{with_retries, Deadline, Priority};
use super::Context;
use crate::observe::health::{self, ProbeSpec, ProbeTarget};
use crate::observe::kubernetes::{ApiOverride, ClusterRef};
use crate::report::ClusterProblem;

/// Everything read from the world for one attempt.
pub(super) struct Observations {
    /// zone id → its records, as listed (or why the listing failed).
    pub(super) zones: BTreeMap<String, Result<ZoneView, String>>,
    /// cluster key → its source objects of the kinds listed.
    sources: BTreeMap<Name, Observed<Vec<SourceObject>>>,
    /// change id → status.
    changes: BTreeMap<String, ChangeStatus>,
    /// (service, cluster) → verdict.
    health: BTreeMap<(Name, Name), ClusterHealth>,
    /// (service, cluster) known to have nothing to probe: its sources were read and none
    /// serves the service. A fact, not blindness: a refusal for it is not transient.
    nothing_to_probe: BTreeSet<(Name, Name)>,
    /// service → its names of interest and pending change.
    scopes: BTreeMap<Name, Scope>,
    /// cluster → the services whose decision needed its source objects.
    needed_by: BTreeMap<Name, Vec<Name>>,
    /// service → its alarms and load-balancer metrics (docs/design.md §4).
    traffic: BTreeMap<Name, TrafficView>,
}

struct Scope {
    names: BTreeSet<DnsName>,
    change_id: Option<String>,
}

/// One zone's listing, indexed once per attempt: by name for the services' views, and as a
/// snapshot for the pre-send validator (a fleet tick must not copy the zone per service).
pub(super) struct ZoneView {
    by_name: BTreeMap<DnsName, Vec<RecordSet>>,
    pub(super) snapshot: Result<ZoneSnapshot, String>,
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
    pub(super) fn records_of(&self, svc: &ServiceConfig) -> Vec<RecordSet> {
        let (Some(scope), Some(Ok(records))) =
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

    pub(super) fn view_of(&self, svc: &ServiceConfig) -> ServiceView {
        let clusters = [&svc.from, &svc.to];
        ServiceView {
            records: self.records_of(svc),
            sources: clusters
                .iter()
                .filter_map(|c| {
                    let observed = match self.sources.get(*c)? {
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
            traffic: self.traffic.get(&svc.name).cloned().unwrap_or_default(),
        }
    }
}

impl Observations {
    /// Why the service's zone could not be listed, if it could not.
    pub(super) fn zone_error(&self, svc: &ServiceConfig) -> Option<String> {
        match self.zones.get(&svc.zone_id) {
            Some(Ok(_)) => None,
            Some(Err(e)) => Some(e.clone()),
            None => Some(format!("zone {} was not listed", svc.zone_id)),
        }
    }

    /// Whether the service's decision was taken without something this invocation could not
    /// observe: a cluster's API it needed, or a conclusive verdict of `to`.
    pub(super) fn was_blind(&self, svc: &ServiceConfig, d: &Decision) -> bool {
        let no_verdict = |c: &Name| {
            let key = (svc.name.clone(), c.clone());
            !self.nothing_to_probe.contains(&key)
                && self
                    .health
                    .get(&key)
                    .is_some_and(|h| h.verdict == Verdict::Inconclusive)
        };
        !self.cluster_alerts(svc).is_empty() || (!d.health.is_empty() && no_verdict(&svc.to))
    }

    /// The clusters whose Kubernetes API failed, with what that blocks (docs/design.md §9): the
    /// report says so instead of leaving it to the logs.
    pub(super) fn cluster_problems(&self) -> Vec<ClusterProblem> {
        self.sources
            .iter()
            .filter_map(|(cluster, observed)| match observed {
                Observed::Unavailable(error) => Some(ClusterProblem {
                    cluster: cluster.clone(),
                    error: error.clone(),
                    blocks: format!(
                        "the Kubernetes checks of {}: start and handover preflight, completion, \
                         a blue-green rollback to `from`, and finding the source object's load \
                         balancer to probe (the zone's alias target is probed instead)",
                        self.needed_by
                            .get(cluster)
                            .map(|s| { s.iter().map(Name::as_str).collect::<Vec<_>>().join(", ") })
                            .unwrap_or_default()
                    ),
                }),
                Observed::Known(_) => None,
            })
            .collect()
    }

    /// The alerts of one service about the clusters it needed whose API failed.
    pub(super) fn cluster_alerts(&self, svc: &ServiceConfig) -> Vec<String> {
        [&svc.from, &svc.to]
            .into_iter()
            .filter(|c| {
                self.needed_by
                    .get(*c)
                    .is_some_and(|services| services.contains(&svc.name))
            })
            .filter_map(|c| match self.sources.get(c) {
                Some(Observed::Unavailable(error)) => Some(format!(
                    "the Kubernetes API of cluster {c} failed ({error}): what needs its source \
                     objects waits (preflight, handover, completion); rollback needs Route53 only"
                )),
                _ => None,
            })
            .collect()
    }
}

/// The objects that carry `host`: all the planner looks at (a fleet tick must not copy every
/// object of a cluster for every service).
fn claiming(list: &[SourceObject], host: &DnsName) -> Vec<SourceObject> {
    list.iter()
        .filter(|i| i.hosts.contains(host))
        .cloned()
        .collect()
}

/// One listing per zone, then — only as the planner needs them — one list per cluster and per
/// source kind in use, the pending changes' statuses and the probes.
pub(super) async fn observe(
    ctx: &Context,
    deadline: Deadline,
    services: &[&ServiceConfig],
    cmd: &Command,
) -> Observations {
    let cfg = &ctx.config;
    let zone_ids: BTreeSet<&str> = services.iter().map(|s| s.zone_id.as_str()).collect();
    let mut zones = BTreeMap::new();
    for zone_id in zone_ids {
        // Throttling is the normal state of a busy account: retried within the deadline.
        let listed = with_retries(deadline, Priority::Normal, || {
            ctx.route53.list_records(zone_id)
        })
        .await;
        let view = match listed.result {
            Ok(records) => {
                let zone_name = cfg.zone(zone_id).map(|z| z.name.clone());
                Ok(ZoneView::new(zone_name, records))
            }
            Err(e) => {
                let skipped: Vec<&str> = services
                    .iter()
                    .filter(|s| s.zone_id == zone_id)
                    .map(|s| s.name.as_str())
                    .collect();
                Err(format!(
                    "listing zone {zone_id} failed after {} attempts ({e}); not decided this time: {}",
                    listed.attempts,
                    skipped.join(", ")
                ))
            }
        };
        zones.insert(zone_id.to_string(), view);
    }
    let mut obs = Observations {
        zones,
        sources: BTreeMap::new(),
        changes: BTreeMap::new(),
        health: BTreeMap::new(),
        nothing_to_probe: BTreeSet::new(),
        needed_by: BTreeMap::new(),
        traffic: BTreeMap::new(),
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

    // cluster → the kinds to list there: only those some service needs (docs/design.md §9).
    let mut clusters_to_list: BTreeMap<Name, BTreeSet<SourceKind>> = BTreeMap::new();
    let mut to_probe: Vec<&ServiceConfig> = Vec::new();
    let listed: Vec<&ServiceConfig> = services
        .iter()
        .copied()
        .filter(|s| obs.zone_error(s).is_none())
        .collect();
    for svc in listed {
        let needs = planner::needs(cfg, svc, &obs.records_of(svc), cmd);
        if needs.sources || needs.probe {
            for cluster in [&svc.from, &svc.to] {
                let kinds = cfg
                    .cluster(cluster)
                    .map(|c| svc.source_kinds(c))
                    .unwrap_or_default();
                clusters_to_list
                    .entry(cluster.clone())
                    .or_default()
                    .extend(kinds);
                obs.needed_by
                    .entry(cluster.clone())
                    .or_default()
                    .push(svc.name.clone());
            }
        }
        if needs.probe {
            to_probe.push(svc);
        }
        if let Some(scope) = obs.scopes.get_mut(&svc.name) {
            scope.change_id = needs.change_id;
        }
    }

    obs.sources = join_all(clusters_to_list.iter().map(|(key, kinds)| async move {
        let kinds: Vec<SourceKind> = kinds.iter().copied().collect();
        let observed = match cfg.cluster(key) {
            Some(cluster) => match ctx
                .sources
                .list_sources(&cluster_ref(cluster), &kinds)
                .await
            {
                Ok(list) => Observed::Known(list),
                Err(e) => {
                    tracing::warn!(cluster = %key, error = %e, "listing source objects failed");
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
        let asked = with_retries(deadline, Priority::Normal, || ctx.route53.get_change(&id)).await;
        match asked.result {
            Ok(status) => {
                obs.changes.insert(id, status);
            }
            // Unknown status: the planner waits.
            Err(e) => tracing::warn!(change_id = %id, error = %e, "GetChange failed"),
        }
    }

    (obs.health, obs.nothing_to_probe) = probe(ctx, &to_probe, &obs).await;
    // Real traffic of the same services, from the load balancers the probes use: one
    // DescribeAlarms and one GetMetricData for all of them (docs/design.md §4, §10).
    obs.traffic = super::traffic::observe_traffic(ctx, &to_probe, |svc, cluster| {
        probe_target(&ctx.config, svc, cluster, &obs).map(|t| t.load_balancer)
    })
    .await;
    obs
}

fn cluster_ref(cluster: &ClusterConfig) -> ClusterRef {
    ClusterRef {
        eks_name: cluster.eks_name.clone(),
        region: cluster.region.clone(),
        annotation_prefix: cluster.annotation_prefix.clone(),
        external_dns_version: cluster.external_dns_version,
        api_override: match (&cluster.api_endpoint, &cluster.api_ca_pem) {
            (Some(endpoint), Some(ca_pem)) => Some(ApiOverride {
                endpoint: endpoint.clone(),
                ca_pem: ca_pem.clone(),
            }),
            _ => None,
        },
        role: cluster.role.clone(),
    }
}

/// Probes both clusters of every service that needs it, in parallel under the configured bound.
async fn probe(
    ctx: &Context,
    services: &[&ServiceConfig],
    obs: &Observations,
) -> (
    BTreeMap<(Name, Name), ClusterHealth>,
    BTreeSet<(Name, Name)>,
) {
    let mut keys = Vec::new();
    let mut checks = Vec::new();
    let mut out = BTreeMap::new();
    let mut nothing_to_probe = BTreeSet::new();
    for svc in services {
        let spec = probe_spec(&svc.rollout.health_check);
        for cluster in [&svc.from, &svc.to] {
            let key = (svc.name.clone(), cluster.clone());
            match probe_target(&ctx.config, svc, cluster, obs) {
                Ok(target) => {
                    keys.push(key);
                    checks.push((spec.clone(), target));
                }
                Err(reason) => {
                    if matches!(obs.sources.get(cluster), Some(Observed::Known(_))) {
                        nothing_to_probe.insert(key.clone());
                    }
                    out.insert(
                        key,
                        ClusterHealth {
                            verdict: Verdict::Inconclusive,
                            reason,
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
    (out, nothing_to_probe)
}

fn probe_spec(check: &HealthCheck) -> ProbeSpec {
    ProbeSpec {
        scheme: check.scheme,
        path: check.path.clone(),
        port: check.port,
        expected_status: (check.expected_status.min, check.expected_status.max),
        timeout: std::time::Duration::from_millis(check.timeout.millis().max(1) as u64),
        samples: check.samples,
        allowed_failures: check.allowed_failures,
        extra_root_pem: None,
    }
}

/// Where to probe a cluster for a service: the load balancer of the object that serves it — an
/// Ingress's or a Service's status, an HTTPRoute's Gateway — the configured one
/// (`services.<name>.source.<cluster>`) when configured, so another tenant's object that claims
/// the host never decides this service's health — or, when the cluster's API is out of reach,
/// the alias target Route53 holds for the cluster's key (so that health, like rollback, can go
/// on with Route53 alone). Several claimants of any kinds: no verdict can be trusted, so none is
/// taken (`Err` names them).
fn probe_target(
    cfg: &Config,
    svc: &ServiceConfig,
    cluster: &Name,
    obs: &Observations,
) -> Result<ProbeTarget, String> {
    let from_source = match (obs.sources.get(cluster), cfg.cluster(cluster)) {
        (Some(Observed::Known(list)), Some(cluster_cfg)) => {
            let claiming: Vec<&SourceObject> = list
                .iter()
                .filter(|o| svc.claimed_by(cluster_cfg, o))
                .collect();
            match claiming.as_slice() {
                [] => None,
                [one] => one.load_balancer_hostnames.first().cloned(),
                many => {
                    return Err(format!(
                        "whose load balancer to probe is ambiguous: {}",
                        planner::ambiguous_claimants(svc, cluster, many)
                    ))
                }
            }
        }
        _ => None,
    };
    let from_zone = || {
        let set_id = svc.set_identifier(cluster)?;
        obs.records_of(svc)
            .into_iter()
            .find(|r| r.name == svc.hostname && r.set_identifier.as_ref() == Some(&set_id))
            .and_then(|r| r.alias.map(|a| a.dns_name.to_string()))
    };
    let load_balancer = from_source.or_else(from_zone).ok_or_else(|| {
        format!(
            "no load balancer known for {} in cluster {cluster}",
            svc.hostname
        )
    })?;
    Ok(ProbeTarget {
        hostname: svc.hostname.clone(),
        load_balancer,
        connect_to: cfg.cluster(cluster).and_then(|c| c.connect_to),
    })
}
