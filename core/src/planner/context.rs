//! One decision's context, read once (the config, the service, the observed view, the command,
//! the clock, the stored state record and what the zone says of the host), and the plumbing
//! every strategy shares: building a decision, committing a batch with the state record in it,
//! reporting the live share.

use std::ops::ControlFlow;

use crate::command::{Command, Trigger};
use crate::config::{ClusterConfig, Config, ServiceConfig};
use crate::observation::{Observed, SourceObject, Verdict};
use crate::registry::{EncryptionKey, TxtNaming};
use crate::state::{self, PendingChange, State, Stored};
use crate::traffic::{self, TrafficReport};
use crate::types::{DnsName, Millis, Name, Percent, SetIdentifier};

use super::build::BatchBuilder;
use super::decision::{Decision, DecisionKind, Weights};
use super::facts::{share, HostFacts};
use super::names::all_namings;
use super::view::ServiceView;

/// Everything one decision needs, read once.
pub(super) struct Ctx<'a> {
    pub cfg: &'a Config,
    pub svc: &'a ServiceConfig,
    pub view: &'a ServiceView,
    pub cmd: &'a Command,
    pub now: Millis,
    pub state_name: DnsName,
    pub stored: Option<Stored>,
    pub facts: HostFacts,
    pub lease: String,
    /// What real traffic says of both clusters (docs/design.md §4), judged once.
    pub traffic: TrafficReport,
}

impl<'a> Ctx<'a> {
    pub fn cluster(&self, key: &Name) -> Option<&'a ClusterConfig> {
        self.cfg.cluster(key)
    }
    pub fn sid(&self, cluster: &Name) -> Option<SetIdentifier> {
        self.svc.set_identifier(cluster)
    }
    /// The health verdict of `cluster`: its probes, made worse by its alarms and metrics of
    /// real traffic when those are configured (docs/design.md §4). `None`: not probed.
    pub fn verdict(&self, cluster: &Name) -> Option<Verdict> {
        let probe = self.view.health.get(cluster).map(|h| h.verdict)?;
        Some(match self.traffic.verdict(cluster) {
            Some(t) => traffic::worst([probe, t]),
            None => probe,
        })
    }
    pub fn decision(&self, kind: DecisionKind, summary: impl Into<String>) -> Decision {
        let mut d = Decision::new(self.svc, kind, summary);
        d.owners = owners_report(&self.facts);
        d.last_written = self
            .stored
            .as_ref()
            .and_then(|s| s.state.as_ref().ok())
            .map(|st| st.at);
        d
    }
    pub fn refuse(&self, reason: impl Into<String>) -> Decision {
        self.decision(DecisionKind::Refused, format!("refused: {}", reason.into()))
    }
    /// The objects of `cluster` that claim the service's hostname and may serve it: of the
    /// configured source kind (else of any kind the cluster's external-dns reads), the pinned one
    /// only when pinned (docs/design.md §2).
    pub fn claiming(&self, cluster: &Name) -> Result<Vec<&'a SourceObject>, String> {
        let kinds = self.source_kinds_text(cluster);
        let config = self
            .cluster(cluster)
            .ok_or_else(|| format!("cluster {cluster} is not configured"))?;
        match self.view.sources.get(cluster) {
            None => Err(format!("the {kinds} of cluster {cluster} were not listed")),
            Some(Observed::Unavailable(why)) => Err(format!(
                "the {kinds} of cluster {cluster} are unavailable: {why}"
            )),
            Some(Observed::Known(list)) => Ok(list
                .iter()
                .filter(|o| self.svc.claimed_by(config, o))
                .collect()),
        }
    }

    /// The kinds that can serve the service in `cluster`, for messages: `Ingresses or Services`.
    pub fn source_kinds_text(&self, cluster: &Name) -> String {
        let kinds = self
            .cluster(cluster)
            .map(|c| self.svc.source_kinds(c))
            .unwrap_or_default();
        let mut names: Vec<String> = kinds
            .iter()
            .map(|k| format!("{}s", k.kind_name()))
            .collect();
        match names.len() {
            0 => "objects".to_string(),
            1 => names.remove(0),
            _ => {
                let last = names.pop().unwrap_or_default();
                format!("{} or {last}", names.join(", "))
            }
        }
    }

    /// `no Ingress or Service in cluster green claims payments.example.com` (the pinned object
    /// when pinned).
    pub fn nothing_claims(&self, cluster: &Name) -> String {
        self.no_source(cluster, "claims", "claim")
    }

    /// `no Ingress or Service in cluster green asks for payments.example.com`.
    pub fn nothing_asks_for(&self, cluster: &Name) -> String {
        self.no_source(cluster, "asks for", "ask for")
    }

    fn no_source(&self, cluster: &Name, verb: &str, negated_verb: &str) -> String {
        match self.svc.source_of(cluster) {
            Some(selector) => match &selector.object {
                Some(r) => format!(
                    "{} {r} in cluster {cluster} (services.{}.source) does not {negated_verb} {}",
                    selector.kind.kind_name(),
                    self.svc.name,
                    self.svc.hostname
                ),
                None => format!(
                    "no {} in cluster {cluster} {verb} {}",
                    selector.kind.kind_name(),
                    self.svc.hostname
                ),
            },
            None => {
                let kinds = self
                    .cluster(cluster)
                    .map(|c| c.external_dns_sources.clone())
                    .unwrap_or_default();
                format!(
                    "no {} in cluster {cluster} {verb} {}",
                    kinds
                        .iter()
                        .map(|k| k.kind_name())
                        .collect::<Vec<_>>()
                        .join(" or "),
                    self.svc.hostname
                )
            }
        }
    }
    pub fn naming(&self, cluster: &Name) -> Option<TxtNaming> {
        self.cluster(cluster).map(ClusterConfig::txt_naming)
    }
}

