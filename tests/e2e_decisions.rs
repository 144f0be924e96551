//! Decisions a platform team can trust, end to end on the sandbox: each test is a way a hostile
//! or careless user (or an unlucky network) once made cutover move traffic the wrong way.
//! - a start toward the cluster that already serves is refused (no 100 % switch without a canary);
//! - a flapping `to` is rolled back, never promoted; a bad check restarts the bake;
//! - probes go to the pinned Ingress's load balancer only;
//! - parked records without a state record are reported, and `rollback` / `adopt` recover them;
//! - a lost change id makes cutover wait the INSYNC fallback, and a state-only write never
//!   adopts a change id that is not its traffic change's;
//! - SNS `dry_run`, whole ids, explicit fleet-wide commands, third clusters, Kubernetes failures
//!   in the report, approval steps and the analysis of a step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cutover::engine::Context;
use cutover::observe::health::{ProbeSpec, ProbeTarget, Prober};
use cutover_core::observation::{ClusterHealth, Verdict};
use cutover_core::state::Phase;
use futures::future::BoxFuture;
use sandbox::lb::Behaviour;
use sandbox::route53::{Action as SandboxAction, Change as SandboxChange, Rrset};
use sandbox::world::{World, DEFAULT_WORLD_TOML};
use serde_json::{json, Value};
use support::{
    a_weights, closed_port_url, records_at, service_report, state_of, ContextOptions, Harness,
    FAST_ROLLOUT,
};

fn kind(entry: &Value) -> &str {
    entry["kind"].as_str().unwrap_or("")
}

fn summary(entry: &Value) -> &str {
    entry["summary"].as_str().unwrap_or("")
}

