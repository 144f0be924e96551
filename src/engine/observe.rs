//! OBSERVE, for one attempt of one command: one listing per zone, then — only as the planner
//! needs them — one list per cluster and per source kind in use (Ingresses, Services,
//! HTTPRoutes with their Gateways), the pending changes' statuses and the probes.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;

use cutover_core::changes::{self, Changes};
use cutover_core::command::Command;
use cutover_core::config::{ClusterConfig, Config, HealthCheck, ServiceConfig};
use cutover_core::observation::{ClusterHealth, Observed, SourceKind, SourceObject, Verdict};
use cutover_core::planner::horizon::{self, ZoneRecords};
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
    /// The zones whose listing was refused (access denied, no such zone): a retry does not fix
    /// that, unlike throttling or an outage.
    refused_zones: BTreeSet<String>,
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
    /// The tag this invocation gives the changes it sends (`cutover_core::changes`).
    tag: String,
}

struct Scope {
    names: BTreeSet<DnsName>,
    /// The zone the service is decided on: its only zone, or for a split-horizon name the one
    /// whose state record was written last (`planner::horizon::lead`).
    lead_zone: String,
    /// The pending change's id (format 1) or the ids its tag lists in the zone's change record.
    change_ids: Vec<String>,
    /// The pending change has a tag the zone's change record does not list.
    untracked: bool,
}

/// One zone's listing, streamed into one index by identity (name first, so one name's records
/// are a range): the services' views read it, and it is the snapshot the pre-send validator
/// checks against. The zone is held once (docs/design.md §10).
pub(super) struct ZoneView {
    snapshot: ZoneSnapshot,
    /// Why the listing cannot stand for the zone (a record set twice, a name outside the zone).
    problem: Option<String>,
    /// The zone's change record as listed (for the compare-and-swap), and what it says.
    pub(super) changes_record: Option<RecordSet>,
    pub(super) changes: Changes,
}

impl ZoneView {
    fn new(zone_name: DnsName) -> ZoneView {
        ZoneView {
            snapshot: ZoneSnapshot::new(zone_name),
            problem: None,
            changes_record: None,
            changes: Changes::default(),
        }
    }

    /// Takes one listed record set.
    fn add(&mut self, record: RecordSet) {
        if self.problem.is_some() {
            return;
        }
        let key = record.key();
        if !record.name.is_within(&self.snapshot.zone_name) {
            self.problem = Some(format!(
                "the listing holds resource record set {key}, which does not lie within zone {}",
                self.snapshot.zone_name.to_fqdn()
            ));
        } else if self.snapshot.records.insert(key.clone(), record).is_some() {
            self.problem = Some(format!("the listing holds resource record set {key} twice"));
        }
    }

    /// Reads the zone's change record once the listing is complete.
    fn read_changes(&mut self, state_prefix: &str) {
        let Some(name) = changes::record_name(state_prefix, &self.snapshot.zone_name) else {
            return;
        };
        let record = self
            .snapshot
            .by_name_type(&name, &cutover_core::route53::model::RecordType::Txt)
            .find(|r| r.set_identifier.is_none())
            .cloned();
        if let Some(record) = &record {
            match Changes::decode(&name, record) {
                Ok(changes) => self.changes = changes,
                // Unreadable: every tag is unknown, so the states fall back to the INSYNC
                // assumption; the next write replaces it.
                Err(e) => tracing::warn!(error = %e, "unreadable change record"),
            }
        }
        self.changes_record = record;
    }

    /// The zone for the pre-send validator, or why the listing cannot stand for it.
    pub(super) fn snapshot(&self) -> Result<&ZoneSnapshot, String> {
        match &self.problem {
            Some(problem) => Err(problem.clone()),
            None => Ok(&self.snapshot),
        }
    }
}

impl Observations {
    /// The service's records of interest in the zone it is decided on.
    pub(super) fn records_of(&self, svc: &ServiceConfig) -> Vec<RecordSet> {
        match self.scopes.get(&svc.name) {
            Some(scope) => self.records_in(svc, &scope.lead_zone),
            None => Vec::new(),
        }
    }

    /// The service's records of interest in one zone.
    fn records_in(&self, svc: &ServiceConfig, zone_id: &str) -> Vec<RecordSet> {
        let (Some(scope), Some(Ok(zone))) = (self.scopes.get(&svc.name), self.zones.get(zone_id))
        else {
            return Vec::new();
        };
        scope
            .names
            .iter()
            .flat_map(|name| zone.snapshot.by_name(name))
            .cloned()
            .collect()
    }

