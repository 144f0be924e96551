//! The canary strategy (docs/design.md §3.1): start (simple → weighted in one batch, or adopting
//! the weights already set), steps gated by drift, INSYNC, bake and health, rollback, and the
//! operator commands.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use crate::command::{Action, Strategy};
use crate::config::ClusterConfig;
use crate::observation::{SourceObject, Verdict};
use crate::registry::{self, Labels, TxtNaming};
use crate::route53::model::{RecordSet, RecordType};
use crate::state::{Phase, State};
use crate::types::{Name, Percent, SetIdentifier, Weight};

use super::build::{weighted_copy, BatchBuilder};
use super::context::{
    commit, current_weights, not_a_start, start_direction, the_one_with_status, wait_or_record,
    with_weights, Ctx,
};
use super::decision::{Decision, DecisionKind};
use super::facts::{share, KeyRecords};
use super::gates::{self, settle};
use super::{drift, handover, orphans, preflight, split, target};

/// The canary's answer to a command.
pub(super) fn decide(ctx: &Ctx, state: Option<State>) -> Decision {
    match (&ctx.cmd.action, state) {
        (Action::Status, st) => status(ctx, st.as_ref()),
        (Action::Plan, st) => {
            let mut d = tick(ctx, st);
            d.summary = format!("plan: {}", d.summary);
            d
        }
        (Action::Start { to, .. }, st) => start(ctx, st, to.as_ref()),
        (Action::Rollback, None) if orphans::alert(ctx).is_some() => rollback_orphan(ctx),
        (Action::Adopt, None) => adopt(ctx),
        (Action::Adopt, Some(st)) => with_weights(
            ctx,
            &st,
            ctx.refuse(format!(
                "{} has a state record ({}); adopt rebuilds a lost one",
                ctx.state_name, st.phase
            )),
        ),
        (_, None) => ctx.decision(DecisionKind::Noop, "no migration (no state record)"),
        (Action::Tick, st) => tick(ctx, st),
        (Action::Pause, Some(st)) => pause(ctx, st),
        (Action::Resume, Some(st)) => resume(ctx, st),
        (Action::Promote, Some(st)) => promote(ctx, st, None),
        (Action::PromoteFull, Some(st)) => promote(ctx, st, Some(Percent::FULL)),
        (Action::SetWeight { percent }, Some(st)) => set_weight(ctx, st, *percent),
        (Action::Rollback, Some(st)) => rollback(ctx, st, "manual rollback"),
        (Action::Handover, Some(st)) => handover::handover_command(ctx, st),
        (Action::Approve, Some(st)) => approve(ctx, st),
    }
}

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------

fn start(ctx: &Ctx, st: Option<State>, to: Option<&Name>) -> Decision {
    // The direction first: a start toward `from` or a third cluster is wrong whatever the state.
    let (from, to) = match start_direction(ctx, to) {
        ControlFlow::Continue(direction) => direction,
        ControlFlow::Break(d) => return d,
    };
    if let Some(st) = &st {
        if st.phase.is_active() && st.phase != Phase::RolledBack {
            let msg = format!(
                "already migrating {} → {} ({} at {})",
                st.from, st.to, st.phase, st.percent
            );
            return with_weights(ctx, st, ctx.decision(DecisionKind::Noop, msg));
        }
    }
    // A cluster that already has all the traffic has nothing to migrate to it. (Simple and
    // weighted records mixed are preflight's to refuse, with their own reason.)
    let mixed = ctx.facts.is_weighted() && !ctx.facts.simple.is_empty();
    if !mixed && current_weights(ctx, &from, &to).is_some_and(|w| w.to == Percent::FULL) {
        let mut d = not_a_start(
            ctx,
            &format!(
                "{to} already has all the traffic of {}; nothing to migrate",
                ctx.svc.hostname
            ),
        );
        d.weights_before = current_weights(ctx, &from, &to);
        d.weights_after = d.weights_before;
        return d;
    }
    match plan_start(ctx, &from, &to) {
        Ok((b, mut new_state, summary)) => {
            new_state.failures = 0;
            commit(ctx, b, new_state, DecisionKind::Start, summary)
        }
        Err(reason) => {
            let mut d = ctx.refuse(reason);
            d.weights_before = current_weights(ctx, &from, &to);
            d
        }
    }
}

