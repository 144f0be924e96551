//! Property tests of docs/design.md §7: for random starting zones (simple, weighted, parked,
//! drifted, third-owner), random commands, verdicts, change statuses and clocks, every batch the
//! planner emits applies exactly (DELETEs equal to listed records, no CREATE of an existing
//! rrset) and keeps cutover's invariants — checked here independently of the planner's own guard.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod planner_common;
mod zone_invariants;

use std::collections::BTreeSet;

use cutover_core::command::Action;
use cutover_core::observation::Verdict;
use cutover_core::planner::DecisionKind;
use cutover_core::registry::{self, TxtContent};
use cutover_core::route53::model::{ChangeBatch, ChangeStatus, RecordSet, RecordType};
use cutover_core::route53::validate::validate_batch;
use cutover_core::route53::zone::ZoneSnapshot;
use cutover_core::state;
use cutover_core::types::{Percent, Weight};
use planner_common::*;
use proptest::prelude::*;

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => Just(Action::Tick),
        1 => Just(Action::Start { to: None, strategy: None, version: None, wave: None }),
        1 => Just(Action::Pause),
        1 => Just(Action::Resume),
        1 => Just(Action::Promote),
        1 => Just(Action::PromoteFull),
        1 => Just(Action::Rollback),
        1 => (0i64..=100).prop_map(|p| Action::SetWeight { percent: Percent::new(p).unwrap() }),
        1 => Just(Action::Handover),
        1 => Just(Action::Plan),
        1 => Just(Action::Status),
        1 => Just(Action::Approve),
        1 => Just(Action::Adopt),
    ]
}

fn verdict() -> impl Strategy<Value = Option<Verdict>> {
    prop_oneof![
        4 => Just(Some(Verdict::Good)),
        2 => Just(Some(Verdict::Bad)),
        1 => Just(Some(Verdict::Inconclusive)),
        1 => Just(None),
    ]
}

#[derive(Debug, Clone)]
struct Tick {
    action: Action,
    blue: Option<Verdict>,
    green: Option<Verdict>,
    insync: bool,
    advance_ms: i64,
    blue_ingress: bool,
    green_annotated: bool,
    drift: Option<u8>,
}

fn tick() -> impl Strategy<Value = Tick> {
    (
        action(),
        verdict(),
        verdict(),
        any::<bool>(),
        0i64..600_000,
        prop::bool::weighted(0.8),
        any::<bool>(),
        prop::option::weighted(0.05, 0u8..=255),
    )
        .prop_map(
            |(action, blue, green, insync, advance_ms, blue_ingress, green_annotated, drift)| {
                Tick {
                    action,
                    blue,
                    green,
                    insync,
                    advance_ms,
                    blue_ingress,
                    green_annotated,
                    drift,
                }
            },
        )
}

/// Starting zones: simple, weighted with random weights (incl. 0/0), blue-only weighted, or a
/// third owner on one entry.
fn zone() -> impl Strategy<Value = Vec<RecordSet>> {
    prop_oneof![
        Just(simple_zone()),
        (0u8..=255, 0u8..=255).prop_map(|(b, g)| weighted_zone(b, g)),
        (0u8..=255).prop_map(|b| weighted_zone(b, 0)
            .into_iter()
            .filter(|r| r.set_identifier.as_ref().unwrap().as_str() == "payments-blue")
            .collect()),
        Just({
            let mut z = simple_zone();
            z[3] = txt(
                "aaaa-payments.example.com",
                None,
                None,
                "red",
                "ingress/x/y",
            );
            z
        }),
    ]
}

