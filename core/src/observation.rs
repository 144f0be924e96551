//! What the engine observes of the world, as the planner reads it: the Ingresses of a cluster
//! and the health verdict of a cluster. The adapters (Kubernetes, HTTP probes) convert into these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::types::DnsName;

/// What cutover needs to know of one Ingress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngressInfo {
    pub namespace: String,
    pub name: String,
    /// Hosts from `spec.rules[].host`, `spec.tls[].hosts` and the external-dns `hostname`
    /// annotation, normalised.
    pub hosts: Vec<DnsName>,
    pub annotations: BTreeMap<String, String>,
    /// `status.loadBalancer.ingress[].hostname` (empty: no load balancer yet).
    pub load_balancer_hostnames: Vec<String>,
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

/// The verdict for one cluster with the samples and numbers behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterHealth {
    pub verdict: Verdict,
    pub reason: String,
    pub samples: Vec<Sample>,
}

/// An observation that may have failed (the reason is reported).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Observed<T> {
    Known(T),
    Unavailable(String),
}
