//! Prints how long it takes to list a 10,000-record zone page by page over HTTP with the SDK
//! (target: under 1 s), and what loading a 10,000-record world costs in time and memory (target:
//! well under 200 MB). Run: `cargo bench -p sandbox --bench listing`.
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

/// The peak resident memory of this process (`VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A world of one zone with `n` records (one A record per name), loaded the way `sandbox serve
/// --world` loads one: every record through the validating change path.
async fn load_world(n: usize) -> anyhow::Result<()> {
    let mut world = sandbox::world::World::from_toml("[[zones]]\nname = \"example.com\"\n")?;
    world.records = (0..n)
        .map(|i| sandbox::world::RecordSpec {
            zone: "example.com".into(),
            name: format!("host{i:05}.example.com"),
            record_type: "A".into(),
            ttl: Some(60),
            values: vec!["10.0.0.1".into()],
            alias: None,
            set_identifier: None,
            weight: None,
            health_check_id: None,
        })
        .collect();
    let before = peak_rss_mib().unwrap_or(0.0);
    let started = Instant::now();
    let sandbox = sandbox::Sandbox::start(
        world,
        sandbox::SandboxOptions {
            run_external_dns_loops: false,
            ..sandbox::SandboxOptions::default()
        },
    )
    .await?;
    let elapsed = started.elapsed();
    let history = sandbox.route53().history_len();
    println!(
        "load a {n}-record world: {elapsed:?}, {history} changes in the history, peak memory \
         {:.0} MiB (before loading {before:.0} MiB; target well under 200 MiB)",
        peak_rss_mib().unwrap_or(0.0)
    );
    sandbox.shutdown();
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    load_world(MAX_RRSETS_PER_ZONE - 2).await?;
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
