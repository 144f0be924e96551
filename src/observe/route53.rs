//! The Route53 calls cutover makes, behind one small object-safe trait so that AWS and the
//! sandbox plug in the same way, and the implementation on `aws-sdk-route53`: paging, conversion
//! to and from the record model, error mapping and the client-side rate limit.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
use aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput;
use aws_sdk_route53::types as sdk;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use futures::future::BoxFuture;

use crate::observe::ratelimit::RateLimiter;
use cutover_core::route53::model::{
    Action, AliasTarget, ChangeBatch, ChangeInfo, ChangeStatus, RecordSet, RecordType,
};
use cutover_core::text::{quoted, quoted_or_none};
use cutover_core::types::{DnsName, SetIdentifier, Weight};

/// At most 300 record sets per ListResourceRecordSets page (docs/reference/route53.md
/// "ListResourceRecordSets").
pub const MAX_ITEMS_PER_PAGE: i32 = 300;

/// A bound on pages per listing, far above any zone (10,000 records default quota = 34 pages),
/// so that a server whose tokens keep moving without end cannot keep a tick forever.
pub const MAX_PAGES: usize = 10_000;

/// Why a Route53 call failed. Route53's error codes map to their own variants; match on these,
/// never on the text (docs/reference/route53.md "Error wire form").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Route53Error {
    /// The batch was refused as a whole; nothing of it was applied.
    #[error("InvalidChangeBatch: {}", messages.join("; "))]
    InvalidChangeBatch { messages: Vec<String> },
    #[error("InvalidInput: {0}")]
    InvalidInput(String),
    #[error("NoSuchHostedZone: {0}")]
    NoSuchHostedZone(String),
    #[error("NoSuchChange: {0}")]
    NoSuchChange(String),
    /// `Throttling` or `PriorRequestNotComplete`: refused before anything was done; retry with
    /// backoff (docs/reference/route53.md "Other error codes").
    #[error("throttled: {0}")]
    Throttled(String),
    /// A 5xx answer (ServiceUnavailable, InternalFailure…): Route53 could not answer now. A
    /// change MAY have been applied.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// No answer: connection, timeout or dispatch failure. The request MAY have been applied.
    #[error("transport: {0}")]
    Transport(String),
    /// An answer that cannot be read: a field missing, out of range or not parseable.
    #[error("bad reply from Route53: {field}: {reason}")]
    BadReply { field: String, reason: String },
    /// A record that cannot be put into a request (cutover's side; nothing was sent).
    #[error("cannot send {field}: {reason}")]
    Unsendable { field: String, reason: String },
    /// The credentials for the zone were refused: the role could not be assumed (STS), or
    /// Route53 answered `AccessDenied`. `role` is `role <arn>` or the function's own
    /// credentials. Nothing was applied; retrying will not help until the set-up is fixed.
    #[error("zone {zone}: access through {role} refused: {reason}")]
    AccessDenied {
        zone: String,
        role: String,
        reason: String,
    },
    #[error("{code}: {message}")]
    Other { code: String, message: String },
}

