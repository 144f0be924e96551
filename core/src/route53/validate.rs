//! The pre-send validator: every rule of docs/reference/route53.md that Route53 checks on
//! ChangeResourceRecordSets, applied to a batch before it is sent, so that a batch cutover sends
//! is accepted (docs/design.md §7.2). Plus cutover's own invariants on the zone a batch leaves
//! (docs/design.md §7.1, §7.4), a separate check.
//!
//! Where the reference gives Route53's message text, `Violation`'s Display reproduces it, so a
//! report reads like Route53's own answer. Where it does not, the text is cutover's own and
//! says so in a comment.

pub mod invariants;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::route53::model::{
    Action, Change, ChangeBatch, RecordSet, RecordType, RrKey, MAX_VALUE_CHARS,
};
use crate::route53::zone::elb::{canonical_zone_id, elb_region_and_kind};
use crate::route53::zone::ZoneSnapshot;
use crate::txt::{self, TxtError};
use crate::types::DnsName;

pub use invariants::{check_invariants, InvariantScope, InvariantViolation};

/// Route53's request limits (docs/reference/route53.md "Limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// ResourceRecord elements per request, alias records counting one, UPSERT twice.
    pub max_records: usize,
    /// Characters in all Value elements per request, UPSERT twice.
    pub max_value_chars: usize,
    /// Characters of the batch comment.
    pub max_comment_chars: usize,
}

impl Limits {
    pub const ROUTE53: Limits = Limits {
        max_records: 1_000,
        max_value_chars: 32_000,
        max_comment_chars: 256,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::ROUTE53
    }
}

/// What a change or a batch costs against the per-request limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cost {
    pub records: usize,
    pub value_chars: usize,
}

impl Cost {
    pub fn plus(self, other: Cost) -> Cost {
        Cost {
            records: self.records.saturating_add(other.records),
            value_chars: self.value_chars.saturating_add(other.value_chars),
        }
    }
    /// True if a request of this cost stays within `limits`.
    pub fn fits(self, limits: &Limits) -> bool {
        self.records <= limits.max_records && self.value_chars <= limits.max_value_chars
    }
}

/// The cost of one change: one record per value (an alias counts one), the characters of its
/// values; both doubled for an UPSERT (docs/reference/route53.md "Limits").
pub fn change_cost(change: &Change) -> Cost {
    let record = &change.record;
    let records = if record.alias.is_some() {
        1
    } else {
        record.values.len().max(1)
    };
    let value_chars: usize = record.values.iter().map(|v| v.chars().count()).sum();
    let factor = if change.action == Action::Upsert {
        2
    } else {
        1
    };
    Cost {
        records: records.saturating_mul(factor),
        value_chars: value_chars * factor,
    }
}

/// The cost of a whole batch.
pub fn batch_cost(batch: &ChangeBatch) -> Cost {
    batch
        .changes
        .iter()
        .map(change_cost)
        .fold(Cost::default(), Cost::plus)
}

/// The most weighted records of one name and type (docs/reference/route53.md "Limits").
pub const MAX_WEIGHTED_PER_NAME_TYPE: usize = 100;
/// The longest name or alias DNSName (docs/reference/route53.md "Limits").
pub const MAX_NAME_CHARS: usize = 1_024;
/// The largest TTL Route53 takes (API model: `TTL` is a Long 0–2147483647).
pub const MAX_TTL: u32 = 2_147_483_647;

