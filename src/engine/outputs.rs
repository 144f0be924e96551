//! After a command: its notifications (SNS) and cutover's own metrics (EMF on stdout)
//! (docs/design.md §4). Neither can change or fail a decision.

use std::sync::Arc;
use std::time::Instant;

use super::Context;
use crate::emf::{self, MetricsSink};
use crate::notify::{self, Notifier};
use crate::observe::cloudwatch::CloudWatchApi;
use crate::report::Report;

/// The ports of real traffic and of decisions' outputs; each is optional.
#[derive(Clone, Default)]
pub struct TrafficPorts {
    /// Alarms and load-balancer metrics; without it, configured alarms and metric rules read as
    /// unavailable (inconclusive), never as good.
    pub cloudwatch: Option<Arc<dyn CloudWatchApi>>,
    /// Publishes notable decisions to `notification_topic_arn`.
    pub notifier: Option<Arc<dyn Notifier>>,
    /// Where EMF lines go (stdout in Lambda); none: no metrics of cutover itself.
    pub metrics: Option<Arc<dyn MetricsSink>>,
}

/// Publishes the notable decisions and emits the EMF lines of `report`.
pub(super) async fn deliver(ctx: &Context, report: &mut Report, writes: bool, started: Instant) {
    if let (Some(notifier), Some(topic)) = (
        ctx.traffic.notifier.as_ref(),
        ctx.config.notification_topic_arn.as_deref(),
    ) {
        report.notifications =
            notify::publish_report(notifier.as_ref(), topic, report, writes).await;
    }
    if let Some(sink) = ctx.traffic.metrics.as_ref() {
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        for line in emf::lines(&ctx.config, report, ms) {
            sink.emit(&line);
        }
    }
}
