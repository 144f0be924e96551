//! What the listed zone says about one service's hostname: its simple and weighted A/AAAA
//! records, the TXT registry entries of each, who owns what, and the current share.

use std::collections::{BTreeMap, BTreeSet};

use crate::registry::{self, RegistryEntry, TxtContent, TxtNaming};
use crate::route53::model::{RecordSet, RecordType};
use crate::types::{DnsName, Percent, SetIdentifier};

/// The A/AAAA records of one key (name, set identifier) and their registry TXTs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyRecords {
    /// A and AAAA rrsets of the key.
    pub records: Vec<RecordSet>,
    /// Every registry TXT present for those records (all name variants).
    pub entries: Vec<RegistryEntry>,
}

impl KeyRecords {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The distinct owners named by the key's registry entries (foreign TXTs and encrypted TXTs
    /// no configured key opens are not counted).
    pub fn owners(&self) -> BTreeSet<String> {
        self.entries
            .iter()
            .filter_map(|e| e.owner().map(str::to_string))
            .collect()
    }

    pub fn has_encrypted(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.content == TxtContent::Encrypted)
    }

    /// The registry entries that are external-dns label sets (the ones cutover rewrites).
    pub fn label_entries(&self) -> impl Iterator<Item = &RegistryEntry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.content, TxtContent::Labels(_)))
    }

    /// The key's weight when A and AAAA agree; `Err` with both when they differ.
    pub fn weight(&self) -> Result<Option<u8>, (u8, u8)> {
        let mut ws = self
            .records
            .iter()
            .filter_map(|r| r.weight.map(|w| w.get()));
        let Some(first) = ws.next() else {
            return Ok(None);
        };
        for w in ws {
            if w != first {
                return Err((first, w));
            }
        }
        Ok(Some(first))
    }

    /// The effective TTL of the key's records in seconds: 60 for an alias (an ELB's), the
    /// record's TTL otherwise (docs/reference/route53.md "Alias records").
    pub fn effective_ttl_secs(&self) -> u32 {
        self.records
            .iter()
            .map(|r| {
                if r.alias.is_some() {
                    60
                } else {
                    r.ttl.unwrap_or(60)
                }
            })
            .max()
            .unwrap_or(60)
    }

    /// The resource label of the first entry that has one.
    pub fn resource(&self) -> Option<String> {
        self.label_entries().find_map(|e| match &e.content {
            TxtContent::Labels(l) => l.resource().map(str::to_string),
            _ => None,
        })
    }
}

/// The hostname's records as listed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostFacts {
    /// Simple (non-weighted) A/AAAA at the hostname and their registry TXTs.
    pub simple: KeyRecords,
    /// Weighted A/AAAA members at the hostname, by set identifier.
    pub weighted: BTreeMap<SetIdentifier, KeyRecords>,
    /// Reasons cutover cannot drive this hostname at all (a CNAME there, another routing
    /// policy, a TXT rrset with several values used as a registry entry…).
    pub unmanageable: Vec<String>,
}

impl HostFacts {
    pub fn read(records: &[RecordSet], host: &DnsName, namings: &[TxtNaming]) -> HostFacts {
        let mut facts = HostFacts::default();
        for r in records.iter().filter(|r| &r.name == host) {
            match r.rtype {
                RecordType::A | RecordType::Aaaa => {
                    if let Some(p) = &r.other_policy {
                        facts.unmanageable.push(format!(
                            "{} {} uses the {p} routing policy, which cutover does not drive",
                            r.name, r.rtype
                        ));
                        continue;
                    }
                    match &r.set_identifier {
                        Some(sid) if r.weight.is_some() => facts
                            .weighted
                            .entry(sid.clone())
                            .or_default()
                            .records
                            .push(r.clone()),
                        Some(sid) => facts.unmanageable.push(format!(
                            "{} {} has set identifier {sid} without a weight",
                            r.name, r.rtype
                        )),
                        None => facts.simple.records.push(r.clone()),
                    }
                }
                RecordType::Cname => facts.unmanageable.push(format!(
                    "{host} is a CNAME; cutover drives A/AAAA (alias) records only"
                )),
                _ => {}
            }
        }
        facts.simple.entries = entries(records, host, &facts.simple.records, None, namings);
        for (sid, key) in facts.weighted.iter_mut() {
            key.entries = entries(records, host, &key.records, Some(sid), namings);
        }
        let all_entries = facts
            .weighted
            .values()
            .chain(std::iter::once(&facts.simple))
            .flat_map(|k| k.entries.iter());
        for e in all_entries {
            if e.record.values.len() > 1 && matches!(e.content, TxtContent::Labels(_)) {
                facts.unmanageable.push(format!(
                    "TXT {} holds {} values; a registry entry must be alone in its rrset to be rewritten safely",
                    e.record.name,
                    e.record.values.len()
                ));
            }
        }
        facts
    }

    /// Opens encrypted registry entries with the configured keys, so their owners count
    /// (docs/reference/external-dns.md §1 "Encryption": "cutover may *read* encrypted owners").
    pub fn decrypt(&mut self, keys: &[registry::EncryptionKey]) {
        if keys.is_empty() {
            return;
        }
        let keys_of = std::iter::once(&mut self.simple).chain(self.weighted.values_mut());
        for key in keys_of {
            for e in key.entries.iter_mut() {
                e.decrypt_with(keys);
            }
        }
    }

    pub fn is_weighted(&self) -> bool {
        !self.weighted.is_empty()
    }

    pub fn key(&self, sid: &SetIdentifier) -> Option<&KeyRecords> {
        self.weighted.get(sid).filter(|k| !k.is_empty())
    }

    /// Every key with its label (for messages): `simple` or the set identifier.
    pub fn all_keys(&self) -> Vec<(String, &KeyRecords)> {
        let mut out = Vec::new();
        if !self.simple.is_empty() {
            out.push(("simple".to_string(), &self.simple));
        }
        for (sid, k) in &self.weighted {
            out.push((sid.to_string(), k));
        }
        out
    }
}

fn entries(
    records: &[RecordSet],
    host: &DnsName,
    key_records: &[RecordSet],
    sid: Option<&SetIdentifier>,
    namings: &[TxtNaming],
) -> Vec<RegistryEntry> {
    let mut out: Vec<RegistryEntry> = Vec::new();
    for r in key_records {
        for e in registry::entries_for_record(records, host, &r.rtype, sid, namings) {
            if !out.iter().any(|o| o.record.key() == e.record.key()) {
                out.push(e);
            }
        }
    }
    out
}

/// The share on `to` from the two keys' weights: to / (from + to), whole percent rounded to
/// nearest. Both 0 is an even split (docs/reference/route53.md "Weighted records").
pub fn share(from_weight: u8, to_weight: u8) -> Percent {
    let total = u32::from(from_weight) + u32::from(to_weight);
    if total == 0 {
        return Percent::new(50).unwrap_or(Percent::ZERO);
    }
    let p = (u32::from(to_weight) * 100 + total / 2) / total;
    Percent::new(i64::from(p)).unwrap_or(Percent::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares() {
        assert_eq!(share(100, 0).get(), 0);
        assert_eq!(share(0, 100).get(), 100);
        assert_eq!(share(0, 0).get(), 50);
        assert_eq!(share(1, 1).get(), 50);
        assert_eq!(share(255, 1).get(), 0);
        assert_eq!(share(2, 1).get(), 33);
    }
}