impl Route53Error {
    /// Worth retrying after a pause: throttling, a 5xx, or no answer at all.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Route53Error::Throttled(_)
                | Route53Error::Unavailable(_)
                | Route53Error::Transport(_)
                | Route53Error::BadReply { .. }
        )
    }

    /// Whether a change that got this answer may have been applied all the same (no answer, a
    /// 5xx, or an answer that could not be read): the zone must be read again to know.
    pub fn change_may_have_applied(&self) -> bool {
        matches!(
            self,
            Route53Error::Unavailable(_)
                | Route53Error::Transport(_)
                | Route53Error::BadReply { .. }
                | Route53Error::Other { .. }
        )
    }

    fn bad_reply(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Route53Error::BadReply {
            field: field.into(),
            reason: reason.into(),
        }
    }
    fn unsendable(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Route53Error::Unsendable {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Where a listing hands its record sets, page by page.
pub type RecordSink<'a> = &'a mut (dyn FnMut(RecordSet) + Send);

/// The three Route53 calls of a tick. Object-safe: the engine holds an `Arc<dyn Route53Api>`.
pub trait Route53Api: Send + Sync {
    /// Every record set of the zone, all pages, in Route53's order, handed to `sink` as each page
    /// arrives: the caller indexes the listing without holding the zone twice
    /// (docs/design.md §10). Returns how many record sets were listed. After an error, what the
    /// sink received is an incomplete listing.
    fn list_records_into<'a>(
        &'a self,
        zone_id: &'a str,
        sink: RecordSink<'a>,
    ) -> BoxFuture<'a, Result<usize, Route53Error>>;

    /// Every record set of the zone, all pages, in Route53's order.
    fn list_records<'a>(
        &'a self,
        zone_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<RecordSet>, Route53Error>> {
        Box::pin(async move {
            let mut records = Vec::new();
            self.list_records_into(zone_id, &mut |r| records.push(r))
                .await?;
            Ok(records)
        })
    }

    /// One ChangeResourceRecordSets request: all of the batch or nothing.
    fn change<'a>(
        &'a self,
        zone_id: &'a str,
        batch: &'a ChangeBatch,
    ) -> BoxFuture<'a, Result<ChangeInfo, Route53Error>>;

    /// GetChange: PENDING until every Route53 server has the change, then INSYNC.
    fn get_change<'a>(
        &'a self,
        change_id: &'a str,
    ) -> BoxFuture<'a, Result<ChangeStatus, Route53Error>>;
}

/// [`Route53Api`] on the AWS SDK, with a client-side rate limit shared by all its calls.
///
/// Build the SDK client from the standard environment (`AWS_ENDPOINT_URL_ROUTE_53`, …). The SDK's
/// own retries are turned off: the engine retries transient errors itself with exponential
/// backoff and full jitter, bounded by the invocation's deadline instead of a count
/// (`engine::retry`), and re-reads the zone after a change whose answer was lost.
#[derive(Debug)]
pub struct SdkRoute53 {
    client: aws_sdk_route53::Client,
    limiter: RateLimiter,
    requests: AtomicU64,
}

impl SdkRoute53 {
    /// `requests_per_second`: cutover's share of the account's 5 requests/second (default 2;
    /// a value that is not a positive number falls back to the default).
    pub fn new(client: aws_sdk_route53::Client, requests_per_second: f64) -> Self {
        let config = client
            .config()
            .to_builder()
            .retry_config(aws_sdk_route53::config::retry::RetryConfig::disabled())
            .build();
        SdkRoute53 {
            client: aws_sdk_route53::Client::from_conf(config),
            limiter: RateLimiter::new(requests_per_second),
            requests: AtomicU64::new(0),
        }
    }

    /// How many requests this client has sent (each page of a listing counts).
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The rate the limiter enforces, after falling back from a bad configured value.
    pub fn requests_per_second(&self) -> f64 {
        self.limiter.rate_per_second()
    }

