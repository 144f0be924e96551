//! The canary state machine (PRODUCT.md §3.1): start, steps gated by INSYNC + bake + health,
//! rollback, operator commands, drift detection.

use std::collections::BTreeSet;

use crate::command::{Action, Command, Strategy};
use crate::config::{ClusterConfig, Config, ServiceConfig};
use crate::observation::IngressInfo;
use crate::observation::Verdict;
use crate::registry::{self, Labels, TxtNaming};
use crate::route53::model::{ChangeStatus, RecordSet, RecordType};
use crate::state::{self, PendingChange, Phase, State, Stored};
use crate::types::Millis;
use crate::types::{DnsName, Name, Percent, SetIdentifier, Weight};

use super::build::{weighted_copy, BatchBuilder};
use super::facts::{share, HostFacts, KeyRecords};
use super::{
    all_namings, bluegreen, handover, preflight, target, Decision, DecisionKind, Observed,
    ServiceView, Weights,
};

/// When the engine could not record a change id, INSYNC is assumed this long after submission
/// (Route53 is "usually" INSYNC within 60 s — reference route53.md, GetChange; doubled to be
/// safe).
pub const INSYNC_FALLBACK_MS: Millis = 120_000;

/// Everything one decision needs, read once.
pub(super) struct Ctx<'a> {
    pub cfg: &'a Config,
    pub svc: &'a ServiceConfig,
    pub view: &'a ServiceView,
    pub cmd: &'a Command,
    pub now: Millis,
    pub state_name: DnsName,
    pub stored: Option<Stored>,
    pub facts: HostFacts,
    pub lease: String,
}

impl<'a> Ctx<'a> {
    pub fn cluster(&self, key: &Name) -> Option<&'a ClusterConfig> {
        self.cfg.cluster(key)
    }
    pub fn sid(&self, cluster: &Name) -> Option<SetIdentifier> {
        self.svc.set_identifier(cluster)
    }
    pub fn verdict(&self, cluster: &Name) -> Option<Verdict> {
        self.view.health.get(cluster).map(|h| h.verdict)
    }
    pub fn decision(&self, kind: DecisionKind, summary: impl Into<String>) -> Decision {
        let mut d = Decision::new(self.svc, kind, summary);
        d.owners = owners_report(&self.facts);
        d
    }
    pub fn refuse(&self, reason: impl Into<String>) -> Decision {
        self.decision(DecisionKind::Refused, format!("refused: {}", reason.into()))
    }
    /// The Ingresses of `cluster` that claim the service's hostname (the configured one only,
    /// when configured).
    pub fn claiming(&self, cluster: &Name) -> Result<Vec<&'a IngressInfo>, String> {
        match self.view.ingresses.get(cluster) {
            None => Err(format!(
                "the Ingresses of cluster {cluster} were not listed"
            )),
            Some(Observed::Unavailable(why)) => Err(format!(
                "the Ingresses of cluster {cluster} are unavailable: {why}"
            )),
            Some(Observed::Known(list)) => Ok(list
                .iter()
                .filter(|i| i.hosts.contains(&self.svc.hostname))
                .filter(|i| match self.svc.ingress_of(cluster) {
                    Some(r) => r.namespace == i.namespace && r.name == i.name,
                    None => true,
                })
                .collect()),
        }
    }
    pub fn naming(&self, cluster: &Name) -> Option<TxtNaming> {
        self.cluster(cluster).map(TxtNaming::of)
    }
}

/// The owners of every key, for the report: `simple` / set identifier → owner(s).
fn owners_report(facts: &HostFacts) -> std::collections::BTreeMap<String, String> {
    facts
        .all_keys()
        .into_iter()
        .map(|(label, k)| {
            let owners: Vec<String> = k.owners().into_iter().collect();
            let owner = if owners.is_empty() {
                if k.has_encrypted() {
                    "(encrypted)".to_string()
                } else {
                    "(none)".to_string()
                }
            } else {
                owners.join(",")
            };
            (label, owner)
        })
        .collect()
}

