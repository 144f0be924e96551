//! End to end on the sandbox, both external-dns simulators running with `--policy=sync`:
//! three services — one simple record, two already weighted by hand — go 0 → 5 → 25 → 50 → 100 %
//! and complete, with the zone checked against docs/design.md §7 at every committed state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sandbox::route53::Rrset;
use sandbox::world::World;
use serde_json::Value;
use support::{records_at, service_report, Harness, FAST_ROLLOUT};

const SERVICES: [&str; 3] = ["payments", "checkout", "search"];

async fn three_services() -> Harness {
    let h = Harness::start(
        World::default_world(),
        &[
            ("payments", "blue", "green"),
            ("checkout", "blue", "green"),
            ("search", "blue", "green"),
        ],
        FAST_ROLLOUT,
    )
    .await;
    // payments is deployed on green too, asking for the same (simple) key: green's external-dns
    // sees blue owns it and skips it.
    h.deploy_ingress("green", "payments");
    let reports = h.external_dns().await;
    for (cluster, r) in &reports {
        assert!(r.failed.is_empty(), "{cluster}: {:?}", r.failed);
    }
    h
}

fn percent(report: &Value, key: &str) -> Option<u64> {
    report.get(key)?.get("to")?.as_u64()
}

fn kind(report: &Value) -> String {
    report
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn txt_owner(r: &Rrset) -> Option<String> {
    let value = r.records.first()?;
    let start = value.find("external-dns/owner=")? + "external-dns/owner=".len();
    let rest = &value[start..];
    let end = rest.find([',', '"']).unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// docs/design.md §7.1 and §7.4 on one committed state of the zone, for the given hostnames.
fn check_invariants(records: &[Rrset], hosts: &[String], context: &str) {
    for host in hosts {
        for rtype in ["A", "AAAA"] {
            let members: Vec<&Rrset> = records_at(records, host)
                .into_iter()
                .filter(|r| r.rtype == rtype)
                .collect();
            // docs/design.md §7.1: the name never loses its last answer.
            assert!(
                !members.is_empty(),
                "{context}: {host} {rtype} has no record"
            );
            let weighted: Vec<&Rrset> = members
                .iter()
                .copied()
                .filter(|r| r.weight.is_some())
                .collect();
            if !weighted.is_empty() {
                // Never simple and weighted together, never all weights 0.
                assert_eq!(
                    weighted.len(),
                    members.len(),
                    "{context}: {host} {rtype} mixes simple and weighted"
                );
                assert!(
                    weighted.iter().any(|r| r.weight != Some(0)),
                    "{context}: {host} {rtype} has all weights 0 (an even split)"
                );
            }
        }
        // docs/design.md §7.4: A and AAAA of a key carry the same weight.
        let a: BTreeMap<Option<String>, Option<i64>> = records_at(records, host)
            .into_iter()
            .filter(|r| r.rtype == "A")
            .map(|r| (r.set_identifier.clone(), r.weight))
            .collect();
        let aaaa: BTreeMap<Option<String>, Option<i64>> = records_at(records, host)
            .into_iter()
            .filter(|r| r.rtype == "AAAA")
            .map(|r| (r.set_identifier.clone(), r.weight))
            .collect();
        assert_eq!(a, aaaa, "{context}: {host} A and AAAA disagree");
        // Each TXT registry entry of the host carries its record's weight and TTL 300.
        for prefix in ["a-", "aaaa-", "cname-"] {
            for txt in records_at(records, &format!("{prefix}{host}")) {
                assert_eq!(txt.ttl, Some(300), "{context}: {} TTL", txt.name);
                let record_weight = a.get(&txt.set_identifier).copied().flatten();
                assert_eq!(
                    txt.weight, record_weight,
                    "{context}: {} weight differs from its record",
                    txt.name
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_services_go_to_100_percent_and_hand_over() {
    let h = three_services().await;
    let hosts: Vec<String> = SERVICES
        .iter()
        .map(|s| format!("{s}.example.com"))
        .collect();
    let history_start = h.sandbox.route53().history().len();

    // CI publishes the deploy events.
    for (i, service) in SERVICES.iter().enumerate() {
        let report = h.deploy_event(&format!("msg-{i}"), service, "green").await;
        let entry = service_report(&report, service).unwrap_or_else(|| panic!("{report:#}"));
        assert_eq!(kind(&entry), "start", "{service}: {entry:#}");
        assert_eq!(entry["applied"], true, "{service}: {entry:#}");
    }
    // A second delivery of the same message changes nothing.
    let changes_before = h.sandbox.route53().history().len();
    let replay = h.deploy_event("msg-0", "payments", "green").await;
    assert_eq!(
        h.sandbox.route53().history().len(),
        changes_before,
        "{replay:#}"
    );

    // The team follows status's advice for the simple record: both Ingresses name their
    // weighted key (parked keys are skipped by both external-dns instances).
    h.name_weighted_keys("payments", "blue", "green");

    let mut seen: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    let mut completed: BTreeSet<&str> = BTreeSet::new();
    let mut team_acted = false;
    for tick in 0..60 {
        h.advance(Duration::from_secs(60));
        for (cluster, r) in h.external_dns().await {
            assert!(
                r.failed.is_empty(),
                "tick {tick}: {cluster} failed a batch: {:?}",
                r.failed
            );
            for host in &hosts {
                assert!(
                    !r.updated
                        .iter()
                        .any(|u| u.name.trim_end_matches('.') == host.as_str()),
                    "tick {tick}: {cluster} reverted {host}: {:?}",
                    r.updated
                );
            }
        }
        let report = h.tick().await;
        for service in SERVICES {
            let Some(entry) = service_report(&report, service) else {
                continue;
            };
            assert!(entry.get("error").is_none(), "tick {tick}: {entry:#}");
            if let Some(p) = percent(&entry, "weights_after").or(percent(&entry, "weights_before"))
            {
                seen.entry(service).or_default().insert(p);
            }
            if kind(&entry) == "complete" {
                completed.insert(service);
            }
        }
        let all_at_100 = SERVICES
            .iter()
            .all(|s| seen.get(s).is_some_and(|p| p.contains(&100)));
        if all_at_100 && !team_acted {
            // The team finishes as cutover's report says: green asks for its key with a weight,
            // blue's Ingress goes away.
            for service in SERVICES {
                h.annotate("green", service, &[("aws-weight", "100")]);
                h.remove_ingress("blue", service);
            }
            team_acted = true;
        }
        if completed.len() == SERVICES.len() {
            break;
        }
    }
    for service in SERVICES {
        let steps = seen.get(service).cloned().unwrap_or_default();
        for p in [5, 25, 50, 100] {
            assert!(
                steps.contains(&p),
                "{service} never reached {p} %: {steps:?}"
            );
        }
    }
    assert_eq!(
        completed.len(),
        3,
        "completed: {completed:?}, seen: {seen:?}"
    );

    // Every committed state of the migration kept the invariants.
    let history = h.sandbox.route53().history();
    for change in &history[history_start..] {
        check_invariants(
            &change.records_after,
            &hosts,
            &format!("after change {}", change.change_id),
        );
    }

    // The end state: green owns its key, blue's records and TXT entries are gone, nothing else is.
    let zone = h.sandbox.route53().records(&h.zone_id());
    for service in SERVICES {
        let host = format!("{service}.example.com");
        let a: Vec<&Rrset> = records_at(&zone, &host)
            .into_iter()
            .filter(|r| r.rtype == "A")
            .collect();
        assert_eq!(a.len(), 1, "{host}: {a:?}");
        assert_eq!(
            a[0].set_identifier.as_deref(),
            Some(format!("{service}-green").as_str())
        );
        for txt in records_at(&zone, &format!("a-{host}")) {
            assert_eq!(txt_owner(txt).as_deref(), Some("green"), "{txt:?}");
        }
        assert!(
            zone.iter()
                .all(|r| r.set_identifier.as_deref() != Some(format!("{service}-blue").as_str())),
            "{service}: blue records left"
        );
    }
    // After the handover, green's external-dns finds its desired state and changes nothing.
    h.advance(Duration::from_secs(60));
    for (cluster, r) in h.external_dns().await {
        assert!(r.failed.is_empty(), "{cluster}: {:?}", r.failed);
        for host in &hosts {
            let touched = r
                .created
                .iter()
                .chain(&r.updated)
                .chain(&r.deleted)
                .any(|c| c.name.trim_end_matches('.') == host.as_str());
            assert!(
                !touched,
                "{cluster} changed {host} after the handover: {r:?}"
            );
        }
    }
}
