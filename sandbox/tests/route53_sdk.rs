//! The sandbox Route53 driven over HTTP by the official `aws-sdk-route53`: every rule of the
//! reference (docs/reference/route53.md), with the exact error codes and messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_route53::error::ProvideErrorMetadata;
use aws_sdk_route53::types as sdk;
use aws_sdk_route53::Client;
use sandbox::clock::SimClock;
use sandbox::route53::{
    Action, AliasTarget, ChangeStatus, Route53, Route53Options, Rrset, MAX_PAGE,
};

const ALB_ZONE_US_EAST_1: &str = "Z35SXDOTRQ7X7K";
const NLB_ZONE_US_EAST_1: &str = "Z26RNL4JYFTOTI";
const LB_BLUE: &str = "blue-123.us-east-1.elb.amazonaws.com";
const LB_GREEN: &str = "green-456.us-east-1.elb.amazonaws.com";

struct Env {
    r53: Route53,
    client: Client,
    clock: SimClock,
    endpoint: String,
    zone: String,
}

fn quiet_options() -> Route53Options {
    Route53Options {
        rate_limit_per_second: None,
        ..Route53Options::default()
    }
}

async fn start(options: Route53Options, retry: RetryConfig) -> Env {
    let clock = SimClock::new();
    let r53 = Route53::new(clock.clone(), options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = r53.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let endpoint = format!("http://{addr}");
    let client = client_for(&endpoint, retry).await;
    let zone = r53.create_zone("example.com", false);
    r53.register_alias_target(LB_BLUE, ALB_ZONE_US_EAST_1);
    r53.register_alias_target(LB_GREEN, ALB_ZONE_US_EAST_1);
    Env {
        r53,
        client,
        clock,
        endpoint,
        zone,
    }
}

async fn client_for(endpoint: &str, retry: RetryConfig) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::from_keys(
            sandbox::ACCESS_KEY_ID,
            sandbox::SECRET_ACCESS_KEY,
            None,
        ))
        .retry_config(retry)
        .load()
        .await;
    Client::new(&config)
}

async fn env() -> Env {
    start(quiet_options(), RetryConfig::disabled()).await
}

fn simple(name: &str, rtype: &str, ttl: i64, values: &[&str]) -> Rrset {
    Rrset {
        name: name.into(),
        rtype: rtype.into(),
        ttl: Some(ttl),
        records: values.iter().map(|v| v.to_string()).collect(),
        ..Rrset::default()
    }
}

fn weighted(name: &str, id: &str, weight: i64, value: &str) -> Rrset {
    Rrset {
        set_identifier: Some(id.into()),
        weight: Some(weight),
        ..simple(name, "A", 60, &[value])
    }
}

fn alias(name: &str, target: &str, zone: &str) -> Rrset {
    Rrset {
        name: name.into(),
        rtype: "A".into(),
        alias_target: Some(AliasTarget {
            hosted_zone_id: zone.into(),
            dns_name: target.into(),
            evaluate_target_health: true,
        }),
        ..Rrset::default()
    }
}

fn weighted_alias(name: &str, id: &str, weight: i64, target: &str) -> Rrset {
    Rrset {
        set_identifier: Some(id.into()),
        weight: Some(weight),
        ..alias(name, target, ALB_ZONE_US_EAST_1)
    }
}

fn to_sdk_rrset(r: &Rrset) -> sdk::ResourceRecordSet {
    let records: Option<Vec<sdk::ResourceRecord>> = (!r.records.is_empty()).then(|| {
        r.records
            .iter()
            .map(|v| sdk::ResourceRecord::builder().value(v).build().unwrap())
            .collect()
    });
    let alias = r.alias_target.as_ref().map(|a| {
        sdk::AliasTarget::builder()
            .hosted_zone_id(&a.hosted_zone_id)
            .dns_name(&a.dns_name)
            .evaluate_target_health(a.evaluate_target_health)
            .build()
            .unwrap()
    });
    sdk::ResourceRecordSet::builder()
        .name(&r.name)
        .r#type(sdk::RrType::from(r.rtype.as_str()))
        .set_set_identifier(r.set_identifier.clone())
        .set_weight(r.weight)
        .set_ttl(r.ttl)
        .set_resource_records(records)
        .set_alias_target(alias)
        .set_health_check_id(r.health_check_id.clone())
        .build()
        .unwrap()
}

fn from_sdk_rrset(r: &sdk::ResourceRecordSet) -> Rrset {
    Rrset {
        name: r.name().to_string(),
        rtype: r.r#type().as_str().to_string(),
        set_identifier: r.set_identifier().map(str::to_string),
        weight: r.weight(),
        ttl: r.ttl(),
        records: r
            .resource_records()
            .iter()
            .map(|v| v.value().to_string())
            .collect(),
        alias_target: r.alias_target().map(|a| AliasTarget {
            hosted_zone_id: a.hosted_zone_id().to_string(),
            dns_name: a.dns_name().to_string(),
            evaluate_target_health: a.evaluate_target_health(),
        }),
        health_check_id: r.health_check_id().map(str::to_string),
    }
}

fn action(a: Action) -> sdk::ChangeAction {
    match a {
        Action::Create => sdk::ChangeAction::Create,
        Action::Delete => sdk::ChangeAction::Delete,
        Action::Upsert => sdk::ChangeAction::Upsert,
    }
}

/// The SDK's view of an error: code, message, and the modeled `messages` of InvalidChangeBatch.
#[derive(Debug, PartialEq)]
struct SdkError {
    status: Option<u16>,
    code: String,
    message: String,
    messages: Vec<String>,
}

type Batch<'a> = &'a [(Action, Rrset)];

async fn submit(e: &Env, changes: Batch<'_>) -> Result<sdk::ChangeInfo, SdkError> {
    submit_to(&e.client, &e.zone, changes, None).await
}

