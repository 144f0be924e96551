//! Planning, as external-dns does it (docs/reference/external-dns.md §3) — a pure function of the
//! zone's records, the desired endpoints and the flags.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::record::{is_in_zone, is_managed_type, RecordSet};
use super::registry::{
    expected_name, format_value, lookup_names, names_written, owner_labels, parse_value, TxtIndex,
    TXT_TTL,
};
use super::settings::{ExternalDnsSettings, ZoneType};
use super::source::Endpoint;

/// A hosted zone as external-dns sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Zone {
    /// Without the `/hostedzone/` prefix.
    pub id: String,
    /// Normalised name (no trailing dot).
    pub name: String,
    pub private: bool,
}

/// Submission order inside a batch: UPSERT, then DELETE, then CREATE
/// (docs/reference/external-dns.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    Upsert,
    Delete,
    Create,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Upsert => "UPSERT",
            Action::Delete => "DELETE",
            Action::Create => "CREATE",
        }
    }
}

/// One change, tagged with its name-group: a record and its TXTs share the record's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedChange {
    pub action: Action,
    pub group: String,
    pub record: RecordSet,
}

/// A key skipped because another owner (or nobody) owns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRecord {
    pub zone_id: String,
    pub name: String,
    pub record_type: String,
    pub set_identifier: Option<String>,
    /// The owner found in the registry; `None` when the record has no registry TXT.
    pub owner: Option<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ZonePlan {
    pub changes: Vec<PlannedChange>,
    pub skipped: Vec<SkippedRecord>,
    /// Debug lines (what external-dns logs at debug level).
    pub debug: Vec<String>,
}

/// The zones a name is written to: all matching private zones and the most specific matching
/// public zone (docs/reference/external-dns.md §5 "Mirror edits"), limited by `--aws-zone-type`.
pub fn zones_for<'a>(name: &str, zones: &'a [Zone], zone_type: Option<ZoneType>) -> Vec<&'a Zone> {
    let allowed = |z: &&Zone| match zone_type {
        Some(ZoneType::Public) => !z.private,
        Some(ZoneType::Private) => z.private,
        None => true,
    };
    let matching: Vec<&Zone> = zones
        .iter()
        .filter(allowed)
        .filter(|z| is_in_zone(name, &z.name))
        .collect();
    let best_public = matching
        .iter()
        .filter(|z| !z.private)
        .map(|z| z.name.len())
        .max();
    matching
        .into_iter()
        .filter(|z| z.private || Some(z.name.len()) == best_public)
        .collect()
}

type TypedKey = (String, Option<String>, String);

fn typed_key(record: &RecordSet) -> TypedKey {
    (
        record.name.clone(),
        record.set_identifier.clone(),
        record.record_type.clone(),
    )
}

/// Plans one zone. `desired` must already be limited to this zone.
pub fn plan_zone(
    settings: &ExternalDnsSettings,
    zone: &Zone,
    records: &[RecordSet],
    desired: &[&Endpoint],
) -> ZonePlan {
    let txts = TxtIndex::new(records);
    let current: BTreeMap<TypedKey, &RecordSet> = records
        .iter()
        .filter(|r| is_managed_type(&r.record_type))
        .map(|r| (typed_key(r), r))
        .collect();
    let mut planner = Planner {
        settings,
        zone,
        txts,
        plan: ZonePlan::default(),
        seen: BTreeSet::new(),
    };
    let wanted = planner.resolve_duplicates(desired, &current);
    let keys: BTreeSet<&TypedKey> = current.keys().chain(wanted.keys()).collect();
    for key in keys {
        match (current.get(key), wanted.get(key)) {
            (None, Some(endpoint)) => planner.create(endpoint),
            (Some(record), None) => planner.delete_if_owned(record),
            (Some(record), Some(endpoint)) => planner.update_if_owned(record, endpoint),
            (None, None) => {}
        }
    }
    planner.plan
}

