//! The chaos campaign: a seeded run of many steps over a fleet of services on the sandbox, with
//! faults, third parties, external-dns, sick load balancers, concurrent and killed invocations,
//! and operators — and, after every step, an independent check of every promise cutover makes
//! about the zone. Bounded by a count of steps, never by the wall clock.
//!
//! **The world.** 6–10 services in one zone, each served by an Ingress in both clusters (blue and
//! green, external-dns v0.22, `sync`), in one of four forms: a simple record (canary), weighted
//! by hand at blue 100 / green 0 or 80 / 20 (canary), or a simple record moved by blue-green.
//! Beside them, records cutover must never touch: a third owner's (`red`) simple and weighted
//! records, and a record no external-dns owns. The rollout is four steps (5, 25, 50, 100 %) with
//! two-minute bakes; blue-green verifies for three minutes.
//!
//! **A step** moves the simulated clock 10–150 s, then, each drawn from the seed: both or one
//! external-dns reconcile; the team does what a report asks (annotates its Ingresses, deletes
//! blue's at completion); green's load balancer starts or stops failing a service's health check
//! (so rollbacks happen); Route53 faults for this step (throttling storms, 5xx answers, latency,
//! a failed or refused change, a change applied whose answer is lost, a failed listing page); a
//! third party writes, at once or *between cutover's observe and apply* (interposed on cutover's
//! Route53 port, just before its first change request); an operator repairs what a third party
//! broke. Then one action: a scheduled tick; two invocations at once (`tokio::join!`); the real
//! `cutover` binary run as a child process against the sandbox over HTTP (`--clock sandbox:URL`),
//! usually SIGKILLed after a random short delay; an operator command (rollback, pause, resume,
//! promote, promote-full, set-weight, handover, in-process or through the CLI); a deploy event;
//! the replay of an event already delivered; a read-only `status` or `plan`. The faults last for
//! the step only and hit cutover's Route53 requests (external-dns runs before they are armed).
//!
//! **Checked after every step**, on every zone version the sandbox's history holds (each change
//! batch is one version: nothing half-applied is ever visible), with the shared checks of
//! `core/tests/zone_invariants` and nothing of the planner:
//! - every service answers: an A record (and an AAAA where it had one) that is simple or weighted
//!   above 0, pointing at an existing load balancer; no weighted group all at 0; never simple and
//!   weighted together (docs/design.md §7.1);
//! - per weighted key, the A, AAAA and TXT registry entries carry one weight; every record has a
//!   registry entry and every entry its record; entries have TTL 300 and the canonical value; each
//!   key has one owner among blue, green and the lease owner, and one target; a set identifier
//!   names the cluster of its load balancer (docs/design.md §7.3, docs/design.md §7.4,
//!   docs/design.md §7.10);
//! - the state record, where there is one, parses and agrees with the zone: parked keys at the
//!   weights it wrote, under the lease owner, summing to 100 % with `to` at its share; rolled back
//!   at 0 %; completed with the `from` key gone and the `to` key green's; blue-green on the load
//!   balancer of its share; a state record never disappears unless a third party deleted it;
//! - every batch of cutover's: DELETE + CREATE only, configured names only, the state record of
//!   every service whose records it changes in the same batch (docs/design.md §7.5); a share moves
//!   only one planned step up (never while `to` was failing throughout, never sooner than the
//!   shortest bake — the alias's 60 s TTL plus the 30 s allowance — after the service's last
//!   change, docs/design.md §3.1 step 2, docs/design.md §7.11), to 0 only on an operator's rollback
//!   or a failing `to`, anywhere else only as an operator set it; a blue-green switch only on a
//!   start while `to` is healthy;
//! - external-dns never changes a record parked under the lease owner; no one but the third party
//!   touches a record that belongs to no configured service, but for cutover's own records of
//!   the zone (docs/design.md §7.3);
//! - every report is in words; a replayed event and a `status` or `plan` write nothing
//!   (docs/design.md §7.8).
//!
//! **Under a third party's deliberate writes** (docs/design.md §7.9): an UPSERT of a parked key's
//! weight (all of its records, or only its A record), or a DELETE of a service's state record. From
//! the write's version on, the service is exempt from what the write itself broke — its key's
//! weights (an A-only write), the state ↔ zone agreement, the state record's presence — and
//! instead: the written records stay exactly as the third party left them and a deleted state
//! record stays deleted (cutover never "fixes" drift), cutover writes none of its traffic records
//! (its batches for the service touch only its state record: a hold), every tick of it answers a
//! hold for drift (or reports the orphaned records, docs/design.md §7.12), until an operator
//! repairs it: restores the records by hand and resumes, or runs `rollback` (the one command that
//! overwrites drift, by design), or `adopt` (or a new `start`) for a lost state record. Answers,
//! groups, registry completeness, owners and targets hold throughout: the third party's writes keep
//! them. Unrelated writes (the third owner's records, records nobody owns) are never touched by
//! anyone else.
//!
//! **At the end** faults are cleared, load balancers healed, third-party damage repaired, and the
//! fleet ticked (a bounded number of rounds, the team and operators doing what reports ask) until
//! every service is completed or rolled back.
//!
//! It prints the seed, the figures and how to replay (`--no-capture`); every violation names the
//! step, the change and the seed. The seed fixes the schedule of actions and faults; the
//! interleaving of concurrent invocations and the moment a SIGKILL lands depend on the machine.
//!
//! ```sh
//! cargo nextest run --test chaos --no-capture                        # the fixed seed
//! CUTOVER_CHAOS_SEED=random CUTOVER_CHAOS_STEPS=2000 cargo nextest run --test chaos --no-capture
//! CUTOVER_CHAOS_SEED=123456 CUTOVER_CHAOS_STEPS=2000 cargo nextest run --test chaos --no-capture
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;
#[path = "../core/tests/zone_invariants/mod.rs"]
mod zone_invariants;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cutover::engine::{self, Context};
use cutover::observe::route53::{RecordSink, Route53Api, Route53Error, SdkRoute53};
use cutover_core::command::Strategy;
use cutover_core::route53::model::{ChangeBatch, ChangeInfo, ChangeStatus};
use cutover_core::state::{Phase, State};
use futures::future::BoxFuture;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use sandbox::lb::Behaviour;
use sandbox::route53::{Action, AppliedChange, Change, Route53, Rrset};
use sandbox::world::World;
use serde_json::{json, Value};
use support::{service_reports, state_of, ContextOptions, Harness, FAST_ROLLOUT};
use tokio::io::AsyncReadExt;
use zone_invariants::{normalize, Rec};

/// The fixed seed of the default run.
const DEFAULT_SEED: u64 = 1105;
/// Steps of the default run: enough for every form to start, step, roll back and complete.
const DEFAULT_STEPS: usize = 100;
/// Rounds the end may take to bring every service to completed or rolled back.
const END_ROUNDS: usize = 40;

const SERVICE_NAMES: [&str; 10] = [
    "payments", "checkout", "search", "ledger", "catalog", "profile", "cart", "auth", "billing",
    "media",
];
/// The rollout's steps (FAST_ROLLOUT).
const STEPS: [i64; 4] = [5, 25, 50, 100];
/// The shortest bake (docs/design.md §3.1 step 2b): an ELB alias's 60 s TTL plus the rollout's
/// 30 s propagation allowance.
const BAKE_FLOOR_MS: i64 = 90_000;
const LEASE: &str = "cutover";
const OPERATOR: &str = "oncall";
const THIRD_PARTY: &str = "chaos third party";
const BY_HAND: &str = "chaos operator by hand";
const DNS_PREFIX: &str = "external-dns.kubernetes.io/";

// ---------------------------------------------------------------------------------------------
// Settings

struct Settings {
    seed: u64,
    steps: usize,
}

/// `CUTOVER_CHAOS_SEED` (a number, or `random`) and `CUTOVER_CHAOS_STEPS`.
fn settings() -> Settings {
    let seed = match std::env::var("CUTOVER_CHAOS_SEED")
        .ok()
        .as_deref()
        .map(str::trim)
    {
        None | Some("") => DEFAULT_SEED,
        // Short enough to type back.
        Some("random") => rand::rng().random_range(0..1_000_000_000),
        Some(n) => n
            .parse()
            .unwrap_or_else(|_| panic!("CUTOVER_CHAOS_SEED={n}: give a number, or random")),
    };
    let steps = match std::env::var("CUTOVER_CHAOS_STEPS")
        .ok()
        .as_deref()
        .map(str::trim)
    {
        None | Some("") => DEFAULT_STEPS,
        Some(n) => n
            .parse()
            .unwrap_or_else(|_| panic!("CUTOVER_CHAOS_STEPS={n}: give a number of steps")),
    };
    Settings { seed, steps }
}

// ---------------------------------------------------------------------------------------------
// The fleet and its world

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// A simple record, migrated by canary (both Ingresses ask for the simple key).
    Simple,
    /// Weighted by hand, `to` at this share (blue 100 − share, green share).
    Weighted(i64),
    /// A simple record, migrated by blue-green.
    BlueGreen,
}

impl Form {
    fn name(self) -> String {
        match self {
            Form::Simple => "simple".into(),
            Form::Weighted(to) => format!("weighted {}/{to}", 100 - to),
            Form::BlueGreen => "blue-green".into(),
        }
    }
}

#[derive(Debug, Clone)]
struct Svc {
    name: &'static str,
    form: Form,
    host: String,
    state_name: String,
    /// The host and its registry TXT names: what cutover's traffic changes touch.
    traffic_names: BTreeSet<String>,
}

impl Svc {
    fn new(name: &'static str, form: Form) -> Svc {
        let host = format!("{name}.example.com");
        let mut traffic_names: BTreeSet<String> = zone_invariants::registry_names(&host)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        traffic_names.insert(host.clone());
        Svc {
            name,
            form,
            state_name: format!("_cutover.{host}"),
            host,
            traffic_names,
        }
    }

    fn sid(&self, cluster: &str) -> String {
        format!("{}-{cluster}", self.name)
    }

    fn canary(&self) -> bool {
        self.form != Form::BlueGreen
    }

    fn strategy(&self) -> &'static str {
        if self.canary() {
            "canary"
        } else {
            "blue-green"
        }
    }
}

/// 6–10 services, every form at least once.
fn fleet(rng: &mut StdRng) -> Vec<Svc> {
    let n = rng.random_range(6..=10);
    let mut forms = vec![
        Form::Simple,
        Form::Weighted(0),
        Form::Weighted(20),
        Form::BlueGreen,
    ];
    while forms.len() < n {
        let all = [
            Form::Simple,
            Form::Weighted(0),
            Form::Weighted(20),
            Form::BlueGreen,
        ];
        forms.push(*all.choose(rng).unwrap());
    }
    forms.shuffle(rng);
    SERVICE_NAMES
        .iter()
        .zip(forms)
        .map(|(name, form)| Svc::new(name, form))
        .collect()
}

