//! cutover's own invariants on the zone a batch leaves, beyond what Route53 checks
//! (docs/design.md §7.1 and §7.4). They compare the zone before and after a batch and look only at
//! what the batch touched, plus the managed keys the caller names.

use std::collections::{BTreeMap, BTreeSet};

use crate::route53::model::{RecordSet, RecordType, RrKey};
use crate::route53::zone::ZoneSnapshot;
use crate::txt;
use crate::types::{DnsName, SetIdentifier, Weight};

/// external-dns writes every registry TXT with TTL 300 (docs/reference/external-dns.md §1 "TTL and
/// routing fields").
pub const REGISTRY_TXT_TTL: u32 = 300;

/// What the caller tells the check about the batch's intent and the keys it manages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvariantScope {
    /// Names whose name/type groups the batch may leave with no record: the deletion of a
    /// parked key with its TXT registry entries (docs/design.md §3.1 step 4). Empty: none may.
    pub may_empty: BTreeSet<DnsName>,
    /// For each managed hostname, the names of its TXT registry entries (every variant the
    /// registry knows of). A weighted A/AAAA member's TXT entries with the same set identifier
    /// must carry its weight; every TXT at these names must have TTL 300.
    pub registry_names: BTreeMap<DnsName, Vec<DnsName>>,
}

/// A committed state cutover must never leave.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvariantViolation {
    /// docs/design.md §7.1: all weights 0 is an even split, never "off".
    #[error("every weight of the weighted group [name='{}', type='{rtype}'] would be 0, which Route53 answers as an even split", .name.to_fqdn())]
    AllWeightsZero { name: DnsName, rtype: RecordType },
    /// docs/design.md §7.1: a hostname never loses its last answer.
    #[error("the batch removes the last record of [name='{}', type='{rtype}']", .name.to_fqdn())]
    LastRecordRemoved { name: DnsName, rtype: RecordType },
    /// docs/design.md §3.1 step 2 and §7.4: A and AAAA, and each record and its TXT entries, carry
    /// the same weight.
    #[error("{record} has weight {record_weight} but {companion} of the same key has weight {companion_weight}")]
    UnequalWeights {
        record: RrKey,
        record_weight: Weight,
        companion: RrKey,
        companion_weight: Weight,
    },
    /// docs/reference/route53.md "Weighted records": one value per weighted member (keep it so).
    #[error("weighted record {key} holds {count} values; a weighted member holds one")]
    WeightedMemberValues { key: RrKey, count: usize },
    /// docs/design.md §7.4, docs/reference/external-dns.md §1 "TTL and routing fields": registry
    /// TXT is TTL 300.
    #[error("TXT registry entry {key} has TTL {ttl}, not 300")]
    RegistryTtl { key: RrKey, ttl: String },
}

/// The invariants `after` must satisfy, given the zone `before` the batch.
pub fn check_invariants(
    before: &ZoneSnapshot,
    after: &ZoneSnapshot,
    scope: &InvariantScope,
) -> Vec<InvariantViolation> {
    let touched = touched_keys(before, after);
    let groups: BTreeSet<(&DnsName, &RecordType)> =
        touched.iter().map(|k| (&k.name, &k.rtype)).collect();
    let mut out = Vec::new();
    for (name, rtype) in &groups {
        check_group_weights(after, name, rtype, &mut out);
        check_group_not_emptied(before, after, scope, name, rtype, &mut out);
    }
    let touched_names: BTreeSet<&DnsName> = touched.iter().map(|k| &k.name).collect();
    for name in &touched_names {
        check_a_aaaa_agree(after, name, &mut out);
    }
    for (host, txt_names) in &scope.registry_names {
        check_txt_weights(after, host, txt_names, &mut out);
    }
    check_registry_ttls(after, &touched, scope, &mut out);
    check_single_values(after, &touched, &mut out);
    out
}

/// Every weighted record the batch wrote holds one value.
fn check_single_values(
    after: &ZoneSnapshot,
    touched: &BTreeSet<&RrKey>,
    out: &mut Vec<InvariantViolation>,
) {
    for key in touched {
        if let Some(record) = after.get(key).filter(|r| r.is_weighted()) {
            if record.values.len() > 1 {
                out.push(InvariantViolation::WeightedMemberValues {
                    key: record.key(),
                    count: record.values.len(),
                });
            }
        }
    }
}

/// Identities whose record set differs between the two zones (created, deleted or changed).
fn touched_keys<'a>(before: &'a ZoneSnapshot, after: &'a ZoneSnapshot) -> BTreeSet<&'a RrKey> {
    let changed_or_gone = before
        .records
        .iter()
        .filter(|(k, r)| after.get(k) != Some(*r))
        .map(|(k, _)| k);
    let created = after.records.keys().filter(|k| !before.contains(k));
    changed_or_gone.chain(created).collect()
}

