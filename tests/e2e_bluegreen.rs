//! End to end on the sandbox: blue-green by TXT ownership flip (docs/design.md §3.2) with the
//! external-dns simulators at v0.13, v0.18, v0.21 and v0.22 settings and a mixed v0.21/v0.22
//! pair. A simple record owned by `blue`; green's Ingress asks for the same key with a
//! load-balancer status; a deploy event naming blue-green flips every TXT variant to green and
//! points the aliases at green's load balancer in one batch; both external-dns loops then leave
//! the key alone; the verify window passes and the migration completes — or green fails and the
//! zone goes back to exactly what it was. The zone is checked against docs/design.md §7 at every
//! committed state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cutover_core::registry::{encrypt_labels, EncryptionKey, Labels};
use sandbox::external_dns::ReconcileReport;
use sandbox::route53::Rrset;
use sandbox::world::World;
use serde_json::Value;
use support::{service_report, Harness};

const SERVICE: &str = "payments";
const HOST: &str = "payments.example.com";
const STATE_NAME: &str = "_cutover.payments.example.com";
/// The zone's change record (docs/state-record.md "Change ids").
const CHANGES_NAME: &str = "_cutover._changes.example.com";
const RESOURCE: &str = "ingress/default/payments";
/// The registry TXT names external-dns may use for the host without prefix/suffix
/// (docs/reference/external-dns.md §1 "TXT names"): old format, and typed `a-`, `aaaa-`, `cname-`.
const TXT_NAMES: [&str; 4] = [
    "payments.example.com",
    "a-payments.example.com",
    "aaaa-payments.example.com",
    "cname-payments.example.com",
];

/// The service's strategy in the config is canary: the deploy event's `strategy` must win.
const BG_ROLLOUT: &str = r#"
[defaults]
strategy = "canary"
steps = [{ percent = 100, bake = "2m" }]
failure_threshold = 2
verify_window = "5m"
propagation_allowance = "30s"

[defaults.health_check]
scheme = "http"
path = "/healthz"
timeout = "5s"
samples = 3
allowed_failures = 0
"#;

/// Two clusters with external-dns at the given versions; `payments` has an Ingress in both,
/// asking for the simple record, each with a load-balancer status.
fn world(blue_version: &str, green_version: &str) -> World {
    let text = world_text(blue_version, green_version);
    World::from_toml(&text).unwrap_or_else(|e| panic!("world: {e}\n{text}"))
}

fn world_text(blue_version: &str, green_version: &str) -> String {
    format!(
        r#"
[[zones]]
name = "example.com"

[[clusters]]
name = "blue"
region = "eu-west-1"
load_balancers = [{{ name = "k8s-blue-ingress", kind = "alb" }}]
[clusters.external_dns]
owner_id = "blue"
version = "{blue_version}"
policy = "sync"
interval_seconds = 60

[[clusters]]
name = "green"
region = "eu-west-1"
load_balancers = [{{ name = "k8s-green-ingress", kind = "alb" }}]
[clusters.external_dns]
owner_id = "green"
version = "{green_version}"
policy = "sync"
interval_seconds = 60

[[ingresses]]
cluster = "blue"
name = "payments"
hosts = ["payments.example.com"]
load_balancer = "k8s-blue-ingress"

[[ingresses]]
cluster = "green"
name = "payments"
hosts = ["payments.example.com"]
load_balancer = "k8s-green-ingress"
"#
    )
}

