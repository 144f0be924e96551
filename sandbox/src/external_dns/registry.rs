//! The TXT registry: registry names per version and affixes, the label value, ownership lookup.
//! Every rule here is docs/reference/external-dns.md §1.

use std::collections::BTreeMap;

use super::record::RecordSet;
use super::settings::{ExternalDnsSettings, Version};

const RECORD_TYPE_TEMPLATE: &str = "%{record_type}";
const HERITAGE: &str = "external-dns";
const LABEL_PREFIX: &str = "external-dns/";
/// "TXT is TTL 300" (docs/reference/external-dns.md §1 "TTL and routing fields").
pub const TXT_TTL: i64 = 300;

/// Registry labels (`owner`, `resource`, …) without the `external-dns/` prefix.
pub type Labels = BTreeMap<String, String>;

/// How TXT names are derived: `--txt-prefix`, `--txt-suffix`, `--txt-wildcard-replacement`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxtNaming {
    prefix: String,
    suffix: String,
    wildcard_replacement: String,
}

impl TxtNaming {
    pub fn new(prefix: Option<&str>, suffix: Option<&str>, wildcard: Option<&str>) -> Self {
        TxtNaming {
            prefix: prefix.unwrap_or_default().to_string(),
            suffix: suffix.unwrap_or_default().to_string(),
            wildcard_replacement: wildcard.unwrap_or_default().to_string(),
        }
    }

    pub fn from_settings(settings: &ExternalDnsSettings) -> Self {
        TxtNaming::new(
            settings.txt_prefix.as_deref(),
            settings.txt_suffix.as_deref(),
            settings.txt_wildcard_replacement.as_deref(),
        )
    }

    fn record_type_in_affix(&self) -> bool {
        self.prefix.contains(RECORD_TYPE_TEMPLATE) || self.suffix.contains(RECORD_TYPE_TEMPLATE)
    }

    /// The typed name: `a-app.example.com`; with prefix `txt.` → `txt.a-app.example.com`;
    /// prefix `%{record_type}-ext.` → `a-ext.app.example.com`; suffix `-%{record_type}` →
    /// `app-a.example.com`. Affixes are lower-cased; a leading `*` label is replaced when a
    /// wildcard replacement is set.
    pub fn typed_name(&self, name: &str, record_type: &str) -> String {
        let record_type = record_type.to_ascii_lowercase();
        let prefix = self.prefix.replace(RECORD_TYPE_TEMPLATE, &record_type);
        let suffix = self.suffix.replace(RECORD_TYPE_TEMPLATE, &record_type);
        let (first, rest) = self.split_first_label(name);
        let first = if self.record_type_in_affix() {
            first
        } else {
            format!("{record_type}-{first}")
        };
        join_affixed(
            &prefix.to_ascii_lowercase(),
            &first,
            &suffix.to_ascii_lowercase(),
            rest,
        )
    }

    /// The old format: the record's own name plus the affixes, without any type.
    pub fn old_name(&self, name: &str) -> String {
        let prefix = self.prefix.replace(RECORD_TYPE_TEMPLATE, "");
        let suffix = self.suffix.replace(RECORD_TYPE_TEMPLATE, "");
        let (first, rest) = self.split_first_label(name);
        join_affixed(
            &prefix.to_ascii_lowercase(),
            &first,
            &suffix.to_ascii_lowercase(),
            rest,
        )
    }

    fn split_first_label<'a>(&self, name: &'a str) -> (String, Option<&'a str>) {
        let (first, rest) = match name.split_once('.') {
            Some((first, rest)) => (first, Some(rest)),
            None => (name, None),
        };
        if first == "*" && !self.wildcard_replacement.is_empty() {
            (self.wildcard_replacement.clone(), rest)
        } else {
            (first.to_string(), rest)
        }
    }
}

