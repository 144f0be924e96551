//! Packing: one zone's change batches of many services into as few requests as Route53's limits
//! allow (docs/design.md §10), never splitting one service's batch, each request remembering which
//! services it holds so a failed request can be retried service by service.

use std::ops::Range;

use crate::route53::model::ChangeBatch;
use crate::route53::validate::{batch_cost, Cost, Limits};
use crate::types::Name;

/// Which service a batch belongs to: its configured name.
pub type ServiceTag = Name;

/// Why a service's batch cannot be packed. The service's batch is not sent at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    #[error("the change batch of service {service} alone exceeds the limits of one Route53 request: {} records (limit {}), {} value characters (limit {}), UPSERT counted twice", .cost.records, .limits.max_records, .cost.value_chars, .limits.max_value_chars)]
    TooLarge {
        service: ServiceTag,
        cost: Cost,
        limits: Limits,
    },
    #[error("the change batch of service {service} holds no change")]
    Empty { service: ServiceTag },
}

impl PackError {
    /// The service whose batch was refused.
    pub fn service(&self) -> &ServiceTag {
        match self {
            PackError::TooLarge { service, .. } | PackError::Empty { service } => service,
        }
    }
}

/// One service's share of a packed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub service: ServiceTag,
    /// Where its changes lie in the packed batch (contiguous, in their own order).
    pub changes: Range<usize>,
    /// Its own comment, kept whole (the packed comment may be shortened).
    pub comment: Option<String>,
}

/// One request: the batches of one or more services, whole, one after the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    pub batch: ChangeBatch,
    pub parts: Vec<Part>,
    pub cost: Cost,
}

impl Packed {
    /// The services this request holds, in order.
    pub fn services(&self) -> impl Iterator<Item = &ServiceTag> {
        self.parts.iter().map(|p| &p.service)
    }

    /// Splits the request back into one batch per service (to retry them one by one when the
    /// request fails), each with its own comment.
    pub fn split(&self) -> Vec<(ServiceTag, ChangeBatch)> {
        self.parts
            .iter()
            .map(|part| {
                let changes = self
                    .batch
                    .changes
                    .get(part.changes.clone())
                    .unwrap_or_default()
                    .to_vec();
                (
                    part.service.clone(),
                    ChangeBatch {
                        comment: part.comment.clone(),
                        changes,
                    },
                )
            })
            .collect()
    }
}

/// The result of packing: the requests to send, and the services whose batch cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Packing {
    pub packed: Vec<Packed>,
    pub refused: Vec<PackError>,
}

/// Packs the batches of many services for one zone into as few requests as `limits` allow
/// (docs/reference/route53.md "Limits": records with UPSERT twice, value characters with UPSERT
/// twice), by first-fit decreasing. A service's batch is never split (it must stay atomic); one
/// that alone exceeds the limits, or is empty, is refused. No two resulting requests could be
/// merged within the limits. Comments are joined (each distinct one once) within
/// `limits.max_comment_chars`.
pub fn pack(batches: Vec<(ServiceTag, ChangeBatch)>, limits: Limits) -> Packing {
    let mut refused = Vec::new();
    let mut items = Vec::new();
    for (index, (service, batch)) in batches.into_iter().enumerate() {
        let cost = batch_cost(&batch);
        if batch.changes.is_empty() {
            refused.push(PackError::Empty { service });
        } else if !cost.fits(&limits) {
            refused.push(PackError::TooLarge {
                service,
                cost,
                limits,
            });
        } else {
            items.push(Item {
                index,
                service,
                batch,
                cost,
            });
        }
    }
    // Largest first (by the larger of its two shares of the limits); ties in input order.
    items.sort_by_key(|item| std::cmp::Reverse(size_key(item.cost, &limits)));
    let bins = first_fit(items, &limits);
    let packed = bins.into_iter().map(|bin| build(bin, &limits)).collect();
    Packing { packed, refused }
}

struct Item {
    index: usize,
    service: ServiceTag,
    batch: ChangeBatch,
    cost: Cost,
}

#[derive(Default)]
struct Bin {
    items: Vec<Item>,
    cost: Cost,
}

/// The larger of the item's two shares of the limits, as an integer to compare without floats:
/// records/max_records vs chars/max_chars, cross-multiplied.
fn size_key(cost: Cost, limits: &Limits) -> u128 {
    let records = cost.records as u128 * limits.max_value_chars.max(1) as u128;
    let chars = cost.value_chars as u128 * limits.max_records.max(1) as u128;
    records.max(chars)
}

fn first_fit(items: Vec<Item>, limits: &Limits) -> Vec<Bin> {
    let mut bins: Vec<Bin> = Vec::new();
    for item in items {
        let slot = bins
            .iter()
            .position(|bin| bin.cost.plus(item.cost).fits(limits));
        let bin = match slot.and_then(|i| bins.get_mut(i)) {
            Some(bin) => bin,
            None => {
                bins.push(Bin::default());
                match bins.last_mut() {
                    Some(bin) => bin,
                    None => continue,
                }
            }
        };
        bin.cost = bin.cost.plus(item.cost);
        bin.items.push(item);
    }
    // Requests in the order of their first service, services in input order.
    for bin in &mut bins {
        bin.items.sort_by_key(|item| item.index);
    }
    bins.sort_by_key(|bin| bin.items.first().map_or(usize::MAX, |item| item.index));
    bins
}

fn build(bin: Bin, limits: &Limits) -> Packed {
    let comment = join_comments(
        bin.items.iter().filter_map(|i| i.batch.comment.as_deref()),
        limits.max_comment_chars,
    );
    let mut changes = Vec::new();
    let mut parts = Vec::new();
    for item in bin.items {
        let start = changes.len();
        changes.extend(item.batch.changes);
        parts.push(Part {
            service: item.service,
            changes: start..changes.len(),
            comment: item.batch.comment,
        });
    }
    Packed {
        batch: ChangeBatch { comment, changes },
        parts,
        cost: bin.cost,
    }
}

/// Each distinct comment once, in order, joined by "; "; cut to `max` characters with a final
/// "…" when longer (docs/reference/route53.md "ChangeResourceRecordSets": Comment max 256). Every
/// service's own comment stays whole in its `Part` and in its state record.
pub fn join_comments<'a>(comments: impl Iterator<Item = &'a str>, max: usize) -> Option<String> {
    let mut distinct: Vec<&str> = Vec::new();
    for comment in comments {
        if !comment.is_empty() && !distinct.contains(&comment) {
            distinct.push(comment);
        }
    }
    if distinct.is_empty() {
        return None;
    }
    let joined = distinct.join("; ");
    if joined.chars().count() <= max {
        return Some(joined);
    }
    let mut cut: String = joined.chars().take(max.saturating_sub(1)).collect();
    if max > 0 {
        cut.push('…');
    }
    Some(cut)
}