fn world_toml(fleet: &[Svc]) -> String {
    let mut w = String::new();
    w.push_str("[[zones]]\nname = \"example.com\"\n\n");
    for cluster in ["blue", "green"] {
        let _ = writeln!(
            w,
            "[[clusters]]\nname = \"{cluster}\"\nregion = \"eu-west-1\"\n\
             load_balancers = [{{ name = \"k8s-{cluster}-ingress\", kind = \"alb\" }}]\n\
             [clusters.external_dns]\nowner_id = \"{cluster}\"\nversion = \"v0.22\"\n\
             policy = \"sync\"\ninterval_seconds = 60\n"
        );
    }
    for s in fleet {
        for cluster in ["blue", "green"] {
            let annotations = match s.form {
                Form::Weighted(to) => {
                    let weight = if cluster == "blue" { 100 - to } else { to };
                    format!(
                        "{{ \"{DNS_PREFIX}set-identifier\" = \"{}\", \"{DNS_PREFIX}aws-weight\" = \"{weight}\" }}",
                        s.sid(cluster)
                    )
                }
                _ => "{}".into(),
            };
            let _ = writeln!(
                w,
                "[[ingresses]]\ncluster = \"{cluster}\"\nname = \"{}\"\nhosts = [\"{}\"]\n\
                 load_balancer = \"k8s-{cluster}-ingress\"\nannotations = {annotations}\n",
                s.name, s.host
            );
        }
    }
    // A third owner's records, simple and weighted, and a record nobody owns: never touched.
    let red = |name: &str, sid: &str| {
        format!(
            "[[records]]\nzone = \"example.com\"\nname = \"{name}\"\ntype = \"TXT\"\nttl = 300\n{sid}\
             values = [\"\\\"heritage=external-dns,external-dns/owner=red,external-dns/resource=ingress/legacy/legacy\\\"\"]\n"
        )
    };
    w.push_str(
        "[[records]]\nzone = \"example.com\"\nname = \"legacy.example.com\"\ntype = \"A\"\nttl = 300\nvalues = [\"192.0.2.10\"]\n\n",
    );
    w.push_str(&red("a-legacy.example.com", ""));
    w.push_str(
        "\n[[records]]\nzone = \"example.com\"\nname = \"shared.example.com\"\ntype = \"A\"\nttl = 60\nvalues = [\"192.0.2.30\"]\nset_identifier = \"shared-red\"\nweight = 10\n\n",
    );
    w.push_str(&red(
        "a-shared.example.com",
        "set_identifier = \"shared-red\"\nweight = 10\n",
    ));
    w.push_str(
        "\n[[records]]\nzone = \"example.com\"\nname = \"www.example.com\"\ntype = \"A\"\nttl = 300\nvalues = [\"192.0.2.20\"]\n",
    );
    w
}

/// The records of a zone in the shared checks' form.
fn recs(zone: &[Rrset]) -> Vec<Rec> {
    zone.iter()
        .map(|r| Rec {
            name: normalize(&r.name),
            rtype: r.rtype.clone(),
            set_identifier: r.set_identifier.clone(),
            weight: r.weight,
            ttl: r.ttl,
            values: r.records.clone(),
            alias_target: r.alias_target.as_ref().map(|a| normalize(&a.dns_name)),
        })
        .collect()
}

fn weight_of(zone: &[Rec], host: &str, rtype: &str, sid: &str) -> Option<i64> {
    zone.iter()
        .find(|r| r.name == host && r.rtype == rtype && r.set_identifier.as_deref() == Some(sid))
        .and_then(|r| r.weight)
}

/// `to`'s share in percent from both keys' A weights, when both exist.
fn share(zone: &[Rec], s: &Svc) -> Option<i64> {
    let from = weight_of(zone, &s.host, "A", &s.sid("blue"))?;
    let to = weight_of(zone, &s.host, "A", &s.sid("green"))?;
    (from + to > 0).then(|| to * 100 / (from + to))
}

/// The share Route53 gives `to`, as a report states it (rounded; all weights 0 split evenly): `None`
/// when a key's A and AAAA weights differ, or the host has no record.
fn live_share(zone: &[Rec], s: &Svc) -> Option<i64> {
    let records = zone_invariants::traffic(zone, &s.host);
    if records.iter().all(|r| r.weight.is_none()) {
        return (!records.is_empty()).then_some(0);
    }
    let key = |cluster: &str| -> Option<i64> {
        let sid = s.sid(cluster);
        let weights: BTreeSet<Option<i64>> = records
            .iter()
            .filter(|r| r.set_identifier.as_deref() == Some(sid.as_str()))
            .map(|r| r.weight)
            .collect();
        match weights.len() {
            0 => Some(0),
            1 => Some(weights.into_iter().next().flatten().unwrap_or(0)),
            _ => None,
        }
    };
    let (from, to) = (key("blue")?, key("green")?);
    let total = from + to;
    Some(if total == 0 {
        50
    } else {
        (to * 100 + total / 2) / total
    })
}

fn next_step(p: i64) -> Option<i64> {
    STEPS.iter().copied().find(|s| *s > p)
}

/// The state record of `s` in `zone`: `None` when there is none, else what reading it gives.
fn state_in(zone: &[Rrset], s: &Svc) -> Option<Result<State, String>> {
    zone.iter()
        .any(|r| normalize(&r.name) == s.state_name && r.rtype == "TXT")
        .then(|| state_of(zone, s.name))
}

fn phase_in(zone: &[Rrset], s: &Svc) -> Option<Phase> {
    state_in(zone, s).and_then(Result::ok).map(|st| st.phase)
}

// ---------------------------------------------------------------------------------------------
// The third party, and where it writes between observe and apply

#[derive(Debug, Clone)]
enum Plan {
    /// UPSERT a parked key's weight: all its records, or only its A record.
    Drift {
        service: &'static str,
        host: String,
        sid: String,
        weight: i64,
        all_records: bool,
    },
    /// DELETE a service's state record.
    DeleteState {
        service: &'static str,
        state_name: String,
    },
    /// Records of no configured service.
    Unrelated(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TaintKind {
    Drift { sid: String, all_records: bool },
    Orphan,
}

/// A third party's write that landed.
#[derive(Debug, Clone)]
struct Fired {
    kind: &'static str,
    what: String,
    change_id: String,
    taint: Option<(&'static str, TaintKind, Vec<Rrset>)>,
}

/// The third party: its writes go through the sandbox's Route53 in-process (validated and atomic,
/// in the history under its own comment), never through HTTP faults.
struct ThirdParty {
    route53: Route53,
    zone_id: String,
    armed: Mutex<Option<Plan>>,
    fired: Mutex<Vec<Fired>>,
}

impl ThirdParty {
    fn arm(&self, plan: Plan) {
        *self.armed.lock().unwrap() = Some(plan);
    }

    fn disarm(&self) -> Option<Plan> {
        self.armed.lock().unwrap().take()
    }

    /// The armed write, if any: called by cutover's Route53 port before each change request.
    fn fire_armed(&self) {
        if let Some(plan) = self.disarm() {
            self.apply(&plan);
        }
    }

    fn take_fired(&self) -> Vec<Fired> {
        std::mem::take(&mut *self.fired.lock().unwrap())
    }

    fn apply(&self, plan: &Plan) {
        let zone = self.route53.records(&self.zone_id);
        let Some((changes, kind, what, taint)) = third_party_changes(&zone, plan) else {
            return;
        };
        let comment = format!("{THIRD_PARTY}: {what}");
        match self.route53.change(&self.zone_id, changes, Some(comment)) {
            Ok(info) => self.fired.lock().unwrap().push(Fired {
                kind,
                what,
                change_id: info.id,
                taint,
            }),
            Err(e) => panic!("the third party's own write was refused ({what}): {e}"),
        }
    }
}

type ThirdPartyWrite = (
    Vec<Change>,
    &'static str,
    String,
    Option<(&'static str, TaintKind, Vec<Rrset>)>,
);

/// The changes of a third party's plan against the zone as it is now (`None`: nothing to do,
/// e.g. the key is no longer parked).
fn third_party_changes(zone: &[Rrset], plan: &Plan) -> Option<ThirdPartyWrite> {
    match plan {
        Plan::Drift {
            service,
            host,
            sid,
            weight,
            all_records,
        } => {
            let names: BTreeSet<String> = zone_invariants::registry_names(host)
                .into_iter()
                .map(|(n, _)| n)
                .chain([host.clone()])
                .collect();
            let key: Vec<&Rrset> = zone
                .iter()
                .filter(|r| names.contains(&normalize(&r.name)))
                .filter(|r| r.set_identifier.as_deref() == Some(sid.as_str()))
                .collect();
            let parked = key.iter().filter(|r| r.rtype == "TXT").all(|r| {
                r.records
                    .iter()
                    .any(|v| v.contains(&format!("owner={LEASE},")))
            });
            let current = key.iter().find(|r| r.rtype == "A")?.weight?;
            if !parked || key.len() < 4 {
                return None;
            }
            let weight = if *weight == current {
                (weight % 200) + 1
            } else {
                *weight
            };
            let written: Vec<Rrset> = key
                .iter()
                .filter(|r| *all_records || r.rtype == "A")
                .map(|r| Rrset {
                    weight: Some(weight),
                    ..(*r).clone()
                })
                .collect();
            let what = format!(
                "{} weight of {service}'s key {sid}: {current} → {weight}",
                if *all_records {
                    "all records at"
                } else {
                    "A record at"
                }
            );
            let changes = written
                .iter()
                .map(|r| Change {
                    action: Action::Upsert,
                    rrset: r.clone(),
                })
                .collect();
            Some((
                changes,
                "drift",
                what,
                Some((
                    *service,
                    TaintKind::Drift {
                        sid: sid.clone(),
                        all_records: *all_records,
                    },
                    written,
                )),
            ))
        }
        Plan::DeleteState {
            service,
            state_name,
        } => {
            let record = zone
                .iter()
                .find(|r| normalize(&r.name) == *state_name && r.rtype == "TXT")?;
            Some((
                vec![Change {
                    action: Action::Delete,
                    rrset: record.clone(),
                }],
                "state record deleted",
                format!("deleted {service}'s state record"),
                Some((*service, TaintKind::Orphan, Vec::new())),
            ))
        }
        Plan::Unrelated(n) => {
            let (name, rtype, values) = match n % 3 {
                0 => (
                    "www.example.com".to_string(),
                    "A",
                    vec![format!("192.0.2.{}", 20 + n % 200)],
                ),
                1 => (
                    "legacy.example.com".to_string(),
                    "A",
                    vec![format!("192.0.2.{}", 10 + n % 200)],
                ),
                _ => (
                    format!("tmp-{}.example.com", n % 5),
                    "TXT",
                    vec![format!("\"chaos {n}\"")],
                ),
            };
            let what = format!("UPSERT {rtype} {name}");
            Some((
                vec![Change {
                    action: Action::Upsert,
                    rrset: Rrset {
                        name,
                        rtype: rtype.into(),
                        ttl: Some(300),
                        records: values,
                        ..Rrset::default()
                    },
                }],
                "unrelated",
                what,
                None,
            ))
        }
    }
}

/// cutover's Route53 port with the third party interposed: an armed write lands right before
/// cutover's next change request, after its listing — between observe and apply.
struct Interposed {
    inner: Arc<SdkRoute53>,
    third: Arc<ThirdParty>,
}

impl Route53Api for Interposed {
    fn list_records_into<'a>(
        &'a self,
        zone_id: &'a str,
        sink: RecordSink<'a>,
    ) -> BoxFuture<'a, Result<usize, Route53Error>> {
        self.inner.list_records_into(zone_id, sink)
    }

    fn change<'a>(
        &'a self,
        zone_id: &'a str,
        batch: &'a ChangeBatch,
    ) -> BoxFuture<'a, Result<ChangeInfo, Route53Error>> {
        Box::pin(async move {
            self.third.fire_armed();
            self.inner.change(zone_id, batch).await
        })
    }

