//! A faithful local stand-in for what cutover drives: Route53, EKS, each cluster's Kubernetes
//! API, each cluster's external-dns, and the load balancers. See docs/sandbox.md.
pub mod cbor;
pub mod clock;
pub mod cloudwatch;
pub mod cluster;
pub mod control;
pub mod cutover_config;
pub mod eks;
pub mod external_dns;
pub mod iam;
pub mod kube_api;
pub mod lb;
pub mod pki;
pub mod route53;
pub mod sigv4;
pub mod sns;
pub mod token;
pub mod traffic;
pub mod world;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use clock::SimClock;
use cloudwatch::CloudWatch;
use cluster::{Cluster, Gateway, HttpRoute, Ingress, Service};
use external_dns::{ExternalDns, ReconcileReport};
use kube_api::KubeApiServer;
use lb::{LbKind, LbSpec, LoadBalancer};
use route53::{Route53, Route53Options};
use sns::Sns;
use traffic::Traffic;
use world::{AliasSpec, LbKindSpec, RecordSpec, World};

/// The dummy credentials the sandbox accepts (and signs EKS tokens with). Never real ones.
pub const ACCESS_KEY_ID: &str = "AKIASANDBOXEXAMPLE01";
pub const SECRET_ACCESS_KEY: &str = "sandbox/not/a/real/secret/key/000000000";
/// The region to configure AWS clients with (Route53 is global; EKS clusters carry their own).
pub const DEFAULT_REGION: &str = "us-east-1";
/// The VPC a world's private zone is associated with when it names none.
pub const DEFAULT_VPC: &str = "vpc-sandbox";

/// How a sandbox runs.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Whether each external-dns reconciles by itself on its interval (simulated clock). Tests
    /// usually leave this off and call `run_once`.
    pub run_external_dns_loops: bool,
    pub route53: Route53Options,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            run_external_dns_loops: true,
            route53: Route53Options::default(),
        }
    }
}

/// Where everything listens (the first line `sandbox serve` prints, minus the credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    pub route53: String,
    pub eks: String,
    /// CloudWatch (Smithy RPC v2 CBOR): `GetMetricData`, alarms.
    #[serde(default)]
    pub cloudwatch: String,
    /// SNS (Query): `Publish`, `CreateTopic`.
    #[serde(default)]
    pub sns: String,
    /// STS (Query): `AssumeRole`.
    #[serde(default)]
    pub sts: String,
    pub control: String,
    pub clusters: BTreeMap<String, ClusterEndpoints>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterEndpoints {
    /// The cluster's Kubernetes API (`https://127.0.0.1:PORT`).
    pub api: String,
    /// ELB host name → `http://127.0.0.1:PORT` where that load balancer listens.
    pub load_balancers: BTreeMap<String, String>,
}

/// One running cluster: its objects, API server, load balancers (by name) and external-dns.
pub struct SandboxCluster {
    /// The account the cluster lives in (its EKS API and Kubernetes API let in only that
    /// account's identities).
    pub account: String,
    pub cluster: Cluster,
    pub api: KubeApiServer,
    pub load_balancers: BTreeMap<String, Arc<LoadBalancer>>,
    pub external_dns: ExternalDns,
}

impl SandboxCluster {
    /// A load balancer by its world name or its ELB host name.
    pub fn load_balancer(&self, name_or_hostname: &str) -> Option<&Arc<LoadBalancer>> {
        self.load_balancers.get(name_or_hostname).or_else(|| {
            self.load_balancers
                .values()
                .find(|lb| lb.hostname().eq_ignore_ascii_case(name_or_hostname))
        })
    }
}

/// Everything, started from a [`World`]. Stops when dropped or on [`Sandbox::shutdown`].
pub struct Sandbox {
    clock: SimClock,
    route53: Route53,
    ca_pem: String,
    clusters: Arc<BTreeMap<String, SandboxCluster>>,
    zones: BTreeMap<String, String>,
    endpoints: Endpoints,
    tasks: Vec<JoinHandle<()>>,
    cloudwatch: CloudWatch,
    sns: Sns,
    traffic: Traffic,
}

