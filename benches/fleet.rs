//! The fleet benchmark (docs/design.md §10): N active canaries in one zone — 10, 100, 1,000 — on
//! the sandbox, in the release profile. For every tick it prints the Route53 requests cutover
//! sent next to the floor computed from the zone, and their ratio; then the peak memory and the
//! median tick time, with the client-side rate limit lifted and at the default 2 requests/second.
//!
//!     cargo bench --bench fleet                        # all sizes, both rates (release)
//!     FLEET_SIZES=10,100 cargo bench --bench fleet     # some sizes
//!     FLEET_RATES=none cargo bench --bench fleet       # only without the client-side limit
//!
//! **The floor** of a tick, per zone, is what Route53's API and limits force
//! (docs/reference/route53.md "Limits", "ListResourceRecordSets", "GetChange"):
//! - `ceil(records / 300)` listing pages, the records counted in the zone when the tick starts;
//! - one GetChange per packed batch still pending: each request that changed traffic records in
//!   an earlier tick, until a tick has recorded INSYNC;
//! - the batches forced by the limits for the records that changed in the tick (the traffic
//!   records and the services' state records, both required by docs/design.md §7.5), each
//!   record set counted once — one DELETE of it as it was and one CREATE of it as it ends the
//!   tick, however often the tick rewrote it: `max(ceil(records / 1,000), ceil(value characters /
//!   32,000))`. This is a lower bound: it ignores that a service's batch is never split.
//!
//! Anything else cutover writes (its per-zone records, names starting with the state record
//! prefix followed by `_`) is counted in the requests and not in the floor.
//!
//! Ticks are 60 s apart in simulated time and a step bakes 2 minutes, so the ticks repeat
//! "stepping" (traffic changes), "INSYNC" (the step's INSYNC and its first good check recorded:
//! state records change, traffic does not) and "steady" (nothing to write).
//!
//! The parent process runs the sandbox (the same assembly `sandbox serve` runs, Route53's account
//! limit lifted, external-dns loops off after their initial sync); each measurement runs in a
//! child process of this binary that holds only cutover, so the child's `VmHWM` is cutover's peak
//! memory. The parent weighs the changes afterwards from the sandbox's change log.
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
use sandbox::route53::{Action, AppliedChange, Route53Options};
use sandbox::world::{IngressSpec, World};
use sandbox::{Sandbox, SandboxOptions};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A long canary (steps of 5 %) so that every measured tick finds the services mid-migration; a
/// step advances after one good check and a 2-minute bake.
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
success_threshold = 1
propagation_allowance = "30s"

[defaults.health_check]
scheme = "http"
path = "/healthz"
timeout = "2s"
samples = 3
allowed_failures = 0
"#;

const ANNOTATION: &str = "external-dns.kubernetes.io/";
/// Simulated seconds between ticks, as the EventBridge schedule runs them.
const TICK_EVERY_SECONDS: f64 = 60.0;
const UNLIMITED_RATE: f64 = 1_000_000.0;
const DEFAULT_RATE: f64 = 2.0;
/// Probes in flight at once (the config's `probe_concurrency`; default 8).
const PROBE_CONCURRENCY: u32 = 32;
/// The state record prefix the generated config uses.
const STATE_PREFIX: &str = "_cutover.";
/// docs/reference/route53.md "Limits" and "ListResourceRecordSets".
const PAGE_RECORDS: u64 = 300;
const BATCH_RECORDS: u64 = 1_000;
const BATCH_CHARS: u64 = 32_000;

