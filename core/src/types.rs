//! Value types that make wrong states unrepresentable: a weight is 0–255, a percent 0–100,
//! a DNS name is normalised once, an owner id can be written into a TXT registry label.

use std::fmt;

use crate::text::quoted;
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch: time as the planner sees it, always passed in, never read
/// inside the core, so that decisions are reproducible.
pub type Millis = i64;

/// Why a value was refused. The caller adds the field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypeError {
    #[error("percent must be 0–100, got {0}")]
    Percent(i64),
    #[error("weight must be 0–255, got {0}")]
    Weight(i64),
    #[error("invalid DNS name {name}: {reason}", name = quoted(.name))]
    DnsName { name: String, reason: &'static str },
    #[error("invalid owner id {}: must be 1–255 characters without quotes, commas, '=' or whitespace", quoted(.0))]
    OwnerId(String),
    #[error("invalid set identifier {}: must be 1–128 characters", quoted(.0))]
    SetIdentifier(String),
    #[error("invalid name {}: must be 1–63 characters of a–z, 0–9 and '-'", quoted(.0))]
    Name(String),
}

/// A Route53 weight: an integer 0–255 (docs/reference/route53.md "Weighted records").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Weight(pub u8);

impl Weight {
    pub const ZERO: Weight = Weight(0);
    pub fn get(self) -> u8 {
        self.0
    }
    pub fn from_i64(v: i64) -> Result<Self, TypeError> {
        u8::try_from(v)
            .map(Weight)
            .map_err(|_| TypeError::Weight(v))
    }
}

impl fmt::Display for Weight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A share of traffic in whole percent, 0–100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Percent(u8);

