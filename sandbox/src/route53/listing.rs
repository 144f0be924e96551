//! ListResourceRecordSets paging (docs/reference/route53.md "ListResourceRecordSets"): at most 300
//! per page, in listing order; start by name, name+type or name+type+identifier; `IsTruncated`,
//! `NextRecordName`, `NextRecordType` and `NextRecordIdentifier` point at the first record of the
//! next page.

use super::input::RR_TYPES;
use super::model::{ApiError, Rrset};
use super::names::DnsName;
use super::zone::{RecordKey, Zone};

/// docs/reference/route53.md "ListResourceRecordSets": at most 300 per page.
pub const MAX_PAGE: usize = 300;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListStart {
    pub name: Option<String>,
    pub rtype: Option<String>,
    pub identifier: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextRecord {
    pub name: String,
    pub rtype: String,
    /// Present when the next record is a policy record (a member of a weighted group).
    pub identifier: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub records: Vec<Rrset>,
    pub max_items: usize,
    /// `Some` exactly when the listing is truncated.
    pub next: Option<NextRecord>,
}

/// Parses the `maxitems` query value: absent → 300; above 300 → 300.
pub fn parse_max_items(raw: Option<&str>) -> Result<usize, ApiError> {
    let Some(raw) = raw else {
        return Ok(MAX_PAGE);
    };
    match raw.trim().parse::<i64>() {
        Ok(n) if n >= 1 => Ok(usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE)),
        _ => Err(ApiError::invalid_input(format!(
            "1 validation error detected: Value '{raw}' at 'maxItems' failed to satisfy constraint: Member must be a positive integer"
        ))),
    }
}

/// One page of `zone`'s records from `start`.
pub fn list_page(zone: &Zone, start: &ListStart, max_items: usize) -> Result<Page, ApiError> {
    let from = start_key(start)?;
    let max_items = max_items.clamp(1, MAX_PAGE);
    let mut iter = match &from {
        Some(key) => zone.records.range(key..),
        None => zone.records.range(..),
    };
    let records: Vec<Rrset> = iter
        .by_ref()
        .take(max_items)
        .map(|(_, r)| r.clone())
        .collect();
    let next = iter.next().map(|(_, r)| NextRecord {
        name: r.name.clone(),
        rtype: r.rtype.clone(),
        identifier: r.set_identifier.clone(),
    });
    Ok(Page {
        records,
        max_items,
        next,
    })
}

/// docs/reference/route53.md "ListResourceRecordSets": nothing → first record; name → first name ≥
/// it; name+type → first (name, type) ≥; type without name → `InvalidInput` (text unverified).
fn start_key(start: &ListStart) -> Result<Option<RecordKey>, ApiError> {
    let Some(name) = &start.name else {
        if start.rtype.is_some() {
            return Err(ApiError::invalid_input(
                "The input is not valid: a StartRecordType was given without a StartRecordName",
            ));
        }
        if start.identifier.is_some() {
            return Err(ApiError::invalid_input(
                "The input is not valid: a StartRecordIdentifier was given without a StartRecordName and StartRecordType",
            ));
        }
        return Ok(None);
    };
    let dns_name =
        DnsName::parse(name).map_err(|e| ApiError::invalid_input(format!("Invalid name: {e}")))?;
    if let Some(rtype) = &start.rtype {
        if !RR_TYPES.contains(&rtype.as_str()) {
            return Err(ApiError::invalid_input(format!(
                "1 validation error detected: Value '{rtype}' at 'startRecordType' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                RR_TYPES.join(", ")
            )));
        }
    } else if start.identifier.is_some() {
        return Err(ApiError::invalid_input(
            "The input is not valid: a StartRecordIdentifier was given without a StartRecordType",
        ));
    }
    Ok(Some(RecordKey {
        sort_name: dns_name.sort_key(),
        rtype: start.rtype.clone().unwrap_or_default(),
        set_identifier: start.identifier.clone(),
    }))
}
