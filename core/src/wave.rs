//! Waves (docs/design.md §10): a fleet migrated a few services at a time. A wave is a set of
//! services (every one, a list, a glob on their names, or a label) with at most `max_active`
//! canaries in progress at once and the rest queued in name order; the next service starts when
//! one completes, and the wave stops starting services after `max_failures` of its own have
//! rolled back, with an alert.
//!
//! Pure: the wave + the states of its members + the clock → which services start and what the
//! wave's status is. Nothing here reads the zone; the engine hands the states over. The waves of
//! a configuration live in one TXT record, `<state_record_prefix>_waves.<zone>` in the zone of
//! the first configured service, written with a compare-and-swap like a state record
//! (docs/state-record.md "The waves record").

use std::collections::BTreeMap;

use crate::config::{Config, ServiceConfig};
use crate::route53::model::{RecordSet, RecordType};
use crate::state::{
    cut_bytes, escape_field as escape, unescape_field as unescape, Phase, State, MAX_ACTOR_BYTES,
    MAX_REASON_BYTES, STATE_TTL,
};
use crate::txt;
use crate::types::{DnsName, Millis, Name};

/// The format version written into `v=`.
pub const WAVES_VERSION: u32 = 1;
/// The label under the state record prefix that names the record.
pub const WAVES_LABEL: &str = "_waves";
/// Finished waves kept in the record (for `status`), newest first; older ones are dropped.
pub const KEEP_FINISHED: usize = 8;

/// The waves record's name in a zone: `<prefix>_waves.<zone>`.
pub fn record_name(state_prefix: &str, zone: &DnsName) -> Option<DnsName> {
    DnsName::parse(&format!("{state_prefix}{WAVES_LABEL}.{zone}")).ok()
}

/// The zone whose waves record holds the configuration's waves: the zone of the first service.
pub fn home_zone(cfg: &Config) -> Option<&str> {
    cfg.services().next().map(|s| s.zone_id.as_str())
}

/// Which services a wave migrates.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Selector {
    /// Every configured service.
    All,
    /// These services.
    Names(Vec<Name>),
    /// The services whose name matches a glob (`*` any run of characters, `?` one).
    Match(String),
    /// The services with this label (`services.<name>.labels`).
    Label { key: String, value: String },
}

impl Selector {
    /// Whether `svc` belongs to the wave.
    pub fn selects(&self, svc: &ServiceConfig) -> bool {
        match self {
            Selector::All => true,
            Selector::Names(names) => names.contains(&svc.name),
            Selector::Match(glob) => glob_matches(glob, svc.name.as_str()),
            Selector::Label { key, value } => svc.labels.get(key) == Some(value),
        }
    }

    /// The configured services it selects, in name order (the queue's order).
    pub fn members<'c>(&self, cfg: &'c Config) -> Vec<&'c ServiceConfig> {
        cfg.services().filter(|s| self.selects(s)).collect()
    }

    /// For messages: `all`, `services a, b`, `services matching "pay*"`, `label team=payments`.
    pub fn describe(&self) -> String {
        match self {
            Selector::All => "every service".to_string(),
            Selector::Names(names) => format!(
                "services {}",
                names
                    .iter()
                    .map(Name::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Selector::Match(glob) => format!("services matching {}", crate::text::quoted(glob)),
            Selector::Label { key, value } => format!("services labelled {key}={value}"),
        }
    }

    fn encode(&self) -> String {
        match self {
            Selector::All => "all".to_string(),
            Selector::Names(names) => format!(
                "names:{}",
                names.iter().map(Name::as_str).collect::<Vec<_>>().join(",")
            ),
            Selector::Match(glob) => format!("match:{}", escape(glob)),
            Selector::Label { key, value } => format!("label:{}:{}", escape(key), escape(value)),
        }
    }

    fn decode(s: &str) -> Result<Selector, String> {
        if s == "all" {
            return Ok(Selector::All);
        }
        if let Some(list) = s.strip_prefix("names:") {
            return list
                .split(',')
                .map(|n| Name::new(n).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()
                .map(Selector::Names);
        }
        if let Some(glob) = s.strip_prefix("match:") {
            return unescape(glob).map(Selector::Match);
        }
        if let Some(label) = s.strip_prefix("label:") {
            let (key, value) = label
                .split_once(':')
                .ok_or_else(|| format!("label selector {label} is not key:value"))?;
            return Ok(Selector::Label {
                key: unescape(key)?,
                value: unescape(value)?,
            });
        }
        Err(format!("unknown selector {s}"))
    }
}

/// `*` matches any run of characters, `?` exactly one; everything else itself.
pub fn glob_matches(glob: &str, name: &str) -> bool {
    let (g, n): (Vec<char>, Vec<char>) = (glob.chars().collect(), name.chars().collect());
    // Classic two-pointer match with backtracking to the last `*`.
    let (mut gi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match g.get(gi) {
            Some('*') => {
                star = Some((gi, ni));
                gi += 1;
            }
            Some(c) if *c == '?' || Some(c) == n.get(ni) => {
                gi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sg, sn)) => {
                    gi = sg + 1;
                    ni = sn + 1;
                    star = Some((sg, sn + 1));
                }
                None => return false,
            },
        }
    }
    g.get(gi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// Where a wave stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaveStatus {
    /// Starting queued services as slots free up.
    Running,
    /// `max_failures` of its services rolled back: no service is started any more.
    Stopped,
    /// Every service completed or rolled back.
    Done,
}

impl WaveStatus {
    pub fn name(self) -> &'static str {
        match self {
            WaveStatus::Running => "running",
            WaveStatus::Stopped => "stopped",
            WaveStatus::Done => "done",
        }
    }

    fn parse(s: &str) -> Result<WaveStatus, String> {
        match s {
            "running" => Ok(WaveStatus::Running),
            "stopped" => Ok(WaveStatus::Stopped),
            "done" => Ok(WaveStatus::Done),
            other => Err(format!("unknown wave status {other}")),
        }
    }
}

