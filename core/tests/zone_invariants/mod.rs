//! What cutover promises about a zone (docs/design.md §7), checked on the records alone and
//! independently of the planner: a record type of its own, its own reading of external-dns's TXT
//! registry values (docs/reference/external-dns.md §1 "Value") and names (external-dns's default
//! naming, without a prefix or suffix: docs/reference/external-dns.md §1 "TXT names"). Shared by
//! the planner's property tests (core/tests/planner_props.rs: the zone after each batch) and the
//! chaos campaign (tests/chaos.rs: every zone version in the sandbox's history). Each check
//! returns the broken promises in words; empty means kept.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

/// One record set as the checks read it: names in lower case without the trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    pub name: String,
    pub rtype: String,
    pub set_identifier: Option<String>,
    pub weight: Option<i64>,
    pub ttl: Option<i64>,
    pub values: Vec<String>,
    /// The alias target's DNS name (normalised), for an alias.
    pub alias_target: Option<String>,
}

/// A name in the form the checks compare: lower case, no trailing dot.
pub fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl From<&cutover_core::route53::model::RecordSet> for Rec {
    fn from(r: &cutover_core::route53::model::RecordSet) -> Rec {
        Rec {
            name: normalize(r.name.as_str()),
            rtype: r.rtype.as_str().to_string(),
            set_identifier: r.set_identifier.as_ref().map(|s| s.to_string()),
            weight: r.weight.map(|w| i64::from(w.get())),
            ttl: r.ttl.map(i64::from),
            values: r.values.clone(),
            alias_target: r.alias.as_ref().map(|a| normalize(a.dns_name.as_str())),
        }
    }
}

/// The records of a zone in the checks' form.
pub fn recs(records: &[cutover_core::route53::model::RecordSet]) -> Vec<Rec> {
    records.iter().map(Rec::from).collect()
}

/// The labels of an external-dns registry value (docs/reference/external-dns.md §1 "Value").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    pub owner: Option<String>,
    pub resource: Option<String>,
    /// Written as external-dns writes it, and so as it deletes it: one quoted string, `heritage`
    /// first, then the labels in sorted order.
    pub canonical: bool,
}

/// The labels of `value` if it is an external-dns registry value (`"heritage=external-dns,…"`),
/// else `None` (a state record, another tool's TXT).
pub fn labels(value: &str) -> Option<Labels> {
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    let mut parts = inner.split(',');
    if parts.next()? != "heritage=external-dns" {
        return None;
    }
    let mut keys = Vec::new();
    let mut owner = None;
    let mut resource = None;
    let mut canonical = !inner.contains('"') && !inner.contains('\\');
    for part in parts {
        let Some((key, val)) = part
            .split_once('=')
            .and_then(|(k, v)| Some((k.strip_prefix("external-dns/")?, v)))
        else {
            canonical = false;
            continue;
        };
        match key {
            "owner" => owner = Some(val.to_string()),
            "resource" => resource = Some(val.to_string()),
            _ => {}
        }
        keys.push(key.to_string());
    }
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    canonical &= sorted == keys;
    Some(Labels {
        owner,
        resource,
        canonical,
    })
}

/// The registry TXT names of `host` with the record type each describes: `a-` and `cname-` (an
/// A alias's, v0.12–v0.21) for A, `aaaa-` for AAAA, and the old format — the host itself — for
/// A only (docs/reference/external-dns.md §1 "Which names exist, by version", "Lookup order").
pub fn registry_names(host: &str) -> Vec<(String, &'static str)> {
    vec![
        (host.to_string(), "A"),
        (format!("a-{host}"), "A"),
        (format!("cname-{host}"), "A"),
        (format!("aaaa-{host}"), "AAAA"),
    ]
}

/// One registry entry of a host: a TXT at one of its registry names holding a registry value.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub record: &'a Rec,
    /// The record type it describes.
    pub describes: &'static str,
    pub labels: Labels,
}

/// Every registry entry of `host`.
pub fn entries<'a>(zone: &'a [Rec], host: &str) -> Vec<Entry<'a>> {
    let names = registry_names(host);
    zone.iter()
        .filter(|r| r.rtype == "TXT")
        .filter_map(|r| {
            let describes = names.iter().find(|(n, _)| n == &r.name)?.1;
            let labels = labels(r.values.first()?)?;
            Some(Entry {
                record: r,
                describes,
                labels,
            })
        })
        .collect()
}

/// The A and AAAA records at `host`.
pub fn traffic<'a>(zone: &'a [Rec], host: &str) -> Vec<&'a Rec> {
    zone.iter()
        .filter(|r| r.name == host && (r.rtype == "A" || r.rtype == "AAAA"))
        .collect()
}

