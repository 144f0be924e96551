//! The Ingress source: what records a cluster's Ingresses ask for (docs/reference/external-dns.md
//! §2).

use std::net::IpAddr;

use super::elb::canonical_zone_for_hostname;
use super::record::{normalize_name, Alias, RecordSet};
use super::settings::ExternalDnsSettings;
use crate::cluster::Ingress;

/// The default TTL of a non-alias record external-dns writes when none is annotated.
const DEFAULT_TTL: i64 = 300;

/// A record an Ingress asks for, with the resource label its TXT will carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub record: RecordSet,
    /// `ingress/<ns>/<name>`.
    pub resource: String,
    /// TTL is compared only when annotated (docs/reference/external-dns.md §3).
    pub ttl_annotated: bool,
}

/// Desired endpoints of every Ingress, plus warnings (bad annotations) for the log.
pub fn desired_endpoints(
    ingresses: &[Ingress],
    settings: &ExternalDnsSettings,
) -> (Vec<Endpoint>, Vec<String>) {
    let mut endpoints = Vec::new();
    let mut warnings = Vec::new();
    for ingress in ingresses {
        endpoints.extend(ingress_endpoints(ingress, settings, &mut warnings));
    }
    (endpoints, warnings)
}

struct Annotations<'a> {
    ingress: &'a Ingress,
    settings: &'a ExternalDnsSettings,
}

impl Annotations<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.ingress
            .annotations
            .get(&self.settings.annotation(key))
            .map(|v| v.trim())
    }
}

fn ingress_endpoints(
    ingress: &Ingress,
    settings: &ExternalDnsSettings,
    warnings: &mut Vec<String>,
) -> Vec<Endpoint> {
    let annotations = Annotations { ingress, settings };
    let resource = format!("ingress/{}/{}", ingress.namespace, ingress.name);
    let targets = targets(ingress, &annotations);
    if targets.is_empty() {
        // No load-balancer status yet: nothing to publish.
        return Vec::new();
    }
    let routing = match Routing::from_annotations(&annotations, settings, &resource) {
        Ok(routing) => routing,
        Err(warning) => {
            warnings.push(warning);
            return Vec::new();
        }
    };
    let mut endpoints = Vec::new();
    for host in hostnames(ingress, &annotations) {
        for record in records_for_host(&host, &targets, &routing, settings) {
            endpoints.push(Endpoint {
                record,
                resource: resource.clone(),
                ttl_annotated: routing.ttl.is_some(),
            });
        }
    }
    endpoints
}

/// `spec.rules[].host` plus the `hostname` annotation (comma-separated).
fn hostnames(ingress: &Ingress, annotations: &Annotations<'_>) -> Vec<String> {
    let mut hosts: Vec<String> = ingress
        .hosts
        .iter()
        .map(|h| normalize_name(h.trim()))
        .collect();
    if let Some(extra) = annotations.get("hostname") {
        hosts.extend(
            extra
                .split(',')
                .map(|h| normalize_name(h.trim()))
                .filter(|h| !h.is_empty()),
        );
    }
    hosts.retain(|h| !h.is_empty());
    hosts.sort();
    hosts.dedup();
    hosts
}

