//! The sources: what records a cluster's objects ask for — Ingresses, Services of type
//! LoadBalancer and Gateway API HTTPRoutes, each only when its `--source` is set
//! (docs/reference/external-dns.md §2, §6 "Sources other than Ingress, and version changes").

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::elb::canonical_zone_for_hostname;
use super::record::{normalize_name, Alias, RecordSet};
use super::settings::{ExternalDnsSettings, Source};
use crate::cluster::{Gateway, HttpRoute, Ingress, Service, SourceObjects, LOAD_BALANCER};

/// The default TTL of a non-alias record external-dns writes when none is annotated.
const DEFAULT_TTL: i64 = 300;

/// A record a source object asks for, with the resource label its TXT will carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub record: RecordSet,
    /// `ingress/<ns>/<name>`, `service/<ns>/<name>` or `httproute/<ns>/<name>`.
    pub resource: String,
    /// TTL is compared only when annotated (docs/reference/external-dns.md §3).
    pub ttl_annotated: bool,
}

/// Desired endpoints of every object of the sources set, plus warnings (bad annotations) for the
/// log.
pub fn desired_endpoints(
    objects: &SourceObjects,
    settings: &ExternalDnsSettings,
) -> (Vec<Endpoint>, Vec<String>) {
    let mut endpoints = Vec::new();
    let mut warnings = Vec::new();
    if settings.reads(Source::Ingress) {
        for ingress in &objects.ingresses {
            endpoints.extend(ingress_endpoints(ingress, settings, &mut warnings));
        }
    }
    if settings.reads(Source::Service) {
        for service in &objects.services {
            endpoints.extend(service_endpoints(service, settings, &mut warnings));
        }
    }
    if settings.reads(Source::GatewayHttproute) {
        for route in &objects.http_routes {
            endpoints.extend(route_endpoints(
                route,
                &objects.gateways,
                settings,
                &mut warnings,
            ));
        }
    }
    (endpoints, warnings)
}

/// One object's annotations, read under the instance's annotation prefix.
struct Annotations<'a> {
    map: &'a BTreeMap<String, String>,
    settings: &'a ExternalDnsSettings,
}

impl Annotations<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.map
            .get(&self.settings.annotation(key))
            .map(|v| v.trim())
    }

    /// A comma-separated list annotation as external-dns splits it: spaces removed, split on
    /// commas (empty entries kept); `None` when absent.
    fn list(&self, key: &str) -> Option<Vec<String>> {
        self.map
            .get(&self.settings.annotation(key))
            .map(|v| v.replace(' ', "").split(',').map(str::to_string).collect())
    }

    /// The `target` annotation's targets, each without its trailing dot.
    fn targets(&self) -> Vec<String> {
        self.list("target")
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.trim_end_matches('.').to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect()
    }
}

/// The endpoints of `hosts` → `targets` with the routing of `annotations`.
fn endpoints_for(
    hosts: &[String],
    targets: &[String],
    annotations: &Annotations<'_>,
    settings: &ExternalDnsSettings,
    resource: &str,
    warnings: &mut Vec<String>,
) -> Vec<Endpoint> {
    if targets.is_empty() {
        // No load-balancer status yet: nothing to publish.
        return Vec::new();
    }
    let routing = match Routing::from_annotations(annotations, settings, resource) {
        Ok(routing) => routing,
        Err(warning) => {
            warnings.push(warning);
            return Vec::new();
        }
    };
    let mut endpoints = Vec::new();
    for host in hosts {
        for record in records_for_host(host, targets, &routing, settings) {
            endpoints.push(Endpoint {
                record,
                resource: resource.to_string(),
                ttl_annotated: routing.ttl.is_some(),
            });
        }
    }
    endpoints
}

fn ingress_endpoints(
    ingress: &Ingress,
    settings: &ExternalDnsSettings,
    warnings: &mut Vec<String>,
) -> Vec<Endpoint> {
    let annotations = Annotations {
        map: &ingress.annotations,
        settings,
    };
    let resource = format!("ingress/{}/{}", ingress.namespace, ingress.name);
    let targets = targets(ingress, &annotations);
    endpoints_for(
        &hostnames(ingress, &annotations),
        &targets,
        &annotations,
        settings,
        &resource,
        warnings,
    )
}

