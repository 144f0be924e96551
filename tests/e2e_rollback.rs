//! End to end on the sandbox, both external-dns simulators running their loops between ticks:
//! the health verdicts of docs/design.md §4 and the rollback of docs/design.md §3.1 step 3.
//! - `to` fails at 25 % → rollback after `failure_threshold` checks, from = 100, to = 0 on A,
//!   AAAA and every TXT entry, the reason and the samples in the report;
//! - both sides fail → hold and alert, never roll back into an equally broken side;
//! - inconclusive (cutover cannot resolve `to`'s load balancer) → hold, never counted;
//! - a manual rollback with both clusters' APIs unreachable works on Route53 alone (docs/design.md
//!   §7.6).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cutover::engine::{self, Context};
use cutover::observe::health::{HttpProber, Resolver};
use cutover_core::state::Phase;
use futures::future::BoxFuture;
use sandbox::lb::Behaviour;
use sandbox::route53::Rrset;
use sandbox::world::World;
use serde_json::{json, Value};
use support::{
    a_weights, closed_port_url, key_weight, records_at, service_report, state_of, ContextOptions,
    Harness, FAST_ROLLOUT,
};

const SERVICE: &str = "search";
const HOST: &str = "search.example.com";
const FROM_KEY: &str = "search-blue";
const TO_KEY: &str = "search-green";

async fn harness() -> Harness {
    Harness::start(
        World::default_world(),
        &[(SERVICE, "blue", "green")],
        FAST_ROLLOUT,
    )
    .await
}

/// One minute passes, both external-dns run a loop (none may fail or touch the host), then
/// `ctx` ticks. Returns the service's entry.
async fn minute(h: &Harness, ctx: &Context) -> Value {
    h.advance(Duration::from_secs(60));
    for (cluster, r) in h.external_dns().await {
        assert!(r.failed.is_empty(), "{cluster}: {:?}", r.failed);
        let touched = r
            .created
            .iter()
            .chain(&r.updated)
            .chain(&r.deleted)
            .any(|c| c.name.trim_end_matches('.') == HOST);
        assert!(!touched, "{cluster}'s external-dns changed {HOST}: {r:?}");
    }
    let report = engine::handle(ctx, support::scheduled_event()).await;
    service_report(&report, SERVICE).unwrap_or_else(|| panic!("no entry for {SERVICE}: {report:#}"))
}

fn kind(entry: &Value) -> &str {
    entry["kind"].as_str().unwrap_or("")
}

