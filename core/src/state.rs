//! The state record: one TXT rrset per service at `<prefix><hostname>` (default
//! `_cutover.payments.example.com`), holding a versioned compact JSON document. It is the only
//! store cutover needs; every write of it is a compare-and-swap (DELETE exact old + CREATE new, in
//! the same batch as the traffic records — docs/design.md §7.5). Format: docs/state-record.md.
//!
//! Version 2 (written since the fleet work) is a line of `key=value` fields that needs no TXT
//! escape, so that a tick's record is one string of at most 255 characters and a fleet's state
//! records never decide how many requests a tick takes (docs/design.md §10); version 1 (compact
//! JSON) is still read.

mod v2;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::command::Strategy;
use crate::route53::model::{RecordSet, RecordType};
use crate::txt::{self, TxtError};
use crate::types::Millis;
use crate::types::{DnsName, Name, Percent};

/// The format version written (`v=2`).
pub const STATE_VERSION: u32 = 2;
/// The first format version: compact JSON, still read.
pub const STATE_VERSION_JSON: u32 = 1;
/// TTL of the state record.
pub const STATE_TTL: u32 = 300;
/// How many processed event ids are kept for idempotency (oldest dropped first).
pub const MAX_EVENTS: usize = 12;
/// Longest reason kept, in bytes (a character may take four, and each non-ASCII byte takes four
/// characters in a TXT value): longer reasons are cut, ending with `…`.
pub const MAX_REASON_BYTES: usize = 160;
/// Longest actor kept, in bytes; cut like a reason.
pub const MAX_ACTOR_BYTES: usize = 64;
/// What a cut text ends with.
pub const CUT_MARKER: char = '…';

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("state record {name}: {reason}")]
    Malformed { name: String, reason: String },
    #[error("state record {name}: format version {found} is newer than this cutover understands ({STATE_VERSION})")]
    UnknownVersion { name: String, found: u64 },
    #[error("state record does not fit one TXT value: {0}")]
    TooLong(#[from] TxtError),
    #[error("state record cannot be serialised: {0}")]
    Encode(String),
}

/// Where a service's migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// No migration running.
    Idle,
    /// Stepping through the canary steps.
    Canary,
    /// An operator paused the migration: nothing moves until `resume`.
    Paused,
    /// Held at a chosen share (`set-weight`), or stopped by a bad situation (both sides bad,
    /// drift): nothing moves until an operator acts.
    Holding,
    /// Rolled back to `from` = 100, `to` = 0 (records stay parked).
    RolledBack,
    /// At 100 % after the last bake: handing the records back to external-dns.
    Completing,
    /// Done: `from` key deleted, `to` key handed to the `to` cluster (canary), or the verify
    /// window passed after the ownership flip (blue-green).
    Completed,
    /// Blue-green: the TXT ownership flip is done and traffic is on `to`; each tick checks health
    /// until the verify window has passed (docs/design.md §3.2 step 3).
    Verifying,
}

impl Phase {
    /// Its name as the report and the state record write it.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Canary => "canary",
            Phase::Paused => "paused",
            Phase::Holding => "holding",
            Phase::RolledBack => "rolled-back",
            Phase::Completing => "completing",
            Phase::Completed => "completed",
            Phase::Verifying => "verifying",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Phase {
    /// Phases in which cutover holds records parked and owns the traffic split.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Phase::Canary
                | Phase::Paused
                | Phase::Holding
                | Phase::Completing
                | Phase::RolledBack
                | Phase::Verifying
        )
    }
}

/// The change cutover last submitted, for the INSYNC gate (docs/design.md §3.1 step 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingChange {
    /// Route53's change id (bare `C…`), as format version 1 recorded it in a follow-up write;
    /// `None` when the change is found by its `tag` instead (or its id was never recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The tag of the invocation that sent the change: the zone's change record lists the ids
    /// of its requests under it (`crate::changes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub submitted_at: Millis,
    /// When a GetChange first answered INSYNC; bake time counts from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insync_at: Option<Millis>,
}

