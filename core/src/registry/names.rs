//! The TXT names of registry entries, per external-dns version and naming flags
//! (docs/reference/external-dns.md §1 "TXT names" and "Which names exist, by version";
//! `registry/mapper/mapper.go`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::route53::model::RecordType;
use crate::text::quoted;
use crate::types::DnsName;

/// An external-dns release, `major.minor` (patch ignored): the TXT names it writes and reads
/// and its default annotation prefix depend on it (docs/reference/external-dns.md §1, §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ExternalDnsVersion {
    pub major: u32,
    pub minor: u32,
}

impl ExternalDnsVersion {
    pub const V0_22: ExternalDnsVersion = ExternalDnsVersion {
        major: 0,
        minor: 22,
    };

    pub fn new(major: u32, minor: u32) -> ExternalDnsVersion {
        ExternalDnsVersion { major, minor }
    }

    /// `"0.22"`, `"v0.22.0"`, `"0.14.2"`.
    pub fn parse(input: &str) -> Result<ExternalDnsVersion, String> {
        let s = input.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut parts = s.split('.');
        let bad = || {
            format!(
                "bad external-dns version {input}: write e.g. \"0.22\" or \"v0.14.2\"",
                input = quoted(input)
            )
        };
        let major: u32 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let minor: u32 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if let Some(patch) = parts.next() {
            patch.parse::<u32>().map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(ExternalDnsVersion { major, minor })
    }

    /// v0.22 moved the default annotation prefix (docs/reference/external-dns.md §2).
    pub fn default_annotation_prefix(self) -> &'static str {
        if self >= Self::V0_22 {
            "external-dns.kubernetes.io/"
        } else {
            "external-dns.alpha.kubernetes.io/"
        }
    }
}

impl fmt::Display for ExternalDnsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
    }
}

impl<'de> Deserialize<'de> for ExternalDnsVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ExternalDnsVersion::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The naming settings of one external-dns instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxtNaming {
    pub version: ExternalDnsVersion,
    pub prefix: String,
    pub suffix: String,
    pub wildcard_replacement: Option<String>,
}

impl TxtNaming {
    /// Defaults of a version (no affixes).
    pub fn plain(version: ExternalDnsVersion) -> TxtNaming {
        TxtNaming {
            version,
            prefix: String::new(),
            suffix: String::new(),
            wildcard_replacement: None,
        }
    }
}

/// Which TXT name a registry entry has: the record's own name (old format) or typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TxtVariant {
    /// Old format: the record's name plus prefix/suffix, no type.
    Old,
    /// `a-`
    A,
    /// `aaaa-`
    Aaaa,
    /// `cname-` (also what v0.12–v0.21 write for an A alias).
    Cname,
}

impl TxtVariant {
    fn type_label(self) -> Option<&'static str> {
        match self {
            TxtVariant::Old => None,
            TxtVariant::A => Some("a"),
            TxtVariant::Aaaa => Some("aaaa"),
            TxtVariant::Cname => Some("cname"),
        }
    }
}

impl fmt::Display for TxtVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TxtVariant::Old => "old format",
            TxtVariant::A => "a-",
            TxtVariant::Aaaa => "aaaa-",
            TxtVariant::Cname => "cname-",
        })
    }
}

const RECORD_TYPE_TEMPLATE: &str = "%{record_type}";

/// The TXT name of `host` for a variant (`registry/mapper/mapper.go` rules,
/// docs/reference/external-dns.md §1 "TXT names"): the affix goes around the first label; a typed
/// variant puts `<type>-` before the first label unless an affix carries `%{record_type}`; a
/// leading `*` label is replaced by the wildcard replacement when set.
pub fn txt_name(host: &DnsName, variant: TxtVariant, naming: &TxtNaming) -> Option<DnsName> {
    let (first, rest) = host.split_first();
    let mut first = first.to_string();
    if first == "*" {
        if let Some(w) = &naming.wildcard_replacement {
            first = w.clone();
        }
    }
    let type_label = variant.type_label();
    let fill = |affix: &str| match type_label {
        Some(t) => affix.replace(RECORD_TYPE_TEMPLATE, t),
        // Old format drops the template (mapper's dropAffixTemplate).
        None => affix.replace(RECORD_TYPE_TEMPLATE, ""),
    };
    let type_in_affix = naming.prefix.contains(RECORD_TYPE_TEMPLATE)
        || naming.suffix.contains(RECORD_TYPE_TEMPLATE);
    if let Some(t) = type_label {
        if !type_in_affix {
            first = format!("{t}-{first}");
        }
    }
    let label = format!("{}{}{}", fill(&naming.prefix), first, fill(&naming.suffix));
    let full = match rest {
        Some(r) => format!("{label}.{r}"),
        None => label,
    };
    DnsName::parse(&full).ok()
}