/// What a child measured.
#[derive(Debug, Serialize, Deserialize)]
struct Measured {
    services: usize,
    rate: f64,
    start_ms: f64,
    start_requests: u64,
    /// The start's window on the sandbox's clock: its requests are the first pending ones.
    start_from_ms: i64,
    start_until_ms: i64,
    /// Services whose start was applied (the rest were refused, e.g. a probe timed out).
    started_services: usize,
    ticks: Vec<TickMeasure>,
    vm_hwm_kib: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct TickMeasure {
    wall_ms: f64,
    /// The tick's window on the sandbox's clock (simulated milliseconds).
    from_ms: i64,
    until_ms: i64,
    /// Records in the zone when the tick started.
    zone_records: u64,
    cutover_requests: u64,
    sandbox_requests: u64,
    /// Route53 operations the sandbox received during the tick.
    operations: BTreeMap<String, u64>,
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

/// One run, weighed: the child's measures and the floors of its ticks.
struct Run {
    measured: Measured,
    ticks: Vec<Weighed>,
    /// The longest state record written, in characters, and the most strings one had.
    state_chars: usize,
    state_strings: usize,
}

/// One tick with its floor.
struct Weighed {
    kind: TickKind,
    requests: u64,
    pages: u64,
    get_changes: u64,
    forced: u64,
    wall_ms: f64,
}

impl Weighed {
    fn floor(&self) -> u64 {
        self.pages + self.get_changes + self.forced
    }
    fn ratio(&self) -> f64 {
        self.requests as f64 / self.floor().max(1) as f64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TickKind {
    Steady,
    Stepping,
    Insync,
}

impl TickKind {
    fn name(self) -> &'static str {
        match self {
            TickKind::Steady => "steady",
            TickKind::Stepping => "stepping",
            TickKind::Insync => "INSYNC",
        }
    }
}

fn parent_main() -> anyhow::Result<()> {
    let sizes = env_list("FLEET_SIZES", &[10, 100, 1000])?;
    let ticks = env_number("FLEET_TICKS", 9)?;
    let limited_ticks = env_number("FLEET_LIMITED_TICKS", 6)?;
    let rates = match std::env::var("FLEET_RATES").as_deref() {
        Ok("none") => vec![UNLIMITED_RATE],
        Ok("default") => vec![DEFAULT_RATE],
        _ => vec![UNLIMITED_RATE, DEFAULT_RATE],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut runs = Vec::new();
    for &n in &sizes {
        for &rate in &rates {
            let ticks = if rate < UNLIMITED_RATE {
                limited_ticks
            } else {
                ticks
            };
            eprintln!(
                "fleet: {n} services, client rate limit {} req/s, {ticks} ticks …",
                rate_text(rate)
            );
            runs.push(runtime.block_on(run_size(n, rate, ticks))?);
        }
    }
    print_tables(&runs);
    Ok(())
}

fn rate_text(rate: f64) -> String {
    if rate >= UNLIMITED_RATE {
        "none".to_string()
    } else {
        format!("{rate}")
    }
}

async fn run_size(n: usize, rate: f64, ticks: usize) -> anyhow::Result<Run> {
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
    let zone_id = sandbox
        .zone_id("example.com")
        .ok_or_else(|| anyhow!("no zone example.com"))?
        .to_string();
    eprintln!(
        "fleet:   sandbox up with {} records in {:.1} s",
        sandbox.route53().records(&zone_id).len(),
        started.elapsed().as_secs_f64()
    );
    let log_start = sandbox.route53().history_len();
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
        .env("FLEET_ZONE", &zone_id)
        .env("FLEET_N", n.to_string())
        .env("FLEET_RATE", rate.to_string())
        .env("FLEET_TICKS", ticks.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("spawning the measuring child")?;
    let output = read_result(&mut child).await;
    let _ = std::fs::remove_dir_all(&dir);
    let log = sandbox.route53().change_log(log_start);
    sandbox.shutdown();
    Ok(weigh(output?, &log))
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

/// What a record is to the floor.
#[derive(PartialEq, Eq)]
enum RecordRole {
    /// A/AAAA and the TXT registry entries of the services.
    Traffic,
    /// A service's state record.
    State,
    /// cutover's own per-zone bookkeeping (`<prefix>_…`): counted in requests, not in the floor.
    Bookkeeping,
}

fn role(name: &str) -> RecordRole {
    match name.strip_prefix(STATE_PREFIX) {
        Some(rest) if rest.starts_with('_') => RecordRole::Bookkeeping,
        Some(_) => RecordRole::State,
        None => RecordRole::Traffic,
    }
}

/// The cost of one record set in a request: records (an alias counts one) and value characters.
fn cost(r: &sandbox::route53::Rrset) -> (u64, u64) {
    let records = if r.alias_target.is_some() {
        1
    } else {
        r.records.len().max(1) as u64
    };
    (records, r.records.iter().map(|v| v.len() as u64).sum())
}

/// Traffic requests (those that changed a traffic record) among `requests`.
fn traffic_requests(requests: &[&AppliedChange]) -> u64 {
    requests
        .iter()
        .filter(|c| {
            c.changes
                .iter()
                .any(|ch| role(&ch.rrset.name) == RecordRole::Traffic)
        })
        .count() as u64
}

/// The floors of every tick, from the change log of the run.
fn weigh(measured: Measured, log: &[AppliedChange]) -> Run {
    let within = |from: i64, until: i64| -> Vec<&AppliedChange> {
        log.iter()
            .filter(|c| c.at_millis >= from && c.at_millis <= until)
            .collect()
    };
    let mut ticks = Vec::new();
    // Requests that changed traffic and whose INSYNC no tick has recorded yet: the start's first.
    let mut pending: u64 =
        traffic_requests(&within(measured.start_from_ms, measured.start_until_ms));
    let mut state_chars = 0;
    let mut state_strings = 0;
    for t in &measured.ticks {
        let requests = within(t.from_ms, t.until_ms);
        // Each record set once: the DELETE of it as it was, the CREATE of it as it ends.
        type Key = (String, String, Option<String>);
        let mut deleted: BTreeMap<Key, (u64, u64)> = BTreeMap::new();
        let mut created: BTreeMap<Key, (u64, u64)> = BTreeMap::new();
        let (mut traffic, mut state) = (0u64, 0u64);
        for change in requests.iter().flat_map(|c| c.changes.iter()) {
            let r = &change.rrset;
            match role(&r.name) {
                RecordRole::Bookkeeping => continue,
                RecordRole::State => {
                    state += 1;
                    if change.action != Action::Delete {
                        for v in &r.records {
                            state_chars = state_chars.max(v.len());
                            state_strings = state_strings.max(
                                sandbox::route53::parse_character_strings(v)
                                    .map(|s| s.len())
                                    .unwrap_or(0),
                            );
                        }
                    }
                }
                RecordRole::Traffic => traffic += 1,
            }
            let key = (r.name.clone(), r.rtype.clone(), r.set_identifier.clone());
            match change.action {
                Action::Delete => {
                    deleted.entry(key).or_insert_with(|| cost(r));
                }
                Action::Create => {
                    created.insert(key, cost(r));
                }
                // An UPSERT counts twice (docs/reference/route53.md "Limits").
                Action::Upsert => {
                    let (n, c) = cost(r);
                    created.insert(key, (2 * n, 2 * c));
                }
            }
        }
        let (records, chars) = deleted
            .values()
            .chain(created.values())
            .fold((0, 0), |(n, c), (dn, dc)| (n + dn, c + dc));
        let forced = if records == 0 {
            0
        } else {
            records
                .div_ceil(BATCH_RECORDS)
                .max(chars.div_ceil(BATCH_CHARS))
        };
        let kind = if traffic > 0 {
            TickKind::Stepping
        } else if state > 0 {
            TickKind::Insync
        } else {
            TickKind::Steady
        };
        ticks.push(Weighed {
            kind,
            requests: t.cutover_requests,
            pages: t.zone_records.div_ceil(PAGE_RECORDS),
            get_changes: pending,
            forced,
            wall_ms: t.wall_ms,
        });
        match kind {
            TickKind::Stepping => pending = traffic_requests(&requests),
            TickKind::Insync => pending = 0,
            TickKind::Steady => {}
        }
    }
    Run {
        measured,
        ticks,
        state_chars,
        state_strings,
    }
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

fn print_tables(runs: &[Run]) {
    println!();
    println!(
        "fleet: N active canaries in one zone; ticks 60 s apart (simulated): stepping → INSYNC → steady"
    );
    println!(
        "floor = listing pages + GetChange per pending batch + batches forced by the limits for the records that changed"
    );
    println!(
        "{:>6} {:>6} {:>9} {:>6} {:>13} {:>13} {:>11} {:>10} {:>10} {:>12}",
        "N",
        "limit",
        "tick",
        "ticks",
        "requests",
        "floor",
        "ratio max",
        "median s",
        "max s",
        "req÷rate s"
    );
    for run in runs {
        let m = &run.measured;
        let mut kinds: Vec<TickKind> = run.ticks.iter().map(|t| t.kind).collect();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            let of: Vec<&Weighed> = run.ticks.iter().filter(|t| t.kind == kind).collect();
            let requests: Vec<u64> = of.iter().map(|t| t.requests).collect();
            let floors: Vec<u64> = of.iter().map(|t| t.floor()).collect();
            let ratio = of.iter().map(|t| t.ratio()).fold(0.0, f64::max);
            let walls: Vec<f64> = of.iter().map(|t| t.wall_ms / 1000.0).collect();
            let max_wall = walls.iter().copied().fold(0.0, f64::max);
            let expected = if m.rate < UNLIMITED_RATE {
                let mean = requests.iter().sum::<u64>() as f64 / requests.len().max(1) as f64;
                format!("{:.1}", mean / m.rate)
            } else {
                "-".to_string()
            };
            println!(
                "{:>6} {:>6} {:>9} {:>6} {:>13} {:>13} {:>11.2} {:>10.2} {:>10.2} {:>12}",
                size_text(m),
                rate_text(m.rate),
                kind.name(),
                of.len(),
                range(&requests),
                range(&floors),
                ratio,
                median(walls),
                max_wall,
                expected
            );
        }
        for t in &run.ticks {
            if t.ratio() > 1.0 {
                eprintln!(
                    "fleet:   N={} {} tick: {} requests, floor {} = {} pages + {} GetChange + {} forced",
                    m.services,
                    t.kind.name(),
                    t.requests,
                    t.floor(),
                    t.pages,
                    t.get_changes,
                    t.forced
                );
            }
        }
    }
    println!();
    println!(
        "{:>6} {:>6} {:>9} {:>10} {:>10} {:>13} {:>13} {:>10}",
        "N", "limit", "start s", "start req", "peak MB", "tick median s", "state chars", "strings"
    );
    for run in runs {
        let m = &run.measured;
        let errors: usize = m.ticks.iter().map(|t| t.errors).sum();
        println!(
            "{:>6} {:>6} {:>9.2} {:>10} {:>10.1} {:>13.2} {:>13} {:>10}{}",
            size_text(m),
            rate_text(m.rate),
            m.start_ms / 1000.0,
            m.start_requests,
            m.vm_hwm_kib as f64 / 1024.0,
            median(m.ticks.iter().map(|t| t.wall_ms / 1000.0).collect()),
            run.state_chars,
            run.state_strings,
            if errors > 0 {
                format!("  ({errors} service errors!)")
            } else {
                String::new()
            }
        );
    }
}

fn size_text(m: &Measured) -> String {
    if m.started_services == m.services {
        m.services.to_string()
    } else {
        format!("{}/{}", m.started_services, m.services)
    }
}

fn range(values: &[u64]) -> String {
    let lo = values.iter().copied().min().unwrap_or(0);
    let hi = values.iter().copied().max().unwrap_or(0);
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}–{hi}")
    }
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
    let zone_id = env_string("FLEET_ZONE")?;
    let n: usize = env_number("FLEET_N", 0)?;
    let rate: f64 = env_string("FLEET_RATE")?
        .parse()
        .context("FLEET_RATE: a number")?;
    let ticks: usize = env_number("FLEET_TICKS", 9)?;
    let text = std::fs::read_to_string(&config_path)?;
    let config = Arc::new(Config::parse(&text).map_err(|e| anyhow!("config: {e}"))?);

    // The sandbox's simulated clock: real time plus the offset its control API reports.
    let offset = Arc::new(AtomicI64::new(control.clock_offset().await?));
    let clock_offset = offset.clone();
    let clock: Arc<dyn Clock> =
        Arc::new(move || real_millis() + clock_offset.load(Ordering::SeqCst));
    let (ctx, route53) = support::context_at(
        &route53_url,
        &eks_url,
        config,
        clock.clone(),
        Some(rate),
        None,
    )
    .await;

    let started = Instant::now();
    let start_from_ms = clock.now_millis();
    let report = invoke(
        &ctx,
        json!({ "action": "start", "services": "all", "actor": "bench", "reason": "fleet" }),
    )
    .await?;
    let start_ms = started.elapsed().as_secs_f64() * 1000.0;
    let start_until_ms = clock.now_millis();
    eprintln!("fleet:   start of {n} services: {start_ms:.0} ms");
    let start_requests = route53.request_count();
    let started_services = report.services.iter().filter(|e| e.applied).count();
    if started_services == 0 {
        bail!("start applied to none of the {n} services: {report:?}");
    }
    drop(report);
    if started_services < n {
        // Under CPU starvation some start probes time out (a start needs a good verdict).
        eprintln!("fleet:   start applied to {started_services} of {n} services");
    }

    let mut measures = Vec::new();
    for _ in 0..ticks {
        offset.store(control.advance(TICK_EVERY_SECONDS).await?, Ordering::SeqCst);
        let zone_records = control.record_count(&zone_id).await?;
        let cutover_before = route53.request_count();
        let sandbox_before = control.route53_requests().await?;
        let from_ms = clock.now_millis();
        let started = Instant::now();
        let report = invoke(&ctx, support::scheduled_event()).await?;
        let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
        let until_ms = clock.now_millis();
        let cutover_requests = route53.request_count() - cutover_before;
        let sandbox_after = control.route53_requests().await?;
        let mut operations = BTreeMap::new();
        for (op, count) in &sandbox_after.1 {
            let before = sandbox_before.1.get(op).copied().unwrap_or(0);
            if *count > before {
                operations.insert(op.clone(), count - before);
            }
        }
        let mut kinds = BTreeMap::new();
        let mut errors = 0;
        for entry in &report.services {
            *kinds.entry(entry.kind.clone()).or_insert(0) += 1;
            if entry.error.is_some() {
                errors += 1;
            }
        }
        if !report.errors.is_empty() {
            eprintln!("tick errors: {:?}", report.errors);
        }
        drop(report);
        let kinds_text: Vec<String> = kinds.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let ops_text: Vec<String> = operations.iter().map(|(k, v)| format!("{k} {v}")).collect();
        eprintln!(
            "fleet:   tick {}: {wall_ms:.0} ms, {cutover_requests} requests ({}); {}",
            measures.len() + 1,
            ops_text.join(", "),
            kinds_text.join(", ")
        );
        measures.push(TickMeasure {
            wall_ms,
            from_ms,
            until_ms,
            zone_records,
            cutover_requests,
            sandbox_requests: sandbox_after.0 - sandbox_before.0,
            operations,
            kinds,
            errors,
        });
    }
    Ok(Measured {
        services: n,
        rate,
        start_ms,
        start_requests,
        start_from_ms,
        start_until_ms,
        started_services,
        ticks: measures,
        vm_hwm_kib: vm_hwm_kib()?,
    })
}

/// What the bench reads of a report.
#[derive(Debug, Deserialize)]
struct ReportSeen {
    #[serde(default)]
    services: Vec<EntrySeen>,
    #[serde(default)]
    errors: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct EntrySeen {
    kind: String,
    #[serde(default)]
    applied: bool,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
}

/// One invocation as the Lambda runs it: the typed report serialized into the response body, as
/// its runtime does. The bench then reads only what it counts from that text.
async fn invoke(ctx: &engine::Context, payload: Value) -> anyhow::Result<ReportSeen> {
    let answer = engine::answer_until(
        ctx,
        payload,
        engine::retry::Deadline::after(engine::retry::DEFAULT_BUDGET),
    )
    .await;
    let body = serde_json::to_vec(&answer.report)?;
    drop(answer);
    Ok(serde_json::from_slice(&body)?)
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

    /// The sandbox's Route53 requests: the total and per operation.
    async fn route53_requests(&self) -> anyhow::Result<(u64, BTreeMap<String, u64>)> {
        let all = self.get("/requests").await?;
        let total = all["route53"]["total"]
            .as_u64()
            .ok_or_else(|| anyhow!("/requests: no route53.total"))?;
        let by_operation = all["route53"]["by_operation"]
            .as_object()
            .map(|ops| {
                ops.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                    .collect()
            })
            .unwrap_or_default();
        Ok((total, by_operation))
    }

    /// How many records the zone holds now.
    async fn record_count(&self, zone_id: &str) -> anyhow::Result<u64> {
        let zones = self.get("/zones").await?;
        zones
            .as_array()
            .and_then(|zones| zones.iter().find(|z| z["id"] == zone_id))
            .and_then(|z| z["record_count"].as_u64())
            .ok_or_else(|| anyhow!("/zones: no record count for {zone_id}"))
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
