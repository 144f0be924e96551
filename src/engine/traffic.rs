//! OBSERVE real traffic for a whole tick (docs/design.md §4, §10): one `DescribeAlarms` for every
//! configured alarm of the services being decided (batched by name, 100 per call) and one
//! `GetMetricData` for every load balancer they use (all minutes of the lookback, up to 500
//! queries per call) — never a call per service.

use std::collections::{BTreeMap, BTreeSet};

use cutover_core::config::ServiceConfig;
use cutover_core::observation::Observed;
use cutover_core::text::quoted;
use cutover_core::traffic::{
    complete_until, AlarmReading, AlarmState, LbKind, LbSeries, MinutePoint, TrafficView,
    LOOKBACK_MS, MINUTE_MS,
};
use cutover_core::types::{Millis, Name};

use super::Context;
use crate::observe::cloudwatch::{
    MetricQuery, QueryResult, MAX_ALARM_NAMES_PER_CALL, MAX_QUERIES_PER_CALL,
};

/// The four ALB statistics (docs/reference/cloudwatch.md "Load balancer metrics"), in the order
/// of [`MinutePoint`]'s fields: requests, target errors, load-balancer errors, p99 latency.
const ALB: [(&str, &str); 4] = [
    ("RequestCount", "Sum"),
    ("HTTPCode_Target_5XX_Count", "Sum"),
    ("HTTPCode_ELB_5XX_Count", "Sum"),
    ("TargetResponseTime", "p99"),
];
/// An NLB sees flows, not requests, and has no latency metric.
const NLB: [(&str, &str); 3] = [
    ("NewFlowCount", "Sum"),
    ("TCP_Target_Reset_Count", "Sum"),
    ("TCP_ELB_Reset_Count", "Sum"),
];

/// Where one service's side is served, for its metrics.
#[derive(Debug, Clone)]
pub(super) struct SideLb {
    pub dns_name: String,
    pub dimension: String,
    pub kind: LbKind,
}

/// Reads the alarms and metrics of `services`. `load_balancer(svc, cluster)` is the load
/// balancer serving the service in that cluster (the one the probes use) or why none is known.
/// Returns each service's view; a service with nothing configured has none.
pub async fn observe_traffic(
    ctx: &Context,
    services: &[&ServiceConfig],
    load_balancer: impl Fn(&ServiceConfig, &Name) -> Result<String, String>,
) -> BTreeMap<Name, TrafficView> {
    let cfg = &ctx.config;
    let until = complete_until(ctx.clock.now_millis());
    // What each service needs.
    let mut wanted_alarms: BTreeSet<String> = BTreeSet::new();
    let mut sides: BTreeMap<(Name, Name), Result<SideLb, String>> = BTreeMap::new();
    let mut reads_metrics: BTreeSet<Name> = BTreeSet::new();
    for svc in services {
        for cluster in [&svc.from, &svc.to] {
            if let Some(names) = svc.rollout.alarms.get(cluster) {
                wanted_alarms.extend(names.iter().cloned());
            }
        }
        let side = |cluster: &Name| -> Result<SideLb, String> {
            let dns_name = load_balancer(svc, cluster)?;
            let dimension = cfg
                .load_balancer_dimension(cluster, &dns_name)
                .ok_or_else(|| {
                    format!(
                        "no CloudWatch dimension for load balancer {dns_name}: add it to \
                         clusters.{cluster}.load_balancer_dimensions (\"app/<name>/<id>\", the end \
                         of its ARN)"
                    )
                })?
                .to_string();
            let kind = LbKind::of_dimension(&dimension).ok_or_else(|| {
                format!("bad dimension {dimension}", dimension = quoted(&dimension))
            })?;
            Ok(SideLb {
                dns_name,
                dimension,
                kind,
            })
        };
        let (from, to) = (side(&svc.from), side(&svc.to));
        let configured = svc.rollout.metrics.is_some() || svc.rollout.observed_split.is_some();
        // Metrics are read when rules ask for them, or (for the observed split in the report)
        // when both load balancers are known.
        if configured || (from.is_ok() && to.is_ok()) {
            reads_metrics.insert(svc.name.clone());
            sides.insert((svc.name.clone(), svc.from.clone()), from);
            sides.insert((svc.name.clone(), svc.to.clone()), to);
        }
    }

    let alarm_states = read_alarms(ctx, &wanted_alarms).await;
    let series = read_metrics(ctx, &sides, until).await;

    let mut out = BTreeMap::new();
    for svc in services {
        let mut view = TrafficView {
            until,
            ..TrafficView::default()
        };
        for cluster in [&svc.from, &svc.to] {
            if let Some(names) = svc.rollout.alarms.get(cluster) {
                let readings = names
                    .iter()
                    .map(|name| AlarmReading {
                        name: name.clone(),
                        state: alarm_state(&alarm_states, name),
                    })
                    .collect();
                view.alarms.insert(cluster.clone(), readings);
            }
            if reads_metrics.contains(&svc.name) {
                let observed = match sides.get(&(svc.name.clone(), cluster.clone())) {
                    Some(Ok(side)) => match series.get(&side.dimension) {
                        Some(Ok(s)) => Observed::Known(LbSeries {
                            load_balancer: side.dns_name.clone(),
                            ..s.clone()
                        }),
                        Some(Err(why)) => Observed::Unavailable(why.clone()),
                        None => Observed::Unavailable("metrics not read".into()),
                    },
                    Some(Err(why)) => Observed::Unavailable(why.clone()),
                    None => Observed::Unavailable("no load balancer known".into()),
                };
                view.metrics.insert(cluster.clone(), observed);
            }
        }
        if !view.is_empty() {
            out.insert(svc.name.clone(), view);
        }
    }
    out
}

