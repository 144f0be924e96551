//! cutover's own invariants (docs/design.md §7), checked on every batch the planner emits, against
//! the zone as listed. A batch that breaks one is never handed to the engine. (The full Route53
//! rule set is the pre-send validator's job; the zone invariants both share come from
//! `route53::validate::check_invariants`; this adds what only cutover promises.)

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{Config, ServiceConfig};
use crate::registry::{self, TxtContent};
use crate::route53::model::{Action, ChangeBatch, RecordSet, RecordType, RrKey};
use crate::route53::validate::{check_invariants, InvariantScope};
use crate::route53::zone::ZoneSnapshot;

use super::names::{all_namings, names_of_interest};
use crate::text::{quoted, quoted_or_none};

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
                            out.push(format!(
                                "{} is owned by {}, not from/to/lease",
                                r.key(),
                                quoted(&o)
                            ));
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
    // docs/design.md §7.1 (last record, all weights 0) and docs/design.md §7.4 (A/AAAA and their
    // TXTs carry one weight, TXT TTL 300): the rules the pre-send validator also checks, from the
    // one implementation.
    let zone_name = cfg
        .zone(&svc.zone_id)
        .map(|z| z.name.clone())
        .unwrap_or_else(|| host.clone());
    let touches_host = batch.changes.iter().any(|c| {
        &c.record.name == host
            || interest.contains(&c.record.name) && Some(&c.record.name) != state_name.as_ref()
    });
    let mut scope = InvariantScope::default();
    if touches_host {
        let txt_names = registry::all_txt_names(host, &namings);
        // A registry TXT name may lose its last entry with its record, or when a rollback
        // removes a variant the switch added; docs/design.md §7.1 is about the hostname's answers
        // (checked below for A/AAAA, since the old-format TXT name is the hostname itself), and a
        // TXT without its record is checked below too.
        scope.may_empty = txt_names.iter().cloned().collect();
        scope.registry_names.insert(host.clone(), txt_names);
    }
    out.extend(
        check_invariants(
            &ZoneSnapshot {
                zone_name: zone_name.clone(),
                records: before.clone(),
            },
            &ZoneSnapshot {
                zone_name,
                records: after.clone(),
            },
            &scope,
        )
        .into_iter()
        .map(|v| v.to_string()),
    );
    // Route53 refuses a simple and a weighted record at one name+type; cutover never leaves one.
    for rtype in [RecordType::A, RecordType::Aaaa] {
        let at: Vec<&RecordSet> = after
            .values()
            .filter(|r| &r.name == host && r.rtype == rtype)
            .collect();
        // docs/design.md §7.1 for the hostname itself: `may_empty` above names the old-format
        // registry TXT, which shares the hostname, so its answers are checked here.
        let had = before.values().any(|r| &r.name == host && r.rtype == rtype);
        if had && at.is_empty() {
            out.push(format!("{host} {rtype} would lose its last record"));
        }
        let weighted = at.iter().filter(|r| r.weight.is_some()).count();
        if weighted > 0 && weighted != at.len() {
            out.push(format!(
                "{host} {rtype}: simple and weighted records together"
            ));
        }
    }
    // docs/design.md §7.4: no record without its TXT and no TXT without its record.
    for sid_opt in &touched_sids {
        let records: Vec<&RecordSet> = after_list
            .iter()
            .filter(|r| {
                &r.name == host && (r.rtype == RecordType::A || r.rtype == RecordType::Aaaa)
            })
            .filter(|r| r.set_identifier.as_ref().map(|s| s.to_string()) == *sid_opt)
            .collect();
        let sid = records.first().and_then(|r| r.set_identifier.clone());
        let txts: Vec<&RecordSet> = after_list
            .iter()
            .filter(|r| r.rtype == RecordType::Txt && Some(&r.name) != state_name.as_ref())
            .filter(|r| r.set_identifier.as_ref().map(|s| s.to_string()) == *sid_opt)
            .filter(|r| {
                r.values
                    .first()
                    .and_then(|v| registry::parse_value(v).ok())
                    .is_some_and(|c| matches!(c, TxtContent::Labels(_)))
            })
            .collect();
        if records.is_empty() && !txts.is_empty() && sid_opt.is_some() {
            out.push(format!(
                "TXT registry entries of key {} left without their record ({})",
                quoted_or_none(sid_opt.as_deref()),
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
