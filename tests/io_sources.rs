//! Services (type LoadBalancer) and Gateway API HTTPRoutes with their Gateways → the core's
//! `SourceObject`, as external-dns's `service` and `gateway-httproute` sources read them
//! (docs/reference/external-dns.md §6 "Sources other than Ingress, and version changes"): hosts,
//! targets, whose annotations count, which parents and listeners take a route, and malformed
//! objects refused with the object and the field named.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::collections::BTreeMap;

use cutover::observe::gateway::{http_route_objects, matching_host, RawObject};
use cutover::observe::kubernetes::service_object;
use cutover_core::observation::{SourceKind, SourceObject};
use cutover_core::registry::ExternalDnsVersion;
use cutover_core::types::DnsName;
use k8s_openapi::api::core::v1::Service;
use serde_json::{json, Value};

const P: &str = "external-dns.kubernetes.io/";
const NLB: &str = "k8s-pay-payments-0a1b.elb.eu-west-1.amazonaws.com";
const GW_LB: &str = "k8s-infra-shared-9z8y.eu-west-1.elb.amazonaws.com";
const V22: ExternalDnsVersion = ExternalDnsVersion::V0_22;

fn service(value: Value) -> Service {
    serde_json::from_value(value).unwrap()
}

fn hosts(o: &SourceObject) -> Vec<&str> {
    o.hosts.iter().map(DnsName::as_str).collect()
}

#[test]
fn a_load_balancer_service_gives_its_annotated_hosts_and_its_load_balancer() {
    let svc = service(json!({
        "metadata": {
            "name": "payments", "namespace": "pay",
            "annotations": {
                "external-dns.kubernetes.io/hostname": "Payments.Example.com., api.example.com,bad..name",
                "external-dns.kubernetes.io/set-identifier": "payments-green",
                "other.example/hostname": "ignored.example.com"
            }
        },
        "spec": {"type": "LoadBalancer", "clusterIP": "10.100.1.2"},
        "status": {"loadBalancer": {"ingress": [{"hostname": NLB}]}}
    }));
    let obj = service_object(&svc, P).unwrap();
    assert_eq!(obj.kind, SourceKind::Service);
    assert_eq!(
        (obj.namespace.as_str(), obj.name.as_str()),
        ("pay", "payments")
    );
    assert_eq!(hosts(&obj), vec!["payments.example.com", "api.example.com"]);
    assert_eq!(obj.load_balancer_hostnames, vec![NLB.to_string()]);
    assert_eq!(
        obj.annotations
            .get("external-dns.kubernetes.io/set-identifier"),
        Some(&"payments-green".to_string())
    );
    assert_eq!(obj.resource_label(), "service/pay/payments");
    // Another prefix reads another annotation.
    let other = service_object(&svc, "other.example/").unwrap();
    assert_eq!(hosts(&other), vec!["ignored.example.com"]);
}

#[test]
fn service_targets_follow_external_dns_order_and_other_types_are_not_read() {
    let with = |annotations: Value, spec: Value, status: Value| {
        service(json!({
            "metadata": {"name": "a", "namespace": "n", "annotations": annotations},
            "spec": spec, "status": status
        }))
    };
    let lb = json!({"type": "LoadBalancer"});
    let status = json!({"loadBalancer": {"ingress": [{"ip": "192.0.2.7", "hostname": NLB}]}});
    // Every status entry, IP before host name.
    let obj = service_object(&with(json!({}), lb.clone(), status.clone()), P).unwrap();
    assert_eq!(obj.load_balancer_hostnames, vec!["192.0.2.7", NLB]);
    // spec.externalIPs before the status; the target annotation before both.
    let external = json!({"type": "LoadBalancer", "externalIPs": ["198.51.100.1"]});
    let obj = service_object(&with(json!({}), external.clone(), status.clone()), P).unwrap();
    assert_eq!(obj.load_balancer_hostnames, vec!["198.51.100.1"]);
    let annotated =
        json!({"external-dns.kubernetes.io/target": "lb.example.net., other.example.net"});
    let obj = service_object(&with(annotated, external, status.clone()), P).unwrap();
    assert_eq!(
        obj.load_balancer_hostnames,
        vec!["lb.example.net", "other.example.net"]
    );
    // No status yet: a claimant without a load balancer.
    let obj = service_object(&with(json!({}), lb, json!({})), P).unwrap();
    assert!(obj.load_balancer_hostnames.is_empty());
    // Only type LoadBalancer is read.
    for spec in [
        json!({"type": "ClusterIP"}),
        json!({"type": "NodePort"}),
        json!({}),
    ] {
        assert!(
            service_object(&with(json!({}), spec.clone(), status.clone()), P).is_none(),
            "{spec}"
        );
    }
    let bare: Service = serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap();
    assert!(service_object(&bare, P).is_none());
}

