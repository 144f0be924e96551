//! Completion at 100 %: giving the records back to external-dns without a bounce (docs/design.md
//! §3.1 step 4, §7.7; docs/reference/external-dns.md §5 and §3, after an owner flip).

use crate::config::ClusterConfig;
use crate::observation::SourceObject;
use crate::planner::facts::KeyRecords;
use crate::state::{Phase, State};
use crate::types::{Name, Percent, SetIdentifier};

use super::build::BatchBuilder;
use super::context::{commit, with_weights, Ctx};
use super::decision::{Decision, DecisionKind};
use super::drift;
use crate::text::quoted;

/// The `handover` command: complete now if the preconditions hold (traffic must already be all on
/// `to`).
pub(super) fn handover_command(ctx: &Ctx, mut st: State) -> Decision {
    match st.phase {
        Phase::Canary | Phase::Completing | Phase::Holding | Phase::Paused
            if st.percent == Percent::FULL =>
        {
            let drifted = drift::weighted(ctx, &st);
            if !drifted.is_empty() {
                let mut d = with_weights(
                    ctx,
                    &st,
                    ctx.refuse(format!("drift: {}", drifted.join("; "))),
                );
                d.alerts = drifted;
                return d;
            }
            let original = st.clone();
            st.phase = Phase::Completing;
            complete(ctx, st, &original)
        }
        Phase::Completed => with_weights(
            ctx,
            &st,
            ctx.decision(DecisionKind::Noop, "already completed"),
        ),
        _ => with_weights(
            ctx,
            &st,
            ctx.refuse(format!(
                "traffic is not all on {} ({} at {}); `promote-full` first",
                st.to, st.to, st.percent
            )),
        ),
    }
}

/// Whether `obj` asks for exactly the key (hostname, `sid`) (docs/design.md §3.1 step 4): its
/// set-identifier annotation names it and it has a load-balancer status. Returns the annotated
/// weight. For an HTTPRoute the annotations are the route's (docs/reference/external-dns.md §6
/// "Gateway API routes").
fn asks_for_key(
    cluster: &ClusterConfig,
    obj: &SourceObject,
    sid: &SetIdentifier,
) -> Result<Option<u8>, String> {
    let p = &cluster.annotation_prefix;
    let who = format!("{} in cluster {}", obj.describe(), cluster.key);
    match obj.annotations.get(&format!("{p}set-identifier")) {
        Some(s) if s == sid.as_str() => {}
        Some(s) => return Err(format!("{who} asks for set identifier {}; annotate {p}set-identifier={sid}", quoted(s))),
        None => return Err(format!("{who} asks for the simple record; annotate {p}set-identifier={sid} and {p}aws-weight=100")),
    }
    if obj.load_balancer_hostnames.is_empty() {
        return Err(format!("{who} has no load-balancer status yet"));
    }
    Ok(obj
        .annotations
        .get(&format!("{p}aws-weight"))
        .and_then(|w| w.trim().parse::<u8>().ok()))
}