/// The object of a cluster that serves the host — of whichever kind its external-dns reads — with
/// a load-balancer status (preflight; docs/design.md §2, §3.1 step 1).
fn serving_object<'a>(ctx: &Ctx<'a>, cluster: &Name) -> Result<&'a SourceObject, String> {
    let list = ctx.claiming(cluster)?;
    the_one_with_status(ctx, cluster, &list, || ctx.nothing_claims(cluster))
}

/// Preflight (docs/design.md §3.1 step 1) and the one start batch.
fn plan_start(ctx: &Ctx, from: &Name, to: &Name) -> Result<(BatchBuilder, State, String), String> {
    // Both clusters serve the host with a load balancer (docs/design.md §3.1 step 1).
    serving_object(ctx, from)?;
    let to_obj = serving_object(ctx, to)?;
    match ctx.verdict(to) {
        Some(Verdict::Good) => {}
        Some(v) => {
            return Err(format!(
                "cluster {to} is not healthy ({v}); start needs a good health verdict of `to`"
            ))
        }
        None => {
            return Err(format!(
                "cluster {to} was not probed; start needs a good health verdict of `to`"
            ))
        }
    }
    let f = &ctx.facts;
    preflight::common(ctx, from, to)?;
    let (from_sid, to_sid) = (sid(ctx, from)?, sid(ctx, to)?);
    let from_naming = ctx.naming(from).ok_or("from cluster not configured")?;
    let to_naming = ctx.naming(to).ok_or("to cluster not configured")?;
    let mut b = BatchBuilder::default();
    let lease = ctx.lease.as_str();
    let mut st = State::new(
        Strategy::Canary,
        from.clone(),
        to.clone(),
        Percent::ZERO,
        ctx.now,
    );
    let summary;
    let template: Vec<RecordSet>;
    if !f.is_weighted() {
        if f.simple.is_empty() {
            return Err(format!(
                "{} has no A/AAAA record yet; wait until {from}'s external-dns publishes it",
                ctx.svc.hostname
            ));
        }
        // Simple → weighted in one batch: DELETE the simple records exactly as listed and their
        // TXTs, CREATE the weighted pair with TXTs (docs/reference/route53.md "Simple vs weighted":
        // `[DELETE simple, CREATE weighted…]`).
        b.delete_key(&f.simple).map_err(|e| e.to_string())?;
        let resource = f.simple.resource();
        let labels = Labels::new(lease, resource.as_deref());
        for r in &f.simple.records {
            let new = weighted_copy(r, &from_sid, Weight(100));
            create_txts(&mut b, &new, &from_naming, &labels)?;
            b.create(new);
        }
        template = f.simple.records.clone();
        st.written.weights.insert(from_sid.to_string(), 100);
        summary = format!(
            "start: {} simple → weighted ({from} 100, {to} 0), records parked under owner {lease}",
            ctx.svc.hostname
        );
    } else {
        let from_key = f.key(&from_sid).ok_or_else(|| {
            format!(
                "{} is weighted but has no record with {from}'s set identifier {from_sid}",
                ctx.svc.hostname
            )
        })?;
        let wf = key_weight(from_key, &from_sid)?;
        let wt = match f.key(&to_sid) {
            Some(k) => key_weight(k, &to_sid)?,
            None => 0,
        };
        // All weights 0 is an even split, never "off" (docs/reference/route53.md "Weighted
        // records"): write the share as percentages instead of leaving the group at 0/0.
        let (wf, wt) = if wf == 0 && wt == 0 {
            let p = if f.key(&to_sid).is_some() { 50 } else { 0 };
            (100 - p, p)
        } else {
            (wf, wt)
        };
        b.set_key(from_key, Weight(wf), lease, None)
            .map_err(|e| e.to_string())?;
        st.written.weights.insert(from_sid.to_string(), wf);
        template = from_key.records.clone();
        if let Some(k) = f.key(&to_sid) {
            b.set_key(k, Weight(wt), lease, None)
                .map_err(|e| e.to_string())?;
        }
        st.written.weights.insert(to_sid.to_string(), wt);
        st.percent = share(wf, wt);
        summary = format!(
            "start: {} already weighted, keeping the live share ({to} at {}), records parked under owner {lease}",
            ctx.svc.hostname, st.percent
        );
    }
    if f.key(&to_sid).is_none() {
        // CREATE the `to` key at 0, one record per type the `from` key has (an AAAA only on
        // one side would send all AAAA answers there). Its registry entries name the `to` object
        // as `to`'s external-dns does (`service/…`, `httproute/…`), so that after the handover it
        // has nothing to rewrite (docs/reference/external-dns.md §1 "Value").
        let to_cluster = ctx.cluster(to).ok_or("to cluster not configured")?;
        let labels = Labels::new(lease, Some(&to_obj.resource_label()));
        let types: BTreeSet<RecordType> = template.iter().map(|r| r.rtype.clone()).collect();
        for rtype in types {
            let rec = to_alias(ctx, to_cluster, to_obj, rtype, &to_sid)?;
            create_txts(&mut b, &rec, &to_naming, &labels)?;
            b.create(rec);
        }
        st.written.weights.insert(to_sid.to_string(), 0);
    }
    st.written
        .owners
        .insert(from_sid.to_string(), lease.to_string());
    st.written
        .owners
        .insert(to_sid.to_string(), lease.to_string());
    st.target = Some(st.percent);
    Ok((b, st, summary))
}

