//! Drift: someone else changed a record cutover manages (docs/design.md §7.9). Detected, held
//! and alerted on; never overwritten.

use std::collections::BTreeSet;

use crate::registry::TxtContent;
use crate::state::State;
use crate::types::SetIdentifier;

use super::context::Ctx;
use crate::text::quoted;

/// The state record key under which a blue-green migration remembers the simple key's owner.
pub(super) const SIMPLE_KEY: &str = "simple";

/// Drift: records differ from what the state says cutover last wrote (docs/design.md §7.9).
pub(super) fn weighted(ctx: &Ctx, st: &State) -> Vec<String> {
    let mut out = Vec::new();
    let f = &ctx.facts;
    if !f.simple.is_empty() {
        out.push(format!(
            "{} has simple A/AAAA records again",
            ctx.svc.hostname
        ));
    }
    let known: BTreeSet<String> = st.written.weights.keys().cloned().collect();
    for (sid, _) in f.weighted.iter() {
        if !known.contains(sid.as_str()) {
            out.push(format!(
                "unexpected weighted key {sid} at {}",
                ctx.svc.hostname
            ));
        }
    }
    for (sid, owner) in &st.written.owners {
        if owner != &ctx.lease {
            continue; // handed over: no longer cutover's
        }
        let key = SetIdentifier::new(sid).ok().and_then(|s| f.key(&s));
        let Some(key) = key else {
            out.push(format!("parked key {sid} is gone"));
            continue;
        };
        let expected = st.written.weights.get(sid).copied();
        match key.weight() {
            Ok(w) if w == expected => {}
            Ok(w) => out.push(format!(
                "key {sid} has weight {} but cutover last wrote {}",
                w.map(|w| w.to_string()).unwrap_or("none".into()),
                expected.map(|w| w.to_string()).unwrap_or("none".into())
            )),
            Err((a, b)) => out.push(format!("key {sid} has A/AAAA weights {a} and {b}")),
        }
        for e in key.label_entries() {
            if e.owner() != Some(ctx.lease.as_str()) {
                out.push(format!(
                    "TXT {} of key {sid} is owned by {}, cutover parked it under {}",
                    e.record.name,
                    quoted(e.owner().unwrap_or("")),
                    ctx.lease
                ));
            }
            if e.record.weight.map(|w| w.get()) != expected {
                out.push(format!(
                    "TXT {} of key {sid} has another weight than its record",
                    e.record.name
                ));
            }
        }
    }
    out
}

/// Drift during the verify window (docs/design.md §7.9): the key is gone, or its owner is no longer
/// the one cutover wrote.
pub(super) fn simple_key(ctx: &Ctx, st: &State) -> Vec<String> {
    let mut out = Vec::new();
    let Some(expected) = st.written.owners.get(SIMPLE_KEY) else {
        return out;
    };
    let f = &ctx.facts;
    if f.is_weighted() {
        out.push(format!("{} has weighted records now", ctx.svc.hostname));
    }
    if f.simple.is_empty() {
        out.push(format!(
            "{} has no A/AAAA record any more",
            ctx.svc.hostname
        ));
        return out;
    }
    for e in &f.simple.entries {
        match e.owner() {
            Some(o) if o == expected => {}
            Some(o) => out.push(format!(
                "TXT {} is owned by {}, cutover wrote {}",
                e.record.name,
                quoted(o),
                quoted(expected)
            )),
            None if e.content == TxtContent::Foreign => {}
            None => out.push(format!("TXT {} has no readable owner", e.record.name)),
        }
    }
    out
}