async fn submit_to(
    client: &Client,
    zone: &str,
    changes: Batch<'_>,
    comment: Option<&str>,
) -> Result<sdk::ChangeInfo, SdkError> {
    let changes: Vec<sdk::Change> = changes
        .iter()
        .map(|(a, r)| {
            sdk::Change::builder()
                .action(action(*a))
                .resource_record_set(to_sdk_rrset(r))
                .build()
                .unwrap()
        })
        .collect();
    let batch = sdk::ChangeBatch::builder()
        .set_changes(Some(changes))
        .set_comment(comment.map(str::to_string))
        .build()
        .unwrap();
    let result = client
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch)
        .send()
        .await;
    match result {
        Ok(out) => Ok(out.change_info().unwrap().clone()),
        Err(err) => {
            let status = err.raw_response().map(|r| r.status().as_u16());
            let service = err.into_service_error();
            let messages = match &service {
                aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError::InvalidChangeBatch(icb) => icb.messages().to_vec(),
                _ => Vec::new(),
            };
            Err(SdkError {
                status,
                code: service.code().unwrap_or_default().to_string(),
                message: service.message().unwrap_or_default().to_string(),
                messages,
            })
        }
    }
}

async fn expect_batch_error(e: &Env, changes: Batch<'_>, messages: &[&str]) {
    let before = e.r53.records(&e.zone);
    let err = submit(e, changes).await.unwrap_err();
    assert_eq!(err.status, Some(400));
    assert_eq!(err.code, "InvalidChangeBatch");
    assert_eq!(err.message, format!("[{}]", messages.join(", ")));
    // Nothing applied on any error.
    assert_eq!(e.r53.records(&e.zone), before);
}

async fn expect_invalid_input(e: &Env, changes: Batch<'_>, message: &str) {
    let before = e.r53.records(&e.zone);
    let err = submit(e, changes).await.unwrap_err();
    assert_eq!(err.status, Some(400));
    assert_eq!(err.code, "InvalidInput");
    assert_eq!(err.message, message);
    assert_eq!(e.r53.records(&e.zone), before);
}

async fn list_all(e: &Env, max_items: Option<i32>) -> Vec<Rrset> {
    let mut out = Vec::new();
    let mut next: Option<(String, String, Option<String>)> = None;
    loop {
        let mut req = e
            .client
            .list_resource_record_sets()
            .hosted_zone_id(&e.zone)
            .set_max_items(max_items);
        if let Some((name, rtype, id)) = &next {
            req = req
                .start_record_name(name)
                .start_record_type(sdk::RrType::from(rtype.as_str()))
                .set_start_record_identifier(id.clone());
        }
        let page = req.send().await.unwrap();
        out.extend(page.resource_record_sets().iter().map(from_sdk_rrset));
        if !page.is_truncated() {
            return out;
        }
        let token = (
            page.next_record_name().unwrap().to_string(),
            page.next_record_type().unwrap().as_str().to_string(),
            page.next_record_identifier().map(str::to_string),
        );
        assert_ne!(Some(&token), next.as_ref(), "paging tokens must move");
        next = Some(token);
    }
}

fn user_records(records: Vec<Rrset>) -> Vec<Rrset> {
    records
        .into_iter()
        .filter(|r| r.rtype != "SOA" && r.rtype != "NS")
        .collect()
}

// ---------------------------------------------------------------- zones, ids, GetChange

