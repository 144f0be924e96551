//! WAVES (docs/design.md §10): before a fleet-wide tick decides, each running wave is planned
//! from its members' state records (`cutover_core::wave`, pure), and the queued services it
//! starts now are given a start command; the waves record is written when a wave begins, stops
//! or is done. A `start` with a wave begins one: the waves record first, then its first
//! `max_active` services in the same invocation.

use std::collections::BTreeMap;

use serde::Serialize;

use cutover_core::command::{Action, Command, WaveStart};
use cutover_core::config::{Config, ServiceConfig};
use cutover_core::route53::model::{RecordSet, RecordType};
use cutover_core::state;
use cutover_core::types::{DnsName, Millis, Name};
use cutover_core::wave::{self, Member, Wave, WavePlan, WaveStatus, Waves};

use super::apply::write_own_record;
use super::observe::Observations;
use super::retry::Deadline;
use super::Context;

/// A wave as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WaveReport {
    pub name: Name,
    pub status: &'static str,
    /// Which services: `every service`, `services a, b`, `services matching "pay*"`…
    pub services: String,
    pub max_active: u32,
    pub max_failures: u32,
    pub queued: usize,
    /// The first queued services, in the order they start.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<Name>,
    pub active: Vec<Name>,
    pub done: usize,
    pub rolled_back: Vec<Name>,
    /// Services this invocation started for the wave.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub started: Vec<Name>,
    /// Queued services that could not start now, and why.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub blocked: BTreeMap<Name, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
}

/// How many queued services are shown as `next`.
const NEXT_SHOWN: usize = 5;

/// The waves of one invocation: the record as listed, the plans, and the start commands.
pub(super) struct WaveWork {
    zone_id: String,
    name: DnsName,
    listed: Option<RecordSet>,
    waves: Waves,
    plans: Vec<WavePlan>,
    /// service → the start command its wave gives it (the first `slots` of each queue, and as
    /// many spare ones in case some cannot start).
    pub(super) starts: BTreeMap<Name, Command>,
    /// wave → how many of its candidates may start.
    slots: BTreeMap<Name, usize>,
    /// The record must be written: a wave began, stopped or is done.
    dirty: bool,
    /// Set when the command began a wave: nothing else is decided.
    pub(super) began: Option<Name>,
    started: BTreeMap<Name, Vec<Name>>,
    blocked: BTreeMap<Name, BTreeMap<Name, String>>,
    errors: Vec<String>,
}

/// Whether this command looks at waves: a fleet-wide tick, status or plan, or a wave start.
pub(super) fn concerns_waves(cmd: &Command) -> bool {
    match &cmd.action {
        Action::Start { wave: Some(_), .. } => cmd.service.is_none(),
        Action::Tick | Action::Status | Action::Plan => cmd.service.is_none(),
        _ => false,
    }
}

/// The services a wave start acts on: its members.
pub(super) fn members_of_start<'c>(
    cfg: &'c Config,
    cmd: &Command,
) -> Option<Vec<&'c ServiceConfig>> {
    match &cmd.action {
        Action::Start {
            wave: Some(start), ..
        } if cmd.service.is_none() => Some(start.selector.members(cfg)),
        _ => None,
    }
}

