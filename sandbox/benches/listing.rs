//! Prints how long it takes to list a 10,000-record zone page by page over HTTP with the SDK
//! (target: under 1 s). Run: `cargo bench -p sandbox --bench listing`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::time::Instant;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_route53::Client;
use sandbox::clock::SimClock;
use sandbox::route53::{Action, Change, Route53, Route53Options, Rrset, MAX_RRSETS_PER_ZONE};

fn fill_zone(r53: &Route53, zone: &str) -> anyhow::Result<()> {
    let rrsets: Vec<Rrset> = (0..MAX_RRSETS_PER_ZONE - 2)
        .map(|i| Rrset {
            name: format!("host{i:05}.example.com"),
            rtype: "A".into(),
            ttl: Some(60),
            records: vec!["10.0.0.1".into()],
            ..Rrset::default()
        })
        .collect();
    for chunk in rrsets.chunks(1000) {
        let changes = chunk
            .iter()
            .map(|r| Change {
                action: Action::Create,
                rrset: r.clone(),
            })
            .collect();
        r53.change(zone, changes, None)?;
    }
    Ok(())
}

async fn list_all(client: &Client, zone: &str) -> anyhow::Result<(usize, usize)> {
    let (mut records, mut pages) = (0, 0);
    let mut token = None;
    loop {
        let mut req = client.list_resource_record_sets().hosted_zone_id(zone);
        if let Some((name, rtype, id)) = token.take() {
            req = req
                .start_record_name(name)
                .start_record_type(rtype)
                .set_start_record_identifier(id);
        }
        let page = req.send().await?;
        pages += 1;
        records += page.resource_record_sets().len();
        if !page.is_truncated() {
            return Ok((records, pages));
        }
        token = Some((
            page.next_record_name().unwrap_or_default().to_string(),
            page.next_record_type()
                .cloned()
                .unwrap_or(aws_sdk_route53::types::RrType::A),
            page.next_record_identifier().map(str::to_string),
        ));
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let r53 = Route53::new(
        SimClock::new(),
        Route53Options {
            rate_limit_per_second: None,
            ..Route53Options::default()
        },
    );
    let zone = r53.create_zone("example.com", false);
    let started = Instant::now();
    fill_zone(&r53, &zone)?;
    println!("fill 10,000 rrsets in-process: {:?}", started.elapsed());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
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
        .load()
        .await;
    let client = Client::new(&config);
    list_all(&client, &zone).await?; // warm-up
    for run in 1..=3 {
        let started = Instant::now();
        let (records, pages) = list_all(&client, &zone).await?;
        println!(
            "run {run}: listed {records} rrsets in {pages} pages over HTTP in {:?} (target < 1 s)",
            started.elapsed()
        );
    }
    Ok(())
}