fn join_affixed(prefix: &str, first: &str, suffix: &str, rest: Option<&str>) -> String {
    match rest {
        Some(rest) => format!("{prefix}{first}{suffix}.{rest}"),
        None => format!("{prefix}{first}{suffix}"),
    }
}

/// The type whose name a record's typed TXT carries: an A alias is `cname-` before v0.22 and
/// `a-` from v0.22; AAAA is `aaaa-` (docs/reference/external-dns.md §1 "Which names exist, by
/// version").
pub fn txt_type_for(version: Version, record: &RecordSet) -> String {
    if record.record_type == "A" && record.is_alias() {
        version.a_alias_txt_type().to_string()
    } else {
        record.record_type.to_ascii_lowercase()
    }
}

/// The TXT names an instance of this version writes for `record`.
pub fn names_written(settings: &ExternalDnsSettings, record: &RecordSet) -> Vec<String> {
    let naming = TxtNaming::from_settings(settings);
    let version = settings.version;
    let mut names = Vec::new();
    if version.writes_typed() {
        names.push(naming.typed_name(&record.name, &txt_type_for(version, record)));
    }
    // Old format: ≤ v0.17, never for AAAA ("typed only for AAAA").
    if version.writes_old_format() && record.record_type != "AAAA" {
        names.push(naming.old_name(&record.name));
    }
    names
}

/// The expected typed TXT name (what self-healing restores), or the old name before v0.12.
pub fn expected_name(settings: &ExternalDnsSettings, record: &RecordSet) -> String {
    let naming = TxtNaming::from_settings(settings);
    if settings.version.writes_typed() {
        naming.typed_name(&record.name, &txt_type_for(settings.version, record))
    } else {
        naming.old_name(&record.name)
    }
}

/// The names read for ownership, in lookup order: the typed TXT → (v0.22, A alias only)
/// `cname-` → (not for AAAA) the old format.
pub fn lookup_names(settings: &ExternalDnsSettings, record: &RecordSet) -> Vec<String> {
    let naming = TxtNaming::from_settings(settings);
    let version = settings.version;
    let mut names = Vec::new();
    if version.writes_typed() {
        names.push(naming.typed_name(&record.name, &txt_type_for(version, record)));
        if version >= Version::V0_22 && record.record_type == "A" && record.is_alias() {
            names.push(naming.typed_name(&record.name, "cname"));
        }
    }
    if record.record_type != "AAAA" {
        names.push(naming.old_name(&record.name));
    }
    names
}

/// The canonical value: one quoted string, `heritage` first, then `external-dns/<key>=<value>`
/// with keys sorted, comma-separated, no spaces.
pub fn format_value(labels: &Labels) -> String {
    let mut parts = vec![format!("heritage={HERITAGE}")];
    parts.extend(
        labels
            .iter()
            .map(|(key, value)| format!("{LABEL_PREFIX}{key}={value}")),
    );
    format!("\"{}\"", parts.join(","))
}

/// The labels an owner writes.
pub fn owner_labels(owner_id: &str, resource: &str) -> Labels {
    let mut labels = Labels::new();
    labels.insert("owner".to_string(), owner_id.to_string());
    labels.insert("resource".to_string(), resource.to_string());
    labels
}

/// Parses a TXT rrset's first value. `None` when it is not an external-dns registry value
/// (heritage missing or not `external-dns`, malformed, or encrypted — not modelled): such a TXT
/// means "not mine".
pub fn parse_value(value: &str) -> Option<Labels> {
    let text = character_strings(value)?.concat();
    let mut labels = Labels::new();
    let mut heritage_ok = false;
    for pair in text.split(',') {
        let (key, val) = pair.split_once('=')?;
        if key == "heritage" {
            heritage_ok = val == HERITAGE;
            if !heritage_ok {
                return None;
            }
        } else if let Some(label) = key.strip_prefix(LABEL_PREFIX) {
            labels.insert(label.to_string(), val.to_string());
        }
    }
    heritage_ok.then_some(labels)
}

