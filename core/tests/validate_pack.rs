//! Packing many services' batches into few requests: limits are never exceeded, a service's
//! batch is never split, and a batch too large alone is refused for that service.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use cutover_core::route53::model::{Action, Change, ChangeBatch, RecordSet, RecordType};
use cutover_core::route53::pack::{join_comments, pack, PackError, ServiceTag};
use cutover_core::route53::validate::{batch_cost, Cost, Limits};
use cutover_core::types::{DnsName, Name};
use proptest::prelude::*;

fn service(i: usize) -> ServiceTag {
    Name::new(&format!("svc-{i}")).unwrap()
}

/// A change with `values` values of `len` characters each.
fn change(action: Action, host: &str, values: usize, len: usize) -> Change {
    Change {
        action,
        record: RecordSet {
            name: DnsName::parse(host).unwrap(),
            rtype: RecordType::Txt,
            set_identifier: None,
            weight: None,
            ttl: Some(300),
            values: (0..values).map(|_| "x".repeat(len)).collect(),
            alias: None,
            health_check_id: None,
            other_policy: None,
        },
    }
}

fn batch(comment: Option<&str>, changes: Vec<Change>) -> ChangeBatch {
    ChangeBatch {
        comment: comment.map(str::to_string),
        changes,
    }
}

#[test]
fn small_batches_share_one_request_in_input_order() {
    let batches = (0..5)
        .map(|i| {
            (
                service(i),
                batch(
                    Some("tick"),
                    vec![change(Action::Create, &format!("h{i}.example.com"), 1, 10)],
                ),
            )
        })
        .collect();
    let packing = pack(batches, Limits::ROUTE53);
    assert!(packing.refused.is_empty());
    assert_eq!(packing.packed.len(), 1);
    let packed = &packing.packed[0];
    assert_eq!(
        packed.services().cloned().collect::<Vec<_>>(),
        (0..5).map(service).collect::<Vec<_>>()
    );
    assert_eq!(packed.batch.comment.as_deref(), Some("tick"));
    assert_eq!(
        packed.cost,
        Cost {
            records: 5,
            value_chars: 50
        }
    );
    let split = packed.split();
    assert_eq!(split.len(), 5);
    assert_eq!(split[3].0, service(3));
    assert_eq!(split[3].1.changes.len(), 1);
    assert_eq!(split[3].1.comment.as_deref(), Some("tick"));
}

#[test]
fn upserts_count_twice_when_packing() {
    // Two services of 300 UPSERTed records each: 1,200 counted, so two requests.
    let upserts = |i: usize| {
        (
            service(i),
            batch(
                None,
                (0..300)
                    .map(|j| change(Action::Upsert, &format!("h{i}-{j}.example.com"), 1, 1))
                    .collect(),
            ),
        )
    };
    let packing = pack(vec![upserts(0), upserts(1)], Limits::ROUTE53);
    assert_eq!(packing.packed.len(), 2);
    assert_eq!(packing.packed[0].cost.records, 600);
}

#[test]
fn a_batch_too_large_alone_is_refused_for_its_service_only() {
    let huge = batch(
        None,
        (0..9)
            .map(|j| change(Action::Create, &format!("h{j}.example.com"), 1, 4000))
            .collect(),
    );
    let small = batch(None, vec![change(Action::Create, "s.example.com", 1, 1)]);
    let packing = pack(
        vec![
            (service(0), huge),
            (service(1), small),
            (service(2), batch(None, vec![])),
        ],
        Limits::ROUTE53,
    );
    assert_eq!(packing.packed.len(), 1);
    assert_eq!(
        packing.packed[0].services().collect::<Vec<_>>(),
        [&service(1)]
    );
    assert_eq!(packing.refused.len(), 2);
    assert_eq!(
        packing.refused[0].to_string(),
        "the change batch of service svc-0 alone exceeds the limits of one Route53 request: 9 records (limit 1000), 36000 value characters (limit 32000), UPSERT counted twice"
    );
    assert_eq!(
        packing.refused[1],
        PackError::Empty {
            service: service(2)
        }
    );
}

#[test]
fn comments_are_joined_once_each_within_256_characters() {
    assert_eq!(
        join_comments(["a", "b", "a", ""].into_iter(), 256),
        Some("a; b".to_string())
    );
    assert_eq!(join_comments(std::iter::empty(), 256), None);
    let long = "x".repeat(200);
    let other = "y".repeat(200);
    let joined = join_comments([long.as_str(), other.as_str()].into_iter(), 256).unwrap();
    assert_eq!(joined.chars().count(), 256);
    assert!(joined.starts_with(&long));
    assert!(joined.ends_with('…'));
}

fn arb_batch(service_index: usize) -> impl Strategy<Value = (ServiceTag, ChangeBatch)> {
    let arb_change = (
        prop_oneof![
            Just(Action::Create),
            Just(Action::Delete),
            Just(Action::Upsert)
        ],
        1usize..4,
        0usize..60,
    );
    (
        prop::collection::vec(arb_change, 0..8),
        prop::option::of("[a-z ]{0,120}"),
    )
        .prop_map(move |(changes, comment)| {
            let changes = changes
                .into_iter()
                .enumerate()
                .map(|(j, (action, values, len))| {
                    change(
                        action,
                        &format!("h{service_index}-{j}.example.com"),
                        values,
                        len,
                    )
                })
                .collect();
            (service(service_index), ChangeBatch { comment, changes })
        })
}

fn arb_batches() -> impl Strategy<Value = Vec<(ServiceTag, ChangeBatch)>> {
    (0usize..25).prop_flat_map(|n| (0..n).map(arb_batch).collect::<Vec<_>>())
}

proptest! {
    #[test]
    fn pack_never_exceeds_limits_and_never_splits_a_service(
        batches in arb_batches(),
        max_records in 4usize..40,
        max_value_chars in 50usize..600,
    ) {
        let limits = Limits { max_records, max_value_chars, max_comment_chars: 256 };
        let packing = pack(batches.clone(), limits);

        for packed in &packing.packed {
            // Within the limits, by an independent count of the packed batch.
            let cost = batch_cost(&packed.batch);
            prop_assert_eq!(cost, packed.cost);
            prop_assert!(cost.records <= max_records && cost.value_chars <= max_value_chars);
            prop_assert!(packed.batch.comment.as_ref().map_or(0, |c| c.chars().count()) <= 256);
            prop_assert!(!packed.parts.is_empty());
        }
        // No two requests could have been one.
        for (i, a) in packing.packed.iter().enumerate() {
            for b in packing.packed.iter().skip(i + 1) {
                prop_assert!(!a.cost.plus(b.cost).fits(&limits));
            }
        }
        // Every service exactly once: whole, in its own order, in one request; or refused
        // because it is empty or too large alone.
        let mut placed = Vec::new();
        for packed in &packing.packed {
            for (service, part) in packed.split() {
                placed.push((service, part));
            }
        }
        for (service, original) in &batches {
            let here: Vec<_> = placed.iter().filter(|(s, _)| s == service).collect();
            let refused = packing.refused.iter().any(|e| match e {
                PackError::TooLarge { service: s, .. } | PackError::Empty { service: s } => s == service,
            });
            let should_refuse = original.changes.is_empty() || !batch_cost(original).fits(&limits);
            prop_assert_eq!(refused, should_refuse);
            if should_refuse {
                prop_assert!(here.is_empty());
            } else {
                prop_assert_eq!(here.len(), 1);
                prop_assert_eq!(&here[0].1, original);
            }
        }
        prop_assert_eq!(placed.len() + packing.refused.len(), batches.len());
    }
}
