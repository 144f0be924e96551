//! Blue-green by TXT ownership flip, for simple (non-weighted) records (docs/design.md §3.2):
//! preflight, ONE switch batch (every TXT registry variant of the key → owner `to`, resource the
//! `to` source object — Ingress, Service or HTTPRoute; the A/AAAA aliases → the `to` load balancer; the state record), a verify window
//! with health checks and automatic rollback to exactly the prior records, then completion.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use crate::command::{Action, Strategy};
use crate::config::ClusterConfig;
use crate::observation::SourceObject;
use crate::registry::{self, Labels, TxtContent};
use crate::route53::model::{RecordSet, RecordType};
use crate::state::{Phase, State};
use crate::types::{DnsName, Name, Percent};

use super::build::{txt_like, BatchBuilder};
use super::context::{
    commit, current_weights, not_a_start, start_direction, the_one_with_status, wait_or_record,
    with_weights, Ctx,
};
use super::decision::{Decision, DecisionKind, Weights};
use super::drift::{self, SIMPLE_KEY};
use super::gates::{self, settle};
use super::{preflight, target};
use crate::text::quoted;

pub(super) fn decide(ctx: &Ctx, st: Option<State>) -> Decision {
    let before = st.as_ref().map(|s| s.percent);
    let mut d = decide_command(ctx, st);
    // The share of a simple record is all-or-nothing: the state's percent (100 after the
    // switch, 0 before it or after a rollback), not weights.
    if let (Some(p), Some(_)) = (before, d.weights_before) {
        d.weights_before = Some(Weights::of(p));
    }
    if d.batch.is_none() {
        d.weights_after = d.weights_before;
    }
    d
}