/// A Service of type LoadBalancer (docs/reference/external-dns.md §6 "Service (type
/// LoadBalancer)"): hosts from its `hostname` annotation, each without its trailing dot; targets
/// from its `target` annotation, else its load-balancer status; the routing annotations are the
/// Service's. A ClusterIP Service publishes nothing (`--publish-internal-services` is not
/// modelled).
fn service_endpoints(
    service: &Service,
    settings: &ExternalDnsSettings,
    warnings: &mut Vec<String>,
) -> Vec<Endpoint> {
    if service.service_type != LOAD_BALANCER {
        return Vec::new();
    }
    let annotations = Annotations {
        map: &service.annotations,
        settings,
    };
    let resource = format!("service/{}/{}", service.namespace, service.name);
    let mut hosts: Vec<String> = annotations
        .list("hostname")
        .unwrap_or_default()
        .iter()
        .map(|h| normalize_name(h))
        .filter(|h| !h.is_empty())
        .collect();
    hosts.sort();
    hosts.dedup();
    let mut targets = annotations.targets();
    if targets.is_empty() {
        targets = service
            .load_balancer
            .iter()
            .map(|t| t.trim_end_matches('.').to_ascii_lowercase())
            .collect();
    }
    endpoints_for(
        &hosts,
        &targets,
        &annotations,
        settings,
        &resource,
        warnings,
    )
}

/// An HTTPRoute (docs/reference/external-dns.md §6 "Gateway API routes", as external-dns
/// v0.20–v0.22 resolve it): its hosts (`spec.hostnames`, the route's `hostname` annotation, and —
/// with no `spec.hostnames` — the listeners' hostnames; from v0.21 `gateway-hostname-source`
/// keeps only one of them) meet each accepted parent Gateway's listeners (HTTP or HTTPS, of the
/// parent's section, admitting the route's namespace: `Same` by default, `All`, or `Selector`
/// taken as the Gateway's acceptance); the targets are the Gateway's `target` annotation, else its
/// address; the routing annotations are the route's, a `target` on the route is not read.
fn route_endpoints(
    route: &HttpRoute,
    gateways: &[Gateway],
    settings: &ExternalDnsSettings,
    warnings: &mut Vec<String>,
) -> Vec<Endpoint> {
    let annotations = Annotations {
        map: &route.annotations,
        settings,
    };
    let resource = format!("httproute/{}/{}", route.namespace, route.name);
    let route_hosts = route_hostnames(route, &annotations, settings);
    let mut host_targets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for parent in route.parents.iter().filter(|p| p.accepted) {
        let gateway_namespace = parent.namespace.as_deref().unwrap_or(&route.namespace);
        let Some(gateway) = gateways
            .iter()
            .find(|g| g.namespace == gateway_namespace && g.name == parent.gateway)
        else {
            continue;
        };
        let gateway_annotations = Annotations {
            map: &gateway.annotations,
            settings,
        };
        let overrides = gateway_annotations.targets();
        for listener in &gateway.listeners {
            if parent
                .section_name
                .as_deref()
                .is_some_and(|s| s != listener.name)
            {
                continue;
            }
            if !matches!(listener.protocol.as_str(), "HTTP" | "HTTPS") {
                continue;
            }
            let admitted = match listener.allowed_routes_from.as_deref().unwrap_or("Same") {
                "All" | "Selector" => true,
                "Same" => gateway.namespace == route.namespace,
                _ => false,
            };
            if !admitted {
                continue;
            }
            let listener_host = listener.hostname.as_deref().unwrap_or("");
            for route_host in &route_hosts {
                if listener_host.is_empty() && route_host.is_empty() {
                    continue;
                }
                let Some(host) = overlap(listener_host, route_host) else {
                    continue;
                };
                let targets = host_targets.entry(host).or_default();
                if overrides.is_empty() {
                    targets.extend(gateway.load_balancer.iter().cloned());
                } else {
                    targets.extend(overrides.iter().cloned());
                }
            }
        }
    }
    let mut endpoints = Vec::new();
    for (host, mut targets) in host_targets {
        targets.sort();
        targets.dedup();
        endpoints.extend(endpoints_for(
            &[host],
            &targets,
            &annotations,
            settings,
            &resource,
            warnings,
        ));
    }
    endpoints
}

