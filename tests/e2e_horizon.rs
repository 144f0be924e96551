//! End to end on the sandbox: split-horizon DNS. `example.com` is both a public zone and a private
//! zone (associated with the clusters' VPC); both external-dns instances write every name into
//! both, as external-dns does (docs/reference/external-dns.md §5 "Mirror edits"). cutover mirrors
//! each edit into both zones, the private zone first (docs/design.md §8.1). What each test shows:
//! - a canary moves both zones in step, private before public at every write, to completion;
//!   a blue-green flips both zones and completes, external-dns then leaving both alone;
//! - a fault between the zones' batches — at the start, at a step, at the completion, at a
//!   rollback — leaves the public zone behind for one tick; the next tick converges it to the
//!   private zone's state (or rolls it back too) without moving the migration, which then goes on;
//! - a forward batch refused in the first zone is not sent to the second;
//! - a step's bake waits until its change is INSYNC in every zone (a zone whose change id was
//!   lost waits the fallback even when the other's is INSYNC);
//! - a third party's edit in one zone holds the service and is never overwritten;
//! - under random faults (refused changes, lost answers, failed listings) for 40 ticks, the zones
//!   are never more than one decision apart, never stay apart over a fault-free tick, and end
//!   equal (three seeds: each completes; the zones were apart after 5 ticks in all).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;

use std::time::Duration;

use sandbox::lb::Behaviour;
use sandbox::route53::{Action as ChangeAction, Change};
use sandbox::world::World;
use serde_json::Value;
use support::{a_weights, service_report, state_of, ContextOptions, Harness, FAST_ROLLOUT};

fn world() -> World {
    let text = r#"
[[zones]]
name = "example.com"

[[zones]]
name = "example.com"
private = true

[[clusters]]
name = "blue"
region = "eu-west-1"
load_balancers = [{ name = "k8s-blue-ingress", kind = "alb" }]
[clusters.external_dns]
owner_id = "blue"
version = "v0.22"
policy = "sync"
interval_seconds = 60

[[clusters]]
name = "green"
region = "eu-west-1"
load_balancers = [{ name = "k8s-green-ingress", kind = "alb" }]
[clusters.external_dns]
owner_id = "green"
version = "v0.22"
policy = "sync"
interval_seconds = 60

[[ingresses]]
cluster = "blue"
name = "search"
hosts = ["search.example.com"]
load_balancer = "k8s-blue-ingress"
annotations = { "external-dns.kubernetes.io/set-identifier" = "search-blue", "external-dns.kubernetes.io/aws-weight" = "100" }

[[ingresses]]
cluster = "green"
name = "search"
hosts = ["search.example.com"]
load_balancer = "k8s-green-ingress"
annotations = { "external-dns.kubernetes.io/set-identifier" = "search-green", "external-dns.kubernetes.io/aws-weight" = "0" }

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
"#;
    World::from_toml(text).unwrap_or_else(|e| panic!("world: {e}"))
}

struct Zones {
    private: String,
    public: String,
}

async fn harness() -> (Harness, Zones) {
    harness_with(FAST_ROLLOUT).await
}

async fn harness_with(rollout: &str) -> (Harness, Zones) {
    // Route53's request rates are not what these tests are about: the sandbox's account limit
    // and cutover's client-side limit are lifted, so no tick waits on a token bucket.
    let mut h = Harness::start(
        world(),
        &[("search", "blue", "green"), ("payments", "blue", "green")],
        rollout,
    )
    .await;
    h.sandbox.route53().set_rate_limit(None);
    let (ctx, route53) = h
        .context_with(ContextOptions {
            route53_rate: Some(1000.0),
            ..ContextOptions::default()
        })
        .await;
    h.ctx = ctx;
    h.route53 = route53;
    let zones = h.sandbox.route53().zones();
    let id = |private: bool| {
        zones
            .iter()
            .find(|z| z.private == private)
            .map(|z| z.id.clone())
            .expect("zone")
    };
    let zones = Zones {
        private: id(true),
        public: id(false),
    };
    assert!(
        h.config_toml.contains("private = true"),
        "{}",
        h.config_toml
    );
    sync_external_dns(&h).await;
    // external-dns wrote the name into both zones.
    assert!(!search_records(&h, &zones.private).is_empty());
    assert_eq!(
        search_records(&h, &zones.private),
        search_records(&h, &zones.public)
    );
    (h, zones)
}

