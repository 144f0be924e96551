//! The operator surface end to end (docs/design.md §5, §6): every command through the handler on
//! the sandbox, `dry_run` showing the exact batch and writing nothing, actor and reason in the
//! batch comment and the state record, replays by command id, and bad input refused with the
//! field named and nothing changed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;

use std::time::Duration;

use sandbox::world::World;
use serde_json::{json, Value};
use support::{a_weights, service_report, state_of, Harness, FAST_ROLLOUT};

async fn harness() -> Harness {
    Harness::start(
        World::default_world(),
        &[("checkout", "blue", "green")],
        FAST_ROLLOUT,
    )
    .await
}

fn command(action: &str, extra: Value) -> Value {
    let mut c =
        json!({ "action": action, "service": "checkout", "actor": "alice", "reason": "e2e" });
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(extra.clone());
    }
    c
}

fn entry(report: &Value) -> Value {
    service_report(report, "checkout").unwrap_or_else(|| panic!("no checkout entry: {report:#}"))
}

/// Green's share from the zone (A records of both keys).
fn green_weight(h: &Harness) -> (i64, i64) {
    let w = a_weights(&h.zone(), "checkout", "blue", "green");
    (w.0.unwrap_or(-1), w.1.unwrap_or(-1))
}

/// Lets the last change become INSYNC and its bake pass, with both external-dns loops running.
async fn settle(h: &Harness) {
    for _ in 0..3 {
        h.advance(Duration::from_secs(60));
        h.external_dns().await;
        let report = h.invoke(command("tick", json!({}))).await;
        assert!(entry(&report).get("error").is_none(), "{report:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_shows_the_exact_batch_and_writes_nothing() {
    let h = harness().await;
    let changes = h.sandbox.route53().history().len();
    let dry = entry(&h.invoke(command("start", json!({ "dry_run": true }))).await);
    assert_eq!(dry["kind"], "start", "{dry:#}");
    assert_eq!(dry["applied"], false);
    let planned = dry["batch"]["changes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!planned.is_empty(), "{dry:#}");
    assert_eq!(
        h.sandbox.route53().history().len(),
        changes,
        "a dry run wrote"
    );

    // The same command for real sends exactly that batch.
    let real = entry(&h.invoke(command("start", json!({}))).await);
    assert_eq!(real["applied"], true, "{real:#}");
    // Identical but for the time stamps inside the new state record.
    let traffic = |b: &Value| -> Vec<Value> {
        b["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["record"]["name"] != "_cutover.checkout.example.com")
            .cloned()
            .collect()
    };
    assert_eq!(traffic(&real["batch"]), traffic(&dry["batch"]));
    assert_eq!(real["batch"]["comment"], dry["batch"]["comment"]);
    assert_eq!(
        real["batch"]["changes"].as_array().map(Vec::len),
        dry["batch"]["changes"].as_array().map(Vec::len)
    );
    let history = h.sandbox.route53().history();
    let applied = &history[changes];
    assert_eq!(applied.changes.len(), planned.len());
    // Actor and reason reach Route53's change comment and the state record.
    let comment = applied.comment.clone().unwrap_or_default();
    assert!(
        comment.contains("alice") && comment.contains("e2e"),
        "{comment}"
    );
    let state = state_of(&h.zone(), "checkout").expect("state record");
    let json = serde_json::to_string(&state).unwrap_or_default();
    assert!(json.contains("alice"), "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operator_command_moves_the_records_as_asked() {
    let h = harness().await;
    let started = entry(&h.invoke(command("start", json!({}))).await);
    assert_eq!(started["applied"], true, "{started:#}");
    assert_eq!(green_weight(&h), (100, 0));

    // status and plan write nothing.
    let changes = h.sandbox.route53().history().len();
    for action in ["status", "plan"] {
        let r = entry(&h.invoke(command(action, json!({}))).await);
        assert_eq!(r["applied"], false, "{action}: {r:#}");
    }
    assert_eq!(h.sandbox.route53().history().len(), changes);

    // pause: ticks hold the share; resume lets it go on.
    let paused = entry(&h.invoke(command("pause", json!({}))).await);
    assert_eq!(paused["kind"], "paused", "{paused:#}");
    settle(&h).await;
    assert_eq!(green_weight(&h), (100, 0), "a paused canary moved");
    let resumed = entry(&h.invoke(command("resume", json!({}))).await);
    assert_eq!(resumed["kind"], "resumed", "{resumed:#}");
    settle(&h).await;
    assert_eq!(
        green_weight(&h),
        (95, 5),
        "resume did not take the first step"
    );

    // set-weight holds at a chosen share.
    let set = entry(
        &h.invoke(command("set-weight", json!({ "percent": 30 })))
            .await,
    );
    assert_eq!(set["applied"], true, "{set:#}");
    assert_eq!(green_weight(&h), (70, 30));
    settle(&h).await;
    assert_eq!(green_weight(&h), (70, 30), "set-weight did not hold");

    // promote-full goes to 100 % at once (after INSYNC).
    let full = entry(&h.invoke(command("promote-full", json!({}))).await);
    assert_eq!(full["applied"], true, "{full:#}");
    assert_eq!(green_weight(&h), (0, 100));

    // rollback: everything back to blue, Route53 only.
    let back = entry(&h.invoke(command("rollback", json!({}))).await);
    assert_eq!(back["kind"], "rollback", "{back:#}");
    assert_eq!(green_weight(&h), (100, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_replayed_by_id_changes_nothing() {
    let h = harness().await;
    let first = entry(&h.invoke(command("start", json!({ "id": "cmd-1" }))).await);
    assert_eq!(first["applied"], true, "{first:#}");
    settle(&h).await;
    let rollback = command("rollback", json!({ "id": "cmd-2" }));
    let once = entry(&h.invoke(rollback.clone()).await);
    assert_eq!(once["applied"], true, "{once:#}");
    let changes = h.sandbox.route53().history().len();
    let again = entry(&h.invoke(rollback).await);
    assert_eq!(again["applied"], false, "{again:#}");
    assert_eq!(h.sandbox.route53().history().len(), changes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_the_field_and_changes_nothing() {
    let h = harness().await;
    let changes = h.sandbox.route53().history().len();
    let cases = [
        (
            json!({ "action": "warp", "service": "checkout", "actor": "a" }),
            "action",
        ),
        (
            json!({ "action": "set-weight", "service": "checkout", "actor": "a", "percent": 101 }),
            "percent",
        ),
        (
            json!({ "action": "rollback", "service": 7, "actor": "a" }),
            "service",
        ),
        (json!(["not", "an", "object"]), "payload"),
    ];
    for (payload, field) in cases {
        let report = h.invoke(payload.clone()).await;
        let error = &report["error"];
        assert!(
            error["field"].as_str().is_some_and(|f| f.contains(field)),
            "{payload}: {report:#}"
        );
        assert!(
            !error["message"].as_str().unwrap_or("").is_empty(),
            "{report:#}"
        );
    }
    let unknown = h
        .invoke(json!({ "action": "status", "service": "nope", "actor": "a" }))
        .await;
    let errors = unknown["errors"].as_array().cloned().unwrap_or_default();
    assert!(
        errors
            .iter()
            .any(|e| e.as_str().is_some_and(|e| e.starts_with("service:"))),
        "{unknown:#}"
    );
    assert_eq!(
        h.sandbox.route53().history().len(),
        changes,
        "bad input changed the zone"
    );
}