#[tokio::test]
async fn a_private_zone_is_created_in_a_vpc_and_answers_with_its_vpcs() {
    use aws_sdk_route53::types::{Vpc, VpcRegion};
    let e = env().await;
    let created = e
        .client
        .create_hosted_zone()
        .name("example.com")
        .caller_reference("private-1")
        .vpc(
            Vpc::builder()
                .vpc_region(VpcRegion::EuWest1)
                .vpc_id("vpc-0abc")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let zone = created.hosted_zone().unwrap();
    assert_eq!(zone.config().map(|c| c.private_zone()), Some(true));
    let id = zone.id().trim_start_matches("/hostedzone/").to_string();
    let got = e.client.get_hosted_zone().id(&id).send().await.unwrap();
    // A private zone answers with its VPCs, not a delegation set.
    let vpcs = got.vpcs();
    assert_eq!(vpcs.len(), 1, "{got:?}");
    assert_eq!(vpcs[0].vpc_id(), Some("vpc-0abc"));
    assert_eq!(vpcs[0].vpc_region(), Some(&VpcRegion::EuWest1));
    assert!(got.delegation_set().is_none());
    // The public zone of the same name has a delegation set and no VPC.
    let public = e.client.get_hosted_zone().id(&e.zone).send().await.unwrap();
    assert!(public.vpcs().is_empty());
    assert_eq!(public.delegation_set().unwrap().name_servers().len(), 4);
    // A public zone is never associated with a VPC.
    assert!(!e.r53.associate_vpc(
        &e.zone,
        sandbox::route53::Vpc {
            region: "eu-west-1".into(),
            id: "vpc-0abc".into()
        }
    ));
}

#[tokio::test]
async fn hosted_zone_operations_and_soa_ns() {
    let e = env().await;
    let created = e
        .client
        .create_hosted_zone()
        .name("Other.Example.org")
        .caller_reference("ref-1")
        .send()
        .await
        .unwrap();
    let zone = created.hosted_zone().unwrap();
    assert!(zone.id().starts_with("/hostedzone/Z"), "{}", zone.id());
    assert_eq!(zone.name(), "other.example.org.");
    assert!(created.change_info().unwrap().id().starts_with("/change/C"));
    assert_eq!(created.delegation_set().unwrap().name_servers().len(), 4);
    assert!(created.location().contains("/2013-04-01/hostedzone/Z"));

    let dup = e
        .client
        .create_hosted_zone()
        .name("again.example.org")
        .caller_reference("ref-1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(dup.code(), Some("HostedZoneAlreadyExists"));

    let bare_id = zone.id().trim_start_matches("/hostedzone/").to_string();
    let got = e
        .client
        .get_hosted_zone()
        .id(&bare_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.hosted_zone().unwrap().resource_record_set_count(),
        Some(2)
    );
    let records = e.r53.records(&bare_id);
    let types: Vec<&str> = records.iter().map(|r| r.rtype.as_str()).collect();
    assert_eq!(types, vec!["NS", "SOA"]);
    assert!(records.iter().all(|r| r.name == "other.example.org."));

    let listed = e.client.list_hosted_zones().send().await.unwrap();
    assert_eq!(listed.hosted_zones().len(), 2);
    let by_name = e
        .client
        .list_hosted_zones_by_name()
        .dns_name("example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(by_name.hosted_zones()[0].name(), "example.com.");
    assert_eq!(by_name.hosted_zones().len(), 2);

    let missing = e
        .client
        .get_hosted_zone()
        .id("ZNOPE")
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.raw_response().unwrap().status().as_u16(), 404);
    let missing = missing.into_service_error();
    assert_eq!(missing.code(), Some("NoSuchHostedZone"));
    assert_eq!(
        missing.message(),
        Some("No hosted zone found with ID: ZNOPE")
    );

    let err = submit_to(
        &e.client,
        "ZNOPE",
        &[(
            Action::Create,
            simple("a.example.com", "A", 60, &["1.1.1.1"]),
        )],
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(
        (err.status, err.code.as_str()),
        (Some(404), "NoSuchHostedZone")
    );
}

#[tokio::test]
async fn get_change_pending_then_insync_on_the_simulated_clock() {
    let e = env().await;
    let first = submit(
        &e,
        &[(
            Action::Create,
            simple("a.example.com", "A", 60, &["1.1.1.1"]),
        )],
    )
    .await
    .unwrap();
    let second = submit(
        &e,
        &[(
            Action::Create,
            simple("b.example.com", "A", 60, &["1.1.1.1"]),
        )],
    )
    .await
    .unwrap();
    assert!(first.id().starts_with("/change/C"));
    assert_ne!(first.id(), second.id());
    assert_eq!(first.status(), &sdk::ChangeStatus::Pending);
    let id = first.id().trim_start_matches("/change/");
    let got = e.client.get_change().id(id).send().await.unwrap();
    assert_eq!(
        got.change_info().unwrap().status(),
        &sdk::ChangeStatus::Pending
    );
    e.clock.advance(Duration::from_secs(2));
    let got = e.client.get_change().id(id).send().await.unwrap();
    assert_eq!(
        got.change_info().unwrap().status(),
        &sdk::ChangeStatus::Insync
    );
    assert_eq!(e.r53.get_change(id).unwrap().status, ChangeStatus::Insync);

    let err = e.client.get_change().id("CNOPE").send().await.unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 404);
    assert_eq!(err.into_service_error().code(), Some("NoSuchChange"));
}

// ---------------------------------------------------------------- CREATE / DELETE / UPSERT

#[tokio::test]
async fn create_of_an_existing_rrset_fails() {
    let e = env().await;
    submit(
        &e,
        &[
            (
                Action::Create,
                simple("x.example.com", "A", 60, &["1.1.1.1"]),
            ),
            (
                Action::Create,
                weighted("w.example.com", "S", 10, "1.1.1.1"),
            ),
        ],
    )
    .await
    .unwrap();
    expect_batch_error(
        &e,
        &[(Action::Create, simple("X.Example.com.", "A", 300, &["2.2.2.2"]))],
        &["Tried to create resource record set [name='x.example.com.', type='A'] but it already exists"],
    )
    .await;
    expect_batch_error(
        &e,
        &[(Action::Create, weighted("w.example.com", "S", 20, "2.2.2.2"))],
        &["Tried to create resource record set [name='w.example.com.', type='A', set-identifier='S'] but it already exists"],
    )
    .await;
}

#[tokio::test]
async fn delete_must_match_every_current_value() {
    let e = env().await;
    let mut current = weighted_alias("app.example.com", "blue", 100, LB_BLUE);
    current.health_check_id = Some("hc-1".into());
    let txt = simple("t.example.com", "TXT", 300, &["\"a\"", "\"b\""]);
    submit(
        &e,
        &[
            (Action::Create, current.clone()),
            (Action::Create, txt.clone()),
        ],
    )
    .await
    .unwrap();
    let not_match = "Tried to delete resource record set [name='app.example.com.', type='A', set-identifier='blue'] but the values provided do not match the current values";

    let mut other_weight = current.clone();
    other_weight.weight = Some(99);
    let mut other_target = current.clone();
    other_target.alias_target.as_mut().unwrap().dns_name = LB_GREEN.into();
    let mut other_eth = current.clone();
    other_eth
        .alias_target
        .as_mut()
        .unwrap()
        .evaluate_target_health = false;
    let mut other_hc = current.clone();
    other_hc.health_check_id = None;
    for wrong in [other_weight, other_target, other_eth, other_hc] {
        expect_batch_error(&e, &[(Action::Delete, wrong)], &[not_match]).await;
    }
    let txt_not_match = "Tried to delete resource record set [name='t.example.com.', type='TXT'] but the values provided do not match the current values";
    expect_batch_error(
        &e,
        &[(
            Action::Delete,
            simple("t.example.com", "TXT", 60, &["\"a\"", "\"b\""]),
        )],
        &[txt_not_match],
    )
    .await;
    expect_batch_error(
        &e,
        &[(
            Action::Delete,
            simple("t.example.com", "TXT", 300, &["\"a\""]),
        )],
        &[txt_not_match],
    )
    .await;
    // Another set identifier is another rrset: not found.
    let mut other_id = current.clone();
    other_id.set_identifier = Some("green".into());
    expect_batch_error(
        &e,
        &[(Action::Delete, other_id)],
        &["Tried to delete resource record set [name='app.example.com.', type='A', set-identifier='green'] but it was not found"],
    )
    .await;
    expect_batch_error(
        &e,
        &[(Action::Delete, simple("nope.example.com", "A", 60, &["1.1.1.1"]))],
        &["Tried to delete resource record set [name='nope.example.com.', type='A'] but it was not found"],
    )
    .await;
    // Exact values (records in any order, name in any case) delete.
    let mut reordered = simple("T.EXAMPLE.COM", "TXT", 300, &["\"b\"", "\"a\""]);
    reordered.records.reverse();
    reordered.records.reverse();
    submit(
        &e,
        &[(Action::Delete, current), (Action::Delete, reordered)],
    )
    .await
    .unwrap();
    assert!(user_records(e.r53.records(&e.zone)).is_empty());
}

#[tokio::test]
async fn deleting_the_same_rrset_twice_in_one_batch_fails_and_applies_nothing() {
    let e = env().await;
    let r = simple("x.example.com", "A", 60, &["1.1.1.1"]);
    submit(&e, &[(Action::Create, r.clone())]).await.unwrap();
    expect_batch_error(
        &e,
        &[
            (Action::Delete, r.clone()),
            (Action::Create, simple("y.example.com", "A", 60, &["1.1.1.1"])),
            (Action::Delete, r.clone()),
        ],
        &["Tried to delete resource record set [name='x.example.com.', type='A'] but it was not found"],
    )
    .await;
    assert!(e
        .r53
        .records(&e.zone)
        .iter()
        .any(|x| x.name == "x.example.com."));
}

#[tokio::test]
async fn every_error_is_collected_in_one_bracketed_message() {
    let e = env().await;
    let r = simple("x.example.com", "A", 60, &["1.1.1.1"]);
    submit(&e, &[(Action::Create, r.clone())]).await.unwrap();
    let err = submit(
        &e,
        &[
            (
                Action::Create,
                simple("ok.example.com", "A", 60, &["1.1.1.1"]),
            ),
            (Action::Create, r.clone()),
            (
                Action::Delete,
                simple("gone.example.com", "A", 60, &["1.1.1.1"]),
            ),
        ],
    )
    .await
    .unwrap_err();
    let m1 = "Tried to create resource record set [name='x.example.com.', type='A'] but it already exists";
    let m2 = "Tried to delete resource record set [name='gone.example.com.', type='A'] but it was not found";
    assert_eq!(err.code, "InvalidChangeBatch");
    assert_eq!(err.message, format!("[{m1}, {m2}]"));
    // What the SDK surfaces: the bracketed text in `message`; the modeled `messages` list stays
    // empty because Route53 sends the standard ErrorResponse form.
    assert!(err.messages.is_empty());
    assert!(!e
        .r53
        .records(&e.zone)
        .iter()
        .any(|x| x.name == "ok.example.com."));
}

#[tokio::test]
async fn upsert_creates_and_replaces() {
    let e = env().await;
    submit(
        &e,
        &[(
            Action::Upsert,
            simple("u.example.com", "A", 60, &["1.1.1.1"]),
        )],
    )
    .await
    .unwrap();
    submit(
        &e,
        &[(
            Action::Upsert,
            simple("u.example.com", "A", 120, &["2.2.2.2"]),
        )],
    )
    .await
    .unwrap();
    assert_eq!(
        user_records(e.r53.records(&e.zone)),
        vec![simple("u.example.com.", "A", 120, &["2.2.2.2"])]
    );
}

// ---------------------------------------------------------------- routing-policy rules

#[tokio::test]
async fn simple_and_weighted_cannot_coexist_in_either_direction() {
    let e = env().await;
    let plain = simple("app.example.com", "A", 60, &["1.1.1.1"]);
    submit(&e, &[(Action::Create, plain.clone())])
        .await
        .unwrap();
    expect_batch_error(
        &e,
        &[(Action::Create, weighted("app.example.com", "S", 1, "2.2.2.2"))],
        &["RRSet with DNS name app.example.com., type A, SetIdentifier S cannot be created as a non-weighted set exists with the same name and type."],
    )
    .await;
    expect_batch_error(
        &e,
        &[(Action::Upsert, weighted("app.example.com", "S", 1, "2.2.2.2"))],
        &["RRSet with DNS name app.example.com., type A, SetIdentifier S cannot be created as a non-weighted set exists with the same name and type."],
    )
    .await;
    // The reverse order of the switch fails…
    expect_batch_error(
        &e,
        &[
            (Action::Create, weighted("app.example.com", "blue", 100, "1.1.1.1")),
            (Action::Delete, plain.clone()),
        ],
        &["RRSet with DNS name app.example.com., type A, SetIdentifier blue cannot be created as a non-weighted set exists with the same name and type."],
    )
    .await;
    // …DELETE simple then CREATE weighted switches atomically.
    submit(
        &e,
        &[
            (Action::Delete, plain.clone()),
            (
                Action::Create,
                weighted("app.example.com", "blue", 100, "1.1.1.1"),
            ),
            (
                Action::Create,
                weighted("app.example.com", "green", 0, "2.2.2.2"),
            ),
        ],
    )
    .await
    .unwrap();
    let simple_back = "RRSet with DNS name app.example.com., type A cannot be created as other RRSets exist with the same name and type.";
    expect_batch_error(&e, &[(Action::Create, plain.clone())], &[simple_back]).await;
    expect_batch_error(&e, &[(Action::Upsert, plain.clone())], &[simple_back]).await;
    // Weighted → simple after deleting every member.
    submit(
        &e,
        &[
            (
                Action::Delete,
                weighted("app.example.com", "blue", 100, "1.1.1.1"),
            ),
            (
                Action::Delete,
                weighted("app.example.com", "green", 0, "2.2.2.2"),
            ),
            (Action::Create, plain),
        ],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn cname_excludes_other_types_and_the_apex() {
    let e = env().await;
    submit(
        &e,
        &[(
            Action::Create,
            simple("a.example.com", "TXT", 300, &["\"x\""]),
        )],
    )
    .await
    .unwrap();
    expect_batch_error(
        &e,
        &[(Action::Create, simple("a.example.com", "CNAME", 300, &["b.example.com"]))],
        &["RRSet of type CNAME with DNS name a.example.com. is not permitted as it conflicts with other records with the same DNS name in zone example.com."],
    )
    .await;
    submit(
        &e,
        &[(
            Action::Create,
            simple("c.example.com", "CNAME", 300, &["b.example.com"]),
        )],
    )
    .await
    .unwrap();
    expect_batch_error(
        &e,
        &[(Action::Create, simple("c.example.com", "TXT", 300, &["\"x\""]))],
        &["RRSet of type TXT with DNS name c.example.com. is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone example.com."],
    )
    .await;
    expect_batch_error(
        &e,
        &[(Action::Create, simple("example.com", "CNAME", 300, &["b.example.com"]))],
        &["RRSet of type CNAME with DNS name example.com. is not permitted at apex in zone example.com."],
    )
    .await;
}

#[tokio::test]
async fn weighted_group_rules() {
    let e = env().await;
    submit(
        &e,
        &[(Action::Create, weighted("w.example.com", "a", 1, "1.1.1.1"))],
    )
    .await
    .unwrap();
    let mut other_ttl = weighted("w.example.com", "b", 1, "1.1.1.2");
    other_ttl.ttl = Some(300);
    expect_batch_error(
        &e,
        &[(Action::Create, other_ttl)],
        &["RRSet with DNS name w.example.com. and type A, SetIdentifier b cannot be created as weighted sets must contain the same TTL."],
    )
    .await;
    // Alias members have no TTL and may be mixed with non-alias members.
    submit(
        &e,
        &[(
            Action::Create,
            weighted_alias("w.example.com", "lb", 1, LB_BLUE),
        )],
    )
    .await
    .unwrap();

    let prefix = "changeBatch.changes.1.member.resourceRecordSet";
    expect_invalid_input(
        &e,
        &[(Action::Create, weighted("w.example.com", "c", 256, "1.1.1.3"))],
        &format!("1 validation error detected: Value '256' at '{prefix}.weight' failed to satisfy constraint: Member must have value less than or equal to 255"),
    )
    .await;
    expect_invalid_input(
        &e,
        &[(Action::Create, weighted("w.example.com", "c", -1, "1.1.1.3"))],
        &format!("1 validation error detected: Value '-1' at '{prefix}.weight' failed to satisfy constraint: Member must have value greater than or equal to 0"),
    )
    .await;
    let long_id = "i".repeat(129);
    expect_invalid_input(
        &e,
        &[(Action::Create, weighted("w.example.com", &long_id, 1, "1.1.1.3"))],
        &format!("1 validation error detected: Value '{long_id}' at '{prefix}.setIdentifier' failed to satisfy constraint: Member must have length less than or equal to 128"),
    )
    .await;
    expect_invalid_input(
        &e,
        &[(Action::Create, weighted("w.example.com", "", 1, "1.1.1.3"))],
        &format!("1 validation error detected: Value '' at '{prefix}.setIdentifier' failed to satisfy constraint: Member must have length greater than or equal to 1"),
    )
    .await;
    let mut no_id = weighted("w.example.com", "x", 1, "1.1.1.3");
    no_id.set_identifier = None;
    expect_invalid_input(
        &e,
        &[(Action::Create, no_id)],
        "Invalid request: Missing field 'SetIdentifier' in Change with [Action=CREATE, Name=w.example.com., Type=A, SetIdentifier=null]",
    )
    .await;
    let mut no_weight = weighted("w.example.com", "x", 1, "1.1.1.3");
    no_weight.weight = None;
    expect_invalid_input(
        &e,
        &[(Action::Create, no_weight)],
        "Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found none in Change with [Action=CREATE, Name=w.example.com., Type=A, SetIdentifier=x]",
    )
    .await;
}

#[tokio::test]
async fn at_most_100_weighted_records_per_name_and_type() {
    let e = env().await;
    let members: Vec<(Action, Rrset)> = (0..100)
        .map(|i| {
            (
                Action::Create,
                weighted("many.example.com", &format!("m{i:03}"), 1, "1.1.1.1"),
            )
        })
        .collect();
    submit(&e, &members).await.unwrap();
    expect_batch_error(
        &e,
        &[(Action::Create, weighted("many.example.com", "m100", 1, "1.1.1.1"))],
        &["RRSet with DNS name many.example.com., type A, SetIdentifier m100 cannot be created as the number of weighted sets with the same name and type would exceed 100."],
    )
    .await;
    // Replacing a member keeps the count at 100.
    submit(
        &e,
        &[(
            Action::Upsert,
            weighted("many.example.com", "m000", 5, "1.1.1.1"),
        )],
    )
    .await
    .unwrap();
}

// ---------------------------------------------------------------- alias records

#[tokio::test]
async fn alias_xor_ttl_and_records() {
    let e = env().await;
    let mut both = alias("a.example.com", LB_BLUE, ALB_ZONE_US_EAST_1);
    both.ttl = Some(60);
    expect_invalid_input(
        &e,
        &[(Action::Create, both)],
        "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one in Change with [Action=CREATE, Name=a.example.com., Type=A, SetIdentifier=null]",
    )
    .await;
    let none = Rrset {
        name: "a.example.com".into(),
        rtype: "A".into(),
        ..Rrset::default()
    };
    expect_invalid_input(
        &e,
        &[(Action::Upsert, none)],
        "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=UPSERT, Name=a.example.com., Type=A, SetIdentifier=null]",
    )
    .await;
}

#[tokio::test]
async fn alias_targets_must_exist_in_the_given_zone() {
    let e = env().await;
    submit(
        &e,
        &[
            (
                Action::Create,
                alias("a.example.com", LB_BLUE, ALB_ZONE_US_EAST_1),
            ),
            (
                Action::Create,
                alias(
                    "b.example.com",
                    &format!("dualstack.{LB_GREEN}"),
                    ALB_ZONE_US_EAST_1,
                ),
            ),
        ],
    )
    .await
    .unwrap();
    // Read back lower-case with a trailing dot.
    let listed = list_all(&e, None).await;
    let a = listed.iter().find(|r| r.name == "a.example.com.").unwrap();
    assert_eq!(
        a.alias_target.as_ref().unwrap().dns_name,
        format!("{LB_BLUE}.")
    );
    expect_batch_error(
        &e,
        &[(Action::Create, alias("c.example.com", LB_BLUE, NLB_ZONE_US_EAST_1))],
        &[&format!("Tried to create an alias that targets {LB_BLUE}., type A in zone {NLB_ZONE_US_EAST_1}, but the alias target name does not lie within the target zone")],
    )
    .await;
    expect_batch_error(
        &e,
        &[(Action::Create, alias("c.example.com", "unknown.us-east-1.elb.amazonaws.com", ALB_ZONE_US_EAST_1))],
        &[&format!("Tried to create an alias that targets unknown.us-east-1.elb.amazonaws.com., type A in zone {ALB_ZONE_US_EAST_1}, but that target was not found")],
    )
    .await;
    // Aliases to records of the same zone: allowed when the record exists (even earlier in
    // the same batch), refused when it does not.
    let zone = e.zone.clone();
    expect_batch_error(
        &e,
        &[(Action::Create, alias("d.example.com", "target.example.com", &zone))],
        &[&format!("Tried to create an alias that targets target.example.com., type A in zone {zone}, but that target was not found")],
    )
    .await;
    expect_batch_error(
        &e,
        &[(Action::Create, alias("d.example.com", "target.example.org", &zone))],
        &[&format!("Tried to create an alias that targets target.example.org., type A in zone {zone}, but the alias target name does not lie within the target zone")],
    )
    .await;
    submit(
        &e,
        &[
            (
                Action::Create,
                simple("target.example.com", "A", 60, &["1.1.1.1"]),
            ),
            (
                Action::Create,
                alias(
                    "d.example.com",
                    "target.example.com",
                    &format!("/hostedzone/{zone}"),
                ),
            ),
        ],
    )
    .await
    .unwrap();
}

// ---------------------------------------------------------------- TXT and value limits

#[tokio::test]
async fn txt_values_are_quoted_character_strings() {
    let e = env().await;
    expect_batch_error(
        &e,
        &[(Action::Create, simple("t.example.com", "TXT", 300, &["heritage=external-dns"]))],
        &["Invalid Resource Record: FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with 'heritage=external-dns'"],
    )
    .await;
    let long = format!("\"{}\"", "x".repeat(256));
    expect_batch_error(
        &e,
        &[(Action::Create, simple("t.example.com", "TXT", 300, &[long.as_str()]))],
        &[&format!("Invalid Resource Record: FATAL problem: CharacterStringTooLong (Value is too long) encountered with '{long}'")],
    )
    .await;
    let too_big = format!("\"{}\"", "y".repeat(3999));
    expect_invalid_input(
        &e,
        &[(Action::Create, simple("t.example.com", "TXT", 300, &[too_big.as_str()]))],
        &format!("1 validation error detected: Value '{too_big}' at 'changeBatch.changes.1.member.resourceRecordSet.resourceRecords.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 4000"),
    )
    .await;
    let three = format!(
        "\"{}\" \"{}\" \"with \\\"quote\\\"\"",
        "a".repeat(255),
        "b".repeat(255)
    );
    submit(
        &e,
        &[(
            Action::Create,
            simple("t.example.com", "TXT", 300, &[three.as_str()]),
        )],
    )
    .await
    .unwrap();
    let listed = user_records(list_all(&e, None).await);
    assert_eq!(listed[0].records, vec![three]);
    expect_batch_error(
        &e,
        &[(Action::Create, simple("ip.example.com", "A", 300, &["not-an-ip"]))],
        &["Invalid Resource Record: FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with 'not-an-ip'"],
    )
    .await;
}

#[tokio::test]
async fn batch_limits_count_upsert_twice() {
    let e = env().await;
    let records = |n: usize, prefix: &str, a: Action| -> Vec<(Action, Rrset)> {
        (0..n)
            .map(|i| {
                (
                    a,
                    simple(&format!("{prefix}{i}.example.com"), "A", 60, &["1.1.1.1"]),
                )
            })
            .collect()
    };
    expect_batch_error(
        &e,
        &records(1001, "c", Action::Create),
        &["Number of records limit of 1000 exceeded."],
    )
    .await;
    expect_batch_error(
        &e,
        &records(501, "u", Action::Upsert),
        &["Number of records limit of 1000 exceeded."],
    )
    .await;
    submit(&e, &records(500, "u", Action::Upsert))
        .await
        .unwrap();

    // 14 strings of 255 characters: 3,612 characters per value.
    let value = vec![format!("\"{}\"", "z".repeat(255)); 14].join(" ");
    let txts = |n: usize, a: Action| -> Vec<(Action, Rrset)> {
        (0..n)
            .map(|i| {
                (
                    a,
                    simple(&format!("t{i}.example.com"), "TXT", 300, &[value.as_str()]),
                )
            })
            .collect()
    };
    expect_batch_error(
        &e,
        &txts(9, Action::Create),
        &["RDATA character limit of 32000 exceeded."],
    )
    .await;
    expect_batch_error(
        &e,
        &txts(5, Action::Upsert),
        &["RDATA character limit of 32000 exceeded."],
    )
    .await;
    submit(&e, &txts(5, Action::Create)).await.unwrap();
}

// ---------------------------------------------------------------- names

#[tokio::test]
async fn names_are_normalised_and_must_lie_in_the_zone() {
    let e = env().await;
    submit(
        &e,
        &[
            (
                Action::Create,
                simple("*.Example.COM", "A", 60, &["1.1.1.1"]),
            ),
            (
                Action::Create,
                simple("WWW.example.com.", "A", 60, &["1.1.1.1"]),
            ),
        ],
    )
    .await
    .unwrap();
    let names: Vec<String> = user_records(list_all(&e, None).await)
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, vec!["\\052.example.com.", "www.example.com."]);
    // The escaped form names the same record.
    expect_batch_error(
        &e,
        &[(Action::Create, simple("\\052.example.com", "A", 60, &["1.1.1.1"]))],
        &["Tried to create resource record set [name='\\052.example.com.', type='A'] but it already exists"],
    )
    .await;
    expect_batch_error(
        &e,
        &[(
            Action::Create,
            simple("www.example.org", "A", 60, &["1.1.1.1"]),
        )],
        &["RRSet with DNS name www.example.org. is not permitted in zone example.com."],
    )
    .await;
    expect_batch_error(
        &e,
        &[(Action::Create, simple("a..example.com", "A", 60, &["1.1.1.1"]))],
        &["FATAL problem: DomainLabelEmpty (Domain label is empty) encountered with 'a..example.com'"],
    )
    .await;
}

// ---------------------------------------------------------------- listing

#[tokio::test]
async fn listing_order_starts_and_pages_inside_a_weighted_group() {
    let e = env().await;
    let mut changes = vec![
        (
            Action::Create,
            simple("b.example.com", "TXT", 300, &["\"t\""]),
        ),
        (
            Action::Create,
            simple("b.example.com", "AAAA", 60, &["::1"]),
        ),
        (
            Action::Create,
            simple("a.b.example.com", "A", 60, &["1.1.1.1"]),
        ),
        (
            Action::Create,
            simple("z.example.com", "A", 60, &["1.1.1.1"]),
        ),
    ];
    for id in ["e", "c", "a", "d", "b"] {
        changes.push((
            Action::Create,
            weighted("app.example.com", id, 1, "1.1.1.1"),
        ));
    }
    submit(&e, &changes).await.unwrap();
    let expected: Vec<(String, String, Option<String>)> = vec![
        ("example.com.", "NS", None),
        ("example.com.", "SOA", None),
        ("app.example.com.", "A", Some("a")),
        ("app.example.com.", "A", Some("b")),
        ("app.example.com.", "A", Some("c")),
        ("app.example.com.", "A", Some("d")),
        ("app.example.com.", "A", Some("e")),
        ("b.example.com.", "AAAA", None),
        ("b.example.com.", "TXT", None),
        ("a.b.example.com.", "A", None),
        ("z.example.com.", "A", None),
    ]
    .into_iter()
    .map(|(n, t, i)| (n.to_string(), t.to_string(), i.map(str::to_string)))
    .collect();
    let key = |r: &Rrset| (r.name.clone(), r.rtype.clone(), r.set_identifier.clone());
    for page_size in [1, 2, 3, 4, 300] {
        let all = list_all(&e, Some(page_size)).await;
        assert_eq!(
            all.iter().map(key).collect::<Vec<_>>(),
            expected,
            "page {page_size}"
        );
    }

    // A page ending inside the weighted group returns all three tokens.
    let page = e
        .client
        .list_resource_record_sets()
        .hosted_zone_id(&e.zone)
        .max_items(4)
        .send()
        .await
        .unwrap();
    assert!(page.is_truncated());
    assert_eq!(page.next_record_name(), Some("app.example.com."));
    assert_eq!(page.next_record_type(), Some(&sdk::RrType::A));
    assert_eq!(page.next_record_identifier(), Some("c"));
    assert_eq!(page.max_items(), 4);

    // Start by name (first name ≥ it) and by name + type.
    let from_name = e
        .client
        .list_resource_record_sets()
        .hosted_zone_id(&e.zone)
        .start_record_name("b.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        from_name.resource_record_sets()[0].r#type(),
        &sdk::RrType::Aaaa
    );
    let from_type = e
        .client
        .list_resource_record_sets()
        .hosted_zone_id(&e.zone)
        .start_record_name("B.example.com")
        .start_record_type(sdk::RrType::Txt)
        .send()
        .await
        .unwrap();
    assert_eq!(from_type.resource_record_sets().len(), 3);
    assert!(!from_type.is_truncated());

    let err = e
        .client
        .list_resource_record_sets()
        .hosted_zone_id(&e.zone)
        .start_record_type(sdk::RrType::A)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("InvalidInput"));
    assert_eq!(
        err.message(),
        Some("The input is not valid: a StartRecordType was given without a StartRecordName")
    );
}

#[tokio::test]
async fn maxitems_is_capped_at_300() {
    let e = env().await;
    let changes: Vec<(Action, Rrset)> = (0..400)
        .map(|i| {
            (
                Action::Create,
                simple(&format!("h{i:03}.example.com"), "A", 60, &["1.1.1.1"]),
            )
        })
        .collect();
    submit(&e, &changes).await.unwrap();
    let page = e
        .client
        .list_resource_record_sets()
        .hosted_zone_id(&e.zone)
        .max_items(1000)
        .send()
        .await
        .unwrap();
    assert_eq!(page.resource_record_sets().len(), MAX_PAGE);
    assert!(page.is_truncated());
    assert_eq!(list_all(&e, None).await.len(), 402);
}

// ---------------------------------------------------------------- throttling, faults

#[tokio::test]
async fn rate_limit_answers_throttling() {
    let e = start(
        Route53Options {
            // One token, refilled once every 1,000 s: the second request is always throttled.
            rate_limit_per_second: Some(0.001),
            ..Route53Options::default()
        },
        RetryConfig::disabled(),
    )
    .await;
    e.client.list_hosted_zones().send().await.unwrap();
    let err = e.client.list_hosted_zones().send().await.unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    let err = err.into_service_error();
    assert_eq!(err.code(), Some("Throttling"));
    assert_eq!(err.message(), Some("Rate exceeded"));
    let counts = e.r53.request_count();
    assert_eq!(counts.operation("ListHostedZones"), 2);
    assert_eq!(counts.throttled, 1);
    e.r53.set_rate_limit(None);
    e.client.list_hosted_zones().send().await.unwrap();
}

#[tokio::test]
async fn prior_request_not_complete_while_a_change_is_pending() {
    let e = start(
        Route53Options {
            prior_request_not_complete: true,
            rate_limit_per_second: None,
            ..Route53Options::default()
        },
        RetryConfig::disabled(),
    )
    .await;
    submit(
        &e,
        &[(
            Action::Create,
            simple("a.example.com", "A", 60, &["1.1.1.1"]),
        )],
    )
    .await
    .unwrap();
    let err = submit(
        &e,
        &[(
            Action::Create,
            simple("b.example.com", "A", 60, &["1.1.1.1"]),
        )],
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, "PriorRequestNotComplete");
    assert_eq!(
        err.message,
        "The request was rejected because Route 53 was still processing a prior request."
    );
    e.clock.advance(Duration::from_secs(2));
    submit(
        &e,
        &[(
            Action::Create,
            simple("b.example.com", "A", 60, &["1.1.1.1"]),
        )],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn injected_faults() {
    let e = env().await;
    let faults = e.r53.faults();
    faults.throttle_next(1);
    let err = e.client.list_hosted_zones().send().await.unwrap_err();
    assert_eq!(err.into_service_error().code(), Some("Throttling"));

    faults.fail_next_5xx(1);
    let err = e.client.list_hosted_zones().send().await.unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 503);

    faults.fail_next_change("InvalidChangeBatch", "[injected]");
    let err = submit(
        &e,
        &[(
            Action::Create,
            simple("a.example.com", "A", 60, &["1.1.1.1"]),
        )],
    )
    .await
    .unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        ("InvalidChangeBatch", "[injected]")
    );
    assert!(user_records(e.r53.records(&e.zone)).is_empty());
    // Once only.
    faults.set_latency(Duration::from_millis(20));
    submit(
        &e,
        &[(
            Action::Create,
            simple("a.example.com", "A", 60, &["1.1.1.1"]),
        )],
    )
    .await
    .unwrap();
    faults.clear();
    let counts = e.r53.request_count();
    assert_eq!(counts.throttled, 1);
    assert_eq!(counts.faulted, 2);
    assert_eq!(counts.operation("ChangeResourceRecordSets"), 2);
}

#[tokio::test]
async fn the_sdk_retries_throttling_and_5xx_itself() {
    let e = start(
        quiet_options(),
        RetryConfig::standard().with_max_attempts(3),
    )
    .await;
    e.r53.faults().throttle_next(1);
    e.client.list_hosted_zones().send().await.unwrap();
    e.r53.faults().fail_next_5xx(2);
    e.client.list_hosted_zones().send().await.unwrap();
    let counts = e.r53.request_count();
    assert_eq!(counts.operation("ListHostedZones"), 5);
}

// ---------------------------------------------------------------- wire robustness, in-process

#[tokio::test]
async fn malformed_bodies_are_invalid_input() {
    let e = env().await;
    let http = reqwest::Client::new();
    let url = format!("{}/2013-04-01/hostedzone/{}/rrset/", e.endpoint, e.zone);
    for body in [
        "<ChangeResourceRecordSetsRequest><ChangeBatch>",
        "not xml",
        "<Other/>",
    ] {
        let response = http
            .post(&url)
            .headers(signed("POST", &url, body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400);
        let text = response.text().await.unwrap();
        assert!(text.contains("<Code>InvalidInput</Code>"), "{text}");
        assert!(text.contains("<Type>Sender</Type>"), "{text}");
    }
}

/// The headers of `method url` with `body`, signed now for Route53 with `key` and `secret`.
fn signed_with(
    method: &str,
    url: &str,
    body: &str,
    key: &str,
    secret: &str,
) -> axum::http::HeaderMap {
    let signing = sandbox::sigv4::SigningKey {
        access_key_id: key,
        secret,
        session_token: None,
        region: "us-east-1",
        service: "route53",
    };
    sandbox::sigv4::sign(
        &signing,
        &method.parse().unwrap(),
        url,
        &axum::http::HeaderMap::new(),
        body.as_bytes(),
        std::time::SystemTime::now(),
    )
    .unwrap()
}

/// [`signed_with`] the sandbox's own key.
fn signed(method: &str, url: &str, body: &str) -> axum::http::HeaderMap {
    signed_with(
        method,
        url,
        body,
        sandbox::ACCESS_KEY_ID,
        sandbox::SECRET_ACCESS_KEY,
    )
}

#[tokio::test]
async fn unsigned_or_unknown_credentials_are_refused_and_zones_of_another_account_denied() {
    let e = env().await;
    let http = reqwest::Client::new();
    let url = format!("{}/2013-04-01/hostedzone/{}/rrset", e.endpoint, e.zone);
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("<Code>MissingAuthenticationToken</Code>"),
        "{text}"
    );
    let response = http
        .get(&url)
        .headers(signed_with(
            "GET",
            &url,
            "",
            "AKIAUNKNOWNKEY000000",
            "any/secret",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let text = response.text().await.unwrap();
    assert!(text.contains("<Code>InvalidClientTokenId</Code>"), "{text}");
    // The sandbox's key with a signature made with another secret, or with none worked out.
    let mut forged = signed_with("GET", &url, "", sandbox::ACCESS_KEY_ID, "not/the/secret");
    for _ in 0..2 {
        let response = http.get(&url).headers(forged.clone()).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 403);
        let text = response.text().await.unwrap();
        assert!(
            text.contains("<Code>SignatureDoesNotMatch</Code>"),
            "{text}"
        );
        let auth = forged["authorization"].to_str().unwrap();
        let zeros = format!(
            "{}Signature={}",
            &auth[..auth.find("Signature=").unwrap()],
            "0".repeat(64)
        );
        forged.insert("authorization", zeros.parse().unwrap());
    }
    // A zone of another account: listed by nobody else, and refused AccessDenied.
    e.r53.iam().add_account("222222222222");
    let theirs = e
        .r53
        .try_create_zone_in("theirs.example.org", false, "222222222222")
        .unwrap();
    let url = format!("{}/2013-04-01/hostedzone/{theirs}/rrset", e.endpoint);
    let response = http
        .get(&url)
        .headers(signed("GET", &url, ""))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let text = response.text().await.unwrap();
    assert!(text.contains("<Code>AccessDenied</Code>"), "{text}");
    assert!(
        text.contains(&format!(
            "is not authorized to perform: route53:ListResourceRecordSets on resource: arn:aws:route53:::hostedzone/{theirs}"
        )),
        "{text}"
    );
    let (key, secret) = sandbox::iam::account_keys("222222222222");
    let response = http
        .get(&url)
        .headers(signed_with("GET", &url, "", &key, &secret))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let zones_url = format!("{}/2013-04-01/hostedzone", e.endpoint);
    let listed = http
        .get(&zones_url)
        .headers(signed("GET", &zones_url, ""))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listed.contains(&theirs), "{listed}");
}

#[tokio::test]
async fn in_process_change_and_history() {
    let e = env().await;
    let info = e
        .r53
        .change(
            &e.zone,
            vec![sandbox::route53::Change {
                action: Action::Create,
                rrset: simple("A.example.com", "A", 60, &["1.1.1.1"]),
            }],
            Some("first".into()),
        )
        .unwrap();
    let err = e
        .r53
        .change(
            &e.zone,
            vec![sandbox::route53::Change {
                action: Action::Create,
                rrset: simple("a.example.com", "A", 60, &["1.1.1.1"]),
            }],
            None,
        )
        .unwrap_err();
    assert_eq!((err.status, err.code.as_str()), (400, "InvalidChangeBatch"));
    let history = e.r53.history();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].change_id, info.id);
    assert_eq!(history[0].comment.as_deref(), Some("first"));
    assert_eq!(history[0].changes[0].rrset.name, "a.example.com.");
    assert_eq!(history[0].records_after.len(), 3);
    assert_eq!(e.r53.zone_ids(), vec![e.zone.clone()]);
    // Reading from an index gives the same entries, each with the zone right after it.
    e.r53
        .change(
            &e.zone,
            vec![sandbox::route53::Change {
                action: Action::Create,
                rrset: simple("b.example.com", "A", 60, &["1.1.1.2"]),
            }],
            Some("second".into()),
        )
        .unwrap();
    let all = e.r53.history();
    assert_eq!(all.len(), 2);
    assert_eq!(e.r53.history_since(1), all[1..].to_vec());
    assert_eq!(e.r53.history_since(1)[0].records_after.len(), 4);
    assert_eq!(e.r53.history_since(0), all);
    assert!(e.r53.history_since(2).is_empty());
}

#[tokio::test]
async fn a_comment_with_a_control_character_is_refused_and_nothing_applied() {
    let e = env().await;
    let before = e.r53.records(&e.zone);
    let record = simple("ctl.example.com", "A", 60, &["192.0.2.7"]);
    let err = submit_to(
        &e.client,
        &e.zone,
        &[(Action::Create, record.clone())],
        Some("cutover rollback by alice\u{1}"),
    )
    .await
    .unwrap_err();
    assert_eq!((err.status, err.code.as_str()), (Some(400), "InvalidInput"));
    assert!(err.message.contains("U+0001"), "{}", err.message);
    assert_eq!(e.r53.records(&e.zone), before);
    // A tab or a newline is XML; they pass.
    submit_to(
        &e.client,
        &e.zone,
        &[(Action::Create, record.clone())],
        Some("line one\nline two\ttab"),
    )
    .await
    .unwrap();
}
