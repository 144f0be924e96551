//! `cutover.toml`: every key of PRODUCT.md §8, validated in full when the function starts.
//!
//! Parsing happens in two passes: serde reads the raw file (unknown keys refused, the key path of
//! any type error kept), then `validate` checks every cross-field rule and resolves defaults into
//! the types the rest of cutover uses. Every error names the key path and the reason.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::command::Strategy;
use crate::registry::EncryptionKey;
use crate::types::Millis;
use crate::types::{DnsName, Name, OwnerId, Percent, SetIdentifier, TypeError};

/// A configuration error: the key path (`services.payments.to`) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("config is not valid TOML: {0}")]
    Syntax(String),
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

impl ConfigError {
    fn at(path: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// The key path the error is about (`None` for a syntax error).
    pub fn path(&self) -> Option<&str> {
        match self {
            ConfigError::Syntax(_) => None,
            ConfigError::Invalid { path, .. } => Some(path),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Value types of the configuration
// ---------------------------------------------------------------------------------------------

/// A duration written as `"90s"`, `"5m"`, `"1h30m"`, `"500ms"`; kept in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DurationSpec(pub Millis);

impl DurationSpec {
    pub fn millis(self) -> Millis {
        self.0
    }
    pub fn from_secs(s: i64) -> DurationSpec {
        DurationSpec(s.saturating_mul(1000))
    }

    /// Parses one or more `<integer><unit>` parts, units `ms`, `s`, `m`, `h`, `d`.
    pub fn parse(input: &str) -> Result<DurationSpec, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("empty duration (write e.g. \"5m\", \"90s\")".into());
        }
        let mut total: i64 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let digits_len = rest.chars().take_while(|c| c.is_ascii_digit()).count();
            if digits_len == 0 {
                return Err(format!(
                    "bad duration {input:?}: expected a number before the unit (write e.g. \"5m\", \"90s\")"
                ));
            }
            let (num, after) = rest.split_at(digits_len);
            let unit_len = after
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            let (unit, next) = after.split_at(unit_len);
            let n: i64 = num
                .parse()
                .map_err(|_| format!("bad duration {input:?}: number too large"))?;
            let factor: i64 = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "" => {
                    return Err(format!(
                        "bad duration {input:?}: missing unit (ms, s, m, h or d)"
                    ))
                }
                other => {
                    return Err(format!(
                        "bad duration {input:?}: unknown unit {other:?} (ms, s, m, h or d)"
                    ))
                }
            };
            total = n
                .checked_mul(factor)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| format!("bad duration {input:?}: too large"))?;
            rest = next;
        }
        Ok(DurationSpec(total))
    }
}

impl fmt::Display for DurationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms % 3_600_000 == 0 && ms != 0 {
            write!(f, "{}h", ms / 3_600_000)
        } else if ms % 60_000 == 0 && ms != 0 {
            write!(f, "{}m", ms / 60_000)
        } else if ms % 1000 == 0 {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl<'de> Deserialize<'de> for DurationSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DurationSpec::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An external-dns release, `major.minor` (patch ignored): the TXT names it writes and reads
/// and its default annotation prefix depend on it (reference external-dns.md §1, §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ExternalDnsVersion {
    pub major: u32,
    pub minor: u32,
}

impl ExternalDnsVersion {
    pub const V0_22: ExternalDnsVersion = ExternalDnsVersion {
        major: 0,
        minor: 22,
    };

    pub fn new(major: u32, minor: u32) -> ExternalDnsVersion {
        ExternalDnsVersion { major, minor }
    }

    /// `"0.22"`, `"v0.22.0"`, `"0.14.2"`.
    pub fn parse(input: &str) -> Result<ExternalDnsVersion, String> {
        let s = input.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut parts = s.split('.');
        let bad =
            || format!("bad external-dns version {input:?}: write e.g. \"0.22\" or \"v0.14.2\"");
        let major: u32 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let minor: u32 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if let Some(patch) = parts.next() {
            patch.parse::<u32>().map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(ExternalDnsVersion { major, minor })
    }

    /// v0.22 moved the default annotation prefix (reference external-dns.md §2).
    pub fn default_annotation_prefix(self) -> &'static str {
        if self >= Self::V0_22 {
            "external-dns.kubernetes.io/"
        } else {
            "external-dns.alpha.kubernetes.io/"
        }
    }
}

impl fmt::Display for ExternalDnsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
    }
}

impl<'de> Deserialize<'de> for ExternalDnsVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ExternalDnsVersion::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An inclusive HTTP status range written `"200-399"` or `"200"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusRange {
    pub min: u16,
    pub max: u16,
}

impl StatusRange {
    pub fn parse(input: &str) -> Result<StatusRange, String> {
        let bad = || format!("bad status range {input:?}: write e.g. \"200-399\" or \"204\"");
        let (lo, hi) = match input.split_once('-') {
            Some((lo, hi)) => (lo.trim(), hi.trim()),
            None => (input.trim(), input.trim()),
        };
        let min: u16 = lo.parse().map_err(|_| bad())?;
        let max: u16 = hi.parse().map_err(|_| bad())?;
        if !(100..=599).contains(&min) || !(100..=599).contains(&max) {
            return Err(format!("bad status range {input:?}: statuses are 100–599"));
        }
        if min > max {
            return Err(format!(
                "bad status range {input:?}: lower bound above upper bound"
            ));
        }
        Ok(StatusRange { min, max })
    }
    pub fn contains(&self, status: u16) -> bool {
        (self.min..=self.max).contains(&status)
    }
}

impl<'de> Deserialize<'de> for StatusRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        StatusRange::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The scheme of a health probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// An Ingress reference `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct IngressRef {
    pub namespace: String,
    pub name: String,
}

impl IngressRef {
    pub fn parse(input: &str) -> Result<IngressRef, String> {
        let bad = || format!("bad Ingress reference {input:?}: write \"namespace/name\"");
        let (ns, name) = input.split_once('/').ok_or_else(bad)?;
        let ok = |s: &str| {
            (1..=253).contains(&s.len())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        };
        if !ok(ns) || !ok(name) {
            return Err(bad());
        }
        Ok(IngressRef {
            namespace: ns.to_string(),
            name: name.to_string(),
        })
    }
    /// external-dns's `resource` label for it: `ingress/<ns>/<name>` (reference §1).
    pub fn resource_label(&self) -> String {
        format!("ingress/{}/{}", self.namespace, self.name)
    }
}

