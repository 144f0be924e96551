//! The gates every step of a migration passes, shared by both strategies: no drift, the last
//! change INSYNC, the bake time over, and health good. Each returns `ControlFlow`: `Continue`
//! to go on, `Break` with the decision that stops here (wait, hold, alert or roll back).

use std::ops::ControlFlow;

use crate::observation::Verdict;
use crate::route53::model::ChangeStatus;
use crate::state::{Phase, State};
use crate::types::{Millis, Percent};

use super::context::{wait_or_record, Ctx};
use super::decision::{Decision, DecisionKind};

/// When the engine could not record a change id, INSYNC is assumed this long after submission
/// (Route53 is "usually" INSYNC within 60 s — docs/reference/route53.md "GetChange"; doubled to be
/// safe).
pub const INSYNC_FALLBACK_MS: Millis = 120_000;

/// Drift stops the service (docs/design.md §7.9): hold, alert, and wait for an operator. The
/// state moves to Holding, so nothing steps until `resume` or `rollback`.
pub(super) fn no_drift(
    ctx: &Ctx,
    st: &State,
    original: &State,
    drifted: Vec<String>,
) -> ControlFlow<Decision> {
    if drifted.is_empty() {
        return ControlFlow::Continue(());
    }
    let mut held = st.clone();
    held.phase = Phase::Holding;
    let summary = format!("hold: drift — {}", drifted.join("; "));
    let mut alerts = drifted;
    alerts.push("someone else changed records cutover manages; cutover never overwrites them: fix by hand, then `resume` or `rollback`".into());
    ControlFlow::Break(wait_or_record(
        ctx,
        held,
        original,
        DecisionKind::Hold,
        summary,
        None,
        alerts,
    ))
}

/// The INSYNC gate (docs/design.md §3.1 step 2a): `Continue(t)` with the time INSYNC was first
/// seen (recorded in `st` when seen now); `Break` with a wait while the change is not INSYNC.
pub(super) fn insync(ctx: &Ctx, st: &mut State, original: &State) -> ControlFlow<Decision, Millis> {
    match insync_at(ctx, st) {
        Ok(t) => ControlFlow::Continue(t),
        Err(why) => ControlFlow::Break(wait_or_record(
            ctx,
            st.clone(),
            original,
            DecisionKind::Wait,
            format!("waiting for {why}"),
            Some(why),
            vec![],
        )),
    }
}

/// The time INSYNC was first seen, or why it is not known yet.
fn insync_at(ctx: &Ctx, st: &mut State) -> Result<Millis, String> {
    let Some(change) = st.change.as_mut() else {
        return Ok(st.at);
    };
    if let Some(t) = change.insync_at {
        return Ok(t);
    }
    let Some(id) = change.id.clone() else {
        return Ok(change.submitted_at.saturating_add(INSYNC_FALLBACK_MS));
    };
    match ctx.view.change_status {
        Some(ChangeStatus::Insync) => {
            change.insync_at = Some(ctx.now);
            Ok(ctx.now)
        }
        Some(ChangeStatus::Pending) => {
            Err(format!("change {id} to be INSYNC (GetChange says PENDING)"))
        }
        None => Err(format!(
            "the status of change {id} (GetChange not observed)"
        )),
    }
}

/// The bake gate (docs/design.md §3.1 step 2b): `window` must have passed since INSYNC; `what`
/// names the window in the wait message ("bake time", "verify window"), `suffix` ends it.
pub(super) fn baked(
    ctx: &Ctx,
    st: &State,
    original: &State,
    insync_at: Millis,
    window: Millis,
    what: &str,
    suffix: &str,
) -> ControlFlow<Decision> {
    let elapsed = ctx.now.saturating_sub(insync_at);
    if elapsed >= window {
        return ControlFlow::Continue(());
    }
    let left = (window - elapsed + 999) / 1000;
    let why = format!("{what}: {left}s left of {}s{suffix}", window / 1000);
    ControlFlow::Break(wait_or_record(
        ctx,
        st.clone(),
        original,
        DecisionKind::Wait,
        format!("waiting for {why}"),
        Some(why),
        vec![],
    ))
}

