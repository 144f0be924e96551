//! The source objects of the `Cluster` store — Ingresses (`networking.k8s.io/v1`), Services
//! (`v1`), Gateways and HTTPRoutes (`gateway.networking.k8s.io/v1`) — rendered as the API server
//! serves them, with the metadata it keeps per object (uid, creationTimestamp, resourceVersion),
//! the `Table`s kubectl asks for, and the `Status` objects the API server answers errors with.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::SystemTime;

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::cluster::{Cluster, Gateway, HttpRoute, Ingress, Service};

pub(crate) const GROUP: &str = "networking.k8s.io";
pub(crate) const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
/// The controller that sets the HTTPRoutes' `status.parents[].controllerName`.
const GATEWAY_CONTROLLER: &str = "sandbox.example/gateway-controller";

/// A kind the API serves: its group, names and columns.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ApiKind {
    /// `""` for the core group.
    pub group: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub short_names: &'static [&'static str],
    /// kubectl's columns for the kind (name, type, format).
    columns: &'static [(&'static str, &'static str, &'static str)],
}

impl ApiKind {
    /// `v1` or `<group>/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            "v1".to_string()
        } else {
            format!("{}/v1", self.group)
        }
    }

    /// `services`, `ingresses.networking.k8s.io`: how the API server names the resource in
    /// messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

pub(crate) const INGRESS: ApiKind = ApiKind {
    group: GROUP,
    kind: "Ingress",
    plural: "ingresses",
    singular: "ingress",
    short_names: &["ing"],
    columns: &[
        ("Name", "string", "name"),
        ("Class", "string", ""),
        ("Hosts", "string", ""),
        ("Address", "string", ""),
        ("Ports", "string", ""),
        ("Age", "string", "date"),
    ],
};

pub(crate) const SERVICE: ApiKind = ApiKind {
    group: "",
    kind: "Service",
    plural: "services",
    singular: "service",
    short_names: &["svc"],
    columns: &[
        ("Name", "string", "name"),
        ("Type", "string", ""),
        ("Cluster-IP", "string", ""),
        ("External-IP", "string", ""),
        ("Port(s)", "string", ""),
        ("Age", "string", "date"),
    ],
};

pub(crate) const GATEWAY: ApiKind = ApiKind {
    group: GATEWAY_GROUP,
    kind: "Gateway",
    plural: "gateways",
    singular: "gateway",
    short_names: &["gtw"],
    columns: &[
        ("Name", "string", "name"),
        ("Class", "string", ""),
        ("Address", "string", ""),
        ("Programmed", "string", ""),
        ("Age", "string", "date"),
    ],
};

pub(crate) const HTTP_ROUTE: ApiKind = ApiKind {
    group: GATEWAY_GROUP,
    kind: "HTTPRoute",
    plural: "httproutes",
    singular: "httproute",
    short_names: &[],
    columns: &[
        ("Name", "string", "name"),
        ("Hostnames", "string", ""),
        ("Age", "string", "date"),
    ],
};

/// Every kind served, in discovery order.
pub(crate) const KINDS: [&ApiKind; 4] = [&INGRESS, &SERVICE, &GATEWAY, &HTTP_ROUTE];

/// The kind served at `group`/`plural` (`""` for the core group).
pub(crate) fn kind_at(group: &str, plural: &str) -> Option<&'static ApiKind> {
    KINDS
        .into_iter()
        .find(|k| k.group == group && k.plural == plural)
}

/// One stored object of any served kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stored {
    Ingress(Ingress),
    Service(Service),
    Gateway(Gateway),
    HttpRoute(HttpRoute),
}