fn alarm_state(
    states: &Result<BTreeMap<String, AlarmState>, String>,
    name: &str,
) -> Observed<AlarmState> {
    match states {
        Err(why) => Observed::Unavailable(why.clone()),
        Ok(map) => match map.get(name) {
            Some(s) => Observed::Known(*s),
            None => Observed::Unavailable(format!(
                "CloudWatch has no alarm named {name} (check the name and the region)",
                name = quoted(name)
            )),
        },
    }
}

/// Every wanted alarm, 100 names per `DescribeAlarms` call. Any failed call makes every state
/// unknown (inconclusive), never good.
async fn read_alarms(
    ctx: &Context,
    names: &BTreeSet<String>,
) -> Result<BTreeMap<String, AlarmState>, String> {
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    let Some(cloudwatch) = ctx.traffic.cloudwatch.as_ref() else {
        return Err("no CloudWatch client is configured".into());
    };
    let names: Vec<String> = names.iter().cloned().collect();
    let mut out = BTreeMap::new();
    for chunk in names.chunks(MAX_ALARM_NAMES_PER_CALL) {
        match cloudwatch.describe_alarms(chunk).await {
            Ok(states) => out.extend(states),
            Err(e) => {
                tracing::warn!(error = %e, "DescribeAlarms failed");
                return Err(e);
            }
        }
    }
    Ok(out)
}