fn alerts(entry: &Value) -> Vec<String> {
    entry["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

fn entry(report: &Value, service: &str) -> Value {
    service_report(report, service).unwrap_or_else(|| panic!("no {service} entry: {report:#}"))
}

/// How many changes Route53 has applied so far (every write cutover or external-dns made).
fn writes(h: &Harness) -> usize {
    h.sandbox.route53().history().len()
}

/// One minute passes, both external-dns run a loop, then a scheduled tick. Returns the report.
async fn minute(h: &Harness) -> Value {
    h.advance(Duration::from_secs(60));
    h.external_dns().await;
    h.tick().await
}

async fn minute_with(h: &Harness, ctx: &Context) -> Value {
    h.advance(Duration::from_secs(60));
    h.external_dns().await;
    cutover::engine::handle(ctx, support::scheduled_event()).await
}

/// Ticks until `service` carries `percent` on `to` (applied) and that change's bake began.
async fn reach(h: &Harness, service: &str, percent: u64) {
    for _ in 0..30 {
        let e = entry(&minute(h).await, service);
        assert!(e.get("error").is_none(), "{e:#}");
        if e["applied"] == true && e["weights_after"]["to"] == percent {
            return;
        }
    }
    panic!("{service} never reached {percent} %");
}

// ---------------------------------------------------------------------------------------------
// 1. A start toward the current cluster

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_toward_the_serving_cluster_is_refused_and_writes_nothing() {
    let h = Harness::start(
        World::default_world(),
        &[("payments", "blue", "green")],
        FAST_ROLLOUT,
    )
    .await;
    h.deploy_ingress("green", "payments");
    h.external_dns().await;
    let before = h.zone();
    let writes_before = writes(&h);

    // A manual start toward `from` (blue serves payments today).
    let report = h
        .invoke(json!({"action": "start", "service": "payments", "actor": "ci", "to": "blue"}))
        .await;
    let e = entry(&report, "payments");
    assert_eq!(kind(&e), "refused", "{e:#}");
    assert!(
        summary(&e).contains("blue") && summary(&e).contains("from"),
        "the reason names the cluster and why: {e:#}"
    );
    assert_eq!(e["applied"], false);

    // A deploy event on the current cluster is a routine deploy: a no-op with its reason.
    let report = h.deploy_event("deploy-blue-1", "payments", "blue").await;
    let e = entry(&report, "payments");
    assert_eq!(kind(&e), "noop", "{e:#}");
    assert!(summary(&e).contains("blue"), "{e:#}");
    assert_eq!(writes(&h), writes_before, "nothing was written");
    assert_eq!(h.zone(), before, "the zone is unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_toward_a_cluster_that_already_has_all_the_traffic_is_refused() {
    let h = Harness::start(
        World::default_world(),
        &[("checkout", "blue", "green")],
        FAST_ROLLOUT,
    )
    .await;
    // The team moved checkout by hand already: green 100, blue 0.
    h.annotate("blue", "checkout", &[("aws-weight", "0")]);
    h.annotate("green", "checkout", &[("aws-weight", "100")]);
    h.external_dns().await;
    assert_eq!(
        a_weights(&h.zone(), "checkout", "blue", "green"),
        (Some(0), Some(100))
    );
    let writes_before = writes(&h);
    let e = entry(&h.command("start", "checkout").await, "checkout");
    assert_eq!(kind(&e), "refused", "{e:#}");
    assert!(summary(&e).contains("all the traffic"), "{e:#}");
    let e = entry(
        &h.deploy_event("deploy-green-1", "checkout", "green").await,
        "checkout",
    );
    assert_eq!(kind(&e), "noop", "{e:#}");
    assert_eq!(writes(&h), writes_before, "nothing was written");
}

// ---------------------------------------------------------------------------------------------
// 2. A flapping `to`

/// One sample per check, so every check of a flapping load balancer alternates good and bad.
const FLAP_ROLLOUT: &str = r#"
[defaults]
strategy = "canary"
steps = [{ percent = 5, bake = "2m" }, { percent = 25, bake = "2m" }, { percent = 50, bake = "2m" }, { percent = 100, bake = "2m" }]
failure_threshold = 2
failure_limit = 3
propagation_allowance = "30s"

[defaults.health_check]
scheme = "http"
path = "/healthz"
timeout = "5s"
samples = 1
allowed_failures = 0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_to_is_rolled_back_and_never_promoted() {
    let h = Harness::start(
        World::default_world(),
        &[("search", "blue", "green")],
        FLAP_ROLLOUT,
    )
    .await;
    let e = entry(&h.command("start", "search").await, "search");
    assert_eq!(kind(&e), "start", "{e:#}");
    reach(&h, "search", 5).await;
    h.set_lb_behaviour(
        "green",
        "search.example.com",
        Behaviour::Flap {
            every: 1,
            good: 200,
            bad: 503,
        },
    );
    let mut verdicts = Vec::new();
    let mut rolled_back = false;
    for _ in 0..12 {
        let e = entry(&minute(&h).await, "search");
        verdicts.push(
            e["health"]["green"]["verdict"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
        assert!(
            e["weights_after"]["to"].as_u64().unwrap_or(0) <= 5,
            "a flapping side advanced: {e:#}"
        );
        if kind(&e) == "rollback" {
            assert_eq!(e["applied"], true, "{e:#}");
            assert!(summary(&e).contains("3 of"), "{e:#}");
            rolled_back = true;
            break;
        }
    }
    assert!(rolled_back, "no rollback; verdicts {verdicts:?}");
    assert!(verdicts.iter().any(|v| v == "good"), "{verdicts:?}");
    assert_eq!(
        a_weights(&h.zone(), "search", "blue", "green"),
        (Some(100), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_check_restarts_the_bake_and_the_step_reports_its_analysis() {
    let h = Harness::start(
        World::default_world(),
        &[("search", "blue", "green")],
        FLAP_ROLLOUT,
    )
    .await;
    h.command("start", "search").await;
    reach(&h, "search", 5).await;
    // The change becomes INSYNC and the bake starts.
    let e = entry(&minute(&h).await, "search");
    assert_eq!(kind(&e), "wait", "{e:#}");
    // One bad check, then good again: the bake starts over from the bad check.
    h.set_lb_behaviour(
        "green",
        "search.example.com",
        Behaviour::Status { status: 503 },
    );
    let bad = entry(&minute(&h).await, "search");
    assert_eq!(kind(&bad), "hold", "{bad:#}");
    assert_eq!(bad["analysis"]["checks"]["bad"], 1, "{bad:#}");
    h.set_lb_behaviour(
        "green",
        "search.example.com",
        Behaviour::Status { status: 200 },
    );
    // Two minutes after INSYNC the old bake would be over; the restarted one is not.
    let e = entry(&minute(&h).await, "search");
    assert_eq!(kind(&e), "wait", "{e:#}");
    assert!(
        e["waits_for"].as_str().unwrap_or("").contains("bake"),
        "{e:#}"
    );
    let analysis = &e["analysis"];
    assert_eq!(analysis["step"], 5, "{e:#}");
    assert_eq!(analysis["checks"]["bad"], 1, "{e:#}");
    assert!(
        analysis["checks"]["good"].as_u64().unwrap_or(0) >= 1,
        "{e:#}"
    );
    assert!(
        analysis["rule"].as_str().is_some_and(|r| !r.is_empty()),
        "{e:#}"
    );
    // The full bake after the bad check, all good: the step advances.
    let mut advanced = false;
    for _ in 0..4 {
        let e = entry(&minute(&h).await, "search");
        if kind(&e) == "advance" {
            assert_eq!(e["weights_after"]["to"], 25, "{e:#}");
            advanced = true;
            break;
        }
    }
    assert!(advanced, "the step never advanced after a clean bake");
}

// ---------------------------------------------------------------------------------------------
// 3. Probes go to the pinned Ingress only

/// Answers good for `good_lb`, bad for any other load balancer, and records every target.
struct RecordingProber {
    good_lb: String,
    seen: Mutex<Vec<String>>,
}

impl Prober for RecordingProber {
    fn check<'a>(
        &'a self,
        _spec: &'a ProbeSpec,
        target: &'a ProbeTarget,
    ) -> BoxFuture<'a, ClusterHealth> {
        Box::pin(async move {
            self.seen.lock().unwrap().push(target.load_balancer.clone());
            let good = target.load_balancer.trim_end_matches('.') == self.good_lb
                || !target.load_balancer.contains("green");
            ClusterHealth {
                verdict: if good { Verdict::Good } else { Verdict::Bad },
                reason: format!("scripted for {}", target.load_balancer),
                samples: Vec::new(),
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_go_to_the_pinned_ingress_and_not_to_another_tenants() {
    // Green has a second load balancer, of another tenant whose Ingress also claims the host
    // (in a namespace that sorts first).
    let world_toml = DEFAULT_WORLD_TOML.replace(
        "load_balancers = [{ name = \"k8s-green-ingress\", kind = \"alb\" }]",
        "load_balancers = [{ name = \"k8s-green-ingress\", kind = \"alb\" }, { name = \"k8s-green-tenant\", kind = \"alb\" }]",
    ) + r#"
[[ingresses]]
cluster = "green"
namespace = "aaa-tenant"
name = "search-copy"
hosts = ["search.example.com"]
load_balancer = "k8s-green-tenant"
annotations = { "external-dns.kubernetes.io/set-identifier" = "search-green", "external-dns.kubernetes.io/aws-weight" = "0" }
"#;
    let world = World::from_toml(&world_toml).unwrap();
    let h = Harness::start(world, &[("search", "blue", "green")], FAST_ROLLOUT).await;
    let pinned_lb = h
        .sandbox
        .cluster("green")
        .unwrap()
        .load_balancer("k8s-green-ingress")
        .unwrap()
        .hostname()
        .to_string();
    let pinned = h.config_toml.replace(
        "[services.search]\n",
        "[services.search]\ningress = { green = \"default/search\" }\n",
    );
    let prober = Arc::new(RecordingProber {
        good_lb: pinned_lb.clone(),
        seen: Mutex::new(Vec::new()),
    });
    let (ctx, _) = h
        .context_with(ContextOptions {
            config_toml: Some(pinned.clone()),
            prober: Some(prober.clone()),
            ..ContextOptions::default()
        })
        .await;
    let report = cutover::engine::handle(
        &ctx,
        json!({"action": "status", "service": "search", "actor": "test"}),
    )
    .await;
    let e = entry(&report, "search");
    assert_eq!(e["health"]["green"]["verdict"], "good", "{e:#}");
    let seen = prober.seen.lock().unwrap().clone();
    let green_targets: Vec<&String> = seen.iter().filter(|t| t.contains("green")).collect();
    assert!(!green_targets.is_empty(), "{seen:?}");
    assert!(
        green_targets
            .iter()
            .all(|t| t.trim_end_matches('.') == pinned_lb),
        "probed another tenant's load balancer: {seen:?}"
    );

    // Without a pin, two claimants: no verdict is taken from either, and start is refused
    // naming both.
    let (ctx, _) = h
        .context_with(ContextOptions {
            prober: Some(prober.clone()),
            ..ContextOptions::default()
        })
        .await;
    let report = cutover::engine::handle(
        &ctx,
        json!({"action": "start", "service": "search", "actor": "test"}),
    )
    .await;
    let e = entry(&report, "search");
    assert_eq!(kind(&e), "refused", "{e:#}");
    assert!(
        summary(&e).contains("aaa-tenant/search-copy") && summary(&e).contains("default/search"),
        "{e:#}"
    );
    assert_eq!(e["health"]["green"]["verdict"], "inconclusive", "{e:#}");
}

// ---------------------------------------------------------------------------------------------
// 4. Parked records without a state record

/// Deletes the state record of `service` behind cutover's back.
fn delete_state_record(h: &Harness, service: &str) {
    let name = format!("_cutover.{service}.example.com.");
    let record: Rrset = h
        .zone()
        .into_iter()
        .find(|r| r.name == name && r.rtype == "TXT")
        .expect("a state record");
    h.sandbox
        .route53()
        .change(
            &h.zone_id(),
            vec![SandboxChange {
                action: SandboxAction::Delete,
                rrset: record,
            }],
            Some("someone cleans up".into()),
        )
        .expect("deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_state_record_is_reported_and_rollback_recovers_the_split() {
    let h = Harness::start(
        World::default_world(),
        &[("search", "blue", "green")],
        FAST_ROLLOUT,
    )
    .await;
    h.command("start", "search").await;
    reach(&h, "search", 5).await;
    delete_state_record(&h, "search");
    assert!(state_of(&h.zone(), "search").is_err());

    // Every tick and status say so.
    let tick = entry(&minute(&h).await, "search");
    assert!(
        alerts(&tick).iter().any(|a| a.contains("no state record")),
        "{tick:#}"
    );
    let status = entry(&h.command("status", "search").await, "search");
    assert!(
        alerts(&status)
            .iter()
            .any(|a| a.contains("no state record")),
        "{status:#}"
    );

    // A dry-run rollback shows the batch and writes nothing.
    let writes_before = writes(&h);
    let dry = entry(
        &h.invoke(
            json!({"action": "rollback", "service": "search", "actor": "alice",
                         "reason": "state lost", "dry_run": true}),
        )
        .await,
        "search",
    );
    assert_eq!(kind(&dry), "rollback", "{dry:#}");
    assert_eq!(dry["applied"], false);
    assert!(dry["batch"]["changes"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
    assert_eq!(writes(&h), writes_before);

    // The real one returns all traffic to blue and writes a state record again.
    let e = entry(
        &h.invoke(
            json!({"action": "rollback", "service": "search", "actor": "alice",
                         "reason": "state lost"}),
        )
        .await,
        "search",
    );
    assert_eq!(kind(&e), "rollback", "{e:#}");
    assert_eq!(e["applied"], true, "{e:#}");
    assert_eq!(
        a_weights(&h.zone(), "search", "blue", "green"),
        (Some(100), Some(0))
    );
    let st = state_of(&h.zone(), "search").unwrap();
    assert_eq!(st.phase, Phase::RolledBack);
    let tick = entry(&minute(&h).await, "search");
    assert!(
        !alerts(&tick).iter().any(|a| a.contains("no state record")),
        "{tick:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopt_rebuilds_a_lost_state_record_from_the_zone() {
    let h = Harness::start(
        World::default_world(),
        &[("search", "blue", "green")],
        FAST_ROLLOUT,
    )
    .await;
    h.command("start", "search").await;
    reach(&h, "search", 5).await;
    delete_state_record(&h, "search");
    let writes_before = writes(&h);
    let dry = entry(
        &h.invoke(
            json!({"action": "adopt", "service": "search", "actor": "alice", "dry_run": true}),
        )
        .await,
        "search",
    );
    assert_eq!(kind(&dry), "adopt", "{dry:#}");
    assert_eq!(writes(&h), writes_before, "a dry run wrote");
    let e = entry(
        &h.invoke(
            json!({"action": "adopt", "service": "search", "actor": "alice",
                         "reason": "state lost"}),
        )
        .await,
        "search",
    );
    assert_eq!(kind(&e), "adopt", "{e:#}");
    assert_eq!(e["applied"], true, "{e:#}");
    let st = state_of(&h.zone(), "search").unwrap();
    assert_eq!(st.percent.get(), 5);
    assert_eq!(
        st.phase,
        Phase::Holding,
        "adopted migrations wait for an operator"
    );
    assert_eq!(
        a_weights(&h.zone(), "search", "blue", "green"),
        (Some(95), Some(5)),
        "adopting changes no traffic"
    );
    // `resume` goes on from there.
    let e = entry(&h.command("resume", "search").await, "search");
    assert_eq!(kind(&e), "resumed", "{e:#}");
    // Adopting again (a state record exists) is refused.
    let e = entry(&h.command("adopt", "search").await, "search");
    assert_eq!(kind(&e), "refused", "{e:#}");
}

// ---------------------------------------------------------------------------------------------
// 5 and 9. A lost change id

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_lost_change_id_cutover_waits_the_insync_fallback() {
    let h = Harness::start(
        World::default_world(),
        &[("search", "blue", "green")],
        FAST_ROLLOUT,
    )
    .await;
    h.command("start", "search").await;
    // Up to 0 % and the first bake, then the 0 → 5 batch is accepted but its change id is never
    // recorded (the follow-up write fails, as if the process died in between).
    let mut lost = false;
    for _ in 0..6 {
        h.advance(Duration::from_secs(60));
        h.external_dns().await;
        h.sandbox.route53().faults().fail_change_after(
            1,
            "AccessDenied",
            "the process died before this write",
        );
        let e = entry(&h.tick().await, "search");
        h.sandbox.route53().faults().clear();
        if kind(&e) == "advance" && e["applied"] == true {
            assert!(
                e["error"].as_str().unwrap_or("").contains("change id"),
                "{e:#}"
            );
            lost = true;
            break;
        }
    }
    assert!(lost, "the advance never happened");
    let st = state_of(&h.zone(), "search").unwrap();
    let change = st.change.clone().expect("a pending change");
    assert_eq!(change.id, None, "the change id was lost");
    let submitted = change.submitted_at;

    // A state-only write (pause) must not adopt its own change id for the traffic change.
    let e = entry(&h.command("pause", "search").await, "search");
    assert_eq!(e["applied"], true, "{e:#}");
    let st = state_of(&h.zone(), "search").unwrap();
    assert_eq!(
        st.change.as_ref().and_then(|c| c.id.clone()),
        None,
        "a state-only write recorded its own change id"
    );
    h.command("resume", "search").await;

    // 60 s after submission: cutover waits for the fallback and says so; promote does not move.
    let e = entry(&minute(&h).await, "search");
    assert_eq!(kind(&e), "wait", "{e:#}");
    let waits = e["waits_for"].as_str().unwrap_or("");
    assert!(waits.contains("INSYNC"), "{e:#}");
    assert!(!waits.contains("bake"), "no bake before INSYNC: {e:#}");
    let e = entry(&h.command("promote", "search").await, "search");
    assert_ne!(kind(&e), "advance", "{e:#}");
    assert_eq!(
        a_weights(&h.zone(), "search", "blue", "green"),
        (Some(95), Some(5))
    );
    // Past the fallback, INSYNC is assumed and the bake counts from there, not from before.
    let now = h.sandbox.clock().now_millis();
    let fallback = submitted + cutover_core::planner::INSYNC_FALLBACK_MS;
    assert!(now < fallback, "the test moved time too far");
    h.advance(Duration::from_millis((fallback - now) as u64 + 1_000));
    h.external_dns().await;
    let e = entry(&h.tick().await, "search");
    assert_eq!(kind(&e), "wait", "{e:#}");
    assert!(
        e["waits_for"].as_str().unwrap_or("").contains("bake"),
        "{e:#}"
    );
}

// ---------------------------------------------------------------------------------------------
// 6, 7, 8, 11. Events and commands

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sns_dry_run_writes_nothing() {
    let h = Harness::start(
        World::default_world(),
        &[("search", "blue", "green")],
        FAST_ROLLOUT,
    )
    .await;
    let mut event = support::sns_deploy("dry-1", "search", "green");
    let message = json!({"type": "deployed", "service": "search", "cluster": "green",
                         "version": "v43", "actor": "ci#9", "dry_run": true});
    event["Records"][0]["Sns"]["Message"] = json!(message.to_string());
    let writes_before = writes(&h);
    let report = h.invoke(event).await;
    assert_eq!(report["dry_run"], true, "{report:#}");
    let e = entry(&report, "search");
    assert_eq!(kind(&e), "start", "{e:#}");
    assert_eq!(e["applied"], false, "{e:#}");
    assert_eq!(writes(&h), writes_before, "a dry-run deploy event wrote");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_are_compared_whole() {
    let h = Harness::start(
        World::default_world(),
        &[("search", "blue", "green")],
        FAST_ROLLOUT,
    )
    .await;
    let prefix = "x".repeat(84);
    let start = h
        .invoke(
            json!({"action": "start", "service": "search", "actor": "ci",
                       "id": format!("{prefix}-start")}),
        )
        .await;
    assert_eq!(kind(&entry(&start, "search")), "start");
    reach(&h, "search", 5).await;
    let rollback = h
        .invoke(
            json!({"action": "rollback", "service": "search", "actor": "ci",
                       "id": format!("{prefix}-rollback")}),
        )
        .await;
    let e = entry(&rollback, "search");
    assert_eq!(kind(&e), "rollback", "answered as a replay: {e:#}");
    assert_eq!(e["applied"], true);
    // The same id again is a replay.
    let again = h
        .invoke(
            json!({"action": "rollback", "service": "search", "actor": "ci",
                       "id": format!("{prefix}-rollback")}),
        )
        .await;
    assert_eq!(kind(&entry(&again, "search")), "noop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_wide_commands_need_an_explicit_all() {
    let h = Harness::start(
        World::default_world(),
        &[("search", "blue", "green"), ("checkout", "blue", "green")],
        FAST_ROLLOUT,
    )
    .await;
    h.command("start", "search").await;
    h.command("start", "checkout").await;
    let writes_before = writes(&h);
    for action in [
        "promote",
        "promote-full",
        "rollback",
        "pause",
        "resume",
        "handover",
        "plan",
    ] {
        let report = h.invoke(json!({"action": action, "actor": "alice"})).await;
        assert_eq!(report["error"]["field"], "service", "{action}: {report:#}");
        assert!(
            report["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("\"all\""),
            "{action}: {report:#}"
        );
    }
    assert_eq!(
        writes(&h),
        writes_before,
        "a refused fleet-wide command wrote"
    );
    // Explicitly all: both services act.
    let report = h
        .invoke(json!({"action": "pause", "services": "all", "actor": "alice"}))
        .await;
    assert_eq!(kind(&entry(&report, "search")), "paused", "{report:#}");
    assert_eq!(kind(&entry(&report, "checkout")), "paused", "{report:#}");
    // tick and status stay fleet-wide by default.
    let report = h.invoke(json!({"action": "status"})).await;
    assert_eq!(support::service_reports(&report).len(), 2, "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_event_for_a_third_cluster_is_refused_during_a_migration() {
    let h = Harness::start(
        World::default_world(),
        &[("search", "blue", "green")],
        FAST_ROLLOUT,
    )
    .await;
    h.command("start", "search").await;
    let report = h.deploy_event("deploy-red-1", "search", "red").await;
    let e = entry(&report, "search");
    assert_eq!(kind(&e), "refused", "{e:#}");
    assert!(
        summary(&e).contains("red") && summary(&e).contains("neither"),
        "{e:#}"
    );
}

// ---------------------------------------------------------------------------------------------
// 10. Blue-green across external-dns versions

/// Green runs external-dns v0.20 with the TXT prefix `edns-reg.`; blue runs v0.22.
fn mixed_versions_world() -> World {
    let toml = DEFAULT_WORLD_TOML.replacen(
        "owner_id = \"green\"\nversion = \"v0.22\"",
        "owner_id = \"green\"\nversion = \"v0.20\"\ntxt_prefix = \"edns-reg.\"",
        1,
    );
    assert_ne!(toml, DEFAULT_WORLD_TOML);
    World::from_toml(&toml).unwrap()
}

const BLUE_GREEN: &str = r#"
[defaults]
strategy = "blue-green"
verify_window = "3m"
failure_threshold = 2
propagation_allowance = "30s"

[defaults.health_check]
scheme = "http"
path = "/healthz"
timeout = "5s"
samples = 3
allowed_failures = 0
"#;

/// The TXT rrsets whose name mentions `payments`, as (name, owner label).
fn payment_txts(h: &Harness) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = h
        .zone()
        .into_iter()
        .filter(|r| {
            r.rtype == "TXT" && r.name.contains("payments") && !r.name.starts_with("_cutover")
        })
        .map(|r| {
            let v = r.records.first().cloned().unwrap_or_default();
            let owner = v
                .split("external-dns/owner=")
                .nth(1)
                .map(|s| s.split([',', '"']).next().unwrap_or("").to_string())
                .unwrap_or_default();
            (r.name.clone(), owner)
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flip_leaves_exactly_the_txt_names_the_new_owner_reads_and_deletes() {
    let h = Harness::start(
        mixed_versions_world(),
        &[("payments", "blue", "green")],
        BLUE_GREEN,
    )
    .await;
    h.deploy_ingress("green", "payments");
    h.external_dns().await;
    let e = entry(&h.command("start", "payments").await, "payments");
    assert_eq!(kind(&e), "start", "{e:#}");
    assert_eq!(e["applied"], true, "{e:#}");
    // Exactly green's (v0.20, prefix edns-reg.) names remain: cname- for the A alias, aaaa-.
    assert_eq!(
        payment_txts(&h),
        vec![
            (
                "edns-reg.aaaa-payments.example.com.".to_string(),
                "green".to_string()
            ),
            (
                "edns-reg.cname-payments.example.com.".to_string(),
                "green".to_string()
            ),
        ]
    );
    // Verify window, completion.
    for _ in 0..6 {
        let e = entry(&minute(&h).await, "payments");
        if kind(&e) == "complete" {
            break;
        }
    }
    assert_eq!(
        state_of(&h.zone(), "payments").unwrap().phase,
        Phase::Completed
    );
    // The team removes green's Ingress: green's external-dns deletes the records and every TXT
    // it knows, and nothing is left behind for the next creator to inherit.
    h.remove_ingress("green", "payments");
    h.advance(Duration::from_secs(60));
    h.external_dns_of("green").await;
    assert_eq!(
        payment_txts(&h),
        Vec::<(String, String)>::new(),
        "orphan TXT left"
    );
    // Blue republishes the name: A and AAAA are both blue's again.
    h.external_dns_of("blue").await;
    let txts = payment_txts(&h);
    assert!(!txts.is_empty());
    assert!(txts.iter().all(|(_, owner)| owner == "blue"), "{txts:?}");
    let records = h.zone();
    for rtype in ["A", "AAAA"] {
        assert!(
            records_at(&records, "payments.example.com")
                .iter()
                .any(|r| r.rtype == rtype),
            "{rtype} was not republished"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_across_versions_restores_exactly_the_prior_records() {
    let h = Harness::start(
        mixed_versions_world(),
        &[("payments", "blue", "green")],
        BLUE_GREEN,
    )
    .await;
    h.deploy_ingress("green", "payments");
    h.external_dns().await;
    let prior: Vec<Rrset> = h
        .zone()
        .into_iter()
        .filter(|r| r.name.contains("payments") && !r.name.starts_with("_cutover"))
        .collect();
    h.command("start", "payments").await;
    let e = entry(&h.command("rollback", "payments").await, "payments");
    assert_eq!(kind(&e), "rollback", "{e:#}");
    let after: Vec<Rrset> = h
        .zone()
        .into_iter()
        .filter(|r| r.name.contains("payments") && !r.name.starts_with("_cutover"))
        .collect();
    assert_eq!(after, prior);
}

// ---------------------------------------------------------------------------------------------
// 12. Kubernetes failures in the report

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_failures_are_in_the_report_and_the_alerts() {
    let h = Harness::start(
        World::default_world(),
        &[("search", "blue", "green")],
        FAST_ROLLOUT,
    )
    .await;
    h.command("start", "search").await;
    let (ctx, _) = h
        .context_with(ContextOptions {
            eks_endpoint: Some(closed_port_url()),
            ..ContextOptions::default()
        })
        .await;
    let report = minute_with(&h, &ctx).await;
    let clusters = report["clusters"].as_array().cloned().unwrap_or_default();
    for name in ["blue", "green"] {
        let c = clusters
            .iter()
            .find(|c| c["cluster"] == name)
            .unwrap_or_else(|| panic!("no entry for cluster {name}: {report:#}"));
        assert!(c["error"].as_str().is_some_and(|e| !e.is_empty()), "{c:#}");
        assert!(
            c["blocks"].as_str().is_some_and(|b| b.contains("search")),
            "{c:#}"
        );
    }
    let e = entry(&report, "search");
    assert!(
        alerts(&e).iter().any(|a| a.contains("Kubernetes API")),
        "{e:#}"
    );
}

// ---------------------------------------------------------------------------------------------
// Approval steps

const APPROVAL_ROLLOUT: &str = r#"
[defaults]
strategy = "canary"
steps = [{ percent = 5, bake = "2m", approval = true }, { percent = 100, bake = "2m" }]
failure_threshold = 2
propagation_allowance = "30s"

[defaults.health_check]
scheme = "http"
path = "/healthz"
timeout = "5s"
samples = 3
allowed_failures = 0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_asks_for_approval_waits_for_approve() {
    let h = Harness::start(
        World::default_world(),
        &[("search", "blue", "green")],
        APPROVAL_ROLLOUT,
    )
    .await;
    h.command("start", "search").await;
    reach(&h, "search", 5).await;
    // Long after the bake, still at 5 %: the step waits for an approval.
    let mut last = Value::Null;
    for _ in 0..5 {
        last = entry(&minute(&h).await, "search");
        assert_eq!(last["weights_after"]["to"], 5, "{last:#}");
    }
    assert!(
        last["waits_for"].as_str().unwrap_or("").contains("approve"),
        "{last:#}"
    );
    let status = entry(&h.command("status", "search").await, "search");
    assert!(
        status["waits_for"]
            .as_str()
            .unwrap_or("")
            .contains("approve"),
        "{status:#}"
    );
    // An approval without an actor is refused, naming the field.
    let report = h
        .invoke(json!({"action": "approve", "service": "search"}))
        .await;
    assert_eq!(report["error"]["field"], "actor", "{report:#}");
    let e = entry(
        &h.invoke(
            json!({"action": "approve", "service": "search", "actor": "alice",
                         "reason": "dashboards look fine"}),
        )
        .await,
        "search",
    );
    assert_eq!(kind(&e), "approved", "{e:#}");
    let st = state_of(&h.zone(), "search").unwrap();
    assert_eq!(st.actor, "alice");
    let e = entry(&minute(&h).await, "search");
    assert_eq!(kind(&e), "advance", "{e:#}");
    assert_eq!(e["weights_after"]["to"], 100, "{e:#}");
}
