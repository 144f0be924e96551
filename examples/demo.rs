//! The demo: cutover's real Lambda handler moves three services from cluster `blue` to cluster
//! `green` on the local sandbox (Route53, EKS, two Kubernetes APIs, two external-dns, two load
//! balancers — all on loopback, simulated time), with one automatic rollback.
//!
//!     cargo run --example demo
//!
//! payments starts as a simple record (converted to weighted in one atomic batch); checkout and
//! search are already weighted, as teams set them up by hand. search has real traffic (a
//! simulated client population, a fifth of which never re-resolves): its observed split lags its
//! weight, and when its new version starts failing real requests at 25 % — while `/healthz`
//! stays green — the 5xx rate of its load balancer's metrics rolls it back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sandbox::lb::Behaviour;
use sandbox::world::{World, DEFAULT_WORLD_TOML};
use serde_json::Value;
use support::{service_report, Harness, FAST_ROLLOUT};

const SERVICES: [&str; 3] = ["payments", "checkout", "search"];
const FAILING: &str = "search";

#[derive(Default, Clone)]
struct Progress {
    share: Option<u64>,
    outcome: String,
    changes: usize,
    last: String,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    println!(
        "cutover demo: blue → green for {} on the local sandbox\n",
        SERVICES.join(", ")
    );
    let world = World::from_toml(&format!(
        "{DEFAULT_WORLD_TOML}\n[[traffic]]\nhost = \"search.example.com\"\nrequests_per_second = 20\nclients = 400\nignore_ttl_share = 0.2\nseed = 7\n"
    ))?;
    // search's canary is also judged by its load balancers' metrics of real traffic.
    let rollout = format!(
        "{FAST_ROLLOUT}\n[services.search.overrides.metrics]\nwindow = \"2m\"\nmin_requests = 50\nmax_error_rate = 2.0\nmax_error_ratio = 3\n"
    );
    let h = Harness::start(
        world,
        &[
            ("payments", "blue", "green"),
            ("checkout", "blue", "green"),
            ("search", "blue", "green"),
        ],
        &rollout,
    )
    .await;
    println!(
        "sandbox up: Route53 {}  EKS {}",
        h.sandbox.endpoints().route53,
        h.sandbox.endpoints().eks
    );
    println!(
        "steps 5 → 25 → 50 → 100 %, bake 2 min each (simulated), rollback after 2 bad checks;\n\
         search: 20 req/s of real traffic, a fifth of its clients never re-resolve; its 5xx rate \
         must stay under 2 %\n"
    );

    // payments gets deployed on green too (same simple key: green's external-dns leaves it to blue).
    h.deploy_ingress("green", "payments");
    h.external_dns().await;

    let mut progress: BTreeMap<&str, Progress> =
        SERVICES.iter().map(|s| (*s, Progress::default())).collect();
    println!(
        "{:>7}  {:<9} {:<10} {:>11}  {:<30} summary",
        "time", "service", "decision", "green share", "health (green | blue)"
    );
    for (i, service) in SERVICES.iter().enumerate() {
        let report = h
            .deploy_event(&format!("deploy-{i}"), service, "green")
            .await;
        print_entries(0, &report, &mut progress);
    }
    // As the start report says for payments: name the weighted keys on both clusters.
    h.name_weighted_keys("payments", "blue", "green");

    let mut broke = false;
    let mut handed_over = false;
    for minute in 1..=40u64 {
        h.advance(Duration::from_secs(60));
        h.external_dns().await;
        let report = h.tick().await;
        print_entries(minute, &report, &mut progress);

        if !broke && progress[FAILING].share == Some(25) {
            println!(
                "{:>7}  {FAILING:<9} !! green's {FAILING} starts answering 503 to real requests; /healthz stays 200",
                clock(minute)
            );
            h.set_lb_path_behaviour(
                "green",
                &format!("{FAILING}.example.com"),
                "/",
                Behaviour::Status { status: 503 },
            );
            broke = true;
        }
        let ready: Vec<&str> = SERVICES
            .iter()
            .copied()
            .filter(|s| *s != FAILING && progress[s].share == Some(100))
            .collect();
        if !handed_over && ready.len() == SERVICES.len() - 1 {
            println!("{:>7}  the team follows the reports: green annotates weight 100, blue's Ingresses are deleted", clock(minute));
            for service in ready {
                h.annotate("green", service, &[("aws-weight", "100")]);
                h.remove_ingress("blue", service);
            }
            handed_over = true;
        }
        let finished = SERVICES
            .iter()
            .all(|s| matches!(progress[s].outcome.as_str(), "complete" | "rollback"));
        if finished {
            break;
        }
    }