impl fmt::Display for IngressRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

impl<'de> Deserialize<'de> for IngressRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        IngressRef::parse(&s).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// The raw file (pass 1)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    zones: Vec<RawZone>,
    #[serde(default)]
    clusters: BTreeMap<String, RawCluster>,
    #[serde(default)]
    defaults: RawRollout,
    #[serde(default)]
    services: BTreeMap<String, RawService>,
    lease_owner_id: Option<String>,
    state_record_prefix: Option<String>,
    #[serde(default)]
    sns_topic_arns: Vec<String>,
    rate_limit: Option<f64>,
    cas_retries: Option<u32>,
    probe_concurrency: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    id: String,
    name: String,
    #[serde(default)]
    private: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    eks_name: String,
    region: String,
    owner_id: String,
    external_dns_version: ExternalDnsVersion,
    txt_prefix: Option<String>,
    txt_suffix: Option<String>,
    txt_wildcard_replacement: Option<String>,
    annotation_prefix: Option<String>,
    evaluate_target_health: Option<bool>,
    api_endpoint: Option<String>,
    api_ca_pem: Option<String>,
    connect_to: Option<String>,
    lb_canonical_zone_id: Option<String>,
    txt_encrypt_key_env: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRollout {
    strategy: Option<Strategy>,
    steps: Option<Vec<RawStep>>,
    failure_threshold: Option<u32>,
    verify_window: Option<DurationSpec>,
    propagation_allowance: Option<DurationSpec>,
    health_check: Option<RawHealthCheck>,
    alarms: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    percent: i64,
    bake: DurationSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealthCheck {
    scheme: Option<Scheme>,
    port: Option<u32>,
    path: Option<String>,
    expected_status: Option<StatusRange>,
    timeout: Option<DurationSpec>,
    samples: Option<u32>,
    allowed_failures: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    hostname: String,
    from: String,
    to: String,
    #[serde(default)]
    ingress: BTreeMap<String, IngressRef>,
    #[serde(default)]
    set_identifier: BTreeMap<String, String>,
    #[serde(default)]
    overrides: RawRollout,
}

// ---------------------------------------------------------------------------------------------
// The validated configuration (pass 2)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneConfig {
    /// The bare hosted zone id (`Z123…`), without `/hostedzone/`.
    pub id: String,
    pub name: DnsName,
    pub private: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterConfig {
    pub key: Name,
    pub eks_name: String,
    pub region: String,
    pub owner_id: OwnerId,
    pub external_dns_version: ExternalDnsVersion,
    /// Lower-cased (reference external-dns.md §1: "Prefix and suffix are exclusive and
    /// lower-cased"). Empty when not set.
    pub txt_prefix: String,
    pub txt_suffix: String,
    pub txt_wildcard_replacement: Option<String>,
    /// Ends with `/`; default by version (reference external-dns.md §2).
    pub annotation_prefix: String,
    /// external-dns sets EvaluateTargetHealth true unless annotated (reference §2).
    pub evaluate_target_health: bool,
    pub api_endpoint: Option<String>,
    pub api_ca_pem: Option<String>,
    pub connect_to: Option<SocketAddr>,
    pub lb_canonical_zone_id: Option<String>,
    /// The NAME of the environment variable that holds this cluster's
    /// `--txt-aes-encryption-key` (never the key itself).
    pub txt_encrypt_key_env: Option<String>,
    /// The key read from that variable at config load. Never serialized, never logged
    /// (`EncryptionKey`'s `Debug` is redacted).
    #[serde(skip)]
    pub txt_encrypt_key: Option<EncryptionKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Step {
    pub percent: Percent,
    pub bake: DurationSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    pub scheme: Scheme,
    pub port: u16,
    pub path: String,
    pub expected_status: StatusRange,
    pub timeout: DurationSpec,
    pub samples: u32,
    pub allowed_failures: u32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            scheme: Scheme::Https,
            port: 443,
            path: "/".to_string(),
            expected_status: StatusRange { min: 200, max: 399 },
            timeout: DurationSpec(2_000),
            samples: 5,
            allowed_failures: 1,
        }
    }
}

/// How a service migrates: the `defaults` table merged with the service's `overrides`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollout {
    pub strategy: Strategy,
    pub steps: Vec<Step>,
    pub failure_threshold: u32,
    pub verify_window: DurationSpec,
    pub propagation_allowance: DurationSpec,
    pub health_check: HealthCheck,
    pub alarms: Vec<String>,
}