impl Stored {
    pub fn kind(&self) -> &'static ApiKind {
        match self {
            Stored::Ingress(_) => &INGRESS,
            Stored::Service(_) => &SERVICE,
            Stored::Gateway(_) => &GATEWAY,
            Stored::HttpRoute(_) => &HTTP_ROUTE,
        }
    }

    pub fn namespace(&self) -> &str {
        match self {
            Stored::Ingress(o) => &o.namespace,
            Stored::Service(o) => &o.namespace,
            Stored::Gateway(o) => &o.namespace,
            Stored::HttpRoute(o) => &o.namespace,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Stored::Ingress(o) => &o.name,
            Stored::Service(o) => &o.name,
            Stored::Gateway(o) => &o.name,
            Stored::HttpRoute(o) => &o.name,
        }
    }

    fn annotations(&self) -> &BTreeMap<String, String> {
        match self {
            Stored::Ingress(o) => &o.annotations,
            Stored::Service(o) => &o.annotations,
            Stored::Gateway(o) => &o.annotations,
            Stored::HttpRoute(o) => &o.annotations,
        }
    }

    fn key(&self) -> (&'static str, String, String) {
        (
            self.kind().plural,
            self.namespace().to_string(),
            self.name().to_string(),
        )
    }

    /// The object as the API server serves it.
    fn render(&self, meta: &ObjectMeta) -> Value {
        let kind = self.kind();
        let mut object = match self {
            Stored::Ingress(o) => render_ingress(o),
            Stored::Service(o) => render_service(o),
            Stored::Gateway(o) => render_gateway(o),
            Stored::HttpRoute(o) => render_http_route(o, meta),
        };
        object["kind"] = json!(kind.kind);
        object["apiVersion"] = json!(kind.api_version());
        object["metadata"] = metadata(self, meta);
        object
    }

    /// The cells of kubectl's columns for the kind, `Age` last.
    fn cells(&self, meta: &ObjectMeta, now: SystemTime) -> Vec<Value> {
        let age = json!(age(meta.created, now));
        match self {
            Stored::Ingress(o) => vec![
                json!(o.name),
                json!(ingress_class(o)),
                json!(if o.hosts.is_empty() {
                    "*".to_string()
                } else {
                    o.hosts.join(",")
                }),
                json!(o.load_balancer.clone().unwrap_or_default()),
                json!("80"),
                age,
            ],
            Stored::Service(o) => vec![
                json!(o.name),
                json!(o.service_type),
                json!(cluster_ip(&o.namespace, &o.name)),
                json!(match (&o.load_balancer, o.service_type.as_str()) {
                    (Some(lb), _) => lb.clone(),
                    (None, crate::cluster::LOAD_BALANCER) => "<pending>".to_string(),
                    (None, _) => "<none>".to_string(),
                }),
                json!(if o.service_type == crate::cluster::LOAD_BALANCER {
                    "443:31443/TCP"
                } else {
                    "443/TCP"
                }),
                age,
            ],
            Stored::Gateway(o) => vec![
                json!(o.name),
                json!(GATEWAY_CLASS),
                json!(o.load_balancer.clone().unwrap_or_default()),
                json!(if o.load_balancer.is_some() {
                    "True"
                } else {
                    "False"
                }),
                age,
            ],
            Stored::HttpRoute(o) => vec![
                json!(o.name),
                json!(if o.hostnames.is_empty() {
                    String::new()
                } else {
                    format!("[\"{}\"]", o.hostnames.join("\",\""))
                }),
                age,
            ],
        }
    }
}

/// What the API server remembers of an object between requests.
#[derive(Debug, Clone)]
struct ObjectMeta {
    uid: String,
    created: SystemTime,
    resource_version: u64,
    last_seen: Stored,
}