impl std::fmt::Display for WaveStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One wave as the waves record keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wave {
    pub name: Name,
    pub selector: Selector,
    pub max_active: u32,
    pub max_failures: u32,
    /// When the wave began: rollbacks before it are not its failures.
    pub started_at: Millis,
    pub status: WaveStatus,
    /// Why it stopped, once it did.
    pub stopped: Option<String>,
    /// When its status last changed.
    pub at: Millis,
    pub actor: String,
    pub reason: Option<String>,
}

/// Where one service of a wave stands, from its state record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Member {
    /// Not started by the wave yet.
    Queued,
    /// A migration in progress (whoever started it): it takes one of the wave's slots.
    Active,
    /// Migrated.
    Done,
    /// Rolled back since the wave began, while the wave ran it: one of the wave's failures.
    RolledBack,
}

impl Member {
    pub fn name(self) -> &'static str {
        match self {
            Member::Queued => "queued",
            Member::Active => "active",
            Member::Done => "done",
            Member::RolledBack => "rolled-back",
        }
    }
}

/// A service's standing in `wave`, from its state record (`None`: it has none, or it cannot be
/// read — it is then queued, and its start says why it cannot begin).
pub fn member(wave: &Wave, state: Option<&State>) -> Member {
    let Some(st) = state else {
        return Member::Queued;
    };
    match st.phase {
        Phase::Completed => Member::Done,
        Phase::RolledBack
            if st.wave.as_deref() == Some(wave.name.as_str()) && st.at >= wave.started_at =>
        {
            Member::RolledBack
        }
        Phase::RolledBack | Phase::Idle => Member::Queued,
        Phase::Canary | Phase::Paused | Phase::Holding | Phase::Completing | Phase::Verifying => {
            Member::Active
        }
    }
}

/// What the wave planner decided for one wave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavePlan {
    /// The wave with its new status (equal to the old one when nothing changed).
    pub wave: Wave,
    /// Whether the waves record must be written (the status changed).
    pub changed: bool,
    /// How many services may start now.
    pub slots: usize,
    /// The queued services in order: the engine starts the first `slots` that can start.
    pub queue: Vec<Name>,
    /// Each member's standing.
    pub members: BTreeMap<Name, Member>,
    /// To tell people: the wave stopped, or it is done.
    pub alerts: Vec<String>,
}

impl WavePlan {
    pub fn count(&self, which: Member) -> usize {
        self.members.values().filter(|m| **m == which).count()
    }

    /// The members in one standing, in name order.
    pub fn with(&self, which: Member) -> Vec<&Name> {
        self.members
            .iter()
            .filter(|(_, m)| **m == which)
            .map(|(n, _)| n)
            .collect()
    }
}

