//! Health from real traffic (docs/design.md §4): CloudWatch alarms, the load balancers' metrics of
//! the requests they served, and the observed split of traffic between the two clusters. The
//! engine's adapters fill the observation types here; the rules that judge them are pure
//! functions, so the planner stays free of I/O.
//!
//! The CloudWatch facts these rules rely on (which metrics exist per load-balancer kind, their
//! units, how alarm states read) are in docs/reference/cloudwatch.md.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{MetricRules, SplitGate};
use crate::observation::{Observed, Verdict};
use crate::types::{Millis, Name, Percent};

/// One minute of data: CloudWatch's aggregation period for load-balancer metrics is 60 s
/// (docs/reference/cloudwatch.md "Load balancer metrics").
pub const MINUTE_MS: Millis = 60_000;

/// How far back the engine reads metrics: the observed split of a step is measured over at most
/// this long (its latest hour).
pub const LOOKBACK_MS: Millis = 60 * MINUTE_MS;

/// The state of a CloudWatch alarm (docs/reference/cloudwatch.md "DescribeAlarms").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    /// Reads the API's `StateValue`; anything else is not a state.
    pub fn parse(value: &str) -> Option<AlarmState> {
        match value {
            "OK" => Some(AlarmState::Ok),
            "ALARM" => Some(AlarmState::Alarm),
            "INSUFFICIENT_DATA" => Some(AlarmState::InsufficientData),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// One configured alarm as read this tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmReading {
    pub name: String,
    /// The state, or why it is not known (the call failed, no such alarm).
    pub state: Observed<AlarmState>,
}

/// The kind of a load balancer, from its CloudWatch dimension (`app/…` or `net/…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LbKind {
    /// Application Load Balancer: namespace `AWS/ApplicationELB`, HTTP metrics.
    Application,
    /// Network Load Balancer: namespace `AWS/NetworkELB`, flows and TCP resets only.
    Network,
}

impl LbKind {
    /// The kind named by a `LoadBalancer` dimension value (`app/<name>/<id>`, `net/<name>/<id>`).
    pub fn of_dimension(dimension: &str) -> Option<LbKind> {
        let mut parts = dimension.split('/');
        let kind = match parts.next()? {
            "app" => LbKind::Application,
            "net" => LbKind::Network,
            _ => return None,
        };
        let name = parts.next()?;
        let id = parts.next()?;
        let name_ok = !name.is_empty()
            && name.len() <= 32
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        let id_ok = !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit());
        (name_ok && id_ok && parts.next().is_none()).then_some(kind)
    }
}

/// One minute of one load balancer. For an ALB: `RequestCount`, `HTTPCode_Target_5XX_Count`,
/// `HTTPCode_ELB_5XX_Count` and the p99 of `TargetResponseTime` (in ms). For an NLB, which sees
/// flows and not requests: `NewFlowCount`, `TCP_Target_Reset_Count`, `TCP_ELB_Reset_Count`, and no
/// latency (docs/reference/cloudwatch.md "Load balancer metrics").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MinutePoint {
    /// The minute's start.
    pub start: Millis,
    pub requests: f64,
    pub target_errors: f64,
    pub lb_errors: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
}

/// The per-minute metrics of one load balancer over the lookback. A minute without a data point
/// had no traffic (CloudWatch reports these metrics only when there is some).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LbSeries {
    /// The load balancer's DNS name (from the Ingress status).
    pub load_balancer: String,
    /// Its CloudWatch `LoadBalancer` dimension.
    pub dimension: String,
    pub kind: LbKind,
    pub points: Vec<MinutePoint>,
}

/// What the engine read of real traffic for one service: the alarms and the load-balancer
/// metrics of each cluster. Empty when nothing is configured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrafficView {
    /// cluster → its configured alarms, as read.
    pub alarms: BTreeMap<Name, Vec<AlarmReading>>,
    /// cluster → the metrics of the load balancer serving the service there.
    pub metrics: BTreeMap<Name, Observed<LbSeries>>,
    /// The end (exclusive) of the last complete minute the metrics cover.
    pub until: Millis,
}