/// Plans every running wave (and the one a wave start begins) from the listing in `obs`.
/// `None` when the waves' zone was not listed.
pub(super) fn plan_waves(
    ctx: &Context,
    obs: &Observations,
    cmd: &Command,
    now: Millis,
) -> Result<Option<WaveWork>, String> {
    let cfg = &ctx.config;
    let Some(zone_id) = wave::home_zone(cfg) else {
        return Ok(None);
    };
    if !obs.listed(zone_id) {
        // A wave cannot begin without its record; a tick decides its services without waves.
        return match members_of_start(cfg, cmd) {
            Some(_) => Err(format!(
                "zone {zone_id}, which holds the waves record, could not be listed: the wave \
                 does not begin"
            )),
            None => Ok(None),
        };
    }
    let zone_name = cfg
        .zone(zone_id)
        .map(|z| z.name.clone())
        .ok_or_else(|| format!("zone {zone_id} is not configured"))?;
    let name = wave::record_name(&cfg.state_record_prefix, &zone_name)
        .ok_or_else(|| "the waves record's name is not a valid DNS name".to_string())?;
    let listed = obs.record_at(zone_id, &name, &RecordType::Txt);
    let waves = match &listed {
        Some(record) => Waves::decode(&name, record)
            .map_err(|e| format!("{e}; fix or delete it by hand, cutover will not overwrite it"))?,
        None => Waves::default(),
    };
    let mut work = WaveWork {
        zone_id: zone_id.to_string(),
        name,
        listed,
        waves,
        plans: Vec::new(),
        starts: BTreeMap::new(),
        slots: BTreeMap::new(),
        dirty: false,
        began: None,
        started: BTreeMap::new(),
        blocked: BTreeMap::new(),
        errors: Vec::new(),
    };
    if let Action::Start {
        wave: Some(start), ..
    } = &cmd.action
    {
        if let Some(running) = work
            .waves
            .get(&start.name)
            .filter(|w| w.status == WaveStatus::Running)
        {
            return Err(format!(
                "wave {} is already running ({}, since {}); each tick starts its next services",
                running.name,
                running.selector.describe(),
                running.started_at
            ));
        }
        if start.selector.members(cfg).is_empty() {
            return Err(format!(
                "wave {}: {} selects no configured service",
                start.name,
                start.selector.describe()
            ));
        }
        let wave = Wave::new(
            start.name.clone(),
            start.selector.clone(),
            start.max_active.unwrap_or(cfg.wave.max_active),
            start.max_failures.unwrap_or(cfg.wave.max_failures),
            now,
            &cmd.actor,
            cmd.reason.as_deref(),
        );
        work.waves.put(wave);
        work.dirty = true;
        work.began = Some(start.name.clone());
    }
    let starts_now = matches!(
        cmd.action,
        Action::Tick | Action::Plan | Action::Start { .. }
    );
    let mut claimed: Vec<Name> = Vec::new();
    for w in work.waves.waves.clone() {
        if work.began.as_ref().is_some_and(|b| b != &w.name) {
            continue;
        }
        let members: Vec<&ServiceConfig> = w.selector.members(cfg);
        let states: Vec<(Name, Option<state::State>)> = members
            .iter()
            .map(|svc| {
                let st = cfg
                    .state_record_name(svc)
                    .and_then(|n| state::find(&obs.records_of(svc), &n))
                    .and_then(|s| s.state.ok());
                (svc.name.clone(), st)
            })
            .collect();
        let refs: Vec<(Name, Option<&state::State>)> = states
            .iter()
            .map(|(n, st)| (n.clone(), st.as_ref()))
            .collect();
        let plan = wave::plan(&w, &refs, now);
        if plan.changed {
            work.waves.put(plan.wave.clone());
            work.dirty = true;
        }
        for alert in &plan.alerts {
            tracing::warn!(wave = %w.name, alert = %alert, "wave");
        }
        if starts_now && plan.slots > 0 {
            let candidates = plan
                .queue
                .iter()
                .filter(|n| !claimed.contains(n))
                .take(plan.slots.saturating_mul(2))
                .cloned()
                .collect::<Vec<_>>();
            for service in candidates {
                claimed.push(service.clone());
                work.starts
                    .insert(service.clone(), start_command(&plan.wave, &service, cmd));
            }
            work.slots.insert(w.name.clone(), plan.slots);
        }
        work.plans.push(plan);
    }
    Ok(Some(work))
}

/// The start a wave gives one of its services.
fn start_command(w: &Wave, service: &Name, cmd: &Command) -> Command {
    Command {
        action: Action::Start {
            to: None,
            strategy: None,
            version: None,
            wave: Some(WaveStart {
                name: w.name.clone(),
                selector: w.selector.clone(),
                max_active: Some(w.max_active),
                max_failures: Some(w.max_failures),
            }),
        },
        service: Some(service.clone()),
        dry_run: cmd.dry_run,
        actor: cmd.actor.clone(),
        reason: Some(format!("wave {}", w.name)),
        id: None,
        trigger: cmd.trigger,
    }
}

