//! The canary state machine against the reference rules: one test per transition and refusal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod planner_common;

use cutover_core::command::Action;
use cutover_core::observation::Verdict;
use cutover_core::planner::DecisionKind;
use cutover_core::route53::model::{Action as ChangeAction, ChangeStatus, RecordType};
use cutover_core::state::{self, Phase};
use cutover_core::types::Percent;
use planner_common::*;

const MIN: i64 = 60_000;

fn state_of(w: &World) -> state::State {
    state::find(&w.zone, &dns("_cutover.payments.example.com"))
        .unwrap()
        .state
        .unwrap()
}

#[test]
fn start_converts_simple_to_weighted_in_one_exact_batch() {
    let mut w = World::simple();
    let before = w.zone.clone();
    let d = w.run(start(), Some("sns-1"), 0);
    assert_eq!(d.kind, DecisionKind::Start, "{}", d.summary);
    let batch = d.batch.unwrap();
    let first_create = batch
        .changes
        .iter()
        .position(|c| c.action == ChangeAction::Create)
        .unwrap();
    // [DELETE simple…, CREATE weighted…]: every DELETE first, exactly the listed records.
    let deletes: Vec<_> = batch.changes[..first_create]
        .iter()
        .map(|c| c.record.clone())
        .collect();
    assert!(batch.changes[first_create..]
        .iter()
        .all(|c| c.action == ChangeAction::Create));
    assert_eq!(deletes.len(), 4);
    for r in &before {
        assert!(
            deletes.contains(r),
            "simple record {} not deleted exactly",
            r.key()
        );
    }
    let comment = batch.comment.unwrap();
    assert!(
        comment.contains("alice") && comment.contains("test"),
        "{comment}"
    );
    // The weighted pair with TXT entries, parked under the lease owner.
    let blue_a = w.record(RecordType::A, HOST, "payments-blue").unwrap();
    assert_eq!(blue_a.weight.unwrap().get(), 100);
    assert_eq!(blue_a.alias.as_ref().unwrap().dns_name.as_str(), BLUE_LB);
    let green_a = w.record(RecordType::A, HOST, "payments-green").unwrap();
    assert_eq!(green_a.weight.unwrap().get(), 0);
    let alias = green_a.alias.as_ref().unwrap();
    assert_eq!(alias.dns_name.as_str(), GREEN_LB);
    assert_eq!(alias.hosted_zone_id, ELB_ZONE);
    assert!(w.record(RecordType::Aaaa, HOST, "payments-green").is_some());
    let txt = w
        .record(RecordType::Txt, "a-payments.example.com", "payments-blue")
        .unwrap();
    assert_eq!(
        txt.values,
        vec![owner_value("cutover", "ingress/default/payments")]
    );
    assert_eq!(txt.weight.unwrap().get(), 100);
    assert_eq!(txt.ttl, Some(300));
    let txt = w
        .record(
            RecordType::Txt,
            "aaaa-payments.example.com",
            "payments-green",
        )
        .unwrap();
    assert_eq!(
        txt.values,
        vec![owner_value("cutover", "ingress/default/payments")]
    );
    assert_eq!(txt.weight.unwrap().get(), 0);
    // The state record, with the invocation's tag: the zone's change record lists the ids of
    // the requests under it.
    let st = state_of(&w);
    assert_eq!(st.phase, Phase::Canary);
    assert_eq!(st.percent, Percent::ZERO);
    let change = st.change.as_ref().unwrap();
    assert_eq!(
        (change.id.as_deref(), change.tag.as_deref()),
        (None, Some("t1"))
    );
    assert_eq!(st.actor, "alice");
    assert!(st.has_seen("sns-1"));
    assert_eq!(d.weights_after.unwrap().to, Percent::ZERO);
}

#[test]
fn replayed_event_changes_nothing() {
    let mut w = World::simple();
    w.run(start(), Some("sns-1"), 0);
    let zone = w.zone.clone();
    let d = w.run(start(), Some("sns-1"), 1000);
    assert_eq!(d.kind, DecisionKind::Noop);
    assert!(d.batch.is_none());
    assert_eq!(w.zone, zone);
}