// ---------------------------------------------------------------------------------------------
// HTTPRoutes and their Gateways

fn raw(namespace: &str, name: &str, annotations: &[(&str, &str)], data: Value) -> RawObject {
    RawObject {
        namespace: namespace.into(),
        name: name.into(),
        annotations: annotations
            .iter()
            .map(|(k, v)| (format!("{P}{k}"), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        data,
    }
}

fn gateway(annotations: &[(&str, &str)], listeners: Value, addresses: &[&str]) -> RawObject {
    let addresses: Vec<Value> = addresses
        .iter()
        .map(|a| json!({"type": "Hostname", "value": a}))
        .collect();
    raw(
        "infra",
        "shared",
        annotations,
        json!({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "spec": {"gatewayClassName": "alb", "listeners": listeners},
            "status": {"addresses": addresses}
        }),
    )
}

fn https_listener(name: &str, hostname: Option<&str>, from: &str) -> Value {
    let mut l = json!({"name": name, "port": 443, "protocol": "HTTPS",
                       "allowedRoutes": {"namespaces": {"from": from}}});
    if let Some(h) = hostname {
        l["hostname"] = json!(h);
    }
    l
}

fn parent_ref(section: Option<&str>) -> Value {
    let mut r = json!({"group": "gateway.networking.k8s.io", "kind": "Gateway",
                       "namespace": "infra", "name": "shared"});
    if let Some(s) = section {
        r["sectionName"] = json!(s);
    }
    r
}

fn route(annotations: &[(&str, &str)], hostnames: &[&str], accepted: &str) -> RawObject {
    raw(
        "web",
        "shop",
        annotations,
        json!({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "spec": {"hostnames": hostnames, "parentRefs": [parent_ref(None)]},
            "status": {"parents": [{
                "parentRef": parent_ref(None),
                "controllerName": "example.com/gateway",
                "conditions": [{"type": "Accepted", "status": accepted, "reason": "Accepted",
                                "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]
            }]}
        }),
    )
}

fn resolve(routes: &[RawObject], gateways: &[RawObject]) -> Vec<SourceObject> {
    http_route_objects(routes, gateways, P, V22).unwrap()
}

#[test]
fn an_httproute_publishes_on_its_gateway_with_the_route_annotations() {
    let gw = gateway(
        // Provider annotations on a Gateway are not read.
        &[("aws-weight", "7")],
        json!([https_listener("https", Some("*.example.com"), "All")]),
        &[GW_LB],
    );
    let r = route(
        &[
            ("set-identifier", "shop-green"),
            ("aws-weight", "0"),
            ("hostname", "extra.example.com"),
            // A target on the route is not read.
            ("target", "ignored.example.net"),
        ],
        &["shop.example.com", "shop.other.org"],
        "True",
    );
    let objects = resolve(&[r], &[gw]);
    assert_eq!(objects.len(), 1, "{objects:?}");
    let obj = &objects[0];
    assert_eq!(obj.kind, SourceKind::HttpRoute);
    assert_eq!(obj.resource_label(), "httproute/web/shop");
    // shop.other.org does not meet the listener's *.example.com.
    assert_eq!(hosts(obj), vec!["extra.example.com", "shop.example.com"]);
    assert_eq!(obj.load_balancer_hostnames, vec![GW_LB.to_string()]);
    assert_eq!(
        obj.annotations.get("external-dns.kubernetes.io/aws-weight"),
        Some(&"0".to_string())
    );
    // The Gateway's target annotation replaces its addresses.
    let gw = gateway(
        &[("target", "lb.example.net.")],
        json!([https_listener("https", None, "All")]),
        &[GW_LB],
    );
    let objects = resolve(&[route(&[], &["shop.example.com"], "True")], &[gw]);
    assert_eq!(objects[0].load_balancer_hostnames, vec!["lb.example.net"]);
    // A Gateway without an address: the route claims its hosts without a load balancer.
    let gw = gateway(&[], json!([https_listener("https", None, "All")]), &[]);
    let objects = resolve(&[route(&[], &["shop.example.com"], "True")], &[gw]);
    assert_eq!(hosts(&objects[0]), vec!["shop.example.com"]);
    assert!(objects[0].load_balancer_hostnames.is_empty());
}

#[test]
fn only_accepted_listed_parents_and_admitting_listeners_count() {
    let gw = || {
        gateway(
            &[],
            json!([
                https_listener("shop", Some("shop.example.com"), "All"),
                https_listener("same", None, "Same")
            ]),
            &[GW_LB],
        )
    };
    let published = |r: RawObject| -> Vec<String> {
        resolve(&[r], &[gw()])
            .iter()
            .flat_map(|o| o.hosts.iter().map(|h| h.to_string()))
            .collect()
    };
    // No hostnames: the listeners' (the `Same` listener does not admit namespace `web`).
    assert_eq!(published(route(&[], &[], "True")), vec!["shop.example.com"]);
    // Only the `Same` listener (any host) would take www.example.com, and it does not admit `web`.
    assert!(published(route(&[], &["www.example.com"], "True")).is_empty());
    // Not accepted.
    assert!(published(route(&[], &["shop.example.com"], "False")).is_empty());
    // A parent in the status that spec.parentRefs does not list.
    let mut r = route(&[], &["shop.example.com"], "True");
    r.data["spec"]["parentRefs"][0]["name"] = json!("other");
    assert!(published(r).is_empty());
    // A parent that is not a Gateway.
    let mut r = route(&[], &["shop.example.com"], "True");
    for path in ["spec", "status"] {
        let target = if path == "spec" {
            &mut r.data["spec"]["parentRefs"][0]
        } else {
            &mut r.data["status"]["parents"][0]["parentRef"]
        };
        target["kind"] = json!("ListenerSet");
    }
    assert!(published(r).is_empty());
    // A Gateway that does not exist.
    assert!(resolve(&[route(&[], &["shop.example.com"], "True")], &[]).is_empty());
    // A section picks its listener; a port must match it.
    let mut r = route(&[], &["www.example.com"], "True");
    r.data["spec"]["parentRefs"][0]["sectionName"] = json!("shop");
    r.data["status"]["parents"][0]["parentRef"]["sectionName"] = json!("shop");
    assert!(published(r).is_empty());
    let mut r = route(&[], &["shop.example.com"], "True");
    r.data["status"]["parents"][0]["parentRef"]["port"] = json!(8443);
    r.data["spec"]["parentRefs"][0]["port"] = json!(8443);
    assert!(published(r).is_empty());
    // A route in the Gateway's namespace is admitted by `Same`.
    let mut r = route(&[], &["www.example.com"], "True");
    r.namespace = "infra".into();
    assert_eq!(published(r), vec!["www.example.com"]);
    // A TCP listener, or one that lists other kinds only, takes no HTTPRoute.
    let tcp = gateway(
        &[],
        json!([{"name": "tcp", "port": 443, "protocol": "TCP",
                "allowedRoutes": {"namespaces": {"from": "All"}}}]),
        &[GW_LB],
    );
    assert!(resolve(&[route(&[], &["shop.example.com"], "True")], &[tcp]).is_empty());
    let grpc_only = gateway(
        &[],
        json!([{"name": "h", "port": 443, "protocol": "HTTPS",
                "allowedRoutes": {"namespaces": {"from": "All"}, "kinds": [{"kind": "GRPCRoute"}]}}]),
        &[GW_LB],
    );
    assert!(resolve(&[route(&[], &["shop.example.com"], "True")], &[grpc_only]).is_empty());
    // A selector is taken as the Gateway's acceptance.
    let selector = gateway(
        &[],
        json!([https_listener("h", None, "Selector")]),
        &[GW_LB],
    );
    assert_eq!(
        resolve(&[route(&[], &["shop.example.com"], "True")], &[selector]).len(),
        1
    );
}

#[test]
fn a_route_on_two_gateways_gives_each_host_its_own_gateways_targets() {
    let other_lb = "k8s-infra-other-1111.eu-west-1.elb.amazonaws.com";
    let shop = gateway(
        &[],
        json!([https_listener("h", Some("*.example.com"), "All")]),
        &[GW_LB],
    );
    let mut other = gateway(
        &[],
        json!([https_listener("h", Some("*.example.org"), "All")]),
        &[other_lb],
    );
    other.name = "other".into();
    let mut r = route(&[], &["shop.example.com", "shop.example.org"], "True");
    let second = json!({"group": "gateway.networking.k8s.io", "kind": "Gateway",
                        "namespace": "infra", "name": "other"});
    r.data["spec"]["parentRefs"]
        .as_array_mut()
        .unwrap()
        .push(second.clone());
    let mut status = r.data["status"]["parents"][0].clone();
    status["parentRef"] = second;
    r.data["status"]["parents"]
        .as_array_mut()
        .unwrap()
        .push(status);
    let objects = resolve(&[r], &[shop, other]);
    let by_host: BTreeMap<String, Vec<String>> = objects
        .iter()
        .flat_map(|o| {
            o.hosts
                .iter()
                .map(|h| (h.to_string(), o.load_balancer_hostnames.clone()))
        })
        .collect();
    assert_eq!(by_host["shop.example.com"], vec![GW_LB.to_string()]);
    assert_eq!(by_host["shop.example.org"], vec![other_lb.to_string()]);
}

#[test]
fn gateway_hostname_source_is_read_from_v0_21_on() {
    let gw = || {
        gateway(
            &[],
            json!([https_listener("h", Some("*.example.com"), "All")]),
            &[GW_LB],
        )
    };
    let r = route(
        &[
            ("hostname", "annotated.example.com"),
            ("gateway-hostname-source", "annotation-only"),
        ],
        &["spec.example.com"],
        "True",
    );
    let published = |version, r: &RawObject| -> Vec<String> {
        http_route_objects(std::slice::from_ref(r), &[gw()], P, version)
            .unwrap()
            .iter()
            .flat_map(|o| o.hosts.iter().map(|h| h.to_string()))
            .collect()
    };
    assert_eq!(
        published(ExternalDnsVersion::new(0, 20), &r),
        vec!["annotated.example.com", "spec.example.com"]
    );
    assert_eq!(
        published(ExternalDnsVersion::new(0, 21), &r),
        vec!["annotated.example.com"]
    );
    let mut defined = r.clone();
    defined.annotations.insert(
        format!("{P}gateway-hostname-source"),
        "Defined-Hosts-Only".into(),
    );
    assert_eq!(published(V22, &defined), vec!["spec.example.com"]);
}

#[test]
fn malformed_routes_and_gateways_are_refused_naming_the_object_and_the_field() {
    let gw = gateway(&[], json!([https_listener("h", None, "All")]), &[GW_LB]);
    let mut r = route(&[], &["shop.example.com"], "True");
    r.data["spec"]["hostnames"] = json!("shop.example.com");
    let err = http_route_objects(&[r], std::slice::from_ref(&gw), P, V22).unwrap_err();
    assert!(
        err.starts_with("HTTPRoute web/shop: spec.hostnames: invalid type: string"),
        "{err}"
    );
    let mut r = route(&[], &["shop.example.com"], "True");
    r.data["spec"]["parentRefs"][0]
        .as_object_mut()
        .unwrap()
        .remove("name");
    let err = http_route_objects(&[r], std::slice::from_ref(&gw), P, V22).unwrap_err();
    assert!(
        err.starts_with("HTTPRoute web/shop: spec.parentRefs[0]: missing field `name`"),
        "{err}"
    );
    let bad_gw = gateway(
        &[],
        json!([{"name": "h", "port": "443", "protocol": "HTTPS"}]),
        &[GW_LB],
    );
    let err = http_route_objects(&[route(&[], &["a.example.com"], "True")], &[bad_gw], P, V22)
        .unwrap_err();
    assert!(
        err.starts_with("Gateway infra/shared: spec.listeners[0].port: invalid type: string"),
        "{err}"
    );
    // Objects with nothing but metadata are not errors: they publish nothing.
    let empty_route = raw("web", "empty", &[], json!({}));
    let empty_gw = raw("infra", "shared", &[], json!({}));
    assert!(http_route_objects(&[empty_route], &[empty_gw], P, V22)
        .unwrap()
        .is_empty());
}

#[test]
fn listener_and_route_hosts_overlap_as_the_gateway_api_says() {
    assert_eq!(
        matching_host("", "a.example.com").as_deref(),
        Some("a.example.com")
    );
    assert_eq!(
        matching_host("*.example.com", "a.b.example.com").as_deref(),
        Some("a.b.example.com")
    );
    assert_eq!(
        matching_host("a.example.com", "*.example.com").as_deref(),
        Some("a.example.com")
    );
    assert_eq!(matching_host("*.example.com", "example.com"), None);
    assert_eq!(matching_host("a.example.com", "b.example.com"), None);
    assert_eq!(matching_host("", "192.0.2.1"), None);
    assert_eq!(matching_host("", "a.example.com."), None);
    assert_eq!(
        matching_host("", "A.Example.com").as_deref(),
        Some("a.example.com")
    );
}
