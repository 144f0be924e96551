//! The record names a service's decisions read and write.

use crate::config::{ClusterConfig, Config, ServiceConfig};
use crate::registry::{self, TxtNaming};
use crate::types::DnsName;

/// The TXT naming of every configured cluster (to find every variant, whoever wrote it).
pub(crate) fn all_namings(cfg: &Config) -> Vec<TxtNaming> {
    cfg.clusters().map(ClusterConfig::txt_naming).collect()
}

/// The names the engine must list for a service: the host, every TXT registry variant of every
/// configured cluster's naming, and the state record.
pub fn names_of_interest(cfg: &Config, svc: &ServiceConfig) -> Vec<DnsName> {
    let mut out = vec![svc.hostname.clone()];
    out.extend(registry::all_txt_names(&svc.hostname, &all_namings(cfg)));
    if let Some(s) = cfg.state_record_name(svc) {
        out.push(s);
    }
    out.sort();
    out.dedup();
    out
}