#[test]
fn start_preflight_refusals() {
    // A third owner holds the record.
    let mut w = World::simple();
    w.zone[2] = txt(
        "a-payments.example.com",
        None,
        None,
        "red",
        "ingress/default/payments",
    );
    let d = w.run(start(), None, 0);
    assert_eq!(d.kind, DecisionKind::Refused);
    assert!(d.summary.contains("third owner"), "{}", d.summary);
    assert!(d.batch.is_none());
    // `to` unhealthy.
    let mut w = World::simple();
    w.green = Some(Verdict::Bad);
    let d = w.run(start(), None, 0);
    assert_eq!(d.kind, DecisionKind::Refused);
    assert!(d.summary.contains("not healthy"), "{}", d.summary);
    // `to` Ingress without a load-balancer status.
    let mut w = World::simple();
    w.green_objects = vec![ingress("default", "payments", None, &[])];
    let d = w.run(start(), None, 0);
    assert!(
        d.summary.contains("no load-balancer status"),
        "{}",
        d.summary
    );
    // No TXT at all: not owned by anybody cutover may touch.
    let mut w = World::simple();
    w.zone.truncate(2);
    let d = w.run(start(), None, 0);
    assert_eq!(d.kind, DecisionKind::Refused);
    assert!(
        d.summary.contains("no external-dns TXT registry entry"),
        "{}",
        d.summary
    );
    // Encrypted registry entry: detected and refused clearly.
    let mut w = World::simple();
    w.zone[2].values = vec![format!("\"{}\"", "QUJD".repeat(20))];
    let d = w.run(start(), None, 0);
    assert!(d.summary.contains("encrypted"), "{}", d.summary);
    // Unknown target cluster.
    let mut w = World::simple();
    let d = w.run(
        Action::Start {
            to: Some(name("red")),
            strategy: None,
            version: None,
            wave: None,
        },
        None,
        0,
    );
    assert_eq!(d.kind, DecisionKind::Refused);
}

#[test]
fn start_on_weighted_keeps_the_live_share_and_parks() {
    let mut w = World::simple();
    w.zone = weighted_zone(80, 20);
    let d = w.run(start(), None, 0);
    assert_eq!(d.kind, DecisionKind::Start, "{}", d.summary);
    assert_eq!(w.weight("payments-blue"), Some(80));
    assert_eq!(w.weight("payments-green"), Some(20));
    for sid in ["payments-blue", "payments-green"] {
        for n in ["a-payments.example.com", "aaaa-payments.example.com"] {
            let t = w.record(RecordType::Txt, n, sid).unwrap();
            assert_eq!(
                t.values,
                vec![owner_value("cutover", "ingress/default/payments")]
            );
        }
    }
    assert_eq!(state_of(&w).percent, Percent::new(20).unwrap());
}

#[test]
fn start_on_weighted_without_to_key_creates_it_at_zero() {
    let mut w = World::simple();
    w.zone = weighted_zone(0, 0)
        .into_iter()
        .filter(|r| r.set_identifier.as_ref().unwrap().as_str() == "payments-blue")
        .collect();
    // blue alone at 0: creating green at 0 would be an even split, so blue is written at 100.
    let d = w.run(start(), None, 0);
    assert_eq!(d.kind, DecisionKind::Start, "{}", d.summary);
    assert_eq!(w.weight("payments-blue"), Some(100));
    assert_eq!(w.weight("payments-green"), Some(0));
}

