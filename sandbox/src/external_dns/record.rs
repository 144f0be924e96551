//! The record sets external-dns reads from and writes to Route53, in its own small model.

use serde::{Deserialize, Serialize};

/// An alias target: `AliasTarget {HostedZoneId, DNSName, EvaluateTargetHealth}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    pub hosted_zone_id: String,
    pub dns_name: String,
    pub evaluate_target_health: bool,
}

impl Alias {
    /// Same target, comparing names the way Route53 normalises them.
    pub fn same_target(&self, other: &Alias) -> bool {
        self.hosted_zone_id == other.hosted_zone_id
            && normalize_name(&self.dns_name) == normalize_name(&other.dns_name)
            && self.evaluate_target_health == other.evaluate_target_health
    }
}

/// One resource record set. `name` is normalised (lower-case, no trailing dot, `\ooo` decoded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSet {
    pub name: String,
    pub record_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<Alias>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_id: Option<String>,
}

impl RecordSet {
    /// The plan key of external-dns: (name, set identifier) (docs/reference/external-dns.md §3).
    pub fn key(&self) -> (String, Option<String>) {
        (self.name.clone(), self.set_identifier.clone())
    }

    pub fn is_alias(&self) -> bool {
        self.alias.is_some()
    }
}

/// The record types external-dns manages by default; TXT never enters the plan
/// (docs/reference/external-dns.md §3).
pub fn is_managed_type(record_type: &str) -> bool {
    matches!(record_type, "A" | "AAAA" | "CNAME")
}

/// Lower-case, without the trailing dot, with Route53's `\ooo` escapes decoded (`\052` → `*`).
pub fn normalize_name(name: &str) -> String {
    let decoded = decode_octal_escapes(name);
    decoded.trim_end_matches('.').to_ascii_lowercase()
}

fn decode_octal_escapes(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let digits = bytes.get(i + 1..i + 4);
        match (bytes.get(i), digits) {
            (Some(b'\\'), Some(d)) if d.iter().all(|c| (b'0'..=b'7').contains(c)) => {
                let value = d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            (Some(b), _) => {
                out.push(*b);
                i += 1;
            }
            (None, _) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `name` is `zone` or inside it (both normalised).
pub fn is_in_zone(name: &str, zone: &str) -> bool {
    name == zone || name.ends_with(&format!(".{zone}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised() {
        assert_eq!(normalize_name("\\052.Example.COM."), "*.example.com");
        assert_eq!(normalize_name("app.example.com"), "app.example.com");
        assert_eq!(normalize_name("a\\05"), "a\\05");
    }

    #[test]
    fn zone_membership_is_by_label() {
        assert!(is_in_zone("app.example.com", "example.com"));
        assert!(is_in_zone("example.com", "example.com"));
        assert!(!is_in_zone("badexample.com", "example.com"));
    }
}