/// One reason Route53 would refuse a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    // ---- the batch as a whole -------------------------------------------------------------
    /// A batch holds 1+ changes (docs/reference/route53.md "ChangeResourceRecordSets": "1+
    /// Change"). Text is cutover's own.
    #[error("Invalid request: the change batch holds no change")]
    EmptyBatch,
    /// Text is cutover's own; the reference gives the limit, not the message.
    #[error("Invalid request: the change batch comment is {length} characters, more than 256")]
    CommentTooLong { length: usize },
    /// Own text: a comment carries no control character (it is audit text; Route53's XML
    /// cannot carry most of them).
    #[error("Invalid request: the change batch comment holds the control character U+{0:04X}")]
    CommentControlCharacter(u32),
    /// Text is cutover's own; the reference gives the limit, not the message.
    #[error("Number of records limit of 1000 exceeded: the batch counts {count} ResourceRecord elements (UPSERT counts twice)")]
    TooManyRecords { count: usize },
    /// Text is cutover's own; the reference gives the limit, not the message.
    #[error("Number of characters in all Value elements limit of 32000 exceeded: the batch counts {count} (UPSERT counts twice)")]
    TooManyValueCharacters { count: usize },

    // ---- one change on its own -------------------------------------------------------------
    #[error("RRSet with DNS name {} is not permitted in zone {}", .name.to_fqdn(), .zone.to_fqdn())]
    NameOutsideZone { name: DnsName, zone: DnsName },
    /// Text is cutover's own; the reference gives the limit.
    #[error("Invalid request: the name of {key} is {length} characters as Route53 writes it, more than 1,024")]
    NameTooLong { key: RrKey, length: usize },
    /// Text is cutover's own; the reference gives the limit.
    #[error("Invalid request: the alias DNSName of {key} is {length} characters, more than 1,024")]
    AliasNameTooLong { key: RrKey, length: usize },
    #[error("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one in Change with {}", change_label(*.action, .key))]
    AliasAndRecords { action: Action, key: RrKey },
    #[error("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with {}", change_label(*.action, .key))]
    NeitherAliasNorRecords { action: Action, key: RrKey },
    /// Weight and SetIdentifier, both or neither (docs/reference/route53.md "Weighted records").
    /// Own text.
    #[error("Invalid request: a weighted record needs both Weight and SetIdentifier, but found only {present} in Change with {}", change_label(*.action, .key))]
    WeightWithoutSetIdentifier {
        action: Action,
        key: RrKey,
        present: &'static str,
    },
    /// Own text; the reference gives the range.
    #[error("Invalid request: the SetIdentifier of {key} must be 1–128 characters")]
    SetIdentifierLength { key: RrKey },
    /// Own text; Route53's TTL is 0–2147483647.
    #[error("Invalid request: the TTL {ttl} of {key} is larger than 2147483647")]
    TtlTooLarge { key: RrKey, ttl: u32 },
    /// cutover never edits a record of a routing policy it does not drive (model.rs). Own text.
    #[error("cutover does not edit {key}: it uses the {policy} routing policy")]
    UnmanagedPolicy { key: RrKey, policy: String },
    /// Own text; the reference gives the limit.
    #[error("Invalid Resource Record: a Value of {key} is {length} characters, more than 4,000")]
    ValueTooLong { key: RrKey, length: usize },
    #[error("Invalid Resource Record: FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with '{value}' in {key}")]
    TxtNotQuoted { key: RrKey, value: String },
    #[error("Invalid Resource Record: FATAL problem: CharacterStringTooLong (Value is too long) encountered with '{value}' in {key}")]
    TxtStringTooLong { key: RrKey, value: String },
    /// Route53's text for a bad A value, not given by the reference.
    #[error("Invalid Resource Record: FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '{value}' in {key}")]
    InvalidIpv4 { key: RrKey, value: String },
    /// Route53's text for a bad AAAA value, not given by the reference.
    #[error("Invalid Resource Record: FATAL problem: AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address) encountered with '{value}' in {key}")]
    InvalidIpv6 { key: RrKey, value: String },
    /// A CNAME has exactly one value (RFC 1034 §3.6.2). Own text.
    #[error(
        "Invalid Resource Record: {key} of type CNAME must hold exactly one value, found {count}"
    )]
    CnameValueCount { key: RrKey, count: usize },
    #[error("Tried to create an alias that targets {}, type {} in zone {}, but the alias target name does not lie within the target zone", .target.to_fqdn(), .key.rtype, .hosted_zone_id)]
    AliasTargetOutsideZone {
        key: RrKey,
        target: DnsName,
        hosted_zone_id: String,
    },
    /// A load balancer hostname in a region the canonical table does not know: stricter than
    /// Route53 (which would know), since cutover cannot check the zone id. Own text.
    #[error("Tried to create an alias that targets {}, type {} in zone {}, but region {region} is not in the table of load balancer zones", .target.to_fqdn(), .key.rtype, .hosted_zone_id)]
    UnknownElbRegion {
        key: RrKey,
        target: DnsName,
        hosted_zone_id: String,
        region: String,
    },

    // ---- one change against the zone as the earlier changes left it -----------------------
    #[error("Tried to create resource record set {0} but it already exists")]
    AlreadyExists(RrKey),
    #[error("Tried to delete resource record set {0} but it was not found")]
    DeleteNotFound(RrKey),
    /// `fields` names what differs (ttl, values, weight, alias, health check, …); Route53's
    /// text does not, so it stays out of the message.
    #[error("Tried to delete resource record set {key} but the values provided do not match the current values")]
    DeleteMismatch {
        key: RrKey,
        fields: Vec<&'static str>,
    },
    /// docs/reference/route53.md "DELETE": "Deleting the same rrset twice in one batch is an
    /// error". Own text.
    #[error("Tried to delete resource record set {0} twice in one batch")]
    DeletedTwice(RrKey),
    #[error("RRSet with DNS name {}, type {}, SetIdentifier {} cannot be created as a non-weighted set exists with the same name and type.", .0.name.to_fqdn(), .0.rtype, set_id_label(.0))]
    NonWeightedExists(RrKey),
    #[error("RRSet with DNS name {}, type {} cannot be created as other RRSets exist with the same name and type.", .0.name.to_fqdn(), .0.rtype)]
    OtherRrsetsExist(RrKey),
    /// Weighted and other policy records at one name and type. Own text, modelled on Route53's.
    #[error("RRSet with DNS name {}, type {}, SetIdentifier {} cannot be created as RRSets of another routing policy exist with the same name and type.", .0.name.to_fqdn(), .0.rtype, set_id_label(.0))]
    OtherPolicyExists(RrKey),
    /// docs/reference/route53.md "UPSERT": UPSERT "cannot change routing policy". Own text.
    #[error("RRSet with DNS name {}, type {}, SetIdentifier {} cannot change its routing policy by UPSERT.", .0.name.to_fqdn(), .0.rtype, set_id_label(.0))]
    PolicyChange(RrKey),
    /// `rtype` is the type being created: CNAME beside anything else, or anything beside a
    /// CNAME. docs/reference/route53.md "CNAME" gives the CNAME form; the other form follows it.
    #[error("RRSet of type {} with DNS name {} is not permitted as it conflicts with other records with the same DNS name in zone {}", .key.rtype, .key.name.to_fqdn(), .zone.to_fqdn())]
    CnameConflict { key: RrKey, zone: DnsName },
    /// "No CNAME at the zone apex" (docs/reference/route53.md "CNAME"); Route53's text, not given
    /// by the reference.
    #[error("RRSet of type CNAME with DNS name {} is not permitted at apex in zone {}", .key.name.to_fqdn(), .zone.to_fqdn())]
    CnameAtApex { key: RrKey, zone: DnsName },
    #[error("RRSet with DNS name {} and type {}, SetIdentifier {} cannot be created as weighted sets must contain the same TTL.", .0.name.to_fqdn(), .0.rtype, set_id_label(.0))]
    WeightedTtlMismatch(RrKey),
    /// Own text; the reference gives the limit of 100.
    #[error("RRSet with DNS name {} and type {}, SetIdentifier {} cannot be created as the limit of 100 weighted records per name and type would be exceeded.", .0.name.to_fqdn(), .0.rtype, set_id_label(.0))]
    TooManyWeighted(RrKey),
}

