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

use cutover_core::config::ServiceConfig;
use cutover_core::planner::{self, Decision, DecisionKind};
use cutover_core::route53::model::{Action, ChangeBatch, ChangeInfo, ChangeStatus, RecordSet};
use cutover_core::route53::pack::pack;
use cutover_core::route53::validate::{validate_batch, Limits};
use cutover_core::types::Name;

use super::observe::Observations;
use super::retry::{backoff, with_retries, Deadline, Priority};
use super::Context;
use crate::observe::route53::Route53Error;
use crate::report::ServiceReport;

/// The least time worth starting a request in: one request under the client-side rate limit,
/// plus its answer.
const SEND_BUDGET: Duration = Duration::from_secs(2);

pub(super) enum Settled {
    Done(Box<ServiceReport>),
    /// The compare-and-swap lost: re-observe and re-plan.
    Conflict(Box<Decision>, Vec<String>),
}

/// Validates every batch before sending, packs per zone, sends, splits per service on failure.
pub(super) async fn apply<'c>(
    ctx: &Context,
    deadline: Deadline,
    decisions: Vec<(Decision, &'c ServiceConfig)>,
    obs: &Observations,
    attempt: u32,
) -> Vec<(&'c ServiceConfig, Settled)> {
    let mut outcomes = Vec::new();
    let mut per_zone: BTreeMap<String, Vec<(Decision, &'c ServiceConfig)>> = BTreeMap::new();
    for (decision, svc) in decisions {
        let Some(batch) = decision.batch.as_ref().filter(|b| !b.changes.is_empty()) else {
            outcomes.push((
                svc,
                Settled::Done(Box::new(ServiceReport::unapplied(decision, attempt))),
            ));
            continue;
        };
        // Invariant 2: every batch sent is valid under every rule, checked before sending.
        if let Err(reason) = prevalidate(svc, obs, batch) {
            let mut r = ServiceReport::unapplied(decision, attempt);
            tracing::error!(service = %svc.name, %reason, "pre-send validation failed");
            r.error = Some(format!(
                "refused to send an invalid batch (nothing was changed): {reason}"
            ));
            outcomes.push((svc, Settled::Done(Box::new(r))));
            continue;
        }
        per_zone
            .entry(svc.zone_id.clone())
            .or_default()
            .push((decision, svc));
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
        let packing = pack(
            order
                .iter()
                .filter_map(|name| {
                    let (d, _) = by_name.get(name)?;
                    d.batch.clone().map(|b| (name.clone(), b))
                })
                .collect(),
            Limits::default(),
        );
        for refused in packing.refused {
            if let Some((d, s)) = by_name.remove(refused.service()) {
                let mut r = ServiceReport::unapplied(d, attempt);
                r.error = Some(refused.to_string());
                outcomes.push((s, Settled::Done(Box::new(r))));
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
            let priority = members
                .iter()
                .filter_map(|n| by_name.get(n))
                .map(|(d, _)| priority_of(d))
                .min()
                .unwrap_or(Priority::Normal);
            match send(ctx, deadline, priority, &zone_id, &group.batch).await {
                Sent::Applied(info) => {
                    for name in members {
                        if let Some((d, s)) = by_name.remove(&name) {
                            outcomes.push((s, after_applied(d, info.as_ref(), attempt)));
                        }
                    }
                }
                Sent::Deferred => {
                    for name in members {
                        if let Some((d, s)) = by_name.remove(&name) {
                            outcomes.push((s, deferred(d, attempt)));
                        }
                    }
                }
                Sent::Failed(e) if members.len() > 1 && !e.is_transient() => {
                    // One bad service never blocks the rest: send each on its own.
                    tracing::warn!(zone = %zone_id, error = %e, "packed batch refused; splitting per service");
                    for name in members {
                        if let Some((d, s)) = by_name.remove(&name) {
                            let outcome = send_one(ctx, deadline, d, &zone_id, attempt).await;
                            outcomes.push((s, outcome));
                        }
                    }
                }
                Sent::Failed(e) => {
                    for name in members {
                        if let Some((d, s)) = by_name.remove(&name) {
                            outcomes.push((s, failure(d, e.clone(), attempt)));
                        }
                    }
                }
            }
        }
    }
    record_change_ids(ctx, deadline, &mut outcomes).await;
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

fn prevalidate(svc: &ServiceConfig, obs: &Observations, batch: &ChangeBatch) -> Result<(), String> {
    let snapshot = match obs.zones.get(&svc.zone_id) {
        Some(Ok(view)) => match &view.snapshot {
            Ok(snapshot) => snapshot,
            Err(e) => return Err(format!("zone {}: {e}", svc.zone_id)),
        },
        Some(Err(e)) => return Err(e.clone()),
        None => return Err(format!("zone {} was not listed", svc.zone_id)),
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

/// The state records learn the ids of the changes just applied (for the INSYNC gate), in small
/// follow-up compare-and-swaps packed like the changes themselves. If one fails, the next tick
/// sees a pending change without an id and the planner handles it.
async fn record_change_ids(
    ctx: &Context,
    deadline: Deadline,
    outcomes: &mut [(&ServiceConfig, Settled)],
) {
    let mut per_zone: BTreeMap<String, Vec<(Name, ChangeBatch)>> = BTreeMap::new();
    for (svc, outcome) in outcomes.iter() {
        let Settled::Done(report) = outcome else {
            continue;
        };
        let Some(id) = report.change_id.as_ref().filter(|_| report.applied) else {
            continue;
        };
        let info = ChangeInfo {
            id: id.clone(),
            status: ChangeStatus::Pending,
        };
        if let Some(batch) = planner::record_change(&ctx.config, svc, &report.decision, &info) {
            per_zone
                .entry(svc.zone_id.clone())
                .or_default()
                .push((svc.name.clone(), batch));
        }
    }
    let mut failed: BTreeMap<Name, String> = BTreeMap::new();
    for (zone_id, batches) in per_zone {
        let packing = pack(batches, Limits::default());
        for refused in packing.refused {
            failed.insert(refused.service().clone(), refused.to_string());
        }
        for group in packing.packed {
            let error = match send(ctx, deadline, Priority::Normal, &zone_id, &group.batch).await {
                Sent::Applied(_) => continue,
                Sent::Deferred => "the invocation's time ran out".to_string(),
                Sent::Failed(e) => e.to_string(),
            };
            tracing::warn!(zone = %zone_id, %error, "recording change ids failed");
            for name in group.services() {
                failed.insert(name.clone(), error.clone());
            }
        }
    }
    for (svc, outcome) in outcomes.iter_mut() {
        if let (Settled::Done(report), Some(e)) = (outcome, failed.get(&svc.name)) {
            report.error = Some(format!(
                "applied, but recording the change id in the state record failed: {e}"
            ));
        }
    }
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