/// The route's candidate hosts, `""` standing for "any listener hostname".
fn route_hostnames(
    route: &HttpRoute,
    annotations: &Annotations<'_>,
    settings: &ExternalDnsSettings,
) -> Vec<String> {
    let annotated = annotations.list("hostname").unwrap_or_default();
    let spec = route.hostnames.clone();
    let mode = if settings.version.reads_gateway_hostname_source() {
        annotations
            .get("gateway-hostname-source")
            .map(str::to_ascii_lowercase)
    } else {
        None
    };
    match mode.as_deref() {
        Some("annotation-only") => annotated,
        Some("defined-hosts-only") => spec,
        _ => {
            let mut hosts = spec.clone();
            if spec.is_empty() {
                hosts.push(String::new());
            }
            hosts.extend(annotated);
            hosts
        }
    }
}

/// The most specific host two hostnames share (`*.` matches one label or more, `""` anything);
/// an IP address or a name that is not a valid DNS-1123 domain shares nothing.
fn overlap(a: &str, b: &str) -> Option<String> {
    let a = valid_host(a)?;
    let b = valid_host(b)?;
    if a.is_empty() {
        return Some(b);
    }
    if b.is_empty() || a == b {
        return Some(a);
    }
    let (shorter, longer) = if b.len() < a.len() || (a.len() == b.len() && b.starts_with("*.")) {
        (b, a)
    } else {
        (a, b)
    };
    let suffix = shorter.strip_prefix('*')?;
    (suffix.starts_with('.') && longer.ends_with(suffix)).then_some(longer)
}