/// The owners of every key, for the report: `simple` / set identifier → owner(s).
fn owners_report(facts: &HostFacts) -> std::collections::BTreeMap<String, String> {
    facts
        .all_keys()
        .into_iter()
        .map(|(label, k)| {
            let owners: Vec<String> = k.owners().into_iter().collect();
            let owner = if owners.is_empty() {
                if k.has_encrypted() {
                    "(encrypted)".to_string()
                } else {
                    "(none)".to_string()
                }
            } else {
                owners.join(",")
            };
            (label, owner)
        })
        .collect()
}

impl<'a> Ctx<'a> {
    /// Reads everything once. `Err`: the state record name is not a valid DNS name.
    pub fn read(
        cfg: &'a Config,
        svc: &'a ServiceConfig,
        view: &'a ServiceView,
        cmd: &'a Command,
        now: Millis,
        txt_encrypt_keys: &[EncryptionKey],
    ) -> Option<Ctx<'a>> {
        let state_name = cfg.state_record_name(svc)?;
        let mut facts = HostFacts::read(&view.records, &svc.hostname, &all_namings(cfg));
        facts.decrypt(txt_encrypt_keys);
        let mut ctx = Ctx {
            cfg,
            svc,
            view,
            cmd,
            now,
            stored: state::find(&view.records, &state_name),
            state_name,
            facts,
            lease: cfg.lease_owner_id.as_str().to_string(),
            traffic: TrafficReport::default(),
        };
        ctx.traffic = judge_traffic(&ctx);
        Some(ctx)
    }
}