/// docs/design.md §7.1: a type the host had before keeps a record after.
pub fn answers_lost(before: &[Rec], after: &[Rec], host: &str) -> Vec<String> {
    let mut out = Vec::new();
    for rtype in ["A", "AAAA"] {
        let has = |z: &[Rec]| z.iter().any(|r| r.name == host && r.rtype == rtype);
        if has(before) && !has(after) {
            out.push(format!("{host} {rtype} lost its last record"));
        }
    }
    out
}

/// docs/design.md §7.1 and docs/reference/route53.md "Weighted records": simple and weighted
/// records never together at one name and type; a weight in 0–255 on every member of a weighted
/// group, and never two or more members all at 0 (an even split among them, not "off"). A sole
/// member at 0 takes all the traffic: `to`'s key once the `from` key is gone may be handed to a
/// cluster that annotates 0 (docs/design.md §3.1 step 4).
pub fn groups(after: &[Rec], host: &str) -> Vec<String> {
    let mut out = Vec::new();
    for rtype in ["A", "AAAA"] {
        let at: Vec<&Rec> = after
            .iter()
            .filter(|r| r.name == host && r.rtype == rtype)
            .collect();
        let weighted = at.iter().filter(|r| r.weight.is_some()).count();
        if weighted == 0 {
            continue;
        }
        if weighted != at.len() {
            out.push(format!(
                "{host} {rtype}: simple and weighted records together"
            ));
        }
        if at
            .iter()
            .any(|r| r.weight.is_some() != r.set_identifier.is_some())
        {
            out.push(format!(
                "{host} {rtype}: a weight without a set identifier, or the reverse"
            ));
        }
        if let Some(r) = at
            .iter()
            .find(|r| r.weight.is_some_and(|w| !(0..=255).contains(&w)))
        {
            out.push(format!(
                "{host} {rtype} [{}]: weight {} outside 0–255",
                r.set_identifier.as_deref().unwrap_or("-"),
                r.weight.unwrap_or_default()
            ));
        }
        if at.len() > 1 && at.iter().all(|r| r.weight == Some(0)) {
            out.push(format!("{host} {rtype}: all weights 0 (an even split)"));
        }
    }
    out
}

/// docs/design.md §7.1: every type the host has answers: a simple record, a weighted one at a
/// weight above 0, or any member of a group all at 0 (Route53 splits evenly among them:
/// docs/reference/route53.md "Weighted records"); an A record always. With `targets`, an alias
/// answers only if it points at one of them (a load balancer that exists).
pub fn answers(after: &[Rec], host: &str, targets: Option<&BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for rtype in ["A", "AAAA"] {
        let at: Vec<&Rec> = after
            .iter()
            .filter(|r| r.name == host && r.rtype == rtype)
            .collect();
        if at.is_empty() {
            if rtype == "A" {
                out.push(format!("{host} has no A record"));
            }
            continue;
        }
        let all_zero = at.iter().all(|r| r.weight == Some(0));
        let resolvable = at.iter().any(|r| {
            (all_zero || r.weight.is_none_or(|w| w > 0))
                && match (&r.alias_target, targets) {
                    (Some(t), Some(known)) => known.contains(t),
                    _ => true,
                }
        });
        if !resolvable {
            out.push(format!(
                "{host} {rtype}: no answer (no simple record, nor a weighted one above 0 pointing at a load balancer)"
            ));
        }
    }
    out
}

/// docs/design.md §7.4: the A and AAAA records of a weighted key and its registry entries carry
/// one weight, for each key `keep` selects.
pub fn key_weights(after: &[Rec], host: &str, keep: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut by_key: BTreeMap<&str, BTreeSet<Option<i64>>> = BTreeMap::new();
    for r in traffic(after, host) {
        if let Some(sid) = r.set_identifier.as_deref() {
            by_key.entry(sid).or_default().insert(r.weight);
        }
    }
    for e in entries(after, host) {
        if let Some(sid) = e.record.set_identifier.as_deref() {
            by_key.entry(sid).or_default().insert(e.record.weight);
        }
    }
    by_key
        .into_iter()
        .filter(|(sid, weights)| weights.len() > 1 && keep(sid))
        .map(|(sid, weights)| {
            let list: Vec<String> = weights
                .iter()
                .map(|w| w.map_or("none".to_string(), |w| w.to_string()))
                .collect();
            format!(
                "{host} key {sid}: A, AAAA and TXT weights differ ({})",
                list.join(", ")
            )
        })
        .collect()
}

