//! The flags of one external-dns instance, and what its version implies.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An external-dns release, `v<major>.<minor>` (the patch level changes nothing modelled here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

impl Version {
    pub const V0_13: Version = Version::new(0, 13);
    pub const V0_18: Version = Version::new(0, 18);
    pub const V0_22: Version = Version::new(0, 22);

    pub const fn new(major: u32, minor: u32) -> Self {
        Version { major, minor }
    }

    /// ≤ v0.17 writes the old-format TXT (the record's own name); from v0.18 typed only
    /// (docs/reference/external-dns.md §1 "Which names exist, by version").
    pub fn writes_old_format(self) -> bool {
        self < Version::new(0, 18)
    }

    /// v0.12 introduced typed TXT names.
    pub fn writes_typed(self) -> bool {
        self >= Version::new(0, 12)
    }

    /// An A alias's TXT is `cname-` before v0.22 and `a-` from v0.22
    /// (docs/reference/external-dns.md §1 "Which names exist, by version").
    pub fn a_alias_txt_type(self) -> &'static str {
        if self >= Version::V0_22 {
            "a"
        } else {
            "cname"
        }
    }

    /// AAAA aliases are created for every ELB alias since v0.16 (docs/reference/external-dns.md
    /// §1/§2).
    pub fn creates_aaaa_alias(self) -> bool {
        self >= Version::new(0, 16)
    }

    /// The annotation prefix default: `external-dns.kubernetes.io/` in v0.22, the `alpha` one
    /// before (docs/reference/external-dns.md §2).
    pub fn default_annotation_prefix(self) -> &'static str {
        if self >= Version::V0_22 {
            "external-dns.kubernetes.io/"
        } else {
            "external-dns.alpha.kubernetes.io/"
        }
    }

    /// v0.21 added the route annotation `gateway-hostname-source` (`annotation-only`,
    /// `defined-hosts-only`) to the Gateway route sources.
    pub fn reads_gateway_hostname_source(self) -> bool {
        self >= Version::new(0, 21)
    }

    /// v0.22 requires `--policy` (docs/reference/external-dns.md §3).
    pub fn requires_policy(self) -> bool {
        self >= Version::V0_22
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
    }
}

impl FromStr for Version {
    type Err = SettingsError;

    /// Accepts `v0.22`, `0.22`, `v0.13.6`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || SettingsError::Version(s.to_string());
        let digits = s.trim().strip_prefix('v').unwrap_or(s.trim());
        let mut parts = digits.split('.');
        let major = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let minor = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        if let Some(patch) = parts.next() {
            patch.parse::<u32>().map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Version { major, minor })
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// `--policy` (docs/reference/external-dns.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Creates, updates and deletes.
    Sync,
    /// No deletes.
    UpsertOnly,
    /// Only creates.
    CreateOnly,
}

impl Policy {
    pub fn allows_updates(self) -> bool {
        !matches!(self, Policy::CreateOnly)
    }

    pub fn allows_deletes(self) -> bool {
        matches!(self, Policy::Sync)
    }
}

/// One `--source` of external-dns that the simulator models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Ingress,
    /// Services of type LoadBalancer.
    Service,
    /// Gateway API HTTPRoutes (`--source=gateway-httproute`).
    GatewayHttproute,
}

impl Source {
    /// The sources of external-dns's Helm chart by default: `service` and `ingress`.
    pub const CHART_DEFAULT: [Source; 2] = [Source::Service, Source::Ingress];
}

/// `--aws-zone-type`: which hosted zones the instance writes to (both when unset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ZoneType {
    Public,
    Private,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("version: `{0}` is not an external-dns version like v0.22")]
    Version(String),
    #[error("txt_prefix and txt_suffix: they are mutually exclusive, set only one")]
    PrefixAndSuffix,
    #[error("owner_id: must not be empty")]
    EmptyOwner,
    #[error("interval: must be greater than zero")]
    ZeroInterval,
    #[error("annotation_prefix: `{0}` must end with `/`")]
    AnnotationPrefix(String),
    #[error("sources: at least one --source is required")]
    NoSources,
}