struct Planner<'a> {
    settings: &'a ExternalDnsSettings,
    zone: &'a Zone,
    txts: TxtIndex<'a>,
    plan: ZonePlan,
    /// (action, name, set id, type) already planned: a shared old-format TXT is written once.
    seen: BTreeSet<(Action, TypedKey)>,
}

impl<'a> Planner<'a> {
    /// Two objects asking for the same key: the one named by the `resource` label of the current
    /// record's registry TXT wins (docs/reference/external-dns.md §3 "Several objects asking for
    /// one key": the resource that already acquired the name keeps it), else the lowest resource
    /// (external-dns takes the smallest targets; not modelled); the others are logged.
    fn resolve_duplicates(
        &mut self,
        desired: &[&'a Endpoint],
        current: &BTreeMap<TypedKey, &RecordSet>,
    ) -> BTreeMap<TypedKey, &'a Endpoint> {
        let mut candidates: BTreeMap<TypedKey, Vec<&'a Endpoint>> = BTreeMap::new();
        for endpoint in desired {
            candidates
                .entry(typed_key(&endpoint.record))
                .or_default()
                .push(endpoint);
        }
        let mut wanted: BTreeMap<TypedKey, &Endpoint> = BTreeMap::new();
        for (key, mut list) in candidates {
            list.sort_by(|a, b| a.resource.cmp(&b.resource));
            let holder = current
                .get(&key)
                .and_then(|record| self.txts.ownership(self.settings, record))
                .and_then(|o| o.labels.get("resource").cloned());
            let chosen = holder
                .and_then(|resource| list.iter().find(|e| e.resource == resource).copied())
                .or_else(|| list.first().copied());
            let Some(chosen) = chosen else { continue };
            for other in list.iter().filter(|e| e.resource != chosen.resource) {
                self.plan.debug.push(format!(
                    "conflict: {} {} wanted by {} and {}; keeping {}",
                    key.0, key.2, chosen.resource, other.resource, chosen.resource
                ));
            }
            wanted.insert(key, chosen);
        }
        wanted
    }

    fn push(&mut self, action: Action, group: &str, record: RecordSet) {
        if self.seen.insert((action, typed_key(&record))) {
            self.plan.changes.push(PlannedChange {
                action,
                group: group.to_string(),
                record,
            });
        }
    }

    /// A key with no current records is created, with no ownership check
    /// (docs/reference/external-dns.md §3). An existing registry TXT is left as it is (so an orphan
    /// TXT hands its owner to the new record, external-dns issue #6617).
    fn create(&mut self, endpoint: &Endpoint) {
        let record = &endpoint.record;
        self.push(Action::Create, &record.name, record.clone());
        for name in names_written(self.settings, record) {
            if self
                .txts
                .get(&name, record.set_identifier.as_deref())
                .is_none()
            {
                let txt = self.own_txt(&name, record, &endpoint.resource);
                self.push(Action::Create, &record.name, txt);
            }
        }
    }

    /// Current but not desired: DELETE, owned only, under `--policy=sync` only.
    fn delete_if_owned(&mut self, record: &RecordSet) {
        if !self.owned(record) {
            return;
        }
        if !self.settings.policy.allows_deletes() {
            self.plan.debug.push(format!(
                "policy {:?} keeps undesired {} {}",
                self.settings.policy, record.name, record.record_type
            ));
            return;
        }
        self.push(Action::Delete, &record.name, record.clone());
        let mut names = lookup_names(self.settings, record);
        names.extend(names_written(self.settings, record));
        let mut done = BTreeSet::new();
        for name in names {
            if done.insert(name.clone()) {
                self.delete_txt(&name, record);
            }
        }
    }

