//! DNS names as Route53 stores and returns them.
//!
//! docs/reference/route53.md "ListResourceRecordSets": names come back lower-case, fully qualified
//! with a trailing dot, and any byte other than a–z, 0–9, `-`, `_` escaped as `\ooo` (`*` is
//! `\052`). Input may use the same `\ooo` escapes; `\X` stands for the character X itself.

use thiserror::Error;

/// Longest name Route53 accepts (docs/reference/route53.md "Limits": name / alias DNSName 1,024).
pub const MAX_NAME_LENGTH: usize = 1024;
/// Longest DNS label (RFC 1035).
const MAX_LABEL_LENGTH: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("FATAL problem: DomainLabelEmpty (Domain label is empty) encountered with '{0}'")]
    EmptyLabel(String),
    #[error("FATAL problem: LabelTooLong (Label is too long) encountered with '{0}'")]
    LabelTooLong(String),
    #[error("FATAL problem: InvalidEscape (Escape sequence is not valid) encountered with '{0}'")]
    BadEscape(String),
}

/// A name split into its labels (raw bytes, lower-cased), most specific first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsName {
    labels: Vec<Vec<u8>>,
}

impl DnsName {
    /// The root name `.`.
    pub fn root() -> DnsName {
        DnsName { labels: Vec::new() }
    }

    /// Parses a presentation-form name (`www.Example.com`, `\052.example.com.`, `*.example.com`).
    pub fn parse(input: &str) -> Result<DnsName, NameError> {
        let trimmed = input.strip_suffix('.').unwrap_or(input);
        if trimmed.is_empty() {
            // "." (or "") is the root.
            return if input == "." {
                Ok(DnsName { labels: Vec::new() })
            } else {
                Err(NameError::EmptyLabel(input.to_string()))
            };
        }
        let mut labels = Vec::new();
        let mut label = Vec::new();
        let bytes = trimmed.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'.' => {
                    push_label(&mut labels, std::mem::take(&mut label), input)?;
                    i += 1;
                }
                b'\\' => {
                    let (byte, used) = decode_escape(&bytes[i + 1..])
                        .ok_or_else(|| NameError::BadEscape(input.to_string()))?;
                    label.push(byte.to_ascii_lowercase());
                    i += 1 + used;
                }
                _ => {
                    label.push(b.to_ascii_lowercase());
                    i += 1;
                }
            }
        }
        push_label(&mut labels, label, input)?;
        Ok(DnsName { labels })
    }

    /// The form Route53 returns: lower-case, escaped, trailing dot.
    pub fn to_wire(&self) -> String {
        if self.labels.is_empty() {
            return ".".to_string();
        }
        let mut out = String::new();
        for label in &self.labels {
            escape_label_into(label, &mut out);
            out.push('.');
        }
        out
    }

    /// Listing order key: labels reversed, joined by dots, trailing dot included
    /// (docs/reference/route53.md "ListResourceRecordSets": `com.example.www.`).
    pub fn sort_key(&self) -> String {
        let mut out = String::new();
        for label in self.labels.iter().rev() {
            escape_label_into(label, &mut out);
            out.push('.');
        }
        if out.is_empty() {
            out.push('.');
        }
        out
    }

    /// Whether `self` is `zone` or a name below it.
    pub fn is_within(&self, zone: &DnsName) -> bool {
        self.labels.len() >= zone.labels.len()
            && self.labels[self.labels.len() - zone.labels.len()..] == zone.labels[..]
    }
}

fn push_label(labels: &mut Vec<Vec<u8>>, label: Vec<u8>, input: &str) -> Result<(), NameError> {
    if label.is_empty() {
        return Err(NameError::EmptyLabel(input.to_string()));
    }
    if label.len() > MAX_LABEL_LENGTH {
        return Err(NameError::LabelTooLong(input.to_string()));
    }
    labels.push(label);
    Ok(())
}

/// Decodes what follows a backslash: three octal digits (`\052`) or one literal character.
/// Returns the byte and how many input bytes were used.
fn decode_escape(rest: &[u8]) -> Option<(u8, usize)> {
    let first = *rest.first()?;
    if first.is_ascii_digit() {
        let digits = rest.get(..3)?;
        let mut value: u32 = 0;
        for d in digits {
            if !(b'0'..=b'7').contains(d) {
                return None;
            }
            value = value * 8 + u32::from(d - b'0');
        }
        let byte = u8::try_from(value).ok()?;
        return Some((byte, 3));
    }
    Some((first, 1))
}

fn escape_label_into(label: &[u8], out: &mut String) {
    for &b in label {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\{b:03o}"));
        }
    }
}

/// Normalises a name to the wire form, or explains why it is not a name.
pub fn normalize(input: &str) -> Result<String, NameError> {
    DnsName::parse(input).map(|n| n.to_wire())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cases_and_adds_trailing_dot() {
        assert_eq!(normalize("WWW.Example.COM").unwrap(), "www.example.com.");
        assert_eq!(normalize("www.example.com.").unwrap(), "www.example.com.");
    }

    #[test]
    fn escapes_asterisk_and_other_bytes() {
        assert_eq!(normalize("*.example.com").unwrap(), "\\052.example.com.");
        assert_eq!(
            normalize("\\052.example.com").unwrap(),
            "\\052.example.com."
        );
        assert_eq!(
            normalize("a b.example.com").unwrap(),
            "a\\040b.example.com."
        );
        assert_eq!(normalize("_x-y.example.com").unwrap(), "_x-y.example.com.");
    }

    #[test]
    fn refuses_empty_labels_and_bad_escapes() {
        assert!(matches!(
            normalize("a..example.com"),
            Err(NameError::EmptyLabel(_))
        ));
        assert!(matches!(normalize(""), Err(NameError::EmptyLabel(_))));
        assert!(matches!(
            normalize("a\\9zz.example.com"),
            Err(NameError::BadEscape(_))
        ));
        assert!(matches!(normalize("a\\"), Err(NameError::BadEscape(_))));
        assert!(matches!(
            normalize("a\\777.com"),
            Err(NameError::BadEscape(_))
        ));
        let long = "a".repeat(64);
        assert!(matches!(
            normalize(&format!("{long}.com")),
            Err(NameError::LabelTooLong(_))
        ));
    }

    #[test]
    fn sort_key_reverses_labels() {
        let n = DnsName::parse("www.example.com").unwrap();
        assert_eq!(n.sort_key(), "com.example.www.");
        assert_eq!(DnsName::parse(".").unwrap().sort_key(), ".");
    }

    #[test]
    fn within_zone() {
        let zone = DnsName::parse("example.com").unwrap();
        assert!(DnsName::parse("a.example.com").unwrap().is_within(&zone));
        assert!(DnsName::parse("example.com").unwrap().is_within(&zone));
        assert!(!DnsName::parse("badexample.com").unwrap().is_within(&zone));
        assert!(!DnsName::parse("com").unwrap().is_within(&zone));
    }
}