/// Plans one wave: its members' standings, whether it stops (`max_failures` rollbacks) or is
/// done, and how many queued services may start (`max_active` less those active). A stopped or
/// done wave starts nothing.
pub fn plan(wave: &Wave, members: &[(Name, Option<&State>)], now: Millis) -> WavePlan {
    let standings: BTreeMap<Name, Member> = members
        .iter()
        .map(|(n, st)| (n.clone(), member(wave, *st)))
        .collect();
    let count = |which: Member| standings.values().filter(|m| **m == which).count();
    let (active, failed, queued) = (
        count(Member::Active),
        count(Member::RolledBack),
        count(Member::Queued),
    );
    let mut next = wave.clone();
    let mut alerts = Vec::new();
    if wave.status == WaveStatus::Running {
        let limit = usize::try_from(wave.max_failures).unwrap_or(usize::MAX);
        if failed >= limit {
            let failed_names: Vec<&str> = standings
                .iter()
                .filter(|(_, m)| **m == Member::RolledBack)
                .map(|(n, _)| n.as_str())
                .collect();
            let why = format!(
                "{failed} of its services rolled back ({}), max_failures is {}: no further \
                 service starts; {active} still active, {queued} left queued",
                failed_names.join(", "),
                wave.max_failures
            );
            next.status = WaveStatus::Stopped;
            next.stopped = Some(why.clone());
            next.at = now;
            alerts.push(format!("wave {} stopped: {why}", wave.name));
        } else if queued == 0 && active == 0 {
            next.status = WaveStatus::Done;
            next.at = now;
            alerts.push(format!(
                "wave {} done: {} migrated, {failed} rolled back",
                wave.name,
                count(Member::Done)
            ));
        }
    }
    let slots = if next.status == WaveStatus::Running {
        usize::try_from(wave.max_active)
            .unwrap_or(usize::MAX)
            .saturating_sub(active)
    } else {
        0
    };
    let queue = standings
        .iter()
        .filter(|(_, m)| **m == Member::Queued)
        .map(|(n, _)| n.clone())
        .collect();
    WavePlan {
        changed: next != *wave,
        wave: next,
        slots,
        queue,
        members: standings,
        alerts,
    }
}

// ---------------------------------------------------------------------------------------------
// The waves record

/// Every wave of a configuration, as the waves record holds them, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Waves {
    pub waves: Vec<Wave>,
}

/// Why a waves record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("waves record {name}: {reason}")]
pub struct WavesError {
    pub name: String,
    pub reason: String,
}

impl Waves {
    pub fn get(&self, name: &Name) -> Option<&Wave> {
        self.waves.iter().find(|w| &w.name == name)
    }

    /// Adds `wave`, or replaces the one of the same name; keeps at most [`KEEP_FINISHED`]
    /// finished waves (the oldest go first).
    pub fn put(&mut self, wave: Wave) {
        match self.waves.iter_mut().find(|w| w.name == wave.name) {
            Some(w) => *w = wave,
            None => self.waves.push(wave),
        }
        while self
            .waves
            .iter()
            .filter(|w| w.status != WaveStatus::Running)
            .count()
            > KEEP_FINISHED
        {
            let oldest = self
                .waves
                .iter()
                .enumerate()
                .filter(|(_, w)| w.status != WaveStatus::Running)
                .min_by_key(|(_, w)| w.at)
                .map(|(i, _)| i);
            match oldest {
                Some(i) => {
                    self.waves.remove(i);
                }
                None => break,
            }
        }
    }

    fn text(&self) -> String {
        let mut out = format!("v={WAVES_VERSION}");
        for w in &self.waves {
            out.push_str(&format!(
                " w={} sel={} ma={} mf={} since={} st={} at={} a={}",
                w.name,
                w.selector.encode(),
                w.max_active,
                w.max_failures,
                w.started_at,
                w.status.name(),
                w.at,
                escape(&w.actor)
            ));
            if let Some(r) = &w.reason {
                out.push_str(&format!(" r={}", escape(r)));
            }
            if let Some(s) = &w.stopped {
                out.push_str(&format!(" why={}", escape(s)));
            }
        }
        out
    }

