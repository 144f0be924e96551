//! Blue-green by TXT ownership flip (docs/design.md §3.2) against the reference rules: the switch
//! batch per external-dns version, the verify window, rollback to exactly the prior records,
//! parking when `from` is gone, every refusal and every operator command (with dry runs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod planner_common;

use std::collections::BTreeSet;

use cutover_core::command::{Action, Strategy};
use cutover_core::config::Config;
use cutover_core::observation::Verdict;
use cutover_core::planner::DecisionKind;
use cutover_core::registry::{encrypt_labels, EncryptionKey, Labels};
use cutover_core::route53::model::{Action as ChangeAction, ChangeStatus, RecordSet, RecordType};
use cutover_core::route53::validate::validate_batch;
use cutover_core::route53::zone::ZoneSnapshot;
use cutover_core::state::{self, Phase};
use cutover_core::types::Percent;
use planner_common::*;

const MIN: i64 = 60_000;
const STATE: &str = "_cutover.payments.example.com";
const BLUE_RES: &str = "ingress/default/payments";
const GREEN_RES: &str = "ingress/shop/payments-v2";

fn config_text(blue: (&str, &str), green: (&str, &str), defaults: &str) -> String {
    format!(
        r#"
[[zones]]
id = "Z1EXAMPLE"
name = "example.com"

[clusters.blue]
eks_name = "blue"
region = "us-east-1"
owner_id = "blue"
external_dns_version = "{}"
{}

[clusters.green]
eks_name = "green"
region = "us-east-1"
owner_id = "green"
external_dns_version = "{}"
{}

[defaults]
{defaults}

[services.payments]
hostname = "payments.example.com"
from = "blue"
to = "green"
"#,
        blue.0, blue.1, green.0, green.1
    )
}

const BG_DEFAULTS: &str = r#"strategy = "blue-green"
verify_window = "10m"
failure_threshold = 2
steps = [{ percent = 100, bake = "1m" }]"#;

fn bg_config(blue: (&str, &str), green: (&str, &str)) -> Config {
    Config::parse(&config_text(blue, green, BG_DEFAULTS)).unwrap()
}

fn v22() -> Config {
    bg_config(("0.22", ""), ("0.22", ""))
}

/// A simple alias record's TXT as `owner`'s external-dns writes it (no set identifier).
fn entry(name: &str, owner: &str) -> RecordSet {
    txt(name, None, None, owner, BLUE_RES)
}

/// The world with `zone` and green's Ingress `shop/payments-v2` asking for the simple key.
fn world(zone: Vec<RecordSet>) -> World {
    let mut w = World::simple();
    w.zone = zone;
    w.green_objects = vec![ingress("shop", "payments-v2", Some(GREEN_LB), &[])];
    w
}

fn state_of(w: &World) -> state::State {
    state::find(&w.zone, &dns(STATE)).unwrap().state.unwrap()
}

/// The zone without the state record.
fn traffic(zone: &[RecordSet]) -> BTreeSet<String> {
    zone.iter()
        .filter(|r| r.name != dns(STATE))
        .map(|r| format!("{r:?}"))
        .collect()
}

fn validates(before: &[RecordSet], d: &cutover_core::planner::Decision) {
    let snapshot = ZoneSnapshot::from_listing(dns("example.com"), before.to_vec()).unwrap();
    let batch = d.batch.as_ref().expect("a batch");
    if let Err(v) = validate_batch(&snapshot, batch) {
        panic!("Route53 would refuse: {v:?}\n{batch:#?}");
    }
}

