//! The external-dns simulator against the real local Route53, through the SDK over HTTP:
//! each behaviour of docs/reference/external-dns.md that cutover relies on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::collections::BTreeMap;
use std::time::Duration;

use sandbox::clock::SimClock;
use sandbox::cluster::{Cluster, Ingress};
use sandbox::external_dns::{ExternalDns, ExternalDnsSettings, Policy, Version};
use sandbox::route53::{Action, Change, Route53, Route53Options, Rrset};

const LB_BLUE: &str = "k8s-blue-ingress.eu-west-1.elb.amazonaws.com";
const LB_GREEN: &str = "k8s-green-ingress.eu-west-1.elb.amazonaws.com";
/// eu-west-1 ALB canonical hosted zone (docs/reference/route53.md "Alias records").
const ALB_ZONE: &str = "Z32O12XQLNTSW2";
const PREFIX: &str = "external-dns.kubernetes.io/";

struct World {
    route53: Route53,
    url: String,
    zone: String,
    clock: SimClock,
    blue: Cluster,
    green: Cluster,
    _server: tokio::task::JoinHandle<()>,
}

async fn world() -> World {
    let clock = SimClock::new();
    let route53 = Route53::new(
        clock.clone(),
        Route53Options {
            insync_after: Duration::ZERO,
            rate_limit_per_second: None,
            ..Route53Options::default()
        },
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let router = route53.router();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let zone = route53.create_zone("example.com", false);
    route53.register_alias_target(LB_BLUE, ALB_ZONE);
    route53.register_alias_target(LB_GREEN, ALB_ZONE);
    World {
        route53,
        url,
        zone,
        clock,
        blue: Cluster::new("blue", "eu-west-1"),
        green: Cluster::new("green", "eu-west-1"),
        _server: server,
    }
}

impl World {
    fn external_dns(&self, cluster: &Cluster, settings: ExternalDnsSettings) -> ExternalDns {
        ExternalDns::new(settings, cluster.clone(), &self.url, self.clock.clone())
            .expect("valid settings")
    }

    fn v22(&self, cluster: &Cluster) -> ExternalDns {
        self.external_dns(
            cluster,
            ExternalDnsSettings::new(&cluster.name, Version::V0_22),
        )
    }

    fn records(&self) -> Vec<Rrset> {
        self.route53.records(&self.zone)
    }

    fn find(&self, name: &str, rtype: &str, set_id: Option<&str>) -> Option<Rrset> {
        self.records().into_iter().find(|r| {
            plain(&r.name) == name && r.rtype == rtype && r.set_identifier.as_deref() == set_id
        })
    }

    fn must(&self, name: &str, rtype: &str, set_id: Option<&str>) -> Rrset {
        self.find(name, rtype, set_id).unwrap_or_else(|| {
            panic!(
                "no {rtype} {name} {set_id:?} in {:#?}",
                self.records()
                    .iter()
                    .map(|r| format!("{} {} {:?}", r.name, r.rtype, r.set_identifier))
                    .collect::<Vec<_>>()
            )
        })
    }

    /// Names and types of everything except SOA/NS, sorted.
    fn inventory(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .records()
            .iter()
            .filter(|r| r.rtype != "SOA" && r.rtype != "NS")
            .map(|r| {
                format!(
                    "{} {}{}",
                    plain(&r.name),
                    r.rtype,
                    r.set_identifier
                        .as_deref()
                        .map(|s| format!(" {s}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        all.sort();
        all
    }

    /// Applies a batch in-process, as cutover (or an operator) would.
    fn change(&self, changes: Vec<Change>) {
        self.route53
            .change(&self.zone, changes, None)
            .expect("change accepted");
    }

    /// Rewrites the owner label of a TXT (DELETE exactly as listed + CREATE), optionally with a
    /// new weight on it and its record.
    fn set_owner(&self, txt_name: &str, set_id: Option<&str>, owner: &str) {
        let old = self.must(txt_name, "TXT", set_id);
        let mut new = old.clone();
        let value = old.records[0].replace(
            &owner_label(&old.records[0]),
            &format!("external-dns/owner={owner}"),
        );
        new.records = vec![value];
        self.change(vec![delete(old), create(new)]);
    }
}

fn owner_label(value: &str) -> String {
    value
        .trim_matches('"')
        .split(',')
        .find(|p| p.starts_with("external-dns/owner="))
        .unwrap_or_default()
        .to_string()
}

fn plain(name: &str) -> String {
    name.trim_end_matches('.').replace("\\052", "*")
}

fn delete(rrset: Rrset) -> Change {
    Change {
        action: Action::Delete,
        rrset,
    }
}

fn create(rrset: Rrset) -> Change {
    Change {
        action: Action::Create,
        rrset,
    }
}

fn upsert(rrset: Rrset) -> Change {
    Change {
        action: Action::Upsert,
        rrset,
    }
}

fn ingress(name: &str, host: &str, annotations: &[(&str, &str)], lb: Option<&str>) -> Ingress {
    Ingress {
        namespace: "default".into(),
        name: name.into(),
        hosts: vec![host.into()],
        annotations: annotations
            .iter()
            .map(|(k, v)| (format!("{PREFIX}{k}"), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        load_balancer: lb.map(str::to_string),
    }
}

fn weighted(name: &str, host: &str, set_id: &str, weight: &str, lb: &str) -> Ingress {
    ingress(
        name,
        host,
        &[("set-identifier", set_id), ("aws-weight", weight)],
        Some(lb),
    )
}

fn canonical(owner: &str, resource: &str) -> String {
    format!("\"heritage=external-dns,external-dns/owner={owner},external-dns/resource={resource}\"")
}

/// checkout weighted on both clusters (blue 100, green 0), created by both external-dns.
async fn checkout_world() -> (World, ExternalDns, ExternalDns) {
    let w = world().await;
    w.blue.upsert_ingress(weighted(
        "checkout",
        "checkout.example.com",
        "checkout-blue",
        "100",
        LB_BLUE,
    ));
    w.green.upsert_ingress(weighted(
        "checkout",
        "checkout.example.com",
        "checkout-green",
        "0",
        LB_GREEN,
    ));
    let blue = w.v22(&w.blue);
    let green = w.v22(&w.green);
    let report = blue.run_once().await;
    assert!(
        report.failed.is_empty() && report.errors.is_empty(),
        "{report:?}"
    );
    let report = green.run_once().await;
    assert!(
        report.failed.is_empty() && report.errors.is_empty(),
        "{report:?}"
    );
    (w, blue, green)
}

#[tokio::test]
async fn weighted_records_are_created_from_annotations_with_their_txts() {
    let (w, _blue, _green) = checkout_world().await;
    assert_eq!(
        w.inventory(),
        vec![
            "a-checkout.example.com TXT checkout-blue",
            "a-checkout.example.com TXT checkout-green",
            "aaaa-checkout.example.com TXT checkout-blue",
            "aaaa-checkout.example.com TXT checkout-green",
            "checkout.example.com A checkout-blue",
            "checkout.example.com A checkout-green",
            "checkout.example.com AAAA checkout-blue",
            "checkout.example.com AAAA checkout-green",
        ]
    );
    let a = w.must("checkout.example.com", "A", Some("checkout-blue"));
    assert_eq!(a.weight, Some(100));
    assert_eq!(a.ttl, None);
    let alias = a.alias_target.expect("alias");
    assert_eq!(
        (
            alias.hosted_zone_id.as_str(),
            plain(&alias.dns_name).as_str(),
            alias.evaluate_target_health
        ),
        (ALB_ZONE, LB_BLUE, true)
    );
    let aaaa = w.must("checkout.example.com", "AAAA", Some("checkout-green"));
    assert_eq!(aaaa.weight, Some(0));
    // The TXT copies set identifier and weight, TTL 300, canonical value
    // (docs/reference/external-dns.md §1 "TTL and routing fields").
    let txt = w.must("a-checkout.example.com", "TXT", Some("checkout-green"));
    assert_eq!(
        (txt.weight, txt.ttl, txt.records.clone()),
        (
            Some(0),
            Some(300),
            vec![canonical("green", "ingress/default/checkout")]
        )
    );
}

#[tokio::test]
async fn a_weight_edited_behind_its_back_is_reverted_with_its_txt() {
    let (w, blue, _green) = checkout_world().await;
    let mut edited = w.must("checkout.example.com", "A", Some("checkout-blue"));
    edited.weight = Some(40);
    w.change(vec![upsert(edited)]);
    let report = blue.run_once().await;
    assert_eq!(report.updated.len(), 1, "{report:?}");
    assert_eq!(report.updated[0].record_type, "A");
    assert_eq!(
        w.must("checkout.example.com", "A", Some("checkout-blue"))
            .weight,
        Some(100)
    );
    assert_eq!(
        w.must("a-checkout.example.com", "TXT", Some("checkout-blue"))
            .weight,
        Some(100)
    );
    // In sync now: the next loop changes nothing.
    let report = blue.run_once().await;
    assert!(
        report.updated.is_empty() && report.created.is_empty(),
        "{report:?}"
    );
}

#[tokio::test]
async fn evaluate_target_health_drift_is_reverted() {
    let (w, blue, _green) = checkout_world().await;
    let mut edited = w.must("checkout.example.com", "AAAA", Some("checkout-blue"));
    if let Some(alias) = edited.alias_target.as_mut() {
        alias.evaluate_target_health = false;
    }
    w.change(vec![upsert(edited)]);
    blue.run_once().await;
    let alias = w
        .must("checkout.example.com", "AAAA", Some("checkout-blue"))
        .alias_target
        .expect("alias");
    assert!(alias.evaluate_target_health);
}

#[tokio::test]
async fn a_parked_key_is_skipped_by_both_owners() {
    let (w, blue, green) = checkout_world().await;
    // Park blue's key as cutover would: owner := lease owner id, then edit the weight.
    w.set_owner("a-checkout.example.com", Some("checkout-blue"), "cutover");
    w.set_owner(
        "aaaa-checkout.example.com",
        Some("checkout-blue"),
        "cutover",
    );
    for rtype in ["A", "AAAA"] {
        let mut edited = w.must("checkout.example.com", rtype, Some("checkout-blue"));
        edited.weight = Some(30);
        w.change(vec![upsert(edited)]);
    }
    let report = blue.run_once().await;
    assert!(
        report.updated.is_empty() && report.deleted.is_empty(),
        "{report:?}"
    );
    let skipped: Vec<_> = report
        .skipped
        .iter()
        .filter(|s| s.set_identifier.as_deref() == Some("checkout-blue"))
        .collect();
    assert_eq!(skipped.len(), 2);
    assert!(skipped
        .iter()
        .all(|s| s.owner.as_deref() == Some("cutover")));
    let report = green.run_once().await;
    assert!(
        report.updated.is_empty() && report.deleted.is_empty(),
        "{report:?}"
    );
    assert_eq!(
        w.must("checkout.example.com", "A", Some("checkout-blue"))
            .weight,
        Some(30)
    );
    assert!(blue.log().iter().any(|l| l
        .message
        .contains("because owner id does not match, found: \"cutover\", required: \"blue\"")));
}

/// payments: a simple record only blue's Ingress asks for.
async fn payments_world() -> (World, ExternalDns) {
    let w = world().await;
    w.blue.upsert_ingress(ingress(
        "payments",
        "payments.example.com",
        &[],
        Some(LB_BLUE),
    ));
    let blue = w.v22(&w.blue);
    let report = blue.run_once().await;
    assert_eq!(report.created.len(), 2, "{report:?}");
    (w, blue)
}

#[tokio::test]
async fn the_new_owner_upserts_its_targets_after_a_flip_and_the_old_one_skips() {
    let (w, blue) = payments_world().await;
    w.green.upsert_ingress(ingress(
        "payments",
        "payments.example.com",
        &[],
        Some(LB_GREEN),
    ));
    let green = w.v22(&w.green);
    // Same key, first writer wins: green skips.
    let report = green.run_once().await;
    assert!(
        report.updated.is_empty() && report.created.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.skipped.len(), 2);

    w.set_owner("a-payments.example.com", None, "green");
    w.set_owner("aaaa-payments.example.com", None, "green");
    let report = green.run_once().await;
    assert_eq!(report.updated.len(), 2, "{report:?}");
    for rtype in ["A", "AAAA"] {
        let alias = w
            .must("payments.example.com", rtype, None)
            .alias_target
            .expect("alias");
        assert_eq!(plain(&alias.dns_name), LB_GREEN);
    }
    let txt = w.must("a-payments.example.com", "TXT", None);
    assert_eq!(
        txt.records,
        vec![canonical("green", "ingress/default/payments")]
    );
    // The old owner skips the key and never re-creates it.
    let report = blue.run_once().await;
    assert!(
        report.updated.is_empty() && report.created.is_empty(),
        "{report:?}"
    );
    let alias = w
        .must("payments.example.com", "A", None)
        .alias_target
        .expect("alias");
    assert_eq!(plain(&alias.dns_name), LB_GREEN);
}

#[tokio::test]
async fn a_flip_to_an_owner_that_does_not_desire_the_key_deletes_it_under_sync() {
    let (w, blue) = payments_world().await;
    let green = w.v22(&w.green);
    w.set_owner("a-payments.example.com", None, "green");
    w.set_owner("aaaa-payments.example.com", None, "green");
    let report = green.run_once().await;
    assert_eq!(report.deleted.len(), 2, "{report:?}");
    assert!(w.inventory().is_empty(), "{:?}", w.inventory());
    // With no current records the key is a CREATE with no ownership check
    // (docs/reference/external-dns.md §3): blue, which still asks for it, publishes it again.
    let report = blue.run_once().await;
    assert_eq!(report.created.len(), 2, "{report:?}");
}

#[tokio::test]
async fn an_undesired_owned_key_is_deleted_under_sync_and_kept_under_upsert_only() {
    let (w, blue) = payments_world().await;
    assert!(w.blue.remove_ingress("default", "payments"));
    let mut settings = ExternalDnsSettings::new("blue", Version::V0_22);
    settings.policy = Policy::UpsertOnly;
    let upsert_only = w.external_dns(&w.blue, settings);
    let report = upsert_only.run_once().await;
    assert!(report.deleted.is_empty(), "{report:?}");
    assert_eq!(w.inventory().len(), 4, "A, AAAA and their TXTs kept");
    let report = blue.run_once().await;
    assert_eq!(report.deleted.len(), 2, "{report:?}");
    assert!(w.inventory().is_empty(), "{:?}", w.inventory());
}

#[tokio::test]
async fn a_simple_weighted_conflict_fails_that_name_on_every_loop_only() {
    let (w, _blue) = payments_world().await;
    w.green.upsert_ingress(weighted(
        "payments",
        "payments.example.com",
        "payments-green",
        "0",
        LB_GREEN,
    ));
    w.green.upsert_ingress(ingress(
        "reports",
        "reports.example.com",
        &[],
        Some(LB_GREEN),
    ));
    let green = w.v22(&w.green);
    let first = green.run_once().await;
    let failed = first
        .failed_name("payments.example.com")
        .expect("payments fails");
    let text = failed.error.to_string();
    assert!(
        text.contains("InvalidChangeBatch")
            && text.contains(
                "cannot be created as a non-weighted set exists with the same name and type"
            ),
        "{text}"
    );
    assert_eq!(first.failed.len(), 1, "{first:?}");
    assert!(
        w.find("reports.example.com", "A", None).is_some(),
        "other names applied"
    );
    let second = green.run_once().await;
    assert!(
        second.failed_name("payments.example.com").is_some(),
        "{second:?}"
    );
    assert!(second.created.is_empty());
    assert!(w
        .find("payments.example.com", "A", Some("payments-green"))
        .is_none());
    assert!(green.log().iter().any(|l| l
        .message
        .contains("failed to submit changes for payments.example.com")));
}

#[tokio::test]
async fn a_missing_typed_txt_is_restored_by_its_owner() {
    let (w, blue) = payments_world().await;
    // Replace blue's `a-` TXT by an old-style `cname-` one (as v0.18 wrote it).
    let a_txt = w.must("a-payments.example.com", "TXT", None);
    let mut cname_txt = a_txt.clone();
    cname_txt.name = "cname-payments.example.com".into();
    w.change(vec![delete(a_txt), create(cname_txt)]);
    let report = blue.run_once().await;
    assert_eq!(report.updated.len(), 1, "{report:?}");
    let restored = w.must("a-payments.example.com", "TXT", None);
    assert_eq!(
        restored.records,
        vec![canonical("blue", "ingress/default/payments")]
    );
}

#[tokio::test]
async fn records_without_a_registry_txt_are_never_touched() {
    let w = world().await;
    w.change(vec![create(Rrset {
        name: "legacy.example.com".into(),
        rtype: "A".into(),
        ttl: Some(60),
        records: vec!["192.0.2.7".into()],
        ..Rrset::default()
    })]);
    w.blue.upsert_ingress(Ingress {
        annotations: [(format!("{PREFIX}target"), "192.0.2.8".to_string())]
            .into_iter()
            .collect(),
        ..ingress("legacy", "legacy.example.com", &[], None)
    });
    let blue = w.v22(&w.blue);
    let report = blue.run_once().await;
    assert!(
        report.updated.is_empty() && report.created.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.skipped[0].owner, None);
    assert_eq!(
        w.must("legacy.example.com", "A", None).records,
        vec!["192.0.2.7"]
    );
}

/// The TXT names a fresh weighted ELB Ingress gets, for a given flag set.
async fn txt_names(settings: ExternalDnsSettings, host: &str) -> Vec<String> {
    let w = world().await;
    let prefix = settings.annotation_prefix().to_string();
    w.blue.upsert_ingress(Ingress {
        namespace: "default".into(),
        name: "app".into(),
        hosts: vec![host.into()],
        annotations: [
            (format!("{prefix}set-identifier"), "blue".to_string()),
            (format!("{prefix}aws-weight"), "10".to_string()),
        ]
        .into_iter()
        .collect(),
        load_balancer: Some(LB_BLUE.into()),
    });
    let edns = w.external_dns(&w.blue, settings);
    let report = edns.run_once().await;
    assert!(report.failed.is_empty(), "{report:?}");
    let mut names: Vec<String> = w
        .records()
        .iter()
        .filter(|r| r.rtype == "TXT")
        .inspect(|r| {
            assert_eq!(r.set_identifier.as_deref(), Some("blue"));
            assert_eq!(r.weight, Some(10));
        })
        .map(|r| plain(&r.name))
        .collect();
    names.sort();
    names
}

fn flags(version: Version, prefix: Option<&str>, suffix: Option<&str>) -> ExternalDnsSettings {
    let mut settings = ExternalDnsSettings::new("blue", version);
    settings.txt_prefix = prefix.map(str::to_string);
    settings.txt_suffix = suffix.map(str::to_string);
    settings
}

#[tokio::test]
async fn txt_names_follow_the_version_table() {
    let host = "app.example.com";
    assert_eq!(
        txt_names(flags(Version::V0_13, None, None), host).await,
        vec!["app.example.com", "cname-app.example.com"],
        "v0.13: old format and typed, no AAAA alias yet"
    );
    assert_eq!(
        txt_names(flags(Version::V0_18, None, None), host).await,
        vec!["aaaa-app.example.com", "cname-app.example.com"]
    );
    assert_eq!(
        txt_names(flags(Version::new(0, 21), None, None), host).await,
        vec!["aaaa-app.example.com", "cname-app.example.com"]
    );
    assert_eq!(
        txt_names(flags(Version::V0_22, None, None), host).await,
        vec!["a-app.example.com", "aaaa-app.example.com"]
    );
}

#[tokio::test]
async fn txt_names_follow_prefix_suffix_and_wildcard_flags() {
    let host = "app.example.com";
    assert_eq!(
        txt_names(flags(Version::V0_22, Some("txt."), None), host).await,
        vec!["txt.a-app.example.com", "txt.aaaa-app.example.com"]
    );
    assert_eq!(
        txt_names(
            flags(Version::V0_22, Some("%{record_type}-ext."), None),
            host
        )
        .await,
        vec!["a-ext.app.example.com", "aaaa-ext.app.example.com"]
    );
    assert_eq!(
        txt_names(flags(Version::V0_22, None, Some("-%{record_type}")), host).await,
        vec!["app-a.example.com", "app-aaaa.example.com"]
    );
    assert_eq!(
        txt_names(flags(Version::V0_18, Some("TXT."), None), host).await,
        vec!["txt.aaaa-app.example.com", "txt.cname-app.example.com"],
        "affixes are lower-cased"
    );
    let mut wildcard = flags(Version::V0_22, None, None);
    wildcard.txt_wildcard_replacement = Some("wildcard".into());
    assert_eq!(
        txt_names(wildcard, "*.example.com").await,
        vec!["a-wildcard.example.com", "aaaa-wildcard.example.com"]
    );
}

#[tokio::test]
async fn the_loop_reverts_drift_once_the_simulated_interval_has_passed() {
    let (w, blue, _green) = checkout_world().await;
    let handle = blue.spawn_loop();
    let mut edited = w.must("checkout.example.com", "A", Some("checkout-blue"));
    edited.weight = Some(5);
    // The last run was just now (checkout_world): nothing is due until one interval passes.
    w.change(vec![upsert(edited)]);
    w.clock.advance(Duration::from_secs(61));
    let mut weight = None;
    for _ in 0..250 {
        weight = w
            .must("checkout.example.com", "A", Some("checkout-blue"))
            .weight;
        if weight == Some(100) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.abort();
    assert_eq!(weight, Some(100));
}

#[tokio::test]
async fn every_route53_call_is_in_the_request_log() {
    let (_w, blue, _green) = checkout_world().await;
    let operations: Vec<&str> = blue.requests().iter().map(|r| r.operation).collect();
    assert_eq!(
        operations,
        vec![
            "ListHostedZones",
            "ListResourceRecordSets",
            "ChangeResourceRecordSets"
        ]
    );
    assert!(blue.requests().iter().all(|r| r.error.is_none()));
}
