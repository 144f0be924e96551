//! Records parked under the lease owner id with no state record (docs/design.md §7.12): someone
//! deleted the state record mid-migration, or restored an old zone. Neither external-dns manages
//! parked records and no state tells cutover what to do with them, so the split would stay as it
//! is forever. Every command reports them; `adopt` rebuilds the state from the zone and
//! `rollback` sends all traffic back to `from`.

use crate::command::Strategy;
use crate::state::{Phase, State};
use crate::types::{Percent, SetIdentifier};

use super::context::Ctx;
use super::facts::{share, KeyRecords};

/// The alert every decision about an orphaned service carries, or `None` when nothing of the
/// hostname is parked (or a state record exists).
pub(super) fn alert(ctx: &Ctx) -> Option<String> {
    if ctx.stored.is_some() {
        return None;
    }
    let parked: Vec<String> = ctx
        .facts
        .all_keys()
        .into_iter()
        .filter(|(_, k)| k.owners().contains(&ctx.lease))
        .map(|(label, _)| label)
        .collect();
    if parked.is_empty() {
        return None;
    }
    Some(format!(
        "records of {} (keys {}) are parked under owner {} but there is no state record {}: \
         neither external-dns manages them and nothing moves them; run `adopt` to rebuild the \
         state from the zone, or `rollback` to send all traffic back to {}",
        ctx.svc.hostname,
        parked.join(", "),
        ctx.lease,
        ctx.state_name,
        ctx.svc.from
    ))
}

/// The state of an orphaned canary, rebuilt from the zone: the configured `from` → `to`, the
/// live share, and as written what the zone holds (so nothing reads as drift). Held: nothing
/// moves until an operator says so. `Err`: why the zone cannot be adopted.
pub(super) fn rebuilt_state(ctx: &Ctx) -> Result<State, String> {
    let (from, to) = (&ctx.svc.from, &ctx.svc.to);
    if !ctx.facts.is_weighted() {
        return Err(format!(
            "{} has no weighted records to adopt: a parked simple record (a blue-green migration \
             rolled back onto {}) goes back to its cluster by hand (docs/operations.md, \
             \"Recovering an orphaned split\")",
            ctx.svc.hostname, ctx.svc.from
        ));
    }
    let key = |cluster: &crate::types::Name| -> Result<(SetIdentifier, &KeyRecords), String> {
        let sid = ctx
            .sid(cluster)
            .ok_or_else(|| format!("no set identifier for cluster {cluster}"))?;
        let key = ctx.facts.key(&sid).ok_or_else(|| {
            format!(
                "{} has no weighted key {sid} of cluster {cluster}",
                ctx.svc.hostname
            )
        })?;
        Ok((sid, key))
    };
    let (from_sid, from_key) = key(from)?;
    let (to_sid, to_key) = key(to)?;
    if let Some((label, _)) = ctx
        .facts
        .all_keys()
        .into_iter()
        .find(|(label, _)| label != from_sid.as_str() && label != to_sid.as_str())
    {
        return Err(format!(
            "{} has a weighted key {label} of neither {from} nor {to}; fix by hand first",
            ctx.svc.hostname
        ));
    }
    let mut st = State::new(
        Strategy::Canary,
        from.clone(),
        to.clone(),
        Percent::ZERO,
        ctx.now,
    );
    let mut weights = [0u8; 2];
    for (i, (sid, key)) in [(&from_sid, from_key), (&to_sid, to_key)]
        .into_iter()
        .enumerate()
    {
        let weight = match key.weight() {
            Ok(Some(w)) => w,
            Ok(None) => return Err(format!("key {sid} has no weight")),
            Err((a, b)) => {
                return Err(format!(
                    "key {sid} has A/AAAA weights that differ ({a} and {b}); fix by hand first"
                ))
            }
        };
        let owners: Vec<String> = key.owners().into_iter().collect();
        let [owner] = owners.as_slice() else {
            return Err(format!(
                "key {sid} has {} owners ({}); adopt needs one owner per key",
                owners.len(),
                owners.join(", ")
            ));
        };
        st.written.weights.insert(sid.to_string(), weight);
        st.written.owners.insert(sid.to_string(), owner.clone());
        if let Some(w) = weights.get_mut(i) {
            *w = weight;
        }
    }
    if !st.written.owners.values().any(|o| o == &ctx.lease) {
        return Err(format!(
            "no key of {} is parked under {}: there is nothing to adopt",
            ctx.svc.hostname, ctx.lease
        ));
    }
    st.percent = share(weights[0], weights[1]);
    st.target = Some(st.percent);
    st.phase = Phase::Holding;
    Ok(st)
}
