//! The world file (TOML): hosted zones, clusters with their external-dns flags and load balancers,
//! Ingresses, and records present before anything runs. Errors name the key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::external_dns::{ExternalDnsSettings, Policy, SettingsError, Version, ZoneType};

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
    #[serde(default)]
    pub zones: Vec<ZoneSpec>,
    #[serde(default)]
    pub clusters: Vec<ClusterSpec>,
    #[serde(default)]
    pub ingresses: Vec<IngressSpec>,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// The EKS cluster name.
    pub name: String,
    pub region: String,
    pub external_dns: ExternalDnsSpec,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancerSpec>,
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
            zones: Vec::new(),
            clusters: Vec::new(),
            ingresses: Vec::new(),
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
        self.validate_zones()?;
        self.validate_clusters()?;
        self.validate_ingresses()?;
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

    fn validate_zones(&self) -> Result<(), WorldError> {
        let mut seen = BTreeSet::new();
        for (i, zone) in self.zones.iter().enumerate() {
            let name = normalized(&zone.name);
            if name.is_empty() {
                return Err(invalid(format!("zones[{i}].name"), "must not be empty"));
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
            settings_for(cluster, i)?;
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
    settings.validate().map_err(|e| {
        let field = match e {
            SettingsError::PrefixAndSuffix => "txt_suffix",
            SettingsError::EmptyOwner => "owner_id",
            SettingsError::ZeroInterval => "interval_seconds",
            SettingsError::AnnotationPrefix(_) => "annotation_prefix",
            SettingsError::Version(_) => "version",
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
}