    fn get_change<'a>(
        &'a self,
        change_id: &'a str,
    ) -> BoxFuture<'a, Result<ChangeStatus, Route53Error>> {
        self.inner.get_change(change_id)
    }
}

// ---------------------------------------------------------------------------------------------
// The real binary as a child process

struct Cli {
    dir: PathBuf,
    config: PathBuf,
    env: Vec<(&'static str, String)>,
    clock: String,
}

struct CliRun {
    killed: bool,
    code: Option<i32>,
    report: Option<Value>,
    elapsed: Duration,
}

impl Cli {
    fn new(h: &Harness, seed: u64) -> Cli {
        let dir = std::env::temp_dir().join(format!("cutover-chaos-{}-{seed}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("cutover.toml");
        std::fs::write(&config, &h.config_toml).unwrap();
        let e = h.sandbox.endpoints();
        let env = vec![
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("AWS_ENDPOINT_URL_ROUTE_53", e.route53.clone()),
            ("AWS_ENDPOINT_URL_EKS", e.eks.clone()),
            ("AWS_ENDPOINT_URL_CLOUDWATCH", e.cloudwatch.clone()),
            ("AWS_ENDPOINT_URL_SNS", e.sns.clone()),
            ("AWS_ACCESS_KEY_ID", sandbox::ACCESS_KEY_ID.to_string()),
            (
                "AWS_SECRET_ACCESS_KEY",
                sandbox::SECRET_ACCESS_KEY.to_string(),
            ),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
            ("USER", "chaos".to_string()),
        ];
        Cli {
            dir,
            config,
            env,
            clock: format!("sandbox:{}", e.control),
        }
    }

    /// Runs `cutover ARGS`, SIGKILLing it as `kill` says if it is still running then.
    async fn run(&self, args: &[String], kill: Kill) -> CliRun {
        let started = Instant::now();
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"));
        command
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .arg("--config")
            .arg(&self.config)
            .args(["--clock", &self.clock])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn cutover");
        let mut stdout = child.stdout.take().unwrap();
        let reader = tokio::spawn(async move {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out).await;
            out
        });
        // Nothing of a run takes this long; a hang fails the step rather than the whole suite.
        let limit = Instant::now() + Duration::from_secs(120);
        let status = loop {
            let due = match &kill {
                Kill::Never => limit,
                Kill::After(d) => (started + *d).min(limit),
                Kill::AtChange { .. } => (Instant::now() + Duration::from_millis(2)).min(limit),
            };
            tokio::select! {
                s = child.wait() => break Some(s.expect("wait for cutover")),
                () = tokio::time::sleep_until(due.into()) => {}
            }
            let now = Instant::now();
            let kill_now = match &kill {
                Kill::Never => false,
                Kill::After(_) => now >= due,
                Kill::AtChange { route53, before } => {
                    route53
                        .request_count()
                        .operation("ChangeResourceRecordSets")
                        > *before
                }
            };
            if kill_now || now >= limit {
                break None;
            }
        };
        let killed = status.is_none();
        let status = match status {
            Some(s) => s,
            None => {
                child.start_kill().expect("SIGKILL cutover");
                child.wait().await.expect("wait for cutover")
            }
        };
        let out = reader.await.unwrap_or_default();
        CliRun {
            killed,
            code: status.code(),
            report: serde_json::from_slice(&out).ok(),
            elapsed: started.elapsed(),
        }
    }
}

/// When a child process is SIGKILLed.
enum Kill {
    Never,
    /// This long after it started.
    After(Duration),
    /// As soon as Route53 has received a change request from it (`before`: the count of change
    /// requests when it started): between an accepted batch and the write of its change id, or
    /// in the middle of its changes.
    AtChange {
        route53: Route53,
        before: u64,
    },
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------------
// The campaign

#[derive(Debug, Clone, PartialEq, Eq)]
enum Author {
    Cutover,
    ExternalDns(String),
    ThirdParty,
    ByHand,
    Unknown,
}

impl Author {
    fn of(comment: Option<&str>) -> Author {
        let c = comment.unwrap_or("");
        if c.starts_with("cutover") {
            Author::Cutover
        } else if let Some(owner) = c.strip_prefix("external-dns ") {
            Author::ExternalDns(owner.to_string())
        } else if c.starts_with(THIRD_PARTY) {
            Author::ThirdParty
        } else if c.starts_with(BY_HAND) {
            Author::ByHand
        } else {
            Author::Unknown
        }
    }

    fn name(&self) -> String {
        match self {
            Author::Cutover => "cutover".into(),
            Author::ExternalDns(o) => format!("external-dns {o}"),
            Author::ThirdParty => "the third party".into(),
            Author::ByHand => "an operator by hand".into(),
            Author::Unknown => "an unknown writer".into(),
        }
    }
}

/// What operators and CI asked for in this step, per service: what the checks of cutover's
/// batches allow beyond the schedule's own moves.
#[derive(Default)]
struct Intents {
    rollback: BTreeSet<&'static str>,
    adopt: BTreeSet<&'static str>,
    start: BTreeSet<&'static str>,
    promote: BTreeSet<&'static str>,
    promote_full: BTreeSet<&'static str>,
    set_weight: BTreeMap<&'static str, BTreeSet<i64>>,
}

struct Taint {
    kind: TaintKind,
    change_id: String,
    /// The third party's version has been checked: from here on the service is held.
    active: bool,
    /// What the third party wrote (drift): it must stay exactly so.
    written: Vec<Rrset>,
    step: usize,
}

#[derive(Default)]
struct Stats {
    ticks: usize,
    invocations: usize,
    concurrent: usize,
    cli_runs: usize,
    cli_killed: usize,
    faults: BTreeMap<&'static str, usize>,
    third_party: BTreeMap<&'static str, usize>,
    third_party_between: usize,
    repairs: BTreeMap<&'static str, usize>,
    rollbacks_requested_manual: usize,
    rollbacks_requested_health: usize,
    rollbacks_completed_manual: usize,
    rollbacks_completed_auto: usize,
    completions: usize,
    decisions: BTreeMap<String, usize>,
    external_dns_runs: usize,
    external_dns_failed_groups: usize,
    team_actions: usize,
    unhealthy_episodes: usize,
    versions_checked: usize,
    replays: usize,
}

struct Campaign {
    h: Harness,
    ctx: Context,
    third: Arc<ThirdParty>,
    cli: Cli,
    fleet: Vec<Svc>,
    rng: StdRng,
    seed: u64,
    step: usize,
    zone_id: String,
    blue_lb: String,
    green_lb: String,
    lb_targets: BTreeSet<String>,
    /// Every name of interest of every configured service.
    interest: BTreeSet<String>,
    // What the checks have seen.
    seen: usize,
    prev: Vec<Rrset>,
    prev_recs: Vec<Rec>,
    ever_had_state: BTreeSet<&'static str>,
    last_traffic_write: BTreeMap<&'static str, i64>,
    taints: BTreeMap<&'static str, Taint>,
    // Green's load balancer failing a service's checks: since which step; last step it failed.
    unhealthy: BTreeMap<&'static str, usize>,
    last_unhealthy: BTreeMap<&'static str, usize>,
    intents: Intents,
    delivered: Vec<(String, &'static str)>,
    next_message: usize,
    stats: Stats,
    violations: Vec<String>,
}

impl Campaign {
    async fn start(seed: u64) -> Campaign {
        let mut rng = StdRng::seed_from_u64(seed);
        let fleet = fleet(&mut rng);
        let world = World::from_toml(&world_toml(&fleet)).expect("the generated world is valid");
        let specs: Vec<support::ServiceSpec<'_>> =
            fleet.iter().map(|s| (s.name, "blue", "green")).collect();
        let blue_green: Vec<&str> = fleet
            .iter()
            .filter(|s| !s.canary())
            .map(|s| s.name)
            .collect();
        let edit = move |toml: String| {
            // The CLI's share of the account's rate, at most (the in-process context lifts it).
            let mut toml = toml.replacen("rate_limit = 2.0", "rate_limit = 5.0", 1);
            for name in &blue_green {
                let _ = write!(
                    toml,
                    "\n[services.{name}.overrides]\nstrategy = \"blue-green\"\nverify_window = \"3m\"\n"
                );
            }
            toml
        };
        let h = Harness::start_with_config(world, &specs, FAST_ROLLOUT, edit, &|_| None)
            .await
            .unwrap_or_else(|e| panic!("the generated config is valid: {e}"));
        // The account's limit lifted: throttling comes from the injected storms, so a step's
        // wall time does not depend on how fast the machine is.
        h.sandbox.route53().set_rate_limit(None);
        let (base, sdk) = h
            .context_with(ContextOptions {
                route53_rate: Some(1000.0),
                ..ContextOptions::default()
            })
            .await;
        let zone_id = h.zone_id();
        let third = Arc::new(ThirdParty {
            route53: h.sandbox.route53().clone(),
            zone_id: zone_id.clone(),
            armed: Mutex::new(None),
            fired: Mutex::new(Vec::new()),
        });
        let ctx = Context {
            route53: Arc::new(Interposed {
                inner: sdk,
                third: third.clone(),
            }),
            ..base
        };
        let cli = Cli::new(&h, seed);
        let blue_lb = normalize(&h.lb_hostname("blue"));
        let green_lb = normalize(&h.lb_hostname("green"));
        // The services' names, and cutover's own records of each zone (the change record and the
        // waves record), which no service may be named (docs/design.md §7.3).
        let own_records: Vec<String> = h
            .ctx
            .config
            .zones
            .iter()
            .flat_map(|z| {
                cutover_core::config::zone_record_names(&h.ctx.config.state_record_prefix, &z.name)
            })
            .map(|(name, _)| normalize(name.as_str()))
            .collect();
        let interest = fleet
            .iter()
            .flat_map(|s| {
                s.traffic_names
                    .iter()
                    .cloned()
                    .chain([s.state_name.clone()])
            })
            .chain(own_records)
            .collect();
        let prev = h.zone();
        let seen = h.sandbox.route53().history_len();
        Campaign {
            ctx,
            third,
            cli,
            fleet,
            rng,
            seed,
            step: 0,
            zone_id,
            lb_targets: [blue_lb.clone(), green_lb.clone()].into(),
            blue_lb,
            green_lb,
            interest,
            seen,
            prev_recs: recs(&prev),
            prev,
            ever_had_state: BTreeSet::new(),
            last_traffic_write: BTreeMap::new(),
            taints: BTreeMap::new(),
            unhealthy: BTreeMap::new(),
            last_unhealthy: BTreeMap::new(),
            intents: Intents::default(),
            delivered: Vec::new(),
            next_message: 0,
            stats: Stats::default(),
            violations: Vec::new(),
            h,
        }
    }

