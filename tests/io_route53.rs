//! The SDK Route53 client against a scripted REST-XML server on loopback: paging (a page ending
//! inside a weighted group, the non-moving-token guard), conversion, error mapping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod io_support;

use aws_credential_types::Credentials;
use aws_sdk_route53::config::{BehaviorVersion, Region};
use cutover::observe::route53::{Route53Api, Route53Error, SdkRoute53};
use cutover_core::route53::model::{
    Action, AliasTarget, Change, ChangeBatch, ChangeStatus, RecordSet, RecordType,
};
use cutover_core::types::{DnsName, SetIdentifier, Weight};
use io_support::{FakeServer, Seen};

const NS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

fn sdk_client(server: &FakeServer) -> aws_sdk_route53::Client {
    let config = aws_sdk_route53::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "not-a-real-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(server.url())
        .build();
    aws_sdk_route53::Client::from_conf(config)
}

/// A fast limiter for tests: the limiter itself is tested in `route53::ratelimit`.
fn client(server: &FakeServer) -> SdkRoute53 {
    SdkRoute53::new(sdk_client(server), 1000.0)
}

fn list_page(records: &str, next: Option<(&str, &str, Option<&str>)>) -> String {
    let tail = match next {
        None => "<IsTruncated>false</IsTruncated>".to_string(),
        Some((name, rtype, id)) => format!(
            "<IsTruncated>true</IsTruncated><NextRecordName>{name}</NextRecordName>\
             <NextRecordType>{rtype}</NextRecordType>{}",
            id.map(|i| format!("<NextRecordIdentifier>{i}</NextRecordIdentifier>"))
                .unwrap_or_default()
        ),
    };
    format!(
        "<?xml version=\"1.0\"?>\n<ListResourceRecordSetsResponse xmlns=\"{NS}\">\
         <ResourceRecordSets>{records}</ResourceRecordSets>{tail}<MaxItems>300</MaxItems>\
         </ListResourceRecordSetsResponse>"
    )
}

fn weighted_alias(name: &str, id: &str, weight: u8, lb: &str) -> String {
    format!(
        "<ResourceRecordSet><Name>{name}</Name><Type>A</Type><SetIdentifier>{id}</SetIdentifier>\
         <Weight>{weight}</Weight><AliasTarget><HostedZoneId>Z35SXDOTRQ7X7K</HostedZoneId>\
         <DNSName>{lb}</DNSName><EvaluateTargetHealth>true</EvaluateTargetHealth></AliasTarget>\
         </ResourceRecordSet>"
    )
}

fn simple(name: &str, rtype: &str, ttl: u32, values: &[&str]) -> String {
    let values: String = values
        .iter()
        .map(|v| format!("<ResourceRecord><Value>{v}</Value></ResourceRecord>"))
        .collect();
    format!(
        "<ResourceRecordSet><Name>{name}</Name><Type>{rtype}</Type><TTL>{ttl}</TTL>\
         <ResourceRecords>{values}</ResourceRecords></ResourceRecordSet>"
    )
}

fn error_response(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error>\
         <RequestId>b25f48e8-84fd-11e6-80d9-574e0c4664cb</RequestId></ErrorResponse>"
    )
}

fn change_info_response(root: &str, id: &str, status: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<{root} xmlns=\"{NS}\"><ChangeInfo><Id>{id}</Id>\
         <Status>{status}</Status><SubmittedAt>2026-01-01T00:00:00.000Z</SubmittedAt>\
         </ChangeInfo></{root}>"
    )
}

fn name(s: &str) -> DnsName {
    DnsName::parse(s).unwrap()
}

