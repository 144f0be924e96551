//! ChangeResourceRecordSets semantics (docs/reference/route53.md "ChangeResourceRecordSets"): a
//! batch is validated change by change, in order, each against the zone as the earlier changes left
//! it, on a copy of the zone; every error is collected; on any error nothing is applied.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::input::check_batch_input;
use super::model::{Action, AliasTarget, ApiError, Change, Rrset};
use super::names::DnsName;
use super::txt;
use super::zone::{RecordKey, RecordMap, Zone};

/// docs/reference/route53.md "Limits": ResourceRecord elements per request (alias records count).
pub const MAX_RECORDS_PER_BATCH: usize = 1000;
/// docs/reference/route53.md "Limits": characters in all Value elements per request.
pub const MAX_VALUE_CHARS_PER_BATCH: usize = 32_000;
/// docs/reference/route53.md "Limits": weighted records per name+type.
pub const MAX_WEIGHTED_PER_GROUP: usize = 100;
/// docs/reference/route53.md "Limits": records per zone (default quota).
pub const MAX_RRSETS_PER_ZONE: usize = 10_000;

/// What the rules need to know outside the zone being changed.
pub struct Lookup<'a> {
    /// Registered load balancer host names (normalised) → their canonical hosted zone id.
    pub elb_targets: &'a BTreeMap<String, String>,
    /// Every hosted zone by id (aliases may target records of another zone).
    pub zones: &'a BTreeMap<String, Zone>,
}

/// Validates `changes` against `zone`; on success returns the zone's records after the batch and
/// the changes with their names normalised.
pub fn apply_batch(
    zone: &Zone,
    changes: &[Change],
    comment: Option<&str>,
    lookup: &Lookup<'_>,
) -> Result<(RecordMap, Vec<Change>), ApiError> {
    check_batch_input(changes, comment)?;
    check_batch_limits(changes)?;
    let mut working = zone.records.clone();
    let mut messages = Vec::new();
    let mut normalised = Vec::with_capacity(changes.len());
    for change in changes {
        match normalise(change) {
            Err(message) => messages.push(message),
            Ok((change, name)) => {
                if let Err(message) = apply_one(zone, &mut working, &change, &name, lookup) {
                    messages.push(message);
                }
                normalised.push(change);
            }
        }
    }
    if !messages.is_empty() {
        return Err(ApiError::invalid_change_batch(&messages));
    }
    if working.len() > MAX_RRSETS_PER_ZONE {
        // Text seen from real Route53 in a public bug report.
        return Err(ApiError::invalid_change_batch(&[format!(
            "Exceeded limit MAX_RRSETS_BY_ZONE for zone: {}",
            zone.id
        )]));
    }
    Ok((working, normalised))
}

/// docs/reference/route53.md "Limits": 1,000 ResourceRecord elements and 32,000 Value characters
/// per request, UPSERT counted twice. Texts as real Route53 returned them in public bug reports.
fn check_batch_limits(changes: &[Change]) -> Result<(), ApiError> {
    let mut records = 0usize;
    let mut chars = 0usize;
    for change in changes {
        let factor = if change.action == Action::Upsert {
            2
        } else {
            1
        };
        let r = &change.rrset;
        let count = r.records.len() + usize::from(r.alias_target.is_some());
        records += factor * count;
        chars += factor * r.records.iter().map(|v| v.chars().count()).sum::<usize>();
    }
    let mut messages = Vec::new();
    if records > MAX_RECORDS_PER_BATCH {
        messages.push(format!(
            "Number of records limit of {MAX_RECORDS_PER_BATCH} exceeded."
        ));
    }
    if chars > MAX_VALUE_CHARS_PER_BATCH {
        messages.push(format!(
            "RDATA character limit of {MAX_VALUE_CHARS_PER_BATCH} exceeded."
        ));
    }
    if messages.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_change_batch(&messages))
    }
}