/// The health checks of the step being baked (docs/design.md §3.1 steps 2 and 3). The bake of a
/// step counts from its first good check after INSYNC, and a check that is not good ends the run:
/// a step advances only when every check for a whole bake was good. Bad checks of `to` are
/// counted over the whole step, so a side that flaps is rolled back, not promoted. Only a change
/// of what is kept here writes the state record, so a steady bake, or a probe that keeps failing
/// on cutover's side, writes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StepChecks {
    /// Good checks in a row, counted up to the number a step needs: later good checks change
    /// nothing.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub good: u32,
    /// When the current run of good checks began; `None` while there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good_since: Option<Millis>,
    /// Bad checks of `to` while `from` was good, in this step.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bad: u32,
    /// How many times a check without a verdict against `to` (inconclusive, or both sides bad)
    /// ended a run of good checks in this step. Never counted as failures.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inconclusive: u32,
}

impl StepChecks {
    pub fn is_empty(&self) -> bool {
        self == &StepChecks::default()
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What cutover last wrote, per set identifier: used to detect drift (docs/design.md §7.9).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Written {
    /// Weight of each weighted key (same on A, AAAA and their TXTs).
    #[serde(default)]
    pub weights: BTreeMap<String, u8>,
    /// TXT owner of each key.
    #[serde(default)]
    pub owners: BTreeMap<String, String>,
}

/// The state of one service's migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub v: u32,
    pub phase: Phase,
    pub strategy: Strategy,
    pub from: Name,
    pub to: Name,
    /// The current share on `to`.
    pub percent: Percent,
    /// Where the migration is heading (the step being baked, or the held share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Percent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<PendingChange>,
    /// Consecutive bad verdicts of `to` while `from` was good.
    #[serde(default)]
    pub failures: u32,
    /// The health checks of the current step.
    #[serde(default, skip_serializing_if = "StepChecks::is_empty")]
    pub checks: StepChecks,
    /// The step an operator approved (`approve`), for a step that asks for approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<Percent>,
    #[serde(default)]
    pub written: Written,
    /// Recent processed event ids (SNS MessageId, command id), oldest first, bounded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// The wave whose planner started this migration, if one did (docs/design.md §10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<String>,
    /// Blue-green: the key's records exactly as they were before the ownership flip (A/AAAA and
    /// every TXT registry entry), so a rollback restores exactly them (docs/design.md §3.2 step 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prior: Vec<RecordSet>,
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When this state was written.
    pub at: Millis,
}

impl State {
    /// A fresh state for a migration `from` → `to`.
    pub fn new(strategy: Strategy, from: Name, to: Name, percent: Percent, now: Millis) -> State {
        State {
            v: STATE_VERSION,
            phase: Phase::Canary,
            strategy,
            from,
            to,
            percent,
            target: None,
            change: None,
            failures: 0,
            checks: StepChecks::default(),
            approved: None,
            written: Written::default(),
            events: Vec::new(),
            wave: None,
            prior: Vec::new(),
            actor: String::new(),
            reason: None,
            at: now,
        }
    }

    /// Remembers a processed event id, keeping at most `MAX_EVENTS`.
    pub fn remember_event(&mut self, id: &str) {
        if self.has_seen(id) {
            return;
        }
        self.events.push(event_key(id));
        while self.events.len() > MAX_EVENTS {
            self.events.remove(0);
        }
    }

    /// Whether the event with this id was processed: ids compare whole (docs/design.md §7.8).
    pub fn has_seen(&self, id: &str) -> bool {
        let key = event_key(id);
        self.events.iter().any(|e| e == &key)
    }

    /// Records who asked and why (docs/design.md §5: actor and reason go into the state record).
    pub fn stamp(&mut self, actor: &str, reason: Option<&str>, now: Millis) {
        self.actor = cut_bytes(actor, MAX_ACTOR_BYTES);
        self.reason = reason.map(|r| cut_bytes(r, MAX_REASON_BYTES));
        self.at = now;
    }

