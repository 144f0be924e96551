//! The world file (TOML): hosted zones, clusters with their external-dns flags and load balancers,
//! the source objects — Ingresses, Services, Gateways and HTTPRoutes — and records present before
//! anything runs. Errors name the key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cluster::{Listener, RouteParent, CLUSTER_IP, LOAD_BALANCER};
use crate::external_dns::{ExternalDnsSettings, Policy, SettingsError, Source, Version, ZoneType};

/// The built-in world: two clusters in eu-west-1 and three services in the states teams have.
pub const DEFAULT_WORLD_TOML: &str = r#"
# Zone external-dns and cutover write to.
[[zones]]
name = "example.com"

[[clusters]]
name = "blue"
region = "eu-west-1"
load_balancers = [{ name = "k8s-blue-ingress", kind = "alb" }]
[clusters.external_dns]
owner_id = "blue"
version = "v0.22"
policy = "sync"
interval_seconds = 60

[[clusters]]
name = "green"
region = "eu-west-1"
load_balancers = [{ name = "k8s-green-ingress", kind = "alb" }]
[clusters.external_dns]
owner_id = "green"
version = "v0.22"
policy = "sync"
interval_seconds = 60

# payments: a simple record, only blue's Ingress has the host.
[[ingresses]]
cluster = "blue"
namespace = "default"
name = "payments"
hosts = ["payments.example.com"]
load_balancer = "k8s-blue-ingress"

# checkout and search: already weighted as <service>-<cluster>, blue 100 / green 0
# (all-0 would be an even split).
[[ingresses]]
cluster = "blue"
namespace = "default"
name = "checkout"
hosts = ["checkout.example.com"]
load_balancer = "k8s-blue-ingress"
annotations = { "external-dns.kubernetes.io/set-identifier" = "checkout-blue", "external-dns.kubernetes.io/aws-weight" = "100" }

[[ingresses]]
cluster = "green"
namespace = "default"
name = "checkout"
hosts = ["checkout.example.com"]
load_balancer = "k8s-green-ingress"
annotations = { "external-dns.kubernetes.io/set-identifier" = "checkout-green", "external-dns.kubernetes.io/aws-weight" = "0" }

[[ingresses]]
cluster = "blue"
namespace = "default"
name = "search"
hosts = ["search.example.com"]
load_balancer = "k8s-blue-ingress"
annotations = { "external-dns.kubernetes.io/set-identifier" = "search-blue", "external-dns.kubernetes.io/aws-weight" = "100" }

[[ingresses]]
cluster = "green"
namespace = "default"
name = "search"
hosts = ["search.example.com"]
load_balancer = "k8s-green-ingress"
annotations = { "external-dns.kubernetes.io/set-identifier" = "search-green", "external-dns.kubernetes.io/aws-weight" = "0" }
"#;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    /// AWS accounts besides the default one ([`crate::iam::DEFAULT_ACCOUNT`], whose keys are the
    /// sandbox's), each with its own keys and roles.
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
    #[serde(default)]
    pub zones: Vec<ZoneSpec>,
    #[serde(default)]
    pub clusters: Vec<ClusterSpec>,
    #[serde(default)]
    pub ingresses: Vec<IngressSpec>,
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    #[serde(default)]
    pub gateways: Vec<GatewaySpec>,
    #[serde(default)]
    pub httproutes: Vec<HttpRouteSpec>,
    #[serde(default)]
    pub records: Vec<RecordSpec>,
    /// Simulated client populations, one per host (real traffic for the load balancers'
    /// CloudWatch metrics).
    #[serde(default)]
    pub traffic: Vec<crate::traffic::TrafficSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    pub name: String,
    #[serde(default)]
    pub private: bool,
    /// The account that owns the zone; default the default account.
    #[serde(default)]
    pub account: Option<String>,
    /// The VPCs a private zone is associated with (`vpc-…`, in the world's first cluster's
    /// region); default one, `vpc-sandbox`. Only for a private zone.
    #[serde(default)]
    pub vpcs: Vec<String>,
}

/// An account: a 12-digit id (its keys are [`crate::iam::account_keys`]) and its roles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    pub id: String,
    #[serde(default)]
    pub roles: Vec<RoleSpec>,
}

/// A role in an account: who may assume it, and the external id its trust policy requires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    pub name: String,
    #[serde(default)]
    pub external_id: Option<String>,
    /// Accounts trusted to assume the role; default the default account.
    #[serde(default = "default_trust")]
    pub trusted_accounts: Vec<String>,
}

