//! Canonical hosted zone ids of Elastic Load Balancing, by region and kind
//! (docs/reference/route53.md "Alias records"): an alias to a load balancer must name the zone its
//! hostname lies in, or Route53 answers "the alias target name does not lie within the target
//! zone".

/// The two families of load balancer hostnames. ALB and Classic share one zone per region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElbKind {
    /// `…<region>.elb.amazonaws.com` (ALB or Classic).
    AlbOrClassic,
    /// `…elb.<region>.amazonaws.com` (NLB).
    Nlb,
}

/// (region, ALB + Classic zone id, NLB zone id), the table of docs/reference/route53.md "Alias
/// records".
pub const CANONICAL_ZONES: &[(&str, &str, &str)] = &[
    ("af-south-1", "Z268VQBMOI5EKX", "Z203XCE67M25HM"),
    ("ap-east-1", "Z3DQVH9N71FHZ0", "Z12Y7K3UBGUAD1"),
    ("ap-east-2", "Z02789141MW7T1WBU19PO", "Z09176273OC2HWIAUNYW"),
    ("ap-northeast-1", "Z14GRHDCWA56QT", "Z31USIVHYNEOWT"),
    ("ap-northeast-2", "ZWKZPGTI48KDX", "ZIBE1TIR4HY56"),
    ("ap-northeast-3", "Z5LXEXXYW11ES", "Z1GWIQ4HH19I5X"),
    ("ap-south-1", "ZP97RAFLXTNZK", "ZVDDRBQ08TROA"),
    (
        "ap-south-2",
        "Z0173938T07WNTVAEPZN",
        "Z0711778386UTO08407HT",
    ),
    ("ap-southeast-1", "Z1LMS91P8CMLE5", "ZKVM4W9LS7TM"),
    ("ap-southeast-2", "Z1GM3OXH4ZPM65", "ZCT6FZBF4DROD"),
    (
        "ap-southeast-3",
        "Z08888821HLRG5A9ZRTER",
        "Z01971771FYVNCOVWJU1G",
    ),
    (
        "ap-southeast-4",
        "Z09517862IB2WZLPXG76F",
        "Z01156963G8MIIL7X90IV",
    ),
    (
        "ap-southeast-5",
        "Z06010284QMVVW7WO5J",
        "Z026317210H9ACVTRO6FB",
    ),
    (
        "ap-southeast-6",
        "Z023301818UFJ50CIO0MV",
        "Z01392953RKV2Q3RBP0KU",
    ),
    (
        "ap-southeast-7",
        "Z0390008CMBRTHFGWBCB",
        "Z054363131YWATEMWRG5L",
    ),
    ("ca-central-1", "ZQSVJUPU6J1EY", "Z2EPGBW3API2WT"),
    (
        "ca-west-1",
        "Z06473681N0SF6OS049SD",
        "Z02754302KBB00W2LKWZ9",
    ),
    ("cn-north-1", "Z1GDH35T77C1KE", "Z3QFB96KMJ7ED6"),
    ("cn-northwest-1", "ZM7IZAIOVVDZF", "ZQEIKTCZ8352D"),
    ("eu-central-1", "Z215JYRZR1TBD5", "Z3F0SRJ5LGBH90"),
    (
        "eu-central-2",
        "Z06391101F2ZOEP8P5EB3",
        "Z02239872DOALSIDCX66S",
    ),
    ("eu-north-1", "Z23TAZ6LKFMNIO", "Z1UDT6IFJ4EJM"),
    ("eu-south-1", "Z3ULH7SSC9OV64", "Z23146JA1KNAFP"),
    (
        "eu-south-2",
        "Z0956581394HF5D5LXGAP",
        "Z1011216NVTVYADP1SSV",
    ),
    ("eu-west-1", "Z32O12XQLNTSW2", "Z2IFOLAFXWLO4F"),
    ("eu-west-2", "ZHURV8PSTC4K8", "ZD4D7Y8KGAS4G"),
    ("eu-west-3", "Z3Q77PNBQS71R4", "Z1CMS0P5QUZ6D5"),
    (
        "il-central-1",
        "Z09170902867EHPV2DABU",
        "Z0313266YDI6ZRHTGQY4",
    ),
    (
        "me-central-1",
        "Z08230872XQRWHG2XF6I",
        "Z00282643NTTLPANJJG2P",
    ),
    ("me-south-1", "ZS929ML54UICD", "Z3QSRYVP46NYYV"),
    (
        "mx-central-1",
        "Z023552324OKD1BB28BH5",
        "Z02031231H3ID6HYJ9A7U",
    ),
    ("sa-east-1", "Z2P70J7HTTTPLU", "ZTK26PT1VY4CU"),
    ("us-east-1", "Z35SXDOTRQ7X7K", "Z26RNL4JYFTOTI"),
    ("us-east-2", "Z3AADJGX6KTTL2", "ZLMOA37VPKANP"),
    ("us-gov-east-1", "Z166TLBEWOO7G0", "Z1ZSMQQ6Q24QQ8"),
    ("us-gov-west-1", "Z33AYJ8TM3BH4J", "ZMG1MZ2THAWF1"),
    ("us-west-1", "Z368ELLRRE2KJ0", "Z24FKFUX50B4VW"),
    ("us-west-2", "Z1H1FL5HABSF5", "Z18D5FSROUN65G"),
];