/// The `target` annotation overrides the load-balancer status.
fn targets(ingress: &Ingress, annotations: &Annotations<'_>) -> Vec<String> {
    let raw: Vec<String> = match annotations.get("target") {
        Some(list) => list.split(',').map(|t| t.trim().to_string()).collect(),
        None => ingress.load_balancer.iter().cloned().collect(),
    };
    raw.into_iter()
        .map(|t| t.trim_end_matches('.').to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Routing properties from annotations.
struct Routing {
    set_identifier: Option<String>,
    weight: Option<i64>,
    ttl: Option<i64>,
    evaluate_target_health: bool,
    health_check_id: Option<String>,
    force_alias: bool,
}

impl Routing {
    fn from_annotations(
        annotations: &Annotations<'_>,
        settings: &ExternalDnsSettings,
        resource: &str,
    ) -> Result<Self, String> {
        let weight = match annotations.get("aws-weight") {
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                format!(
                    "{resource}: annotation {}: `{text}` is not an integer weight",
                    settings.annotation("aws-weight")
                )
            })?),
            None => None,
        };
        let ttl = match annotations.get("ttl") {
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                format!(
                    "{resource}: annotation {}: `{text}` is not a TTL in seconds",
                    settings.annotation("ttl")
                )
            })?),
            None => None,
        };
        // EvaluateTargetHealth true unless annotated (docs/reference/external-dns.md §2).
        let evaluate_target_health = match annotations.get("aws-evaluate-target-health") {
            Some("false") => false,
            Some("true") => true,
            _ => settings.evaluate_target_health,
        };
        Ok(Routing {
            set_identifier: annotations
                .get("set-identifier")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            weight,
            ttl,
            evaluate_target_health,
            health_check_id: annotations
                .get("aws-health-check-id")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            // Only the string "true" counts (docs/reference/external-dns.md §2).
            force_alias: annotations.get("alias") == Some("true"),
        })
    }

    fn record(&self, name: &str, record_type: &str) -> RecordSet {
        RecordSet {
            name: name.to_string(),
            record_type: record_type.to_string(),
            set_identifier: self.set_identifier.clone(),
            weight: self.weight,
            ttl: None,
            values: Vec::new(),
            alias: None,
            health_check_id: self.health_check_id.clone(),
        }
    }
}

fn records_for_host(
    host: &str,
    targets: &[String],
    routing: &Routing,
    settings: &ExternalDnsSettings,
) -> Vec<RecordSet> {
    let ttl = routing.ttl.unwrap_or(DEFAULT_TTL);
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    let mut hostnames = Vec::new();
    for target in targets {
        match target.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => v4.push(ip.to_string()),
            Ok(IpAddr::V6(ip)) => v6.push(ip.to_string()),
            Err(_) => hostnames.push(target.clone()),
        }
    }
    let mut records = Vec::new();
    for (record_type, values) in [("A", v4), ("AAAA", v6)] {
        if !values.is_empty() {
            let mut record = routing.record(host, record_type);
            record.ttl = Some(ttl);
            record.values = values;
            records.push(record);
        }
    }
    if let Some(target) = hostnames.first() {
        records.extend(hostname_records(
            host, target, &hostnames, routing, settings,
        ));
    }
    records
}