    /// The TXT rrset holding these waves at `name`. A record too long for one value keeps the
    /// running waves and as many finished ones as fit.
    pub fn to_record(&self, name: &DnsName) -> Result<RecordSet, txt::TxtError> {
        let mut waves = self.clone();
        let value = loop {
            match txt::render(&waves.text()) {
                Ok(v) => break v,
                Err(e) => {
                    let oldest_finished = waves
                        .waves
                        .iter()
                        .enumerate()
                        .filter(|(_, w)| w.status != WaveStatus::Running)
                        .min_by_key(|(_, w)| w.at)
                        .map(|(i, _)| i);
                    match oldest_finished {
                        Some(i) => {
                            waves.waves.remove(i);
                        }
                        None => return Err(e),
                    }
                }
            }
        };
        Ok(RecordSet {
            name: name.clone(),
            rtype: RecordType::Txt,
            set_identifier: None,
            weight: None,
            ttl: Some(STATE_TTL),
            values: vec![value],
            alias: None,
            health_check_id: None,
            other_policy: None,
        })
    }

    /// Reads the record as listed.
    pub fn decode(name: &DnsName, record: &RecordSet) -> Result<Waves, WavesError> {
        let bad = |reason: String| WavesError {
            name: name.to_string(),
            reason,
        };
        let value = match record.values.as_slice() {
            [one] => one,
            other => return Err(bad(format!("{} values, expected one", other.len()))),
        };
        let text = txt::text(value).map_err(|e| bad(e.to_string()))?;
        let mut tokens = text.split(' ').filter(|t| !t.is_empty());
        match tokens.next() {
            Some(v) if v == format!("v={WAVES_VERSION}") => {}
            Some(v) => return Err(bad(format!("unknown version field {v}"))),
            None => return Err(bad("empty".into())),
        }
        // `w=` starts a wave; the fields after it belong to it.
        let mut groups: Vec<BTreeMap<&str, &str>> = Vec::new();
        for token in tokens {
            let (key, value) = token
                .split_once('=')
                .ok_or_else(|| bad(format!("field {token} has no '='")))?;
            if key == "w" {
                groups.push(BTreeMap::new());
            }
            let group = groups
                .last_mut()
                .ok_or_else(|| bad(format!("field {key} before any wave")))?;
            group.insert(key, value);
        }
        let waves = groups
            .iter()
            .map(|g| read_wave(g).map_err(&bad))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Waves { waves })
    }
}

fn read_wave(g: &BTreeMap<&str, &str>) -> Result<Wave, String> {
    let need = |key: &str| g.get(key).copied().ok_or_else(|| format!("no field {key}"));
    let number = |key: &str| -> Result<u32, String> {
        need(key)?
            .parse()
            .map_err(|_| format!("{key}: not a number"))
    };
    let millis = |key: &str| -> Result<Millis, String> {
        need(key)?.parse().map_err(|_| format!("{key}: not a time"))
    };
    Ok(Wave {
        name: Name::new(need("w")?).map_err(|e| e.to_string())?,
        selector: Selector::decode(need("sel")?)?,
        max_active: number("ma")?,
        max_failures: number("mf")?,
        started_at: millis("since")?,
        status: WaveStatus::parse(need("st")?)?,
        stopped: g.get("why").map(|s| unescape(s)).transpose()?,
        at: millis("at")?,
        actor: unescape(need("a")?)?,
        reason: g.get("r").map(|s| unescape(s)).transpose()?,
    })
}