impl Sandbox {
    /// Starts Route53, EKS, each cluster's API, load balancers (registered as alias targets) and
    /// external-dns (one initial `run_once` each, in world order), and the control API, all on
    /// 127.0.0.1:0.
    pub async fn start(world: World, options: SandboxOptions) -> anyhow::Result<Sandbox> {
        world.validate()?;
        let clock = SimClock::new();
        let route53 = Route53::new(clock.clone(), options.route53.clone());
        let mut tasks = Vec::new();
        let (route53_url, task) = serve(route53.router()).await.context("Route53 listener")?;
        tasks.push(task);
        create_accounts(&route53, &world);
        let (sts_url, task) = serve(route53.iam().router())
            .await
            .context("STS listener")?;
        tasks.push(task);
        let zones = create_zones(&route53, &world)?;
        let pki = pki::Pki::generate().context("generating the sandbox CA")?;
        let eks_state = eks::EksState::new().with_iam(route53.iam());
        let mut clusters = BTreeMap::new();
        for spec in &world.clusters {
            let cluster = start_cluster(&world, spec, &route53, &route53_url, &pki, &clock).await?;
            eks_state.insert(
                eks::EksCluster::new(&spec.name, &spec.region, &cluster.api.url(), pki.ca_pem())
                    .in_account(&cluster.account),
            );
            clusters.insert(spec.name.clone(), cluster);
        }
        let (eks_url, task) = serve(eks::router(eks_state))
            .await
            .context("EKS listener")?;
        tasks.push(task);
        apply_initial_records(&route53, &world, &zones, &clusters)?;
        initial_reconcile(&route53, &world, &clusters, &options).await?;
        let region = world
            .clusters
            .first()
            .map_or(DEFAULT_REGION, |c| c.region.as_str())
            .to_string();
        let cloudwatch = CloudWatch::new(clock.clone(), &region).with_iam(route53.iam());
        let (cloudwatch_url, task) = serve(cloudwatch.router())
            .await
            .context("CloudWatch listener")?;
        tasks.push(task);
        let sns = Sns::new(clock.clone(), &region).with_iam(route53.iam());
        let (sns_url, task) = serve(sns.router()).await.context("SNS listener")?;
        tasks.push(task);
        let all_lbs: Vec<Arc<LoadBalancer>> = clusters
            .values()
            .flat_map(|c| c.load_balancers.values().cloned())
            .collect();
        let traffic = Traffic::new(
            &world.traffic,
            clock.clone(),
            route53.clone(),
            cloudwatch.clone(),
            all_lbs,
            &zones,
        );
        let catch_up = traffic.clone();
        cloudwatch.set_before_read(Arc::new(move || catch_up.run_until_now()));
        let clusters = Arc::new(clusters);
        let mut sandbox = Sandbox {
            clock,
            route53,
            ca_pem: pki.ca_pem().to_string(),
            clusters,
            zones,
            endpoints: Endpoints {
                route53: route53_url,
                eks: eks_url,
                cloudwatch: cloudwatch_url,
                sns: sns_url,
                sts: sts_url,
                control: String::new(),
                clusters: BTreeMap::new(),
            },
            tasks,
            cloudwatch,
            sns,
            traffic,
        };
        sandbox.endpoints.clusters = sandbox.cluster_endpoints();
        let (listener, control_url) = bind().await.context("control API listener")?;
        sandbox.endpoints.control = control_url;
        let task = spawn_server(listener, control::router(sandbox.handles()));
        sandbox.tasks.push(task);
        if options.run_external_dns_loops {
            for cluster in sandbox.clusters.values() {
                sandbox.tasks.push(cluster.external_dns.spawn_loop());
            }
        }
        Ok(sandbox)
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn route53(&self) -> &Route53 {
        &self.route53
    }

    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    pub fn cloudwatch(&self) -> &CloudWatch {
        &self.cloudwatch
    }

    pub fn sns(&self) -> &Sns {
        &self.sns
    }

    /// The simulated client populations (their truth: what went where).
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    /// Sets a load balancer's behaviour for `host` (all paths, or exactly `path`), after
    /// generating the traffic due before now under the old behaviour.
    pub fn set_behaviour(
        &self,
        lb: &str,
        host: &str,
        path: Option<&str>,
        behaviour: lb::Behaviour,
    ) -> bool {
        let Some(lb) = self.load_balancer(lb) else {
            return false;
        };
        self.traffic.run_until_now();
        match path {
            Some(p) => lb.set_path_behaviour(host, p, behaviour),
            None => lb.set_behaviour(host, behaviour),
        }
        true
    }

    /// The CA that signed every cluster API's certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn clusters(&self) -> &BTreeMap<String, SandboxCluster> {
        &self.clusters
    }

