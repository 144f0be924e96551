//! One test per rule of docs/reference/route53.md, positive and negative, with Route53's messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use cutover_core::route53::model::{
    Action, AliasTarget, Change, ChangeBatch, RecordSet, RecordType, RrKey,
};
use cutover_core::route53::validate::{validate_batch, Violation};
use cutover_core::route53::zone::ZoneSnapshot;
use cutover_core::types::{DnsName, SetIdentifier, Weight};

fn name(s: &str) -> DnsName {
    DnsName::parse(s).unwrap()
}

fn zone(records: Vec<RecordSet>) -> ZoneSnapshot {
    ZoneSnapshot::from_listing(name("example.com"), records).unwrap()
}

fn plain(n: &str, rtype: RecordType, ttl: u32, values: &[&str]) -> RecordSet {
    RecordSet {
        name: name(n),
        rtype,
        set_identifier: None,
        weight: None,
        ttl: Some(ttl),
        values: values.iter().map(|v| v.to_string()).collect(),
        alias: None,
        health_check_id: None,
        other_policy: None,
    }
}

fn a(n: &str, ip: &str) -> RecordSet {
    plain(n, RecordType::A, 60, &[ip])
}

fn weighted(mut r: RecordSet, set: &str, w: u8) -> RecordSet {
    r.set_identifier = Some(SetIdentifier::new(set).unwrap());
    r.weight = Some(Weight(w));
    r
}

fn alias(n: &str, rtype: RecordType, target: &str, zone_id: &str) -> RecordSet {
    RecordSet {
        name: name(n),
        rtype,
        set_identifier: None,
        weight: None,
        ttl: None,
        values: vec![],
        alias: Some(AliasTarget {
            hosted_zone_id: zone_id.to_string(),
            dns_name: name(target),
            evaluate_target_health: true,
        }),
        health_check_id: None,
        other_policy: None,
    }
}

const LB: &str = "k8s-default-app-123.us-east-1.elb.amazonaws.com";
const LB_ZONE: &str = "Z35SXDOTRQ7X7K";

fn change(action: Action, record: RecordSet) -> Change {
    Change { action, record }
}
fn create(r: RecordSet) -> Change {
    change(Action::Create, r)
}
fn delete(r: RecordSet) -> Change {
    change(Action::Delete, r)
}
fn upsert(r: RecordSet) -> Change {
    change(Action::Upsert, r)
}

fn batch(changes: Vec<Change>) -> ChangeBatch {
    ChangeBatch {
        comment: None,
        changes,
    }
}

/// The messages of every violation, in order.
fn messages(zone: &ZoneSnapshot, changes: Vec<Change>) -> Vec<String> {
    match validate_batch(zone, &batch(changes)) {
        Ok(()) => vec![],
        Err(v) => v.iter().map(|v| v.to_string()).collect(),
    }
}

fn assert_valid(zone: &ZoneSnapshot, changes: Vec<Change>) {
    assert_eq!(messages(zone, changes), Vec::<String>::new());
}

fn assert_one(zone: &ZoneSnapshot, changes: Vec<Change>, expected: &str) {
    assert_eq!(messages(zone, changes), vec![expected.to_string()]);
}

// ---- CREATE ---------------------------------------------------------------------------------

#[test]
fn create_of_an_existing_rrset_fails() {
    let z = zone(vec![a("x.example.com", "192.0.2.1")]);
    assert_one(
        &z,
        vec![create(a("x.example.com", "192.0.2.2"))],
        "Tried to create resource record set [name='x.example.com.', type='A'] but it already exists",
    );
    assert_valid(&z, vec![create(a("y.example.com", "192.0.2.2"))]);
}

#[test]
fn create_of_an_existing_weighted_rrset_names_the_set_identifier() {
    let z = zone(vec![weighted(a("x.example.com", "192.0.2.1"), "S", 1)]);
    assert_one(
        &z,
        vec![create(weighted(a("x.example.com", "192.0.2.2"), "S", 1))],
        "Tried to create resource record set [name='x.example.com.', type='A', set-identifier='S'] but it already exists",
    );
    assert_valid(
        &z,
        vec![create(weighted(a("x.example.com", "192.0.2.2"), "T", 1))],
    );
}

