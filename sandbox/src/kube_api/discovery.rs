//! The discovery documents kubectl reads before it lists anything: `/version`, `/api`,
//! `/api/v1`, `/apis`, and for each group (`networking.k8s.io`, `gateway.networking.k8s.io`)
//! `/apis/<group>` and `/apis/<group>/v1`. Served in the legacy (non-aggregated) form: a client
//! that asks for aggregated discovery gets `application/json` and falls back, as with any API
//! server that does not aggregate.

use serde_json::{json, Value};

use super::objects::{ApiKind, GATEWAY_GROUP, GROUP, KINDS};

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

/// One resource of an `APIResourceList`, read-only (verbs get and list).
fn resource(kind: &ApiKind) -> Value {
    json!({
        "name": kind.plural,
        "singularName": kind.singular,
        "namespaced": true,
        "kind": kind.kind,
        "verbs": ["get", "list"],
        "shortNames": kind.short_names,
    })
}

/// The kinds served in `group` (`""`: the core group).
fn resources_of(group: &str) -> Vec<Value> {
    KINDS
        .iter()
        .filter(|k| k.group == group)
        .map(|k| resource(k))
        .collect()
}

/// `/api/v1`: Services, and namespaces (which kubectl reads to explain a missing object).
pub(crate) fn core_resources() -> Value {
    let mut resources = vec![json!({
        "name": "namespaces",
        "singularName": "namespace",
        "namespaced": false,
        "kind": "Namespace",
        "verbs": ["get", "list"],
        "shortNames": ["ns"],
    })];
    resources.extend(resources_of(""));
    json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": resources,
    })
}

/// The API groups served besides the core group.
pub(crate) const GROUPS: [&str; 2] = [GROUP, GATEWAY_GROUP];

fn api_group(name: &str) -> Value {
    let version = json!({ "groupVersion": format!("{name}/v1"), "version": "v1" });
    json!({
        "name": name,
        "versions": [version.clone()],
        "preferredVersion": version,
    })
}

/// The groups a cluster serves: the Gateway API group only when its CRDs are installed.
pub(crate) fn served_groups(gateway_api: bool) -> Vec<&'static str> {
    GROUPS
        .into_iter()
        .filter(|g| gateway_api || *g != GATEWAY_GROUP)
        .collect()
}

/// `/apis`: the groups served.
pub(crate) fn groups(gateway_api: bool) -> Value {
    let groups: Vec<Value> = served_groups(gateway_api)
        .iter()
        .map(|g| api_group(g))
        .collect();
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
}

/// `/apis/<group>`.
pub(crate) fn group(name: &str) -> Value {
    let mut group = api_group(name);
    group["kind"] = json!("APIGroup");
    group["apiVersion"] = json!("v1");
    group
}

/// `/apis/<group>/v1`: its kinds, read-only (verbs get and list).
pub(crate) fn group_resources(name: &str) -> Value {
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{name}/v1"),
        "resources": resources_of(name),
    })
}