fn decide_command(ctx: &Ctx, st: Option<State>) -> Decision {
    match (&ctx.cmd.action, st) {
        (Action::Status, st) => status(ctx, st.as_ref()),
        (Action::Plan, None) => ctx.decision(DecisionKind::Noop, "plan: no migration (no state record)"),
        (Action::Plan, Some(st)) => {
            let mut d = tick(ctx, st);
            d.summary = format!("plan: {}", d.summary);
            d
        }
        (Action::Start { to, .. }, st) => start(ctx, st, to.as_ref()),
        (_, None) => ctx.decision(DecisionKind::Noop, "no migration (no state record)"),
        (Action::Tick, Some(st)) => tick(ctx, st),
        (Action::Pause, Some(st)) => pause(ctx, st),
        (Action::Resume, Some(st)) => resume(ctx, st),
        (Action::Promote | Action::PromoteFull, Some(st)) => promote(ctx, st),
        (Action::SetWeight { percent }, Some(st)) => with_weights(
            ctx,
            &st,
            ctx.refuse(format!(
                "set-weight {percent}: a blue-green migration flips a simple record, which has no weight; use strategy canary to hold a share"
            )),
        ),
        (Action::Rollback, Some(st)) => rollback(ctx, st, "manual rollback"),
        (Action::Handover, Some(st)) => handover(ctx, st),
        (Action::Approve, Some(st)) => with_weights(
            ctx,
            &st,
            ctx.refuse("a blue-green migration has no steps to approve; `promote` ends its verify window"),
        ),
        (Action::Adopt, Some(st)) => with_weights(
            ctx,
            &st,
            ctx.refuse(format!(
                "{} has a state record ({}); adopt rebuilds a lost one",
                ctx.state_name, st.phase
            )),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Start: preflight and the switch
// ---------------------------------------------------------------------------------------------

fn start(ctx: &Ctx, st: Option<State>, to: Option<&Name>) -> Decision {
    // The direction first: a start toward `from` or a third cluster is wrong whatever the state.
    let (from, to) = match start_direction(ctx, to) {
        ControlFlow::Continue(direction) => direction,
        ControlFlow::Break(d) => return d,
    };
    if let Some(st) = &st {
        if st.phase.is_active() && st.phase != Phase::RolledBack {
            let msg = format!("already migrating {} → {} ({})", st.from, st.to, st.phase);
            return with_weights(ctx, st, ctx.decision(DecisionKind::Noop, msg));
        }
    }
    // The simple record already belongs to `to`: all its traffic is there, nothing to flip.
    let to_owner = ctx.cluster(&to).map(|c| c.owner_id.as_str().to_string());
    if !ctx.facts.is_weighted() && to_owner.is_some_and(|o| ctx.facts.simple.owners().contains(&o))
    {
        return not_a_start(
            ctx,
            &format!(
                "{to} already has all the traffic of {} (its owner id owns the record); nothing \
                 to flip",
                ctx.svc.hostname
            ),
        );
    }
    match plan_switch(ctx, &from, &to) {
        Ok((b, st, summary)) => {
            let mut d = commit(ctx, b, st, DecisionKind::Start, summary);
            d.waits_for = Some(format!(
                "the verify window ({}s after the switch is INSYNC) with good health of {to}",
                ctx.svc.rollout.verify_window.millis() / 1000
            ));
            d
        }
        Err(reason) => {
            let mut d = ctx.refuse(reason);
            d.weights_before = current_weights(ctx, &from, &to);
            d
        }
    }
}

/// The object of `cluster` (Ingress, Service or HTTPRoute, as configured or found) that asks for
/// the simple key (hostname, no set identifier) with a load-balancer status (docs/design.md §3.2
/// step 1, §7.7).
fn simple_key_object<'a>(
    ctx: &Ctx<'a>,
    cluster: &ClusterConfig,
) -> Result<&'a SourceObject, String> {
    let c = &cluster.key;
    let list = ctx.claiming(c)?;
    let sid_key = format!("{}set-identifier", cluster.annotation_prefix);
    let (simple, weighted): (Vec<&SourceObject>, Vec<&SourceObject>) = list
        .into_iter()
        .partition(|o| !o.annotations.contains_key(&sid_key));
    the_one_with_status(ctx, c, &simple, || {
        match weighted.first() {
        Some(o) => format!(
            "{} in cluster {c} asks for a weighted key ({sid_key}={}), not the simple record {}; remove the annotation or use strategy canary",
            o.describe(),
            o.annotations.get(&sid_key).map(String::as_str).unwrap_or(""),
            ctx.svc.hostname
        ),
        None => ctx.nothing_asks_for(c),
    }
    })
}

/// Preflight and the ONE switch batch (docs/design.md §3.2 steps 1–2).
fn plan_switch(ctx: &Ctx, from: &Name, to: &Name) -> Result<(BatchBuilder, State, String), String> {
    let to_cluster = ctx
        .cluster(to)
        .ok_or_else(|| format!("cluster {to} is not configured"))?;
    let to_obj = simple_key_object(ctx, to_cluster)?;
    match ctx.verdict(to) {
        Some(crate::observation::Verdict::Good) => {}
        Some(v) => {
            return Err(format!(
                "cluster {to} is not healthy ({v}); the switch needs a good health verdict of `to`"
            ))
        }
        None => {
            return Err(format!(
                "cluster {to} was not probed; the switch needs a good health verdict of `to`"
            ))
        }
    }
    preflight::common(ctx, from, to)?;
    let f = &ctx.facts;
    if f.is_weighted() {
        return Err(format!(
            "{} is weighted; blue-green flips the owner of a simple record: use strategy canary (a canary with one step of 100 is a weighted blue-green)",
            ctx.svc.hostname
        ));
    }
    if f.simple.is_empty() {
        return Err(format!(
            "{} has no A/AAAA record yet; wait until {from}'s external-dns publishes it",
            ctx.svc.hostname
        ));
    }
    let to_owner = to_cluster.owner_id.as_str();
    let owners = f.simple.owners();
    if owners.contains(to_owner) {
        return Err(format!(
            "{} is already owned by {to}'s owner id {}: nothing to flip (already migrated, or both clusters' external-dns use that owner id)",
            ctx.svc.hostname,
            quoted(to_owner)
        ));
    }
    // The label `to`'s external-dns writes for its object — `ingress/…`, `service/…` or
    // `httproute/…`, whatever kind served the name on `from` (docs/reference/external-dns.md §1
    // "Value").
    let resource = to_obj.resource_label();
    let labels = |l: &Labels| l.with_owner(to_owner).with_resource(&resource);
    let mut b = BatchBuilder::default();
    let mut prior: Vec<RecordSet> = Vec::new();
    // Every A/AAAA of the key → the `to` load balancer, as `to`'s external-dns would write it
    // (docs/reference/external-dns.md §2), so the new owner finds nothing to change.
    for r in &f.simple.records {
        let new =
            target::alias_record(&ctx.svc.hostname, to_cluster, to_obj, r.rtype.clone(), None)?;
        prior.push(r.clone());
        b.replace(r, new);
    }
    // The registry TXTs after the flip are exactly the names `to`'s external-dns writes for these
    // records — so exactly the ones it reads, and deletes with the records one day. Every variant
    // present under those names gets owner `to`, resource the `to` object, canonical value, TTL
    // 300; every other variant present (another version's or another affix's) is deleted in the
    // same batch; a missing one is created. A variant left behind would outlive the records and
    // make the next creator of the name inherit its owner (docs/reference/external-dns.md §5,
    // external-dns issue #6617); one rewritten but unread would split ownership between versions
    // (docs/reference/external-dns.md §1 "Lookup order"); one missing would make `to` self-heal
    // right after the switch (docs/reference/external-dns.md §1 "Self-healing"). `prior` keeps
    // every one of them for an exact rollback.
    let to_naming = to_cluster.txt_naming();
    let mut wanted: BTreeSet<DnsName> = BTreeSet::new();
    for r in &f.simple.records {
        for v in registry::written_variants(&r.rtype, r.alias.is_some(), to_naming.version) {
            let name = registry::txt_name(&ctx.svc.hostname, v, &to_naming).ok_or_else(|| {
                format!(
                    "the {v} TXT name of {} is not a valid DNS name",
                    ctx.svc.hostname
                )
            })?;
            wanted.insert(name);
        }
    }
    for e in &f.simple.entries {
        let l = match &e.content {
            TxtContent::Labels(l) => l,
            // Refused by preflight; never rewritten (docs/reference/external-dns.md §1
            // "Encryption").
            TxtContent::Encrypted => {
                return Err(format!(
                    "TXT {} is encrypted; cutover never rewrites it",
                    e.record.name
                ))
            }
            TxtContent::Foreign => continue,
        };
        prior.push(e.record.clone());
        if wanted.contains(&e.record.name) {
            let new = txt_like(&e.record, None, &labels(l)).map_err(|e| e.to_string())?;
            b.replace(&e.record, new);
        } else {
            b.delete(&e.record);
        }
    }
    for name in wanted {
        if f.simple.entries.iter().any(|e| e.record.name == name) {
            continue;
        }
        if registry::find_txt(&ctx.view.records, &name, None).is_some() {
            return Err(format!(
                "TXT {name} exists but is not an external-dns registry entry; {to}'s external-dns \
                 would read it as its registry entry of {}: remove it by hand first",
                ctx.svc.hostname
            ));
        }
        let txt = registry::txt_record(
            name,
            None,
            None,
            None,
            &Labels::new(to_owner, Some(&resource)),
        )
        .map_err(|e| e.to_string())?;
        b.create(txt);
    }
    let mut st = State::new(
        Strategy::BlueGreen,
        from.clone(),
        to.clone(),
        Percent::FULL,
        ctx.now,
    );
    st.phase = Phase::Verifying;
    st.target = Some(Percent::FULL);
    st.prior = prior;
    st.written
        .owners
        .insert(SIMPLE_KEY.to_string(), to_owner.to_string());
    let lb = to_obj
        .load_balancer_hostnames
        .first()
        .map(String::as_str)
        .unwrap_or("");
    let summary = format!(
        "switch: {} flipped to {to} (owner {to_owner}, resource {resource}, alias {lb}); verifying",
        ctx.svc.hostname
    );
    Ok((b, st, summary))
}

// ---------------------------------------------------------------------------------------------
// Verify window
// ---------------------------------------------------------------------------------------------

fn tick(ctx: &Ctx, st: State) -> Decision {
    match st.phase {
        Phase::Verifying | Phase::Paused | Phase::Holding => verify(ctx, st, false),
        Phase::RolledBack => with_weights(
            ctx,
            &st,
            ctx.decision(
                DecisionKind::Noop,
                format!("rolled back to {}; `start` to try again", st.from),
            ),
        ),
        other => with_weights(
            ctx,
            &st,
            ctx.decision(
                DecisionKind::Noop,
                format!("no migration running ({other})"),
            ),
        ),
    }
}

/// One verify tick (`promoting`: complete now instead of waiting for the window).
fn verify(ctx: &Ctx, st: State, promoting: bool) -> Decision {
    settle(gated_verify(ctx, st, promoting))
}

/// The gates in order (drift, INSYNC, health, operator holds, the verify window), then
/// completion.
fn gated_verify(ctx: &Ctx, st: State, promoting: bool) -> ControlFlow<Decision, Decision> {
    let original = st.clone();
    gates::no_drift(ctx, &st, &original, drift::simple_key(ctx, &st))?;
    let mut st = st;
    let insync_at = gates::insync(ctx, &mut st, &original)?;
    let st = gates::health_gate(ctx, st, &original, true, " in the verify window", rollback)?;
    if !promoting {
        match st.phase {
            Phase::Paused => {
                return ControlFlow::Break(wait_or_record(
                    ctx,
                    st,
                    &original,
                    DecisionKind::Hold,
                    "paused in the verify window".into(),
                    Some("`resume`".into()),
                    vec![],
                ))
            }
            Phase::Holding => {
                return ControlFlow::Break(wait_or_record(
                    ctx,
                    st,
                    &original,
                    DecisionKind::Hold,
                    "hold: held by an operator; `resume` to continue".into(),
                    Some("`resume`".into()),
                    vec![],
                ))
            }
            _ => {}
        }
        let window = ctx.svc.rollout.verify_window.millis();
        gates::baked(ctx, &st, &original, insync_at, window, "verify window", "")?;
    }
    ControlFlow::Continue(complete(
        ctx,
        st,
        if promoting {
            "promoted"
        } else {
            "verify window passed"
        },
    ))
}

/// Completion (docs/design.md §3.2 step 4): the records already belong to `to`; only the state
/// record changes.
fn complete(ctx: &Ctx, mut st: State, why: &str) -> Decision {
    st.phase = Phase::Completed;
    st.failures = 0;
    st.prior.clear();
    let summary = format!(
        "completed: {why}; {} is served by {}",
        ctx.svc.hostname, st.to
    );
    commit(
        ctx,
        BatchBuilder::default(),
        st,
        DecisionKind::Complete,
        summary,
    )
}

// ---------------------------------------------------------------------------------------------
// Rollback
// ---------------------------------------------------------------------------------------------

/// Whether the `from` source object still asks for the simple key with a load-balancer status
/// (the condition to hand the key back to `from` — docs/design.md §3.2 step 3, §7.7). `Err`: why
/// not.
fn from_still_claims(ctx: &Ctx, from: &Name) -> Result<(), String> {
    let cluster = ctx
        .cluster(from)
        .ok_or_else(|| format!("cluster {from} is not configured"))?;
    simple_key_object(ctx, cluster).map(|_| ())
}

/// Rollback: flip everything back to `from` — exactly the records before the switch, registry
/// entries naming `from`'s object as before — if its object still claims the key, else park
/// those records under the lease owner id on `from`'s load balancer and alert. Needs Route53
/// only; without a listing of `from`'s objects it parks
/// (docs/design.md §3.2 step 3, §7.6).
fn rollback(ctx: &Ctx, mut st: State, why: &str) -> Decision {
    if !matches!(st.phase, Phase::Verifying | Phase::Paused | Phase::Holding) {
        return with_weights(
            ctx,
            &st,
            ctx.refuse(format!(
                "nothing to roll back (phase {}); a completed blue-green migration is reversed by starting one back to {}",
                st.phase, st.from
            )),
        );
    }
    if st.prior.is_empty() {
        return with_weights(
            ctx,
            &st,
            ctx.refuse("the state record holds no prior records to restore; roll back by hand"),
        );
    }
    let mut alerts = Vec::new();
    if matches!(ctx.cmd.action, Action::Rollback) {
        alerts.extend(
            drift::simple_key(ctx, &st)
                .into_iter()
                .map(|d| format!("rolling back over drift: {d}")),
        );
    }
    let (target, owner, how) = match from_still_claims(ctx, &st.from) {
        Ok(()) => {
            let owner = st
                .prior
                .iter()
                .find_map(|r| match registry::read_entry(r).content {
                    TxtContent::Labels(l) if r.rtype == RecordType::Txt => {
                        l.owner().map(str::to_string)
                    }
                    _ => None,
                })
                .unwrap_or_default();
            (
                st.prior.clone(),
                owner,
                format!("flipped back to {}", st.from),
            )
        }
        Err(reason) => {
            let parked = match park(&st.prior, &ctx.lease) {
                Ok(p) => p,
                Err(e) => return with_weights(ctx, &st, ctx.refuse(e)),
            };
            alerts.push(format!(
                "{} cannot take {} back ({reason}); the records point at {}'s load balancer again, parked under owner {}: both external-dns instances leave them alone until the team fixes {} and runs `start`",
                st.from, ctx.svc.hostname, st.from, ctx.lease, st.from
            ));
            (
                parked,
                ctx.lease.clone(),
                format!(
                    "parked on {}'s load balancer under owner {}",
                    st.from, ctx.lease
                ),
            )
        }
    };
    let b = match restore(ctx, &target) {
        Ok(b) => b,
        Err(e) => return with_weights(ctx, &st, ctx.refuse(e)),
    };
    let (from, to) = (st.from.clone(), st.to.clone());
    st.phase = Phase::RolledBack;
    st.percent = Percent::ZERO;
    st.target = Some(Percent::ZERO);
    st.failures = 0;
    st.prior.clear();
    st.written.owners.insert(SIMPLE_KEY.to_string(), owner);
    let mut d = commit(
        ctx,
        b,
        st,
        DecisionKind::Rollback,
        format!("rollback: {why}; {how}"),
    );
    if d.kind == DecisionKind::Rollback {
        d.alerts.push(format!("rolled back {to} → {from}: {why}"));
        d.alerts.extend(alerts);
    }
    d
}

/// The prior records with every TXT registry entry's owner := the lease owner id (parking).
fn park(prior: &[RecordSet], lease: &str) -> Result<Vec<RecordSet>, String> {
    prior
        .iter()
        .map(|r| match registry::read_entry(r).content {
            TxtContent::Labels(l) if r.rtype == RecordType::Txt => {
                txt_like(r, None, &l.with_owner(lease)).map_err(|e| e.to_string())
            }
            _ => Ok(r.clone()),
        })
        .collect()
}

/// The batch that makes the key's records exactly `target`: DELETE every current record of the
/// key (A/AAAA and registry TXTs, exactly as listed) that `target` does not hold as is, CREATE
/// every target record not present as is (compare-and-swap — docs/design.md §7.5).
fn restore(ctx: &Ctx, target: &[RecordSet]) -> Result<BatchBuilder, String> {
    let f = &ctx.facts;
    if let Some(e) = f
        .simple
        .entries
        .iter()
        .find(|e| e.content == TxtContent::Encrypted)
    {
        return Err(format!(
            "TXT {} is encrypted; cutover never rewrites encrypted entries: restore by hand",
            e.record.name
        ));
    }
    let current: Vec<&RecordSet> = f
        .simple
        .records
        .iter()
        .chain(f.simple.label_entries().map(|e| &e.record))
        .collect();
    let mut b = BatchBuilder::default();
    for r in &current {
        if !target.contains(r) {
            b.delete(r);
        }
    }
    for t in target {
        if current.contains(&t) {
            continue;
        }
        let occupied = ctx
            .view
            .records
            .iter()
            .any(|r| r.key() == t.key() && !current.contains(&r));
        if occupied {
            return Err(format!(
                "{} is held by a record cutover does not manage; restore by hand",
                t.key()
            ));
        }
        b.create(t.clone());
    }
    Ok(b)
}

// ---------------------------------------------------------------------------------------------
// Operator commands
// ---------------------------------------------------------------------------------------------

fn pause(ctx: &Ctx, mut st: State) -> Decision {
    match st.phase {
        Phase::Paused => with_weights(ctx, &st, ctx.decision(DecisionKind::Noop, "already paused")),
        Phase::Verifying | Phase::Holding => {
            st.phase = Phase::Paused;
            let mut d = commit(
                ctx,
                BatchBuilder::default(),
                st,
                DecisionKind::Paused,
                "paused in the verify window (health still rolls back)".into(),
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
            st.phase = Phase::Verifying;
            st.failures = 0;
            commit(
                ctx,
                BatchBuilder::default(),
                st,
                DecisionKind::Resumed,
                "resumed the verify window".into(),
            )
        }
        Phase::Verifying => with_weights(ctx, &st, ctx.decision(DecisionKind::Noop, "not paused")),
        other => with_weights(
            ctx,
            &st,
            ctx.refuse(format!("nothing to resume (phase {other})")),
        ),
    }
}

/// `promote` / `promote-full`: end the verify window now (the next and last step), still gated
/// by INSYNC, no drift and a good health verdict.
fn promote(ctx: &Ctx, st: State) -> Decision {
    match st.phase {
        Phase::Verifying | Phase::Paused | Phase::Holding => verify(ctx, st, true),
        other => with_weights(
            ctx,
            &st,
            ctx.refuse(format!("nothing to promote (phase {other})")),
        ),
    }
}

/// `handover`: complete now if the preconditions hold — the `to` object asks for exactly the
/// simple key with a load-balancer status (docs/design.md §7.7) and nothing drifted.
fn handover(ctx: &Ctx, st: State) -> Decision {
    match st.phase {
        Phase::Verifying | Phase::Paused | Phase::Holding => {}
        Phase::Completed => {
            return with_weights(
                ctx,
                &st,
                ctx.decision(DecisionKind::Noop, "already completed"),
            )
        }
        other => {
            return with_weights(
                ctx,
                &st,
                ctx.refuse(format!("nothing to hand over (phase {other})")),
            )
        }
    }
    let drifted = drift::simple_key(ctx, &st);
    if !drifted.is_empty() {
        let mut d = with_weights(
            ctx,
            &st,
            ctx.refuse(format!("drift: {}", drifted.join("; "))),
        );
        d.alerts = drifted;
        return d;
    }
    let Some(cluster) = ctx.cluster(&st.to) else {
        return ctx.refuse(format!("cluster {} is not configured", st.to));
    };
    if let Err(why) = simple_key_object(ctx, cluster) {
        return with_weights(ctx, &st, ctx.refuse(why));
    }
    complete(ctx, st, "handed over by an operator")
}

/// Status: phase, owners, live target, drift.
fn status(ctx: &Ctx, st: Option<&State>) -> Decision {
    let summary = match st {
        None => "no migration (no state record)".to_string(),
        Some(s) => format!(
            "{} (blue-green): {} → {} (failures {}), last by {}{}",
            s.phase,
            s.from,
            s.to,
            s.failures,
            s.actor,
            s.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
    };
    let mut d = ctx.decision(DecisionKind::Status, summary);
    if let Some(s) = st {
        d = with_weights(ctx, s, d);
        if s.phase == Phase::Verifying {
            d.waits_for = Some("the verify window with good health".into());
        }
        d.alerts.extend(
            drift::simple_key(ctx, s)
                .into_iter()
                .map(|x| format!("drift: {x}")),
        );
    }
    d
}
