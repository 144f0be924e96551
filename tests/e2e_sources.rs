//! End to end on the sandbox with every kind external-dns reads as a source (docs/design.md §2):
//! a name served by a Service of type LoadBalancer (behind an NLB, health checked by TCP
//! connects), a name served by an HTTPRoute on a Gateway, and a name that moves from an Ingress on
//! `from` to an HTTPRoute on `to` — each migrated by canary and by blue-green, with both
//! external-dns simulators reconciling between ticks. Every TXT cutover writes for `to` names
//! the object `to`'s external-dns serves the key from (docs/reference/external-dns.md §1 "Value"),
//! every alias has the canonical zone of its load balancer's kind (docs/reference/route53.md
//! "Alias records"), and after the handover neither external-dns writes anything. Preflight
//! refuses claimants of several kinds by name, and a pin chooses one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cutover::observe::kubernetes::{ClusterRef, ClusterSources, KubeError};
use cutover_core::observation::{SourceKind, SourceObject};
use futures::future::BoxFuture;

use sandbox::external_dns::ReconcileReport;
use sandbox::route53::Rrset;
use sandbox::world::World;
use serde_json::{json, Value};
use support::{records_at, service_report, ContextOptions, Harness};

const SERVICE: &str = "app";
const HOST: &str = "app.example.com";
const P: &str = "external-dns.kubernetes.io/";

/// The kind of object that serves the name in one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ingress,
    Service,
    HttpRoute,
}

impl Kind {
    /// The external-dns `resource` label of the cluster's object.
    fn resource(self) -> &'static str {
        match self {
            Kind::Ingress => "ingress/default/app",
            Kind::Service => "service/pay/app",
            Kind::HttpRoute => "httproute/web/app",
        }
    }

    /// A Service is exposed by an NLB; Ingresses and Gateways by an ALB.
    fn load_balancer_kind(self) -> &'static str {
        match self {
            Kind::Service => "nlb",
            Kind::Ingress | Kind::HttpRoute => "alb",
        }
    }

    fn sources(self) -> &'static str {
        match self {
            Kind::Ingress | Kind::Service => r#"["service", "ingress"]"#,
            Kind::HttpRoute => r#"["service", "ingress", "gateway-httproute"]"#,
        }
    }

    /// The world objects of `cluster` that serve HOST on its load balancer `lb`, asking for the
    /// simple key.
    fn objects(self, cluster: &str, lb: &str) -> String {
        match self {
            Kind::Ingress => format!(
                r#"
[[ingresses]]
cluster = "{cluster}"
namespace = "default"
name = "app"
hosts = ["{HOST}"]
load_balancer = "{lb}"
"#
            ),
            Kind::Service => format!(
                r#"
[[services]]
cluster = "{cluster}"
namespace = "pay"
name = "app"
annotations = {{ "{P}hostname" = "{HOST}" }}
load_balancer = "{lb}"
"#
            ),
            Kind::HttpRoute => format!(
                r#"
[[gateways]]
cluster = "{cluster}"
namespace = "infra"
name = "shared"
load_balancer = "{lb}"
listeners = [{{ name = "http", hostname = "*.example.com", allowed_routes_from = "All" }}]

[[httproutes]]
cluster = "{cluster}"
namespace = "web"
name = "app"
hostnames = ["{HOST}"]
parents = [{{ namespace = "infra", gateway = "shared" }}]
"#
            ),
        }
    }
}

/// Two v0.22 clusters; HOST is served by a `from` object on blue (whose external-dns publishes
/// the simple record first) and by a `to` object on green asking for the same key (green's
/// external-dns skips it: blue owns it).
fn world(from: Kind, to: Kind) -> World {
    let mut text = String::from("[[zones]]\nname = \"example.com\"\n");
    for (cluster, kind) in [("blue", from), ("green", to)] {
        text.push_str(&format!(
            r#"
[[clusters]]
name = "{cluster}"
region = "eu-west-1"
load_balancers = [{{ name = "k8s-{cluster}-lb", kind = "{}" }}]
[clusters.external_dns]
owner_id = "{cluster}"
version = "v0.22"
policy = "sync"
interval_seconds = 60
sources = {}
"#,
            kind.load_balancer_kind(),
            kind.sources()
        ));
    }
    for (cluster, kind) in [("blue", from), ("green", to)] {
        text.push_str(&kind.objects(cluster, &format!("k8s-{cluster}-lb")));
    }
    World::from_toml(&text).unwrap_or_else(|e| panic!("world: {e}\n{text}"))
}

