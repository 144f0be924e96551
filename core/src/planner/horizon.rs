//! Split-horizon: a name that external-dns writes into several zones — every matching private
//! zone and the most specific public one (docs/reference/external-dns.md §5 "Mirror edits").
//! cutover decides once, on the records of one zone (the lead), and mirrors the edit into every
//! other zone of the name, each zone's batch atomic and compare-and-swapped on its own
//! (docs/design.md §8.1).
//!
//! Route53 has no batch across zones, so a failure between two zones' batches leaves them apart.
//! The zones then tell which is ahead: the state record written last. The next decision makes
//! every other zone hold exactly the lead's records (or rolls all back), and only then lets the
//! migration move again. A zone whose records differ in a way no write of cutover explains (a
//! third party's edit, external-dns not yet caught up) is never overwritten: it is reported and
//! the service holds (docs/design.md §7.9).

use std::collections::BTreeMap;

use crate::command::Command;
use crate::config::{Config, ServiceConfig};
use crate::registry::{self, EncryptionKey, TxtContent};
use crate::route53::model::{Action, Change, ChangeBatch, RecordSet, RecordType, RrKey};
use crate::state;
use crate::types::{DnsName, Millis};

use super::context::Ctx;
use super::decision::{Decision, DecisionKind};
pub use super::decision::{Standing, ZoneBatch};
use super::drift;
use super::view::ServiceView;

/// One zone of the name: its id and its records of the service's names of interest.
#[derive(Debug, Clone)]
pub struct ZoneRecords {
    pub zone_id: String,
    pub records: Vec<RecordSet>,
}

/// The zone a service is decided on: the one whose state record was written last (a zone
/// without one, or with an unreadable one, is the oldest). Ties go to the earliest zone in
/// `zones`' order.
pub fn lead(state_name: &DnsName, zones: &[ZoneRecords]) -> usize {
    let mut best: Option<(usize, Millis)> = None;
    for (i, zone) in zones.iter().enumerate() {
        let Some(at) = written_at(state_name, &zone.records) else {
            continue;
        };
        if best.is_none_or(|(_, b)| at > b) {
            best = Some((i, at));
        }
    }
    best.map(|(i, _)| i).unwrap_or(0)
}

fn written_at(state_name: &DnsName, records: &[RecordSet]) -> Option<Millis> {
    state::find(records, state_name)
        .and_then(|s| s.state.ok())
        .map(|st| st.at)
}

/// How `zone` stands against the lead's records, and why when it is not in step.
pub fn standing(
    cfg: &Config,
    svc: &ServiceConfig,
    lead: &[RecordSet],
    zone: &[RecordSet],
    keys: &[EncryptionKey],
) -> (Standing, Option<String>) {
    if same_records(lead, zone) {
        return (Standing::InStep, None);
    }
    let Some(state_name) = cfg.state_record_name(svc) else {
        return (Standing::Disagrees, Some("no state record name".into()));
    };
    let lead_state = state::find(lead, &state_name).and_then(|s| s.state.ok());
    let disagrees = |why: String| (Standing::Disagrees, Some(why));
    match (state::find(zone, &state_name).map(|s| s.state), lead_state) {
        (Some(Err(e)), _) => disagrees(format!("{e}")),
        (_, None) => disagrees(
            "the zones hold different records for the name and no migration explains it \
             (external-dns has not written every zone yet, or someone edited one)"
                .into(),
        ),
        (Some(Ok(own)), Some(lead)) if own.at >= lead.at => disagrees(format!(
            "it holds the lead's state record (written at {}) but other records: someone else \
             changed one of the zones",
            own.at
        )),
        (Some(Ok(own)), Some(_)) => {
            let drifted = drift_in(cfg, svc, zone, keys);
            if drifted.is_empty() {
                (
                    Standing::Lagging,
                    Some(format!(
                        "its state record is older (written at {}, phase {}, {} on {})",
                        own.at, own.phase, own.percent, own.to
                    )),
                )
            } else {
                disagrees(format!("drift — {}", drifted.join("; ")))
            }
        }
        (None, Some(lead)) => {
            if holds_parked(zone, cfg.lease_owner_id.as_str()) {
                disagrees(format!(
                    "it holds records parked under {} but no state record",
                    cfg.lease_owner_id
                ))
            } else {
                (
                    Standing::Lagging,
                    Some(format!(
                        "it has no state record yet (the lead's: phase {}, {} on {})",
                        lead.phase, lead.percent, lead.to
                    )),
                )
            }
        }
    }
}