/// The canonical hosted zone id of a load balancer of `kind` in `region`; `None` for a region
/// the table does not know.
pub fn canonical_zone_id(region: &str, kind: ElbKind) -> Option<&'static str> {
    CANONICAL_ZONES
        .iter()
        .find(|(r, _, _)| *r == region)
        .map(|(_, alb, nlb)| match kind {
            ElbKind::AlbOrClassic => *alb,
            ElbKind::Nlb => *nlb,
        })
}

/// True if `region` is in the table.
pub fn is_known_region(region: &str) -> bool {
    CANONICAL_ZONES.iter().any(|(r, _, _)| *r == region)
}

/// Reads the region and kind out of a load balancer hostname (docs/reference/route53.md "Alias
/// records": ALB/Classic `…<region>.elb.amazonaws.com`, NLB `…elb.<region>.amazonaws.com`,
/// `.com.cn` in China; a `dualstack.` prefix is just one more leading label). `None` if it is not
/// an ELB hostname. The region is returned as written; it need not be in the table.
pub fn elb_region_and_kind(hostname: &str) -> Option<(String, ElbKind)> {
    let lower = hostname.trim_end_matches('.').to_ascii_lowercase();
    let stem = lower
        .strip_suffix(".amazonaws.com.cn")
        .or_else(|| lower.strip_suffix(".amazonaws.com"))?;
    let labels: Vec<&str> = stem.split('.').collect();
    // At least one label naming the balancer before the two `<region>` / `elb` labels.
    let [.., first, last] = labels.as_slice() else {
        return None;
    };
    if labels.len() < 3 || labels.iter().any(|l| l.is_empty()) {
        return None;
    }
    if *last == "elb" && looks_like_region(first) {
        Some((first.to_string(), ElbKind::AlbOrClassic))
    } else if *first == "elb" && looks_like_region(last) {
        Some((last.to_string(), ElbKind::Nlb))
    } else {
        None
    }
}

/// `xx-yyyy-N` or `xx-gov-yyyy-N`: letters-and-dashes then a number.
fn looks_like_region(label: &str) -> bool {
    let Some((head, number)) = label.rsplit_once('-') else {
        return false;
    };
    !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
        && head.contains('-')
        && head.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        && !head.starts_with('-')
        && !head.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_one_row_per_region_and_the_documented_ids() {
        assert_eq!(CANONICAL_ZONES.len(), 38);
        assert!(
            CANONICAL_ZONES.windows(2).all(|w| w[0].0 < w[1].0),
            "regions are sorted and unique"
        );
        assert!(is_known_region("me-south-1"));
        assert_eq!(
            canonical_zone_id("us-east-1", ElbKind::AlbOrClassic),
            Some("Z35SXDOTRQ7X7K")
        );
        assert_eq!(
            canonical_zone_id("us-east-1", ElbKind::Nlb),
            Some("Z26RNL4JYFTOTI")
        );
        assert_eq!(
            canonical_zone_id("eu-west-1", ElbKind::Nlb),
            Some("Z2IFOLAFXWLO4F")
        );
        assert_eq!(
            canonical_zone_id("cn-north-1", ElbKind::AlbOrClassic),
            Some("Z1GDH35T77C1KE")
        );
        assert_eq!(canonical_zone_id("xx-nowhere-9", ElbKind::Nlb), None);
    }

    #[test]
    fn alb_and_classic_hostnames() {
        for host in [
            "k8s-default-app-123.us-east-1.elb.amazonaws.com",
            "dualstack.k8s-default-app-123.us-east-1.elb.amazonaws.com.",
            "internal-app-1.us-east-1.elb.amazonaws.com",
            "K8S-APP.US-EAST-1.ELB.AMAZONAWS.COM",
        ] {
            assert_eq!(
                elb_region_and_kind(host),
                Some(("us-east-1".to_string(), ElbKind::AlbOrClassic)),
                "{host}"
            );
        }
        assert_eq!(
            elb_region_and_kind("app-1.cn-north-1.elb.amazonaws.com.cn"),
            Some(("cn-north-1".to_string(), ElbKind::AlbOrClassic))
        );
    }

    #[test]
    fn nlb_hostnames() {
        assert_eq!(
            elb_region_and_kind("k8s-app-abc.elb.eu-west-1.amazonaws.com"),
            Some(("eu-west-1".to_string(), ElbKind::Nlb))
        );
        assert_eq!(
            elb_region_and_kind("net-1.elb.cn-northwest-1.amazonaws.com.cn."),
            Some(("cn-northwest-1".to_string(), ElbKind::Nlb))
        );
        assert_eq!(
            elb_region_and_kind("net-1.elb.us-gov-west-1.amazonaws.com"),
            Some(("us-gov-west-1".to_string(), ElbKind::Nlb))
        );
    }

    #[test]
    fn other_hostnames_are_not_elb() {
        for host in [
            "us-east-1.elb.amazonaws.com",
            "elb.amazonaws.com",
            "app.example.com",
            "d111.cloudfront.net",
            "bucket.s3-website-us-east-1.amazonaws.com",
            "x.elb.amazonaws.com",
            "x..us-east-1.elb.amazonaws.com",
            "",
        ] {
            assert_eq!(elb_region_and_kind(host), None, "{host}");
        }
    }
}