impl WaveWork {
    /// The wave a service's start belongs to.
    fn wave_of(&self, service: &Name) -> Option<Name> {
        match &self.starts.get(service)?.action {
            Action::Start { wave: Some(w), .. } => Some(w.name.clone()),
            _ => None,
        }
    }

    /// Takes a candidate's start decision: `true` when it is one of the wave's starts this time
    /// (a start with a batch, within the wave's slots); `false` sends the service back to the
    /// queue (decided like the rest), with why when the start was refused.
    pub(super) fn take(&mut self, service: &Name, kind_is_start: bool, why: &str) -> bool {
        let Some(wave) = self.wave_of(service) else {
            return false;
        };
        if !kind_is_start {
            self.blocked
                .entry(wave)
                .or_default()
                .insert(service.clone(), why.to_string());
            return false;
        }
        let slots = self.slots.get(&wave).copied().unwrap_or(0);
        let started = self.started.entry(wave).or_default();
        if started.contains(service) {
            // Planned again after a lost compare-and-swap: still one of the starts.
            return true;
        }
        if started.len() >= slots {
            return false;
        }
        started.push(service.clone());
        true
    }

    /// A wave start whose waves record could not be written starts nothing.
    pub(super) fn began_and_failed(&self) -> bool {
        self.began.is_some() && !self.errors.is_empty()
    }

    /// Writes the waves record when a wave began, stopped or is done (dry runs and read-only
    /// commands write nothing).
    pub(super) async fn write(&mut self, ctx: &Context, deadline: Deadline) {
        if !self.dirty {
            return;
        }
        let mine = self.waves.clone();
        let name = self.name.clone();
        let comment = match &self.began {
            Some(w) => format!("cutover: wave {w} begins"),
            None => "cutover: waves".to_string(),
        };
        let result = write_own_record(
            ctx,
            deadline,
            &self.zone_id,
            &self.name,
            self.listed.clone(),
            &comment,
            |listed| {
                // Another invocation's waves are kept; this one's changes go on top.
                let mut waves = match listed {
                    Some(r) => Waves::decode(&name, r).map_err(|e| e.to_string())?,
                    None => Waves::default(),
                };
                for w in &mine.waves {
                    let theirs = waves.get(&w.name);
                    let newer = theirs.is_none_or(|t| t.status == WaveStatus::Running);
                    if newer {
                        waves.put(w.clone());
                    }
                }
                waves.to_record(&name).map_err(|e| e.to_string())
            },
        )
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "writing the waves record failed");
            self.errors
                .push(format!("writing the waves record failed: {e}"));
        }
    }

    /// The waves for the report, with what this invocation started.
    pub(super) fn report(&self) -> Vec<WaveReport> {
        self.plans
            .iter()
            .map(|p| {
                let w = &p.wave;
                let started = self.started.get(&w.name).cloned().unwrap_or_default();
                let queued: Vec<Name> = p
                    .queue
                    .iter()
                    .filter(|n| !started.contains(n))
                    .cloned()
                    .collect();
                let mut active: Vec<Name> = p.with(Member::Active).into_iter().cloned().collect();
                active.extend(started.iter().cloned());
                active.sort();
                let mut alerts = p.alerts.clone();
                alerts.extend(self.errors.iter().cloned());
                WaveReport {
                    name: w.name.clone(),
                    status: w.status.name(),
                    services: w.selector.describe(),
                    max_active: w.max_active,
                    max_failures: w.max_failures,
                    queued: queued.len(),
                    next: queued.iter().take(NEXT_SHOWN).cloned().collect(),
                    active,
                    done: p.count(Member::Done),
                    rolled_back: p.with(Member::RolledBack).into_iter().cloned().collect(),
                    started,
                    blocked: self.blocked.get(&w.name).cloned().unwrap_or_default(),
                    stopped: w.stopped.clone(),
                    alerts,
                }
            })
            .collect()
    }
}