/// Drift in one zone: its records differ from what its own state record says cutover last wrote
/// there (docs/design.md §7.9). Empty when nothing is managed (no active migration).
fn drift_in(
    cfg: &Config,
    svc: &ServiceConfig,
    records: &[RecordSet],
    keys: &[EncryptionKey],
) -> Vec<String> {
    let view = ServiceView {
        records: records.to_vec(),
        ..ServiceView::default()
    };
    let cmd = Command::tick("cutover");
    let Some(ctx) = Ctx::read(cfg, svc, &view, &cmd, 0, keys) else {
        return Vec::new();
    };
    let Some(Ok(st)) = ctx.stored.as_ref().map(|s| &s.state) else {
        return Vec::new();
    };
    if !st.phase.is_active() {
        return Vec::new();
    }
    if st.written.owners.contains_key(drift::SIMPLE_KEY) {
        drift::simple_key(&ctx, st)
    } else {
        drift::weighted(&ctx, st)
    }
}

/// Whether any TXT registry entry of the zone names `lease` as owner (records cutover parked).
fn holds_parked(records: &[RecordSet], lease: &str) -> bool {
    records
        .iter()
        .filter(|r| r.rtype == RecordType::Txt)
        .filter_map(|r| registry::parse_value(r.values.first()?).ok())
        .any(|content| matches!(content, TxtContent::Labels(labels) if labels.owner() == Some(lease)))
}

/// Whether two zones hold the same record sets (values compared as sets, as Route53 does).
pub fn same_records(a: &[RecordSet], b: &[RecordSet]) -> bool {
    normalised(a) == normalised(b)
}

fn normalised(records: &[RecordSet]) -> BTreeMap<RrKey, RecordSet> {
    records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.values.sort();
            (r.key(), r)
        })
        .collect()
}

/// The batch that makes a zone holding `zone` hold exactly `target`: each record set that
/// differs is deleted exactly as listed (the compare-and-swap) and created as the target holds
/// it. `None` when they already agree.
pub fn converge(target: &[RecordSet], zone: &[RecordSet], comment: &str) -> Option<ChangeBatch> {
    let want = normalised(target);
    let have = normalised(zone);
    let mut changes = Vec::new();
    for (key, record) in &have {
        if want.get(key) != Some(record) {
            if let Some(listed) = zone.iter().find(|r| &r.key() == key) {
                changes.push(Change {
                    action: Action::Delete,
                    record: listed.clone(),
                });
            }
        }
    }
    for (key, record) in &want {
        if have.get(key) != Some(record) {
            if let Some(original) = target.iter().find(|r| &r.key() == key) {
                changes.push(Change {
                    action: Action::Create,
                    record: original.clone(),
                });
            }
        }
    }
    (!changes.is_empty()).then(|| ChangeBatch {
        comment: Some(comment.to_string()),
        changes,
    })
}

/// `records` as they are once `batch` is applied (as Route53 applies an accepted batch).
pub fn after(records: &[RecordSet], batch: Option<&ChangeBatch>) -> Vec<RecordSet> {
    let mut by_key: BTreeMap<RrKey, RecordSet> =
        records.iter().map(|r| (r.key(), r.clone())).collect();
    for change in batch.iter().flat_map(|b| b.changes.iter()) {
        match change.action {
            Action::Create | Action::Upsert => {
                by_key.insert(change.record.key(), change.record.clone());
            }
            Action::Delete => {
                by_key.remove(&change.record.key());
            }
        }
    }
    by_key.into_values().collect()
}

