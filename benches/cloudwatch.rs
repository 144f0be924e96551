//! CloudWatch requests per tick for a fleet (docs/design.md §10): for 10, 100 and 1,000 services,
//! each with its own load balancer per cluster and one alarm, how many `GetMetricData` and
//! `DescribeAlarms` calls one tick's observation makes, and how long building and reading them
//! takes against a CloudWatch that answers at once. Also with every service behind one shared
//! load balancer per cluster.
//!
//!     cargo bench --bench cloudwatch
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code: a failure should panic

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use cutover::engine::traffic::observe_traffic;
use cutover::observe::clock::Clock;
use cutover::observe::cloudwatch::{CloudWatchApi, MetricQuery, QueryResult};
use cutover_core::config::Config;
use cutover_core::traffic::AlarmState;
use cutover_core::types::Millis;
use futures::future::BoxFuture;

#[derive(Default)]
struct Counting {
    get_metric_data: AtomicU64,
    describe_alarms: AtomicU64,
    queries: AtomicU64,
}

impl CloudWatchApi for Counting {
    fn get_metric_data<'a>(
        &'a self,
        queries: &'a [MetricQuery],
        _start: Millis,
        _end: Millis,
    ) -> BoxFuture<'a, Result<Vec<QueryResult>, String>> {
        self.get_metric_data.fetch_add(1, Ordering::Relaxed);
        self.queries
            .fetch_add(queries.len() as u64, Ordering::Relaxed);
        assert!(
            queries.len() <= 500,
            "{} queries in one call",
            queries.len()
        );
        Box::pin(async move {
            Ok(queries
                .iter()
                .map(|q| QueryResult {
                    id: q.id.clone(),
                    points: Vec::new(),
                    status: "Complete".into(),
                })
                .collect())
        })
    }

    fn describe_alarms<'a>(
        &'a self,
        names: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, AlarmState)>, String>> {
        self.describe_alarms.fetch_add(1, Ordering::Relaxed);
        assert!(names.len() <= 100);
        Box::pin(async move { Ok(names.iter().map(|n| (n.clone(), AlarmState::Ok)).collect()) })
    }
}

fn lb(service: usize, cluster: &str, shared: bool) -> String {
    if shared {
        format!("k8s-{cluster}-shared.eu-west-1.elb.amazonaws.com")
    } else {
        format!("k8s-{cluster}-svc{service}.eu-west-1.elb.amazonaws.com")
    }
}

fn config(services: usize, shared: bool) -> String {
    let mut out = String::from("[[zones]]\nid = \"Z0EXAMPLE\"\nname = \"example.com\"\n\n");
    for (cluster, owner) in [("blue", "blue"), ("green", "green")] {
        let dims: Vec<String> = (0..if shared { 1 } else { services })
            .map(|i| {
                format!(
                    "\"{}\" = \"app/k8s-{cluster}-{i}/{i:016x}\"",
                    lb(i, cluster, shared)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "[clusters.{cluster}]\neks_name = \"{cluster}\"\nregion = \"eu-west-1\"\nowner_id = \"{owner}\"\nexternal_dns_version = \"v0.22\"\nload_balancer_dimensions = {{ {} }}\n",
            dims.join(", ")
        );
    }
    out.push_str("[defaults.metrics]\nwindow = \"5m\"\n\n");
    for i in 0..services {
        let _ = writeln!(
            out,
            "[services.svc{i}]\nhostname = \"svc{i}.example.com\"\nfrom = \"blue\"\nto = \"green\"\n[services.svc{i}.overrides.alarms]\ngreen = [\"svc{i}-green-5xx\"]\n"
        );
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("CloudWatch requests of one tick's observation (fake CloudWatch answering at once)");
    println!(
        "{:>9}  {:<22} {:>8} {:>14} {:>15} {:>10}",
        "services", "load balancers", "queries", "GetMetricData", "DescribeAlarms", "time"
    );
    for shared in [false, true] {
        for n in [10usize, 100, 1000] {
            let config = Arc::new(Config::parse(&config(n, shared)).unwrap());
            let clock: Arc<dyn Clock> = Arc::new(|| 1_800_000_000_000i64);
            let closed = support::closed_port_url();
            let (mut ctx, _) =
                support::context_at(&closed, &closed, config.clone(), clock, None, None).await;
            let counting = Arc::new(Counting::default());
            ctx.traffic.cloudwatch = Some(counting.clone());
            let services: Vec<_> = config.services().collect();
            let started = Instant::now();
            let views = observe_traffic(&ctx, &services, |svc, cluster| {
                let i: usize = svc.name.as_str().trim_start_matches("svc").parse().unwrap();
                Ok(lb(i, cluster.as_str(), shared))
            })
            .await;
            let took = started.elapsed();
            assert_eq!(views.len(), n);
            println!(
                "{n:>9}  {:<22} {:>8} {:>14} {:>15} {:>8.1}ms",
                if shared {
                    "2 (shared)".to_string()
                } else {
                    format!("{} (own)", 2 * n)
                },
                counting.queries.load(Ordering::Relaxed),
                counting.get_metric_data.load(Ordering::Relaxed),
                counting.describe_alarms.load(Ordering::Relaxed),
                took.as_secs_f64() * 1000.0
            );
        }
    }
    println!("\nlimits: 500 queries per GetMetricData (4 per ALB), 100 names per DescribeAlarms");
}