#[test]
fn steps_wait_for_insync_then_bake_then_advance() {
    let mut w = World::simple();
    w.run(start(), None, 0);
    // PENDING: wait, nothing written.
    let d = w.run(Action::Tick, None, MIN);
    assert_eq!(d.kind, DecisionKind::Wait);
    assert!(d.batch.is_none());
    assert!(d.waits_for.unwrap().contains("INSYNC"));
    // INSYNC first seen: recorded in the state (bake counts from here).
    w.change_status = Some(ChangeStatus::Insync);
    let d = w.run(Action::Tick, None, 2 * MIN);
    assert_eq!(d.kind, DecisionKind::Wait);
    assert_eq!(state_of(&w).change.unwrap().insync_at, Some(2 * MIN));
    // Bake at 0 %: at least the ELB alias TTL 60 s + 30 s allowance.
    let d = w.run(Action::Tick, None, 2 * MIN + 80_000);
    assert_eq!(d.kind, DecisionKind::Wait, "{}", d.summary);
    assert!(d.waits_for.unwrap().contains("bake"));
    let d = w.run(Action::Tick, None, 2 * MIN + 90_000);
    assert_eq!(d.kind, DecisionKind::Advance, "{}", d.summary);
    assert_eq!(w.weight("payments-blue"), Some(90));
    assert_eq!(w.weight("payments-green"), Some(10));
    // A, AAAA and their TXTs carry the same weight.
    for sid in ["payments-blue", "payments-green"] {
        let a = w.weight(sid);
        assert_eq!(
            w.record(RecordType::Aaaa, HOST, sid)
                .unwrap()
                .weight
                .map(|x| x.get()),
            a
        );
        assert_eq!(
            w.record(RecordType::Txt, "a-payments.example.com", sid)
                .unwrap()
                .weight
                .map(|x| x.get()),
            a
        );
        assert_eq!(
            w.record(RecordType::Txt, "aaaa-payments.example.com", sid)
                .unwrap()
                .weight
                .map(|x| x.get()),
            a
        );
    }
    // Next step needs the configured bake (2 m) after the new change is INSYNC.
    w.change_status = Some(ChangeStatus::Insync);
    let t = 10 * MIN;
    assert_eq!(w.run(Action::Tick, None, t).kind, DecisionKind::Wait);
    assert_eq!(w.run(Action::Tick, None, t + MIN).kind, DecisionKind::Wait);
    assert_eq!(
        w.run(Action::Tick, None, t + 2 * MIN).kind,
        DecisionKind::Advance
    );
    assert_eq!(w.weight("payments-green"), Some(50));
}

fn started_at_10() -> World {
    let mut w = World::simple();
    w.run(start(), None, 0);
    w.change_status = Some(ChangeStatus::Insync);
    w.run(Action::Tick, None, MIN);
    let d = w.run(Action::Promote, None, MIN + 1);
    assert_eq!(d.kind, DecisionKind::Advance, "{}", d.summary);
    w.change_status = Some(ChangeStatus::Insync);
    w.run(Action::Tick, None, 3 * MIN);
    w
}

#[test]
fn rollback_after_consecutive_failures_while_from_is_good() {
    let mut w = started_at_10();
    w.green = Some(Verdict::Bad);
    let d = w.run(Action::Tick, None, 4 * MIN);
    assert_eq!(d.kind, DecisionKind::Hold, "{}", d.summary);
    assert_eq!(state_of(&w).failures, 1);
    let d = w.run(Action::Tick, None, 5 * MIN);
    assert_eq!(d.kind, DecisionKind::Rollback, "{}", d.summary);
    assert_eq!(w.weight("payments-blue"), Some(100));
    assert_eq!(w.weight("payments-green"), Some(0));
    assert_eq!(state_of(&w).phase, Phase::RolledBack);
}

#[test]
fn both_sides_bad_holds_and_alerts_without_rollback() {
    let mut w = started_at_10();
    w.green = Some(Verdict::Bad);
    w.blue = Some(Verdict::Bad);
    for i in 0..4 {
        let d = w.run(Action::Tick, None, (4 + i) * MIN);
        assert_eq!(d.kind, DecisionKind::Hold);
        assert!(
            d.alerts.iter().any(|a| a.contains("both")),
            "{:?}",
            d.alerts
        );
    }
    assert_eq!(w.weight("payments-green"), Some(10));
}

