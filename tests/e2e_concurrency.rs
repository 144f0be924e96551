//! Concurrent invocations on the sandbox (docs/design.md §7.5): eight ticks at once on the same
//! services, sharing one context, plus a manual rollback at the same time, for several rounds.
//! - no step is taken twice: every change that moves a service's share moves it exactly one
//!   planned step, and no two changes advance the same service from the same share;
//! - no state is lost: after every round the state record parses and agrees with the records;
//! - the rollback either wins (the share goes to 0 and stays there) or its report says why not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use cutover::engine::{self, Context};
use cutover_core::state::Phase;
use futures::future::join_all;
use sandbox::route53::Rrset;
use sandbox::world::World;
use serde_json::{json, Value};
use support::{a_weights, service_report, state_of, ContextOptions, Harness, FAST_ROLLOUT};

const SERVICES: [&str; 2] = ["checkout", "search"];
const STEPS: [u64; 4] = [5, 25, 50, 100];
const TICKS_PER_ROUND: usize = 8;
const ROUNDS: usize = 8;
/// The round in which each service gets a concurrent manual rollback (odd rounds start it
/// before the ticks, even ones after).
const ROLLBACK_ROUND: [(usize, &str); 2] = [(3, "search"), (6, "checkout")];

/// `to`'s share in percent, from the A records' weights (blue → green).
fn share(records: &[Rrset], service: &str) -> Option<u64> {
    match a_weights(records, service, "blue", "green") {
        (Some(from), Some(to)) if from + to > 0 => u64::try_from(to * 100 / (from + to)).ok(),
        _ => None,
    }
}

fn next_step(p: u64) -> Option<u64> {
    STEPS.iter().copied().find(|s| *s > p)
}

/// A share move seen in the Route53 history: service, from, to, change id.
type Move = (String, u64, u64, String);

/// Every share change the history shows after index `start`, from the shares in `before`.
fn moves_since(h: &Harness, start: usize, before: &BTreeMap<&str, u64>) -> Vec<Move> {
    let mut current = before.clone();
    let mut moves = Vec::new();
    for change in h.sandbox.route53().history().iter().skip(start) {
        for service in SERVICES {
            let Some(after) = share(&change.records_after, service) else {
                continue;
            };
            let was = current.insert(service, after);
            if let Some(was) = was.filter(|w| *w != after) {
                moves.push((service.to_string(), was, after, change.change_id.clone()));
            }
        }
    }
    moves
}

fn shares(records: &[Rrset]) -> BTreeMap<&'static str, u64> {
    SERVICES
        .iter()
        .filter_map(|s| share(records, s).map(|p| (*s, p)))
        .collect()
}

/// The state record parses and agrees with the zone: share, the weights it wrote, the phase.
fn assert_state_consistent(records: &[Rrset], service: &str, context: &str) {
    let state = state_of(records, service).unwrap_or_else(|e| panic!("{context}: {e}"));
    let (from, to) = a_weights(records, service, "blue", "green");
    let live = share(records, service);
    assert_eq!(
        Some(u64::from(state.percent.get())),
        live,
        "{context}: {service} state {state:?} vs zone"
    );
    let written = |key: &str| state.written.weights.get(key).map(|w| i64::from(*w));
    assert_eq!(
        written(&format!("{service}-blue")),
        from,
        "{context}: {service}"
    );
    assert_eq!(
        written(&format!("{service}-green")),
        to,
        "{context}: {service}"
    );
    if state.phase == Phase::RolledBack {
        assert_eq!(live, Some(0), "{context}: {service} rolled back");
    }
    assert_eq!(
        state.failures, 0,
        "{context}: {service}: nothing failed its checks"
    );
}

/// The rollback's entry: either it won, or it says why it did not.
fn check_rollback(entry: &Value, round: usize) -> bool {
    if entry["kind"] == "rollback" && entry["applied"] == true {
        assert!(entry.get("error").is_none(), "round {round}: {entry:#}");
        assert_eq!(entry["weights_after"], json!({ "from": 100, "to": 0 }));
        return true;
    }
    let why = entry["error"]
        .as_str()
        .or(entry["summary"].as_str())
        .unwrap_or("");
    assert!(
        entry["applied"] != true && !why.is_empty(),
        "round {round}: a rollback that did not win must say why: {entry:#}"
    );
    false
}