/// Independent checks of one applied batch (docs/design.md §7.1, §7.3, §7.4, §7.5): the batch's own
/// promises here, the zone's from the checks shared with the chaos campaign (`zone_invariants`).
fn check(before: &[RecordSet], batch: &ChangeBatch, after: &[RecordSet]) -> Result<(), String> {
    let host = dns(HOST);
    let state_name = dns("_cutover.payments.example.com");
    if !batch.changes.iter().any(|c| c.record.name == state_name) {
        return Err("state record not in the batch".into());
    }
    let allowed: BTreeSet<&str> = ["blue", "green", "cutover"].into();
    for c in &batch.changes {
        let n = c.record.name.as_str();
        if !(n.ends_with("payments.example.com")) {
            return Err(format!("foreign name {n}"));
        }
        if c.record.rtype == RecordType::Txt && c.record.name != state_name {
            if let Some(TxtContent::Labels(l)) = c
                .record
                .values
                .first()
                .and_then(|v| registry::parse_value(v).ok())
            {
                let o = l.owner().unwrap_or("");
                if !allowed.contains(o) {
                    return Err(format!("touched a record owned by {o}"));
                }
            }
        }
    }
    let touched_sids: BTreeSet<String> = batch
        .changes
        .iter()
        .filter_map(|c| c.record.set_identifier.as_ref().map(|s| s.to_string()))
        .collect();
    let touches_host = batch.changes.iter().any(|c| c.record.name == host);
    let (b, a) = (zone_invariants::recs(before), zone_invariants::recs(after));
    let mut problems = Vec::new();
    if touches_host {
        problems.extend(zone_invariants::answers_lost(&b, &a, HOST));
        problems.extend(zone_invariants::groups(&a, HOST));
        problems.extend(zone_invariants::registry_complete(&a, HOST));
        // cutover's own batches never leave even a sole weighted member at 0.
        for rtype in ["A", "AAAA"] {
            let at: Vec<_> = a
                .iter()
                .filter(|r| r.name == HOST && r.rtype == rtype)
                .collect();
            if !at.is_empty() && at.iter().all(|r| r.weight == Some(0)) {
                problems.push(format!("{rtype}: all weights 0"));
            }
        }
    }
    // A, AAAA and the TXTs of every key the batch wrote carry one weight; every registry entry
    // has TTL 300 and its canonical value.
    problems.extend(zone_invariants::key_weights(&a, HOST, &|sid| {
        touched_sids.contains(sid)
    }));
    problems.extend(zone_invariants::registry_format(&a, HOST));
    match problems.into_iter().next() {
        Some(p) => Err(p),
        None => Ok(()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn every_batch_keeps_the_invariants(start_zone in zone(), ticks in prop::collection::vec(tick(), 1..25)) {
        let mut w = World::simple();
        w.zone = start_zone;
        let mut now = 0i64;
        for t in ticks {
            now += t.advance_ms;
            w.blue = t.blue;
            w.green = t.green;
            if t.insync { w.change_status = Some(ChangeStatus::Insync); }
            if !t.blue_ingress { w.blue_objects.clear(); }
            w.green_objects = if t.green_annotated {
                vec![ingress("default", "payments", Some(GREEN_LB), &[
                    ("external-dns.kubernetes.io/set-identifier", "payments-green"),
                    ("external-dns.kubernetes.io/aws-weight", "100"),
                ])]
            } else {
                vec![ingress("default", "payments", Some(GREEN_LB), &[])]
            };
            if let Some(dw) = t.drift {
                if let Some(r) = w.zone.iter_mut().find(|r| r.rtype == RecordType::A && r.weight.is_some()) {
                    r.weight = Some(Weight(dw));
                }
            }
            let before = w.zone.clone();
            let read_only = t.action.is_read_only();
            let d = w.run(t.action.clone(), None, now);
            prop_assert!(!d.summary.contains("breaks cutover's invariants"), "{}", d.summary);
            if let Err(e) = readable(&d) {
                prop_assert!(false, "{:?}: {}", t.action, e);
            }
            if let (Some(batch), false) = (&d.batch, read_only) {
                // The batch applied exactly (World::run panics on an inexact DELETE); the zone
                // after it must keep the invariants. The follow-up that records the change id
                // only touches the state record.
                // Every Route53 rule, by the pre-send validator.
                let snapshot = ZoneSnapshot::from_listing(dns("example.com"), before.clone()).unwrap();
                if let Err(v) = validate_batch(&snapshot, batch) {
                    prop_assert!(false, "{:?}: Route53 would refuse: {:?}\nbatch: {:#?}", t.action, v, batch);
                }
                let after = apply(&before, batch);
                if let Err(e) = check(&before, batch, &after) {
                    prop_assert!(false, "{:?} broke an invariant: {}\nbatch: {:#?}", t.action, e, batch);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Blue-green (docs/design.md §3.2)
// ---------------------------------------------------------------------------------------------

/// blue at `blue_version`, green at `green_version`, blue-green by default.
fn bg_config(blue_version: &str, green_version: &str) -> cutover_core::config::Config {
    let text = CONFIG
        .replacen(
            "external_dns_version = \"0.22\"",
            &format!("external_dns_version = \"{blue_version}\""),
            1,
        )
        .replace(
            "owner_id = \"green\"\nexternal_dns_version = \"0.22\"",
            &format!("owner_id = \"green\"\nexternal_dns_version = \"{green_version}\""),
        )
        .replace(
            "failure_threshold = 2",
            "failure_threshold = 2\nstrategy = \"blue-green\"\nverify_window = \"5m\"",
        );
    cutover_core::config::Config::parse(&text).unwrap()
}

/// Simple zones as blue's external-dns of some version left them, sometimes with a leftover
/// `cname-` entry or a third owner.
fn bg_zone() -> impl Strategy<Value = (Vec<RecordSet>, &'static str, &'static str)> {
    let entry = |n: &str, owner: &str| txt(n, None, None, owner, "ingress/default/payments");
    prop_oneof![
        Just((simple_zone(), "0.22", "0.22")),
        Just((simple_zone(), "0.22", "0.21")),
        Just((simple_zone(), "0.22", "0.13")),
        Just({
            let mut z = simple_zone();
            z.push(entry("cname-payments.example.com", "blue"));
            (z, "0.22", "0.22")
        }),
        Just({
            let z = vec![
                alias(RecordType::A, BLUE_LB, None, None),
                alias(RecordType::Aaaa, BLUE_LB, None, None),
                entry("cname-payments.example.com", "blue"),
                entry("aaaa-payments.example.com", "blue"),
            ];
            (z, "0.21", "0.22")
        }),
        Just({
            let z = vec![
                alias(RecordType::A, BLUE_LB, None, None),
                entry("payments.example.com", "blue"),
                entry("cname-payments.example.com", "blue"),
            ];
            (z, "0.13", "0.13")
        }),
        Just({
            let mut z = simple_zone();
            z[3] = entry("aaaa-payments.example.com", "red");
            (z, "0.22", "0.22")
        }),
    ]
}

/// Blue-green's own promises on the zone after a batch: every simple A/AAAA keeps its registry
/// entries and every entry its record, every registry entry of the simple key names one owner (no
/// split ownership between versions) among blue/green/lease, and A and AAAA point at one target.
fn check_bg(after: &[RecordSet]) -> Result<(), String> {
    let a = zone_invariants::recs(after);
    let mut problems = zone_invariants::registry_complete(&a, HOST);
    problems.extend(zone_invariants::registry_format(&a, HOST));
    if let Some(targets) = zone_invariants::key_targets(&a, HOST).get(&None) {
        if targets.len() > 1 {
            problems.push(format!(
                "A and AAAA point at different targets: {targets:?}"
            ));
        }
    }
    if let Some(owners) = zone_invariants::key_owners(&a, HOST).get_mut(&None) {
        owners.remove("red"); // a third owner's entry is never touched, so it stays
        if owners.len() > 1 {
            problems.push(format!("split ownership: {owners:?}"));
        }
    }
    match problems.into_iter().next() {
        Some(p) => Err(p),
        None => Ok(()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn every_blue_green_batch_keeps_the_invariants(
        (start_zone, blue_version, green_version) in bg_zone(),
        ticks in prop::collection::vec(tick(), 1..25),
    ) {
        let cfg = bg_config(blue_version, green_version);
        let mut w = World::simple();
        w.zone = start_zone;
        let mut now = 0i64;
        for t in ticks {
            now += t.advance_ms;
            w.blue = t.blue;
            w.green = t.green;
            if t.insync { w.change_status = Some(ChangeStatus::Insync); }
            w.blue_objects = if t.blue_ingress {
                vec![ingress("default", "payments", Some(BLUE_LB), &[])]
            } else {
                vec![]
            };
            w.green_objects = if t.green_annotated {
                vec![ingress("default", "payments", Some(GREEN_LB), &[
                    ("external-dns.kubernetes.io/set-identifier", "payments-green"),
                ])]
            } else {
                vec![ingress("default", "payments", Some(GREEN_LB), &[])]
            };
            let before = w.zone.clone();
            let read_only = t.action.is_read_only();
            let d = w.run_with(&cfg, t.action.clone(), None, now, false);
            prop_assert!(!d.summary.contains("breaks cutover's invariants"), "{}", d.summary);
            if let Err(e) = readable(&d) {
                prop_assert!(false, "{:?}: {}", t.action, e);
            }
            if let (Some(batch), false) = (&d.batch, read_only) {
                let snapshot = ZoneSnapshot::from_listing(dns("example.com"), before.clone()).unwrap();
                if let Err(v) = validate_batch(&snapshot, batch) {
                    prop_assert!(false, "{:?}: Route53 would refuse: {:?}\nbatch: {:#?}", t.action, v, batch);
                }
                let after = apply(&before, batch);
                if let Err(e) = check(&before, batch, &after) {
                    prop_assert!(false, "{:?} broke an invariant: {}\nbatch: {:#?}", t.action, e, batch);
                }
                if let Err(e) = check_bg(&after) {
                    prop_assert!(false, "{:?} broke a blue-green invariant: {}\nbatch: {:#?}", t.action, e, batch);
                }
            }
        }
    }
}

fn state_of(w: &World) -> state::State {
    state::find(&w.zone, &dns("_cutover.payments.example.com"))
        .expect("a state record")
        .state
        .expect("a readable state record")
}

// ---------------------------------------------------------------------------------------------
// Health over a step (docs/design.md §3.1 steps 2 and 3, §7.11)
// ---------------------------------------------------------------------------------------------

/// The green verdicts of successive checks: a flapping side, an intermittent one, or any.
fn green_checks() -> impl Strategy<Value = Vec<Option<Verdict>>> {
    prop_oneof![
        // Flapping: good and bad in turn, from either.
        (any::<bool>(), 4usize..40).prop_map(|(first_good, n)| {
            (0..n)
                .map(|i| {
                    Some(if (i % 2 == 0) == first_good {
                        Verdict::Good
                    } else {
                        Verdict::Bad
                    })
                })
                .collect()
        }),
        // Intermittent: mostly good, now and then bad or without a verdict.
        prop::collection::vec(
            prop_oneof![
                8 => Just(Some(Verdict::Good)),
                1 => Just(Some(Verdict::Bad)),
                1 => Just(Some(Verdict::Inconclusive)),
            ],
            4..40
        ),
        prop::collection::vec(verdict(), 4..40),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    /// No step advances unless every check of it for a whole bake was good, with at least
    /// `success_threshold` good checks in a row; `to` failing `failure_limit` times in a step
    /// (while `from` is good) rolls back, however the failures are spread.
    #[test]
    fn no_step_advances_unless_every_check_of_its_bake_was_good(
        start_zone in prop_oneof![Just(simple_zone()), Just(weighted_zone(100, 0))],
        greens in green_checks(),
        blues in prop::collection::vec(prop::bool::weighted(0.9), 40),
        gaps in prop::collection::vec(45_000i64..75_000, 40),
    ) {
        let c = cfg();
        let rollout = c.service(&name("payments")).unwrap().rollout.clone();
        let mut w = World::simple();
        w.zone = start_zone;
        let d = w.run(Action::Start { to: None, strategy: None, version: None, wave: None }, None, 0);
        prop_assert_eq!(d.kind, DecisionKind::Start, "{}", d.summary);
        let mut now = 0i64;
        // The checks of the current step: (time, green good?, counted against green?).
        let mut checks: Vec<(i64, bool, bool)> = Vec::new();
        for (i, green) in greens.iter().enumerate() {
            now += gaps[i];
            w.green = *green;
            w.blue = Some(if blues[i] { Verdict::Good } else { Verdict::Bad });
            w.change_status = Some(ChangeStatus::Insync);
            let percent_before = state_of(&w).percent;
            let d = w.run(Action::Tick, None, now);
            let good = *green == Some(Verdict::Good);
            let against_green = *green == Some(Verdict::Bad) && blues[i];
            checks.push((now, good, against_green));
            match d.kind {
                DecisionKind::Advance => {
                    // The run of good checks that ends now.
                    let run: Vec<&(i64, bool, bool)> =
                        checks.iter().rev().take_while(|c| c.1).collect();
                    prop_assert!(
                        run.len() as u32 >= rollout.success_threshold,
                        "advanced after {} good checks in a row: {:?}", run.len(), checks
                    );
                    // The steps' 2m bake; before the first step, the floor: the alias's 60 s TTL
                    // plus the 30 s propagation allowance.
                    let bake = if percent_before == Percent::ZERO { 90_000 } else { 120_000 };
                    let began = run.last().map(|c| c.0).unwrap_or(now);
                    prop_assert!(
                        now - began >= bake,
                        "advanced after {} ms of good checks: {:?}", now - began, checks
                    );
                    checks.clear();
                }
                DecisionKind::Rollback => checks.clear(),
                _ => {
                    let bad = checks.iter().filter(|c| c.2).count() as u32;
                    prop_assert!(
                        !(bad >= rollout.failure_limit && percent_before > Percent::ZERO),
                        "{} bad checks in the step at {} did not roll back: {}",
                        bad, percent_before, d.summary
                    );
                }
            }
            if state_of(&w).phase != cutover_core::state::Phase::Canary {
                break;
            }
        }
    }
}