/// Names lower-cased, fully qualified and escaped; alias zone ids without prefix.
fn normalise(change: &Change) -> Result<(Change, DnsName), String> {
    let name = DnsName::parse(&change.rrset.name).map_err(|e| e.to_string())?;
    let mut rrset = change.rrset.clone();
    rrset.name = name.to_wire();
    if let Some(alias) = &mut rrset.alias_target {
        *alias = normalise_alias(alias);
    }
    Ok((
        Change {
            action: change.action,
            rrset,
        },
        name,
    ))
}

pub fn normalise_alias(alias: &AliasTarget) -> AliasTarget {
    AliasTarget {
        hosted_zone_id: strip_zone_prefix(&alias.hosted_zone_id).to_string(),
        dns_name: DnsName::parse(&alias.dns_name)
            .map(|n| n.to_wire())
            .unwrap_or_else(|_| alias.dns_name.clone()),
        evaluate_target_health: alias.evaluate_target_health,
    }
}

pub fn strip_zone_prefix(id: &str) -> &str {
    id.strip_prefix("/hostedzone/")
        .or_else(|| id.strip_prefix("hostedzone/"))
        .unwrap_or(id)
}

fn apply_one(
    zone: &Zone,
    working: &mut RecordMap,
    change: &Change,
    name: &DnsName,
    lookup: &Lookup<'_>,
) -> Result<(), String> {
    let r = &change.rrset;
    if !name.is_within(&zone.name) {
        // Unverified text (remembered from real Route53).
        return Err(format!(
            "RRSet with DNS name {} is not permitted in zone {}",
            r.name,
            zone.name.to_wire()
        ));
    }
    let key = RecordKey::of(name, r);
    match change.action {
        Action::Delete => delete(working, &key, r),
        Action::Create => {
            // docs/reference/route53.md "CREATE": CREATE fails if the rrset (name, type, set
            // identifier) exists.
            if working.contains_key(&key) {
                return Err(format!(
                    "Tried to create resource record set {} but it already exists",
                    describe_key(r)
                ));
            }
            check_new_rrset(zone, working, &key, name, r, lookup)?;
            working.insert(key, r.clone());
            Ok(())
        }
        Action::Upsert => {
            // docs/reference/route53.md "UPSERT": UPSERT creates or replaces by (name, type, set
            // identifier).
            check_new_rrset(zone, working, &key, name, r, lookup)?;
            working.insert(key, r.clone());
            Ok(())
        }
    }
}

/// `[name='x.example.com.', type='A']`, with `, set-identifier='S'` for policy records.
fn describe_key(r: &Rrset) -> String {
    match &r.set_identifier {
        Some(id) => format!(
            "[name='{}', type='{}', set-identifier='{id}']",
            r.name, r.rtype
        ),
        None => format!("[name='{}', type='{}']", r.name, r.rtype),
    }
}

/// docs/reference/route53.md "DELETE": DELETE must name a record that exists and carry all its
/// current values; deleting the same rrset twice in one batch fails (the first DELETE removed it
/// from the copy).
fn delete(working: &mut RecordMap, key: &RecordKey, r: &Rrset) -> Result<(), String> {
    let Some(current) = working.get(key) else {
        return Err(format!(
            "Tried to delete resource record set {} but it was not found",
            describe_key(r)
        ));
    };
    if !same_values(current, r) {
        return Err(format!(
            "Tried to delete resource record set {} but the values provided do not match the current values",
            describe_key(r)
        ));
    }
    working.remove(key);
    Ok(())
}

/// TTL, every value (in any order), weight, set identifier, alias target, evaluate-target-health
/// and health check id must all be equal.
fn same_values(current: &Rrset, given: &Rrset) -> bool {
    let mut a = current.records.clone();
    let mut b = given.records.clone();
    a.sort();
    b.sort();
    a == b
        && current.ttl == given.ttl
        && current.weight == given.weight
        && current.set_identifier == given.set_identifier
        && current.alias_target == given.alias_target
        && current.health_check_id == given.health_check_id
}