#[tokio::test]
async fn paging_follows_next_tokens_through_a_weighted_group() {
    let server = FakeServer::start(|seen: &Seen, _| {
        let page = match seen.param("name").as_deref() {
            None => list_page(
                &format!(
                    "{}{}",
                    simple("example.com.", "NS", 172800, &["ns-1.awsdns-01.org."]),
                    weighted_alias(
                        "payments.example.com.",
                        "payments-blue",
                        90,
                        "blue-lb.us-east-1.elb.amazonaws.com."
                    )
                ),
                // The page ends inside the weighted group: NextRecordIdentifier is set.
                Some(("payments.example.com.", "A", Some("payments-green"))),
            ),
            Some("payments.example.com.") => list_page(
                &format!(
                    "{}{}",
                    weighted_alias(
                        "payments.example.com.",
                        "payments-green",
                        10,
                        "green-lb.us-east-1.elb.amazonaws.com."
                    ),
                    simple(
                        "\\052.example.com.",
                        "TXT",
                        300,
                        &["&quot;heritage=external-dns,external-dns/owner=blue&quot;"]
                    )
                ),
                None,
            ),
            Some(other) => error_response("InvalidInput", &format!("unexpected start {other}")),
        };
        (200, page)
    })
    .await;
    let r53 = client(&server);

    let records = r53.list_records("Z1EXAMPLE").await.unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(r53.request_count(), 2);
    assert_eq!(requests[0].path, "/2013-04-01/hostedzone/Z1EXAMPLE/rrset");
    assert_eq!(requests[0].param("maxitems").as_deref(), Some("300"));
    assert_eq!(requests[0].param("name"), None);
    // All three tokens are passed back.
    assert_eq!(
        requests[1].param("name").as_deref(),
        Some("payments.example.com.")
    );
    assert_eq!(requests[1].param("type").as_deref(), Some("A"));
    assert_eq!(
        requests[1].param("identifier").as_deref(),
        Some("payments-green")
    );

    assert_eq!(records.len(), 4);
    assert_eq!(records[0].rtype, RecordType::Other("NS".into()));
    assert_eq!(records[0].ttl, Some(172800));
    assert_eq!(
        records[1],
        RecordSet {
            name: name("payments.example.com"),
            rtype: RecordType::A,
            set_identifier: Some(SetIdentifier::new("payments-blue").unwrap()),
            weight: Some(Weight(90)),
            ttl: None,
            values: vec![],
            alias: Some(AliasTarget {
                hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
                dns_name: name("blue-lb.us-east-1.elb.amazonaws.com"),
                evaluate_target_health: true,
            }),
            health_check_id: None,
            other_policy: None,
        }
    );
    assert_eq!(records[2].weight, Some(Weight(10)));
    assert_eq!(
        records[2].set_identifier.as_ref().map(|s| s.as_str()),
        Some("payments-green")
    );
    // `\052` is decoded; TXT values are kept as Route53 gave them.
    assert_eq!(records[3].name.as_str(), "*.example.com");
    assert_eq!(
        records[3].values,
        vec!["\"heritage=external-dns,external-dns/owner=blue\"".to_string()]
    );
}

