//! APPLY: every batch validated against every Route53 rule before it is sent, packed per zone into
//! as few requests as the limits allow, sent; a refused packed request is split per service so
//! one bad service never blocks the rest; a lost compare-and-swap goes back to be re-planned.
//!
//! Sending keeps to the invocation's deadline: transient errors are retried with backoff until
//! the time left is used up; a change whose answer was lost (no answer, a 5xx, an unreadable
//! reply) is checked against the zone before anything else, so a change that went through is
//! never reported as refused; rollbacks go first and keep trying closer to the deadline; and a
//! request that cannot be sent in the time left is not started — its services are reported as
//! deferred, and the next tick sends them.

use std::collections::BTreeMap;
use std::time::Duration;

use cutover_core::changes::{self, Changes};
use cutover_core::config::ServiceConfig;
use cutover_core::planner::{self, Decision, DecisionKind};
use cutover_core::route53::model::{
    Action, Change, ChangeBatch, ChangeInfo, ChangeStatus, RecordSet, RecordType,
};
use cutover_core::route53::pack::pack;
use cutover_core::route53::validate::{batch_cost, validate_batch, Limits};
use cutover_core::route53::zone::ZoneSnapshot;
use cutover_core::types::{DnsName, Name};

use super::observe::Observations;
use super::retry::{backoff, with_retries, Deadline, Priority};
use super::Context;
use crate::observe::route53::Route53Error;
use crate::report::{ServiceReport, ZoneResult};

/// The least time worth starting a request in: one request under the client-side rate limit,
/// plus its answer.
const SEND_BUDGET: Duration = Duration::from_secs(2);

pub(super) enum Settled {
    Done(Box<ServiceReport>),
    /// The compare-and-swap lost: re-observe and re-plan.
    Conflict(Box<Decision>, Vec<String>),
}

/// The requests of this invocation that carried a change tagged with its tag, per zone: their
/// ids go into the zone's change record, in one write per zone (docs/state-record.md "Change
/// ids").
#[derive(Default)]
pub(super) struct Tagged {
    zones: BTreeMap<String, TaggedZone>,
}

#[derive(Default)]
struct TaggedZone {
    ids: Vec<String>,
    /// A request's answer was lost (the zone shows it applied): its id is unknown, so no entry is
    /// written for the tag, and its services fall back to the INSYNC assumption.
    lost: bool,
    services: Vec<Name>,
}

impl Tagged {
    fn note(&mut self, zone_id: &str, info: Option<&ChangeInfo>, services: Vec<Name>) {
        if services.is_empty() {
            return;
        }
        let zone = self.zones.entry(zone_id.to_string()).or_default();
        match info {
            Some(info) if !zone.ids.contains(&info.id) => zone.ids.push(info.id.clone()),
            Some(_) => {}
            None => zone.lost = true,
        }
        zone.services.extend(services);
    }
}