fn default_trust() -> Vec<String> {
    vec![crate::iam::DEFAULT_ACCOUNT.to_string()]
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// The EKS cluster name.
    pub name: String,
    /// The account the cluster lives in; default the default account.
    #[serde(default)]
    pub account: Option<String>,
    pub region: String,
    pub external_dns: ExternalDnsSpec,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancerSpec>,
    /// Whether the Gateway API CRDs are installed (default true): without them the cluster's
    /// API serves no `gateway.networking.k8s.io` group.
    #[serde(default = "default_true")]
    pub gateway_api: bool,
}

/// A cluster's external-dns flags as written in the world file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalDnsSpec {
    /// `--txt-owner-id`; default `default`.
    pub owner_id: Option<String>,
    /// e.g. `v0.22`, `v0.18`, `v0.13`.
    pub version: String,
    pub txt_prefix: Option<String>,
    pub txt_suffix: Option<String>,
    pub txt_wildcard_replacement: Option<String>,
    pub annotation_prefix: Option<String>,
    /// `sync`, `upsert-only` or `create-only`; required from v0.22, `sync` before.
    pub policy: Option<Policy>,
    /// `--interval` in seconds; default 60.
    pub interval_seconds: Option<f64>,
    /// EvaluateTargetHealth when not annotated; default true.
    pub evaluate_target_health: Option<bool>,
    /// `public` or `private`; both when unset.
    pub zone_type: Option<ZoneType>,
    /// `--source` flags: `ingress`, `service`, `gateway-httproute`; default the Helm chart's
    /// `service` and `ingress`.
    pub sources: Option<Vec<Source>>,
    /// The account whose credentials this external-dns writes with (it sees that account's
    /// zones only, as one external-dns per account does); default the default account.
    #[serde(default)]
    pub account: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LbKindSpec {
    Alb,
    Nlb,
    Classic,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerSpec {
    /// The first label of its ELB host name, unique in the world.
    pub name: String,
    pub kind: LbKindSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngressSpec {
    pub cluster: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The name of one of the cluster's load balancers; absent = no load-balancer status yet.
    pub load_balancer: Option<String>,
}

fn default_namespace() -> String {
    "default".to_string()
}

/// A Service; its hosts are in its `hostname` annotation, as external-dns reads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub cluster: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// `LoadBalancer` (default) or `ClusterIP`.
    #[serde(rename = "type", default = "crate::cluster::load_balancer_type")]
    pub service_type: String,
    /// The name of one of the cluster's load balancers (usually an NLB); absent = no status yet.
    pub load_balancer: Option<String>,
}

/// A Gateway API Gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySpec {
    pub cluster: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub listeners: Vec<Listener>,
    /// The name of one of the cluster's load balancers, its address; absent = not programmed yet.
    pub load_balancer: Option<String>,
}

/// A Gateway API HTTPRoute; its parents are Gateways of the same cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRouteSpec {
    pub cluster: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub hostnames: Vec<String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub parents: Vec<RouteParent>,
}