#[tokio::test]
async fn paging_stops_with_an_error_when_tokens_do_not_move() {
    let server = FakeServer::start(|_: &Seen, _| {
        (
            200,
            list_page(
                &simple("a.example.com.", "A", 60, &["192.0.2.1"]),
                Some(("a.example.com.", "A", None)),
            ),
        )
    })
    .await;
    let r53 = client(&server);

    let err = r53.list_records("Z1EXAMPLE").await.unwrap_err();

    match err {
        Route53Error::BadReply { field, reason } => {
            assert_eq!(field, "NextRecordName");
            assert!(reason.contains("did not move"), "{reason}");
        }
        other => panic!("expected BadReply, got {other:?}"),
    }
    // The first page moved from "no start" to a.example.com.; the second repeated it.
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_truncated_page_without_next_name_is_a_bad_reply() {
    let server = FakeServer::start(|_: &Seen, _| {
        (
            200,
            format!(
                "<ListResourceRecordSetsResponse xmlns=\"{NS}\"><ResourceRecordSets/>\
                 <IsTruncated>true</IsTruncated><MaxItems>300</MaxItems>\
                 </ListResourceRecordSetsResponse>"
            ),
        )
    })
    .await;
    let err = client(&server).list_records("Z1").await.unwrap_err();
    assert_eq!(
        err,
        Route53Error::BadReply {
            field: "NextRecordName".into(),
            reason: "missing while IsTruncated".into()
        }
    );
}

#[tokio::test]
async fn a_malformed_listed_record_names_its_field() {
    let server = FakeServer::start(|_: &Seen, _| {
        (
            200,
            list_page(
                &format!(
                    "{}{}",
                    simple("a.example.com.", "A", 60, &["192.0.2.1"]),
                    weighted_alias("b.example.com.", "s", 0, "lb..example.com.")
                ),
                None,
            ),
        )
    })
    .await;
    let err = client(&server).list_records("Z1").await.unwrap_err();
    match err {
        Route53Error::BadReply { field, reason } => {
            assert_eq!(field, "ResourceRecordSets[1].AliasTarget.DNSName");
            assert!(reason.contains("empty label"), "{reason}");
        }
        other => panic!("expected BadReply, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_zone_maps_to_no_such_hosted_zone() {
    let server = FakeServer::start(|_: &Seen, _| {
        (
            404,
            error_response("NoSuchHostedZone", "No hosted zone found with ID: Z404"),
        )
    })
    .await;
    let err = client(&server).list_records("Z404").await.unwrap_err();
    assert_eq!(
        err,
        Route53Error::NoSuchHostedZone("No hosted zone found with ID: Z404".into())
    );
}

fn weighted_batch() -> ChangeBatch {
    let record = |id: &str, weight: u8| RecordSet {
        name: name("payments.example.com"),
        rtype: RecordType::A,
        set_identifier: Some(SetIdentifier::new(id).unwrap()),
        weight: Some(Weight(weight)),
        ttl: None,
        values: vec![],
        alias: Some(AliasTarget {
            hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
            dns_name: name("green-lb.us-east-1.elb.amazonaws.com"),
            evaluate_target_health: true,
        }),
        health_check_id: None,
        other_policy: None,
    };
    ChangeBatch {
        comment: Some("cutover: promote payments by alice (5xx fixed)".into()),
        changes: vec![
            Change {
                action: Action::Delete,
                record: record("payments-green", 10),
            },
            Change {
                action: Action::Create,
                record: record("payments-green", 25),
            },
        ],
    }
}

#[tokio::test]
async fn a_change_is_sent_as_rest_xml_and_its_info_read_back() {
    let server = FakeServer::start(|seen: &Seen, _| {
        if seen.method == "POST" {
            (
                200,
                change_info_response(
                    "ChangeResourceRecordSetsResponse",
                    "/change/C2682N5HXP0BZ4",
                    "PENDING",
                ),
            )
        } else {
            (
                200,
                change_info_response("GetChangeResponse", "/change/C2682N5HXP0BZ4", "INSYNC"),
            )
        }
    })
    .await;
    let r53 = client(&server);

    let info = r53
        .change("/hostedzone/Z1EXAMPLE", &weighted_batch())
        .await
        .unwrap();
    assert_eq!(info.id, "C2682N5HXP0BZ4");
    assert_eq!(info.status, ChangeStatus::Pending);
    let status = r53.get_change(&info.id).await.unwrap();
    assert_eq!(status, ChangeStatus::Insync);

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    // The SDK strips the /hostedzone/ prefix itself.
    assert_eq!(requests[0].path, "/2013-04-01/hostedzone/Z1EXAMPLE/rrset");
    let body = &requests[0].body;
    for expected in [
        "<Comment>cutover: promote payments by alice (5xx fixed)</Comment>",
        "<Action>DELETE</Action>",
        "<Action>CREATE</Action>",
        "<Name>payments.example.com.</Name>",
        "<SetIdentifier>payments-green</SetIdentifier>",
        "<Weight>10</Weight>",
        "<Weight>25</Weight>",
        "<DNSName>green-lb.us-east-1.elb.amazonaws.com.</DNSName>",
        "<EvaluateTargetHealth>true</EvaluateTargetHealth>",
    ] {
        assert!(body.contains(expected), "missing {expected} in {body}");
    }
    assert!(!body.contains("<TTL>"), "an alias carries no TTL: {body}");
    assert!(body.find("DELETE") < body.find("CREATE"), "order is kept");
    assert_eq!(requests[1].path, "/2013-04-01/change/C2682N5HXP0BZ4");
    assert_eq!(requests[1].method, "GET");
}

#[tokio::test]
async fn invalid_change_batch_keeps_every_message() {
    let joined = "[Tried to delete resource record set [name='payments.example.com.', type='A', \
                  set-identifier='payments-green'] but the values provided do not match the current values, \
                  RRSet with DNS name payments.example.com., type A, SetIdentifier payments-blue cannot be created as a non-weighted set exists with the same name and type.]";
    let server =
        FakeServer::start(move |_: &Seen, _| (400, error_response("InvalidChangeBatch", joined)))
            .await;
    let r53 = client(&server);

    let err = r53.change("Z1", &weighted_batch()).await.unwrap_err();

    assert_eq!(
        err,
        Route53Error::InvalidChangeBatch {
            messages: vec![
                "Tried to delete resource record set [name='payments.example.com.', type='A', \
                 set-identifier='payments-green'] but the values provided do not match the current values"
                    .to_string(),
                "RRSet with DNS name payments.example.com., type A, SetIdentifier payments-blue \
                 cannot be created as a non-weighted set exists with the same name and type."
                    .to_string(),
            ]
        }
    );
    // A client error is not retried.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn invalid_input_and_unknown_change_map_to_their_variants() {
    let server = FakeServer::start(|seen: &Seen, _| {
        if seen.method == "POST" {
            (
                400,
                error_response(
                    "InvalidInput",
                    "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=CREATE, Name=x.example.com., Type=A, SetIdentifier=null]",
                ),
            )
        } else {
            (
                404,
                error_response("NoSuchChange", "A change with the specified change ID does not exist."),
            )
        }
    })
    .await;
    let r53 = client(&server);
    let err = r53.change("Z1", &weighted_batch()).await.unwrap_err();
    assert!(
        matches!(&err, Route53Error::InvalidInput(m) if m.starts_with("Invalid request: Expected exactly one of")),
        "{err:?}"
    );
    let err = r53.get_change("C404").await.unwrap_err();
    assert_eq!(
        err,
        Route53Error::NoSuchChange("A change with the specified change ID does not exist.".into())
    );
}

#[tokio::test]
async fn throttling_is_answered_at_once_for_the_engine_to_retry() {
    // The SDK's own retries are off: the engine retries transient errors itself, with backoff
    // bounded by the invocation's deadline (engine::retry), so one call is one request.
    let server = FakeServer::start(|_: &Seen, index| {
        if index == 0 {
            (400, error_response("Throttling", "Rate exceeded"))
        } else {
            (
                200,
                change_info_response("GetChangeResponse", "/change/C1", "PENDING"),
            )
        }
    })
    .await;
    let r53 = client(&server);
    let err = r53.get_change("C1").await.unwrap_err();
    assert_eq!(err, Route53Error::Throttled("Rate exceeded".into()));
    assert!(err.is_transient());
    assert_eq!(server.requests().len(), 1, "no retry inside the client");
    // Retried within a deadline, the call goes through.
    let out = cutover::engine::retry::with_retries(
        cutover::engine::retry::Deadline::after(std::time::Duration::from_secs(60)),
        cutover::engine::retry::Priority::Normal,
        || r53.get_change("C1"),
    )
    .await;
    assert_eq!(out.result, Ok(ChangeStatus::Pending));
    assert_eq!(out.attempts, 1, "the second request answered");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_5xx_is_transient_and_may_have_applied_a_change() {
    let server = FakeServer::start(|_: &Seen, _| {
        (
            503,
            error_response("ServiceUnavailable", "Service is unavailable"),
        )
    })
    .await;
    let r53 = client(&server);
    let err = r53.get_change("C1").await.unwrap_err();
    assert!(matches!(err, Route53Error::Unavailable(_)), "{err:?}");
    assert!(err.is_transient() && err.change_may_have_applied());
    assert!(!Route53Error::Throttled("x".into()).change_may_have_applied());
    assert!(!Route53Error::InvalidChangeBatch { messages: vec![] }.is_transient());
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    // Bind then drop a listener: nothing answers on that port.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let config = aws_sdk_route53::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(format!("http://{addr}"))
        .retry_config(aws_sdk_route53::config::retry::RetryConfig::disabled())
        .build();
    let r53 = SdkRoute53::new(aws_sdk_route53::Client::from_conf(config), 1000.0);
    let err = r53.get_change("C1").await.unwrap_err();
    assert!(matches!(err, Route53Error::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn the_trait_is_object_safe() {
    let server = FakeServer::start(|_: &Seen, _| {
        (
            200,
            change_info_response("GetChangeResponse", "/change/C9", "INSYNC"),
        )
    })
    .await;
    let api: std::sync::Arc<dyn Route53Api> = std::sync::Arc::new(client(&server));
    assert_eq!(api.get_change("C9").await.unwrap(), ChangeStatus::Insync);
}
