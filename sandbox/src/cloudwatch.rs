//! A local CloudWatch: metrics recorded per minute (the load balancers' traffic writes them),
//! `GetMetricData`, and metric alarms (`PutMetricAlarm`, `SetAlarmState`, `DescribeAlarms`)
//! evaluated on the simulated clock. Served in the two protocols today's clients pick for
//! CloudWatch: Smithy RPC v2 CBOR (the AWS SDK for Rust) and AWS JSON 1.0 (boto3), both mapping
//! onto the same operations (docs/reference/cloudwatch.md "Wire protocol").

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Serialize;

use crate::cbor::{self, Cbor};
use crate::clock::SimClock;
use crate::iam::Iam;
use crate::route53::ApiError;
use crate::sigv4::SignedRequest;

/// The account and region the sandbox's ARNs name.
pub const ACCOUNT_ID: &str = crate::eks::ACCOUNT_ID;
const MINUTE_MS: i64 = 60_000;
/// `MetricDataQueries` per call (docs/reference/cloudwatch.md "GetMetricData").
pub const MAX_QUERIES: usize = 500;
/// `AlarmNames` per call (docs/reference/cloudwatch.md "DescribeAlarms").
pub const MAX_ALARM_NAMES: usize = 100;
const DEFAULT_MAX_DATAPOINTS: usize = 100_800;

/// A metric: namespace, name and its exact set of dimensions (sorted by name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MetricKey {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
}

impl MetricKey {
    pub fn new(namespace: &str, name: &str, dimensions: &[(&str, &str)]) -> Self {
        let mut dimensions: Vec<(String, String)> = dimensions
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        dimensions.sort();
        MetricKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
            dimensions,
        }
    }
}

/// How an alarm treats periods without data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
enum MissingData {
    Missing,
    NotBreaching,
    Breaching,
    Ignore,
}

#[derive(Debug, Clone, Serialize)]
struct Alarm {
    name: String,
    description: Option<String>,
    metric: MetricKey,
    /// `Sum`, `Average`, … or a percentile `p99` (ExtendedStatistic).
    statistic: String,
    period_s: i64,
    evaluation_periods: i64,
    datapoints_to_alarm: i64,
    threshold: f64,
    comparison: String,
    missing: MissingData,
    actions_enabled: bool,
    state: String,
    reason: String,
    state_updated_ms: i64,
    configured_ms: i64,
    /// Set by `SetAlarmState`: the state holds until the next evaluation after this time.
    manual_until_ms: Option<i64>,
}

#[derive(Debug, Default)]
struct Inner {
    /// metric → minute start → the values recorded in that minute.
    metrics: BTreeMap<MetricKey, BTreeMap<i64, Vec<f64>>>,
    alarms: BTreeMap<String, Alarm>,
    requests: BTreeMap<String, u64>,
    /// Injected: the next N requests fail with 500 `InternalServiceFault`.
    fail_next: u32,
}

type Hook = Arc<dyn Fn() + Send + Sync>;

/// The local CloudWatch. Cheap to clone (shared state).
#[derive(Clone)]
pub struct CloudWatch {
    inner: Arc<Mutex<Inner>>,
    clock: SimClock,
    region: String,
    /// Who may call (any account's key, or a role's temporary key).
    iam: Iam,
    /// Runs before every read, so that simulated traffic is caught up to now.
    before_read: Arc<Mutex<Option<Hook>>>,
}

fn validation(message: impl Into<String>) -> ApiError {
    // The code of an unmodelled validation failure follows the Query protocol's
    // `ValidationError` (unverified for the CBOR protocol).
    ApiError {
        status: 400,
        code: "ValidationError".into(),
        message: message.into(),
    }
}

impl CloudWatch {
    pub fn new(clock: SimClock, region: &str) -> Self {
        let iam = Iam::new().with_clock(clock.clone());
        CloudWatch {
            inner: Arc::new(Mutex::new(Inner::default())),
            clock,
            region: region.to_string(),
            iam,
            before_read: Arc::new(Mutex::new(None)),
        }
    }

    /// Identifies callers with `iam` (the sandbox's accounts) instead of the sandbox's own key.
    pub fn with_iam(mut self, iam: Iam) -> Self {
        self.iam = iam;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets what runs before every read (the traffic generator's catch-up).
    pub fn set_before_read(&self, hook: Hook) {
        *self.before_read.lock().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    fn catch_up(&self) {
        let hook = self
            .before_read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(hook) = hook {
            hook();
        }
    }

    /// The HTTP API; mount at "/".
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/service/GraniteServiceVersion20100801/operation/{op}",
                post(serve_rpc),
            )
            .route("/", post(serve_json))
            .fallback(unknown)
            .with_state(self.clone())
    }

    /// Records one value of `key` at `at_ms` (what a load balancer publishes per request).
    pub fn record(&self, key: &MetricKey, at_ms: i64, value: f64) {
        self.record_many(key, at_ms, &[value]);
    }

    /// Records several values of `key` in the minute of `at_ms`.
    pub fn record_many(&self, key: &MetricKey, at_ms: i64, values: &[f64]) {
        let minute = at_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        let mut inner = self.lock();
        let points = match inner.metrics.get_mut(key) {
            Some(p) => p,
            None => inner.metrics.entry(key.clone()).or_default(),
        };
        points.entry(minute).or_default().extend_from_slice(values);
    }

    /// Every metric known, with how many minutes hold data.
    pub fn metric_names(&self) -> Vec<(MetricKey, usize)> {
        self.lock()
            .metrics
            .iter()
            .map(|(k, v)| (k.clone(), v.len()))
            .collect()
    }

    /// Requests served so far, by operation.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.lock().requests.clone()
    }

    /// The next `n` requests fail with 500 `InternalServiceFault`.
    pub fn fail_next(&self, n: u32) {
        self.lock().fail_next = n;
    }

