//! Which load balancer a target host name is, and the canonical hosted zone its alias records use.
//!
//! external-dns recognises an ELB by its host-name suffix (docs/reference/external-dns.md §2:
//! "HostedZoneId from its suffix table"); the ids are the table of docs/reference/route53.md
//! "Alias records", shared with `crate::lb`.

/// The two families of load balancer host names (ALB and Classic share one zone id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElbFamily {
    /// ALB or Classic: `…<region>.elb.amazonaws.com`.
    Application,
    /// NLB: `…elb.<region>.amazonaws.com`.
    Network,
}

/// The canonical hosted zone id of an ELB host name, or `None` when it is not an ELB name.
pub fn canonical_zone_for_hostname(hostname: &str) -> Option<&'static str> {
    let (region, family) = elb_region_and_family(hostname)?;
    canonical_zone_id(&region, family)
}

/// Region and family from an ELB host name (`.com.cn` in China).
pub fn elb_region_and_family(hostname: &str) -> Option<(String, ElbFamily)> {
    let name = hostname.trim_end_matches('.').to_ascii_lowercase();
    let base = name
        .strip_suffix(".amazonaws.com.cn")
        .or_else(|| name.strip_suffix(".amazonaws.com"))?;
    let labels: Vec<&str> = base.split('.').collect();
    let n = labels.len();
    if n < 3 {
        return None;
    }
    // ALB/Classic: `<lb>.<region>.elb`; NLB: `<lb>.elb.<region>`.
    match (labels.get(n - 2), labels.get(n - 1)) {
        (Some(region), Some(&"elb")) => Some((region.to_string(), ElbFamily::Application)),
        (Some(&"elb"), Some(region)) => Some((region.to_string(), ElbFamily::Network)),
        _ => None,
    }
}

/// The canonical hosted zone id of a load balancer in `region` (the table of
/// docs/reference/route53.md "Alias records", kept in `crate::lb`).
pub fn canonical_zone_id(region: &str, family: ElbFamily) -> Option<&'static str> {
    let kind = match family {
        ElbFamily::Application => crate::lb::LbKind::Application,
        ElbFamily::Network => crate::lb::LbKind::Network,
    };
    crate::lb::canonical_zone_id(region, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alb_and_nlb_names_map_to_their_zone_ids() {
        assert_eq!(
            canonical_zone_for_hostname("k8s-app-123.us-east-1.elb.amazonaws.com"),
            Some("Z35SXDOTRQ7X7K")
        );
        assert_eq!(
            canonical_zone_for_hostname("k8s-app-123.elb.eu-west-1.amazonaws.com."),
            Some("Z2IFOLAFXWLO4F")
        );
        assert_eq!(
            canonical_zone_for_hostname("dualstack.k8s-app.eu-west-1.elb.amazonaws.com"),
            Some("Z32O12XQLNTSW2")
        );
        assert_eq!(
            canonical_zone_for_hostname("a.cn-north-1.elb.amazonaws.com.cn"),
            Some("Z1GDH35T77C1KE")
        );
    }

    #[test]
    fn other_names_are_not_load_balancers() {
        assert_eq!(canonical_zone_for_hostname("app.example.com"), None);
        assert_eq!(canonical_zone_for_hostname("elb.amazonaws.com"), None);
        assert_eq!(
            canonical_zone_for_hostname("x.mars-north-1.elb.amazonaws.com"),
            None
        );
    }
}