/// Judges real traffic for the service (docs/design.md §4): `to`'s live share decides whether
/// its metrics are judged at all (at 0 it serves nothing), and the split is measured since the
/// current step's change went INSYNC (or was submitted, or the state was last written).
fn judge_traffic(ctx: &Ctx) -> TrafficReport {
    let view = &ctx.view.traffic;
    if view.is_empty() {
        return TrafficReport::default();
    }
    let svc = ctx.svc;
    let weight = current_weights(ctx, &svc.from, &svc.to).map_or(Percent::ZERO, |w| w.to);
    let step_since = ctx
        .stored
        .as_ref()
        .and_then(|s| s.state.as_ref().ok())
        .map(|st| {
            st.change
                .as_ref()
                .map(|c| c.insync_at.unwrap_or(c.submitted_at))
                .unwrap_or(st.at)
        })
        .unwrap_or(view.until);
    traffic::judge(
        view,
        svc.rollout.metrics.as_ref(),
        &svc.from,
        &svc.to,
        weight,
        step_since,
    )
}

/// Adds the current share to a decision.
pub(super) fn with_weights(ctx: &Ctx, st: &State, mut d: Decision) -> Decision {
    d.weights_before = current_weights(ctx, &st.from, &st.to);
    if d.weights_after.is_none() {
        d.weights_after = d.weights_before;
    }
    d
}

/// The live share from the zone: both keys' weights (whoever set them — docs/design.md §3.3).
pub(super) fn current_weights(ctx: &Ctx, from: &Name, to: &Name) -> Option<Weights> {
    let f = &ctx.facts;
    if !f.is_weighted() {
        return (!f.simple.is_empty()).then_some(Weights {
            from: Percent::FULL,
            to: Percent::ZERO,
        });
    }
    // A missing key has no traffic (weight 0). A key whose A and AAAA records carry different
    // weights has no single share — IPv4 and IPv6 resolvers each see their own split — so none is
    // reported rather than one made up (docs/design.md §7.4: they always agree when cutover wrote
    // them; someone else changed one).
    let w = |c: &Name| -> Option<u8> {
        match ctx.sid(c).and_then(|s| f.key(&s)) {
            None => Some(0),
            Some(k) => k.weight().ok().map(|w| w.unwrap_or(0)),
        }
    };
    let p = share(w(from)?, w(to)?);
    Some(Weights {
        from: p.complement(),
        to: p,
    })
}

// ---------------------------------------------------------------------------------------------
// Writing: the state record travels in the same batch (docs/design.md §7.5)
// ---------------------------------------------------------------------------------------------

/// Finishes a decision that writes: stamps actor/reason, remembers the event id, marks the change
/// pending when traffic records change, adds the state record CAS, sets the batch comment.
pub(super) fn commit(
    ctx: &Ctx,
    mut b: BatchBuilder,
    mut st: State,
    kind: DecisionKind,
    summary: String,
) -> Decision {
    st.stamp(&ctx.cmd.actor, ctx.cmd.reason.as_deref(), ctx.now);
    // A start records the wave that started it, if one did (docs/design.md §10): the wave counts
    // the migration's rollback as its own failure.
    if kind == DecisionKind::Start {
        st.wave = match &ctx.cmd.action {
            crate::command::Action::Start { wave: Some(w), .. } => Some(w.name.to_string()),
            _ => None,
        };
    }
    if let Some(id) = &ctx.cmd.id {
        st.remember_event(id);
    }
    if b.touches_traffic(&ctx.state_name) {
        st.change = Some(PendingChange {
            id: None,
            tag: ctx.view.write_tag.clone(),
            submitted_at: ctx.now,
            insync_at: None,
        });
    }
    let new_record = match st.to_record(&ctx.state_name) {
        Ok(r) => r,
        Err(e) => return ctx.refuse(e.to_string()),
    };
    match &ctx.stored {
        Some(old) => b.replace(&old.record, new_record),
        None => b.create(new_record),
    }
    let comment = format!(
        "cutover {} {} by {}{}",
        kind_name(kind),
        ctx.svc.name,
        ctx.cmd.actor,
        ctx.cmd
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    );
    let mut d = ctx.decision(kind, summary);
    d.batch = Some(b.finish(&comment));
    d.weights_before = current_weights(ctx, &st.from, &st.to);
    d.weights_after = Some(Weights::of(st.percent));
    d
}