    /// The statistic of `key` over `[start, start + period)`; `None` without data.
    pub fn statistic(
        &self,
        key: &MetricKey,
        start_ms: i64,
        period_ms: i64,
        stat: &str,
    ) -> Option<f64> {
        let inner = self.lock();
        let points = inner.metrics.get(key)?;
        let values: Vec<f64> = points
            .range(start_ms..start_ms + period_ms)
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        compute(&values, stat)
    }

    fn count(&self, op: &str) -> Result<(), ApiError> {
        let mut inner = self.lock();
        *inner.requests.entry(op.to_string()).or_default() += 1;
        if inner.fail_next > 0 {
            inner.fail_next -= 1;
            return Err(ApiError {
                status: 500,
                code: "InternalServiceFault".into(),
                message: "Internal service error (injected by the sandbox)".into(),
            });
        }
        Ok(())
    }

    /// Runs one operation on a decoded CBOR input.
    pub fn call(&self, op: &str, input: &Cbor) -> Result<Cbor, ApiError> {
        self.count(op)?;
        match op {
            "GetMetricData" => {
                self.catch_up();
                self.get_metric_data(input)
            }
            "DescribeAlarms" => {
                self.catch_up();
                self.describe_alarms(input)
            }
            "PutMetricAlarm" => self.put_metric_alarm(input),
            "SetAlarmState" => self.set_alarm_state(input),
            other => Err(ApiError {
                status: 400,
                code: "UnknownOperationException".into(),
                message: format!("The sandbox CloudWatch does not implement {other}"),
            }),
        }
    }

    // -----------------------------------------------------------------------------------------
    // GetMetricData (docs/reference/cloudwatch.md "GetMetricData")