// The metrics hold finite numbers read from CloudWatch (non-finite ones are dropped by the
// adapters), so equality is an equivalence and the planner's view can be compared whole.
impl Eq for MinutePoint {}
impl Eq for LbSeries {}
impl Eq for TrafficView {}

impl TrafficView {
    pub fn is_empty(&self) -> bool {
        self.alarms.is_empty() && self.metrics.is_empty()
    }
}

/// The end of the last complete minute before `now`: the minute still running is never judged.
pub fn complete_until(now: Millis) -> Millis {
    now.div_euclid(MINUTE_MS) * MINUTE_MS
}

// ---------------------------------------------------------------------------------------------
// Figures

/// The sums over a window of one load balancer's minutes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricFigures {
    pub load_balancer: String,
    /// The window judged: `[since, until)`.
    pub since: Millis,
    pub until: Millis,
    pub requests: f64,
    /// 5xx of the targets plus 5xx of the load balancer (NLB: target plus load-balancer resets).
    pub errors: f64,
    /// `errors / requests` in percent; `None` without requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_rate_percent: Option<f64>,
    /// The worst minute's p99 latency in the window (ALB only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
}

/// Sums `series` over `[since, until)`. The p99 over several minutes is the worst minute's p99:
/// percentiles do not add up, and the worst minute is the conservative reading.
pub fn figures(series: &LbSeries, since: Millis, until: Millis) -> MetricFigures {
    let mut requests = 0.0;
    let mut errors = 0.0;
    let mut p99: Option<f64> = None;
    for p in series
        .points
        .iter()
        .filter(|p| p.start >= since && p.start < until)
    {
        requests += finite(p.requests);
        errors += finite(p.target_errors) + finite(p.lb_errors);
        if let Some(v) = p.p99_ms.filter(|v| v.is_finite()) {
            p99 = Some(p99.map_or(v, |m: f64| m.max(v)));
        }
    }
    MetricFigures {
        load_balancer: series.load_balancer.clone(),
        since,
        until,
        requests,
        errors,
        error_rate_percent: (requests > 0.0).then(|| errors / requests * 100.0),
        p99_ms: p99,
    }
}

fn finite(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 {
        v
    } else {
        0.0
    }
}

// ---------------------------------------------------------------------------------------------
// Alarms

/// The verdict of one side's alarms (docs/design.md §4): any alarm in ALARM is bad; otherwise an
/// alarm in INSUFFICIENT_DATA, or one that could not be read, is inconclusive; all OK is good.
/// `None` when the side has no alarm configured.
pub fn judge_alarms(readings: &[AlarmReading]) -> Option<(Verdict, String)> {
    if readings.is_empty() {
        return None;
    }
    let firing: Vec<&str> = readings
        .iter()
        .filter(|r| r.state == Observed::Known(AlarmState::Alarm))
        .map(|r| r.name.as_str())
        .collect();
    if !firing.is_empty() {
        return Some((
            Verdict::Bad,
            format!("alarm {} in ALARM", firing.join(", ")),
        ));
    }
    let unknown: Vec<String> = readings
        .iter()
        .filter_map(|r| match &r.state {
            Observed::Known(AlarmState::InsufficientData) => {
                Some(format!("{} in INSUFFICIENT_DATA", r.name))
            }
            Observed::Unavailable(why) => Some(format!("{} unreadable ({why})", r.name)),
            Observed::Known(_) => None,
        })
        .collect();
    if !unknown.is_empty() {
        return Some((
            Verdict::Inconclusive,
            format!("alarm {} (inconclusive)", unknown.join(", ")),
        ));
    }
    Some((Verdict::Good, format!("{} alarm(s) OK", readings.len())))
}

// ---------------------------------------------------------------------------------------------
// Metric rules

/// The metric verdict of one side, with its figures and the rule that decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricCheck {
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figures: Option<MetricFigures>,
    pub rule: String,
}

fn check(verdict: Verdict, figures: Option<MetricFigures>, rule: String) -> MetricCheck {
    MetricCheck {
        verdict,
        figures,
        rule,
    }
}