/// docs/design.md §7.1: no weighted group of a traffic type all at 0. TXT groups copy their
/// record's weights and carry no traffic; they are checked through their records.
fn check_group_weights(
    after: &ZoneSnapshot,
    name: &DnsName,
    rtype: &RecordType,
    out: &mut Vec<InvariantViolation>,
) {
    if *rtype == RecordType::Txt {
        return;
    }
    let group = after.weighted_group(name, rtype);
    if !group.is_empty() && group.iter().all(|r| r.weight == Some(Weight::ZERO)) {
        out.push(InvariantViolation::AllWeightsZero {
            name: name.clone(),
            rtype: rtype.clone(),
        });
    }
}

/// docs/design.md §7.1: a name/type that had records keeps at least one, unless the caller says
/// the batch deletes that name on purpose.
fn check_group_not_emptied(
    before: &ZoneSnapshot,
    after: &ZoneSnapshot,
    scope: &InvariantScope,
    name: &DnsName,
    rtype: &RecordType,
    out: &mut Vec<InvariantViolation>,
) {
    let had = before.by_name_type(name, rtype).next().is_some();
    let has = after.by_name_type(name, rtype).next().is_some();
    if had && !has && !scope.may_empty.contains(name) {
        out.push(InvariantViolation::LastRecordRemoved {
            name: name.clone(),
            rtype: rtype.clone(),
        });
    }
}

/// A and AAAA of one key (name, set identifier) carry the same weight.
fn check_a_aaaa_agree(after: &ZoneSnapshot, name: &DnsName, out: &mut Vec<InvariantViolation>) {
    for a in after.weighted_group(name, &RecordType::A) {
        let aaaa_key = RrKey {
            name: name.clone(),
            rtype: RecordType::Aaaa,
            set_identifier: a.set_identifier.clone(),
        };
        if let Some(aaaa) = after.get(&aaaa_key) {
            push_if_unequal(a, aaaa, out);
        }
    }
}

/// Each weighted A/AAAA member of `host` and its TXT entries with the same set identifier
/// carry the same weight (docs/reference/external-dns.md §1 "TTL and routing fields": the TXT
/// copies the routing fields).
fn check_txt_weights(
    after: &ZoneSnapshot,
    host: &DnsName,
    txt_names: &[DnsName],
    out: &mut Vec<InvariantViolation>,
) {
    let members = [RecordType::A, RecordType::Aaaa]
        .into_iter()
        .flat_map(|t| {
            after
                .by_name_type(host, &t)
                .filter(|r| r.is_weighted())
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
    for member in &members {
        for txt_name in txt_names {
            if let Some(txt) = after.get(&txt_key(txt_name, member.set_identifier.clone())) {
                push_if_unequal(member, txt, out);
            }
        }
    }
}

fn txt_key(name: &DnsName, set_identifier: Option<SetIdentifier>) -> RrKey {
    RrKey {
        name: name.clone(),
        rtype: RecordType::Txt,
        set_identifier,
    }
}

fn push_if_unequal(record: &RecordSet, companion: &RecordSet, out: &mut Vec<InvariantViolation>) {
    if record.weight == companion.weight {
        return;
    }
    out.push(InvariantViolation::UnequalWeights {
        record: record.key(),
        record_weight: record.weight.unwrap_or(Weight::ZERO),
        companion: companion.key(),
        companion_weight: companion.weight.unwrap_or(Weight::ZERO),
    });
}

/// Registry TXT records (the touched ones whose value is an external-dns heritage value, and
/// every TXT at the names the scope lists) have TTL 300.
fn check_registry_ttls(
    after: &ZoneSnapshot,
    touched: &BTreeSet<&RrKey>,
    scope: &InvariantScope,
    out: &mut Vec<InvariantViolation>,
) {
    let listed: BTreeSet<&DnsName> = scope.registry_names.values().flatten().collect();
    let registry = after.iter().filter(|r| {
        r.rtype == RecordType::Txt
            && (listed.contains(&r.name) || (touched.contains(&r.key()) && is_heritage_txt(r)))
    });
    for record in registry {
        if record.ttl != Some(REGISTRY_TXT_TTL) {
            out.push(InvariantViolation::RegistryTtl {
                key: record.key(),
                ttl: record
                    .ttl
                    .map_or_else(|| "none".to_string(), |t| t.to_string()),
            });
        }
    }
}

/// A plain-text external-dns registry value starts with `heritage=external-dns`
/// (docs/reference/external-dns.md §1 "Value"). Only the first value is read, as external-dns does.
fn is_heritage_txt(record: &RecordSet) -> bool {
    let Some(first) = record.values.first() else {
        return false;
    };
    txt::parse(first)
        .map(|strings| strings.concat().starts_with(b"heritage=external-dns"))
        .unwrap_or(false)
}