impl Percent {
    pub const ZERO: Percent = Percent(0);
    pub const FULL: Percent = Percent(100);
    pub fn new(v: i64) -> Result<Self, TypeError> {
        if (0..=100).contains(&v) {
            Ok(Percent(v as u8))
        } else {
            Err(TypeError::Percent(v))
        }
    }
    pub fn get(self) -> u8 {
        self.0
    }
    /// The share left for the other side: 100 − p.
    pub fn complement(self) -> Percent {
        Percent(100 - self.0)
    }
    /// Weights are percentages (docs/design.md §3.1 step 2): p% is weight p.
    pub fn as_weight(self) -> Weight {
        Weight(self.0)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        Percent::new(v).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

/// A DNS name in one normal form: lower-case, no trailing dot, Route53's `\ooo` escapes decoded
/// (docs/reference/route53.md "ListResourceRecordSets": "Normalise before comparing").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct DnsName(String);

impl DnsName {
    /// Parses a name as written by a person or by Route53 (with or without the trailing dot,
    /// with or without `\ooo` escapes).
    pub fn parse(input: &str) -> Result<Self, TypeError> {
        let err = |reason| TypeError::DnsName {
            name: input.to_string(),
            reason,
        };
        let unescaped = unescape_octal(input).ok_or_else(|| err("bad \\ooo escape"))?;
        let trimmed = unescaped.strip_suffix('.').unwrap_or(&unescaped);
        if trimmed.is_empty() {
            return Err(err("empty"));
        }
        if trimmed.len() > 1024 {
            return Err(err("longer than 1,024 characters"));
        }
        for label in trimmed.split('.') {
            if label.is_empty() {
                return Err(err("empty label"));
            }
            if label.len() > 63 {
                return Err(err("label longer than 63 characters"));
            }
            if label
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || !c.is_ascii())
            {
                return Err(err("whitespace, quote or non-ASCII character"));
            }
        }
        Ok(DnsName(trimmed.to_ascii_lowercase()))
    }

    /// The normal form: `app.example.com`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Fully qualified, as Route53 takes it: `app.example.com.`.
    pub fn to_fqdn(&self) -> String {
        format!("{}.", self.0)
    }

    /// True if `self` is `zone` or lies below it.
    pub fn is_within(&self, zone: &DnsName) -> bool {
        self.0 == zone.0 || self.0.ends_with(&format!(".{}", zone.0))
    }

    /// The first label and the rest: `app` and `example.com`.
    pub fn split_first(&self) -> (&str, Option<&str>) {
        match self.0.split_once('.') {
            Some((first, rest)) => (first, Some(rest)),
            None => (&self.0, None),
        }
    }
}

impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DnsName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DnsName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Decodes Route53's `\ooo` octal escapes (`\052` is `*`). `None` on a malformed escape.
fn unescape_octal(s: &str) -> Option<String> {
    if !s.contains('\\') {
        return Some(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let digits = bytes.get(i + 1..i + 4)?;
            if !digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                return None;
            }
            let v = (digits[0] - b'0') as u32 * 64
                + (digits[1] - b'0') as u32 * 8
                + (digits[2] - b'0') as u32;
            out.push(u8::try_from(v).ok()?);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// An external-dns `--txt-owner-id`. It is written into `external-dns/owner=<id>` inside a
/// comma-separated label list, so it may not hold a comma, '=', a quote or whitespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct OwnerId(String);

impl OwnerId {
    pub fn new(s: &str) -> Result<Self, TypeError> {
        let ok = !s.is_empty()
            && s.len() <= 255
            && !s.chars().any(|c| {
                c == ',' || c == '=' || c == '"' || c == '\\' || c.is_whitespace() || c.is_control()
            });
        if ok {
            Ok(OwnerId(s.to_string()))
        } else {
            Err(TypeError::OwnerId(s.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OwnerId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        OwnerId::new(&s).map_err(serde::de::Error::custom)
    }
}

/// A weighted record's SetIdentifier: 1–128 characters (docs/reference/route53.md "Weighted
/// records").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct SetIdentifier(String);

impl SetIdentifier {
    pub fn new(s: &str) -> Result<Self, TypeError> {
        if (1..=128).contains(&s.chars().count()) {
            Ok(SetIdentifier(s.to_string()))
        } else {
            Err(TypeError::SetIdentifier(s.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SetIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SetIdentifier {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SetIdentifier::new(&s).map_err(serde::de::Error::custom)
    }
}

/// A short name from the config (a service or a cluster key): 1–63 of a–z, 0–9, '-'.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn new(s: &str) -> Result<Self, TypeError> {
        let ok = (1..=63).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-');
        if ok {
            Ok(Name(s.to_string()))
        } else {
            Err(TypeError::Name(s.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Name::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_range_is_enforced() {
        assert_eq!(Percent::new(0).unwrap().get(), 0);
        assert_eq!(Percent::new(100).unwrap().complement(), Percent::ZERO);
        assert_eq!(Percent::new(101), Err(TypeError::Percent(101)));
        assert_eq!(Percent::new(-1), Err(TypeError::Percent(-1)));
    }

    #[test]
    fn weight_range_is_enforced() {
        assert_eq!(Weight::from_i64(255).unwrap().get(), 255);
        assert_eq!(Weight::from_i64(256), Err(TypeError::Weight(256)));
    }

    #[test]
    fn dns_names_are_normalised() {
        let a = DnsName::parse("App.Example.COM.").unwrap();
        let b = DnsName::parse("app.example.com").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_fqdn(), "app.example.com.");
        assert_eq!(
            DnsName::parse("\\052.example.com.").unwrap().as_str(),
            "*.example.com"
        );
        assert!(DnsName::parse("a..b").is_err());
        assert!(DnsName::parse(".").is_err());
        assert!(DnsName::parse("bad\\09x.com").is_err());
        assert!(a.is_within(&DnsName::parse("example.com").unwrap()));
        assert!(!a.is_within(&DnsName::parse("ple.com").unwrap()));
    }

    #[test]
    fn owner_ids_must_fit_a_label() {
        assert!(OwnerId::new("blue").is_ok());
        assert!(OwnerId::new("").is_err());
        assert!(OwnerId::new("a,b").is_err());
        assert!(OwnerId::new("a=b").is_err());
        assert!(OwnerId::new("a b").is_err());
    }

    #[test]
    fn set_identifier_length() {
        assert!(SetIdentifier::new(&"x".repeat(128)).is_ok());
        assert!(SetIdentifier::new(&"x".repeat(129)).is_err());
        assert!(SetIdentifier::new("").is_err());
    }
}
