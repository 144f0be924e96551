//! A hosted zone and its record sets, kept in listing order.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::Rrset;
use super::names::DnsName;

/// Identity and listing position of an rrset: name (labels reversed), type, set identifier
/// (docs/reference/route53.md "ListResourceRecordSets": by name with labels reversed, then by type;
/// inside a weighted group by set identifier, a stable order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey {
    pub sort_name: String,
    pub rtype: String,
    pub set_identifier: Option<String>,
}

impl RecordKey {
    pub fn of(name: &DnsName, rrset: &Rrset) -> RecordKey {
        RecordKey {
            sort_name: name.sort_key(),
            rtype: rrset.rtype.clone(),
            set_identifier: rrset.set_identifier.clone(),
        }
    }
}

pub type RecordMap = BTreeMap<RecordKey, Rrset>;

/// SOA and NS TTLs of a new Route53 zone.
const NS_TTL: i64 = 172_800;
const SOA_TTL: i64 = 900;

#[derive(Debug, Clone)]
pub struct Zone {
    /// Without the `/hostedzone/` prefix.
    pub id: String,
    pub name: DnsName,
    pub caller_reference: String,
    pub comment: Option<String>,
    pub private: bool,
    /// The VPCs a private zone is associated with (answers inside them come from it).
    pub vpcs: Vec<Vpc>,
    /// The account that owns the zone: only its credentials may touch it.
    pub account: String,
    pub name_servers: Vec<String>,
    pub records: RecordMap,
    /// Simulated time of the zone's latest committed change.
    pub last_change_millis: Option<i64>,
}

/// A VPC a private zone is associated with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vpc {
    pub region: String,
    pub id: String,
}

/// A zone's summary as the control API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneSummary {
    pub id: String,
    pub name: String,
    pub private: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vpcs: Vec<Vpc>,
    pub record_count: usize,
}

impl Zone {
    /// A new zone with its SOA and NS records, as Route53 creates them.
    pub fn new(id: String, name: DnsName, caller_reference: String, private: bool) -> Zone {
        let name_servers = name_servers_for(&id);
        let mut zone = Zone {
            id,
            name,
            caller_reference,
            comment: None,
            private,
            vpcs: Vec::new(),
            account: crate::iam::DEFAULT_ACCOUNT.to_string(),
            name_servers,
            records: RecordMap::new(),
            last_change_millis: None,
        };
        let apex = zone.name.to_wire();
        let ns = Rrset {
            name: apex.clone(),
            rtype: "NS".into(),
            ttl: Some(NS_TTL),
            records: zone.name_servers.iter().map(|s| format!("{s}.")).collect(),
            ..Rrset::default()
        };
        let first_ns = zone.name_servers.first().cloned().unwrap_or_default();
        let soa = Rrset {
            name: apex,
            rtype: "SOA".into(),
            ttl: Some(SOA_TTL),
            records: vec![format!(
                "{first_ns}. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"
            )],
            ..Rrset::default()
        };
        for rrset in [ns, soa] {
            zone.records
                .insert(RecordKey::of(&zone.name, &rrset), rrset);
        }
        zone
    }

    pub fn summary(&self) -> ZoneSummary {
        ZoneSummary {
            id: self.id.clone(),
            name: self.name.to_wire(),
            private: self.private,
            vpcs: self.vpcs.clone(),
            record_count: self.records.len(),
        }
    }
}

/// Four awsdns-style name servers, derived from the zone id so they are stable.
fn name_servers_for(id: &str) -> Vec<String> {
    let seed = id.bytes().fold(7u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    let tlds = ["com", "net", "org", "co.uk"];
    tlds.iter()
        .enumerate()
        .map(|(i, tld)| {
            let n = (seed.wrapping_add(i as u32 * 511)) % 2048;
            format!("ns-{n}.awsdns-{:02}.{tld}", n % 64)
        })
        .collect()
}