fn valid_host(host: &str) -> Option<String> {
    if host.is_empty() {
        return Some(String::new());
    }
    if host.parse::<IpAddr>().is_ok() {
        return None;
    }
    let domain = host.strip_prefix("*.").unwrap_or(host);
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.starts_with(|c: char| c.is_ascii_alphanumeric())
            && l.ends_with(|c: char| c.is_ascii_alphanumeric())
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    (domain.len() <= 255 && domain.split('.').all(label_ok)).then(|| host.to_ascii_lowercase())
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

    fn ingresses(list: Vec<Ingress>) -> SourceObjects {
        SourceObjects {
            ingresses: list,
            ..SourceObjects::default()
        }
    }

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
        let (endpoints, warnings) = desired_endpoints(&ingresses(vec![ing]), &settings);
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
        let (endpoints, _) = desired_endpoints(&ingresses(vec![ing.clone()]), &old);
        assert_eq!(
            endpoints[0].record.weight, None,
            "v0.18 reads the alpha prefix"
        );
        let ing = ingress(
            &[("external-dns.alpha.kubernetes.io/aws-weight", "5")],
            Some(LB),
        );
        let (endpoints, _) = desired_endpoints(&ingresses(vec![ing]), &old);
        assert_eq!(endpoints[0].record.weight, Some(5));
    }

    #[test]
    fn no_load_balancer_status_means_nothing() {
        let settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let (endpoints, _) = desired_endpoints(&ingresses(vec![ingress(&[], None)]), &settings);
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
        let (endpoints, _) = desired_endpoints(&ingresses(vec![ing]), &settings);
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
        let (endpoints, warnings) = desired_endpoints(&ingresses(vec![ing]), &settings);
        assert!(endpoints.is_empty());
        assert_eq!(
            warnings,
            vec!["ingress/default/app: annotation external-dns.kubernetes.io/aws-weight: `lots` is not an integer weight"]
        );
    }

    #[test]
    fn non_elb_host_is_a_cname_and_ips_are_a_records() {
        let settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let (endpoints, _) = desired_endpoints(
            &ingresses(vec![ingress(&[], Some("origin.example.net"))]),
            &settings,
        );
        assert_eq!(endpoints[0].record.record_type, "CNAME");
        assert_eq!(endpoints[0].record.ttl, Some(300));
        let (endpoints, _) =
            desired_endpoints(&ingresses(vec![ingress(&[], Some("192.0.2.1"))]), &settings);
        assert_eq!(endpoints[0].record.record_type, "A");
        assert_eq!(endpoints[0].record.values, vec!["192.0.2.1"]);
    }

    // -----------------------------------------------------------------------------------------
    // Services and HTTPRoutes (docs/reference/external-dns.md §6)

    const NLB: &str = "k8s-pay-app-0a1b.elb.us-east-1.amazonaws.com";
    const GW_LB: &str = "k8s-infra-shared-9z8y.us-east-1.elb.amazonaws.com";
    const P: &str = "external-dns.kubernetes.io/";

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (format!("{P}{k}"), v.to_string()))
            .collect()
    }

    fn service(pairs: &[(&str, &str)], service_type: &str, lb: Option<&str>) -> Service {
        Service {
            namespace: "pay".into(),
            name: "app".into(),
            annotations: annotations(pairs),
            service_type: service_type.into(),
            load_balancer: lb.map(str::to_string),
        }
    }

    fn services(list: Vec<Service>) -> SourceObjects {
        SourceObjects {
            services: list,
            ..SourceObjects::default()
        }
    }

    fn names(endpoints: &[Endpoint]) -> Vec<(String, String)> {
        endpoints
            .iter()
            .map(|e| (e.record.name.clone(), e.record.record_type.clone()))
            .collect()
    }

    #[test]
    fn a_load_balancer_service_publishes_its_annotated_hosts_on_its_nlb() {
        let settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let svc = service(
            &[
                ("hostname", "App.Example.com., api.example.com"),
                ("set-identifier", "app-blue"),
                ("aws-weight", "100"),
            ],
            LOAD_BALANCER,
            Some(NLB),
        );
        let (endpoints, warnings) = desired_endpoints(&services(vec![svc]), &settings);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            names(&endpoints),
            vec![
                ("api.example.com".to_string(), "A".to_string()),
                ("api.example.com".to_string(), "AAAA".to_string()),
                ("app.example.com".to_string(), "A".to_string()),
                ("app.example.com".to_string(), "AAAA".to_string()),
            ]
        );
        let a = &endpoints[2];
        assert_eq!(a.resource, "service/pay/app");
        assert_eq!(a.record.set_identifier.as_deref(), Some("app-blue"));
        assert_eq!(a.record.weight, Some(100));
        // The NLB column of the canonical zone table.
        assert_eq!(
            a.record.alias.as_ref().map(|x| x.hosted_zone_id.as_str()),
            Some("Z26RNL4JYFTOTI")
        );
    }

    #[test]
    fn services_without_a_status_or_of_another_type_or_unread_publish_nothing() {
        let settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let host = [("hostname", "app.example.com")];
        for svc in [
            service(&host, LOAD_BALANCER, None),
            service(&host, crate::cluster::CLUSTER_IP, Some(NLB)),
            service(&[], LOAD_BALANCER, Some(NLB)),
        ] {
            let (endpoints, _) = desired_endpoints(&services(vec![svc.clone()]), &settings);
            assert!(endpoints.is_empty(), "{svc:?}");
        }
        // Without --source=service a Service is not read at all.
        let mut ingress_only = settings.clone();
        ingress_only.sources = vec![Source::Ingress];
        let (endpoints, _) = desired_endpoints(
            &services(vec![service(&host, LOAD_BALANCER, Some(NLB))]),
            &ingress_only,
        );
        assert!(endpoints.is_empty());
        // The target annotation wins over the status.
        let (endpoints, _) = desired_endpoints(
            &services(vec![service(
                &[
                    ("hostname", "app.example.com"),
                    ("target", "Other.Example.net."),
                ],
                LOAD_BALANCER,
                Some(NLB),
            )]),
            &settings,
        );
        assert_eq!(endpoints[0].record.record_type, "CNAME");
        assert_eq!(endpoints[0].record.values, vec!["other.example.net"]);
    }

    fn listener(
        name: &str,
        hostname: Option<&str>,
        from: Option<&str>,
    ) -> crate::cluster::Listener {
        crate::cluster::Listener {
            name: name.into(),
            hostname: hostname.map(str::to_string),
            port: 443,
            protocol: "HTTPS".into(),
            allowed_routes_from: from.map(str::to_string),
        }
    }

    fn gateway(listeners: Vec<crate::cluster::Listener>, pairs: &[(&str, &str)]) -> Gateway {
        Gateway {
            namespace: "infra".into(),
            name: "shared".into(),
            annotations: annotations(pairs),
            listeners,
            load_balancer: Some(GW_LB.into()),
        }
    }

    fn route(hostnames: &[&str], pairs: &[(&str, &str)], section: Option<&str>) -> HttpRoute {
        HttpRoute {
            namespace: "web".into(),
            name: "app".into(),
            annotations: annotations(pairs),
            hostnames: hostnames.iter().map(|h| h.to_string()).collect(),
            parents: vec![crate::cluster::RouteParent {
                namespace: Some("infra".into()),
                gateway: "shared".into(),
                section_name: section.map(str::to_string),
                accepted: true,
            }],
        }
    }

    fn routes(gw: Gateway, list: Vec<HttpRoute>) -> SourceObjects {
        SourceObjects {
            gateways: vec![gw],
            http_routes: list,
            ..SourceObjects::default()
        }
    }

    fn route_settings(version: Version) -> ExternalDnsSettings {
        let mut settings = ExternalDnsSettings::new("blue", version);
        settings.annotation_prefix = Some(P.to_string());
        settings.sources = vec![Source::GatewayHttproute];
        settings
    }

    fn hosts_of(endpoints: &[Endpoint]) -> Vec<String> {
        let mut hosts: Vec<String> = endpoints.iter().map(|e| e.record.name.clone()).collect();
        hosts.dedup();
        hosts
    }

    #[test]
    fn an_httproute_publishes_its_hosts_on_its_gateway_address_with_its_own_routing() {
        let settings = route_settings(Version::V0_22);
        let gw = gateway(
            vec![listener("https", Some("*.example.com"), Some("All"))],
            // Provider annotations on a Gateway are not read; only `target` is.
            &[("aws-weight", "7"), ("set-identifier", "from-gateway")],
        );
        let r = route(
            &["app.example.com", "app.other.org"],
            &[
                ("set-identifier", "app-green"),
                ("aws-weight", "0"),
                ("target", "ignored.example.net"),
                ("hostname", "extra.example.com"),
            ],
            None,
        );
        let (endpoints, warnings) = desired_endpoints(&routes(gw, vec![r]), &settings);
        assert!(warnings.is_empty(), "{warnings:?}");
        // app.other.org does not meet the listener's *.example.com.
        assert_eq!(
            hosts_of(&endpoints),
            vec!["app.example.com", "extra.example.com"]
        );
        for e in &endpoints {
            assert_eq!(e.resource, "httproute/web/app");
            assert_eq!(e.record.set_identifier.as_deref(), Some("app-green"));
            assert_eq!(e.record.weight, Some(0));
            assert_eq!(
                e.record.alias.as_ref().map(|a| a.dns_name.as_str()),
                Some(GW_LB)
            );
        }
        // The Gateway's `target` annotation replaces its address.
        let gw = gateway(
            vec![listener("https", None, Some("All"))],
            &[("target", "lb.example.net")],
        );
        let (endpoints, _) = desired_endpoints(
            &routes(gw, vec![route(&["app.example.com"], &[], None)]),
            &settings,
        );
        assert_eq!(endpoints[0].record.record_type, "CNAME");
        assert_eq!(endpoints[0].record.values, vec!["lb.example.net"]);
    }

    #[test]
    fn httproute_parents_must_be_accepted_admitted_and_of_a_matching_section() {
        let settings = route_settings(Version::V0_22);
        let gw = || {
            gateway(
                vec![
                    listener("shop", Some("shop.example.com"), Some("All")),
                    listener("same-ns", None, None),
                ],
                &[],
            )
        };
        let publish =
            |r: HttpRoute| hosts_of(&desired_endpoints(&routes(gw(), vec![r]), &settings).0);
        // No hostnames: the listener's hostname (the `Same` listener does not admit `web`).
        assert_eq!(publish(route(&[], &[], None)), vec!["shop.example.com"]);
        // Only the `Same` listener (any host) would take www.example.com; it does not admit `web`.
        assert!(publish(route(&["www.example.com"], &[], None)).is_empty());
        // A section limits the listeners.
        assert!(publish(route(&[], &[], Some("same-ns"))).is_empty());
        assert!(publish(route(&["www.example.com"], &[], Some("shop"))).is_empty());
        // Not accepted by the Gateway: nothing.
        let mut r = route(&["shop.example.com"], &[], None);
        r.parents[0].accepted = false;
        assert!(publish(r).is_empty());
        // A parent Gateway that does not exist: nothing.
        let mut r = route(&["shop.example.com"], &[], None);
        r.parents[0].gateway = "missing".into();
        assert!(publish(r).is_empty());
        // A route in the Gateway's namespace is admitted by `Same`.
        let mut r = route(&["www.example.com"], &[], Some("same-ns"));
        r.namespace = "infra".into();
        assert_eq!(publish(r), vec!["www.example.com"]);
        // A TCP listener takes no HTTPRoute.
        let mut tcp = gw();
        for l in &mut tcp.listeners {
            l.protocol = "TCP".into();
        }
        let (endpoints, _) = desired_endpoints(
            &routes(tcp, vec![route(&["shop.example.com"], &[], None)]),
            &settings,
        );
        assert!(endpoints.is_empty());
    }

    #[test]
    fn gateway_hostname_source_is_read_from_v0_21_on() {
        let gw = || {
            gateway(
                vec![listener("https", Some("*.example.com"), Some("All"))],
                &[],
            )
        };
        let r = route(
            &["spec.example.com"],
            &[
                ("hostname", "annotated.example.com"),
                ("gateway-hostname-source", "annotation-only"),
            ],
            None,
        );
        let publish = |version: Version, r: HttpRoute| {
            hosts_of(&desired_endpoints(&routes(gw(), vec![r]), &route_settings(version)).0)
        };
        assert_eq!(
            publish(Version::new(0, 20), r.clone()),
            vec!["annotated.example.com", "spec.example.com"]
        );
        assert_eq!(
            publish(Version::new(0, 21), r.clone()),
            vec!["annotated.example.com"]
        );
        let mut defined = r.clone();
        defined.annotations.insert(
            format!("{P}gateway-hostname-source"),
            "defined-hosts-only".into(),
        );
        assert_eq!(publish(Version::V0_22, defined), vec!["spec.example.com"]);
        // An unknown value is ignored: both.
        let mut unknown = r;
        unknown
            .annotations
            .insert(format!("{P}gateway-hostname-source"), "both".into());
        assert_eq!(
            publish(Version::V0_22, unknown),
            vec!["annotated.example.com", "spec.example.com"]
        );
    }

    #[test]
    fn overlapping_hosts_follow_the_wildcard_rules() {
        assert_eq!(
            overlap("", "a.example.com").as_deref(),
            Some("a.example.com")
        );
        assert_eq!(
            overlap("*.example.com", "a.b.example.com").as_deref(),
            Some("a.b.example.com")
        );
        assert_eq!(
            overlap("a.example.com", "*.example.com").as_deref(),
            Some("a.example.com")
        );
        assert_eq!(overlap("*.example.com", "example.com"), None);
        assert_eq!(
            overlap("*.example.com", "*.a.example.com").as_deref(),
            Some("*.a.example.com")
        );
        assert_eq!(overlap("a.example.com", "b.example.com"), None);
        assert_eq!(overlap("", "10.0.0.1"), None);
        assert_eq!(overlap("", "app.example.com."), None);
        assert_eq!(
            overlap("", "App.Example.com").as_deref(),
            Some("app.example.com")
        );
    }
}
