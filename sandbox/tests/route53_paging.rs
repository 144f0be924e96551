//! Paging a full 10,000-record zone over HTTP with the SDK is correct and complete.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::collections::HashSet;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_route53::types::RrType;
use aws_sdk_route53::Client;
use sandbox::clock::SimClock;
use sandbox::route53::{Action, Change, Route53, Route53Options, Rrset, MAX_RRSETS_PER_ZONE};

/// Fills the zone to exactly `MAX_RRSETS_PER_ZONE` rrsets (SOA and NS included): weighted groups
/// of 3 and simple records, in batches within the 1,000-record limit.
fn fill_zone(r53: &Route53, zone: &str) {
    let mut rrsets = Vec::new();
    for g in 0..1000 {
        for id in ["blue", "green", "canary"] {
            rrsets.push(Rrset {
                name: format!("svc{g:04}.example.com"),
                rtype: "A".into(),
                set_identifier: Some(id.into()),
                weight: Some(1),
                ttl: Some(60),
                records: vec!["10.0.0.1".into()],
                ..Rrset::default()
            });
        }
    }
    let simple_count = MAX_RRSETS_PER_ZONE - 2 - rrsets.len();
    for i in 0..simple_count {
        rrsets.push(Rrset {
            name: format!("h{i:05}.sub{}.example.com", i % 7),
            rtype: if i % 2 == 0 { "A" } else { "TXT" }.into(),
            ttl: Some(300),
            records: vec![if i % 2 == 0 {
                "10.0.0.2".into()
            } else {
                format!("\"v{i}\"")
            }],
            ..Rrset::default()
        });
    }
    for chunk in rrsets.chunks(1000) {
        let changes = chunk
            .iter()
            .map(|r| Change {
                action: Action::Create,
                rrset: r.clone(),
            })
            .collect();
        r53.change(zone, changes, None).unwrap();
    }
}

async fn list_everything(
    client: &Client,
    zone: &str,
    max_items: Option<i32>,
) -> (Vec<(String, String, Option<String>)>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    let mut token: Option<(String, RrType, Option<String>)> = None;
    loop {
        let mut req = client
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .set_max_items(max_items);
        if let Some((name, rtype, id)) = &token {
            req = req
                .start_record_name(name)
                .start_record_type(rtype.clone())
                .set_start_record_identifier(id.clone());
        }
        let page = req.send().await.unwrap();
        pages += 1;
        assert!(page.resource_record_sets().len() <= 300);
        for r in page.resource_record_sets() {
            out.push((
                r.name().to_string(),
                r.r#type().as_str().to_string(),
                r.set_identifier().map(str::to_string),
            ));
        }
        if !page.is_truncated() {
            return (out, pages);
        }
        let next = (
            page.next_record_name().unwrap().to_string(),
            page.next_record_type().unwrap().clone(),
            page.next_record_identifier().map(str::to_string),
        );
        assert_ne!(Some(&next), token.as_ref(), "paging tokens must move");
        token = Some(next);
    }
}

#[tokio::test]
async fn paging_ten_thousand_records_is_complete_and_ordered() {
    let r53 = Route53::new(
        SimClock::new(),
        Route53Options {
            rate_limit_per_second: None,
            ..Route53Options::default()
        },
    );
    let zone = r53.create_zone("example.com", false);
    fill_zone(&r53, &zone);
    assert_eq!(r53.records(&zone).len(), MAX_RRSETS_PER_ZONE);

    // The quota: one more rrset is refused.
    let err = r53
        .change(
            &zone,
            vec![Change {
                action: Action::Create,
                rrset: Rrset {
                    name: "one-more.example.com".into(),
                    rtype: "A".into(),
                    ttl: Some(60),
                    records: vec!["10.0.0.3".into()],
                    ..Rrset::default()
                },
            }],
            None,
        )
        .unwrap_err();
    assert_eq!(err.code, "InvalidChangeBatch");
    assert_eq!(
        err.message,
        format!("[Exceeded limit MAX_RRSETS_BY_ZONE for zone: {zone}]")
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = r53.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(format!("http://{addr}"))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::from_keys(
            sandbox::ACCESS_KEY_ID,
            sandbox::SECRET_ACCESS_KEY,
            None,
        ))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let client = Client::new(&config);

    let expected: Vec<(String, String, Option<String>)> = r53
        .records(&zone)
        .into_iter()
        .map(|r| (r.name, r.rtype, r.set_identifier))
        .collect();
    // Default page size (300) and an odd one so pages end inside weighted groups.
    for (max_items, expected_pages) in [(None, 34), (Some(97), 104)] {
        let (listed, pages) = list_everything(&client, &zone, max_items).await;
        assert_eq!(pages, expected_pages);
        assert_eq!(listed.len(), MAX_RRSETS_PER_ZONE);
        let unique: HashSet<_> = listed.iter().collect();
        assert_eq!(unique.len(), MAX_RRSETS_PER_ZONE, "no duplicates");
        assert_eq!(listed, expected, "complete and in listing order");
    }
}
