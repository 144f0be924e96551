//! A simulated external-dns for one cluster: the sources (Ingress, Service, gateway-httproute),
//! the TXT registry, the planner and the AWS provider, each following
//! docs/reference/external-dns.md. It reads its cluster's objects in-process and talks to the local Route53 through the real `aws-sdk-route53` over
//! HTTP.

pub mod elb;
pub mod plan;
pub mod provider;
pub mod record;
pub mod registry;
pub mod settings;
pub mod source;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::clock::SimClock;
use crate::cluster::Cluster;
pub use plan::SkippedRecord;
use plan::{batches, name_groups, ordered, plan_zone, zones_for, Action, PlannedChange, Zone};
use provider::Provider;
pub use provider::{ProviderError, RequestRecord};
pub use record::{Alias, RecordSet};
pub use settings::{ExternalDnsSettings, Policy, SettingsError, Source, Version, ZoneType};
use source::{desired_endpoints, Endpoint};

/// A managed record (not a registry TXT) that a reconcile changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordRef {
    pub zone_id: String,
    pub name: String,
    pub record_type: String,
    pub set_identifier: Option<String>,
}

/// A name-group whose changes Route53 refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedGroup {
    pub zone_id: String,
    pub name: String,
    pub error: ProviderError,
}

/// What one reconcile did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    pub created: Vec<RecordRef>,
    pub updated: Vec<RecordRef>,
    pub deleted: Vec<RecordRef>,
    /// Keys left alone because another owner (or nobody) owns them.
    pub skipped: Vec<SkippedRecord>,
    pub failed: Vec<FailedGroup>,
    /// Whole-loop failures (listing zones or records).
    pub errors: Vec<String>,
    /// Ingress annotations that could not be used.
    pub warnings: Vec<String>,
}