fn alerts(entry: &Value) -> Vec<String> {
    entry["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

/// Starts the migration, ticks until `to` carries 25 % (applied) and its change is INSYNC.
async fn to_25_percent(h: &Harness) {
    let report = h.deploy_event("deploy-1", SERVICE, "green").await;
    let entry = service_report(&report, SERVICE).unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(kind(&entry), "start", "{entry:#}");
    assert_eq!(entry["applied"], true, "{entry:#}");
    for _ in 0..20 {
        let entry = minute(h, &h.ctx).await;
        assert!(entry.get("error").is_none(), "{entry:#}");
        if entry["applied"] == true && entry["weights_after"]["to"] == 25 {
            assert_eq!(
                a_weights(&h.zone(), SERVICE, "blue", "green"),
                (Some(75), Some(25))
            );
            // One more healthy minute: the change is INSYNC and the bake starts (recorded).
            let settle = minute(h, &h.ctx).await;
            assert_eq!(kind(&settle), "wait", "{settle:#}");
            assert!(
                settle["waits_for"]
                    .as_str()
                    .is_some_and(|w| w.starts_with("bake time")),
                "{settle:#}"
            );
            return;
        }
    }
    panic!("{SERVICE} never reached 25 %");
}

/// docs/design.md §7.4: A and AAAA of each key carry `weights`, and so do their TXT entries (TTL
/// 300).
fn assert_keys(records: &[Rrset], from_weight: i64, to_weight: i64, context: &str) {
    for (sid, weight) in [(FROM_KEY, from_weight), (TO_KEY, to_weight)] {
        for rtype in ["A", "AAAA"] {
            assert_eq!(
                key_weight(records, HOST, rtype, sid),
                Some(weight),
                "{context}: {sid} {rtype}"
            );
        }
        for txt_name in [format!("a-{HOST}"), format!("aaaa-{HOST}")] {
            let txt: Vec<&Rrset> = records_at(records, &txt_name)
                .into_iter()
                .filter(|r| r.rtype == "TXT" && r.set_identifier.as_deref() == Some(sid))
                .collect();
            assert_eq!(txt.len(), 1, "{context}: {txt_name} {sid}: {txt:?}");
            assert_eq!(txt[0].weight, Some(weight), "{context}: {txt_name} {sid}");
            assert_eq!(txt[0].ttl, Some(300), "{context}: {txt_name} {sid}");
        }
    }
}

fn set_status(h: &Harness, cluster: &str, status: u16) {
    h.set_lb_behaviour(cluster, HOST, Behaviour::Status { status });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn to_failing_at_25_percent_rolls_back_after_the_threshold() {
    let h = harness().await;
    to_25_percent(&h).await;
    set_status(&h, "green", 503);

    let mut entries = Vec::new();
    for _ in 0..6 {
        let entry = minute(&h, &h.ctx).await;
        let done = kind(&entry) == "rollback";
        entries.push(entry);
        if done {
            break;
        }
    }
    let Some(rollback) = entries.last().filter(|e| kind(e) == "rollback") else {
        panic!("no rollback: {entries:#?}");
    };
    // failure_threshold = 2: exactly one bad check held before the second rolled back.
    let holds: Vec<&Value> = entries.iter().filter(|e| kind(e) == "hold").collect();
    assert_eq!(holds.len(), 1, "{entries:#?}");
    assert!(
        holds[0]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("green failed 1 of 2 consecutive health checks")),
        "{:#}",
        holds[0]
    );
    assert_eq!(rollback["applied"], true, "{rollback:#}");
    assert!(rollback.get("error").is_none(), "{rollback:#}");
    let reason = "green failed 2 consecutive health checks while blue is good";
    assert_eq!(
        rollback["summary"].as_str(),
        Some(format!("rollback: {reason}").as_str()),
        "{rollback:#}"
    );
    assert!(
        alerts(rollback).contains(&format!("rolled back: {reason}")),
        "{rollback:#}"
    );
    assert_eq!(rollback["weights_before"], json!({ "from": 75, "to": 25 }));
    assert_eq!(rollback["weights_after"], json!({ "from": 100, "to": 0 }));
    // The samples behind the verdict: every one answered 503 on green, 200 on blue.
    let green = &rollback["health"]["green"];
    assert_eq!(green["verdict"], "bad", "{green:#}");
    let samples = &green["samples"];
    assert_eq!(samples["count"], 3, "{green:#}");
    assert_eq!(samples["failed"], 3, "{green:#}");
    assert_eq!(samples["statuses"], json!({ "503": 3 }), "{green:#}");
    assert_eq!(samples["first_failure"]["status"], 503, "{green:#}");
    assert_eq!(rollback["health"]["blue"]["verdict"], "good");

    // The zone: from = 100, to = 0 on A, AAAA and every TXT entry; the state says rolled back.
    let zone = h.zone();
    assert_keys(&zone, 100, 0, "after the rollback");
    let state = state_of(&zone, SERVICE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(state.phase, Phase::RolledBack);
    assert_eq!(state.percent.get(), 0);

    // Later ticks leave it there; both external-dns keep off the parked keys.
    for _ in 0..3 {
        let entry = minute(&h, &h.ctx).await;
        assert_eq!(kind(&entry), "noop", "{entry:#}");
        assert_ne!(entry["applied"], true, "{entry:#}");
    }
    assert_keys(&h.zone(), 100, 0, "three minutes after the rollback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_failing_holds_and_alerts_without_rolling_back() {
    let h = harness().await;
    to_25_percent(&h).await;
    set_status(&h, "green", 503);
    set_status(&h, "blue", 503);

    let threshold = 2;
    let mut bad_checks = 0;
    for _ in 0..(threshold + 3) {
        let entry = minute(&h, &h.ctx).await;
        assert_ne!(kind(&entry), "rollback", "{entry:#}");
        assert!(entry.get("error").is_none(), "{entry:#}");
        if entry["health"]["green"]["verdict"] == "bad" {
            bad_checks += 1;
            assert_eq!(kind(&entry), "hold", "{entry:#}");
            assert_eq!(entry["health"]["blue"]["verdict"], "bad", "{entry:#}");
            assert!(
                alerts(&entry)
                    .iter()
                    .any(|a| a.contains("both blue and green fail their health checks")),
                "{entry:#}"
            );
            assert_eq!(entry["weights_after"], json!({ "from": 75, "to": 25 }));
        }
    }
    assert!(bad_checks > threshold, "only {bad_checks} checks were bad");
    assert_keys(&h.zone(), 75, 25, "while both sides fail");
    let state = state_of(&h.zone(), SERVICE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        state.failures, 0,
        "a both-sides failure is not `to`'s failure"
    );

    // Both recover: the step's bake starts over with the first good check (a failure, even one
    // not counted against green, ended the run of good checks — docs/design.md §7.11), and once
    // a whole bake was good the canary goes on to the next step.
    set_status(&h, "green", 200);
    set_status(&h, "blue", 200);
    let entry = minute(&h, &h.ctx).await;
    assert_eq!(kind(&entry), "wait", "the bake starts over: {entry:#}");
    let mut advanced = None;
    for _ in 0..4 {
        let entry = minute(&h, &h.ctx).await;
        if kind(&entry) == "advance" {
            advanced = Some(entry);
            break;
        }
        assert_eq!(kind(&entry), "wait", "{entry:#}");
    }
    let entry = advanced.expect("the canary advances after a whole good bake");
    assert_eq!(entry["weights_after"], json!({ "from": 50, "to": 50 }));
    assert_keys(&h.zone(), 50, 50, "after recovery");
}

/// Fails every resolution: cutover's own network cannot find the load balancer.
struct NoDns;

impl Resolver for NoDns {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        _port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<SocketAddr>>> {
        let error = std::io::Error::other(format!("no resolver reachable for {host}"));
        Box::pin(async move { Err(error) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inconclusive_health_holds_and_is_never_counted() {
    let h = harness().await;
    to_25_percent(&h).await;
    // The same config without green's connect_to: cutover must resolve green's load balancer,
    // and its resolver is down — a cause on cutover's side, not green's (docs/design.md §4).
    let green_addr = h
        .sandbox
        .cluster("green")
        .and_then(|c| c.load_balancers.values().next().map(|lb| lb.addr()))
        .expect("green's load balancer");
    let green_line = format!("connect_to = \"{green_addr}\"\n");
    assert!(h.config_toml.contains(&green_line));
    let (blind, _) = h
        .context_with(ContextOptions {
            config_toml: Some(h.config_toml.replace(&green_line, "")),
            prober: Some(Arc::new(HttpProber::new(Arc::new(NoDns)))),
            ..ContextOptions::default()
        })
        .await;
    // Green answers 503 meanwhile: only a probe that ran could tell.
    set_status(&h, "green", 503);
    let threshold = 2;
    let history_before = h.sandbox.route53().history().len();
    for _ in 0..(threshold + 2) {
        let entry = minute(&h, &blind).await;
        assert_eq!(kind(&entry), "hold", "{entry:#}");
        let green = &entry["health"]["green"];
        assert_eq!(green["verdict"], "inconclusive", "{green:#}");
        assert!(
            green["reason"]
                .as_str()
                .is_some_and(|r| r.contains("cannot resolve load balancer")),
            "{green:#}"
        );
        assert!(
            entry["waits_for"]
                .as_str()
                .is_some_and(|w| w.contains("a conclusive health verdict of green")),
            "{entry:#}"
        );
        assert!(alerts(&entry).is_empty(), "{entry:#}");
        assert_eq!(entry["weights_after"], json!({ "from": 75, "to": 25 }));
    }
    // No traffic moved and no failure was counted. The first inconclusive check ended the run of
    // good checks (the bake starts over), which the state record says once; the later ones
    // wrote nothing.
    let written: Vec<_> = h.sandbox.route53().history()[history_before..]
        .iter()
        .filter(|c| {
            c.comment
                .as_deref()
                .is_some_and(|m| m.starts_with("cutover"))
        })
        .cloned()
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(
        written[0]
            .changes
            .iter()
            .all(|c| c.rrset.name.starts_with("_cutover.")),
        "only the state record: {written:?}"
    );
    assert_keys(&h.zone(), 75, 25, "while inconclusive");
    let state = state_of(&h.zone(), SERVICE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(state.failures, 0);

    // Back to probes that run: green's first real bad check is the first failure, not the
    // third — no rollback yet.
    let entry = minute(&h, &h.ctx).await;
    assert_eq!(kind(&entry), "hold", "{entry:#}");
    assert!(
        entry["summary"]
            .as_str()
            .is_some_and(|s| s.contains("green failed 1 of 2 consecutive health checks")),
        "{entry:#}"
    );
    assert_keys(&h.zone(), 75, 25, "after the first real failure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_rollback_needs_route53_only() {
    let h = harness().await;
    to_25_percent(&h).await;
    // Neither cluster's API can be reached (EKS itself is gone) and neither cluster is healthy.
    let (cut_off, _) = h
        .context_with(ContextOptions {
            eks_endpoint: Some(closed_port_url()),
            ..ContextOptions::default()
        })
        .await;
    h.set_lb_behaviour("green", HOST, Behaviour::Refuse);
    h.set_lb_behaviour("blue", HOST, Behaviour::Refuse);

    // A tick in that world cannot see the Ingresses and does not move traffic (it may record
    // that the run of good checks ended, in the state record alone).
    let tick = minute(&h, &cut_off).await;
    assert_ne!(kind(&tick), "rollback", "{tick:#}");
    let changes = tick["batch"]["changes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        changes
            .iter()
            .all(|c| c["record"]["name"] == format!("_cutover.{HOST}")),
        "{tick:#}"
    );
    assert_keys(&h.zone(), 75, 25, "after a tick without the clusters");

    let report = engine::handle(
        &cut_off,
        json!({ "action": "rollback", "service": SERVICE, "actor": "alice", "reason": "5xx on green" }),
    )
    .await;
    let entry = service_report(&report, SERVICE).unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(kind(&entry), "rollback", "{entry:#}");
    assert_eq!(entry["applied"], true, "{entry:#}");
    assert!(entry.get("error").is_none(), "{entry:#}");
    assert_eq!(entry["summary"], "rollback: manual rollback");
    assert_eq!(entry["weights_after"], json!({ "from": 100, "to": 0 }));
    let zone = h.zone();
    assert_keys(&zone, 100, 0, "after the manual rollback");
    let state = state_of(&zone, SERVICE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(state.phase, Phase::RolledBack);
    assert_eq!(state.actor, "alice");
    assert_eq!(state.reason.as_deref(), Some("5xx on green"));
    // The batch comment names who and why (Route53 keeps it).
    let last = h
        .sandbox
        .route53()
        .history()
        .into_iter()
        .rev()
        .find(|c| c.comment.as_deref().is_some_and(|m| m.contains("rollback")))
        .expect("the rollback change");
    assert_eq!(
        last.comment.as_deref(),
        Some("cutover rollback search by alice: 5xx on green")
    );
}