    fn get_metric_data(&self, input: &Cbor) -> Result<Cbor, ApiError> {
        let queries = input
            .get("MetricDataQueries")
            .and_then(Cbor::as_array)
            .ok_or_else(|| validation("1 validation error detected: Value null at 'metricDataQueries' failed to satisfy constraint: Member must not be null"))?;
        if queries.is_empty() || queries.len() > MAX_QUERIES {
            return Err(validation(format!(
                "1 validation error detected: Value '[...]' at 'metricDataQueries' failed to satisfy constraint: Member must have length less than or equal to {MAX_QUERIES} (got {})",
                queries.len()
            )));
        }
        let start = input
            .get("StartTime")
            .and_then(Cbor::as_timestamp_millis)
            .ok_or_else(|| validation("1 validation error detected: Value null at 'startTime' failed to satisfy constraint: Member must not be null"))?;
        let end = input
            .get("EndTime")
            .and_then(Cbor::as_timestamp_millis)
            .ok_or_else(|| validation("1 validation error detected: Value null at 'endTime' failed to satisfy constraint: Member must not be null"))?;
        if start >= end {
            return Err(validation(
                "The parameter StartTime must be less than the parameter EndTime.",
            ));
        }
        let ascending = match input.get("ScanBy").and_then(Cbor::as_str) {
            None | Some("TimestampDescending") => false,
            Some("TimestampAscending") => true,
            Some(other) => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{other}' at 'scanBy' failed to satisfy constraint: Member must satisfy enum value set: [TimestampDescending, TimestampAscending]"
                )))
            }
        };
        let max_points = match input.get("MaxDatapoints") {
            None => DEFAULT_MAX_DATAPOINTS,
            Some(v) => v
                .as_i64()
                .filter(|n| *n >= 1)
                .map(|n| n as usize)
                .ok_or_else(|| validation("MaxDatapoints must be a positive integer"))?,
        };
        let skip = match input.get("NextToken").and_then(Cbor::as_str) {
            None => 0,
            Some(t) => t
                .strip_prefix("sandbox-dp-")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| ApiError {
                    status: 400,
                    code: "InvalidNextToken".into(),
                    message: "The service couldn't process the NextToken".into(),
                })?,
        };
        // Rounded down to the whole minute (start time less than 15 days ago).
        let start = start.div_euclid(MINUTE_MS) * MINUTE_MS;
        let mut seen_ids: Vec<&str> = Vec::new();
        let mut results = Vec::new();
        for (i, q) in queries.iter().enumerate() {
            let id = q
                .get("Id")
                .and_then(Cbor::as_str)
                .ok_or_else(|| validation(format!("MetricDataQueries[{i}].Id is required")))?;
            if !valid_id(id) {
                return Err(validation(format!(
                    "The value {id} for parameter MetricDataQueries.member.{}.Id is not valid: it must start with a lowercase letter and hold only letters, numbers and underscores",
                    i + 1
                )));
            }
            if seen_ids.contains(&id) {
                return Err(validation(format!(
                    "The values for parameter id in MetricDataQueries are not unique: {id}"
                )));
            }
            seen_ids.push(id);
            if q.get("Expression").is_some() {
                return Err(validation(format!(
                    "MetricDataQueries.member.{}.Expression: metric math is not modelled by the sandbox",
                    i + 1
                )));
            }
            let stat_query = q.get("MetricStat").ok_or_else(|| {
                validation(format!(
                    "Exactly one element of the metrics list should have MetricStat or Expression (MetricDataQueries.member.{})",
                    i + 1
                ))
            })?;
            let (key, period_s, stat) = metric_stat(stat_query, i)?;
            let label = q
                .get("Label")
                .and_then(Cbor::as_str)
                .unwrap_or(&key.name)
                .to_string();
            let period_ms = period_s.max(60) * 1000;
            let points = self.datapoints(&key, &stat, start, end, period_ms);
            results.push((
                id.to_string(),
                label,
                points,
                q.get("ReturnData").and_then(Cbor::as_bool).unwrap_or(true),
            ));
        }
        // Page by data points, in query order.
        let mut budget = max_points;
        let mut skipped = 0usize;
        let mut consumed = 0usize;
        let mut truncated = false;
        let mut out = Vec::new();
        for (id, label, mut points, returned) in results {
            if !returned {
                continue;
            }
            if !ascending {
                points.reverse();
            }
            let skip_here = skip.saturating_sub(skipped).min(points.len());
            skipped += skip_here;
            let rest = &points[skip_here..];
            let take = rest.len().min(budget);
            budget -= take;
            consumed += skip_here + take;
            if take < rest.len() {
                truncated = true;
            }
            let (timestamps, values): (Vec<Cbor>, Vec<Cbor>) = rest[..take]
                .iter()
                .map(|(t, v)| (Cbor::timestamp(*t), Cbor::Float(*v)))
                .unzip();
            out.push(Cbor::map(vec![
                ("Id", Cbor::text(id)),
                ("Label", Cbor::text(label)),
                ("Timestamps", Cbor::Array(timestamps)),
                ("Values", Cbor::Array(values)),
                (
                    "StatusCode",
                    Cbor::text(if take < rest.len() {
                        "PartialData"
                    } else {
                        "Complete"
                    }),
                ),
                ("Messages", Cbor::Array(vec![])),
            ]));
        }
        let mut answer = vec![
            ("MetricDataResults", Cbor::Array(out)),
            ("Messages", Cbor::Array(vec![])),
        ];
        if truncated {
            answer.push(("NextToken", Cbor::text(format!("sandbox-dp-{consumed}"))));
        }
        Ok(Cbor::map(answer))
    }

    /// `(period start, value)` ascending, periods aligned to multiples of the period, only
    /// periods with data.
    fn datapoints(
        &self,
        key: &MetricKey,
        stat: &str,
        start: i64,
        end: i64,
        period_ms: i64,
    ) -> Vec<(i64, f64)> {
        let inner = self.lock();
        let Some(minutes) = inner.metrics.get(key) else {
            return Vec::new();
        };
        let mut buckets: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for (minute, values) in minutes.range(start..end) {
            let bucket = minute.div_euclid(period_ms) * period_ms;
            buckets.entry(bucket.max(start)).or_default().extend(values);
        }
        buckets
            .into_iter()
            .filter_map(|(t, v)| compute(&v, stat).map(|x| (t, x)))
            .collect()
    }

    // -----------------------------------------------------------------------------------------
    // Alarms (docs/reference/cloudwatch.md "DescribeAlarms", "PutMetricAlarm and SetAlarmState")

    fn put_metric_alarm(&self, input: &Cbor) -> Result<Cbor, ApiError> {
        let text = |k: &str| input.get(k).and_then(Cbor::as_str).map(str::to_string);
        let name = text("AlarmName").ok_or_else(|| validation("1 validation error detected: Value null at 'alarmName' failed to satisfy constraint: Member must not be null"))?;
        if name.is_empty() || name.chars().count() > 255 {
            return Err(validation("1 validation error detected: Value at 'alarmName' failed to satisfy constraint: Member must have length between 1 and 255"));
        }
        let comparison = text("ComparisonOperator").ok_or_else(|| validation("1 validation error detected: Value null at 'comparisonOperator' failed to satisfy constraint: Member must not be null"))?;
        if !matches!(
            comparison.as_str(),
            "GreaterThanOrEqualToThreshold"
                | "GreaterThanThreshold"
                | "LessThanThreshold"
                | "LessThanOrEqualToThreshold"
        ) {
            return Err(validation(format!("ComparisonOperator {comparison} is not supported by the sandbox (static thresholds only)")));
        }
        let evaluation_periods = input
            .get("EvaluationPeriods")
            .and_then(Cbor::as_i64)
            .filter(|n| *n >= 1)
            .ok_or_else(|| validation("1 validation error detected: Value at 'evaluationPeriods' failed to satisfy constraint: Member must have value greater than or equal to 1"))?;
        let datapoints_to_alarm = match input.get("DatapointsToAlarm") {
            None => evaluation_periods,
            Some(v) => v
                .as_i64()
                .filter(|n| *n >= 1 && *n <= evaluation_periods)
                .ok_or_else(|| {
                    validation("DatapointsToAlarm must be from 1 to EvaluationPeriods")
                })?,
        };
        let namespace = text("Namespace").ok_or_else(|| {
            validation(
                "Namespace is required for a metric alarm (metric math alarms are not modelled)",
            )
        })?;
        let metric_name = text("MetricName")
            .ok_or_else(|| validation("MetricName is required for a metric alarm"))?;
        let statistic = match (text("Statistic"), text("ExtendedStatistic")) {
            (Some(s), None) if matches!(s.as_str(), "SampleCount" | "Average" | "Sum" | "Minimum" | "Maximum") => s,
            (None, Some(p)) if percentile(&p).is_some() => p,
            (Some(_), Some(_)) => return Err(validation("Exactly one of Statistic and ExtendedStatistic must be set")),
            _ => return Err(validation("Statistic must be one of SampleCount, Average, Sum, Minimum, Maximum, or ExtendedStatistic a percentile like p99")),
        };
        let period_s = input
            .get("Period")
            .and_then(Cbor::as_i64)
            .filter(|p| matches!(p, 10 | 20 | 30) || (*p >= 60 && p % 60 == 0))
            .ok_or_else(|| validation("Period must be 10, 20, 30 or a multiple of 60"))?;
        let threshold = input
            .get("Threshold")
            .and_then(Cbor::as_f64)
            .ok_or_else(|| validation("Threshold is required for a static-threshold alarm"))?;
        let missing = match text("TreatMissingData").as_deref() {
            None | Some("missing") => MissingData::Missing,
            Some("notBreaching") => MissingData::NotBreaching,
            Some("breaching") => MissingData::Breaching,
            Some("ignore") => MissingData::Ignore,
            Some(other) => {
                return Err(validation(format!(
                "TreatMissingData {other} is not one of breaching, notBreaching, ignore, missing"
            )))
            }
        };
        let mut dims: Vec<(String, String)> = Vec::new();
        for d in input
            .get("Dimensions")
            .and_then(Cbor::as_array)
            .unwrap_or(&[])
        {
            let (Some(n), Some(v)) = (
                d.get("Name").and_then(Cbor::as_str),
                d.get("Value").and_then(Cbor::as_str),
            ) else {
                return Err(validation("every dimension needs a Name and a Value"));
            };
            dims.push((n.to_string(), v.to_string()));
        }
        dims.sort();
        let now = self.clock.now_millis();
        let mut inner = self.lock();
        let previous = inner.alarms.get(&name).cloned();
        let alarm = Alarm {
            name: name.clone(),
            description: text("AlarmDescription"),
            metric: MetricKey {
                namespace,
                name: metric_name,
                dimensions: dims,
            },
            statistic,
            period_s,
            evaluation_periods,
            datapoints_to_alarm,
            threshold,
            comparison,
            missing,
            actions_enabled: input
                .get("ActionsEnabled")
                .and_then(Cbor::as_bool)
                .unwrap_or(true),
            // Updating an alarm leaves its state; a new one starts INSUFFICIENT_DATA.
            state: previous
                .as_ref()
                .map_or("INSUFFICIENT_DATA".into(), |p| p.state.clone()),
            reason: previous
                .as_ref()
                .map_or("Unchecked: Initial alarm creation".into(), |p| {
                    p.reason.clone()
                }),
            state_updated_ms: previous.as_ref().map_or(now, |p| p.state_updated_ms),
            configured_ms: now,
            manual_until_ms: None,
        };
        inner.alarms.insert(name, alarm);
        Ok(Cbor::map(vec![]))
    }

    fn set_alarm_state(&self, input: &Cbor) -> Result<Cbor, ApiError> {
        let name = input.get("AlarmName").and_then(Cbor::as_str).ok_or_else(|| validation("1 validation error detected: Value null at 'alarmName' failed to satisfy constraint: Member must not be null"))?;
        let state = input.get("StateValue").and_then(Cbor::as_str).ok_or_else(|| validation("1 validation error detected: Value null at 'stateValue' failed to satisfy constraint: Member must not be null"))?;
        if !matches!(state, "OK" | "ALARM" | "INSUFFICIENT_DATA") {
            return Err(validation(format!("1 validation error detected: Value '{state}' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]")));
        }
        let reason = input.get("StateReason").and_then(Cbor::as_str).ok_or_else(|| validation("1 validation error detected: Value null at 'stateReason' failed to satisfy constraint: Member must not be null"))?;
        if let Some(data) = input.get("StateReasonData").and_then(Cbor::as_str) {
            if serde_json::from_str::<serde_json::Value>(data).is_err() {
                return Err(ApiError {
                    status: 400,
                    code: "InvalidFormat".into(),
                    message: "StateReasonData is not valid JSON".into(),
                });
            }
        }
        let now = self.clock.now_millis();
        let mut inner = self.lock();
        let alarm = inner.alarms.get_mut(name).ok_or_else(|| ApiError {
            status: 404,
            code: "ResourceNotFound".into(),
            message: format!("Alarm {name} not found"),
        })?;
        if alarm.state != state {
            alarm.state_updated_ms = now;
        }
        alarm.state = state.to_string();
        alarm.reason = reason.to_string();
        // The state holds until the alarm is next evaluated: the end of its current period.
        let period_ms = alarm.period_s.max(60) * 1000;
        alarm.manual_until_ms = Some(now.div_euclid(period_ms) * period_ms + period_ms);
        Ok(Cbor::map(vec![]))
    }

    fn describe_alarms(&self, input: &Cbor) -> Result<Cbor, ApiError> {
        let names: Option<Vec<String>> = match input.get("AlarmNames") {
            None => None,
            Some(v) => Some(
                v.as_array()
                    .ok_or_else(|| validation("AlarmNames must be a list"))?
                    .iter()
                    .map(|n| {
                        n.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| validation("AlarmNames must hold strings"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        if names.as_ref().is_some_and(|n| n.len() > MAX_ALARM_NAMES) {
            return Err(validation(format!(
                "1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to {MAX_ALARM_NAMES}"
            )));
        }
        let prefix = input.get("AlarmNamePrefix").and_then(Cbor::as_str);
        if prefix.is_some() && names.is_some() {
            return Err(ApiError {
                status: 400,
                code: "InvalidParameterCombination".into(),
                message: "AlarmNames and AlarmNamePrefix cannot be specified together".into(),
            });
        }
        let types: Vec<&str> = input
            .get("AlarmTypes")
            .and_then(Cbor::as_array)
            .map(|a| a.iter().filter_map(Cbor::as_str).collect())
            .unwrap_or_else(|| vec!["MetricAlarm"]);
        let state_filter = input.get("StateValue").and_then(Cbor::as_str);
        let max = match input.get("MaxRecords") {
            None => 50,
            Some(v) => v
                .as_i64()
                .filter(|n| (1..=100).contains(n))
                .map(|n| n as usize)
                .ok_or_else(|| validation("1 validation error detected: Value at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and 100"))?,
        };
        let skip = match input.get("NextToken").and_then(Cbor::as_str) {
            None => 0,
            Some(t) => t
                .strip_prefix("sandbox-alarms-")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| ApiError {
                    status: 400,
                    code: "InvalidNextToken".into(),
                    message: "The service couldn't process the NextToken".into(),
                })?,
        };
        self.evaluate_alarms();
        let inner = self.lock();
        let matching: Vec<&Alarm> = if types.contains(&"MetricAlarm") {
            inner
                .alarms
                .values()
                .filter(|a| names.as_ref().is_none_or(|n| n.contains(&a.name)))
                .filter(|a| prefix.is_none_or(|p| a.name.starts_with(p)))
                .filter(|a| state_filter.is_none_or(|s| a.state == s))
                .collect()
        } else {
            Vec::new()
        };
        let page: Vec<Cbor> = matching
            .iter()
            .skip(skip)
            .take(max)
            .map(|a| self.alarm_cbor(a))
            .collect();
        let mut answer = vec![
            ("MetricAlarms", Cbor::Array(page)),
            ("CompositeAlarms", Cbor::Array(vec![])),
        ];
        if matching.len() > skip + max {
            answer.push((
                "NextToken",
                Cbor::text(format!("sandbox-alarms-{}", skip + max)),
            ));
        }
        Ok(Cbor::map(answer))
    }

    fn alarm_cbor(&self, a: &Alarm) -> Cbor {
        let dims: Vec<Cbor> = a
            .metric
            .dimensions
            .iter()
            .map(|(n, v)| Cbor::map(vec![("Name", Cbor::text(n)), ("Value", Cbor::text(v))]))
            .collect();
        let mut fields = vec![
            ("AlarmName", Cbor::text(&a.name)),
            (
                "AlarmArn",
                Cbor::text(format!(
                    "arn:aws:cloudwatch:{}:{ACCOUNT_ID}:alarm:{}",
                    self.region, a.name
                )),
            ),
            (
                "AlarmConfigurationUpdatedTimestamp",
                Cbor::timestamp(a.configured_ms),
            ),
            ("ActionsEnabled", Cbor::Bool(a.actions_enabled)),
            ("OKActions", Cbor::Array(vec![])),
            ("AlarmActions", Cbor::Array(vec![])),
            ("InsufficientDataActions", Cbor::Array(vec![])),
            ("StateValue", Cbor::text(&a.state)),
            ("StateReason", Cbor::text(&a.reason)),
            ("StateUpdatedTimestamp", Cbor::timestamp(a.state_updated_ms)),
            (
                "StateTransitionedTimestamp",
                Cbor::timestamp(a.state_updated_ms),
            ),
            ("MetricName", Cbor::text(&a.metric.name)),
            ("Namespace", Cbor::text(&a.metric.namespace)),
            ("Dimensions", Cbor::Array(dims)),
            ("Period", Cbor::Int(i128::from(a.period_s))),
            (
                "EvaluationPeriods",
                Cbor::Int(i128::from(a.evaluation_periods)),
            ),
            (
                "DatapointsToAlarm",
                Cbor::Int(i128::from(a.datapoints_to_alarm)),
            ),
            ("Threshold", Cbor::Float(a.threshold)),
            ("ComparisonOperator", Cbor::text(&a.comparison)),
            (
                "TreatMissingData",
                Cbor::text(match a.missing {
                    MissingData::Missing => "missing",
                    MissingData::NotBreaching => "notBreaching",
                    MissingData::Breaching => "breaching",
                    MissingData::Ignore => "ignore",
                }),
            ),
        ];
        if percentile(&a.statistic).is_some() {
            fields.push(("ExtendedStatistic", Cbor::text(&a.statistic)));
        } else {
            fields.push(("Statistic", Cbor::text(&a.statistic)));
        }
        if let Some(d) = &a.description {
            fields.push(("AlarmDescription", Cbor::text(d)));
        }
        Cbor::map(fields)
    }

    /// Evaluates every alarm not held by `SetAlarmState` over its last `EvaluationPeriods` whole
    /// periods: ALARM when at least `DatapointsToAlarm` breach, OK when not, INSUFFICIENT_DATA
    /// when missing data leaves too few (per `TreatMissingData`).
    fn evaluate_alarms(&self) {
        let now = self.clock.now_millis();
        let snapshot: Vec<Alarm> = self.lock().alarms.values().cloned().collect();
        let mut updates = Vec::new();
        for alarm in snapshot {
            if alarm.manual_until_ms.is_some_and(|t| now < t) {
                continue;
            }
            let period_ms = alarm.period_s.max(60) * 1000;
            let last_end = now.div_euclid(period_ms) * period_ms;
            let mut breaching = 0;
            let mut missing = 0;
            for k in 0..alarm.evaluation_periods {
                let start = last_end - (k + 1) * period_ms;
                match self.statistic(&alarm.metric, start, period_ms, &alarm.statistic) {
                    Some(v) if breaches(&alarm.comparison, v, alarm.threshold) => breaching += 1,
                    Some(_) => {}
                    None => match alarm.missing {
                        MissingData::Breaching => breaching += 1,
                        MissingData::NotBreaching => {}
                        MissingData::Missing | MissingData::Ignore => missing += 1,
                    },
                }
            }
            let (state, reason) = if breaching >= alarm.datapoints_to_alarm {
                ("ALARM", format!("Threshold Crossed: {breaching} out of the last {} datapoints were breaching the threshold ({})", alarm.evaluation_periods, alarm.threshold))
            } else if missing == alarm.evaluation_periods {
                if alarm.missing == MissingData::Ignore {
                    continue;
                }
                (
                    "INSUFFICIENT_DATA",
                    "Insufficient Data: no datapoints were received for the evaluation periods"
                        .to_string(),
                )
            } else {
                ("OK", format!("Threshold Crossed: {breaching} out of the last {} datapoints were breaching the threshold ({})", alarm.evaluation_periods, alarm.threshold))
            };
            updates.push((alarm.name.clone(), state, reason));
        }
        let mut inner = self.lock();
        for (name, state, reason) in updates {
            if let Some(a) = inner.alarms.get_mut(&name) {
                if a.state != state {
                    a.state_updated_ms = now;
                }
                a.state = state.to_string();
                a.reason = reason;
                a.manual_until_ms = None;
            }
        }
    }
}

fn breaches(comparison: &str, value: f64, threshold: f64) -> bool {
    match comparison {
        "GreaterThanOrEqualToThreshold" => value >= threshold,
        "GreaterThanThreshold" => value > threshold,
        "LessThanThreshold" => value < threshold,
        "LessThanOrEqualToThreshold" => value <= threshold,
        _ => false,
    }
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && id.len() <= 255
}

fn metric_stat(q: &Cbor, i: usize) -> Result<(MetricKey, i64, String), ApiError> {
    let member = |k: &str| format!("MetricDataQueries.member.{}.MetricStat.{k}", i + 1);
    let metric = q
        .get("Metric")
        .ok_or_else(|| validation(format!("{} is required", member("Metric"))))?;
    let namespace = metric
        .get("Namespace")
        .and_then(Cbor::as_str)
        .ok_or_else(|| validation(format!("{} is required", member("Metric.Namespace"))))?;
    let name = metric
        .get("MetricName")
        .and_then(Cbor::as_str)
        .ok_or_else(|| validation(format!("{} is required", member("Metric.MetricName"))))?;
    let mut dims: Vec<(String, String)> = Vec::new();
    for d in metric
        .get("Dimensions")
        .and_then(Cbor::as_array)
        .unwrap_or(&[])
    {
        let (Some(n), Some(v)) = (
            d.get("Name").and_then(Cbor::as_str),
            d.get("Value").and_then(Cbor::as_str),
        ) else {
            return Err(validation(format!(
                "{}: every dimension needs a Name and a Value",
                member("Metric.Dimensions")
            )));
        };
        dims.push((n.to_string(), v.to_string()));
    }
    dims.sort();
    let period = q
        .get("Period")
        .and_then(Cbor::as_i64)
        .ok_or_else(|| validation(format!("{} is required", member("Period"))))?;
    if !(matches!(period, 1 | 5 | 10 | 20 | 30) || (period >= 60 && period % 60 == 0)) {
        return Err(validation(format!(
            "The parameter {} must be 1, 5, 10, 20, 30 or a multiple of 60",
            member("Period")
        )));
    }
    let stat = q
        .get("Stat")
        .and_then(Cbor::as_str)
        .ok_or_else(|| validation(format!("{} is required", member("Stat"))))?;
    if compute(&[1.0], stat).is_none() {
        return Err(validation(format!(
            "The parameter {} has an invalid or unsupported statistic: {stat}",
            member("Stat")
        )));
    }
    Ok((
        MetricKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
            dimensions: dims,
        },
        period,
        stat.to_string(),
    ))
}

/// `pNN` / `pNN.NN` → the fraction.
fn percentile(stat: &str) -> Option<f64> {
    let n: f64 = stat.strip_prefix('p')?.parse().ok()?;
    (n > 0.0 && n <= 100.0).then_some(n / 100.0)
}

/// A statistic of `values` (`None` without values or for an unknown statistic). Percentiles use
/// the nearest rank.
pub fn compute(values: &[f64], stat: &str) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let sum: f64 = values.iter().sum();
    match stat {
        "Sum" => Some(sum),
        "SampleCount" => Some(values.len() as f64),
        "Average" => Some(sum / values.len() as f64),
        "Minimum" => values.iter().copied().reduce(f64::min),
        "Maximum" => values.iter().copied().reduce(f64::max),
        other => {
            let q = percentile(other)?;
            let mut sorted = values.to_vec();
            sorted.sort_by(f64::total_cmp);
            let rank = (q * sorted.len() as f64).ceil() as usize;
            sorted
                .get(rank.saturating_sub(1).min(sorted.len() - 1))
                .copied()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The wire: Smithy RPC v2 CBOR (docs/reference/cloudwatch.md "Wire protocol")

async fn serve_rpc(
    State(cw): State<CloudWatch>,
    Path(op): Path<String>,
    request: SignedRequest,
) -> Response {
    if let Err(e) = check_request(&cw.iam, &request) {
        return error_response(&e);
    }
    let body = &request.body;
    let input = if body.is_empty() {
        Cbor::Map(Vec::new())
    } else {
        match cbor::decode(body) {
            Ok(c @ Cbor::Map(_)) => c,
            Ok(_) => return error_response(&validation("the request body must be a CBOR map")),
            Err(e) => {
                return error_response(&ApiError {
                    status: 400,
                    code: "SerializationException".into(),
                    message: e.to_string(),
                })
            }
        }
    };
    match cw.call(&op, &input) {
        Ok(out) => cbor_response(StatusCode::OK, &out, None),
        Err(e) => error_response(&e),
    }
}

/// AWS JSON 1.0: `POST /` with `X-Amz-Target: GraniteServiceVersion20100801.<Operation>`;
/// timestamps are epoch seconds.
async fn serve_json(State(cw): State<CloudWatch>, request: SignedRequest) -> Response {
    let target = request
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("GraniteServiceVersion20100801."))
        .map(str::to_string);
    let Some(op) = target else {
        return json_error(&ApiError {
            status: 400,
            code: "UnknownOperationException".into(),
            message: "the sandbox CloudWatch serves AWS JSON 1.0 (X-Amz-Target) and Smithy RPC v2 CBOR; the Query protocol is not served".into(),
        });
    };
    if let Err(e) = cw.iam.caller(&request, SIGNING_NAME) {
        return json_error(&e);
    }
    let body = &request.body;
    let input = if body.is_empty() {
        Cbor::Map(Vec::new())
    } else {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(v @ serde_json::Value::Object(_)) => from_json(&v),
            _ => {
                return json_error(&ApiError {
                    status: 400,
                    code: "SerializationException".into(),
                    message: "the request body is not a JSON object".into(),
                })
            }
        }
    };
    match cw.call(&op, &input) {
        Ok(out) => {
            let mut response = (StatusCode::OK, to_json(&out).to_string()).into_response();
            let h = response.headers_mut();
            h.insert(
                "content-type",
                HeaderValue::from_static("application/x-amz-json-1.0"),
            );
            if let Ok(v) = HeaderValue::from_str(&crate::route53::request_id()) {
                h.insert("x-amzn-requestid", v);
            }
            response
        }
        Err(e) => json_error(&e),
    }
}

fn json_error(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({
        "__type": format!("com.amazonaws.cloudwatch#{}", shape_of(&e.code)),
        "message": e.message,
    });
    let mut response = (status, body.to_string()).into_response();
    let h = response.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    let fault = if e.status >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{};{fault}", e.code)) {
        h.insert("x-amzn-query-error", v);
    }
    response
}

/// JSON → the CBOR model the operations read (numbers stay numbers: timestamps are seconds).
fn from_json(v: &serde_json::Value) -> Cbor {
    use serde_json::Value as J;
    match v {
        J::Null => Cbor::Null,
        J::Bool(b) => Cbor::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Cbor::Int(i128::from(i)),
            None => Cbor::Float(n.as_f64().unwrap_or(0.0)),
        },
        J::String(s) => Cbor::text(s),
        J::Array(items) => Cbor::Array(items.iter().map(from_json).collect()),
        J::Object(map) => Cbor::Map(
            map.iter()
                .map(|(k, v)| (Cbor::text(k), from_json(v)))
                .collect(),
        ),
    }
}