/// Runs the switch and checks it: exactly the TXT names `rewritten` are DELETEd and re-CREATEd
/// with owner green / the green Ingress, `added` are CREATEd new, `removed` (names green's
/// external-dns neither writes nor deletes) are DELETEd for good, A/AAAA point at the green load
/// balancer, canonical values, TTL 300, the batch passes the pre-send validator.
fn check_switch(
    cfg: &Config,
    zone: Vec<RecordSet>,
    rewritten: &[&str],
    added: &[&str],
    removed: &[&str],
) -> World {
    let mut w = world(zone);
    let before = w.zone.clone();
    let d = w.run_with(cfg, start(), Some("sns-1"), 0, false);
    assert_eq!(d.kind, DecisionKind::Start, "{}", d.summary);
    validates(&before, &d);
    let batch = d.batch.as_ref().unwrap();
    let txt_names = |action: ChangeAction| -> BTreeSet<String> {
        batch
            .changes
            .iter()
            .filter(|c| c.action == action)
            .filter(|c| c.record.rtype == RecordType::Txt && c.record.name != dns(STATE))
            .map(|c| c.record.name.to_string())
            .collect()
    };
    let want_deleted: BTreeSet<String> = rewritten
        .iter()
        .chain(removed)
        .map(|s| s.to_string())
        .collect();
    let want_created: BTreeSet<String> = rewritten
        .iter()
        .chain(added)
        .map(|s| s.to_string())
        .collect();
    assert_eq!(txt_names(ChangeAction::Delete), want_deleted);
    assert_eq!(txt_names(ChangeAction::Create), want_created);
    for c in &batch.changes {
        let r = &c.record;
        if c.action == ChangeAction::Delete {
            assert!(before.contains(r), "DELETE not exact: {r:?}");
            continue;
        }
        match r.rtype {
            RecordType::Txt if r.name != dns(STATE) => {
                assert_eq!(r.values, vec![owner_value("green", GREEN_RES)]);
                assert_eq!(r.ttl, Some(300));
                assert_eq!(r.set_identifier, None);
                assert_eq!(r.weight, None);
            }
            RecordType::A | RecordType::Aaaa => {
                let a = r.alias.as_ref().unwrap();
                assert_eq!(a.dns_name.as_str(), GREEN_LB);
                assert_eq!(a.hosted_zone_id, ELB_ZONE);
                assert!(a.evaluate_target_health);
                assert_eq!(r.set_identifier, None);
                assert_eq!(r.weight, None);
            }
            _ => {}
        }
    }
    // No UPSERT anywhere: DELETE exact + CREATE (compare-and-swap).
    assert!(batch
        .changes
        .iter()
        .all(|c| c.action != ChangeAction::Upsert));
    let comment = batch.comment.as_deref().unwrap();
    assert!(
        comment.contains("alice") && comment.contains("test"),
        "{comment}"
    );
    let st = state_of(&w);
    assert_eq!(st.phase, Phase::Verifying);
    assert_eq!(st.strategy, Strategy::BlueGreen);
    assert_eq!(st.actor, "alice");
    assert_eq!(st.reason.as_deref(), Some("test"));
    assert!(st.has_seen("sns-1"));
    w
}

// ---------------------------------------------------------------------------------------------
// The switch per external-dns version
// ---------------------------------------------------------------------------------------------

#[test]
fn switch_v013_rewrites_old_and_typed_entries() {
    // v0.13 writes old format and `cname-` for an A alias; no AAAA alias before v0.16.
    let zone = vec![
        alias(RecordType::A, BLUE_LB, None, None),
        entry("payments.example.com", "blue"),
        entry("cname-payments.example.com", "blue"),
    ];
    let cfg = bg_config(("0.13", ""), ("0.13", ""));
    check_switch(
        &cfg,
        zone,
        &["payments.example.com", "cname-payments.example.com"],
        &[],
        &[],
    );
}

#[test]
fn switch_v018_rewrites_cname_and_aaaa_entries() {
    let zone = vec![
        alias(RecordType::A, BLUE_LB, None, None),
        alias(RecordType::Aaaa, BLUE_LB, None, None),
        entry("cname-payments.example.com", "blue"),
        entry("aaaa-payments.example.com", "blue"),
    ];
    let cfg = bg_config(("0.18", ""), ("0.18", ""));
    check_switch(
        &cfg,
        zone,
        &["cname-payments.example.com", "aaaa-payments.example.com"],
        &[],
        &[],
    );
}

#[test]
fn switch_v021_with_affixes_rewrites_the_prefixed_names() {
    let zone = vec![
        alias(RecordType::A, BLUE_LB, None, None),
        alias(RecordType::Aaaa, BLUE_LB, None, None),
        entry("cname-ext.payments.example.com", "blue"),
        entry("aaaa-ext.payments.example.com", "blue"),
    ];
    let prefix = r#"txt_prefix = "%{record_type}-ext.""#;
    let cfg = bg_config(("0.21", prefix), ("0.21", prefix));
    check_switch(
        &cfg,
        zone,
        &[
            "cname-ext.payments.example.com",
            "aaaa-ext.payments.example.com",
        ],
        &[],
        &[],
    );
}

#[test]
fn switch_v022_rewrites_a_and_aaaa_entries() {
    check_switch(
        &v22(),
        simple_zone(),
        &["a-payments.example.com", "aaaa-payments.example.com"],
        &[],
        &[],
    );
}

#[test]
fn switch_v022_deletes_a_leftover_cname_entry() {
    // Upgraded from v0.21: `cname-` is still there beside `a-`. Green (v0.22) writes `a-` and
    // `aaaa-` and deletes only those with the records one day: a `cname-` left behind would outlive
    // them and hand the name's next creator its owner (docs/reference/external-dns.md §5), so the
    // switch deletes it.
    let mut zone = simple_zone();
    zone.push(entry("cname-payments.example.com", "blue"));
    check_switch(
        &v22(),
        zone,
        &["a-payments.example.com", "aaaa-payments.example.com"],
        &[],
        &["cname-payments.example.com"],
    );
}

