//! The values of the configuration, as the rest of cutover uses them: durations, status ranges,
//! object references and source selectors, and the validated zones, clusters, rollouts and
//! services.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::command::Strategy;
use crate::observation::{SourceKind, SourceObject};
use crate::registry::{EncryptionKey, ExternalDnsVersion, TxtNaming};
use crate::text::quoted;
use crate::types::{DnsName, Millis, Name, OwnerId, Percent, SetIdentifier, TypeError};

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
                    "bad duration {input}: expected a number before the unit (write e.g. \"5m\", \"90s\")", input = quoted(input)
                ));
            }
            let (num, after) = rest.split_at(digits_len);
            let unit_len = after
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            let (unit, next) = after.split_at(unit_len);
            let n: i64 = num.parse().map_err(|_| {
                format!(
                    "bad duration {input}: number too large",
                    input = quoted(input)
                )
            })?;
            let factor: i64 = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "" => {
                    return Err(format!(
                        "bad duration {input}: missing unit (ms, s, m, h or d)",
                        input = quoted(input)
                    ))
                }
                other => {
                    return Err(format!(
                        "bad duration {input}: unknown unit {other} (ms, s, m, h or d)",
                        other = quoted(other),
                        input = quoted(input)
                    ))
                }
            };
            total = n
                .checked_mul(factor)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| format!("bad duration {input}: too large", input = quoted(input)))?;
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

/// An inclusive HTTP status range written `"200-399"` or `"200"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusRange {
    pub min: u16,
    pub max: u16,
}

impl StatusRange {
    pub fn parse(input: &str) -> Result<StatusRange, String> {
        let bad = || {
            format!(
                "bad status range {input}: write e.g. \"200-399\" or \"204\"",
                input = quoted(input)
            )
        };
        let (lo, hi) = match input.split_once('-') {
            Some((lo, hi)) => (lo.trim(), hi.trim()),
            None => (input.trim(), input.trim()),
        };
        let min: u16 = lo.parse().map_err(|_| bad())?;
        let max: u16 = hi.parse().map_err(|_| bad())?;
        if !(100..=599).contains(&min) || !(100..=599).contains(&max) {
            return Err(format!(
                "bad status range {input}: statuses are 100–599",
                input = quoted(input)
            ));
        }
        if min > max {
            return Err(format!(
                "bad status range {input}: lower bound above upper bound",
                input = quoted(input)
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

/// The scheme of a health probe: an HTTP(S) request, or a TCP connect (for a load balancer that
/// passes TCP through, e.g. an NLB in front of a Service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Http,
    Https,
    /// A TCP connect to the load balancer's port; a connection that opens is a good sample.
    Tcp,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Tcp => "tcp",
        }
    }
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https | Scheme::Tcp => 443,
        }
    }
}

/// A reference `namespace/name` to a namespaced Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    pub namespace: String,
    pub name: String,
}

/// The name `ObjectRef` had while Ingresses were the only kind read.
pub type IngressRef = ObjectRef;

impl ObjectRef {
    pub fn parse(input: &str) -> Result<ObjectRef, String> {
        let bad = || {
            format!(
                "bad object reference {input}: write \"namespace/name\"",
                input = quoted(input)
            )
        };
        let (ns, name) = input.split_once('/').ok_or_else(bad)?;
        if !is_object_name(ns) || !is_object_name(name) {
            return Err(bad());
        }
        Ok(ObjectRef {
            namespace: ns.to_string(),
            name: name.to_string(),
        })
    }
}

