//! Health verdicts from HTTP probes sent straight to each cluster's load balancer (PRODUCT.md §4).

use serde::{Deserialize, Serialize};

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
