//! Gateway API HTTPRoutes as external-dns's `gateway-httproute` source reads them
//! (docs/reference/external-dns.md §6 "Gateway API routes"), converted into the core's
//! `SourceObject`: which hosts a route publishes and where they point.
//!
//! The rules, as external-dns v0.20–v0.22 apply them:
//! - hosts: the route's `spec.hostnames` and its `hostname` annotation (from v0.21 the route's
//!   `gateway-hostname-source` annotation may keep only one of the two: `annotation-only`,
//!   `defined-hosts-only`); a route without `spec.hostnames` also takes its listeners' hostnames;
//! - parents: only a parent named in `spec.parentRefs` *and* in `status.parents` with the
//!   condition `Accepted=True`, a `gateway.networking.k8s.io` `Gateway` that exists;
//! - listeners: the parent's section (or every listener), HTTP or HTTPS, of the parent's port when
//!   one is given, admitting the route's namespace (`Same` by default, `All`; a namespace
//!   `Selector` is taken as admitting the route its Gateway accepted — cutover does not read
//!   Namespaces), with the route's kind when the listener lists kinds; the host is the most
//!   specific overlap of the listener's hostname and the route's (`*.` a suffix match);
//! - targets: the Gateway's `target` annotation, else its `status.addresses[].value`; a `target`
//!   annotation on the route is not read, nor are provider annotations (`aws-weight`, …) on the
//!   Gateway: those are the route's;
//! - the registry `resource` label is `httproute/<namespace>/<name>`.
//!
//! ListenerSets (`--gateway-listener-sets`), `--gateway-name`/`--gateway-namespace`, label and
//! annotation filters and FQDN templates are not modelled.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use cutover_core::observation::{SourceKind, SourceObject};
use cutover_core::registry::ExternalDnsVersion;
use cutover_core::types::DnsName;

pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
pub const GATEWAY_KIND: &str = "Gateway";
pub const HTTP_ROUTE_KIND: &str = "HTTPRoute";