    /// The format-1 document (compact JSON), as cutover wrote it before format 2.
    pub fn to_json(&self) -> Result<String, StateError> {
        let mut v1 = self.clone();
        v1.v = STATE_VERSION_JSON;
        serde_json::to_string(&v1).map_err(|e| StateError::Encode(e.to_string()))
    }

    /// The record's text in the current format (docs/state-record.md "Encoding").
    pub fn to_text(&self) -> Result<String, StateError> {
        v2::write(self).map_err(StateError::Encode)
    }

    /// The TXT value: the text split into quoted strings of ≤ 255 characters (format 2 needs no
    /// escape; docs/reference/route53.md "TXT records"), ≤ 4,000 characters — one string for a
    /// tick's record. When too long, the oldest event ids are dropped first, then the reason and
    /// the actor are shortened (down to their cut marker): the audit text of a command must never
    /// block it — a rollback least of all.
    pub fn encode(&self) -> Result<String, StateError> {
        let mut s = self.clone();
        loop {
            match txt::render(&s.to_text()?) {
                Ok(v) => return Ok(v),
                Err(TxtError::ValueTooLong(_)) => {
                    if !s.events.is_empty() {
                        s.events.remove(0);
                    } else if let Some(shorter) = s.reason.as_deref().and_then(halved) {
                        s.reason = Some(shorter);
                    } else if let Some(shorter) = halved(&s.actor) {
                        s.actor = shorter;
                    } else {
                        return Err(TxtError::ValueTooLong(s.to_text()?.len()).into());
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Parses a TXT value written by `encode` (strings joined, escapes decoded), in format 2 or
    /// format 1 (JSON).
    pub fn decode(name: &DnsName, value: &str) -> Result<State, StateError> {
        let bad = |reason: String| StateError::Malformed {
            name: name.to_string(),
            reason,
        };
        let text = txt::text(value).map_err(|e| bad(e.to_string()))?;
        if let Some(rest) = text.strip_prefix("v=") {
            let version = rest.split(' ').next().unwrap_or_default();
            let version: u64 = version
                .parse()
                .map_err(|_| bad(format!("not a format version: {version}")))?;
            if version > u64::from(STATE_VERSION) {
                return Err(StateError::UnknownVersion {
                    name: name.to_string(),
                    found: version,
                });
            }
            if version != u64::from(STATE_VERSION) {
                return Err(bad(format!("unsupported format version {version}")));
            }
            return v2::read(&text).map_err(bad);
        }
        let doc: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let version = doc
            .get("v")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| bad("no numeric \"v\" field".into()))?;
        if version > u64::from(STATE_VERSION) {
            return Err(StateError::UnknownVersion {
                name: name.to_string(),
                found: version,
            });
        }
        if version != u64::from(STATE_VERSION_JSON) {
            return Err(bad(format!("unsupported format version {version}")));
        }
        serde_json::from_value(doc).map_err(|e| bad(e.to_string()))
    }

    /// The TXT rrset holding this state at `name`.
    pub fn to_record(&self, name: &DnsName) -> Result<RecordSet, StateError> {
        Ok(RecordSet {
            name: name.clone(),
            rtype: RecordType::Txt,
            set_identifier: None,
            weight: None,
            ttl: Some(STATE_TTL),
            values: vec![self.encode()?],
            alias: None,
            health_check_id: None,
            other_policy: None,
        })
    }
}

/// The state record as listed: the exact rrset (for the DELETE of the compare-and-swap) and, if
/// it could be read, the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub record: RecordSet,
    pub state: Result<State, StateError>,
}

/// Finds and reads the state record at `name` among listed records. `None`: no state record
/// (the service was never migrated).
pub fn find(records: &[RecordSet], name: &DnsName) -> Option<Stored> {
    let record = records
        .iter()
        .find(|r| r.rtype == RecordType::Txt && &r.name == name && r.set_identifier.is_none())?;
    let state = match record.values.as_slice() {
        [one] => State::decode(name, one),
        [] => Err(StateError::Malformed {
            name: name.to_string(),
            reason: "no value".into(),
        }),
        _ => Err(StateError::Malformed {
            name: name.to_string(),
            reason: format!("{} values, expected one", record.values.len()),
        }),
    };
    Some(Stored {
        record: record.clone(),
        state,
    })
}

/// A field value as format 2 writes it: `%XX` for separators, quotes, backslashes and anything
/// outside printable ASCII, so that the record needs no TXT escape.
pub fn escape_field(s: &str) -> String {
    v2::escape(s)
}

/// The inverse of [`escape_field`].
pub fn unescape_field(s: &str) -> Result<String, String> {
    v2::unescape(s)
}

/// Longest event id kept as it is; a longer one is kept as its hash.
pub const MAX_EVENT_ID_CHARS: usize = 64;

/// How an event id is remembered: as it is when short and printable, else `#` and the SHA-256 of
/// the whole id (the first 32 hex digits, 128 bits). Two ids that differ anywhere, even after a
/// long common prefix, never compare equal (an 80-character cut once made a rollback look like a
/// replay of its start).
fn event_key(id: &str) -> String {
    use sha2::Digest as _;
    let plain = id.len() <= MAX_EVENT_ID_CHARS
        && !id.starts_with('#')
        && id.chars().all(|c| c.is_ascii_graphic());
    if plain {
        return id.to_string();
    }
    let digest = sha2::Sha256::digest(id.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("#{hex}")
}

/// Cuts a text to at most `max` bytes on a character boundary, ending with `…` when cut.
pub fn cut_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let budget = max.saturating_sub(CUT_MARKER.len_utf8());
    let mut end = budget.min(s.len());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = s[..end].to_string();
    out.push(CUT_MARKER);
    out
}

/// The text cut to about half its bytes (with the marker), or `None` when it is as short as a
/// cut text gets.
fn halved(s: &str) -> Option<String> {
    let marker = CUT_MARKER.len_utf8();
    if s.len() <= marker {
        return None;
    }
    let shorter = cut_bytes(s, (s.len() / 2).max(marker));
    (shorter.len() < s.len()).then_some(shorter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name() -> DnsName {
        DnsName::parse("_cutover.payments.example.com").unwrap()
    }
    fn sample() -> State {
        let mut s = State::new(
            Strategy::Canary,
            Name::new("blue").unwrap(),
            Name::new("green").unwrap(),
            Percent::new(10).unwrap(),
            1_700_000_000_000,
        );
        s.target = Some(Percent::new(25).unwrap());
        s.change = Some(PendingChange {
            id: Some("C0123".into()),
            tag: None,
            submitted_at: 1_700_000_000_000,
            insync_at: Some(1_700_000_030_000),
        });
        s.written.weights.insert("payments-blue".into(), 90);
        s.written.weights.insert("payments-green".into(), 10);
        s.written
            .owners
            .insert("payments-blue".into(), "cutover".into());
        s.stamp(
            "alice \"the op\"",
            Some("5xx on blue\\green"),
            1_700_000_000_000,
        );
        s.remember_event("msg-1");
        s
    }

    #[test]
    fn round_trip_through_a_txt_record() {
        let s = sample();
        let r = s.to_record(&name()).unwrap();
        assert_eq!(r.ttl, Some(STATE_TTL));
        let value = &r.values[0];
        assert!(value.starts_with("\"v=2 ph=canary "), "{value}");
        let back = find(std::slice::from_ref(&r), &name()).unwrap();
        assert_eq!(back.state.unwrap(), s);
        assert_eq!(back.record, r);
    }

    #[test]
    fn long_states_split_into_strings_and_stay_under_4000() {
        let mut s = sample();
        for i in 0..40 {
            s.remember_event(&format!("{i:0>40}"));
        }
        assert_eq!(s.events.len(), MAX_EVENTS);
        s.stamp(&"a".repeat(500), Some(&"r\"".repeat(500)), 1);
        assert!(s.actor.len() <= MAX_ACTOR_BYTES && s.actor.ends_with(CUT_MARKER));
        let value = s.encode().unwrap();
        assert!(value.len() <= crate::route53::model::MAX_VALUE_CHARS);
        assert!(txt::parse(&value).unwrap().len() > 1);
        let back = State::decode(&name(), &value).unwrap();
        assert_eq!(back.reason, s.reason);
        // Read-back may join the strings without a blank.
        let joined = value.replace("\" \"", "\"\"");
        assert_eq!(State::decode(&name(), &joined).unwrap(), back);
    }

    #[test]
    fn format_1_records_are_still_read() {
        let s = sample();
        let v1 = txt::render(&s.to_json().unwrap()).unwrap();
        assert!(v1.starts_with("\"{\\\"v\\\":1,"), "{v1}");
        let mut back = State::decode(&name(), &v1).unwrap();
        back.v = STATE_VERSION;
        assert_eq!(back, s);
        // Written again, it is format 2.
        assert!(back.encode().unwrap().starts_with("\"v=2 "));
    }

    #[test]
    fn a_ticks_record_is_one_string_of_at_most_255_characters() {
        let mut s = sample();
        s.stamp("schedule", None, 1_700_000_090_000);
        s.change = Some(PendingChange {
            id: None,
            tag: Some("k3f9a2bq".into()),
            submitted_at: 1_700_000_000_000,
            insync_at: Some(1_700_000_060_000),
        });
        s.checks = StepChecks {
            good: 1,
            good_since: Some(1_700_000_060_000),
            bad: 0,
            inconclusive: 0,
        };
        s.written
            .owners
            .insert("payments-green".into(), "cutover".into());
        let value = s.encode().unwrap();
        assert_eq!(txt::parse(&value).unwrap().len(), 1, "{value}");
        assert!(value.len() <= 255, "{} characters: {value}", value.len());
        assert!(value.contains(" o=*:cutover "), "{value}");
        assert_eq!(State::decode(&name(), &value).unwrap(), s);
    }

    #[test]
    fn any_text_round_trips_through_format_2() {
        let mut s = sample();
        s.stamp("é \"q\" a=b,c:d%e *x\\", Some(" lead and trail "), 7);
        s.remember_event("id with blank");
        s.remember_event("a,b:c=d");
        s.wave = Some("fleet-1".into());
        s.written
            .owners
            .insert("payments-green".into(), "green".into());
        s.approved = Some(Percent::new(25).unwrap());
        s.failures = 1;
        s.checks.bad = 2;
        s.checks.inconclusive = 3;
        let value = s.encode().unwrap();
        assert!(
            !value.contains('\\'),
            "format 2 needs no TXT escape: {value}"
        );
        assert_eq!(State::decode(&name(), &value).unwrap(), s);
        // Read-back may join the strings without a blank.
        let joined = value.replace("\" \"", "\"\"");
        assert_eq!(State::decode(&name(), &joined).unwrap(), s);
    }

    #[test]
    fn idempotency_ids() {
        let mut s = sample();
        assert!(s.has_seen("msg-1"));
        assert!(!s.has_seen("msg-2"));
        s.remember_event("msg-1");
        assert_eq!(s.events.len(), 1);
    }

    #[test]
    fn long_ids_compare_whole() {
        let mut s = sample();
        let prefix = "x".repeat(84);
        s.remember_event(&format!("{prefix}-start"));
        assert!(s.has_seen(&format!("{prefix}-start")));
        assert!(!s.has_seen(&format!("{prefix}-rollback")));
        assert!(!s.has_seen(&prefix));
        // Stored compactly, and an id that looks like a stored hash is hashed too.
        let stored = s.events.last().unwrap();
        assert!(stored.starts_with('#') && stored.len() == 33, "{stored}");
        assert!(!s.has_seen(stored));
        // Ids with blanks or non-ASCII are hashed, never cut.
        s.remember_event("a b");
        assert!(s.has_seen("a b") && !s.has_seen("a"));
    }

    #[test]
    fn bad_inputs_are_refused_with_reasons() {
        let n = name();
        assert!(matches!(
            State::decode(&n, "\"not json\""),
            Err(StateError::Malformed { .. })
        ));
        assert!(matches!(
            State::decode(&n, "\"{\\\"x\\\":1}\""),
            Err(StateError::Malformed { .. })
        ));
        assert_eq!(
            State::decode(&n, "\"{\\\"v\\\":3}\""),
            Err(StateError::UnknownVersion {
                name: n.to_string(),
                found: 3
            })
        );
        assert_eq!(
            State::decode(&n, "\"v=3 ph=canary\""),
            Err(StateError::UnknownVersion {
                name: n.to_string(),
                found: 3
            })
        );
        for bad in [
            "\"v=2\"",
            "\"v=x ph=canary\"",
            "\"v=2 ph=flying s=canary f=blue t=green p=5 a=x at=1\"",
            "\"v=2 ph=canary s=canary f=blue t=green p=101 a=x at=1\"",
            "\"v=2 ph=canary s=canary f=blue t=green p=5 a=%zz at=1\"",
            "\"v=2 ph=canary ph=canary s=canary f=blue t=green p=5 a=x at=1\"",
            "\"v=2 ph=canary s=canary f=blue t=green p=5 w=x a=x at=1\"",
        ] {
            assert!(
                matches!(State::decode(&n, bad), Err(StateError::Malformed { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            State::decode(&n, "\"{\\\"v\\\":1"),
            Err(StateError::Malformed { .. })
        ));
        let bad_phase = sample()
            .to_json()
            .unwrap()
            .replace("\"canary\",\"strategy\"", "\"flying\",\"strategy\"");
        assert!(bad_phase.contains("flying"));
        let v = txt::render(&bad_phase).unwrap();
        assert!(matches!(
            State::decode(&n, &v),
            Err(StateError::Malformed { .. })
        ));
        let mut r = sample().to_record(&n).unwrap();
        r.values.push("\"x\"".into());
        assert!(find(&[r], &n).unwrap().state.is_err());
        assert!(find(&[], &n).is_none());
    }

    #[test]
    fn audit_text_is_cut_in_bytes_and_never_blocks_a_write() {
        let mut s = sample();
        // 64 four-byte characters in the actor, 160 in the reason: each non-ASCII byte is four
        // characters in a TXT value, which once made the record too long for a rollback.
        s.stamp(&"🦀".repeat(64), Some(&"🔥".repeat(160)), 1);
        assert!(s.actor.len() <= MAX_ACTOR_BYTES, "{}", s.actor.len());
        assert!(s.reason.as_ref().unwrap().len() <= MAX_REASON_BYTES);
        assert!(s.actor.ends_with(CUT_MARKER) && s.reason.as_ref().unwrap().ends_with(CUT_MARKER));
        assert!(s.actor.starts_with('🦀'), "cut on a character boundary");
        // Even with every event id and a large prior set, the record encodes: the audit text
        // gives way before anything blocks.
        for i in 0..MAX_EVENTS {
            s.remember_event(&format!("{i:0>60}"));
        }
        s.actor = "🦀".repeat(400);
        s.reason = Some("🔥".repeat(400));
        let value = s.encode().unwrap();
        assert!(value.len() <= crate::route53::model::MAX_VALUE_CHARS);
        let back = State::decode(&name(), &value).unwrap();
        assert_eq!(back.phase, s.phase);
        assert!(back.reason.unwrap().len() < s.reason.unwrap().len());
    }

    #[test]
    fn cut_bytes_keeps_short_text_and_marks_a_cut() {
        assert_eq!(cut_bytes("alice", 64), "alice");
        assert_eq!(cut_bytes("abcdef", 5), "ab…");
        assert_eq!(cut_bytes("ééé", 5), "é…");
        assert_eq!(cut_bytes("abc", 0), "…");
    }
}