/// Four short canary steps (the floor is the ELB alias's 60 s + the allowance), a 5 m verify
/// window; NLB-backed names are checked with TCP connects, the others with HTTP requests.
fn rollout(from: Kind, to: Kind) -> String {
    let check = if from == Kind::Service && to == Kind::Service {
        "scheme = \"tcp\""
    } else {
        "scheme = \"http\"\npath = \"/healthz\""
    };
    format!(
        r#"
[defaults]
strategy = "canary"
steps = [{{ percent = 5, bake = "2m" }}, {{ percent = 25, bake = "2m" }}, {{ percent = 50, bake = "2m" }}, {{ percent = 100, bake = "2m" }}]
failure_threshold = 2
verify_window = "5m"
propagation_allowance = "30s"

[defaults.health_check]
{check}
timeout = "5s"
samples = 3
allowed_failures = 0
"#
    )
}

/// The sandbox with blue's external-dns having published the simple record of HOST.
async fn published(from: Kind, to: Kind) -> Harness {
    let h = Harness::start(
        world(from, to),
        &[(SERVICE, "blue", "green")],
        &rollout(from, to),
    )
    .await;
    for (cluster, r) in h.external_dns().await {
        assert!(r.failed.is_empty(), "{cluster}: {:?}", r.failed);
        assert!(r.errors.is_empty(), "{cluster}: {:?}", r.errors);
    }
    let zone = h.zone();
    let owners = txt_labels(&zone);
    assert!(
        !owners.is_empty()
            && owners
                .values()
                .all(|(o, r)| o == "blue" && r == from.resource()),
        "blue did not publish {HOST} from its {from:?}: {owners:?}"
    );
    h
}