/// The per-minute series of every load balancer named in `sides`, dimension → series, from as
/// few `GetMetricData` calls as 500 queries per call allow.
async fn read_metrics(
    ctx: &Context,
    sides: &BTreeMap<(Name, Name), Result<SideLb, String>>,
    until: Millis,
) -> BTreeMap<String, Result<LbSeries, String>> {
    let lbs: BTreeMap<&str, LbKind> = sides
        .values()
        .filter_map(|s| s.as_ref().ok())
        .map(|s| (s.dimension.as_str(), s.kind))
        .collect();
    let mut out = BTreeMap::new();
    if lbs.is_empty() {
        return out;
    }
    let Some(cloudwatch) = ctx.traffic.cloudwatch.as_ref() else {
        for (dimension, _) in lbs {
            out.insert(
                dimension.to_string(),
                Err("no CloudWatch client is configured".to_string()),
            );
        }
        return out;
    };
    let queries = metric_queries(&lbs);
    let start = until - LOOKBACK_MS;
    let mut results: BTreeMap<String, QueryResult> = BTreeMap::new();
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    // A load balancer's queries never straddle two calls (chunks hold whole groups).
    for chunk in chunk_by_lb(&queries) {
        match cloudwatch.get_metric_data(chunk, start, until).await {
            Ok(list) => results.extend(list.into_iter().map(|r| (r.id.clone(), r))),
            Err(e) => {
                tracing::warn!(error = %e, "GetMetricData failed");
                for q in chunk {
                    failed.insert(q.id.clone(), e.clone());
                }
            }
        }
    }
    for (index, (dimension, kind)) in lbs.iter().enumerate() {
        let ids: Vec<String> = (0..stats_of(*kind).len())
            .map(|k| query_id(index, k))
            .collect();
        if let Some(why) = ids.iter().find_map(|id| failed.get(id)) {
            out.insert(dimension.to_string(), Err(why.clone()));
            continue;
        }
        let series = assemble(dimension, *kind, &ids, &results, start, until);
        out.insert(dimension.to_string(), series);
    }
    out
}

fn stats_of(kind: LbKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        LbKind::Application => &ALB,
        LbKind::Network => &NLB,
    }
}

fn query_id(lb_index: usize, stat_index: usize) -> String {
    format!("lb{lb_index}_{stat_index}")
}

/// The queries for every load balancer: per minute, its statistics.
pub(super) fn metric_queries(lbs: &BTreeMap<&str, LbKind>) -> Vec<MetricQuery> {
    let mut out = Vec::new();
    for (index, (dimension, kind)) in lbs.iter().enumerate() {
        let namespace = match kind {
            LbKind::Application => "AWS/ApplicationELB",
            LbKind::Network => "AWS/NetworkELB",
        };
        for (k, (metric, stat)) in stats_of(*kind).iter().enumerate() {
            out.push(MetricQuery {
                id: query_id(index, k),
                namespace,
                metric_name: metric,
                load_balancer: dimension.to_string(),
                stat,
                period_seconds: (MINUTE_MS / 1000) as i32,
            });
        }
    }
    out
}

/// Splits queries into calls of at most 500, never splitting one load balancer's group.
fn chunk_by_lb(queries: &[MetricQuery]) -> Vec<&[MetricQuery]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < queries.len() {
        let mut end = (start + MAX_QUERIES_PER_CALL).min(queries.len());
        if end < queries.len() {
            let lb = |q: &MetricQuery| q.id.split('_').next().map(str::to_string);
            while end > start + 1 && queries.get(end).map(lb) == queries.get(end - 1).map(lb) {
                end -= 1;
            }
        }
        if let Some(chunk) = queries.get(start..end) {
            chunks.push(chunk);
        }
        start = end;
    }
    chunks
}

