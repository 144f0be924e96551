//! cutover's own invariants (docs/design.md §7.1, §7.4) and properties of validate + apply.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::collections::{BTreeMap, BTreeSet};

use cutover_core::route53::model::{
    Action, AliasTarget, Change, ChangeBatch, RecordSet, RecordType,
};
use cutover_core::route53::validate::{check_invariants, validate_batch, InvariantScope};
use cutover_core::route53::zone::ZoneSnapshot;
use cutover_core::types::{DnsName, SetIdentifier, Weight};
use proptest::prelude::*;

fn name(s: &str) -> DnsName {
    DnsName::parse(s).unwrap()
}

const LB_FROM: &str = "k8s-from-1.us-east-1.elb.amazonaws.com";
const LB_TO: &str = "k8s-to-2.us-east-1.elb.amazonaws.com";
const LB_ZONE: &str = "Z35SXDOTRQ7X7K";

fn alias_member(host: &str, rtype: RecordType, set: &str, weight: u8, lb: &str) -> RecordSet {
    RecordSet {
        name: name(host),
        rtype,
        set_identifier: Some(SetIdentifier::new(set).unwrap()),
        weight: Some(Weight(weight)),
        ttl: None,
        values: vec![],
        alias: Some(AliasTarget {
            hosted_zone_id: LB_ZONE.to_string(),
            dns_name: name(lb),
            evaluate_target_health: true,
        }),
        health_check_id: None,
        other_policy: None,
    }
}

fn registry_txt(txt_name: &str, set: Option<&str>, weight: Option<u8>, owner: &str) -> RecordSet {
    RecordSet {
        name: name(txt_name),
        rtype: RecordType::Txt,
        set_identifier: set.map(|s| SetIdentifier::new(s).unwrap()),
        weight: weight.map(Weight),
        ttl: Some(300),
        values: vec![format!(
            "\"heritage=external-dns,external-dns/owner={owner},external-dns/resource=ingress/default/app\""
        )],
        alias: None,
        health_check_id: None,
        other_policy: None,
    }
}

/// The records of one weighted key: A and AAAA aliases and their two typed TXT entries.
fn key_records(host: &str, set: &str, weight: u8, lb: &str) -> Vec<RecordSet> {
    vec![
        alias_member(host, RecordType::A, set, weight, lb),
        alias_member(host, RecordType::Aaaa, set, weight, lb),
        registry_txt(&format!("a-{host}"), Some(set), Some(weight), "cutover"),
        registry_txt(&format!("aaaa-{host}"), Some(set), Some(weight), "cutover"),
    ]
}

fn scope_for(hosts: &[&str]) -> InvariantScope {
    InvariantScope {
        may_empty: BTreeSet::new(),
        registry_names: hosts
            .iter()
            .map(|h| {
                (
                    name(h),
                    vec![name(&format!("a-{h}")), name(&format!("aaaa-{h}"))],
                )
            })
            .collect(),
    }
}

fn zone(records: Vec<RecordSet>) -> ZoneSnapshot {
    ZoneSnapshot::from_listing(name("example.com"), records).unwrap()
}

/// DELETE every record of the key as it is, CREATE it again at `weight`.
fn reweigh(zone: &ZoneSnapshot, host: &str, set: &str, weight: u8) -> Vec<Change> {
    let set_id = SetIdentifier::new(set).unwrap();
    let current: Vec<RecordSet> = zone
        .iter()
        .filter(|r| {
            r.set_identifier.as_ref() == Some(&set_id)
                && (r.name.as_str() == host || r.name.as_str().ends_with(&format!("-{host}")))
        })
        .cloned()
        .collect();
    let mut changes: Vec<Change> = current
        .iter()
        .map(|r| Change {
            action: Action::Delete,
            record: r.clone(),
        })
        .collect();
    changes.extend(current.into_iter().map(|mut r| {
        r.weight = Some(Weight(weight));
        Change {
            action: Action::Create,
            record: r,
        }
    }));
    changes
}

fn after(zone: &ZoneSnapshot, changes: &[Change]) -> ZoneSnapshot {
    let batch = ChangeBatch {
        comment: None,
        changes: changes.to_vec(),
    };
    validate_batch(zone, &batch).expect("a valid batch");
    let mut next = zone.clone();
    next.apply(&batch);
    next
}