#[test]
fn switch_mixed_v021_to_v022_adds_the_typed_entry_green_expects() {
    // blue v0.21 wrote `cname-`; green v0.22 reads it, but expects `a-` and would self-heal
    // (rewrite the record and create `a-`) on its first loop: the switch adds `a-` itself, and
    // deletes `cname-`, which green never deletes.
    let zone = vec![
        alias(RecordType::A, BLUE_LB, None, None),
        alias(RecordType::Aaaa, BLUE_LB, None, None),
        entry("cname-payments.example.com", "blue"),
        entry("aaaa-payments.example.com", "blue"),
    ];
    let cfg = bg_config(("0.21", ""), ("0.22", ""));
    check_switch(
        &cfg,
        zone,
        &["aaaa-payments.example.com"],
        &["a-payments.example.com"],
        &["cname-payments.example.com"],
    );
}

#[test]
fn switch_mixed_v022_to_v021_adds_the_entry_green_reads() {
    // blue v0.22 wrote `a-`; green v0.21 reads only `cname-` for an A alias, so it would never
    // see the A as its own: the switch adds `cname-` (what green writes) in the same batch and
    // deletes `a-`, which green would leave behind when it deletes the records (the orphan of
    // external-dns issue 6617).
    let cfg = bg_config(("0.22", ""), ("0.21", ""));
    check_switch(
        &cfg,
        simple_zone(),
        &["aaaa-payments.example.com"],
        &["cname-payments.example.com"],
        &["a-payments.example.com"],
    );
}

// ---------------------------------------------------------------------------------------------
// Verify window, completion, rollback
// ---------------------------------------------------------------------------------------------

#[test]
fn verify_window_then_complete() {
    let cfg = v22();
    let mut w = check_switch(
        &cfg,
        simple_zone(),
        &["a-payments.example.com", "aaaa-payments.example.com"],
        &[],
        &[],
    );
    // Not INSYNC yet: wait.
    let d = w.run_with(&cfg, Action::Tick, None, MIN, false);
    assert_eq!(d.kind, DecisionKind::Wait, "{}", d.summary);
    assert!(d.waits_for.unwrap().contains("INSYNC"));
    w.change_status = Some(ChangeStatus::Insync);
    let d = w.run_with(&cfg, Action::Tick, None, 2 * MIN, false);
    assert_eq!(d.kind, DecisionKind::Wait, "{}", d.summary);
    assert!(
        d.summary.contains("verify window: 600s left"),
        "{}",
        d.summary
    );
    // The second good check in a row is recorded (a window needs success_threshold = 2)…
    let d = w.run_with(&cfg, Action::Tick, None, 7 * MIN, false);
    assert_eq!(d.kind, DecisionKind::Wait);
    assert!(d.batch.is_some(), "the good check is recorded");
    assert_eq!(state_of(&w).checks.good, 2);
    // …later good checks change nothing: a steady window writes nothing.
    let d = w.run_with(&cfg, Action::Tick, None, 8 * MIN, false);
    assert_eq!(d.kind, DecisionKind::Wait);
    assert!(d.batch.is_none(), "nothing new to record");
    let d = w.run_with(&cfg, Action::Tick, None, 12 * MIN, false);
    assert_eq!(d.kind, DecisionKind::Complete, "{}", d.summary);
    let batch = d.batch.unwrap();
    assert!(batch.changes.iter().all(|c| c.record.name == dns(STATE)));
    let st = state_of(&w);
    assert_eq!(st.phase, Phase::Completed);
    assert!(st.prior.is_empty());
    let d = w.run_with(&cfg, Action::Tick, None, 13 * MIN, false);
    assert_eq!(d.kind, DecisionKind::Noop);
}

#[test]
fn verify_failure_rolls_back_to_exactly_the_prior_records() {
    let cfg = v22();
    let original = simple_zone();
    let mut w = check_switch(
        &cfg,
        original.clone(),
        &["a-payments.example.com", "aaaa-payments.example.com"],
        &[],
        &[],
    );
    w.change_status = Some(ChangeStatus::Insync);
    w.green = Some(Verdict::Bad);
    let d = w.run_with(&cfg, Action::Tick, None, MIN, false);
    assert_eq!(d.kind, DecisionKind::Hold, "{}", d.summary);
    assert_eq!(state_of(&w).failures, 1);
    let before = w.zone.clone();
    let d = w.run_with(&cfg, Action::Tick, None, 2 * MIN, false);
    assert_eq!(d.kind, DecisionKind::Rollback, "{}", d.summary);
    assert!(d.summary.contains("flipped back to blue"), "{}", d.summary);
    validates(&before, &d);
    assert_eq!(traffic(&w.zone), traffic(&original));
    let st = state_of(&w);
    assert_eq!(st.phase, Phase::RolledBack);
    assert_eq!(d.weights_after.unwrap().to, Percent::ZERO);
    assert_eq!(d.weights_before.unwrap().to, Percent::FULL);
}

