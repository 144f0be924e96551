//! One simulated EKS cluster's Kubernetes objects: the kinds external-dns reads as sources —
//! Ingresses, Services, and Gateway API Gateways with their HTTPRoutes. Shared by the Kubernetes
//! API (read-only), the cluster's external-dns and the control API (which is how tests change
//! them).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

/// An Ingress as the sandbox keeps it; rendered as `networking.k8s.io/v1` JSON by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ingress {
    pub namespace: String,
    pub name: String,
    /// `spec.rules[].host`.
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The ELB hostname in `status.loadBalancer.ingress[0].hostname`; `None`: no status yet.
    #[serde(default)]
    pub load_balancer: Option<String>,
}

impl Ingress {
    pub fn key(&self) -> (String, String) {
        (self.namespace.clone(), self.name.clone())
    }
}

/// `spec.type` of the Services the sandbox models.
pub const LOAD_BALANCER: &str = "LoadBalancer";
pub const CLUSTER_IP: &str = "ClusterIP";

pub(crate) fn load_balancer_type() -> String {
    LOAD_BALANCER.to_string()
}

/// A Service as the sandbox keeps it; rendered as `v1` JSON by the API. Its hosts are in its
/// `hostname` annotation, as external-dns reads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// `spec.type`: `LoadBalancer` (default) or `ClusterIP`.
    #[serde(default = "load_balancer_type")]
    pub service_type: String,
    /// The ELB hostname in `status.loadBalancer.ingress[0].hostname` (usually an NLB); `None`: no
    /// status yet.
    #[serde(default)]
    pub load_balancer: Option<String>,
}

impl Service {
    pub fn key(&self) -> (String, String) {
        (self.namespace.clone(), self.name.clone())
    }
}

fn http_port() -> u16 {
    80
}

fn http_protocol() -> String {
    "HTTP".to_string()
}

fn default_true() -> bool {
    true
}

/// One listener of a Gateway (`spec.listeners[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    pub name: String,
    /// `hostname`; `None`: any host.
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default = "http_port")]
    pub port: u16,
    /// `HTTP`, `HTTPS`, `TLS`, `TCP` or `UDP`.
    #[serde(default = "http_protocol")]
    pub protocol: String,
    /// `allowedRoutes.namespaces.from`: `Same` (the default), `All` or `Selector`.
    #[serde(default)]
    pub allowed_routes_from: Option<String>,
}

/// A `gateway.networking.k8s.io/v1` Gateway as the sandbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    pub namespace: String,
    pub name: String,
    /// Annotations: external-dns reads only `target` here (docs/reference/external-dns.md §6
    /// "Gateway API routes").
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub listeners: Vec<Listener>,
    /// The ELB hostname in `status.addresses[0].value`; `None`: not programmed yet.
    #[serde(default)]
    pub load_balancer: Option<String>,
}

impl Gateway {
    pub fn key(&self) -> (String, String) {
        (self.namespace.clone(), self.name.clone())
    }
}

/// One parent of an HTTPRoute: its `spec.parentRefs[]` entry and the Gateway's verdict in
/// `status.parents[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteParent {
    /// The Gateway's namespace; `None`: the route's.
    #[serde(default)]
    pub namespace: Option<String>,
    pub gateway: String,
    #[serde(default)]
    pub section_name: Option<String>,
    /// The condition `Accepted` in the route's status for this parent.
    #[serde(default = "default_true")]
    pub accepted: bool,
}

/// A `gateway.networking.k8s.io/v1` HTTPRoute as the sandbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRoute {
    pub namespace: String,
    pub name: String,
    /// The route's annotations: `hostname`, `set-identifier`, `aws-weight`, …
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// `spec.hostnames`.
    #[serde(default)]
    pub hostnames: Vec<String>,
    #[serde(default)]
    pub parents: Vec<RouteParent>,
}

impl HttpRoute {
    pub fn key(&self) -> (String, String) {
        (self.namespace.clone(), self.name.clone())
    }
}

/// Every source object of a cluster at one moment (what one external-dns loop reads).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceObjects {
    pub ingresses: Vec<Ingress>,
    pub services: Vec<Service>,
    pub gateways: Vec<Gateway>,
    pub http_routes: Vec<HttpRoute>,
}

type Key = (String, String);

#[derive(Debug, Default)]
struct Objects {
    ingresses: BTreeMap<Key, Ingress>,
    services: BTreeMap<Key, Service>,
    gateways: BTreeMap<Key, Gateway>,
    http_routes: BTreeMap<Key, HttpRoute>,
    /// Bumped on every change; served as `metadata.resourceVersion`.
    resource_version: u64,
}

/// A cluster: its EKS name and region and its objects. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    pub region: String,
    /// Whether the Gateway API CRDs are installed: without them the API server serves no
    /// `gateway.networking.k8s.io` group (and such a cluster holds no Gateways or HTTPRoutes).
    pub gateway_api: bool,
    objects: Arc<RwLock<Objects>>,
}

impl Cluster {
    pub fn new(name: &str, region: &str) -> Self {
        Cluster {
            name: name.to_string(),
            region: region.to_string(),
            gateway_api: true,
            objects: Arc::default(),
        }
    }

    /// The same cluster without the Gateway API CRDs.
    pub fn without_gateway_api(mut self) -> Self {
        self.gateway_api = false;
        self
    }

