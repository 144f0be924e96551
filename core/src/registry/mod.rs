//! The external-dns TXT registry as cutover reads and writes it (docs/reference/external-dns.md §1,
//! §2, §5): TXT record names per external-dns version and affix flags, the canonical label value, a
//! real TXT character-string codec, ownership lookup in external-dns's own order, and detection of
//! encrypted values (read-only: cutover refuses to rewrite them).

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::route53::model::{RecordSet, RecordType};
use crate::txt::{self, TxtError};
use crate::types::{DnsName, SetIdentifier, Weight};

mod encryption;
mod names;

pub use encryption::{decrypt_labels, encrypt_labels, EncryptionError, EncryptionKey, NONCE_LEN};
pub use names::{
    all_txt_names, lookup_variants, txt_name, typed_variant, written_variants, ExternalDnsVersion,
    TxtNaming, TxtVariant,
};

/// "TXT is TTL 300" (docs/reference/external-dns.md §1 "TTL and routing fields").
pub const TXT_TTL: u32 = 300;
/// The heritage every external-dns registry TXT carries.
pub const HERITAGE: &str = "external-dns";
// ---------------------------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------------------------

/// The labels of a registry TXT, keys without the `external-dns/` prefix (`owner`, `resource`, …).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Labels(pub BTreeMap<String, String>);

impl Labels {
    pub fn new(owner: &str, resource: Option<&str>) -> Labels {
        let mut m = BTreeMap::new();
        m.insert("owner".to_string(), owner.to_string());
        if let Some(r) = resource {
            m.insert("resource".to_string(), r.to_string());
        }
        Labels(m)
    }
    pub fn owner(&self) -> Option<&str> {
        self.0.get("owner").map(String::as_str)
    }
    pub fn resource(&self) -> Option<&str> {
        self.0.get("resource").map(String::as_str)
    }
    pub fn with_owner(&self, owner: &str) -> Labels {
        let mut l = self.clone();
        l.0.insert("owner".to_string(), owner.to_string());
        l
    }
    pub fn with_resource(&self, resource: &str) -> Labels {
        let mut l = self.clone();
        l.0.insert("resource".to_string(), resource.to_string());
        l
    }

    /// The canonical text: `heritage=external-dns` first, then `external-dns/<key>=<value>` with
    /// keys sorted, comma-separated, no spaces (docs/reference/external-dns.md §1 "Value").
    pub fn render_text(&self) -> String {
        let mut parts = vec![format!("heritage={HERITAGE}")];
        for (k, v) in &self.0 {
            parts.push(format!("external-dns/{k}={v}"));
        }
        parts.join(",")
    }

    /// The canonical Route53 value: the text as ONE quoted string (docs/reference/external-dns.md
    /// §1 "Value"). Labels longer than one string are split into several, which external-dns cannot
    /// regenerate; cutover never writes such labels (owner ids and resources are short).
    pub fn render_value(&self) -> Result<String, TxtError> {
        txt::render(&self.render_text())
    }
}

/// What the first value of a registry TXT says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxtContent {
    /// A plain external-dns label set.
    Labels(Labels),
    /// An AES-256-GCM value (`--txt-encrypt-enabled`): readable only with the key; cutover
    /// refuses to rewrite it (docs/reference/external-dns.md §1 "Encryption").
    Encrypted,
    /// No `heritage=external-dns`: not a registry entry; never touched
    /// (docs/reference/external-dns.md §1 "Ownership").
    Foreign,
}

/// Parses a registry TXT value, tolerating several strings, escapes, spaces around labels and
/// labels in any order.
pub fn parse_value(value: &str) -> Result<TxtContent, TxtError> {
    let text = txt::text(value)?;
    Ok(parse_label_text(text.trim()))
}

