//! Real AWS conditions, end to end on the sandbox: Route53's account rate limit shared with
//! others (throttling is normal, not a failure), answers lost after a change went through, and
//! the invocation's deadline. What each test shows:
//! - a throttled start, and a rollback beside eight concurrent ticks, complete with more requests
//!   instead of failing;
//! - a change whose answer was lost is found in the zone and reported applied, never refused;
//! - a deploy event whose outcome could not be known is answered for a retry, and the retry (the
//!   same SNS MessageId) converges and writes nothing twice; a refused event is not retried;
//! - a change that cannot be sent in the time left is deferred, and the next tick sends it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;

use std::time::Duration;

use cutover::engine::retry::Deadline;
use cutover::engine::{self, Answer};
use cutover::report::Outcome;
use futures::future::join_all;
use sandbox::world::World;
use serde_json::{json, Value};
use support::{a_weights, service_report, state_of, ContextOptions, Harness, FAST_ROLLOUT};

async fn harness() -> Harness {
    Harness::start(
        World::default_world(),
        &[("search", "blue", "green")],
        FAST_ROLLOUT,
    )
    .await
}

fn entry(report: &Value) -> Value {
    service_report(report, "search").unwrap_or_else(|| panic!("no search entry: {report:#}"))
}

fn writes(h: &Harness) -> usize {
    h.sandbox.route53().history_len()
}

