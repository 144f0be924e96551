//! Ingresses of the `Cluster` store rendered as `networking.k8s.io/v1` JSON, with the metadata
//! the API server keeps per object (uid, creationTimestamp, resourceVersion), and the `Status`
//! objects the API server answers errors with.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::SystemTime;

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::cluster::{Cluster, Ingress};

pub(crate) const GROUP: &str = "networking.k8s.io";
pub(crate) const GROUP_VERSION: &str = "networking.k8s.io/v1";

/// What the API server remembers of an object between requests.
#[derive(Debug, Clone)]
struct ObjectMeta {
    uid: String,
    created: SystemTime,
    resource_version: u64,
    last_seen: Ingress,
}

/// The API server's per-object metadata, refreshed from the store on each request: a new object
/// gets a uid and a creation time (simulated now); a changed one gets the store's current
/// resource version; a removed one is forgotten (re-created later, it is a new object).
#[derive(Debug, Default)]
pub(crate) struct ObjectTable {
    objects: Mutex<BTreeMap<(String, String), ObjectMeta>>,
}

/// One consistent read: the list's resource version and each Ingress with its metadata.
pub(crate) struct Snapshot {
    pub resource_version: u64,
    items: Vec<(Ingress, ObjectMeta)>,
}

impl ObjectTable {
    pub(crate) fn snapshot(&self, cluster: &Cluster, now: SystemTime) -> Snapshot {
        let resource_version = cluster.resource_version();
        let ingresses = cluster.ingresses();
        let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        objects.retain(|key, _| ingresses.iter().any(|i| &i.key() == key));
        let items = ingresses
            .into_iter()
            .map(|ingress| {
                let meta = objects
                    .entry(ingress.key())
                    .and_modify(|meta| {
                        if meta.last_seen != ingress {
                            meta.resource_version = resource_version;
                            meta.last_seen = ingress.clone();
                        }
                    })
                    .or_insert_with(|| ObjectMeta {
                        uid: new_uid(),
                        created: now,
                        resource_version,
                        last_seen: ingress.clone(),
                    })
                    .clone();
                (ingress, meta)
            })
            .collect();
        Snapshot {
            resource_version,
            items,
        }
    }
}

impl Snapshot {
    /// `IngressList` of the Ingresses in `namespace` (all namespaces when `None`).
    pub(crate) fn list(&self, namespace: Option<&str>) -> Value {
        let items: Vec<Value> = self
            .matching(namespace)
            .map(|(ingress, meta)| render_ingress(ingress, meta))
            .collect();
        json!({
            "kind": "IngressList",
            "apiVersion": GROUP_VERSION,
            "metadata": { "resourceVersion": self.resource_version.to_string() },
            "items": items,
        })
    }

    /// One `Ingress`, or `None` when missing.
    pub(crate) fn get(&self, namespace: &str, name: &str) -> Option<Value> {
        self.matching(Some(namespace))
            .find(|(ingress, _)| ingress.name == name)
            .map(|(ingress, meta)| render_ingress(ingress, meta))
    }

    /// A `meta.k8s.io/v1` `Table` of the Ingresses (what `kubectl get` asks for), with the
    /// columns kubectl shows for Ingresses.
    pub(crate) fn table(
        &self,
        namespace: Option<&str>,
        name: Option<&str>,
        now: SystemTime,
    ) -> Value {
        let rows: Vec<Value> = self
            .matching(namespace)
            .filter(|(ingress, _)| name.is_none_or(|n| ingress.name == n))
            .map(|(ingress, meta)| table_row(ingress, meta, now))
            .collect();
        json!({
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": { "resourceVersion": self.resource_version.to_string() },
            "columnDefinitions": [
                column("Name", "string", "name"),
                column("Class", "string", ""),
                column("Hosts", "string", ""),
                column("Address", "string", ""),
                column("Ports", "string", ""),
                column("Age", "string", "date"),
            ],
            "rows": rows,
        })
    }