fn canary_zone(host: &str, from_weight: u8) -> ZoneSnapshot {
    let mut records = key_records(host, "from", from_weight, LB_FROM);
    records.extend(key_records(host, "to", 100 - from_weight, LB_TO));
    zone(records)
}

fn strings(v: Vec<cutover_core::route53::validate::InvariantViolation>) -> Vec<String> {
    v.iter().map(|v| v.to_string()).collect()
}

#[test]
fn a_weighted_group_must_not_end_all_zero() {
    let before = canary_zone("app.example.com", 100);
    let next = after(&before, &reweigh(&before, "app.example.com", "from", 0));
    assert_eq!(
        strings(check_invariants(&before, &next, &scope_for(&["app.example.com"]))),
        [
            "every weight of the weighted group [name='app.example.com.', type='A'] would be 0, which Route53 answers as an even split",
            "every weight of the weighted group [name='app.example.com.', type='AAAA'] would be 0, which Route53 answers as an even split",
        ]
    );
    let next = after(&before, &reweigh(&before, "app.example.com", "from", 90));
    assert_eq!(
        check_invariants(&before, &next, &scope_for(&["app.example.com"])),
        vec![]
    );
}

#[test]
fn untouched_groups_elsewhere_are_not_judged() {
    let mut records = key_records("other.example.com", "x", 0, LB_FROM);
    records.extend(key_records("app.example.com", "from", 100, LB_FROM));
    let before = zone(records);
    let next = after(&before, &reweigh(&before, "app.example.com", "from", 50));
    assert_eq!(
        check_invariants(&before, &next, &InvariantScope::default()),
        vec![]
    );
}

#[test]
fn the_last_record_of_a_name_and_type_is_kept_unless_intended() {
    let before = zone(key_records("app.example.com", "from", 100, LB_FROM));
    let deletes: Vec<Change> = before
        .iter()
        .map(|r| Change {
            action: Action::Delete,
            record: r.clone(),
        })
        .collect();
    let next = after(&before, &deletes);
    let found = strings(check_invariants(&before, &next, &InvariantScope::default()));
    assert_eq!(found.len(), 4);
    assert!(found.contains(
        &"the batch removes the last record of [name='app.example.com.', type='A']".to_string()
    ));
    let intended = InvariantScope {
        may_empty: [
            "app.example.com",
            "a-app.example.com",
            "aaaa-app.example.com",
        ]
        .into_iter()
        .map(name)
        .collect(),
        registry_names: BTreeMap::new(),
    };
    assert_eq!(check_invariants(&before, &next, &intended), vec![]);
}

#[test]
fn a_and_aaaa_and_their_txt_entries_carry_one_weight() {
    let before = canary_zone("app.example.com", 100);
    // Reweigh only the A record: AAAA and both TXT entries stay at 100.
    let a_only: Vec<Change> = reweigh(&before, "app.example.com", "from", 40)
        .into_iter()
        .filter(|c| c.record.rtype == RecordType::A)
        .collect();
    let next = after(&before, &a_only);
    let found = strings(check_invariants(
        &before,
        &next,
        &scope_for(&["app.example.com"]),
    ));
    assert!(found.contains(&"[name='app.example.com.', type='A', set-identifier='from'] has weight 40 but [name='app.example.com.', type='AAAA', set-identifier='from'] of the same key has weight 100".to_string()), "{found:?}");
    assert!(found.contains(&"[name='app.example.com.', type='A', set-identifier='from'] has weight 40 but [name='a-app.example.com.', type='TXT', set-identifier='from'] of the same key has weight 100".to_string()), "{found:?}");
    // Without the registry names only A/AAAA can be compared.
    let found = check_invariants(&before, &next, &InvariantScope::default());
    assert_eq!(found.len(), 1);
}