    /// Creates or replaces an Ingress (by namespace/name).
    pub fn upsert_ingress(&self, ingress: Ingress) {
        let mut objects = self.objects.write().unwrap_or_else(|e| e.into_inner());
        objects.resource_version += 1;
        objects.ingresses.insert(ingress.key(), ingress);
    }

    /// Removes an Ingress; returns whether it existed.
    pub fn remove_ingress(&self, namespace: &str, name: &str) -> bool {
        let mut objects = self.objects.write().unwrap_or_else(|e| e.into_inner());
        objects.resource_version += 1;
        objects
            .ingresses
            .remove(&(namespace.to_string(), name.to_string()))
            .is_some()
    }

    /// All Ingresses, ordered by namespace then name.
    pub fn ingresses(&self) -> Vec<Ingress> {
        let objects = self.objects.read().unwrap_or_else(|e| e.into_inner());
        objects.ingresses.values().cloned().collect()
    }

    pub fn ingress(&self, namespace: &str, name: &str) -> Option<Ingress> {
        let objects = self.objects.read().unwrap_or_else(|e| e.into_inner());
        objects
            .ingresses
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// Creates or replaces a Service (by namespace/name).
    pub fn upsert_service(&self, service: Service) {
        self.write(|o| {
            o.services.insert(service.key(), service);
        });
    }

    /// Removes a Service; returns whether it existed.
    pub fn remove_service(&self, namespace: &str, name: &str) -> bool {
        self.write(|o| o.services.remove(&key(namespace, name)).is_some())
    }

    /// All Services, ordered by namespace then name.
    pub fn services(&self) -> Vec<Service> {
        self.read(|o| o.services.values().cloned().collect())
    }

    pub fn service(&self, namespace: &str, name: &str) -> Option<Service> {
        self.read(|o| o.services.get(&key(namespace, name)).cloned())
    }

    /// Creates or replaces a Gateway (by namespace/name).
    pub fn upsert_gateway(&self, gateway: Gateway) {
        self.write(|o| {
            o.gateways.insert(gateway.key(), gateway);
        });
    }

    /// Removes a Gateway; returns whether it existed.
    pub fn remove_gateway(&self, namespace: &str, name: &str) -> bool {
        self.write(|o| o.gateways.remove(&key(namespace, name)).is_some())
    }

    /// All Gateways, ordered by namespace then name.
    pub fn gateways(&self) -> Vec<Gateway> {
        self.read(|o| o.gateways.values().cloned().collect())
    }

    pub fn gateway(&self, namespace: &str, name: &str) -> Option<Gateway> {
        self.read(|o| o.gateways.get(&key(namespace, name)).cloned())
    }

    /// Creates or replaces an HTTPRoute (by namespace/name).
    pub fn upsert_http_route(&self, route: HttpRoute) {
        self.write(|o| {
            o.http_routes.insert(route.key(), route);
        });
    }

    /// Removes an HTTPRoute; returns whether it existed.
    pub fn remove_http_route(&self, namespace: &str, name: &str) -> bool {
        self.write(|o| o.http_routes.remove(&key(namespace, name)).is_some())
    }

    /// All HTTPRoutes, ordered by namespace then name.
    pub fn http_routes(&self) -> Vec<HttpRoute> {
        self.read(|o| o.http_routes.values().cloned().collect())
    }

    pub fn http_route(&self, namespace: &str, name: &str) -> Option<HttpRoute> {
        self.read(|o| o.http_routes.get(&key(namespace, name)).cloned())
    }

    /// Every source object, read at once (one consistent view).
    pub fn source_objects(&self) -> SourceObjects {
        self.read(|o| SourceObjects {
            ingresses: o.ingresses.values().cloned().collect(),
            services: o.services.values().cloned().collect(),
            gateways: o.gateways.values().cloned().collect(),
            http_routes: o.http_routes.values().cloned().collect(),
        })
    }

    fn write<T>(&self, change: impl FnOnce(&mut Objects) -> T) -> T {
        let mut objects = self.objects.write().unwrap_or_else(|e| e.into_inner());
        objects.resource_version += 1;
        change(&mut objects)
    }

    fn read<T>(&self, look: impl FnOnce(&Objects) -> T) -> T {
        let objects = self.objects.read().unwrap_or_else(|e| e.into_inner());
        look(&objects)
    }

    pub fn resource_version(&self) -> u64 {
        self.objects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .resource_version
    }
}

fn key(namespace: &str, name: &str) -> Key {
    (namespace.to_string(), name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_replace_and_remove() {
        let c = Cluster::new("blue", "eu-west-1");
        let mut ing = Ingress {
            namespace: "default".into(),
            name: "app".into(),
            hosts: vec!["app.example.com".into()],
            annotations: BTreeMap::new(),
            load_balancer: None,
        };
        c.upsert_ingress(ing.clone());
        ing.load_balancer = Some("lb.eu-west-1.elb.amazonaws.com".into());
        c.upsert_ingress(ing.clone());
        assert_eq!(c.ingresses(), vec![ing]);
        assert!(c.resource_version() >= 2);
        assert!(c.remove_ingress("default", "app"));
        assert!(!c.remove_ingress("default", "app"));
        assert!(c.ingresses().is_empty());
    }
}