async fn sync_external_dns(h: &Harness) {
    for (cluster, r) in h.external_dns().await {
        assert!(r.failed.is_empty(), "{cluster}: {:?}", r.failed);
        assert!(r.errors.is_empty(), "{cluster}: {:?}", r.errors);
    }
}

/// The record sets of `search` in one zone (its name, its TXT registry names, its state
/// record), as JSON for comparison.
fn search_records(h: &Harness, zone_id: &str) -> Vec<Value> {
    service_records(h, zone_id, "search")
}

fn service_records(h: &Harness, zone_id: &str, service: &str) -> Vec<Value> {
    let label = format!("{service}.");
    let mut out: Vec<Value> = h
        .sandbox
        .route53()
        .records(zone_id)
        .into_iter()
        .filter(|r| r.name.contains(&label))
        .map(|r| {
            let mut v = serde_json::to_value(&r).unwrap();
            if let Some(values) = v.get_mut("records").and_then(Value::as_array_mut) {
                values.sort_by_key(|x| x.to_string());
            }
            v
        })
        .collect();
    out.sort_by_key(|v| v.to_string());
    out
}

fn kind(entry: &Value) -> String {
    entry["kind"].as_str().unwrap_or_default().to_string()
}

fn share(entry: &Value, key: &str) -> Option<u64> {
    entry.get(key)?.get("to")?.as_u64()
}

/// The state record's `at` in one zone.
fn state_at(h: &Harness, zone_id: &str) -> Option<i64> {
    state_of(&h.sandbox.route53().records(zone_id), "search")
        .ok()
        .map(|s| s.at)
}

/// What the next tick would decide (a dry run: same clock, same observations, nothing written).
async fn planned_kind(h: &Harness) -> String {
    let report = h.command("plan", "search").await;
    service_report(&report, "search")
        .map(|e| kind(&e))
        .unwrap_or_default()
}