impl Default for Rollout {
    fn default() -> Self {
        let step = |p: u8, mins: i64| Step {
            percent: Percent::new(p as i64).unwrap_or(Percent::FULL),
            bake: DurationSpec(mins * 60_000),
        };
        Rollout {
            strategy: Strategy::Canary,
            steps: vec![step(10, 5), step(25, 5), step(50, 10), step(100, 10)],
            failure_threshold: 3,
            verify_window: DurationSpec(10 * 60_000),
            propagation_allowance: DurationSpec(30_000),
            health_check: HealthCheck::default(),
            alarms: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceConfig {
    pub name: Name,
    pub hostname: DnsName,
    pub from: Name,
    pub to: Name,
    /// The Ingress per cluster, when configured (otherwise discovered by host).
    pub ingress: BTreeMap<Name, IngressRef>,
    /// The weighted-record identity per cluster, resolved (default `<service>-<cluster>`).
    pub set_identifiers: BTreeMap<Name, SetIdentifier>,
    pub rollout: Rollout,
    /// The most specific zone holding the hostname.
    pub zone_id: String,
}

impl ServiceConfig {
    /// The set identifier of `cluster` for this service: configured, else `<service>-<cluster>`.
    pub fn set_identifier(&self, cluster: &Name) -> Option<SetIdentifier> {
        self.set_identifiers
            .get(cluster)
            .cloned()
            .or_else(|| default_set_identifier(&self.name, cluster).ok())
    }
    pub fn ingress_of(&self, cluster: &Name) -> Option<&IngressRef> {
        self.ingress.get(cluster)
    }
}

fn default_set_identifier(service: &Name, cluster: &Name) -> Result<SetIdentifier, TypeError> {
    SetIdentifier::new(&format!("{service}-{cluster}"))
}

pub const DEFAULT_LEASE_OWNER_ID: &str = "cutover";
pub const DEFAULT_STATE_RECORD_PREFIX: &str = "_cutover.";
pub const DEFAULT_RATE_LIMIT: f64 = 2.0;
pub const DEFAULT_CAS_RETRIES: u32 = 3;
pub const DEFAULT_PROBE_CONCURRENCY: u32 = 8;
/// Route53 accepts 5 requests/second per account, shared with every external-dns
/// (reference route53.md, Limits): cutover's own limit must stay under it.
pub const ROUTE53_ACCOUNT_RATE: f64 = 5.0;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    pub zones: Vec<ZoneConfig>,
    pub clusters: BTreeMap<Name, ClusterConfig>,
    pub defaults: Rollout,
    pub services: BTreeMap<Name, ServiceConfig>,
    pub lease_owner_id: OwnerId,
    pub state_record_prefix: String,
    pub sns_topic_arns: Vec<String>,
    /// Requests per second, all Route53 calls together.
    pub rate_limit: f64,
    pub cas_retries: u32,
    pub probe_concurrency: u32,
}

impl Config {
    /// Parses and validates a whole `cutover.toml`; `txt_encrypt_key_env` variables are read
    /// from the process environment.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse_with_env(text, &|name| std::env::var(name).ok())
    }

    /// `parse`, reading environment variables through `env` (tests pass their own lookup).
    pub fn parse_with_env(text: &str, env: &EnvLookup<'_>) -> Result<Config, ConfigError> {
        let raw = parse_raw(text)?;
        validate(raw, env)
    }

    pub fn services(&self) -> impl Iterator<Item = &ServiceConfig> {
        self.services.values()
    }
    pub fn service(&self, name: &Name) -> Option<&ServiceConfig> {
        self.services.get(name)
    }
    pub fn cluster(&self, key: &Name) -> Option<&ClusterConfig> {
        self.clusters.get(key)
    }
    pub fn clusters(&self) -> impl Iterator<Item = &ClusterConfig> {
        self.clusters.values()
    }
    pub fn zone(&self, id: &str) -> Option<&ZoneConfig> {
        self.zones.iter().find(|z| z.id == id)
    }
    /// The most specific configured zone that holds `name`.
    pub fn zone_for(&self, name: &DnsName) -> Option<&ZoneConfig> {
        self.zones
            .iter()
            .filter(|z| name.is_within(&z.name))
            .max_by_key(|z| z.name.as_str().len())
    }
    /// Every zone external-dns writes `name` into: all matching private zones and the most
    /// specific public zone (reference external-dns.md §5, "Mirror edits").
    pub fn zones_for(&self, name: &DnsName) -> Vec<&ZoneConfig> {
        external_dns_zones(&self.zones, name)
    }
    /// The cluster whose external-dns uses `owner`, if any.
    pub fn cluster_by_owner(&self, owner: &str) -> Option<&ClusterConfig> {
        self.clusters
            .values()
            .find(|c| c.owner_id.as_str() == owner)
    }
    /// The state record's name for a service: `<prefix><hostname>`.
    pub fn state_record_name(&self, svc: &ServiceConfig) -> Option<DnsName> {
        DnsName::parse(&format!("{}{}", self.state_record_prefix, svc.hostname)).ok()
    }
    pub fn sns_topic_accepted(&self, arn: &str) -> bool {
        self.sns_topic_arns.iter().any(|a| a == arn)
    }
    /// Every configured cluster's TXT encryption key (reference external-dns.md §1,
    /// "Encryption": cutover may read encrypted owners).
    pub fn txt_encrypt_keys(&self) -> Vec<EncryptionKey> {
        self.clusters
            .values()
            .filter_map(|c| c.txt_encrypt_key.clone())
            .collect()
    }
}

fn external_dns_zones<'z>(zones: &'z [ZoneConfig], name: &DnsName) -> Vec<&'z ZoneConfig> {
    let mut out: Vec<&ZoneConfig> = zones
        .iter()
        .filter(|z| z.private && name.is_within(&z.name))
        .collect();
    if let Some(public) = zones
        .iter()
        .filter(|z| !z.private && name.is_within(&z.name))
        .max_by_key(|z| z.name.as_str().len())
    {
        out.push(public);
    }
    out
}

/// Looks an environment variable up by name (`None`: not set or not unicode).
pub type EnvLookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

fn parse_raw(text: &str) -> Result<RawConfig, ConfigError> {
    let de = toml::de::Deserializer::parse(text)
        .map_err(|e| ConfigError::Syntax(e.message().to_string()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." {
            "(top level)".to_string()
        } else {
            path
        };
        ConfigError::at(path, e.inner().message().to_string())
    })
}

fn validate(raw: RawConfig, env: &EnvLookup<'_>) -> Result<Config, ConfigError> {
    let zones = validate_zones(&raw.zones)?;
    let lease_owner_id = OwnerId::new(
        raw.lease_owner_id
            .as_deref()
            .unwrap_or(DEFAULT_LEASE_OWNER_ID),
    )
    .map_err(|e| ConfigError::at("lease_owner_id", e.to_string()))?;
    let clusters = validate_clusters(&raw.clusters, &lease_owner_id, env)?;
    let state_record_prefix = validate_state_prefix(raw.state_record_prefix.as_deref())?;
    let defaults = merge_rollout("defaults", &Rollout::default(), &raw.defaults)?;
    let mut services = BTreeMap::new();
    let mut hostnames: BTreeMap<DnsName, Name> = BTreeMap::new();
    for (key, rs) in &raw.services {
        let svc = validate_service(key, rs, &clusters, &zones, &defaults, &state_record_prefix)?;
        if let Some(other) = hostnames.insert(svc.hostname.clone(), svc.name.clone()) {
            return Err(ConfigError::at(
                format!("services.{key}.hostname"),
                format!(
                    "hostname {} is already used by services.{other}",
                    svc.hostname
                ),
            ));
        }
        services.insert(svc.name.clone(), svc);
    }
    let sns_topic_arns = validate_sns_arns(&raw.sns_topic_arns)?;
    let rate_limit = raw.rate_limit.unwrap_or(DEFAULT_RATE_LIMIT);
    if !(rate_limit > 0.0 && rate_limit <= ROUTE53_ACCOUNT_RATE) {
        return Err(ConfigError::at(
            "rate_limit",
            format!(
                "must be above 0 and at most {ROUTE53_ACCOUNT_RATE} requests/second (Route53's per-account limit, shared with external-dns), got {rate_limit}"
            ),
        ));
    }
    let probe_concurrency = raw.probe_concurrency.unwrap_or(DEFAULT_PROBE_CONCURRENCY);
    if probe_concurrency == 0 {
        return Err(ConfigError::at("probe_concurrency", "must be at least 1"));
    }
    Ok(Config {
        zones,
        clusters,
        defaults,
        services,
        lease_owner_id,
        state_record_prefix,
        sns_topic_arns,
        rate_limit,
        cas_retries: raw.cas_retries.unwrap_or(DEFAULT_CAS_RETRIES),
        probe_concurrency,
    })
}

