//! The zone's change record: which Route53 changes each invocation sent, under the tag its
//! services' state records carry (docs/state-record.md "Change ids"). Route53 tells a change's
//! id only in its answer, so a batch cannot carry it; instead of a follow-up write per service,
//! one write per zone and invocation records the ids of all its requests here. The INSYNC gate
//! then asks GetChange for each of them (docs/design.md §3.1 step 2a).
//!
//! One TXT rrset at `<state_record_prefix>_changes.<zone>`, TTL 300, one value:
//! `v=1 <tag>=<submitted, ms>:<id>,<id> …`, oldest entry first.

use crate::route53::model::{RecordSet, RecordType};
use crate::state::STATE_TTL;
use crate::txt;
use crate::types::{DnsName, Millis};

/// The format version written into `v=`.
pub const CHANGES_VERSION: u32 = 1;
/// The label under the state record prefix that names the record in each zone.
pub const CHANGES_LABEL: &str = "_changes";
/// How long an entry is kept: long past any INSYNC (Route53's changes are usually INSYNC within
/// 60 s, docs/reference/route53.md "GetChange"); a state whose entry is gone falls back to the
/// INSYNC assumption (`planner::INSYNC_FALLBACK_MS`).
pub const KEEP_MS: Millis = 30 * 60_000;

/// One invocation's requests in one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub tag: String,
    pub submitted_at: Millis,
    pub ids: Vec<String>,
}

/// The change record of one zone, as listed (or empty).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    pub entries: Vec<Entry>,
}

/// Why a change record could not be read: its entries are then unknown, and every state that
/// points to one falls back to the INSYNC assumption.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("change record {name}: {reason}")]
pub struct ChangesError {
    pub name: String,
    pub reason: String,
}

/// The change record's name in a zone: `<prefix>_changes.<zone>`.
pub fn record_name(state_prefix: &str, zone: &DnsName) -> Option<DnsName> {
    DnsName::parse(&format!("{state_prefix}{CHANGES_LABEL}.{zone}")).ok()
}

impl Changes {
    /// The ids recorded for `tag`; `None` when no entry has the tag.
    pub fn ids(&self, tag: &str) -> Option<&[String]> {
        self.entries
            .iter()
            .find(|e| e.tag == tag)
            .map(|e| e.ids.as_slice())
    }

    /// Reads the record as listed.
    pub fn decode(name: &DnsName, record: &RecordSet) -> Result<Changes, ChangesError> {
        let bad = |reason: String| ChangesError {
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
            Some(v) if v == format!("v={CHANGES_VERSION}") => {}
            Some(v) => return Err(bad(format!("unknown version field {v}"))),
            None => return Err(bad("empty".into())),
        }
        let mut entries = Vec::new();
        for token in tokens {
            let (tag, rest) = token
                .split_once('=')
                .ok_or_else(|| bad(format!("entry {token} has no '='")))?;
            let (at, ids) = rest
                .split_once(':')
                .ok_or_else(|| bad(format!("entry {token} has no ':'")))?;
            let submitted_at = at
                .parse()
                .map_err(|_| bad(format!("entry {tag}: not a time: {at}")))?;
            entries.push(Entry {
                tag: tag.to_string(),
                submitted_at,
                ids: ids
                    .split(',')
                    .filter(|i| !i.is_empty())
                    .map(str::to_string)
                    .collect(),
            });
        }
        Ok(Changes { entries })
    }

    /// Adds the ids of `tag` (joined with any already recorded under it), then drops entries
    /// older than [`KEEP_MS`] and, while the value would be too long, the oldest ones.
    pub fn record(&mut self, tag: &str, submitted_at: Millis, ids: &[String], now: Millis) {
        match self.entries.iter_mut().find(|e| e.tag == tag) {
            Some(entry) => {
                for id in ids {
                    if !entry.ids.contains(id) {
                        entry.ids.push(id.clone());
                    }
                }
                entry.submitted_at = entry.submitted_at.min(submitted_at);
            }
            None => self.entries.push(Entry {
                tag: tag.to_string(),
                submitted_at,
                ids: ids.to_vec(),
            }),
        }
        self.entries
            .retain(|e| now.saturating_sub(e.submitted_at) <= KEEP_MS);
        self.entries.sort_by_key(|e| e.submitted_at);
        // Measured by the codec itself: rendering splits the text into strings of 255 bytes,
        // each with its quotes and a blank (docs/reference/route53.md "Limits").
        while self.entries.len() > 1
            && matches!(
                txt::render(&self.text()),
                Err(txt::TxtError::ValueTooLong(_))
            )
        {
            self.entries.remove(0);
        }
    }