#[test]
fn inconclusive_holds_and_never_counts() {
    let mut w = started_at_10();
    assert_eq!(
        state_of(&w).checks.good,
        1,
        "the INSYNC tick's check was good"
    );
    w.green = Some(Verdict::Inconclusive);
    let state_name = dns("_cutover.payments.example.com");
    let traffic = |zone: &[cutover_core::route53::model::RecordSet]| {
        zone.iter()
            .filter(|r| r.name != state_name)
            .cloned()
            .collect::<Vec<_>>()
    };
    let traffic_before = traffic(&w.zone);
    // The first inconclusive check ends the run of good checks: the bake starts over, and only
    // the state record says so.
    let d = w.run(Action::Tick, None, 30 * MIN);
    assert_eq!(d.kind, DecisionKind::Hold);
    let batch = d.batch.as_ref().expect("the ended run is recorded");
    assert!(batch.changes.iter().all(|c| c.record.name == state_name));
    assert_eq!(traffic(&w.zone), traffic_before);
    let checks = state_of(&w).checks;
    assert_eq!(
        (checks.good, checks.good_since, checks.inconclusive),
        (0, None, 1)
    );
    // More inconclusive checks change nothing and write nothing; none counts as a failure.
    let zone = w.zone.clone();
    let d = w.run(Action::Tick, None, 31 * MIN);
    assert_eq!(d.kind, DecisionKind::Hold);
    assert!(d.batch.is_none());
    w.green = None;
    assert_eq!(w.run(Action::Tick, None, 32 * MIN).kind, DecisionKind::Hold);
    assert_eq!(w.zone, zone);
    assert_eq!(state_of(&w).failures, 0);
    assert_eq!(state_of(&w).checks.bad, 0);
}

#[test]
fn manual_rollback_needs_route53_only() {
    let mut w = started_at_10();
    w.blue = None;
    w.green = None;
    w.blue_objects.clear();
    w.green_objects.clear();
    let d = w.run(Action::Rollback, Some("cmd-9"), 4 * MIN);
    assert_eq!(d.kind, DecisionKind::Rollback, "{}", d.summary);
    assert_eq!(w.weight("payments-blue"), Some(100));
    assert_eq!(w.weight("payments-green"), Some(0));
}

/// A key whose A and AAAA records carry different weights (someone edited one of them) has no
/// single share: IPv4 and IPv6 resolvers each see their own split. Reports say so (no weights)
/// instead of inventing one — reading the odd key as weight 0 showed such a service at 0 % or
/// 50 %, whatever the records said.
#[test]
fn a_key_whose_a_and_aaaa_weights_differ_reports_no_share() {
    for (sid, weight) in [("payments-green", 77), ("payments-blue", 179)] {
        let mut w = started_at_10();
        for r in w.zone.iter_mut() {
            if r.rtype == RecordType::A
                && r.set_identifier.as_ref().map(|s| s.as_str()) == Some(sid)
            {
                r.weight = Some(cutover_core::types::Weight(weight));
            }
        }
        for action in [Action::Status, Action::Tick] {
            let d = w.run(action.clone(), None, 30 * MIN);
            assert_eq!(d.weights_before, None, "{sid} {action:?}: {}", d.summary);
        }
    }
}

#[test]
fn drift_holds_and_never_overwrites() {
    let mut w = started_at_10();
    // Someone edits green's A weight behind cutover's back.
    for r in w.zone.iter_mut() {
        if r.rtype == RecordType::A
            && r.set_identifier.as_ref().map(|s| s.as_str()) == Some("payments-green")
        {
            r.weight = Some(cutover_core::types::Weight(77));
        }
    }
    let d = w.run(Action::Tick, None, 30 * MIN);
    assert_eq!(d.kind, DecisionKind::Hold, "{}", d.summary);
    assert!(d.alerts.iter().any(|a| a.contains("77")), "{:?}", d.alerts);
    let batch = d.batch.unwrap();
    assert!(batch
        .changes
        .iter()
        .all(|c| c.record.name == dns("_cutover.payments.example.com")));
    assert_eq!(w.weight("payments-green"), Some(77));
    assert_eq!(state_of(&w).phase, Phase::Holding);
    // set-weight is refused while drifted.
    assert_eq!(
        w.run(
            Action::SetWeight {
                percent: Percent::new(20).unwrap()
            },
            None,
            31 * MIN
        )
        .kind,
        DecisionKind::Refused
    );
}

#[test]
fn pause_resume_and_set_weight() {
    let mut w = started_at_10();
    let d = w.run(Action::Pause, None, 4 * MIN);
    assert_eq!(d.kind, DecisionKind::Paused);
    w.change_status = Some(ChangeStatus::Insync);
    assert_eq!(w.run(Action::Tick, None, 60 * MIN).kind, DecisionKind::Hold);
    assert_eq!(w.weight("payments-green"), Some(10));
    let d = w.run(
        Action::SetWeight {
            percent: Percent::new(30).unwrap(),
        },
        None,
        61 * MIN,
    );
    assert_eq!(d.kind, DecisionKind::SetWeight, "{}", d.summary);
    assert_eq!(w.weight("payments-green"), Some(30));
    assert_eq!(w.weight("payments-blue"), Some(70));
    assert_eq!(state_of(&w).phase, Phase::Holding);
    assert_eq!(
        w.run(Action::Resume, None, 62 * MIN).kind,
        DecisionKind::Resumed
    );
    assert_eq!(state_of(&w).phase, Phase::Canary);
}