#[test]
fn create_twice_in_one_batch_fails_on_the_second() {
    let z = zone(vec![]);
    assert_one(
        &z,
        vec![
            create(a("x.example.com", "192.0.2.1")),
            create(a("x.example.com", "192.0.2.1")),
        ],
        "Tried to create resource record set [name='x.example.com.', type='A'] but it already exists",
    );
}

// ---- DELETE ---------------------------------------------------------------------------------

#[test]
fn delete_of_a_missing_rrset_fails() {
    let z = zone(vec![a("x.example.com", "192.0.2.1")]);
    assert_one(
        &z,
        vec![delete(a("y.example.com", "192.0.2.1"))],
        "Tried to delete resource record set [name='y.example.com.', type='A'] but it was not found",
    );
    assert_valid(&z, vec![delete(a("x.example.com", "192.0.2.1"))]);
}

#[test]
fn delete_must_carry_every_current_value() {
    let mut current = weighted(
        plain(
            "x.example.com",
            RecordType::A,
            60,
            &["192.0.2.1", "192.0.2.2"],
        ),
        "S",
        10,
    );
    current.health_check_id = Some("hc-1".to_string());
    let z = zone(vec![current.clone()]);
    let mismatch = "Tried to delete resource record set [name='x.example.com.', type='A', set-identifier='S'] but the values provided do not match the current values";

    let mut other_ttl = current.clone();
    other_ttl.ttl = Some(300);
    let mut fewer_values = current.clone();
    fewer_values.values.pop();
    let mut other_weight = current.clone();
    other_weight.weight = Some(Weight(11));
    let mut no_health_check = current.clone();
    no_health_check.health_check_id = None;
    for (given, field) in [
        (other_ttl, "ttl"),
        (fewer_values, "values"),
        (other_weight, "weight"),
        (no_health_check, "health check id"),
    ] {
        let result = validate_batch(&z, &batch(vec![delete(given)]));
        let violations = result.unwrap_err();
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].to_string(), mismatch);
        match &violations[0] {
            Violation::DeleteMismatch { fields, .. } => assert_eq!(fields, &vec![field]),
            other => panic!("unexpected {other:?}"),
        }
    }
    // Values are a set: their order does not matter.
    let mut reordered = current.clone();
    reordered.values.reverse();
    assert_valid(&z, vec![delete(reordered)]);
}

#[test]
fn delete_of_an_alias_compares_the_target_including_evaluate_target_health() {
    let current = weighted(alias("x.example.com", RecordType::A, LB, LB_ZONE), "S", 5);
    let z = zone(vec![current.clone()]);
    let mut no_eth = current.clone();
    if let Some(t) = no_eth.alias.as_mut() {
        t.evaluate_target_health = false;
    }
    assert_one(
        &z,
        vec![delete(no_eth)],
        "Tried to delete resource record set [name='x.example.com.', type='A', set-identifier='S'] but the values provided do not match the current values",
    );
    let mut other_lb = current.clone();
    if let Some(t) = other_lb.alias.as_mut() {
        t.dns_name = name("k8s-default-app-999.us-east-1.elb.amazonaws.com");
    }
    assert_eq!(messages(&z, vec![delete(other_lb)]).len(), 1);
    assert_valid(&z, vec![delete(current)]);
}

#[test]
fn delete_of_txt_compares_character_strings_not_spacing() {
    let current = plain("t.example.com", RecordType::Txt, 300, &["\"a\"\"b\""]);
    let z = zone(vec![current]);
    assert_valid(
        &z,
        vec![delete(plain(
            "t.example.com",
            RecordType::Txt,
            300,
            &["\"a\" \"b\""],
        ))],
    );
    assert_eq!(
        messages(
            &z,
            vec![delete(plain(
                "t.example.com",
                RecordType::Txt,
                300,
                &["\"ab\""]
            ))]
        )
        .len(),
        1
    );
}