    pub fn cluster(&self, name: &str) -> Option<&SandboxCluster> {
        self.clusters.get(name)
    }

    pub fn external_dns(&self, cluster: &str) -> Option<&ExternalDns> {
        self.clusters.get(cluster).map(|c| &c.external_dns)
    }

    /// A load balancer by world name or ELB host name, in any cluster.
    pub fn load_balancer(&self, name_or_hostname: &str) -> Option<&Arc<LoadBalancer>> {
        self.clusters
            .values()
            .find_map(|c| c.load_balancer(name_or_hostname))
    }

    /// Zone name → zone id (without prefix). A name used by a public and a private zone maps to
    /// the one declared last; use `route53().zones()` for all.
    pub fn zone_id(&self, name: &str) -> Option<&str> {
        self.zones
            .get(name.trim_end_matches('.').to_ascii_lowercase().as_str())
            .map(String::as_str)
    }

    /// Runs every external-dns once, in cluster-name order.
    pub async fn reconcile_all(&self) -> BTreeMap<String, ReconcileReport> {
        let mut reports = BTreeMap::new();
        for (name, cluster) in self.clusters.iter() {
            reports.insert(name.clone(), cluster.external_dns.run_once().await);
        }
        reports
    }

    /// What the control API works on.
    pub fn handles(&self) -> control::Handles {
        control::Handles {
            clock: self.clock.clone(),
            route53: self.route53.clone(),
            clusters: self.clusters.clone(),
            ca_pem: self.ca_pem.clone(),
            endpoints: self.endpoints.clone(),
            cloudwatch: self.cloudwatch.clone(),
            sns: self.sns.clone(),
            traffic: self.traffic.clone(),
        }
    }

    /// Stops every server and loop.
    pub fn shutdown(mut self) {
        self.stop_tasks();
    }

    fn stop_tasks(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }

    fn cluster_endpoints(&self) -> BTreeMap<String, ClusterEndpoints> {
        self.clusters
            .iter()
            .map(|(name, c)| {
                let load_balancers = c
                    .load_balancers
                    .values()
                    .map(|lb| (lb.hostname().to_string(), format!("http://{}", lb.addr())))
                    .collect();
                (
                    name.clone(),
                    ClusterEndpoints {
                        api: c.api.url(),
                        load_balancers,
                    },
                )
            })
            .collect()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_tasks();
    }
}

/// Serves a router on 127.0.0.1:0; returns its `http://` URL and the task.
async fn serve(router: axum::Router) -> anyhow::Result<(String, JoinHandle<()>)> {
    let (listener, url) = bind().await?;
    Ok((url, spawn_server(listener, router)))
}

async fn bind() -> anyhow::Result<(TcpListener, String)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    Ok((listener, url))
}

fn spawn_server(listener: TcpListener, router: axum::Router) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!("a sandbox server stopped: {error}");
        }
    })
}

/// The world's accounts and roles, registered with Route53's IAM.
fn create_accounts(route53: &Route53, world: &World) {
    let iam = route53.iam();
    for account in &world.accounts {
        iam.add_account(&account.id);
        for role in &account.roles {
            iam.add_role(iam::Role {
                account: account.id.clone(),
                name: role.name.clone(),
                trusted_accounts: role.trusted_accounts.clone(),
                external_id: role.external_id.clone(),
            });
        }
    }
}