#[test]
fn promote_needs_insync() {
    let mut w = started_at_10();
    // A fresh change (set-weight) is PENDING: promote must wait for INSYNC.
    w.run(
        Action::SetWeight {
            percent: Percent::new(20).unwrap(),
        },
        None,
        4 * MIN,
    );
    assert_eq!(w.change_status, Some(ChangeStatus::Pending));
    let d = w.run(Action::Promote, None, 5 * MIN);
    assert_eq!(d.kind, DecisionKind::Wait, "{}", d.summary);
    assert_eq!(w.weight("payments-green"), Some(20));
}

#[test]
fn completion_waits_then_deletes_from_and_hands_to_over() {
    let mut w = started_at_10();
    let d = w.run(Action::PromoteFull, None, 4 * MIN);
    assert_eq!(d.kind, DecisionKind::Advance, "{}", d.summary);
    assert_eq!(w.weight("payments-green"), Some(100));
    assert_eq!(w.weight("payments-blue"), Some(0));
    w.change_status = Some(ChangeStatus::Insync);
    w.run(Action::Tick, None, 5 * MIN);
    // After the last bake: both stay parked while blue's Ingress claims the host and green's asks
    // for the simple key; the report says exactly what to change where.
    let d = w.run(Action::Tick, None, 20 * MIN);
    assert_eq!(d.kind, DecisionKind::Wait, "{}", d.summary);
    let waits = d.waits_for.unwrap();
    assert!(
        waits.contains("cluster blue: delete Ingress default/payments"),
        "{waits}"
    );
    assert!(
        waits.contains("external-dns.kubernetes.io/set-identifier=payments-green"),
        "{waits}"
    );
    assert_eq!(state_of(&w).phase, Phase::Completing);
    // green annotates the key with weight 0 while blue still claims: still no handover (0 beside
    // the parked from at 0 would be an even split).
    w.green_objects = vec![ingress(
        "default",
        "payments",
        Some(GREEN_LB),
        &[
            (
                "external-dns.kubernetes.io/set-identifier",
                "payments-green",
            ),
            ("external-dns.kubernetes.io/aws-weight", "0"),
        ],
    )];
    let d = w.run(Action::Tick, None, 21 * MIN);
    assert_eq!(d.kind, DecisionKind::Wait);
    assert!(d.waits_for.unwrap().contains("aws-weight=100"));
    // blue's Ingress gone: delete the from key and hand over green in one batch.
    w.blue_objects.clear();
    let d = w.run(Action::Tick, None, 22 * MIN);
    assert_eq!(d.kind, DecisionKind::Complete, "{}", d.summary);
    assert!(w.record(RecordType::A, HOST, "payments-blue").is_none());
    assert!(w
        .record(RecordType::Txt, "a-payments.example.com", "payments-blue")
        .is_none());
    let t = w
        .record(RecordType::Txt, "a-payments.example.com", "payments-green")
        .unwrap();
    assert_eq!(
        t.values,
        vec![owner_value("green", "ingress/default/payments")]
    );
    assert_eq!(state_of(&w).phase, Phase::Completed);
    assert_eq!(w.run(Action::Tick, None, 23 * MIN).kind, DecisionKind::Noop);
}

#[test]
fn handover_with_weight_annotation_before_from_is_deleted() {
    let mut w = started_at_10();
    w.run(Action::PromoteFull, None, 4 * MIN);
    w.green_objects = vec![ingress(
        "default",
        "payments",
        Some(GREEN_LB),
        &[
            (
                "external-dns.kubernetes.io/set-identifier",
                "payments-green",
            ),
            ("external-dns.kubernetes.io/aws-weight", "100"),
        ],
    )];
    w.change_status = Some(ChangeStatus::Insync);
    let d = w.run(Action::Handover, None, 5 * MIN);
    assert_eq!(d.kind, DecisionKind::Handover, "{}", d.summary);
    assert!(w.record(RecordType::A, HOST, "payments-blue").is_some());
    assert_eq!(
        w.record(
            RecordType::Txt,
            "aaaa-payments.example.com",
            "payments-green"
        )
        .unwrap()
        .values,
        vec![owner_value("green", "ingress/default/payments")]
    );
    // Rollback is no longer possible: green's external-dns owns the key.
    assert_eq!(
        w.run(Action::Rollback, None, 6 * MIN).kind,
        DecisionKind::Refused
    );
}

