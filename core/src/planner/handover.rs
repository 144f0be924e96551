//! Completion at 100 %: giving the records back to external-dns without a bounce (docs/design.md
//! §3.1 step 4, §7.7; docs/reference/external-dns.md §5 and §3, after an owner flip).

use crate::config::ClusterConfig;
use crate::observation::IngressInfo;
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

/// Whether `ing` asks for exactly the key (hostname, `sid`) (docs/design.md §3.1 step 4): its
/// set-identifier annotation names it and it has a load-balancer status. Returns the annotated
/// weight.
fn asks_for_key(
    cluster: &ClusterConfig,
    ing: &IngressInfo,
    sid: &SetIdentifier,
) -> Result<Option<u8>, String> {
    let p = &cluster.annotation_prefix;
    let who = format!(
        "Ingress {}/{} in cluster {}",
        ing.namespace, ing.name, cluster.key
    );
    match ing.annotations.get(&format!("{p}set-identifier")) {
        Some(s) if s == sid.as_str() => {}
        Some(s) => return Err(format!("{who} asks for set identifier {}; annotate {p}set-identifier={sid}", quoted(s))),
        None => return Err(format!("{who} asks for the simple record; annotate {p}set-identifier={sid} and {p}aws-weight=100")),
    }
    if ing.load_balancer_hostnames.is_empty() {
        return Err(format!("{who} has no load-balancer status yet"));
    }
    Ok(ing
        .annotations
        .get(&format!("{p}aws-weight"))
        .and_then(|w| w.trim().parse::<u8>().ok()))
}

/// One completion tick: delete the parked `from` key once the `from` Ingress no longer claims the
/// host; hand the `to` key to `to` once its Ingress asks for exactly that key with an LB status
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

    // The parked `from` key is deleted only once the `from` Ingress no longer claims the host:
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
                    "cluster {}: delete Ingress {} (or remove host {} from it) so the parked key {from_sid} at weight 0 can be deleted",
                    from_cluster.key,
                    list.iter().map(|i| format!("{}/{}", i.namespace, i.name)).collect::<Vec<_>>().join(", "),
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
            (Some(k), Ok(ing)) => {
                let resource = format!("ingress/{}/{}", ing.namespace, ing.name);
                let weight = match k.weight() {
                    Ok(Some(w)) => crate::types::Weight(w),
                    _ => return ctx.refuse(format!("key {to_sid} has inconsistent weights")),
                };
                // Owner := the `to` cluster's owner id, every TXT variant present
                // (docs/reference/external-dns.md §1 "Lookup order": "A flip must rewrite every TXT
                // variant present").
                if let Err(e) = b.set_key(k, weight, to_cluster.owner_id.as_str(), Some(&resource))
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

/// The `to` Ingress that may take the key, or what the team must change (docs/design.md §3.1 step
/// 4: "only if its Ingress asks for exactly that (name, set identifier), has a load-balancer
/// status, and either annotates a weight above 0 or the from key is already gone").
fn hand_to<'a>(
    ctx: &Ctx<'a>,
    cluster: &ClusterConfig,
    to: &Name,
    sid: &SetIdentifier,
    from_gone: bool,
) -> Result<&'a IngressInfo, String> {
    let list = ctx.claiming(to)?;
    if list.is_empty() {
        return Err(format!(
            "cluster {to}: no Ingress claims {}; its external-dns would delete the key",
            ctx.svc.hostname
        ));
    }
    let mut reasons = Vec::new();
    for ing in list {
        match asks_for_key(cluster, ing, sid) {
            Ok(w) if w.is_some_and(|w| w > 0) || from_gone => return Ok(ing),
            Ok(_) => reasons.push(format!(
                "cluster {to}: annotate Ingress {}/{} with {}aws-weight=100 (a weight above 0; at 0 beside the parked from key at 0 Route53 splits evenly)",
                ing.namespace, ing.name, cluster.annotation_prefix
            )),
            Err(why) => reasons.push(why),
        }
    }
    Err(reasons.join("; "))
}