impl Violation {
    /// The Route53 error code this violation would come back as (docs/reference/route53.md "Error
    /// wire form": "Match on the code, not the text"); `cutover` for cutover's own rules.
    pub fn code(&self) -> &'static str {
        use Violation::*;
        match self {
            UnmanagedPolicy { .. } | UnknownElbRegion { .. } => "cutover",
            EmptyBatch
            | CommentTooLong { .. }
            | CommentControlCharacter(_)
            | NameTooLong { .. }
            | AliasNameTooLong { .. }
            | AliasAndRecords { .. }
            | NeitherAliasNorRecords { .. }
            | WeightWithoutSetIdentifier { .. }
            | SetIdentifierLength { .. }
            | TtlTooLarge { .. } => "InvalidInput",
            _ => "InvalidChangeBatch",
        }
    }
}

/// `[Action=CREATE, Name=x.example.com., Type=A, SetIdentifier=null]`, as Route53 names a change.
fn change_label(action: Action, key: &RrKey) -> String {
    format!(
        "[Action={action}, Name={}, Type={}, SetIdentifier={}]",
        key.name.to_fqdn(),
        key.rtype,
        set_id_label(key)
    )
}

fn set_id_label(key: &RrKey) -> String {
    key.set_identifier
        .as_ref()
        .map_or_else(|| "null".to_string(), |s| s.as_str().to_string())
}