#[test]
fn handover_waits_while_the_to_object_publishes_another_load_balancer() {
    let mut w = started_at_10();
    w.run(Action::PromoteFull, None, 4 * MIN);
    let annotations = [
        (
            "external-dns.kubernetes.io/set-identifier",
            "payments-green",
        ),
        ("external-dns.kubernetes.io/aws-weight", "100"),
    ];
    // green's Ingress got a new load balancer since the start: handing the key over would let
    // green's external-dns move all the traffic to it, unchecked.
    let new_lb = "k8s-green-2.us-east-1.elb.amazonaws.com";
    w.green_objects = vec![ingress("default", "payments", Some(new_lb), &annotations)];
    w.change_status = Some(ChangeStatus::Insync);
    let before = w.zone.clone();
    let d = w.run(Action::Handover, None, 5 * MIN);
    assert_eq!(d.kind, DecisionKind::Wait, "{}", d.summary);
    let waits = d.waits_for.unwrap_or_default();
    assert!(waits.contains(&format!("publishes {new_lb}")), "{waits}");
    assert!(waits.contains(&format!("points at {GREEN_LB}")), "{waits}");
    let owners: Vec<&cutover_core::route53::model::RecordSet> = w
        .zone
        .iter()
        .filter(|r| {
            r.rtype == RecordType::Txt && r.values.iter().any(|v| v.contains("owner=green"))
        })
        .collect();
    assert!(owners.is_empty(), "handed over: {owners:?}");
    assert_eq!(
        w.record(RecordType::A, HOST, "payments-green"),
        before.iter().find(|r| r.rtype == RecordType::A
            && r.set_identifier.as_ref().map(|s| s.as_str()) == Some("payments-green"))
    );
    // The same load balancer, written as ELB names may be (upper case, dualstack., a final
    // dot): handed over.
    let same = format!("dualstack.{}.", GREEN_LB.to_ascii_uppercase());
    w.green_objects = vec![ingress("default", "payments", Some(&same), &annotations)];
    let d = w.run(Action::Handover, None, 6 * MIN);
    assert_eq!(d.kind, DecisionKind::Handover, "{}", d.summary);
}

#[test]
fn handover_before_100_is_refused() {
    let mut w = started_at_10();
    assert_eq!(
        w.run(Action::Handover, None, 4 * MIN).kind,
        DecisionKind::Refused
    );
}

#[test]
fn status_reports_simple_key_mismatch() {
    let mut w = started_at_10();
    let zone = w.zone.clone();
    let d = w.run(Action::Status, None, 4 * MIN);
    assert_eq!(d.kind, DecisionKind::Status);
    assert!(d.batch.is_none());
    assert_eq!(w.zone, zone);
    assert_eq!(d.weights_before.unwrap().to, Percent::new(10).unwrap());
    assert!(
        d.alerts.iter().any(|a| a.contains("cluster green")
            && a.contains("external-dns.kubernetes.io/set-identifier=payments-green")),
        "{:?}",
        d.alerts
    );
    assert_eq!(
        d.owners.get("payments-blue").map(String::as_str),
        Some("cutover")
    );
}

#[test]
fn plan_shows_the_batch_and_writes_nothing() {
    let mut w = World::simple();
    w.run(start(), None, 0);
    w.change_status = Some(ChangeStatus::Insync);
    w.run(Action::Tick, None, MIN);
    let zone = w.zone.clone();
    let d = w.run(Action::Plan, None, 10 * MIN);
    assert_eq!(d.kind, DecisionKind::Advance);
    assert!(d.summary.starts_with("plan:"));
    assert!(d.batch.is_some());
    assert_eq!(w.zone, zone);
}
