//! OBSERVE, for one attempt of one command: one listing per zone, then — only as the planner
//! needs them — one Ingress list per cluster, the pending changes' statuses and the probes.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;

use cutover_core::command::Command;
use cutover_core::config::{ClusterConfig, Config, HealthCheck, ServiceConfig};
use cutover_core::observation::{ClusterHealth, IngressInfo, Observed, Verdict};
use cutover_core::planner::{self, ServiceView};
use cutover_core::route53::model::{ChangeStatus, RecordSet};
use cutover_core::route53::zone::ZoneSnapshot;
use cutover_core::traffic::TrafficView;
use cutover_core::types::{DnsName, Name};

use super::Context;
use crate::observe::health::{self, ProbeSpec, ProbeTarget};
use crate::observe::kubernetes::{ApiOverride, ClusterRef};
use crate::report::ClusterProblem;

/// Everything read from the world for one attempt.
pub(super) struct Observations {
    /// zone id → its records, as listed.
    pub(super) zones: BTreeMap<String, ZoneView>,
    /// cluster key → its Ingresses.
    ingresses: BTreeMap<Name, Observed<Vec<IngressInfo>>>,
    /// change id → status.
    changes: BTreeMap<String, ChangeStatus>,
    /// (service, cluster) → verdict.
    health: BTreeMap<(Name, Name), ClusterHealth>,
    /// service → its names of interest and pending change.
    scopes: BTreeMap<Name, Scope>,
    /// cluster → the services whose decision needed its Ingresses.
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

    pub(super) fn view_of(&self, svc: &ServiceConfig) -> ServiceView {
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
            traffic: self.traffic.get(&svc.name).cloned().unwrap_or_default(),
        }
    }
}

impl Observations {
    /// The clusters whose Kubernetes API failed, with what that blocks (docs/design.md §9): the
    /// report says so instead of leaving it to the logs.
    pub(super) fn cluster_problems(&self) -> Vec<ClusterProblem> {
        self.ingresses
            .iter()
            .filter_map(|(cluster, observed)| match observed {
                Observed::Unavailable(error) => Some(ClusterProblem {
                    cluster: cluster.clone(),
                    error: error.clone(),
                    blocks: format!(
                        "the Kubernetes checks of {}: start and handover preflight, completion, \
                         a blue-green rollback to `from`, and finding the Ingress's load balancer \
                         to probe (the zone's alias target is probed instead)",
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
            .filter_map(|c| match self.ingresses.get(c) {
                Some(Observed::Unavailable(error)) => Some(format!(
                    "the Kubernetes API of cluster {c} failed ({error}): what needs its Ingresses \
                     waits (preflight, handover, completion); rollback needs Route53 only"
                )),
                _ => None,
            })
            .collect()
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
pub(super) async fn observe(
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

    let mut clusters_to_list: BTreeSet<Name> = BTreeSet::new();
    let mut to_probe: Vec<&ServiceConfig> = Vec::new();
    for svc in services {
        let needs = planner::needs(cfg, svc, &obs.records_of(svc), cmd);
        if needs.ingresses || needs.probe {
            for cluster in [&svc.from, &svc.to] {
                clusters_to_list.insert(cluster.clone());
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
    // Real traffic of the same services, from the load balancers the probes use: one
    // DescribeAlarms and one GetMetricData for all of them (docs/design.md §4, §10).
    obs.traffic = super::traffic::observe_traffic(ctx, &to_probe, |svc, cluster| {
        probe_target(&ctx.config, svc, cluster, &obs).map(|t| t.load_balancer)
    })
    .await;
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
                Ok(target) => {
                    keys.push(key);
                    checks.push((spec.clone(), target));
                }
                Err(reason) => {
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

/// Where to probe a cluster for a service: the load balancer in the status of the service's
/// Ingress — the pinned one (`services.<name>.ingress.<cluster>`) when configured, so another
/// tenant's Ingress that claims the host never decides this service's health — or, when the
/// cluster's API is out of reach, the alias target Route53 holds for the cluster's key (so that
/// health, like rollback, can go on with Route53 alone). Several unpinned claimants: no verdict
/// can be trusted, so none is taken (`Err` names them).
fn probe_target(
    cfg: &Config,
    svc: &ServiceConfig,
    cluster: &Name,
    obs: &Observations,
) -> Result<ProbeTarget, String> {
    let from_ingress = match obs.ingresses.get(cluster) {
        Some(Observed::Known(list)) => {
            let claiming: Vec<&IngressInfo> = list
                .iter()
                .filter(|i| i.hosts.contains(&svc.hostname))
                .filter(|i| {
                    svc.ingress_of(cluster)
                        .is_none_or(|pin| pin.namespace == i.namespace && pin.name == i.name)
                })
                .collect();
            match claiming.as_slice() {
                [] => None,
                [one] => one.load_balancer_hostnames.first().cloned(),
                many => {
                    return Err(format!(
                        "{} Ingresses in cluster {cluster} claim {} ({}): whose load balancer \
                         to probe is ambiguous; set services.{}.ingress.{cluster}",
                        many.len(),
                        svc.hostname,
                        many.iter()
                            .map(|i| format!("{}/{}", i.namespace, i.name))
                            .collect::<Vec<_>>()
                            .join(", "),
                        svc.name
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
    let load_balancer = from_ingress.or_else(from_zone).ok_or_else(|| {
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
