//! cutover's own invariants (PRODUCT.md §7), checked on every batch the planner emits, against
//! the zone as listed. A batch that breaks one is never handed to the engine. (The full Route53
//! rule set is the pre-send validator's job; this checks what cutover promises on top.)

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{Config, ServiceConfig};
use crate::registry::{self, TxtContent};
use crate::route53::model::{Action, ChangeBatch, RecordSet, RecordType, RrKey};

use super::{all_namings, names_of_interest};

/// Returns every broken invariant (empty: the batch is fine).
pub fn check(
    cfg: &Config,
    svc: &ServiceConfig,
    zone: &[RecordSet],
    batch: &ChangeBatch,
) -> Vec<String> {
    let mut out = Vec::new();
    let allowed: BTreeSet<String> = [&svc.from, &svc.to]
        .iter()
        .filter_map(|c| cfg.cluster(c).map(|c| c.owner_id.as_str().to_string()))
        .chain(std::iter::once(cfg.lease_owner_id.as_str().to_string()))
        .collect();
    let interest: BTreeSet<_> = names_of_interest(cfg, svc).into_iter().collect();
    let state_name = cfg.state_record_name(svc);
    let host = &svc.hostname;
    let namings = all_namings(cfg);

    let before: BTreeMap<RrKey, RecordSet> = zone.iter().map(|r| (r.key(), r.clone())).collect();
    let mut after = before.clone();
    let mut touched_sids: BTreeSet<Option<String>> = BTreeSet::new();
    let mut state_written = false;
    for c in &batch.changes {
        let r = &c.record;
        if !interest.contains(&r.name) {
            out.push(format!(
                "{} {} is not a name of service {}",
                c.action, r.name, svc.name
            ));
        }
        if Some(&r.name) == state_name.as_ref() {
            state_written = true;
        } else if r.rtype == RecordType::A
            || r.rtype == RecordType::Aaaa
            || r.rtype == RecordType::Txt
        {
            touched_sids.insert(r.set_identifier.as_ref().map(|s| s.to_string()));
        }
        match c.action {
            Action::Upsert => out.push(format!("UPSERT of {} gives no compare-and-swap", r.key())),
            Action::Delete => match after.remove(&r.key()) {
                None => out.push(format!("DELETE of {} which is not in the zone", r.key())),
                Some(cur) if &cur != r => out.push(format!(
                    "DELETE of {} does not carry the exact listed values",
                    r.key()
                )),
                Some(cur) => {
                    if let Some(o) = owner_of_deleted(&cur, zone, host, &namings) {
                        if !allowed.contains(&o) {
                            out.push(format!("{} is owned by {o:?}, not from/to/lease", r.key()));
                        }
                    }
                }
            },
            Action::Create => {
                if after.insert(r.key(), r.clone()).is_some() {
                    out.push(format!("CREATE of {} which already exists", r.key()));
                }
            }
        }
    }
    if !state_written {
        out.push("the state record is not written in the same batch".into());
    }
    let after_list: Vec<RecordSet> = after.values().cloned().collect();
    for rtype in [RecordType::A, RecordType::Aaaa] {
        let at = |m: &BTreeMap<RrKey, RecordSet>| -> Vec<RecordSet> {
            m.values()
                .filter(|r| &r.name == host && r.rtype == rtype)
                .cloned()
                .collect()
        };
        let (b, a) = (at(&before), at(&after));
        // §7.1: never the last record of a name/type.
        if !b.is_empty() && a.is_empty() {
            out.push(format!("{host} {rtype} would lose its last record"));
        }
        let weighted: Vec<&RecordSet> = a.iter().filter(|r| r.weight.is_some()).collect();
        if !weighted.is_empty()
            && weighted
                .iter()
                .all(|r| r.weight.map(|w| w.get()) == Some(0))
        {
            out.push(format!(
                "{host} {rtype}: every weight would be 0 (an even split, not off)"
            ));
        }
        if !weighted.is_empty() && weighted.len() != a.len() {
            out.push(format!(
                "{host} {rtype}: simple and weighted records together"
            ));
        }
    }
    // §7.4: A, AAAA and every registry TXT of a touched key carry the same weight; TXT TTL 300;
    // no record without its TXT and no TXT without its record.
    for sid_opt in &touched_sids {
        let records: Vec<&RecordSet> = after_list
            .iter()
            .filter(|r| {
                &r.name == host && (r.rtype == RecordType::A || r.rtype == RecordType::Aaaa)
            })
            .filter(|r| r.set_identifier.as_ref().map(|s| s.to_string()) == *sid_opt)
            .collect();
        let sid = records.first().and_then(|r| r.set_identifier.clone());
        let weights: BTreeSet<Option<u8>> =
            records.iter().map(|r| r.weight.map(|w| w.get())).collect();
        if weights.len() > 1 {
            out.push(format!("key {sid_opt:?}: A and AAAA weights differ"));
        }
        let txts: Vec<&RecordSet> = after_list
            .iter()
            .filter(|r| r.rtype == RecordType::Txt && Some(&r.name) != state_name.as_ref())
            .filter(|r| r.set_identifier.as_ref().map(|s| s.to_string()) == *sid_opt)
            .filter(|r| {
                r.values
                    .first()
                    .and_then(|v| registry::parse_txt_value(v).ok())
                    .is_some_and(|c| matches!(c, TxtContent::Labels(_)))
            })
            .collect();
        if records.is_empty() && !txts.is_empty() && sid_opt.is_some() {
            out.push(format!(
                "TXT registry entries of key {sid_opt:?} left without their record ({})",
                txts.iter()
                    .map(|t| t.name.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for r in &records {
            let entries =
                registry::entries_for_record(&after_list, host, &r.rtype, sid.as_ref(), &namings);
            if !entries
                .iter()
                .any(|e| matches!(e.content, TxtContent::Labels(_)))
            {
                out.push(format!("{} has no TXT registry entry", r.key()));
            }
            for e in entries {
                if e.record.weight != r.weight {
                    out.push(format!(
                        "TXT {} and its record {} differ in weight",
                        e.record.key(),
                        r.key()
                    ));
                }
                if e.record.ttl != Some(registry::TXT_TTL) {
                    out.push(format!("TXT {} is not TTL 300", e.record.key()));
                }
            }
        }
    }
    out
}

/// The owner of a record before it is deleted: its own labels for a registry TXT, the owner of
/// its registry entries for an A/AAAA.
fn owner_of_deleted(
    r: &RecordSet,
    zone: &[RecordSet],
    host: &crate::types::DnsName,
    namings: &[registry::TxtNaming],
) -> Option<String> {
    match r.rtype {
        RecordType::Txt => match registry::read_entry(r).content {
            TxtContent::Labels(l) => l.owner().map(str::to_string),
            _ => None,
        },
        RecordType::A | RecordType::Aaaa => {
            registry::entries_for_record(zone, host, &r.rtype, r.set_identifier.as_ref(), namings)
                .iter()
                .find_map(|e| e.owner().map(str::to_string))
        }
        _ => None,
    }
}