pub(super) fn decide(
    cfg: &Config,
    svc: &ServiceConfig,
    view: &ServiceView,
    cmd: &Command,
    now: Millis,
    txt_encrypt_keys: &[registry::EncryptionKey],
) -> Decision {
    let Some(state_name) = cfg.state_record_name(svc) else {
        return Decision::new(
            svc,
            DecisionKind::Refused,
            "refused: the state record name is not a valid DNS name",
        );
    };
    let ctx = Ctx {
        cfg,
        svc,
        view,
        cmd,
        now,
        stored: state::find(&view.records, &state_name),
        state_name,
        facts: {
            let mut f = HostFacts::read(&view.records, &svc.hostname, &all_namings(cfg));
            f.decrypt(txt_encrypt_keys);
            f
        },
        lease: cfg.lease_owner_id.as_str().to_string(),
    };
    let state = match &ctx.stored {
        None => None,
        Some(s) => {
            match &s.state {
                Ok(st) => Some(st.clone()),
                Err(e) => {
                    let mut d = ctx.decision(DecisionKind::Hold, format!("hold: {e}"));
                    d.alerts.push(format!("{e}; fix or delete the state record by hand, cutover will not overwrite it"));
                    return d;
                }
            }
        }
    };
    // Replaying an event changes nothing (PRODUCT.md §7.8).
    if let (Some(id), Some(st)) = (&cmd.id, &state) {
        if st.has_seen(id) {
            return with_weights(
                &ctx,
                st,
                ctx.decision(
                    DecisionKind::Noop,
                    format!("event {id} was already processed"),
                ),
            );
        }
    }
    if is_blue_green(&ctx, state.as_ref()) {
        return bluegreen::decide(&ctx, state);
    }
    let d = match (&cmd.action, state) {
        (Action::Status, st) => status(&ctx, st.as_ref()),
        (Action::Plan, st) => {
            let mut d = tick(&ctx, st, false);
            d.summary = format!("plan: {}", d.summary);
            d
        }
        (Action::Start { to, strategy, .. }, st) => start(&ctx, st, to.as_ref(), *strategy),
        (_, None) => ctx.decision(DecisionKind::Noop, "no migration (no state record)"),
        (Action::Tick, st) => tick(&ctx, st, false),
        (Action::Pause, Some(st)) => pause(&ctx, st),
        (Action::Resume, Some(st)) => resume(&ctx, st),
        (Action::Promote, Some(st)) => promote(&ctx, st, None),
        (Action::PromoteFull, Some(st)) => promote(&ctx, st, Some(Percent::FULL)),
        (Action::SetWeight { percent }, Some(st)) => set_weight(&ctx, st, *percent),
        (Action::Rollback, Some(st)) => rollback(&ctx, st, "manual rollback"),
        (Action::Handover, Some(st)) => handover::handover_command(&ctx, st),
    };
    d
}

/// Whether the command belongs to a blue-green migration: an active one in the state record, or
/// a start whose strategy (the event's, else the service's) is blue-green.
fn is_blue_green(ctx: &Ctx, st: Option<&State>) -> bool {
    let running = st.filter(|s| s.phase.is_active() && s.phase != Phase::RolledBack);
    match (&ctx.cmd.action, running) {
        (_, Some(s)) => s.strategy == Strategy::BlueGreen,
        (Action::Start { strategy, .. }, None) => {
            strategy.unwrap_or(ctx.svc.rollout.strategy) == Strategy::BlueGreen
        }
        (_, None) => st.is_some_and(|s| s.strategy == Strategy::BlueGreen),
    }
}

/// Adds the current share to a decision.
pub(super) fn with_weights(ctx: &Ctx, st: &State, mut d: Decision) -> Decision {
    d.weights_before = current_weights(ctx, &st.from, &st.to);
    if d.weights_after.is_none() {
        d.weights_after = d.weights_before;
    }
    d
}

/// The live share from the zone: both keys' weights (whoever set them — PRODUCT.md §3.3).
pub(super) fn current_weights(ctx: &Ctx, from: &Name, to: &Name) -> Option<Weights> {
    let f = &ctx.facts;
    if !f.is_weighted() {
        return (!f.simple.is_empty()).then_some(Weights {
            from: Percent::FULL,
            to: Percent::ZERO,
        });
    }
    let w = |c: &Name| {
        ctx.sid(c)
            .and_then(|s| f.key(&s).and_then(|k| k.weight().ok().flatten()))
            .unwrap_or(0)
    };
    let p = share(w(from), w(to));
    Some(Weights {
        from: p.complement(),
        to: p,
    })
}

fn weights_of(p: Percent) -> Weights {
    Weights {
        from: p.complement(),
        to: p,
    }
}

// ---------------------------------------------------------------------------------------------
// Writing: the state record travels in the same batch (PRODUCT.md §7.5)
// ---------------------------------------------------------------------------------------------