    fn svc(&self, name: &str) -> &Svc {
        self.fleet.iter().find(|s| s.name == name).unwrap()
    }

    fn violation(&mut self, what: String) {
        let line = format!("step {} (seed {}): {what}", self.step, self.seed);
        println!("VIOLATION {line}");
        self.violations.push(line);
    }

    // -----------------------------------------------------------------------------------------
    // One step

    async fn step(&mut self, step: usize) {
        self.step = step;
        self.intents = Intents::default();
        let mut notes: Vec<String> = Vec::new();
        self.repair(false, &mut notes).await;
        let secs = self.rng.random_range(10..=150u64);
        self.h.advance(Duration::from_secs(secs));
        self.external_dns(&mut notes).await;
        self.team(false, &mut notes);
        self.health(&mut notes);
        self.faults(&mut notes);
        self.third_party(&mut notes);
        let action = self.action().await;
        self.h.sandbox.route53().faults().clear();
        // A write armed for a step whose action sent no change lands now.
        if let Some(plan) = self.third.disarm() {
            self.third.apply(&plan);
        }
        self.collect_third_party(&mut notes);
        self.check_new_versions();
        println!(
            "step {step:>4} +{secs:>3}s {action}{}{}",
            if notes.is_empty() { "" } else { " | " },
            notes.join("; ")
        );
    }

    async fn external_dns(&mut self, notes: &mut Vec<String>) {
        let which: Vec<&str> = match self.rng.random_range(0..10) {
            0..=4 => vec!["blue", "green"],
            5..=6 => vec![*["blue", "green"].choose(&mut self.rng).unwrap()],
            _ => vec![],
        };
        for cluster in &which {
            let report = self.h.external_dns_of(cluster).await;
            self.stats.external_dns_runs += 1;
            self.stats.external_dns_failed_groups += report.failed.len();
            if !report.errors.is_empty() {
                self.violation(format!(
                    "external-dns {cluster} failed its loop: {}",
                    report.errors.join("; ")
                ));
            }
        }
        if !which.is_empty() {
            notes.push(format!("external-dns {}", which.join("+")));
        }
    }

    /// The team does what the reports ask: name the weighted keys on the Ingresses of a service
    /// that started as a simple record, and at completion annotate green's weight and delete
    /// blue's Ingress. `all`: every service, everything (the end).
    fn team(&mut self, all: bool, notes: &mut Vec<String>) {
        if !all && !self.rng.random_bool(0.3) {
            return;
        }
        let zone = self.h.zone();
        let candidates: Vec<&'static str> = self
            .fleet
            .iter()
            .filter(|s| s.canary() && phase_in(&zone, s).is_some())
            .map(|s| s.name)
            .collect();
        let chosen: Vec<&'static str> = if all {
            candidates
        } else {
            candidates
                .choose(&mut self.rng)
                .into_iter()
                .copied()
                .collect()
        };
        for name in chosen {
            let s = self.svc(name).clone();
            let cluster = |c: &str| &self.h.sandbox.cluster(c).unwrap().cluster;
            let blue = cluster("blue").ingress("default", name);
            let green = cluster("green").ingress("default", name);
            let sid_key = format!("{DNS_PREFIX}set-identifier");
            let weight_key = format!("{DNS_PREFIX}aws-weight");
            let named = |i: &Option<sandbox::cluster::Ingress>| {
                i.as_ref()
                    .is_none_or(|i| i.annotations.contains_key(&sid_key))
            };
            if s.form == Form::Simple && (!named(&blue) || !named(&green)) {
                if blue.is_some() {
                    self.h.annotate(
                        "blue",
                        name,
                        &[("set-identifier", &s.sid("blue")), ("aws-weight", "100")],
                    );
                }
                self.h.annotate(
                    "green",
                    name,
                    &[("set-identifier", &s.sid("green")), ("aws-weight", "0")],
                );
                notes.push(format!("team names {name}'s weighted keys"));
                self.stats.team_actions += 1;
                continue;
            }
            let phase = phase_in(&zone, &s);
            if phase == Some(Phase::Completed) && !all && self.rng.random_bool(0.5) {
                // A new release ships from blue again: blue's Ingress back at weight 100, green's
                // at 0 — as the service stood before its first migration — for the next deploy
                // to migrate again.
                if blue.is_none() {
                    self.h.deploy_ingress("blue", name);
                }
                self.h.annotate(
                    "blue",
                    name,
                    &[("set-identifier", &s.sid("blue")), ("aws-weight", "100")],
                );
                self.h.annotate(
                    "green",
                    name,
                    &[("set-identifier", &s.sid("green")), ("aws-weight", "0")],
                );
                notes.push(format!("team ships {name} from blue again"));
                self.stats.team_actions += 1;
                continue;
            }
            if phase != Some(Phase::Completing) {
                continue;
            }
            let green_weight = green
                .as_ref()
                .and_then(|i| i.annotations.get(&weight_key).cloned());
            let annotate = green_weight.as_deref() != Some("100");
            let delete = blue.is_some();
            let (do_annotate, do_delete) = match (all, annotate, delete) {
                (true, a, d) => (a, d),
                (false, true, true) => {
                    let first = self.rng.random_bool(0.5);
                    (first, !first)
                }
                (false, a, d) => (a, d),
            };
            if do_annotate {
                self.h.annotate(
                    "green",
                    name,
                    &[("set-identifier", &s.sid("green")), ("aws-weight", "100")],
                );
                notes.push(format!("team sets green's weight 100 for {name}"));
                self.stats.team_actions += 1;
            }
            if do_delete {
                self.h.remove_ingress("blue", name);
                notes.push(format!("team deletes blue's Ingress of {name}"));
                self.stats.team_actions += 1;
            }
        }
    }

    /// Green's load balancer starts failing a service's health check, or recovers.
    fn health(&mut self, notes: &mut Vec<String>) {
        if !self.unhealthy.is_empty() && self.rng.random_bool(0.25) {
            let names: Vec<&'static str> = self.unhealthy.keys().copied().collect();
            let name = *names.choose(&mut self.rng).unwrap();
            self.heal(name);
            notes.push(format!("green heals for {name}"));
        }
        if self.rng.random_bool(0.12) {
            let zone = self.h.zone();
            let rz = recs(&zone);
            let candidates: Vec<&Svc> = self
                .fleet
                .iter()
                .filter(|s| !self.unhealthy.contains_key(s.name))
                .filter(|s| {
                    matches!(
                        phase_in(&zone, s),
                        None | Some(
                            Phase::Canary | Phase::Paused | Phase::Holding | Phase::Verifying
                        )
                    )
                })
                .collect();
            if let Some(s) = candidates.choose(&mut self.rng).map(|s| (*s).clone()) {
                let serving = match s.form {
                    Form::BlueGreen => phase_in(&zone, &s) == Some(Phase::Verifying),
                    _ => phase_in(&zone, &s).is_some() && share(&rz, &s).unwrap_or(0) > 0,
                };
                let refuse = self.rng.random_bool(0.3);
                let behaviour = if refuse {
                    Behaviour::Refuse
                } else {
                    Behaviour::Status { status: 503 }
                };
                self.h.set_lb_behaviour("green", &s.host, behaviour);
                self.unhealthy.insert(s.name, self.step);
                self.stats.unhealthy_episodes += 1;
                if serving {
                    self.stats.rollbacks_requested_health += 1;
                }
                notes.push(format!(
                    "green {} {}{}",
                    if refuse { "refuses" } else { "answers 503 for" },
                    s.name,
                    if serving {
                        " (serving: a rollback is due)"
                    } else {
                        ""
                    }
                ));
            }
        }
        for name in self.unhealthy.keys() {
            self.last_unhealthy.insert(name, self.step);
        }
    }

    fn heal(&mut self, name: &'static str) {
        let host = self.svc(name).host.clone();
        self.h
            .set_lb_behaviour("green", &host, Behaviour::Status { status: 200 });
        self.unhealthy.remove(name);
    }

    /// `to` failed throughout: made to fail before this step and not healed since.
    fn failing_throughout(&self, name: &str) -> bool {
        self.unhealthy
            .get(name)
            .is_some_and(|since| *since < self.step)
    }

    /// `to` failed in this step or the last one.
    fn failed_recently(&self, name: &str) -> bool {
        self.last_unhealthy
            .get(name)
            .is_some_and(|last| *last + 1 >= self.step)
    }

    /// Route53 faults for this step's action.
    fn faults(&mut self, notes: &mut Vec<String>) {
        if !self.rng.random_bool(0.35) {
            return;
        }
        let faults = self.h.sandbox.route53().faults();
        let count = if self.rng.random_bool(0.25) { 2 } else { 1 };
        for _ in 0..count {
            let (kind, note) = match self.rng.random_range(0..6) {
                0 => {
                    let n = self.rng.random_range(1..=3);
                    faults.throttle_next(n);
                    ("throttling storm", format!("throttle next {n}"))
                }
                1 => {
                    let n = self.rng.random_range(1..=2);
                    faults.fail_next_5xx(n);
                    ("5xx", format!("503 next {n}"))
                }
                2 => {
                    let ms = self.rng.random_range(10..=60);
                    faults.set_latency(Duration::from_millis(ms));
                    ("latency", format!("latency {ms} ms"))
                }
                3 => {
                    let (code, message) = *[
                        ("InvalidChangeBatch", "[Tried to delete resource record set [name='x.example.com.', type='TXT'] but the values provided do not match the current values]"),
                        ("PriorRequestNotComplete", "The request was rejected because Route 53 was still processing a prior request."),
                        ("InternalFailure", "We encountered an internal error. Please try again."),
                    ]
                    .choose(&mut self.rng)
                    .unwrap();
                    faults.fail_next_change(code, message);
                    ("failed change", format!("next change fails {code}"))
                }
                4 => {
                    faults.lose_next_change_answer(
                        "InternalFailure",
                        "We encountered an internal error. Please try again.",
                    );
                    (
                        "lost change answer",
                        "next change's answer lost".to_string(),
                    )
                }
                _ => {
                    let skip = self.rng.random_range(0..=1);
                    let (code, message) = *[
                        ("AccessDenied", "User is not authorized to list the zone"),
                        ("ServiceUnavailable", "Service unavailable"),
                    ]
                    .choose(&mut self.rng)
                    .unwrap();
                    faults.fail_list_after(skip, code, message);
                    (
                        "failed listing",
                        format!("listing fails {code} after {skip}"),
                    )
                }
            };
            *self.stats.faults.entry(kind).or_default() += 1;
            notes.push(note);
        }
    }