fn sid(ctx: &Ctx, cluster: &Name) -> Result<SetIdentifier, String> {
    ctx.sid(cluster)
        .ok_or_else(|| format!("no valid set identifier for cluster {cluster}"))
}

fn key_weight(k: &KeyRecords, sid: &SetIdentifier) -> Result<u8, String> {
    match k.weight() {
        Ok(Some(w)) => Ok(w),
        Ok(None) => Err(format!("key {sid} has no weight")),
        // A and AAAA always carry the same weight (docs/design.md §7.4).
        Err((a, b)) => Err(format!(
            "key {sid} has A/AAAA weights that differ ({a} and {b}); fix by hand first"
        )),
    }
}

/// CREATEs the registry TXTs the owning cluster's version writes for `rec`
/// (docs/reference/external-dns.md §1 "Which names exist, by version"), same set identifier and
/// weight, TTL 300.
fn create_txts(
    b: &mut BatchBuilder,
    rec: &RecordSet,
    naming: &TxtNaming,
    labels: &Labels,
) -> Result<(), String> {
    let is_alias = rec.alias.is_some();
    for v in registry::written_variants(&rec.rtype, is_alias, naming.version) {
        let name =
            registry::txt_name(&rec.name, v, naming).ok_or("TXT name is not a valid DNS name")?;
        let txt = registry::txt_record(
            name,
            rec.set_identifier.clone(),
            rec.weight,
            rec.health_check_id.clone(),
            labels,
        )
        .map_err(|e| e.to_string())?;
        b.create(txt);
    }
    Ok(())
}

/// The `to` cluster's weighted alias to its load balancer, weight 0, as its external-dns would
/// make it (docs/reference/external-dns.md §2: ELB target → alias, EvaluateTargetHealth per
/// cluster).
fn to_alias(
    ctx: &Ctx,
    cluster: &ClusterConfig,
    obj: &SourceObject,
    rtype: RecordType,
    sid: &SetIdentifier,
) -> Result<RecordSet, String> {
    target::alias_record(
        &ctx.svc.hostname,
        cluster,
        obj,
        rtype,
        Some((sid, Weight::ZERO)),
    )
}

// ---------------------------------------------------------------------------------------------
// Tick
// ---------------------------------------------------------------------------------------------