    /// A split-horizon name: its records of interest in each of its zones, in their order, and
    /// which one it is decided on. `None` for a name in one zone.
    pub(super) fn horizon_of(&self, svc: &ServiceConfig) -> Option<(Vec<ZoneRecords>, usize)> {
        if svc.zone_ids.len() < 2 {
            return None;
        }
        let lead = &self.scopes.get(&svc.name)?.lead_zone;
        let zones: Vec<ZoneRecords> = svc
            .zone_ids
            .iter()
            .map(|zone_id| ZoneRecords {
                zone_id: zone_id.clone(),
                records: self.records_in(svc, zone_id),
            })
            .collect();
        let index = zones.iter().position(|z| &z.zone_id == lead)?;
        Some((zones, index))
    }

    /// The tag of this invocation's changes.
    pub(super) fn tag(&self) -> &str {
        &self.tag
    }

    /// The record set at `name` of `type` without set identifier, as the zone's listing holds it.
    pub(super) fn record_at(
        &self,
        zone_id: &str,
        name: &DnsName,
        rtype: &cutover_core::route53::model::RecordType,
    ) -> Option<RecordSet> {
        match self.zones.get(zone_id) {
            Some(Ok(zone)) => zone
                .snapshot
                .by_name_type(name, rtype)
                .find(|r| r.set_identifier.is_none())
                .cloned(),
            _ => None,
        }
    }

    /// Whether the zone was listed.
    pub(super) fn listed(&self, zone_id: &str) -> bool {
        matches!(self.zones.get(zone_id), Some(Ok(_)))
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
                .and_then(|s| self.status_of(&s.change_ids)),
            change_untracked: self.scopes.get(&svc.name).is_some_and(|s| s.untracked),
            write_tag: Some(self.tag.clone()),
            traffic: self.traffic.get(&svc.name).cloned().unwrap_or_default(),
        }
    }

    /// One status for the requests of a change: INSYNC when every one is, PENDING when one is;
    /// `None` when one was not observed (or there is none).
    fn status_of(&self, ids: &[String]) -> Option<ChangeStatus> {
        let mut all = ChangeStatus::Insync;
        for id in ids {
            match self.changes.get(id)? {
                ChangeStatus::Insync => {}
                ChangeStatus::Pending => all = ChangeStatus::Pending,
            }
        }
        (!ids.is_empty()).then_some(all)
    }
}

impl Observations {
    /// Drops what only the decisions needed (the clusters' source objects, the probes, real
    /// traffic, the changes' statuses), keeping the zones' listings and the tag that applying
    /// needs: a fleet's tick holds less while it sends (docs/design.md §10).
    pub(super) fn keep_for_apply(&mut self) {
        self.sources = BTreeMap::new();
        self.health = BTreeMap::new();
        self.traffic = BTreeMap::new();
        self.changes = BTreeMap::new();
        self.nothing_to_probe = BTreeSet::new();
        self.needed_by = BTreeMap::new();
    }

    /// Whether a zone of the service was refused (not a failure a retry may fix).
    pub(super) fn zone_refused(&self, svc: &ServiceConfig) -> bool {
        svc.zone_ids.iter().any(|z| self.refused_zones.contains(z))
    }

