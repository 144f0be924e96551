//! The SDK Route53 client against the sandbox's Route53 (an independent implementation of the
//! reference, docs/reference/route53.md): paging through weighted groups, the atomic
//! simple→weighted switch, compare-and-swap DELETE failures as InvalidChangeBatch, GetChange
//! PENDING → INSYNC.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_route53::config::{BehaviorVersion, Region};
use cutover::observe::route53::{Route53Api, Route53Error, SdkRoute53};
use cutover_core::route53::model::{
    Action, AliasTarget, Change, ChangeBatch, ChangeStatus, RecordSet, RecordType,
};
use cutover_core::types::{DnsName, SetIdentifier, Weight};
use sandbox::clock::SimClock;
use sandbox::route53::{Route53, Route53Options};

const ALB_ZONE: &str = "Z35SXDOTRQ7X7K";
const LB_BLUE: &str = "blue-123.us-east-1.elb.amazonaws.com";
const LB_GREEN: &str = "green-456.us-east-1.elb.amazonaws.com";

struct Env {
    r53: Route53,
    clock: SimClock,
    client: SdkRoute53,
    zone: String,
}

async fn start() -> Env {
    let clock = SimClock::new();
    let r53 = Route53::new(
        clock.clone(),
        Route53Options {
            rate_limit_per_second: None,
            ..Route53Options::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = r53.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let zone = r53.create_zone("example.com", false);
    r53.register_alias_target(LB_BLUE, ALB_ZONE);
    r53.register_alias_target(LB_GREEN, ALB_ZONE);
    let config = aws_sdk_route53::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            sandbox::ACCESS_KEY_ID,
            sandbox::SECRET_ACCESS_KEY,
            None,
            None,
            "sandbox",
        ))
        .endpoint_url(format!("http://{addr}"))
        .build();
    let client = SdkRoute53::new(aws_sdk_route53::Client::from_conf(config), 1000.0);
    Env {
        r53,
        clock,
        client,
        zone,
    }
}

fn name(s: &str) -> DnsName {
    DnsName::parse(s).unwrap()
}

fn simple_a(host: &str, ip: &str) -> RecordSet {
    RecordSet {
        name: name(host),
        rtype: RecordType::A,
        set_identifier: None,
        weight: None,
        ttl: Some(60),
        values: vec![ip.into()],
        alias: None,
        health_check_id: None,
        other_policy: None,
    }
}

fn weighted_alias(host: &str, id: &str, weight: u8, lb: &str) -> RecordSet {
    RecordSet {
        name: name(host),
        rtype: RecordType::A,
        set_identifier: Some(SetIdentifier::new(id).unwrap()),
        weight: Some(Weight(weight)),
        ttl: None,
        values: vec![],
        alias: Some(AliasTarget {
            hosted_zone_id: ALB_ZONE.into(),
            dns_name: name(lb),
            evaluate_target_health: true,
        }),
        health_check_id: None,
        other_policy: None,
    }
}

fn batch(changes: Vec<(Action, RecordSet)>) -> ChangeBatch {
    ChangeBatch {
        comment: Some("cutover test".into()),
        changes: changes
            .into_iter()
            .map(|(action, record)| Change { action, record })
            .collect(),
    }
}