/// The operations' CBOR answer as AWS JSON (a timestamp is epoch seconds).
fn to_json(c: &Cbor) -> serde_json::Value {
    use serde_json::Value as J;
    match c {
        Cbor::Int(i) => i64::try_from(*i).map_or(J::Null, J::from),
        Cbor::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Cbor::Text(t) => J::String(t.clone()),
        Cbor::Bytes(b) => J::String(base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            b,
        )),
        Cbor::Array(items) => J::Array(items.iter().map(to_json).collect()),
        Cbor::Map(pairs) => J::Object(
            pairs
                .iter()
                .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), to_json(v))))
                .collect(),
        ),
        Cbor::Tag(_, inner) => to_json(inner),
        Cbor::Bool(b) => J::Bool(*b),
        Cbor::Null | Cbor::Undefined => J::Null,
    }
}

fn shape_of(code: &str) -> &str {
    match code {
        "InvalidFormat" => "InvalidFormatFault",
        "LimitExceeded" => "LimitExceededFault",
        other => other,
    }
}

/// The name CloudWatch's SigV4 credential scope carries.
pub const SIGNING_NAME: &str = "monitoring";

/// The protocol header, then the caller ([`Iam::caller`]: a known key, a signature that
/// verifies).
fn check_request(iam: &Iam, request: &SignedRequest) -> Result<(), ApiError> {
    if request
        .headers
        .get("smithy-protocol")
        .and_then(|v| v.to_str().ok())
        != Some("rpc-v2-cbor")
    {
        return Err(ApiError {
            status: 400,
            code: "UnknownOperationException".into(),
            message: "this path takes the Smithy RPC v2 CBOR protocol (header smithy-protocol: rpc-v2-cbor)".into(),
        });
    }
    iam.caller(request, SIGNING_NAME).map(|_| ())
}