#[test]
fn rollback_removes_the_entry_the_switch_added() {
    let cfg = bg_config(("0.22", ""), ("0.21", ""));
    let original = simple_zone();
    let mut w = check_switch(
        &cfg,
        original.clone(),
        &["aaaa-payments.example.com"],
        &["cname-payments.example.com"],
        &["a-payments.example.com"],
    );
    let before = w.zone.clone();
    let d = w.run_with(&cfg, Action::Rollback, None, MIN, false);
    assert_eq!(d.kind, DecisionKind::Rollback, "{}", d.summary);
    validates(&before, &d);
    assert_eq!(traffic(&w.zone), traffic(&original));
}

#[test]
fn rollback_with_from_ingress_gone_parks_on_from_load_balancer_and_alerts() {
    let cfg = v22();
    let mut w = check_switch(
        &cfg,
        simple_zone(),
        &["a-payments.example.com", "aaaa-payments.example.com"],
        &[],
        &[],
    );
    w.blue_objects.clear();
    let before = w.zone.clone();
    let d = w.run_with(&cfg, Action::Rollback, None, MIN, false);
    assert_eq!(d.kind, DecisionKind::Rollback, "{}", d.summary);
    assert!(d.summary.contains("parked"), "{}", d.summary);
    assert!(
        d.alerts
            .iter()
            .any(|a| a.contains("parked under owner cutover")),
        "{:?}",
        d.alerts
    );
    validates(&before, &d);
    for rtype in [RecordType::A, RecordType::Aaaa] {
        let r = w
            .zone
            .iter()
            .find(|r| r.rtype == rtype && r.name == dns(HOST))
            .unwrap();
        assert_eq!(r.alias.as_ref().unwrap().dns_name.as_str(), BLUE_LB);
    }
    for n in ["a-payments.example.com", "aaaa-payments.example.com"] {
        let t = w.zone.iter().find(|r| r.name == dns(n)).unwrap();
        assert_eq!(t.values, vec![owner_value("cutover", BLUE_RES)]);
    }
    // Ingresses not listable: park as well (rollback needs Route53 only).
    let w = check_switch(
        &cfg,
        simple_zone(),
        &["a-payments.example.com", "aaaa-payments.example.com"],
        &[],
        &[],
    );
    let mut view = w.view();
    view.sources.insert(
        name("blue"),
        cutover_core::planner::Observed::Unavailable("EKS DescribeCluster failed".into()),
    );
    let cmd = cutover_core::command::Command {
        action: Action::Rollback,
        service: None,
        dry_run: false,
        actor: "alice".into(),
        reason: None,
        id: None,
        trigger: Default::default(),
    };
    let d = cutover_core::planner::decide(
        &cfg,
        cfg.service(&name("payments")).unwrap(),
        &view,
        &cmd,
        MIN,
    );
    assert_eq!(d.kind, DecisionKind::Rollback, "{}", d.summary);
    assert!(d.summary.contains("parked"), "{}", d.summary);
    assert!(
        d.alerts
            .iter()
            .any(|a| a.contains("EKS DescribeCluster failed")),
        "{:?}",
        d.alerts
    );
}

#[test]
fn duplicate_event_changes_nothing() {
    let cfg = v22();
    let mut w = check_switch(
        &cfg,
        simple_zone(),
        &["a-payments.example.com", "aaaa-payments.example.com"],
        &[],
        &[],
    );
    let zone = w.zone.clone();
    let d = w.run_with(&cfg, start(), Some("sns-1"), MIN, false);
    assert_eq!(d.kind, DecisionKind::Noop);
    assert!(d.batch.is_none());
    assert_eq!(w.zone, zone);
    // The same for any command carrying a processed id.
    let d = w.run_with(&cfg, Action::Pause, Some("cmd-7"), MIN, false);
    assert_eq!(d.kind, DecisionKind::Paused);
    let zone = w.zone.clone();
    let d = w.run_with(&cfg, Action::Resume, Some("cmd-7"), MIN, false);
    assert_eq!(d.kind, DecisionKind::Noop);
    assert_eq!(w.zone, zone);
}