#[tokio::test]
async fn simple_to_weighted_switch_then_a_stale_delete_is_refused_whole() {
    let env = start().await;
    let host = "payments.example.com";
    let info = env
        .client
        .change(
            &env.zone,
            &batch(vec![(Action::Create, simple_a(host, "192.0.2.10"))]),
        )
        .await
        .unwrap();
    assert_eq!(info.status, ChangeStatus::Pending);
    assert_eq!(
        env.client.get_change(&info.id).await.unwrap(),
        ChangeStatus::Pending
    );
    env.clock.advance(Duration::from_secs(120));
    assert_eq!(
        env.client.get_change(&info.id).await.unwrap(),
        ChangeStatus::Insync
    );

    // [DELETE simple, CREATE weighted…] switches atomically (docs/reference/route53.md "Simple vs
    // weighted").
    let blue = weighted_alias(host, "payments-blue", 100, LB_BLUE);
    let green = weighted_alias(host, "payments-green", 0, LB_GREEN);
    env.client
        .change(
            &env.zone,
            &batch(vec![
                (Action::Delete, simple_a(host, "192.0.2.10")),
                (Action::Create, blue.clone()),
                (Action::Create, green.clone()),
            ]),
        )
        .await
        .unwrap();
    let listed = env.client.list_records(&env.zone).await.unwrap();
    let mut weighted: Vec<RecordSet> = listed
        .into_iter()
        .filter(|r| r.name == name(host))
        .collect();
    weighted.sort_by(|a, b| a.set_identifier.cmp(&b.set_identifier));
    assert_eq!(weighted, vec![blue.clone(), green.clone()]);

    // A DELETE with a stale weight fails the whole batch: nothing of it is applied.
    let stale_green = weighted_alias(host, "payments-green", 10, LB_GREEN);
    let err = env
        .client
        .change(
            &env.zone,
            &batch(vec![
                (Action::Delete, blue.clone()),
                (
                    Action::Create,
                    weighted_alias(host, "payments-blue", 75, LB_BLUE),
                ),
                (Action::Delete, stale_green),
                (
                    Action::Create,
                    weighted_alias(host, "payments-green", 25, LB_GREEN),
                ),
            ]),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Route53Error::InvalidChangeBatch {
            messages: vec![
                "Tried to delete resource record set [name='payments.example.com.', type='A', \
                 set-identifier='payments-green'] but the values provided do not match the current values"
                    .into(),
                // Every error is collected, each change against the zone as the earlier ones
                // left it: the failed DELETE leaves green in place, so its CREATE fails too.
                "Tried to create resource record set [name='payments.example.com.', type='A', \
                 set-identifier='payments-green'] but it already exists"
                    .into(),
            ]
        }
    );
    let after: Vec<RecordSet> = env
        .client
        .list_records(&env.zone)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.name == name(host))
        .collect();
    assert!(
        after.contains(&blue) && after.contains(&green),
        "unchanged: {after:?}"
    );
}

#[tokio::test]
async fn listing_pages_through_weighted_groups_and_matches_the_zone() {
    let env = start().await;
    // 150 hosts × (2 weighted A) + 150 TXT = 450 record sets + NS + SOA: two page boundaries,
    // the groups make some of them fall inside a weighted group.
    for chunk in (0..150).collect::<Vec<_>>().chunks(50) {
        let mut changes = Vec::new();
        for i in chunk {
            let host = format!("svc-{i:03}.example.com");
            changes.push((Action::Create, weighted_alias(&host, "blue", 60, LB_BLUE)));
            changes.push((Action::Create, weighted_alias(&host, "green", 40, LB_GREEN)));
            let mut txt = simple_a(&format!("a-svc-{i:03}.example.com"), "");
            txt.rtype = RecordType::Txt;
            txt.ttl = Some(300);
            txt.values = vec!["\"heritage=external-dns,external-dns/owner=blue\"".into()];
            changes.push((Action::Create, txt));
        }
        env.client.change(&env.zone, &batch(changes)).await.unwrap();
    }
    let before = env.client.request_count();

    let listed = env.client.list_records(&env.zone).await.unwrap();

    let expected = env.r53.records(&env.zone);
    assert_eq!(listed.len(), expected.len());
    assert_eq!(listed.len(), 452);
    assert_eq!(
        env.client.request_count() - before,
        2,
        "two pages of at most 300"
    );
    for (got, want) in listed.iter().zip(expected.iter()) {
        assert_eq!(got.name, name(&want.name));
        assert_eq!(got.rtype.as_str(), want.rtype);
        assert_eq!(
            got.set_identifier.as_ref().map(|s| s.as_str()),
            want.set_identifier.as_deref()
        );
    }
    let weighted = listed.iter().filter(|r| r.weight.is_some()).count();
    assert_eq!(weighted, 300);
}

#[tokio::test]
async fn unknown_zone_and_unknown_change_map_to_their_variants() {
    let env = start().await;
    let err = env
        .client
        .list_records("Z0000NOSUCHZONE")
        .await
        .unwrap_err();
    assert!(matches!(err, Route53Error::NoSuchHostedZone(_)), "{err:?}");
    let err = env.client.get_change("CNOSUCHCHANGE").await.unwrap_err();
    assert!(matches!(err, Route53Error::NoSuchChange(_)), "{err:?}");
}
