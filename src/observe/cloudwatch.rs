//! CloudWatch: the load balancers' metrics of real traffic (`GetMetricData`) and the configured
//! alarms (`DescribeAlarms`), behind a small port so the sandbox and AWS plug in the same way
//! (docs/design.md §4). The facts relied on are in docs/reference/cloudwatch.md.

use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, Metric, MetricDataQuery, MetricStat, ScanBy, StatusCode,
};

use cutover_core::traffic::AlarmState;
use cutover_core::types::Millis;

/// At most 500 `MetricDataQuery` per `GetMetricData` call (docs/reference/cloudwatch.md
/// "GetMetricData").
pub const MAX_QUERIES_PER_CALL: usize = 500;
/// At most 100 names in `AlarmNames` of one `DescribeAlarms` call (docs/reference/cloudwatch.md
/// "DescribeAlarms").
pub const MAX_ALARM_NAMES_PER_CALL: usize = 100;

/// One metric statistic of one load balancer, per minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    /// Unique in the call; starts with a lower-case letter.
    pub id: String,
    /// `AWS/ApplicationELB` or `AWS/NetworkELB`.
    pub namespace: &'static str,
    pub metric_name: &'static str,
    /// The `LoadBalancer` dimension (`app/<name>/<id>`).
    pub load_balancer: String,
    /// `Sum`, `p99`, …
    pub stat: &'static str,
    pub period_seconds: i32,
}

/// The data points of one query: (timestamp, value), any order.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub id: String,
    pub points: Vec<(Millis, f64)>,
    /// `Complete`, or why the data may be partial (`PartialData`, `InternalError`, `Forbidden`).
    pub status: String,
}

/// What cutover reads from CloudWatch. Each method is one API call per page.
pub trait CloudWatchApi: Send + Sync {
    /// One `GetMetricData` for at most [`MAX_QUERIES_PER_CALL`] queries over `[start, end)`
    /// (more calls only if CloudWatch pages the answer).
    fn get_metric_data<'a>(
        &'a self,
        queries: &'a [MetricQuery],
        start: Millis,
        end: Millis,
    ) -> BoxFuture<'a, Result<Vec<QueryResult>, String>>;

    /// One `DescribeAlarms` for at most [`MAX_ALARM_NAMES_PER_CALL`] names, metric and composite
    /// alarms: name → state. A name CloudWatch does not know is absent from the answer.
    fn describe_alarms<'a>(
        &'a self,
        names: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, AlarmState)>, String>>;
}

/// [`CloudWatchApi`] on the AWS SDK (built from the standard environment, like Route53's
/// client), counting its requests.
#[derive(Debug)]
pub struct SdkCloudWatch {
    client: aws_sdk_cloudwatch::Client,
    get_metric_data: AtomicU64,
    describe_alarms: AtomicU64,
}

