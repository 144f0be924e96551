//! Request-shape checks answered with `InvalidInput`: the model's ranges and lengths, and the
//! shape rules of a resource record set. The first failing change decides the answer.

use super::model::{ApiError, Change, Rrset};
use super::names;

/// The model's RRType enum (botocore route53 2013-04-01).
pub const RR_TYPES: [&str; 17] = [
    "SOA", "A", "TXT", "NS", "CNAME", "MX", "NAPTR", "PTR", "SRV", "SPF", "AAAA", "CAA", "DS",
    "TLSA", "SSHFP", "SVCB", "HTTPS",
];
/// docs/reference/route53.md "Weighted records": weight 0–255.
pub const MAX_WEIGHT: i64 = 255;
/// docs/reference/route53.md "Weighted records": SetIdentifier 1–128 characters.
pub const MAX_SET_IDENTIFIER: usize = 128;
/// docs/reference/route53.md "Limits": one Value at most 4,000 characters.
pub const MAX_VALUE_LENGTH: usize = 4000;
/// docs/reference/route53.md "ChangeResourceRecordSets": Comment max 256.
pub const MAX_COMMENT_LENGTH: usize = 256;
/// The model's TTL range (0 – 2^31-1).
pub const MAX_TTL: i64 = 2_147_483_647;
const MAX_ZONE_ID_LENGTH: usize = 32;
const MAX_HEALTH_CHECK_ID_LENGTH: usize = 64;

/// Collected model-constraint violations, rendered as AWS does:
/// `1 validation error detected: Value 'x' at 'path' failed to satisfy constraint: …`
/// (the AWS validation form; its use by Route53 for these fields is unverified).
#[derive(Default)]
pub struct Violations(Vec<String>);

impl Violations {
    pub fn add(&mut self, value: &str, path: &str, constraint: &str) {
        self.0.push(format!(
            "Value '{value}' at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    pub fn into_result(self) -> Result<(), ApiError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(ApiError::invalid_input(format!(
                "1 validation error detected: {}",
                self.0.join("; ")
            ))),
            n => Err(ApiError::invalid_input(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }

    fn max_length(&mut self, value: &str, path: &str, max: usize) {
        if value.chars().count() > max {
            self.add(
                value,
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }
}

/// Every `InvalidInput` check of a batch, before any rule of the zone is looked at.
pub fn check_batch_input(changes: &[Change], comment: Option<&str>) -> Result<(), ApiError> {
    let mut violations = Violations::default();
    if let Some(comment) = comment {
        violations.max_length(comment, "changeBatch.comment", MAX_COMMENT_LENGTH);
        // XML 1.0 cannot carry these characters, not even as character references, so Route53's
        // request parser refuses them (text unverified; the stricter reading).
        if let Some(c) = comment
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(ApiError::invalid_input(format!(
                "Invalid XML: the comment holds the character U+{:04X}, which XML 1.0 cannot carry",
                u32::from(c)
            )));
        }
    }
    if changes.is_empty() {
        violations.add(
            "[]",
            "changeBatch.changes",
            "Member must have length greater than or equal to 1",
        );
    }
    for (i, change) in changes.iter().enumerate() {
        check_ranges(&change.rrset, i + 1, &mut violations);
    }
    violations.into_result()?;
    for change in changes {
        check_shape(change)?;
    }
    Ok(())
}

fn check_ranges(r: &Rrset, index: usize, v: &mut Violations) {
    let base = format!("changeBatch.changes.{index}.member.resourceRecordSet");
    v.max_length(&r.name, &format!("{base}.name"), names::MAX_NAME_LENGTH);
    if !RR_TYPES.contains(&r.rtype.as_str()) {
        v.add(
            &r.rtype,
            &format!("{base}.type"),
            &format!(
                "Member must satisfy enum value set: [{}]",
                RR_TYPES.join(", ")
            ),
        );
    }
    if let Some(id) = &r.set_identifier {
        let path = format!("{base}.setIdentifier");
        if id.is_empty() {
            v.add(
                id,
                &path,
                "Member must have length greater than or equal to 1",
            );
        }
        v.max_length(id, &path, MAX_SET_IDENTIFIER);
    }
    if let Some(weight) = r.weight {
        check_range(v, weight, &format!("{base}.weight"), 0, MAX_WEIGHT);
    }
    if let Some(ttl) = r.ttl {
        check_range(v, ttl, &format!("{base}.tTL"), 0, MAX_TTL);
    }
    for (j, value) in r.records.iter().enumerate() {
        let path = format!("{base}.resourceRecords.{}.member.value", j + 1);
        v.max_length(value, &path, MAX_VALUE_LENGTH);
    }
    if let Some(alias) = &r.alias_target {
        v.max_length(
            &alias.dns_name,
            &format!("{base}.aliasTarget.dNSName"),
            names::MAX_NAME_LENGTH,
        );
        // Length of the bare id: a `/hostedzone/` prefix is tolerated.
        v.max_length(
            super::rules::strip_zone_prefix(&alias.hosted_zone_id),
            &format!("{base}.aliasTarget.hostedZoneId"),
            MAX_ZONE_ID_LENGTH,
        );
    }
    if let Some(id) = &r.health_check_id {
        v.max_length(
            id,
            &format!("{base}.healthCheckId"),
            MAX_HEALTH_CHECK_ID_LENGTH,
        );
    }
}

fn check_range(v: &mut Violations, value: i64, path: &str, min: i64, max: i64) {
    if value < min {
        v.add(
            &value.to_string(),
            path,
            &format!("Member must have value greater than or equal to {min}"),
        );
    } else if value > max {
        v.add(
            &value.to_string(),
            path,
            &format!("Member must have value less than or equal to {max}"),
        );
    }
}

/// `[Action=CREATE, Name=x.example.com., Type=A, SetIdentifier=null]` (docs/reference/route53.md
/// "Structural errors").
pub fn change_description(change: &Change) -> String {
    let r = &change.rrset;
    let name = names::normalize(&r.name).unwrap_or_else(|_| r.name.clone());
    let set_id = r.set_identifier.as_deref().unwrap_or("null");
    format!(
        "[Action={}, Name={name}, Type={}, SetIdentifier={set_id}]",
        change.action.as_str(),
        r.rtype
    )
}

fn check_shape(change: &Change) -> Result<(), ApiError> {
    let r = &change.rrset;
    let has_alias = r.alias_target.is_some();
    let has_ttl_or_records = r.ttl.is_some() || !r.records.is_empty();
    let has_ttl_and_records = r.ttl.is_some() && !r.records.is_empty();
    // docs/reference/route53.md "Structural errors": alias XOR TTL+records, exact texts.
    let found = if has_alias && has_ttl_or_records {
        Some("more than one")
    } else if !has_alias && !has_ttl_and_records {
        Some("none")
    } else {
        None
    };
    if let Some(found) = found {
        return Err(ApiError::invalid_input(format!(
            "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found {found} in Change with {}",
            change_description(change)
        )));
    }
    // docs/reference/route53.md "Weighted records": weight and set identifier, both or neither.
    // Text seen from real Route53 in a public bug report.
    if r.weight.is_some() && r.set_identifier.is_none() {
        return Err(ApiError::invalid_input(format!(
            "Invalid request: Missing field 'SetIdentifier' in Change with {}",
            change_description(change)
        )));
    }
    // Unverified text: a set identifier with no routing policy.
    if r.set_identifier.is_some() && r.weight.is_none() {
        return Err(ApiError::invalid_input(format!(
            "Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found none in Change with {}",
            change_description(change)
        )));
    }
    Ok(())
}