/// Validates a batch as Route53 would: change by change, in order, each against the zone as
/// the earlier changes of the batch left it, every violation collected (docs/reference/route53.md
/// "All or nothing"). `Ok` means Route53 would accept it, as far as the zone listing tells.
/// Not checked offline: health check ids exist, aliases to records of other hosted zones.
pub fn validate_batch(zone: &ZoneSnapshot, batch: &ChangeBatch) -> Result<(), Vec<Violation>> {
    let mut violations = Vec::new();
    check_batch_shape(batch, &mut violations);
    // Every rule of a change looks at records of the change's own name only.
    let names: BTreeSet<&DnsName> = batch.changes.iter().map(|c| &c.record.name).collect();
    let mut working = zone.restricted_to(names);
    let mut deleted = BTreeSet::new();
    for change in &batch.changes {
        let before = violations.len();
        check_change_alone(&zone.zone_name, change, &mut violations);
        if violations.len() == before {
            check_against_zone(&working, &mut deleted, change, &mut violations);
        }
        // A change that fails leaves the zone as it was for the changes after it.
        if violations.len() == before {
            working.apply_change(change);
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

/// The batch's size, comment and limits (docs/reference/route53.md "ChangeResourceRecordSets" and
/// "Limits").
fn check_batch_shape(batch: &ChangeBatch, out: &mut Vec<Violation>) {
    if batch.changes.is_empty() {
        out.push(Violation::EmptyBatch);
    }
    if let Some(comment) = &batch.comment {
        let length = comment.chars().count();
        if length > Limits::ROUTE53.max_comment_chars {
            out.push(Violation::CommentTooLong { length });
        }
        if let Some(c) = comment.chars().find(|c| c.is_control()) {
            out.push(Violation::CommentControlCharacter(u32::from(c)));
        }
    }
    let cost = batch_cost(batch);
    if cost.records > Limits::ROUTE53.max_records {
        out.push(Violation::TooManyRecords {
            count: cost.records,
        });
    }
    if cost.value_chars > Limits::ROUTE53.max_value_chars {
        out.push(Violation::TooManyValueCharacters {
            count: cost.value_chars,
        });
    }
}

/// The rules a change must satisfy whatever the zone holds.
fn check_change_alone(zone_name: &DnsName, change: &Change, out: &mut Vec<Violation>) {
    let record = &change.record;
    let key = record.key();
    if !record.name.is_within(zone_name) {
        out.push(Violation::NameOutsideZone {
            name: record.name.clone(),
            zone: zone_name.clone(),
        });
    }
    let length = escaped_fqdn_len(&record.name);
    if length > MAX_NAME_CHARS {
        out.push(Violation::NameTooLong {
            key: key.clone(),
            length,
        });
    }
    if let Some(policy) = &record.other_policy {
        out.push(Violation::UnmanagedPolicy {
            key: key.clone(),
            policy: policy.clone(),
        });
    }
    check_routing_fields(change, &key, out);
    check_data_shape(change, &key, out);
    if let Some(ttl) = record.ttl.filter(|t| *t > MAX_TTL) {
        out.push(Violation::TtlTooLarge {
            key: key.clone(),
            ttl,
        });
    }
    check_alias_target(record, &key, out);
    check_values(record, &key, out);
}

/// The length of a name as Route53 writes it: fully qualified, any byte other than a–z, 0–9,
/// `-`, `_`, `.` as `\ooo` (docs/reference/route53.md "ListResourceRecordSets"). Counting the
/// escaped form is the stricter reading of the 1,024 limit.
fn escaped_fqdn_len(name: &DnsName) -> usize {
    let escaped: usize = name
        .as_str()
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => 1,
            _ => 4,
        })
        .sum();
    escaped + 1
}

/// Weight and SetIdentifier: both or neither; SetIdentifier 1–128 characters
/// (docs/reference/route53.md "Weighted records"). Records of other policies are refused elsewhere.
fn check_routing_fields(change: &Change, key: &RrKey, out: &mut Vec<Violation>) {
    let record = &change.record;
    if record.other_policy.is_some() {
        return;
    }
    let present = match (&record.weight, &record.set_identifier) {
        (Some(_), None) => Some("Weight"),
        (None, Some(_)) => Some("SetIdentifier"),
        _ => None,
    };
    if let Some(present) = present {
        out.push(Violation::WeightWithoutSetIdentifier {
            action: change.action,
            key: key.clone(),
            present,
        });
    }
    if let Some(id) = &record.set_identifier {
        if !(1..=128).contains(&id.as_str().chars().count()) {
            out.push(Violation::SetIdentifierLength { key: key.clone() });
        }
    }
}

/// AliasTarget XOR (TTL and ResourceRecords) (docs/reference/route53.md "Structural errors").
fn check_data_shape(change: &Change, key: &RrKey, out: &mut Vec<Violation>) {
    let record = &change.record;
    let has_alias = record.alias.is_some();
    let has_any_plain = record.ttl.is_some() || !record.values.is_empty();
    let has_full_plain = record.ttl.is_some() && !record.values.is_empty();
    if has_alias && has_any_plain {
        out.push(Violation::AliasAndRecords {
            action: change.action,
            key: key.clone(),
        });
    } else if !has_alias && !has_full_plain {
        out.push(Violation::NeitherAliasNorRecords {
            action: change.action,
            key: key.clone(),
        });
    }
}

/// An alias to a load balancer must name the load balancer's canonical zone
/// (docs/reference/route53.md "Alias records"); the DNSName is at most 1,024 characters
/// (docs/reference/route53.md "Limits").
fn check_alias_target(record: &RecordSet, key: &RrKey, out: &mut Vec<Violation>) {
    let Some(alias) = &record.alias else {
        return;
    };
    let length = alias.dns_name.to_fqdn().chars().count();
    if length > MAX_NAME_CHARS {
        out.push(Violation::AliasNameTooLong {
            key: key.clone(),
            length,
        });
    }
    let Some((region, kind)) = elb_region_and_kind(alias.dns_name.as_str()) else {
        return;
    };
    match canonical_zone_id(&region, kind) {
        Some(expected) if expected == alias.hosted_zone_id => {}
        Some(_) => out.push(Violation::AliasTargetOutsideZone {
            key: key.clone(),
            target: alias.dns_name.clone(),
            hosted_zone_id: alias.hosted_zone_id.clone(),
        }),
        None => out.push(Violation::UnknownElbRegion {
            key: key.clone(),
            target: alias.dns_name.clone(),
            hosted_zone_id: alias.hosted_zone_id.clone(),
            region,
        }),
    }
}

/// Each value: at most 4,000 characters (docs/reference/route53.md "Limits"); TXT quoted strings
/// of at most 255 (docs/reference/route53.md "TXT records"); A an IPv4 and AAAA an IPv6 address;
/// one value for a CNAME.
fn check_values(record: &RecordSet, key: &RrKey, out: &mut Vec<Violation>) {
    if record.rtype == RecordType::Cname && record.values.len() > 1 {
        out.push(Violation::CnameValueCount {
            key: key.clone(),
            count: record.values.len(),
        });
    }
    for value in &record.values {
        let length = value.chars().count();
        if length > MAX_VALUE_CHARS {
            out.push(Violation::ValueTooLong {
                key: key.clone(),
                length,
            });
        }
        if let Some(violation) = check_value_syntax(&record.rtype, key, value) {
            out.push(violation);
        }
    }
}

fn check_value_syntax(rtype: &RecordType, key: &RrKey, value: &str) -> Option<Violation> {
    let key = key.clone();
    let value_owned = || value.to_string();
    match rtype {
        RecordType::Txt => match txt::parse(value) {
            Ok(_) => None,
            Err(TxtError::NotQuoted) => Some(Violation::TxtNotQuoted {
                key,
                value: value_owned(),
            }),
            Err(TxtError::StringTooLong | TxtError::ValueTooLong(_)) => {
                Some(Violation::TxtStringTooLong {
                    key,
                    value: value_owned(),
                })
            }
        },
        RecordType::A => value
            .parse::<Ipv4Addr>()
            .err()
            .map(|_| Violation::InvalidIpv4 {
                key,
                value: value_owned(),
            }),
        RecordType::Aaaa => value
            .parse::<Ipv6Addr>()
            .err()
            .map(|_| Violation::InvalidIpv6 {
                key,
                value: value_owned(),
            }),
        RecordType::Cname | RecordType::Other(_) => None,
    }
}

/// The rules that look at the zone as the earlier changes of the batch left it.
fn check_against_zone(
    zone: &ZoneSnapshot,
    deleted: &mut BTreeSet<RrKey>,
    change: &Change,
    out: &mut Vec<Violation>,
) {
    let record = &change.record;
    let key = record.key();
    match change.action {
        Action::Create => {
            if zone.contains(&key) {
                out.push(Violation::AlreadyExists(key));
                return;
            }
            check_put(zone, record, out);
        }
        Action::Upsert => {
            if zone
                .get(&key)
                .is_some_and(|current| current.other_policy.is_some())
            {
                out.push(Violation::PolicyChange(key));
                return;
            }
            check_put(zone, record, out);
        }
        Action::Delete => check_delete(zone, deleted, record, out),
    }
}

/// DELETE names an existing record with all its current values, once per batch
/// (docs/reference/route53.md "DELETE").
fn check_delete(
    zone: &ZoneSnapshot,
    deleted: &mut BTreeSet<RrKey>,
    record: &RecordSet,
    out: &mut Vec<Violation>,
) {
    let key = record.key();
    // Stricter reading: a second DELETE of one identity is refused even if a CREATE between
    // brought it back.
    if !deleted.insert(key.clone()) {
        out.push(Violation::DeletedTwice(key));
        return;
    }
    match zone.get(&key) {
        None => out.push(Violation::DeleteNotFound(key)),
        Some(current) => {
            let fields = differing_fields(current, record);
            if !fields.is_empty() {
                out.push(Violation::DeleteMismatch { key, fields });
            }
        }
    }
}

/// The fields in which `given` differs from `current`. Values compare as sets (Route53 does
/// not keep their order); TXT values by their character-strings (read-back may join strings
/// without a space).
pub fn differing_fields(current: &RecordSet, given: &RecordSet) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if current.ttl != given.ttl {
        fields.push("ttl");
    }
    if normalised_values(current) != normalised_values(given) {
        fields.push("values");
    }
    if current.weight != given.weight {
        fields.push("weight");
    }
    if current.set_identifier != given.set_identifier {
        fields.push("set identifier");
    }
    if current.alias != given.alias {
        fields.push("alias target");
    }
    if current.health_check_id != given.health_check_id {
        fields.push("health check id");
    }
    if current.other_policy != given.other_policy {
        fields.push("routing policy");
    }
    fields
}