/// Finishes a decision that writes: stamps actor/reason, remembers the event id, marks the change
/// pending when traffic records change, adds the state record CAS, sets the batch comment.
pub(super) fn commit(
    ctx: &Ctx,
    mut b: BatchBuilder,
    mut st: State,
    kind: DecisionKind,
    summary: String,
) -> Decision {
    st.stamp(&ctx.cmd.actor, ctx.cmd.reason.as_deref(), ctx.now);
    if let Some(id) = &ctx.cmd.id {
        st.remember_event(id);
    }
    if b.touches_traffic(&ctx.state_name) {
        st.change = Some(PendingChange {
            id: None,
            submitted_at: ctx.now,
            insync_at: None,
        });
    }
    let new_record = match st.to_record(&ctx.state_name) {
        Ok(r) => r,
        Err(e) => return ctx.refuse(e.to_string()),
    };
    match &ctx.stored {
        Some(old) => b.replace(&old.record, new_record),
        None => b.create(new_record),
    }
    let comment = format!(
        "cutover {} {} by {}{}",
        kind_name(kind),
        ctx.svc.name,
        ctx.cmd.actor,
        ctx.cmd
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    );
    let mut d = ctx.decision(kind, summary);
    d.batch = Some(b.finish(&comment));
    d.weights_before = current_weights(ctx, &st.from, &st.to);
    d.weights_after = Some(weights_of(st.percent));
    d
}

fn kind_name(kind: DecisionKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------

fn start(ctx: &Ctx, st: Option<State>, to: Option<&Name>, strategy: Option<Strategy>) -> Decision {
    if let Some(st) = &st {
        if st.phase.is_active() && st.phase != Phase::RolledBack {
            let msg = format!(
                "already migrating {} → {} ({:?} at {})",
                st.from, st.to, st.phase, st.percent
            );
            return with_weights(ctx, st, ctx.decision(DecisionKind::Noop, msg));
        }
    }
    let _ = strategy;
    let (from, to) = match direction(ctx, to) {
        Ok(d) => d,
        Err(why) => return ctx.refuse(why),
    };
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

/// The (from, to) pair of a start: the configured direction, or its reverse when the event names
/// the configured `from` as destination.
pub(super) fn direction(ctx: &Ctx, to: Option<&Name>) -> Result<(Name, Name), String> {
    match to {
        None => Ok((ctx.svc.from.clone(), ctx.svc.to.clone())),
        Some(t) if *t == ctx.svc.to => Ok((ctx.svc.from.clone(), ctx.svc.to.clone())),
        Some(t) if *t == ctx.svc.from => Ok((ctx.svc.to.clone(), ctx.svc.from.clone())),
        Some(t) => Err(format!(
            "cluster {t} is neither {} nor {} (services.{}.from/to)",
            ctx.svc.from, ctx.svc.to, ctx.svc.name
        )),
    }
}

/// The ingress of a cluster that serves the host, with a load-balancer status (preflight).
fn serving_ingress<'a>(ctx: &Ctx<'a>, cluster: &Name) -> Result<&'a IngressInfo, String> {
    let list = ctx.claiming(cluster)?;
    the_one_with_status(ctx, cluster, &list, || {
        format!(
            "no Ingress in cluster {cluster} claims {}",
            ctx.svc.hostname
        )
    })
}

/// Exactly one of `list` (the Ingresses of `cluster` that ask for the key), and it has a
/// load-balancer status: several are ambiguous (the config must name one), none is `none()`.
pub(super) fn the_one_with_status<'a>(
    ctx: &Ctx,
    cluster: &Name,
    list: &[&'a IngressInfo],
    none: impl FnOnce() -> String,
) -> Result<&'a IngressInfo, String> {
    match list {
        [] => Err(none()),
        [one] if one.load_balancer_hostnames.is_empty() => Err(format!(
            "Ingress {}/{} in cluster {cluster} has no load-balancer status yet",
            one.namespace, one.name
        )),
        [one] => Ok(one),
        many => Err(format!(
            "{} Ingresses in cluster {cluster} claim {} ({}); set services.{}.ingress.{cluster}",
            many.len(),
            ctx.svc.hostname,
            many.iter()
                .map(|i| format!("{}/{}", i.namespace, i.name))
                .collect::<Vec<_>>()
                .join(", "),
            ctx.svc.name
        )),
    }
}

