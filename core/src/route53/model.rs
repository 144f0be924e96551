//! Route53 resource record sets and change batches, as cutover reasons about them.
//! Converted to and from the SDK's types at the edge (`route53::client`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::types::{DnsName, SetIdentifier, Weight};

/// The longest Value of any record (docs/reference/route53.md "Limits").
pub const MAX_VALUE_CHARS: usize = 4_000;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecordType {
    A,
    #[serde(rename = "AAAA")]
    Aaaa,
    #[serde(rename = "CNAME")]
    Cname,
    #[serde(rename = "TXT")]
    Txt,
    /// Any other type (MX, NS, SOA, …): listed, never edited.
    Other(String),
}

impl RecordType {
    pub fn parse(s: &str) -> RecordType {
        match s {
            "A" => RecordType::A,
            "AAAA" => RecordType::Aaaa,
            "CNAME" => RecordType::Cname,
            "TXT" => RecordType::Txt,
            other => RecordType::Other(other.to_string()),
        }
    }
    pub fn as_str(&self) -> &str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Txt => "TXT",
            RecordType::Other(s) => s,
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AliasTarget {
    pub hosted_zone_id: String,
    pub dns_name: DnsName,
    pub evaluate_target_health: bool,
}

/// One resource record set. `ttl` + `values` XOR `alias` (docs/reference/route53.md "Structural
/// errors").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordSet {
    pub name: DnsName,
    #[serde(rename = "type")]
    pub rtype: RecordType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<SetIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<Weight>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<AliasTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_id: Option<String>,
    /// Set when the listing showed a routing policy cutover does not drive (failover, latency,
    /// geolocation, multivalue, CIDR, traffic policy). Such a record is never edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_policy: Option<String>,
}

/// The identity of an rrset in a zone: (name, type, set identifier).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RrKey {
    pub name: DnsName,
    pub rtype: RecordType,
    pub set_identifier: Option<SetIdentifier>,
}

impl fmt::Display for RrKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[name='{}', type='{}'", self.name.to_fqdn(), self.rtype)?;
        if let Some(id) = &self.set_identifier {
            write!(f, ", set-identifier='{id}'")?;
        }
        f.write_str("]")
    }
}

impl RecordSet {
    pub fn key(&self) -> RrKey {
        RrKey {
            name: self.name.clone(),
            rtype: self.rtype.clone(),
            set_identifier: self.set_identifier.clone(),
        }
    }
    pub fn is_weighted(&self) -> bool {
        self.weight.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    Create,
    Delete,
    Upsert,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Create => "CREATE",
            Action::Delete => "DELETE",
            Action::Upsert => "UPSERT",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub action: Action,
    pub record: RecordSet,
}

/// One ChangeResourceRecordSets request for one zone: applied whole or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChangeBatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChangeStatus {
    Pending,
    Insync,
}

/// What Route53 answers to an accepted batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeInfo {
    /// The bare id (`C123…`), without the `/change/` prefix.
    pub id: String,
    pub status: ChangeStatus,
}