/// The zone ids of the changes applied since `start`, in order, with the service's ones only.
fn written_zones(h: &Harness, start: usize) -> Vec<String> {
    h.sandbox
        .route53()
        .history_since(start)
        .into_iter()
        .filter(|c| c.changes.iter().any(|ch| ch.rrset.name.contains("search.")))
        .map(|c| c.zone_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_moves_both_zones_in_step_private_first() {
    let (h, z) = harness().await;
    let start = h.sandbox.route53().history_len();
    let report = h.deploy_event("msg-1", "search", "green").await;
    let entry = service_report(&report, "search").unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(kind(&entry), "start", "{entry:#}");
    assert_eq!(entry["applied"], true, "{entry:#}");
    let results = entry["zone_results"].as_array().expect("zone results");
    assert_eq!(results.len(), 2, "{entry:#}");
    assert_eq!(results[0]["zone_id"], z.private.as_str());
    assert_eq!(results[1]["zone_id"], z.public.as_str());
    assert_eq!(
        written_zones(&h, start),
        vec![z.private.clone(), z.public.clone()]
    );
    let mut seen = Vec::new();
    let mut completed = false;
    let mut team_acted = false;
    for tick in 0..40 {
        h.advance(Duration::from_secs(60));
        sync_external_dns(&h).await;
        let before = h.sandbox.route53().history_len();
        let report = h.tick().await;
        let entry = service_report(&report, "search").unwrap_or_else(|| panic!("{report:#}"));
        assert!(entry.get("error").is_none(), "tick {tick}: {entry:#}");
        // Both zones hold the same records after every tick, and every write went to the
        // private zone first.
        assert_eq!(
            search_records(&h, &z.private),
            search_records(&h, &z.public),
            "tick {tick}"
        );
        let zones = written_zones(&h, before);
        if !zones.is_empty() {
            assert_eq!(
                zones,
                vec![z.private.clone(), z.public.clone()],
                "tick {tick}"
            );
        }
        if let Some(p) = share(&entry, "weights_after") {
            if seen.last() != Some(&p) {
                seen.push(p);
            }
        }
        if seen.contains(&100) && !team_acted {
            h.annotate("green", "search", &[("aws-weight", "100")]);
            h.remove_ingress("blue", "search");
            team_acted = true;
        }
        if kind(&entry) == "complete" {
            completed = true;
            break;
        }
    }
    assert!(completed, "the canary did not complete: {seen:?}");
    for p in [5, 25, 50, 100] {
        assert!(seen.contains(&p), "never reached {p} %: {seen:?}");
    }
    let records = h.sandbox.route53().records(&z.public);
    assert_eq!(a_weights(&records, "search", "blue", "green").0, None);
}

/// Runs a canary and makes the public zone's batch fail at the first tick whose decision is
/// `at` ("start" fails the deploy event's batch). Then checks that the zones are apart, that the
/// next tick converges the public zone without moving the migration, and that the migration
/// completes with both zones in step.
async fn fault_between_zones(at: &str) {
    let (h, z) = harness().await;
    let fail_public = || {
        // The private zone's batch goes through; the public zone's is refused.
        h.sandbox.route53().faults().fail_change_after(
            1,
            "InvalidInput",
            "injected between the zones",
        );
    };
    let mut faulted = false;
    let check_apart = |entry: &Value| {
        let results = entry["zone_results"].as_array().expect("zone results");
        assert_eq!(results[0]["zone_id"], z.private.as_str(), "{entry:#}");
        assert_eq!(results[0]["applied"], true, "{entry:#}");
        assert_eq!(results[1]["zone_id"], z.public.as_str(), "{entry:#}");
        assert_eq!(results[1]["applied"], false, "{entry:#}");
        assert_eq!(entry["applied"], false, "{entry:#}");
        let error = entry["error"].as_str().unwrap_or_default();
        assert!(error.contains(&z.public), "{entry:#}");
        assert_ne!(
            search_records(&h, &z.private),
            search_records(&h, &z.public)
        );
        assert!(state_at(&h, &z.private) > state_at(&h, &z.public));
    };
    if at == "start" {
        fail_public();
        faulted = true;
    }
    let report = h.deploy_event("msg-1", "search", "green").await;
    h.sandbox.route53().faults().clear();
    let entry = service_report(&report, "search").unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(kind(&entry), "start", "{entry:#}");
    if faulted {
        check_apart(&entry);
    }
    let mut converged = !faulted;
    let mut completed = false;
    let mut team_acted = false;
    let mut converge_ticks = 0;
    for tick in 0..50 {
        h.advance(Duration::from_secs(60));
        sync_external_dns(&h).await;
        let apart = search_records(&h, &z.private) != search_records(&h, &z.public);
        let fault_now = !faulted && !apart && planned_kind(&h).await == at;
        if fault_now {
            fail_public();
            faulted = true;
        }
        let lead_before = search_records(&h, &z.private);
        let report = h.tick().await;
        h.sandbox.route53().faults().clear();
        let entry = service_report(&report, "search").unwrap_or_else(|| panic!("{report:#}"));
        if fault_now {
            assert_eq!(kind(&entry), at, "tick {tick}: {entry:#}");
            check_apart(&entry);
            continue;
        }
        if apart {
            // The tick after the fault: the public zone is brought to the private zone's state,
            // and the private zone (the lead) is not written.
            assert_eq!(kind(&entry), "converge", "tick {tick}: {entry:#}");
            assert!(entry.get("error").is_none(), "tick {tick}: {entry:#}");
            assert_eq!(search_records(&h, &z.private), lead_before, "tick {tick}");
            assert_eq!(
                search_records(&h, &z.private),
                search_records(&h, &z.public),
                "tick {tick}: converged"
            );
            let zones = entry["zones"].as_array().expect("zones");
            assert_eq!(zones[0]["standing"], "lead", "{entry:#}");
            assert_eq!(zones[1]["standing"], "lagging", "{entry:#}");
            converged = true;
            converge_ticks += 1;
            if at == "complete" {
                break;
            }
            continue;
        }
        assert!(entry.get("error").is_none(), "tick {tick}: {entry:#}");
        if share(&entry, "weights_after") == Some(100) && !team_acted {
            h.annotate("green", "search", &[("aws-weight", "100")]);
            h.remove_ingress("blue", "search");
            team_acted = true;
        }
        if kind(&entry) == "complete" {
            completed = true;
            break;
        }
    }
    assert!(faulted, "no tick decided {at}");
    assert!(
        converged,
        "the zones never converged after the fault at {at}"
    );
    assert_eq!(converge_ticks, 1, "one converging tick");
    if at != "complete" {
        assert!(
            completed,
            "the canary did not complete after a fault at {at}"
        );
    }
    assert_eq!(
        search_records(&h, &z.private),
        search_records(&h, &z.public)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_between_the_zones_at_the_start_is_converged_by_the_next_tick() {
    fault_between_zones("start").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_between_the_zones_at_a_step_is_converged_by_the_next_tick() {
    fault_between_zones("advance").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_between_the_zones_at_the_completion_is_converged_by_the_next_tick() {
    fault_between_zones("complete").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_that_fails_in_one_zone_is_finished_by_the_next_tick() {
    let (h, z) = harness().await;
    let report = h.deploy_event("msg-1", "search", "green").await;
    let entry = service_report(&report, "search").unwrap();
    assert_eq!(entry["applied"], true, "{entry:#}");
    // The first step takes traffic to green (a rollback needs a share to take back).
    for tick in 0..10 {
        h.advance(Duration::from_secs(60));
        sync_external_dns(&h).await;
        let report = h.tick().await;
        let entry = service_report(&report, "search").unwrap();
        if share(&entry, "weights_after").is_some_and(|p| p > 0) {
            break;
        }
        assert!(tick < 9, "no first step: {entry:#}");
    }
    // green goes bad: the next checks fail and the service is rolled back.
    let green_lb = h.lb_hostname("green");
    h.set_lb_behaviour(
        "green",
        "search.example.com",
        Behaviour::Status { status: 503 },
    );
    let mut rolled_back = false;
    for tick in 0..10 {
        h.advance(Duration::from_secs(60));
        sync_external_dns(&h).await;
        let planned = planned_kind(&h).await;
        if planned == "rollback" {
            h.sandbox.route53().faults().fail_change_after(
                1,
                "InvalidInput",
                "injected between the zones",
            );
        }
        let report = h.tick().await;
        h.sandbox.route53().faults().clear();
        let entry = service_report(&report, "search").unwrap();
        if planned == "rollback" {
            assert_eq!(kind(&entry), "rollback", "tick {tick}: {entry:#}");
            let results = entry["zone_results"].as_array().expect("zone results");
            assert_eq!(results[0]["applied"], true, "{entry:#}");
            assert_eq!(results[1]["applied"], false, "{entry:#}");
            // The private zone is rolled back; the public one is not yet.
            let private = h.sandbox.route53().records(&z.private);
            let public = h.sandbox.route53().records(&z.public);
            assert_eq!(a_weights(&private, "search", "blue", "green").1, Some(0));
            assert_ne!(a_weights(&public, "search", "blue", "green").1, Some(0));
            rolled_back = true;
            break;
        }
    }
    assert!(
        rolled_back,
        "no rollback was decided ({green_lb} answers 503)"
    );
    h.advance(Duration::from_secs(60));
    sync_external_dns(&h).await;
    let report = h.tick().await;
    let entry = service_report(&report, "search").unwrap();
    assert_eq!(kind(&entry), "converge", "{entry:#}");
    let public = h.sandbox.route53().records(&z.public);
    assert_eq!(a_weights(&public, "search", "blue", "green").1, Some(0));
    assert_eq!(
        state_of(&public, "search").map(|s| s.phase.name()),
        Ok("rolled-back")
    );
    assert_eq!(
        search_records(&h, &z.private),
        search_records(&h, &z.public)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_batch_refused_in_the_first_zone_is_not_sent_to_the_second() {
    let (h, z) = harness().await;
    let start = h.sandbox.route53().history_len();
    h.sandbox
        .route53()
        .faults()
        .fail_next_change("InvalidInput", "injected in the first zone");
    let report = h.deploy_event("msg-1", "search", "green").await;
    let entry = service_report(&report, "search").unwrap();
    assert_eq!(entry["applied"], false, "{entry:#}");
    let results = entry["zone_results"].as_array().expect("zone results");
    assert_eq!(results.len(), 1, "{entry:#}");
    assert_eq!(results[0]["zone_id"], z.private.as_str());
    let error = entry["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(&format!("not sent to zone {}", z.public)),
        "{entry:#}"
    );
    assert!(written_zones(&h, start).is_empty());
    assert!(state_of(&h.sandbox.route53().records(&z.public), "search").is_err());
    // A retry of the start goes through in both.
    let report = h.deploy_event("msg-2", "search", "green").await;
    let entry = service_report(&report, "search").unwrap();
    assert_eq!(entry["applied"], true, "{entry:#}");
    assert_eq!(
        search_records(&h, &z.private),
        search_records(&h, &z.public)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_edit_in_one_zone_holds_and_is_never_overwritten() {
    let (h, z) = harness().await;
    let report = h.deploy_event("msg-1", "search", "green").await;
    assert_eq!(service_report(&report, "search").unwrap()["applied"], true);
    // Someone sets the parked blue key's A weight by hand in the public zone only.
    let public = h.sandbox.route53().records(&z.public);
    let old = public
        .iter()
        .find(|r| {
            r.name.trim_end_matches('.') == "search.example.com"
                && r.rtype == "A"
                && r.set_identifier.as_deref() == Some("search-blue")
        })
        .cloned()
        .expect("blue A");
    let mut new = old.clone();
    new.weight = Some(7);
    h.sandbox
        .route53()
        .change(
            &z.public,
            vec![
                Change {
                    action: ChangeAction::Delete,
                    rrset: old,
                },
                Change {
                    action: ChangeAction::Create,
                    rrset: new,
                },
            ],
            Some("by hand".into()),
        )
        .expect("the hand edit is valid");
    let edited = search_records(&h, &z.public);
    let private = search_records(&h, &z.private);
    for tick in 0..4 {
        h.advance(Duration::from_secs(60));
        let report = h.tick().await;
        let entry = service_report(&report, "search").unwrap();
        let alerts = entry["alerts"].to_string();
        assert!(
            alerts.contains(&format!("zone {} disagrees", z.public)),
            "tick {tick}: {entry:#}"
        );
        assert_ne!(kind(&entry), "advance", "tick {tick}: {entry:#}");
        assert_ne!(kind(&entry), "converge", "tick {tick}: {entry:#}");
        assert_eq!(
            search_records(&h, &z.public),
            edited,
            "tick {tick}: overwritten"
        );
        assert_eq!(
            search_records(&h, &z.private),
            private,
            "tick {tick}: moved"
        );
    }
}

/// Blue-green: the event names the strategy; one step, a five-minute verify window.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blue_green_flips_both_zones_and_completes_in_step() {
    let (h, z) = harness_with(BG_ROLLOUT).await;
    let start = h.sandbox.route53().history_len();
    let report = h
        .deploy_event_with_strategy("msg-bg", "payments", "green", "blue-green")
        .await;
    let entry = service_report(&report, "payments").unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(kind(&entry), "start", "{entry:#}");
    assert_eq!(entry["applied"], true, "{entry:#}");
    let written: Vec<String> = h
        .sandbox
        .route53()
        .history_since(start)
        .into_iter()
        .filter(|c| {
            c.changes
                .iter()
                .any(|ch| ch.rrset.name.contains("payments."))
        })
        .map(|c| c.zone_id)
        .collect();
    assert_eq!(written, vec![z.private.clone(), z.public.clone()]);
    let mut done = false;
    for round in 0..30 {
        h.advance(Duration::from_secs(60));
        sync_external_dns(&h).await;
        let report = h.tick().await;
        let entry = service_report(&report, "payments").unwrap_or_else(|| panic!("{report:#}"));
        assert!(entry.get("error").is_none(), "round {round}: {entry:#}");
        assert_eq!(
            service_records(&h, &z.private, "payments"),
            service_records(&h, &z.public, "payments"),
            "round {round}"
        );
        if kind(&entry) == "complete" {
            done = true;
            break;
        }
    }
    assert!(done, "the blue-green did not complete");
    // Both zones hand the name to green's external-dns, which then leaves them alone.
    for zone in [&z.private, &z.public] {
        let records = h.sandbox.route53().records(zone);
        let state = state_of(&records, "payments").expect("state record");
        assert_eq!(state.phase.name(), "completed");
    }
    let before = h.sandbox.route53().history_len();
    sync_external_dns(&h).await;
    assert!(
        h.sandbox.route53().history_since(before).is_empty(),
        "external-dns rewrote a zone after the handover"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_waits_for_insync_in_every_zone() {
    let (h, z) = harness().await;
    let report = h.deploy_event("msg-1", "search", "green").await;
    assert_eq!(service_report(&report, "search").unwrap()["applied"], true);
    // The first step: the private zone's answer arrives, the public zone's is lost (its batch
    // is applied all the same), so only the private zone's change record lists the step's id.
    let mut stepped = false;
    for tick in 0..10 {
        h.advance(Duration::from_secs(60));
        sync_external_dns(&h).await;
        if planned_kind(&h).await == "advance" {
            h.sandbox.route53().faults().lose_change_answer_after(
                1,
                "InternalFailure",
                "injected: the public zone's answer is lost",
            );
            let report = h.tick().await;
            h.sandbox.route53().faults().clear();
            let entry = service_report(&report, "search").unwrap();
            assert_eq!(kind(&entry), "advance", "tick {tick}: {entry:#}");
            let results = entry["zone_results"].as_array().expect("zone results");
            assert_eq!(results[0]["applied"], true, "{entry:#}");
            assert!(results[0]["change_id"].is_string(), "{entry:#}");
            assert_eq!(results[1]["applied"], true, "{entry:#}");
            assert!(results[1].get("change_id").is_none(), "{entry:#}");
            assert_eq!(
                search_records(&h, &z.private),
                search_records(&h, &z.public)
            );
            stepped = true;
            break;
        }
        h.tick().await;
    }
    assert!(stepped, "no first step");
    // A minute later the private zone's request is INSYNC, but the public zone's cannot be
    // asked: the step waits for the fallback instead of starting its bake.
    h.advance(Duration::from_secs(60));
    sync_external_dns(&h).await;
    let report = h.tick().await;
    let entry = service_report(&report, "search").unwrap();
    assert_eq!(kind(&entry), "wait", "{entry:#}");
    let waits_for = entry["waits_for"].as_str().unwrap_or_default();
    assert!(
        waits_for.starts_with("INSYNC of the last change"),
        "{entry:#}"
    );
    // Once the fallback has passed, the migration goes on to completion in both zones.
    let mut completed = false;
    let mut team_acted = false;
    for tick in 0..40 {
        h.advance(Duration::from_secs(60));
        sync_external_dns(&h).await;
        let report = h.tick().await;
        let entry = service_report(&report, "search").unwrap();
        assert!(entry.get("error").is_none(), "tick {tick}: {entry:#}");
        if share(&entry, "weights_after") == Some(100) && !team_acted {
            h.annotate("green", "search", &[("aws-weight", "100")]);
            h.remove_ingress("blue", "search");
            team_acted = true;
        }
        if kind(&entry) == "complete" {
            completed = true;
            break;
        }
    }
    assert!(completed);
}

/// A small deterministic generator (xorshift), so each seed replays the same faults.
struct Faults(u64);

impl Faults {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_random_faults_the_zones_stay_within_one_decision_and_converge() {
    let mut ever_apart = 0;
    for seed in [0x5eed_0001u64, 0x5eed_0002, 0x5eed_0003] {
        let (h, z) = harness().await;
        let mut rng = Faults(seed);
        let report = h.deploy_event("msg-1", "search", "green").await;
        assert_eq!(service_report(&report, "search").unwrap()["applied"], true);
        let mut team_acted = false;
        let mut apart_ticks = 0;
        let mut outcome = None;
        for tick in 0..80 {
            h.advance(Duration::from_secs(60));
            sync_external_dns(&h).await;
            // Faults for the first 40 ticks, then none.
            let faults = h.sandbox.route53().faults();
            let fault = if tick < 40 { rng.next(6) } else { 0 };
            match fault {
                1 => faults.fail_change_after(rng.next(3) as u32, "InvalidInput", "injected"),
                2 => faults.lose_change_answer_after(
                    rng.next(3) as u32,
                    "InternalFailure",
                    "injected",
                ),
                3 => faults.fail_list_after(rng.next(3) as u32, "ServiceUnavailable", "injected"),
                _ => {}
            }
            let before = [
                search_records(&h, &z.private),
                search_records(&h, &z.public),
            ];
            let report = h.tick().await;
            faults.clear();
            let entry = service_report(&report, "search").unwrap();
            let after = [
                search_records(&h, &z.private),
                search_records(&h, &z.public),
            ];
            if after[0] != after[1] {
                // A failure between the zones: one of them did not move this tick.
                assert!(
                    after[0] == before[0] || after[1] == before[1],
                    "seed {seed:#x} tick {tick}: both zones moved and differ: {entry:#}"
                );
                apart_ticks += 1;
                ever_apart += 1;
                assert!(
                    apart_ticks <= 1 || fault != 0,
                    "seed {seed:#x} tick {tick}: a fault-free tick left the zones apart: {entry:#}"
                );
            } else {
                apart_ticks = 0;
            }
            if share(&entry, "weights_after") == Some(100) && !team_acted && after[0] == after[1] {
                h.annotate("green", "search", &[("aws-weight", "100")]);
                h.remove_ingress("blue", "search");
                team_acted = true;
            }
            let phase =
                state_of(&h.sandbox.route53().records(&z.public), "search").map(|s| s.phase.name());
            if tick >= 40
                && after[0] == after[1]
                && matches!(phase, Ok("completed" | "rolled-back"))
            {
                outcome = phase.ok();
                break;
            }
        }
        let outcome = outcome.unwrap_or_else(|| panic!("seed {seed:#x}: no end state"));
        assert_eq!(
            search_records(&h, &z.private),
            search_records(&h, &z.public),
            "seed {seed:#x} ended at {outcome}"
        );
    }
    // The faults did split the zones, so the checks above were exercised.
    assert!(
        ever_apart >= 3,
        "the zones were apart after only {ever_apart} ticks"
    );
}