impl SdkCloudWatch {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        SdkCloudWatch {
            client,
            get_metric_data: AtomicU64::new(0),
            describe_alarms: AtomicU64::new(0),
        }
    }

    /// Requests sent so far: (`GetMetricData`, `DescribeAlarms`).
    pub fn request_counts(&self) -> (u64, u64) {
        (
            self.get_metric_data.load(Ordering::Relaxed),
            self.describe_alarms.load(Ordering::Relaxed),
        )
    }

    async fn metric_data(
        &self,
        queries: &[MetricQuery],
        start: Millis,
        end: Millis,
    ) -> Result<Vec<QueryResult>, String> {
        if queries.len() > MAX_QUERIES_PER_CALL {
            return Err(format!(
                "{} queries in one GetMetricData call; the API takes at most {MAX_QUERIES_PER_CALL}",
                queries.len()
            ));
        }
        let sdk_queries: Vec<MetricDataQuery> = queries.iter().map(to_sdk_query).collect();
        let mut results: Vec<QueryResult> = Vec::new();
        let mut token: Option<String> = None;
        // CloudWatch pages by data points; a fleet's minute data fits one page, but a token that
        // does not move must not loop forever.
        for _ in 0..100 {
            self.get_metric_data.fetch_add(1, Ordering::Relaxed);
            let answer = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(sdk_queries.clone()))
                .start_time(DateTime::from_millis(start))
                .end_time(DateTime::from_millis(end))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| format!("CloudWatch GetMetricData failed: {}", describe(&e)))?;
            for r in answer.metric_data_results() {
                let Some(id) = r.id() else { continue };
                let points: Vec<(Millis, f64)> = r
                    .timestamps()
                    .iter()
                    .zip(r.values())
                    .filter(|(_, v)| v.is_finite())
                    .filter_map(|(t, v)| t.to_millis().ok().map(|t| (t, *v)))
                    .collect();
                let status = r
                    .status_code()
                    .map_or("Complete", StatusCode::as_str)
                    .to_string();
                match results.iter_mut().find(|x| x.id == id) {
                    Some(existing) => {
                        existing.points.extend(points);
                        existing.status = status;
                    }
                    None => results.push(QueryResult {
                        id: id.to_string(),
                        points,
                        status,
                    }),
                }
            }
            match answer.next_token() {
                Some(next) if !next.is_empty() && Some(next) != token.as_deref() => {
                    token = Some(next.to_string());
                }
                _ => return Ok(results),
            }
        }
        Err("CloudWatch GetMetricData kept answering with a next token".to_string())
    }

    async fn alarms(&self, names: &[String]) -> Result<Vec<(String, AlarmState)>, String> {
        if names.len() > MAX_ALARM_NAMES_PER_CALL {
            return Err(format!(
                "{} alarm names in one DescribeAlarms call; the API takes at most {MAX_ALARM_NAMES_PER_CALL}",
                names.len()
            ));
        }
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..100 {
            self.describe_alarms.fetch_add(1, Ordering::Relaxed);
            let answer = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                // Without AlarmTypes only metric alarms are returned
                // (docs/reference/cloudwatch.md "DescribeAlarms").
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .max_records(100)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| format!("CloudWatch DescribeAlarms failed: {}", describe(&e)))?;
            let metric = answer
                .metric_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.state_value().map(|s| s.as_str())));
            let composite = answer
                .composite_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.state_value().map(|s| s.as_str())));
            for (name, state) in metric.chain(composite) {
                let (Some(name), Some(state)) = (name, state.and_then(AlarmState::parse)) else {
                    continue;
                };
                out.push((name.to_string(), state));
            }
            match answer.next_token() {
                Some(next) if !next.is_empty() && Some(next) != token.as_deref() => {
                    token = Some(next.to_string());
                }
                _ => return Ok(out),
            }
        }
        Err("CloudWatch DescribeAlarms kept answering with a next token".to_string())
    }
}

impl CloudWatchApi for SdkCloudWatch {
    fn get_metric_data<'a>(
        &'a self,
        queries: &'a [MetricQuery],
        start: Millis,
        end: Millis,
    ) -> BoxFuture<'a, Result<Vec<QueryResult>, String>> {
        Box::pin(self.metric_data(queries, start, end))
    }

    fn describe_alarms<'a>(
        &'a self,
        names: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, AlarmState)>, String>> {
        Box::pin(self.alarms(names))
    }
}

fn to_sdk_query(q: &MetricQuery) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(q.namespace)
        .metric_name(q.metric_name)
        .dimensions(
            Dimension::builder()
                .name("LoadBalancer")
                .value(&q.load_balancer)
                .build(),
        )
        .build();
    MetricDataQuery::builder()
        .id(&q.id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(q.period_seconds)
                .stat(q.stat)
                .build(),
        )
        .return_data(true)
        .build()
}

/// The error code and message of an SDK error, never its request (no credentials in logs).
fn describe<E, R>(e: &aws_sdk_cloudwatch::error::SdkError<E, R>) -> String
where
    E: aws_sdk_cloudwatch::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_cloudwatch::error::SdkError;
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            format!(
                "{}: {}",
                err.code().unwrap_or("error"),
                err.message().unwrap_or("no message")
            )
        }
        SdkError::TimeoutError(_) => "timeout".to_string(),
        other => super::error_chain(other),
    }
}
