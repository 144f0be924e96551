//! Read-only Kubernetes access: EKS DescribeCluster → EKS bearer token → one Ingress list per
//! cluster per tick (PRODUCT.md §9).

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