#[test]
fn deleting_the_same_rrset_twice_in_one_batch_fails() {
    let z = zone(vec![a("x.example.com", "192.0.2.1")]);
    assert_one(
        &z,
        vec![
            delete(a("x.example.com", "192.0.2.1")),
            delete(a("x.example.com", "192.0.2.1")),
        ],
        "Tried to delete resource record set [name='x.example.com.', type='A'] twice in one batch",
    );
    // Stricter than needed: also when a CREATE between brought it back.
    assert_eq!(
        messages(
            &z,
            vec![
                delete(a("x.example.com", "192.0.2.1")),
                create(a("x.example.com", "192.0.2.1")),
                delete(a("x.example.com", "192.0.2.1")),
            ]
        ),
        vec!["Tried to delete resource record set [name='x.example.com.', type='A'] twice in one batch"]
    );
}

#[test]
fn delete_then_create_is_a_compare_and_swap() {
    let z = zone(vec![weighted(a("x.example.com", "192.0.2.1"), "S", 10)]);
    assert_valid(
        &z,
        vec![
            delete(weighted(a("x.example.com", "192.0.2.1"), "S", 10)),
            create(weighted(a("x.example.com", "192.0.2.1"), "S", 20)),
        ],
    );
    // A concurrent change (weight now 10, the plan assumed 9) fails the whole batch.
    assert_eq!(
        messages(
            &z,
            vec![
                delete(weighted(a("x.example.com", "192.0.2.1"), "S", 9)),
                create(weighted(a("x.example.com", "192.0.2.1"), "S", 20)),
            ]
        ),
        vec![
            "Tried to delete resource record set [name='x.example.com.', type='A', set-identifier='S'] but the values provided do not match the current values",
            "Tried to create resource record set [name='x.example.com.', type='A', set-identifier='S'] but it already exists",
        ]
    );
}

// ---- UPSERT ---------------------------------------------------------------------------------

#[test]
fn upsert_creates_or_replaces() {
    let z = zone(vec![a("x.example.com", "192.0.2.1")]);
    assert_valid(
        &z,
        vec![
            upsert(a("x.example.com", "192.0.2.9")),
            upsert(a("y.example.com", "192.0.2.9")),
        ],
    );
}

#[test]
fn upsert_cannot_change_the_routing_policy() {
    let mut failover = a("x.example.com", "192.0.2.1");
    failover.set_identifier = Some(SetIdentifier::new("S").unwrap());
    failover.other_policy = Some("failover".to_string());
    let z = zone(vec![failover]);
    assert_one(
        &z,
        vec![upsert(weighted(a("x.example.com", "192.0.2.1"), "S", 1))],
        "RRSet with DNS name x.example.com., type A, SetIdentifier S cannot change its routing policy by UPSERT.",
    );
    assert_one(
        &z,
        vec![create(weighted(a("x.example.com", "192.0.2.1"), "T", 1))],
        "RRSet with DNS name x.example.com., type A, SetIdentifier T cannot be created as RRSets of another routing policy exist with the same name and type.",
    );
}

#[test]
fn records_of_other_routing_policies_are_never_edited() {
    let mut latency = a("x.example.com", "192.0.2.1");
    latency.set_identifier = Some(SetIdentifier::new("S").unwrap());
    latency.other_policy = Some("latency".to_string());
    let z = zone(vec![latency.clone()]);
    let violations = validate_batch(&z, &batch(vec![delete(latency)])).unwrap_err();
    assert_eq!(
        violations[0].to_string(),
        "cutover does not edit [name='x.example.com.', type='A', set-identifier='S']: it uses the latency routing policy"
    );
    assert_eq!(violations[0].code(), "cutover");
}

// ---- simple vs weighted ---------------------------------------------------------------------

#[test]
fn weighted_create_while_a_simple_record_exists_fails() {
    let z = zone(vec![a("x.example.com", "192.0.2.1")]);
    assert_one(
        &z,
        vec![create(weighted(a("x.example.com", "192.0.2.2"), "S", 100))],
        "RRSet with DNS name x.example.com., type A, SetIdentifier S cannot be created as a non-weighted set exists with the same name and type.",
    );
}