    /// A third party writes: now, or armed to land between cutover's observe and apply.
    fn third_party(&mut self, notes: &mut Vec<String>) {
        if !self.rng.random_bool(0.12) {
            return;
        }
        let zone = self.h.zone();
        let parked_both = |s: &Svc, st: &State| {
            [s.sid("blue"), s.sid("green")]
                .iter()
                .all(|sid| st.written.owners.get(sid).map(String::as_str) == Some(LEASE))
        };
        let candidates = |phases: &[Phase]| -> Vec<Svc> {
            self.fleet
                .iter()
                .filter(|s| s.canary() && !self.taints.contains_key(s.name))
                .filter(|s| match state_in(&zone, s) {
                    Some(Ok(st)) => phases.contains(&st.phase) && parked_both(s, &st),
                    _ => false,
                })
                .cloned()
                .collect()
        };
        let roll = self.rng.random_range(0..20);
        let unrelated = Plan::Unrelated(self.rng.random_range(0..1000));
        let plan = match roll {
            9..=16 => {
                let c = candidates(&[
                    Phase::Canary,
                    Phase::Paused,
                    Phase::Holding,
                    Phase::Completing,
                ]);
                match c.choose(&mut self.rng) {
                    Some(s) => Plan::Drift {
                        service: s.name,
                        host: s.host.clone(),
                        sid: s.sid(["blue", "green"].choose(&mut self.rng).unwrap()),
                        weight: self.rng.random_range(1..=200),
                        all_records: self.rng.random_bool(0.5),
                    },
                    None => unrelated,
                }
            }
            17..=19 => {
                let c = candidates(&[Phase::Canary, Phase::Paused, Phase::Holding]);
                match c.choose(&mut self.rng) {
                    Some(s) => Plan::DeleteState {
                        service: s.name,
                        state_name: s.state_name.clone(),
                    },
                    None => unrelated,
                }
            }
            _ => unrelated,
        };
        if self.rng.random_bool(0.6) {
            notes.push("third party armed between observe and apply".into());
            self.third.arm(plan);
        } else {
            self.third.apply(&plan);
        }
    }

    /// The third party's writes that landed, as taints of the services they hit.
    fn collect_third_party(&mut self, notes: &mut Vec<String>) {
        let armed_at_action = notes.iter().any(|n| n.starts_with("third party armed"));
        for fired in self.third.take_fired() {
            *self.stats.third_party.entry(fired.kind).or_default() += 1;
            if armed_at_action {
                self.stats.third_party_between += 1;
            }
            notes.push(format!("third party: {}", fired.what));
            if let Some((service, kind, written)) = fired.taint {
                self.taints.insert(
                    service,
                    Taint {
                        kind,
                        change_id: fired.change_id,
                        active: false,
                        written,
                        step: self.step,
                    },
                );
            }
        }
    }

    /// An operator repairs what a third party broke: restores the records by hand and resumes,
    /// or rolls back; adopts (or rolls back) a service whose state record was deleted. `all`:
    /// every taint, by the safe way (the end).
    async fn repair(&mut self, all: bool, notes: &mut Vec<String>) {
        let names: Vec<&'static str> = self
            .taints
            .iter()
            .filter(|(_, t)| t.active && t.step < self.step)
            .map(|(n, _)| *n)
            .collect();
        for name in names {
            if !all && !self.rng.random_bool(0.3) {
                continue;
            }
            let kind = self.taints[name].kind.clone();
            let by_rollback = !all && self.rng.random_bool(0.4);
            match (kind, by_rollback) {
                (TaintKind::Drift { sid, .. }, false) => {
                    // What landed before the restore is checked while the damage stands.
                    self.check_new_versions();
                    self.restore_by_hand(name, &sid);
                    self.taints.remove(name);
                    self.check_new_versions();
                    *self.stats.repairs.entry("restored by hand").or_default() += 1;
                    notes.push(format!("operator restores {name}'s key {sid} by hand"));
                    self.operator(name, "resume", None).await;
                }
                (_, true) => {
                    self.intents.rollback.insert(name);
                    self.stats.rollbacks_requested_manual += 1;
                    self.operator(name, "rollback", None).await;
                    self.check_new_versions();
                    if !self.taints.contains_key(name) {
                        *self.stats.repairs.entry("rolled back").or_default() += 1;
                        notes.push(format!("operator rolls {name} back over the damage"));
                    }
                }
                (TaintKind::Orphan, false) => {
                    self.intents.adopt.insert(name);
                    self.operator(name, "adopt", None).await;
                    self.check_new_versions();
                    if !self.taints.contains_key(name) {
                        *self.stats.repairs.entry("adopted").or_default() += 1;
                        notes.push(format!("operator adopts {name}"));
                        self.operator(name, "resume", None).await;
                    }
                }
            }
        }
    }

    /// Writes the drifted key back as the state record says cutover wrote it.
    fn restore_by_hand(&mut self, name: &'static str, sid: &str) {
        let zone = self.h.zone();
        let s = self.svc(name).clone();
        let Some(Ok(st)) = state_in(&zone, &s) else {
            panic!("{name}: no readable state record to restore from");
        };
        let weight = i64::from(st.written.weights[sid]);
        let changes: Vec<Change> = zone
            .iter()
            .filter(|r| s.traffic_names.contains(&normalize(&r.name)))
            .filter(|r| r.set_identifier.as_deref() == Some(sid))
            .filter(|r| r.weight != Some(weight))
            .map(|r| Change {
                action: Action::Upsert,
                rrset: Rrset {
                    weight: Some(weight),
                    ..r.clone()
                },
            })
            .collect();
        if changes.is_empty() {
            return;
        }
        self.h
            .sandbox
            .route53()
            .change(
                &self.zone_id,
                changes,
                Some(format!("{BY_HAND}: restore {name}'s key {sid}")),
            )
            .unwrap_or_else(|e| panic!("restoring {name} by hand was refused: {e}"));
    }

    // -----------------------------------------------------------------------------------------
    // The actions

    async fn action(&mut self) -> String {
        let zone = self.h.zone();
        let idle: Vec<&'static str> = self
            .fleet
            .iter()
            .filter(|s| matches!(phase_in(&zone, s), None | Some(Phase::RolledBack)))
            .map(|s| s.name)
            .collect();
        let mut roll = self.rng.random_range(0..100);
        if !idle.is_empty() && self.rng.random_bool(0.15) {
            roll = 80; // a deploy
        }
        match roll {
            0..=39 => {
                let report = self.invoke(support::scheduled_event()).await;
                self.stats.ticks += 1;
                self.inspect(&report, true);
                format!("tick → {}", summary(&report))
            }
            40..=51 => self.concurrent().await,
            52..=59 => self.cli_tick().await,
            60..=77 => {
                let name = self.fleet.choose(&mut self.rng).unwrap().name;
                self.random_command(name).await
            }
            78..=91 => {
                let name = match idle.choose(&mut self.rng) {
                    Some(n) => *n,
                    None => self.fleet.choose(&mut self.rng).unwrap().name,
                };
                let (payload, what) = self.deploy(name);
                let report = if self.rng.random_bool(0.2) {
                    let strategy = self.svc(name).strategy();
                    self.cli_command(&["start", name, "--strategy", strategy, "--actor", "ci"])
                        .await
                } else {
                    Some(self.invoke(payload).await)
                };
                match report {
                    Some(r) => {
                        self.inspect(&r, false);
                        format!("{what} → {}", summary(&r))
                    }
                    None => format!("{what} (CLI report unreadable)"),
                }
            }
            92..=96 => self.replay().await,
            _ => {
                let name = self.fleet.choose(&mut self.rng).unwrap().name;
                let action = *["status", "plan"].choose(&mut self.rng).unwrap();
                let before = self.h.sandbox.route53().history_len();
                let report = self
                    .invoke(json!({"action": action, "service": name, "actor": OPERATOR}))
                    .await;
                self.inspect(&report, false);
                let after = self.h.sandbox.route53().history_len();
                if after != before {
                    self.violation(format!("{action} {name} wrote {} changes", after - before));
                }
                format!("{action} {name} → {}", summary(&report))
            }
        }
    }

    /// One invocation in-process, alone: its report's live shares are checked against the zone
    /// it observed (unless a third party wrote in between).
    async fn invoke(&mut self, payload: Value) -> Value {
        self.stats.invocations += 1;
        let zone = self.h.zone();
        let fired = self.third.fired.lock().unwrap().len();
        let report = engine::handle(&self.ctx, payload).await;
        if self.third.fired.lock().unwrap().len() == fired {
            self.check_reported_shares(&report, &zone);
        }
        report
    }

    /// docs/design.md §3.3: a report's share is the live one, whoever set it; none when a key's A
    /// and AAAA records disagree (IPv4 and IPv6 each have their own split then).
    fn check_reported_shares(&mut self, report: &Value, zone: &[Rrset]) {
        let z = recs(zone);
        for e in service_reports(report) {
            if e.get("error").is_some_and(|x| !x.is_null()) || e["weights_before"].is_null() {
                continue;
            }
            let name = e["service"].as_str().unwrap_or("");
            let Some(s) = self.fleet.iter().find(|s| s.name == name && s.canary()) else {
                continue;
            };
            let reported = e["weights_before"]["to"].as_i64();
            let live = live_share(&z, s);
            if reported != live {
                let live = live.map_or("none (A and AAAA disagree)".to_string(), |p| {
                    format!("{p}%")
                });
                self.violation(format!(
                    "{name}: a {} report says green has {}% of the traffic, the zone {live}",
                    e["kind"].as_str().unwrap_or("?"),
                    reported.unwrap_or(-1)
                ));
            }
        }
    }

    /// A deploy event for `name` (recorded for replays).
    fn deploy(&mut self, name: &'static str) -> (Value, String) {
        self.next_message += 1;
        let id = format!("chaos-{}-{}", self.seed, self.next_message);
        self.delivered.push((id.clone(), name));
        self.intents.start.insert(name);
        let strategy = self.svc(name).strategy();
        (
            support::sns_deploy_with_strategy(&id, name, "green", strategy),
            format!("deploy {name} ({strategy})"),
        )
    }