/// Runs the ticks and the rollback at once on one task (the engine's future is not `Send` for
/// every lifetime, so it cannot be `tokio::spawn`ed): they interleave at every await, so each
/// one's listing, compare-and-swap and retry races the others'.
async fn invoke_all(
    ctx: &Context,
    rollback: Option<&str>,
    rollback_first: bool,
) -> (Vec<Value>, Option<Value>) {
    let ticks =
        join_all((0..TICKS_PER_ROUND).map(|_| engine::handle(ctx, support::scheduled_event())));
    let manual = async {
        match rollback {
            Some(service) => Some(
                engine::handle(
                    ctx,
                    json!({ "action": "rollback", "service": service, "actor": "oncall", "reason": "concurrent" }),
                )
                .await,
            ),
            None => None,
        }
    };
    if rollback_first {
        let (manual, ticks) = tokio::join!(manual, ticks);
        (ticks, manual)
    } else {
        tokio::join!(ticks, manual)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ticks_and_a_rollback_never_double_step_nor_lose_state() {
    let h = Harness::start(
        World::default_world(),
        &[("checkout", "blue", "green"), ("search", "blue", "green")],
        FAST_ROLLOUT,
    )
    .await;
    // Route53's account limit lifted and a generous client-side limit: the invocations really
    // overlap instead of queueing behind the token bucket.
    h.sandbox.route53().set_rate_limit(None);
    let (ctx, _) = h
        .context_with(ContextOptions {
            route53_rate: Some(200.0),
            ..ContextOptions::default()
        })
        .await;
    for (i, service) in SERVICES.iter().enumerate() {
        let report = h
            .deploy_event(&format!("deploy-{i}"), service, "green")
            .await;
        let entry = service_report(&report, service).unwrap_or_else(|| panic!("{report:#}"));
        assert_eq!(entry["kind"], "start", "{entry:#}");
        assert_eq!(entry["applied"], true, "{entry:#}");
    }

    let mut all_moves: Vec<Move> = Vec::new();
    let mut rolled_back: BTreeMap<&str, bool> = BTreeMap::new();
    for round in 0..ROUNDS {
        // Past every bake: each round may advance each service by one step at most.
        h.advance(Duration::from_secs(150));
        for (cluster, r) in h.external_dns().await {
            assert!(
                r.failed.is_empty(),
                "round {round}: {cluster}: {:?}",
                r.failed
            );
        }
        let before = shares(&h.zone());
        let history_start = h.sandbox.route53().history().len();
        let rollback = ROLLBACK_ROUND
            .iter()
            .find(|(r, _)| *r == round)
            .map(|(_, s)| *s);

        let (ticks, manual) = invoke_all(&ctx, rollback, round % 2 == 1).await;

        for report in &ticks {
            for service in SERVICES {
                let Some(entry) = service_report(report, service) else {
                    continue;
                };
                assert!(
                    entry.get("error").is_none(),
                    "round {round}: {service}: {entry:#}"
                );
            }
        }
        if let (Some(service), Some(report)) = (rollback, manual.as_ref()) {
            let entry = service_report(report, service).unwrap_or_else(|| panic!("{report:#}"));
            rolled_back.insert(service, check_rollback(&entry, round));
        }

        // The share moved at most one step in the round, and every move in the history was one
        // planned step (or the rollback to 0).
        let moves = moves_since(&h, history_start, &before);
        let after = shares(&h.zone());
        for service in SERVICES {
            let (Some(b), Some(a)) = (before.get(service), after.get(service)) else {
                panic!("round {round}: {service} lost its weighted keys");
            };
            let rolled = rollback == Some(service) && rolled_back.get(service) == Some(&true);
            let allowed = *a == *b || Some(*a) == next_step(*b) || (rolled && *a == 0);
            assert!(
                allowed,
                "round {round}: {service} went {b} → {a}: {moves:?}"
            );
            let advances: Vec<&Move> = moves
                .iter()
                .filter(|m| m.0 == service && m.2 > m.1)
                .collect();
            assert!(
                advances.len() <= 1,
                "round {round}: {service} advanced more than once: {advances:?}"
            );
        }
        for m in &moves {
            assert!(
                Some(m.2) == next_step(m.1) || m.2 == 0,
                "round {round}: {m:?} is not one step"
            );
        }
        let attempts: Vec<u64> = ticks
            .iter()
            .flat_map(support::service_reports)
            .filter_map(|e| e["attempts"].as_u64())
            .collect();
        let rollback_said = manual
            .as_ref()
            .zip(rollback)
            .and_then(|(m, service)| service_report(m, service))
            .map(|e| {
                format!(
                    "{} applied={} attempts={}",
                    e["kind"], e["applied"], e["attempts"]
                )
            })
            .unwrap_or_default();
        println!(
            "round {round}: shares {before:?} → {after:?}, moves {moves:?}, tick attempts {attempts:?}, rollback {rollback_said}"
        );
        all_moves.extend(moves);
        let zone = h.zone();
        for service in SERVICES {
            assert_state_consistent(&zone, service, &format!("after round {round}"));
        }
    }

    // No two changes advanced the same service from the same share.
    let mut seen: BTreeMap<(String, u64), String> = BTreeMap::new();
    for (service, from, to, change_id) in all_moves.iter().filter(|m| m.2 > m.1) {
        if let Some(first) = seen.insert((service.clone(), *from), change_id.clone()) {
            panic!("{service} advanced from {from} twice ({first} and {change_id} → {to})");
        }
    }
    // Some round actually advanced something, and each rollback took effect or said why not.
    assert!(
        all_moves.iter().any(|m| m.2 > m.1),
        "nothing advanced: {all_moves:?}"
    );
    let zone = h.zone();
    for (service, won) in &rolled_back {
        if *won {
            assert_eq!(share(&zone, service), Some(0), "{service} rolled back");
            let state = state_of(&zone, service).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(state.phase, Phase::RolledBack);
        }
    }
}