#[test]
fn registry_txt_has_ttl_300() {
    let before = zone(vec![]);
    let mut txt = registry_txt("a-app.example.com", None, None, "blue");
    txt.ttl = Some(60);
    let mut state = registry_txt("_cutover.app.example.com", None, None, "x");
    state.values = vec!["\"v1;phase=idle\"".to_string()];
    state.ttl = Some(60);
    let next = after(
        &before,
        &[
            Change {
                action: Action::Create,
                record: txt,
            },
            Change {
                action: Action::Create,
                record: state,
            },
        ],
    );
    assert_eq!(
        strings(check_invariants(&before, &next, &InvariantScope::default())),
        ["TXT registry entry [name='a-app.example.com.', type='TXT'] has TTL 60, not 300"]
    );
}

#[test]
fn a_weighted_member_holds_one_value() {
    let before = zone(vec![]);
    let mut two = registry_txt("a-app.example.com", Some("from"), Some(100), "cutover");
    two.values.push("\"second\"".to_string());
    let next = after(
        &before,
        &[Change {
            action: Action::Create,
            record: two,
        }],
    );
    assert_eq!(
        strings(check_invariants(&before, &next, &InvariantScope::default())),
        ["weighted record [name='a-app.example.com.', type='TXT', set-identifier='from'] holds 2 values; a weighted member holds one"]
    );
}

#[test]
fn the_atomic_simple_to_weighted_start_is_valid_and_keeps_the_invariants() {
    let host = "app.example.com";
    let simple = |rtype: RecordType| {
        let mut r = alias_member(host, rtype, "x", 1, LB_FROM);
        r.set_identifier = None;
        r.weight = None;
        r
    };
    let before = zone(vec![
        simple(RecordType::A),
        simple(RecordType::Aaaa),
        registry_txt("a-app.example.com", None, None, "blue"),
        registry_txt("aaaa-app.example.com", None, None, "blue"),
    ]);
    let mut changes: Vec<Change> = before
        .iter()
        .map(|r| Change {
            action: Action::Delete,
            record: r.clone(),
        })
        .collect();
    let mut state = registry_txt("_cutover.app.example.com", None, None, "x");
    state.values = vec!["\"v1\" \"phase=canary\"".to_string()];
    changes.extend(
        key_records(host, "app-blue", 100, LB_FROM)
            .into_iter()
            .chain(key_records(host, "app-green", 0, LB_TO))
            .chain([state])
            .map(|record| Change {
                action: Action::Create,
                record,
            }),
    );
    let next = after(&before, &changes);
    assert_eq!(next.weighted_group(&name(host), &RecordType::A).len(), 2);
    assert_eq!(
        check_invariants(&before, &next, &scope_for(&[host])),
        vec![]
    );
}

// ---- properties -----------------------------------------------------------------------------

proptest! {
    /// A canary step as the planner writes it (DELETE every record of both keys exactly as
    /// listed, CREATE them at p and 100 − p) is valid, and the zone it leaves keeps every
    /// invariant as long as one side is above 0.
    #[test]
    fn canary_steps_are_valid_and_keep_the_invariants(
        services in prop::collection::vec((0u8..=100, 0u8..=100), 1..6),
    ) {
        let hosts: Vec<String> = (0..services.len()).map(|i| format!("app{i}.example.com")).collect();
        let mut records = Vec::new();
        for (host, (start, _)) in hosts.iter().zip(&services) {
            records.extend(key_records(host, "from", 100 - start, LB_FROM));
            records.extend(key_records(host, "to", *start, LB_TO));
        }
        let before = zone(records);
        let mut changes = Vec::new();
        for (host, (_, next)) in hosts.iter().zip(&services) {
            changes.extend(reweigh(&before, host, "from", 100 - next));
            changes.extend(reweigh(&before, host, "to", *next));
        }
        let next = after(&before, &changes);
        let host_refs: Vec<&str> = hosts.iter().map(String::as_str).collect();
        prop_assert_eq!(check_invariants(&before, &next, &scope_for(&host_refs)), vec![]);
    }
}