    /// DELETE of a TXT carries the value regenerated from its parsed labels
    /// (docs/reference/external-dns.md §1 "Value").
    fn delete_txt(&mut self, name: &str, record: &RecordSet) {
        let Some(existing) = self.txts.get(name, record.set_identifier.as_deref()) else {
            return;
        };
        let Some(labels) = existing.values.first().and_then(|v| parse_value(v)) else {
            return;
        };
        let mut txt = txt_for(name, record);
        txt.values = vec![format_value(&labels)];
        self.push(Action::Delete, &record.name, txt);
    }

    /// Both current and desired: UPDATE when anything differs, owned only; an owned record whose
    /// expected typed TXT is missing is UPSERTed with all its TXTs (self-healing).
    fn update_if_owned(&mut self, record: &RecordSet, endpoint: &Endpoint) {
        if !self.owned(record) {
            return;
        }
        let drifted = differs(record, endpoint);
        let expected = expected_name(self.settings, record);
        let healing = self
            .txts
            .get(&expected, record.set_identifier.as_deref())
            .is_none();
        if !(drifted || healing) {
            return;
        }
        if !self.settings.policy.allows_updates() {
            self.plan.debug.push(format!(
                "policy {:?} keeps drifted {} {}",
                self.settings.policy, record.name, record.record_type
            ));
            return;
        }
        if healing {
            self.plan.debug.push(format!(
                "registry TXT {expected} missing for owned {} {}: restoring",
                record.name, record.record_type
            ));
        }
        let desired = &endpoint.record;
        self.push(Action::Upsert, &desired.name, desired.clone());
        for name in names_written(self.settings, desired) {
            let txt = self.own_txt(&name, desired, &endpoint.resource);
            self.push(Action::Upsert, &desired.name, txt);
        }
    }

    /// Ownership is one exact string compare of the `owner` label (docs/reference/external-dns.md
    /// §1 "Ownership"); a record without a registry TXT is not ours. Foreign keys are skipped with
    /// a debug line.
    fn owned(&mut self, record: &RecordSet) -> bool {
        let owner = self
            .txts
            .ownership(self.settings, record)
            .and_then(|o| o.owner().map(str::to_string));
        if owner.as_deref() == Some(self.settings.owner_id.as_str()) {
            return true;
        }
        self.plan.debug.push(format!(
            "Skipping endpoint {} {} [set-identifier {}] because owner id does not match, found: \"{}\", required: \"{}\"",
            record.name,
            record.record_type,
            record.set_identifier.as_deref().unwrap_or(""),
            owner.as_deref().unwrap_or(""),
            self.settings.owner_id
        ));
        self.plan.skipped.push(SkippedRecord {
            zone_id: self.zone.id.clone(),
            name: record.name.clone(),
            record_type: record.record_type.clone(),
            set_identifier: record.set_identifier.clone(),
            owner,
        });
        false
    }

    fn own_txt(&self, name: &str, record: &RecordSet, resource: &str) -> RecordSet {
        let mut txt = txt_for(name, record);
        txt.values = vec![format_value(&owner_labels(
            &self.settings.owner_id,
            resource,
        ))];
        txt
    }
}

/// A registry TXT copies the routing fields of its record; TTL 300 (docs/reference/external-dns.md
/// §1 "TTL and routing fields").
fn txt_for(name: &str, record: &RecordSet) -> RecordSet {
    RecordSet {
        name: name.to_string(),
        record_type: "TXT".to_string(),
        set_identifier: record.set_identifier.clone(),
        weight: record.weight,
        ttl: Some(TXT_TTL),
        values: Vec::new(),
        alias: None,
        health_check_id: record.health_check_id.clone(),
    }
}

/// UPDATE when targets, TTL (if annotated) or any provider property (weight, alias,
/// evaluate-target-health, health check) differ (docs/reference/external-dns.md §3).
fn differs(current: &RecordSet, endpoint: &Endpoint) -> bool {
    let desired = &endpoint.record;
    let alias_differs = match (&current.alias, &desired.alias) {
        (Some(a), Some(b)) => !a.same_target(b),
        (None, None) => false,
        _ => true,
    };
    let values_differ = desired.alias.is_none() && sorted_values(current) != sorted_values(desired);
    let ttl_differs = endpoint.ttl_annotated && current.ttl != desired.ttl;
    alias_differs
        || values_differ
        || ttl_differs
        || current.weight != desired.weight
        || current.health_check_id != desired.health_check_id
}