/// Splits a TXT value into its character strings (`"a" "b"`), undoing `\"`, `\\` and `\ooo`.
/// Unquoted words count as strings too. `None` on an unterminated quote.
pub fn character_strings(value: &str) -> Option<Vec<String>> {
    let mut strings = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let quoted = c == '"';
        if quoted {
            chars.next();
        }
        let mut current = String::new();
        let mut closed = !quoted;
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted => {
                    closed = true;
                    break;
                }
                c if !quoted && c.is_whitespace() => break,
                '\\' => current.push(unescape(&mut chars)?),
                c => current.push(c),
            }
        }
        if !closed {
            return None;
        }
        strings.push(current);
    }
    Some(strings)
}

fn unescape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char> {
    let first = chars.next()?;
    if !first.is_ascii_digit() {
        return Some(first);
    }
    let mut value = first.to_digit(8)?;
    for _ in 0..2 {
        value = value * 8 + chars.next()?.to_digit(8)?;
    }
    char::from_u32(value)
}

/// Whose a record is: the labels of the first registry TXT found in lookup order, with the TXT's
/// set identifier equal to the record's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    pub labels: Labels,
    /// The TXT name the labels came from.
    pub found_at: String,
}

impl Ownership {
    pub fn owner(&self) -> Option<&str> {
        self.labels.get("owner").map(String::as_str)
    }
}

/// Index of the zone's TXT rrsets by (name, set identifier).
pub struct TxtIndex<'a> {
    by_key: BTreeMap<(String, Option<String>), &'a RecordSet>,
}

impl<'a> TxtIndex<'a> {
    pub fn new(records: &'a [RecordSet]) -> Self {
        let by_key = records
            .iter()
            .filter(|r| r.record_type == "TXT")
            .map(|r| (r.key(), r))
            .collect();
        TxtIndex { by_key }
    }