    async fn admit(&self) {
        self.limiter.acquire().await;
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    async fn list_all(&self, zone_id: &str, sink: RecordSink<'_>) -> Result<usize, Route53Error> {
        let mut listed = 0;
        let mut start: Option<PageStart> = None;
        for _ in 0..MAX_PAGES {
            let page = self.list_page(zone_id, start.as_ref()).await?;
            for record in records_from_page(&page, listed)? {
                sink(record);
                listed += 1;
            }
            match next_page_start(start.as_ref(), &page)? {
                Some(next) => start = Some(next),
                None => return Ok(listed),
            }
        }
        Err(Route53Error::bad_reply(
            "IsTruncated",
            format!("still true after {MAX_PAGES} pages"),
        ))
    }

    async fn list_page(
        &self,
        zone_id: &str,
        start: Option<&PageStart>,
    ) -> Result<ListResourceRecordSetsOutput, Route53Error> {
        self.admit().await;
        let mut request = self
            .client
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .max_items(MAX_ITEMS_PER_PAGE);
        if let Some(start) = start {
            request = request
                .start_record_name(&start.name)
                .set_start_record_type(start.rtype.as_deref().map(sdk::RrType::from))
                .set_start_record_identifier(start.identifier.clone());
        }
        request.send().await.map_err(map_sdk_error)
    }

    async fn send_change(
        &self,
        zone_id: &str,
        batch: &ChangeBatch,
    ) -> Result<ChangeInfo, Route53Error> {
        let sdk_batch = change_batch_to_sdk(batch)?;
        self.admit().await;
        let output = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(sdk_batch)
            .send()
            .await
            .map_err(map_change_error)?;
        let info = output
            .change_info()
            .ok_or_else(|| Route53Error::bad_reply("ChangeInfo", "missing"))?;
        Ok(ChangeInfo {
            id: bare_change_id(info.id(), "ChangeInfo.Id")?,
            status: change_status_from_sdk(info.status(), "ChangeInfo.Status")?,
        })
    }

    async fn fetch_change(&self, change_id: &str) -> Result<ChangeStatus, Route53Error> {
        self.admit().await;
        let output = self
            .client
            .get_change()
            .id(change_id)
            .send()
            .await
            .map_err(map_sdk_error)?;
        let info = output
            .change_info()
            .ok_or_else(|| Route53Error::bad_reply("ChangeInfo", "missing"))?;
        change_status_from_sdk(info.status(), "ChangeInfo.Status")
    }
}

impl Route53Api for SdkRoute53 {
    fn list_records_into<'a>(
        &'a self,
        zone_id: &'a str,
        sink: RecordSink<'a>,
    ) -> BoxFuture<'a, Result<usize, Route53Error>> {
        Box::pin(self.list_all(zone_id, sink))
    }

    fn change<'a>(
        &'a self,
        zone_id: &'a str,
        batch: &'a ChangeBatch,
    ) -> BoxFuture<'a, Result<ChangeInfo, Route53Error>> {
        Box::pin(self.send_change(zone_id, batch))
    }

    fn get_change<'a>(
        &'a self,
        change_id: &'a str,
    ) -> BoxFuture<'a, Result<ChangeStatus, Route53Error>> {
        Box::pin(self.fetch_change(change_id))
    }
}

// ---------------------------------------------------------------------------------------------
// Paging

/// Where a ListResourceRecordSets page starts: `StartRecordName`, `StartRecordType`,
/// `StartRecordIdentifier`, exactly as the previous page's `NextRecord*` gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageStart {
    pub name: String,
    pub rtype: Option<String>,
    pub identifier: Option<String>,
}

/// The start of the next page, or `None` when this page was the last.
///
/// Route53 sends `NextRecordName`, `NextRecordType`, and `NextRecordIdentifier` when a page ends
/// inside a group of policy records; all three are passed back (docs/reference/route53.md
/// "ListResourceRecordSets"). Tokens that do not move would loop forever: that is an error.
pub fn next_page_start(
    current: Option<&PageStart>,
    page: &ListResourceRecordSetsOutput,
) -> Result<Option<PageStart>, Route53Error> {
    if !page.is_truncated() {
        return Ok(None);
    }
    let name = page
        .next_record_name()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Route53Error::bad_reply("NextRecordName", "missing while IsTruncated"))?;
    let next = PageStart {
        name: name.to_string(),
        rtype: page.next_record_type().map(|t| t.as_str().to_string()),
        identifier: page.next_record_identifier().map(str::to_string),
    };
    if current == Some(&next) {
        return Err(Route53Error::bad_reply(
            "NextRecordName",
            format!(
                "paging tokens did not move (name {}, type {}, identifier {})",
                quoted(&next.name),
                quoted_or_none(next.rtype.as_deref()),
                quoted_or_none(next.identifier.as_deref())
            ),
        ));
    }
    Ok(Some(next))
}