/// Route53's zone-wide rules, checked independently of the validator's code: one simple record
/// or only weighted members per name and type, one TTL per weighted group, at most 100 members,
/// a CNAME alone at its name and never at the apex.
fn zone_rule_breaks(zone: &ZoneSnapshot) -> Vec<String> {
    let mut breaks = Vec::new();
    let mut groups: BTreeMap<(DnsName, RecordType), Vec<&RecordSet>> = BTreeMap::new();
    let mut types_at: BTreeMap<DnsName, BTreeSet<RecordType>> = BTreeMap::new();
    for r in zone.iter() {
        groups
            .entry((r.name.clone(), r.rtype.clone()))
            .or_default()
            .push(r);
        types_at
            .entry(r.name.clone())
            .or_default()
            .insert(r.rtype.clone());
    }
    for ((n, t), members) in &groups {
        let simple = members
            .iter()
            .filter(|r| r.set_identifier.is_none())
            .count();
        if simple > 0 && members.len() > 1 {
            breaks.push(format!("{n} {t}: simple beside others"));
        }
        let ttls: BTreeSet<u32> = members.iter().filter_map(|r| r.ttl).collect();
        if simple == 0 && ttls.len() > 1 {
            breaks.push(format!("{n} {t}: weighted TTLs differ"));
        }
        if members.len() > 100 {
            breaks.push(format!("{n} {t}: more than 100"));
        }
    }
    for (n, types) in &types_at {
        if types.contains(&RecordType::Cname) && (types.len() > 1 || *n == zone.zone_name) {
            breaks.push(format!("{n}: CNAME conflict"));
        }
    }
    breaks
}

fn arb_record() -> impl Strategy<Value = RecordSet> {
    (
        prop::sample::select(vec!["example.com", "x.example.com", "y.example.com"]),
        prop::sample::select(vec![RecordType::A, RecordType::Cname, RecordType::Txt]),
        prop::option::of((prop::sample::select(vec!["s1", "s2"]), 0u8..3)),
        prop::sample::select(vec![60u32, 300]),
        any::<bool>(),
    )
        .prop_map(|(n, rtype, policy, ttl, alt)| {
            let value = match (&rtype, alt) {
                (RecordType::A, false) => "192.0.2.1",
                (RecordType::A, true) => "192.0.2.2",
                (RecordType::Cname, false) => "a.example.net",
                (RecordType::Cname, true) => "b.example.net",
                (_, false) => "\"one\"",
                (_, true) => "\"two\"",
            };
            RecordSet {
                name: name(n),
                rtype,
                set_identifier: policy.map(|(s, _)| SetIdentifier::new(s).unwrap()),
                weight: policy.map(|(_, w)| Weight(w)),
                ttl: Some(ttl),
                values: vec![value.to_string()],
                alias: None,
                health_check_id: None,
                other_policy: None,
            }
        })
}

fn arb_batch() -> impl Strategy<Value = ChangeBatch> {
    prop::collection::vec(
        (
            prop::sample::select(vec![Action::Create, Action::Delete, Action::Upsert]),
            arb_record(),
        ),
        1..5,
    )
    .prop_map(|changes| ChangeBatch {
        comment: None,
        changes: changes
            .into_iter()
            .map(|(action, record)| Change { action, record })
            .collect(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Applying only batches the validator accepts never breaks Route53's zone-wide rules, and
    /// a refused batch leaves the zone untouched.
    #[test]
    fn accepted_batches_keep_the_zone_consistent(batches in prop::collection::vec(arb_batch(), 1..30)) {
        let mut zone = ZoneSnapshot::new(name("example.com"));
        for batch in &batches {
            let before = zone.clone();
            match zone.try_apply(batch) {
                Ok(()) => {}
                Err(violations) => {
                    prop_assert!(!violations.is_empty());
                    prop_assert_eq!(&zone, &before);
                }
            }
            let breaks = zone_rule_breaks(&zone);
            prop_assert!(breaks.is_empty(), "{:?} after {:?}", breaks, batch);
        }
    }

    /// A DELETE built from the current listing is always accepted: the compare-and-swap the
    /// planner relies on.
    #[test]
    fn deletes_built_from_the_listing_are_accepted(batches in prop::collection::vec(arb_batch(), 1..20)) {
        let mut zone = ZoneSnapshot::new(name("example.com"));
        for batch in &batches {
            let _ = zone.try_apply(batch);
        }
        for record in zone.iter() {
            let delete = ChangeBatch {
                comment: None,
                changes: vec![Change { action: Action::Delete, record: record.clone() }],
            };
            prop_assert_eq!(validate_batch(&zone, &delete), Ok(()));
        }
    }
}