#[test]
fn drift_in_the_verify_window_holds_and_alerts() {
    let cfg = v22();
    let mut w = check_switch(
        &cfg,
        simple_zone(),
        &["a-payments.example.com", "aaaa-payments.example.com"],
        &[],
        &[],
    );
    w.change_status = Some(ChangeStatus::Insync);
    let i = w
        .zone
        .iter()
        .position(|r| r.name == dns("a-payments.example.com"))
        .unwrap();
    w.zone[i] = entry("a-payments.example.com", "blue");
    let d = w.run_with(&cfg, Action::Tick, None, MIN, false);
    assert_eq!(d.kind, DecisionKind::Hold, "{}", d.summary);
    assert!(d.summary.contains("drift"), "{}", d.summary);
    assert_eq!(state_of(&w).phase, Phase::Holding);
}

// ---------------------------------------------------------------------------------------------
// Refusals (both strategies share them)
// ---------------------------------------------------------------------------------------------

fn refused(w: &mut World, cfg: &Config, needle: &str) {
    let zone = w.zone.clone();
    let d = w.run_with(cfg, start(), None, 0, false);
    assert_eq!(d.kind, DecisionKind::Refused, "{}", d.summary);
    assert!(d.summary.contains(needle), "{}", d.summary);
    assert!(d.batch.is_none());
    assert_eq!(w.zone, zone);
}

fn canary_config() -> Config {
    Config::parse(&config_text(
        ("0.22", ""),
        ("0.22", ""),
        r#"steps = [{ percent = 100, bake = "1m" }]"#,
    ))
    .unwrap()
}

#[test]
fn refuses_same_owner_id() {
    // The config refuses it outright …
    let text = config_text(("0.22", ""), ("0.22", ""), BG_DEFAULTS)
        .replace("owner_id = \"green\"", "owner_id = \"blue\"");
    assert!(Config::parse(&text).is_err());
    // … and the zone shows it: blue's owner id on a record pointing at green's load balancer.
    let mut zone = simple_zone();
    for r in zone.iter_mut().filter(|r| r.alias.is_some()) {
        r.alias.as_mut().unwrap().dns_name = dns(GREEN_LB);
    }
    for cfg in [v22(), canary_config()] {
        let mut w = world(zone.clone());
        refused(&mut w, &cfg, "appears to run with the owner id \"blue\"");
    }
}

#[test]
fn refuses_to_ingress_not_asking_for_the_key() {
    let cfg = v22();
    let mut w = world(simple_zone());
    w.green_objects.clear();
    refused(
        &mut w,
        &cfg,
        "no Ingress or Service in cluster green asks for payments.example.com",
    );
    let mut w = world(simple_zone());
    w.green_objects = vec![ingress(
        "shop",
        "payments-v2",
        Some(GREEN_LB),
        &[(
            "external-dns.kubernetes.io/set-identifier",
            "payments-green",
        )],
    )];
    refused(&mut w, &cfg, "asks for a weighted key");
    let mut w = world(simple_zone());
    w.green_objects = vec![ingress("shop", "payments-v2", None, &[])];
    refused(&mut w, &cfg, "has no load-balancer status yet");
    let mut w = world(simple_zone());
    w.green = Some(Verdict::Bad);
    refused(&mut w, &cfg, "not healthy");
}

#[test]
fn refuses_a_third_owner() {
    for cfg in [v22(), canary_config()] {
        let mut w = world(simple_zone());
        w.zone[3] = entry("aaaa-payments.example.com", "red");
        refused(&mut w, &cfg, "third owner");
    }
}

#[test]
fn refuses_orphan_txt_and_records_without_txt() {
    for cfg in [v22(), canary_config()] {
        // A TXT entry without its record.
        let mut w = world(simple_zone());
        w.zone.remove(0); // the A record
        refused(&mut w, &cfg, "have no A record");
        // A record without TXT entry.
        let mut w = world(simple_zone());
        w.zone.remove(3); // aaaa-
        refused(
            &mut w,
            &cfg,
            "AAAA (no set identifier) has no external-dns TXT registry entry",
        );
    }
}

#[test]
fn refuses_simple_and_weighted_mixed() {
    for cfg in [v22(), canary_config()] {
        let mut zone = simple_zone();
        zone.extend(
            weighted_zone(0, 100)
                .into_iter()
                .filter(|r| r.set_identifier.as_ref().unwrap().as_str() == "payments-green"),
        );
        let mut w = world(zone);
        refused(&mut w, &cfg, "simple and weighted A/AAAA records mixed");
    }
}

#[test]
fn refuses_weighted_records_for_blue_green() {
    let mut w = world(weighted_zone(100, 0));
    refused(&mut w, &v22(), "use strategy canary");
}