fn records_from_page(
    page: &ListResourceRecordSetsOutput,
    first_index: usize,
) -> Result<Vec<RecordSet>, Route53Error> {
    page.resource_record_sets()
        .iter()
        .enumerate()
        .map(|(i, rrset)| {
            record_from_sdk(rrset, &format!("ResourceRecordSets[{}]", first_index + i))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Conversion SDK → model

/// Converts one listed rrset. Names are normalised with [`DnsName::parse`] (lower case, no
/// trailing dot, `\ooo` escapes decoded: docs/reference/route53.md "ListResourceRecordSets":
/// "Normalise before comparing"). `at` names the record in errors, e.g. `ResourceRecordSets[4]`.
pub fn record_from_sdk(
    rrset: &sdk::ResourceRecordSet,
    at: &str,
) -> Result<RecordSet, Route53Error> {
    let field = |f: &str| format!("{at}.{f}");
    let name = DnsName::parse(rrset.name())
        .map_err(|e| Route53Error::bad_reply(field("Name"), e.to_string()))?;
    let set_identifier = rrset
        .set_identifier()
        .map(SetIdentifier::new)
        .transpose()
        .map_err(|e| Route53Error::bad_reply(field("SetIdentifier"), e.to_string()))?;
    let weight = rrset
        .weight()
        .map(Weight::from_i64)
        .transpose()
        .map_err(|e| Route53Error::bad_reply(field("Weight"), e.to_string()))?;
    let ttl = rrset
        .ttl()
        .map(|t| {
            u32::try_from(t).map_err(|_| {
                Route53Error::bad_reply(field("TTL"), format!("must be 0–2147483647, got {t}"))
            })
        })
        .transpose()?;
    let alias = rrset
        .alias_target()
        .map(|a| alias_from_sdk(a, &field("AliasTarget")))
        .transpose()?;
    Ok(RecordSet {
        name,
        rtype: RecordType::parse(rrset.r#type().as_str()),
        set_identifier,
        weight,
        ttl,
        values: rrset
            .resource_records()
            .iter()
            .map(|r| r.value().to_string())
            .collect(),
        alias,
        health_check_id: rrset.health_check_id().map(str::to_string),
        other_policy: other_policy(rrset),
    })
}

fn alias_from_sdk(alias: &sdk::AliasTarget, at: &str) -> Result<AliasTarget, Route53Error> {
    let dns_name = DnsName::parse(alias.dns_name())
        .map_err(|e| Route53Error::bad_reply(format!("{at}.DNSName"), e.to_string()))?;
    Ok(AliasTarget {
        hosted_zone_id: alias.hosted_zone_id().to_string(),
        dns_name,
        evaluate_target_health: alias.evaluate_target_health(),
    })
}

/// The routing policies cutover does not drive; such a record is listed but never edited.
fn other_policy(rrset: &sdk::ResourceRecordSet) -> Option<String> {
    let policy = if rrset.failover().is_some() {
        "failover"
    } else if rrset.region().is_some() {
        "latency"
    } else if rrset.geo_location().is_some() {
        "geolocation"
    } else if rrset.geo_proximity_location().is_some() {
        "geoproximity"
    } else if rrset.cidr_routing_config().is_some() {
        "cidr"
    } else if rrset.multi_value_answer().is_some() {
        "multivalue"
    } else if rrset.traffic_policy_instance_id().is_some() {
        "traffic-policy"
    } else {
        return None;
    };
    Some(policy.to_string())
}

fn change_status_from_sdk(
    status: &sdk::ChangeStatus,
    field: &str,
) -> Result<ChangeStatus, Route53Error> {
    match status.as_str() {
        "PENDING" => Ok(ChangeStatus::Pending),
        "INSYNC" => Ok(ChangeStatus::Insync),
        other => Err(Route53Error::bad_reply(
            field,
            format!(
                "expected PENDING or INSYNC, got {other}",
                other = quoted(other)
            ),
        )),
    }
}

/// `/change/C123` → `C123` (the model keeps bare ids).
fn bare_change_id(id: &str, field: &str) -> Result<String, Route53Error> {
    let bare = id.strip_prefix("/change/").unwrap_or(id);
    if bare.is_empty() || bare.contains('/') {
        return Err(Route53Error::bad_reply(
            field,
            format!("not a change id: {id}", id = quoted(id)),
        ));
    }
    Ok(bare.to_string())
}

// ---------------------------------------------------------------------------------------------
// Conversion model → SDK

/// Converts a batch for ChangeResourceRecordSets. Nothing is checked here beyond what the SDK
/// types need: the validator (`route53::validate`) checks every rule before sending.
pub fn change_batch_to_sdk(batch: &ChangeBatch) -> Result<sdk::ChangeBatch, Route53Error> {
    let changes = batch
        .changes
        .iter()
        .enumerate()
        .map(|(i, change)| {
            let at = format!("Changes[{i}]");
            let rrset = record_to_sdk(&change.record, &format!("{at}.ResourceRecordSet"))?;
            sdk::Change::builder()
                .action(action_to_sdk(change.action))
                .resource_record_set(rrset)
                .build()
                .map_err(|e| Route53Error::unsendable(at, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    sdk::ChangeBatch::builder()
        .set_comment(batch.comment.clone())
        .set_changes(Some(changes))
        .build()
        .map_err(|e| Route53Error::unsendable("ChangeBatch", e.to_string()))
}

fn action_to_sdk(action: Action) -> sdk::ChangeAction {
    match action {
        Action::Create => sdk::ChangeAction::Create,
        Action::Delete => sdk::ChangeAction::Delete,
        Action::Upsert => sdk::ChangeAction::Upsert,
    }
}

/// Converts one record for a request. A record listed with a routing policy cutover does not
/// model (`other_policy`) cannot be rebuilt faithfully, so it is refused rather than sent wrong.
pub fn record_to_sdk(record: &RecordSet, at: &str) -> Result<sdk::ResourceRecordSet, Route53Error> {
    if let Some(policy) = &record.other_policy {
        return Err(Route53Error::unsendable(
            at,
            format!("a record with the {policy} routing policy is never edited"),
        ));
    }
    let values = record
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            sdk::ResourceRecord::builder()
                .value(v)
                .build()
                .map_err(|e| {
                    Route53Error::unsendable(format!("{at}.ResourceRecords[{i}]"), e.to_string())
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let alias = record
        .alias
        .as_ref()
        .map(|a| {
            sdk::AliasTarget::builder()
                .hosted_zone_id(&a.hosted_zone_id)
                .dns_name(a.dns_name.to_fqdn())
                .evaluate_target_health(a.evaluate_target_health)
                .build()
                .map_err(|e| Route53Error::unsendable(format!("{at}.AliasTarget"), e.to_string()))
        })
        .transpose()?;
    sdk::ResourceRecordSet::builder()
        .name(record.name.to_fqdn())
        .r#type(sdk::RrType::from(record.rtype.as_str()))
        .set_set_identifier(
            record
                .set_identifier
                .as_ref()
                .map(|s| s.as_str().to_string()),
        )
        .set_weight(record.weight.map(|w| i64::from(w.get())))
        .set_ttl(record.ttl.map(i64::from))
        .set_resource_records((!values.is_empty()).then_some(values))
        .set_alias_target(alias)
        .set_health_check_id(record.health_check_id.clone())
        .build()
        .map_err(|e| Route53Error::unsendable(at, e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Maps ChangeResourceRecordSets errors: InvalidChangeBatch keeps its messages.
fn map_change_error(err: SdkError<ChangeResourceRecordSetsError, HttpResponse>) -> Route53Error {
    if let Some(ChangeResourceRecordSetsError::InvalidChangeBatch(inner)) = err.as_service_error() {
        let messages = if inner.messages().is_empty() {
            split_bracketed_messages(inner.message().unwrap_or_default())
        } else {
            inner.messages().to_vec()
        };
        return Route53Error::InvalidChangeBatch { messages };
    }
    map_sdk_error(err)
}

/// Maps any SDK error by Route53's error code (never by its text).
fn map_sdk_error<E>(err: SdkError<E, HttpResponse>) -> Route53Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let display = aws_sdk_route53::error::DisplayErrorContext(&err).to_string();
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let e = service.err();
            match from_code(e.code(), e.message().unwrap_or_default(), &display) {
                Route53Error::Other { code, message } if status >= 500 => {
                    Route53Error::Unavailable(format!("{code}: {message}"))
                }
                mapped => mapped,
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            Route53Error::Transport(display)
        }
        SdkError::ResponseError(_) => Route53Error::bad_reply("response", display),
        SdkError::ConstructionFailure(_) => Route53Error::unsendable("request", display),
        // SdkError is non-exhaustive.
        _ => Route53Error::Other {
            code: "Unknown".to_string(),
            message: display,
        },
    }
}

fn from_code(code: Option<&str>, message: &str, display: &str) -> Route53Error {
    let message = message.to_string();
    match code {
        Some("InvalidChangeBatch") => Route53Error::InvalidChangeBatch {
            messages: split_bracketed_messages(&message),
        },
        Some("InvalidInput") => Route53Error::InvalidInput(message),
        Some("NoSuchHostedZone") => Route53Error::NoSuchHostedZone(message),
        Some("NoSuchChange") => Route53Error::NoSuchChange(message),
        Some("Throttling" | "ThrottlingException" | "PriorRequestNotComplete") => {
            Route53Error::Throttled(message)
        }
        Some("ServiceUnavailable" | "InternalFailure" | "InternalError") => {
            Route53Error::Unavailable(message)
        }
        Some(code) => Route53Error::Other {
            code: code.to_string(),
            message,
        },
        None => Route53Error::Other {
            code: "Unknown".to_string(),
            message: display.to_string(),
        },
    }
}

/// The openings of Route53's change-batch messages (docs/reference/route53.md
/// "ChangeResourceRecordSets"): a `, ` followed by one of these, outside inner brackets, starts the
/// next message.
const MESSAGE_OPENINGS: &[&str] = &["Tried to ", "RRSet ", "Invalid ", "Duplicate "];

/// Route53 joins several messages inside one bracketed Message: `[msg1, msg2]`
/// (docs/reference/route53.md "Error wire form"). Messages themselves hold `, ` and brackets, so a
/// split happens only at depth one and before a known opening; anything else stays one message.
pub fn split_bracketed_messages(message: &str) -> Vec<String> {
    let trimmed = message.trim();
    let Some(inner) = trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    else {
        return if trimmed.is_empty() {
            Vec::new()
        } else {
            vec![trimmed.to_string()]
        };
    };
    let mut messages = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                let rest = &inner[i + c.len_utf8()..];
                let next = rest.strip_prefix(' ').unwrap_or(rest);
                if MESSAGE_OPENINGS.iter().any(|o| next.starts_with(o)) {
                    messages.push(inner[start..i].trim().to_string());
                    start = inner.len() - next.len();
                }
            }
            _ => {}
        }
    }
    messages.push(inner[start..].trim().to_string());
    messages.retain(|m| !m.is_empty());
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_joined_messages_at_known_openings_only() {
        let joined = "[Tried to create resource record set [name='x.example.com.', type='A'] but it already exists, RRSet with DNS name y.example.com., type A, SetIdentifier S cannot be created as a non-weighted set exists with the same name and type.]";
        assert_eq!(
            split_bracketed_messages(joined),
            vec![
                "Tried to create resource record set [name='x.example.com.', type='A'] but it already exists".to_string(),
                "RRSet with DNS name y.example.com., type A, SetIdentifier S cannot be created as a non-weighted set exists with the same name and type.".to_string(),
            ]
        );
    }

    #[test]
    fn one_message_and_unbracketed_text_stay_whole() {
        assert_eq!(
            split_bracketed_messages("[Tried to delete resource record set [name='x.example.com.', type='A'] but it was not found]"),
            vec!["Tried to delete resource record set [name='x.example.com.', type='A'] but it was not found".to_string()]
        );
        assert_eq!(
            split_bracketed_messages("plain text"),
            vec!["plain text".to_string()]
        );
        assert!(split_bracketed_messages("").is_empty());
        assert!(split_bracketed_messages("[]").is_empty());
    }

    #[test]
    fn error_codes_map_to_variants() {
        assert_eq!(
            from_code(
                Some("NoSuchHostedZone"),
                "No hosted zone found with ID: Z9",
                ""
            ),
            Route53Error::NoSuchHostedZone("No hosted zone found with ID: Z9".into())
        );
        assert_eq!(
            from_code(Some("PriorRequestNotComplete"), "busy", ""),
            Route53Error::Throttled("busy".into())
        );
        assert_eq!(
            from_code(Some("Throttling"), "Rate exceeded", ""),
            Route53Error::Throttled("Rate exceeded".into())
        );
        assert_eq!(
            from_code(Some("NoSuchHealthCheck"), "x", ""),
            Route53Error::Other {
                code: "NoSuchHealthCheck".into(),
                message: "x".into()
            }
        );
    }

    #[test]
    fn change_ids_lose_their_prefix() {
        assert_eq!(bare_change_id("/change/C12345", "Id").unwrap(), "C12345");
        assert_eq!(bare_change_id("C12345", "Id").unwrap(), "C12345");
        assert!(matches!(
            bare_change_id("/change/", "ChangeInfo.Id"),
            Err(Route53Error::BadReply { field, .. }) if field == "ChangeInfo.Id"
        ));
    }

    #[test]
    fn records_with_other_policies_are_not_sent() {
        let record = RecordSet {
            name: DnsName::parse("x.example.com").unwrap(),
            rtype: RecordType::A,
            set_identifier: None,
            weight: None,
            ttl: Some(60),
            values: vec!["192.0.2.1".into()],
            alias: None,
            health_check_id: None,
            other_policy: Some("failover".into()),
        };
        assert!(matches!(
            record_to_sdk(&record, "Changes[0].ResourceRecordSet"),
            Err(Route53Error::Unsendable { field, .. }) if field == "Changes[0].ResourceRecordSet"
        ));
    }

    #[test]
    fn a_weighted_alias_record_round_trips() {
        let record = RecordSet {
            name: DnsName::parse("\\052.example.com.").unwrap(),
            rtype: RecordType::A,
            set_identifier: Some(SetIdentifier::new("payments-blue").unwrap()),
            weight: Some(Weight(40)),
            ttl: None,
            values: vec![],
            alias: Some(AliasTarget {
                hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
                dns_name: DnsName::parse("lb-1.us-east-1.elb.amazonaws.com").unwrap(),
                evaluate_target_health: true,
            }),
            health_check_id: None,
            other_policy: None,
        };
        let sdk_record = record_to_sdk(&record, "r").unwrap();
        assert_eq!(sdk_record.name(), "*.example.com.");
        assert_eq!(sdk_record.weight(), Some(40));
        assert!(sdk_record.resource_records().is_empty());
        assert_eq!(record_from_sdk(&sdk_record, "r").unwrap(), record);
    }

    #[test]
    fn listed_records_out_of_range_name_the_field() {
        let rrset = sdk::ResourceRecordSet::builder()
            .name("x.example.com.")
            .r#type(sdk::RrType::A)
            .set_identifier("s")
            .weight(256)
            .ttl(60)
            .build()
            .unwrap();
        assert_eq!(
            record_from_sdk(&rrset, "ResourceRecordSets[3]"),
            Err(Route53Error::BadReply {
                field: "ResourceRecordSets[3].Weight".into(),
                reason: "weight must be 0–255, got 256".into()
            })
        );
        let rrset = sdk::ResourceRecordSet::builder()
            .name("bad\\9.example.com.")
            .r#type(sdk::RrType::A)
            .build()
            .unwrap();
        assert!(matches!(
            record_from_sdk(&rrset, "ResourceRecordSets[0]"),
            Err(Route53Error::BadReply { field, .. }) if field == "ResourceRecordSets[0].Name"
        ));
    }

    #[test]
    fn other_routing_policies_are_flagged() {
        let rrset = sdk::ResourceRecordSet::builder()
            .name("x.example.com.")
            .r#type(sdk::RrType::A)
            .set_identifier("primary")
            .failover(sdk::ResourceRecordSetFailover::Primary)
            .ttl(60)
            .resource_records(
                sdk::ResourceRecord::builder()
                    .value("192.0.2.1")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let record = record_from_sdk(&rrset, "r").unwrap();
        assert_eq!(record.other_policy.as_deref(), Some("failover"));
        assert_eq!(record.weight, None);
    }
}