fn check_new_rrset(
    zone: &Zone,
    working: &RecordMap,
    key: &RecordKey,
    name: &DnsName,
    r: &Rrset,
    lookup: &Lookup<'_>,
) -> Result<(), String> {
    check_record_data(r)?;
    check_cname_at_apex(zone, name, r)?;
    check_policy_conflict(working, key, r)?;
    check_cname_exclusive(zone, working, key, r)?;
    check_weighted_group(working, key, r)?;
    check_alias_target(zone, working, r, lookup)
}

/// Values must parse for their type; TXT/SPF values are character strings
/// (docs/reference/route53.md "TXT records"). The A/AAAA texts are unverified.
fn check_record_data(r: &Rrset) -> Result<(), String> {
    for value in &r.records {
        match r.rtype.as_str() {
            "A" if value.parse::<Ipv4Addr>().is_err() => {
                return Err(format!("Invalid Resource Record: FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '{value}'"));
            }
            "AAAA" if value.parse::<Ipv6Addr>().is_err() => {
                return Err(format!("Invalid Resource Record: FATAL problem: AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address) encountered with '{value}'"));
            }
            "TXT" | "SPF" => {
                txt::parse_character_strings(value).map_err(|e| e.to_string())?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// docs/reference/route53.md "CNAME": no CNAME at the zone apex. Text unverified.
fn check_cname_at_apex(zone: &Zone, name: &DnsName, r: &Rrset) -> Result<(), String> {
    if r.rtype == "CNAME" && *name == zone.name {
        return Err(format!(
            "RRSet of type CNAME with DNS name {} is not permitted at apex in zone {}",
            r.name,
            zone.name.to_wire()
        ));
    }
    Ok(())
}

/// The other members of the rrset's name+type group (its own key excluded).
fn group_members<'a>(
    working: &'a RecordMap,
    key: &'a RecordKey,
) -> impl Iterator<Item = &'a Rrset> + 'a {
    let start = RecordKey {
        sort_name: key.sort_name.clone(),
        rtype: key.rtype.clone(),
        set_identifier: None,
    };
    working
        .range(start..)
        .take_while(move |(k, _)| k.sort_name == key.sort_name && k.rtype == key.rtype)
        .filter(move |(k, _)| *k != key)
        .map(|(_, r)| r)
}

/// Every rrset at the same name, any type (its own key excluded).
fn same_name<'a>(
    working: &'a RecordMap,
    key: &'a RecordKey,
) -> impl Iterator<Item = &'a Rrset> + 'a {
    let start = RecordKey {
        sort_name: key.sort_name.clone(),
        rtype: String::new(),
        set_identifier: None,
    };
    working
        .range(start..)
        .take_while(move |(k, _)| k.sort_name == key.sort_name)
        .filter(move |(k, _)| *k != key)
        .map(|(_, r)| r)
}

/// docs/reference/route53.md "Simple vs weighted": they cannot coexist at one name+type, both ways.
fn check_policy_conflict(working: &RecordMap, key: &RecordKey, r: &Rrset) -> Result<(), String> {
    let mut others = group_members(working, key).peekable();
    if others.peek().is_none() {
        return Ok(());
    }
    if let (Some(_), Some(id)) = (r.weight, &r.set_identifier) {
        if group_members(working, key).any(|o| !o.is_weighted()) {
            return Err(format!(
                "RRSet with DNS name {}, type {}, SetIdentifier {id} cannot be created as a non-weighted set exists with the same name and type.",
                r.name, r.rtype
            ));
        }
        return Ok(());
    }
    Err(format!(
        "RRSet with DNS name {}, type {} cannot be created as other RRSets exist with the same name and type.",
        r.name, r.rtype
    ))
}

/// docs/reference/route53.md "CNAME" excludes every other type at the same name. The reference text
/// covers a CNAME joining other types; the text for a type joining a CNAME is unverified.
fn check_cname_exclusive(
    zone: &Zone,
    working: &RecordMap,
    key: &RecordKey,
    r: &Rrset,
) -> Result<(), String> {
    let zone_name = zone.name.to_wire();
    if r.rtype == "CNAME" {
        if same_name(working, key).any(|o| o.rtype != "CNAME") {
            return Err(format!(
                "RRSet of type CNAME with DNS name {} is not permitted as it conflicts with other records with the same DNS name in zone {zone_name}",
                r.name
            ));
        }
    } else if same_name(working, key).any(|o| o.rtype == "CNAME") {
        return Err(format!(
            "RRSet of type {} with DNS name {} is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone {zone_name}",
            r.rtype, r.name
        ));
    }
    Ok(())
}

/// docs/reference/route53.md "Weighted records": same TTL inside a group (alias members have none);
/// at most 100 weighted records per name+type (that text is unverified).
fn check_weighted_group(working: &RecordMap, key: &RecordKey, r: &Rrset) -> Result<(), String> {
    let (Some(_), Some(id)) = (r.weight, &r.set_identifier) else {
        return Ok(());
    };
    if let Some(ttl) = r.ttl {
        let differs = group_members(working, key)
            .filter_map(|o| o.ttl)
            .any(|other| other != ttl);
        if differs {
            return Err(format!(
                "RRSet with DNS name {} and type {}, SetIdentifier {id} cannot be created as weighted sets must contain the same TTL.",
                r.name, r.rtype
            ));
        }
    }
    if group_members(working, key).count() >= MAX_WEIGHTED_PER_GROUP {
        return Err(format!(
            "RRSet with DNS name {}, type {}, SetIdentifier {id} cannot be created as the number of weighted sets with the same name and type would exceed {MAX_WEIGHTED_PER_GROUP}.",
            r.name, r.rtype
        ));
    }
    Ok(())
}

/// docs/reference/route53.md "Alias records": the target must exist in the given zone. Load
/// balancers are known by their registered host names (optionally `dualstack.`-prefixed); an alias
/// may also target an existing record of a hosted zone (this one as the batch left it so far, or
/// another).
fn check_alias_target(
    zone: &Zone,
    working: &RecordMap,
    r: &Rrset,
    lookup: &Lookup<'_>,
) -> Result<(), String> {
    let Some(alias) = &r.alias_target else {
        return Ok(());
    };
    let target = alias.dns_name.as_str();
    let zone_id = alias.hosted_zone_id.as_str();
    let prefix = format!(
        "Tried to create an alias that targets {target}, type {} in zone {zone_id}, but",
        r.rtype
    );
    let not_found = || format!("{prefix} that target was not found");
    let outside = || format!("{prefix} the alias target name does not lie within the target zone");

    let elb_name = target.strip_prefix("dualstack.").unwrap_or(target);
    if let Some(canonical) = lookup
        .elb_targets
        .get(target)
        .or_else(|| lookup.elb_targets.get(elb_name))
    {
        return if canonical == zone_id {
            Ok(())
        } else {
            Err(outside())
        };
    }
    let (target_zone_name, records) = if zone_id == zone.id {
        (&zone.name, working)
    } else if let Some(other) = lookup.zones.get(zone_id) {
        (&other.name, &other.records)
    } else {
        return Err(not_found());
    };
    let Ok(target_name) = DnsName::parse(target) else {
        return Err(not_found());
    };
    if !target_name.is_within(target_zone_name) {
        return Err(outside());
    }
    let start = RecordKey {
        sort_name: target_name.sort_key(),
        rtype: r.rtype.clone(),
        set_identifier: None,
    };
    let exists = records
        .range(&start..)
        .next()
        .is_some_and(|(k, _)| k.sort_name == start.sort_name && k.rtype == start.rtype);
    if exists {
        Ok(())
    } else {
        Err(not_found())
    }
}