fn tick(ctx: &Ctx, st: Option<State>) -> Decision {
    let Some(st) = st else {
        return ctx.decision(DecisionKind::Noop, "no migration (no state record)");
    };
    match st.phase {
        Phase::Idle | Phase::Completed => with_weights(
            ctx,
            &st,
            ctx.decision(
                DecisionKind::Noop,
                format!("no migration running ({})", st.phase),
            ),
        ),
        Phase::RolledBack => with_weights(
            ctx,
            &st,
            ctx.decision(
                DecisionKind::Noop,
                format!(
                    "rolled back to {}; records stay parked; `start` to try again",
                    st.from
                ),
            ),
        ),
        Phase::Canary | Phase::Paused | Phase::Holding | Phase::Completing => step(ctx, st, None),
        // Only a blue-green migration verifies; `decide` routes those to `bluegreen`.
        Phase::Verifying => with_weights(
            ctx,
            &st,
            ctx.refuse("phase verifying belongs to a blue-green migration"),
        ),
    }
}

/// One tick of an active migration, or a promote (`promote_to`: `Some(p)` target, or next step
/// when the command is `promote`).
fn step(ctx: &Ctx, st: State, promote_to: Option<Percent>) -> Decision {
    settle(gated_step(ctx, st, promote_to))
}

/// The gates in order (drift, INSYNC, health, operator holds, bake), then the next step.
fn gated_step(
    ctx: &Ctx,
    st: State,
    promote_to: Option<Percent>,
) -> ControlFlow<Decision, Decision> {
    let original = st.clone();
    let promoting = matches!(ctx.cmd.action, Action::Promote | Action::PromoteFull);
    gates::no_drift(ctx, &st, &original, drift::weighted(ctx, &st))?;
    let mut st = st;
    let insync_at = gates::insync(ctx, &mut st, &original)?;
    let handed = st.written.owners.get(
        ctx.sid(&st.to)
            .map(|s| s.to_string())
            .unwrap_or_default()
            .as_str(),
    ) != Some(&ctx.lease);
    let may_roll_back = !handed && st.percent > Percent::ZERO;
    let mut st = gates::health_gate(ctx, st, &original, may_roll_back, "", rollback)?;
    match st.phase {
        Phase::Paused if !promoting => {
            return ControlFlow::Break(wait_or_record(
                ctx,
                st,
                &original,
                DecisionKind::Hold,
                "paused".into(),
                Some("`resume`".into()),
                vec![],
            ));
        }
        Phase::Holding if !promoting => {
            let why = format!(
                "held at {} by an operator; `resume` to continue",
                st.percent
            );
            return ControlFlow::Break(wait_or_record(
                ctx,
                st,
                &original,
                DecisionKind::Hold,
                format!("hold: {why}"),
                Some("`resume`".into()),
                vec![],
            ));
        }
        Phase::Completing => return ControlFlow::Break(handover::complete(ctx, st, &original)),
        _ => {}
    }
    let required = gates::bake_required(ctx, &st);
    // The split gate (docs/design.md §4): the bake counts from when `to`'s
    // observed share reached its fraction of the weight.
    let split = split::gate(ctx, &st, &original, insync_at, promoting)?;
    if promoting {
        st.phase = Phase::Canary;
    } else {
        let at = format!(" at {}", st.percent);
        gates::baked(
            ctx,
            &st,
            &original,
            split.bake_from,
            required,
            "bake time",
            &at,
        )
        .map_break(|d| split.note(ctx, d))?;
        approved(ctx, &st, &original).map_break(|d| split.note(ctx, d))?;
    }
    let next = match promote_to {
        Some(p) => Some(p).filter(|p| *p > st.percent),
        None => next_step(ctx, st.percent),
    };
    let Some(p) = next else {
        if st.percent == Percent::FULL {
            st.phase = Phase::Completing;
            return ControlFlow::Break(handover::complete(ctx, st, &original));
        }
        return ControlFlow::Break(wait_or_record(
            ctx,
            st,
            &original,
            DecisionKind::Noop,
            "no step above the current share".into(),
            None,
            vec![],
        ));
    };
    let rule = if promoting {
        format!(
            "advance: promoted by {} (no bake wait; INSYNC and a good check of {})",
            ctx.cmd.actor, st.to
        )
    } else {
        format!(
            "advance: every check for {}s was good, {} good checks in a row ({} needed)",
            gates::bake_start(&st, insync_at).map_or(0, |t| ctx.now.saturating_sub(t)) / 1000,
            st.checks.good,
            ctx.svc.rollout.success_threshold
        )
    };
    let ended = gates::analysis(ctx, &st, rule);
    let mut d = move_to(
        ctx,
        st,
        p,
        DecisionKind::Advance,
        format!("advance {} → {}", original.percent, p),
    );
    d.analysis = Some(ended);
    ControlFlow::Continue(split.note(ctx, d))
}

