//! The pure planner: state + observations + clock + command → one decision with its whole change
//! batch. No I/O and no clock reads: `now` is passed in (docs/design.md §3.1, §3.3, §7).
//!
//! This module routes a command to its strategy. The strategies (`canary`, `bluegreen`, with
//! `handover` for the canary's completion) are built from shared parts: `context` (one
//! decision's inputs, read once, and committing a batch with the state record), `gates` (drift,
//! INSYNC, bake, health), `drift`, `preflight`, `facts` (what the zone says of a host), `build`
//! (compare-and-swap batches), `target` (alias records to a load balancer), `names` and the
//! self-check every emitted batch passes (`invariants`). No module imports one that imports it.

use crate::command::{Action, Command, Strategy};
use crate::config::{Config, ServiceConfig};
use crate::registry;
use crate::route53::model::RecordSet;
use crate::state::{self, Phase, State};
use crate::types::Millis;

mod bluegreen;
mod build;
mod canary;
mod context;
mod decision;
mod drift;
pub mod facts;
mod gates;
mod handover;
pub mod horizon;
pub mod invariants;
mod names;
mod orphans;
mod preflight;
mod split;
pub mod target;
mod view;

pub use crate::observation::Observed;
pub use context::ambiguous_claimants;
pub use decision::{Decision, DecisionKind, Weights};
pub use gates::INSYNC_FALLBACK_MS;
pub use names::names_of_interest;
pub use view::{Needs, ServiceView};

use context::{with_weights, Ctx};

/// What the engine must observe for this service to decide `cmd`.
pub fn needs(
    cfg: &Config,
    svc: &ServiceConfig,
    state_records: &[RecordSet],
    cmd: &Command,
) -> Needs {
    let stored = cfg
        .state_record_name(svc)
        .and_then(|n| state::find(state_records, &n))
        .and_then(|s| s.state.ok());
    let phase = stored.as_ref().map(|s| s.phase).unwrap_or(Phase::Idle);
    let pending = stored
        .as_ref()
        .and_then(|s| s.change.as_ref())
        .filter(|c| c.insync_at.is_none())
        .filter(|_| !matches!(cmd.action, Action::Rollback));
    let change_id = pending.and_then(|c| c.id.clone());
    let change_tag = pending
        .filter(|c| c.id.is_none())
        .and_then(|c| c.tag.clone());
    let moving = matches!(
        phase,
        Phase::Canary | Phase::Holding | Phase::Paused | Phase::Completing | Phase::Verifying
    );
    let blue_green = stored
        .as_ref()
        .is_some_and(|s| s.strategy == crate::command::Strategy::BlueGreen);
    let (probe, sources) = match &cmd.action {
        // Blue-green rollback hands the key back to `from` only if its Ingress still claims it
        // (docs/design.md §3.2 step 3); without a listing it parks, so it still needs Route53 only.
        Action::Rollback if blue_green => (false, true),
        // Rollback needs Route53 only (docs/design.md §7.6).
        Action::Rollback
        | Action::Pause
        | Action::Resume
        | Action::SetWeight { .. }
        | Action::Approve
        | Action::Adopt => (false, false),
        Action::Start { .. } => (true, true),
        Action::Handover => (false, true),
        Action::Status | Action::Plan => (moving || phase == Phase::Idle, true),
        Action::Promote | Action::PromoteFull => (true, blue_green),
        Action::Tick => (
            moving,
            matches!(phase, Phase::Completing | Phase::Canary | Phase::Verifying)
                || (blue_green && moving),
        ),
    };
    Needs {
        probe,
        sources,
        change_id,
        change_tag,
    }
}

/// Decides what to do for one service. Pure: same inputs, same decision. Encrypted TXT
/// registry entries count as unreadable (see `decide_with_keys`).
pub fn decide(
    cfg: &Config,
    svc: &ServiceConfig,
    view: &ServiceView,
    cmd: &Command,
    now: Millis,
) -> Decision {
    decide_with_keys(cfg, svc, view, cmd, now, &[])
}

