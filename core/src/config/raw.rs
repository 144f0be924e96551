//! Pass 1: the file as serde reads it. Unknown keys are refused and a type error keeps its key
//! path; no cross-field rule is checked yet.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ConfigError, DurationSpec, ObjectRef, Scheme, SourceSelector, StatusRange};
use crate::command::Strategy;
use crate::registry::ExternalDnsVersion;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) zones: Vec<RawZone>,
    #[serde(default)]
    pub(super) clusters: BTreeMap<String, RawCluster>,
    #[serde(default)]
    pub(super) defaults: RawRollout,
    #[serde(default)]
    pub(super) services: BTreeMap<String, RawService>,
    pub(super) lease_owner_id: Option<String>,
    pub(super) state_record_prefix: Option<String>,
    #[serde(default)]
    pub(super) sns_topic_arns: Vec<String>,
    pub(super) rate_limit: Option<f64>,
    pub(super) cas_retries: Option<u32>,
    pub(super) probe_concurrency: Option<u32>,
    pub(super) notification_topic_arn: Option<String>,
    #[serde(default)]
    pub(super) wave: RawWave,
}

/// `[wave]`: the defaults of a wave's limits.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWave {
    pub(super) max_active: Option<u32>,
    pub(super) max_failures: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawZone {
    pub(super) id: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) private: bool,
    pub(super) role_arn: Option<String>,
    pub(super) external_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCluster {
    pub(super) eks_name: String,
    pub(super) region: String,
    pub(super) owner_id: String,
    pub(super) external_dns_version: ExternalDnsVersion,
    pub(super) txt_prefix: Option<String>,
    pub(super) txt_suffix: Option<String>,
    pub(super) txt_wildcard_replacement: Option<String>,
    pub(super) annotation_prefix: Option<String>,
    pub(super) evaluate_target_health: Option<bool>,
    pub(super) api_endpoint: Option<String>,
    pub(super) api_ca_pem: Option<String>,
    pub(super) connect_to: Option<String>,
    pub(super) lb_canonical_zone_id: Option<String>,
    pub(super) nlb_canonical_zone_id: Option<String>,
    pub(super) txt_encrypt_key_env: Option<String>,
    /// external-dns `--source` names, checked in pass 2.
    pub(super) external_dns_sources: Option<Vec<String>>,
    #[serde(default)]
    pub(super) load_balancer_dimensions: BTreeMap<String, String>,
    pub(super) role_arn: Option<String>,
    pub(super) external_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRollout {
    pub(super) strategy: Option<Strategy>,
    pub(super) steps: Option<Vec<RawStep>>,
    pub(super) failure_threshold: Option<u32>,
    pub(super) failure_limit: Option<u32>,
    pub(super) success_threshold: Option<u32>,
    pub(super) verify_window: Option<DurationSpec>,
    pub(super) propagation_allowance: Option<DurationSpec>,
    pub(super) health_check: Option<RawHealthCheck>,
    pub(super) alarms: Option<BTreeMap<String, Vec<String>>>,
    pub(super) metrics: Option<super::traffic::RawMetricRules>,
    pub(super) observed_split: Option<super::traffic::RawSplitGate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    pub(super) percent: i64,
    pub(super) bake: DurationSpec,
    #[serde(default)]
    pub(super) approval: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealthCheck {
    pub(super) scheme: Option<Scheme>,
    pub(super) port: Option<u32>,
    pub(super) path: Option<String>,
    pub(super) expected_status: Option<StatusRange>,
    pub(super) timeout: Option<DurationSpec>,
    pub(super) samples: Option<u32>,
    pub(super) allowed_failures: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) hostname: String,
    pub(super) from: String,
    pub(super) to: String,
    /// The older form of `source`: `{ <cluster> = "namespace/name" }`, an Ingress.
    #[serde(default)]
    pub(super) ingress: BTreeMap<String, ObjectRef>,
    pub(super) source: Option<RawSource>,
    #[serde(default)]
    pub(super) set_identifier: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) overrides: RawRollout,
    #[serde(default)]
    pub(super) labels: BTreeMap<String, String>,
}

/// `source`: one selector for both clusters (`source = "service"`), or one per cluster
/// (`source = { blue = "ingress", green = "httproute/web/payments" }`).
#[derive(Debug)]
pub(super) enum RawSource {
    Everywhere(SourceSelector),
    PerCluster(BTreeMap<String, SourceSelector>),
}

impl<'de> Deserialize<'de> for RawSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RawSourceVisitor;
        impl<'de> serde::de::Visitor<'de> for RawSourceVisitor {
            type Value = RawSource;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a source (\"ingress\", \"service\", \"httproute\", optionally followed by \"/namespace/name\") or a table of them by cluster",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawSource, E> {
                SourceSelector::parse(v)
                    .map(RawSource::Everywhere)
                    .map_err(E::custom)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawSource, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((cluster, selector)) = map.next_entry::<String, SourceSelector>()? {
                    out.insert(cluster, selector);
                }
                Ok(RawSource::PerCluster(out))
            }
        }
        d.deserialize_any(RawSourceVisitor)
    }
}

pub(super) fn parse_raw(text: &str) -> Result<RawConfig, ConfigError> {
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