fn create_zones(route53: &Route53, world: &World) -> anyhow::Result<BTreeMap<String, String>> {
    let mut zones = BTreeMap::new();
    for (i, zone) in world.zones.iter().enumerate() {
        let account = zone.account.as_deref().unwrap_or(iam::DEFAULT_ACCOUNT);
        let id = route53
            .try_create_zone_in(&zone.name, zone.private, account)
            .map_err(|e| anyhow::anyhow!("zones[{i}].name: {}: {}", e.code, e.message))?;
        if zone.private {
            let region = world
                .clusters
                .first()
                .map_or(DEFAULT_REGION, |c| c.region.as_str());
            let vpcs = if zone.vpcs.is_empty() {
                vec![DEFAULT_VPC.to_string()]
            } else {
                zone.vpcs.clone()
            };
            for vpc in vpcs {
                route53.associate_vpc(
                    &id,
                    route53::Vpc {
                        region: region.to_string(),
                        id: vpc,
                    },
                );
            }
        }
        zones.insert(zone.name.trim_end_matches('.').to_ascii_lowercase(), id);
    }
    Ok(zones)
}

fn lb_kind(kind: LbKindSpec) -> LbKind {
    match kind {
        LbKindSpec::Alb => LbKind::Application,
        LbKindSpec::Nlb => LbKind::Network,
        LbKindSpec::Classic => LbKind::Classic,
    }
}

async fn start_cluster(
    world: &World,
    spec: &world::ClusterSpec,
    route53: &Route53,
    route53_url: &str,
    pki: &pki::Pki,
    clock: &SimClock,
) -> anyhow::Result<SandboxCluster> {
    let cluster = if spec.gateway_api {
        Cluster::new(&spec.name, &spec.region)
    } else {
        Cluster::new(&spec.name, &spec.region).without_gateway_api()
    };
    let mut load_balancers = BTreeMap::new();
    for lb_spec in &spec.load_balancers {
        let lb = LoadBalancer::start(LbSpec {
            cluster: spec.name.clone(),
            region: spec.region.clone(),
            kind: lb_kind(lb_spec.kind),
            name: lb_spec.name.clone(),
        })
        .await
        .with_context(|| format!("starting load balancer {}", lb_spec.name))?;
        let zone_id = lb.canonical_zone_id().with_context(|| {
            format!(
                "clusters `{}`: region `{}` has no load balancer hosted zone id",
                spec.name, spec.region
            )
        })?;
        route53.register_alias_target(lb.hostname(), zone_id);
        load_balancers.insert(lb_spec.name.clone(), Arc::new(lb));
    }
    let settings = world.external_dns_settings(&spec.name)?;
    for ingress in world.ingresses.iter().filter(|i| i.cluster == spec.name) {
        let lb = ingress
            .load_balancer
            .as_ref()
            .and_then(|name| load_balancers.get(name));
        if let Some(lb) = lb {
            for host in &ingress.hosts {
                lb.add_host(host);
            }
        }
        cluster.upsert_ingress(Ingress {
            namespace: ingress.namespace.clone(),
            name: ingress.name.clone(),
            hosts: ingress.hosts.clone(),
            annotations: ingress.annotations.clone(),
            load_balancer: lb.map(|lb| lb.hostname().to_string()),
        });
    }
    let lb_hostname = |name: &Option<String>| {
        name.as_ref()
            .and_then(|n| load_balancers.get(n))
            .map(|lb| lb.hostname().to_string())
    };
    for service in world.services.iter().filter(|s| s.cluster == spec.name) {
        let service = Service {
            namespace: service.namespace.clone(),
            name: service.name.clone(),
            annotations: service.annotations.clone(),
            service_type: service.service_type.clone(),
            load_balancer: lb_hostname(&service.load_balancer),
        };
        serve_service_hosts(&load_balancers, &service, settings.annotation_prefix());
        cluster.upsert_service(service);
    }
    for gateway in world.gateways.iter().filter(|g| g.cluster == spec.name) {
        cluster.upsert_gateway(Gateway {
            namespace: gateway.namespace.clone(),
            name: gateway.name.clone(),
            annotations: gateway.annotations.clone(),
            listeners: gateway.listeners.clone(),
            load_balancer: lb_hostname(&gateway.load_balancer),
        });
    }
    for route in world.httproutes.iter().filter(|r| r.cluster == spec.name) {
        let route = HttpRoute {
            namespace: route.namespace.clone(),
            name: route.name.clone(),
            annotations: route.annotations.clone(),
            hostnames: route.hostnames.clone(),
            parents: route.parents.clone(),
        };
        serve_route_hosts(
            &load_balancers,
            &cluster,
            &route,
            settings.annotation_prefix(),
        );
        cluster.upsert_http_route(route);
    }
    let cluster_account = spec.account.as_deref().unwrap_or(iam::DEFAULT_ACCOUNT);
    let access = Some((route53.iam(), cluster_account.to_string()));
    let api = kube_api::serve_kube_api_in(cluster.clone(), pki, clock.clone(), access)
        .await
        .with_context(|| format!("starting the Kubernetes API of cluster {}", spec.name))?;
    let account = spec
        .external_dns
        .account
        .as_deref()
        .unwrap_or(iam::DEFAULT_ACCOUNT);
    let external_dns = ExternalDns::new_in_account(
        settings,
        cluster.clone(),
        route53_url,
        clock.clone(),
        account,
    )?;
    Ok(SandboxCluster {
        account: cluster_account.to_string(),
        cluster,
        api,
        load_balancers,
        external_dns,
    })
}

