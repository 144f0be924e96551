//! The gates every step of a migration passes, shared by both strategies: no drift, the last
//! change INSYNC, the bake time over, and health good. Each returns `ControlFlow`: `Continue`
//! to go on, `Break` with the decision that stops here (wait, hold, alert or roll back).

use std::ops::ControlFlow;

use crate::observation::Verdict;
use crate::route53::model::ChangeStatus;
use crate::state::{Phase, State};
use crate::types::{Millis, Percent};

use super::context::{wait_or_record, Ctx};
use super::decision::{Analysis, CheckCounts, Decision, DecisionKind};

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
    let what = match (&change.id, &change.tag) {
        (Some(id), _) => format!("change {id}"),
        (None, Some(tag)) if !ctx.view.change_untracked => {
            format!("the changes tagged {tag}")
        }
        _ => {
            // The change ids were never recorded (the process stopped between the accepted batch
            // and the write of the zone's change record), so GetChange cannot be asked: the
            // change is taken as INSYNC only once the fallback has really passed, and that time
            // is recorded.
            let assumed = change.submitted_at.saturating_add(INSYNC_FALLBACK_MS);
            if ctx.now < assumed {
                let left = (assumed - ctx.now + 999) / 1000;
                return Err(format!(
                    "INSYNC of the last change, assumed {left}s from now: its change id was not \
                     recorded, so GetChange cannot be asked ({}s after submission)",
                    INSYNC_FALLBACK_MS / 1000
                ));
            }
            change.insync_at = Some(assumed);
            return Ok(assumed);
        }
    };
    match ctx.view.change_status {
        Some(ChangeStatus::Insync) => {
            change.insync_at = Some(ctx.now);
            Ok(ctx.now)
        }
        Some(ChangeStatus::Pending) => Err(format!("{what} to be INSYNC (GetChange says PENDING)")),
        None => Err(format!("the status of {what} (GetChange not observed)")),
    }
}

/// The bake gate (docs/design.md §3.1 step 2b, 2c): `window` must have passed since the run of
/// good checks began (never before INSYNC), and that run must hold `success_threshold` checks.
/// A check that is not good ended any earlier run, so the whole window was healthy. `what` names
/// the window in the wait message ("bake time", "verify window"), `suffix` ends it.
pub(super) fn baked(
    ctx: &Ctx,
    st: &State,
    original: &State,
    insync_at: Millis,
    window: Millis,
    what: &str,
    suffix: &str,
) -> ControlFlow<Decision> {
    let needed = ctx.svc.rollout.success_threshold;
    let since = bake_start(st, insync_at);
    let elapsed = since.map_or(0, |t| ctx.now.saturating_sub(t));
    let why = match since {
        Some(_) if elapsed >= window && st.checks.good >= needed => {
            return ControlFlow::Continue(());
        }
        Some(_) if elapsed < window => {
            let left = (window - elapsed + 999) / 1000;
            format!("{what}: {left}s left of {}s{suffix}", window / 1000)
        }
        Some(_) => format!(
            "{what}: {} of {needed} good checks in a row{suffix}",
            st.checks.good
        ),
        None => format!("{what}: a good check to start it{suffix}"),
    };
    let rule = format!(
        "wait: {}s of {}s of good checks in a row, {} of {needed} checks",
        elapsed / 1000,
        window / 1000,
        st.checks.good
    );
    let mut d = wait_or_record(
        ctx,
        st.clone(),
        original,
        DecisionKind::Wait,
        format!("waiting for {why}"),
        Some(why),
        vec![],
    );
    d.analysis = Some(analysis(ctx, st, rule));
    ControlFlow::Break(d)
}

/// When the bake of the step began: the start of the run of good checks, never before INSYNC.
/// `None`: no good check yet since the last one that was not good.
pub(super) fn bake_start(st: &State, insync_at: Millis) -> Option<Millis> {
    st.checks.good_since.map(|t| t.max(insync_at))
}

/// The analysis of the step for the report: its checks and the rule that decided.
pub(super) fn analysis(ctx: &Ctx, st: &State, rule: String) -> Analysis {
    let rollout = &ctx.svc.rollout;
    Analysis {
        step: st.percent,
        checks: CheckCounts {
            good: st.checks.good,
            bad: st.checks.bad,
            inconclusive: st.checks.inconclusive,
        },
        consecutive_bad: st.failures,
        success_threshold: rollout.success_threshold,
        failure_threshold: rollout.failure_threshold,
        failure_limit: rollout.failure_limit,
        rule,
    }
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
    let floor = i64::from(ttl)
        .saturating_mul(1000)
        .saturating_add(ctx.svc.rollout.propagation_allowance.millis());
    configured.max(floor)
}

/// What this tick's verdicts say of `to` (docs/design.md §4).
pub(super) enum HealthCall {
    Good,
    /// No conclusive verdict of `to` (not probed, or the probe could not run): hold, never a
    /// failure.
    Inconclusive(String),
    /// Hold and alert: both sides bad (the fault is not the new cluster), or `to` bad while
    /// `from` has no conclusive verdict. Not counted against `to`.
    Alert(String),
    /// One more bad verdict of `to` while `from` is good.
    ToFailed,
}

