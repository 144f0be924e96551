//! What the engine observes of the world, as the planner reads it: the objects of a cluster that
//! external-dns reads as sources (Ingresses, Services of type LoadBalancer, HTTPRoutes) and the
//! health verdict of a cluster. The adapters (Kubernetes, HTTP and TCP probes) convert into these.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::types::DnsName;

/// A kind of Kubernetes object that external-dns reads as a source and that can serve a service
/// (docs/design.md §2; docs/reference/external-dns.md §6 "Sources other than Ingress, and version
/// changes").
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// `networking.k8s.io/v1` Ingress.
    #[default]
    Ingress,
    /// `v1` Service of type LoadBalancer.
    Service,
    /// `gateway.networking.k8s.io/v1` HTTPRoute, with the Gateways it attaches to.
    #[serde(rename = "httproute")]
    HttpRoute,
}

impl SourceKind {
    pub const ALL: [SourceKind; 3] = [
        SourceKind::Ingress,
        SourceKind::Service,
        SourceKind::HttpRoute,
    ];

    /// The kind as external-dns's `resource` label writes it: `ingress`, `service`, `httproute`
    /// (docs/reference/external-dns.md §1 "Value").
    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Ingress => "ingress",
            SourceKind::Service => "service",
            SourceKind::HttpRoute => "httproute",
        }
    }

    /// The Kubernetes kind: `Ingress`, `Service`, `HTTPRoute`.
    pub fn kind_name(self) -> &'static str {
        match self {
            SourceKind::Ingress => "Ingress",
            SourceKind::Service => "Service",
            SourceKind::HttpRoute => "HTTPRoute",
        }
    }

    /// external-dns's `--source` name for the kind: `ingress`, `service`, `gateway-httproute`.
    pub fn external_dns_source(self) -> &'static str {
        match self {
            SourceKind::Ingress => "ingress",
            SourceKind::Service => "service",
            SourceKind::HttpRoute => "gateway-httproute",
        }
    }

    /// The kind named by its `resource` label kind (`label`).
    pub fn from_label(label: &str) -> Option<SourceKind> {
        SourceKind::ALL.into_iter().find(|k| k.label() == label)
    }

    /// The kind named by external-dns's `--source` name (`external_dns_source`).
    pub fn from_external_dns_source(name: &str) -> Option<SourceKind> {
        SourceKind::ALL
            .into_iter()
            .find(|k| k.external_dns_source() == name)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind_name())
    }
}

/// What cutover needs to know of one object that external-dns reads as a source: an Ingress, a
/// Service of type LoadBalancer or an HTTPRoute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceObject {
    #[serde(default)]
    pub kind: SourceKind,
    pub namespace: String,
    pub name: String,
    /// The hosts external-dns publishes for the object, normalised: an Ingress's
    /// `spec.rules[].host`, `spec.tls[].hosts` and `hostname` annotation; a Service's `hostname`
    /// annotation; an HTTPRoute's `spec.hostnames` and `hostname` annotation as its Gateways'
    /// listeners admit them.
    pub hosts: Vec<DnsName>,
    /// The object's own annotations. For an HTTPRoute these are the route's: the routing
    /// annotations (`set-identifier`, `aws-weight`, …) are read from the route, never from its
    /// Gateway (docs/reference/external-dns.md §6 "Gateway API routes").
    pub annotations: BTreeMap<String, String>,
    /// Where external-dns points the records (empty: no load balancer yet): an Ingress's
    /// `status.loadBalancer.ingress[]`; a Service's `target` annotation, else `spec.externalIPs`,
    /// else `status.loadBalancer.ingress[]`; an HTTPRoute's Gateway `target` annotation, else the
    /// Gateway's `status.addresses[]`.
    pub load_balancer_hostnames: Vec<String>,
}

/// The name `SourceObject` had while Ingresses were the only kind read.
pub type IngressInfo = SourceObject;

impl SourceObject {
    /// external-dns's `resource` label for the object: `<kind>/<namespace>/<name>`
    /// (docs/reference/external-dns.md §1 "Value").
    pub fn resource_label(&self) -> String {
        format!("{}/{}/{}", self.kind.label(), self.namespace, self.name)
    }