/// The typed variant of a record type, as a version names it: an A *alias* was a `CNAME`
/// endpoint in external-dns before v0.22, so its typed TXT is `cname-`
/// (docs/reference/external-dns.md §1 "Which names exist, by version").
pub fn typed_variant(
    rtype: &RecordType,
    is_alias: bool,
    version: ExternalDnsVersion,
) -> Option<TxtVariant> {
    match rtype {
        RecordType::A if is_alias && version < ExternalDnsVersion::V0_22 => Some(TxtVariant::Cname),
        RecordType::A => Some(TxtVariant::A),
        RecordType::Aaaa => Some(TxtVariant::Aaaa),
        RecordType::Cname => Some(TxtVariant::Cname),
        _ => None,
    }
}

/// The TXT variants a version *writes* for a record (docs/reference/external-dns.md §1 "Which names
/// exist, by version"): ≤ v0.11 old only; v0.12–v0.17 old and typed (typed only for AAAA);
/// v0.18+ typed only.
pub fn written_variants(
    rtype: &RecordType,
    is_alias: bool,
    version: ExternalDnsVersion,
) -> Vec<TxtVariant> {
    let typed = typed_variant(rtype, is_alias, version);
    if version < ExternalDnsVersion::new(0, 12) {
        return vec![TxtVariant::Old];
    }
    if version < ExternalDnsVersion::new(0, 18) && *rtype != RecordType::Aaaa {
        return [Some(TxtVariant::Old), typed]
            .into_iter()
            .flatten()
            .collect();
    }
    typed.into_iter().collect()
}

/// The TXT variants a version *reads*, in its lookup order (docs/reference/external-dns.md §1
/// "Lookup order"): typed with the same SetIdentifier → (v0.22, A alias only) `cname-` → (not for
/// AAAA) old format; a v0.14–v0.21 instance reads only `cname-` for an A alias; ≤ v0.11 reads old
/// only.
pub fn lookup_variants(
    rtype: &RecordType,
    is_alias: bool,
    version: ExternalDnsVersion,
) -> Vec<TxtVariant> {
    if version < ExternalDnsVersion::new(0, 12) {
        return vec![TxtVariant::Old];
    }
    let mut out: Vec<TxtVariant> = typed_variant(rtype, is_alias, version)
        .into_iter()
        .collect();
    let a_alias = *rtype == RecordType::A && is_alias;
    if a_alias && version >= ExternalDnsVersion::V0_22 {
        out.push(TxtVariant::Cname);
    }
    let only_cname =
        a_alias && version >= ExternalDnsVersion::new(0, 14) && version < ExternalDnsVersion::V0_22;
    if *rtype != RecordType::Aaaa && !only_cname {
        out.push(TxtVariant::Old);
    }
    out
}

/// Every TXT name under which a registry entry of `host` may exist for these namings: old,
/// `a-`, `aaaa-`, `cname-`, each with every naming's affixes. Sorted, without duplicates.
pub fn all_txt_names(host: &DnsName, namings: &[TxtNaming]) -> Vec<DnsName> {
    let mut out: Vec<DnsName> = Vec::new();
    for n in namings {
        for v in [
            TxtVariant::Old,
            TxtVariant::A,
            TxtVariant::Aaaa,
            TxtVariant::Cname,
        ] {
            if let Some(name) = txt_name(host, v, n) {
                out.push(name);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