/// The API server's per-object metadata, refreshed from the store on each request: a new object
/// gets a uid and a creation time (simulated now); a changed one gets the store's current
/// resource version; a removed one is forgotten (re-created later, it is a new object).
#[derive(Debug, Default)]
pub(crate) struct ObjectTable {
    objects: Mutex<BTreeMap<(&'static str, String, String), ObjectMeta>>,
}

/// One consistent read: the list's resource version and each object with its metadata.
pub(crate) struct Snapshot {
    pub resource_version: u64,
    items: Vec<(Stored, ObjectMeta)>,
}

impl ObjectTable {
    pub(crate) fn snapshot(&self, cluster: &Cluster, now: SystemTime) -> Snapshot {
        let resource_version = cluster.resource_version();
        let sources = cluster.source_objects();
        let stored: Vec<Stored> = sources
            .ingresses
            .into_iter()
            .map(Stored::Ingress)
            .chain(sources.services.into_iter().map(Stored::Service))
            .chain(sources.gateways.into_iter().map(Stored::Gateway))
            .chain(sources.http_routes.into_iter().map(Stored::HttpRoute))
            .collect();
        let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        objects.retain(|key, _| stored.iter().any(|o| &o.key() == key));
        let items = stored
            .into_iter()
            .map(|object| {
                let meta = objects
                    .entry(object.key())
                    .and_modify(|meta| {
                        if meta.last_seen != object {
                            meta.resource_version = resource_version;
                            meta.last_seen = object.clone();
                        }
                    })
                    .or_insert_with(|| ObjectMeta {
                        uid: new_uid(),
                        created: now,
                        resource_version,
                        last_seen: object.clone(),
                    })
                    .clone();
                (object, meta)
            })
            .collect();
        Snapshot {
            resource_version,
            items,
        }
    }
}

impl Snapshot {
    /// `<Kind>List` of the objects of `kind` in `namespace` (all namespaces when `None`).
    pub(crate) fn list(&self, kind: &ApiKind, namespace: Option<&str>) -> Value {
        let items: Vec<Value> = self
            .matching(kind, namespace)
            .map(|(object, meta)| object.render(meta))
            .collect();
        json!({
            "kind": format!("{}List", kind.kind),
            "apiVersion": kind.api_version(),
            "metadata": { "resourceVersion": self.resource_version.to_string() },
            "items": items,
        })
    }

    /// One object, or `None` when missing.
    pub(crate) fn get(&self, kind: &ApiKind, namespace: &str, name: &str) -> Option<Value> {
        self.matching(kind, Some(namespace))
            .find(|(object, _)| object.name() == name)
            .map(|(object, meta)| object.render(meta))
    }

    /// A `meta.k8s.io/v1` `Table` of the objects of `kind` (what `kubectl get` asks for), with
    /// the columns kubectl shows for the kind.
    pub(crate) fn table(
        &self,
        kind: &ApiKind,
        namespace: Option<&str>,
        name: Option<&str>,
        now: SystemTime,
    ) -> Value {
        let rows: Vec<Value> = self
            .matching(kind, namespace)
            .filter(|(object, _)| name.is_none_or(|n| object.name() == n))
            .map(|(object, meta)| {
                json!({
                    "cells": object.cells(meta, now),
                    "object": {
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": metadata(object, meta),
                    },
                })
            })
            .collect();
        let columns: Vec<Value> = kind
            .columns
            .iter()
            .map(|(name, kind, format)| column(name, kind, format))
            .collect();
        json!({
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": { "resourceVersion": self.resource_version.to_string() },
            "columnDefinitions": columns,
            "rows": rows,
        })
    }

    /// The namespaces that exist: the system ones and every namespace holding an object.
    pub(crate) fn namespaces(&self) -> Vec<String> {
        let mut names: Vec<String> = SYSTEM_NAMESPACES.iter().map(|n| n.to_string()).collect();
        names.extend(
            self.items
                .iter()
                .map(|(object, _)| object.namespace().to_string()),
        );
        names.sort();
        names.dedup();
        names
    }

    /// A `Namespace` object, or `None` when no such namespace exists.
    pub(crate) fn namespace(&self, name: &str, created: SystemTime) -> Option<Value> {
        self.namespaces()
            .iter()
            .any(|n| n == name)
            .then(|| render_namespace(name, created, self.resource_version))
    }

    /// `NamespaceList` of [`Self::namespaces`].
    pub(crate) fn namespace_list(&self, created: SystemTime) -> Value {
        let items: Vec<Value> = self
            .namespaces()
            .iter()
            .map(|name| render_namespace(name, created, self.resource_version))
            .collect();
        json!({
            "kind": "NamespaceList",
            "apiVersion": "v1",
            "metadata": { "resourceVersion": self.resource_version.to_string() },
            "items": items,
        })
    }