fn cbor_response(status: StatusCode, body: &Cbor, query_error: Option<&str>) -> Response {
    let mut response = (status, cbor::encode(body)).into_response();
    let headers = response.headers_mut();
    headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    headers.insert("content-type", HeaderValue::from_static("application/cbor"));
    if let Ok(v) = HeaderValue::from_str(&crate::route53::request_id()) {
        headers.insert("x-amzn-requestid", v);
    }
    if let Some(v) = query_error.and_then(|q| HeaderValue::from_str(q).ok()) {
        headers.insert("x-amzn-query-error", v);
    }
    response
}

/// An error as CloudWatch sends it in this protocol: `__type` with the shape id, `message`, and
/// (the service is Query-compatible) the Query error code in `x-amzn-query-error`.
fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let shape = shape_of(&e.code);
    let body = Cbor::map(vec![
        (
            "__type",
            Cbor::text(format!("com.amazonaws.cloudwatch#{shape}")),
        ),
        ("message", Cbor::text(&e.message)),
    ]);
    let fault = if e.status >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    cbor_response(status, &body, Some(&format!("{};{fault}", e.code)))
}

async fn unknown() -> Response {
    error_response(&ApiError {
        status: 404,
        code: "UnknownOperationException".into(),
        message: "The sandbox CloudWatch serves POST /service/GraniteServiceVersion20100801/operation/{Operation}".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_and_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(compute(&v, "Sum"), Some(5050.0));
        assert_eq!(compute(&v, "SampleCount"), Some(100.0));
        assert_eq!(compute(&v, "p99"), Some(99.0));
        assert_eq!(compute(&v, "p50"), Some(50.0));
        assert_eq!(compute(&v, "p99.9"), Some(100.0));
        assert_eq!(compute(&v, "Maximum"), Some(100.0));
        assert_eq!(compute(&[], "Sum"), None);
        assert_eq!(compute(&v, "tm99"), None);
    }

    fn alarm_input(name: &str, threshold: f64) -> Cbor {
        Cbor::map(vec![
            ("AlarmName", Cbor::text(name)),
            ("Namespace", Cbor::text("AWS/ApplicationELB")),
            ("MetricName", Cbor::text("HTTPCode_Target_5XX_Count")),
            (
                "Dimensions",
                Cbor::Array(vec![Cbor::map(vec![
                    ("Name", Cbor::text("LoadBalancer")),
                    ("Value", Cbor::text("app/lb/0123456789abcdef")),
                ])]),
            ),
            ("Statistic", Cbor::text("Sum")),
            ("Period", Cbor::Int(60)),
            ("EvaluationPeriods", Cbor::Int(1)),
            ("Threshold", Cbor::Float(threshold)),
            (
                "ComparisonOperator",
                Cbor::text("GreaterThanOrEqualToThreshold"),
            ),
        ])
    }

    fn state_of(cw: &CloudWatch, name: &str) -> String {
        let out = cw
            .call(
                "DescribeAlarms",
                &Cbor::map(vec![("AlarmNames", Cbor::Array(vec![Cbor::text(name)]))]),
            )
            .unwrap();
        out.get("MetricAlarms").unwrap().as_array().unwrap()[0]
            .get("StateValue")
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn alarms_evaluate_recorded_metrics_and_set_state_holds_until_the_next_period() {
        let clock = SimClock::new();
        let cw = CloudWatch::new(clock.clone(), "eu-west-1");
        cw.call("PutMetricAlarm", &alarm_input("green-5xx", 5.0))
            .unwrap();
        // No data yet: the last period is missing.
        assert_eq!(state_of(&cw, "green-5xx"), "INSUFFICIENT_DATA");
        let key = MetricKey::new(
            "AWS/ApplicationELB",
            "HTTPCode_Target_5XX_Count",
            &[("LoadBalancer", "app/lb/0123456789abcdef")],
        );
        let now = clock.now_millis();
        cw.record_many(&key, now, &[1.0; 7]);
        clock.advance(std::time::Duration::from_secs(60));
        assert_eq!(state_of(&cw, "green-5xx"), "ALARM");
        cw.call(
            "SetAlarmState",
            &Cbor::map(vec![
                ("AlarmName", Cbor::text("green-5xx")),
                ("StateValue", Cbor::text("OK")),
                ("StateReason", Cbor::text("testing")),
            ]),
        )
        .unwrap();
        assert_eq!(state_of(&cw, "green-5xx"), "OK");
        clock.advance(std::time::Duration::from_secs(60));
        // Re-evaluated: the minute with 7 errors is no longer the last; nothing since.
        assert_eq!(state_of(&cw, "green-5xx"), "INSUFFICIENT_DATA");
        let e = cw
            .call(
                "SetAlarmState",
                &Cbor::map(vec![
                    ("AlarmName", Cbor::text("nope")),
                    ("StateValue", Cbor::text("OK")),
                    ("StateReason", Cbor::text("x")),
                ]),
            )
            .unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (404, "ResourceNotFound"));
    }

    #[test]
    fn get_metric_data_validates_and_aggregates_by_period() {
        let clock = SimClock::new();
        let cw = CloudWatch::new(clock.clone(), "eu-west-1");
        let key = MetricKey::new(
            "AWS/ApplicationELB",
            "RequestCount",
            &[("LoadBalancer", "app/lb/0123456789abcdef")],
        );
        let t0 = clock.now_millis().div_euclid(MINUTE_MS) * MINUTE_MS - 10 * MINUTE_MS;
        for m in 0..10 {
            cw.record_many(&key, t0 + m * MINUTE_MS, &vec![1.0; (m + 1) as usize]);
        }
        let query = |id: &str, period: i64| {
            Cbor::map(vec![
                ("Id", Cbor::text(id)),
                (
                    "MetricStat",
                    Cbor::map(vec![
                        (
                            "Metric",
                            Cbor::map(vec![
                                ("Namespace", Cbor::text("AWS/ApplicationELB")),
                                ("MetricName", Cbor::text("RequestCount")),
                                (
                                    "Dimensions",
                                    Cbor::Array(vec![Cbor::map(vec![
                                        ("Name", Cbor::text("LoadBalancer")),
                                        ("Value", Cbor::text("app/lb/0123456789abcdef")),
                                    ])]),
                                ),
                            ]),
                        ),
                        ("Period", Cbor::Int(i128::from(period))),
                        ("Stat", Cbor::text("Sum")),
                    ]),
                ),
            ])
        };
        let input = |queries: Vec<Cbor>| {
            Cbor::map(vec![
                ("MetricDataQueries", Cbor::Array(queries)),
                ("StartTime", Cbor::timestamp(t0)),
                ("EndTime", Cbor::timestamp(t0 + 10 * MINUTE_MS)),
                ("ScanBy", Cbor::text("TimestampAscending")),
            ])
        };
        let out = cw
            .call(
                "GetMetricData",
                &input(vec![query("m1", 60), query("m5", 300)]),
            )
            .unwrap();
        let results = out.get("MetricDataResults").unwrap().as_array().unwrap();
        let values = |r: &Cbor| -> Vec<f64> {
            r.get("Values")
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Cbor::as_f64)
                .collect()
        };
        assert_eq!(
            values(&results[0]),
            (1..=10).map(f64::from).collect::<Vec<_>>()
        );
        assert_eq!(values(&results[1]).iter().sum::<f64>(), 55.0);
        let e = cw
            .call(
                "GetMetricData",
                &input(vec![query("m1", 60), query("m1", 60)]),
            )
            .unwrap_err();
        assert_eq!(e.code, "ValidationError");
        let e = cw
            .call("GetMetricData", &input(vec![query("M1", 60)]))
            .unwrap_err();
        assert_eq!(e.code, "ValidationError");
        let e = cw
            .call(
                "GetMetricData",
                &input((0..501).map(|i| query(&format!("m{i}"), 60)).collect()),
            )
            .unwrap_err();
        assert!(e.message.contains("500"), "{}", e.message);
        let e = cw
            .call("GetMetricData", &input(vec![query("m1", 90)]))
            .unwrap_err();
        assert_eq!(e.code, "ValidationError");
    }
}