#[test]
fn encrypted_entries_are_read_with_the_key_and_never_rewritten() {
    let key = EncryptionKey::parse("0123456789abcdef0123456789abcdef").unwrap();
    let sealed =
        |owner: &str| encrypt_labels(&Labels::new(owner, Some(BLUE_RES)), &key, [3u8; 12]).unwrap();
    for cfg in [v22(), canary_config()] {
        // Without the key: the owner is unknown.
        let mut zone = simple_zone();
        zone[2].values = vec![sealed("blue")];
        let mut w = world(zone.clone());
        refused(&mut w, &cfg, "no configured key opens it");
        // With the key: the owner is read, and the entry is still not rewritten.
        let c = cfg.clone();
        let svc = c.service(&name("payments")).unwrap();
        let mut view = world(zone.clone()).view();
        let keys = vec![key.clone()];
        let cmd = cutover_core::command::Command {
            action: start(),
            service: None,
            dry_run: false,
            actor: "alice".into(),
            reason: None,
            id: None,
            trigger: Default::default(),
        };
        let d = cutover_core::planner::decide_with_keys(&c, svc, &view, &cmd, 0, &keys);
        assert_eq!(d.kind, DecisionKind::Refused);
        assert!(
            d.summary.contains("is encrypted") && d.summary.contains("owner \"blue\""),
            "{}",
            d.summary
        );
        assert!(d.summary.contains("never rewrites"), "{}", d.summary);
        // An encrypted third owner is refused as a third owner.
        let mut zone3 = zone.clone();
        zone3[2].values = vec![sealed("red")];
        view.records = zone3;
        let d = cutover_core::planner::decide_with_keys(&c, svc, &view, &cmd, 0, &keys);
        assert!(d.summary.contains("third owner"), "{}", d.summary);
    }
}

// ---------------------------------------------------------------------------------------------
// Operator commands
// ---------------------------------------------------------------------------------------------

/// Runs `action` as a dry run, then for real: the dry run's batch is exactly what is then sent,
/// and the dry run changed nothing.
fn dry_then_real(
    w: &mut World,
    cfg: &Config,
    action: Action,
    now: i64,
) -> cutover_core::planner::Decision {
    let zone = w.zone.clone();
    let dry = w.run_with(cfg, action.clone(), None, now, true);
    assert_eq!(w.zone, zone, "a dry run changed the zone");
    let real = w.run_with(cfg, action, None, now, false);
    assert_eq!(dry.batch, real.batch);
    assert_eq!(dry.kind, real.kind);
    real
}

fn switched() -> (Config, World) {
    let cfg = v22();
    let w = check_switch(
        &cfg,
        simple_zone(),
        &["a-payments.example.com", "aaaa-payments.example.com"],
        &[],
        &[],
    );
    (cfg, w)
}

#[test]
fn command_start_dry_run_sends_nothing() {
    let cfg = v22();
    let mut w = world(simple_zone());
    let d = dry_then_real(&mut w, &cfg, start(), 0);
    assert_eq!(d.kind, DecisionKind::Start);
    // An explicit strategy in the event wins over the service's.
    let mut w = world(simple_zone());
    let d = w.run_with(
        &canary_config(),
        Action::Start {
            to: None,
            strategy: Some(Strategy::BlueGreen),
            version: None,
            wave: None,
        },
        None,
        0,
        false,
    );
    assert_eq!(d.kind, DecisionKind::Start);
    assert_eq!(state_of(&w).strategy, Strategy::BlueGreen);
}

#[test]
fn command_status_and_plan_write_nothing() {
    let (cfg, mut w) = switched();
    let zone = w.zone.clone();
    let d = w.run_with(&cfg, Action::Status, None, MIN, false);
    assert_eq!(w.zone, zone);
    assert_eq!(d.kind, DecisionKind::Status);
    assert!(
        d.summary.contains("verifying (blue-green): blue → green"),
        "{}",
        d.summary
    );
    assert!(d.batch.is_none());
    assert_eq!(d.weights_before.unwrap().to, Percent::FULL);
    assert_eq!(d.owners.get("simple").map(String::as_str), Some("green"));
    w.change_status = Some(ChangeStatus::Insync);
    // The tick that first sees INSYNC starts the window.
    w.run_with(&cfg, Action::Tick, None, MIN, false);
    let zone = w.zone.clone();
    let d = w.run_with(&cfg, Action::Plan, None, 12 * MIN, false);
    assert!(d.summary.starts_with("plan: completed"), "{}", d.summary);
    assert!(d.batch.is_some(), "plan shows the exact batch");
    assert_eq!(w.zone, zone);
}

