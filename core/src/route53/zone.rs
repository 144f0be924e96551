//! A snapshot of one hosted zone, as a listing showed it: the ground every change of a batch is
//! validated against, and a simulator of what the zone looks like after a batch.

pub mod elb;

use std::collections::BTreeMap;

use crate::route53::model::{Action, Change, ChangeBatch, RecordSet, RecordType, RrKey};
use crate::types::DnsName;

/// Why a listing could not become a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("the listing holds resource record set {0} twice")]
    DuplicateRecord(RrKey),
    #[error("the listing holds resource record set {key}, which does not lie within zone {zone}")]
    OutsideZone { key: RrKey, zone: String },
}

/// One hosted zone: its name (for the apex and "within the zone" rules) and its record sets by
/// identity (name, type, set identifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSnapshot {
    pub zone_name: DnsName,
    pub records: BTreeMap<RrKey, RecordSet>,
}

impl ZoneSnapshot {
    /// An empty zone.
    pub fn new(zone_name: DnsName) -> Self {
        ZoneSnapshot {
            zone_name,
            records: BTreeMap::new(),
        }
    }

    /// Builds a snapshot from a full listing. Two record sets with one identity, or a name
    /// outside the zone, mean the listing is not trustworthy.
    pub fn from_listing(
        zone_name: DnsName,
        listing: impl IntoIterator<Item = RecordSet>,
    ) -> Result<Self, ZoneError> {
        let mut zone = ZoneSnapshot::new(zone_name);
        for record in listing {
            let key = record.key();
            if !record.name.is_within(&zone.zone_name) {
                return Err(ZoneError::OutsideZone {
                    key,
                    zone: zone.zone_name.to_fqdn(),
                });
            }
            if zone.records.insert(key.clone(), record).is_some() {
                return Err(ZoneError::DuplicateRecord(key));
            }
        }
        Ok(zone)
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every record set, in identity order (name, type, set identifier).
    pub fn iter(&self) -> impl Iterator<Item = &RecordSet> {
        self.records.values()
    }

    /// The record set with this identity.
    pub fn get(&self, key: &RrKey) -> Option<&RecordSet> {
        self.records.get(key)
    }

    pub fn contains(&self, key: &RrKey) -> bool {
        self.records.contains_key(key)
    }

    /// Every record set at `name`, whatever its type.
    pub fn by_name<'a>(&'a self, name: &'a DnsName) -> impl Iterator<Item = &'a RecordSet> + 'a {
        // `A` is the first type and `None` the first set identifier: the smallest key of a name.
        let start = RrKey {
            name: name.clone(),
            rtype: RecordType::A,
            set_identifier: None,
        };
        self.records
            .range(start..)
            .take_while(move |(k, _)| &k.name == name)
            .map(|(_, r)| r)
    }

