//! The keys of health from real traffic (docs/design.md §4): `alarms`, `metrics` and
//! `observed_split` in `defaults`/`overrides`, and each cluster's `load_balancer_dimensions`.
//! Every error names its key.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ClusterConfig, ConfigError, DurationSpec, MetricRules, Rollout, SplitGate};
use crate::text::quoted;
use crate::traffic::{LbKind, LOOKBACK_MS, MINUTE_MS};
use crate::types::Name;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetricRules {
    window: Option<DurationSpec>,
    min_requests: Option<u64>,
    max_error_rate: Option<f64>,
    max_error_ratio: Option<f64>,
    max_p99_latency: Option<DurationSpec>,
    max_p99_ratio: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSplitGate {
    min_fraction: f64,
    max_wait: DurationSpec,
}

/// Defaults of `metrics`: a 5-minute window, 100 requests, 1 % errors.
pub const DEFAULT_METRICS_WINDOW_MS: i64 = 5 * MINUTE_MS;
pub const DEFAULT_MIN_REQUESTS: u64 = 100;
pub const DEFAULT_MAX_ERROR_RATE: f64 = 1.0;

/// CloudWatch alarm names are 1–255 characters (docs/reference/cloudwatch.md "DescribeAlarms").
pub(super) fn validate_alarms(
    path: &str,
    raw: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<Name, Vec<String>>, ConfigError> {
    let mut out = BTreeMap::new();
    for (cluster, names) in raw {
        let key = Name::new(cluster)
            .map_err(|e| ConfigError::at(format!("{path}.{cluster}"), e.to_string()))?;
        for (i, a) in names.iter().enumerate() {
            if a.trim().is_empty() || a.chars().count() > 255 || a.chars().any(char::is_control) {
                return Err(ConfigError::at(
                    format!("{path}.{cluster}[{i}]"),
                    "alarm names are 1–255 characters, without control characters",
                ));
            }
            if names[..i].contains(a) {
                return Err(ConfigError::at(
                    format!("{path}.{cluster}[{i}]"),
                    format!("alarm {a} is listed twice", a = quoted(a)),
                ));
            }
        }
        out.insert(key, names.clone());
    }
    Ok(out)
}

/// Every cluster an alarm list names must be configured.
pub(super) fn check_alarm_clusters(
    path: &str,
    rollout: &Rollout,
    clusters: &BTreeMap<Name, ClusterConfig>,
) -> Result<(), ConfigError> {
    for cluster in rollout.alarms.keys() {
        if !clusters.contains_key(cluster) {
            return Err(ConfigError::at(
                format!("{path}.alarms.{cluster}"),
                format!(
                    "unknown cluster {} (not in [clusters])",
                    quoted(cluster.as_str())
                ),
            ));
        }
    }
    Ok(())
}

pub(super) fn validate_metrics(
    path: &str,
    raw: &RawMetricRules,
) -> Result<MetricRules, ConfigError> {
    let p = |field: &str| format!("{path}.{field}");
    let window = raw
        .window
        .unwrap_or(DurationSpec(DEFAULT_METRICS_WINDOW_MS));
    if window.millis() < MINUTE_MS
        || window.millis() > LOOKBACK_MS
        || window.millis() % MINUTE_MS != 0
    {
        return Err(ConfigError::at(
            p("window"),
            format!(
                "must be whole minutes from 1m to 60m (load-balancer metrics are per minute), got {window}"
            ),
        ));
    }
    let min_requests = raw.min_requests.unwrap_or(DEFAULT_MIN_REQUESTS);
    if min_requests == 0 {
        return Err(ConfigError::at(
            p("min_requests"),
            "must be at least 1: a window without requests proves nothing",
        ));
    }
    let max_error_rate = raw.max_error_rate.unwrap_or(DEFAULT_MAX_ERROR_RATE);
    if !(max_error_rate.is_finite() && (0.0..=100.0).contains(&max_error_rate)) {
        return Err(ConfigError::at(
            p("max_error_rate"),
            format!("must be a percentage from 0 to 100, got {max_error_rate}"),
        ));
    }
    let ratio = |field: &str, v: Option<f64>| -> Result<Option<f64>, ConfigError> {
        match v {
            None => Ok(None),
            Some(r) if r.is_finite() && r >= 1.0 => Ok(Some(r)),
            Some(r) => Err(ConfigError::at(
                p(field),
                format!("must be a factor of at least 1 (× from's value), got {r}"),
            )),
        }
    };
    let max_p99_ms = match raw.max_p99_latency {
        None => None,
        Some(d) if d.millis() > 0 => Some(d.millis() as u64),
        Some(_) => return Err(ConfigError::at(p("max_p99_latency"), "must be above 0")),
    };
    Ok(MetricRules {
        window,
        min_requests,
        max_error_rate_percent: max_error_rate,
        max_error_ratio: ratio("max_error_ratio", raw.max_error_ratio)?,
        max_p99_ms,
        max_p99_ratio: ratio("max_p99_ratio", raw.max_p99_ratio)?,
    })
}

pub(super) fn validate_split(path: &str, raw: &RawSplitGate) -> Result<SplitGate, ConfigError> {
    if !(raw.min_fraction.is_finite() && raw.min_fraction > 0.0 && raw.min_fraction <= 1.0) {
        return Err(ConfigError::at(
            format!("{path}.min_fraction"),
            format!(
                "must be above 0 and at most 1 (a fraction of the weight), got {}",
                raw.min_fraction
            ),
        ));
    }
    if raw.max_wait.millis() < MINUTE_MS || raw.max_wait.millis() > LOOKBACK_MS {
        return Err(ConfigError::at(
            format!("{path}.max_wait"),
            format!(
                "must be from 1m to 60m (the split is measured per minute over at most an hour), got {}",
                raw.max_wait
            ),
        ));
    }
    Ok(SplitGate {
        min_fraction: raw.min_fraction,
        max_wait: raw.max_wait,
    })
}

/// `load_balancer_dimensions`: DNS name → `app/<name>/<id>` or `net/<name>/<id>`
/// (docs/reference/cloudwatch.md "Load balancer metrics").
pub(super) fn validate_dimensions(
    path: &str,
    raw: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for (dns, dimension) in raw {
        let key = dns.trim_end_matches('.').to_ascii_lowercase();
        let dns_ok = !key.is_empty()
            && key.contains('.')
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !dns_ok {
            return Err(ConfigError::at(
                format!("{path}.\"{dns}\""),
                "the key must be a load balancer's DNS name (as in the Ingress status)",
            ));
        }
        if LbKind::of_dimension(dimension).is_none() {
            return Err(ConfigError::at(
                format!("{path}.\"{dns}\""),
                format!(
                    "bad dimension {dimension}: expected the end of the load balancer's ARN, \
                     \"app/<name>/<id>\" (ALB) or \"net/<name>/<id>\" (NLB)",
                    dimension = quoted(dimension)
                ),
            ));
        }
        if out.insert(key, dimension.clone()).is_some() {
            return Err(ConfigError::at(
                format!("{path}.\"{dns}\""),
                "the load balancer is listed twice",
            ));
        }
    }
    Ok(out)
}
