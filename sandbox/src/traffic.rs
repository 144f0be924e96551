//! Real traffic, simulated: a population of clients per host that resolves the name the way
//! Route53 answers weighted records (a weighted random choice per query), caches the answer for
//! its TTL (a share of clients ignores the TTL and keeps its first answer, as some JVMs do), and
//! sends requests at a set rate, in simulated time, to the load balancer it chose. That load
//! balancer's scripted behaviour decides each answer's status and latency, and the load
//! balancer's CloudWatch metrics count them. Deterministic under a seed: every random draw is a
//! function of (seed, request number).
//!
//! The generator runs lazily: whenever CloudWatch is read, a load balancer's behaviour is about
//! to change, or the control API asks, it catches up to now, replaying the zone as it stood at
//! each request's moment (Route53's change history), so catching up late never changes what a
//! request saw.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::clock::SimClock;
use crate::cloudwatch::{CloudWatch, MetricKey};
use crate::lb::{LoadBalancer, SimOutcome};
use crate::route53::{Route53, Rrset};

const MINUTE_MS: i64 = 60_000;
/// An alias to a load balancer answers with the load balancer's own TTL, 60 s
/// (docs/reference/route53.md "Alias records").
const ALIAS_TTL_S: i64 = 60;

/// One host's client population, as a world file gives it (`[[traffic]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficSpec {
    /// The service's hostname, as clients resolve it.
    pub host: String,
    /// Requests per second, all clients together, in simulated time.
    pub requests_per_second: f64,
    /// How many clients (each with its own DNS cache).
    #[serde(default = "default_clients")]
    pub clients: u32,
    /// The share of clients (0–1) that never re-resolve: they keep their first answer.
    #[serde(default)]
    pub ignore_ttl_share: f64,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The path requested (probes use their own; a behaviour set for this path alone breaks real
    /// traffic while `/healthz` stays green).
    #[serde(default = "default_path")]
    pub path: String,
    /// A healthy target's answer takes between 0.5 and 1.5 times this.
    #[serde(default = "default_latency")]
    pub base_latency_ms: f64,
}

fn default_clients() -> u32 {
    100
}
fn default_seed() -> u64 {
    1
}
fn default_path() -> String {
    "/".to_string()
}
fn default_latency() -> f64 {
    20.0
}

impl TrafficSpec {
    /// Checks the values; `Err((field, reason))`.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let host = normalise(&self.host);
        if host.is_empty() || !host.contains('.') {
            return Err(("host", format!("`{}` is not a host name", self.host)));
        }
        if !(self.requests_per_second.is_finite()
            && self.requests_per_second > 0.0
            && self.requests_per_second <= 10_000.0)
        {
            return Err((
                "requests_per_second",
                "must be above 0 and at most 10000".into(),
            ));
        }
        if self.clients == 0 || self.clients > 1_000_000 {
            return Err(("clients", "must be from 1 to 1000000".into()));
        }
        if !(0.0..=1.0).contains(&self.ignore_ttl_share) {
            return Err(("ignore_ttl_share", "must be from 0 to 1".into()));
        }
        if !self.path.starts_with('/') {
            return Err(("path", "must start with `/`".into()));
        }
        if !(self.base_latency_ms.is_finite() && self.base_latency_ms >= 0.0) {
            return Err(("base_latency_ms", "must be 0 or more".into()));
        }
        Ok(())
    }
}

/// What the generator sent for one host: per minute, requests by load balancer (the truth the
/// observed split is compared with).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostTruth {
    pub host: String,
    /// minute start → load balancer host name → requests.
    pub minutes: BTreeMap<i64, BTreeMap<String, u64>>,
    /// Requests whose name did not resolve (no record).
    pub unresolved: u64,
}

impl HostTruth {
    /// The share (percent) of requests in `[since, until)` that went to `lb`.
    pub fn share(&self, lb: &str, since: i64, until: i64) -> Option<f64> {
        let (mut to, mut all) = (0u64, 0u64);
        for (_, by_lb) in self.minutes.range(since..until) {
            for (name, n) in by_lb {
                all += n;
                if name.eq_ignore_ascii_case(lb) {
                    to += n;
                }
            }
        }
        (all > 0).then(|| to as f64 / all as f64 * 100.0)
    }
}