/// The bake of the step being held: the configured bake of the largest step at or below the
/// current share, never less than the effective TTL + propagation allowance (docs/design.md §3.1
/// step 2b).
pub(super) fn bake_required(ctx: &Ctx, st: &State) -> Millis {
    let steps = &ctx.svc.rollout.steps;
    let configured = steps
        .iter()
        .rfind(|s| s.percent <= st.percent && s.percent > Percent::ZERO)
        .map(|s| s.bake.millis())
        .unwrap_or(0);
    let ttl = [&st.from, &st.to]
        .iter()
        .filter_map(|c| {
            ctx.sid(c)
                .and_then(|s| ctx.facts.key(&s).map(|k| k.effective_ttl_secs()))
        })
        .max()
        .unwrap_or(60);
    let floor = i64::from(ttl) * 1000 + ctx.svc.rollout.propagation_allowance.millis();
    configured.max(floor)
}

/// What health says for this tick.
pub(super) enum HealthCall {
    Good,
    /// Hold without counting (inconclusive / not probed).
    Hold(String),
    /// Hold and alert (both sides bad, or `to` bad with `from` unknown).
    Alert(String),
    /// One more bad verdict of `to` while `from` is good.
    ToFailed,
}

pub(super) fn health_call(ctx: &Ctx, st: &State) -> HealthCall {
    let (to, from) = (ctx.verdict(&st.to), ctx.verdict(&st.from));
    match (to, from) {
        (Some(Verdict::Good), _) => HealthCall::Good,
        (None, _) => HealthCall::Hold(format!("a health verdict of {} (not probed)", st.to)),
        (Some(Verdict::Inconclusive), _) => HealthCall::Hold(format!(
            "a conclusive health verdict of {} (inconclusive: never advance, never count)",
            st.to
        )),
        (Some(Verdict::Bad), Some(Verdict::Good)) => HealthCall::ToFailed,
        (Some(Verdict::Bad), Some(Verdict::Bad)) => HealthCall::Alert(format!(
            "both {} and {} fail their health checks: the fault is not the new cluster; holding, not rolling back",
            st.from, st.to
        )),
        (Some(Verdict::Bad), _) => HealthCall::Alert(format!(
            "{} fails its health check but {} has no conclusive verdict; holding, not rolling back into an unknown side",
            st.to, st.from
        )),
    }
}

/// The health gate both strategies share (docs/design.md §4): a good verdict resets the failure
/// count; inconclusive or both-sides-bad holds (and alerts), never counting a failure; `to`
/// failing while `from` is good counts, and at `failure_threshold` consecutive failures calls
/// the strategy's `roll_back` (when `may_roll_back`). `Ok`: go on with the updated state.
pub(super) fn health_gate(
    ctx: &Ctx,
    mut st: State,
    original: &State,
    may_roll_back: bool,
    during: &str,
    roll_back: fn(&Ctx, State, &str) -> Decision,
) -> ControlFlow<Decision, State> {
    match health_call(ctx, &st) {
        HealthCall::Good => {
            st.failures = 0;
            ControlFlow::Continue(st)
        }
        HealthCall::Hold(why) => ControlFlow::Break(wait_or_record(
            ctx,
            st,
            original,
            DecisionKind::Hold,
            format!("hold: waiting for {why}"),
            Some(why),
            vec![],
        )),
        HealthCall::Alert(why) => ControlFlow::Break(wait_or_record(
            ctx,
            st,
            original,
            DecisionKind::Hold,
            format!("hold: {why}"),
            None,
            vec![why],
        )),
        HealthCall::ToFailed => {
            st.failures = st.failures.saturating_add(1);
            let threshold = ctx.svc.rollout.failure_threshold;
            if st.failures >= threshold && may_roll_back {
                let why = format!(
                    "{} failed {threshold} consecutive health checks{during} while {} is good",
                    original.to, original.from
                );
                return ControlFlow::Break(roll_back(ctx, st, &why));
            }
            let why = format!(
                "{} failed {} of {threshold} consecutive health checks",
                st.to, st.failures
            );
            ControlFlow::Break(wait_or_record(
                ctx,
                st,
                original,
                DecisionKind::Hold,
                format!("hold: {why}"),
                None,
                vec![why],
            ))
        }
    }
}

/// A gated flow's outcome: the decision it broke with, or the one it reached.
pub(super) fn settle(flow: ControlFlow<Decision, Decision>) -> Decision {
    match flow {
        ControlFlow::Break(d) | ControlFlow::Continue(d) => d,
    }
}