/// A Kubernetes object name or namespace: 1–253 of a–z, 0–9, `-`, `.`.
fn is_object_name(s: &str) -> bool {
    (1..=253).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

impl<'de> Deserialize<'de> for ObjectRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ObjectRef::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Which object serves a service in one cluster: a kind (`"httproute"`: the one object of that
/// kind that claims the host), optionally pinned to one object (`"httproute/web/payments"`,
/// written as external-dns's `resource` label writes it — docs/reference/external-dns.md §1
/// "Value").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceSelector {
    pub kind: SourceKind,
    pub object: Option<ObjectRef>,
}

impl SourceSelector {
    /// `ingress`, `service`, `httproute`, or one of them followed by `/<namespace>/<name>`.
    pub fn parse(input: &str) -> Result<SourceSelector, String> {
        let kinds = SourceKind::ALL
            .iter()
            .map(|k| format!("\"{}\"", k.label()))
            .collect::<Vec<_>>()
            .join(", ");
        let (kind_text, rest) = match input.split_once('/') {
            Some((kind, rest)) => (kind, Some(rest)),
            None => (input, None),
        };
        let kind = SourceKind::from_label(kind_text).ok_or_else(|| {
            format!(
                "bad source {input}: the kind must be one of {kinds}, optionally followed by \"/namespace/name\" (e.g. \"httproute/web/payments\")", input = quoted(input)
            )
        })?;
        let object = match rest {
            None => None,
            Some(reference) => Some(ObjectRef::parse(reference).map_err(|_| {
                format!(
                    "bad source {}: write \"{}\" or \"{}/namespace/name\"",
                    quoted(input),
                    kind.label(),
                    kind.label()
                )
            })?),
        };
        Ok(SourceSelector { kind, object })
    }

    /// Whether `obj` is of the selected kind and, when pinned, the pinned object.
    pub fn selects(&self, obj: &SourceObject) -> bool {
        obj.kind == self.kind
            && self
                .object
                .as_ref()
                .is_none_or(|r| r.namespace == obj.namespace && r.name == obj.name)
    }
}

impl fmt::Display for SourceSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.object {
            Some(r) => write!(f, "{}/{r}", self.kind.label()),
            None => f.write_str(self.kind.label()),
        }
    }
}

impl<'de> Deserialize<'de> for SourceSelector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SourceSelector::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneConfig {
    /// The bare hosted zone id (`Z123…`), without `/hostedzone/`.
    pub id: String,
    pub name: DnsName,
    pub private: bool,
    /// The role to assume for this zone's Route53 calls (a zone in another account); none: the
    /// function's own credentials.
    pub role: Option<AssumeRole>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterConfig {
    pub key: Name,
    /// The role to assume for this cluster's EKS calls and Kubernetes token (a cluster in another
    /// account); none: the function's own credentials.
    pub role: Option<AssumeRole>,
    pub eks_name: String,
    pub region: String,
    pub owner_id: OwnerId,
    pub external_dns_version: ExternalDnsVersion,
    /// Lower-cased (docs/reference/external-dns.md §1 "TXT names": "Prefix and suffix are exclusive
    /// and lower-cased"). Empty when not set.
    pub txt_prefix: String,
    pub txt_suffix: String,
    pub txt_wildcard_replacement: Option<String>,
    /// Ends with `/`; default by version (docs/reference/external-dns.md §2).
    pub annotation_prefix: String,
    /// external-dns sets EvaluateTargetHealth true unless annotated (docs/reference/external-dns.md
    /// §2).
    pub evaluate_target_health: bool,
    pub api_endpoint: Option<String>,
    pub api_ca_pem: Option<String>,
    pub connect_to: Option<SocketAddr>,
    /// HostedZoneId of this cluster's ALB and Classic load balancers (and of any target that is
    /// not an ELB host name) for aliases; none: the table.
    pub lb_canonical_zone_id: Option<String>,
    /// HostedZoneId of this cluster's NLBs (`…elb.<region>.amazonaws.com`); none: the table.
    pub nlb_canonical_zone_id: Option<String>,
    /// The NAME of the environment variable that holds this cluster's
    /// `--txt-aes-encryption-key` (never the key itself).
    pub txt_encrypt_key_env: Option<String>,
    /// The key read from that variable at config load. Never serialized, never logged
    /// (`EncryptionKey`'s `Debug` is redacted).
    #[serde(skip)]
    pub txt_encrypt_key: Option<EncryptionKey>,
    /// The kinds this cluster's external-dns reads (its `--source` flags) among those cutover
    /// follows; sorted, at least one. Objects of other kinds publish nothing, so they never claim
    /// a host.
    pub external_dns_sources: Vec<SourceKind>,
    /// Load-balancer DNS name (lower case, no trailing dot) → its CloudWatch `LoadBalancer`
    /// dimension (`app/<name>/<id>`, `net/<name>/<id>`), for the metrics of real traffic
    /// (docs/reference/cloudwatch.md "Load balancer metrics").
    pub load_balancer_dimensions: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Step {
    pub percent: Percent,
    pub bake: DurationSpec,
    /// The step waits for an operator's `approve` before it advances (docs/design.md §3.1 step
    /// 2d).
    pub approval: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    pub scheme: Scheme,
    /// The load balancer's port; `None`: the scheme's (80 or 443).
    pub port: Option<u16>,
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
            port: None,
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
    /// Bad checks of `to` in a row that roll back (docs/design.md §3.1 step 3).
    pub failure_threshold: u32,
    /// Bad checks of `to` over one step that roll back, in a row or not: a flapping side is
    /// rolled back (docs/design.md §3.1 step 3).
    pub failure_limit: u32,
    /// Good checks in a row a step needs, besides its bake time, before it advances
    /// (docs/design.md §3.1 step 2c).
    pub success_threshold: u32,
    pub verify_window: DurationSpec,
    pub propagation_allowance: DurationSpec,
    pub health_check: HealthCheck,
    /// CloudWatch alarm names per cluster: one in ALARM makes that side bad (docs/design.md §4).
    pub alarms: BTreeMap<Name, Vec<String>>,
    /// Rules for the load balancers' metrics of real traffic; `None`: not judged.
    pub metrics: Option<MetricRules>,
    /// The optional gate on the observed split; `None`: reported only.
    pub observed_split: Option<SplitGate>,
}

/// The rules that judge a side's load-balancer metrics (docs/design.md §4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRules {
    /// The window judged, ending at the last complete minute; whole minutes, 1–60.
    pub window: DurationSpec,
    /// Fewer requests than this in the window: inconclusive.
    pub min_requests: u64,
    /// Errors (5xx of targets and of the load balancer) over requests, in percent.
    pub max_error_rate_percent: f64,
    /// `to`'s error rate at most this many times `from`'s.
    pub max_error_ratio: Option<f64>,
    /// p99 of `TargetResponseTime`, in ms (ALB only).
    pub max_p99_ms: Option<u64>,
    /// `to`'s p99 at most this many times `from`'s.
    pub max_p99_ratio: Option<f64>,
}

/// The gate on the observed split (docs/design.md §4): a step's bake counts only
/// once `to`'s observed share reached `min_fraction` × its weight; after `max_wait` from INSYNC it
/// alerts and counts anyway.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitGate {
    pub min_fraction: f64,
    pub max_wait: DurationSpec,
}