    /// A `Table` of namespaces (NAME, STATUS, AGE), `only` one when given.
    pub(crate) fn namespace_table(
        &self,
        only: Option<&str>,
        created: SystemTime,
        now: SystemTime,
    ) -> Value {
        let rows: Vec<Value> = self
            .namespaces()
            .iter()
            .filter(|name| only.is_none_or(|o| o == name.as_str()))
            .map(|name| {
                json!({
                    "cells": [name, "Active", age(created, now)],
                    "object": {
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": render_namespace(name, created, self.resource_version)["metadata"],
                    },
                })
            })
            .collect();
        json!({
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": { "resourceVersion": self.resource_version.to_string() },
            "columnDefinitions": [
                column("Name", "string", "name"),
                column("Status", "string", ""),
                column("Age", "string", "date"),
            ],
            "rows": rows,
        })
    }

    fn matching<'a>(
        &'a self,
        kind: &'a ApiKind,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a (Stored, ObjectMeta)> + 'a {
        self.items.iter().filter(move |(object, _)| {
            object.kind() == kind && namespace.is_none_or(|ns| object.namespace() == ns)
        })
    }
}

fn column(name: &str, kind: &str, format: &str) -> Value {
    json!({ "name": name, "type": kind, "format": format, "description": "", "priority": 0 })
}

fn metadata(object: &Stored, meta: &ObjectMeta) -> Value {
    json!({
        "name": object.name(),
        "namespace": object.namespace(),
        "uid": meta.uid,
        "resourceVersion": meta.resource_version.to_string(),
        "generation": 1,
        "creationTimestamp": rfc3339_seconds(meta.created),
        "annotations": object.annotations(),
    })
}

/// `spec.ingressClassName`: the annotation `kubernetes.io/ingress.class` if set, else `alb`
/// (the AWS load balancer controller's class).
fn ingress_class(ingress: &Ingress) -> String {
    ingress
        .annotations
        .get("kubernetes.io/ingress.class")
        .cloned()
        .unwrap_or_else(|| "alb".to_string())
}

fn render_ingress(ingress: &Ingress) -> Value {
    let rules: Vec<Value> = ingress
        .hosts
        .iter()
        .map(|host| {
            json!({
                "host": host,
                "http": { "paths": [{
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": { "service": { "name": ingress.name, "port": { "number": 80 } } },
                }]},
            })
        })
        .collect();
    let load_balancer = match &ingress.load_balancer {
        Some(hostname) => json!({ "ingress": [{ "hostname": hostname }] }),
        None => json!({}),
    };
    json!({
        "spec": { "ingressClassName": ingress_class(ingress), "rules": rules },
        "status": { "loadBalancer": load_balancer },
    })
}

/// A stable cluster IP in 10.100.0.0/16 for a Service.
fn cluster_ip(namespace: &str, name: &str) -> String {
    let hash = format!("{namespace}/{name}")
        .bytes()
        .fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
    format!("10.100.{}.{}", (hash >> 8) & 0xff, (hash & 0xfe).max(2))
}

fn render_service(service: &Service) -> Value {
    let load_balancer = match &service.load_balancer {
        Some(hostname) => json!({ "ingress": [{ "hostname": hostname }] }),
        None => json!({}),
    };
    let mut port = json!({ "name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443 });
    if service.service_type == crate::cluster::LOAD_BALANCER {
        port["nodePort"] = json!(31443);
    }
    json!({
        "spec": {
            "type": service.service_type,
            "clusterIP": cluster_ip(&service.namespace, &service.name),
            "ports": [port],
            "selector": { "app": service.name },
        },
        "status": { "loadBalancer": load_balancer },
    })
}

/// The GatewayClass of every sandbox Gateway.
const GATEWAY_CLASS: &str = "sandbox";

fn render_gateway(gateway: &Gateway) -> Value {
    let listeners: Vec<Value> = gateway
        .listeners
        .iter()
        .map(|l| {
            let mut listener = json!({ "name": l.name, "port": l.port, "protocol": l.protocol });
            if let Some(hostname) = &l.hostname {
                listener["hostname"] = json!(hostname);
            }
            if let Some(from) = &l.allowed_routes_from {
                listener["allowedRoutes"] = json!({ "namespaces": { "from": from } });
            }
            listener
        })
        .collect();
    let addresses: Vec<Value> = gateway
        .load_balancer
        .iter()
        .map(|lb| json!({ "type": "Hostname", "value": lb }))
        .collect();
    json!({
        "spec": { "gatewayClassName": GATEWAY_CLASS, "listeners": listeners },
        "status": {
            "addresses": addresses,
            "conditions": [{
                "type": "Programmed",
                "status": if gateway.load_balancer.is_some() { "True" } else { "False" },
                "reason": if gateway.load_balancer.is_some() { "Programmed" } else { "Pending" },
                "message": "",
                "observedGeneration": 1,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }],
        },
    })
}

fn render_http_route(route: &HttpRoute, meta: &ObjectMeta) -> Value {
    let parent_ref = |p: &crate::cluster::RouteParent| {
        let mut r = json!({
            "group": GATEWAY_GROUP,
            "kind": "Gateway",
            "name": p.gateway,
        });
        if let Some(ns) = &p.namespace {
            r["namespace"] = json!(ns);
        }
        if let Some(section) = &p.section_name {
            r["sectionName"] = json!(section);
        }
        r
    };
    let parents: Vec<Value> = route
        .parents
        .iter()
        .map(|p| {
            json!({
                "parentRef": parent_ref(p),
                "controllerName": GATEWAY_CONTROLLER,
                "conditions": [{
                    "type": "Accepted",
                    "status": if p.accepted { "True" } else { "False" },
                    "reason": if p.accepted { "Accepted" } else { "NotAllowedByListeners" },
                    "message": "",
                    "observedGeneration": 1,
                    "lastTransitionTime": rfc3339_seconds(meta.created),
                }],
            })
        })
        .collect();
    json!({
        "spec": {
            "hostnames": route.hostnames,
            "parentRefs": route.parents.iter().map(parent_ref).collect::<Vec<_>>(),
            "rules": [{ "backendRefs": [{ "name": route.name, "port": 80 }] }],
        },
        "status": { "parents": parents },
    })
}

/// The short age kubectl prints (`5s`, `3m`, `2h`, `4d`).
fn age(created: SystemTime, now: SystemTime) -> String {
    let secs = now
        .duration_since(created)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// The namespaces every EKS cluster has.
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-node-lease", "kube-public", "kube-system"];

/// A namespace; its uid is derived from its name (namespaces are not in the store).
fn render_namespace(name: &str, created: SystemTime, resource_version: u64) -> Value {
    json!({
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "uid": name_uid(name),
            "resourceVersion": resource_version.to_string(),
            "creationTimestamp": rfc3339_seconds(created),
            "labels": { "kubernetes.io/metadata.name": name },
        },
        "spec": { "finalizers": ["kubernetes"] },
        "status": { "phase": "Active" },
    })
}

/// A stable UUID-shaped id for a name (FNV-1a, twice, with different seeds).
fn name_uid(name: &str) -> String {
    let hash = |seed: u64| {
        name.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
    };
    uuid_text(
        (u128::from(hash(0xcbf2_9ce4_8422_2325)) << 64) | u128::from(hash(0x8422_2325_cbf2_9ce4)),
    )
}

/// Kubernetes timestamps: RFC 3339 in UTC, whole seconds.
pub(crate) fn rfc3339_seconds(at: SystemTime) -> String {
    let at = OffsetDateTime::from(at);
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A random version-4 UUID, as the API server gives each object.
fn new_uid() -> String {
    uuid_text(rand::random())
}

/// `bits` as a version-4 UUID in text form.
fn uuid_text(bits: u128) -> String {
    let bits = (bits & !(0xF << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    )
}

/// A `Status` failure object, as the API server answers errors.
pub(crate) fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(details) = details {
        status["details"] = details;
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ingress(name: &str, lb: Option<&str>) -> Ingress {
        Ingress {
            namespace: "payments".into(),
            name: name.into(),
            hosts: vec!["payments.example.com".into()],
            annotations: BTreeMap::from([(
                "external-dns.alpha.kubernetes.io/set-identifier".to_string(),
                "payments-blue".to_string(),
            )]),
            load_balancer: lb.map(str::to_string),
        }
    }

    #[test]
    fn uid_is_a_version_4_uuid() {
        let uid = new_uid();
        assert_eq!(uid.len(), 36);
        assert_eq!(uid.get(14..15), Some("4"));
        assert!(
            matches!(uid.get(19..20), Some("8" | "9" | "a" | "b")),
            "{uid}"
        );
        assert_ne!(uid, new_uid());
    }

    #[test]
    fn metadata_is_kept_until_the_object_changes_or_goes() {
        let cluster = Cluster::new("blue", "eu-west-1");
        let table = ObjectTable::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        cluster.upsert_ingress(ingress("app", None));
        let first = table
            .snapshot(&cluster, t0)
            .get(&INGRESS, "payments", "app")
            .expect("found");
        assert_eq!(
            first["metadata"]["creationTimestamp"],
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(first["status"]["loadBalancer"], json!({}));

        let later = t0 + Duration::from_secs(60);
        let unchanged = table
            .snapshot(&cluster, later)
            .get(&INGRESS, "payments", "app")
            .expect("found");
        assert_eq!(unchanged["metadata"], first["metadata"]);

        cluster.upsert_ingress(ingress("app", Some("lb.eu-west-1.elb.amazonaws.com")));
        let changed = table
            .snapshot(&cluster, later)
            .get(&INGRESS, "payments", "app")
            .expect("found");
        assert_eq!(changed["metadata"]["uid"], first["metadata"]["uid"]);
        assert_ne!(
            changed["metadata"]["resourceVersion"],
            first["metadata"]["resourceVersion"]
        );
        assert_eq!(
            changed["status"]["loadBalancer"]["ingress"][0]["hostname"],
            "lb.eu-west-1.elb.amazonaws.com"
        );

        cluster.remove_ingress("payments", "app");
        assert!(table
            .snapshot(&cluster, later)
            .get(&INGRESS, "payments", "app")
            .is_none());
        cluster.upsert_ingress(ingress("app", None));
        let recreated = table
            .snapshot(&cluster, later)
            .get(&INGRESS, "payments", "app")
            .expect("found");
        assert_ne!(recreated["metadata"]["uid"], first["metadata"]["uid"]);
        assert_eq!(
            recreated["metadata"]["creationTimestamp"],
            "2026-01-01T00:01:00Z"
        );
    }

    #[test]
    fn list_filters_by_namespace_and_renders_rules() {
        let cluster = Cluster::new("blue", "eu-west-1");
        cluster.upsert_ingress(ingress("app", None));
        let mut other = ingress("web", None);
        other.namespace = "web".into();
        cluster.upsert_ingress(other);
        let snapshot = ObjectTable::default().snapshot(&cluster, SystemTime::now());
        let all = snapshot.list(&INGRESS, None);
        assert_eq!(all["kind"], "IngressList");
        assert_eq!(all["items"].as_array().map(Vec::len), Some(2));
        let payments = snapshot.list(&INGRESS, Some("payments"));
        assert_eq!(payments["items"].as_array().map(Vec::len), Some(1));
        let rule = &payments["items"][0]["spec"]["rules"][0];
        assert_eq!(rule["host"], "payments.example.com");
        assert_eq!(
            rule["http"]["paths"][0]["backend"]["service"]["name"],
            "app"
        );
        assert_eq!(
            payments["items"][0]["metadata"]["annotations"]
                ["external-dns.alpha.kubernetes.io/set-identifier"],
            "payments-blue"
        );
    }

    #[test]
    fn services_gateways_and_routes_render_as_the_api_server_serves_them() {
        use crate::cluster::{Listener, RouteParent};
        let cluster = Cluster::new("blue", "eu-west-1");
        cluster.upsert_service(Service {
            namespace: "pay".into(),
            name: "payments".into(),
            annotations: BTreeMap::from([(
                "external-dns.kubernetes.io/hostname".to_string(),
                "payments.example.com".to_string(),
            )]),
            service_type: crate::cluster::LOAD_BALANCER.into(),
            load_balancer: Some("nlb-1.elb.eu-west-1.amazonaws.com".into()),
        });
        cluster.upsert_gateway(Gateway {
            namespace: "infra".into(),
            name: "shared".into(),
            annotations: BTreeMap::new(),
            listeners: vec![Listener {
                name: "https".into(),
                hostname: Some("*.example.com".into()),
                port: 443,
                protocol: "HTTPS".into(),
                allowed_routes_from: Some("All".into()),
            }],
            load_balancer: Some("k8s-gw-1.eu-west-1.elb.amazonaws.com".into()),
        });
        cluster.upsert_http_route(HttpRoute {
            namespace: "web".into(),
            name: "site".into(),
            annotations: BTreeMap::new(),
            hostnames: vec!["www.example.com".into()],
            parents: vec![RouteParent {
                namespace: Some("infra".into()),
                gateway: "shared".into(),
                section_name: Some("https".into()),
                accepted: false,
            }],
        });
        let now = SystemTime::now();
        let snapshot = ObjectTable::default().snapshot(&cluster, now);
        let services = snapshot.list(&SERVICE, None);
        assert_eq!(services["kind"], "ServiceList");
        assert_eq!(services["apiVersion"], "v1");
        let svc = &services["items"][0];
        assert_eq!(svc["spec"]["type"], "LoadBalancer");
        assert_eq!(
            svc["status"]["loadBalancer"]["ingress"][0]["hostname"],
            "nlb-1.elb.eu-west-1.amazonaws.com"
        );
        assert!(snapshot.list(&INGRESS, None)["items"]
            .as_array()
            .is_some_and(Vec::is_empty));
        let gw = snapshot.get(&GATEWAY, "infra", "shared").expect("gateway");
        assert_eq!(gw["apiVersion"], "gateway.networking.k8s.io/v1");
        assert_eq!(gw["spec"]["listeners"][0]["hostname"], "*.example.com");
        assert_eq!(
            gw["spec"]["listeners"][0]["allowedRoutes"]["namespaces"]["from"],
            "All"
        );
        assert_eq!(
            gw["status"]["addresses"][0]["value"],
            "k8s-gw-1.eu-west-1.elb.amazonaws.com"
        );
        let route = snapshot.get(&HTTP_ROUTE, "web", "site").expect("route");
        assert_eq!(route["kind"], "HTTPRoute");
        assert_eq!(route["spec"]["hostnames"][0], "www.example.com");
        assert_eq!(route["spec"]["parentRefs"][0]["namespace"], "infra");
        assert_eq!(route["spec"]["parentRefs"][0]["sectionName"], "https");
        let parent = &route["status"]["parents"][0];
        assert_eq!(parent["parentRef"], route["spec"]["parentRefs"][0]);
        assert_eq!(parent["conditions"][0]["type"], "Accepted");
        assert_eq!(parent["conditions"][0]["status"], "False");
        assert!(snapshot.get(&HTTP_ROUTE, "infra", "site").is_none());
        // kubectl's columns.
        let table = snapshot.table(&SERVICE, None, None, now);
        assert_eq!(table["columnDefinitions"][3]["name"], "External-IP");
        assert_eq!(
            table["rows"][0]["cells"][3],
            "nlb-1.elb.eu-west-1.amazonaws.com"
        );
        let table = snapshot.table(&HTTP_ROUTE, Some("web"), None, now);
        assert_eq!(table["rows"][0]["cells"][1], "[\"www.example.com\"]");
        // Every namespace holding an object exists.
        let namespaces = snapshot.namespaces();
        for ns in ["pay", "infra", "web", "default"] {
            assert!(namespaces.iter().any(|n| n == ns), "{namespaces:?}");
        }
        assert_eq!(kind_at("", "services"), Some(&SERVICE));
        assert_eq!(kind_at(GATEWAY_GROUP, "httproutes"), Some(&HTTP_ROUTE));
        assert_eq!(kind_at(GROUP, "services"), None);
    }

    #[test]
    fn ages_print_as_kubectl_does() {
        let t0 = SystemTime::UNIX_EPOCH;
        assert_eq!(age(t0, t0 + Duration::from_secs(5)), "5s");
        assert_eq!(age(t0, t0 + Duration::from_secs(600)), "10m");
        assert_eq!(age(t0, t0 + Duration::from_secs(3 * 3600)), "3h");
        assert_eq!(age(t0, t0 + Duration::from_secs(5 * 86400)), "5d");
    }
}