fn normalised_values(record: &RecordSet) -> Vec<Vec<Vec<u8>>> {
    let mut values: Vec<Vec<Vec<u8>>> = record
        .values
        .iter()
        .map(|v| match (&record.rtype, txt::parse(v)) {
            (RecordType::Txt, Ok(strings)) => strings,
            _ => vec![v.as_bytes().to_vec()],
        })
        .collect();
    values.sort();
    values
}

/// CREATE or UPSERT of `record`: routing policy, CNAME and weighted-group rules
/// (docs/reference/route53.md "Simple vs weighted", "CNAME", "Weighted records", "Limits").
fn check_put(zone: &ZoneSnapshot, record: &RecordSet, out: &mut Vec<Violation>) {
    check_cname_rules(zone, record, out);
    let key = record.key();
    let others: Vec<&RecordSet> = zone
        .by_name_type(&record.name, &record.rtype)
        .filter(|r| r.key() != key)
        .collect();
    if record.is_weighted() {
        check_weighted_put(record, &key, &others, out);
    } else if others.iter().any(|r| r.set_identifier.is_some()) {
        out.push(Violation::OtherRrsetsExist(key));
    }
}

fn check_weighted_put(
    record: &RecordSet,
    key: &RrKey,
    others: &[&RecordSet],
    out: &mut Vec<Violation>,
) {
    if others.iter().any(|r| r.set_identifier.is_none()) {
        out.push(Violation::NonWeightedExists(key.clone()));
    }
    if others
        .iter()
        .any(|r| r.set_identifier.is_some() && (r.other_policy.is_some() || !r.is_weighted()))
    {
        out.push(Violation::OtherPolicyExists(key.clone()));
    }
    // Alias members have no TTL and are left out of the comparison.
    let ttl_differs = others
        .iter()
        .any(|r| r.is_weighted() && matches!((r.ttl, record.ttl), (Some(a), Some(b)) if a != b));
    if ttl_differs {
        out.push(Violation::WeightedTtlMismatch(key.clone()));
    }
    let members = others.iter().filter(|r| r.is_weighted()).count() + 1;
    if members > MAX_WEIGHTED_PER_NAME_TYPE {
        out.push(Violation::TooManyWeighted(key.clone()));
    }
}

/// A CNAME excludes every other type at its name, and is not allowed at the apex.
fn check_cname_rules(zone: &ZoneSnapshot, record: &RecordSet, out: &mut Vec<Violation>) {
    let key = record.key();
    let is_cname = record.rtype == RecordType::Cname;
    if is_cname && record.name == zone.zone_name {
        out.push(Violation::CnameAtApex {
            key,
            zone: zone.zone_name.clone(),
        });
        return;
    }
    let conflicts = zone.by_name(&record.name).any(|r| {
        if is_cname {
            r.rtype != RecordType::Cname
        } else {
            r.rtype == RecordType::Cname
        }
    });
    if conflicts {
        out.push(Violation::CnameConflict {
            key,
            zone: zone.zone_name.clone(),
        });
    }
}