fn validate_zones(raw: &[RawZone]) -> Result<Vec<ZoneConfig>, ConfigError> {
    if raw.is_empty() {
        return Err(ConfigError::at(
            "zones",
            "at least one hosted zone is required",
        ));
    }
    let mut out: Vec<ZoneConfig> = Vec::new();
    for (i, z) in raw.iter().enumerate() {
        let id = z.id.trim().trim_start_matches("/hostedzone/").to_string();
        if id.is_empty() || id.len() > 32 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ConfigError::at(
                format!("zones[{i}].id"),
                format!(
                    "bad hosted zone id {:?}: expected e.g. \"Z0123456789ABC\"",
                    z.id
                ),
            ));
        }
        let name = DnsName::parse(&z.name)
            .map_err(|e| ConfigError::at(format!("zones[{i}].name"), e.to_string()))?;
        if out.iter().any(|o| o.id == id) {
            return Err(ConfigError::at(
                format!("zones[{i}].id"),
                format!("hosted zone id {id} is listed twice"),
            ));
        }
        out.push(ZoneConfig {
            id,
            name,
            private: z.private,
        });
    }
    Ok(out)
}

fn validate_clusters(
    raw: &BTreeMap<String, RawCluster>,
    lease: &OwnerId,
    env: &EnvLookup<'_>,
) -> Result<BTreeMap<Name, ClusterConfig>, ConfigError> {
    let mut out: BTreeMap<Name, ClusterConfig> = BTreeMap::new();
    for (key, rc) in raw {
        let cluster = validate_cluster(key, rc, env)?;
        let p = |field: &str| format!("clusters.{key}.{field}");
        // Same owner id in two clusters: they overwrite and delete each other (reference
        // external-dns.md §3) — refused.
        if let Some(other) = out.values().find(|c| c.owner_id == cluster.owner_id) {
            return Err(ConfigError::at(
                p("owner_id"),
                format!(
                    "owner id {:?} is also used by clusters.{}: two external-dns instances with one owner id delete each other's records",
                    cluster.owner_id.as_str(),
                    other.key
                ),
            ));
        }
        // The lease owner id must be one no external-dns uses, or parking would hand the record
        // to that cluster (PRODUCT.md §2).
        if &cluster.owner_id == lease {
            return Err(ConfigError::at(
                p("owner_id"),
                format!(
                    "owner id {:?} equals lease_owner_id: the lease owner id must be one no external-dns uses",
                    lease.as_str()
                ),
            ));
        }
        out.insert(cluster.key.clone(), cluster);
    }
    Ok(out)
}

fn validate_cluster(
    key: &str,
    rc: &RawCluster,
    env: &EnvLookup<'_>,
) -> Result<ClusterConfig, ConfigError> {
    let p = |field: &str| format!("clusters.{key}.{field}");
    let name =
        Name::new(key).map_err(|e| ConfigError::at(format!("clusters.{key}"), e.to_string()))?;
    if rc.eks_name.trim().is_empty() || rc.eks_name.len() > 100 {
        return Err(ConfigError::at(p("eks_name"), "must be 1–100 characters"));
    }
    if !is_region(&rc.region) {
        return Err(ConfigError::at(
            p("region"),
            format!(
                "bad AWS region {:?}: expected e.g. \"us-east-1\"",
                rc.region
            ),
        ));
    }
    let owner_id =
        OwnerId::new(&rc.owner_id).map_err(|e| ConfigError::at(p("owner_id"), e.to_string()))?;
    let txt_prefix = rc
        .txt_prefix
        .clone()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let txt_suffix = rc
        .txt_suffix
        .clone()
        .unwrap_or_default()
        .to_ascii_lowercase();
    // "Prefix and suffix are exclusive" (reference external-dns.md §1).
    if !txt_prefix.is_empty() && !txt_suffix.is_empty() {
        return Err(ConfigError::at(
            p("txt_suffix"),
            "txt_prefix and txt_suffix are exclusive in external-dns; set one of them",
        ));
    }
    check_affix(&p("txt_prefix"), &txt_prefix)?;
    check_affix(&p("txt_suffix"), &txt_suffix)?;
    let txt_wildcard_replacement = match &rc.txt_wildcard_replacement {
        None => None,
        Some(w) if w.is_empty() => None,
        Some(w) => {
            if w.contains('.') || w.len() > 63 || w.chars().any(|c| c.is_whitespace() || c == '"') {
                return Err(ConfigError::at(
                    p("txt_wildcard_replacement"),
                    "must be one DNS label (no dots, quotes or whitespace)",
                ));
            }
            Some(w.to_ascii_lowercase())
        }
    };
    let annotation_prefix = match &rc.annotation_prefix {
        Some(a) => {
            if !a.ends_with('/') || a.len() < 2 || a.chars().any(|c| c.is_whitespace()) {
                return Err(ConfigError::at(
                    p("annotation_prefix"),
                    format!("bad annotation prefix {a:?}: expected e.g. \"external-dns.kubernetes.io/\""),
                ));
            }
            a.clone()
        }
        None => rc
            .external_dns_version
            .default_annotation_prefix()
            .to_string(),
    };
    let (api_endpoint, api_ca_pem) = validate_api_override(key, rc)?;
    let connect_to = match &rc.connect_to {
        None => None,
        Some(s) => Some(s.parse::<SocketAddr>().map_err(|_| {
            ConfigError::at(
                p("connect_to"),
                format!("bad address {s:?}: expected \"ip:port\", e.g. \"127.0.0.1:8443\""),
            )
        })?),
    };
    let lb_canonical_zone_id = match &rc.lb_canonical_zone_id {
        None => None,
        Some(z)
            if !z.is_empty() && z.len() <= 32 && z.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            Some(z.clone())
        }
        Some(z) => {
            return Err(ConfigError::at(
                p("lb_canonical_zone_id"),
                format!("bad hosted zone id {z:?}"),
            ))
        }
    };
    let txt_encrypt_key = match &rc.txt_encrypt_key_env {
        None => None,
        Some(var) => Some(read_encrypt_key(&p("txt_encrypt_key_env"), var, env)?),
    };
    Ok(ClusterConfig {
        key: name,
        eks_name: rc.eks_name.clone(),
        region: rc.region.clone(),
        owner_id,
        external_dns_version: rc.external_dns_version,
        txt_prefix,
        txt_suffix,
        txt_wildcard_replacement,
        annotation_prefix,
        evaluate_target_health: rc.evaluate_target_health.unwrap_or(true),
        api_endpoint,
        api_ca_pem,
        connect_to,
        lb_canonical_zone_id,
        txt_encrypt_key_env: rc.txt_encrypt_key_env.clone(),
        txt_encrypt_key,
    })
}