#[test]
fn simple_create_or_upsert_while_weighted_records_exist_fails() {
    let z = zone(vec![weighted(a("x.example.com", "192.0.2.1"), "S", 100)]);
    let expected = "RRSet with DNS name x.example.com., type A cannot be created as other RRSets exist with the same name and type.";
    assert_one(&z, vec![create(a("x.example.com", "192.0.2.2"))], expected);
    assert_one(&z, vec![upsert(a("x.example.com", "192.0.2.2"))], expected);
    // Another type at the same name is fine.
    assert_valid(
        &z,
        vec![create(plain(
            "x.example.com",
            RecordType::Aaaa,
            60,
            &["2001:db8::1"],
        ))],
    );
}

#[test]
fn simple_to_weighted_switches_atomically_only_in_order() {
    let z = zone(vec![a("x.example.com", "192.0.2.1")]);
    assert_valid(
        &z,
        vec![
            delete(a("x.example.com", "192.0.2.1")),
            create(weighted(a("x.example.com", "192.0.2.1"), "from", 100)),
            create(weighted(a("x.example.com", "192.0.2.2"), "to", 0)),
        ],
    );
    assert_eq!(
        messages(
            &z,
            vec![
                create(weighted(a("x.example.com", "192.0.2.1"), "from", 100)),
                delete(a("x.example.com", "192.0.2.1")),
            ]
        ),
        vec!["RRSet with DNS name x.example.com., type A, SetIdentifier from cannot be created as a non-weighted set exists with the same name and type."]
    );
}

#[test]
fn weighted_to_simple_must_delete_every_member_first() {
    let z = zone(vec![
        weighted(a("x.example.com", "192.0.2.1"), "from", 100),
        weighted(a("x.example.com", "192.0.2.2"), "to", 0),
    ]);
    assert_one(
        &z,
        vec![
            delete(weighted(a("x.example.com", "192.0.2.2"), "to", 0)),
            create(a("x.example.com", "192.0.2.1")),
        ],
        "RRSet with DNS name x.example.com., type A cannot be created as other RRSets exist with the same name and type.",
    );
    assert_valid(
        &z,
        vec![
            delete(weighted(a("x.example.com", "192.0.2.2"), "to", 0)),
            delete(weighted(a("x.example.com", "192.0.2.1"), "from", 100)),
            create(a("x.example.com", "192.0.2.1")),
        ],
    );
}

// ---- CNAME ----------------------------------------------------------------------------------

#[test]
fn cname_excludes_other_types_both_ways() {
    let z = zone(vec![plain(
        "x.example.com",
        RecordType::Txt,
        300,
        &["\"state\""],
    )]);
    assert_one(
        &z,
        vec![create(plain("x.example.com", RecordType::Cname, 60, &["lb.example.net"]))],
        "RRSet of type CNAME with DNS name x.example.com. is not permitted as it conflicts with other records with the same DNS name in zone example.com.",
    );
    let z = zone(vec![plain(
        "c.example.com",
        RecordType::Cname,
        60,
        &["lb.example.net"],
    )]);
    assert_one(
        &z,
        vec![create(plain("c.example.com", RecordType::Txt, 300, &["\"state\""]))],
        "RRSet of type TXT with DNS name c.example.com. is not permitted as it conflicts with other records with the same DNS name in zone example.com.",
    );
    // The TXT state record at its own name is fine.
    assert_valid(
        &z,
        vec![create(plain(
            "_cutover.c.example.com",
            RecordType::Txt,
            300,
            &["\"state\""],
        ))],
    );
    // Weighted CNAME members share their name.
    let z = zone(vec![weighted(
        plain("w.example.com", RecordType::Cname, 60, &["a.example.net"]),
        "a",
        1,
    )]);
    assert_valid(
        &z,
        vec![create(weighted(
            plain("w.example.com", RecordType::Cname, 60, &["b.example.net"]),
            "b",
            1,
        ))],
    );
}