/// The protocols of a Gateway listener.
const LISTENER_PROTOCOLS: [&str; 5] = ["HTTP", "HTTPS", "TLS", "TCP", "UDP"];
/// `allowedRoutes.namespaces.from`.
const ALLOWED_FROM: [&str; 3] = ["Same", "All", "Selector"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSpec {
    /// The zone's name.
    pub zone: String,
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: String,
    pub ttl: Option<i64>,
    #[serde(default)]
    pub values: Vec<String>,
    pub alias: Option<AliasSpec>,
    pub set_identifier: Option<String>,
    pub weight: Option<i64>,
    pub health_check_id: Option<String>,
}

/// An alias to one of the world's load balancers (`load_balancer`) or to any target
/// (`dns_name` + `hosted_zone_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasSpec {
    pub load_balancer: Option<String>,
    pub dns_name: Option<String>,
    pub hosted_zone_id: Option<String>,
    #[serde(default = "default_true")]
    pub evaluate_target_health: bool,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("reading world file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("world file is not valid TOML for a world: {0}")]
    Parse(String),
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
}

/// The checks of a Gateway's listeners (names unique, a port, a known protocol, a known
/// `allowedRoutes.namespaces.from`), for the world file and the control API alike; `path` names
/// the list in errors (`gateways[0].listeners`).
pub fn check_listeners(path: &str, listeners: &[Listener]) -> Result<(), WorldError> {
    let mut names = BTreeSet::new();
    for (j, listener) in listeners.iter().enumerate() {
        let key = |field: &str| format!("{path}[{j}].{field}");
        if listener.name.is_empty() || !names.insert(&listener.name) {
            return Err(invalid(
                key("name"),
                format!(
                    "`{}` must be a non-empty, unique listener name",
                    listener.name
                ),
            ));
        }
        if listener.port == 0 {
            return Err(invalid(key("port"), "must be 1–65535"));
        }
        if !LISTENER_PROTOCOLS.contains(&listener.protocol.as_str()) {
            return Err(invalid(
                key("protocol"),
                format!(
                    "`{}` is not one of {}",
                    listener.protocol,
                    LISTENER_PROTOCOLS.join(", ")
                ),
            ));
        }
        if let Some(from) = &listener.allowed_routes_from {
            if !ALLOWED_FROM.contains(&from.as_str()) {
                return Err(invalid(
                    key("allowed_routes_from"),
                    format!("`{from}` is not one of {}", ALLOWED_FROM.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> WorldError {
    WorldError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

impl Default for World {
    fn default() -> Self {
        World::default_world()
    }
}

impl World {
    /// The built-in world ([`DEFAULT_WORLD_TOML`]).
    pub fn default_world() -> World {
        // The constant is checked by a test; an empty world is the (unreachable) fallback.
        World::from_toml(DEFAULT_WORLD_TOML).unwrap_or(World {
            accounts: Vec::new(),
            zones: Vec::new(),
            clusters: Vec::new(),
            ingresses: Vec::new(),
            services: Vec::new(),
            gateways: Vec::new(),
            httproutes: Vec::new(),
            records: Vec::new(),
            traffic: Vec::new(),
        })
    }

    pub fn load(path: &Path) -> Result<World, WorldError> {
        let text = std::fs::read_to_string(path).map_err(|source| WorldError::Read {
            path: path.display().to_string(),
            source,
        })?;
        World::from_toml(&text)
    }

    /// Parses and validates.
    pub fn from_toml(text: &str) -> Result<World, WorldError> {
        let world: World = toml::from_str(text).map_err(|e| WorldError::Parse(e.to_string()))?;
        world.validate()?;
        Ok(world)
    }

    pub fn validate(&self) -> Result<(), WorldError> {
        self.validate_accounts()?;
        self.validate_zones()?;
        self.validate_clusters()?;
        self.validate_ingresses()?;
        self.validate_services()?;
        self.validate_gateways()?;
        self.validate_http_routes()?;
        self.validate_records()?;
        self.validate_traffic()
    }

    fn validate_traffic(&self) -> Result<(), WorldError> {
        let mut hosts = BTreeSet::new();
        for (i, t) in self.traffic.iter().enumerate() {
            t.validate()
                .map_err(|(field, reason)| invalid(format!("traffic[{i}].{field}"), reason))?;
            let host = normalized(&t.host);
            if !self.zones.iter().any(|z| {
                host == normalized(&z.name) || host.ends_with(&format!(".{}", normalized(&z.name)))
            }) {
                return Err(invalid(
                    format!("traffic[{i}].host"),
                    format!("`{}` is in no zone of the world", t.host),
                ));
            }
            if !hosts.insert(host) {
                return Err(invalid(
                    format!("traffic[{i}].host"),
                    format!("`{}` has traffic declared twice", t.host),
                ));
            }
        }
        Ok(())
    }

    fn known_account(&self, id: &str) -> bool {
        id == crate::iam::DEFAULT_ACCOUNT || self.accounts.iter().any(|a| a.id == id)
    }

    fn validate_accounts(&self) -> Result<(), WorldError> {
        let mut seen = BTreeSet::new();
        for (i, account) in self.accounts.iter().enumerate() {
            if account.id.len() != 12 || !account.id.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid(
                    format!("accounts[{i}].id"),
                    format!("`{}` is not a 12-digit account id", account.id),
                ));
            }
            if account.id == crate::iam::DEFAULT_ACCOUNT || !seen.insert(account.id.clone()) {
                return Err(invalid(
                    format!("accounts[{i}].id"),
                    format!(
                        "account `{}` is declared twice (or is the default account)",
                        account.id
                    ),
                ));
            }
        }
        for (i, account) in self.accounts.iter().enumerate() {
            for (j, role) in account.roles.iter().enumerate() {
                let at = |field: &str| format!("accounts[{i}].roles[{j}].{field}");
                if role.name.is_empty()
                    || role.name.len() > 64
                    || !role
                        .name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
                {
                    return Err(invalid(
                        at("name"),
                        format!("`{}` is not a role name", role.name),
                    ));
                }
                if let Some(t) = role
                    .trusted_accounts
                    .iter()
                    .find(|t| !self.known_account(t))
                {
                    return Err(invalid(
                        at("trusted_accounts"),
                        format!("account `{t}` is not declared"),
                    ));
                }
            }
        }
        let unknown = |field: String, id: &Option<String>| match id {
            Some(id) if !self.known_account(id) => {
                Err(invalid(field, format!("account `{id}` is not declared")))
            }
            _ => Ok(()),
        };
        for (i, zone) in self.zones.iter().enumerate() {
            unknown(format!("zones[{i}].account"), &zone.account)?;
        }
        for (i, cluster) in self.clusters.iter().enumerate() {
            unknown(
                format!("clusters[{i}].external_dns.account"),
                &cluster.external_dns.account,
            )?;
        }
        Ok(())
    }

    fn validate_zones(&self) -> Result<(), WorldError> {
        let mut seen = BTreeSet::new();
        for (i, zone) in self.zones.iter().enumerate() {
            let name = normalized(&zone.name);
            if name.is_empty() {
                return Err(invalid(format!("zones[{i}].name"), "must not be empty"));
            }
            if !zone.private && !zone.vpcs.is_empty() {
                return Err(invalid(
                    format!("zones[{i}].vpcs"),
                    "only a private zone is associated with VPCs",
                ));
            }
            if let Some(bad) = zone
                .vpcs
                .iter()
                .find(|v| !v.starts_with("vpc-") || v.len() < 5)
            {
                return Err(invalid(
                    format!("zones[{i}].vpcs"),
                    format!("`{bad}` is not a VPC id (vpc-…)"),
                ));
            }
            if !seen.insert((name.clone(), zone.private)) {
                return Err(invalid(
                    format!("zones[{i}].name"),
                    format!("zone `{name}` is declared twice"),
                ));
            }
        }
        Ok(())
    }

    fn validate_clusters(&self) -> Result<(), WorldError> {
        let mut names = BTreeSet::new();
        let mut lbs = BTreeSet::new();
        for (i, cluster) in self.clusters.iter().enumerate() {
            if cluster.name.is_empty() || !names.insert(cluster.name.clone()) {
                return Err(invalid(
                    format!("clusters[{i}].name"),
                    format!(
                        "`{}` must be a non-empty, unique cluster name",
                        cluster.name
                    ),
                ));
            }
            if cluster.region.is_empty() {
                return Err(invalid(
                    format!("clusters[{i}].region"),
                    "must not be empty",
                ));
            }
            let settings = settings_for(cluster, i)?;
            if !cluster.gateway_api && settings.reads(Source::GatewayHttproute) {
                return Err(invalid(
                    format!("clusters[{i}].external_dns.sources"),
                    "gateway-httproute needs the Gateway API, and the cluster has none (gateway_api = false)",
                ));
            }
            for (j, lb) in cluster.load_balancers.iter().enumerate() {
                if !is_dns_label(&lb.name) || !lbs.insert(lb.name.clone()) {
                    return Err(invalid(
                        format!("clusters[{i}].load_balancers[{j}].name"),
                        format!(
                            "`{}` must be a unique DNS label (a-z, 0-9, `-`, at most 63)",
                            lb.name
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_ingresses(&self) -> Result<(), WorldError> {
        let mut seen = BTreeSet::new();
        for (i, ingress) in self.ingresses.iter().enumerate() {
            let Some(cluster) = self.cluster(&ingress.cluster) else {
                return Err(invalid(
                    format!("ingresses[{i}].cluster"),
                    format!("no cluster named `{}`", ingress.cluster),
                ));
            };
            if ingress.name.is_empty() || ingress.namespace.is_empty() {
                return Err(invalid(
                    format!("ingresses[{i}].name"),
                    "namespace and name must not be empty",
                ));
            }
            if !seen.insert((&ingress.cluster, &ingress.namespace, &ingress.name)) {
                return Err(invalid(
                    format!("ingresses[{i}].name"),
                    format!(
                        "{}/{} is declared twice in cluster {}",
                        ingress.namespace, ingress.name, ingress.cluster
                    ),
                ));
            }
            if let Some(lb) = &ingress.load_balancer {
                if !cluster.load_balancers.iter().any(|l| &l.name == lb) {
                    return Err(invalid(
                        format!("ingresses[{i}].load_balancer"),
                        format!("cluster `{}` has no load balancer `{lb}`", cluster.name),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The cluster an object names, and its load balancer (when it names one) among the
    /// cluster's; errors at `<list>[i].cluster` / `<list>[i].load_balancer`.
    fn object_cluster(
        &self,
        list: &str,
        i: usize,
        cluster: &str,
        load_balancer: Option<&String>,
    ) -> Result<&ClusterSpec, WorldError> {
        let Some(spec) = self.cluster(cluster) else {
            return Err(invalid(
                format!("{list}[{i}].cluster"),
                format!("no cluster named `{cluster}`"),
            ));
        };
        if let Some(lb) = load_balancer {
            if !spec.load_balancers.iter().any(|l| &l.name == lb) {
                return Err(invalid(
                    format!("{list}[{i}].load_balancer"),
                    format!("cluster `{}` has no load balancer `{lb}`", spec.name),
                ));
            }
        }
        Ok(spec)
    }

    fn validate_services(&self) -> Result<(), WorldError> {
        let mut seen = BTreeSet::new();
        for (i, service) in self.services.iter().enumerate() {
            self.object_cluster(
                "services",
                i,
                &service.cluster,
                service.load_balancer.as_ref(),
            )?;
            check_object_name("services", i, &service.namespace, &service.name)?;
            if !seen.insert((&service.cluster, &service.namespace, &service.name)) {
                return Err(invalid(
                    format!("services[{i}].name"),
                    format!(
                        "{}/{} is declared twice in cluster {}",
                        service.namespace, service.name, service.cluster
                    ),
                ));
            }
            if ![LOAD_BALANCER, CLUSTER_IP].contains(&service.service_type.as_str()) {
                return Err(invalid(
                    format!("services[{i}].type"),
                    format!(
                        "`{}` is not modelled: `{LOAD_BALANCER}` or `{CLUSTER_IP}`",
                        service.service_type
                    ),
                ));
            }
        }
        Ok(())
    }

    fn validate_gateways(&self) -> Result<(), WorldError> {
        let mut seen = BTreeSet::new();
        for (i, gateway) in self.gateways.iter().enumerate() {
            let cluster = self.object_cluster(
                "gateways",
                i,
                &gateway.cluster,
                gateway.load_balancer.as_ref(),
            )?;
            if !cluster.gateway_api {
                return Err(invalid(
                    format!("gateways[{i}].cluster"),
                    format!(
                        "cluster `{}` has no Gateway API (gateway_api = false)",
                        cluster.name
                    ),
                ));
            }
            check_object_name("gateways", i, &gateway.namespace, &gateway.name)?;
            if !seen.insert((&gateway.cluster, &gateway.namespace, &gateway.name)) {
                return Err(invalid(
                    format!("gateways[{i}].name"),
                    format!(
                        "{}/{} is declared twice in cluster {}",
                        gateway.namespace, gateway.name, gateway.cluster
                    ),
                ));
            }
            check_listeners(&format!("gateways[{i}].listeners"), &gateway.listeners)?;
        }
        Ok(())
    }

    fn validate_http_routes(&self) -> Result<(), WorldError> {
        let mut seen = BTreeSet::new();
        for (i, route) in self.httproutes.iter().enumerate() {
            let cluster = self.object_cluster("httproutes", i, &route.cluster, None)?;
            if !cluster.gateway_api {
                return Err(invalid(
                    format!("httproutes[{i}].cluster"),
                    format!(
                        "cluster `{}` has no Gateway API (gateway_api = false)",
                        cluster.name
                    ),
                ));
            }
            check_object_name("httproutes", i, &route.namespace, &route.name)?;
            if !seen.insert((&route.cluster, &route.namespace, &route.name)) {
                return Err(invalid(
                    format!("httproutes[{i}].name"),
                    format!(
                        "{}/{} is declared twice in cluster {}",
                        route.namespace, route.name, route.cluster
                    ),
                ));
            }
            for (j, parent) in route.parents.iter().enumerate() {
                let namespace = parent.namespace.as_deref().unwrap_or(&route.namespace);
                let found = self.gateways.iter().any(|g| {
                    g.cluster == route.cluster
                        && g.namespace == namespace
                        && g.name == parent.gateway
                });
                if !found {
                    return Err(invalid(
                        format!("httproutes[{i}].parents[{j}].gateway"),
                        format!(
                            "no gateway {namespace}/{} in cluster `{}`",
                            parent.gateway, route.cluster
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_records(&self) -> Result<(), WorldError> {
        for (i, record) in self.records.iter().enumerate() {
            let zone = normalized(&record.zone);
            if !self.zones.iter().any(|z| normalized(&z.name) == zone) {
                return Err(invalid(
                    format!("records[{i}].zone"),
                    format!("no zone named `{}`", record.zone),
                ));
            }
            if record.record_type.is_empty() {
                return Err(invalid(format!("records[{i}].type"), "must not be empty"));
            }
            if let Some(alias) = &record.alias {
                validate_alias(self, alias, i)?;
            }
        }
        Ok(())
    }

    pub fn cluster(&self, name: &str) -> Option<&ClusterSpec> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// The external-dns settings of the cluster named `name`.
    pub fn external_dns_settings(&self, name: &str) -> Result<ExternalDnsSettings, WorldError> {
        let (index, cluster) = self
            .clusters
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
            .ok_or_else(|| invalid("clusters", format!("no cluster named `{name}`")))?;
        settings_for(cluster, index)
    }
}

fn check_object_name(list: &str, i: usize, namespace: &str, name: &str) -> Result<(), WorldError> {
    if name.is_empty() || namespace.is_empty() {
        return Err(invalid(
            format!("{list}[{i}].name"),
            "namespace and name must not be empty",
        ));
    }
    Ok(())
}

fn validate_alias(world: &World, alias: &AliasSpec, i: usize) -> Result<(), WorldError> {
    match (&alias.load_balancer, &alias.dns_name, &alias.hosted_zone_id) {
        (Some(lb), None, None) => {
            let known = world
                .clusters
                .iter()
                .flat_map(|c| &c.load_balancers)
                .any(|l| &l.name == lb);
            if known {
                Ok(())
            } else {
                Err(invalid(
                    format!("records[{i}].alias.load_balancer"),
                    format!("no load balancer named `{lb}`"),
                ))
            }
        }
        (None, Some(_), Some(_)) => Ok(()),
        _ => Err(invalid(
            format!("records[{i}].alias"),
            "give either load_balancer, or dns_name and hosted_zone_id",
        )),
    }
}

/// Converts a cluster's `external_dns` table, naming the offending key.
fn settings_for(cluster: &ClusterSpec, index: usize) -> Result<ExternalDnsSettings, WorldError> {
    let key = |field: &str| format!("clusters[{index}].external_dns.{field}");
    let spec = &cluster.external_dns;
    let version: Version = spec
        .version
        .parse()
        .map_err(|e: SettingsError| invalid(key("version"), e.to_string()))?;
    // v0.22 requires `--policy` (docs/reference/external-dns.md §3).
    let policy = match spec.policy {
        Some(policy) => policy,
        None if version.requires_policy() => {
            return Err(invalid(
                key("policy"),
                format!(
                    "external-dns {version} requires a policy (sync, upsert-only or create-only)"
                ),
            ))
        }
        None => Policy::Sync,
    };
    let interval = match spec.interval_seconds {
        None => Duration::from_secs(60),
        Some(secs) => Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                invalid(
                    key("interval_seconds"),
                    "must be a positive number of seconds",
                )
            })?,
    };
    let mut settings =
        ExternalDnsSettings::new(spec.owner_id.as_deref().unwrap_or("default"), version);
    settings.txt_prefix = spec.txt_prefix.clone();
    settings.txt_suffix = spec.txt_suffix.clone();
    settings.txt_wildcard_replacement = spec.txt_wildcard_replacement.clone();
    settings.annotation_prefix = spec.annotation_prefix.clone();
    settings.policy = policy;
    settings.interval = interval;
    settings.evaluate_target_health = spec.evaluate_target_health.unwrap_or(true);
    settings.zone_type = spec.zone_type;
    if let Some(sources) = &spec.sources {
        let mut sources = sources.clone();
        sources.sort();
        sources.dedup();
        settings.sources = sources;
    }
    settings.validate().map_err(|e| {
        let field = match e {
            SettingsError::PrefixAndSuffix => "txt_suffix",
            SettingsError::EmptyOwner => "owner_id",
            SettingsError::ZeroInterval => "interval_seconds",
            SettingsError::AnnotationPrefix(_) => "annotation_prefix",
            SettingsError::Version(_) => "version",
            SettingsError::NoSources => "sources",
        };
        invalid(key(field), e.to_string())
    })?;
    Ok(settings)
}

fn normalized(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_world_parses_with_two_v0_22_clusters() {
        let world = World::from_toml(DEFAULT_WORLD_TOML).expect("default world");
        assert_eq!(world, World::default_world());
        assert_eq!(world.zones.len(), 1);
        let blue = world.external_dns_settings("blue").expect("blue");
        let green = world.external_dns_settings("green").expect("green");
        assert_eq!(
            (blue.owner_id.as_str(), blue.version),
            ("blue", Version::V0_22)
        );
        assert_eq!(
            (green.owner_id.as_str(), green.version),
            ("green", Version::V0_22)
        );
        assert_eq!(blue.policy, Policy::Sync);
        assert_eq!(world.ingresses.len(), 5);
    }

    fn with_cluster(external_dns: &str) -> String {
        format!(
            "[[zones]]\nname = \"example.com\"\n[[clusters]]\nname = \"blue\"\nregion = \"eu-west-1\"\n[clusters.external_dns]\n{external_dns}\n"
        )
    }

    fn error_text(toml: &str) -> String {
        match World::from_toml(toml) {
            Ok(_) => "accepted".to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn v0_22_without_policy_is_refused_naming_the_key() {
        assert_eq!(
            error_text(&with_cluster("version = \"v0.22\"")),
            "clusters[0].external_dns.policy: external-dns v0.22 requires a policy (sync, upsert-only or create-only)"
        );
        let world = World::from_toml(&with_cluster("version = \"v0.18\"")).expect("v0.18");
        let settings = world.external_dns_settings("blue").expect("settings");
        assert_eq!(settings.policy, Policy::Sync);
        assert_eq!(settings.owner_id, "default");
    }

    #[test]
    fn bad_settings_name_their_key() {
        assert_eq!(
            error_text(&with_cluster("version = \"zero\"")),
            "clusters[0].external_dns.version: version: `zero` is not an external-dns version like v0.22"
        );
        assert_eq!(
            error_text(&with_cluster(
                "version = \"v0.18\"\ntxt_prefix = \"a.\"\ntxt_suffix = \"-b\""
            )),
            "clusters[0].external_dns.txt_suffix: txt_prefix and txt_suffix: they are mutually exclusive, set only one"
        );
        assert_eq!(
            error_text(&with_cluster("version = \"v0.18\"\ninterval_seconds = 0")),
            "clusters[0].external_dns.interval_seconds: must be a positive number of seconds"
        );
        let unknown = error_text(&with_cluster("version = \"v0.18\"\nowner = \"x\""));
        assert!(unknown.contains("unknown field `owner`"), "{unknown}");
    }

    #[test]
    fn references_must_resolve() {
        let base = with_cluster("version = \"v0.18\"");
        assert_eq!(
            error_text(&format!(
                "{base}[[ingresses]]\ncluster = \"red\"\nname = \"a\"\n"
            )),
            "ingresses[0].cluster: no cluster named `red`"
        );
        assert_eq!(
            error_text(&format!(
                "{base}[[ingresses]]\ncluster = \"blue\"\nname = \"a\"\nload_balancer = \"nope\"\n"
            )),
            "ingresses[0].load_balancer: cluster `blue` has no load balancer `nope`"
        );
        assert_eq!(
            error_text(&format!(
                "{base}[[records]]\nzone = \"other.org\"\nname = \"x.other.org\"\ntype = \"A\"\n"
            )),
            "records[0].zone: no zone named `other.org`"
        );
        assert_eq!(
            error_text(&format!(
                "{base}[[records]]\nzone = \"example.com\"\nname = \"x.example.com\"\ntype = \"A\"\nalias = {{ load_balancer = \"lb\" }}\n"
            )),
            "records[0].alias.load_balancer: no load balancer named `lb`"
        );
    }

    #[test]
    fn load_balancer_names_are_unique_labels() {
        let text = format!(
            "{}load_balancers = [{{ name = \"Bad_Name\", kind = \"alb\" }}]\n",
            "[[clusters]]\nname = \"blue\"\nregion = \"eu-west-1\"\nexternal_dns = { version = \"v0.18\" }\n"
        );
        assert_eq!(
            error_text(&text),
            "clusters[0].load_balancers[0].name: `Bad_Name` must be a unique DNS label (a-z, 0-9, `-`, at most 63)"
        );
    }

    const SOURCES_WORLD: &str = r#"
[[zones]]
name = "example.com"

[[clusters]]
name = "green"
region = "eu-west-1"
load_balancers = [{ name = "k8s-green-nlb", kind = "nlb" }, { name = "k8s-green-gw", kind = "alb" }]
[clusters.external_dns]
owner_id = "green"
version = "v0.22"
policy = "sync"
sources = ["gateway-httproute", "service", "service"]

[[services]]
cluster = "green"
namespace = "pay"
name = "payments"
annotations = { "external-dns.kubernetes.io/hostname" = "payments.example.com" }
load_balancer = "k8s-green-nlb"

[[gateways]]
cluster = "green"
namespace = "infra"
name = "shared"
load_balancer = "k8s-green-gw"
listeners = [{ name = "http", hostname = "*.example.com", allowed_routes_from = "All" }]

[[httproutes]]
cluster = "green"
namespace = "web"
name = "shop"
hostnames = ["shop.example.com"]
parents = [{ gateway = "shared", namespace = "infra" }]
"#;

    #[test]
    fn services_gateways_and_routes_are_read_with_their_defaults() {
        let world = World::from_toml(SOURCES_WORLD).expect("world");
        let settings = world.external_dns_settings("green").expect("settings");
        assert_eq!(
            settings.sources,
            vec![Source::Service, Source::GatewayHttproute]
        );
        assert_eq!(world.services[0].service_type, LOAD_BALANCER);
        let listener = &world.gateways[0].listeners[0];
        assert_eq!((listener.port, listener.protocol.as_str()), (80, "HTTP"));
        assert!(world.httproutes[0].parents[0].accepted);
        // Without `sources`, the Helm chart's.
        let blue = World::from_toml(&with_cluster("version = \"v0.18\"")).expect("world");
        assert_eq!(
            blue.external_dns_settings("blue")
                .expect("settings")
                .sources,
            vec![Source::Service, Source::Ingress]
        );
    }

    #[test]
    fn bad_sources_and_objects_name_their_key() {
        let cases = [
            (
                SOURCES_WORLD.replace("sources = [\"gateway-httproute\", \"service\", \"service\"]", "sources = []"),
                "clusters[0].external_dns.sources: sources: at least one --source is required",
            ),
            (
                SOURCES_WORLD.replace("load_balancer = \"k8s-green-nlb\"", "load_balancer = \"k8s-red\""),
                "services[0].load_balancer: cluster `green` has no load balancer `k8s-red`",
            ),
            (
                SOURCES_WORLD.replace("namespace = \"pay\"", "namespace = \"pay\"\ntype = \"NodePort\""),
                "services[0].type: `NodePort` is not modelled: `LoadBalancer` or `ClusterIP`",
            ),
            (
                SOURCES_WORLD.replace("allowed_routes_from = \"All\"", "allowed_routes_from = \"Any\""),
                "gateways[0].listeners[0].allowed_routes_from: `Any` is not one of Same, All, Selector",
            ),
            (
                SOURCES_WORLD.replace("{ name = \"http\",", "{ name = \"http\", protocol = \"SCTP\","),
                "gateways[0].listeners[0].protocol: `SCTP` is not one of HTTP, HTTPS, TLS, TCP, UDP",
            ),
            (
                SOURCES_WORLD.replace("{ name = \"http\",", "{ name = \"http\", port = 0,"),
                "gateways[0].listeners[0].port: must be 1–65535",
            ),
            (
                SOURCES_WORLD.replace("gateway = \"shared\", namespace = \"infra\"", "gateway = \"shared\""),
                "httproutes[0].parents[0].gateway: no gateway web/shared in cluster `green`",
            ),
            (
                SOURCES_WORLD.replace("cluster = \"green\"\nnamespace = \"web\"", "cluster = \"red\"\nnamespace = \"web\""),
                "httproutes[0].cluster: no cluster named `red`",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(error_text(&text), expected);
        }
        // Without the Gateway API there are no Gateways, no routes, and nothing to source them.
        let no_gateway_api = SOURCES_WORLD.replace(
            "load_balancers = [{ name = \"k8s-green-nlb\"",
            "gateway_api = false\nload_balancers = [{ name = \"k8s-green-nlb\"",
        );
        assert_eq!(
            error_text(&no_gateway_api),
            "clusters[0].external_dns.sources: gateway-httproute needs the Gateway API, and the cluster has none (gateway_api = false)"
        );
        assert_eq!(
            error_text(&no_gateway_api.replace("\"gateway-httproute\", ", "")),
            "gateways[0].cluster: cluster `green` has no Gateway API (gateway_api = false)"
        );
        let unknown = error_text(&SOURCES_WORLD.replace("sources = [", "sources = [\"crd\", "));
        assert!(unknown.contains("unknown variant `crd`"), "{unknown}");
        let unknown = error_text(&SOURCES_WORLD.replace(
            "hostnames = [\"shop.example.com\"]",
            "hosts = [\"shop.example.com\"]",
        ));
        assert!(unknown.contains("unknown field `hosts`"), "{unknown}");
    }
}
