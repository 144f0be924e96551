//! Alias records to a cluster's load balancer, as its external-dns would write them
//! (docs/reference/external-dns.md §2: an ELB target becomes an A alias plus an AAAA alias,
//! EvaluateTargetHealth true unless annotated, HostedZoneId from the load balancers' canonical zone
//! table — the ALB/Classic column for `…<region>.elb.amazonaws.com`, the NLB column for
//! `…elb.<region>.amazonaws.com`, docs/reference/route53.md "Alias records"). The load balancer
//! is the one of the source object: an Ingress's, a Service's (an NLB, usually) or the Gateway's
//! of an HTTPRoute.

use crate::config::ClusterConfig;
use crate::observation::SourceObject;
use crate::route53::model::{AliasTarget, RecordSet, RecordType};
use crate::route53::zone::elb::{canonical_zone_id, elb_region_and_kind, ElbKind};
use crate::text::quoted;
use crate::types::{DnsName, SetIdentifier, Weight};

/// The alias HostedZoneId for a load balancer host name: the cluster's configured override for
/// that kind of load balancer when set (`nlb_override` for an NLB host name
/// `…elb.<region>.amazonaws.com`, `alb_override` for any other), else the canonical zone of its
/// region and kind — ALB and Classic share one column, NLB has its own
/// (docs/reference/route53.md "Alias records": "A configured value … comes first; this table is
/// the default").
pub fn alias_zone_for(
    hostname: &str,
    alb_override: Option<&str>,
    nlb_override: Option<&str>,
) -> Option<String> {
    let parsed = elb_region_and_kind(hostname);
    let override_id = match parsed.as_ref().map(|(_, kind)| *kind) {
        Some(ElbKind::Nlb) => nlb_override,
        Some(ElbKind::AlbOrClassic) | None => alb_override,
    };
    if let Some(id) = override_id {
        return Some(id.to_string());
    }
    let (region, kind) = parsed?;
    canonical_zone_id(&region, kind).map(str::to_string)
}

/// EvaluateTargetHealth as the cluster's external-dns sets it: the object's
/// `aws-evaluate-target-health` annotation when it says `true`/`false`, else the cluster default
/// (docs/reference/external-dns.md §2).
pub fn evaluate_target_health(cluster: &ClusterConfig, obj: &SourceObject) -> bool {
    let key = format!("{}aws-evaluate-target-health", cluster.annotation_prefix);
    match obj.annotations.get(&key).map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => cluster.evaluate_target_health,
    }
}

/// The alias target of the object's (first) load balancer.
pub fn alias_target(cluster: &ClusterConfig, obj: &SourceObject) -> Result<AliasTarget, String> {
    let lb = obj.load_balancer_hostnames.first().ok_or_else(|| {
        format!(
            "{} in cluster {} has no load-balancer status",
            obj.describe(),
            cluster.key
        )
    })?;
    let zone = alias_zone_for(
        lb,
        cluster.lb_canonical_zone_id.as_deref(),
        cluster.nlb_canonical_zone_id.as_deref(),
    )
    .ok_or_else(|| {
        let key = match elb_region_and_kind(lb) {
            Some((_, ElbKind::Nlb)) => "nlb_canonical_zone_id",
            _ => "lb_canonical_zone_id",
        };
        format!(
            "cannot tell the canonical hosted zone id of load balancer {lb}; set clusters.{}.{key}",
            cluster.key
        )
    })?;
    Ok(AliasTarget {
        hosted_zone_id: zone,
        dns_name: DnsName::parse(lb)
            .map_err(|e| format!("load balancer host name {lb}: {e}", lb = quoted(lb)))?,
        evaluate_target_health: evaluate_target_health(cluster, obj),
    })
}

/// An alias record of `host` to the object's load balancer; weighted when `sid` is given.
pub fn alias_record(
    host: &DnsName,
    cluster: &ClusterConfig,
    obj: &SourceObject,
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
        alias: Some(alias_target(cluster, obj)?),
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
            alias_zone_for("k8s-app-123.us-east-1.elb.amazonaws.com", None, None).as_deref(),
            Some("Z35SXDOTRQ7X7K")
        );
        // An NLB host name takes the NLB column, never the ALB one.
        assert_eq!(
            alias_zone_for("net-1.elb.eu-west-1.amazonaws.com", None, None).as_deref(),
            Some("Z2IFOLAFXWLO4F")
        );
        assert_eq!(
            alias_zone_for("net-1.elb.us-east-1.amazonaws.com", None, None).as_deref(),
            Some("Z26RNL4JYFTOTI")
        );
        assert_eq!(alias_zone_for("lb.example.net", None, None), None);
        assert_eq!(
            alias_zone_for("lb.example.net", Some("ZX"), None).as_deref(),
            Some("ZX")
        );
        assert_eq!(
            alias_zone_for("x.mars-1.elb.amazonaws.com", None, None),
            None
        );
    }

    #[test]
    fn each_override_applies_to_its_kind_of_load_balancer_only() {
        // A cluster with an ALB override and Services behind NLBs: the NLB keeps its own column.
        assert_eq!(
            alias_zone_for("net-1.elb.us-east-1.amazonaws.com", Some("ZALB"), None).as_deref(),
            Some("Z26RNL4JYFTOTI")
        );
        assert_eq!(
            alias_zone_for(
                "net-1.elb.us-east-1.amazonaws.com",
                Some("ZALB"),
                Some("ZNLB")
            )
            .as_deref(),
            Some("ZNLB")
        );
        assert_eq!(
            alias_zone_for(
                "app-1.us-east-1.elb.amazonaws.com",
                Some("ZALB"),
                Some("ZNLB")
            )
            .as_deref(),
            Some("ZALB")
        );
        assert_eq!(
            alias_zone_for("x.elb.xx-mars-1.amazonaws.com", None, Some("ZNLB")).as_deref(),
            Some("ZNLB")
        );
    }
}