impl Eq for MetricRules {}
impl Eq for SplitGate {}

impl Default for Rollout {
    fn default() -> Self {
        let step = |p: u8, mins: i64| Step {
            percent: Percent::new(p as i64).unwrap_or(Percent::FULL),
            bake: DurationSpec(mins * 60_000),
            approval: false,
        };
        Rollout {
            strategy: Strategy::Canary,
            steps: vec![step(10, 5), step(25, 5), step(50, 10), step(100, 10)],
            failure_threshold: 3,
            failure_limit: 5,
            success_threshold: 2,
            verify_window: DurationSpec(10 * 60_000),
            propagation_allowance: DurationSpec(30_000),
            health_check: HealthCheck::default(),
            alarms: BTreeMap::new(),
            metrics: None,
            observed_split: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceConfig {
    pub name: Name,
    pub hostname: DnsName,
    pub from: Name,
    pub to: Name,
    /// The source per cluster, when configured (`source`, or the older `ingress` pin);
    /// otherwise the one object of any kind the cluster's external-dns reads that claims the host.
    pub source: BTreeMap<Name, SourceSelector>,
    /// The weighted-record identity per cluster, resolved (default `<service>-<cluster>`).
    pub set_identifiers: BTreeMap<Name, SetIdentifier>,
    pub rollout: Rollout,
    /// The most specific zone holding the hostname.
    pub zone_id: String,
    /// Every zone external-dns writes the hostname into, in the order cutover sends their
    /// batches: private zones first, the public one last (docs/design.md §8.1). One zone for most
    /// names; several for a split-horizon name.
    pub zone_ids: Vec<String>,
    /// Labels a wave can select the service by (`services.<name>.labels`).
    pub labels: BTreeMap<String, String>,
}

impl ClusterConfig {
    /// The TXT naming of this cluster's external-dns (version, affixes, wildcard replacement).
    pub fn txt_naming(&self) -> TxtNaming {
        TxtNaming {
            version: self.external_dns_version,
            prefix: self.txt_prefix.clone(),
            suffix: self.txt_suffix.clone(),
            wildcard_replacement: self.txt_wildcard_replacement.clone(),
        }
    }
}

impl ServiceConfig {
    /// The set identifier of `cluster` for this service: configured, else `<service>-<cluster>`.
    pub fn set_identifier(&self, cluster: &Name) -> Option<SetIdentifier> {
        self.set_identifiers
            .get(cluster)
            .cloned()
            .or_else(|| default_set_identifier(&self.name, cluster).ok())
    }
    /// The configured source of the service in `cluster`, if any.
    pub fn source_of(&self, cluster: &Name) -> Option<&SourceSelector> {
        self.source.get(cluster)
    }

    /// The kinds whose objects can serve the service in `cluster`: the configured kind, else every
    /// kind the cluster's external-dns reads (docs/design.md §2).
    pub fn source_kinds(&self, cluster: &ClusterConfig) -> Vec<SourceKind> {
        match self.source_of(&cluster.key) {
            Some(selector) => vec![selector.kind],
            None => cluster.external_dns_sources.clone(),
        }
    }

    /// Whether `obj`, an object of `cluster`, claims the service's hostname and may serve it: of
    /// the configured kind (else one the cluster's external-dns reads) and, when the source is
    /// pinned, the pinned object — so another tenant's object that claims the host never decides
    /// this service.
    pub fn claimed_by(&self, cluster: &ClusterConfig, obj: &SourceObject) -> bool {
        obj.hosts.contains(&self.hostname)
            && match self.source_of(&cluster.key) {
                Some(selector) => selector.selects(obj),
                None => cluster.external_dns_sources.contains(&obj.kind),
            }
    }
}

pub(super) fn default_set_identifier(
    service: &Name,
    cluster: &Name,
) -> Result<SetIdentifier, TypeError> {
    SetIdentifier::new(&format!("{service}-{cluster}"))
}

pub const DEFAULT_LEASE_OWNER_ID: &str = "cutover";
pub const DEFAULT_STATE_RECORD_PREFIX: &str = "_cutover.";
pub const DEFAULT_RATE_LIMIT: f64 = 2.0;
pub const DEFAULT_CAS_RETRIES: u32 = 3;
pub const DEFAULT_PROBE_CONCURRENCY: u32 = 8;
/// Route53 accepts 5 requests/second per account, shared with every external-dns
/// (docs/reference/route53.md "Limits"): cutover's own limit must stay under it.
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
    /// The SNS topic every decision that changes or blocks traffic is published to.
    pub notification_topic_arn: Option<String>,
    /// A wave's limits when its start names none (`[wave]`).
    pub wave: WaveDefaults,
}

/// `[wave]`: how many canaries of a wave run at once, and after how many of its rollbacks it
/// stops starting services (docs/design.md §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WaveDefaults {
    pub max_active: u32,
    pub max_failures: u32,
}

pub const DEFAULT_WAVE_MAX_ACTIVE: u32 = 5;
pub const DEFAULT_WAVE_MAX_FAILURES: u32 = 1;
/// The most canaries a wave runs at once: a tick handles 1,000 active services
/// (docs/design.md §10).
pub const MAX_WAVE_ACTIVE: u32 = 1_000;

impl Default for WaveDefaults {
    fn default() -> Self {
        WaveDefaults {
            max_active: DEFAULT_WAVE_MAX_ACTIVE,
            max_failures: DEFAULT_WAVE_MAX_FAILURES,
        }
    }
}

/// Checks a wave's limits, naming `path.max_active` / `path.max_failures` when one is bad.
pub fn check_wave_limits(
    path: &str,
    max_active: u32,
    max_failures: u32,
) -> Result<(), ConfigError> {
    if !(1..=MAX_WAVE_ACTIVE).contains(&max_active) {
        return Err(ConfigError::at(
            format!("{path}max_active"),
            format!("must be 1–{MAX_WAVE_ACTIVE}, got {max_active}"),
        ));
    }
    if max_failures == 0 {
        return Err(ConfigError::at(
            format!("{path}max_failures"),
            "must be at least 1 (the wave stops after this many of its services rolled back)",
        ));
    }
    Ok(())
}

impl Config {
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
    /// specific public zone (docs/reference/external-dns.md §5 "Mirror edits").
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
    /// The CloudWatch dimension of a load balancer of `cluster`, by its DNS name.
    pub fn load_balancer_dimension(&self, cluster: &Name, dns_name: &str) -> Option<&str> {
        let key = dns_name.trim_end_matches('.').to_ascii_lowercase();
        self.cluster(cluster)?
            .load_balancer_dimensions
            .get(&key)
            .map(String::as_str)
    }
    pub fn sns_topic_accepted(&self, arn: &str) -> bool {
        self.sns_topic_arns.iter().any(|a| a == arn)
    }
    /// Every configured cluster's TXT encryption key (docs/reference/external-dns.md §1
    /// "Encryption": cutover may read encrypted owners).
    pub fn txt_encrypt_keys(&self) -> Vec<EncryptionKey> {
        self.clusters
            .values()
            .filter_map(|c| c.txt_encrypt_key.clone())
            .collect()
    }
}

/// cutover's own records in a zone, with what each is: the change record
/// (`crate::changes`) and the waves record (`crate::wave`).
pub fn zone_record_names(state_prefix: &str, zone: &DnsName) -> Vec<(DnsName, &'static str)> {
    [
        (
            crate::changes::record_name(state_prefix, zone),
            "change record",
        ),
        (crate::wave::record_name(state_prefix, zone), "waves record"),
    ]
    .into_iter()
    .filter_map(|(name, what)| Some((name?, what)))
    .collect()
}

pub(super) fn external_dns_zones<'z>(
    zones: &'z [ZoneConfig],
    name: &DnsName,
) -> Vec<&'z ZoneConfig> {
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