/// The flags of one external-dns instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalDnsSettings {
    /// `--txt-owner-id` (default `default`).
    pub owner_id: String,
    pub version: Version,
    pub txt_prefix: Option<String>,
    pub txt_suffix: Option<String>,
    pub txt_wildcard_replacement: Option<String>,
    /// `--annotation-prefix`; `None` = the version's default.
    pub annotation_prefix: Option<String>,
    pub policy: Policy,
    /// `--interval` (default 1 minute), measured on the simulated clock.
    #[serde(with = "duration_secs")]
    pub interval: Duration,
    /// EvaluateTargetHealth when not annotated (true in external-dns).
    pub evaluate_target_health: bool,
    pub zone_type: Option<ZoneType>,
    /// `--source` flags (the chart's `service` and `ingress` by default).
    pub sources: Vec<Source>,
}

impl ExternalDnsSettings {
    /// The defaults of a given version with an owner id.
    pub fn new(owner_id: &str, version: Version) -> Self {
        ExternalDnsSettings {
            owner_id: owner_id.to_string(),
            version,
            txt_prefix: None,
            txt_suffix: None,
            txt_wildcard_replacement: None,
            annotation_prefix: None,
            policy: Policy::Sync,
            interval: Duration::from_secs(60),
            evaluate_target_health: true,
            zone_type: None,
            sources: Source::CHART_DEFAULT.to_vec(),
        }
    }

    /// Whether `--source=<source>` is set.
    pub fn reads(&self, source: Source) -> bool {
        self.sources.contains(&source)
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.owner_id.is_empty() {
            return Err(SettingsError::EmptyOwner);
        }
        // Prefix and suffix are exclusive (docs/reference/external-dns.md §1 "TXT names").
        if non_empty(&self.txt_prefix) && non_empty(&self.txt_suffix) {
            return Err(SettingsError::PrefixAndSuffix);
        }
        if self.interval.is_zero() {
            return Err(SettingsError::ZeroInterval);
        }
        if let Some(prefix) = &self.annotation_prefix {
            if !prefix.ends_with('/') {
                return Err(SettingsError::AnnotationPrefix(prefix.clone()));
            }
        }
        if self.sources.is_empty() {
            return Err(SettingsError::NoSources);
        }
        Ok(())
    }

    pub fn annotation_prefix(&self) -> &str {
        self.annotation_prefix
            .as_deref()
            .unwrap_or_else(|| self.version.default_annotation_prefix())
    }

    /// The full annotation key, e.g. `external-dns.kubernetes.io/aws-weight`.
    pub fn annotation(&self, key: &str) -> String {
        format!("{}{}", self.annotation_prefix(), key)
    }
}

fn non_empty(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.is_empty())
}

mod duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!("v0.22".parse::<Version>(), Ok(Version::V0_22));
        assert_eq!("0.13.6".parse::<Version>(), Ok(Version::V0_13));
        assert!("v0".parse::<Version>().is_err());
        assert!("vx.y".parse::<Version>().is_err());
        assert!(Version::V0_13 < Version::V0_18 && Version::V0_18 < Version::V0_22);
    }

    #[test]
    fn version_behaviour_follows_the_reference_table() {
        assert!(Version::V0_13.writes_old_format() && Version::V0_13.writes_typed());
        assert!(!Version::V0_18.writes_old_format() && Version::V0_18.writes_typed());
        assert_eq!(Version::V0_13.a_alias_txt_type(), "cname");
        assert_eq!(Version::V0_18.a_alias_txt_type(), "cname");
        assert_eq!(Version::new(0, 21).a_alias_txt_type(), "cname");
        assert_eq!(Version::V0_22.a_alias_txt_type(), "a");
        assert!(!Version::V0_13.creates_aaaa_alias() && Version::V0_18.creates_aaaa_alias());
        assert_eq!(
            Version::V0_22.default_annotation_prefix(),
            "external-dns.kubernetes.io/"
        );
        assert_eq!(
            Version::new(0, 21).default_annotation_prefix(),
            "external-dns.alpha.kubernetes.io/"
        );
    }

    #[test]
    fn prefix_and_suffix_are_exclusive() {
        let mut s = ExternalDnsSettings::new("blue", Version::V0_22);
        s.txt_prefix = Some("txt.".into());
        assert_eq!(s.validate(), Ok(()));
        s.txt_suffix = Some("-%{record_type}".into());
        assert_eq!(s.validate(), Err(SettingsError::PrefixAndSuffix));
    }
}
