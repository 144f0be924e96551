//! The planner with every source kind external-dns reads (docs/design.md §2): Services behind an
//! NLB and HTTPRoutes as well as Ingresses, a kind that changes between `from` and `to`, the
//! registry's `resource` label that follows the `to` object (docs/reference/external-dns.md §1
//! "Value"), the NLB column of the canonical zone table (docs/reference/route53.md "Alias
//! records"), and claimants of any kinds that make the source ambiguous.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod planner_common;

use cutover_core::command::{Action, Strategy};
use cutover_core::config::Config;
use cutover_core::observation::SourceKind;
use cutover_core::planner::DecisionKind;
use cutover_core::route53::model::{ChangeStatus, RecordType};
use cutover_core::state::{self, Phase};
use planner_common::*;

const MIN: i64 = 60_000;
/// An NLB host name (`…elb.<region>.amazonaws.com`): its alias zone is the NLB column.
const GREEN_NLB: &str = "k8s-pay-payments-0a1b2c.elb.us-east-1.amazonaws.com";
const BLUE_NLB: &str = "k8s-pay-payments-9z8y7x.elb.us-east-1.amazonaws.com";
/// us-east-1's NLB canonical hosted zone id (docs/reference/route53.md "Alias records").
const NLB_ZONE: &str = "Z26RNL4JYFTOTI";
const WEIGHTED_GREEN: &[(&str, &str)] = &[
    (
        "external-dns.kubernetes.io/set-identifier",
        "payments-green",
    ),
    ("external-dns.kubernetes.io/aws-weight", "100"),
];

fn start(strategy: Option<Strategy>) -> Action {
    Action::Start {
        to: None,
        strategy,
        version: None,
        wave: None,
    }
}