/// One object as listed: its metadata and the rest of its JSON (`spec`, `status`).
#[derive(Debug, Clone, Default)]
pub struct RawObject {
    pub namespace: String,
    pub name: String,
    pub annotations: BTreeMap<String, String>,
    /// The object's JSON without `metadata` (what kube's `DynamicObject::data` holds).
    pub data: serde_json::Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RouteBody {
    #[serde(default)]
    spec: RouteSpec,
    #[serde(default)]
    status: RouteStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RouteSpec {
    #[serde(default)]
    hostnames: Vec<String>,
    #[serde(default)]
    parent_refs: Vec<ParentRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RouteStatus {
    #[serde(default)]
    parents: Vec<RouteParentStatus>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RouteParentStatus {
    parent_ref: ParentRef,
    #[serde(default)]
    conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParentRef {
    group: Option<String>,
    kind: Option<String>,
    namespace: Option<String>,
    name: String,
    section_name: Option<String>,
    port: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Condition {
    #[serde(rename = "type")]
    condition_type: String,
    status: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GatewayBody {
    #[serde(default)]
    spec: GatewaySpec,
    #[serde(default)]
    status: GatewayStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GatewaySpec {
    #[serde(default)]
    listeners: Vec<Listener>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listener {
    name: String,
    hostname: Option<String>,
    port: i64,
    protocol: String,
    allowed_routes: Option<AllowedRoutes>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AllowedRoutes {
    namespaces: Option<RouteNamespaces>,
    #[serde(default)]
    kinds: Vec<RouteGroupKind>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RouteNamespaces {
    from: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RouteGroupKind {
    group: Option<String>,
    kind: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GatewayStatus {
    #[serde(default)]
    addresses: Vec<GatewayAddress>,
}

#[derive(Debug, Deserialize)]
struct GatewayAddress {
    value: String,
}

struct Gateway<'a> {
    raw: &'a RawObject,
    body: GatewayBody,
}

/// Reads one object's body, naming the object and the field on a malformed one.
fn body<T: DeserializeOwned>(kind: &str, raw: &RawObject) -> Result<T, String> {
    serde_path_to_error::deserialize(&raw.data).map_err(|e| {
        format!(
            "{kind} {}/{}: {}: {}",
            raw.namespace,
            raw.name,
            e.path(),
            e.inner()
        )
    })
}

/// The HTTPRoutes of a cluster as external-dns publishes them, given the cluster's Gateways: per
/// route, one `SourceObject` per distinct set of targets (a route attached to one Gateway gives
/// one). A route that publishes no host gives none. `Err`: a route or Gateway is malformed (the
/// message names it and the field).
pub fn http_route_objects(
    routes: &[RawObject],
    gateways: &[RawObject],
    annotation_prefix: &str,
    version: ExternalDnsVersion,
) -> Result<Vec<SourceObject>, String> {
    let mut by_ref: BTreeMap<(String, String), Gateway<'_>> = BTreeMap::new();
    for raw in gateways {
        let body = body::<GatewayBody>(GATEWAY_KIND, raw)?;
        by_ref.insert(
            (raw.namespace.clone(), raw.name.clone()),
            Gateway { raw, body },
        );
    }
    let mut out = Vec::new();
    for raw in routes {
        let route = body::<RouteBody>(HTTP_ROUTE_KIND, raw)?;
        out.extend(route_objects(
            raw,
            &route,
            &by_ref,
            annotation_prefix,
            version,
        ));
    }
    Ok(out)
}

fn route_objects(
    raw: &RawObject,
    route: &RouteBody,
    gateways: &BTreeMap<(String, String), Gateway<'_>>,
    prefix: &str,
    version: ExternalDnsVersion,
) -> Vec<SourceObject> {
    let route_hosts = route_hostnames(raw, route, prefix, version);
    let mut host_targets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if route.spec.parent_refs.is_empty() {
        return Vec::new();
    }
    for parent in &route.status.parents {
        let Some((gateway, section)) = accepted_parent(raw, route, parent, gateways) else {
            continue;
        };
        for listener in gateway
            .body
            .spec
            .listeners
            .iter()
            .filter(|l| section.is_none_or(|s| l.name == s))
        {
            if !listener_admits(listener, &parent.parent_ref, raw, &gateway.raw.namespace) {
                continue;
            }
            let listener_host = listener.hostname.as_deref().unwrap_or("");
            for route_host in &route_hosts {
                if listener_host.is_empty() && route_host.is_empty() {
                    continue;
                }
                let Some(host) = matching_host(listener_host, route_host) else {
                    continue;
                };
                let targets = host_targets.entry(host).or_default();
                let overrides = targets_from_annotation(
                    gateway.raw.annotations.get(&format!("{prefix}target")),
                );
                if overrides.is_empty() {
                    targets.extend(
                        gateway
                            .body
                            .status
                            .addresses
                            .iter()
                            .map(|a| a.value.clone()),
                    );
                } else {
                    targets.extend(overrides);
                }
            }
        }
    }
    // One object per distinct target set: a host's targets are its own Gateways' only.
    let mut by_targets: BTreeMap<Vec<String>, Vec<DnsName>> = BTreeMap::new();
    for (host, mut targets) in host_targets {
        targets.sort();
        targets.dedup();
        if let Ok(name) = DnsName::parse(&host) {
            by_targets.entry(targets).or_default().push(name);
        }
    }
    by_targets
        .into_iter()
        .map(|(targets, hosts)| SourceObject {
            kind: SourceKind::HttpRoute,
            namespace: raw.namespace.clone(),
            name: raw.name.clone(),
            hosts,
            annotations: raw.annotations.clone(),
            load_balancer_hostnames: targets,
        })
        .collect()
}

/// The route's candidate hosts: `spec.hostnames`, the `hostname` annotation, and `""` (any
/// listener hostname) when the route names none; from v0.21 `gateway-hostname-source` may keep
/// only the annotation (`annotation-only`) or only the spec (`defined-hosts-only`).
fn route_hostnames(
    raw: &RawObject,
    route: &RouteBody,
    prefix: &str,
    version: ExternalDnsVersion,
) -> Vec<String> {
    let spec = route.spec.hostnames.clone();
    let annotated = split_annotation(raw.annotations.get(&format!("{prefix}hostname")));
    // An empty entry (`"a.example.com,"`) is kept, as external-dns keeps it: like a route without
    // hostnames, it takes the listener's hostname.
    let both = || {
        let mut hosts = spec.clone();
        if spec.is_empty() {
            hosts.push(String::new());
        }
        hosts.extend(annotated.iter().cloned());
        hosts
    };
    if version < ExternalDnsVersion::new(0, 21) {
        return both();
    }
    match raw
        .annotations
        .get(&format!("{prefix}gateway-hostname-source"))
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        Some("annotation-only") => annotated,
        Some("defined-hosts-only") => spec,
        // Absent, or a value external-dns warns about and ignores.
        _ => both(),
    }
}

/// The Gateway and section of one `status.parents[]` entry when external-dns would use it:
/// named in `spec.parentRefs`, a Gateway of the Gateway API group that exists, and accepted.
fn accepted_parent<'g, 'r>(
    raw: &RawObject,
    route: &RouteBody,
    parent: &'r RouteParentStatus,
    gateways: &'g BTreeMap<(String, String), Gateway<'g>>,
) -> Option<(&'g Gateway<'g>, Option<&'r str>)> {
    let r = &parent.parent_ref;
    let namespace = non_empty(r.namespace.as_deref()).unwrap_or(&raw.namespace);
    let group = non_empty(r.group.as_deref()).unwrap_or(GATEWAY_GROUP);
    let kind = non_empty(r.kind.as_deref()).unwrap_or(GATEWAY_KIND);
    let listed = route.spec.parent_refs.iter().any(|s| {
        non_empty(s.group.as_deref()).unwrap_or(GATEWAY_GROUP) == group
            && non_empty(s.kind.as_deref()).unwrap_or(GATEWAY_KIND) == kind
            && s.name == r.name
            && non_empty(s.namespace.as_deref()).unwrap_or(&raw.namespace) == namespace
    });
    if !listed || group != GATEWAY_GROUP || kind != GATEWAY_KIND {
        return None;
    }
    let gateway = gateways.get(&(namespace.to_string(), r.name.clone()))?;
    let accepted = parent
        .conditions
        .iter()
        .find(|c| c.condition_type == "Accepted")
        .is_some_and(|c| c.status == "True");
    if !accepted {
        return None;
    }
    Some((gateway, non_empty(r.section_name.as_deref())))
}

/// Whether `listener` takes an HTTPRoute through `parent_ref` from the route's namespace.
fn listener_admits(
    listener: &Listener,
    parent_ref: &ParentRef,
    raw: &RawObject,
    gateway_namespace: &str,
) -> bool {
    // HTTP and HTTPS are one protocol for an HTTPRoute.
    if !matches!(listener.protocol.as_str(), "HTTP" | "HTTPS") {
        return false;
    }
    if parent_ref.port.is_some_and(|p| p != listener.port) {
        return false;
    }
    let allowed = listener.allowed_routes.as_ref();
    let from = allowed
        .and_then(|a| a.namespaces.as_ref())
        .and_then(|n| n.from.as_deref())
        .unwrap_or("Same");
    let namespace_ok = match from {
        "All" => true,
        "Same" => gateway_namespace == raw.namespace,
        // The Gateway accepted the route (checked by the caller) after evaluating its selector.
        "Selector" => true,
        _ => false,
    };
    if !namespace_ok {
        return false;
    }
    match allowed.map(|a| a.kinds.as_slice()) {
        None | Some([]) => true,
        Some(kinds) => kinds.iter().any(|k| {
            non_empty(k.group.as_deref()).unwrap_or(GATEWAY_GROUP) == GATEWAY_GROUP
                && k.kind == HTTP_ROUTE_KIND
        }),
    }
}

/// The most specific overlap of two hostnames (`*.` a suffix match of one label or more, `""` any
/// host), or `None`; an IP address or a name that is not a DNS-1123 domain matches nothing.
pub fn matching_host(a: &str, b: &str) -> Option<String> {
    let a = canonical_host(a)?;
    let b = canonical_host(b)?;
    if a.is_empty() {
        return Some(b);
    }
    if b.is_empty() || a == b {
        return Some(a);
    }
    let (wild, other) = if b.len() < a.len() || (a.len() == b.len() && b.starts_with("*.")) {
        (b, a)
    } else {
        (a, b)
    };
    match wild.strip_prefix('*') {
        Some(suffix) if wild.starts_with("*.") && other.ends_with(suffix) => Some(other),
        _ => None,
    }
}

/// A host lower-cased, or `None` when it is an IP address or not a DNS-1123 domain (an optional
/// leading `*.` aside).
fn canonical_host(host: &str) -> Option<String> {
    if host.is_empty() {
        return Some(String::new());
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let domain = host.strip_prefix("*.").unwrap_or(host);
    let valid = !domain.is_empty()
        && domain.len() <= 255
        && domain.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= 63
                && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
                && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        });
    valid.then(|| host.to_ascii_lowercase())
}

/// external-dns's comma-separated annotation values: spaces removed, split on commas; empty
/// entries are kept.
pub fn split_annotation(value: Option<&String>) -> Vec<String> {
    let Some(value) = value else {
        return Vec::new();
    };
    value
        .replace(' ', "")
        .split(',')
        .map(str::to_string)
        .collect()
}

/// The `target` annotation's targets: split as above, each without its trailing dot; an empty
/// entry names no target and is skipped.
pub fn targets_from_annotation(value: Option<&String>) -> Vec<String> {
    split_annotation(value)
        .into_iter()
        .map(|s| s.trim_end_matches('.').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}
