//! The planner's self-check (docs/design.md §7) refuses batches that break an invariant, whether
//! the rule is cutover's own or shared with the pre-send validator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod planner_common;

use cutover_core::command::Strategy;
use cutover_core::planner::invariants::check;
use cutover_core::route53::model::{Action, Change, ChangeBatch, RecordSet, RecordType};
use cutover_core::state::State;
use cutover_core::types::{Percent, Weight};
use planner_common::*;

fn batch(changes: Vec<(Action, RecordSet)>) -> ChangeBatch {
    ChangeBatch {
        comment: Some("test".into()),
        changes: changes
            .into_iter()
            .map(|(action, record)| Change { action, record })
            .collect(),
    }
}

fn state_create() -> (Action, RecordSet) {
    let st = State::new(
        Strategy::Canary,
        name("blue"),
        name("green"),
        Percent::ZERO,
        0,
    );
    (
        Action::Create,
        st.to_record(&dns("_cutover.payments.example.com")).unwrap(),
    )
}

fn problems(zone: &[RecordSet], b: &ChangeBatch) -> Vec<String> {
    let c = cfg();
    let svc = c.service(&name("payments")).unwrap();
    check(&c, svc, zone, b)
}

#[test]
fn a_weight_change_without_its_txt_is_refused() {
    let zone = weighted_zone(100, 0);
    let old = alias(RecordType::A, BLUE_LB, Some("payments-blue"), Some(100));
    let mut new = old.clone();
    new.weight = Some(Weight(90));
    let mut old_aaaa = alias(RecordType::Aaaa, BLUE_LB, Some("payments-blue"), Some(100));
    let mut new_aaaa = old_aaaa.clone();
    new_aaaa.weight = Some(Weight(90));
    let b = batch(vec![
        (Action::Delete, old),
        (Action::Delete, old_aaaa.clone()),
        (Action::Create, new),
        (Action::Create, new_aaaa),
        state_create(),
    ]);
    let p = problems(&zone, &b);
    assert!(
        p.iter()
            .any(|x| x.contains("has weight 90") && x.contains("weight 100")),
        "{p:?}"
    );
    // An A changed without its AAAA.
    old_aaaa.weight = Some(Weight(100));
    let old = alias(RecordType::A, BLUE_LB, Some("payments-blue"), Some(100));
    let mut new = old.clone();
    new.weight = Some(Weight(90));
    let p = problems(
        &zone,
        &batch(vec![
            (Action::Delete, old),
            (Action::Create, new),
            state_create(),
        ]),
    );
    assert!(!p.is_empty());
}

#[test]
fn all_weights_zero_and_last_record_are_refused() {
    let zone = weighted_zone(100, 0);
    let old = alias(RecordType::A, BLUE_LB, Some("payments-blue"), Some(100));
    let mut new = old.clone();
    new.weight = Some(Weight(0));
    let p = problems(
        &zone,
        &batch(vec![
            (Action::Delete, old.clone()),
            (Action::Create, new),
            state_create(),
        ]),
    );
    assert!(p.iter().any(|x| x.contains("would be 0")), "{p:?}");
    let zone = simple_zone();
    let a = alias(RecordType::A, BLUE_LB, None, None);
    let p = problems(&zone, &batch(vec![(Action::Delete, a), state_create()]));
    assert!(p.iter().any(|x| x.contains("last record")), "{p:?}");
}

#[test]
fn cutovers_own_promises_are_refused() {
    let zone = simple_zone();
    let a = alias(RecordType::A, BLUE_LB, None, None);
    // UPSERT gives no compare-and-swap; the state record must travel along.
    let p = problems(&zone, &batch(vec![(Action::Upsert, a.clone())]));
    assert!(p.iter().any(|x| x.contains("UPSERT")), "{p:?}");
    assert!(
        p.iter().any(|x| x.contains("state record is not written")),
        "{p:?}"
    );
    // A DELETE must carry the exact listed values.
    let mut wrong = a.clone();
    wrong.alias.as_mut().unwrap().evaluate_target_health = false;
    let p = problems(
        &zone,
        &batch(vec![
            (Action::Delete, wrong),
            (Action::Create, a.clone()),
            state_create(),
        ]),
    );
    assert!(p.iter().any(|x| x.contains("exact listed values")), "{p:?}");
    // A record owned by a third owner is never touched.
    let mut zone3 = simple_zone();
    zone3[2] = txt("a-payments.example.com", None, None, "red", "ingress/x/y");
    let mut moved = a.clone();
    moved.alias.as_mut().unwrap().dns_name = dns(GREEN_LB);
    let p = problems(
        &zone3,
        &batch(vec![
            (Action::Delete, a),
            (Action::Create, moved),
            state_create(),
        ]),
    );
    assert!(p.iter().any(|x| x.contains("owned by \"red\"")), "{p:?}");
    // Names outside the service.
    let other = txt("other.example.com", None, None, "blue", "ingress/x/y");
    let p = problems(&zone, &batch(vec![(Action::Create, other), state_create()]));
    assert!(
        p.iter()
            .any(|x| x.contains("not a name of service payments")),
        "{p:?}"
    );
}