#[test]
fn no_cname_at_the_apex() {
    let z = zone(vec![]);
    assert_one(
        &z,
        vec![create(plain("example.com", RecordType::Cname, 60, &["lb.example.net"]))],
        "RRSet of type CNAME with DNS name example.com. is not permitted at apex in zone example.com.",
    );
    assert_valid(
        &z,
        vec![create(alias("example.com", RecordType::A, LB, LB_ZONE))],
    );
}

#[test]
fn cname_must_have_one_value() {
    let z = zone(vec![]);
    assert_one(
        &z,
        vec![create(plain("c.example.com", RecordType::Cname, 60, &["a.example.net", "b.example.net"]))],
        "Invalid Resource Record: [name='c.example.com.', type='CNAME'] of type CNAME must hold exactly one value, found 2",
    );
}

// ---- weighted groups ------------------------------------------------------------------------

#[test]
fn weighted_members_share_one_ttl_but_alias_members_have_none() {
    let z = zone(vec![weighted(a("x.example.com", "192.0.2.1"), "S", 1)]);
    assert_one(
        &z,
        vec![create(weighted(plain("x.example.com", RecordType::A, 300, &["192.0.2.2"]), "T", 1))],
        "RRSet with DNS name x.example.com. and type A, SetIdentifier T cannot be created as weighted sets must contain the same TTL.",
    );
    assert_valid(
        &z,
        vec![create(weighted(
            alias("x.example.com", RecordType::A, LB, LB_ZONE),
            "T",
            1,
        ))],
    );
}

#[test]
fn weight_and_set_identifier_come_together() {
    let z = zone(vec![]);
    let mut weight_only = a("x.example.com", "192.0.2.1");
    weight_only.weight = Some(Weight(5));
    assert_one(
        &z,
        vec![create(weight_only)],
        "Invalid request: a weighted record needs both Weight and SetIdentifier, but found only Weight in Change with [Action=CREATE, Name=x.example.com., Type=A, SetIdentifier=null]",
    );
    let mut id_only = a("x.example.com", "192.0.2.1");
    id_only.set_identifier = Some(SetIdentifier::new("S").unwrap());
    let violations = validate_batch(&z, &batch(vec![create(id_only)])).unwrap_err();
    assert_eq!(
        violations[0].to_string(),
        "Invalid request: a weighted record needs both Weight and SetIdentifier, but found only SetIdentifier in Change with [Action=CREATE, Name=x.example.com., Type=A, SetIdentifier=S]"
    );
    assert_eq!(violations[0].code(), "InvalidInput");
}

#[test]
fn at_most_100_weighted_records_per_name_and_type() {
    let members: Vec<RecordSet> = (0..99)
        .map(|i| weighted(a("x.example.com", "192.0.2.1"), &format!("m{i}"), 1))
        .collect();
    let z = zone(members);
    assert_valid(
        &z,
        vec![create(weighted(a("x.example.com", "192.0.2.1"), "m99", 1))],
    );
    assert_one(
        &z,
        vec![
            create(weighted(a("x.example.com", "192.0.2.1"), "m99", 1)),
            create(weighted(a("x.example.com", "192.0.2.1"), "m100", 1)),
        ],
        "RRSet with DNS name x.example.com. and type A, SetIdentifier m100 cannot be created as the limit of 100 weighted records per name and type would be exceeded.",
    );
}

// ---- alias ----------------------------------------------------------------------------------

#[test]
fn alias_xor_ttl_and_records() {
    let z = zone(vec![]);
    let mut both = alias("x.example.com", RecordType::A, LB, LB_ZONE);
    both.ttl = Some(60);
    let violations = validate_batch(&z, &batch(vec![create(both)])).unwrap_err();
    assert_eq!(
        violations[0].to_string(),
        "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one in Change with [Action=CREATE, Name=x.example.com., Type=A, SetIdentifier=null]"
    );
    assert_eq!(violations[0].code(), "InvalidInput");
    let mut none = a("x.example.com", "192.0.2.1");
    none.ttl = None;
    none.values.clear();
    assert_one(
        &z,
        vec![upsert(weighted(none, "S", 1))],
        "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=UPSERT, Name=x.example.com., Type=A, SetIdentifier=S]",
    );
    let mut ttl_only = a("x.example.com", "192.0.2.1");
    ttl_only.values.clear();
    assert_eq!(messages(&z, vec![create(ttl_only)]).len(), 1);
}