/// Preflight (PRODUCT.md §3.1 step 1) and the one start batch.
fn plan_start(ctx: &Ctx, from: &Name, to: &Name) -> Result<(BatchBuilder, State, String), String> {
    let from_ing = serving_ingress(ctx, from)?;
    let to_ing = serving_ingress(ctx, to)?;
    let _ = from_ing;
    match ctx.verdict(to) {
        Some(Verdict::Good) => {}
        Some(v) => {
            return Err(format!(
                "cluster {to} is not healthy ({v:?}); start needs a good health verdict of `to`"
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
        // TXTs, CREATE the weighted pair with TXTs (reference route53.md: `[DELETE simple,
        // CREATE weighted…]`).
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
        // All weights 0 is an even split, never "off" (reference route53.md): write the share as
        // percentages instead of leaving the group at 0/0.
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
        // one side would send all AAAA answers there).
        let to_cluster = ctx.cluster(to).ok_or("to cluster not configured")?;
        let labels = Labels::new(
            lease,
            Some(&format!("ingress/{}/{}", to_ing.namespace, to_ing.name)),
        );
        let types: BTreeSet<RecordType> = template.iter().map(|r| r.rtype.clone()).collect();
        for rtype in types {
            let rec = to_alias(ctx, to_cluster, to_ing, rtype, &to_sid)?;
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
        // A and AAAA always carry the same weight (PRODUCT.md §7.4).
        Err((a, b)) => Err(format!(
            "key {sid} has A/AAAA weights that differ ({a} and {b}); fix by hand first"
        )),
    }
}

/// CREATEs the registry TXTs the owning cluster's version writes for `rec` (reference
/// external-dns.md §1 table), same set identifier and weight, TTL 300.
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
/// make it (reference external-dns.md §2: ELB target → alias, EvaluateTargetHealth per cluster).
fn to_alias(
    ctx: &Ctx,
    cluster: &ClusterConfig,
    ing: &IngressInfo,
    rtype: RecordType,
    sid: &SetIdentifier,
) -> Result<RecordSet, String> {
    target::alias_record(
        &ctx.svc.hostname,
        cluster,
        ing,
        rtype,
        Some((sid, Weight::ZERO)),
    )
}

// ---------------------------------------------------------------------------------------------
// Tick
// ---------------------------------------------------------------------------------------------

/// Drift: records differ from what the state says cutover last wrote (PRODUCT.md §7.9).
pub(super) fn drift(ctx: &Ctx, st: &State) -> Vec<String> {
    let mut out = Vec::new();
    let f = &ctx.facts;
    if !f.simple.is_empty() {
        out.push(format!(
            "{} has simple A/AAAA records again",
            ctx.svc.hostname
        ));
    }
    let known: BTreeSet<String> = st.written.weights.keys().cloned().collect();
    for (sid, _) in f.weighted.iter() {
        if !known.contains(sid.as_str()) {
            out.push(format!(
                "unexpected weighted key {sid} at {}",
                ctx.svc.hostname
            ));
        }
    }
    for (sid, owner) in &st.written.owners {
        if owner != &ctx.lease {
            continue; // handed over: no longer cutover's
        }
        let key = SetIdentifier::new(sid).ok().and_then(|s| f.key(&s));
        let Some(key) = key else {
            out.push(format!("parked key {sid} is gone"));
            continue;
        };
        let expected = st.written.weights.get(sid).copied();
        match key.weight() {
            Ok(w) if w == expected => {}
            Ok(w) => out.push(format!(
                "key {sid} has weight {} but cutover last wrote {}",
                w.map(|w| w.to_string()).unwrap_or("none".into()),
                expected.map(|w| w.to_string()).unwrap_or("none".into())
            )),
            Err((a, b)) => out.push(format!("key {sid} has A/AAAA weights {a} and {b}")),
        }
        for e in key.label_entries() {
            if e.owner() != Some(ctx.lease.as_str()) {
                out.push(format!(
                    "TXT {} of key {sid} is owned by {:?}, cutover parked it under {}",
                    e.record.name,
                    e.owner().unwrap_or(""),
                    ctx.lease
                ));
            }
            if e.record.weight.map(|w| w.get()) != expected {
                out.push(format!(
                    "TXT {} of key {sid} has another weight than its record",
                    e.record.name
                ));
            }
        }
    }
    out
}

/// The INSYNC gate: `Ok(t)` with the time INSYNC was first seen (recording it in `st` when seen
/// now), `Err(why)` while the change is not INSYNC.
pub(super) fn insync(ctx: &Ctx, st: &mut State) -> Result<Millis, String> {
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

/// The bake of the step being held: the configured bake of the largest step at or below the
/// current share, never less than the effective TTL + propagation allowance (PRODUCT.md §3.1
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

fn next_step(ctx: &Ctx, p: Percent) -> Option<Percent> {
    ctx.svc
        .rollout
        .steps
        .iter()
        .map(|s| s.percent)
        .find(|s| *s > p)
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

/// Writes `st` if it differs from what is stored, else no batch.
/// The health gate both strategies share (PRODUCT.md §4): a good verdict resets the failure
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
) -> Result<State, Box<Decision>> {
    match health_call(ctx, &st) {
        HealthCall::Good => {
            st.failures = 0;
            Ok(st)
        }
        HealthCall::Hold(why) => Err(Box::new(wait_or_record(
            ctx,
            st,
            original,
            DecisionKind::Hold,
            format!("hold: waiting for {why}"),
            Some(why),
            vec![],
        ))),
        HealthCall::Alert(why) => Err(Box::new(wait_or_record(
            ctx,
            st,
            original,
            DecisionKind::Hold,
            format!("hold: {why}"),
            None,
            vec![why],
        ))),
        HealthCall::ToFailed => {
            st.failures = st.failures.saturating_add(1);
            let threshold = ctx.svc.rollout.failure_threshold;
            if st.failures >= threshold && may_roll_back {
                let why = format!(
                    "{} failed {threshold} consecutive health checks{during} while {} is good",
                    original.to, original.from
                );
                return Err(Box::new(roll_back(ctx, st, &why)));
            }
            let why = format!(
                "{} failed {} of {threshold} consecutive health checks",
                st.to, st.failures
            );
            Err(Box::new(wait_or_record(
                ctx,
                st,
                original,
                DecisionKind::Hold,
                format!("hold: {why}"),
                None,
                vec![why],
            )))
        }
    }
}

pub(super) fn wait_or_record(
    ctx: &Ctx,
    st: State,
    original: &State,
    kind: DecisionKind,
    summary: String,
    waits_for: Option<String>,
    alerts: Vec<String>,
) -> Decision {
    let mut d = if &st != original {
        commit(ctx, BatchBuilder::default(), st.clone(), kind, summary)
    } else {
        with_weights(ctx, &st, ctx.decision(kind, summary))
    };
    d.waits_for = waits_for;
    d.alerts.extend(alerts);
    d
}

pub(super) fn tick(ctx: &Ctx, st: Option<State>, _forced: bool) -> Decision {
    let Some(st) = st else {
        return ctx.decision(DecisionKind::Noop, "no migration (no state record)");
    };
    match st.phase {
        Phase::Idle | Phase::Completed => with_weights(
            ctx,
            &st,
            ctx.decision(
                DecisionKind::Noop,
                format!("no migration running ({:?})", st.phase),
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
    let original = st.clone();
    let promoting = matches!(ctx.cmd.action, Action::Promote | Action::PromoteFull);
    let drifted = drift(ctx, &st);
    if !drifted.is_empty() {
        let mut held = st.clone();
        held.phase = Phase::Holding;
        let summary = format!("hold: drift — {}", drifted.join("; "));
        let mut alerts = drifted.clone();
        alerts.push("someone else changed records cutover manages; cutover never overwrites them: fix by hand, then `resume` or `rollback`".into());
        return wait_or_record(
            ctx,
            held,
            &original,
            DecisionKind::Hold,
            summary,
            None,
            alerts,
        );
    }
    let mut st = st;
    let insync_at = match insync(ctx, &mut st) {
        Ok(t) => t,
        Err(why) => {
            return wait_or_record(
                ctx,
                st,
                &original,
                DecisionKind::Wait,
                format!("waiting for {why}"),
                Some(why),
                vec![],
            );
        }
    };
    let handed = st.written.owners.get(
        ctx.sid(&st.to)
            .map(|s| s.to_string())
            .unwrap_or_default()
            .as_str(),
    ) != Some(&ctx.lease);
    let may_roll_back = !handed && st.percent > Percent::ZERO;
    let mut st = match health_gate(ctx, st, &original, may_roll_back, "", rollback) {
        Ok(st) => st,
        Err(decision) => return *decision,
    };
    match st.phase {
        Phase::Paused if !promoting => {
            return wait_or_record(
                ctx,
                st,
                &original,
                DecisionKind::Hold,
                "paused".into(),
                Some("`resume`".into()),
                vec![],
            );
        }
        Phase::Holding if !promoting => {
            let why = format!(
                "held at {} by an operator; `resume` to continue",
                st.percent
            );
            return wait_or_record(
                ctx,
                st,
                &original,
                DecisionKind::Hold,
                format!("hold: {why}"),
                Some("`resume`".into()),
                vec![],
            );
        }
        Phase::Completing => return handover::complete(ctx, st, &original, false),
        _ => {}
    }
    if promoting {
        st.phase = Phase::Canary;
    }
    let required = bake_required(ctx, &st);
    let elapsed = ctx.now.saturating_sub(insync_at);
    if !promoting && elapsed < required {
        let left = (required - elapsed + 999) / 1000;
        let why = format!(
            "bake time: {left}s left of {}s at {}",
            required / 1000,
            st.percent
        );
        return wait_or_record(
            ctx,
            st,
            &original,
            DecisionKind::Wait,
            format!("waiting for {why}"),
            Some(why),
            vec![],
        );
    }
    let next = match promote_to {
        Some(p) => Some(p).filter(|p| *p > st.percent),
        None => next_step(ctx, st.percent),
    };
    let Some(p) = next else {
        if st.percent == Percent::FULL {
            st.phase = Phase::Completing;
            return handover::complete(ctx, st, &original, false);
        }
        return wait_or_record(
            ctx,
            st,
            &original,
            DecisionKind::Noop,
            "no step above the current share".into(),
            None,
            vec![],
        );
    };
    move_to(
        ctx,
        st,
        p,
        DecisionKind::Advance,
        format!("advance {} → {}", original.percent, p),
    )
}

/// Writes `from` = 100 − p, `to` = p on both keys and their TXTs (weights are percentages,
/// PRODUCT.md §3.1 step 2), parked under the lease owner.
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
    commit(ctx, b, st, kind, summary)
}

// ---------------------------------------------------------------------------------------------
// Operator commands
// ---------------------------------------------------------------------------------------------

/// Rollback: one batch puts `from` = 100, `to` = 0; Route53 only (PRODUCT.md §3.1 step 3, §7.6).
pub(super) fn rollback(ctx: &Ctx, mut st: State, why: &str) -> Decision {
    if !matches!(
        st.phase,
        Phase::Canary | Phase::Paused | Phase::Holding | Phase::Completing
    ) {
        return with_weights(
            ctx,
            &st,
            ctx.refuse(format!("nothing to roll back (phase {:?})", st.phase)),
        );
    }
    let mut alerts = Vec::new();
    if matches!(ctx.cmd.action, Action::Rollback) {
        alerts.extend(
            drift(ctx, &st)
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
            ctx.refuse(format!("nothing to pause (phase {other:?})")),
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
            ctx.refuse(format!("nothing to resume (phase {other:?})")),
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
            ctx.refuse(format!("nothing to promote (phase {other:?})")),
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
                "no migration to set a weight in (phase {:?})",
                st.phase
            )),
        );
    }
    let drifted = drift(ctx, &st);
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

/// Status: phase, live share, owners, and the external-dns mismatches the team must fix
/// (PRODUCT.md §3.3).
fn status(ctx: &Ctx, st: Option<&State>) -> Decision {
    let (from, to) = st
        .map(|s| (s.from.clone(), s.to.clone()))
        .unwrap_or_else(|| (ctx.svc.from.clone(), ctx.svc.to.clone()));
    let summary = match st {
        None => "no migration (no state record)".to_string(),
        Some(s) => format!(
            "{:?}: {} → {} at {} (failures {}), last by {}{}",
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
        d.alerts
            .extend(drift(ctx, s).into_iter().map(|x| format!("drift: {x}")));
    }
    d
}

/// A cluster whose Ingress asks for the simple key while the records are weighted fails its
/// external-dns batch for that name on every loop (PRODUCT.md §3.3): say so with the exact
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
        for ing in list {
            let key = format!("{}set-identifier", cluster.annotation_prefix);
            if ing.annotations.contains_key(&key) {
                continue;
            }
            out.push(format!(
                "cluster {c}: Ingress {}/{} asks for the simple record {} while it is weighted, so {c}'s external-dns fails that name on every loop; annotate it with {p}set-identifier={sid}, {p}aws-weight=<weight> and {p}alias=true",
                ing.namespace,
                ing.name,
                ctx.svc.hostname,
                p = cluster.annotation_prefix
            ));
        }
    }
    out
}
