//! A complete `cutover.toml` for a running sandbox: its zones with their ids, its clusters (EKS
//! names, regions, external-dns owner ids, versions, TXT affixes and annotation prefixes as the
//! world sets them, the probe address of each cluster's load balancer on loopback), and one
//! service per host name the clusters' Ingresses publish. Zone ids and ports change on every
//! start, so the config is written after start (`sandbox serve --cutover-config FILE`,
//! `sandbox cutover-config --control URL`, `GET /cutover-config`). The sandbox does not depend
//! on cutover: this is only text, and cutover's own config parser checks it in the tests.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::control::Handles;

/// The SNS topic a generated config accepts deploy events from.
pub const DEPLOY_TOPIC_ARN: &str = "arn:aws:sns:eu-west-1:123456789012:cutover-deploys";

/// A canary of four steps with short bakes (the floor is an ELB alias's 60 s TTL plus the 30 s
/// allowance), probes over plain HTTP (the sandbox's load balancers speak HTTP on loopback).
pub const REHEARSAL_ROLLOUT: &str = r#"# A rehearsal: four steps with short bakes. Every bake is at least the alias's 60 s TTL plus the
# propagation allowance; move the sandbox's clock to pass them in seconds.
[defaults]
strategy = "canary"
steps = [{ percent = 5, bake = "2m" }, { percent = 25, bake = "2m" }, { percent = 50, bake = "2m" }, { percent = 100, bake = "2m" }]
failure_threshold = 2
propagation_allowance = "30s"

# The sandbox's load balancers answer plain HTTP on loopback; `/healthz` is scriptable per host
# through the control API (`PUT /load-balancers/<lb>/hosts/<host>`, docs/sandbox.md).
[defaults.health_check]
scheme = "http"
path = "/healthz"
timeout = "5s"
samples = 3
allowed_failures = 0
"#;

/// What to put in the config beyond the world.
#[derive(Debug, Clone, Default)]
pub struct ConfigOptions {
    /// `(service, from, to)`: the services to configure. `None`: one per host name an Ingress
    /// publishes, from the cluster that serves it now to another one.
    pub services: Option<Vec<(String, String, String)>>,
    /// The rollout tables (`[defaults]`…); `None`: [`REHEARSAL_ROLLOUT`].
    pub rollout: Option<String>,
}

/// The config text for the running sandbox.
pub fn render(handles: &Handles, options: &ConfigOptions) -> String {
    let mut out = String::new();
    header(&mut out, handles);
    zones(&mut out, handles);
    clusters(&mut out, handles);
    let services: Vec<Service> = match &options.services {
        Some(list) => list
            .iter()
            .map(|(name, from, to)| Service {
                hostname: format!("{name}.{}", first_zone(handles)),
                name: name.clone(),
                from: from.clone(),
                to: to.clone(),
            })
            .collect(),
        None => discovered_services(handles),
    };
    for s in &services {
        let _ = writeln!(
            out,
            "[services.{}]\nhostname = \"{}\"\nfrom = \"{}\"\nto = \"{}\"\n",
            s.name, s.hostname, s.from, s.to
        );
    }
    out.push_str(options.rollout.as_deref().unwrap_or(REHEARSAL_ROLLOUT));
    out
}