    /// The namespaces that exist: the system ones and every namespace holding an Ingress.
    pub(crate) fn namespaces(&self) -> Vec<String> {
        let mut names: Vec<String> = SYSTEM_NAMESPACES.iter().map(|n| n.to_string()).collect();
        names.extend(
            self.items
                .iter()
                .map(|(ingress, _)| ingress.namespace.clone()),
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
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a (Ingress, ObjectMeta)> + 'a {
        self.items
            .iter()
            .filter(move |(ingress, _)| namespace.is_none_or(|ns| ingress.namespace == ns))
    }
}

fn column(name: &str, kind: &str, format: &str) -> Value {
    json!({ "name": name, "type": kind, "format": format, "description": "", "priority": 0 })
}

fn table_row(ingress: &Ingress, meta: &ObjectMeta, now: SystemTime) -> Value {
    let hosts = if ingress.hosts.is_empty() {
        "*".to_string()
    } else {
        ingress.hosts.join(",")
    };
    json!({
        "cells": [
            ingress.name,
            ingress_class(ingress),
            hosts,
            ingress.load_balancer.clone().unwrap_or_default(),
            "80",
            age(meta.created, now),
        ],
        "object": {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": metadata(ingress, meta),
        },
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

/// `spec.ingressClassName`: the annotation `kubernetes.io/ingress.class` if set, else `alb`
/// (the AWS load balancer controller's class).
fn ingress_class(ingress: &Ingress) -> String {
    ingress
        .annotations
        .get("kubernetes.io/ingress.class")
        .cloned()
        .unwrap_or_else(|| "alb".to_string())
}

fn metadata(ingress: &Ingress, meta: &ObjectMeta) -> Value {
    json!({
        "name": ingress.name,
        "namespace": ingress.namespace,
        "uid": meta.uid,
        "resourceVersion": meta.resource_version.to_string(),
        "generation": 1,
        "creationTimestamp": rfc3339_seconds(meta.created),
        "annotations": ingress.annotations,
    })
}

fn render_ingress(ingress: &Ingress, meta: &ObjectMeta) -> Value {
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
        "kind": "Ingress",
        "apiVersion": GROUP_VERSION,
        "metadata": metadata(ingress, meta),
        "spec": { "ingressClassName": ingress_class(ingress), "rules": rules },
        "status": { "loadBalancer": load_balancer },
    })
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
            .get("payments", "app")
            .expect("found");
        assert_eq!(
            first["metadata"]["creationTimestamp"],
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(first["status"]["loadBalancer"], json!({}));

        let later = t0 + Duration::from_secs(60);
        let unchanged = table
            .snapshot(&cluster, later)
            .get("payments", "app")
            .expect("found");
        assert_eq!(unchanged["metadata"], first["metadata"]);

        cluster.upsert_ingress(ingress("app", Some("lb.eu-west-1.elb.amazonaws.com")));
        let changed = table
            .snapshot(&cluster, later)
            .get("payments", "app")
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
            .get("payments", "app")
            .is_none());
        cluster.upsert_ingress(ingress("app", None));
        let recreated = table
            .snapshot(&cluster, later)
            .get("payments", "app")
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
        let all = snapshot.list(None);
        assert_eq!(all["kind"], "IngressList");
        assert_eq!(all["items"].as_array().map(Vec::len), Some(2));
        let payments = snapshot.list(Some("payments"));
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
    fn ages_print_as_kubectl_does() {
        let t0 = SystemTime::UNIX_EPOCH;
        assert_eq!(age(t0, t0 + Duration::from_secs(5)), "5s");
        assert_eq!(age(t0, t0 + Duration::from_secs(600)), "10m");
        assert_eq!(age(t0, t0 + Duration::from_secs(3 * 3600)), "3h");
        assert_eq!(age(t0, t0 + Duration::from_secs(5 * 86400)), "5d");
    }
}
