//! The AWS provider half: talks to Route53 through the real `aws-sdk-route53` over HTTP, and keeps
//! its own request log.

use std::sync::{Arc, Mutex};

use aws_credential_types::Credentials;
use aws_sdk_route53::config::{BehaviorVersion, Region};
use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use aws_sdk_route53::Client;
use serde::Serialize;

use super::plan::{Action, PlannedChange, Zone};
use super::record::{normalize_name, Alias, RecordSet};
use crate::clock::SimClock;

/// A Route53 call failed or could not be built.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderError {
    #[error("{operation}: {code}: {message}")]
    Api {
        operation: &'static str,
        code: String,
        message: String,
    },
    #[error("{operation}: request not built: {reason}")]
    Build {
        operation: &'static str,
        reason: String,
    },
    #[error("ListResourceRecordSets: paging tokens did not move at {name} {record_type}")]
    StuckPaging { name: String, record_type: String },
}

/// One Route53 request this external-dns made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    pub at_millis: i64,
    pub operation: &'static str,
    pub zone_id: Option<String>,
    /// `None`: succeeded; otherwise the error code.
    pub error: Option<String>,
}

pub struct Provider {
    client: Client,
    clock: SimClock,
    requests: Arc<Mutex<Vec<RequestRecord>>>,
}

/// The bound on the request log (oldest entries dropped).
const REQUEST_LOG_LIMIT: usize = 10_000;

impl Provider {
    /// An SDK client for the given endpoint, with the dummy keys of `account`.
    pub fn new(endpoint: &str, clock: SimClock, account: &str) -> Self {
        let (key_id, secret) = crate::iam::account_keys(account);
        let config = aws_sdk_route53::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::from_keys(key_id, secret, None))
            .build();
        Provider {
            client: Client::from_conf(config),
            clock,
            requests: Arc::default(),
        }
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn note(&self, operation: &'static str, zone_id: Option<&str>, error: Option<&ProviderError>) {
        let mut log = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() >= REQUEST_LOG_LIMIT {
            log.remove(0);
        }
        log.push(RequestRecord {
            at_millis: self.clock.now_millis(),
            operation,
            zone_id: zone_id.map(str::to_string),
            error: error.map(|e| match e {
                ProviderError::Api { code, .. } => code.clone(),
                other => other.to_string(),
            }),
        });
    }

    /// Every hosted zone (ListHostedZones, paged by marker).
    pub async fn zones(&self) -> Result<Vec<Zone>, ProviderError> {
        let mut zones = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let result = self
                .client
                .list_hosted_zones()
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| api_error("ListHostedZones", e));
            self.note("ListHostedZones", None, result.as_ref().err());
            let page = result?;
            for zone in page.hosted_zones() {
                zones.push(Zone {
                    id: zone.id().trim_start_matches("/hostedzone/").to_string(),
                    name: normalize_name(zone.name()),
                    private: zone.config().is_some_and(|c| c.private_zone()),
                });
            }
            match page.next_marker() {
                Some(next) if page.is_truncated() && marker.as_deref() != Some(next) => {
                    marker = Some(next.to_string());
                }
                _ => return Ok(zones),
            }
        }
    }

    /// Every record set of a zone, paging with all three tokens (docs/reference/route53.md
    /// "ListResourceRecordSets": pass `NextRecordName`, `NextRecordType`, `NextRecordIdentifier`
    /// back; stop if they do not move).
    pub async fn records(&self, zone_id: &str) -> Result<Vec<RecordSet>, ProviderError> {
        let mut records = Vec::new();
        let mut start: Option<(String, RrType, Option<String>)> = None;
        loop {
            let mut request = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(zone_id);
            if let Some((name, record_type, identifier)) = &start {
                request = request
                    .start_record_name(name)
                    .start_record_type(record_type.clone())
                    .set_start_record_identifier(identifier.clone());
            }
            let result = request
                .send()
                .await
                .map_err(|e| api_error("ListResourceRecordSets", e));
            self.note(
                "ListResourceRecordSets",
                Some(zone_id),
                result.as_ref().err(),
            );
            let page = result?;
            records.extend(page.resource_record_sets().iter().map(from_sdk));
            if !page.is_truncated() {
                return Ok(records);
            }
            let next = match (page.next_record_name(), page.next_record_type()) {
                (Some(name), Some(record_type)) => (
                    name.to_string(),
                    record_type.clone(),
                    page.next_record_identifier().map(str::to_string),
                ),
                _ => return Ok(records),
            };
            if start.as_ref() == Some(&next) {
                return Err(ProviderError::StuckPaging {
                    name: next.0,
                    record_type: next.1.as_str().to_string(),
                });
            }
            start = Some(next);
        }
    }

    /// One ChangeResourceRecordSets call; returns the change id.
    pub async fn submit(
        &self,
        zone_id: &str,
        changes: &[PlannedChange],
        comment: &str,
    ) -> Result<String, ProviderError> {
        let batch = build_batch(changes, comment)?;
        let result = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(change_error);
        self.note(
            "ChangeResourceRecordSets",
            Some(zone_id),
            result.as_ref().err(),
        );
        let output = result?;
        Ok(output
            .change_info()
            .map(|info| info.id().trim_start_matches("/change/").to_string())
            .unwrap_or_default())
    }
}