/// Judges both sides' metrics over the rules' window ending at `until` (docs/design.md §4).
/// - A side with fewer than `min_requests` in the window is inconclusive, never good.
/// - Error rate above `max_error_rate_percent` is bad; for `to`, so is a rate above
///   `max_error_ratio` × `from`'s when `from` has enough traffic and a rate above 0.
/// - p99 above `max_p99_ms` is bad; for `to`, so is a p99 above `max_p99_ratio` × `from`'s.
///
/// `from` is judged by the absolute limits only, so that both sides failing is seen as such.
/// Returns `(to, from)`.
pub fn judge_metrics(
    rules: &MetricRules,
    to: Option<&Observed<LbSeries>>,
    from: Option<&Observed<LbSeries>>,
    until: Millis,
) -> (MetricCheck, MetricCheck) {
    let since = until.saturating_sub(rules.window.millis());
    let side = |o: Option<&Observed<LbSeries>>| match o {
        None => Err("no load balancer metrics known".to_string()),
        Some(Observed::Unavailable(why)) => Err(why.clone()),
        Some(Observed::Known(series)) => Ok(figures(series, since, until)),
    };
    let (to_fig, from_fig) = (side(to), side(from));
    let from_check = judge_side(rules, &from_fig, None);
    let from_reference = match (&from_fig, from_check.verdict) {
        (Ok(f), Verdict::Good | Verdict::Bad) => Some(f),
        _ => None,
    };
    let to_check = judge_side(rules, &to_fig, Some(from_reference));
    (to_check, from_check)
}