/// The hosts of a `hostname` annotation under `prefix` (comma-separated, spaces and trailing dots
/// dropped).
pub fn annotated_hosts(annotations: &BTreeMap<String, String>, prefix: &str) -> Vec<String> {
    annotations
        .get(&format!("{prefix}hostname"))
        .map(|v| {
            v.replace(' ', "")
                .split(',')
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The Service's load balancer answers for the hosts of its `hostname` annotation (the backend
/// serves them, as the HTTP probes expect).
pub fn serve_service_hosts(
    load_balancers: &BTreeMap<String, Arc<LoadBalancer>>,
    service: &Service,
    annotation_prefix: &str,
) {
    let Some(lb) = service
        .load_balancer
        .as_deref()
        .and_then(|h| find_lb(load_balancers, h))
    else {
        return;
    };
    for host in annotated_hosts(&service.annotations, annotation_prefix) {
        lb.add_host(&host);
    }
}

/// Each parent Gateway's load balancer answers for the route's hostnames and annotated hosts.
pub fn serve_route_hosts(
    load_balancers: &BTreeMap<String, Arc<LoadBalancer>>,
    cluster: &Cluster,
    route: &HttpRoute,
    annotation_prefix: &str,
) {
    let mut hosts = route.hostnames.clone();
    hosts.extend(annotated_hosts(&route.annotations, annotation_prefix));
    for parent in &route.parents {
        let namespace = parent.namespace.as_deref().unwrap_or(&route.namespace);
        let lb = cluster
            .gateway(namespace, &parent.gateway)
            .and_then(|g| g.load_balancer)
            .and_then(|h| find_lb(load_balancers, &h).cloned());
        if let Some(lb) = lb {
            for host in &hosts {
                lb.add_host(host);
            }
        }
    }
}

/// A load balancer by world name or ELB host name.
fn find_lb<'a>(
    load_balancers: &'a BTreeMap<String, Arc<LoadBalancer>>,
    name_or_hostname: &str,
) -> Option<&'a Arc<LoadBalancer>> {
    load_balancers.get(name_or_hostname).or_else(|| {
        load_balancers
            .values()
            .find(|lb| lb.hostname().eq_ignore_ascii_case(name_or_hostname))
    })
}

/// Creates the world's records. Consecutive records of one zone go in batches of up to 1,000
/// (Route53's limit): a record at a time would revalidate the whole zone per record, which makes
/// a 10,000-record world take minutes. A batch that fails is retried one record at a time, so the
/// error names the record.
fn apply_initial_records(
    route53: &Route53,
    world: &World,
    zones: &BTreeMap<String, String>,
    clusters: &BTreeMap<String, SandboxCluster>,
) -> anyhow::Result<()> {
    let mut pending: Vec<(usize, route53::Change)> = Vec::new();
    let mut pending_zone: Option<&String> = None;
    for (i, spec) in world.records.iter().enumerate() {
        let zone_name = spec.zone.trim_end_matches('.').to_ascii_lowercase();
        let zone_id = zones
            .get(&zone_name)
            .with_context(|| format!("records[{i}].zone: no zone `{}`", spec.zone))?;
        let rrset = initial_rrset(spec, clusters).with_context(|| format!("records[{i}].alias"))?;
        if pending_zone != Some(zone_id) || pending.len() == INITIAL_BATCH {
            if let Some(zone) = pending_zone {
                create_initial(route53, zone, std::mem::take(&mut pending))?;
            }
            pending_zone = Some(zone_id);
        }
        pending.push((
            i,
            route53::Change {
                action: route53::Action::Create,
                rrset,
            },
        ));
    }
    if let Some(zone) = pending_zone {
        create_initial(route53, zone, pending)?;
    }
    Ok(())
}

/// Records per change batch when a world is loaded (Route53's limit per request).
const INITIAL_BATCH: usize = 1000;

fn create_initial(
    route53: &Route53,
    zone_id: &str,
    changes: Vec<(usize, route53::Change)>,
) -> anyhow::Result<()> {
    let comment = || Some("sandbox world file".to_string());
    let batch: Vec<route53::Change> = changes.iter().map(|(_, c)| c.clone()).collect();
    if route53.change(zone_id, batch, comment()).is_ok() {
        return Ok(());
    }
    for (i, change) in changes {
        route53
            .change(zone_id, vec![change], comment())
            .map_err(|e| anyhow::anyhow!("records[{i}]: {}: {}", e.code, e.message))?;
    }
    Ok(())
}

fn initial_rrset(
    spec: &RecordSpec,
    clusters: &BTreeMap<String, SandboxCluster>,
) -> anyhow::Result<route53::Rrset> {
    let alias_target = match &spec.alias {
        None => None,
        Some(alias) => Some(alias_target(alias, clusters)?),
    };
    Ok(route53::Rrset {
        name: spec.name.clone(),
        rtype: spec.record_type.clone(),
        set_identifier: spec.set_identifier.clone(),
        weight: spec.weight,
        ttl: spec.ttl,
        records: spec.values.clone(),
        alias_target,
        health_check_id: spec.health_check_id.clone(),
    })
}

fn alias_target(
    alias: &AliasSpec,
    clusters: &BTreeMap<String, SandboxCluster>,
) -> anyhow::Result<route53::AliasTarget> {
    if let Some(name) = &alias.load_balancer {
        let lb = clusters
            .values()
            .find_map(|c| c.load_balancers.get(name))
            .with_context(|| format!("no load balancer `{name}`"))?;
        let zone = lb
            .canonical_zone_id()
            .with_context(|| format!("load balancer `{name}` has no canonical zone id"))?;
        return Ok(route53::AliasTarget {
            hosted_zone_id: zone.to_string(),
            dns_name: lb.hostname().to_string(),
            evaluate_target_health: alias.evaluate_target_health,
        });
    }
    match (&alias.dns_name, &alias.hosted_zone_id) {
        (Some(dns_name), Some(zone)) => Ok(route53::AliasTarget {
            hosted_zone_id: zone.clone(),
            dns_name: dns_name.clone(),
            evaluate_target_health: alias.evaluate_target_health,
        }),
        _ => anyhow::bail!("give either load_balancer, or dns_name and hosted_zone_id"),
    }
}

/// Every external-dns runs once, in world order, with the rate limit lifted meanwhile so start-up
/// is not throttled. A listing failure fails the start; a refused name-group is a legitimate
/// state of a world (e.g. a simple/weighted conflict) and stays in that external-dns's log.
async fn initial_reconcile(
    route53: &Route53,
    world: &World,
    clusters: &BTreeMap<String, SandboxCluster>,
    options: &SandboxOptions,
) -> anyhow::Result<()> {
    route53.set_rate_limit(None);
    let mut problems = Vec::new();
    for spec in &world.clusters {
        if let Some(cluster) = clusters.get(&spec.name) {
            let report = cluster.external_dns.run_once().await;
            problems.extend(report.errors.iter().map(|e| format!("{}: {e}", spec.name)));
        }
    }
    route53.set_rate_limit(options.route53.rate_limit_per_second);
    if problems.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("initial external-dns run failed: {}", problems.join("; "))
    }
}
