//! Shared fixtures for the planner tests: a two-cluster config, a zone as blue's external-dns
//! v0.22 publishes it, source objects (Ingresses, Services, HTTPRoutes), health, and a faithful
//! "apply" of a batch.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;

use cutover_core::command::{Action, Command};
use cutover_core::config::Config;
use cutover_core::observation::{ClusterHealth, SourceKind, SourceObject, Verdict};
use cutover_core::planner::{self, Decision, Observed, ServiceView};
use cutover_core::registry::Labels;
use cutover_core::route53::model::{
    Action as ChangeAction, AliasTarget, ChangeBatch, ChangeStatus, RecordSet, RecordType,
};
use cutover_core::types::{DnsName, Name, SetIdentifier, Weight};

pub const CONFIG: &str = r#"
[[zones]]
id = "Z1EXAMPLE"
name = "example.com"

[clusters.blue]
eks_name = "blue"
region = "us-east-1"
owner_id = "blue"
external_dns_version = "0.22"

[clusters.green]
eks_name = "green"
region = "us-east-1"
owner_id = "green"
external_dns_version = "0.22"

[defaults]
steps = [{ percent = 10, bake = "2m" }, { percent = 50, bake = "2m" }, { percent = 100, bake = "2m" }]
failure_threshold = 2
propagation_allowance = "30s"

[services.payments]
hostname = "payments.example.com"
from = "blue"
to = "green"
"#;

pub const HOST: &str = "payments.example.com";
pub const BLUE_LB: &str = "k8s-blue-1.us-east-1.elb.amazonaws.com";
pub const GREEN_LB: &str = "k8s-green-1.us-east-1.elb.amazonaws.com";
pub const ELB_ZONE: &str = "Z35SXDOTRQ7X7K";

pub fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}
pub fn dns(s: &str) -> DnsName {
    DnsName::parse(s).unwrap()
}
/// A `start` with the service's own target, strategy and no version or wave.
pub fn start() -> Action {
    Action::Start {
        to: None,
        strategy: None,
        version: None,
        wave: None,
    }
}
pub fn cfg() -> Config {
    Config::parse(CONFIG).unwrap()
}

pub fn alias(rtype: RecordType, lb: &str, sid: Option<&str>, weight: Option<u8>) -> RecordSet {
    RecordSet {
        name: dns(HOST),
        rtype,
        set_identifier: sid.map(|s| SetIdentifier::new(s).unwrap()),
        weight: weight.map(Weight),
        ttl: None,
        values: vec![],
        alias: Some(AliasTarget {
            hosted_zone_id: ELB_ZONE.into(),
            dns_name: dns(lb),
            evaluate_target_health: true,
        }),
        health_check_id: None,
        other_policy: None,
    }
}

pub fn txt(
    name: &str,
    sid: Option<&str>,
    weight: Option<u8>,
    owner: &str,
    resource: &str,
) -> RecordSet {
    RecordSet {
        name: dns(name),
        rtype: RecordType::Txt,
        set_identifier: sid.map(|s| SetIdentifier::new(s).unwrap()),
        weight: weight.map(Weight),
        ttl: Some(300),
        values: vec![Labels::new(owner, Some(resource)).render_value().unwrap()],
        alias: None,
        health_check_id: None,
        other_policy: None,
    }
}

/// The simple record blue's external-dns v0.22 publishes (docs/reference/external-dns.md §2).
pub fn simple_zone() -> Vec<RecordSet> {
    vec![
        alias(RecordType::A, BLUE_LB, None, None),
        alias(RecordType::Aaaa, BLUE_LB, None, None),
        txt(
            "a-payments.example.com",
            None,
            None,
            "blue",
            "ingress/default/payments",
        ),
        txt(
            "aaaa-payments.example.com",
            None,
            None,
            "blue",
            "ingress/default/payments",
        ),
    ]
}

/// Both clusters already annotated by hand (weighted, owned by each cluster).
pub fn weighted_zone(blue: u8, green: u8) -> Vec<RecordSet> {
    let mut z = Vec::new();
    for (sid, lb, w) in [
        ("payments-blue", BLUE_LB, blue),
        ("payments-green", GREEN_LB, green),
    ] {
        let owner = sid.trim_start_matches("payments-");
        z.push(alias(RecordType::A, lb, Some(sid), Some(w)));
        z.push(alias(RecordType::Aaaa, lb, Some(sid), Some(w)));
        z.push(txt(
            "a-payments.example.com",
            Some(sid),
            Some(w),
            owner,
            "ingress/default/payments",
        ));
        z.push(txt(
            "aaaa-payments.example.com",
            Some(sid),
            Some(w),
            owner,
            "ingress/default/payments",
        ));
    }
    z
}

pub fn ingress(ns: &str, n: &str, lb: Option<&str>, annotations: &[(&str, &str)]) -> SourceObject {
    object(SourceKind::Ingress, ns, n, lb, annotations)
}

/// A source object of any kind claiming HOST.
pub fn object(
    kind: SourceKind,
    ns: &str,
    n: &str,
    lb: Option<&str>,
    annotations: &[(&str, &str)],
) -> SourceObject {
    SourceObject {
        kind,
        namespace: ns.into(),
        name: n.into(),
        hosts: vec![dns(HOST)],
        annotations: annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        load_balancer_hostnames: lb.map(|l| vec![l.to_string()]).unwrap_or_default(),
    }
}