#[test]
fn command_pause_resume() {
    let (cfg, mut w) = switched();
    w.change_status = Some(ChangeStatus::Insync);
    w.run_with(&cfg, Action::Tick, None, MIN, false);
    let d = dry_then_real(&mut w, &cfg, Action::Pause, MIN);
    assert_eq!(d.kind, DecisionKind::Paused);
    assert_eq!(state_of(&w).phase, Phase::Paused);
    // The state-only write leaves the switch's change id; GetChange of it stays INSYNC.
    w.change_status = Some(ChangeStatus::Insync);
    // Paused: the window does not complete.
    let d = w.run_with(&cfg, Action::Tick, None, 20 * MIN, false);
    assert_eq!(d.kind, DecisionKind::Hold, "{}", d.summary);
    let d = dry_then_real(&mut w, &cfg, Action::Resume, 21 * MIN);
    assert_eq!(d.kind, DecisionKind::Resumed);
    w.change_status = Some(ChangeStatus::Insync);
    assert_eq!(state_of(&w).phase, Phase::Verifying);
    let d = w.run_with(&cfg, Action::Tick, None, 22 * MIN, false);
    assert_eq!(d.kind, DecisionKind::Complete, "{}", d.summary);
}

#[test]
fn command_promote_and_promote_full_end_the_window_now() {
    for action in [Action::Promote, Action::PromoteFull] {
        let (cfg, mut w) = switched();
        // Not INSYNC: promote waits, writes nothing.
        let d = w.run_with(&cfg, action.clone(), None, MIN, false);
        assert_eq!(d.kind, DecisionKind::Wait, "{}", d.summary);
        w.change_status = Some(ChangeStatus::Insync);
        let d = dry_then_real(&mut w, &cfg, action, 2 * MIN);
        assert_eq!(d.kind, DecisionKind::Complete, "{}", d.summary);
        assert_eq!(state_of(&w).phase, Phase::Completed);
    }
}

#[test]
fn command_rollback_records_actor_and_reason() {
    let (cfg, mut w) = switched();
    let d = dry_then_real(&mut w, &cfg, Action::Rollback, MIN);
    assert_eq!(d.kind, DecisionKind::Rollback);
    let comment = d.batch.unwrap().comment.unwrap();
    assert!(
        comment.contains("rollback payments by alice: test"),
        "{comment}"
    );
    let st = state_of(&w);
    assert_eq!(
        (st.actor.as_str(), st.reason.as_deref()),
        ("alice", Some("test"))
    );
    assert_eq!(traffic(&w.zone), traffic(&simple_zone()));
    // Nothing left to roll back.
    let d = w.run_with(&cfg, Action::Rollback, None, 2 * MIN, false);
    assert_eq!(d.kind, DecisionKind::Refused);
}

#[test]
fn command_set_weight_is_refused_for_a_simple_record() {
    let (cfg, mut w) = switched();
    let zone = w.zone.clone();
    let d = w.run_with(
        &cfg,
        Action::SetWeight {
            percent: Percent::new(30).unwrap(),
        },
        None,
        MIN,
        true,
    );
    assert_eq!(d.kind, DecisionKind::Refused);
    assert!(d.summary.contains("no weight"), "{}", d.summary);
    assert_eq!(w.zone, zone);
}

#[test]
fn command_handover_completes_when_to_asks_for_the_key() {
    let (cfg, mut w) = switched();
    let keep = w.green_objects.clone();
    w.green_objects.clear();
    let d = w.run_with(&cfg, Action::Handover, None, MIN, false);
    assert_eq!(d.kind, DecisionKind::Refused, "{}", d.summary);
    w.green_objects = keep;
    let d = dry_then_real(&mut w, &cfg, Action::Handover, MIN);
    assert_eq!(d.kind, DecisionKind::Complete, "{}", d.summary);
}

#[test]
fn command_tick_without_migration_is_a_noop() {
    let cfg = v22();
    let mut w = world(simple_zone());
    let d = w.run_with(&cfg, Action::Tick, None, 0, false);
    assert_eq!(d.kind, DecisionKind::Noop);
    assert!(d.batch.is_none());
}

#[test]
fn restart_after_rollback_is_allowed() {
    let (cfg, mut w) = switched();
    w.run_with(&cfg, Action::Rollback, None, MIN, false);
    let d = w.run_with(&cfg, start(), None, 2 * MIN, false);
    assert_eq!(d.kind, DecisionKind::Start, "{}", d.summary);
}

// ---------------------------------------------------------------------------------------------
// A canary with one step of 100 is a weighted blue-green
// ---------------------------------------------------------------------------------------------