    /// Two invocations at once: two ticks, or a tick and an operator command or a deploy.
    async fn concurrent(&mut self) -> String {
        self.stats.concurrent += 1;
        let name = self.fleet.choose(&mut self.rng).unwrap().name;
        let (other, what) = match self.rng.random_range(0..3) {
            0 => {
                self.stats.ticks += 1;
                (support::scheduled_event(), "tick".to_string())
            }
            1 => self.command_payload(name),
            _ => self.deploy(name),
        };
        self.stats.ticks += 1;
        self.stats.invocations += 2;
        let (a, b) = tokio::join!(
            engine::handle(&self.ctx, support::scheduled_event()),
            engine::handle(&self.ctx, other)
        );
        self.inspect(&a, false);
        self.inspect(&b, false);
        format!("tick ‖ {what} → {} ‖ {}", summary(&a), summary(&b))
    }

    /// A scheduled tick by the real binary, usually killed after a random short delay.
    async fn cli_tick(&mut self) -> String {
        let route53 = self.h.sandbox.route53().clone();
        let kill = match self.rng.random_range(0..4) {
            0 => Kill::Never,
            1 => Kill::AtChange {
                before: route53
                    .request_count()
                    .operation("ChangeResourceRecordSets"),
                route53,
            },
            _ => Kill::After(Duration::from_millis(self.rng.random_range(0..=1000))),
        };
        let how = match &kill {
            Kill::Never => String::new(),
            Kill::After(d) => format!(", SIGKILL at {} ms", d.as_millis()),
            Kill::AtChange { .. } => ", SIGKILL at its first change request".to_string(),
        };
        self.stats.cli_runs += 1;
        self.stats.ticks += 1;
        let args: Vec<String> = ["tick", "--actor", "schedule"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let run = self.cli.run(&args, kill).await;
        let ms = run.elapsed.as_millis();
        if run.killed {
            self.stats.cli_killed += 1;
            // Let a request that was in flight when the process died reach the sandbox.
            tokio::time::sleep(Duration::from_millis(20)).await;
            return format!("cutover tick (CLI{how}) killed after {ms} ms");
        }
        self.cli_outcome(&run, "tick");
        match &run.report {
            Some(r) => {
                self.inspect(r, false);
                format!(
                    "cutover tick (CLI{how}, exit {} in {ms} ms) → {}",
                    run.code.unwrap_or(-1),
                    summary(r)
                )
            }
            None => format!(
                "cutover tick (CLI{how}, exit {} in {ms} ms) without a report",
                run.code.unwrap_or(-1)
            ),
        }
    }

    fn cli_outcome(&mut self, run: &CliRun, what: &str) {
        match run.code {
            Some(0..=3) if run.report.is_some() => {}
            code => self.violation(format!(
                "cutover {what} (CLI) ended with {} and {}",
                code.map_or("a signal".to_string(), |c| format!("exit {c}")),
                if run.report.is_some() {
                    "a report"
                } else {
                    "no JSON report"
                }
            )),
        }
    }

    /// An operator command through the CLI (never killed): its report.
    async fn cli_command(&mut self, args: &[&str]) -> Option<Value> {
        self.stats.cli_runs += 1;
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let run = self.cli.run(&args, Kill::Never).await;
        self.cli_outcome(&run, &args.join(" "));
        run.report
    }

    /// The payload of a random operator command for `name` (its intent recorded).
    fn command_payload(&mut self, name: &'static str) -> (Value, String) {
        let zone = self.h.zone();
        let s = self.svc(name).clone();
        let action = *[
            "rollback",
            "rollback",
            "pause",
            "pause",
            "resume",
            "resume",
            "resume",
            "promote",
            "promote",
            "promote-full",
            "set-weight",
            "handover",
        ]
        .choose(&mut self.rng)
        .unwrap();
        let mut payload =
            json!({"action": action, "service": name, "actor": OPERATOR, "reason": "chaos"});
        let mut what = format!("{action} {name}");
        match action {
            "rollback" => {
                self.intents.rollback.insert(name);
                let active = matches!(
                    phase_in(&zone, &s),
                    Some(
                        Phase::Canary
                            | Phase::Paused
                            | Phase::Holding
                            | Phase::Completing
                            | Phase::Verifying
                    )
                );
                if active {
                    self.stats.rollbacks_requested_manual += 1;
                }
            }
            "promote" => {
                self.intents.promote.insert(name);
            }
            "promote-full" => {
                self.intents.promote_full.insert(name);
            }
            "set-weight" => {
                let p = *[0i64, 10, 25, 40, 60, 100].choose(&mut self.rng).unwrap();
                self.intents.set_weight.entry(name).or_default().insert(p);
                payload["percent"] = json!(p);
                what = format!("set-weight {name} {p}%");
            }
            _ => {}
        }
        (payload, what)
    }

    async fn random_command(&mut self, name: &'static str) -> String {
        let (payload, what) = self.command_payload(name);
        let report = if self.rng.random_bool(0.25) {
            let mut args = vec![
                payload["action"].as_str().unwrap().to_string(),
                name.to_string(),
                "--actor".into(),
                OPERATOR.into(),
                "--reason".into(),
                "chaos".into(),
            ];
            if let Some(p) = payload.get("percent") {
                args.push("--percent".into());
                args.push(p.to_string());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.cli_command(&args).await
        } else {
            Some(self.invoke(payload).await)
        };
        match report {
            Some(r) => {
                self.inspect(&r, false);
                format!("{what} → {}", summary(&r))
            }
            None => format!("{what} (CLI report unreadable)"),
        }
    }

    async fn operator(&mut self, name: &'static str, action: &str, percent: Option<i64>) {
        let mut payload =
            json!({"action": action, "service": name, "actor": OPERATOR, "reason": "repair"});
        if let Some(p) = percent {
            payload["percent"] = json!(p);
        }
        let report = self.invoke(payload).await;
        self.inspect(&report, false);
    }

    /// An event delivered before, delivered again: if the service's state record remembers it,
    /// nothing may change (docs/design.md §7.8).
    async fn replay(&mut self) -> String {
        let Some((id, name)) = self.delivered.choose(&mut self.rng).cloned() else {
            let report = self.invoke(support::scheduled_event()).await;
            self.stats.ticks += 1;
            self.inspect(&report, true);
            return format!("tick → {}", summary(&report));
        };
        self.stats.replays += 1;
        let s = self.svc(name).clone();
        let seen = matches!(state_in(&self.h.zone(), &s), Some(Ok(st)) if st.has_seen(&id));
        if !seen {
            // Not processed before (its first delivery failed): the replay may start it.
            self.intents.start.insert(name);
        }
        let before = self.h.sandbox.route53().history_len();
        let payload = support::sns_deploy_with_strategy(&id, name, "green", s.strategy());
        let report = self.invoke(payload).await;
        self.inspect(&report, false);
        if seen {
            let after = self.h.sandbox.route53().history_len();
            let entry = service_reports(&report)
                .into_iter()
                .find(|e| e["service"] == name);
            // Already processed: a no-op that says so — or, when Route53 failed under the
            // step's faults, a failure that wrote nothing.
            let noop = entry.as_ref().is_some_and(|e| {
                let failed = e.get("error").is_some_and(|x| !x.is_null()) && e["applied"] != true;
                failed
                    || e["kind"] == "noop"
                        && e["summary"]
                            .as_str()
                            .is_some_and(|t| t.contains("already processed"))
            });
            if after != before || !noop {
                self.violation(format!(
                    "the replay of event {id} for {name} was not a no-op ({} changes written): {}",
                    after - before,
                    summary(&report)
                ));
            }
        }
        format!("replay {id} ({name}) → {}", summary(&report))
    }

    /// Counts decisions, checks reports are in words, and — for a tick — that a service a third
    /// party damaged is held for drift or reported orphaned.
    fn inspect(&mut self, report: &Value, tick: bool) {
        for e in service_reports(report) {
            let kind = e["kind"].as_str().unwrap_or("?").to_string();
            *self.stats.decisions.entry(kind.clone()).or_default() += 1;
            let name = e["service"].as_str().unwrap_or("").to_string();
            let texts: Vec<String> = std::iter::once(&e["summary"])
                .chain(std::iter::once(&e["waits_for"]))
                .chain(e["alerts"].as_array().into_iter().flatten())
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            for t in &texts {
                if let Some(found) = cutover_core::text::debug_notation(t) {
                    self.violation(format!("{name}: debug notation {found} in a report: {t}"));
                }
            }
            if !tick || e.get("error").is_some_and(|x| !x.is_null()) {
                continue;
            }
            let Some(taint) = self.taints.get(name.as_str()).filter(|t| t.active) else {
                continue;
            };
            let summary = e["summary"].as_str().unwrap_or("");
            match taint.kind {
                TaintKind::Drift { .. } => {
                    if kind != "hold" || !summary.contains("drift") {
                        self.violation(format!(
                            "{name}: a third party changed its records, but a tick answered {kind}: {summary}"
                        ));
                    }
                }
                TaintKind::Orphan => {
                    if !texts.iter().any(|t| t.contains("no state record")) {
                        self.violation(format!(
                            "{name}: its state record was deleted, but a tick did not report the parked records: {summary}"
                        ));
                    }
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // The checks

    /// Checks every zone version the history gained since the last call.
    fn check_new_versions(&mut self) {
        let entries = self.h.sandbox.route53().history_since(self.seen);
        self.seen += entries.len();
        for e in entries {
            if e.zone_id != self.zone_id {
                continue;
            }
            self.stats.versions_checked += 1;
            for t in self.taints.values_mut() {
                if t.change_id == e.change_id {
                    t.active = true;
                }
            }
            let author = Author::of(e.comment.as_deref());
            let after = recs(&e.records_after);
            let mut found = self.check_batch(&e, &author, &after);
            found.extend(self.check_version(&e.records_after, &after));
            for f in found {
                self.violation(format!("change {} by {}: {f}", e.change_id, author.name()));
            }
            self.track(&e, &author, &after);
            self.prev_recs = after;
            self.prev = e.records_after;
        }
    }

    /// What one batch may do, by its author.
    fn check_batch(&self, e: &AppliedChange, author: &Author, after: &[Rec]) -> Vec<String> {
        let mut v = Vec::new();
        let names: Vec<String> = e.changes.iter().map(|c| normalize(&c.rrset.name)).collect();
        match author {
            Author::ThirdParty => return v,
            Author::ByHand => {
                if let Some(n) = names
                    .iter()
                    .find(|n| !self.fleet.iter().any(|s| s.traffic_names.contains(*n)))
                {
                    v.push(format!("the operator's restore touched {n}"));
                }
                return v;
            }
            Author::Unknown => v.push(format!(
                "a change by an unknown writer ({})",
                e.comment.as_deref().unwrap_or("no comment")
            )),
            _ => {}
        }
        // docs/design.md §7.3: nobody but the third party touches what is not a service's.
        for n in &names {
            if !self.interest.contains(n) {
                v.push(format!(
                    "touched {n}, which belongs to no configured service"
                ));
            }
        }
        if let Author::ExternalDns(owner) = author {
            for c in e.changes.iter().filter(|c| c.action != Action::Create) {
                let name = normalize(&c.rrset.name);
                if self.parked_in_prev(&name, &c.rrset) {
                    v.push(format!(
                        "external-dns {owner} {} {name} {} [{}], parked under the lease owner",
                        c.action.as_str(),
                        c.rrset.rtype,
                        c.rrset.set_identifier.as_deref().unwrap_or("-")
                    ));
                }
            }
            return v;
        }
        if *author != Author::Cutover {
            return v;
        }
        if let Some(c) = e.changes.iter().find(|c| c.action == Action::Upsert) {
            v.push(format!(
                "an UPSERT of {} (no compare-and-swap)",
                normalize(&c.rrset.name)
            ));
        }
        let comment = e.comment.as_deref().unwrap_or("");
        for s in &self.fleet {
            let traffic = names.iter().any(|n| s.traffic_names.contains(n));
            let state = names.contains(&s.state_name);
            if traffic && !state {
                v.push(format!(
                    "changed {}'s records without its state record in the same batch (docs/design.md §7.5)",
                    s.name
                ));
            }
            if let Some(t) = self.taints.get(s.name).filter(|t| t.active) {
                let allowed = self.overrides_damage(s, &t.kind, comment);
                if traffic && !allowed {
                    v.push(format!(
                        "wrote {}'s records after a third party changed them (drift is held, never overwritten)",
                        s.name
                    ));
                }
                if t.kind == TaintKind::Orphan && state && !allowed {
                    v.push(format!(
                        "wrote {}'s state record again after a third party deleted it",
                        s.name
                    ));
                }
            }
            if traffic {
                v.extend(self.check_move(s, e.at_millis, after));
            }
        }
        v
    }

    /// Whether a batch of cutover's (its comment) is one of the commands that may write over a
    /// third party's damage: an operator's `rollback` (drift or a lost state record), `adopt` or a
    /// new `start` (a lost state record).
    fn overrides_damage(&self, s: &Svc, kind: &TaintKind, comment: &str) -> bool {
        let name = s.name;
        let by = |what: &str, actor: &str| {
            comment.contains(&format!("cutover {what} {name} by {actor}"))
        };
        let rollback = self.intents.rollback.contains(name) && by("rollback", OPERATOR);
        match kind {
            TaintKind::Drift { .. } => rollback,
            TaintKind::Orphan => {
                rollback
                    || (self.intents.adopt.contains(name) && by("adopt", OPERATOR))
                    || (self.intents.start.contains(name) && by("start", ""))
            }
        }
    }

    /// Whether the record `r` at `name` was parked under the lease owner before this batch.
    fn parked_in_prev(&self, name: &str, r: &Rrset) -> bool {
        let Some(s) = self.fleet.iter().find(|s| s.traffic_names.contains(name)) else {
            return false;
        };
        let owners = zone_invariants::key_owners(&self.prev_recs, &s.host);
        owners
            .get(&r.set_identifier)
            .is_some_and(|o| o.contains(LEASE))
    }

    /// A traffic move of cutover's: one planned step, a rollback, or what an operator asked.
    fn check_move(&self, s: &Svc, at: i64, after: &[Rec]) -> Vec<String> {
        let mut v = Vec::new();
        let name = s.name;
        if !s.canary() {
            let side = |z: &[Rec]| {
                zone_invariants::key_targets(z, &s.host)
                    .get(&None)
                    .and_then(|t| t.iter().next().cloned())
            };
            let (before, now) = (side(&self.prev_recs), side(after));
            if before == now {
                return v;
            }
            if now.as_deref() == Some(self.green_lb.as_str()) {
                if !self.intents.start.contains(name) {
                    v.push(format!("switched {name} to green without a start"));
                }
                if self.failing_throughout(name) {
                    v.push(format!(
                        "switched {name} to green while green failed its checks"
                    ));
                }
            } else if now.as_deref() == Some(self.blue_lb.as_str())
                && !self.intents.rollback.contains(name)
                && !self.failed_recently(name)
            {
                v.push(format!(
                    "switched {name} back to blue with no operator's rollback nor a failing green"
                ));
            }
            return v;
        }
        let (Some(p), Some(q)) = (share(&self.prev_recs, s), share(after, s)) else {
            return v;
        };
        if p == q {
            return v;
        }
        // docs/design.md §3.1 step 2: a weight is a percentage, `from` 100 − p and `to` p.
        let wf = weight_of(after, &s.host, "A", &s.sid("blue")).unwrap_or(-1);
        let wt = weight_of(after, &s.host, "A", &s.sid("green")).unwrap_or(-1);
        if wf + wt != 100 {
            v.push(format!(
                "moved {name} {p}% → {q}% with weights blue {wf} / green {wt}, not percentages"
            ));
        }
        let set = self
            .intents
            .set_weight
            .get(name)
            .is_some_and(|w| w.contains(&q));
        if set {
            return v;
        }
        if q == 0 {
            if !self.intents.rollback.contains(name) && !self.failed_recently(name) {
                v.push(format!(
                    "rolled {name} back {p}% → 0% with no operator's rollback nor a failing green"
                ));
            }
            return v;
        }
        if q < p {
            v.push(format!("lowered {name} {p}% → {q}% without a set-weight"));
            return v;
        }
        let promoted_full = q == 100 && self.intents.promote_full.contains(name);
        if next_step(p) != Some(q) && !promoted_full {
            v.push(format!("moved {name} {p}% → {q}%: not one planned step"));
        }
        // docs/design.md §7.11: a step advances only on good checks (promote too).
        if self.failing_throughout(name) {
            v.push(format!(
                "advanced {name} {p}% → {q}% while green failed its checks throughout"
            ));
        }
        // docs/design.md §3.1 step 2b: no bake is shorter than the TTL plus the allowance.
        let promoted = self.intents.promote.contains(name) || promoted_full;
        if let (false, Some(last)) = (promoted, self.last_traffic_write.get(name)) {
            if at - last < BAKE_FLOOR_MS {
                v.push(format!(
                    "advanced {name} {p}% → {q}% {} s after its last change, shorter than any bake",
                    (at - last) / 1000
                ));
            }
        }
        v
    }

    /// Every promise about one zone version.
    fn check_version(&self, zone: &[Rrset], after: &[Rec]) -> Vec<String> {
        let mut v = Vec::new();
        let allowed: BTreeSet<&str> = ["blue", "green", LEASE].into();
        for s in &self.fleet {
            let host = s.host.as_str();
            let taint = self.taints.get(s.name).filter(|t| t.active);
            v.extend(zone_invariants::answers(
                after,
                host,
                Some(&self.lb_targets),
            ));
            v.extend(zone_invariants::answers_lost(&self.prev_recs, after, host));
            v.extend(zone_invariants::groups(after, host));
            let odd_key = match taint.map(|t| &t.kind) {
                Some(TaintKind::Drift {
                    sid,
                    all_records: false,
                }) => Some(sid.as_str()),
                _ => None,
            };
            v.extend(zone_invariants::key_weights(after, host, &|sid| {
                Some(sid) != odd_key
            }));
            v.extend(zone_invariants::registry_format(after, host));
            v.extend(zone_invariants::registry_complete(after, host));
            v.extend(zone_invariants::owners_and_targets(after, host, &allowed));
            // docs/design.md §7.10: a set identifier names the cluster of its load balancer.
            for (key, targets) in zone_invariants::key_targets(after, host) {
                let expected = match key.as_deref() {
                    None => continue,
                    Some(k) if k == s.sid("blue") => &self.blue_lb,
                    Some(k) if k == s.sid("green") => &self.green_lb,
                    Some(k) => {
                        v.push(format!("{host} has a key {k} that is neither cluster's"));
                        continue;
                    }
                };
                if targets.iter().any(|t| t != expected) {
                    v.push(format!(
                        "{host} key {}: points at another cluster's load balancer",
                        key.as_deref().unwrap_or("-")
                    ));
                }
            }
            if let Some(t) = taint {
                for w in &t.written {
                    let still = zone.iter().any(|r| r == w);
                    let repaired = self.intents.rollback.contains(s.name);
                    if !still && !repaired {
                        v.push(format!(
                            "{} {} [{}] as the third party wrote it was overwritten (drift is held, never fixed)",
                            normalize(&w.name),
                            w.rtype,
                            w.set_identifier.as_deref().unwrap_or("-")
                        ));
                    }
                }
            }
            match state_in(zone, s) {
                None => {
                    let orphaned = taint.is_some_and(|t| t.kind == TaintKind::Orphan);
                    if self.ever_had_state.contains(s.name) && !orphaned {
                        v.push(format!("{}'s state record disappeared", s.name));
                    }
                }
                Some(Err(e)) => v.push(format!("{}'s state record does not parse: {e}", s.name)),
                Some(Ok(st)) if taint.is_none() => {
                    let entered = phase_in(&self.prev, s) != Some(st.phase);
                    v.extend(self.state_vs_zone(s, &st, after, entered));
                }
                Some(Ok(_)) => {}
            }
        }
        v
    }

    /// The state record agrees with the records. `entered`: this version put the service in its
    /// phase.
    fn state_vs_zone(&self, s: &Svc, st: &State, after: &[Rec], entered: bool) -> Vec<String> {
        let mut v = Vec::new();
        let name = s.name;
        let strategy = if s.canary() {
            Strategy::Canary
        } else {
            Strategy::BlueGreen
        };
        if st.from.as_str() != "blue" || st.to.as_str() != "green" || st.strategy != strategy {
            v.push(format!(
                "{name}'s state record says {} → {} by {}",
                st.from,
                st.to,
                if st.strategy == Strategy::Canary {
                    "canary"
                } else {
                    "blue-green"
                }
            ));
        }
        let owners = zone_invariants::key_owners(after, &s.host);
        let percent = i64::from(st.percent.get());
        if st.strategy == Strategy::BlueGreen {
            let targets = zone_invariants::key_targets(after, &s.host);
            let expected = if percent == 100 {
                &self.green_lb
            } else {
                &self.blue_lb
            };
            if targets.get(&None).is_none_or(|t| !t.contains(expected)) {
                v.push(format!(
                    "{name} is {} at {percent}% but its records point elsewhere",
                    st.phase
                ));
            }
            let active = matches!(st.phase, Phase::Verifying | Phase::Paused | Phase::Holding);
            if let (true, Some(owner)) = (active, st.written.owners.get("simple")) {
                if owners
                    .get(&None)
                    .is_none_or(|o| o.len() != 1 || !o.contains(owner))
                {
                    v.push(format!(
                        "{name}'s registry entries are not owned by {owner} as written"
                    ));
                }
            }
            return v;
        }
        for (sid, owner) in &st.written.owners {
            match owners.get(&Some(sid.clone())) {
                Some(o) if o.len() == 1 && o.contains(owner) => {}
                _ => v.push(format!(
                    "{name}'s key {sid} is not owned by {owner} as the state record says"
                )),
            }
        }
        let parked = |sid: &str| st.written.owners.get(sid).map(String::as_str) == Some(LEASE);
        for (sid, w) in &st.written.weights {
            if !parked(sid) {
                continue;
            }
            for rtype in ["A", "AAAA"] {
                let live = weight_of(after, &s.host, rtype, sid);
                if live != Some(i64::from(*w)) {
                    v.push(format!(
                        "{name}'s parked key {sid} {rtype} is at {} but the state record wrote {w}",
                        live.map_or("none".to_string(), |x| x.to_string())
                    ));
                }
            }
        }
        let (from, to) = (s.sid("blue"), s.sid("green"));
        if parked(&from) && parked(&to) && live_share(after, s) != Some(percent) {
            v.push(format!(
                "{name} is parked at blue {} / green {}, not green's {percent}% the state record says",
                weight_of(after, &s.host, "A", &from).unwrap_or(-1),
                weight_of(after, &s.host, "A", &to).unwrap_or(-1)
            ));
        }
        match st.phase {
            Phase::RolledBack if percent != 0 => {
                v.push(format!("{name} rolled back but at {percent}%"));
            }
            Phase::Completed => {
                // (The team may ship from blue again later: checked when it completes.)
                if entered && weight_of(after, &s.host, "A", &from).is_some() {
                    v.push(format!("{name} completed but blue's key is still there"));
                }
                if st.written.owners.get(&to).map(String::as_str) != Some("green") {
                    v.push(format!("{name} completed but green's key is not green's"));
                }
            }
            _ => {}
        }
        v
    }

    /// Follows what the version changed: state records seen, phases entered, traffic writes.
    fn track(&mut self, e: &AppliedChange, author: &Author, after: &[Rec]) {
        let names: BTreeSet<String> = e.changes.iter().map(|c| normalize(&c.rrset.name)).collect();
        for s in self.fleet.clone() {
            let before = phase_in(&self.prev, &s);
            let now = state_in(&e.records_after, &s);
            if now.is_some() {
                self.ever_had_state.insert(s.name);
            }
            let now = now.and_then(Result::ok);
            let traffic = names.iter().any(|n| s.traffic_names.contains(n));
            if *author == Author::Cutover && traffic {
                self.last_traffic_write.insert(s.name, e.at_millis);
            }
            // An operator's command that writes over the damage repairs it: from the next version
            // on, the service is held to every promise again.
            let comment = e.comment.as_deref().unwrap_or("");
            let repaired = self.taints.get(s.name).is_some_and(|t| {
                t.active
                    && *author == Author::Cutover
                    && (traffic || names.contains(&s.state_name))
                    && self.overrides_damage(&s, &t.kind, comment)
            });
            if repaired {
                self.taints.remove(s.name);
            }
            let Some(st) = now else { continue };
            if before != Some(st.phase) {
                match st.phase {
                    Phase::RolledBack if st.actor == OPERATOR => {
                        self.stats.rollbacks_completed_manual += 1;
                    }
                    Phase::RolledBack => self.stats.rollbacks_completed_auto += 1,
                    Phase::Completed => self.stats.completions += 1,
                    _ => {}
                }
            }
        }
        let _ = after;
    }

    // -----------------------------------------------------------------------------------------
    // The end

    /// Faults cleared, load balancers healed, damage repaired, then ticks (the team and operators
    /// doing what reports ask) until every service is completed or rolled back. Returns the
    /// rounds it took, or `None`.
    async fn converge(&mut self) -> Option<usize> {
        self.step += 1;
        self.intents = Intents::default();
        self.h.sandbox.route53().faults().clear();
        self.third.disarm();
        for name in self.unhealthy.keys().copied().collect::<Vec<_>>() {
            self.heal(name);
        }
        self.check_new_versions();
        let mut notes = Vec::new();
        // Taints whose write landed in the last step are active now; repair them all.
        self.step += 1;
        self.repair(true, &mut notes).await;
        self.check_new_versions();
        println!("end: healed, repaired ({})", notes.join("; "));
        for round in 1..=END_ROUNDS {
            if self.unconverged().is_empty() {
                return Some(round - 1);
            }
            self.step += 1;
            self.intents = Intents::default();
            self.h.advance(Duration::from_secs(150));
            let _ = self.h.external_dns().await;
            let mut notes = Vec::new();
            self.team(true, &mut notes);
            let zone = self.h.zone();
            for s in self.fleet.clone() {
                match phase_in(&zone, &s) {
                    None => {
                        let (payload, _) = self.deploy(s.name);
                        let report = self.invoke(payload).await;
                        self.inspect(&report, false);
                    }
                    Some(Phase::Paused | Phase::Holding) => {
                        self.operator(s.name, "resume", None).await;
                    }
                    _ => {}
                }
            }
            let report = self.invoke(support::scheduled_event()).await;
            self.stats.ticks += 1;
            self.inspect(&report, true);
            self.check_new_versions();
            println!(
                "end round {round:>2}: {}{}",
                summary(&report),
                if notes.is_empty() {
                    String::new()
                } else {
                    format!(" | {}", notes.join("; "))
                }
            );
        }
        self.unconverged().is_empty().then_some(END_ROUNDS)
    }

    /// Services neither completed nor rolled back, with where they stand.
    fn unconverged(&self) -> Vec<String> {
        let zone = self.h.zone();
        self.fleet
            .iter()
            .filter_map(|s| match phase_in(&zone, s) {
                Some(Phase::Completed | Phase::RolledBack) => None,
                Some(p) => Some(format!("{} ({p})", s.name)),
                None => Some(format!("{} (no state record)", s.name)),
            })
            .collect()
    }
}

/// The notable decisions of a report, shortly: `service kind` for each that is not a no-op or a
/// wait, and the errors.
fn summary(report: &Value) -> String {
    let entries = service_reports(report);
    let mut parts: Vec<String> = entries
        .iter()
        .filter(|e| !matches!(e["kind"].as_str(), Some("noop" | "wait" | "status")))
        .map(|e| {
            let mut s = format!(
                "{} {}",
                e["service"].as_str().unwrap_or("?"),
                e["kind"].as_str().unwrap_or("?")
            );
            if let (Some(b), Some(a)) = (
                e["weights_before"]["to"].as_i64(),
                e["weights_after"]["to"].as_i64(),
            ) {
                if a != b {
                    let _ = write!(s, " {b}→{a}");
                }
            }
            if e.get("error").is_some_and(|x| !x.is_null()) {
                s.push_str(" (error)");
            }
            s
        })
        .collect();
    if parts.is_empty() {
        parts.push(if entries.is_empty() {
            report["outcome"]
                .as_str()
                .unwrap_or("no answer")
                .to_string()
        } else {
            format!("{} quiet", entries.len())
        });
    }
    parts.join(", ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_campaign_keeps_every_invariant_and_converges() {
    let Settings { seed, steps } = settings();
    let started = Instant::now();
    let mut c = Campaign::start(seed).await;
    let replay = format!(
        "CUTOVER_CHAOS_SEED={seed} CUTOVER_CHAOS_STEPS={steps} cargo nextest run --test chaos --no-capture"
    );
    println!("chaos: seed {seed}, {steps} steps; replay: {replay}");
    println!(
        "chaos: {} services: {}",
        c.fleet.len(),
        c.fleet
            .iter()
            .map(|s| format!("{} ({})", s.name, s.form.name()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for step in 1..=steps {
        c.step(step).await;
    }
    let campaign_secs = started.elapsed().as_secs_f64();
    let rounds = c.converge().await;
    let zone = c.h.zone();
    let finals: BTreeMap<String, usize> = c.fleet.iter().fold(BTreeMap::new(), |mut m, s| {
        let phase = phase_in(&zone, s).map_or("none".to_string(), |p| p.to_string());
        *m.entry(phase).or_default() += 1;
        m
    });
    let counts = c.h.sandbox.route53().request_count();
    let st = &c.stats;
    let list = |m: &BTreeMap<&'static str, usize>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let lines = [
        format!("chaos: seed {seed}; replay: {replay}"),
        format!(
            "chaos: {steps} steps in {campaign_secs:.1} s, {:.1} s with the end; ticks run {} ({} invocations in-process, {} concurrent pairs, {} CLI runs of which {} SIGKILLed)",
            started.elapsed().as_secs_f64(),
            st.ticks,
            st.invocations,
            st.concurrent,
            st.cli_runs,
            st.cli_killed
        ),
        format!(
            "chaos: faults injected: {} (Route53 answered {} requests throttled, {} with an injected 5xx or failed change)",
            list(&st.faults),
            counts.throttled,
            counts.faulted
        ),
        format!(
            "chaos: third-party writes: {} ({} between observe and apply); repairs: {}",
            list(&st.third_party),
            st.third_party_between,
            list(&st.repairs)
        ),
        format!(
            "chaos: external-dns loops {} ({} name groups refused by Route53), team actions {}, green failing {} times",
            st.external_dns_runs, st.external_dns_failed_groups, st.team_actions, st.unhealthy_episodes
        ),
        format!(
            "chaos: rollbacks requested {} (operators {}, green failing while serving {}), completed {} (operators {}, automatic {}); completions {}",
            st.rollbacks_requested_manual + st.rollbacks_requested_health,
            st.rollbacks_requested_manual,
            st.rollbacks_requested_health,
            st.rollbacks_completed_manual + st.rollbacks_completed_auto,
            st.rollbacks_completed_manual,
            st.rollbacks_completed_auto,
            st.completions
        ),
        format!(
            "chaos: decisions: {}",
            st.decisions
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "chaos: zone versions checked {}, invariant violations {}",
            st.versions_checked,
            c.violations.len()
        ),
        format!(
            "chaos: converged {}/{} {}: {}",
            c.fleet.len() - c.unconverged().len(),
            c.fleet.len(),
            match rounds {
                Some(r) => format!("after {r} more rounds"),
                None => format!("NOT within {END_ROUNDS} rounds"),
            },
            finals
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ];
    for line in &lines {
        println!("{line}");
    }
    let figures = lines.join("\n");
    assert!(
        c.violations.is_empty(),
        "{} invariant violations (seed {seed}; replay: {replay}):\n{}\n\n{figures}",
        c.violations.len(),
        c.violations
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        rounds.is_some(),
        "not converged within {END_ROUNDS} rounds (seed {seed}; replay: {replay}): {}\n\n{figures}",
        c.unconverged().join(", ")
    );
}