/// Validates every batch before sending, packs per zone, sends, splits per service on failure.
/// A split-horizon name's zones are sent in rounds, in the order of its `zones` (private zones
/// first): a zone's batch goes only once the zones before it took theirs — except a rollback's,
/// which goes to every zone whatever became of the others (docs/design.md §8.1).
pub(super) async fn apply<'c>(
    ctx: &Context,
    deadline: Deadline,
    decisions: Vec<(Decision, &'c ServiceConfig)>,
    obs: &Observations,
    attempt: u32,
    tagged: &mut Tagged,
) -> Vec<(&'c ServiceConfig, Settled)> {
    let mut outcomes = Vec::new();
    let mut mirrored: Vec<(Decision, &'c ServiceConfig)> = Vec::new();
    let mut round: Vec<(Decision, &'c ServiceConfig, String)> = Vec::new();
    for (decision, svc) in decisions {
        if decision.zones.is_empty() {
            let zone = svc.zone_id.clone();
            round.push((decision, svc, zone));
        } else {
            mirrored.push((decision, svc));
        }
    }
    // Round 0 sends every one-zone service and the first zone of every split-horizon one.
    let mut results: BTreeMap<Name, Vec<(String, Settled)>> = BTreeMap::new();
    let mut rank = 0;
    loop {
        for (decision, svc) in &mirrored {
            let earlier: &[(String, Settled)] =
                results.get(&svc.name).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(part) = zone_part(decision, rank, earlier) {
                round.push((part.0, svc, part.1));
            }
        }
        if round.is_empty()
            && rank
                >= mirrored
                    .iter()
                    .map(|(d, _)| d.zones.len())
                    .max()
                    .unwrap_or(0)
        {
            break;
        }
        for (svc, zone, settled) in send_round(
            ctx,
            deadline,
            std::mem::take(&mut round),
            obs,
            attempt,
            tagged,
        )
        .await
        {
            if mirrored.iter().any(|(_, s)| s.name == svc.name) {
                results
                    .entry(svc.name.clone())
                    .or_default()
                    .push((zone, settled));
            } else {
                outcomes.push((svc, settled));
            }
        }
        rank += 1;
    }
    for (decision, svc) in mirrored {
        let parts = results.remove(&svc.name).unwrap_or_default();
        outcomes.push((svc, combine(decision, parts, attempt)));
    }
    outcomes
}

/// The decision for one zone of a split-horizon name (`rank` in its order), and the zone, when
/// that zone has a batch to send now: the zones before it took theirs, or it is a rollback.
fn zone_part(
    decision: &Decision,
    rank: usize,
    earlier: &[(String, Settled)],
) -> Option<(Decision, String)> {
    let part = decision.zones.get(rank)?;
    let batch = part.batch.clone().filter(|b| !b.changes.is_empty())?;
    let rollback = decision.kind == DecisionKind::Rollback;
    let all_applied = earlier
        .iter()
        .all(|(_, s)| matches!(s, Settled::Done(r) if r.applied));
    if !rollback && !all_applied {
        return None;
    }
    let mut one = decision.clone();
    one.batch = Some(batch);
    one.zones = Vec::new();
    one.zone_id = part.zone_id.clone();
    Some((one, part.zone_id.clone()))
}

/// One report for a split-horizon service from what became of each of its zones: a lost
/// compare-and-swap in any zone re-plans the service (the next plan sees the zones apart and
/// converges them); otherwise the report says, zone by zone, what was applied.
fn combine(decision: Decision, parts: Vec<(String, Settled)>, attempt: u32) -> Settled {
    let mut report = ServiceReport::unapplied(decision, attempt);
    let mut conflict: Option<Vec<String>> = None;
    for (zone_id, settled) in parts {
        match settled {
            Settled::Conflict(_, messages) => {
                report.zone_results.push(ZoneResult {
                    zone_id: zone_id.clone(),
                    applied: false,
                    change_id: None,
                    error: Some(format!(
                        "the zone changed since it was listed: {}",
                        messages.join("; ")
                    )),
                });
                conflict.get_or_insert_with(Vec::new).extend(messages);
            }
            Settled::Done(r) => {
                report.deferred |= r.deferred;
                report.transient |= r.transient;
                if report.change_id.is_none() && zone_id == report.decision.zone_id {
                    report.change_id = r.change_id.clone();
                }
                report.zone_results.push(ZoneResult {
                    zone_id,
                    applied: r.applied,
                    change_id: r.change_id,
                    error: r.error,
                });
            }
        }
    }
    let sent: Vec<&ZoneResult> = report.zone_results.iter().collect();
    let with_batch = report
        .decision
        .zones
        .iter()
        .filter(|z| z.batch.as_ref().is_some_and(|b| !b.changes.is_empty()))
        .count();
    report.applied = with_batch > 0 && sent.len() == with_batch && sent.iter().all(|z| z.applied);
    let unsent: Vec<String> = report
        .decision
        .zones
        .iter()
        .filter(|z| z.batch.as_ref().is_some_and(|b| !b.changes.is_empty()))
        .filter(|z| !report.zone_results.iter().any(|r| r.zone_id == z.zone_id))
        .map(|z| z.zone_id.clone())
        .collect();
    let mut errors: Vec<String> = report
        .zone_results
        .iter()
        .filter_map(|z| z.error.as_ref().map(|e| format!("zone {}: {e}", z.zone_id)))
        .collect();
    if !unsent.is_empty() {
        errors.push(format!(
            "not sent to zone {} because an earlier zone's batch did not go through; the next \
             tick converges the zones",
            unsent.join(", ")
        ));
        report.transient = true;
    }
    if !errors.is_empty() {
        report.error = Some(errors.join("; "));
    }
    match conflict {
        Some(messages) => Settled::Conflict(Box::new(report.decision), messages),
        None => Settled::Done(Box::new(report)),
    }
}

/// One round of sends: every batch validated, packed per zone, sent; each result with its zone.
async fn send_round<'c>(
    ctx: &Context,
    deadline: Deadline,
    items: Vec<(Decision, &'c ServiceConfig, String)>,
    obs: &Observations,
    attempt: u32,
    tagged: &mut Tagged,
) -> Vec<(&'c ServiceConfig, String, Settled)> {
    let carries_tag =
        |d: &Decision, s: &ServiceConfig| planner::carries_change_tag(&ctx.config, s, d, obs.tag());
    let mut outcomes = Vec::new();
    let mut per_zone: BTreeMap<String, Vec<(Decision, &'c ServiceConfig)>> = BTreeMap::new();
    for (decision, svc, zone_id) in items {
        let Some(batch) = decision.batch.as_ref().filter(|b| !b.changes.is_empty()) else {
            outcomes.push((
                svc,
                zone_id,
                Settled::Done(Box::new(ServiceReport::unapplied(decision, attempt))),
            ));
            continue;
        };
        // Invariant 2: every batch sent is valid under every rule, checked before sending.
        if let Err(reason) = prevalidate(&zone_id, obs, batch) {
            let mut r = ServiceReport::unapplied(decision, attempt);
            tracing::error!(service = %svc.name, %reason, "pre-send validation failed");
            r.error = Some(format!(
                "refused to send an invalid batch (nothing was changed): {reason}"
            ));
            outcomes.push((svc, zone_id, Settled::Done(Box::new(r))));
            continue;
        }
        per_zone.entry(zone_id).or_default().push((decision, svc));
    }

    for (zone_id, items) in per_zone {
        // Rollbacks first, then the services written longest ago (a service deferred by the
        // last tick was not written, so it goes before those that were).
        let mut items = items;
        items.sort_by_key(|(d, s)| (priority_of(d), d.last_written, s.name.clone()));
        let order: Vec<Name> = items.iter().map(|(_, s)| s.name.clone()).collect();
        let mut by_name: BTreeMap<Name, (Decision, &'c ServiceConfig)> = items
            .into_iter()
            .map(|(d, s)| (s.name.clone(), (d, s)))
            .collect();
        // The batches move into the packing and come back from it per request (`restore`), so
        // a fleet's changes are not held twice while they are sent (docs/design.md §10). One that
        // the limits refuse stays with its decision, for the report.
        let limits = Limits::default();
        let packing = pack(
            order
                .iter()
                .filter_map(|name| {
                    let (d, _) = by_name.get_mut(name)?;
                    let batch = match &d.batch {
                        Some(b) if batch_cost(b).fits(&limits) => d.batch.take(),
                        other => other.clone(),
                    };
                    batch.map(|b| (name.clone(), b))
                })
                .collect(),
            limits,
        );
        for refused in packing.refused {
            if let Some((d, s)) = by_name.remove(refused.service()) {
                let mut r = ServiceReport::unapplied(d, attempt);
                r.error = Some(refused.to_string());
                outcomes.push((s, zone_id.clone(), Settled::Done(Box::new(r))));
            }
        }
        let mut groups = packing.packed;
        groups.sort_by_key(|g| {
            g.services()
                .filter_map(|n| by_name.get(n))
                .map(|(d, _)| priority_of(d))
                .min()
                .unwrap_or(Priority::Normal)
        });
        for group in groups {
            let members: Vec<Name> = group.services().cloned().collect();
            for (name, batch) in group.split() {
                if let Some((d, _)) = by_name.get_mut(&name) {
                    d.batch = Some(batch);
                }
            }
            let priority = members
                .iter()
                .filter_map(|n| by_name.get(n))
                .map(|(d, _)| priority_of(d))
                .min()
                .unwrap_or(Priority::Normal);
            match send(ctx, deadline, priority, &zone_id, &group.batch).await {
                Sent::Applied(info) => {
                    let carrying: Vec<Name> = members
                        .iter()
                        .filter(|n| by_name.get(*n).is_some_and(|(d, s)| carries_tag(d, s)))
                        .cloned()
                        .collect();
                    tagged.note(&zone_id, info.as_ref(), carrying);
                    for name in members {
                        if let Some((d, s)) = by_name.remove(&name) {
                            outcomes.push((
                                s,
                                zone_id.clone(),
                                after_applied(d, info.as_ref(), attempt),
                            ));
                        }
                    }
                }
                Sent::Deferred => {
                    for name in members {
                        if let Some((d, s)) = by_name.remove(&name) {
                            outcomes.push((s, zone_id.clone(), deferred(d, attempt)));
                        }
                    }
                }
                Sent::Failed(e) if members.len() > 1 && !e.is_transient() => {
                    // One bad service never blocks the rest: send each on its own.
                    tracing::warn!(zone = %zone_id, error = %e, "packed batch refused; splitting per service");
                    for name in members {
                        if let Some((d, s)) = by_name.remove(&name) {
                            let carries = carries_tag(&d, s);
                            let outcome = send_one(ctx, deadline, d, &zone_id, attempt).await;
                            if let (true, Settled::Done(r)) = (carries, &outcome) {
                                if r.applied {
                                    let info = r.change_id.clone().map(|id| ChangeInfo {
                                        id,
                                        status: ChangeStatus::Pending,
                                    });
                                    tagged.note(&zone_id, info.as_ref(), vec![s.name.clone()]);
                                }
                            }
                            outcomes.push((s, zone_id.clone(), outcome));
                        }
                    }
                }
                Sent::Failed(e) => {
                    for name in members {
                        if let Some((d, s)) = by_name.remove(&name) {
                            outcomes.push((s, zone_id.clone(), failure(d, e.clone(), attempt)));
                        }
                    }
                }
            }
        }
    }
    outcomes
}

/// A rollback's batch goes first and may use time closer to the deadline.
fn priority_of(d: &Decision) -> Priority {
    if d.kind == DecisionKind::Rollback {
        Priority::Rollback
    } else {
        Priority::Normal
    }
}

/// What became of one request.
enum Sent {
    /// Route53 accepted it. `None`: the answer was lost, but the zone shows the batch applied.
    Applied(Option<ChangeInfo>),
    /// Not started: too little time left.
    Deferred,
    Failed(Route53Error),
}

/// Sends one request, retrying transient errors within the deadline. A change whose answer was
/// lost may have been applied: the zone is read again, and if it shows every record the batch
/// creates (and none it deletes), the change counts as applied — its id unknown, so the INSYNC
/// gate waits its fallback (docs/design.md §3.1 step 2a).
async fn send(
    ctx: &Context,
    deadline: Deadline,
    priority: Priority,
    zone_id: &str,
    batch: &ChangeBatch,
) -> Sent {
    if deadline.left_for(priority) < SEND_BUDGET {
        return Sent::Deferred;
    }
    let mut tries = 0u32;
    loop {
        let error = match ctx.route53.change(zone_id, batch).await {
            Ok(info) => return Sent::Applied(Some(info)),
            Err(e) => e,
        };
        if error.change_may_have_applied() {
            let listed =
                with_retries(deadline, priority, || ctx.route53.list_records(zone_id)).await;
            match listed.result {
                Ok(records) if applied_in(&records, batch) => {
                    tracing::warn!(zone = %zone_id, error = %error, "the answer was lost but the zone shows the change applied");
                    return Sent::Applied(None);
                }
                Ok(_) => {}
                // Not knowing is not "refused": report the transient error.
                Err(list_error) => {
                    tracing::warn!(zone = %zone_id, error = %list_error, "cannot re-read the zone after a lost answer");
                    return Sent::Failed(error);
                }
            }
        }
        if !error.is_transient() {
            return Sent::Failed(error);
        }
        let pause = backoff(tries);
        tries += 1;
        if pause + SEND_BUDGET > deadline.left_for(priority) {
            return Sent::Failed(error);
        }
        tracing::info!(zone = %zone_id, error = %error, tries, "transient Route53 error on a change; retrying");
        tokio::time::sleep(pause).await;
    }
}

/// Whether `records` (a fresh listing) show `batch` applied: every record it creates is there
/// exactly, and every record it deletes and does not create again is gone.
fn applied_in(records: &[RecordSet], batch: &ChangeBatch) -> bool {
    let created: Vec<&RecordSet> = batch
        .changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .map(|c| &c.record)
        .collect();
    let creates_present = created.iter().all(|r| records.contains(r));
    let deletes_gone = batch
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .filter(|c| !created.iter().any(|r| r.key() == c.record.key()))
        .all(|c| !records.iter().any(|r| r.key() == c.record.key()));
    creates_present && deletes_gone
}

/// A service whose request was not started for want of time.
fn deferred(decision: Decision, attempt: u32) -> Settled {
    let mut r = ServiceReport::unapplied(decision, attempt);
    r.deferred = true;
    r.transient = true;
    r.error = Some(
        "deferred: the invocation's time ran out before this change was sent; nothing was \
         written, and the next tick sends it first"
            .into(),
    );
    Settled::Done(Box::new(r))
}

fn prevalidate(zone_id: &str, obs: &Observations, batch: &ChangeBatch) -> Result<(), String> {
    let snapshot = match obs.zones.get(zone_id) {
        Some(Ok(view)) => match view.snapshot() {
            Ok(snapshot) => snapshot,
            Err(e) => return Err(format!("zone {zone_id}: {e}")),
        },
        Some(Err(e)) => return Err(e.clone()),
        None => return Err(format!("zone {zone_id} was not listed")),
    };
    validate_batch(snapshot, batch).map_err(|violations| {
        violations
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

async fn send_one(
    ctx: &Context,
    deadline: Deadline,
    decision: Decision,
    zone_id: &str,
    attempt: u32,
) -> Settled {
    let Some(batch) = decision.batch.clone() else {
        return Settled::Done(Box::new(ServiceReport::unapplied(decision, attempt)));
    };
    match send(ctx, deadline, priority_of(&decision), zone_id, &batch).await {
        Sent::Applied(info) => after_applied(decision, info.as_ref(), attempt),
        Sent::Deferred => deferred(decision, attempt),
        Sent::Failed(e) => failure(decision, e, attempt),
    }
}

/// Route53 accepted the batch (`info` is `None` when its answer was lost but the zone shows it).
fn after_applied(decision: Decision, info: Option<&ChangeInfo>, attempt: u32) -> Settled {
    let change_id = info.map(|i| i.id.clone());
    tracing::info!(service = %decision.service, change_id = change_id.as_deref().unwrap_or("unknown (answer lost)"), "batch applied");
    let mut r = ServiceReport::unapplied(decision, attempt);
    r.applied = true;
    r.change_id = change_id;
    if info.is_none() {
        r.error = Some(
            "applied (the zone shows it), but Route53's answer was lost: the change id is \
             unknown, so the INSYNC gate waits its fallback"
                .into(),
        );
    }
    Settled::Done(Box::new(r))
}

/// Records the ids of this invocation's requests in each zone's change record, under `tag`: one
/// compare-and-swap per zone, whatever the number of services and requests (docs/state-record.md
/// "Change ids"). `listed`: each zone's change record as last listed. A lost race with another
/// invocation re-reads the record and joins both. Returns, per service whose ids could not be
/// recorded, why: its INSYNC gate falls back to its assumption.
pub(super) async fn record_changes(
    ctx: &Context,
    deadline: Deadline,
    tag: &str,
    tagged: Tagged,
    listed: &BTreeMap<String, Option<RecordSet>>,
) -> BTreeMap<Name, String> {
    let mut failed = BTreeMap::new();
    for (zone_id, zone) in tagged.zones {
        let outcome = if zone.lost {
            Err("a request's answer was lost, so its change id is unknown".to_string())
        } else {
            let current = listed.get(&zone_id).cloned().flatten();
            write_change_record(ctx, deadline, tag, &zone_id, &zone.ids, current).await
        };
        if let Err(e) = outcome {
            tracing::warn!(zone = %zone_id, error = %e, "recording change ids failed");
            for service in zone.services {
                failed.insert(service, e.clone());
            }
        }
    }
    failed
}

async fn write_change_record(
    ctx: &Context,
    deadline: Deadline,
    tag: &str,
    zone_id: &str,
    ids: &[String],
    current: Option<RecordSet>,
) -> Result<(), String> {
    let cfg = &ctx.config;
    let zone_name = cfg
        .zone(zone_id)
        .map(|z| z.name.clone())
        .ok_or_else(|| format!("zone {zone_id} is not configured"))?;
    let name = changes::record_name(&cfg.state_record_prefix, &zone_name)
        .ok_or_else(|| "the change record's name is not a valid DNS name".to_string())?;
    let comment = format!("cutover: the change ids of {tag}");
    write_own_record(ctx, deadline, zone_id, &name, current, &comment, |listed| {
        let now = ctx.clock.now_millis();
        let mut record = listed
            .and_then(|r| Changes::decode(&name, r).ok())
            .unwrap_or_default();
        record.record(tag, now, ids, now);
        record.to_record(&name).map_err(|e| e.to_string())
    })
    .await
}

/// Writes one of cutover's own records of a zone (the change record, the waves record) with a
/// compare-and-swap: DELETE `current` exactly as listed + CREATE what `build` makes of it. A
/// lost race (another invocation wrote it since the listing) reads the zone again and builds
/// anew, `cas_retries` times.
pub(super) async fn write_own_record(
    ctx: &Context,
    deadline: Deadline,
    zone_id: &str,
    name: &DnsName,
    mut current: Option<RecordSet>,
    comment: &str,
    build: impl Fn(Option<&RecordSet>) -> Result<RecordSet, String>,
) -> Result<(), String> {
    let cfg = &ctx.config;
    let zone_name = cfg
        .zone(zone_id)
        .map(|z| z.name.clone())
        .ok_or_else(|| format!("zone {zone_id} is not configured"))?;
    let attempts = cfg.cas_retries.saturating_add(1);
    for _ in 0..attempts {
        let new = build(current.as_ref())?;
        if current.as_ref() == Some(&new) {
            return Ok(());
        }
        let mut batch = ChangeBatch {
            comment: Some(comment.to_string()),
            changes: Vec::new(),
        };
        let mut zone = ZoneSnapshot::new(zone_name.clone());
        if let Some(old) = &current {
            zone.records.insert(old.key(), old.clone());
            batch.changes.push(Change {
                action: Action::Delete,
                record: old.clone(),
            });
        }
        batch.changes.push(Change {
            action: Action::Create,
            record: new,
        });
        // Invariant 2 holds for cutover's own records too.
        validate_batch(&zone, &batch).map_err(|violations| {
            violations
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        match send(ctx, deadline, Priority::Normal, zone_id, &batch).await {
            Sent::Applied(_) => return Ok(()),
            Sent::Deferred => return Err("the invocation's time ran out".to_string()),
            Sent::Failed(Route53Error::InvalidChangeBatch { .. }) => {
                // Another invocation wrote it since the listing: read it again, build anew.
                let listed = with_retries(deadline, Priority::Normal, || {
                    ctx.route53.list_records(zone_id)
                })
                .await;
                let records = listed.result.map_err(|e| e.to_string())?;
                current = records.into_iter().find(|r| {
                    &r.name == name && r.rtype == RecordType::Txt && r.set_identifier.is_none()
                });
            }
            Sent::Failed(e) => return Err(e.to_string()),
        }
    }
    Err(format!(
        "{name} kept changing; gave up after {attempts} attempts"
    ))
}

fn failure(decision: Decision, error: Route53Error, attempt: u32) -> Settled {
    match error {
        // A DELETE whose values no longer match: the zone changed since the listing.
        Route53Error::InvalidChangeBatch { messages } => {
            Settled::Conflict(Box::new(decision), messages)
        }
        other => {
            let mut r = ServiceReport::unapplied(decision, attempt);
            r.transient = other.is_transient();
            r.error = Some(if r.transient {
                format!("Route53 did not take the change in the time left (nothing was written): {other}")
            } else {
                format!("Route53 refused the change: {other}")
            });
            Settled::Done(Box::new(r))
        }
    }
}