/// Mirrors `decision`, taken on `zones[lead]`, into every zone of the name (docs/design.md
/// §8.1):
/// - a zone in step gets the decision's batch as it is;
/// - a lagging zone is converged to the lead's records — as they are after the batch when the
///   decision is a rollback (a rollback never waits), and otherwise the lead holds still this
///   time: nothing moves until every zone holds the same state;
/// - a zone that disagrees is left as it is, the decision holds (a rollback still goes on in
///   the other zones), and the alert names the zone and why.
pub fn mirror(
    cfg: &Config,
    svc: &ServiceConfig,
    zones: &[ZoneRecords],
    lead: usize,
    mut decision: Decision,
    keys: &[EncryptionKey],
) -> Decision {
    let Some(lead_zone) = zones.get(lead) else {
        return decision;
    };
    let rollback = decision.kind == DecisionKind::Rollback;
    let mut parts: Vec<ZoneBatch> = Vec::new();
    for (i, zone) in zones.iter().enumerate() {
        let (standing, why) = if i == lead {
            (Standing::Lead, None)
        } else {
            standing(cfg, svc, &lead_zone.records, &zone.records, keys)
        };
        parts.push(ZoneBatch {
            zone_id: zone.zone_id.clone(),
            standing,
            why,
            batch: None,
        });
    }
    let lagging = parts.iter().any(|p| p.standing == Standing::Lagging);
    let disagreeing: Vec<String> = parts
        .iter()
        .filter(|p| p.standing == Standing::Disagrees)
        .map(|p| {
            format!(
                "zone {} disagrees: {}",
                p.zone_id,
                p.why.clone().unwrap_or_default()
            )
        })
        .collect();

    if !rollback && lagging {
        // The migration does not move while its zones are apart: the lead holds still, the
        // lagging zones are brought to it.
        let mut held = Decision::new(
            svc,
            DecisionKind::Converge,
            format!(
                "converging: {} behind zone {} (a batch between zones failed); the migration \
                 goes on once every zone holds the same state (meanwhile: {})",
                lagging_list(&parts),
                lead_zone.zone_id,
                decision.summary
            ),
        );
        keep_observations(&mut held, &decision);
        decision = held;
    } else if !rollback && decision.batch.is_some() && !disagreeing.is_empty() {
        let mut held = Decision::new(
            svc,
            DecisionKind::Hold,
            format!("hold: {}", disagreeing.join("; ")),
        );
        keep_observations(&mut held, &decision);
        decision = held;
    }
    let lead_after = after(&lead_zone.records, decision.batch.as_ref());
    let comment = format!(
        "cutover: {} {} (mirrored from zone {})",
        svc.name, decision.kind, lead_zone.zone_id
    );
    for part in &mut parts {
        part.batch = match part.standing {
            Standing::Lead | Standing::InStep => decision.batch.clone(),
            Standing::Lagging => {
                let zone = zones.iter().find(|z| z.zone_id == part.zone_id);
                zone.and_then(|z| converge(&lead_after, &z.records, &comment))
            }
            Standing::Disagrees => None,
        };
    }
    for alert in &disagreeing {
        decision.alerts.push(format!(
            "{alert}; cutover never overwrites it: make the zones agree by hand (or `rollback`)"
        ));
    }
    decision.zone_id = lead_zone.zone_id.clone();
    decision.zones = parts;
    decision
}

/// What a held decision still reports of the one it replaces: the split, owners, health,
/// traffic and alerts — it writes nothing.
fn keep_observations(held: &mut Decision, decision: &Decision) {
    held.weights_before = decision.weights_before;
    held.weights_after = decision.weights_before;
    held.owners = decision.owners.clone();
    held.health = decision.health.clone();
    held.traffic = decision.traffic.clone();
    held.analysis = decision.analysis.clone();
    held.last_written = decision.last_written;
    held.alerts = decision.alerts.clone();
}

fn lagging_list(parts: &[ZoneBatch]) -> String {
    let ids: Vec<&str> = parts
        .iter()
        .filter(|p| p.standing == Standing::Lagging)
        .map(|p| p.zone_id.as_str())
        .collect();
    match ids.as_slice() {
        [one] => format!("zone {one} is"),
        many => format!("zones {} are", many.join(", ")),
    }
}
