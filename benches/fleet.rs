//! The fleet benchmark (docs/design.md §10): N active canaries in one zone — 10, 100, 1,000 — on
//! the sandbox. Prints Route53 requests per steady-state tick (cutover's own count and the
//! sandbox's), tick wall time (median) and cutover's peak memory.
//!
//!     cargo bench --bench fleet --profile dev            # all sizes
//!     FLEET_SIZES=10,100 cargo bench --bench fleet --profile dev
//!
//! The parent process runs the sandbox (the same assembly `sandbox serve` runs, Route53's account
//! limit lifted, external-dns loops off after their initial sync); each measurement runs in a
//! child process of this binary that holds only cutover, so the child's `VmHWM` is cutover's peak
//! memory. Each size runs with the client-side rate limit raised (cutover's own cost); sizes up
//! to `FLEET_LIMITED_MAX` (default 100) also run with the default 2 requests/second, where the
//! tick time is dominated by the limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};
use cutover::engine;
use cutover::observe::clock::Clock;
use cutover_core::config::Config;
use sandbox::route53::Route53Options;
use sandbox::world::{IngressSpec, World};
use sandbox::{Sandbox, SandboxOptions};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A long canary (steps of 5 %) so that every measured tick finds the services mid-migration.
const ROLLOUT: &str = r#"
[defaults]
strategy = "canary"
steps = [
  { percent = 5, bake = "2m" }, { percent = 10, bake = "2m" }, { percent = 15, bake = "2m" },
  { percent = 20, bake = "2m" }, { percent = 25, bake = "2m" }, { percent = 30, bake = "2m" },
  { percent = 35, bake = "2m" }, { percent = 40, bake = "2m" }, { percent = 45, bake = "2m" },
  { percent = 50, bake = "2m" }, { percent = 100, bake = "2m" },
]
failure_threshold = 2
propagation_allowance = "30s"

[defaults.health_check]
scheme = "http"
path = "/healthz"
timeout = "2s"
samples = 3
allowed_failures = 0
"#;

const ANNOTATION: &str = "external-dns.kubernetes.io/";
/// Simulated seconds between ticks: past the bake (2 min), so ticks alternate between
/// "INSYNC seen, bake starts" and "advance one step".
const TICK_EVERY_SECONDS: f64 = 150.0;
const UNLIMITED_RATE: f64 = 1_000_000.0;
/// Probes in flight at once (the config's `probe_concurrency`; default 8).
const PROBE_CONCURRENCY: u32 = 32;