/// The approval gate (docs/design.md §3.1 step 2d): a step that asks for approval advances only
/// once an operator ran `approve` for it.
fn approved(ctx: &Ctx, st: &State, original: &State) -> ControlFlow<Decision> {
    if !step_asks_for_approval(ctx, st.percent) || st.approved == Some(st.percent) {
        return ControlFlow::Continue(());
    }
    let why = format!(
        "`approve`: the {} step asks for an operator's approval before it advances",
        st.percent
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
    d.analysis = Some(gates::analysis(
        ctx,
        st,
        "wait: the step is baked and healthy, and asks for an approval".into(),
    ));
    ControlFlow::Break(d)
}

fn step_asks_for_approval(ctx: &Ctx, p: Percent) -> bool {
    ctx.svc
        .rollout
        .steps
        .iter()
        .any(|s| s.percent == p && s.approval)
}

/// Writes `from` = 100 − p, `to` = p on both keys and their TXTs (weights are percentages,
/// docs/design.md §3.1 step 2), parked under the lease owner.
fn move_to(ctx: &Ctx, mut st: State, p: Percent, kind: DecisionKind, summary: String) -> Decision {
    let (Some(from_sid), Some(to_sid)) = (ctx.sid(&st.from), ctx.sid(&st.to)) else {
        return ctx.refuse("no set identifier for from/to");
    };
    let (Some(from_key), Some(to_key)) = (ctx.facts.key(&from_sid), ctx.facts.key(&to_sid)) else {
        return ctx.refuse(format!(
            "the weighted keys {from_sid} and {to_sid} must both exist to move traffic"
        ));
    };
    for (sid, c) in [(&from_sid, &st.from), (&to_sid, &st.to)] {
        if st.written.owners.get(sid.as_str()) != Some(&ctx.lease) {
            return ctx.refuse(format!("key {sid} is no longer parked (handed to {c}); its external-dns owns its weight now"));
        }
    }
    let mut b = BatchBuilder::default();
    let lease = ctx.lease.clone();
    if let Err(e) = b.set_key(from_key, p.complement().as_weight(), &lease, None) {
        return ctx.refuse(e.to_string());
    }
    if let Err(e) = b.set_key(to_key, p.as_weight(), &lease, None) {
        return ctx.refuse(e.to_string());
    }
    st.written
        .weights
        .insert(from_sid.to_string(), p.complement().get());
    st.written.weights.insert(to_sid.to_string(), p.get());
    st.percent = p;
    st.target = Some(p);
    // A new step: its checks start from nothing (docs/design.md §3.1 step 2c).
    st.checks = Default::default();
    commit(ctx, b, st, kind, summary)
}

// ---------------------------------------------------------------------------------------------
// Operator commands
// ---------------------------------------------------------------------------------------------

/// Rollback: one batch puts `from` = 100, `to` = 0; Route53 only (docs/design.md §3.1 step 3,
/// §7.6).
pub(super) fn rollback(ctx: &Ctx, mut st: State, why: &str) -> Decision {
    if !matches!(
        st.phase,
        Phase::Canary | Phase::Paused | Phase::Holding | Phase::Completing
    ) {
        return with_weights(
            ctx,
            &st,
            ctx.refuse(format!("nothing to roll back (phase {})", st.phase)),
        );
    }
    let mut alerts = Vec::new();
    if matches!(ctx.cmd.action, Action::Rollback) {
        alerts.extend(
            drift::weighted(ctx, &st)
                .into_iter()
                .map(|d| format!("rolling back over drift: {d}")),
        );
    }
    st.phase = Phase::RolledBack;
    st.failures = 0;
    let mut d = move_to(
        ctx,
        st,
        Percent::ZERO,
        DecisionKind::Rollback,
        format!("rollback: {why}"),
    );
    if d.kind == DecisionKind::Rollback {
        d.alerts.push(format!("rolled back: {why}"));
    }
    d.alerts.extend(alerts);
    d
}

fn pause(ctx: &Ctx, mut st: State) -> Decision {
    match st.phase {
        Phase::Paused => with_weights(ctx, &st, ctx.decision(DecisionKind::Noop, "already paused")),
        Phase::Canary | Phase::Holding | Phase::Completing => {
            let original = st.clone();
            st.phase = Phase::Paused;
            let mut d = commit(
                ctx,
                BatchBuilder::default(),
                st,
                DecisionKind::Paused,
                format!("paused at {}", original.percent),
            );
            d.waits_for = Some("`resume`".into());
            d
        }
        other => with_weights(
            ctx,
            &st,
            ctx.refuse(format!("nothing to pause (phase {other})")),
        ),
    }
}

fn resume(ctx: &Ctx, mut st: State) -> Decision {
    match st.phase {
        Phase::Paused | Phase::Holding => {
            st.phase = Phase::Canary;
            st.failures = 0;
            let p = st.percent;
            commit(
                ctx,
                BatchBuilder::default(),
                st,
                DecisionKind::Resumed,
                format!("resumed at {p}"),
            )
        }
        Phase::Canary | Phase::Completing => {
            with_weights(ctx, &st, ctx.decision(DecisionKind::Noop, "not paused"))
        }
        other => with_weights(
            ctx,
            &st,
            ctx.refuse(format!("nothing to resume (phase {other})")),
        ),
    }
}

/// `promote`: the next step now (no bake wait; still INSYNC and good health). `promote-full`:
/// 100 % now, same gates.
fn promote(ctx: &Ctx, st: State, to: Option<Percent>) -> Decision {
    match st.phase {
        Phase::Canary | Phase::Paused | Phase::Holding => step(ctx, st, to),
        other => with_weights(
            ctx,
            &st,
            ctx.refuse(format!("nothing to promote (phase {other})")),
        ),
    }
}

/// `set-weight`: hold at a chosen share.
fn set_weight(ctx: &Ctx, mut st: State, p: Percent) -> Decision {
    if !matches!(
        st.phase,
        Phase::Canary | Phase::Paused | Phase::Holding | Phase::Completing
    ) {
        return with_weights(
            ctx,
            &st,
            ctx.refuse(format!(
                "no migration to set a weight in (phase {})",
                st.phase
            )),
        );
    }
    let drifted = drift::weighted(ctx, &st);
    if !drifted.is_empty() {
        let mut d = with_weights(
            ctx,
            &st,
            ctx.refuse(format!("drift: {}", drifted.join("; "))),
        );
        d.alerts = drifted;
        return d;
    }
    st.phase = Phase::Holding;
    let from = st.percent;
    let mut d = move_to(
        ctx,
        st,
        p,
        DecisionKind::SetWeight,
        format!("set weight {from} → {p}, holding"),
    );
    d.waits_for = Some("`resume`".into());
    d
}

/// `approve`: lets the step that asks for approval advance once its bake and health allow
/// (docs/design.md §3.1 step 2d). The actor and reason are recorded like every command's.
fn approve(ctx: &Ctx, mut st: State) -> Decision {
    if !matches!(st.phase, Phase::Canary | Phase::Paused | Phase::Holding) {
        return with_weights(
            ctx,
            &st,
            ctx.refuse(format!("nothing to approve (phase {})", st.phase)),
        );
    }
    if !step_asks_for_approval(ctx, st.percent) {
        return with_weights(
            ctx,
            &st,
            ctx.refuse(format!(
                "the {} step does not ask for approval (services.{}: steps[].approval)",
                st.percent, ctx.svc.name
            )),
        );
    }
    if st.approved == Some(st.percent) {
        return with_weights(
            ctx,
            &st,
            ctx.decision(
                DecisionKind::Noop,
                format!("the {} step is approved already", st.percent),
            ),
        );
    }
    st.approved = Some(st.percent);
    let p = st.percent;
    let mut d = commit(
        ctx,
        BatchBuilder::default(),
        st,
        DecisionKind::Approved,
        format!("approved the {p} step; it advances once its bake and health allow"),
    );
    d.waits_for = Some("the bake and good health of the step".into());
    d
}

/// `adopt`: rebuilds a lost state record from the zone (docs/design.md §7.12). Nothing but the
/// state record is written; the migration holds until `resume` (or `rollback`).
fn adopt(ctx: &Ctx) -> Decision {
    match orphans::rebuilt_state(ctx) {
        Ok(st) => {
            let p = st.percent;
            let mut d = commit(
                ctx,
                BatchBuilder::default(),
                st,
                DecisionKind::Adopt,
                format!(
                    "adopted: rebuilt the state record of {} from the zone ({} → {} at {p}), holding",
                    ctx.svc.name, ctx.svc.from, ctx.svc.to
                ),
            );
            d.waits_for = Some("`resume` or `rollback`".into());
            d
        }
        Err(why) => ctx.refuse(why),
    }
}

/// `rollback` of an orphaned canary: the state rebuilt from the zone, then the usual rollback
/// (all traffic to `from`, one batch that also writes the state record again).
fn rollback_orphan(ctx: &Ctx) -> Decision {
    match orphans::rebuilt_state(ctx) {
        Ok(st) => rollback(
            ctx,
            st,
            "manual rollback of a split whose state record was lost",
        ),
        Err(why) => ctx.refuse(why),
    }
}

/// Status: phase, live share, owners, and the external-dns mismatches the team must fix
/// (docs/design.md §3.3).
fn status(ctx: &Ctx, st: Option<&State>) -> Decision {
    let (from, to) = st
        .map(|s| (s.from.clone(), s.to.clone()))
        .unwrap_or_else(|| (ctx.svc.from.clone(), ctx.svc.to.clone()));
    let summary = match st {
        None => "no migration (no state record)".to_string(),
        Some(s) => format!(
            "{}: {} → {} at {} (failures {}), last by {}{}",
            s.phase,
            s.from,
            s.to,
            s.percent,
            s.failures,
            s.actor,
            s.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
    };
    let mut d = ctx.decision(DecisionKind::Status, summary);
    d.weights_before = current_weights(ctx, &from, &to);
    d.weights_after = d.weights_before;
    d.alerts.extend(simple_key_notes(ctx, &[from, to]));
    if let Some(s) = st {
        d.alerts.extend(
            drift::weighted(ctx, s)
                .into_iter()
                .map(|x| format!("drift: {x}")),
        );
        d.waits_for = match s.phase {
            Phase::Paused | Phase::Holding => Some("`resume`".into()),
            Phase::Canary
                if step_asks_for_approval(ctx, s.percent) && s.approved != Some(s.percent) =>
            {
                Some(format!(
                    "`approve`: the {} step asks for an operator's approval before it advances",
                    s.percent
                ))
            }
            _ => None,
        };
    }
    d
}

/// A cluster whose source object asks for the simple key while the records are weighted fails its
/// external-dns batch for that name on every loop (docs/design.md §3.3): say so with the exact
/// annotations that make the clusters agree.
pub(super) fn simple_key_notes(ctx: &Ctx, clusters: &[Name]) -> Vec<String> {
    if !ctx.facts.is_weighted() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for c in clusters {
        let (Some(cluster), Some(sid)) = (ctx.cluster(c), ctx.sid(c)) else {
            continue;
        };
        let Ok(list) = ctx.claiming(c) else { continue };
        for obj in list {
            let key = format!("{}set-identifier", cluster.annotation_prefix);
            if obj.annotations.contains_key(&key) {
                continue;
            }
            out.push(format!(
                "cluster {c}: {} asks for the simple record {} while it is weighted, so {c}'s external-dns fails that name on every loop; annotate it with {p}set-identifier={sid}, {p}aws-weight=<weight> and {p}alias=true",
                obj.describe(),
                ctx.svc.hostname,
                p = cluster.annotation_prefix
            ));
        }
    }
    out
}
fn next_step(ctx: &Ctx, p: Percent) -> Option<Percent> {
    ctx.svc
        .rollout
        .steps
        .iter()
        .map(|s| s.percent)
        .find(|s| *s > p)
}
