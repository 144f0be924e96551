//! The planner's answer for one service: what to do, the whole change batch, and everything the
//! report says about it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::ServiceConfig;
use crate::observation::ClusterHealth;
use crate::route53::model::ChangeBatch;
use crate::traffic::TrafficReport;
use crate::types::{Millis, Name, Percent};

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
    /// An operator approved the step (`approve`).
    Approved,
    /// Split-horizon: zones of the name are apart (a batch between zones failed); the lagging
    /// ones are brought to the lead's state and the migration waits for that (docs/design.md
    /// §8.1).
    Converge,
    /// A lost state record was rebuilt from the zone (`adopt`).
    Adopt,
    /// The command cannot be carried out; nothing changes.
    Refused,
}

impl DecisionKind {
    /// Its name as the report and the state record write it.
    pub fn name(self) -> &'static str {
        match self {
            DecisionKind::Noop => "noop",
            DecisionKind::Status => "status",
            DecisionKind::Start => "start",
            DecisionKind::Advance => "advance",
            DecisionKind::Wait => "wait",
            DecisionKind::Hold => "hold",
            DecisionKind::Rollback => "rollback",
            DecisionKind::Complete => "complete",
            DecisionKind::Handover => "handover",
            DecisionKind::DeleteFrom => "delete-from",
            DecisionKind::Paused => "paused",
            DecisionKind::Resumed => "resumed",
            DecisionKind::SetWeight => "set-weight",
            DecisionKind::Approved => "approved",
            DecisionKind::Converge => "converge",
            DecisionKind::Adopt => "adopt",
            DecisionKind::Refused => "refused",
        }
    }
}

impl std::fmt::Display for DecisionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
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
    /// The zone the batch is for (a split-horizon name: the zone it was decided on).
    pub zone_id: String,
    /// A split-horizon name: every zone of the name, how it stands and its own batch, in the
    /// order they are sent (docs/design.md §8.1). Empty for a name in one zone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<ZoneBatch>,
    /// The health checks of the step and the rule that decided, when a step was judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    /// When the service's state record was last written (`None`: never): the engine sends the
    /// batches of services written longest ago first.
    #[serde(skip)]
    pub last_written: Option<Millis>,
    /// What real traffic says (docs/design.md §4): alarms and metrics per cluster with their
    /// numbers and rules, and the observed split next to the weight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic: Option<TrafficReport>,
}

/// The analysis of a step (docs/design.md §4): the checks since it began and the rule that
/// decided this time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// The share on `to` being baked.
    pub step: Percent,
    pub checks: CheckCounts,
    /// Bad checks of `to` in a row.
    pub consecutive_bad: u32,
    /// Good checks in a row a step needs (good checks are counted up to this number).
    pub success_threshold: u32,
    /// Bad checks in a row that roll back.
    pub failure_threshold: u32,
    /// Bad checks over the step that roll back.
    pub failure_limit: u32,
    /// The rule that decided, in words.
    pub rule: String,
}

/// The checks of a step by verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckCounts {
    pub good: u32,
    pub bad: u32,
    pub inconclusive: u32,
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
            zones: Vec::new(),
            analysis: None,
            last_written: None,
            traffic: None,
        }
    }

    /// True when applying this decision writes something (in any of its zones).
    pub fn writes(&self) -> bool {
        self.batch.as_ref().is_some_and(|b| !b.changes.is_empty())
            || self
                .zones
                .iter()
                .any(|z| z.batch.as_ref().is_some_and(|b| !b.changes.is_empty()))
    }
}

impl Weights {
    /// `to` at `p`, `from` at the rest.
    pub fn of(p: Percent) -> Weights {
        Weights {
            from: p.complement(),
            to: p,
        }
    }
}

/// How one zone of a split-horizon name stands against the zone it is decided on (the lead;
/// docs/design.md §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standing {
    /// The zone the decision was taken on: its state record was written last.
    Lead,
    /// Holds exactly the lead's records: the decision's batch applies to it as it is.
    InStep,
    /// Behind the lead (a batch between zones failed): converged to the lead's records.
    Lagging,
    /// Differs in a way no write of cutover explains: left as it is, reported.
    Disagrees,
}

/// One zone's part of a decision, as the report shows it and the engine sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneBatch {
    pub zone_id: String,
    pub standing: Standing,
    /// Why a zone lags or disagrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<ChangeBatch>,
}