fn header(out: &mut String, handles: &Handles) {
    let e = &handles.endpoints;
    let _ = writeln!(
        out,
        "# cutover.toml for a running sandbox. Zone ids and ports change on every start: write it
# again after each `sandbox serve`. Point cutover at the sandbox with the standard variables:
#   export AWS_ENDPOINT_URL_ROUTE_53={route53} AWS_ENDPOINT_URL_EKS={eks}
#   export AWS_ENDPOINT_URL_STS={sts}
#   export AWS_ACCESS_KEY_ID={key} AWS_SECRET_ACCESS_KEY={secret} AWS_REGION={region}
# and follow the sandbox's simulated clock with `cutover --clock sandbox:{control} …`.
sns_topic_arns = [\"{DEPLOY_TOPIC_ARN}\"]
rate_limit = 2.0
",
        route53 = e.route53,
        eks = e.eks,
        sts = e.sts,
        control = e.control,
        key = crate::ACCESS_KEY_ID,
        secret = crate::SECRET_ACCESS_KEY,
        region = crate::DEFAULT_REGION,
    );
}

fn zones(out: &mut String, handles: &Handles) {
    for zone in handles.route53.zones() {
        let name = zone.name.trim_end_matches('.');
        let _ = writeln!(out, "[[zones]]\nid = \"{}\"\nname = \"{name}\"", zone.id);
        // A zone of another account: the role there that trusts cutover's account.
        let account = handles.route53.zone_account(&zone.id).unwrap_or_default();
        if account != crate::iam::DEFAULT_ACCOUNT {
            let role = handles.route53.iam().roles().into_iter().find(|r| {
                r.account == account
                    && r.trusted_accounts
                        .iter()
                        .any(|t| t == crate::iam::DEFAULT_ACCOUNT)
            });
            if let Some(role) = role {
                let _ = writeln!(out, "role_arn = \"{}\"", role.arn());
                if let Some(id) = &role.external_id {
                    let _ = writeln!(out, "external_id = \"{id}\"");
                }
            }
        }
        if zone.private {
            let _ = writeln!(out, "private = true");
        }
        out.push('\n');
    }
}

fn clusters(out: &mut String, handles: &Handles) {
    for (name, running) in handles.clusters.iter() {
        let settings = running.external_dns.settings();
        let _ = writeln!(out, "[clusters.{name}]");
        let _ = writeln!(out, "eks_name = \"{name}\"");
        // A cluster of another account: the role there that trusts cutover's account.
        if running.account != crate::iam::DEFAULT_ACCOUNT {
            if let Some(role) = trusting_role(handles, &running.account) {
                let _ = writeln!(out, "role_arn = \"{}\"", role.arn());
                if let Some(id) = &role.external_id {
                    let _ = writeln!(out, "external_id = \"{id}\"");
                }
            }
        }
        let _ = writeln!(out, "region = \"{}\"", running.cluster.region);
        let _ = writeln!(out, "owner_id = \"{}\"", settings.owner_id);
        let _ = writeln!(out, "external_dns_version = \"{}\"", settings.version);
        for (key, value) in [
            ("txt_prefix", &settings.txt_prefix),
            ("txt_suffix", &settings.txt_suffix),
            (
                "txt_wildcard_replacement",
                &settings.txt_wildcard_replacement,
            ),
            ("annotation_prefix", &settings.annotation_prefix),
        ] {
            if let Some(value) = value {
                let _ = writeln!(out, "{key} = \"{value}\"");
            }
        }
        if !settings.evaluate_target_health {
            let _ = writeln!(out, "evaluate_target_health = false");
        }
        // The kinds its external-dns reads (`--source`).
        let sources: Vec<String> = settings
            .sources
            .iter()
            .filter_map(|s| serde_json::to_value(s).ok())
            .filter_map(|v| v.as_str().map(|s| format!("\"{s}\"")))
            .collect();
        let _ = writeln!(out, "external_dns_sources = [{}]", sources.join(", "));
        // Every load balancer's CloudWatch dimension, as `aws elbv2 describe-load-balancers`
        // gives it: for the metrics of real traffic.
        let dimensions: Vec<String> = running
            .load_balancers
            .values()
            .map(|lb| format!("\"{}\" = \"{}\"", lb.hostname(), lb.metrics_dimension()))
            .collect();
        let _ = writeln!(
            out,
            "load_balancer_dimensions = {{ {} }}",
            dimensions.join(", ")
        );
        if let Some(lb) = running.load_balancers.values().next() {
            let _ = writeln!(
                out,
                "# Probes go straight to the load balancer {} on loopback.\nconnect_to = \"{}\"",
                lb.hostname(),
                lb.addr()
            );
        }
        out.push('\n');
    }
}

struct Service {
    name: String,
    hostname: String,
    from: String,
    to: String,
}

/// One service per host name an Ingress publishes, named after its first label: from the
/// cluster whose external-dns owns the name in the zone now (else the first cluster with an
/// Ingress for it), to the next cluster.
fn discovered_services(handles: &Handles) -> Vec<Service> {
    let clusters: Vec<&String> = handles.clusters.keys().collect();
    let mut hosts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (cluster, running) in handles.clusters.iter() {
        for ingress in running.cluster.ingresses() {
            for host in &ingress.hosts {
                let host = host.trim_end_matches('.').to_ascii_lowercase();
                hosts.entry(host).or_default().push(cluster.clone());
            }
        }
    }
    let owners = owners_in_zones(handles);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (host, serving) in hosts {
        let Some(label) = host.split('.').next().map(service_name) else {
            continue;
        };
        if label.is_empty() || !seen.insert(label.clone()) {
            continue;
        }
        let from = owners
            .get(&host)
            .and_then(|owner| cluster_of_owner(handles, owner))
            .or_else(|| serving.first().cloned());
        let Some(from) = from else { continue };
        let Some(to) = clusters.iter().find(|c| **c != &from) else {
            continue;
        };
        out.push(Service {
            name: label,
            hostname: host,
            from,
            to: (*to).clone(),
        });
    }
    out
}

/// Host name → the owner label of a registry TXT that names it, in any zone.
fn owners_in_zones(handles: &Handles) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for zone in handles.route53.zones() {
        for r in handles.route53.records(&zone.id) {
            if r.rtype != "TXT" {
                continue;
            }
            let Some(owner) = r.records.first().and_then(|v| label(v, "owner")) else {
                continue;
            };
            let name = r.name.trim_end_matches('.');
            for candidate in [
                name,
                name.split_once('-').map(|(_, rest)| rest).unwrap_or(name),
            ] {
                out.entry(candidate.to_string())
                    .or_insert_with(|| owner.clone());
            }
        }
    }
    out
}

fn label(value: &str, key: &str) -> Option<String> {
    let start = value.find(&format!("external-dns/{key}="))? + key.len() + 14;
    let rest = value.get(start..)?;
    let end = rest.find([',', '"']).unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

fn cluster_of_owner(handles: &Handles, owner: &str) -> Option<String> {
    handles
        .clusters
        .iter()
        .find(|(_, c)| c.external_dns.settings().owner_id == owner)
        .map(|(name, _)| name.clone())
}

/// A host's first label as a cutover service name: a–z, 0–9 and '-'.
fn service_name(label: &str) -> String {
    label
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .take(63)
        .collect()
}

/// The zone named services live in (`<name>.<zone>`): the first zone.
fn first_zone(handles: &Handles) -> String {
    handles
        .route53
        .zones()
        .first()
        .map(|z| z.name.trim_end_matches('.').to_string())
        .unwrap_or_else(|| "example.com".into())
}

/// The first role of `account` that cutover's account (the default one) may assume.
fn trusting_role(handles: &Handles, account: &str) -> Option<crate::iam::Role> {
    handles.route53.iam().roles().into_iter().find(|r| {
        r.account == account
            && r.trusted_accounts
                .iter()
                .any(|t| t == crate::iam::DEFAULT_ACCOUNT)
    })
}