/// CONFIG with `lines` added to `[services.payments]` and `green_sources` as green's
/// external-dns `--source` flags.
fn config(lines: &str, green_sources: &str) -> Config {
    let text = CONFIG
        .replace(
            "owner_id = \"green\"\nexternal_dns_version = \"0.22\"",
            &format!(
                "owner_id = \"green\"\nexternal_dns_version = \"0.22\"\nexternal_dns_sources = {green_sources}"
            ),
        )
        .replace("to = \"green\"\n", &format!("to = \"green\"\n{lines}\n"));
    Config::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn state_of(w: &World) -> state::State {
    state::find(&w.zone, &dns("_cutover.payments.example.com"))
        .unwrap()
        .state
        .unwrap()
}

fn txt_values(w: &World, name: &str, sid: Option<&str>) -> Vec<String> {
    w.zone
        .iter()
        .find(|r| {
            r.rtype == RecordType::Txt
                && r.name == dns(name)
                && r.set_identifier.as_ref().map(|s| s.as_str()) == sid
        })
        .unwrap_or_else(|| panic!("no TXT {name} {sid:?}"))
        .values
        .clone()
}

/// A canary to 100 % and its completion, on `cfg`, with green's objects `green` (asking for the
/// weighted key once traffic is all there) — returns the world after completion.
fn canary_to_completion(
    cfg: &Config,
    green: Vec<cutover_core::observation::SourceObject>,
) -> World {
    let mut w = World::simple();
    w.green_objects = green.clone();
    let d = w.run_with(cfg, start(None), None, 0, false);
    assert_eq!(d.kind, DecisionKind::Start, "{}", d.summary);
    w.change_status = Some(ChangeStatus::Insync);
    let d = w.run_with(cfg, Action::PromoteFull, None, MIN, false);
    assert_eq!(d.kind, DecisionKind::Advance, "{}", d.summary);
    w.change_status = Some(ChangeStatus::Insync);
    // The team moves the name: blue's Ingress goes, green's object asks for its weighted key.
    w.blue_objects.clear();
    w.green_objects = green
        .into_iter()
        .map(|mut o| {
            for (k, v) in WEIGHTED_GREEN {
                o.annotations.insert(k.to_string(), v.to_string());
            }
            o
        })
        .collect();
    let d = w.run_with(cfg, Action::Handover, None, 2 * MIN, false);
    assert_eq!(d.kind, DecisionKind::Complete, "{}", d.summary);
    assert_eq!(state_of(&w).phase, Phase::Completed);
    w
}

#[test]
fn canary_to_a_service_behind_an_nlb_uses_the_nlb_zone_and_the_service_label() {
    let cfg = config("", "[\"ingress\", \"service\"]");
    let service = object(SourceKind::Service, "pay", "payments", Some(GREEN_NLB), &[]);
    let mut w = World::simple();
    w.green_objects = vec![service.clone()];
    let d = w.run_with(&cfg, start(None), None, 0, false);
    assert_eq!(d.kind, DecisionKind::Start, "{}", d.summary);
    // The new `to` key points at the NLB, in the NLB column's zone, never the ALB one.
    for rtype in [RecordType::A, RecordType::Aaaa] {
        let alias = w
            .record(rtype, HOST, "payments-green")
            .unwrap()
            .alias
            .clone()
            .unwrap();
        assert_eq!(alias.dns_name.as_str(), GREEN_NLB);
        assert_eq!(alias.hosted_zone_id, NLB_ZONE);
    }
    // Parked, labelled with the Service green's external-dns reads.
    assert_eq!(
        txt_values(&w, "a-payments.example.com", Some("payments-green")),
        vec![owner_value("cutover", "service/pay/payments")]
    );
    // blue's parked key keeps the label blue's external-dns wrote.
    assert_eq!(
        txt_values(&w, "a-payments.example.com", Some("payments-blue")),
        vec![owner_value("cutover", "ingress/default/payments")]
    );

    let w = canary_to_completion(&cfg, vec![service]);
    for txt in ["a-payments.example.com", "aaaa-payments.example.com"] {
        assert_eq!(
            txt_values(&w, txt, Some("payments-green")),
            vec![owner_value("green", "service/pay/payments")],
            "{txt}"
        );
    }
    assert!(w.record(RecordType::A, HOST, "payments-blue").is_none());
}

#[test]
fn canary_from_an_ingress_to_an_httproute_hands_over_with_the_route_label() {
    let cfg = config("", "[\"ingress\", \"gateway-httproute\"]");
    let route = object(
        SourceKind::HttpRoute,
        "web",
        "payments",
        Some(GREEN_LB),
        &[],
    );
    let w = canary_to_completion(&cfg, vec![route]);
    for txt in ["a-payments.example.com", "aaaa-payments.example.com"] {
        assert_eq!(
            txt_values(&w, txt, Some("payments-green")),
            vec![owner_value("green", "httproute/web/payments")],
            "{txt}"
        );
    }
    let alias = w
        .record(RecordType::A, HOST, "payments-green")
        .unwrap()
        .alias
        .clone()
        .unwrap();
    assert_eq!(alias.dns_name.as_str(), GREEN_LB);
    assert_eq!(alias.hosted_zone_id, ELB_ZONE);
}

#[test]
fn blue_green_flip_from_an_ingress_to_an_httproute_labels_the_route_and_rolls_back_exactly() {
    let cfg = config("", "[\"ingress\", \"gateway-httproute\"]");
    let mut w = World::simple();
    let before = w.zone.clone();
    w.green_objects = vec![object(
        SourceKind::HttpRoute,
        "web",
        "payments",
        Some(GREEN_NLB),
        &[],
    )];
    let d = w.run_with(&cfg, start(Some(Strategy::BlueGreen)), None, 0, false);
    assert_eq!(d.kind, DecisionKind::Start, "{}", d.summary);
    assert!(
        d.summary.contains("resource httproute/web/payments"),
        "{}",
        d.summary
    );
    for txt in ["a-payments.example.com", "aaaa-payments.example.com"] {
        assert_eq!(
            txt_values(&w, txt, None),
            vec![owner_value("green", "httproute/web/payments")],
            "{txt}"
        );
    }
    // The Gateway's load balancer is an NLB here: the NLB column again.
    let alias = w
        .zone
        .iter()
        .find(|r| r.rtype == RecordType::A && r.name == dns(HOST))
        .unwrap()
        .alias
        .clone()
        .unwrap();
    assert_eq!(alias.dns_name.as_str(), GREEN_NLB);
    assert_eq!(alias.hosted_zone_id, NLB_ZONE);
    // Rollback restores blue's records exactly, with blue's Ingress label.
    let d = w.run_with(&cfg, Action::Rollback, None, MIN, false);
    assert_eq!(d.kind, DecisionKind::Rollback, "{}", d.summary);
    let traffic: Vec<_> = w
        .zone
        .iter()
        .filter(|r| !r.name.as_str().starts_with("_cutover."))
        .cloned()
        .collect();
    let mut expected = before;
    expected.sort_by_key(|r| r.key());
    let mut got = traffic;
    got.sort_by_key(|r| r.key());
    assert_eq!(got, expected);
}

#[test]
fn unpinned_claimants_of_any_kinds_are_refused_by_name_and_a_pin_chooses() {
    let cfg = config("", "[\"ingress\", \"service\"]");
    let mut w = World::simple();
    w.blue_objects.push(object(
        SourceKind::Service,
        "pay",
        "payments-nlb",
        Some(BLUE_NLB),
        &[],
    ));
    let zone = w.zone.clone();
    let d = w.run_with(&cfg, start(None), None, 0, false);
    assert_eq!(d.kind, DecisionKind::Refused, "{}", d.summary);
    assert!(
        d.summary.contains(
            "2 objects in cluster blue claim payments.example.com (Ingress default/payments, Service pay/payments-nlb); set services.payments.source.blue"
        ),
        "{}",
        d.summary
    );
    assert!(d.batch.is_none());
    assert_eq!(w.zone, zone);
    // Blue-green refuses the same way on the `to` side.
    let mut w = World::simple();
    w.green_objects.push(object(
        SourceKind::Service,
        "pay",
        "payments",
        Some(GREEN_NLB),
        &[],
    ));
    let d = w.run_with(&cfg, start(Some(Strategy::BlueGreen)), None, 0, false);
    assert_eq!(d.kind, DecisionKind::Refused, "{}", d.summary);
    assert!(
        d.summary
            .contains("(Ingress default/payments, Service pay/payments)"),
        "{}",
        d.summary
    );
    // A pin chooses, by kind and name; the other claimant no longer counts.
    for pin in [
        "source = { green = \"service/pay/payments\" }",
        "source = { green = \"service\" }",
    ] {
        let cfg = config(pin, "[\"ingress\", \"service\"]");
        let mut w2 = w.clone();
        let d = w2.run_with(&cfg, start(Some(Strategy::BlueGreen)), None, 0, false);
        assert_eq!(d.kind, DecisionKind::Start, "{pin}: {}", d.summary);
        assert_eq!(
            txt_values(&w2, "a-payments.example.com", None),
            vec![owner_value("green", "service/pay/payments")],
            "{pin}"
        );
    }
    // A pin that names no claimant: refused, naming the pin.
    let cfg = config(
        "source = { green = \"service/pay/other\" }",
        "[\"ingress\", \"service\"]",
    );
    let d = w
        .clone()
        .run_with(&cfg, start(Some(Strategy::BlueGreen)), None, 0, false);
    assert_eq!(d.kind, DecisionKind::Refused, "{}", d.summary);
    assert!(
        d.summary.contains(
            "Service pay/other in cluster green (services.payments.source) does not ask for payments.example.com"
        ),
        "{}",
        d.summary
    );
}

#[test]
fn kinds_the_clusters_external_dns_does_not_read_never_claim() {
    // Green's external-dns reads Ingresses only: its HTTPRoute publishes nothing, so it neither
    // serves nor makes the Ingress ambiguous.
    let cfg = config("", "[\"ingress\"]");
    let mut w = World::simple();
    w.green_objects.push(object(
        SourceKind::HttpRoute,
        "web",
        "payments",
        Some(GREEN_NLB),
        &[],
    ));
    let d = w.run_with(&cfg, start(None), None, 0, false);
    assert_eq!(d.kind, DecisionKind::Start, "{}", d.summary);
    assert_eq!(
        txt_values(&w, "a-payments.example.com", Some("payments-green")),
        vec![owner_value("cutover", "ingress/default/payments")]
    );
    let mut w = World::simple();
    w.green_objects = vec![object(
        SourceKind::HttpRoute,
        "web",
        "payments",
        Some(GREEN_NLB),
        &[],
    )];
    let d = w.run_with(&cfg, start(None), None, 0, false);
    assert_eq!(d.kind, DecisionKind::Refused, "{}", d.summary);
    assert!(
        d.summary
            .contains("no Ingress in cluster green claims payments.example.com"),
        "{}",
        d.summary
    );
}

#[test]
fn handover_waits_while_two_objects_claim_the_key_unless_one_is_pinned() {
    let cfg = config("", "[\"ingress\", \"gateway-httproute\"]");
    let route = object(
        SourceKind::HttpRoute,
        "web",
        "payments",
        Some(GREEN_LB),
        &[],
    );
    let mut w = World::simple();
    w.green_objects = vec![route.clone()];
    w.run_with(&cfg, start(None), None, 0, false);
    w.change_status = Some(ChangeStatus::Insync);
    w.run_with(&cfg, Action::PromoteFull, None, MIN, false);
    w.change_status = Some(ChangeStatus::Insync);
    w.blue_objects.clear();
    // The route and a leftover Ingress both ask for green's key.
    let mut asking_route = route.clone();
    let mut leftover = ingress("default", "payments", Some(GREEN_LB), WEIGHTED_GREEN);
    for (k, v) in WEIGHTED_GREEN {
        asking_route
            .annotations
            .insert(k.to_string(), v.to_string());
    }
    leftover.namespace = "old".into();
    w.green_objects = vec![leftover, asking_route];
    let d = w.run_with(&cfg, Action::Handover, None, 10 * MIN, false);
    // The parked blue key goes (blue claims nothing now), green's key stays parked.
    assert_eq!(d.kind, DecisionKind::DeleteFrom, "{}", d.summary);
    let waits = d.waits_for.unwrap();
    assert!(
        waits.contains("2 objects in cluster green claim payments.example.com (Ingress old/payments, HTTPRoute web/payments)"),
        "{waits}"
    );
    assert_eq!(
        txt_values(&w, "a-payments.example.com", Some("payments-green")),
        vec![owner_value("cutover", "httproute/web/payments")]
    );
    // Pinned to the route: handed over with the route's label — the label that makes green's
    // external-dns keep serving the key from the route, not from the leftover Ingress.
    let pinned = config(
        "source = { green = \"httproute/web/payments\" }",
        "[\"ingress\", \"gateway-httproute\"]",
    );
    let d = w.run_with(&pinned, Action::Handover, None, 11 * MIN, false);
    assert_eq!(d.kind, DecisionKind::Complete, "{}", d.summary);
    assert_eq!(
        txt_values(&w, "a-payments.example.com", Some("payments-green")),
        vec![owner_value("green", "httproute/web/payments")]
    );
}