fn bare(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The registry TXTs of HOST: (name, set identifier) → (owner, resource).
fn txt_labels(zone: &[Rrset]) -> BTreeMap<(String, Option<String>), (String, String)> {
    zone.iter()
        .filter(|r| {
            r.rtype == "TXT"
                && bare(&r.name).ends_with(HOST)
                && !bare(&r.name).starts_with("_cutover")
        })
        .map(|r| {
            let value = r.records.first().cloned().unwrap_or_default();
            let label = |key: &str| {
                value
                    .trim_matches('"')
                    .split(',')
                    .find_map(|kv| kv.strip_prefix(&format!("external-dns/{key}=")))
                    .unwrap_or_default()
                    .to_string()
            };
            (
                (bare(&r.name), r.set_identifier.clone()),
                (label("owner"), label("resource")),
            )
        })
        .collect()
}

/// The A/AAAA records of HOST with `set_identifier`: each an alias to `cluster`'s load balancer,
/// in the canonical zone of that load balancer's kind.
fn assert_aliases_to(h: &Harness, zone: &[Rrset], cluster: &str, set_identifier: Option<&str>) {
    let lb = h
        .sandbox
        .cluster(cluster)
        .unwrap()
        .load_balancers
        .values()
        .next()
        .unwrap()
        .clone();
    let records: Vec<&Rrset> = records_at(zone, HOST)
        .into_iter()
        .filter(|r| r.set_identifier.as_deref() == set_identifier)
        .collect();
    let types: BTreeSet<&str> = records.iter().map(|r| r.rtype.as_str()).collect();
    assert_eq!(types, BTreeSet::from(["A", "AAAA"]), "{records:?}");
    for r in records {
        let alias = r.alias_target.as_ref().unwrap_or_else(|| panic!("{r:?}"));
        assert_eq!(bare(&alias.dns_name), bare(lb.hostname()), "{r:?}");
        assert_eq!(
            Some(alias.hosted_zone_id.as_str()),
            lb.canonical_zone_id(),
            "{r:?}: the alias zone is not the one of a {:?} in {}",
            lb.kind(),
            lb.region()
        );
    }
}

fn kind(entry: &Value) -> &str {
    entry.get("kind").and_then(Value::as_str).unwrap_or("")
}

fn percent(entry: &Value, key: &str) -> Option<u64> {
    entry.get(key)?.get("to")?.as_u64()
}

fn touched_host(report: &ReconcileReport) -> bool {
    report
        .created
        .iter()
        .chain(&report.updated)
        .chain(&report.deleted)
        .any(|c| bare(&c.name) == HOST)
}

/// Both external-dns loops, one interval later. The sandbox's Route53 allows 5 requests/second
/// in real time; a loop whose listing was throttled is run again, as on its next interval.
async fn reconcile(h: &Harness) -> BTreeMap<String, ReconcileReport> {
    h.advance(Duration::from_secs(60));
    let mut out = BTreeMap::new();
    for cluster in ["blue", "green"] {
        let mut report = h.external_dns_of(cluster).await;
        for _ in 0..10 {
            let throttled =
                !report.errors.is_empty() && report.errors.iter().all(|e| e.contains("Throttling"));
            if !throttled {
                break;
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
            report = h.external_dns_of(cluster).await;
        }
        assert!(report.failed.is_empty(), "{cluster}: {:?}", report.failed);
        assert!(report.errors.is_empty(), "{cluster}: {:?}", report.errors);
        out.insert(cluster.to_string(), report);
    }
    out
}

/// Neither external-dns writes anything for HOST, loop after loop.
async fn assert_external_dns_leaves_it(h: &Harness, context: &str) {
    for round in 0..3 {
        let before = h.zone();
        for (cluster, r) in reconcile(h).await {
            assert!(
                !touched_host(&r),
                "{context}, round {round}: {cluster}'s external-dns wrote {HOST}: {r:?}"
            );
        }
        assert_eq!(
            h.zone(),
            before,
            "{context}, round {round}: the zone changed"
        );
    }
}

/// Annotations on the object of `kind` in `cluster`, as the team would set them.
fn annotate(h: &Harness, cluster: &str, kind: Kind, pairs: &[(&str, &str)]) {
    let add = |a: &mut BTreeMap<String, String>| {
        for (k, v) in pairs {
            a.insert(format!("{P}{k}"), (*v).to_string());
        }
    };
    match kind {
        Kind::Ingress => h.edit_ingress(cluster, "app", |i| add(&mut i.annotations)),
        Kind::Service => h.edit_service(cluster, "pay", "app", |s| add(&mut s.annotations)),
        Kind::HttpRoute => h.edit_http_route(cluster, "web", "app", |r| add(&mut r.annotations)),
    }
}

fn remove(h: &Harness, cluster: &str, kind: Kind) {
    match kind {
        Kind::Ingress => h.remove_ingress(cluster, "app"),
        Kind::Service => h.remove_service(cluster, "pay", "app"),
        Kind::HttpRoute => h.remove_http_route(cluster, "web", "app"),
    }
}

/// A canary from blue's `from` object to green's `to` object: start, every step with both
/// external-dns loops between ticks, the team's handover, and nothing written after it.
async fn canary(from: Kind, to: Kind) {
    let h = published(from, to).await;
    let report = h.deploy_event("msg-canary", SERVICE, "green").await;
    let entry = service_report(&report, SERVICE).unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(kind(&entry), "start", "{entry:#}");
    assert_eq!(entry["applied"], true, "{entry:#}");
    // The new `to` key: an alias to green's load balancer in its kind's zone, parked, labelled
    // with green's object; blue's key keeps blue's object.
    let zone = h.zone();
    assert_aliases_to(&h, &zone, "green", Some("app-green"));
    let labels = txt_labels(&zone);
    for ((name, sid), (owner, resource)) in &labels {
        assert_eq!(owner, "cutover", "{name} {sid:?}");
        let expected = match sid.as_deref() {
            Some("app-green") => to.resource(),
            Some("app-blue") => from.resource(),
            other => panic!("{name}: unexpected key {other:?}"),
        };
        assert_eq!(resource, expected, "{name} {sid:?}");
    }
    // The team names both weighted keys, as status says, on whatever objects serve the name.
    annotate(
        &h,
        "blue",
        from,
        &[("set-identifier", "app-blue"), ("aws-weight", "100")],
    );
    annotate(
        &h,
        "green",
        to,
        &[("set-identifier", "app-green"), ("aws-weight", "0")],
    );

    let mut seen = BTreeSet::new();
    let mut team_acted = false;
    let mut completed = false;
    for round in 0..40 {
        for (cluster, r) in reconcile(&h).await {
            assert!(
                !touched_host(&r),
                "round {round}: {cluster} wrote {HOST}: {r:?}"
            );
        }
        let report = h.tick().await;
        if let Some(entry) = service_report(&report, SERVICE) {
            assert!(entry.get("error").is_none(), "round {round}: {entry:#}");
            assert!(
                !matches!(kind(&entry), "refused" | "rollback" | "hold"),
                "round {round}: {entry:#}"
            );
            if let Some(p) = percent(&entry, "weights_after") {
                seen.insert(p);
            }
            if kind(&entry) == "complete" {
                completed = true;
                break;
            }
        }
        if seen.contains(&100) && !team_acted {
            // As the reports ask: green's object asks for its key with a weight, blue's goes.
            annotate(&h, "green", to, &[("aws-weight", "100")]);
            remove(&h, "blue", from);
            team_acted = true;
        }
    }
    assert!(completed, "never completed; shares seen {seen:?}");
    for p in [5, 25, 50, 100] {
        assert!(seen.contains(&p), "never at {p} %: {seen:?}");
    }
    // Green owns its key, labelled with its object; blue's key is gone.
    let zone = h.zone();
    assert_aliases_to(&h, &zone, "green", Some("app-green"));
    assert!(
        records_at(&zone, HOST)
            .iter()
            .all(|r| r.set_identifier.as_deref() == Some("app-green")),
        "{zone:?}"
    );
    let labels = txt_labels(&zone);
    assert_eq!(labels.len(), 2, "{labels:?}");
    for ((name, sid), (owner, resource)) in &labels {
        assert_eq!(sid.as_deref(), Some("app-green"), "{name}");
        assert_eq!(
            (owner.as_str(), resource.as_str()),
            ("green", to.resource()),
            "{name}"
        );
    }
    assert_external_dns_leaves_it(&h, "after the handover").await;
}

/// A blue-green switch from blue's `from` object to green's `to` object: one flip labelled with
/// green's object, the verify window with both external-dns loops between ticks, completion.
async fn blue_green(from: Kind, to: Kind) {
    let h = published(from, to).await;
    let report = h
        .deploy_event_with_strategy("msg-bg", SERVICE, "green", "blue-green")
        .await;
    let entry = service_report(&report, SERVICE).unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(kind(&entry), "start", "{entry:#}");
    assert_eq!(entry["applied"], true, "{entry:#}");
    let zone = h.zone();
    assert_aliases_to(&h, &zone, "green", None);
    let labels = txt_labels(&zone);
    assert!(!labels.is_empty());
    for ((name, _), (owner, resource)) in &labels {
        assert_eq!(
            (owner.as_str(), resource.as_str()),
            ("green", to.resource()),
            "{name}"
        );
    }
    // From the flip on, green's external-dns finds its desired state and blue's skips the key.
    assert_external_dns_leaves_it(&h, "after the flip").await;
    let mut completed = false;
    for round in 0..20 {
        for (cluster, r) in reconcile(&h).await {
            assert!(
                !touched_host(&r),
                "round {round}: {cluster} wrote {HOST}: {r:?}"
            );
        }
        let report = h.tick().await;
        if let Some(entry) = service_report(&report, SERVICE) {
            assert!(entry.get("error").is_none(), "round {round}: {entry:#}");
            assert!(
                !matches!(kind(&entry), "refused" | "rollback" | "hold"),
                "round {round}: {entry:#}"
            );
            if kind(&entry) == "complete" {
                completed = true;
                break;
            }
        }
    }
    assert!(completed, "the verify window never completed");
    assert_external_dns_leaves_it(&h, "after completion").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_of_a_name_served_by_a_service_behind_an_nlb() {
    canary(Kind::Service, Kind::Service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_of_a_name_served_by_a_service_behind_an_nlb() {
    blue_green(Kind::Service, Kind::Service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_of_a_name_served_by_an_httproute() {
    canary(Kind::HttpRoute, Kind::HttpRoute).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_of_a_name_served_by_an_httproute() {
    blue_green(Kind::HttpRoute, Kind::HttpRoute).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_from_an_ingress_to_an_httproute() {
    canary(Kind::Ingress, Kind::HttpRoute).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_from_an_ingress_to_an_httproute() {
    blue_green(Kind::Ingress, Kind::HttpRoute).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_nlb_listener_fails_the_tcp_check_and_rolls_back() {
    let h = published(Kind::Service, Kind::Service).await;
    let report = h.deploy_event("msg-tcp", SERVICE, "green").await;
    let entry = service_report(&report, SERVICE).unwrap();
    assert_eq!(kind(&entry), "start", "{entry:#}");
    annotate(
        &h,
        "blue",
        Kind::Service,
        &[("set-identifier", "app-blue"), ("aws-weight", "100")],
    );
    annotate(
        &h,
        "green",
        Kind::Service,
        &[("set-identifier", "app-green"), ("aws-weight", "0")],
    );
    // Up to the first step with good TCP checks.
    let mut at_five = false;
    for _ in 0..10 {
        reconcile(&h).await;
        let entry = service_report(&h.tick().await, SERVICE).unwrap();
        assert_eq!(entry["health"]["green"]["verdict"], "good", "{entry:#}");
        assert!(
            entry["health"]["green"]["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("expected a TCP connection"),
            "{entry:#}"
        );
        if percent(&entry, "weights_after") == Some(5) {
            at_five = true;
            break;
        }
    }
    assert!(at_five, "never reached 5 %");
    // Every target behind green's NLB goes: connects are refused.
    let green_lb = h.sandbox.load_balancer("k8s-green-lb").unwrap().clone();
    green_lb.set_accepting(false).await.unwrap();
    let mut rolled_back = None;
    for _ in 0..5 {
        reconcile(&h).await;
        let entry = service_report(&h.tick().await, SERVICE).unwrap();
        if kind(&entry) == "rollback" {
            rolled_back = Some(entry);
            break;
        }
        assert_eq!(kind(&entry), "hold", "{entry:#}");
        assert_eq!(entry["health"]["green"]["verdict"], "bad", "{entry:#}");
    }
    let entry = rolled_back.expect("no rollback");
    assert_eq!(entry["health"]["green"]["verdict"], "bad", "{entry:#}");
    assert_eq!(entry["health"]["blue"]["verdict"], "good", "{entry:#}");
    let reason = entry["health"]["green"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("connect"), "{reason}");
    assert_eq!(percent(&entry, "weights_after"), Some(0), "{entry:#}");
    green_lb.set_accepting(true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimants_of_several_kinds_are_refused_by_name_and_a_pin_chooses() {
    let mut world = world(Kind::Ingress, Kind::Ingress);
    // Blue's Service claims the name too (a second tenant, or a leftover).
    world.services.push(sandbox::world::ServiceSpec {
        cluster: "blue".into(),
        namespace: "pay".into(),
        name: "app".into(),
        annotations: BTreeMap::from([(format!("{P}hostname"), HOST.to_string())]),
        service_type: "LoadBalancer".into(),
        load_balancer: Some("k8s-blue-lb".into()),
    });
    let h = Harness::start(
        world,
        &[(SERVICE, "blue", "green")],
        &rollout(Kind::Ingress, Kind::Ingress),
    )
    .await;
    reconcile(&h).await;
    let history = h.sandbox.route53().history().len();
    let report = h.deploy_event("msg-ambiguous", SERVICE, "green").await;
    let entry = service_report(&report, SERVICE).unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(kind(&entry), "refused", "{entry:#}");
    let summary = entry["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains(
            "2 objects in cluster blue claim app.example.com (Ingress default/app, Service pay/app); set services.app.source.blue"
        ),
        "{summary}"
    );
    // No health verdict is taken from either claimant's load balancer.
    assert_eq!(
        entry["health"]["blue"]["verdict"], "inconclusive",
        "{entry:#}"
    );
    assert!(
        entry["health"]["blue"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("whose load balancer to probe is ambiguous"),
        "{entry:#}"
    );
    assert_eq!(
        h.sandbox.route53().history().len(),
        history,
        "something was written"
    );
    // Pinned to the Ingress, the start goes through.
    let pinned = h.config_toml.replace(
        "[services.app]\n",
        "[services.app]\nsource = { blue = \"ingress/default/app\" }\n",
    );
    let (ctx, _) = h
        .context_with(ContextOptions {
            config_toml: Some(pinned),
            ..ContextOptions::default()
        })
        .await;
    let report = cutover::engine::handle(
        &ctx,
        json!({"action": "start", "service": SERVICE, "actor": "alice", "reason": "pinned"}),
    )
    .await;
    let entry = service_report(&report, SERVICE).unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(kind(&entry), "start", "{entry:#}");
    assert_eq!(entry["health"]["blue"]["verdict"], "good", "{entry:#}");
}

/// The real EKS source lister, recording which kinds each call asks for.
struct RecordingSources {
    inner: Arc<dyn ClusterSources>,
    calls: Mutex<Vec<(String, Vec<SourceKind>)>>,
}

impl ClusterSources for RecordingSources {
    fn list_sources<'a>(
        &'a self,
        cluster: &'a ClusterRef,
        kinds: &'a [SourceKind],
    ) -> BoxFuture<'a, Result<Vec<SourceObject>, KubeError>> {
        self.calls
            .lock()
            .unwrap()
            .push((cluster.eks_name.clone(), kinds.to_vec()));
        self.inner.list_sources(cluster, kinds)
    }
}

/// Runs `payload` with `config_toml` and returns the report and the kinds listed per cluster.
async fn listed_kinds(
    h: &Harness,
    config_toml: &str,
    payload: Value,
) -> (Value, Vec<(String, Vec<SourceKind>)>) {
    let (mut ctx, _) = h
        .context_with(ContextOptions {
            config_toml: Some(config_toml.to_string()),
            ..ContextOptions::default()
        })
        .await;
    let recording = Arc::new(RecordingSources {
        inner: ctx.sources.clone(),
        calls: Mutex::new(Vec::new()),
    });
    ctx.sources = recording.clone();
    let report = cutover::engine::handle(&ctx, payload).await;
    let mut calls = recording.calls.lock().unwrap().clone();
    calls.sort();
    (report, calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutover_lists_only_the_kinds_the_config_uses_once_per_cluster() {
    let h = published(Kind::Ingress, Kind::HttpRoute).await;
    let status = json!({"action": "status", "service": SERVICE, "actor": "test"});
    // No source configured: every kind each cluster's external-dns reads, one call per cluster.
    let (report, calls) = listed_kinds(&h, &h.config_toml, status.clone()).await;
    assert!(service_report(&report, SERVICE).is_some(), "{report:#}");
    assert_eq!(
        calls,
        vec![
            (
                "blue".to_string(),
                vec![SourceKind::Ingress, SourceKind::Service]
            ),
            (
                "green".to_string(),
                vec![
                    SourceKind::Ingress,
                    SourceKind::Service,
                    SourceKind::HttpRoute
                ]
            ),
        ]
    );
    // The configured kinds only.
    let pinned = h.config_toml.replace(
        "[services.app]\n",
        "[services.app]\nsource = { blue = \"ingress\", green = \"httproute/web/app\" }\n",
    );
    let (report, calls) = listed_kinds(&h, &pinned, status).await;
    let entry = service_report(&report, SERVICE).unwrap();
    assert_eq!(entry["health"]["green"]["verdict"], "good", "{entry:#}");
    assert_eq!(
        calls,
        vec![
            ("blue".to_string(), vec![SourceKind::Ingress]),
            ("green".to_string(), vec![SourceKind::HttpRoute]),
        ]
    );
    // A rollback needs Route53 only: nothing is listed (docs/design.md §7.6).
    let (_, calls) = listed_kinds(
        &h,
        &pinned,
        json!({"action": "rollback", "service": SERVICE, "actor": "test", "reason": "e2e"}),
    )
    .await;
    assert!(calls.is_empty(), "{calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_without_the_gateway_api_is_named_in_the_report() {
    let mut world = world(Kind::Ingress, Kind::Ingress);
    world.clusters[1].gateway_api = false;
    let h = Harness::start(
        world,
        &[(SERVICE, "blue", "green")],
        &rollout(Kind::Ingress, Kind::Ingress),
    )
    .await;
    // The config claims green's external-dns reads HTTPRoutes and the name is served by one.
    let (head, green) = h.config_toml.split_once("[clusters.green]\n").unwrap();
    let sources_line = green
        .lines()
        .find(|l| l.starts_with("external_dns_sources = "))
        .expect("the generated config lists green's sources");
    let wrong = format!(
        "{head}[clusters.green]\n{}",
        green.replacen(
            sources_line,
            "external_dns_sources = [\"ingress\", \"service\", \"gateway-httproute\"]",
            1
        )
    )
    .replace(
        "[services.app]\n",
        "[services.app]\nsource = { green = \"httproute\" }\n",
    );
    let history = h.sandbox.route53().history().len();
    let (report, calls) = listed_kinds(
        &h,
        &wrong,
        json!({"action": "start", "service": SERVICE, "actor": "test", "reason": "e2e"}),
    )
    .await;
    assert!(
        calls.contains(&("green".to_string(), vec![SourceKind::HttpRoute])),
        "{calls:?}"
    );
    let problems = report["clusters"].as_array().cloned().unwrap_or_default();
    let green = problems
        .iter()
        .find(|p| p["cluster"] == "green")
        .unwrap_or_else(|| panic!("no problem reported for green: {report:#}"));
    let error = green["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("listing HTTPRoutes failed")
            && error.contains(
                "is the Gateway API, gateway.networking.k8s.io/v1, installed in the cluster?"
            ),
        "{error}"
    );
    let entry = service_report(&report, SERVICE).unwrap();
    assert_eq!(kind(&entry), "refused", "{entry:#}");
    assert_eq!(
        h.sandbox.route53().history().len(),
        history,
        "something was written"
    );
}