    /// Every record set at `name` of type `rtype`: the simple one, or the members of a group.
    pub fn by_name_type<'a>(
        &'a self,
        name: &'a DnsName,
        rtype: &'a RecordType,
    ) -> impl Iterator<Item = &'a RecordSet> + 'a {
        let start = RrKey {
            name: name.clone(),
            rtype: rtype.clone(),
            set_identifier: None,
        };
        self.records
            .range(start..)
            .take_while(move |(k, _)| &k.name == name && &k.rtype == rtype)
            .map(|(_, r)| r)
    }

    /// The weighted members at `name` and `rtype` (empty if none or if the records are simple).
    pub fn weighted_group<'a>(
        &'a self,
        name: &'a DnsName,
        rtype: &'a RecordType,
    ) -> Vec<&'a RecordSet> {
        self.by_name_type(name, rtype)
            .filter(|r| r.is_weighted())
            .collect()
    }

    /// Every weighted group of the zone, keyed by (name, type).
    pub fn weighted_groups(&self) -> BTreeMap<(DnsName, RecordType), Vec<&RecordSet>> {
        let mut groups: BTreeMap<(DnsName, RecordType), Vec<&RecordSet>> = BTreeMap::new();
        for record in self.iter().filter(|r| r.is_weighted()) {
            groups
                .entry((record.name.clone(), record.rtype.clone()))
                .or_default()
                .push(record);
        }
        groups
    }

    /// Applies one change as Route53 would once it has accepted it: CREATE and UPSERT put the
    /// record set under its identity, DELETE removes the identity. It does not validate.
    pub fn apply_change(&mut self, change: &Change) {
        let key = change.record.key();
        match change.action {
            Action::Create | Action::Upsert => {
                self.records.insert(key, change.record.clone());
            }
            Action::Delete => {
                self.records.remove(&key);
            }
        }
    }

    /// Applies every change of a batch in order, without validating: call
    /// `route53::validate::validate_batch` first (or use [`ZoneSnapshot::try_apply`]).
    pub fn apply(&mut self, batch: &ChangeBatch) {
        for change in &batch.changes {
            self.apply_change(change);
        }
    }

    /// Validates `batch` against this zone and applies it only if it is valid: all or nothing,
    /// as Route53 does (docs/reference/route53.md "All or nothing").
    pub fn try_apply(
        &mut self,
        batch: &ChangeBatch,
    ) -> Result<(), Vec<crate::route53::validate::Violation>> {
        crate::route53::validate::validate_batch(self, batch)?;
        self.apply(batch);
        Ok(())
    }

    /// A copy holding only the record sets at the given names (the rules Route53 checks for a
    /// change only look at records of the change's own name).
    pub fn restricted_to<'a>(&self, names: impl IntoIterator<Item = &'a DnsName>) -> Self {
        let mut copy = ZoneSnapshot::new(self.zone_name.clone());
        for name in names {
            for record in self.by_name(name) {
                copy.records.insert(record.key(), record.clone());
            }
        }
        copy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{SetIdentifier, Weight};

    fn name(s: &str) -> DnsName {
        DnsName::parse(s).unwrap()
    }

    fn record(n: &str, rtype: RecordType, set: Option<(&str, u8)>) -> RecordSet {
        RecordSet {
            name: name(n),
            rtype,
            set_identifier: set.map(|(s, _)| SetIdentifier::new(s).unwrap()),
            weight: set.map(|(_, w)| Weight(w)),
            ttl: Some(60),
            values: vec!["192.0.2.1".to_string()],
            alias: None,
            health_check_id: None,
            other_policy: None,
        }
    }

    fn sample() -> ZoneSnapshot {
        ZoneSnapshot::from_listing(
            name("example.com"),
            [
                record("app.example.com", RecordType::A, Some(("blue", 100))),
                record("app.example.com", RecordType::A, Some(("green", 0))),
                record("app.example.com", RecordType::Aaaa, Some(("blue", 100))),
                record("app.example.com", RecordType::Txt, None),
                record("app0.example.com", RecordType::A, None),
                record("a.app.example.com", RecordType::A, None),
                record("other.example.com", RecordType::Cname, None),
            ],
        )
        .unwrap()
    }

    #[test]
    fn lookups_by_name_type_and_group() {
        let zone = sample();
        let app = name("app.example.com");
        assert_eq!(zone.by_name(&app).count(), 4);
        assert_eq!(zone.by_name_type(&app, &RecordType::A).count(), 2);
        assert_eq!(zone.by_name_type(&app, &RecordType::Cname).count(), 0);
        assert_eq!(zone.weighted_group(&app, &RecordType::A).len(), 2);
        assert!(zone.weighted_group(&app, &RecordType::Txt).is_empty());
        assert_eq!(zone.weighted_groups().len(), 2);
        assert_eq!(zone.by_name(&name("nothing.example.com")).count(), 0);
    }

    #[test]
    fn listing_with_a_duplicate_or_foreign_name_is_refused() {
        let dup = ZoneSnapshot::from_listing(
            name("example.com"),
            [
                record("x.example.com", RecordType::A, None),
                record("x.example.com", RecordType::A, None),
            ],
        );
        assert_eq!(
            dup.unwrap_err().to_string(),
            "the listing holds resource record set [name='x.example.com.', type='A'] twice"
        );
        let foreign = ZoneSnapshot::from_listing(
            name("example.com"),
            [record("x.example.org", RecordType::A, None)],
        );
        assert!(matches!(foreign, Err(ZoneError::OutsideZone { .. })));
    }

    #[test]
    fn apply_creates_replaces_and_deletes_by_identity() {
        let mut zone = sample();
        let mut green = record("app.example.com", RecordType::A, Some(("green", 0)));
        let mut upsert = green.clone();
        upsert.weight = Some(Weight(50));
        green.ttl = Some(60);
        zone.apply(&ChangeBatch {
            comment: None,
            changes: vec![
                Change {
                    action: Action::Upsert,
                    record: upsert.clone(),
                },
                Change {
                    action: Action::Delete,
                    record: record("other.example.com", RecordType::Cname, None),
                },
                Change {
                    action: Action::Create,
                    record: record("new.example.com", RecordType::A, None),
                },
            ],
        });
        assert_eq!(zone.get(&upsert.key()), Some(&upsert));
        assert!(!zone.contains(&record("other.example.com", RecordType::Cname, None).key()));
        assert!(zone.contains(&record("new.example.com", RecordType::A, None).key()));
        assert_eq!(zone.len(), 7);
    }

    #[test]
    fn restricted_copy_keeps_only_the_names_asked_for() {
        let zone = sample();
        let app = name("app.example.com");
        let part = zone.restricted_to([&app]);
        assert_eq!(part.len(), 4);
        assert!(part.iter().all(|r| r.name == app));
    }
}