    println!("\nsummary");
    println!(
        "{:<9} {:>11}  {:<10} {:>14}  last word",
        "service", "green share", "outcome", "Route53 changes"
    );
    for (service, p) in &progress {
        let share = p
            .share
            .map(|s| format!("{s} %"))
            .unwrap_or_else(|| "-".into());
        println!(
            "{service:<9} {share:>11}  {:<10} {:>14}  {}",
            p.outcome, p.changes, p.last
        );
    }
    let requests = h.route53.request_count();
    println!(
        "\ncutover sent {requests} Route53 requests (client-side limit {} req/s); {:.1} s wall time",
        h.ctx.config.rate_limit,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn clock(minute: u64) -> String {
    format!("t+{minute:02}m")
}

fn print_entries(minute: u64, report: &Value, progress: &mut BTreeMap<&str, Progress>) {
    for service in SERVICES {
        let Some(entry) = service_report(report, service) else {
            continue;
        };
        let kind = entry["kind"].as_str().unwrap_or("?").to_string();
        let share = entry["weights_after"]["to"]
            .as_u64()
            .or(entry["weights_before"]["to"].as_u64());
        let p = progress.entry(service).or_default();
        p.share = share.or(p.share);
        if entry["applied"] == true {
            p.changes += 1;
        }
        let finished = matches!(p.outcome.as_str(), "complete" | "rollback");
        if kind == "noop" && finished {
            // Nothing left to do for this one.
            continue;
        }
        if !finished && kind != "wait" {
            p.outcome = kind.clone();
        }
        let summary = entry["summary"].as_str().unwrap_or("").to_string();
        p.last = summary.clone();
        let before = entry["weights_before"]["to"].as_u64();
        let after = entry["weights_after"]["to"].as_u64();
        let shares = match (before, after) {
            (Some(b), Some(a)) if a != b => format!("{b:>3}→{a:<3} %"),
            (_, Some(a)) | (Some(a), None) => format!("{a:>7} %"),
            _ => "-".into(),
        };
        let health = format!("{} | {}", verdict(&entry, "green"), verdict(&entry, "blue"));
        let split = &entry["traffic"]["split"];
        // Only search has real traffic here (the others share its load balancers, so a split
        // measured per load balancer would be search's).
        if let (true, Some(observed), Some(weight)) = (
            service == FAILING,
            split["latest_percent"].as_f64(),
            split["weight"].as_u64(),
        ) {
            // The observed split next to the weight: cached answers make it lag.
            let metrics = entry["traffic"]["clusters"]["green"]["metrics"]["rule"]
                .as_str()
                .unwrap_or("");
            println!(
                "{:>7}  {service:<9} traffic    weight {weight:>3} %, green got {observed:>5.1} % of requests last minute  {metrics}",
                clock(minute)
            );
        }
        if kind == "wait" && entry["applied"] != true {
            // Quiet ticks: only print when something happens.
            continue;
        }
        println!(
            "{:>7}  {service:<9} {kind:<10} {shares:>11}  {health:<30} {summary}",
            clock(minute)
        );
        for alert in entry["alerts"].as_array().into_iter().flatten() {
            println!(
                "{:>7}  {service:<9} ALERT {}",
                "",
                alert.as_str().unwrap_or("")
            );
        }
    }
}

fn verdict(entry: &Value, cluster: &str) -> String {
    let h = &entry["health"][cluster];
    let Some(v) = h["verdict"].as_str() else {
        return "-".into();
    };
    let samples = h["samples"]["count"].as_u64().unwrap_or(0);
    let ok = samples.saturating_sub(h["samples"]["failed"].as_u64().unwrap_or(0));
    format!("{v} {ok}/{samples}")
}