impl Wave {
    /// A new running wave.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: Name,
        selector: Selector,
        max_active: u32,
        max_failures: u32,
        now: Millis,
        actor: &str,
        reason: Option<&str>,
    ) -> Wave {
        Wave {
            name,
            selector,
            max_active,
            max_failures,
            started_at: now,
            status: WaveStatus::Running,
            stopped: None,
            at: now,
            actor: cut_bytes(actor, MAX_ACTOR_BYTES),
            reason: reason.map(|r| cut_bytes(r, MAX_REASON_BYTES)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Strategy;
    use crate::types::Percent;

    fn n(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn wave(max_active: u32, max_failures: u32) -> Wave {
        Wave::new(
            n("fleet-1"),
            Selector::All,
            max_active,
            max_failures,
            1_000,
            "alice",
            Some("move the fleet"),
        )
    }

    fn state(phase: Phase, wave: Option<&str>, at: Millis) -> State {
        let mut st = State::new(Strategy::Canary, n("blue"), n("green"), Percent::ZERO, at);
        st.phase = phase;
        st.wave = wave.map(str::to_string);
        st
    }

    #[test]
    fn globs_match_whole_names() {
        assert!(glob_matches("pay*", "payments"));
        assert!(glob_matches("*", "x"));
        assert!(glob_matches("s?c*-api", "svc42-api"));
        assert!(glob_matches("*-api", "a-b-api"));
        assert!(!glob_matches("pay*", "xpayments"));
        assert!(!glob_matches("s?c", "sc"));
        assert!(!glob_matches("api", "api2"));
    }

    #[test]
    fn slots_fill_from_the_queue_in_name_order() {
        let w = wave(2, 2);
        let active = state(Phase::Canary, Some("fleet-1"), 2_000);
        let done = state(Phase::Completed, Some("fleet-1"), 2_000);
        let members = vec![
            (n("a"), Some(&done)),
            (n("b"), Some(&active)),
            (n("c"), None),
            (n("d"), None),
        ];
        let p = plan(&w, &members, 3_000);
        assert_eq!(p.slots, 1);
        assert_eq!(p.queue, vec![n("c"), n("d")]);
        assert!(!p.changed && p.alerts.is_empty());
        assert_eq!(p.count(Member::Done), 1);
    }

    #[test]
    fn the_wave_stops_at_max_failures_and_starts_nothing() {
        let w = wave(5, 2);
        let failed = state(Phase::RolledBack, Some("fleet-1"), 2_000);
        let before = state(Phase::RolledBack, Some("fleet-1"), 500);
        let other = state(Phase::RolledBack, Some("other"), 2_000);
        let one = vec![(n("a"), Some(&failed)), (n("b"), None)];
        assert_eq!(plan(&w, &one, 3_000).wave.status, WaveStatus::Running);
        // A rollback from before the wave, or from another wave, is not its failure: queued.
        let p = plan(
            &w,
            &[
                (n("a"), Some(&failed)),
                (n("b"), Some(&before)),
                (n("c"), Some(&other)),
            ],
            3_000,
        );
        assert_eq!(
            (p.wave.status, p.count(Member::Queued)),
            (WaveStatus::Running, 2)
        );
        let two = vec![
            (n("a"), Some(&failed)),
            (n("b"), Some(&failed)),
            (n("c"), None),
        ];
        let p = plan(&w, &two, 3_000);
        assert_eq!(p.wave.status, WaveStatus::Stopped);
        assert!(p.changed && p.slots == 0);
        assert!(p.alerts[0].contains("a, b"), "{}", p.alerts[0]);
        // Once stopped, it stays stopped and starts nothing.
        let again = plan(&p.wave, &[(n("c"), None)], 4_000);
        assert_eq!(
            (again.wave.status, again.slots, again.changed),
            (WaveStatus::Stopped, 0, false)
        );
    }

    #[test]
    fn the_wave_is_done_when_nothing_is_queued_or_active() {
        let w = wave(5, 3);
        let done = state(Phase::Completed, None, 2_000);
        let failed = state(Phase::RolledBack, Some("fleet-1"), 2_000);
        let p = plan(&w, &[(n("a"), Some(&done)), (n("b"), Some(&failed))], 3_000);
        assert_eq!(p.wave.status, WaveStatus::Done);
        assert!(p.changed);
    }

    #[test]
    fn the_record_round_trips() {
        let mut waves = Waves::default();
        waves.put(wave(5, 2));
        let mut w2 = wave(1, 1);
        w2.name = n("pay");
        w2.selector = Selector::Match("pay* x".into());
        w2.status = WaveStatus::Stopped;
        w2.stopped = Some("2 of its services rolled back (a, b)".into());
        waves.put(w2);
        let mut w3 = wave(1, 1);
        w3.name = n("team");
        w3.selector = Selector::Label {
            key: "team".into(),
            value: "pay:ments".into(),
        };
        waves.put(w3);
        let mut w4 = wave(1, 1);
        w4.name = n("list");
        w4.selector = Selector::Names(vec![n("a"), n("b")]);
        waves.put(w4);
        let name = record_name("_cutover.", &DnsName::parse("example.com").unwrap()).unwrap();
        assert_eq!(name.as_str(), "_cutover._waves.example.com");
        let record = waves.to_record(&name).unwrap();
        assert_eq!(Waves::decode(&name, &record).unwrap(), waves);
    }

    #[test]
    fn finished_waves_beyond_the_limit_are_dropped() {
        let mut waves = Waves::default();
        for i in 0..(KEEP_FINISHED as i64 + 3) {
            let mut w = wave(1, 1);
            w.name = n(&format!("w{i}"));
            w.status = WaveStatus::Done;
            w.at = i;
            waves.put(w);
        }
        waves.put(wave(1, 1));
        assert_eq!(waves.waves.len(), KEEP_FINISHED + 1);
        assert!(waves.get(&n("w0")).is_none() && waves.get(&n("fleet-1")).is_some());
    }
}
