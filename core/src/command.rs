//! What an invocation asks for, once parsed from any trigger (docs/design.md §5, §6).

use serde::{Deserialize, Serialize};

use crate::types::{Name, Percent};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    Canary,
    BlueGreen,
}

/// The operator commands. Each carries only the parameters it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum Action {
    /// Report, change nothing.
    Status,
    /// What the next tick would do, with the exact batch; writes nothing.
    Plan,
    /// Begin a migration. `to`: the destination cluster (default: the service's configured `to`).
    /// `wave`: a wave of services (docs/design.md §10) — for a command without a service, the
    /// wave to begin; for one service, the wave that starts it.
    Start {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Name>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strategy: Option<Strategy>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wave: Option<WaveStart>,
    },
    Pause,
    Resume,
    /// Take the next step now (no bake wait; still needs INSYNC and good health).
    Promote,
    /// Go to 100 % now.
    PromoteFull,
    /// Abort to `from` = 100, `to` = 0.
    Rollback,
    /// Hold at a chosen share on `to`.
    SetWeight {
        percent: Percent,
    },
    /// Complete now if the handover preconditions hold.
    Handover,
    /// Let a step that asks for approval advance (docs/design.md §3.1 step 2).
    Approve,
    /// Rebuild a lost state record from the zone (records parked under the lease owner id with no
    /// state record, docs/design.md §7.12).
    Adopt,
    /// The schedule's work: advance, roll back or wait, for every active service.
    Tick,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Status => "status",
            Action::Plan => "plan",
            Action::Start { .. } => "start",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Promote => "promote",
            Action::PromoteFull => "promote-full",
            Action::Rollback => "rollback",
            Action::SetWeight { .. } => "set-weight",
            Action::Handover => "handover",
            Action::Approve => "approve",
            Action::Adopt => "adopt",
            Action::Tick => "tick",
        }
    }

    /// Commands that never write.
    pub fn is_read_only(&self) -> bool {
        matches!(self, Action::Status | Action::Plan)
    }

    /// Commands that act on every service when none is named. Any other command must name its
    /// service, or ask for all of them explicitly: one typo must not promote a fleet
    /// (docs/design.md §5).
    pub fn is_fleet_wide_by_default(&self) -> bool {
        matches!(self, Action::Status | Action::Tick)
    }
}

/// A wave to begin: its name, its services and its limits (the config's `[wave]` when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveStart {
    pub name: Name,
    pub selector: crate::wave::Selector,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_active: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failures: Option<u32>,
}

/// Where a command came from. A deploy event is CI reporting what it did, so a start it asks for
/// that makes no sense (toward the serving cluster) is a no-op with its reason, where the same
/// start asked by an operator is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// An operator: a manual invoke, an EventBridge command, the CLI.
    #[default]
    Operator,
    /// An SNS deploy event.
    Deploy,
    /// The EventBridge schedule.
    Schedule,
}

/// One command with who asked, why, and the key that makes its replay a no-op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub action: Action,
    /// `None`: every configured service.
    pub service: Option<Name>,
    pub dry_run: bool,
    pub actor: String,
    pub reason: Option<String>,
    /// Idempotency key: the SNS MessageId, or the manual command's `id`.
    pub id: Option<String>,
    #[serde(default)]
    pub trigger: Trigger,
}

impl Command {
    pub fn tick(actor: &str) -> Command {
        Command {
            action: Action::Tick,
            service: None,
            dry_run: false,
            actor: actor.to_string(),
            reason: None,
            id: None,
            trigger: Trigger::Schedule,
        }
    }
}