pub(super) fn health_call(ctx: &Ctx, st: &State) -> HealthCall {
    let (to, from) = (ctx.verdict(&st.to), ctx.verdict(&st.from));
    match (to, from) {
        (Some(Verdict::Good), _) => HealthCall::Good,
        (None, _) => {
            HealthCall::Inconclusive(format!("a health verdict of {} (not probed)", st.to))
        }
        (Some(Verdict::Inconclusive), _) => HealthCall::Inconclusive(format!(
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

/// The health gate both strategies share (docs/design.md §3.1 steps 2c and 3, §4, §7.11).
/// - A good check counts toward the good checks in a row a step needs; the first of a run starts
///   the bake.
/// - Any other check ends the run, so the bake starts over (a step advances only when every
///   check for a whole bake was good), and holds.
/// - An inconclusive check, or both sides bad, never counts against `to`.
/// - `to` bad while `from` is good counts twice: in a row (`failure_threshold`) and over the
///   step (`failure_limit`, so a flapping side is caught); at either limit the strategy's
///   `roll_back` runs, when `may_roll_back`.
///
/// `Continue`: go on with the updated state.
pub(super) fn health_gate(
    ctx: &Ctx,
    mut st: State,
    original: &State,
    may_roll_back: bool,
    during: &str,
    roll_back: fn(&Ctx, State, &str) -> Decision,
) -> ControlFlow<Decision, State> {
    let rollout = &ctx.svc.rollout;
    let call = health_call(ctx, &st);
    if let HealthCall::Good = call {
        st.failures = 0;
        if st.checks.good == 0 {
            st.checks.good_since = Some(ctx.now);
        }
        st.checks.good = st
            .checks
            .good
            .saturating_add(1)
            .min(rollout.success_threshold);
        return ControlFlow::Continue(st);
    }
    // Any other check ends the run of good checks: the bake starts over (docs/design.md §7.11).
    let ended_a_run = st.checks.good > 0 || st.checks.good_since.is_some();
    st.checks.good = 0;
    st.checks.good_since = None;
    let (kind, summary, waits_for, alert, rule) = match call {
        HealthCall::Good => return ControlFlow::Continue(st),
        HealthCall::Inconclusive(why) => {
            if ended_a_run {
                st.checks.inconclusive = st.checks.inconclusive.saturating_add(1);
            }
            (
                DecisionKind::Hold,
                format!("hold: waiting for {why}"),
                Some(why),
                None,
                "hold: an inconclusive check restarts the bake and never counts as a failure"
                    .to_string(),
            )
        }
        HealthCall::Alert(why) => {
            if ended_a_run {
                st.checks.inconclusive = st.checks.inconclusive.saturating_add(1);
            }
            (
                DecisionKind::Hold,
                format!("hold: {why}"),
                None,
                Some(why),
                format!(
                    "hold: a failure not attributable to {} restarts the bake and is not counted against it",
                    st.to
                ),
            )
        }
        HealthCall::ToFailed => {
            st.failures = st.failures.saturating_add(1);
            st.checks.bad = st.checks.bad.saturating_add(1);
            let (threshold, limit) = (rollout.failure_threshold, rollout.failure_limit);
            let reached = if st.failures >= threshold {
                Some(format!(
                    "{} failed {threshold} consecutive health checks{during}",
                    original.to
                ))
            } else if st.checks.bad >= limit {
                Some(format!(
                    "{} failed {} of {limit} health checks allowed in this step{during}",
                    original.to, st.checks.bad
                ))
            } else {
                None
            };
            if let (Some(what), true) = (&reached, may_roll_back) {
                let why = format!("{what} while {} is good", original.from);
                let rule = format!("rollback: {why}");
                let ended = analysis(ctx, &st, rule);
                let mut d = roll_back(ctx, st, &why);
                d.analysis = Some(ended);
                return ControlFlow::Break(d);
            }
            let why = format!(
                "{} failed {} of {threshold} consecutive health checks and {} of {limit} in this step; the bake restarts",
                st.to, st.failures, st.checks.bad
            );
            (
                DecisionKind::Hold,
                format!("hold: {why}"),
                None,
                Some(why),
                "hold: a bad check restarts the bake".to_string(),
            )
        }
    };
    let analysis = analysis(ctx, &st, rule);
    let mut d = wait_or_record(
        ctx,
        st,
        original,
        kind,
        summary,
        waits_for,
        alert.into_iter().collect(),
    );
    d.analysis = Some(analysis);
    ControlFlow::Break(d)
}

/// A gated flow's outcome: the decision it broke with, or the one it reached.
pub(super) fn settle(flow: ControlFlow<Decision, Decision>) -> Decision {
    match flow {
        ControlFlow::Break(d) | ControlFlow::Continue(d) => d,
    }
}