/// What a child measured.
#[derive(Debug, Serialize, Deserialize)]
struct Measured {
    services: usize,
    rate: f64,
    start_ms: f64,
    start_requests: u64,
    /// Services whose start was applied (the rest were refused, e.g. a probe timed out).
    started_services: usize,
    ticks: Vec<TickMeasure>,
    vm_hwm_kib: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct TickMeasure {
    wall_ms: f64,
    cutover_requests: u64,
    sandbox_requests: u64,
    kinds: BTreeMap<String, usize>,
    errors: usize,
}

fn main() {
    let result = if std::env::args().any(|a| a == "--child") {
        child_main()
    } else {
        parent_main()
    };
    if let Err(e) = result {
        eprintln!("fleet bench failed: {e:#}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------------
// Parent: the sandbox, the runs, the table

fn parent_main() -> anyhow::Result<()> {
    let sizes = env_list("FLEET_SIZES", &[10, 100, 1000])?;
    let limited_max = env_number("FLEET_LIMITED_MAX", 100)?;
    let ticks = env_number("FLEET_TICKS", 8)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    for &n in &sizes {
        let mut rates = vec![UNLIMITED_RATE];
        if n <= limited_max {
            rates.push(2.0);
        }
        for rate in rates {
            let ticks = if rate < UNLIMITED_RATE {
                ticks.min(4)
            } else {
                ticks
            };
            eprintln!("fleet: {n} services, client rate limit {rate} req/s, {ticks} ticks …");
            let measured = runtime.block_on(run_size(n, rate, ticks))?;
            rows.push(measured);
        }
    }
    print_table(&rows);
    Ok(())
}

async fn run_size(n: usize, rate: f64, ticks: usize) -> anyhow::Result<Measured> {
    let world = fleet_world(n);
    let services: Vec<String> = (0..n).map(service_name).collect();
    let specs: Vec<support::ServiceSpec<'_>> = services
        .iter()
        .map(|s| (s.as_str(), "blue", "green"))
        .collect();
    let started = Instant::now();
    let sandbox = Sandbox::start(
        world.clone(),
        SandboxOptions {
            run_external_dns_loops: false,
            route53: Route53Options {
                rate_limit_per_second: None,
                ..Route53Options::default()
            },
        },
    )
    .await?;
    eprintln!(
        "fleet:   sandbox up with {} records in {:.1} s",
        sandbox
            .zone_id("example.com")
            .map(|z| sandbox.route53().records(z).len())
            .unwrap_or(0),
        started.elapsed().as_secs_f64()
    );
    let config_toml = format!(
        "probe_concurrency = {PROBE_CONCURRENCY}\n{}",
        support::cutover_toml(&sandbox, &world, &specs, ROLLOUT)
    );
    let dir = std::env::temp_dir().join(format!("cutover-fleet-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config_path = dir.join("cutover.toml");
    std::fs::write(&config_path, &config_toml)?;
    let endpoints = sandbox.endpoints().clone();
    let exe = std::env::current_exe()?;
    let mut child = tokio::process::Command::new(exe)
        .arg("--child")
        .env("FLEET_ROUTE53", &endpoints.route53)
        .env("FLEET_EKS", &endpoints.eks)
        .env("FLEET_CONTROL", &endpoints.control)
        .env("FLEET_CONFIG", &config_path)
        .env("FLEET_N", n.to_string())
        .env("FLEET_RATE", rate.to_string())
        .env("FLEET_TICKS", ticks.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("spawning the measuring child")?;
    let output = read_result(&mut child).await;
    let _ = std::fs::remove_dir_all(&dir);
    sandbox.shutdown();
    output
}

/// Reads the child's result line, waiting for it to exit.
async fn read_result(child: &mut tokio::process::Child) -> anyhow::Result<Measured> {
    use tokio::io::AsyncBufReadExt;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no stdout from the child"))?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut result = None;
    while let Some(line) = lines.next_line().await? {
        if let Some(json) = line.strip_prefix("RESULT ") {
            result = Some(serde_json::from_str::<Measured>(json)?);
        }
    }
    let status = child.wait().await?;
    if !status.success() {
        bail!("the measuring child exited with {status}");
    }
    result.ok_or_else(|| anyhow!("the child printed no result"))
}

fn service_name(i: usize) -> String {
    format!("svc{i:04}")
}

/// The default world's two clusters, and N services weighted by hand on both (blue 100, green 0).
fn fleet_world(n: usize) -> World {
    let mut world = World::default_world();
    world.ingresses.clear();
    world.records.clear();
    for i in 0..n {
        let name = service_name(i);
        for (cluster, weight) in [("blue", "100"), ("green", "0")] {
            let annotations = [
                (
                    format!("{ANNOTATION}set-identifier"),
                    format!("{name}-{cluster}"),
                ),
                (format!("{ANNOTATION}aws-weight"), weight.to_string()),
            ]
            .into_iter()
            .collect();
            world.ingresses.push(IngressSpec {
                cluster: cluster.to_string(),
                namespace: "default".to_string(),
                name: name.clone(),
                hosts: vec![format!("{name}.example.com")],
                annotations,
                load_balancer: Some(format!("k8s-{cluster}-ingress")),
            });
        }
    }
    world
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn print_table(rows: &[Measured]) {
    println!();
    println!("fleet: N active canaries in one zone, steady-state ticks (simulated 150 s apart)");
    println!(
        "{:>6} {:>10} {:>9} {:>9} {:>14} {:>14} {:>11} {:>10} {:>9} {:>9}",
        "N",
        "limit r/s",
        "start s",
        "start req",
        "cutover req/t",
        "sandbox req/t",
        "tick ms med",
        "tick ms max",
        "advances",
        "VmHWM MB"
    );
    for m in rows {
        let cut: Vec<f64> = m.ticks.iter().map(|t| t.cutover_requests as f64).collect();
        let sbx: Vec<f64> = m.ticks.iter().map(|t| t.sandbox_requests as f64).collect();
        let wall: Vec<f64> = m.ticks.iter().map(|t| t.wall_ms).collect();
        let max_wall = wall.iter().copied().fold(0.0, f64::max);
        let range = |v: &[f64]| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(0.0, f64::max);
            format!("{lo:.0}–{hi:.0}")
        };
        let advances: usize = m
            .ticks
            .iter()
            .map(|t| t.kinds.get("advance").copied().unwrap_or(0))
            .sum();
        let errors: usize = m.ticks.iter().map(|t| t.errors).sum();
        let limit = if m.rate >= UNLIMITED_RATE {
            "none".to_string()
        } else {
            format!("{}", m.rate)
        };
        println!(
            "{:>6} {:>10} {:>9.2} {:>9} {:>14} {:>14} {:>11.0} {:>10.0} {:>9} {:>9.1}{}",
            if m.started_services == m.services {
                m.services.to_string()
            } else {
                format!("{}/{}", m.started_services, m.services)
            },
            limit,
            m.start_ms / 1000.0,
            m.start_requests,
            range(&cut),
            range(&sbx),
            median(wall),
            max_wall,
            advances,
            m.vm_hwm_kib as f64 / 1024.0,
            if errors > 0 {
                format!("  ({errors} service errors!)")
            } else {
                String::new()
            }
        );
    }
    println!(
        "req/t: Route53 requests per tick, min–max over the ticks (ticks alternate: record INSYNC / advance one step)"
    );
}

// ---------------------------------------------------------------------------------------------
// Child: cutover alone, against the parent's sandbox

fn child_main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let measured = runtime.block_on(measure())?;
    println!("RESULT {}", serde_json::to_string(&measured)?);
    Ok(())
}

async fn measure() -> anyhow::Result<Measured> {
    let route53_url = env_string("FLEET_ROUTE53")?;
    let eks_url = env_string("FLEET_EKS")?;
    let control = Control::new(env_string("FLEET_CONTROL")?);
    let config_path = env_string("FLEET_CONFIG")?;
    let n: usize = env_number("FLEET_N", 0)?;
    let rate: f64 = env_string("FLEET_RATE")?
        .parse()
        .context("FLEET_RATE: a number")?;
    let ticks: usize = env_number("FLEET_TICKS", 8)?;
    let text = std::fs::read_to_string(&config_path)?;
    let config = Arc::new(Config::parse(&text).map_err(|e| anyhow!("config: {e}"))?);

    // The sandbox's simulated clock: real time plus the offset its control API reports.
    let offset = Arc::new(AtomicI64::new(control.clock_offset().await?));
    let clock_offset = offset.clone();
    let clock: Arc<dyn Clock> =
        Arc::new(move || real_millis() + clock_offset.load(Ordering::SeqCst));
    let (ctx, route53) =
        support::context_at(&route53_url, &eks_url, config, clock, Some(rate), None).await;

    let started = Instant::now();
    let report = engine::handle(
        &ctx,
        json!({ "action": "start", "actor": "bench", "reason": "fleet" }),
    )
    .await;
    let start_ms = started.elapsed().as_secs_f64() * 1000.0;
    eprintln!("fleet:   start of {n} services: {start_ms:.0} ms");
    let start_requests = route53.request_count();
    let entries = support::service_reports(&report);
    let started_services = entries.iter().filter(|e| e["applied"] == true).count();
    if started_services == 0 {
        bail!("start applied to none of the {n} services: {report:#}");
    }
    if started_services < n {
        // Under CPU starvation some start probes time out (a start needs a good verdict).
        eprintln!("fleet:   start applied to {started_services} of {n} services");
    }

    let mut measures = Vec::new();
    for _ in 0..ticks {
        offset.store(control.advance(TICK_EVERY_SECONDS).await?, Ordering::SeqCst);
        let cutover_before = route53.request_count();
        let sandbox_before = control.route53_requests().await?;
        let started = Instant::now();
        let report = engine::handle(&ctx, support::scheduled_event()).await;
        let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
        let cutover_requests = route53.request_count() - cutover_before;
        let sandbox_requests = control.route53_requests().await? - sandbox_before;
        let mut kinds = BTreeMap::new();
        let mut errors = 0;
        for entry in support::service_reports(&report) {
            *kinds
                .entry(entry["kind"].as_str().unwrap_or("?").to_string())
                .or_insert(0) += 1;
            if entry.get("error").is_some() {
                errors += 1;
            }
        }
        if let Some(e) = report.get("errors") {
            eprintln!("tick errors: {e}");
        }
        eprintln!(
            "fleet:   tick {}: {wall_ms:.0} ms, {cutover_requests} requests, {kinds:?}",
            measures.len() + 1
        );
        measures.push(TickMeasure {
            wall_ms,
            cutover_requests,
            sandbox_requests,
            kinds,
            errors,
        });
    }
    Ok(Measured {
        services: n,
        rate,
        start_ms,
        start_requests,
        started_services,
        ticks: measures,
        vm_hwm_kib: vm_hwm_kib()?,
    })
}

fn real_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Peak resident set size of this process (`VmHWM` in /proc/self/status).
fn vm_hwm_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("no VmHWM in /proc/self/status"))
}

/// The sandbox's control API (loopback).
struct Control {
    base: String,
    http: reqwest::Client,
}

impl Control {
    fn new(base: String) -> Control {
        Control {
            base,
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap_or_default(),
        }
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await?;
        Ok(response.error_for_status()?.json().await?)
    }

    async fn clock_offset(&self) -> anyhow::Result<i64> {
        offset_of(&self.get("/clock").await?)
    }

    /// Moves simulated time forward; returns the new offset.
    async fn advance(&self, seconds: f64) -> anyhow::Result<i64> {
        let response = self
            .http
            .post(format!("{}/clock/advance", self.base))
            .json(&json!({ "seconds": seconds }))
            .send()
            .await?;
        offset_of(&response.error_for_status()?.json().await?)
    }

    async fn route53_requests(&self) -> anyhow::Result<u64> {
        self.get("/requests").await?["route53"]["total"]
            .as_u64()
            .ok_or_else(|| anyhow!("/requests: no route53.total"))
    }
}

fn offset_of(clock: &Value) -> anyhow::Result<i64> {
    clock["offset_millis"]
        .as_i64()
        .ok_or_else(|| anyhow!("/clock: no offset_millis in {clock}"))
}

fn env_string(key: &str) -> anyhow::Result<String> {
    std::env::var(key).with_context(|| format!("{key} is not set"))
}

fn env_number<T: std::str::FromStr>(key: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(key) {
        Ok(v) => v
            .parse()
            .map_err(|_| anyhow!("{key}: `{v}` is not a number")),
        Err(_) => Ok(default),
    }
}

fn env_list(key: &str, default: &[usize]) -> anyhow::Result<Vec<usize>> {
    match std::env::var(key) {
        Ok(v) => v
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .map_err(|_| anyhow!("{key}: `{s}` is not a number"))
            })
            .collect(),
        Err(_) => Ok(default.to_vec()),
    }
}
