//! Split-horizon (docs/design.md §8.1): one decision mirrored into a private and a public zone of
//! the name, each zone's batch applied on its own. The property test drives migrations with
//! random health and a random failure between the zones' batches, and checks what the design
//! promises: a failure leaves the zones at most one decision apart, the lagging zone holds
//! exactly what the lead held before, the next decision converges it without writing the lead
//! (a rollback excepted), and the zones never stay apart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod planner_common;

use cutover_core::command::{Action, Command};
use cutover_core::config::Config;
use cutover_core::observation::Verdict;
use cutover_core::planner::horizon::{self, Standing, ZoneRecords};
use cutover_core::planner::{self, Decision, DecisionKind};
use cutover_core::route53::model::{ChangeStatus, RecordSet, RecordType};
use cutover_core::types::Weight;
use planner_common::*;
use proptest::prelude::*;

const PRIVATE: &str = "ZPRIVATE";

fn split_cfg() -> Config {
    let text = CONFIG.replacen(
        "[[zones]]",
        "[[zones]]\nid = \"ZPRIVATE\"\nname = \"example.com\"\nprivate = true\n\n[[zones]]",
        1,
    );
    Config::parse(&text).unwrap()
}

/// Two zones of the name and what the planner observes of the clusters.
struct Split {
    w: World,
    zones: [Vec<RecordSet>; 2],
}

impl Split {
    fn new() -> Split {
        let w = World::simple();
        let zone = w.zone.clone();
        Split {
            w,
            zones: [zone.clone(), zone],
        }
    }

    /// Decides on the lead zone and mirrors, as the engine does.
    fn decide(&self, cfg: &Config, action: Action, now: i64) -> Decision {
        let svc = cfg.service(&name("payments")).unwrap();
        assert_eq!(svc.zone_ids, [PRIVATE, "Z1EXAMPLE"]);
        let zones: Vec<ZoneRecords> = svc
            .zone_ids
            .iter()
            .zip(&self.zones)
            .map(|(id, records)| ZoneRecords {
                zone_id: id.clone(),
                records: records.clone(),
            })
            .collect();
        let state_name = cfg.state_record_name(svc).unwrap();
        let lead = horizon::lead(&state_name, &zones);
        let mut w = self.w.clone();
        w.zone = self.zones[lead].clone();
        let cmd = Command {
            action,
            service: Some(name("payments")),
            dry_run: false,
            actor: "alice".into(),
            reason: None,
            id: None,
            trigger: Default::default(),
        };
        let d = planner::decide(cfg, svc, &w.view(), &cmd, now);
        horizon::mirror(cfg, svc, &zones, lead, d, &[])
    }

    /// Applies each zone's batch in order; `fail` is the zone whose batch fails (and for a
    /// forward decision, every zone after it is not sent). Returns whether anything was applied.
    fn apply(&mut self, d: &Decision, fail: Option<usize>) -> bool {
        let rollback = d.kind == DecisionKind::Rollback;
        let mut failed = false;
        let mut applied = false;
        for (i, part) in d.zones.iter().enumerate() {
            let Some(batch) = &part.batch else { continue };
            if failed && !rollback {
                break;
            }
            if fail == Some(i) {
                failed = true;
                continue;
            }
            self.zones[i] = apply(&self.zones[i], batch);
            applied = true;
        }
        applied
    }
}

fn share_on_to(records: &[RecordSet]) -> Option<u8> {
    records
        .iter()
        .find(|r| {
            r.rtype == RecordType::A
                && r.set_identifier.as_ref().map(|s| s.as_str()) == Some("payments-green")
        })
        .and_then(|r| r.weight.map(|w| w.get()))
}

#[test]
fn zones_in_step_get_the_same_batch_private_first() {
    let cfg = split_cfg();
    let mut s = Split::new();
    let d = s.decide(&cfg, start(), 1_000);
    assert_eq!(d.kind, DecisionKind::Start, "{}", d.summary);
    assert_eq!(d.zones.len(), 2);
    assert_eq!(d.zones[0].zone_id, PRIVATE);
    assert_eq!(d.zones[0].standing, Standing::Lead);
    assert_eq!(d.zones[1].standing, Standing::InStep);
    assert_eq!(d.zones[0].batch, d.batch);
    assert_eq!(d.zones[1].batch, d.batch);
    assert!(s.apply(&d, None));
    assert!(horizon::same_records(&s.zones[0], &s.zones[1]));
}

#[test]
fn converging_makes_a_zone_hold_exactly_the_target() {
    let target = weighted_zone(90, 10);
    let zone = simple_zone();
    let batch = horizon::converge(&target, &zone, "test").expect("a batch");
    let after = apply(&zone, &batch);
    assert!(horizon::same_records(&after, &target));
    assert!(horizon::converge(&target, &target, "test").is_none());
    // Values in another order are the same record set: nothing to do.
    let mut reordered = target.clone();
    for r in &mut reordered {
        r.values.reverse();
    }
    assert!(horizon::converge(&target, &reordered, "test").is_none());
}