#[test]
fn alias_to_a_load_balancer_must_name_its_canonical_zone() {
    let z = zone(vec![]);
    let dualstack = "dualstack.lb.us-east-1.elb.amazonaws.com";
    assert_one(
        &z,
        vec![create(alias("x.example.com", RecordType::A, dualstack, "Z26RNL4JYFTOTI"))],
        "Tried to create an alias that targets dualstack.lb.us-east-1.elb.amazonaws.com., type A in zone Z26RNL4JYFTOTI, but the alias target name does not lie within the target zone",
    );
    assert_valid(
        &z,
        vec![create(alias(
            "x.example.com",
            RecordType::A,
            dualstack,
            LB_ZONE,
        ))],
    );
    let nlb = "k8s-app-abc.elb.eu-west-1.amazonaws.com";
    assert_valid(
        &z,
        vec![create(alias(
            "n.example.com",
            RecordType::Aaaa,
            nlb,
            "Z2IFOLAFXWLO4F",
        ))],
    );
    assert_eq!(
        messages(
            &z,
            vec![create(alias(
                "n.example.com",
                RecordType::A,
                nlb,
                "Z32O12XQLNTSW2"
            ))]
        )
        .len(),
        1,
        "the ALB zone of the region is wrong for an NLB"
    );
    // Aliases to other targets (CloudFront, records of a zone) are not checked offline.
    assert_valid(
        &z,
        vec![create(alias(
            "c.example.com",
            RecordType::A,
            "d111.cloudfront.net",
            "Z2FDTNDATAQYW2",
        ))],
    );
}

#[test]
fn alias_to_a_load_balancer_in_an_unknown_region_is_refused() {
    let z = zone(vec![]);
    let violations = validate_batch(
        &z,
        &batch(vec![create(alias(
            "x.example.com",
            RecordType::A,
            "lb-1.xx-nowhere-1.elb.amazonaws.com",
            LB_ZONE,
        ))]),
    )
    .unwrap_err();
    assert_eq!(
        violations[0].to_string(),
        "Tried to create an alias that targets lb-1.xx-nowhere-1.elb.amazonaws.com., type A in zone Z35SXDOTRQ7X7K, but region xx-nowhere-1 is not in the table of load balancer zones"
    );
}

// ---- TXT ------------------------------------------------------------------------------------