fn sorted_values(record: &RecordSet) -> Vec<String> {
    let mut values: Vec<String> = record
        .values
        .iter()
        .map(|v| v.trim_end_matches('.').to_ascii_lowercase())
        .collect();
    values.sort();
    values
}

/// Route53's per-request limits (docs/reference/route53.md "Limits"): 1,000 records, 32,000
/// characters of values, UPSERT counted twice.
const MAX_RECORDS_PER_BATCH: usize = 1000;
const MAX_VALUE_CHARS_PER_BATCH: usize = 32_000;

fn cost(change: &PlannedChange) -> (usize, usize) {
    let factor = if change.action == Action::Upsert {
        2
    } else {
        1
    };
    let records = change.record.values.len().max(1);
    let chars: usize = change.record.values.iter().map(String::len).sum::<usize>()
        + change.record.alias.as_ref().map_or(0, |a| a.dns_name.len());
    (records * factor, chars * factor)
}

/// Changes grouped by name-group (a record and its TXTs), groups in name order.
pub fn name_groups(changes: &[PlannedChange]) -> BTreeMap<String, Vec<PlannedChange>> {
    let mut groups: BTreeMap<String, Vec<PlannedChange>> = BTreeMap::new();
    for change in changes {
        groups
            .entry(change.group.clone())
            .or_default()
            .push(change.clone());
    }
    groups
}

/// Orders a batch UPSERT, DELETE, CREATE (stable inside each action).
pub fn ordered(mut changes: Vec<PlannedChange>) -> Vec<PlannedChange> {
    changes.sort_by_key(|c| c.action);
    changes
}

