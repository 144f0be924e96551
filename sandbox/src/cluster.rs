//! One simulated EKS cluster's Kubernetes objects: its Ingresses. Shared by the Kubernetes API
//! (read-only), the cluster's external-dns and the control API (which is how tests change them).

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

#[derive(Debug, Default)]
struct Objects {
    ingresses: BTreeMap<(String, String), Ingress>,
    /// Bumped on every change; served as `metadata.resourceVersion`.
    resource_version: u64,
}

/// A cluster: its EKS name and region and its objects. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    pub region: String,
    objects: Arc<RwLock<Objects>>,
}

impl Cluster {
    pub fn new(name: &str, region: &str) -> Self {
        Cluster {
            name: name.to_string(),
            region: region.to_string(),
            objects: Arc::default(),
        }
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

    pub fn resource_version(&self) -> u64 {
        self.objects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .resource_version
    }
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
