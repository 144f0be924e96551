//! The pure planner: state + observations + clock + command → one decision with its whole change
//! batch. No I/O and no clock reads: `now` is passed in (PRODUCT.md §3.1, §3.3, §7).
//!
//! Modules: `facts` reads the zone for a hostname, `build` makes compare-and-swap batches,
//! `canary` is the state machine, `handover` the completion rules, `invariants` the self-check
//! every emitted batch passes, `target` the alias records to a cluster's load balancer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::command::{Action, Command};
use crate::config::{Config, ServiceConfig};
use crate::observation::ClusterHealth;
use crate::observation::IngressInfo;
use crate::registry::{self, TxtNaming};
use crate::route53::model::{
    Action as ChangeAction, ChangeBatch, ChangeInfo, ChangeStatus, RecordSet,
};
use crate::state::{self, Phase};
use crate::types::Millis;
use crate::types::{DnsName, Name, Percent};

mod bluegreen;
mod build;
mod canary;
pub mod facts;
mod handover;
pub mod invariants;
mod preflight;
pub mod target;

/// An observation that may have failed (the reason is reported).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Observed<T> {
    Known(T),
    Unavailable(String),
}

/// What the engine observed for one service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceView {
    /// Every rrset of the service's zone whose name is in `names_of_interest()`.
    pub records: Vec<RecordSet>,
    /// The Ingresses of each cluster that carry the service's hostname (the engine filters; the
    /// planner filters again, so passing all is harmless); absent: not listed.
    pub ingresses: BTreeMap<Name, Observed<Vec<IngressInfo>>>,
    /// Health per cluster; absent: not probed.
    pub health: BTreeMap<Name, ClusterHealth>,
    /// GetChange of the state's pending change, if any.
    pub change_status: Option<ChangeStatus>,
}

/// What the engine must observe for a service before `decide`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Needs {
    pub probe: bool,
    pub ingresses: bool,
    pub change_id: Option<String>,
}

/// The share of traffic on each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Weights {
    pub from: Percent,
    pub to: Percent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionKind {
    /// Nothing to do.
    Noop,
    /// Report only.
    Status,
    /// Migration started (simple→weighted or parking of existing weighted records).
    Start,
    /// Moved to the next step.
    Advance,
    /// Waiting (INSYNC, bake time); may write the state record (INSYNC first seen).
    Wait,
    /// Stopped: inconclusive or bad health, both sides bad, drift. Needs attention or time.
    Hold,
    Rollback,
    /// Completed: `from` key deleted and `to` key handed to the `to` cluster.
    Complete,
    /// `to` key handed to the `to` cluster.
    Handover,
    /// Parked `from` key deleted.
    DeleteFrom,
    Paused,
    Resumed,
    /// Held at an operator-chosen share.
    SetWeight,
    /// The command cannot be carried out; nothing changes.
    Refused,
}

/// The planner's answer for one service: the per-service part of the JSON report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub service: Name,
    pub kind: DecisionKind,
    /// One line a human reads.
    pub summary: String,
    /// The whole change incl. the state record CAS; comment holds actor/reason.
    pub batch: Option<ChangeBatch>,
    pub weights_before: Option<Weights>,
    pub weights_after: Option<Weights>,
    /// Key/record → owner id.
    pub owners: BTreeMap<String, String>,
    pub waits_for: Option<String>,
    pub alerts: Vec<String>,
    pub health: BTreeMap<Name, ClusterHealth>,
    /// The zone the batch is for.
    pub zone_id: String,
}

impl Decision {
    pub fn new(svc: &ServiceConfig, kind: DecisionKind, summary: impl Into<String>) -> Decision {
        Decision {
            service: svc.name.clone(),
            kind,
            summary: summary.into(),
            batch: None,
            weights_before: None,
            weights_after: None,
            owners: BTreeMap::new(),
            waits_for: None,
            alerts: Vec::new(),
            health: BTreeMap::new(),
            zone_id: svc.zone_id.clone(),
        }
    }

    /// True when applying this decision writes something.
    pub fn writes(&self) -> bool {
        self.batch.as_ref().is_some_and(|b| !b.changes.is_empty())
    }
}

/// The TXT naming of every configured cluster (to find every variant, whoever wrote it).
pub(crate) fn all_namings(cfg: &Config) -> Vec<TxtNaming> {
    cfg.clusters().map(TxtNaming::of).collect()
}

/// The names the engine must list for a service: the host, every TXT registry variant of every
/// configured cluster's naming, and the state record.
pub fn names_of_interest(cfg: &Config, svc: &ServiceConfig) -> Vec<DnsName> {
    let mut out = vec![svc.hostname.clone()];
    out.extend(registry::all_txt_names(&svc.hostname, &all_namings(cfg)));
    if let Some(s) = cfg.state_record_name(svc) {
        out.push(s);
    }
    out.sort();
    out.dedup();
    out
}

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
    let change_id = stored
        .as_ref()
        .and_then(|s| s.change.as_ref())
        .filter(|c| c.insync_at.is_none())
        .and_then(|c| c.id.clone());
    let moving = matches!(
        phase,
        Phase::Canary | Phase::Holding | Phase::Paused | Phase::Completing | Phase::Verifying
    );
    let blue_green = stored
        .as_ref()
        .is_some_and(|s| s.strategy == crate::command::Strategy::BlueGreen);
    let (probe, ingresses) = match &cmd.action {
        // Blue-green rollback hands the key back to `from` only if its Ingress still claims it
        // (PRODUCT.md §3.2 step 3); without a listing it parks, so it still needs Route53 only.
        Action::Rollback if blue_green => (false, true),
        // Rollback needs Route53 only (PRODUCT.md §7.6).
        Action::Rollback | Action::Pause | Action::Resume | Action::SetWeight { .. } => {
            (false, false)
        }
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
        ingresses,
        change_id: change_id.filter(|_| !matches!(cmd.action, Action::Rollback)),
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
/// never from the config file. Encrypted entries are still never rewritten (reference
/// external-dns.md §1, "Encryption").
pub fn decide_with_keys(
    cfg: &Config,
    svc: &ServiceConfig,
    view: &ServiceView,
    cmd: &Command,
    now: Millis,
    txt_encrypt_keys: &[registry::EncryptionKey],
) -> Decision {
    let mut d = canary::decide(cfg, svc, view, cmd, now, txt_encrypt_keys);
    d.health = view.health.clone();
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
            return refused;
        }
    }
    d
}

/// After the engine applied `decision`'s batch and Route53 answered `change`, the follow-up that
/// records the change id in the state record (needed for the INSYNC gate): DELETE the state
/// record exactly as the batch created it + CREATE it with the id. `None` when the batch wrote no
/// state awaiting an id.
pub fn record_change(
    cfg: &Config,
    svc: &ServiceConfig,
    decision: &Decision,
    change: &ChangeInfo,
) -> Option<ChangeBatch> {
    let name = cfg.state_record_name(svc)?;
    let created = decision.batch.as_ref()?.changes.iter().find(|c| {
        c.action == ChangeAction::Create
            && c.record.name == name
            && c.record.rtype == crate::route53::model::RecordType::Txt
    })?;
    let mut st = state::State::decode(&name, created.record.values.first()?).ok()?;
    let pending = st.change.as_mut()?;
    if pending.id.is_some() {
        return None;
    }
    pending.id = Some(change.id.clone());
    let new = st.to_record(&name).ok()?;
    let mut b = build::BatchBuilder::default();
    b.replace(&created.record, new);
    Some(b.finish(&format!(
        "cutover: record change {} for {}",
        change.id, svc.name
    )))
}