async fn answer(h: &Harness, payload: Value) -> Answer {
    engine::handle_until(&h.ctx, payload, Deadline::after(Duration::from_secs(120))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_start_completes_with_more_requests() {
    let h = harness().await;
    let before = h.sandbox.route53().request_count();
    // The account is busy: the next eight requests are throttled, whatever they are.
    h.sandbox.route53().faults().throttle_next(8);
    let a = answer(
        &h,
        json!({"action": "start", "service": "search", "actor": "ci"}),
    )
    .await;
    let e = entry(&a.report);
    assert_eq!(e["kind"], "start", "{e:#}");
    assert_eq!(e["applied"], true, "{e:#}");
    assert!(e.get("error").is_none(), "{e:#}");
    assert_eq!(a.outcome, Outcome::Done);
    assert!(!a.retry);
    let after = h.sandbox.route53().request_count();
    assert!(
        after.throttled >= before.throttled + 8,
        "{before:?} → {after:?}"
    );
    assert_eq!(
        a_weights(&h.zone(), "search", "blue", "green"),
        (Some(100), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_beside_eight_ticks_is_applied_despite_throttling() {
    let h = harness().await;
    h.command("start", "search").await;
    // Up to 5 %: a rollback has something to roll back.
    for _ in 0..6 {
        h.advance(Duration::from_secs(60));
        h.external_dns().await;
        let e = entry(&h.tick().await);
        if e["applied"] == true && e["weights_after"]["to"] == 5 {
            break;
        }
    }
    assert_eq!(
        a_weights(&h.zone(), "search", "blue", "green"),
        (Some(95), Some(5))
    );
    // Nine invocations at once, each with its own client and no client-side limit: the
    // sandbox's account limit (5/s) throttles them.
    let mut contexts = Vec::new();
    for _ in 0..9 {
        let (ctx, _) = h
            .context_with(ContextOptions {
                route53_rate: Some(1000.0),
                ..ContextOptions::default()
            })
            .await;
        contexts.push(ctx);
    }
    let throttled_before = h.sandbox.route53().request_count().throttled;
    let calls = contexts.iter().enumerate().map(|(i, ctx)| {
        let payload = if i == 4 {
            json!({"action": "rollback", "service": "search", "actor": "alice", "reason": "5xx"})
        } else {
            support::scheduled_event()
        };
        engine::handle_until(ctx, payload, Deadline::after(Duration::from_secs(120)))
    });
    let answers = join_all(calls).await;
    let rollback = &answers[4];
    let e = entry(&rollback.report);
    assert!(
        e.get("error").is_none() || e["applied"] == true,
        "the rollback failed: {e:#}"
    );
    assert_eq!(
        a_weights(&h.zone(), "search", "blue", "green"),
        (Some(100), Some(0)),
        "rollback not applied: {e:#}"
    );
    for a in &answers {
        assert!(!a.retry, "an invocation gave up: {:#}", a.report);
    }
    let throttled = h.sandbox.route53().request_count().throttled - throttled_before;
    eprintln!("requests throttled by the account limit: {throttled}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_answer_was_lost_is_found_in_the_zone_and_reported_applied() {
    let h = harness().await;
    h.sandbox
        .route53()
        .faults()
        .lose_next_change_answer("InternalFailure", "We encountered an internal error");
    let a = answer(
        &h,
        json!({"action": "start", "service": "search", "actor": "ci"}),
    )
    .await;
    let e = entry(&a.report);
    assert_eq!(e["kind"], "start", "{e:#}");
    assert_eq!(e["applied"], true, "reported not applied: {e:#}");
    assert!(
        e["error"]
            .as_str()
            .unwrap_or("")
            .contains("answer was lost"),
        "{e:#}"
    );
    assert_eq!(a.outcome, Outcome::Done);
    // The state record says what the batch wrote; its change id is unknown (INSYNC fallback).
    let st = state_of(&h.zone(), "search").unwrap();
    assert_eq!(st.change.as_ref().and_then(|c| c.id.clone()), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_deploy_event_after_an_unknown_outcome_converges_and_writes_nothing_twice() {
    let h = harness().await;
    // The start goes through but its answer is lost, and the zone cannot be re-read: the outcome
    // is unknown, so the event is answered for a retry.
    let faults = h.sandbox.route53().faults();
    faults.lose_next_change_answer("InternalFailure", "We encountered an internal error");
    let event = support::sns_deploy("msg-42", "search", "green");
    // The first listing (observe: one page) passes; the re-read after the lost answer fails.
    faults.fail_list_after(1, "AccessDenied", "User is not authorized to list the zone");
    let first = answer(&h, event.clone()).await;
    let e = entry(&first.report);
    assert!(first.retry, "an unknown outcome must be retried: {e:#}");
    assert_eq!(e["transient"], true, "{e:#}");
    assert_ne!(first.outcome, Outcome::Done);
    // It did go through.
    let st = state_of(&h.zone(), "search").unwrap();
    assert!(st.has_seen("msg-42"));
    let written = writes(&h);
    // Lambda delivers it again: nothing more is written, and the retry is answered as done.
    h.sandbox.route53().faults().clear();
    let second = answer(&h, event).await;
    let e = entry(&second.report);
    assert_eq!(e["kind"], "noop", "{e:#}");
    assert!(
        e["summary"]
            .as_str()
            .unwrap_or("")
            .contains("already processed"),
        "{e:#}"
    );
    assert_eq!(writes(&h), written, "the retry wrote again");
    assert!(!second.retry);
    assert_eq!(second.outcome, Outcome::Done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_event_is_answered_once_and_not_retried() {
    let h = harness().await;
    let mut event = support::sns_deploy("msg-7", "search", "green");
    event["Records"][0]["Sns"]["TopicArn"] = json!("arn:aws:sns:eu-west-1:123456789012:other");
    let a = answer(&h, event).await;
    assert!(!a.retry, "{:#}", a.report);
    assert_eq!(a.outcome, Outcome::Refused);
    assert_eq!(
        a.report["error"]["field"], "Records[0].Sns.TopicArn",
        "{:#}",
        a.report
    );
    let a = answer(
        &h,
        json!({"action": "start", "service": "ghost", "actor": "ci"}),
    )
    .await;
    assert!(!a.retry);
    assert_eq!(a.outcome, Outcome::Refused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_cannot_be_sent_in_time_is_deferred_and_sent_by_the_next_tick() {
    let h = harness().await;
    let written = writes(&h);
    // One second left: enough to observe, not enough to send a change.
    let a = engine::handle_until(
        &h.ctx,
        json!({"action": "start", "service": "search", "actor": "ci"}),
        Deadline::after(Duration::from_secs(1)),
    )
    .await;
    let e = entry(&a.report);
    assert_eq!(e["deferred"], true, "{e:#}");
    assert_eq!(e["applied"], false, "{e:#}");
    assert_eq!(e["transient"], true, "{e:#}");
    assert_eq!(a.outcome, Outcome::Failed);
    assert!(a.retry);
    assert_eq!(writes(&h), written, "a deferred change was written");
    // With time, the same command goes through.
    let a = answer(
        &h,
        json!({"action": "start", "service": "search", "actor": "ci"}),
    )
    .await;
    assert_eq!(entry(&a.report)["applied"], true, "{:#}", a.report);
    assert_eq!(a.outcome, Outcome::Done);
}