/// Reads a cluster's `--txt-aes-encryption-key` from the environment variable `var` (reference
/// external-dns.md §1: "key 32 raw bytes or standard base64"). Errors name the key path and the
/// variable, never the variable's value.
fn read_encrypt_key(
    path: &str,
    var: &str,
    env: &EnvLookup<'_>,
) -> Result<EncryptionKey, ConfigError> {
    let valid_name = var
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(ConfigError::at(
            path,
            // The value is not echoed: it may be a key pasted into the file by mistake.
            "bad environment variable name: expected the NAME of the variable that holds the key (A–Z, a–z, 0–9, '_', not starting with a digit, e.g. \"BLUE_TXT_AES_KEY\"), never the key itself",
        ));
    }
    let value = env(var).ok_or_else(|| {
        ConfigError::at(
            path,
            format!("environment variable {var} is not set (it must hold the cluster's --txt-aes-encryption-key)"),
        )
    })?;
    EncryptionKey::parse(&value).map_err(|e| {
        ConfigError::at(
            path,
            format!("environment variable {var} does not hold a valid key: {e}"),
        )
    })
}

fn validate_api_override(
    key: &str,
    rc: &RawCluster,
) -> Result<(Option<String>, Option<String>), ConfigError> {
    let p = |field: &str| format!("clusters.{key}.{field}");
    match (&rc.api_endpoint, &rc.api_ca_pem) {
        (None, None) => Ok((None, None)),
        (Some(_), None) => Err(ConfigError::at(
            p("api_ca_pem"),
            "required with api_endpoint (the override replaces EKS DescribeCluster, which gives both)",
        )),
        (None, Some(_)) => Err(ConfigError::at(
            p("api_endpoint"),
            "required with api_ca_pem (the override replaces EKS DescribeCluster, which gives both)",
        )),
        (Some(url), Some(ca)) => {
            let parsed = url::Url::parse(url)
                .map_err(|e| ConfigError::at(p("api_endpoint"), format!("bad URL {url:?}: {e}")))?;
            if parsed.scheme() != "https" {
                return Err(ConfigError::at(p("api_endpoint"), format!("must be an https:// URL, got {url:?}")));
            }
            if !ca.contains("-----BEGIN CERTIFICATE-----") {
                return Err(ConfigError::at(
                    p("api_ca_pem"),
                    "must hold a PEM certificate (\"-----BEGIN CERTIFICATE-----\")",
                ));
            }
            Ok((Some(url.clone()), Some(ca.clone())))
        }
    }
}