/// One load balancer's minutes from its queries' results. A minute without `RequestCount`
/// (`NewFlowCount`) had no traffic and is left out.
fn assemble(
    dimension: &str,
    kind: LbKind,
    ids: &[String],
    results: &BTreeMap<String, QueryResult>,
    start: Millis,
    until: Millis,
) -> Result<LbSeries, String> {
    let values = |k: usize| -> Result<BTreeMap<Millis, f64>, String> {
        let id = ids.get(k).ok_or("query missing")?;
        let r = results
            .get(id)
            .ok_or_else(|| format!("CloudWatch returned no result for query {id}"))?;
        if matches!(r.status.as_str(), "Forbidden" | "InternalError") {
            return Err(format!("CloudWatch answered {} for {dimension}", r.status));
        }
        Ok(r.points
            .iter()
            .filter(|(t, _)| *t >= start && *t < until)
            .map(|(t, v)| (t.div_euclid(MINUTE_MS) * MINUTE_MS, *v))
            .collect())
    };
    let requests = values(0)?;
    let target = values(1)?;
    let lb = values(2)?;
    let p99 = match kind {
        LbKind::Application => values(3)?,
        LbKind::Network => BTreeMap::new(),
    };
    let points = requests
        .iter()
        .map(|(t, r)| MinutePoint {
            start: *t,
            requests: *r,
            target_errors: target.get(t).copied().unwrap_or(0.0),
            lb_errors: lb.get(t).copied().unwrap_or(0.0),
            // TargetResponseTime is in seconds.
            p99_ms: p99.get(t).map(|s| s * 1000.0),
        })
        .collect();
    Ok(LbSeries {
        load_balancer: String::new(),
        dimension: dimension.to_string(),
        kind,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_grouped_per_load_balancer_and_chunked_at_500() {
        let names: Vec<String> = (0..130)
            .map(|i| format!("app/lb{i}/0123456789abcdef"))
            .collect();
        let lbs: BTreeMap<&str, LbKind> = names
            .iter()
            .map(|n| (n.as_str(), LbKind::Application))
            .collect();
        let queries = metric_queries(&lbs);
        assert_eq!(queries.len(), 520);
        let chunks = chunk_by_lb(&queries);
        assert_eq!(
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
            vec![500, 20]
        );
        // No load balancer's four queries are split over two calls.
        let last_of_first = chunks[0].last().unwrap().id.clone();
        assert!(last_of_first.ends_with("_3"), "{last_of_first}");
        // An NLB has three queries and no latency.
        let one: BTreeMap<&str, LbKind> = [("net/n/0123456789abcdef", LbKind::Network)].into();
        let q = metric_queries(&one);
        assert_eq!(
            q.iter().map(|q| q.metric_name).collect::<Vec<_>>(),
            vec![
                "NewFlowCount",
                "TCP_Target_Reset_Count",
                "TCP_ELB_Reset_Count"
            ]
        );
        assert!(q.iter().all(|q| q.namespace == "AWS/NetworkELB"));
    }

    #[test]
    fn results_become_minutes_with_seconds_as_milliseconds() {
        let ids: Vec<String> = (0..4).map(|k| query_id(0, k)).collect();
        let t = 1_800_000_000_000 - 1_800_000_000_000 % MINUTE_MS;
        let result = |k: usize, points: Vec<(Millis, f64)>| {
            (
                ids[k].clone(),
                QueryResult {
                    id: ids[k].clone(),
                    points,
                    status: "Complete".into(),
                },
            )
        };
        let results: BTreeMap<String, QueryResult> = [
            result(0, vec![(t - MINUTE_MS, 100.0), (t, 7.0)]),
            result(1, vec![(t - MINUTE_MS, 3.0)]),
            result(2, vec![]),
            result(3, vec![(t - MINUTE_MS, 0.25)]),
        ]
        .into();
        let s = assemble(
            "app/a/0123456789abcdef",
            LbKind::Application,
            &ids,
            &results,
            t - LOOKBACK_MS,
            t,
        )
        .unwrap();
        // The minute at `until` is not complete: left out.
        assert_eq!(
            s.points,
            vec![MinutePoint {
                start: t - MINUTE_MS,
                requests: 100.0,
                target_errors: 3.0,
                lb_errors: 0.0,
                p99_ms: Some(250.0),
            }]
        );
        let mut forbidden = results.clone();
        forbidden.get_mut(&ids[1]).unwrap().status = "Forbidden".into();
        assert!(assemble(
            "app/a/0123456789abcdef",
            LbKind::Application,
            &ids,
            &forbidden,
            t - LOOKBACK_MS,
            t
        )
        .unwrap_err()
        .contains("Forbidden"));
        let mut missing = results;
        missing.remove(&ids[0]);
        assert!(assemble(
            "app/a/0123456789abcdef",
            LbKind::Application,
            &ids,
            &missing,
            t - LOOKBACK_MS,
            t
        )
        .is_err());
    }
}