#[test]
fn txt_strings_must_be_quoted() {
    let z = zone(vec![]);
    assert_one(
        &z,
        vec![create(plain("t.example.com", RecordType::Txt, 300, &["heritage=external-dns"]))],
        "Invalid Resource Record: FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with 'heritage=external-dns' in [name='t.example.com.', type='TXT']",
    );
    assert_valid(
        &z,
        vec![create(plain(
            "t.example.com",
            RecordType::Txt,
            300,
            &["\"heritage=external-dns,external-dns/owner=blue,external-dns/resource=ingress/default/app\""],
        ))],
    );
    assert_valid(
        &z,
        vec![create(plain(
            "u.example.com",
            RecordType::Txt,
            300,
            &[r#""say \"hi\"" "\101""#],
        ))],
    );
}

#[test]
fn txt_strings_are_at_most_255_characters() {
    let z = zone(vec![]);
    let long = format!("\"{}\"", "x".repeat(256));
    assert_one(
        &z,
        vec![create(plain("t.example.com", RecordType::Txt, 300, &[&long]))],
        &format!("Invalid Resource Record: FATAL problem: CharacterStringTooLong (Value is too long) encountered with '{long}' in [name='t.example.com.', type='TXT']"),
    );
    let split = format!("\"{}\" \"{}\"", "x".repeat(255), "y");
    assert_valid(
        &z,
        vec![create(plain(
            "t.example.com",
            RecordType::Txt,
            300,
            &[&split],
        ))],
    );
}

#[test]
fn one_value_is_at_most_4000_characters() {
    let z = zone(vec![]);
    let string = format!("\"{}\"", "x".repeat(248)); // 250 characters
    let value_4000 = vec![string.clone(); 16].join("");
    assert_eq!(value_4000.len(), 4000);
    assert_valid(
        &z,
        vec![create(plain(
            "t.example.com",
            RecordType::Txt,
            300,
            &[&value_4000],
        ))],
    );
    let value_4001 = format!("{value_4000} ");
    assert_one(
        &z,
        vec![create(plain("t.example.com", RecordType::Txt, 300, &[&value_4001]))],
        "Invalid Resource Record: a Value of [name='t.example.com.', type='TXT'] is 4001 characters, more than 4,000",
    );
}

#[test]
fn a_and_aaaa_values_are_addresses() {
    let z = zone(vec![]);
    assert_one(
        &z,
        vec![create(a("x.example.com", "192.0.2.300"))],
        "Invalid Resource Record: FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '192.0.2.300' in [name='x.example.com.', type='A']",
    );
    assert_one(
        &z,
        vec![create(plain("x.example.com", RecordType::Aaaa, 60, &["192.0.2.1"]))],
        "Invalid Resource Record: FATAL problem: AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address) encountered with '192.0.2.1' in [name='x.example.com.', type='AAAA']",
    );
}

// ---- names ----------------------------------------------------------------------------------

#[test]
fn names_must_lie_within_the_zone() {
    let z = zone(vec![]);
    assert_one(
        &z,
        vec![create(a("x.example.org", "192.0.2.1"))],
        "RRSet with DNS name x.example.org. is not permitted in zone example.com.",
    );
    assert_one(
        &z,
        vec![create(a("badexample.com", "192.0.2.1"))],
        "RRSet with DNS name badexample.com. is not permitted in zone example.com.",
    );
    assert_valid(&z, vec![create(a("example.com", "192.0.2.1"))]);
}

#[test]
fn names_are_at_most_1024_characters_as_route53_writes_them() {
    let z = zone(vec![]);
    let label = "a".repeat(63);
    // 15 labels of 63 + dots + "example.com" = 15*64 + 11 = 971; add labels to cross 1,024.
    let base: Vec<&str> = std::iter::repeat_n(label.as_str(), 15).collect();
    let ok_name = format!("{}.{}.example.com", "b".repeat(50), base.join("."));
    assert_eq!(ok_name.len() + 1, 1023);
    assert_valid(&z, vec![create(a(&ok_name, "192.0.2.1"))]);
    let long_name = format!("{}.{}.example.com", "b".repeat(52), base.join("."));
    assert_eq!(
        messages(&z, vec![create(a(&long_name, "192.0.2.1"))]),
        vec![format!(
            "Invalid request: the name of [name='{long_name}.', type='A'] is 1025 characters as Route53 writes it, more than 1,024"
        )]
    );
}

// ---- the batch ------------------------------------------------------------------------------

#[test]
fn a_batch_holds_at_least_one_change() {
    let z = zone(vec![]);
    let violations = validate_batch(&z, &batch(vec![])).unwrap_err();
    assert_eq!(violations, vec![Violation::EmptyBatch]);
    assert_eq!(violations[0].code(), "InvalidInput");
}

#[test]
fn comment_is_at_most_256_characters() {
    let z = zone(vec![]);
    let mut b = batch(vec![create(a("x.example.com", "192.0.2.1"))]);
    b.comment = Some("é".repeat(256));
    assert_eq!(validate_batch(&z, &b), Ok(()));
    b.comment = Some("c".repeat(257));
    assert_eq!(
        validate_batch(&z, &b).unwrap_err()[0].to_string(),
        "Invalid request: the change batch comment is 257 characters, more than 256"
    );
}

#[test]
fn comment_holds_no_control_character() {
    let z = zone(vec![]);
    let mut b = batch(vec![create(a("x.example.com", "192.0.2.1"))]);
    b.comment = Some("cutover rollback by alice\r\nforged line".into());
    let violations = validate_batch(&z, &b).unwrap_err();
    assert_eq!(violations, vec![Violation::CommentControlCharacter(0x0d)]);
    assert_eq!(violations[0].code(), "InvalidInput");
    b.comment = Some("tab\tinside".into());
    assert!(validate_batch(&z, &b).is_err());
}

fn creates(n: usize) -> Vec<Change> {
    (0..n)
        .map(|i| create(a(&format!("h{i}.example.com"), "192.0.2.1")))
        .collect()
}

#[test]
fn at_most_1000_records_per_batch_with_upsert_counted_twice() {
    let z = zone(vec![]);
    assert_valid(&z, creates(1000));
    assert_eq!(
        messages(&z, creates(1001)),
        vec!["Number of records limit of 1000 exceeded: the batch counts 1001 ResourceRecord elements (UPSERT counts twice)"]
    );
    let upserts = |n: usize| -> Vec<Change> {
        (0..n)
            .map(|i| upsert(a(&format!("h{i}.example.com"), "192.0.2.1")))
            .collect()
    };
    assert_valid(&z, upserts(500));
    assert_eq!(messages(&z, upserts(501)).len(), 1);
    // Every value counts; an alias counts one.
    let mut many = creates(998);
    many.push(create(plain(
        "m.example.com",
        RecordType::A,
        60,
        &["192.0.2.1", "192.0.2.2"],
    )));
    assert_valid(&z, many.clone());
    many.push(create(alias("al.example.com", RecordType::A, LB, LB_ZONE)));
    assert_eq!(messages(&z, many).len(), 1);
}

#[test]
fn at_most_32000_value_characters_per_batch_with_upsert_counted_twice() {
    let z = zone(vec![]);
    let big = |i: usize, len: usize, action: Action| {
        change(
            action,
            plain(
                &format!("c{i}.example.com"),
                RecordType::Cname,
                60,
                &[&"x".repeat(len)],
            ),
        )
    };
    let mut changes: Vec<Change> = (0..8).map(|i| big(i, 4000, Action::Create)).collect();
    assert_valid(&z, changes.clone());
    changes.push(big(8, 1, Action::Create));
    assert_eq!(
        messages(&z, changes),
        vec!["Number of characters in all Value elements limit of 32000 exceeded: the batch counts 32001 (UPSERT counts twice)"]
    );
    let upserts: Vec<Change> = (0..5).map(|i| big(i, 4000, Action::Upsert)).collect();
    assert_eq!(messages(&z, upserts).len(), 1, "5 × 4,000 × 2 = 40,000");
}

#[test]
fn all_violations_of_a_batch_are_collected_in_order() {
    let z = zone(vec![a("x.example.com", "192.0.2.1")]);
    assert_eq!(
        messages(
            &z,
            vec![
                create(a("x.example.com", "192.0.2.1")),
                create(a("ok.example.com", "192.0.2.1")),
                delete(a("y.example.com", "192.0.2.1")),
            ]
        ),
        vec![
            "Tried to create resource record set [name='x.example.com.', type='A'] but it already exists",
            "Tried to delete resource record set [name='y.example.com.', type='A'] but it was not found",
        ]
    );
}

#[test]
fn try_apply_is_all_or_nothing() {
    let mut z = zone(vec![a("x.example.com", "192.0.2.1")]);
    let before = z.clone();
    let bad = batch(vec![
        create(a("new.example.com", "192.0.2.1")),
        create(a("x.example.com", "192.0.2.1")),
    ]);
    assert!(z.try_apply(&bad).is_err());
    assert_eq!(z, before);
    let good = batch(vec![create(a("new.example.com", "192.0.2.1"))]);
    assert_eq!(z.try_apply(&good), Ok(()));
    assert!(z.contains(&RrKey {
        name: name("new.example.com"),
        rtype: RecordType::A,
        set_identifier: None,
    }));
}