#[derive(Debug, Clone, Copy)]
struct ClientCache {
    lb: usize,
    expires_ms: i64,
}

struct Flow {
    spec: TrafficSpec,
    host: String,
    zone_id: Option<String>,
    start_ms: i64,
    /// The next request's number.
    next: u64,
    caches: Vec<Option<ClientCache>>,
    truth: HostTruth,
}

struct Inner {
    flows: Vec<Flow>,
    /// Simulated time up to which traffic was generated.
    done_until: i64,
}

/// The traffic of every host. Cheap to clone.
#[derive(Clone)]
pub struct Traffic {
    inner: Arc<Mutex<Inner>>,
    clock: SimClock,
    route53: Route53,
    cloudwatch: CloudWatch,
    lbs: Arc<Vec<Arc<LoadBalancer>>>,
}

impl Traffic {
    /// Starts `specs` at the clock's now. `zones`: zone name → id, to find each host's zone.
    pub fn new(
        specs: &[TrafficSpec],
        clock: SimClock,
        route53: Route53,
        cloudwatch: CloudWatch,
        lbs: Vec<Arc<LoadBalancer>>,
        zones: &BTreeMap<String, String>,
    ) -> Traffic {
        let now = clock.now_millis();
        let flows = specs
            .iter()
            .map(|spec| {
                let host = normalise(&spec.host);
                let zone_id = zones
                    .iter()
                    .filter(|(name, _)| host == **name || host.ends_with(&format!(".{name}")))
                    .max_by_key(|(name, _)| name.len())
                    .map(|(_, id)| id.clone());
                Flow {
                    spec: spec.clone(),
                    host: host.clone(),
                    zone_id,
                    start_ms: now,
                    next: 0,
                    caches: vec![None; spec.clients as usize],
                    truth: HostTruth {
                        host,
                        ..HostTruth::default()
                    },
                }
            })
            .collect();
        Traffic {
            inner: Arc::new(Mutex::new(Inner {
                flows,
                done_until: now,
            })),
            clock,
            route53,
            cloudwatch,
            lbs: Arc::new(lbs),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What was sent so far, per host.
    pub fn truth(&self) -> Vec<HostTruth> {
        self.run_until_now();
        self.lock().flows.iter().map(|f| f.truth.clone()).collect()
    }

    /// The truth of one host.
    pub fn truth_of(&self, host: &str) -> Option<HostTruth> {
        let host = normalise(host);
        self.truth().into_iter().find(|t| t.host == host)
    }

    /// Generates every request due before now.
    pub fn run_until_now(&self) {
        let now = self.clock.now_millis();
        let mut inner = self.lock();
        if now <= inner.done_until {
            return;
        }
        let mut metrics: BTreeMap<(MetricKey, i64), Vec<f64>> = BTreeMap::new();
        let from = inner.done_until;
        for flow in inner.flows.iter_mut() {
            self.run_flow(flow, from, now, &mut metrics);
        }
        inner.done_until = now;
        drop(inner);
        for ((key, minute), values) in metrics {
            self.cloudwatch.record_many(&key, minute, &values);
        }
    }

    fn run_flow(
        &self,
        flow: &mut Flow,
        from: i64,
        until: i64,
        metrics: &mut BTreeMap<(MetricKey, i64), Vec<f64>>,
    ) {
        let rate = flow.spec.requests_per_second;
        let due = |k: u64| flow.start_ms + (k as f64 * 1000.0 / rate) as i64;
        let (mut answers, changes) = match &flow.zone_id {
            Some(zone) => {
                let (initial, changes) = self.route53.timeline(zone, from, until);
                (answers_for(&initial, &flow.host, &self.lbs), changes)
            }
            None => (None, Vec::new()),
        };
        let mut next_change = 0;
        loop {
            let t = due(flow.next);
            if t >= until {
                break;
            }
            while let Some((at, records)) = changes.get(next_change) {
                if *at > t {
                    break;
                }
                answers = answers_for(records, &flow.host, &self.lbs);
                next_change += 1;
            }
            let k = flow.next;
            flow.next += 1;
            let seed = flow.spec.seed;
            let clients = flow.caches.len().max(1);
            let client = (draw(seed, k, 0) % clients as u64) as usize;
            let ignores_ttl = (client as f64) < flow.spec.ignore_ttl_share * clients as f64;
            let cached = flow
                .caches
                .get(client)
                .copied()
                .flatten()
                .filter(|c| ignores_ttl || c.expires_ms > t);
            let lb = match (cached, &answers) {
                (Some(c), _) => Some(c.lb),
                (None, Some(set)) => {
                    let chosen = set.choose(unit(draw(seed, k, 1)));
                    if let Some(slot) = flow.caches.get_mut(client) {
                        *slot = Some(ClientCache {
                            lb: chosen,
                            expires_ms: t + set.ttl_s * 1000,
                        });
                    }
                    Some(chosen)
                }
                (None, None) => None,
            };
            let Some(lb) = lb.and_then(|i| self.lbs.get(i)) else {
                flow.truth.unresolved += 1;
                continue;
            };
            let minute = t.div_euclid(MINUTE_MS) * MINUTE_MS;
            *flow
                .truth
                .minutes
                .entry(minute)
                .or_default()
                .entry(lb.hostname().to_string())
                .or_default() += 1;
            let outcome = lb.serve_simulated(&flow.host, &flow.spec.path);
            let jitter = 0.5 + unit(draw(seed, k, 2));
            record(
                lb,
                outcome,
                flow.spec.base_latency_ms * jitter,
                minute,
                metrics,
            );
        }
    }
}

/// The load balancers a name resolves to, with their weights, and the answer's TTL.
struct AnswerSet {
    targets: Vec<(usize, f64)>,
    ttl_s: i64,
}

impl AnswerSet {
    /// A weighted choice (docs/reference/route53.md "Weighted records": the chance of a record
    /// is its weight over the sum; all weights 0 is an even split).
    fn choose(&self, u: f64) -> usize {
        let total: f64 = self.targets.iter().map(|(_, w)| w).sum();
        let weights: Vec<(usize, f64)> = if total > 0.0 {
            self.targets.clone()
        } else {
            self.targets.iter().map(|(i, _)| (*i, 1.0)).collect()
        };
        let total: f64 = weights.iter().map(|(_, w)| w).sum();
        let mut x = u * total;
        for (i, w) in &weights {
            if x < *w {
                return *i;
            }
            x -= w;
        }
        weights.last().map_or(0, |(i, _)| *i)
    }
}

/// The A records of `host` in `records` that alias a known load balancer.
fn answers_for(records: &[Rrset], host: &str, lbs: &[Arc<LoadBalancer>]) -> Option<AnswerSet> {
    let mut targets = Vec::new();
    let mut ttl_s = ALIAS_TTL_S;
    for r in records
        .iter()
        .filter(|r| r.rtype == "A" && normalise(&r.name) == host)
    {
        let Some(alias) = &r.alias_target else {
            continue;
        };
        let target = normalise(&alias.dns_name);
        let target = target.strip_prefix("dualstack.").unwrap_or(&target);
        let Some(index) = lbs.iter().position(|lb| normalise(lb.hostname()) == target) else {
            continue;
        };
        let weight = r.weight.map_or(1.0, |w| w.max(0) as f64);
        targets.push((index, weight));
        if let Some(ttl) = r.ttl {
            ttl_s = ttl;
        }
    }
    (!targets.is_empty()).then_some(AnswerSet { targets, ttl_s })
}

/// The load balancer's metrics of one request (docs/reference/cloudwatch.md "Load balancer
/// metrics").
fn record(
    lb: &LoadBalancer,
    outcome: SimOutcome,
    base_latency_ms: f64,
    minute: i64,
    metrics: &mut BTreeMap<(MetricKey, i64), Vec<f64>>,
) {
    let dimension = lb.metrics_dimension();
    let namespace = lb.metrics_namespace();
    let mut add = |name: &str, value: f64| {
        metrics
            .entry((
                MetricKey::new(namespace, name, &[("LoadBalancer", &dimension)]),
                minute,
            ))
            .or_default()
            .push(value);
    };
    if namespace == "AWS/NetworkELB" {
        add("NewFlowCount", 1.0);
        match outcome {
            SimOutcome::Reset => add("TCP_Target_Reset_Count", 1.0),
            SimOutcome::Timeout | SimOutcome::NoRoute => add("TCP_ELB_Reset_Count", 1.0),
            SimOutcome::Target { .. } => {}
        }
        return;
    }
    add("RequestCount", 1.0);
    match outcome {
        SimOutcome::Target { status, latency_ms } => {
            let class = (status / 100).clamp(2, 5);
            add(&format!("HTTPCode_Target_{class}XX_Count"), 1.0);
            add(
                "TargetResponseTime",
                (latency_ms as f64 + base_latency_ms) / 1000.0,
            );
        }
        SimOutcome::NoRoute => add("HTTPCode_ELB_4XX_Count", 1.0),
        SimOutcome::Timeout => {
            add("HTTPCode_ELB_5XX_Count", 1.0);
            add("HTTPCode_ELB_504_Count", 1.0);
        }
        SimOutcome::Reset => {
            add("HTTPCode_ELB_5XX_Count", 1.0);
            add("HTTPCode_ELB_502_Count", 1.0);
        }
    }
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// SplitMix64 of (seed, request, stream): a counter-based draw, the same whatever ran before.
fn draw(seed: u64, k: u64, stream: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(k.wrapping_mul(0xbf58_476d_1ce4_e5b9))
        .wrapping_add(stream.wrapping_mul(0x94d0_49bb_1331_11eb));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A draw as a number in [0, 1).
fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_deterministic_and_roughly_uniform() {
        assert_eq!(draw(7, 42, 1), draw(7, 42, 1));
        assert_ne!(draw(7, 42, 1), draw(8, 42, 1));
        let mean: f64 = (0..10_000).map(|k| unit(draw(3, k, 0))).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }

    #[test]
    fn weighted_choice_follows_weights_and_all_zero_is_even() {
        let set = AnswerSet {
            targets: vec![(0, 75.0), (1, 25.0)],
            ttl_s: 60,
        };
        let n = 20_000;
        let ones = (0..n)
            .filter(|k| set.choose(unit(draw(9, *k, 1))) == 1)
            .count();
        let share = ones as f64 / n as f64;
        assert!((share - 0.25).abs() < 0.02, "{share}");
        let zero = AnswerSet {
            targets: vec![(0, 0.0), (1, 0.0)],
            ttl_s: 60,
        };
        let ones = (0..n)
            .filter(|k| zero.choose(unit(draw(9, *k, 1))) == 1)
            .count();
        assert!((ones as f64 / n as f64 - 0.5).abs() < 0.02);
        let only = AnswerSet {
            targets: vec![(3, 100.0), (4, 0.0)],
            ttl_s: 60,
        };
        assert!((0..1000).all(|k| only.choose(unit(draw(1, k, 1))) == 3));
    }

    #[test]
    fn specs_are_validated_naming_the_field() {
        let ok = TrafficSpec {
            host: "search.example.com".into(),
            requests_per_second: 10.0,
            clients: 10,
            ignore_ttl_share: 0.1,
            seed: 1,
            path: "/".into(),
            base_latency_ms: 20.0,
        };
        assert!(ok.validate().is_ok());
        let bad = |edit: fn(&mut TrafficSpec)| {
            let mut s = ok.clone();
            edit(&mut s);
            s.validate().unwrap_err().0
        };
        assert_eq!(bad(|s| s.requests_per_second = 0.0), "requests_per_second");
        assert_eq!(bad(|s| s.clients = 0), "clients");
        assert_eq!(bad(|s| s.ignore_ttl_share = 1.5), "ignore_ttl_share");
        assert_eq!(bad(|s| s.host = "x".into()), "host");
        assert_eq!(bad(|s| s.path = "api".into()), "path");
    }
}
