//! Alias records to a cluster's load balancer, as its external-dns would write them
//! (docs/reference/external-dns.md §2: an ELB target becomes an A alias plus an AAAA alias,
//! EvaluateTargetHealth true unless annotated, HostedZoneId from the load balancers' canonical zone
//! table).

use crate::config::ClusterConfig;
use crate::observation::IngressInfo;
use crate::route53::model::{AliasTarget, RecordSet, RecordType};
use crate::route53::zone::elb::{canonical_zone_id, elb_region_and_kind};
use crate::text::quoted;
use crate::types::{DnsName, SetIdentifier, Weight};

/// The alias HostedZoneId for a load balancer host name: the cluster's configured override when
/// set, else the canonical zone of its region and kind (docs/reference/route53.md "Alias records":
/// "Prefer a configured value … keep this table as the default").
pub fn alias_zone_for(hostname: &str, override_id: Option<&str>) -> Option<String> {
    if let Some(id) = override_id {
        return Some(id.to_string());
    }
    let (region, kind) = elb_region_and_kind(hostname)?;
    canonical_zone_id(&region, kind).map(str::to_string)
}

/// EvaluateTargetHealth as the cluster's external-dns sets it: the Ingress's
/// `aws-evaluate-target-health` annotation when it says `true`/`false`, else the cluster default
/// (docs/reference/external-dns.md §2).
pub fn evaluate_target_health(cluster: &ClusterConfig, ing: &IngressInfo) -> bool {
    let key = format!("{}aws-evaluate-target-health", cluster.annotation_prefix);
    match ing.annotations.get(&key).map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => cluster.evaluate_target_health,
    }
}

/// The alias target of the Ingress's (first) load balancer.
pub fn alias_target(cluster: &ClusterConfig, ing: &IngressInfo) -> Result<AliasTarget, String> {
    let lb = ing.load_balancer_hostnames.first().ok_or_else(|| {
        format!(
            "Ingress {}/{} in cluster {} has no load-balancer status",
            ing.namespace, ing.name, cluster.key
        )
    })?;
    let zone = alias_zone_for(lb, cluster.lb_canonical_zone_id.as_deref()).ok_or_else(|| {
        format!(
            "cannot tell the canonical hosted zone id of load balancer {lb}; set clusters.{}.lb_canonical_zone_id",
            cluster.key
        )
    })?;
    Ok(AliasTarget {
        hosted_zone_id: zone,
        dns_name: DnsName::parse(lb)
            .map_err(|e| format!("load balancer host name {}: {e}", quoted(lb)))?,
        evaluate_target_health: evaluate_target_health(cluster, ing),
    })
}

/// An alias record of `host` to the Ingress's load balancer; weighted when `sid` is given.
pub fn alias_record(
    host: &DnsName,
    cluster: &ClusterConfig,
    ing: &IngressInfo,
    rtype: RecordType,
    weighted: Option<(&SetIdentifier, Weight)>,
) -> Result<RecordSet, String> {
    Ok(RecordSet {
        name: host.clone(),
        rtype,
        set_identifier: weighted.map(|(s, _)| s.clone()),
        weight: weighted.map(|(_, w)| w),
        ttl: None,
        values: Vec::new(),
        alias: Some(alias_target(cluster, ing)?),
        health_check_id: None,
        other_policy: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_map_to_the_canonical_table() {
        assert_eq!(
            alias_zone_for("k8s-app-123.us-east-1.elb.amazonaws.com", None).as_deref(),
            Some("Z35SXDOTRQ7X7K")
        );
        assert_eq!(
            alias_zone_for("net-1.elb.eu-west-1.amazonaws.com", None).as_deref(),
            Some("Z2IFOLAFXWLO4F")
        );
        assert_eq!(alias_zone_for("lb.example.net", None), None);
        assert_eq!(
            alias_zone_for("lb.example.net", Some("ZX")).as_deref(),
            Some("ZX")
        );
        assert_eq!(alias_zone_for("x.mars-1.elb.amazonaws.com", None), None);
    }
}
