//! The discovery documents kubectl reads before it lists anything: `/version`, `/api`,
//! `/api/v1`, `/apis`, `/apis/networking.k8s.io` and `/apis/networking.k8s.io/v1`. Served in the
//! legacy (non-aggregated) form: a client that asks for aggregated discovery gets
//! `application/json` and falls back, as with any API server that does not aggregate.

use serde_json::{json, Value};

use super::objects::{GROUP, GROUP_VERSION};

/// `/version` of an EKS cluster of Kubernetes `version` (`1.31`).
pub(crate) fn version(version: &str) -> Value {
    let (major, minor) = version.split_once('.').unwrap_or((version, ""));
    json!({
        "major": major,
        "minor": format!("{minor}+"),
        "gitVersion": format!("v{version}.0-eks-sandbox"),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.22",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `/api`: the core group's versions.
pub(crate) fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            { "clientCIDR": "0.0.0.0/0", "serverAddress": server_address }
        ],
    })
}

/// `/api/v1`: namespaces only (read-only), which kubectl reads to explain a missing object.
pub(crate) fn core_resources() -> Value {
    json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [{
            "name": "namespaces",
            "singularName": "namespace",
            "namespaced": false,
            "kind": "Namespace",
            "verbs": ["get", "list"],
            "shortNames": ["ns"],
        }],
    })
}

fn networking_group() -> Value {
    let version = json!({ "groupVersion": GROUP_VERSION, "version": "v1" });
    json!({
        "name": GROUP,
        "versions": [version.clone()],
        "preferredVersion": version,
    })
}

/// `/apis`: the groups served (only `networking.k8s.io`).
pub(crate) fn groups() -> Value {
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": [networking_group()] })
}

/// `/apis/networking.k8s.io`.
pub(crate) fn networking() -> Value {
    let mut group = networking_group();
    group["kind"] = json!("APIGroup");
    group["apiVersion"] = json!("v1");
    group
}

/// `/apis/networking.k8s.io/v1`: Ingresses, read-only (verbs get and list).
pub(crate) fn networking_resources() -> Value {
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": GROUP_VERSION,
        "resources": [{
            "name": "ingresses",
            "singularName": "ingress",
            "namespaced": true,
            "kind": "Ingress",
            "verbs": ["get", "list"],
            "shortNames": ["ing"],
        }],
    })
}