pub(super) fn parse_label_text(text: &str) -> TxtContent {
    if looks_encrypted(text) {
        return TxtContent::Encrypted;
    }
    let mut labels = BTreeMap::new();
    let mut heritage_ok = false;
    for token in text.split(',') {
        let Some((k, v)) = token.trim().split_once('=') else {
            return TxtContent::Foreign;
        };
        let (k, v) = (k.trim(), v.trim());
        if k == "heritage" {
            heritage_ok = v == HERITAGE;
        } else if let Some(key) = k.strip_prefix("external-dns/") {
            labels.insert(key.to_string(), v.to_string());
        }
    }
    if heritage_ok {
        TxtContent::Labels(Labels(labels))
    } else {
        TxtContent::Foreign
    }
}

/// An encrypted value is `base64std(nonce(12) ‖ ciphertext+tag(16+))` with no `heritage=` in it
/// (docs/reference/external-dns.md §1 "Encryption").
fn looks_encrypted(text: &str) -> bool {
    !text.contains("heritage=")
        && !text.is_empty()
        && base64::engine::general_purpose::STANDARD
            .decode(text)
            .is_ok_and(|b| b.len() > 12 + 16)
}

// ---------------------------------------------------------------------------------------------
// Ownership
// ---------------------------------------------------------------------------------------------

/// One registry TXT record found in the zone for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEntry {
    pub record: RecordSet,
    pub content: TxtContent,
    /// The labels of an encrypted entry, when a configured key opened it (read-only: cutover
    /// never rewrites encrypted entries — docs/reference/external-dns.md §1 "Encryption").
    pub decrypted: Option<Labels>,
}

impl RegistryEntry {
    /// The owner label: of the plain labels, or of the decrypted labels of an encrypted entry.
    pub fn owner(&self) -> Option<&str> {
        match &self.content {
            TxtContent::Labels(l) => l.owner(),
            TxtContent::Encrypted => self.decrypted.as_ref().and_then(Labels::owner),
            TxtContent::Foreign => None,
        }
    }

    /// Opens an encrypted entry with the first key that fits (docs/reference/external-dns.md §1
    /// "Encryption": AES-256-GCM over gzip of the label string). Plain and foreign entries stay as
    /// they are.
    pub fn decrypt_with(&mut self, keys: &[EncryptionKey]) {
        if self.content != TxtContent::Encrypted || self.decrypted.is_some() {
            return;
        }
        let Some(text) = self.record.values.first().and_then(|v| txt::text(v).ok()) else {
            return;
        };
        self.decrypted = keys
            .iter()
            .find_map(|k| decrypt_labels(text.trim(), k).ok());
    }
}

/// The TXT rrset at `name` with set identifier `set_id`, if listed.
pub fn find_txt<'a>(
    records: &'a [RecordSet],
    name: &DnsName,
    set_id: Option<&SetIdentifier>,
) -> Option<&'a RecordSet> {
    records.iter().find(|r| {
        r.rtype == RecordType::Txt && &r.name == name && r.set_identifier.as_ref() == set_id
    })
}

/// Reads a TXT rrset as a registry entry: "Only the first value of the TXT rrset is read"
/// (docs/reference/external-dns.md §1 "Value").
pub fn read_entry(record: &RecordSet) -> RegistryEntry {
    let content = record
        .values
        .first()
        .and_then(|v| parse_value(v).ok())
        .unwrap_or(TxtContent::Foreign);
    RegistryEntry {
        record: record.clone(),
        content,
        decrypted: None,
    }
}

/// The registry entry an external-dns instance would read for the record
/// (`host`, `rtype`, `set_id`), following its version's lookup order
/// (docs/reference/external-dns.md §1 "Lookup order"). `None`: no TXT, which means "not mine" to
/// every instance.
pub fn owner_entry(
    records: &[RecordSet],
    host: &DnsName,
    rtype: &RecordType,
    is_alias: bool,
    set_id: Option<&SetIdentifier>,
    naming: &TxtNaming,
) -> Option<RegistryEntry> {
    lookup_variants(rtype, is_alias, naming.version)
        .into_iter()
        .filter_map(|v| txt_name(host, v, naming))
        .find_map(|name| find_txt(records, &name, set_id))
        .map(read_entry)
}