fn bare(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn is_registry_txt(r: &Rrset) -> bool {
    r.rtype == "TXT" && TXT_NAMES.contains(&bare(&r.name).as_str())
}

/// Every record cutover may touch for the service: the host's records, its registry TXTs and
/// the state record.
fn is_managed_name(name: &str) -> bool {
    let n = bare(name);
    TXT_NAMES.contains(&n.as_str()) || n == STATE_NAME
}

/// The host's A/AAAA records and registry TXTs (not the state record), sorted.
fn service_records(records: &[Rrset]) -> Vec<Rrset> {
    let mut out: Vec<Rrset> = records
        .iter()
        .filter(|r| {
            (bare(&r.name) == HOST && (r.rtype == "A" || r.rtype == "AAAA")) || is_registry_txt(r)
        })
        .cloned()
        .collect();
    out.sort_by(|a, b| {
        (bare(&a.name), &a.rtype, &a.set_identifier).cmp(&(
            bare(&b.name),
            &b.rtype,
            &b.set_identifier,
        ))
    });
    out
}

/// The labels of a plain registry TXT value, or `None` when it is not the canonical form.
fn canonical_labels(r: &Rrset) -> Option<(String, String)> {
    let value = r.records.first()?;
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    let rest = inner.strip_prefix("heritage=external-dns,external-dns/owner=")?;
    let (owner, resource) = rest.split_once(",external-dns/resource=")?;
    if owner.contains(',') || resource.contains(',') {
        return None;
    }
    Some((owner.to_string(), resource.to_string()))
}

fn txt_owners(records: &[Rrset]) -> BTreeMap<String, String> {
    records
        .iter()
        .filter(|r| is_registry_txt(r))
        .map(|r| {
            let owner = canonical_labels(r).map(|(o, _)| o).unwrap_or_default();
            (bare(&r.name), owner)
        })
        .collect()
}

fn kind(entry: &Value) -> &str {
    entry.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// docs/design.md §7 on one committed state, for a simple (blue-green) record:
/// docs/design.md §7.1 A and AAAA each have exactly one simple answer; docs/design.md §7.4 A and
/// AAAA agree, every registry TXT is TTL 300, canonical, unweighted like its record, and all name
/// the same owner, whose cluster's load balancer the aliases point at (a record owned by one
/// cluster and pointing at the other's load balancer would be a split).
fn check_invariants(h: &Harness, records: &[Rrset], context: &str) {
    let lb_of_owner: BTreeMap<&str, String> = [
        ("blue", bare(&h.lb_hostname("blue"))),
        ("green", bare(&h.lb_hostname("green"))),
    ]
    .into_iter()
    .collect();
    let mut targets = BTreeSet::new();
    // v0.13 writes no AAAA alias (AAAA aliases since v0.16, docs/reference/external-dns.md §2).
    let aaaa = h
        .world
        .clusters
        .iter()
        .any(|c| c.name == "blue" && !matches!(c.external_dns.version.as_str(), "v0.13"));
    let types: &[&str] = if aaaa { &["A", "AAAA"] } else { &["A"] };
    assert_eq!(
        host_types(records),
        types.iter().map(|t| t.to_string()).collect::<BTreeSet<_>>(),
        "{context}: the host's record types"
    );
    for &rtype in types {
        let members: Vec<&Rrset> = records
            .iter()
            .filter(|r| bare(&r.name) == HOST && r.rtype == rtype)
            .collect();
        assert_eq!(members.len(), 1, "{context}: {HOST} {rtype}: {members:?}");
        let record = members[0];
        assert_eq!(record.weight, None, "{context}: {rtype} became weighted");
        assert_eq!(record.set_identifier, None, "{context}: {rtype}");
        let alias = record
            .alias_target
            .as_ref()
            .unwrap_or_else(|| panic!("{context}: {rtype} is not an alias: {record:?}"));
        targets.insert(bare(&alias.dns_name));
    }
    assert_eq!(
        targets.len(),
        1,
        "{context}: A and AAAA disagree: {targets:?}"
    );
    let mut owners = BTreeSet::new();
    for txt in records.iter().filter(|r| is_registry_txt(r)) {
        assert_eq!(txt.ttl, Some(300), "{context}: {} TTL", txt.name);
        assert_eq!(txt.weight, None, "{context}: {} weighted", txt.name);
        assert_eq!(txt.set_identifier, None, "{context}: {}", txt.name);
        let (owner, resource) = canonical_labels(txt)
            .unwrap_or_else(|| panic!("{context}: {} not canonical: {:?}", txt.name, txt.records));
        assert_eq!(resource, RESOURCE, "{context}: {}", txt.name);
        owners.insert(owner);
    }
    assert_eq!(owners.len(), 1, "{context}: owners split: {owners:?}");
    let owner = owners.into_iter().next().unwrap_or_default();
    let target = targets.into_iter().next().unwrap_or_default();
    assert_eq!(
        lb_of_owner.get(owner.as_str()),
        Some(&target),
        "{context}: owner {owner} but the aliases point at {target}"
    );
}

/// Every change of the history from `start` on kept the invariants and touched only the
/// service's names and cutover's change record (docs/design.md §7.3: only configured hostnames,
/// and cutover's own records of the zone).
fn check_history(h: &Harness, start: usize) {
    let history = h.sandbox.route53().history();
    for change in history.iter().skip(start) {
        let context = format!("after change {} ({:?})", change.change_id, change.comment);
        for c in &change.changes {
            assert!(
                is_managed_name(&c.rrset.name) || bare(&c.rrset.name) == CHANGES_NAME,
                "{context}: touched {}",
                c.rrset.name
            );
        }
        check_invariants(h, &change.records_after, &context);
    }
}

fn touched_host(report: &ReconcileReport) -> bool {
    report
        .created
        .iter()
        .chain(&report.updated)
        .chain(&report.deleted)
        .any(|c| bare(&c.name) == HOST)
}

/// The record types of the host that `report` skipped, each with the owner it read. `None`: no
/// TXT this version reads (a v0.14–v0.21 instance reads only `cname-` for an A alias,
/// docs/reference/external-dns.md §1 "Lookup order"), which counts as "not mine" too.
fn skipped_types(report: &ReconcileReport) -> BTreeMap<String, Option<String>> {
    report
        .skipped
        .iter()
        .filter(|s| bare(&s.name) == HOST)
        .map(|s| (s.record_type.clone(), s.owner.clone()))
        .collect()
}

fn host_types(records: &[Rrset]) -> BTreeSet<String> {
    records
        .iter()
        .filter(|r| bare(&r.name) == HOST && r.rtype != "TXT")
        .map(|r| r.rtype.clone())
        .collect()
}

/// One external-dns loop of `cluster`. The sandbox's Route53 allows 5 requests/second in real
/// time (docs/reference/route53.md "Limits"); a loop whose listing was throttled changed nothing
/// and is run again after a pause, as external-dns would on its next interval.
async fn one_loop(h: &Harness, cluster: &str) -> ReconcileReport {
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
    report
}

/// The owner writes nothing and the other cluster skips the key (docs/reference/external-dns.md §3:
/// "The old owner silently skips the key").
async fn assert_external_dns_settled(h: &Harness, owner: &str, other: &str, context: &str) {
    let zone_before = h.sandbox.route53().records(&h.zone_id());
    let mut reports = BTreeMap::new();
    for cluster in ["blue", "green"] {
        reports.insert(cluster.to_string(), one_loop(h, cluster).await);
    }
    for (cluster, r) in &reports {
        assert!(r.failed.is_empty(), "{context}: {cluster}: {:?}", r.failed);
        assert!(r.errors.is_empty(), "{context}: {cluster}: {:?}", r.errors);
        assert!(
            !touched_host(r),
            "{context}: {cluster} changed {HOST}: {r:?}"
        );
    }
    let other_report = reports
        .get(other)
        .unwrap_or_else(|| panic!("{context}: no report of {other}"));
    let skipped = skipped_types(other_report);
    let types = host_types(&zone_before);
    assert!(
        !types.is_empty() && types.iter().all(|t| skipped.contains_key(t)),
        "{context}: {other} did not skip {HOST} {types:?} (owned by {owner}): {:?}",
        other_report.skipped
    );
    for (t, read) in &skipped {
        assert!(
            read.is_none() || read.as_deref() == Some(owner),
            "{context}: {other} read owner {read:?} for {t}, expected {owner}"
        );
    }
    assert_eq!(
        h.sandbox.route53().records(&h.zone_id()),
        zone_before,
        "{context}: an external-dns loop changed the zone"
    );
}

/// The sandbox with blue's external-dns having published the simple record and green's
/// skipping it (first writer wins, docs/reference/external-dns.md §3).
async fn published(blue_version: &str, green_version: &str) -> Harness {
    let h = Harness::start(
        world(blue_version, green_version),
        &[(SERVICE, "blue", "green")],
        BG_ROLLOUT,
    )
    .await;
    let reports = h.external_dns().await;
    for (cluster, r) in &reports {
        assert!(r.failed.is_empty(), "{cluster}: {:?}", r.failed);
    }
    // The sandbox's first loops ran at start, in world order: blue published the record.
    let zone = h.sandbox.route53().records(&h.zone_id());
    let owners = txt_owners(&zone);
    assert!(
        !owners.is_empty() && owners.values().all(|o| o == "blue"),
        "blue did not publish {HOST}: {zone:?}"
    );
    check_invariants(&h, &h.sandbox.route53().records(&h.zone_id()), "published");
    assert_external_dns_settled(&h, "blue", "green", "before the start").await;
    h
}

/// Sends the deploy event naming blue-green and checks the one switch batch.
async fn switch(h: &Harness, message_id: &str) -> Vec<Rrset> {
    let before = service_records(&h.sandbox.route53().records(&h.zone_id()));
    let history_before = h.sandbox.route53().history().len();
    let report = h
        .deploy_event_with_strategy(message_id, SERVICE, "green", "blue-green")
        .await;
    let entry = service_report(&report, SERVICE).unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(kind(&entry), "start", "{entry:#}");
    assert_eq!(entry["applied"], true, "{entry:#}");
    assert!(entry.get("error").is_none(), "{entry:#}");
    let history = h.sandbox.route53().history();
    // docs/design.md §3.2 step 2: ONE batch holds every traffic and registry change and the state
    // record; what follows it only records the change id: in the zone's change record
    // (docs/state-record.md "Change ids"), or in the state record as format 1 did.
    let new: Vec<_> = history.iter().skip(history_before).collect();
    let Some((switch_batch, follow_ups)) = new.split_first() else {
        panic!("nothing written: {entry:#}")
    };
    for f in follow_ups {
        assert!(
            f.changes
                .iter()
                .all(|c| [STATE_NAME, CHANGES_NAME].contains(&bare(&c.rrset.name).as_str())),
            "a second batch touched the service's records: {:?}",
            f.changes
        );
    }
    let after = service_records(&h.sandbox.route53().records(&h.zone_id()));
    // The TXT variants left are exactly the names green's external-dns writes for the A and
    // AAAA aliases (so exactly the ones it reads, and deletes with the records one day), each
    // owned by green with green's Ingress as resource; every other variant present before was
    // deleted (docs/reference/external-dns.md §5).
    let owners_before = txt_owners(&before);
    let owners_after = txt_owners(&after);
    assert!(!owners_before.is_empty());
    let green = h
        .ctx
        .config
        .cluster(&cutover_core::types::Name::new("green").unwrap())
        .unwrap()
        .txt_naming();
    let host = cutover_core::types::DnsName::parse(HOST).unwrap();
    let green_writes: BTreeSet<String> = [
        cutover_core::route53::model::RecordType::A,
        cutover_core::route53::model::RecordType::Aaaa,
    ]
    .iter()
    .filter(|t| {
        after
            .iter()
            .any(|r| bare(&r.name) == HOST && r.rtype == t.as_str())
    })
    .flat_map(|t| cutover_core::registry::written_variants(t, true, green.version))
    .filter_map(|v| cutover_core::registry::txt_name(&host, v, &green))
    .map(|n| n.to_string())
    .collect();
    assert_eq!(
        owners_after.keys().cloned().collect::<BTreeSet<String>>(),
        green_writes,
        "{after:?}"
    );
    assert!(owners_after.values().all(|o| o == "green"), "{after:?}");
    for txt in after.iter().filter(|r| is_registry_txt(r)) {
        assert_eq!(
            canonical_labels(txt).map(|(_, r)| r).as_deref(),
            Some(RESOURCE)
        );
    }
    // A and AAAA point at green's load balancer.
    let green_lb = bare(&h.lb_hostname("green"));
    for r in after.iter().filter(|r| r.rtype == "A" || r.rtype == "AAAA") {
        let target = r.alias_target.as_ref().map(|a| bare(&a.dns_name));
        assert_eq!(target.as_deref(), Some(green_lb.as_str()), "{r:?}");
    }
    // The state record was written in the same batch (docs/design.md §7.5), with every traffic
    // change.
    assert!(
        switch_batch
            .changes
            .iter()
            .any(|c| bare(&c.rrset.name) == HOST),
        "{:?}",
        switch_batch.changes
    );
    assert_eq!(
        service_records(&switch_batch.records_after),
        after,
        "the switch batch alone made the new records"
    );
    assert!(
        switch_batch
            .changes
            .iter()
            .any(|c| bare(&c.rrset.name) == STATE_NAME),
        "{:?}",
        switch_batch.changes
    );
    before
}

/// Ticks (one minute apart, both external-dns loops before each) until a report for the
/// service has `wanted` kind; checks the loops left the key to `owner`.
async fn tick_until(h: &Harness, wanted: &str, owner: &str, other: &str) -> Value {
    for round in 0..30 {
        h.advance(Duration::from_secs(60));
        assert_external_dns_settled(h, owner, other, &format!("round {round}")).await;
        let report = h.tick().await;
        if let Some(entry) = service_report(&report, SERVICE) {
            assert!(entry.get("error").is_none(), "round {round}: {entry:#}");
            assert_ne!(kind(&entry), "refused", "round {round}: {entry:#}");
            if kind(&entry) == wanted {
                return entry;
            }
        }
    }
    panic!("never reached {wanted}");
}

async fn blue_green_completes(blue_version: &str, green_version: &str) {
    let h = published(blue_version, green_version).await;
    let history_start = h.sandbox.route53().history().len();
    let switched_at = h.sandbox.clock().now_millis();
    switch(&h, "msg-switch").await;
    // The `to` simulator finds its desired state; the `from` simulator skips the key.
    h.advance(Duration::from_secs(60));
    assert_external_dns_settled(&h, "green", "blue", "after the switch").await;
    let done = tick_until(&h, "complete", "green", "blue").await;
    assert_eq!(done["applied"], true, "{done:#}");
    // Completion only after the verify window (5 m of simulated time, after INSYNC).
    let waited = h.sandbox.clock().now_millis() - switched_at;
    assert!(waited >= 5 * 60_000, "completed after {waited} ms");
    check_history(&h, history_start);
    // After completion both loops still leave the key as it is.
    h.advance(Duration::from_secs(60));
    assert_external_dns_settled(&h, "green", "blue", "after completion").await;
    let end = h.tick().await;
    if let Some(entry) = service_report(&end, SERVICE) {
        assert_eq!(entry.get("applied"), Some(&Value::Bool(false)), "{entry:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_v013() {
    blue_green_completes("v0.13", "v0.13").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_v018() {
    blue_green_completes("v0.18", "v0.18").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_v021() {
    blue_green_completes("v0.21", "v0.21").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_v022() {
    blue_green_completes("v0.22", "v0.22").await;
}

/// Known planner gap: the switch keeps the `cname-` entry a v0.22 `to` reads but does not add
/// the `a-` entry it expects, so green's external-dns self-heals (UPSERTs the A record and
/// creates `a-`) on its first loop after the switch (docs/reference/external-dns.md §1
/// "Self-healing"). The switch must also CREATE `to`'s expected typed TXT when it is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_v021_to_v022() {
    blue_green_completes("v0.21", "v0.22").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_v022_to_v021() {
    blue_green_completes("v0.22", "v0.21").await;
}

/// The records of the host and its registry TXTs, compared one by one (name, type, set
/// identifier, weight, TTL, values, alias target, health check).
fn assert_same_records(expected: &[Rrset], actual: &[Rrset], context: &str) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{context}: record count\nexpected {expected:#?}\nactual {actual:#?}"
    );
    for (e, a) in expected.iter().zip(actual) {
        assert_eq!(a.name, e.name, "{context}: name");
        assert_eq!(a.rtype, e.rtype, "{context}: {} type", e.name);
        assert_eq!(a.set_identifier, e.set_identifier, "{context}: {}", e.name);
        assert_eq!(a.weight, e.weight, "{context}: {} weight", e.name);
        assert_eq!(a.ttl, e.ttl, "{context}: {} TTL", e.name);
        assert_eq!(a.records, e.records, "{context}: {} values", e.name);
        assert_eq!(
            a.alias_target, e.alias_target,
            "{context}: {} alias",
            e.name
        );
        assert_eq!(
            a.health_check_id, e.health_check_id,
            "{context}: {}",
            e.name
        );
    }
}

/// Green's load balancer answers 503 after the switch: the verify window fails and the zone
/// goes back to exactly the records before the start; blue's external-dns then owns the key
/// again and its next loop changes nothing (docs/design.md §3.2 step 3).
async fn failed_verify_rolls_back(blue_version: &str, green_version: &str) {
    let h = published(blue_version, green_version).await;
    let history_start = h.sandbox.route53().history().len();
    let before = service_records(&h.sandbox.route53().records(&h.zone_id()));
    switch(&h, "msg-rollback").await;
    h.set_lb_behaviour(
        "green",
        HOST,
        sandbox::lb::Behaviour::Status { status: 503 },
    );
    let rolled = tick_until(&h, "rollback", "green", "blue").await;
    assert_eq!(rolled["applied"], true, "{rolled:#}");
    assert!(
        rolled["summary"]
            .as_str()
            .is_some_and(|s| s.contains("flipped back to blue")),
        "{rolled:#}"
    );
    let after = service_records(&h.sandbox.route53().records(&h.zone_id()));
    assert_same_records(&before, &after, "after the rollback");
    check_history(&h, history_start);
    // blue's external-dns owns and keeps the key; green's skips it.
    h.advance(Duration::from_secs(60));
    assert_external_dns_settled(&h, "blue", "green", "after the rollback").await;
    h.advance(Duration::from_secs(60));
    let history_len = h.sandbox.route53().history().len();
    let report = h.tick().await;
    if let Some(entry) = service_report(&report, SERVICE) {
        assert_ne!(entry.get("applied"), Some(&Value::Bool(true)), "{entry:#}");
    }
    assert_eq!(h.sandbox.route53().history().len(), history_len);
    assert_same_records(
        &before,
        &service_records(&h.sandbox.route53().records(&h.zone_id())),
        "after the next loops",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_verify_rolls_back_v022() {
    failed_verify_rolls_back("v0.22", "v0.22").await;
}

/// The switch added the `cname-` entry a v0.21 `to` reads; the rollback removes it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_verify_rolls_back_v022_to_v021() {
    failed_verify_rolls_back("v0.22", "v0.21").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_verify_rolls_back_v013() {
    failed_verify_rolls_back("v0.13", "v0.13").await;
}

/// A second delivery of the same SNS message (same MessageId) changes nothing (docs/design.md
/// §7.8), right after the switch and again later in the verify window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_sns_delivery_changes_nothing() {
    let h = published("v0.22", "v0.22").await;
    switch(&h, "msg-dup").await;
    for round in 0..2 {
        let history_len = h.sandbox.route53().history().len();
        let zone = h.sandbox.route53().records(&h.zone_id());
        let replay = h
            .deploy_event_with_strategy("msg-dup", SERVICE, "green", "blue-green")
            .await;
        assert_eq!(
            h.sandbox.route53().history().len(),
            history_len,
            "round {round}: {replay:#}"
        );
        assert_eq!(h.sandbox.route53().records(&h.zone_id()), zone);
        if let Some(entry) = service_report(&replay, SERVICE) {
            assert_ne!(entry.get("applied"), Some(&Value::Bool(true)), "{entry:#}");
        }
        h.advance(Duration::from_secs(60));
        let report = h.tick().await;
        let entry = service_report(&report, SERVICE).unwrap_or_else(|| panic!("{report:#}"));
        assert!(entry.get("error").is_none(), "{entry:#}");
    }
}

// ---------------------------------------------------------------------------------------------
// Encrypted registry entries (--txt-encrypt-enabled)
// ---------------------------------------------------------------------------------------------

const KEY_ENV: &str = "BLUE_TXT_AES_KEY";
const RAW_KEY: &str = "0123456789abcdef0123456789abcdef";

/// payments published by a v0.22 blue with `--txt-encrypt-enabled`: A/AAAA aliases to blue's
/// load balancer, `a-` and `aaaa-` entries sealed with the key (docs/reference/external-dns.md §1
/// "Encryption").
fn encrypted_world() -> World {
    let key = EncryptionKey::parse(RAW_KEY).expect("test key");
    let sealed = encrypt_labels(&Labels::new("blue", Some(RESOURCE)), &key, [7u8; 12])
        .expect("sealed labels");
    let mut text = world_text("v0.22", "v0.22");
    for rtype in ["A", "AAAA"] {
        text.push_str(&format!(
            "\n[[records]]\nzone = \"example.com\"\nname = \"{HOST}\"\ntype = \"{rtype}\"\nalias = {{ load_balancer = \"k8s-blue-ingress\" }}\n"
        ));
    }
    for txt in ["a-payments.example.com", "aaaa-payments.example.com"] {
        text.push_str(&format!(
            "\n[[records]]\nzone = \"example.com\"\nname = \"{txt}\"\ntype = \"TXT\"\nttl = 300\nvalues = ['{sealed}']\n"
        ));
    }
    World::from_toml(&text).unwrap_or_else(|e| panic!("world: {e}\n{text}"))
}

fn with_key_setting(config: String) -> String {
    config.replace(
        "[clusters.blue]\n",
        &format!("[clusters.blue]\ntxt_encrypt_key_env = \"{KEY_ENV}\"\n"),
    )
}

fn key_env(name: &str) -> Option<String> {
    (name == KEY_ENV).then(|| RAW_KEY.to_string())
}

async fn status_owner(h: &Harness) -> String {
    let report = h.command("status", SERVICE).await;
    let entry = service_report(&report, SERVICE).unwrap_or_else(|| panic!("{report:#}"));
    entry["owners"]["simple"]
        .as_str()
        .unwrap_or_else(|| panic!("{entry:#}"))
        .to_string()
}

/// Both strategies' starts are refused and nothing is written.
async fn starts_refused(h: &Harness, needle: &str) {
    for (i, strategy) in ["blue-green", "canary"].into_iter().enumerate() {
        let history_len = h.sandbox.route53().history().len();
        let report = h
            .deploy_event_with_strategy(&format!("msg-enc-{i}"), SERVICE, "green", strategy)
            .await;
        let entry = service_report(&report, SERVICE).unwrap_or_else(|| panic!("{report:#}"));
        assert_eq!(kind(&entry), "refused", "{strategy}: {entry:#}");
        assert_eq!(entry["applied"], false, "{entry:#}");
        let summary = entry["summary"].as_str().unwrap_or("");
        assert!(summary.contains("is encrypted"), "{strategy}: {summary}");
        assert!(summary.contains(needle), "{strategy}: {summary}");
        assert_eq!(h.sandbox.route53().history().len(), history_len);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_owner_is_read_with_the_key_and_start_is_refused() {
    let h = Harness::start_with_config(
        encrypted_world(),
        &[(SERVICE, "blue", "green")],
        BG_ROLLOUT,
        with_key_setting,
        &key_env,
    )
    .await
    .unwrap_or_else(|e| panic!("config loads: {e}"));
    assert!(h.config_toml.contains(KEY_ENV));
    assert!(
        !h.config_toml.contains(RAW_KEY),
        "the key is never in the file"
    );
    assert_eq!(status_owner(&h).await, "blue");
    starts_refused(&h, "owner \"blue\"").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_owner_without_the_key_is_unknown_and_start_is_refused() {
    let h = Harness::start(encrypted_world(), &[(SERVICE, "blue", "green")], BG_ROLLOUT).await;
    assert_eq!(status_owner(&h).await, "(encrypted)");
    starts_refused(&h, "no configured key opens it").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_variable_fails_the_config_naming_the_key() {
    let result = Harness::start_with_config(
        encrypted_world(),
        &[(SERVICE, "blue", "green")],
        BG_ROLLOUT,
        with_key_setting,
        &|_| None,
    )
    .await;
    let Err(error) = result else {
        panic!("the config loaded without its key variable")
    };
    assert_eq!(error.path(), Some("clusters.blue.txt_encrypt_key_env"));
    assert!(
        error.to_string().contains(KEY_ENV) && error.to_string().contains("is not set"),
        "{error}"
    );
}
