//! Building change batches: every edit is DELETE exact old + CREATE new (never UPSERT), so each
//! batch is a compare-and-swap (docs/design.md §7.5; docs/reference/route53.md "DELETE"). DELETEs
//! come first, then CREATEs, which is the order the simple→weighted switch needs
//! (docs/reference/route53.md "Simple vs weighted": "`[DELETE simple, CREATE weighted…]` switches
//! atomically").

use crate::registry::{self, Labels, TxtContent};
use crate::route53::model::{Action, Change, ChangeBatch, RecordSet};
use crate::types::{SetIdentifier, Weight};

use super::facts::KeyRecords;

/// Route53's batch comment limit (docs/reference/route53.md "ChangeResourceRecordSets": Comment max
/// 256).
pub const MAX_COMMENT_CHARS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("TXT {0} is encrypted (--txt-encrypt-enabled): cutover cannot rewrite it byte-exactly, so external-dns's later DELETE would fail; refusing (decrypting/re-encrypting is not supported)")]
    Encrypted(String),
    #[error("TXT value for {0} does not fit: {1}")]
    Txt(String, String),
}

#[derive(Debug, Clone, Default)]
pub struct BatchBuilder {
    deletes: Vec<RecordSet>,
    creates: Vec<RecordSet>,
}

impl BatchBuilder {
    pub fn delete(&mut self, r: &RecordSet) {
        if !self.deletes.contains(r) {
            self.deletes.push(r.clone());
        }
    }
    pub fn create(&mut self, r: RecordSet) {
        self.creates.push(r);
    }
    /// DELETE exact `old` + CREATE `new`, or nothing when they are equal.
    pub fn replace(&mut self, old: &RecordSet, new: RecordSet) {
        if old != &new {
            self.delete(old);
            self.create(new);
        }
    }
    pub fn is_empty(&self) -> bool {
        self.deletes.is_empty() && self.creates.is_empty()
    }
    /// True when the batch touches anything besides `except` (the state record).
    pub fn touches_traffic(&self, state_name: &crate::types::DnsName) -> bool {
        self.deletes
            .iter()
            .chain(self.creates.iter())
            .any(|r| &r.name != state_name)
    }
    pub fn finish(self, comment: &str) -> ChangeBatch {
        let changes = self
            .deletes
            .into_iter()
            .map(|record| Change {
                action: Action::Delete,
                record,
            })
            .chain(self.creates.into_iter().map(|record| Change {
                action: Action::Create,
                record,
            }))
            .collect();
        ChangeBatch {
            comment: Some(comment_text(comment)),
            changes,
        }
    }

    /// Sets a key's weight and the owner of all its registry TXTs: A and AAAA and every TXT get
    /// the same weight (docs/reference/external-dns.md §1 "TTL and routing fields": "Change a
    /// record's weight ⇒ change its TXT's weight in the same batch"); TXTs are rewritten in
    /// canonical form, TTL 300.
    pub fn set_key(
        &mut self,
        key: &KeyRecords,
        weight: Weight,
        owner: &str,
        resource: Option<&str>,
    ) -> Result<(), BuildError> {
        for r in &key.records {
            let mut new = r.clone();
            new.weight = Some(weight);
            self.replace(r, new);
        }
        for e in &key.entries {
            let labels = match &e.content {
                TxtContent::Labels(l) => l,
                TxtContent::Encrypted => {
                    return Err(BuildError::Encrypted(e.record.name.to_string()))
                }
                TxtContent::Foreign => continue,
            };
            let mut labels = labels.with_owner(owner);
            if let Some(res) = resource {
                labels = labels.with_resource(res);
            }
            let new = txt_like(&e.record, Some(weight), &labels)?;
            self.replace(&e.record, new);
        }
        Ok(())
    }

    /// Deletes a key's A/AAAA records and every registry TXT of them
    /// (docs/reference/external-dns.md §5: never leave a record without its TXT nor a TXT without
    /// its record).
    pub fn delete_key(&mut self, key: &KeyRecords) -> Result<(), BuildError> {
        if key.has_encrypted() {
            if let Some(e) = key
                .entries
                .iter()
                .find(|e| e.content == TxtContent::Encrypted)
            {
                return Err(BuildError::Encrypted(e.record.name.to_string()));
            }
        }
        for r in &key.records {
            self.delete(r);
        }
        for e in key.label_entries() {
            self.delete(&e.record);
        }
        Ok(())
    }
}

/// A TXT registry record like `old` (name, set identifier, health check id) with a new weight and
/// canonical labels, TTL 300.
pub fn txt_like(
    old: &RecordSet,
    weight: Option<Weight>,
    labels: &Labels,
) -> Result<RecordSet, BuildError> {
    registry::txt_record(
        old.name.clone(),
        old.set_identifier.clone(),
        if old.set_identifier.is_some() {
            weight
        } else {
            None
        },
        old.health_check_id.clone(),
        labels,
    )
    .map_err(|e| BuildError::Txt(old.name.to_string(), e.to_string()))
}

/// A weighted copy of a record under a set identifier.
pub fn weighted_copy(r: &RecordSet, sid: &SetIdentifier, weight: Weight) -> RecordSet {
    let mut new = r.clone();
    new.set_identifier = Some(sid.clone());
    new.weight = Some(weight);
    new
}

/// A batch comment as Route53 keeps it: control characters become blanks (the comment is audit
/// text, shown in consoles and CloudTrail), and the whole is cut to 256 bytes (the limit is
/// 256; counting bytes is the stricter reading) with a marker.
pub fn comment_text(comment: &str) -> String {
    let plain: String = comment
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::state::cut_bytes(&plain, MAX_COMMENT_CHARS)
}