fn api_error<E, R>(operation: &'static str, error: SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = error.code().unwrap_or("Unknown").to_string();
    let message = error
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| aws_sdk_route53::error::DisplayErrorContext(&error).to_string());
    ProviderError::Api {
        operation,
        code,
        message,
    }
}

/// InvalidChangeBatch carries its messages as a modeled list; keep them all.
fn change_error<R: std::fmt::Debug>(
    error: SdkError<ChangeResourceRecordSetsError, R>,
) -> ProviderError {
    if let Some(ChangeResourceRecordSetsError::InvalidChangeBatch(invalid)) =
        error.as_service_error()
    {
        let messages = invalid.messages();
        if !messages.is_empty() {
            return ProviderError::Api {
                operation: "ChangeResourceRecordSets",
                code: "InvalidChangeBatch".to_string(),
                message: messages.join("; "),
            };
        }
    }
    api_error("ChangeResourceRecordSets", error)
}

fn from_sdk(rrset: &ResourceRecordSet) -> RecordSet {
    RecordSet {
        name: normalize_name(rrset.name()),
        record_type: rrset.r#type().as_str().to_string(),
        set_identifier: rrset.set_identifier().map(str::to_string),
        weight: rrset.weight(),
        ttl: rrset.ttl(),
        values: rrset
            .resource_records()
            .iter()
            .map(|r| r.value().to_string())
            .collect(),
        alias: rrset.alias_target().map(|a| Alias {
            hosted_zone_id: a.hosted_zone_id().to_string(),
            dns_name: a.dns_name().to_string(),
            evaluate_target_health: a.evaluate_target_health(),
        }),
        health_check_id: rrset.health_check_id().map(str::to_string),
    }
}

fn build_error(reason: impl std::fmt::Display) -> ProviderError {
    ProviderError::Build {
        operation: "ChangeResourceRecordSets",
        reason: reason.to_string(),
    }
}

fn to_sdk(record: &RecordSet) -> Result<ResourceRecordSet, ProviderError> {
    let mut builder = ResourceRecordSet::builder()
        .name(&record.name)
        .r#type(RrType::from(record.record_type.as_str()))
        .set_set_identifier(record.set_identifier.clone())
        .set_weight(record.weight)
        .set_ttl(record.ttl)
        .set_health_check_id(record.health_check_id.clone());
    for value in &record.values {
        builder = builder.resource_records(
            ResourceRecord::builder()
                .value(value)
                .build()
                .map_err(build_error)?,
        );
    }
    if let Some(alias) = &record.alias {
        builder = builder.alias_target(
            AliasTarget::builder()
                .hosted_zone_id(&alias.hosted_zone_id)
                .dns_name(&alias.dns_name)
                .evaluate_target_health(alias.evaluate_target_health)
                .build()
                .map_err(build_error)?,
        );
    }
    builder.build().map_err(build_error)
}

fn build_batch(changes: &[PlannedChange], comment: &str) -> Result<ChangeBatch, ProviderError> {
    let mut batch = ChangeBatch::builder().comment(comment);
    for change in changes {
        let action = match change.action {
            Action::Create => ChangeAction::Create,
            Action::Delete => ChangeAction::Delete,
            Action::Upsert => ChangeAction::Upsert,
        };
        batch = batch.changes(
            Change::builder()
                .action(action)
                .resource_record_set(to_sdk(&change.record)?)
                .build()
                .map_err(build_error)?,
        );
    }
    batch.build().map_err(build_error)
}
