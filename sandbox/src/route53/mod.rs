//! The sandbox's Route53: REST-XML over HTTP on loopback, so that the official SDKs work against
//! it with only an endpoint URL and dummy credentials. Every rule of the reference
//! (docs/reference/route53.md) is enforced: atomic ordered batches, compare-and-swap DELETE,
//! simple/weighted and CNAME conflicts, alias targets, TXT format, limits, paging, PENDING→INSYNC
//! on the simulated clock, the account rate limit, and injected faults.

mod faults;
mod input;
mod listing;
mod model;
mod names;
mod ratelimit;
mod rules;
mod server;
mod txt;
mod wire;
mod zone;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::Rng;

pub use faults::FaultHandle;
pub use listing::{ListStart, NextRecord, Page, MAX_PAGE};
pub use model::{
    texts, Action, AliasTarget, ApiError, AppliedChange, Change, ChangeInfo, ChangeStatus,
    RequestCounts, Rrset,
};
pub use names::{normalize as normalize_name, NameError};
pub use rules::{
    MAX_RECORDS_PER_BATCH, MAX_RRSETS_PER_ZONE, MAX_VALUE_CHARS_PER_BATCH, MAX_WEIGHTED_PER_GROUP,
};
pub use txt::{parse_character_strings, TxtError};
pub use zone::{Vpc, ZoneSummary};

use crate::clock::SimClock;
use crate::iam::{Caller, Iam, DEFAULT_ACCOUNT};
use names::DnsName;
use ratelimit::TokenBucket;
use zone::{RecordKey, RecordMap, Zone};

#[derive(Debug, Clone, PartialEq)]
pub struct Route53Options {
    /// How long (simulated time) a change stays PENDING before it is INSYNC.
    pub insync_after: Duration,
    /// Account-wide requests per second over HTTP (real time); `None` disables the limit.
    pub rate_limit_per_second: Option<f64>,
    /// Answer `PriorRequestNotComplete` to a ChangeResourceRecordSets while an earlier change
    /// to the same zone is still PENDING.
    pub prior_request_not_complete: bool,
}

impl Default for Route53Options {
    fn default() -> Self {
        Route53Options {
            insync_after: Duration::from_secs(2),
            // docs/reference/route53.md "Limits": 5 requests/second per AWS account.
            rate_limit_per_second: Some(5.0),
            prior_request_not_complete: false,
        }
    }
}

/// A zone's records at a moment, then each later version with its time.
pub type ZoneTimeline = (Arc<Vec<Rrset>>, Vec<(i64, Arc<Vec<Rrset>>)>);

#[derive(Debug, Clone)]
struct ChangeRecord {
    submitted_millis: i64,
    comment: Option<String>,
}

/// One applied change. Only the change itself is kept: the zone after it is replayed from the
/// zone's first records when asked, so the history grows with the changes, not with the zone
/// times the changes (a 10,000-record world once took gigabytes to load).
#[derive(Debug, Clone)]
struct HistoryEntry {
    change_id: String,
    zone_id: String,
    comment: Option<String>,
    at_millis: i64,
    changes: Vec<Change>,
}

#[derive(Debug)]
struct State {
    options: Route53Options,
    zones: BTreeMap<String, Zone>,
    changes: HashMap<String, ChangeRecord>,
    history: Vec<HistoryEntry>,
    /// Each zone's records when it was created (SOA and NS), where a replay of the history starts.
    initial_records: BTreeMap<String, RecordMap>,
    /// Normalised load balancer host name → canonical hosted zone id.
    elb_targets: BTreeMap<String, String>,
    counts: RequestCounts,
}

/// The local Route53. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Route53 {
    state: Arc<Mutex<State>>,
    clock: SimClock,
    faults: FaultHandle,
    bucket: Arc<Mutex<TokenBucket>>,
    iam: Iam,
}