/// One completion tick: delete the parked `from` key once no `from` object claims the host any
/// more; hand the `to` key to `to` once its object asks for exactly that key with an LB status
/// and a weight above 0 (or the `from` key is gone). Both in one batch when both hold.
pub(super) fn complete(ctx: &Ctx, mut st: State, original: &State) -> Decision {
    let (Some(from_sid), Some(to_sid)) = (ctx.sid(&st.from), ctx.sid(&st.to)) else {
        return ctx.refuse("no set identifier for from/to");
    };
    let (Some(to_cluster), Some(from_cluster)) = (ctx.cluster(&st.to), ctx.cluster(&st.from))
    else {
        return ctx.refuse("from/to cluster not configured");
    };
    let lease = ctx.lease.clone();
    let from_key = ctx.facts.key(&from_sid);
    let to_key = ctx.facts.key(&to_sid);
    let to_parked = st.written.owners.get(to_sid.as_str()) == Some(&lease);
    let mut waits: Vec<String> = Vec::new();
    let mut b = BatchBuilder::default();
    let mut did: Vec<&str> = Vec::new();

    // The parked `from` key is deleted only once no `from` object claims the host any more:
    // while it does, its external-dns would re-create the key (creation needs no ownership).
    let from_gone_after = match from_key {
        None => true,
        Some(k) => match ctx.claiming(&st.from) {
            Err(why) => {
                waits.push(why);
                false
            }
            Ok(list) if !list.is_empty() => {
                waits.push(format!(
                    "cluster {}: delete {} (or remove host {} from it) so the parked key {from_sid} at weight 0 can be deleted",
                    from_cluster.key,
                    list.iter().map(|o| o.describe()).collect::<Vec<_>>().join(", "),
                    ctx.svc.hostname
                ));
                false
            }
            Ok(_) => {
                if let Err(e) = b.delete_key(k) {
                    return ctx.refuse(e.to_string());
                }
                st.written.weights.remove(from_sid.as_str());
                st.written.owners.remove(from_sid.as_str());
                did.push("deleted the parked from key");
                true
            }
        },
    };

    if to_parked {
        match (
            to_key,
            hand_to(ctx, to_cluster, &st.to, &to_sid, from_gone_after),
        ) {
            (None, _) => waits.push(format!("the to key {to_sid} is missing")),
            (Some(_), Err(why)) => waits.push(why),
            (Some(k), Ok(obj)) => {
                if let Some(parked_at) = target_moved(k, obj) {
                    waits.push(format!(
                        "cluster {}: {} publishes {}, but the key {to_sid} points at \
                         {parked_at}: handed over, its external-dns would move the key's \
                         traffic to a load balancer no check has seen; point the object back at \
                         {parked_at}, or roll back and start again",
                        st.to,
                        obj.describe(),
                        obj.load_balancer_hostnames.join(", "),
                    ));
                } else {
                    // The label `to`'s external-dns writes for the object it serves the key from,
                    // of whatever kind (docs/reference/external-dns.md §1 "Value"): the label
                    // decides which of several objects asking for the key keeps it
                    // (docs/reference/external-dns.md §3 "Several objects asking for one key").
                    let resource = obj.resource_label();
                    let weight = match k.weight() {
                        Ok(Some(w)) => crate::types::Weight(w),
                        _ => return ctx.refuse(format!("key {to_sid} has inconsistent weights")),
                    };
                    // Owner := the `to` cluster's owner id, every TXT variant present
                    // (docs/reference/external-dns.md §1 "Lookup order": "A flip must rewrite
                    // every TXT variant present").
                    if let Err(e) =
                        b.set_key(k, weight, to_cluster.owner_id.as_str(), Some(&resource))
                    {
                        return ctx.refuse(e.to_string());
                    }
                    st.written
                        .owners
                        .insert(to_sid.to_string(), to_cluster.owner_id.as_str().to_string());
                    did.push("handed the to key to its cluster");
                }
            }
        }
    }

    let to_done = st.written.owners.get(to_sid.as_str()) != Some(&lease);
    let from_done = !st.written.owners.contains_key(from_sid.as_str());
    if to_done && from_done {
        st.phase = Phase::Completed;
    }
    let waits_for = (!waits.is_empty()).then(|| waits.join("; "));
    if b.is_empty() {
        let mut d = if &st != original {
            commit(
                ctx,
                b,
                st.clone(),
                DecisionKind::Wait,
                "completing: state recorded".into(),
            )
        } else {
            with_weights(
                ctx,
                &st,
                ctx.decision(DecisionKind::Wait, "completing: both keys stay parked"),
            )
        };
        if st.phase == Phase::Completed {
            d.kind = DecisionKind::Complete;
            d.summary = "completed".into();
        }
        d.waits_for = waits_for;
        return d;
    }
    let kind = match (st.phase == Phase::Completed, did.as_slice()) {
        (true, _) => DecisionKind::Complete,
        (false, [one]) if one.starts_with("deleted") => DecisionKind::DeleteFrom,
        _ => DecisionKind::Handover,
    };
    let summary = format!("completing: {}", did.join(" and "));
    let mut d = commit(ctx, b, st, kind, summary);
    d.waits_for = waits_for;
    d
}

/// The `to` object that may take the key, or what the team must change (docs/design.md §3.1 step
/// 4: "only if its Ingress asks for exactly that (name, set identifier), has a load-balancer
/// status, and either annotates a weight above 0 or the from key is already gone" — an Ingress,
/// Service or HTTPRoute alike).
fn hand_to<'a>(
    ctx: &Ctx<'a>,
    cluster: &ClusterConfig,
    to: &Name,
    sid: &SetIdentifier,
    from_gone: bool,
) -> Result<&'a SourceObject, String> {
    let list = ctx.claiming(to)?;
    if list.is_empty() {
        return Err(format!(
            "cluster {to}: {}; its external-dns would delete the key",
            ctx.nothing_claims(to)
        ));
    }
    // Two claimants of one key: which one `to`'s external-dns serves it from is not cutover's to
    // guess (docs/design.md §2); the team pins one.
    if list.len() > 1 {
        return Err(format!(
            "cluster {to}: {}",
            super::context::ambiguous_claimants(ctx.svc, to, &list)
        ));
    }
    let mut reasons = Vec::new();
    for obj in list {
        match asks_for_key(cluster, obj, sid) {
            Ok(w) if w.is_some_and(|w| w > 0) || from_gone => return Ok(obj),
            Ok(_) => reasons.push(format!(
                "cluster {to}: annotate {} with {}aws-weight=100 (a weight above 0; at 0 beside the parked from key at 0 Route53 splits evenly)",
                obj.describe(), cluster.annotation_prefix
            )),
            Err(why) => reasons.push(why),
        }
    }
    Err(reasons.join("; "))
}

/// The alias target of the key that the object does not publish, if any: a key handed to
/// external-dns is rewritten to the object's targets (docs/reference/external-dns.md §3), so a
/// target that differs would move traffic at the handover without any health check of it.
/// Compared as external-dns compares host names: case and a trailing dot aside, and with or
/// without the `dualstack.` prefix of an ELB name.
fn target_moved(key: &KeyRecords, obj: &SourceObject) -> Option<String> {
    fn bare(host: &str) -> String {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        host.strip_prefix("dualstack.")
            .map(str::to_string)
            .unwrap_or(host)
    }
    let published: Vec<String> = obj
        .load_balancer_hostnames
        .iter()
        .map(|h| bare(h))
        .collect();
    key.records
        .iter()
        .filter_map(|r| r.alias.as_ref())
        .map(|a| a.dns_name.as_str().to_string())
        .find(|target| !published.contains(&bare(target)))
}
