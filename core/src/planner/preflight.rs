//! Refusals shared by both strategies before anything is written (docs/design.md §3.1 step 1, §3.2
//! step 1, §3.3, §7.3; docs/reference/external-dns.md §3, §5). Each names what is wrong and why.

use std::collections::BTreeSet;

use crate::registry::{self, RegistryEntry, TxtContent};
use crate::route53::model::{RecordSet, RecordType};
use crate::types::{Name, SetIdentifier};

use super::context::Ctx;
use super::facts::KeyRecords;
use crate::text::quoted;

/// Every shared check, in the order an operator fixes them.
pub(super) fn common(ctx: &Ctx, from: &Name, to: &Name) -> Result<(), String> {
    if let Some(why) = ctx.facts.unmanageable.first() {
        return Err(why.clone());
    }
    same_owner_id_in_config(ctx, from, to)?;
    mixed_routing(ctx)?;
    orphans(ctx)?;
    owners(ctx, from, to)?;
    same_owner_id_in_zone(ctx, from, to)?;
    encrypted(ctx)?;
    Ok(())
}

/// Two clusters with the same owner id overwrite and delete each other's records
/// (docs/reference/external-dns.md §3): refused. The config already refuses it; checked again here
/// so a hand-built config cannot slip through.
fn same_owner_id_in_config(ctx: &Ctx, from: &Name, to: &Name) -> Result<(), String> {
    let (Some(f), Some(t)) = (ctx.cluster(from), ctx.cluster(to)) else {
        return Err(format!("cluster {from} or {to} is not configured"));
    };
    if f.owner_id == t.owner_id {
        return Err(format!(
            "clusters {from} and {to} use the same external-dns owner id {}; their external-dns instances would overwrite and delete each other's records",
            quoted(f.owner_id.as_str())
        ));
    }
    Ok(())
}