/// One side against the rules; `reference` is `Some(from's figures, if conclusive)` when judging
/// `to` (the relative rules apply), `None` when judging `from`.
fn judge_side(
    rules: &MetricRules,
    fig: &Result<MetricFigures, String>,
    reference: Option<Option<&MetricFigures>>,
) -> MetricCheck {
    let fig = match fig {
        Err(why) => {
            return check(
                Verdict::Inconclusive,
                None,
                format!("inconclusive: metrics unavailable ({why})"),
            )
        }
        Ok(f) => f,
    };
    let window_s = rules.window.millis() / 1000;
    if fig.requests < rules.min_requests as f64 {
        return check(
            Verdict::Inconclusive,
            Some(fig.clone()),
            format!(
                "inconclusive: {} requests in the last {window_s}s, below min_requests {}",
                fig.requests, rules.min_requests
            ),
        );
    }
    let mut failed: Vec<String> = Vec::new();
    let mut passed: Vec<String> = Vec::new();
    let rate = fig.error_rate_percent.unwrap_or(0.0);
    let limit = rules.max_error_rate_percent;
    if rate > limit {
        failed.push(format!("error rate {rate:.2}% > max_error_rate {limit}%"));
    } else {
        passed.push(format!("error rate {rate:.2}% ≤ {limit}%"));
    }
    if let (Some(ratio), Some(reference)) = (rules.max_error_ratio, reference) {
        match reference {
            Some(from) => {
                let from_rate = from.error_rate_percent.unwrap_or(0.0);
                if from_rate > 0.0 && rate > ratio * from_rate {
                    failed.push(format!(
                        "error rate {rate:.2}% > max_error_ratio {ratio} × from's {from_rate:.2}%"
                    ));
                } else if from_rate > 0.0 {
                    passed.push(format!("error rate ≤ {ratio} × from's {from_rate:.2}%"));
                } else {
                    passed.push("from has no errors: the absolute error limit decides".into());
                }
            }
            None => passed
                .push("from has no conclusive metrics: the relative rules are not applied".into()),
        }
    }
    if let Some(p99) = fig.p99_ms {
        if let Some(max) = rules.max_p99_ms {
            if p99 > max as f64 {
                failed.push(format!("p99 {p99:.0}ms > max_p99_latency {max}ms"));
            } else {
                passed.push(format!("p99 {p99:.0}ms ≤ {max}ms"));
            }
        }
        if let (Some(ratio), Some(Some(from))) = (rules.max_p99_ratio, reference) {
            if let Some(from_p99) = from.p99_ms.filter(|v| *v > 0.0) {
                if p99 > ratio * from_p99 {
                    failed.push(format!(
                        "p99 {p99:.0}ms > max_p99_ratio {ratio} × from's {from_p99:.0}ms"
                    ));
                } else {
                    passed.push(format!("p99 ≤ {ratio} × from's {from_p99:.0}ms"));
                }
            }
        }
    }
    let counted = format!("{} requests, {} errors", fig.requests, fig.errors);
    if failed.is_empty() {
        check(
            Verdict::Good,
            Some(fig.clone()),
            format!("good: {counted}: {}", passed.join("; ")),
        )
    } else {
        check(
            Verdict::Bad,
            Some(fig.clone()),
            format!("bad: {counted}: {}", failed.join("; ")),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Observed split

/// `to`'s share (percent) of both load balancers' requests over `[since, until)`; `None` without
/// requests on either side or without both series.
pub fn observed_share(to: &LbSeries, from: &LbSeries, since: Millis, until: Millis) -> Option<f64> {
    let t = figures(to, since, until).requests;
    let f = figures(from, since, until).requests;
    (t + f > 0.0).then(|| t / (t + f) * 100.0)
}

/// Since when the observed share has stayed at or above `threshold_percent`: the end of the first
/// minute of the run of complete minutes, up to `until`, whose share reached it (a minute without
/// requests ends a run). `None` when the latest minute is below it.
pub fn share_reached_at(
    to: &LbSeries,
    from: &LbSeries,
    since: Millis,
    until: Millis,
    threshold_percent: f64,
) -> Option<Millis> {
    let mut reached = None;
    let mut minute = complete_until(until) - MINUTE_MS;
    while minute >= since {
        match observed_share(to, from, minute, minute + MINUTE_MS) {
            Some(s) if s + 1e-9 >= threshold_percent => reached = Some(minute + MINUTE_MS),
            _ => break,
        }
        minute -= MINUTE_MS;
    }
    reached
}

/// The observed split for the report (docs/design.md §4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitReport {
    /// `to`'s weight.
    pub weight: Percent,
    /// `to`'s share of requests over the step window `[since, until)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_percent: Option<f64>,
    /// `to`'s share in the last complete minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_percent: Option<f64>,
    pub requests_to: f64,
    pub requests_from: f64,
    pub since: Millis,
    pub until: Millis,
    /// What the optional split gate said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
}

/// The split of the step window `[since, until)` (`since` clipped to the lookback).
pub fn split_report(
    to: &LbSeries,
    from: &LbSeries,
    weight: Percent,
    since: Millis,
    until: Millis,
) -> SplitReport {
    let since = since.max(until - LOOKBACK_MS);
    SplitReport {
        weight,
        share_percent: observed_share(to, from, since, until),
        latest_percent: observed_share(to, from, until - MINUTE_MS, until),
        requests_to: figures(to, since, until).requests,
        requests_from: figures(from, since, until).requests,
        since,
        until,
        gate: None,
    }
}

/// What the split gate (docs/design.md §4) says of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitCall {
    /// The share reached the fraction: the bake counts from this time on.
    Reached { since: Millis, rule: String },
    /// Not reached yet, within `max_wait`: wait, the bake does not count.
    Waiting(String),
    /// Not reached after `max_wait`: the bake counts anyway, with this alert.
    GaveUp(String),
}

/// The split gate for a step of `weight` whose change was INSYNC at `insync_at`.
pub fn split_call(
    gate: &SplitGate,
    to: Option<&LbSeries>,
    from: Option<&LbSeries>,
    weight: Percent,
    insync_at: Millis,
    now: Millis,
    until: Millis,
) -> SplitCall {
    let needed = gate.min_fraction * f64::from(weight.get());
    let reached = match (to, from) {
        (Some(t), Some(f)) => share_reached_at(t, f, insync_at, until, needed),
        _ => None,
    };
    let latest = match (to, from) {
        (Some(t), Some(f)) => observed_share(t, f, until - MINUTE_MS, until),
        _ => None,
    };
    let latest_text = latest.map_or("unknown (no traffic data)".to_string(), |s| {
        format!("{s:.1}%")
    });
    if needed <= 0.0 {
        return SplitCall::Reached {
            since: insync_at,
            rule: "split gate: weight 0, nothing to reach".into(),
        };
    }
    if let Some(since) = reached {
        return SplitCall::Reached {
            since,
            rule: format!(
                "split gate: observed share {latest_text} ≥ {needed:.1}% ({} × weight {weight}) since {}s after INSYNC",
                gate.min_fraction,
                (since - insync_at).max(0) / 1000
            ),
        };
    }
    let waited = now.saturating_sub(insync_at);
    let why = format!(
        "the observed share of {latest_text} to reach {needed:.1}% ({} × weight {weight})",
        gate.min_fraction
    );
    if waited >= gate.max_wait.millis() {
        SplitCall::GaveUp(format!(
            "{why} did not happen within max_wait {}s of INSYNC: resolvers or clients keep old \
             answers; the bake counts anyway",
            gate.max_wait.millis() / 1000
        ))
    } else {
        SplitCall::Waiting(format!(
            "{why} ({}s of max_wait {}s)",
            waited / 1000,
            gate.max_wait.millis() / 1000
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Both sides together

/// What real traffic says of one cluster: its alarms and its metrics, combined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideTraffic {
    /// The worst of the alarms' and the metrics' verdicts.
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<AlarmReading>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarms_rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricCheck>,
}

/// The report of real traffic for one service: per cluster, and the observed split.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct TrafficReport {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub clusters: BTreeMap<Name, SideTraffic>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitReport>,
}

impl TrafficReport {
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty() && self.split.is_none()
    }
    /// The verdict real traffic gives `cluster`; `None` when nothing is configured for it.
    pub fn verdict(&self, cluster: &Name) -> Option<Verdict> {
        self.clusters.get(cluster).map(|s| s.verdict)
    }
}

/// Judges one service's traffic. `to_weight`: `to`'s share now; at 0 `to` serves no traffic, so
/// its metrics are not judged (they would stay inconclusive and hold a canary at 0 % forever).
/// `step_since`: when the current step's change was INSYNC (the split window's start).
pub fn judge(
    view: &TrafficView,
    rules: Option<&MetricRules>,
    from: &Name,
    to: &Name,
    to_weight: Percent,
    step_since: Millis,
) -> TrafficReport {
    let mut report = TrafficReport::default();
    let metrics =
        rules.map(|r| judge_metrics(r, view.metrics.get(to), view.metrics.get(from), view.until));
    for cluster in [from, to] {
        let alarms = view.alarms.get(cluster).cloned().unwrap_or_default();
        let alarm_call = judge_alarms(&alarms);
        let metric = match &metrics {
            Some((to_check, _)) if cluster == to => {
                (to_weight > Percent::ZERO).then(|| to_check.clone())
            }
            Some((_, from_check)) if cluster == from => Some(from_check.clone()),
            _ => None,
        };
        if alarm_call.is_none() && metric.is_none() {
            continue;
        }
        let verdict = worst(
            alarm_call
                .as_ref()
                .map(|(v, _)| *v)
                .into_iter()
                .chain(metric.as_ref().map(|m| m.verdict)),
        );
        report.clusters.insert(
            cluster.clone(),
            SideTraffic {
                verdict,
                alarms,
                alarms_rule: alarm_call.map(|(_, r)| r),
                metrics: metric,
            },
        );
    }
    if let (Some(Observed::Known(t)), Some(Observed::Known(f))) =
        (view.metrics.get(to), view.metrics.get(from))
    {
        report.split = Some(split_report(t, f, to_weight, step_since, view.until));
    }
    report
}

/// The worst of several verdicts: bad over inconclusive over good (good when there are none).
pub fn worst(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    verdicts
        .into_iter()
        .fold(Verdict::Good, |acc, v| match (acc, v) {
            (Verdict::Bad, _) | (_, Verdict::Bad) => Verdict::Bad,
            (Verdict::Inconclusive, _) | (_, Verdict::Inconclusive) => Verdict::Inconclusive,
            _ => Verdict::Good,
        })
}

#[cfg(test)]
mod tests;