fn kind_name(kind: DecisionKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The direction of a start: always the configured `from` → `to` (docs/design.md §3.1 step 1,
/// §7.10). A set identifier names the cluster whose load balancer it points to, so a start
/// toward `from` (swapping the two) would put `<service>-<to>` on `from`'s load balancer and
/// switch all traffic at once: it is refused, or, for a deploy event (a routine deploy on the
/// serving cluster), a no-op that says why. A cluster that is neither is refused. `Break`: the
/// decision to answer with.
pub(super) fn start_direction(ctx: &Ctx, to: Option<&Name>) -> ControlFlow<Decision, (Name, Name)> {
    let svc = ctx.svc;
    match to {
        None => ControlFlow::Continue((svc.from.clone(), svc.to.clone())),
        Some(t) if *t == svc.to => ControlFlow::Continue((svc.from.clone(), svc.to.clone())),
        Some(t) if *t == svc.from => {
            let why = format!(
                "{t} is services.{}.from, the cluster {} leaves; a migration goes toward \
                 services.{}.to ({}); to move back, swap from and to in the config",
                svc.name, svc.hostname, svc.name, svc.to
            );
            ControlFlow::Break(not_a_start(ctx, &format!("start toward {t}: {why}")))
        }
        Some(t) => ControlFlow::Break(ctx.refuse(format!(
            "cluster {t} is neither {} nor {} (services.{}.from/to)",
            svc.from, svc.to, svc.name
        ))),
    }
}

/// A start that makes no sense: refused for an operator, a no-op with its reason for a deploy
/// event (CI reporting a routine deploy is not an error).
pub(super) fn not_a_start(ctx: &Ctx, why: &str) -> Decision {
    match ctx.cmd.trigger {
        Trigger::Deploy => ctx.decision(
            DecisionKind::Noop,
            format!("deploy event: nothing to start — {why}"),
        ),
        Trigger::Operator | Trigger::Schedule => ctx.refuse(why.to_string()),
    }
}

/// Exactly one of `list` (the objects of `cluster` that ask for the key), and it has a
/// load-balancer status: several are ambiguous (the config must name one; the refusal names them
/// all), none is `none()`.
pub(super) fn the_one_with_status<'a>(
    ctx: &Ctx,
    cluster: &Name,
    list: &[&'a SourceObject],
    none: impl FnOnce() -> String,
) -> Result<&'a SourceObject, String> {
    match list {
        [] => Err(none()),
        [one] if one.load_balancer_hostnames.is_empty() => Err(format!(
            "{} in cluster {cluster} has no load-balancer status yet",
            one.describe()
        )),
        [one] => Ok(one),
        many => Err(ambiguous_claimants(ctx.svc, cluster, many)),
    }
}

/// Several objects claim the host in `cluster` and none is configured: which one serves the
/// service is ambiguous. Names every one, and how to pin one.
pub fn ambiguous_claimants(
    svc: &crate::config::ServiceConfig,
    cluster: &Name,
    many: &[&SourceObject],
) -> String {
    format!(
        "{} objects in cluster {cluster} claim {} ({}); set services.{}.source.{cluster} to the \
         one that serves it (e.g. \"{}\")",
        many.len(),
        svc.hostname,
        many.iter()
            .map(|o| o.describe())
            .collect::<Vec<_>>()
            .join(", "),
        svc.name,
        many.first().map(|o| o.resource_label()).unwrap_or_default()
    )
}

pub(super) fn wait_or_record(
    ctx: &Ctx,
    st: State,
    original: &State,
    kind: DecisionKind,
    summary: String,
    waits_for: Option<String>,
    alerts: Vec<String>,
) -> Decision {
    let mut d = if &st != original {
        commit(ctx, BatchBuilder::default(), st.clone(), kind, summary)
    } else {
        with_weights(ctx, &st, ctx.decision(kind, summary))
    };
    d.waits_for = waits_for;
    d.alerts.extend(alerts);
    d
}