#[test]
fn canary_with_one_step_of_100_is_a_weighted_blue_green() {
    let cfg = canary_config();
    let mut w = World::simple();
    let d = w.run_with(&cfg, start(), None, 0, false);
    assert_eq!(d.kind, DecisionKind::Start, "{}", d.summary);
    assert_eq!(
        (w.weight("payments-blue"), w.weight("payments-green")),
        (Some(100), Some(0))
    );
    w.change_status = Some(ChangeStatus::Insync);
    w.run_with(&cfg, Action::Tick, None, MIN, false);
    let d = w.run_with(&cfg, Action::Tick, None, 3 * MIN, false);
    assert_eq!(d.kind, DecisionKind::Advance, "{}", d.summary);
    assert_eq!(
        (w.weight("payments-blue"), w.weight("payments-green")),
        (Some(0), Some(100))
    );
}

#[test]
fn switch_with_every_variant_of_two_namings_fits_the_state_record() {
    // blue v0.22 with a prefix, green v0.22 without: every variant under both namings is
    // present (upgrades and renames leave them behind); green's two names flip, the six others
    // are deleted, and the prior records still fit the state record's 4,000 characters.
    let cfg = bg_config(("0.22", r#"txt_prefix = "txt.""#), ("0.22", ""));
    let mut zone = vec![
        alias(RecordType::A, BLUE_LB, None, None),
        alias(RecordType::Aaaa, BLUE_LB, None, None),
    ];
    let names = [
        "txt.a-payments.example.com",
        "txt.aaaa-payments.example.com",
        "txt.cname-payments.example.com",
        "txt.payments.example.com",
        "a-payments.example.com",
        "aaaa-payments.example.com",
        "cname-payments.example.com",
        "payments.example.com",
    ];
    zone.extend(names.iter().map(|n| entry(n, "blue")));
    let w = check_switch(
        &cfg,
        zone,
        &["a-payments.example.com", "aaaa-payments.example.com"],
        &[],
        &[
            "txt.a-payments.example.com",
            "txt.aaaa-payments.example.com",
            "txt.cname-payments.example.com",
            "txt.payments.example.com",
            "cname-payments.example.com",
            "payments.example.com",
        ],
    );
    let st = state_of(&w);
    assert_eq!(st.prior.len(), 10);
    let record = state::find(&w.zone, &dns(STATE)).unwrap().record;
    let len = record.values[0].len();
    assert!(len <= 4000, "{len}");
}

#[test]
fn switch_to_v013_adds_old_format_and_rollback_removes_it() {
    // green v0.13 reads `cname-` then the old format for an A alias; blue v0.22 wrote `a-`:
    // the switch adds both variants green writes and deletes `a-` (green never deletes it); the
    // rollback removes the added ones again — including the old-format TXT that shares the
    // hostname — and brings `a-` back. green (v0.13) creates no AAAA alias, but the AAAA record
    // is there: its `aaaa-` entry (what a v0.13 would write for it) flips.
    let cfg = bg_config(("0.22", ""), ("0.13", ""));
    let original = simple_zone();
    let mut w = check_switch(
        &cfg,
        original.clone(),
        &["aaaa-payments.example.com"],
        &["payments.example.com", "cname-payments.example.com"],
        &["a-payments.example.com"],
    );
    let before = w.zone.clone();
    let d = w.run_with(&cfg, Action::Rollback, None, MIN, false);
    assert_eq!(d.kind, DecisionKind::Rollback, "{}", d.summary);
    validates(&before, &d);
    assert_eq!(traffic(&w.zone), traffic(&original));
}

#[test]
fn needs_of_a_blue_green_migration() {
    let (cfg, w) = switched();
    let svc = cfg.service(&name("payments")).unwrap();
    let cmd = |action: Action| cutover_core::command::Command {
        action,
        service: None,
        dry_run: false,
        actor: "alice".into(),
        reason: None,
        id: None,
        trigger: Default::default(),
    };
    // A tick in the verify window probes and lists Ingresses (a failure may roll back, and the
    // rollback asks whether `from` still claims the name).
    let n = cutover_core::planner::needs(&cfg, svc, &w.zone, &cmd(Action::Tick));
    assert!(n.probe && n.sources);
    assert_eq!(
        (n.change_id.as_deref(), n.change_tag.as_deref()),
        (None, Some("t1"))
    );
    // A manual rollback needs no probe; the Ingress listing only decides flip-back vs park.
    let n = cutover_core::planner::needs(&cfg, svc, &w.zone, &cmd(Action::Rollback));
    assert!(!n.probe && n.sources);
    let n = cutover_core::planner::needs(&cfg, svc, &w.zone, &cmd(Action::Pause));
    assert!(!n.probe && !n.sources);
}