impl Route53 {
    pub fn new(clock: SimClock, options: Route53Options) -> Self {
        let bucket = TokenBucket::new(options.rate_limit_per_second);
        let iam = Iam::new().with_clock(clock.clone());
        Route53 {
            state: Arc::new(Mutex::new(State {
                options,
                zones: BTreeMap::new(),
                changes: HashMap::new(),
                history: Vec::new(),
                initial_records: BTreeMap::new(),
                elb_targets: BTreeMap::new(),
                counts: RequestCounts::default(),
            })),
            clock,
            faults: FaultHandle::default(),
            bucket: Arc::new(Mutex::new(bucket)),
            iam,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The HTTP API; mount at "/".
    pub fn router(&self) -> axum::Router {
        server::router(self.clone())
    }

    /// Creates a hosted zone (with its SOA and NS records) and returns its id without prefix.
    /// A name that is not a valid DNS name is coerced (empty labels dropped, labels cut to 63
    /// bytes); use [`Route53::try_create_zone`] to have it refused instead.
    pub fn create_zone(&self, name: &str, private: bool) -> String {
        let dns_name = DnsName::parse(name).unwrap_or_else(|_| coerce_name(name));
        let caller_reference = random_id("ref-", 16);
        self.insert_zone(dns_name, caller_reference, None, private, DEFAULT_ACCOUNT)
            .0
    }

    /// The accounts, roles and STS of this Route53 (who may touch which zone).
    pub fn iam(&self) -> Iam {
        self.iam.clone()
    }

    /// Creates a hosted zone owned by `account`, refusing a name that is not a valid DNS name.
    /// Only that account's credentials (its keys, or a role's in it) may read or change it.
    pub fn try_create_zone_in(
        &self,
        name: &str,
        private: bool,
        account: &str,
    ) -> Result<String, ApiError> {
        let dns_name = DnsName::parse(name).map_err(invalid_domain_name)?;
        let caller_reference = random_id("ref-", 16);
        Ok(self
            .insert_zone(dns_name, caller_reference, None, private, account)
            .0)
    }

    /// Associates a private zone with a VPC (as `CreateHostedZone` with a `VPC`, or
    /// `AssociateVPCWithHostedZone`). A public zone is never associated.
    pub fn associate_vpc(&self, zone_id: &str, vpc: Vpc) -> bool {
        let zone_id = rules::strip_zone_prefix(zone_id);
        let mut state = self.lock();
        match state.zones.get_mut(zone_id) {
            Some(zone) if zone.private => {
                if !zone.vpcs.contains(&vpc) {
                    zone.vpcs.push(vpc);
                }
                true
            }
            _ => false,
        }
    }

    /// The account that owns the zone.
    pub fn zone_account(&self, zone_id: &str) -> Option<String> {
        let zone_id = rules::strip_zone_prefix(zone_id);
        self.lock().zones.get(zone_id).map(|z| z.account.clone())
    }

    /// Creates a hosted zone, refusing a name that is not a valid DNS name.
    pub fn try_create_zone(&self, name: &str, private: bool) -> Result<String, ApiError> {
        let dns_name = DnsName::parse(name).map_err(invalid_domain_name)?;
        let caller_reference = random_id("ref-", 16);
        Ok(self
            .insert_zone(dns_name, caller_reference, None, private, DEFAULT_ACCOUNT)
            .0)
    }

    fn insert_zone(
        &self,
        name: DnsName,
        caller_reference: String,
        comment: Option<String>,
        private: bool,
        account: &str,
    ) -> (String, ChangeInfo) {
        let now = self.clock.now_millis();
        let mut state = self.lock();
        let id = unique_id(|id| state.zones.contains_key(id), "Z");
        let mut zone = Zone::new(id.clone(), name, caller_reference, private);
        zone.comment = comment;
        zone.account = account.to_string();
        state
            .initial_records
            .insert(id.clone(), zone.records.clone());
        state.zones.insert(id.clone(), zone);
        let change_id = unique_id(|c| state.changes.contains_key(c), "C");
        let record = ChangeRecord {
            submitted_millis: now,
            comment: None,
        };
        state.changes.insert(change_id.clone(), record.clone());
        let info = change_info(&change_id, &record, &state.options, now);
        (id, info)
    }

    /// Registers a load balancer host name as an alias target under its canonical hosted zone id.
    pub fn register_alias_target(&self, dns_name: &str, hosted_zone_id: &str) {
        let name = DnsName::parse(dns_name)
            .unwrap_or_else(|_| coerce_name(dns_name))
            .to_wire();
        let zone_id = rules::strip_zone_prefix(hosted_zone_id).to_string();
        self.lock().elb_targets.insert(name, zone_id);
    }

    /// The same validation and atomic apply as the HTTP path, in-process (for world files).
    pub fn change(
        &self,
        zone_id: &str,
        changes: Vec<Change>,
        comment: Option<String>,
    ) -> Result<ChangeInfo, ApiError> {
        let zone_id = rules::strip_zone_prefix(zone_id);
        let now = self.clock.now_millis();
        let mut state = self.lock();
        let state = &mut *state;
        let zone = state
            .zones
            .get(zone_id)
            .ok_or_else(|| ApiError::no_such_hosted_zone(zone_id))?;
        let lookup = rules::Lookup {
            elb_targets: &state.elb_targets,
            zones: &state.zones,
        };
        let (records, normalised) =
            rules::apply_batch(zone, &changes, comment.as_deref(), &lookup)?;
        let change_id = unique_id(|c| state.changes.contains_key(c), "C");
        let record = ChangeRecord {
            submitted_millis: now,
            comment: comment.clone(),
        };
        state.changes.insert(change_id.clone(), record.clone());
        let zone = state
            .zones
            .get_mut(zone_id)
            .ok_or_else(|| ApiError::no_such_hosted_zone(zone_id))?;
        zone.records = records;
        zone.last_change_millis = Some(now);
        state.history.push(HistoryEntry {
            change_id: change_id.clone(),
            zone_id: zone_id.to_string(),
            comment,
            at_millis: now,
            changes: normalised,
        });
        Ok(change_info(&change_id, &record, &state.options, now))
    }

    /// GetChange, in-process.
    pub fn get_change(&self, change_id: &str) -> Result<ChangeInfo, ApiError> {
        let id = change_id
            .strip_prefix("/change/")
            .or_else(|| change_id.strip_prefix("change/"))
            .unwrap_or(change_id);
        let now = self.clock.now_millis();
        let state = self.lock();
        let record = state
            .changes
            .get(id)
            .ok_or_else(|| ApiError::no_such_change(id))?;
        Ok(change_info(id, record, &state.options, now))
    }

    /// The zone's record sets in listing order (empty for an unknown zone).
    pub fn records(&self, zone_id: &str) -> Vec<Rrset> {
        let zone_id = rules::strip_zone_prefix(zone_id);
        self.lock()
            .zones
            .get(zone_id)
            .map(|z| z.records.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn zone_ids(&self) -> Vec<String> {
        self.lock().zones.keys().cloned().collect()
    }

    pub fn zones(&self) -> Vec<ZoneSummary> {
        self.lock().zones.values().map(Zone::summary).collect()
    }

    /// The zone as it stood at `from_ms` and every version after it up to `to_ms`:
    /// `(the records at from_ms, [(change time, the records after it)])`. What a resolver
    /// answered at any moment in between (the traffic generator replays it). Replayed from the
    /// zone's first records, as [`Route53::history`] is.
    pub fn timeline(&self, zone_id: &str, from_ms: i64, to_ms: i64) -> ZoneTimeline {
        let zone_id = rules::strip_zone_prefix(zone_id);
        let state = self.lock();
        let mut records = state
            .initial_records
            .get(zone_id)
            .cloned()
            .unwrap_or_default();
        let mut initial = Arc::new(records.values().cloned().collect::<Vec<Rrset>>());
        let mut changes = Vec::new();
        for h in state.history.iter().filter(|h| h.zone_id == zone_id) {
            if h.at_millis > to_ms {
                break;
            }
            for change in &h.changes {
                replay(&mut records, change);
            }
            let after = Arc::new(records.values().cloned().collect::<Vec<Rrset>>());
            if h.at_millis <= from_ms {
                initial = after;
            } else {
                changes.push((h.at_millis, after));
            }
        }
        (initial, changes)
    }

    /// Every applied change, in order, with the zone as it stood right after it (replayed from
    /// the zone's first records: the changes were validated when applied).
    pub fn history(&self) -> Vec<AppliedChange> {
        self.history_since(0)
    }

    /// The applied changes from the `start`-th on (0 is the first), each with the zone right
    /// after it, as [`Route53::history`] gives them. The earlier changes are replayed without
    /// copying the zone, so a long run that reads only its new changes after each step stays
    /// linear in the changes, not in the changes times the zone.
    pub fn history_since(&self, start: usize) -> Vec<AppliedChange> {
        let state = self.lock();
        let mut zones: BTreeMap<String, RecordMap> = state.initial_records.clone();
        let mut out = Vec::with_capacity(state.history.len().saturating_sub(start));
        for (i, h) in state.history.iter().enumerate() {
            let records = zones.entry(h.zone_id.clone()).or_default();
            for change in &h.changes {
                replay(records, change);
            }
            if i < start {
                continue;
            }
            out.push(AppliedChange {
                change_id: h.change_id.clone(),
                zone_id: h.zone_id.clone(),
                comment: h.comment.clone(),
                at_millis: h.at_millis,
                changes: h.changes.clone(),
                records_after: records.values().cloned().collect(),
            });
        }
        out
    }

    /// The applied changes from index `since` on, without the zone after each (`records_after`
    /// is left empty): what a benchmark needs to weigh every request, at the cost of the changes
    /// alone.
    pub fn change_log(&self, since: usize) -> Vec<AppliedChange> {
        let state = self.lock();
        state
            .history
            .iter()
            .skip(since)
            .map(|h| AppliedChange {
                change_id: h.change_id.clone(),
                zone_id: h.zone_id.clone(),
                comment: h.comment.clone(),
                at_millis: h.at_millis,
                changes: h.changes.clone(),
                records_after: Vec::new(),
            })
            .collect()
    }

    /// How many changes the history holds (cheaper than [`Route53::history`]).
    pub fn history_len(&self) -> usize {
        self.lock().history.len()
    }

    pub fn request_count(&self) -> RequestCounts {
        self.lock().counts.clone()
    }

    pub fn faults(&self) -> FaultHandle {
        self.faults.clone()
    }

    pub fn set_rate_limit(&self, per_second: Option<f64>) {
        self.lock().options.rate_limit_per_second = per_second;
        self.bucket
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_rate(per_second);
    }

    pub fn options(&self) -> Route53Options {
        self.lock().options.clone()
    }

    /// Counts one HTTP request and decides whether injected faults or the rate limit answer it.
    fn admit(&self, operation: &str) -> faults::Injected {
        let mut injected = self.faults.take_for_request();
        if injected.error.is_none() {
            let allowed = self
                .bucket
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .try_acquire();
            if !allowed {
                injected.error = Some(ApiError::throttling());
            }
        }
        let mut state = self.lock();
        let counts = &mut state.counts;
        counts.total += 1;
        *counts
            .by_operation
            .entry(operation.to_string())
            .or_insert(0) += 1;
        match &injected.error {
            Some(e) if e.code == "Throttling" => counts.throttled += 1,
            Some(_) => counts.faulted += 1,
            None => {}
        }
        injected
    }

    /// ChangeResourceRecordSets over HTTP: the optional PriorRequestNotComplete, an injected
    /// failure, then the same path as [`Route53::change`].
    fn http_change(&self, zone_id: &str, body: &[u8]) -> Result<ChangeInfo, ApiError> {
        let zone_id = rules::strip_zone_prefix(zone_id);
        self.check_prior_request(zone_id)?;
        if let Some(error) = self.faults.take_change_failure() {
            self.lock().counts.faulted += 1;
            return Err(error);
        }
        let (changes, comment) = wire::decode_change_request(body)?;
        self.change(zone_id, changes, comment)
    }

    /// docs/reference/route53.md "Other error codes": `PriorRequestNotComplete` (400) while a
    /// previous change to the zone is still processing (only when enabled).
    fn check_prior_request(&self, zone_id: &str) -> Result<(), ApiError> {
        let now = self.clock.now_millis();
        let state = self.lock();
        let zone = state
            .zones
            .get(zone_id)
            .ok_or_else(|| ApiError::no_such_hosted_zone(zone_id))?;
        let insync_ms = duration_millis(state.options.insync_after);
        let pending = zone
            .last_change_millis
            .is_some_and(|t| now < t.saturating_add(insync_ms));
        if state.options.prior_request_not_complete && pending {
            return Err(ApiError::prior_request_not_complete());
        }
        Ok(())
    }

    fn http_create_zone(&self, body: &[u8], account: &str) -> Result<(String, String), ApiError> {
        let request = wire::decode_create_zone(body)?;
        let name = DnsName::parse(&request.name).map_err(invalid_domain_name)?;
        {
            let state = self.lock();
            if state
                .zones
                .values()
                .any(|z| z.caller_reference == request.caller_reference)
            {
                return Err(ApiError::new(
                    409,
                    "HostedZoneAlreadyExists",
                    format!(
                        "A hosted zone has already been created with the specified caller reference: {}",
                        request.caller_reference
                    ),
                ));
            }
        }
        let (id, info) = self.insert_zone(
            name,
            request.caller_reference,
            request.comment,
            request.private,
            account,
        );
        if let Some(vpc) = request.vpc {
            self.associate_vpc(&id, vpc);
        }
        let state = self.lock();
        let zone = state
            .zones
            .get(&id)
            .ok_or_else(|| ApiError::no_such_hosted_zone(&id))?;
        Ok((wire::render_create_zone(zone, &info), id))
    }

    /// Runs `f` on the zone if `caller` may act on it: a zone of another account is refused
    /// `AccessDenied`, as IAM refuses an action on a resource the caller has no grant for.
    fn with_zone<T>(
        &self,
        caller: &Caller,
        operation: &str,
        zone_id: &str,
        f: impl FnOnce(&Zone) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let zone_id = rules::strip_zone_prefix(zone_id);
        let state = self.lock();
        let zone = state
            .zones
            .get(zone_id)
            .ok_or_else(|| ApiError::no_such_hosted_zone(zone_id))?;
        if zone.account != caller.account {
            return Err(ApiError::new(
                403,
                "AccessDenied",
                format!(
                    "User: {} is not authorized to perform: route53:{operation} on resource: arn:aws:route53:::hostedzone/{zone_id}",
                    caller.principal
                ),
            ));
        }
        f(zone)
    }

    fn with_state<T>(&self, f: impl FnOnce(&BTreeMap<String, Zone>) -> T) -> T {
        f(&self.lock().zones)
    }
}

fn invalid_domain_name(e: NameError) -> ApiError {
    ApiError::new(400, "InvalidDomainName", e.to_string())
}

/// A best-effort DNS name from arbitrary text (never fails).
fn coerce_name(raw: &str) -> DnsName {
    let cleaned: Vec<String> = raw
        .split('.')
        .filter(|l| !l.is_empty())
        .map(|l| l.replace('\\', "").chars().take(63).collect::<String>())
        .filter(|l| !l.is_empty())
        .collect();
    DnsName::parse(&format!("{}.", cleaned.join("."))).unwrap_or_else(|_| DnsName::root())
}

fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// docs/reference/route53.md "GetChange": PENDING until the change is everywhere, then INSYNC
/// (here: after `insync_after` of simulated time).
fn change_info(id: &str, record: &ChangeRecord, options: &Route53Options, now: i64) -> ChangeInfo {
    let insync_at = record
        .submitted_millis
        .saturating_add(duration_millis(options.insync_after));
    ChangeInfo {
        id: id.to_string(),
        status: if now >= insync_at {
            ChangeStatus::Insync
        } else {
            ChangeStatus::Pending
        },
        submitted_at: format_timestamp(record.submitted_millis),
        comment: record.comment.clone(),
    }
}

fn format_timestamp(millis: i64) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_string())
}

const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn random_id(prefix: &str, len: usize) -> String {
    let mut rng = rand::rng();
    let mut id = String::from(prefix);
    for _ in 0..len {
        let i = rng.random_range(0..ID_ALPHABET.len());
        id.push(char::from(ID_ALPHABET.get(i).copied().unwrap_or(b'X')));
    }
    id
}

/// A fresh id like Route53's (`Z…` for zones, `C…` for changes) not yet in use.
fn unique_id(taken: impl Fn(&str) -> bool, prefix: &str) -> String {
    loop {
        let id = random_id(prefix, 20);
        if !taken(&id) {
            return id;
        }
    }
}

/// A request id in the form AWS uses (a random UUID).
pub fn request_id() -> String {
    let mut rng = rand::rng();
    let hex: String = (0..32)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// One already validated change applied to a replayed zone: the rrset is put or removed under
/// its identity.
fn replay(records: &mut RecordMap, change: &Change) {
    let Ok(name) = DnsName::parse(&change.rrset.name) else {
        return;
    };
    let key = RecordKey::of(&name, &change.rrset);
    match change.action {
        Action::Delete => {
            records.remove(&key);
        }
        Action::Create | Action::Upsert => {
            records.insert(key, change.rrset.clone());
        }
    }
}