    /// Joins another reading of the record (a concurrent invocation's entries) into this one.
    pub fn merge(&mut self, other: &Changes, now: Millis) {
        for e in &other.entries {
            self.record(&e.tag, e.submitted_at, &e.ids, now);
        }
    }

    fn text(&self) -> String {
        let mut out = format!("v={CHANGES_VERSION}");
        for e in &self.entries {
            out.push_str(&format!(
                " {}={}:{}",
                e.tag,
                e.submitted_at,
                e.ids.join(",")
            ));
        }
        out
    }

    /// The TXT rrset holding this record at `name`.
    pub fn to_record(&self, name: &DnsName) -> Result<RecordSet, txt::TxtError> {
        Ok(RecordSet {
            name: name.clone(),
            rtype: RecordType::Txt,
            set_identifier: None,
            weight: None,
            ttl: Some(STATE_TTL),
            values: vec![txt::render(&self.text())?],
            alias: None,
            health_check_id: None,
            other_policy: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route53::model::MAX_VALUE_CHARS;

    #[test]
    fn a_record_of_many_short_entries_still_fits_one_value() {
        // Hundreds of small entries make a text just under the limit whose rendering (quotes
        // and blanks of 16 strings) is over it: the oldest are dropped until the value fits.
        let mut changes = Changes::default();
        for i in 0..300i64 {
            changes.record(
                &format!("t{i}"),
                1_000 + i,
                &ids(&["C0123456789ABCD"]),
                2_000,
            );
        }
        let record = changes
            .to_record(&name())
            .expect("the record fits one value");
        assert!(
            record.values[0].len() <= MAX_VALUE_CHARS,
            "{}",
            record.values[0].len()
        );
        assert!(
            changes.entries.len() < 300,
            "the oldest entries were dropped"
        );
        assert_eq!(changes.entries.last().map(|e| e.tag.as_str()), Some("t299"));
    }

    fn name() -> DnsName {
        record_name("_cutover.", &DnsName::parse("example.com").unwrap()).unwrap()
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_record_lives_under_the_state_prefix() {
        assert_eq!(name().as_str(), "_cutover._changes.example.com");
    }

    #[test]
    fn entries_round_trip_and_join_under_one_tag() {
        let mut c = Changes::default();
        c.record("k3f9", 1_000, &ids(&["C1", "C2"]), 1_000);
        c.record("k3f9", 2_000, &ids(&["C2", "C3"]), 2_000);
        c.record("zz01", 3_000, &ids(&["C9"]), 3_000);
        let record = c.to_record(&name()).unwrap();
        assert_eq!(
            record.values,
            vec!["\"v=1 k3f9=1000:C1,C2,C3 zz01=3000:C9\"".to_string()]
        );
        let back = Changes::decode(&name(), &record).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.ids("k3f9"), Some(&ids(&["C1", "C2", "C3"])[..]));
        assert_eq!(back.ids("nope"), None);
    }

    #[test]
    fn old_entries_go_and_the_value_stays_within_4000_characters() {
        let mut c = Changes::default();
        c.record("old", 0, &ids(&["C1"]), 0);
        c.record("new", KEEP_MS + 1, &ids(&["C2"]), KEEP_MS + 1);
        assert_eq!(c.ids("old"), None);
        let many: Vec<String> = (0..400).map(|i| format!("C{i:013}")).collect();
        for t in 0..20 {
            c.record(
                &format!("t{t}"),
                KEEP_MS + 2 + t,
                &many[..40],
                KEEP_MS + 2 + t,
            );
        }
        let record = c.to_record(&name()).unwrap();
        assert!(record.values[0].len() <= MAX_VALUE_CHARS);
        // The newest entry is kept.
        assert!(c.ids("t19").is_some());
    }

    #[test]
    fn a_concurrent_invocations_entries_are_joined() {
        let mut a = Changes::default();
        a.record("aaaa", 10, &ids(&["C1"]), 10);
        let mut b = Changes::default();
        b.record("bbbb", 11, &ids(&["C2"]), 11);
        a.merge(&b, 12);
        assert_eq!(a.ids("aaaa"), Some(&ids(&["C1"])[..]));
        assert_eq!(a.ids("bbbb"), Some(&ids(&["C2"])[..]));
    }

    #[test]
    fn unreadable_records_are_refused_with_reasons() {
        let mut r = Changes::default().to_record(&name()).unwrap();
        for bad in [
            "\"v=2 a=1:C1\"",
            "\"v=1 a\"",
            "\"v=1 a=x:C1\"",
            "\"\"",
            "plain",
        ] {
            r.values = vec![bad.to_string()];
            assert!(Changes::decode(&name(), &r).is_err(), "{bad}");
        }
    }
}