    /// Why one of the service's zones could not be listed, if one could not (a split-horizon
    /// name is decided only on all its zones).
    pub(super) fn zone_error(&self, svc: &ServiceConfig) -> Option<String> {
        svc.zone_ids
            .iter()
            .find_map(|zone_id| match self.zones.get(zone_id) {
                Some(Ok(_)) => None,
                Some(Err(e)) => Some(e.clone()),
                None => Some(format!("zone {zone_id} was not listed")),
            })
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

/// The first part of observing: one listing per zone of `services`, streamed into its index.
/// The wave planner reads the states from it before the rest is observed.
pub(super) async fn list_zones(
    ctx: &Context,
    deadline: Deadline,
    services: &[&ServiceConfig],
    also: Option<&str>,
    tag: &str,
) -> Observations {
    let cfg = &ctx.config;
    // `also`: a zone listed whatever the services (the waves' zone, for a command that plans
    // waves).
    let zone_ids: BTreeSet<&str> = services
        .iter()
        .flat_map(|s| s.zone_ids.iter().map(String::as_str))
        .chain(also)
        .collect();
    let mut zones = BTreeMap::new();
    let mut refused_zones = BTreeSet::new();
    for zone_id in zone_ids {
        let Some(zone_name) = cfg.zone(zone_id).map(|z| z.name.clone()) else {
            zones.insert(
                zone_id.to_string(),
                Err(format!("zone {zone_id} is not configured")),
            );
            continue;
        };
        // Throttling is the normal state of a busy account: retried within the deadline. Each
        // attempt streams the pages into a fresh index.
        let listed = with_retries(deadline, Priority::Normal, || {
            let zone_name = zone_name.clone();
            async move {
                let mut view = ZoneView::new(zone_name);
                ctx.route53
                    .list_records_into(zone_id, &mut |r| view.add(r))
                    .await
                    .map(|_| view)
            }
        })
        .await;
        let view = match listed.result {
            Ok(mut view) => {
                view.read_changes(&cfg.state_record_prefix);
                Ok(view)
            }
            Err(e) => {
                if !e.is_transient() {
                    refused_zones.insert(zone_id.to_string());
                }
                let skipped: Vec<&str> = services
                    .iter()
                    .filter(|s| s.zone_ids.iter().any(|z| z == zone_id))
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
    let mut observations = Observations {
        zones,
        refused_zones,
        sources: BTreeMap::new(),
        changes: BTreeMap::new(),
        health: BTreeMap::new(),
        nothing_to_probe: BTreeSet::new(),
        needed_by: BTreeMap::new(),
        traffic: BTreeMap::new(),
        tag: tag.to_string(),
        scopes: services
            .iter()
            .map(|svc| {
                let names = planner::names_of_interest(cfg, svc).into_iter().collect();
                (
                    svc.name.clone(),
                    Scope {
                        names,
                        lead_zone: svc.zone_id.clone(),
                        change_ids: Vec::new(),
                        untracked: false,
                    },
                )
            })
            .collect(),
    };
    for svc in services {
        if let Some(lead) = lead_zone(cfg, svc, &observations) {
            if let Some(scope) = observations.scopes.get_mut(&svc.name) {
                scope.lead_zone = lead;
            }
        }
    }
    observations
}

/// The zone a split-horizon name is decided on: the one whose state record was written last
/// (docs/design.md §8.1).
fn lead_zone(cfg: &Config, svc: &ServiceConfig, obs: &Observations) -> Option<String> {
    let (zones, _) = obs.horizon_of(svc)?;
    let state_name = cfg.state_record_name(svc)?;
    let lead = horizon::lead(&state_name, &zones);
    zones.into_iter().nth(lead).map(|z| z.zone_id)
}

/// The rest of observing, for each service what its command (`cmd_of`) needs: one list per
/// cluster and per source kind in use, the pending changes' statuses and the probes.
pub(super) async fn observe_needs<'c>(
    ctx: &Context,
    deadline: Deadline,
    obs: &mut Observations,
    services: &[&ServiceConfig],
    cmd_of: impl Fn(&ServiceConfig) -> &'c Command,
) {
    let cfg = &ctx.config;
    // cluster → the kinds to list there: only those some service needs (docs/design.md §9).
    let mut clusters_to_list: BTreeMap<Name, BTreeSet<SourceKind>> = BTreeMap::new();
    let mut to_probe: Vec<&ServiceConfig> = Vec::new();
    let listed: Vec<&ServiceConfig> = services
        .iter()
        .copied()
        .filter(|s| obs.zone_error(s).is_none())
        .collect();
    for svc in listed {
        let needs = planner::needs(cfg, svc, &obs.records_of(svc), cmd_of(svc));
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
        // A split-horizon name's change is INSYNC when its requests in every zone are: each
        // zone's change record lists its own under the tag (docs/design.md §8.1).
        let listed_ids = needs.change_tag.as_ref().map(|tag| {
            let mut all = Vec::new();
            for zone_id in &svc.zone_ids {
                match obs.zones.get(zone_id) {
                    Some(Ok(zone)) => match zone.changes.ids(tag).filter(|ids| !ids.is_empty()) {
                        Some(ids) => all.extend(ids.iter().cloned()),
                        None => return None,
                    },
                    _ => return None,
                }
            }
            Some(all)
        });
        if let Some(scope) = obs.scopes.get_mut(&svc.name) {
            match (needs.change_id, listed_ids) {
                (Some(id), _) => scope.change_ids = vec![id],
                (None, Some(Some(ids))) => scope.change_ids = ids,
                (None, Some(None)) => scope.untracked = true,
                (None, None) => {}
            }
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

    // One GetChange per request still pending, however many services it carried.
    let change_ids: BTreeSet<String> = obs
        .scopes
        .values()
        .flat_map(|s| s.change_ids.iter().cloned())
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

    let (health, nothing_to_probe) = probe(ctx, &to_probe, obs).await;
    obs.health = health;
    obs.nothing_to_probe = nothing_to_probe;
    // Real traffic of the same services, from the load balancers the probes use: one
    // DescribeAlarms and one GetMetricData for all of them (docs/design.md §4, §10).
    let seen: &Observations = obs;
    let traffic = super::traffic::observe_traffic(ctx, &to_probe, |svc, cluster| {
        probe_target(&ctx.config, svc, cluster, seen).map(|t| t.load_balancer)
    })
    .await;
    obs.traffic = traffic;
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