/// A TXT prefix/suffix is pasted into a DNS name; `%{record_type}` is external-dns's placeholder.
fn check_affix(path: &str, affix: &str) -> Result<(), ConfigError> {
    let plain = affix.replace("%{record_type}", "a");
    let bad = plain
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        || plain.contains("..");
    if bad || affix.len() > 63 {
        return Err(ConfigError::at(
            path,
            format!("bad TXT affix {affix:?}: only a–z, 0–9, '-', '_', '.' and %{{record_type}}"),
        ));
    }
    Ok(())
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

fn validate_state_prefix(raw: Option<&str>) -> Result<String, ConfigError> {
    let prefix = raw
        .unwrap_or(DEFAULT_STATE_RECORD_PREFIX)
        .to_ascii_lowercase();
    let label_part = prefix.strip_suffix('.');
    let ok = match label_part {
        Some(labels) => DnsName::parse(labels).is_ok(),
        None => false,
    };
    if !ok {
        return Err(ConfigError::at(
            "state_record_prefix",
            format!("bad prefix {prefix:?}: must be one or more DNS labels ending with '.', e.g. \"_cutover.\""),
        ));
    }
    Ok(prefix)
}

fn validate_sns_arns(raw: &[String]) -> Result<Vec<String>, ConfigError> {
    for (i, arn) in raw.iter().enumerate() {
        let parts: Vec<&str> = arn.split(':').collect();
        let ok = parts.len() == 6
            && parts.first() == Some(&"arn")
            && parts.get(1).is_some_and(|p| p.starts_with("aws"))
            && parts.get(2) == Some(&"sns")
            && parts.iter().skip(3).all(|p| !p.is_empty());
        if !ok {
            return Err(ConfigError::at(
                format!("sns_topic_arns[{i}]"),
                format!("bad SNS topic ARN {arn:?}: expected \"arn:aws:sns:<region>:<account>:<topic>\""),
            ));
        }
    }
    Ok(raw.to_vec())
}

fn validate_service(
    key: &str,
    rs: &RawService,
    clusters: &BTreeMap<Name, ClusterConfig>,
    zones: &[ZoneConfig],
    defaults: &Rollout,
    state_prefix: &str,
) -> Result<ServiceConfig, ConfigError> {
    let p = |field: &str| format!("services.{key}.{field}");
    let name =
        Name::new(key).map_err(|e| ConfigError::at(format!("services.{key}"), e.to_string()))?;
    let hostname =
        DnsName::parse(&rs.hostname).map_err(|e| ConfigError::at(p("hostname"), e.to_string()))?;
    let zone = zones
        .iter()
        .filter(|z| hostname.is_within(&z.name))
        .max_by_key(|z| z.name.as_str().len())
        .ok_or_else(|| {
            ConfigError::at(
                p("hostname"),
                format!("{hostname} lies outside every configured zone"),
            )
        })?;
    // external-dns writes a name into every matching private zone and the most specific public
    // one (reference external-dns.md §5). cutover changes one zone per service, atomically; until
    // it mirrors edits, a name that external-dns would write into several zones is refused
    // rather than migrated in one of them only.
    let writers = external_dns_zones(zones, &hostname);
    if writers.len() > 1 {
        return Err(ConfigError::at(
            p("hostname"),
            format!(
                "{hostname} is written by external-dns into {} zones ({}); cutover migrates a \
                 name in one zone only, so configure just the zone to migrate",
                writers.len(),
                writers
                    .iter()
                    .map(|z| z.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if DnsName::parse(&format!("{state_prefix}{hostname}")).is_err() {
        return Err(ConfigError::at(
            p("hostname"),
            format!("the state record name {state_prefix}{hostname} is not a valid DNS name"),
        ));
    }
    let known = |field: &str, c: &str| -> Result<Name, ConfigError> {
        let n = Name::new(c).map_err(|e| ConfigError::at(p(field), e.to_string()))?;
        if clusters.contains_key(&n) {
            Ok(n)
        } else {
            Err(ConfigError::at(
                p(field),
                format!("unknown cluster {c:?} (not in [clusters])"),
            ))
        }
    };
    let from = known("from", &rs.from)?;
    let to = known("to", &rs.to)?;
    if from == to {
        return Err(ConfigError::at(
            p("to"),
            format!("from and to are the same cluster {from:?}"),
        ));
    }
    let mut ingress = BTreeMap::new();
    for (c, r) in &rs.ingress {
        let n = known(&format!("ingress.{c}"), c)?;
        ingress.insert(n, r.clone());
    }
    let mut set_identifiers = BTreeMap::new();
    for c in [&from, &to] {
        set_identifiers.insert(
            c.clone(),
            default_set_identifier(&name, c)
                .map_err(|e| ConfigError::at(p("set_identifier"), e.to_string()))?,
        );
    }
    for (c, s) in &rs.set_identifier {
        let field = format!("set_identifier.{c}");
        let n = known(&field, c)?;
        let id = SetIdentifier::new(s).map_err(|e| ConfigError::at(p(&field), e.to_string()))?;
        set_identifiers.insert(n, id);
    }
    if set_identifiers.get(&from) == set_identifiers.get(&to) {
        return Err(ConfigError::at(
            p(&format!("set_identifier.{to}")),
            "from and to need different set identifiers (one weighted record per cluster)",
        ));
    }
    let rollout = merge_rollout(&p("overrides"), defaults, &rs.overrides)?;
    Ok(ServiceConfig {
        name,
        hostname,
        from,
        to,
        ingress,
        set_identifiers,
        rollout,
        zone_id: zone.id.clone(),
    })
}

fn merge_rollout(path: &str, base: &Rollout, raw: &RawRollout) -> Result<Rollout, ConfigError> {
    let p = |field: &str| format!("{path}.{field}");
    let steps = match &raw.steps {
        None => base.steps.clone(),
        Some(steps) => validate_steps(&p("steps"), steps)?,
    };
    let failure_threshold = raw.failure_threshold.unwrap_or(base.failure_threshold);
    if failure_threshold == 0 {
        return Err(ConfigError::at(
            p("failure_threshold"),
            "must be at least 1",
        ));
    }
    let verify_window = raw.verify_window.unwrap_or(base.verify_window);
    let propagation_allowance = raw
        .propagation_allowance
        .unwrap_or(base.propagation_allowance);
    let health_check = merge_health(
        &p("health_check"),
        &base.health_check,
        raw.health_check.as_ref(),
    )?;
    let alarms = raw.alarms.clone().unwrap_or_else(|| base.alarms.clone());
    for (i, a) in alarms.iter().enumerate() {
        if a.trim().is_empty() || a.len() > 255 {
            return Err(ConfigError::at(
                format!("{}[{i}]", p("alarms")),
                "alarm names are 1–255 characters",
            ));
        }
    }
    Ok(Rollout {
        strategy: raw.strategy.unwrap_or(base.strategy),
        steps,
        failure_threshold,
        verify_window,
        propagation_allowance,
        health_check,
        alarms,
    })
}

fn validate_steps(path: &str, raw: &[RawStep]) -> Result<Vec<Step>, ConfigError> {
    if raw.is_empty() {
        return Err(ConfigError::at(
            path,
            "at least one step is required (the last at 100)",
        ));
    }
    let mut out: Vec<Step> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let sp = format!("{path}[{i}].percent");
        let percent = Percent::new(s.percent).map_err(|e| ConfigError::at(&sp, e.to_string()))?;
        if percent == Percent::ZERO {
            return Err(ConfigError::at(
                &sp,
                "a step must move traffic: percent above 0",
            ));
        }
        if let Some(prev) = out.last() {
            if percent <= prev.percent {
                return Err(ConfigError::at(
                    &sp,
                    format!("steps must increase: {} after {}", percent, prev.percent),
                ));
            }
        }
        out.push(Step {
            percent,
            bake: s.bake,
        });
    }
    if out.last().map(|s| s.percent) != Some(Percent::FULL) {
        return Err(ConfigError::at(
            path,
            "the last step must be at 100 percent",
        ));
    }
    Ok(out)
}

fn merge_health(
    path: &str,
    base: &HealthCheck,
    raw: Option<&RawHealthCheck>,
) -> Result<HealthCheck, ConfigError> {
    let Some(raw) = raw else {
        return Ok(base.clone());
    };
    let p = |field: &str| format!("{path}.{field}");
    let port = match raw.port {
        None => base.port,
        Some(v) => u16::try_from(v)
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| ConfigError::at(p("port"), format!("must be 1–65535, got {v}")))?,
    };
    let path_value = raw.path.clone().unwrap_or_else(|| base.path.clone());
    if !path_value.starts_with('/')
        || path_value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ConfigError::at(
            p("path"),
            format!("must start with '/' and hold no whitespace, got {path_value:?}"),
        ));
    }
    let timeout = raw.timeout.unwrap_or(base.timeout);
    if timeout.millis() <= 0 {
        return Err(ConfigError::at(p("timeout"), "must be above 0"));
    }
    let samples = raw.samples.unwrap_or(base.samples);
    if samples == 0 {
        return Err(ConfigError::at(p("samples"), "must be at least 1"));
    }
    let allowed_failures = raw.allowed_failures.unwrap_or(base.allowed_failures);
    if allowed_failures >= samples {
        return Err(ConfigError::at(
            p("allowed_failures"),
            format!("must be below samples ({samples}), or every check would pass"),
        ));
    }
    Ok(HealthCheck {
        scheme: raw.scheme.unwrap_or(base.scheme),
        port,
        path: path_value,
        expected_status: raw.expected_status.unwrap_or(base.expected_status),
        timeout,
        samples,
        allowed_failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const EXAMPLE: &str = r#"
lease_owner_id = "cutover"
sns_topic_arns = ["arn:aws:sns:us-east-1:123456789012:deploys"]

[[zones]]
id = "/hostedzone/Z0EXAMPLE"
name = "example.com"

[clusters.blue]
eks_name = "prod-blue"
region = "us-east-1"
owner_id = "blue"
external_dns_version = "v0.14.2"

[clusters.green]
eks_name = "prod-green"
region = "us-east-1"
owner_id = "green"
external_dns_version = "0.22"
txt_prefix = "TXT."
connect_to = "127.0.0.1:8443"

[defaults]
steps = [{ percent = 10, bake = "5m" }, { percent = 50, bake = "10m" }, { percent = 100, bake = "1h" }]
failure_threshold = 2

[defaults.health_check]
path = "/healthz"
expected_status = "200-299"

[services.payments]
hostname = "Payments.Example.com."
from = "blue"
to = "green"
ingress = { blue = "default/payments", green = "pay/payments" }

[services.payments.overrides]
failure_threshold = 5
"#;

    fn err(text: &str) -> (String, String) {
        match Config::parse(text) {
            Err(ConfigError::Invalid { path, reason }) => (path, reason),
            other => panic!("expected an Invalid error, got {other:?}"),
        }
    }

    #[test]
    fn example_parses_with_defaults_resolved() {
        let c = Config::parse(EXAMPLE).unwrap();
        assert_eq!(c.zones[0].id, "Z0EXAMPLE");
        let blue = c.cluster(&Name::new("blue").unwrap()).unwrap();
        assert_eq!(blue.annotation_prefix, "external-dns.alpha.kubernetes.io/");
        assert!(blue.evaluate_target_health);
        let green = c.cluster(&Name::new("green").unwrap()).unwrap();
        assert_eq!(green.annotation_prefix, "external-dns.kubernetes.io/");
        assert_eq!(green.txt_prefix, "txt.");
        let svc = c.service(&Name::new("payments").unwrap()).unwrap();
        assert_eq!(svc.hostname.as_str(), "payments.example.com");
        assert_eq!(svc.rollout.failure_threshold, 5);
        assert_eq!(svc.rollout.steps.len(), 3);
        assert_eq!(svc.rollout.steps[2].bake, DurationSpec(3_600_000));
        assert_eq!(svc.rollout.health_check.path, "/healthz");
        assert_eq!(svc.rollout.health_check.port, 443);
        assert_eq!(
            svc.set_identifier(&svc.to).unwrap().as_str(),
            "payments-green"
        );
        assert_eq!(c.state_record_prefix, "_cutover.");
        assert_eq!(
            c.state_record_name(svc).unwrap().as_str(),
            "_cutover.payments.example.com"
        );
        assert_eq!(c.rate_limit, 2.0);
        assert_eq!(c.cas_retries, 3);
        assert_eq!(c.zone_for(&svc.hostname).unwrap().id, "Z0EXAMPLE");
    }

    /// EXAMPLE with `txt_encrypt_key_env = "<var>"` on the blue cluster.
    fn with_key_env(var: &str) -> String {
        EXAMPLE.replace(
            "external_dns_version = \"v0.14.2\"",
            &format!("external_dns_version = \"v0.14.2\"\ntxt_encrypt_key_env = \"{var}\""),
        )
    }

    fn env_err(text: &str, env: &EnvLookup<'_>) -> (String, String) {
        match Config::parse_with_env(text, env) {
            Err(ConfigError::Invalid { path, reason }) => (path, reason),
            other => panic!("expected an Invalid error, got {other:?}"),
        }
    }

    #[test]
    fn txt_encrypt_key_is_read_from_the_named_variable() {
        let raw = "0123456789abcdef0123456789abcdef";
        let text = with_key_env("BLUE_TXT_KEY");
        let env = |name: &str| (name == "BLUE_TXT_KEY").then(|| format!("{raw}\n"));
        let c = Config::parse_with_env(&text, &env).unwrap();
        let blue = c.cluster(&Name::new("blue").unwrap()).unwrap();
        assert_eq!(blue.txt_encrypt_key_env.as_deref(), Some("BLUE_TXT_KEY"));
        assert_eq!(
            blue.txt_encrypt_key,
            Some(EncryptionKey::parse(raw).unwrap())
        );
        let green = c.cluster(&Name::new("green").unwrap()).unwrap();
        assert_eq!(green.txt_encrypt_key, None);
        assert_eq!(
            c.txt_encrypt_keys(),
            vec![EncryptionKey::parse(raw).unwrap()]
        );
        // The key never reaches the serialized config nor its Debug form.
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains(raw), "{json}");
        assert!(json.contains("BLUE_TXT_KEY"));
        assert!(!format!("{c:?}").contains(raw));
        // Standard base64 of 32 bytes works as well (reference external-dns.md §1).
        let b64 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let env64 = |name: &str| (name == "BLUE_TXT_KEY").then(|| b64.to_string());
        let c64 = Config::parse_with_env(&text, &env64).unwrap();
        assert_eq!(c64.txt_encrypt_keys(), c.txt_encrypt_keys());
    }

    #[test]
    fn txt_encrypt_key_errors_name_the_key_and_the_variable_never_the_value() {
        let text = with_key_env("BLUE_TXT_KEY");
        let (path, reason) = env_err(&text, &|_| None);
        assert_eq!(path, "clusters.blue.txt_encrypt_key_env");
        assert_eq!(
            reason,
            "environment variable BLUE_TXT_KEY is not set (it must hold the cluster's --txt-aes-encryption-key)"
        );
        let secret = "not-a-key-sekrit";
        let (path, reason) = env_err(&text, &|_| Some(secret.to_string()));
        assert_eq!(path, "clusters.blue.txt_encrypt_key_env");
        assert!(
            reason.starts_with("environment variable BLUE_TXT_KEY does not hold a valid key: TXT encryption key must be 32 raw bytes"),
            "{reason}"
        );
        assert!(!reason.contains(secret), "{reason}");
        // The setting is a variable's name; a key pasted into the file is refused.
        let (path, reason) = env_err(
            &with_key_env("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
            &|_| None,
        );
        assert_eq!(path, "clusters.blue.txt_encrypt_key_env");
        assert!(
            reason.starts_with("bad environment variable name"),
            "{reason}"
        );
        assert!(!reason.contains("MDEy"), "{reason}");
        let (_, reason) = env_err(&with_key_env(""), &|_| None);
        assert!(
            reason.starts_with("bad environment variable name"),
            "{reason}"
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_path() {
        let (path, reason) = err(&EXAMPLE.replace("failure_threshold = 5", "failure_treshold = 5"));
        assert_eq!(path, "services.payments.overrides.failure_treshold");
        assert!(
            reason.contains("unknown field `failure_treshold`"),
            "{reason}"
        );
    }

    #[test]
    fn type_errors_name_the_key() {
        let (path, reason) = err(&EXAMPLE.replace("bake = \"1h\"", "bake = \"1y\""));
        assert_eq!(path, "defaults.steps[2].bake");
        assert!(reason.contains("unknown unit"), "{reason}");
    }

    #[test]
    fn unknown_cluster_and_same_cluster() {
        let (path, reason) = err(&EXAMPLE.replace("to = \"green\"", "to = \"red\""));
        assert_eq!(path, "services.payments.to");
        assert!(reason.contains("unknown cluster \"red\""));
        let (path, reason) = err(&EXAMPLE.replace("to = \"green\"", "to = \"blue\""));
        assert_eq!(path, "services.payments.to");
        assert!(reason.contains("same cluster"));
    }

    #[test]
    fn duplicate_owner_ids_and_lease_collisions_are_refused() {
        let (path, reason) = err(&EXAMPLE.replace("owner_id = \"green\"", "owner_id = \"blue\""));
        assert_eq!(path, "clusters.green.owner_id");
        assert!(reason.contains("also used by clusters.blue"));
        let (path, _) =
            err(&EXAMPLE.replace("lease_owner_id = \"cutover\"", "lease_owner_id = \"green\""));
        assert_eq!(path, "clusters.green.owner_id");
    }

    #[test]
    fn steps_must_increase_and_end_at_100() {
        let (path, reason) = err(&EXAMPLE.replace("percent = 50", "percent = 5"));
        assert_eq!(path, "defaults.steps[1].percent");
        assert!(reason.contains("must increase"));
        let (path, reason) = err(&EXAMPLE.replace("percent = 100", "percent = 90"));
        assert_eq!(path, "defaults.steps");
        assert!(reason.contains("100"));
        let (path, _) = err(&EXAMPLE.replace("percent = 100", "percent = 101"));
        assert_eq!(path, "defaults.steps[2].percent");
    }

    #[test]
    fn hostname_outside_every_zone() {
        let (path, reason) = err(&EXAMPLE.replace("Payments.Example.com.", "payments.example.org"));
        assert_eq!(path, "services.payments.hostname");
        assert!(reason.contains("outside every configured zone"));
    }

    #[test]
    fn a_name_external_dns_writes_into_two_zones_is_refused() {
        let private =
            "[[zones]]\nid = \"ZPRIVATE\"\nname = \"example.com\"\nprivate = true\n\n[[zones]]";
        let (path, reason) = err(&EXAMPLE.replacen("[[zones]]", private, 1));
        assert_eq!(path, "services.payments.hostname");
        assert!(reason.contains("2 zones (ZPRIVATE, Z0EXAMPLE)"), "{reason}");
        // A more specific public zone alone is fine: external-dns writes only that one.
        let sub = "[[zones]]\nid = \"ZSUB\"\nname = \"payments.example.com\"\n\n[[zones]]";
        let c = Config::parse(&EXAMPLE.replacen("[[zones]]", sub, 1)).unwrap();
        assert_eq!(c.services().next().unwrap().zone_id, "ZSUB");
    }

    #[test]
    fn prefix_and_suffix_are_exclusive() {
        let (path, _) = err(&EXAMPLE.replace(
            "txt_prefix = \"TXT.\"",
            "txt_prefix = \"x.\"\ntxt_suffix = \"-y\"",
        ));
        assert_eq!(path, "clusters.green.txt_suffix");
    }

    #[test]
    fn scalar_checks() {
        let (path, _) = err(&format!("rate_limit = 6.0\n{EXAMPLE}"));
        assert_eq!(path, "rate_limit");
        let (path, _) = err(&EXAMPLE.replace(
            "expected_status = \"200-299\"",
            "expected_status = \"299-200\"",
        ));
        assert_eq!(path, "defaults.health_check.expected_status");
        let (path, _) =
            err(&EXAMPLE.replace("path = \"/healthz\"", "samples = 1\nallowed_failures = 1"));
        assert_eq!(path, "defaults.health_check.allowed_failures");
        let (path, _) = err(&EXAMPLE.replace("127.0.0.1:8443", "localhost"));
        assert_eq!(path, "clusters.green.connect_to");
        let (path, _) =
            err(&EXAMPLE.replace("arn:aws:sns:us-east-1:123456789012:deploys", "deploys"));
        assert_eq!(path, "sns_topic_arns[0]");
        let (path, _) = err(&EXAMPLE.replace("default/payments", "payments"));
        assert_eq!(path, "services.payments.ingress.blue");
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(matches!(
            Config::parse("zones = ["),
            Err(ConfigError::Syntax(_))
        ));
    }

    #[test]
    fn durations() {
        assert_eq!(
            DurationSpec::parse("1h30m").unwrap(),
            DurationSpec(5_400_000)
        );
        assert_eq!(DurationSpec::parse("500ms").unwrap(), DurationSpec(500));
        assert!(DurationSpec::parse("5").is_err());
        assert!(DurationSpec::parse("m").is_err());
        assert!(DurationSpec::parse("99999999999999999999s").is_err());
    }

    #[test]
    fn versions() {
        assert_eq!(
            ExternalDnsVersion::parse("v0.14.2").unwrap(),
            ExternalDnsVersion::new(0, 14)
        );
        assert!(ExternalDnsVersion::parse("0").is_err());
        assert!(ExternalDnsVersion::parse("0.x").is_err());
    }
}