/// A host-name target: an ELB becomes an A alias plus (since v0.16) an AAAA alias; anything
/// else a CNAME (an `alias: "true"` to a non-ELB target is not modelled and stays a CNAME).
fn hostname_records(
    host: &str,
    first: &str,
    all: &[String],
    routing: &Routing,
    settings: &ExternalDnsSettings,
) -> Vec<RecordSet> {
    let zone = canonical_zone_for_hostname(first);
    match zone {
        Some(zone_id) if all.len() == 1 || routing.force_alias => {
            let alias = Alias {
                hosted_zone_id: zone_id.to_string(),
                dns_name: first.to_string(),
                evaluate_target_health: routing.evaluate_target_health,
            };
            let mut a = routing.record(host, "A");
            a.alias = Some(alias);
            let mut records = vec![a.clone()];
            if settings.version.creates_aaaa_alias() {
                let mut aaaa = a;
                aaaa.record_type = "AAAA".into();
                records.push(aaaa);
            }
            records
        }
        _ => {
            let mut cname = routing.record(host, "CNAME");
            cname.ttl = Some(routing.ttl.unwrap_or(DEFAULT_TTL));
            cname.values = all.to_vec();
            vec![cname]
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::external_dns::settings::Version;

    fn ingress(annotations: &[(&str, &str)], lb: Option<&str>) -> Ingress {
        Ingress {
            namespace: "default".into(),
            name: "app".into(),
            hosts: vec!["App.Example.com".into()],
            annotations: annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            load_balancer: lb.map(str::to_string),
        }
    }

    const LB: &str = "k8s-app-123.us-east-1.elb.amazonaws.com";

    #[test]
    fn weighted_elb_ingress_becomes_a_and_aaaa_aliases() {
        let settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let ing = ingress(
            &[
                ("external-dns.kubernetes.io/set-identifier", "blue"),
                ("external-dns.kubernetes.io/aws-weight", "100"),
            ],
            Some(LB),
        );
        let (endpoints, warnings) = desired_endpoints(&[ing], &settings);
        assert!(warnings.is_empty());
        assert_eq!(endpoints.len(), 2);
        let a = &endpoints[0].record;
        assert_eq!(
            (a.name.as_str(), a.record_type.as_str()),
            ("app.example.com", "A")
        );
        assert_eq!(a.set_identifier.as_deref(), Some("blue"));
        assert_eq!(a.weight, Some(100));
        assert_eq!(
            a.alias,
            Some(Alias {
                hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
                dns_name: LB.into(),
                evaluate_target_health: true
            })
        );
        assert_eq!(endpoints[1].record.record_type, "AAAA");
        assert_eq!(endpoints[0].resource, "ingress/default/app");
    }

    #[test]
    fn annotation_prefix_follows_the_version() {
        let old = ExternalDnsSettings::new("blue", Version::V0_18);
        let ing = ingress(&[("external-dns.kubernetes.io/aws-weight", "5")], Some(LB));
        let (endpoints, _) = desired_endpoints(std::slice::from_ref(&ing), &old);
        assert_eq!(
            endpoints[0].record.weight, None,
            "v0.18 reads the alpha prefix"
        );
        let ing = ingress(
            &[("external-dns.alpha.kubernetes.io/aws-weight", "5")],
            Some(LB),
        );
        let (endpoints, _) = desired_endpoints(&[ing], &old);
        assert_eq!(endpoints[0].record.weight, Some(5));
    }

    #[test]
    fn no_load_balancer_status_means_nothing() {
        let settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let (endpoints, _) = desired_endpoints(&[ingress(&[], None)], &settings);
        assert!(endpoints.is_empty());
    }

    #[test]
    fn evaluate_target_health_annotation_and_old_versions_without_aaaa() {
        let settings = ExternalDnsSettings::new("blue", Version::V0_13);
        let ing = ingress(
            &[(
                "external-dns.alpha.kubernetes.io/aws-evaluate-target-health",
                "false",
            )],
            Some(LB),
        );
        let (endpoints, _) = desired_endpoints(&[ing], &settings);
        assert_eq!(endpoints.len(), 1, "no AAAA alias before v0.16");
        assert_eq!(
            endpoints[0]
                .record
                .alias
                .as_ref()
                .map(|a| a.evaluate_target_health),
            Some(false)
        );
    }

    #[test]
    fn bad_weight_is_reported_with_its_annotation() {
        let settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let ing = ingress(
            &[("external-dns.kubernetes.io/aws-weight", "lots")],
            Some(LB),
        );
        let (endpoints, warnings) = desired_endpoints(&[ing], &settings);
        assert!(endpoints.is_empty());
        assert_eq!(
            warnings,
            vec!["ingress/default/app: annotation external-dns.kubernetes.io/aws-weight: `lots` is not an integer weight"]
        );
    }

    #[test]
    fn non_elb_host_is_a_cname_and_ips_are_a_records() {
        let settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let (endpoints, _) =
            desired_endpoints(&[ingress(&[], Some("origin.example.net"))], &settings);
        assert_eq!(endpoints[0].record.record_type, "CNAME");
        assert_eq!(endpoints[0].record.ttl, Some(300));
        let (endpoints, _) = desired_endpoints(&[ingress(&[], Some("192.0.2.1"))], &settings);
        assert_eq!(endpoints[0].record.record_type, "A");
        assert_eq!(endpoints[0].record.values, vec!["192.0.2.1"]);
    }
}