    pub fn get(&self, name: &str, set_identifier: Option<&str>) -> Option<&'a RecordSet> {
        self.by_key
            .get(&(name.to_string(), set_identifier.map(str::to_string)))
            .copied()
    }

    /// Ownership lookup (docs/reference/external-dns.md §1 "Lookup order"). Only the first
    /// value of the TXT rrset is read.
    pub fn ownership(
        &self,
        settings: &ExternalDnsSettings,
        record: &RecordSet,
    ) -> Option<Ownership> {
        lookup_names(settings, record).into_iter().find_map(|name| {
            let txt = self.get(&name, record.set_identifier.as_deref())?;
            let labels = parse_value(txt.values.first()?)?;
            Some(Ownership {
                labels,
                found_at: name,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::external_dns::record::Alias;

    fn alias_a(name: &str) -> RecordSet {
        RecordSet {
            name: name.into(),
            record_type: "A".into(),
            set_identifier: None,
            weight: None,
            ttl: None,
            values: vec![],
            alias: Some(Alias {
                hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
                dns_name: "lb.us-east-1.elb.amazonaws.com".into(),
                evaluate_target_health: true,
            }),
            health_check_id: None,
        }
    }

    #[test]
    fn typed_names_match_the_reference_examples() {
        let host = "app.example.com";
        assert_eq!(
            TxtNaming::default().typed_name(host, "A"),
            "a-app.example.com"
        );
        assert_eq!(
            TxtNaming::new(Some("txt."), None, None).typed_name(host, "a"),
            "txt.a-app.example.com"
        );
        assert_eq!(
            TxtNaming::new(Some("%{record_type}-ext."), None, None).typed_name(host, "a"),
            "a-ext.app.example.com"
        );
        assert_eq!(
            TxtNaming::new(None, Some("-%{record_type}"), None).typed_name(host, "a"),
            "app-a.example.com"
        );
        assert_eq!(
            TxtNaming::new(Some("TXT."), None, None).typed_name(host, "AAAA"),
            "txt.aaaa-app.example.com"
        );
    }

    #[test]
    fn old_names_have_no_type() {
        assert_eq!(
            TxtNaming::default().old_name("app.example.com"),
            "app.example.com"
        );
        assert_eq!(
            TxtNaming::new(Some("txt."), None, None).old_name("app.example.com"),
            "txt.app.example.com"
        );
        assert_eq!(
            TxtNaming::new(None, Some("-%{record_type}"), None).old_name("app.example.com"),
            "app-.example.com"
        );
    }

    #[test]
    fn wildcard_label_is_replaced_only_when_configured() {
        assert_eq!(
            TxtNaming::new(None, None, Some("wildcard")).typed_name("*.example.com", "a"),
            "a-wildcard.example.com"
        );
        assert_eq!(
            TxtNaming::default().typed_name("*.example.com", "a"),
            "a-*.example.com"
        );
    }

    #[test]
    fn names_written_per_version() {
        let a = alias_a("app.example.com");
        let mut aaaa = a.clone();
        aaaa.record_type = "AAAA".into();
        let s13 = ExternalDnsSettings::new("o", Version::V0_13);
        let s18 = ExternalDnsSettings::new("o", Version::V0_18);
        let s22 = ExternalDnsSettings::new("o", Version::V0_22);
        assert_eq!(
            names_written(&s13, &a),
            vec!["cname-app.example.com", "app.example.com"]
        );
        assert_eq!(names_written(&s18, &a), vec!["cname-app.example.com"]);
        assert_eq!(names_written(&s22, &a), vec!["a-app.example.com"]);
        assert_eq!(names_written(&s22, &aaaa), vec!["aaaa-app.example.com"]);
        assert_eq!(names_written(&s13, &aaaa), vec!["aaaa-app.example.com"]);
        let old = ExternalDnsSettings::new("o", Version::new(0, 11));
        assert_eq!(names_written(&old, &a), vec!["app.example.com"]);
    }

    #[test]
    fn lookup_order_per_version() {
        let a = alias_a("app.example.com");
        let s22 = ExternalDnsSettings::new("o", Version::V0_22);
        let s18 = ExternalDnsSettings::new("o", Version::V0_18);
        assert_eq!(
            lookup_names(&s22, &a),
            vec![
                "a-app.example.com",
                "cname-app.example.com",
                "app.example.com"
            ]
        );
        assert_eq!(
            lookup_names(&s18, &a),
            vec!["cname-app.example.com", "app.example.com"]
        );
        let mut aaaa = a.clone();
        aaaa.record_type = "AAAA".into();
        assert_eq!(lookup_names(&s22, &aaaa), vec!["aaaa-app.example.com"]);
    }

    #[test]
    fn value_is_canonical_and_round_trips() {
        let labels = owner_labels("blue", "ingress/default/app");
        let value = format_value(&labels);
        assert_eq!(
            value,
            "\"heritage=external-dns,external-dns/owner=blue,external-dns/resource=ingress/default/app\""
        );
        assert_eq!(parse_value(&value), Some(labels));
    }

    #[test]
    fn foreign_or_broken_values_are_not_registry_entries() {
        assert_eq!(
            parse_value("\"heritage=other,external-dns/owner=blue\""),
            None
        );
        assert_eq!(parse_value("\"external-dns/owner=blue\""), None);
        assert_eq!(parse_value("\"v=spf1 -all\""), None);
        assert_eq!(parse_value("\"heritage=external-dns"), None);
    }

    #[test]
    fn character_strings_are_parsed_not_trimmed() {
        assert_eq!(
            character_strings(r#""a\"b" "c\052d""#),
            Some(vec!["a\"b".to_string(), "c*d".to_string()])
        );
        let joined = r#""heritage=external-dns,external-dns/" "owner=blue""#;
        assert_eq!(
            parse_value(joined).and_then(|l| l.get("owner").cloned()),
            Some("blue".to_string())
        );
    }
}