/// Packs whole name-groups into as few batches as the limits allow, each ordered.
pub fn batches(changes: &[PlannedChange]) -> Vec<Vec<PlannedChange>> {
    let mut batches = Vec::new();
    let mut current: Vec<PlannedChange> = Vec::new();
    let (mut records, mut chars) = (0, 0);
    for group in name_groups(changes).into_values() {
        let (group_records, group_chars) = group
            .iter()
            .map(cost)
            .fold((0, 0), |(r, c), (gr, gc)| (r + gr, c + gc));
        let overflows = records + group_records > MAX_RECORDS_PER_BATCH
            || chars + group_chars > MAX_VALUE_CHARS_PER_BATCH;
        if overflows && !current.is_empty() {
            batches.push(ordered(std::mem::take(&mut current)));
            records = 0;
            chars = 0;
        }
        records += group_records;
        chars += group_chars;
        current.extend(group);
    }
    if !current.is_empty() {
        batches.push(ordered(current));
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::external_dns::record::Alias;
    use crate::external_dns::settings::{Policy, Version};

    const LB_BLUE: &str = "blue-lb.eu-west-1.elb.amazonaws.com";
    const LB_GREEN: &str = "green-lb.eu-west-1.elb.amazonaws.com";

    fn zone() -> Zone {
        Zone {
            id: "Z1".into(),
            name: "example.com".into(),
            private: false,
        }
    }

    fn alias_record(
        record_type: &str,
        set_id: Option<&str>,
        weight: Option<i64>,
        lb: &str,
    ) -> RecordSet {
        RecordSet {
            name: "app.example.com".into(),
            record_type: record_type.into(),
            set_identifier: set_id.map(str::to_string),
            weight,
            ttl: None,
            values: vec![],
            alias: Some(Alias {
                hosted_zone_id: "Z32O12XQLNTSW2".into(),
                dns_name: lb.into(),
                evaluate_target_health: true,
            }),
            health_check_id: None,
        }
    }

    fn endpoint(record: RecordSet) -> Endpoint {
        Endpoint {
            record,
            resource: "ingress/default/app".into(),
            ttl_annotated: false,
        }
    }

    fn txt(name: &str, set_id: Option<&str>, weight: Option<i64>, owner: &str) -> RecordSet {
        RecordSet {
            name: name.into(),
            record_type: "TXT".into(),
            set_identifier: set_id.map(str::to_string),
            weight,
            ttl: Some(300),
            values: vec![format_value(&owner_labels(owner, "ingress/default/app"))],
            alias: None,
            health_check_id: None,
        }
    }

    /// The blue-owned weighted A alias with its TXT (v0.22 layout).
    fn blue_weighted(weight: i64) -> Vec<RecordSet> {
        vec![
            alias_record("A", Some("blue"), Some(weight), LB_BLUE),
            txt("a-app.example.com", Some("blue"), Some(weight), "blue"),
        ]
    }

    fn summary(plan: &ZonePlan) -> Vec<(Action, String, String)> {
        plan.changes
            .iter()
            .map(|c| {
                (
                    c.action,
                    c.record.record_type.clone(),
                    c.record.name.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn create_writes_the_record_and_its_typed_txt() {
        let settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let ep = endpoint(alias_record("A", Some("blue"), Some(100), LB_BLUE));
        let plan = plan_zone(&settings, &zone(), &[], &[&ep]);
        assert_eq!(
            summary(&plan),
            vec![
                (Action::Create, "A".into(), "app.example.com".into()),
                (Action::Create, "TXT".into(), "a-app.example.com".into()),
            ]
        );
        let txt = &plan.changes[1].record;
        assert_eq!(
            (txt.set_identifier.as_deref(), txt.weight, txt.ttl),
            (Some("blue"), Some(100), Some(300))
        );
    }

    #[test]
    fn drifted_weight_on_owned_record_is_reverted_with_its_txt() {
        let settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let ep = endpoint(alias_record("A", Some("blue"), Some(100), LB_BLUE));
        let plan = plan_zone(&settings, &zone(), &blue_weighted(7), &[&ep]);
        assert_eq!(
            summary(&plan),
            vec![
                (Action::Upsert, "A".into(), "app.example.com".into()),
                (Action::Upsert, "TXT".into(), "a-app.example.com".into()),
            ]
        );
        assert_eq!(plan.changes[1].record.weight, Some(100));
    }

    #[test]
    fn in_sync_owned_record_needs_nothing() {
        let settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let ep = endpoint(alias_record("A", Some("blue"), Some(100), LB_BLUE));
        let plan = plan_zone(&settings, &zone(), &blue_weighted(100), &[&ep]);
        assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    }

    #[test]
    fn parked_key_is_skipped_by_everyone() {
        let mut records = blue_weighted(7);
        records[1] = txt("a-app.example.com", Some("blue"), Some(7), "cutover");
        let settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let ep = endpoint(alias_record("A", Some("blue"), Some(100), LB_BLUE));
        let plan = plan_zone(&settings, &zone(), &records, &[&ep]);
        assert!(plan.changes.is_empty());
        assert_eq!(plan.skipped.len(), 1);
        assert_eq!(plan.skipped[0].owner.as_deref(), Some("cutover"));
        let plan = plan_zone(&settings, &zone(), &records, &[]);
        assert!(plan.changes.is_empty(), "never deletes a foreign key");
    }

    #[test]
    fn new_owner_upserts_its_own_targets_after_a_flip() {
        let mut records = blue_weighted(100);
        records[1] = txt("a-app.example.com", Some("blue"), Some(100), "green");
        let settings = ExternalDnsSettings::new("green", Version::V0_22);
        let ep = endpoint(alias_record("A", Some("blue"), Some(100), LB_GREEN));
        let plan = plan_zone(&settings, &zone(), &records, &[&ep]);
        assert_eq!(plan.changes[0].action, Action::Upsert);
        assert_eq!(
            plan.changes[0]
                .record
                .alias
                .as_ref()
                .map(|a| a.dns_name.as_str()),
            Some(LB_GREEN)
        );
    }

    #[test]
    fn undesired_owned_key_deleted_under_sync_kept_under_upsert_only() {
        let mut settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let plan = plan_zone(&settings, &zone(), &blue_weighted(100), &[]);
        assert_eq!(
            summary(&plan),
            vec![
                (Action::Delete, "A".into(), "app.example.com".into()),
                (Action::Delete, "TXT".into(), "a-app.example.com".into()),
            ]
        );
        settings.policy = Policy::UpsertOnly;
        let plan = plan_zone(&settings, &zone(), &blue_weighted(100), &[]);
        assert!(plan.changes.is_empty());
    }

    #[test]
    fn v0_22_reads_cname_txt_and_heals_the_typed_one() {
        let records = vec![
            alias_record("A", Some("blue"), Some(100), LB_BLUE),
            txt("cname-app.example.com", Some("blue"), Some(100), "blue"),
        ];
        let settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let ep = endpoint(alias_record("A", Some("blue"), Some(100), LB_BLUE));
        let plan = plan_zone(&settings, &zone(), &records, &[&ep]);
        assert_eq!(
            summary(&plan),
            vec![
                (Action::Upsert, "A".into(), "app.example.com".into()),
                (Action::Upsert, "TXT".into(), "a-app.example.com".into()),
            ]
        );
        // v0.18 reads only `cname-`: in sync, nothing to do.
        let settings = ExternalDnsSettings::new("blue", Version::V0_18);
        let plan = plan_zone(&settings, &zone(), &records, &[&ep]);
        assert!(plan.changes.is_empty());
    }

    #[test]
    fn v0_18_does_not_see_an_a_txt() {
        let settings = ExternalDnsSettings::new("blue", Version::V0_18);
        let ep = endpoint(alias_record("A", Some("blue"), Some(100), LB_BLUE));
        let plan = plan_zone(&settings, &zone(), &blue_weighted(7), &[&ep]);
        assert!(plan.changes.is_empty());
        assert_eq!(plan.skipped[0].owner, None);
    }

    #[test]
    fn create_keeps_an_existing_orphan_txt() {
        let records = vec![txt("a-app.example.com", Some("blue"), Some(100), "green")];
        let settings = ExternalDnsSettings::new("blue", Version::V0_22);
        let ep = endpoint(alias_record("A", Some("blue"), Some(100), LB_BLUE));
        let plan = plan_zone(&settings, &zone(), &records, &[&ep]);
        assert_eq!(
            summary(&plan),
            vec![(Action::Create, "A".into(), "app.example.com".into())]
        );
    }

    #[test]
    fn zones_for_picks_private_and_most_specific_public() {
        let zones = vec![
            Zone {
                id: "P1".into(),
                name: "example.com".into(),
                private: false,
            },
            Zone {
                id: "P2".into(),
                name: "svc.example.com".into(),
                private: false,
            },
            Zone {
                id: "V1".into(),
                name: "example.com".into(),
                private: true,
            },
        ];
        let ids: Vec<&str> = zones_for("a.svc.example.com", &zones, None)
            .iter()
            .map(|z| z.id.as_str())
            .collect();
        assert_eq!(ids, vec!["P2", "V1"]);
        let ids: Vec<&str> = zones_for("a.svc.example.com", &zones, Some(ZoneType::Public))
            .iter()
            .map(|z| z.id.as_str())
            .collect();
        assert_eq!(ids, vec!["P2"]);
    }

    #[test]
    fn batches_are_ordered_upsert_delete_create_and_keep_groups_whole() {
        let change = |action, group: &str, name: &str| PlannedChange {
            action,
            group: group.into(),
            record: txt(name, None, None, "blue"),
        };
        let changes = vec![
            change(Action::Create, "b", "a-b"),
            change(Action::Delete, "a", "a-a"),
            change(Action::Upsert, "c", "a-c"),
        ];
        let all = batches(&changes);
        assert_eq!(all.len(), 1);
        let order: Vec<Action> = all[0].iter().map(|c| c.action).collect();
        assert_eq!(order, vec![Action::Upsert, Action::Delete, Action::Create]);
        let short = |i: usize| {
            let mut record = txt(&format!("n{i}"), None, None, "blue");
            record.values = vec!["\"x\"".into()];
            PlannedChange {
                action: Action::Upsert,
                group: format!("g{i}"),
                record,
            }
        };
        let many: Vec<PlannedChange> = (0..600).map(short).collect();
        let split = batches(&many);
        assert_eq!(split.len(), 2, "UPSERT counts twice: 1,200 records > 1,000");
        assert_eq!(split[0].len(), 500);
        // ~90 characters per canonical TXT value, doubled: 32,000 characters fit 177 UPSERTs.
        let long: Vec<PlannedChange> = (0..200)
            .map(|i| change(Action::Upsert, &format!("g{i}"), &format!("n{i}")))
            .collect();
        let split = batches(&long);
        assert_eq!(split.len(), 2);
        assert!(split.iter().all(|b| b
            .iter()
            .map(|c| 2 * c.record.values[0].len())
            .sum::<usize>()
            <= 32_000));
    }

    #[test]
    fn the_resource_that_holds_a_key_keeps_it_among_several_candidates() {
        let settings = ExternalDnsSettings::new("green", Version::V0_22);
        // The key is held by the HTTPRoute (its TXT names it); a leftover Ingress that sorts
        // first asks for the same key on another load balancer.
        let mut current = vec![alias_record("A", Some("green"), Some(100), LB_GREEN)];
        let mut held = txt("a-app.example.com", Some("green"), Some(100), "green");
        held.values = vec![format_value(&owner_labels("green", "httproute/web/app"))];
        current.push(held);
        let route = Endpoint {
            record: alias_record("A", Some("green"), Some(100), LB_GREEN),
            resource: "httproute/web/app".into(),
            ttl_annotated: false,
        };
        let leftover = Endpoint {
            record: alias_record("A", Some("green"), Some(100), LB_BLUE),
            resource: "ingress/default/app".into(),
            ttl_annotated: false,
        };
        let plan = plan_zone(&settings, &zone(), &current, &[&leftover, &route]);
        assert!(plan.changes.is_empty(), "{:?}", summary(&plan));
        assert!(
            plan.debug
                .iter()
                .any(|l| l.contains("keeping httproute/web/app")),
            "{:?}",
            plan.debug
        );
        // Held under the Ingress's label instead, the Ingress wins and the target moves.
        let mut by_ingress = current.clone();
        by_ingress[1] = txt("a-app.example.com", Some("green"), Some(100), "green");
        let plan = plan_zone(&settings, &zone(), &by_ingress, &[&leftover, &route]);
        assert_eq!(
            summary(&plan),
            vec![
                (Action::Upsert, "A".into(), "app.example.com".into()),
                (Action::Upsert, "TXT".into(), "a-app.example.com".into()),
            ]
        );
        assert_eq!(
            plan.changes[0]
                .record
                .alias
                .as_ref()
                .map(|a| a.dns_name.as_str()),
            Some(LB_BLUE)
        );
        // With no current record, the lowest resource (`httproute/…` before `ingress/…`) is
        // created.
        let plan = plan_zone(&settings, &zone(), &[], &[&leftover, &route]);
        let created = plan
            .changes
            .iter()
            .find(|c| c.record.record_type == "TXT")
            .unwrap();
        assert!(
            created.record.values[0].contains("resource=httproute/web/app"),
            "{:?}",
            created.record.values
        );
    }
}