/// The session name cutover gives every assumed role (CloudTrail shows it).
pub const ROLE_SESSION_NAME: &str = "cutover";

/// A role to assume through STS `AssumeRole`: a validated IAM role ARN and an optional external
/// id. Plain values: the credentials themselves never reach the config.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AssumeRole {
    /// `arn:<partition>:iam::<12-digit account>:role/<path/name>`.
    pub arn: String,
    /// Sent as `ExternalId` when set (the role's trust policy may require it).
    pub external_id: Option<String>,
}

impl AssumeRole {
    /// Checks the ARN's form and the external id's (2–1224 characters of `[\w+=,.@:/-]`, as STS
    /// accepts them). The reason names what is wrong, never the external id's value.
    pub fn new(arn: &str, external_id: Option<&str>) -> Result<AssumeRole, AssumeRoleError> {
        parse_role_arn(arn)?;
        if let Some(id) = external_id {
            let ok_char = |c: char| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c);
            if !(2..=1224).contains(&id.chars().count()) || !id.chars().all(ok_char) {
                return Err(AssumeRoleError::ExternalId);
            }
        }
        Ok(AssumeRole {
            arn: arn.to_string(),
            external_id: external_id.map(str::to_string),
        })
    }

    /// The 12-digit account the role lives in.
    pub fn account(&self) -> &str {
        parse_role_arn(&self.arn).map_or("", |(account, _)| account)
    }
}

/// Why a role ARN or external id is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssumeRoleError {
    #[error("bad role ARN {0}: expected \"arn:aws:iam::<12-digit account id>:role/<name>\"")]
    Arn(String),
    #[error("bad external id: expected 2 to 1224 characters among letters, digits and _+=,.@:/-")]
    ExternalId,
}

/// `(account, role path and name)` of a role ARN.
fn parse_role_arn(arn: &str) -> Result<(&str, &str), AssumeRoleError> {
    let bad = || AssumeRoleError::Arn(crate::text::quoted(arn).to_string());
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad());
    };
    let partition_ok = matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        || (partition.starts_with("aws-") && partition.len() <= 20);
    let account_ok = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return Err(bad());
    };
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    let path_ok = path_and_name.len() <= 512
        && path_and_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
        && !path_and_name.contains("//");
    if partition_ok && account_ok && name_ok && path_ok {
        Ok((account, path_and_name))
    } else {
        Err(bad())
    }
}