/// Every registry TXT present for the key (`host`, `set_id`) and the record type, under every
/// name any of `namings` uses (docs/reference/external-dns.md §1 "Lookup order": "A flip must
/// rewrite every TXT variant present for the key"). A and its typed/old names, AAAA and `aaaa-`.
pub fn entries_for_record(
    records: &[RecordSet],
    host: &DnsName,
    rtype: &RecordType,
    set_id: Option<&SetIdentifier>,
    namings: &[TxtNaming],
) -> Vec<RegistryEntry> {
    let variants: &[TxtVariant] = match rtype {
        RecordType::Aaaa => &[TxtVariant::Aaaa],
        RecordType::A => &[TxtVariant::A, TxtVariant::Cname, TxtVariant::Old],
        RecordType::Cname => &[TxtVariant::Cname, TxtVariant::Old],
        _ => &[],
    };
    let mut names: Vec<DnsName> = namings
        .iter()
        .flat_map(|n| variants.iter().filter_map(move |v| txt_name(host, *v, n)))
        .collect();
    names.sort();
    names.dedup();
    names
        .iter()
        .filter_map(|n| find_txt(records, n, set_id))
        .map(read_entry)
        .collect()
}

/// A registry TXT record for a record: TTL 300, the record's SetIdentifier, Weight and health
/// check id copied (docs/reference/external-dns.md §1 "TTL and routing fields").
pub fn txt_record(
    name: DnsName,
    set_id: Option<SetIdentifier>,
    weight: Option<Weight>,
    health_check_id: Option<String>,
    labels: &Labels,
) -> Result<RecordSet, TxtError> {
    Ok(RecordSet {
        name,
        rtype: RecordType::Txt,
        set_identifier: set_id,
        weight,
        ttl: Some(TXT_TTL),
        values: vec![labels.render_value()?],
        alias: None,
        health_check_id,
        other_policy: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(s: &str) -> DnsName {
        DnsName::parse(s).unwrap()
    }
    fn naming(v: (u32, u32), prefix: &str, suffix: &str) -> TxtNaming {
        TxtNaming {
            version: ExternalDnsVersion::new(v.0, v.1),
            prefix: prefix.into(),
            suffix: suffix.into(),
            wildcard_replacement: None,
        }
    }

    #[test]
    fn txt_names_follow_the_reference_examples() {
        let h = host("app.example.com");
        let v22 = (0, 22);
        let n = |p: &str, s: &str| txt_name(&h, TxtVariant::A, &naming(v22, p, s)).unwrap();
        assert_eq!(n("", "").as_str(), "a-app.example.com");
        assert_eq!(n("txt.", "").as_str(), "txt.a-app.example.com");
        assert_eq!(
            n("%{record_type}-ext.", "").as_str(),
            "a-ext.app.example.com"
        );
        assert_eq!(n("", "-%{record_type}").as_str(), "app-a.example.com");
        let old = |p: &str, s: &str| txt_name(&h, TxtVariant::Old, &naming(v22, p, s)).unwrap();
        assert_eq!(old("", "").as_str(), "app.example.com");
        assert_eq!(old("txt.", "").as_str(), "txt.app.example.com");
        assert_eq!(old("", "-%{record_type}").as_str(), "app-.example.com");
        let aaaa = txt_name(&h, TxtVariant::Aaaa, &naming(v22, "", "")).unwrap();
        assert_eq!(aaaa.as_str(), "aaaa-app.example.com");
    }

    #[test]
    fn wildcard_replacement_applies_to_a_leading_star() {
        let h = host("*.example.com");
        let mut n = naming((0, 22), "", "");
        assert_eq!(
            txt_name(&h, TxtVariant::A, &n).unwrap().as_str(),
            "a-*.example.com"
        );
        n.wildcard_replacement = Some("wildcard".into());
        assert_eq!(
            txt_name(&h, TxtVariant::A, &n).unwrap().as_str(),
            "a-wildcard.example.com"
        );
        assert_eq!(
            txt_name(&h, TxtVariant::Old, &n).unwrap().as_str(),
            "wildcard.example.com"
        );
    }

    #[test]
    fn variants_per_version_match_the_table() {
        let a = RecordType::A;
        let v = ExternalDnsVersion::new;
        assert_eq!(written_variants(&a, true, v(0, 11)), vec![TxtVariant::Old]);
        assert_eq!(
            written_variants(&a, true, v(0, 14)),
            vec![TxtVariant::Old, TxtVariant::Cname]
        );
        assert_eq!(
            written_variants(&RecordType::Aaaa, true, v(0, 16)),
            vec![TxtVariant::Aaaa]
        );
        assert_eq!(
            written_variants(&a, true, v(0, 19)),
            vec![TxtVariant::Cname]
        );
        assert_eq!(written_variants(&a, true, v(0, 22)), vec![TxtVariant::A]);
        assert_eq!(
            lookup_variants(&a, true, v(0, 22)),
            vec![TxtVariant::A, TxtVariant::Cname, TxtVariant::Old]
        );
        assert_eq!(lookup_variants(&a, true, v(0, 14)), vec![TxtVariant::Cname]);
        assert_eq!(lookup_variants(&a, true, v(0, 21)), vec![TxtVariant::Cname]);
        assert_eq!(
            lookup_variants(&RecordType::Aaaa, true, v(0, 22)),
            vec![TxtVariant::Aaaa]
        );
        assert_eq!(lookup_variants(&a, true, v(0, 10)), vec![TxtVariant::Old]);
    }

    #[test]
    fn canonical_value_is_exact() {
        let l = Labels::new("blue", Some("ingress/default/app"));
        assert_eq!(
            l.render_value().unwrap(),
            "\"heritage=external-dns,external-dns/owner=blue,external-dns/resource=ingress/default/app\""
        );
    }

    #[test]
    fn registry_values_parse_whatever_their_form() {
        let canonical = "\"heritage=external-dns,external-dns/owner=blue,external-dns/resource=ingress/default/app\"";
        let TxtContent::Labels(l) = parse_value(canonical).unwrap() else {
            panic!()
        };
        assert_eq!(l.owner(), Some("blue"));
        assert_eq!(l.resource(), Some("ingress/default/app"));
        // Split over strings, escaped characters, labels out of order.
        let split = "\"heritage=external-dns,external-dns/resource=ingress/default/app,\" \"external-dns/own\\145r=blue\"";
        assert_eq!(parse_value(split).unwrap(), TxtContent::Labels(l.clone()));
        // Not external-dns.
        assert_eq!(parse_value("\"v=spf1 -all\"").unwrap(), TxtContent::Foreign);
        assert_eq!(
            parse_value("\"heritage=other,external-dns/owner=blue\"").unwrap(),
            TxtContent::Foreign
        );
        // Encrypted: base64 of nonce + ciphertext + tag.
        let enc = base64::engine::general_purpose::STANDARD.encode([7u8; 60]);
        assert_eq!(
            parse_value(&format!("\"{enc}\"")).unwrap(),
            TxtContent::Encrypted
        );
        assert_eq!(parse_value("\"unterminated"), Err(TxtError::NotQuoted));
    }

    fn txt(name: &str, set: Option<&str>, owner: &str) -> RecordSet {
        txt_record(
            host(name),
            set.map(|s| SetIdentifier::new(s).unwrap()),
            set.map(|_| Weight(100)),
            None,
            &Labels::new(owner, Some("ingress/default/app")),
        )
        .unwrap()
    }

    #[test]
    fn ownership_lookup_order() {
        let h = host("app.example.com");
        let set = SetIdentifier::new("blue").unwrap();
        let records = vec![
            txt("cname-app.example.com", Some("blue"), "old-owner"),
            txt("a-app.example.com", Some("blue"), "blue"),
            txt("app.example.com", Some("blue"), "oldest"),
        ];
        let v22 = naming((0, 22), "", "");
        let e = owner_entry(&records, &h, &RecordType::A, true, Some(&set), &v22).unwrap();
        assert_eq!(e.owner(), Some("blue"));
        // v0.14 reads only cname- for an A alias.
        let v14 = naming((0, 14), "", "");
        let e = owner_entry(&records, &h, &RecordType::A, true, Some(&set), &v14).unwrap();
        assert_eq!(e.owner(), Some("old-owner"));
        // v0.22 falls back to cname- when a- is missing.
        let e = owner_entry(&records[..1], &h, &RecordType::A, true, Some(&set), &v22).unwrap();
        assert_eq!(e.owner(), Some("old-owner"));
        // Another set identifier: no entry.
        let other = SetIdentifier::new("green").unwrap();
        assert!(owner_entry(&records, &h, &RecordType::A, true, Some(&other), &v22).is_none());
        // Every variant present is found.
        let all = entries_for_record(&records, &h, &RecordType::A, Some(&set), &[v22]);
        assert_eq!(all.len(), 3);
    }

    fn key() -> EncryptionKey {
        EncryptionKey::parse("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn encryption_keys_are_32_raw_bytes_or_base64() {
        let raw = key();
        let b64 =
            base64::engine::general_purpose::STANDARD.encode(b"0123456789abcdef0123456789abcdef");
        assert_eq!(EncryptionKey::parse(&format!("{b64}\n")).unwrap(), raw);
        assert_eq!(
            EncryptionKey::parse("short"),
            Err(EncryptionError::KeyLength(5))
        );
        let b64_short = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
        assert_eq!(
            EncryptionKey::parse(&b64_short),
            Err(EncryptionError::KeyLength(16))
        );
        assert_eq!(format!("{raw:?}"), "EncryptionKey(<redacted>)");
    }

    #[test]
    fn encrypted_owner_is_read_with_the_key_and_only_with_it() {
        let labels = Labels::new("blue", Some("ingress/default/app"));
        let value = encrypt_labels(&labels, &key(), [9u8; NONCE_LEN]).unwrap();
        // Detected as encrypted without a key.
        assert_eq!(parse_value(&value).unwrap(), TxtContent::Encrypted);
        let text = txt::text(&value).unwrap();
        assert_eq!(decrypt_labels(&text, &key()).unwrap(), labels);
        let other = EncryptionKey::parse(&"x".repeat(32)).unwrap();
        assert_eq!(
            decrypt_labels(&text, &other),
            Err(EncryptionError::WrongKey)
        );
        assert_eq!(
            decrypt_labels("!!", &key()),
            Err(EncryptionError::NotBase64)
        );
        let short = base64::engine::general_purpose::STANDARD.encode([0u8; 20]);
        assert_eq!(
            decrypt_labels(&short, &key()),
            Err(EncryptionError::TooShort(20))
        );
        // A registry entry reads its owner once a key opens it.
        let mut r = txt("a-app.example.com", None, "ignored");
        r.values = vec![value];
        let mut e = read_entry(&r);
        assert_eq!(e.owner(), None);
        e.decrypt_with(&[other, key()]);
        assert_eq!(e.owner(), Some("blue"));
        assert_eq!(e.content, TxtContent::Encrypted);
    }

    #[test]
    fn txt_records_copy_routing_fields_and_ttl_300() {
        let r = txt("a-app.example.com", Some("blue"), "blue");
        assert_eq!(r.ttl, Some(300));
        assert_eq!(r.weight, Some(Weight(100)));
        assert_eq!(r.set_identifier.unwrap().as_str(), "blue");
    }
}