/// `decide`, reading the owners of encrypted TXT registry entries (`--txt-encrypt-enabled`) with
/// `txt_encrypt_keys` — the clusters' AES keys, which the caller reads from the environment,
/// never from the config file. Encrypted entries are still never rewritten
/// (docs/reference/external-dns.md §1 "Encryption").
pub fn decide_with_keys(
    cfg: &Config,
    svc: &ServiceConfig,
    view: &ServiceView,
    cmd: &Command,
    now: Millis,
    txt_encrypt_keys: &[registry::EncryptionKey],
) -> Decision {
    let mut d = dispatch(cfg, svc, view, cmd, now, txt_encrypt_keys);
    d.health = split::health_with_traffic(&view.health, d.traffic.as_ref());
    if let Some(batch) = &d.batch {
        let problems = invariants::check(cfg, svc, &view.records, batch);
        if !problems.is_empty() {
            let mut refused = Decision::new(
                svc,
                DecisionKind::Refused,
                format!(
                    "refused: the planned batch breaks cutover's invariants: {}",
                    problems.join("; ")
                ),
            );
            refused.weights_before = d.weights_before;
            refused.owners = d.owners;
            refused.alerts = d.alerts;
            refused.alerts.extend(problems);
            refused.health = d.health;
            refused.traffic = d.traffic;
            return refused;
        }
    }
    d
}

/// Whether `decision`'s batch sends a traffic change tagged `tag`: its state record leaves the
/// change pending under that tag. The engine records the ids of the requests that carried such
/// batches in the zone's change record (`crate::changes`).
pub fn carries_change_tag(
    cfg: &Config,
    svc: &ServiceConfig,
    decision: &Decision,
    tag: &str,
) -> bool {
    let (Some(name), Some(batch)) = (cfg.state_record_name(svc), decision.batch.as_ref()) else {
        return false;
    };
    batch
        .changes
        .iter()
        .filter(|c| {
            c.action == crate::route53::model::Action::Create
                && c.record.name == name
                && c.record.rtype == crate::route53::model::RecordType::Txt
        })
        .filter_map(|c| State::decode(&name, c.record.values.first()?).ok())
        .any(|st| {
            st.change
                .is_some_and(|c| c.tag.as_deref() == Some(tag) && c.insync_at.is_none())
        })
}

/// Routes a command: the state record read (an unreadable one holds), a replayed event answered
/// as done, then the migration's strategy decides.
fn dispatch(
    cfg: &Config,
    svc: &ServiceConfig,
    view: &ServiceView,
    cmd: &Command,
    now: Millis,
    txt_encrypt_keys: &[registry::EncryptionKey],
) -> Decision {
    let Some(ctx) = Ctx::read(cfg, svc, view, cmd, now, txt_encrypt_keys) else {
        return Decision::new(
            svc,
            DecisionKind::Refused,
            "refused: the state record name is not a valid DNS name",
        );
    };
    let state = match ctx.stored.as_ref().map(|s| &s.state) {
        None => None,
        Some(Ok(st)) => Some(st.clone()),
        Some(Err(e)) => {
            let mut d = ctx.decision(DecisionKind::Hold, format!("hold: {e}"));
            d.alerts.push(format!(
                "{e}; fix or delete the state record by hand, cutover will not overwrite it"
            ));
            return d;
        }
    };
    // Replaying an event changes nothing (docs/design.md §7.8).
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
    let mut d = if is_blue_green(&ctx, state.as_ref()) {
        bluegreen::decide(&ctx, state)
    } else {
        canary::decide(&ctx, state)
    };
    // Parked records without a state record are reported on every command until an operator
    // recovers them (docs/design.md §7.12).
    if d.traffic.is_none() && !ctx.traffic.is_empty() {
        d.traffic = Some(ctx.traffic.clone());
    }
    let recovered = d.writes() && matches!(d.kind, DecisionKind::Rollback | DecisionKind::Adopt);
    if let Some(alert) = orphans::alert(&ctx).filter(|_| !recovered) {
        d.alerts.push(alert);
    }
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