/// "Never leave a simple and a weighted record at one name+type" (docs/reference/external-dns.md
/// §5); such a name fails one cluster's external-dns on every loop (docs/reference/external-dns.md
/// §3).
fn mixed_routing(ctx: &Ctx) -> Result<(), String> {
    let f = &ctx.facts;
    if !f.simple.is_empty() && f.is_weighted() {
        return Err(format!(
            "{} has simple and weighted A/AAAA records mixed at one name ({} simple, weighted keys {}); make both clusters agree on set identifiers first",
            ctx.svc.hostname,
            f.simple.records.len(),
            f.weighted.keys().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(())
}

/// "Never leave an A/AAAA record without its TXT, nor a TXT without its record (orphans make
/// the next creator inherit a foreign owner — external-dns issue #6617)"
/// (docs/reference/external-dns.md §5): refuse to start on such a zone.
fn orphans(ctx: &Ctx) -> Result<(), String> {
    let host = &ctx.svc.hostname;
    let namings = super::names::all_namings(ctx.cfg);
    let records = &ctx.view.records;
    let txt_names: BTreeSet<_> = registry::all_txt_names(host, &namings)
        .into_iter()
        .collect();
    // Every key (set identifier or none) that a record or a registry TXT names.
    let mut keys: BTreeSet<Option<SetIdentifier>> = BTreeSet::new();
    keys.insert(None);
    for r in records {
        let is_record = &r.name == host && matches!(r.rtype, RecordType::A | RecordType::Aaaa);
        let is_entry = r.rtype == RecordType::Txt && txt_names.contains(&r.name);
        if is_record || is_entry {
            keys.insert(r.set_identifier.clone());
        }
    }
    for sid in &keys {
        for rtype in [RecordType::A, RecordType::Aaaa] {
            let has_record = records.iter().any(|r| {
                &r.name == host && r.rtype == rtype && r.set_identifier.as_ref() == sid.as_ref()
            });
            let entries: Vec<RegistryEntry> =
                registry::entries_for_record(records, host, &rtype, sid.as_ref(), &namings)
                    .into_iter()
                    .filter(|e| e.content != TxtContent::Foreign)
                    .collect();
            let key = sid
                .as_ref()
                .map(|s| format!("set identifier {s}"))
                .unwrap_or_else(|| "no set identifier".into());
            if has_record && entries.is_empty() {
                return Err(format!(
                    "{host} {rtype} ({key}) has no external-dns TXT registry entry: nobody owns it, and cutover never touches a record without an owner"
                ));
            }
            if !has_record && !entries.is_empty() {
                return Err(format!(
                    "TXT registry entries {} ({key}) have no {rtype} record at {host}: an orphan makes the next creator inherit its owner (external-dns issue #6617); delete them by hand first",
                    entries.iter().map(|e| e.record.name.to_string()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// Every record of the hostname is owned by `from`, `to` or the lease owner id — nothing else
/// (docs/design.md §3.1 step 1, §3.3, §7.3; docs/reference/external-dns.md §1 "Ownership":
/// ownership is one exact string compare of the `owner` label). Encrypted entries count with their
/// decrypted owner.
fn owners(ctx: &Ctx, from: &Name, to: &Name) -> Result<(), String> {
    let allowed = allowed_owners(ctx, from, to);
    let from_sid = ctx.sid(from);
    let to_sid = ctx.sid(to);
    for (label, key) in ctx.facts.all_keys() {
        let owners = key.owners();
        if owners.is_empty() && !key.has_encrypted() {
            return Err(format!(
                "key {label} of {} has no external-dns TXT registry entry (not owned by {from}, {to} or {})",
                ctx.svc.hostname, ctx.lease
            ));
        }
        if let Some(other) = owners.iter().find(|o| !allowed.contains(*o)) {
            return Err(format!(
                "key {label} of {} is owned by {}, a third owner (not {from}, {to} or {}); cutover never touches it",
                ctx.svc.hostname, quoted(other), ctx.lease
            ));
        }
        if owners.len() > 1 {
            return Err(format!(
                "key {label} of {} has TXT registry entries naming different owners ({}): ownership is split between external-dns versions; make them agree first",
                ctx.svc.hostname,
                owners.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        let ours = label == "simple"
            || from_sid.as_ref().is_some_and(|s| s.as_str() == label)
            || to_sid.as_ref().is_some_and(|s| s.as_str() == label);
        if !ours {
            return Err(format!(
                "weighted key {label} of {} belongs to neither {from} nor {to}",
                ctx.svc.hostname
            ));
        }
    }
    Ok(())
}

pub(super) fn allowed_owners(ctx: &Ctx, from: &Name, to: &Name) -> BTreeSet<String> {
    [from, to]
        .iter()
        .filter_map(|c| ctx.cluster(c).map(|c| c.owner_id.as_str().to_string()))
        .chain(std::iter::once(ctx.lease.clone()))
        .collect()
}

/// The zone's view of "two clusters with the same owner id" (docs/reference/external-dns.md §3): a
/// key owned by one cluster's owner id whose alias points at the *other* cluster's load
/// balancer was written by that other cluster under a borrowed id.
fn same_owner_id_in_zone(ctx: &Ctx, from: &Name, to: &Name) -> Result<(), String> {
    let lbs = |c: &Name| -> BTreeSet<String> {
        ctx.claiming(c)
            .unwrap_or_default()
            .iter()
            .flat_map(|i| i.load_balancer_hostnames.iter())
            .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
            .collect()
    };
    for (owner_cluster, other) in [(from, to), (to, from)] {
        let Some(owner_id) = ctx.cluster(owner_cluster).map(|c| c.owner_id.as_str()) else {
            continue;
        };
        let theirs = lbs(other);
        let mine = lbs(owner_cluster);
        for (label, key) in ctx.facts.all_keys() {
            if !key.owners().contains(owner_id) {
                continue;
            }
            if let Some(target) =
                alias_targets(key).find(|t| theirs.contains(t) && !mine.contains(t))
            {
                return Err(format!(
                    "key {label} of {} is owned by {owner_cluster}'s owner id {q} but points at {other}'s load balancer {target}: {other}'s external-dns appears to run with the owner id {q} too; give each cluster its own --txt-owner-id",
                    ctx.svc.hostname,
                    q = quoted(owner_id)
                ));
            }
        }
    }
    Ok(())
}

fn alias_targets(key: &KeyRecords) -> impl Iterator<Item = String> + '_ {
    key.records
        .iter()
        .filter_map(|r: &RecordSet| r.alias.as_ref())
        .map(|a| {
            a.dns_name
                .as_str()
                .trim_end_matches('.')
                .to_ascii_lowercase()
        })
}

/// Encrypted entries are read, never rewritten: a value cutover writes cannot be byte-identical
/// to what Go's gzip makes, so external-dns's later exact DELETE would fail
/// (docs/reference/external-dns.md §1 "Encryption").
fn encrypted(ctx: &Ctx) -> Result<(), String> {
    for (label, key) in ctx.facts.all_keys() {
        let Some(e) = key
            .entries
            .iter()
            .find(|e| e.content == TxtContent::Encrypted)
        else {
            continue;
        };
        return Err(match e.owner() {
            Some(owner) => format!(
                "TXT {} of key {label} is encrypted (--txt-encrypt-enabled; owner {}): cutover reads encrypted owners but never rewrites them, because external-dns's later exact DELETE would not match; turn encryption off for this zone or migrate by hand",
                e.record.name,
                quoted(owner)
            ),
            None => format!(
                "TXT {} of key {label} is encrypted (--txt-encrypt-enabled) and no configured key opens it, so its owner is unknown; cutover never rewrites encrypted entries",
                e.record.name
            ),
        });
    }
    Ok(())
}