impl ReconcileReport {
    /// Whether the name-group of `name` failed in this loop.
    pub fn failed_name(&self, name: &str) -> Option<&FailedGroup> {
        self.failed.iter().find(|f| f.name == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Debug,
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    pub at_millis: i64,
    pub level: Level,
    pub message: String,
}

/// The bound on the log (oldest entries dropped).
const LOG_LIMIT: usize = 5_000;

/// How often the loop looks at the simulated clock (real time).
const LOOP_POLL: Duration = Duration::from_millis(25);

#[derive(Debug, thiserror::Error)]
pub enum ExternalDnsError {
    #[error("external-dns for cluster {cluster}: {source}")]
    Settings {
        cluster: String,
        source: SettingsError,
    },
}

struct Inner {
    settings: ExternalDnsSettings,
    cluster: Cluster,
    clock: SimClock,
    provider: Provider,
    log: Mutex<VecDeque<LogEntry>>,
    /// One reconcile at a time (the loop and a manual run never overlap).
    running: tokio::sync::Mutex<()>,
    last_run_millis: Mutex<Option<i64>>,
}

/// One cluster's external-dns. Cheap to clone.
#[derive(Clone)]
pub struct ExternalDns {
    inner: Arc<Inner>,
}

impl ExternalDns {
    pub fn new(
        settings: ExternalDnsSettings,
        cluster: Cluster,
        route53_endpoint: &str,
        clock: SimClock,
    ) -> Result<Self, ExternalDnsError> {
        ExternalDns::new_in_account(
            settings,
            cluster,
            route53_endpoint,
            clock,
            crate::iam::DEFAULT_ACCOUNT,
        )
    }

    /// `new`, writing with `account`'s keys: it sees and writes that account's zones only.
    pub fn new_in_account(
        settings: ExternalDnsSettings,
        cluster: Cluster,
        route53_endpoint: &str,
        clock: SimClock,
        account: &str,
    ) -> Result<Self, ExternalDnsError> {
        settings
            .validate()
            .map_err(|source| ExternalDnsError::Settings {
                cluster: cluster.name.clone(),
                source,
            })?;
        Ok(ExternalDns {
            inner: Arc::new(Inner {
                provider: Provider::new(route53_endpoint, clock.clone(), account),
                settings,
                cluster,
                clock,
                log: Mutex::default(),
                running: tokio::sync::Mutex::new(()),
                last_run_millis: Mutex::default(),
            }),
        })
    }

    pub fn settings(&self) -> &ExternalDnsSettings {
        &self.inner.settings
    }

    pub fn cluster(&self) -> &Cluster {
        &self.inner.cluster
    }

    /// The log lines (debug, info, error), oldest first.
    pub fn log(&self) -> Vec<LogEntry> {
        self.inner
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Every Route53 request this instance made.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.inner.provider.requests()
    }

    fn write_log(&self, level: Level, message: String) {
        match level {
            Level::Debug => tracing::debug!(cluster = %self.inner.cluster.name, "{message}"),
            Level::Info => tracing::info!(cluster = %self.inner.cluster.name, "{message}"),
            Level::Error => tracing::warn!(cluster = %self.inner.cluster.name, "{message}"),
        }
        let mut log = self.inner.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() >= LOG_LIMIT {
            log.pop_front();
        }
        log.push_back(LogEntry {
            at_millis: self.inner.clock.now_millis(),
            level,
            message,
        });
    }

    /// One loop: read the source objects, list every zone, plan, submit.
    pub async fn run_once(&self) -> ReconcileReport {
        let _guard = self.inner.running.lock().await;
        let mut report = ReconcileReport::default();
        let (endpoints, warnings) =
            desired_endpoints(&self.inner.cluster.source_objects(), &self.inner.settings);
        for warning in &warnings {
            self.write_log(Level::Error, warning.clone());
        }
        report.warnings = warnings;
        match self.inner.provider.zones().await {
            Ok(zones) => {
                for zone in &zones {
                    self.reconcile_zone(zone, &zones, &endpoints, &mut report)
                        .await;
                }
            }
            Err(error) => {
                self.write_log(Level::Error, format!("failed to list zones: {error}"));
                report.errors.push(error.to_string());
            }
        }
        *self
            .inner
            .last_run_millis
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(self.inner.clock.now_millis());
        report
    }

    async fn reconcile_zone(
        &self,
        zone: &Zone,
        zones: &[Zone],
        endpoints: &[Endpoint],
        report: &mut ReconcileReport,
    ) {
        let settings = &self.inner.settings;
        let zone_type_allowed = match settings.zone_type {
            Some(ZoneType::Public) => !zone.private,
            Some(ZoneType::Private) => zone.private,
            None => true,
        };
        if !zone_type_allowed {
            return;
        }
        let records = match self.inner.provider.records(&zone.id).await {
            Ok(records) => records,
            Err(error) => {
                self.write_log(
                    Level::Error,
                    format!("failed to list records of zone {}: {error}", zone.id),
                );
                report.errors.push(error.to_string());
                return;
            }
        };
        let desired: Vec<&Endpoint> = endpoints
            .iter()
            .filter(|e| {
                zones_for(&e.record.name, zones, settings.zone_type)
                    .iter()
                    .any(|z| z.id == zone.id)
            })
            .collect();
        let plan = plan_zone(settings, zone, &records, &desired);
        for line in plan.debug {
            self.write_log(Level::Debug, line);
        }
        report.skipped.extend(plan.skipped);
        if plan.changes.is_empty() {
            self.write_log(
                Level::Info,
                format!("zone {}: all records are already up to date", zone.id),
            );
            return;
        }
        for batch in batches(&plan.changes) {
            self.submit_batch(&zone.id, batch, report).await;
        }
    }

    /// Submits a batch; when it fails, retries each name-group alone and logs each failure
    /// (docs/reference/external-dns.md §4: since v0.13.4 / v0.14.1).
    async fn submit_batch(
        &self,
        zone_id: &str,
        batch: Vec<PlannedChange>,
        report: &mut ReconcileReport,
    ) {
        let comment = format!("external-dns {}", self.inner.settings.owner_id);
        match self.inner.provider.submit(zone_id, &batch, &comment).await {
            Ok(change_id) => {
                self.log_applied(zone_id, &change_id, &batch);
                record_applied(zone_id, &batch, report);
            }
            Err(error) => {
                self.write_log(
                    Level::Error,
                    format!(
                        "zone {zone_id}: batch of {} changes failed, retrying each name: {error}",
                        batch.len()
                    ),
                );
                for (name, group) in name_groups(&batch) {
                    let group = ordered(group);
                    match self.inner.provider.submit(zone_id, &group, &comment).await {
                        Ok(change_id) => {
                            self.log_applied(zone_id, &change_id, &group);
                            record_applied(zone_id, &group, report);
                        }
                        Err(error) => {
                            self.write_log(
                                Level::Error,
                                format!(
                                    "zone {zone_id}: failed to submit changes for {name}: {error}"
                                ),
                            );
                            report.failed.push(FailedGroup {
                                zone_id: zone_id.to_string(),
                                name,
                                error,
                            });
                        }
                    }
                }
            }
        }
    }

    fn log_applied(&self, zone_id: &str, change_id: &str, changes: &[PlannedChange]) {
        for change in changes {
            self.write_log(
                Level::Info,
                format!(
                    "zone {zone_id}: {} {} {}{} (change {change_id})",
                    change.action.as_str(),
                    change.record.name,
                    change.record.record_type,
                    change
                        .record
                        .set_identifier
                        .as_deref()
                        .map(|s| format!(" [{s}]"))
                        .unwrap_or_default()
                ),
            );
        }
    }

    /// Runs `run_once` every `interval` of simulated time until the handle is aborted. The first
    /// loop runs one interval after the last run (or at once if it never ran).
    pub fn spawn_loop(&self) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let interval =
                i64::try_from(this.inner.settings.interval.as_millis()).unwrap_or(i64::MAX);
            loop {
                let last = *this
                    .inner
                    .last_run_millis
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                let due = last
                    .is_none_or(|at| this.inner.clock.now_millis().saturating_sub(at) >= interval);
                if due {
                    this.run_once().await;
                }
                tokio::time::sleep(LOOP_POLL).await;
            }
        })
    }
}

fn record_applied(zone_id: &str, changes: &[PlannedChange], report: &mut ReconcileReport) {
    for change in changes.iter().filter(|c| c.record.record_type != "TXT") {
        let reference = RecordRef {
            zone_id: zone_id.to_string(),
            name: change.record.name.clone(),
            record_type: change.record.record_type.clone(),
            set_identifier: change.record.set_identifier.clone(),
        };
        match change.action {
            Action::Create => report.created.push(reference),
            Action::Upsert => report.updated.push(reference),
            Action::Delete => report.deleted.push(reference),
        }
    }
}
