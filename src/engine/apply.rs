//! APPLY: every batch validated against every Route53 rule before it is sent, packed per zone into
//! as few requests as the limits allow, sent; a refused packed request is split per service so
//! one bad service never blocks the rest; a lost compare-and-swap goes back to be re-planned.

use std::collections::BTreeMap;

use cutover_core::config::ServiceConfig;
use cutover_core::planner::{self, Decision};
use cutover_core::route53::model::{ChangeBatch, ChangeInfo, ChangeStatus};
use cutover_core::route53::pack::pack;
use cutover_core::route53::validate::{validate_batch, Limits};
use cutover_core::types::Name;

use super::observe::Observations;
use super::Context;
use crate::observe::route53::Route53Error;
use crate::report::ServiceReport;

pub(super) enum Outcome {
    Done(Box<ServiceReport>),
    /// The compare-and-swap lost: re-observe and re-plan.
    Conflict(Box<Decision>, Vec<String>),
}

/// Validates every batch before sending, packs per zone, sends, splits per service on failure.
pub(super) async fn apply<'c>(
    ctx: &Context,
    decisions: Vec<(Decision, &'c ServiceConfig)>,
    obs: &Observations,
    attempt: u32,
) -> Vec<(&'c ServiceConfig, Outcome)> {
    let mut outcomes = Vec::new();
    let mut per_zone: BTreeMap<String, Vec<(Decision, &'c ServiceConfig)>> = BTreeMap::new();
    for (decision, svc) in decisions {
        let Some(batch) = decision.batch.as_ref().filter(|b| !b.changes.is_empty()) else {
            outcomes.push((
                svc,
                Outcome::Done(Box::new(ServiceReport::unapplied(decision, attempt))),
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
            outcomes.push((svc, Outcome::Done(Box::new(r))));
            continue;
        }
        per_zone
            .entry(svc.zone_id.clone())
            .or_default()
            .push((decision, svc));
    }

    for (zone_id, items) in per_zone {
        let by_name: BTreeMap<Name, (Decision, &'c ServiceConfig)> = items
            .into_iter()
            .map(|(d, s)| (s.name.clone(), (d, s)))
            .collect();
        let packing = pack(
            by_name
                .iter()
                .filter_map(|(name, (d, _))| d.batch.clone().map(|b| (name.clone(), b)))
                .collect(),
            Limits::default(),
        );
        let mut by_name = by_name;
        for refused in packing.refused {
            if let Some((d, s)) = by_name.remove(refused.service()) {
                let mut r = ServiceReport::unapplied(d, attempt);
                r.error = Some(refused.to_string());
                outcomes.push((s, Outcome::Done(Box::new(r))));
            }
        }
        for group in packing.packed {
            let members: Vec<Name> = group.services().cloned().collect();
            match ctx.route53.change(&zone_id, &group.batch).await {
                Ok(info) => {
                    for name in members {
                        if let Some((d, s)) = by_name.remove(&name) {
                            let outcome = after_applied(d, &info, attempt);
                            outcomes.push((s, outcome));
                        }
                    }
                }
                Err(e) if members.len() > 1 => {
                    // One bad service never blocks the rest: send each on its own.
                    tracing::warn!(zone = %zone_id, error = %e, "packed batch refused; splitting per service");
                    for name in members {
                        if let Some((d, s)) = by_name.remove(&name) {
                            let outcome = send_one(ctx, d, &zone_id, attempt).await;
                            outcomes.push((s, outcome));
                        }
                    }
                }
                Err(e) => {
                    for name in members {
                        if let Some((d, s)) = by_name.remove(&name) {
                            outcomes.push((s, failure(d, e.clone(), attempt)));
                        }
                    }
                }
            }
        }
    }
    record_change_ids(ctx, &mut outcomes).await;
    outcomes
}

fn prevalidate(svc: &ServiceConfig, obs: &Observations, batch: &ChangeBatch) -> Result<(), String> {
    let snapshot = match obs.zones.get(&svc.zone_id).map(|z| &z.snapshot) {
        Some(Ok(snapshot)) => snapshot,
        Some(Err(e)) => return Err(format!("zone {}: {e}", svc.zone_id)),
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

async fn send_one(ctx: &Context, decision: Decision, zone_id: &str, attempt: u32) -> Outcome {
    let Some(batch) = decision.batch.clone() else {
        return Outcome::Done(Box::new(ServiceReport::unapplied(decision, attempt)));
    };
    match ctx.route53.change(zone_id, &batch).await {
        Ok(info) => after_applied(decision, &info, attempt),
        Err(e) => failure(decision, e, attempt),
    }
}

/// Route53 accepted the batch.
fn after_applied(decision: Decision, info: &ChangeInfo, attempt: u32) -> Outcome {
    tracing::info!(service = %decision.service, change_id = %info.id, "batch applied");
    Outcome::Done(Box::new(ServiceReport {
        applied: true,
        change_id: Some(info.id.clone()),
        error: None,
        attempts: attempt,
        decision,
    }))
}

/// The state records learn the ids of the changes just applied (for the INSYNC gate), in small
/// follow-up compare-and-swaps packed like the changes themselves. If one fails, the next tick
/// sees a pending change without an id and the planner handles it.
async fn record_change_ids(ctx: &Context, outcomes: &mut [(&ServiceConfig, Outcome)]) {
    let mut per_zone: BTreeMap<String, Vec<(Name, ChangeBatch)>> = BTreeMap::new();
    for (svc, outcome) in outcomes.iter() {
        let Outcome::Done(report) = outcome else {
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
            if let Err(e) = ctx.route53.change(&zone_id, &group.batch).await {
                tracing::warn!(zone = %zone_id, error = %e, "recording change ids failed");
                for name in group.services() {
                    failed.insert(name.clone(), e.to_string());
                }
            }
        }
    }
    for (svc, outcome) in outcomes.iter_mut() {
        if let (Outcome::Done(report), Some(e)) = (outcome, failed.get(&svc.name)) {
            report.error = Some(format!(
                "applied, but recording the change id in the state record failed: {e}"
            ));
        }
    }
}

fn failure(decision: Decision, error: Route53Error, attempt: u32) -> Outcome {
    match error {
        // A DELETE whose values no longer match: the zone changed since the listing.
        Route53Error::InvalidChangeBatch { messages } => {
            Outcome::Conflict(Box::new(decision), messages)
        }
        other => {
            let mut r = ServiceReport::unapplied(decision, attempt);
            r.error = Some(format!("Route53 refused the change: {other}"));
            Outcome::Done(Box::new(r))
        }
    }
}