pub fn health(v: Verdict) -> ClusterHealth {
    ClusterHealth {
        verdict: v,
        reason: format!("{v:?}"),
        samples: vec![],
    }
}

/// The world the planner observes.
#[derive(Clone)]
pub struct World {
    pub zone: Vec<RecordSet>,
    pub blue_objects: Vec<SourceObject>,
    pub green_objects: Vec<SourceObject>,
    pub blue: Option<Verdict>,
    pub green: Option<Verdict>,
    pub change_status: Option<ChangeStatus>,
    pub next_change: u32,
}

impl World {
    pub fn simple() -> World {
        World {
            zone: simple_zone(),
            blue_objects: vec![ingress("default", "payments", Some(BLUE_LB), &[])],
            green_objects: vec![ingress("default", "payments", Some(GREEN_LB), &[])],
            blue: Some(Verdict::Good),
            green: Some(Verdict::Good),
            change_status: None,
            next_change: 1,
        }
    }

    pub fn view(&self) -> ServiceView {
        let mut sources = BTreeMap::new();
        sources.insert(name("blue"), Observed::Known(self.blue_objects.clone()));
        sources.insert(name("green"), Observed::Known(self.green_objects.clone()));
        let mut h = BTreeMap::new();
        if let Some(v) = self.blue {
            h.insert(name("blue"), health(v));
        }
        if let Some(v) = self.green {
            h.insert(name("green"), health(v));
        }
        ServiceView {
            records: self.zone.clone(),
            sources,
            health: h,
            change_status: self.change_status,
            traffic: Default::default(),
            // The engine tags every invocation's changes and records their ids in the zone's
            // change record; these tests answer GetChange for the tag through `change_status`.
            write_tag: Some("t1".into()),
            ..Default::default()
        }
    }

    /// Decides, then applies the batch like Route53 would (asserting each DELETE is exact); the
    /// change is PENDING until a test says otherwise.
    pub fn run(&mut self, action: Action, id: Option<&str>, now: i64) -> Decision {
        self.run_with(&cfg(), action, id, now, false)
    }

    /// Like `run`, with a given config; a dry run decides but applies nothing (the engine sends
    /// nothing).
    pub fn run_with(
        &mut self,
        c: &Config,
        action: Action,
        id: Option<&str>,
        now: i64,
        dry_run: bool,
    ) -> Decision {
        let svc = c.service(&name("payments")).unwrap().clone();
        let cmd = Command {
            action,
            service: Some(name("payments")),
            dry_run,
            actor: "alice".into(),
            reason: Some("test".into()),
            id: id.map(str::to_string),
            trigger: Default::default(),
        };
        let d = planner::decide(c, &svc, &self.view(), &cmd, now);
        if let Some(batch) = &d.batch {
            if !cmd.action.is_read_only() && !cmd.dry_run {
                self.zone = apply(&self.zone, batch);
                self.next_change += 1;
                self.change_status = Some(ChangeStatus::Pending);
            }
        }
        d
    }

    pub fn record(&self, rtype: RecordType, name_: &str, sid: &str) -> Option<&RecordSet> {
        self.zone.iter().find(|r| {
            r.rtype == rtype
                && r.name == dns(name_)
                && r.set_identifier.as_ref().map(|s| s.as_str()) == Some(sid)
        })
    }
    pub fn weight(&self, sid: &str) -> Option<u8> {
        self.record(RecordType::A, HOST, sid)
            .and_then(|r| r.weight.map(|w| w.get()))
    }
}

/// Applies a batch in order, as Route53 does: a DELETE must match the listed rrset exactly, a
/// CREATE must not exist (docs/reference/route53.md "All or nothing", "DELETE", "CREATE"). Panics
/// (test failure) otherwise.
pub fn apply(zone: &[RecordSet], batch: &ChangeBatch) -> Vec<RecordSet> {
    let mut z = zone.to_vec();
    for c in &batch.changes {
        match c.action {
            ChangeAction::Delete => {
                let pos = z
                    .iter()
                    .position(|r| r == &c.record)
                    .unwrap_or_else(|| panic!("DELETE not exact: {:?}", c.record));
                z.remove(pos);
            }
            ChangeAction::Create => {
                assert!(
                    !z.iter().any(|r| r.key() == c.record.key()),
                    "CREATE of existing {}",
                    c.record.key()
                );
                z.push(c.record.clone());
            }
            ChangeAction::Upsert => panic!("UPSERT used"),
        }
    }
    z
}

pub fn owner_value(owner: &str, resource: &str) -> String {
    format!("\"heritage=external-dns,external-dns/owner={owner},external-dns/resource={resource}\"")
}

/// Every text of a decision people read is in words, never Rust's debug notation.
pub fn readable(d: &Decision) -> Result<(), String> {
    let texts = std::iter::once(d.summary.as_str())
        .chain(d.waits_for.as_deref())
        .chain(d.alerts.iter().map(String::as_str));
    for text in texts {
        if let Some(found) = cutover_core::text::debug_notation(text) {
            return Err(format!("debug notation {found:?} in {text:?}"));
        }
    }
    Ok(())
}