    /// `Ingress default/payments`, for messages.
    pub fn describe(&self) -> String {
        format!("{} {}/{}", self.kind.kind_name(), self.namespace, self.name)
    }
}

/// The verdict of one check of one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Good,
    Bad,
    /// The probe could not run for a reason on cutover's side: hold, never advance, never count
    /// as a failure.
    Inconclusive,
}

impl Verdict {
    /// Its name as the report and the state record write it.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Good => "good",
            Verdict::Bad => "bad",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One probe request and what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub ok: bool,
}

/// The verdict for one cluster with the samples and numbers behind it. A report writes the
/// samples as their [`SampleSummary`]: a fleet's report stays compact however many samples a
/// check takes (docs/design.md §10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterHealth {
    pub verdict: Verdict,
    pub reason: String,
    #[serde(serialize_with = "serialize_summary")]
    pub samples: Vec<Sample>,
}

/// What a check's samples came to, as a report shows them: how many were taken and failed, the
/// status codes seen, the latency range and the first failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SampleSummary {
    pub count: usize,
    pub failed: usize,
    /// Status code → samples that answered it (TCP samples have none).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub statuses: BTreeMap<u16, usize>,
    /// Absent when no sample was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<LatencySummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<Sample>,
}

/// Latencies of a check's samples in milliseconds; `median` is the lower middle one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LatencySummary {
    pub min: u64,
    pub median: u64,
    pub max: u64,
}

impl SampleSummary {
    pub fn of(samples: &[Sample]) -> SampleSummary {
        let mut statuses = BTreeMap::new();
        for status in samples.iter().filter_map(|s| s.status) {
            *statuses.entry(status).or_insert(0) += 1;
        }
        let mut latencies: Vec<u64> = samples.iter().map(|s| s.latency_ms).collect();
        latencies.sort_unstable();
        let latency_ms = match (latencies.first(), latencies.last()) {
            (Some(&min), Some(&max)) => Some(LatencySummary {
                min,
                median: latencies
                    .get((latencies.len() - 1) / 2)
                    .copied()
                    .unwrap_or(min),
                max,
            }),
            _ => None,
        };
        SampleSummary {
            count: samples.len(),
            failed: samples.iter().filter(|s| !s.ok).count(),
            statuses,
            latency_ms,
            first_failure: samples.iter().find(|s| !s.ok).cloned(),
        }
    }
}

fn serialize_summary<S: serde::Serializer>(
    samples: &[Sample],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    SampleSummary::of(samples).serialize(serializer)
}

/// An observation that may have failed (the reason is reported).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Observed<T> {
    Known(T),
    Unavailable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(status: Option<u16>, latency_ms: u64, error: Option<&str>) -> Sample {
        Sample {
            status,
            latency_ms,
            error: error.map(str::to_string),
            ok: error.is_none(),
        }
    }

    #[test]
    fn a_report_summarises_the_samples_of_a_check() {
        let health = ClusterHealth {
            verdict: Verdict::Bad,
            reason: "2 of 4 samples failed".into(),
            samples: vec![
                sample(Some(200), 12, None),
                sample(Some(503), 3, Some("status 503 outside 200–399")),
                sample(None, 2000, Some("timeout: no answer")),
                sample(Some(200), 7, None),
            ],
        };
        let json = serde_json::to_value(&health).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "verdict": "bad",
                "reason": "2 of 4 samples failed",
                "samples": {
                    "count": 4,
                    "failed": 2,
                    "statuses": { "200": 2, "503": 1 },
                    "latency_ms": { "min": 3, "median": 7, "max": 2000 },
                    "first_failure": {
                        "status": 503, "latency_ms": 3, "error": "status 503 outside 200–399", "ok": false
                    }
                }
            })
        );
    }

    #[test]
    fn a_check_without_samples_says_so() {
        let health = ClusterHealth {
            verdict: Verdict::Inconclusive,
            reason: "no load balancer".into(),
            samples: Vec::new(),
        };
        let json = serde_json::to_value(&health).unwrap();
        assert_eq!(
            json["samples"],
            serde_json::json!({ "count": 0, "failed": 0 })
        );
    }
}