/// docs/design.md §7.4: every registry entry of the host has TTL 300 and one value, in the
/// canonical form.
pub fn registry_format(after: &[Rec], host: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in entries(after, host) {
        let r = e.record;
        let key = r.set_identifier.as_deref().unwrap_or("-");
        if r.ttl != Some(300) {
            out.push(format!(
                "TXT {} [{key}]: TTL {} (registry entries have 300)",
                r.name,
                r.ttl.map_or("none".to_string(), |t| t.to_string())
            ));
        }
        if r.values.len() != 1 || !e.labels.canonical {
            out.push(format!(
                "TXT {} [{key}]: not one registry value in the canonical form",
                r.name
            ));
        }
    }
    out
}

/// docs/design.md §7.4 and docs/reference/external-dns.md §5: no A/AAAA record without a
/// registry entry describing it, and no registry entry without its record (same set identifier
/// and type).
pub fn registry_complete(after: &[Rec], host: &str) -> Vec<String> {
    let mut out = Vec::new();
    let all = entries(after, host);
    let records = traffic(after, host);
    for r in &records {
        let described = all
            .iter()
            .any(|e| e.describes == r.rtype && e.record.set_identifier == r.set_identifier);
        if !described {
            out.push(format!(
                "{host} {} [{}] has no TXT registry entry",
                r.rtype,
                r.set_identifier.as_deref().unwrap_or("-")
            ));
        }
    }
    for e in &all {
        let has_record = records
            .iter()
            .any(|r| r.rtype == e.describes && r.set_identifier == e.record.set_identifier);
        if !has_record {
            out.push(format!(
                "TXT {} [{}] is left without its {} record",
                e.record.name,
                e.record.set_identifier.as_deref().unwrap_or("-"),
                e.describes
            ));
        }
    }
    out
}

/// The owners named by each key's registry entries (key: the set identifier, `None` for the
/// simple key).
pub fn key_owners(after: &[Rec], host: &str) -> BTreeMap<Option<String>, BTreeSet<String>> {
    let mut out: BTreeMap<Option<String>, BTreeSet<String>> = BTreeMap::new();
    for e in entries(after, host) {
        out.entry(e.record.set_identifier.clone())
            .or_default()
            .insert(e.labels.owner.clone().unwrap_or_default());
    }
    out
}

/// The alias targets of each key's A and AAAA records (docs/design.md §7.4: A and AAAA agree).
pub fn key_targets(after: &[Rec], host: &str) -> BTreeMap<Option<String>, BTreeSet<String>> {
    let mut out: BTreeMap<Option<String>, BTreeSet<String>> = BTreeMap::new();
    for r in traffic(after, host) {
        let target = r.alias_target.clone().unwrap_or_else(|| r.values.join(" "));
        out.entry(r.set_identifier.clone())
            .or_default()
            .insert(target);
    }
    out
}

