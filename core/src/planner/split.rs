//! Real traffic in the planner (docs/design.md §4): the observed-split gate of a canary step, and
//! the health of each cluster as the report shows it (probes made worse by alarms and metrics).

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use crate::observation::{ClusterHealth, Observed};
use crate::state::State;
use crate::traffic::{self, SplitCall, TrafficReport};
use crate::types::{Millis, Name};

use super::context::{wait_or_record, Ctx};
use super::decision::{Decision, DecisionKind};
use super::gates;

/// What the split gate lets through: when the bake may start counting, and what to say.
pub(super) struct SplitPass {
    /// The bake of the step counts from here (never before INSYNC).
    pub bake_from: Millis,
    /// The gate's rule for the report; `None` when no gate is configured.
    rule: Option<String>,
    /// The gate gave up waiting (`max_wait`): alert.
    alert: Option<String>,
}

impl SplitPass {
    /// Adds the gate's rule (and alert) to a decision taken after the gate.
    pub fn note(&self, ctx: &Ctx, mut d: Decision) -> Decision {
        if let Some(rule) = &self.rule {
            with_gate_rule(ctx, &mut d, rule.clone());
        }
        if let Some(alert) = &self.alert {
            d.alerts.push(alert.clone());
        }
        d
    }
}

fn with_gate_rule(ctx: &Ctx, d: &mut Decision, rule: String) {
    let mut report = d.traffic.take().unwrap_or_else(|| ctx.traffic.clone());
    if let Some(split) = report.split.as_mut() {
        split.gate = Some(rule);
    } else {
        // No split could be measured (metrics unavailable): the rule still says why.
        report.split = None;
    }
    d.traffic = Some(report);
}

/// The split gate of a canary step: with `observed_split` configured, the bake counts only from
/// when `to`'s observed share of requests reached `min_fraction` × its weight, and held there
/// through the latest complete minute; not reached within `max_wait` of INSYNC, it alerts and
/// lets the bake count (resolvers and clients that keep old answers must not stall a migration
/// forever). A promote skips it, as it skips the bake.
pub(super) fn gate(
    ctx: &Ctx,
    st: &State,
    original: &State,
    insync_at: Millis,
    promoting: bool,
) -> ControlFlow<Decision, SplitPass> {
    let pass = SplitPass {
        bake_from: insync_at,
        rule: None,
        alert: None,
    };
    let Some(gate) = ctx.svc.rollout.observed_split.as_ref() else {
        return ControlFlow::Continue(pass);
    };
    if promoting {
        return ControlFlow::Continue(pass);
    }
    let series = |c: &Name| match ctx.view.traffic.metrics.get(c) {
        Some(Observed::Known(s)) => Some(s),
        _ => None,
    };
    let call = traffic::split_call(
        gate,
        series(&st.to),
        series(&st.from),
        st.percent,
        insync_at,
        ctx.now,
        ctx.view.traffic.until,
    );
    match call {
        SplitCall::Reached { since, rule } => ControlFlow::Continue(SplitPass {
            bake_from: since.max(insync_at),
            rule: Some(rule),
            alert: None,
        }),
        SplitCall::GaveUp(why) => ControlFlow::Continue(SplitPass {
            bake_from: insync_at,
            rule: Some(format!("split gate gave up: {why}")),
            alert: Some(format!("split gate: {why}")),
        }),
        SplitCall::Waiting(why) => {
            let mut d = wait_or_record(
                ctx,
                st.clone(),
                original,
                DecisionKind::Wait,
                format!("waiting for {why}"),
                Some(why.clone()),
                vec![],
            );
            d.analysis = Some(gates::analysis(
                ctx,
                st,
                format!("wait: the bake counts once {why}"),
            ));
            with_gate_rule(ctx, &mut d, format!("waiting: {why}"));
            ControlFlow::Break(d)
        }
    }
}

/// The health of each cluster for the report: its probes' verdict and reason, made worse by
/// what real traffic says of it (docs/design.md §4), with the traffic's rules appended.
pub(super) fn health_with_traffic(
    probes: &BTreeMap<Name, ClusterHealth>,
    report: Option<&TrafficReport>,
) -> BTreeMap<Name, ClusterHealth> {
    let mut out = probes.clone();
    let Some(report) = report else {
        return out;
    };
    for (cluster, health) in out.iter_mut() {
        let Some(side) = report.clusters.get(cluster) else {
            continue;
        };
        let combined = traffic::worst([health.verdict, side.verdict]);
        let mut parts = Vec::new();
        if let Some(rule) = &side.alarms_rule {
            parts.push(format!("alarms: {rule}"));
        }
        if let Some(m) = &side.metrics {
            parts.push(format!("metrics: {}", m.rule));
        }
        health.reason = format!("probes: {}; {}", health.reason, parts.join("; "));
        health.verdict = combined;
    }
    out
}