#[test]
fn a_hand_edit_in_one_zone_holds_and_leaves_that_zone_alone() {
    let cfg = split_cfg();
    let mut s = Split::new();
    let d = s.decide(&cfg, start(), 1_000);
    assert!(s.apply(&d, None));
    // Someone changes the parked blue key's weight in the public zone only.
    for r in &mut s.zones[1] {
        if r.rtype == RecordType::A && r.weight.is_some() {
            r.weight = Some(Weight(7));
        }
    }
    let public_before = s.zones[1].clone();
    s.w.change_status = Some(ChangeStatus::Insync);
    let d = s.decide(&cfg, Action::Tick, 200_000);
    assert_eq!(d.zones[1].standing, Standing::Disagrees, "{:?}", d.zones);
    assert!(d.zones[1].batch.is_none());
    assert!(
        d.alerts
            .iter()
            .any(|a| a.contains("zone Z1EXAMPLE disagrees")),
        "{:?}",
        d.alerts
    );
    assert_ne!(d.kind, DecisionKind::Advance);
    s.apply(&d, None);
    assert_eq!(s.zones[1], public_before);
    // A rollback still goes to the zone that agrees, and leaves the edited one alone.
    let d = s.decide(&cfg, Action::Rollback, 300_000);
    assert_eq!(d.kind, DecisionKind::Rollback, "{}", d.summary);
    assert!(d.zones[0].batch.is_some());
    assert!(d.zones[1].batch.is_none());
}

#[derive(Debug, Clone)]
struct Round {
    green: Verdict,
    advance_ms: i64,
    /// Which zone's batch fails this round, if one does.
    fail: Option<usize>,
    rollback: bool,
}

fn round() -> impl Strategy<Value = Round> {
    (
        prop_oneof![
            6 => Just(Verdict::Good),
            1 => Just(Verdict::Bad),
            1 => Just(Verdict::Inconclusive),
        ],
        prop_oneof![Just(30_000i64), Just(60_000), Just(150_000)],
        prop_oneof![4 => Just(None), 1 => Just(Some(0usize)), 1 => Just(Some(1usize))],
        prop::bool::weighted(0.05),
    )
        .prop_map(|(green, advance_ms, fail, rollback)| Round {
            green,
            advance_ms,
            fail,
            rollback,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn a_failure_between_zones_is_bounded_and_converged(rounds in prop::collection::vec(round(), 1..30)) {
        let cfg = split_cfg();
        let mut s = Split::new();
        let d = s.decide(&cfg, start(), 1_000);
        prop_assert!(s.apply(&d, None));
        let mut now = 1_000i64;
        for (i, r) in rounds.iter().enumerate() {
            now += r.advance_ms;
            s.w.green = Some(r.green);
            s.w.change_status = Some(ChangeStatus::Insync);
            let apart_before = !horizon::same_records(&s.zones[0], &s.zones[1]);
            let before = s.zones.clone();
            let action = if r.rollback { Action::Rollback } else { Action::Tick };
            let d = s.decide(&cfg, action, now);
            prop_assert!(!d.summary.contains("breaks cutover's invariants"), "{}", d.summary);
            // Zones apart: the next decision converges, and writes the lead only to roll back.
            if apart_before {
                prop_assert!(
                    matches!(d.kind, DecisionKind::Converge | DecisionKind::Rollback),
                    "round {i}: zones apart, decided {} ({})", d.kind, d.summary
                );
                if d.kind == DecisionKind::Converge {
                    let lead = d.zones.iter().position(|z| z.standing == Standing::Lead).unwrap();
                    prop_assert!(d.zones[lead].batch.is_none());
                }
            }
            prop_assert!(d.zones.iter().all(|z| z.standing != Standing::Disagrees), "round {i}: {:?}", d.zones);
            s.apply(&d, r.fail);
            let apart = !horizon::same_records(&s.zones[0], &s.zones[1]);
            if r.fail.is_none() {
                prop_assert!(!apart, "round {i}: a round without a fault leaves the zones apart");
            }
            if apart {
                // At most one decision apart: one zone holds what it held before the round, and
                // it is the one the next round takes for lagging.
                let unchanged = (0..2).filter(|z| s.zones[*z] == before[*z]).count();
                prop_assert!(unchanged >= 1, "round {i}: both zones moved and differ");
            }
        }
        // With the faults over, one more decision brings the zones together.
        now += 60_000;
        let d = s.decide(&cfg, Action::Tick, now);
        s.apply(&d, None);
        prop_assert!(horizon::same_records(&s.zones[0], &s.zones[1]));
        // The state never ran ahead of the traffic: the share on green is the same in both.
        prop_assert_eq!(share_on_to(&s.zones[0]), share_on_to(&s.zones[1]));
    }
}