/// docs/design.md §7.3 and §7.4: every registry entry of the host names an owner among
/// `allowed`, each key has one owner (no split ownership between TXT variants), and the A and
/// AAAA records of each key point at one target.
pub fn owners_and_targets(after: &[Rec], host: &str, allowed: &BTreeSet<&str>) -> Vec<String> {
    let mut out = Vec::new();
    for (key, owners) in key_owners(after, host) {
        let key = key.as_deref().unwrap_or("-");
        for o in &owners {
            if !allowed.contains(o.as_str()) {
                out.push(format!(
                    "{host} key {key}: owner \"{o}\" is not allowed here"
                ));
            }
        }
        if owners.len() > 1 {
            let list: Vec<&str> = owners.iter().map(String::as_str).collect();
            out.push(format!(
                "{host} key {key}: split ownership ({})",
                list.join(", ")
            ));
        }
    }
    for (key, targets) in key_targets(after, host) {
        if targets.len() > 1 {
            let list: Vec<&str> = targets.iter().map(String::as_str).collect();
            out.push(format!(
                "{host} key {}: A and AAAA point at different targets ({})",
                key.as_deref().unwrap_or("-"),
                list.join(", ")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_values_are_read_and_judged() {
        let v = "\"heritage=external-dns,external-dns/owner=blue,external-dns/resource=ingress/default/app\"";
        assert_eq!(
            labels(v),
            Some(Labels {
                owner: Some("blue".into()),
                resource: Some("ingress/default/app".into()),
                canonical: true
            })
        );
        let unsorted =
            "\"heritage=external-dns,external-dns/resource=ingress/a/b,external-dns/owner=blue\"";
        assert!(!labels(unsorted).unwrap().canonical);
        assert_eq!(labels("\"{\\\"v\\\":1}\""), None);
        assert_eq!(labels("heritage=external-dns"), None);
    }

    fn alias(rtype: &str, sid: &str, weight: i64, target: &str) -> Rec {
        Rec {
            name: "app.example.com".into(),
            rtype: rtype.into(),
            set_identifier: Some(sid.into()),
            weight: Some(weight),
            ttl: None,
            values: vec![],
            alias_target: Some(target.into()),
        }
    }

    fn entry(name: &str, sid: &str, weight: i64, owner: &str) -> Rec {
        Rec {
            name: name.into(),
            rtype: "TXT".into(),
            set_identifier: Some(sid.into()),
            weight: Some(weight),
            ttl: Some(300),
            values: vec![format!(
                "\"heritage=external-dns,external-dns/owner={owner},external-dns/resource=ingress/default/app\""
            )],
            alias_target: None,
        }
    }

    /// A parked weighted pair: blue 100, green 0.
    fn pair() -> Vec<Rec> {
        let mut z = Vec::new();
        for (sid, w, lb) in [("app-blue", 100, "lb-blue"), ("app-green", 0, "lb-green")] {
            z.push(alias("A", sid, w, lb));
            z.push(alias("AAAA", sid, w, lb));
            z.push(entry("a-app.example.com", sid, w, "cutover"));
            z.push(entry("aaaa-app.example.com", sid, w, "cutover"));
        }
        z
    }

    #[test]
    fn each_check_finds_what_it_is_about() {
        let host = "app.example.com";
        let ok = pair();
        let allowed: BTreeSet<&str> = ["blue", "green", "cutover"].into();
        let targets: BTreeSet<String> = ["lb-blue".to_string(), "lb-green".to_string()].into();
        assert!(groups(&ok, host).is_empty());
        assert!(answers(&ok, host, Some(&targets)).is_empty());
        assert!(key_weights(&ok, host, &|_| true).is_empty());
        assert!(registry_format(&ok, host).is_empty());
        assert!(registry_complete(&ok, host).is_empty());
        assert!(owners_and_targets(&ok, host, &allowed).is_empty());

        let mut zero = ok.clone();
        zero.iter_mut().for_each(|r| r.weight = Some(0));
        assert_eq!(groups(&zero, host).len(), 2, "A and AAAA all at 0");
        assert!(
            answers(&zero, host, None).is_empty(),
            "an even split answers"
        );
        assert_eq!(answers(&ok, host, Some(&BTreeSet::new())).len(), 2);
        let mut sole = zero.clone();
        sole.retain(|r| r.set_identifier.as_deref() == Some("app-green"));
        assert!(
            groups(&sole, host).is_empty(),
            "a sole member at 0 takes it all"
        );
        assert!(answers(&sole, host, Some(&targets)).is_empty());
        let mut green_zero = ok.clone();
        green_zero.retain(|r| r.set_identifier.as_deref() == Some("app-green"));
        green_zero.push(alias("A", "app-blue", 0, "lb-blue"));
        green_zero.push(entry("a-app.example.com", "app-blue", 0, "cutover"));
        assert_eq!(
            groups(&green_zero, host).len(),
            1,
            "blue and green at 0 on A"
        );

        let mut half = ok.clone();
        half[0].weight = Some(50); // blue's A only
        assert_eq!(key_weights(&half, host, &|_| true).len(), 1);
        assert!(key_weights(&half, host, &|sid| sid != "app-blue").is_empty());

        let mut orphan = ok.clone();
        orphan.retain(|r| !(r.rtype == "AAAA" && r.set_identifier.as_deref() == Some("app-green")));
        assert_eq!(
            registry_complete(&orphan, host).len(),
            1,
            "TXT without its record"
        );
        let mut bare = ok.clone();
        bare.retain(|r| {
            !(r.name == "aaaa-app.example.com" && r.set_identifier.as_deref() == Some("app-blue"))
        });
        assert_eq!(
            registry_complete(&bare, host).len(),
            1,
            "record without its TXT"
        );

        let mut split = ok.clone();
        split[2] = entry("a-app.example.com", "app-blue", 100, "red");
        assert_eq!(
            owners_and_targets(&split, host, &allowed).len(),
            2,
            "not allowed, and split"
        );

        let mut lost = ok.clone();
        lost.retain(|r| r.rtype != "AAAA");
        assert_eq!(answers_lost(&ok, &lost, host).len(), 1);
        assert!(answers_lost(&lost, &ok, host).is_empty());
    }
}
