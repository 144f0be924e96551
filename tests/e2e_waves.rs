//! End to end on the sandbox: a wave of services (docs/design.md §10). Twenty services weighted
//! by hand on both clusters, one wave over all of them with `max_active = 5` and
//! `max_failures = 2`; two of them go bad on green once it carries half their traffic. Every minute both
//! external-dns run a loop and cutover ticks; the team finishes each service that reaches 100 %.
//! Checked: never more than five in progress, the next service starts when one finishes, the
//! wave stops at the second rollback (an alert, published), the services still in progress
//! finish, no queued service ever starts afterwards, and status shows the wave.
//! Also: bad wave commands are refused naming the field, and write nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cutover_core::state::Phase;
use sandbox::lb::Behaviour;
use sandbox::world::{IngressSpec, World};
use serde_json::{json, Value};
use support::{a_weights, records_at, state_of, Harness};

const SERVICES: usize = 20;
const FAILING: [&str; 2] = ["svc02", "svc08"];
const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:cutover-decisions";

/// Two steps with short bakes, so that a service completes in a few minutes.
const ROLLOUT: &str = r#"
[defaults]
strategy = "canary"
steps = [{ percent = 50, bake = "2m" }, { percent = 100, bake = "2m" }]
failure_threshold = 2
propagation_allowance = "30s"

[defaults.health_check]
scheme = "http"
path = "/healthz"
timeout = "5s"
samples = 3
allowed_failures = 0
"#;

fn name(i: usize) -> String {
    format!("svc{i:02}")
}

/// The default world's two clusters and `SERVICES` services weighted by hand on both (blue 100,
/// green 0).
fn fleet_world() -> World {
    let mut world = World::default_world();
    world.ingresses.clear();
    world.records.clear();
    for i in 0..SERVICES {
        let service = name(i);
        for (cluster, weight) in [("blue", "100"), ("green", "0")] {
            let annotations = [
                (
                    "external-dns.kubernetes.io/set-identifier".to_string(),
                    format!("{service}-{cluster}"),
                ),
                (
                    "external-dns.kubernetes.io/aws-weight".to_string(),
                    weight.to_string(),
                ),
            ]
            .into_iter()
            .collect();
            world.ingresses.push(IngressSpec {
                cluster: cluster.to_string(),
                namespace: "default".to_string(),
                name: service.clone(),
                hosts: vec![format!("{service}.example.com")],
                annotations,
                load_balancer: Some(format!("k8s-{cluster}-ingress")),
            });
        }
    }
    world
}

async fn harness(edit: impl FnOnce(String) -> String) -> Harness {
    let names: Vec<String> = (0..SERVICES).map(name).collect();
    let specs: Vec<support::ServiceSpec<'_>> = names
        .iter()
        .map(|s| (s.as_str(), "blue", "green"))
        .collect();
    let h = Harness::start_with_config(fleet_world(), &specs, ROLLOUT, edit, &|_| None)
        .await
        .unwrap_or_else(|e| panic!("config: {e}"));
    for (cluster, r) in h.external_dns().await {
        assert!(r.failed.is_empty(), "{cluster}: {:?}", r.failed);
    }
    h
}

fn with_topic(toml: String) -> String {
    format!("notification_topic_arn = \"{TOPIC}\"\n{toml}")
}

fn the_wave(report: &Value) -> Value {
    report["waves"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["name"] == "fleet"))
        .cloned()
        .unwrap_or_else(|| panic!("no wave fleet in the report: {report:#}"))
}

fn names_in(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect()
}

/// Each service's phase from its state record (absent: never started).
fn phases(h: &Harness) -> BTreeMap<String, Phase> {
    let zone = h.zone();
    (0..SERVICES)
        .map(name)
        .filter_map(|s| state_of(&zone, &s).ok().map(|st| (s, st.phase)))
        .collect()
}

fn in_progress(phase: Phase) -> bool {
    !matches!(phase, Phase::Idle | Phase::Completed | Phase::RolledBack)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wave_of_twenty_runs_five_at_a_time_and_stops_at_its_second_rollback() {
    let h = harness(with_topic).await;

    let report = h
        .invoke(json!({
            "action": "start", "wave": "fleet", "services": "all",
            "max_active": 5, "max_failures": 2, "actor": "test", "reason": "e2e"
        }))
        .await;
    assert!(
        report["errors"].as_array().is_none_or(Vec::is_empty),
        "{report:#}"
    );
    let wave = the_wave(&report);
    assert_eq!(wave["status"], "running", "{wave:#}");
    let first: BTreeSet<String> = (0..5).map(name).collect();
    assert_eq!(names_in(&wave["started"]), first, "{wave:#}");
    assert_eq!(wave["queued"], 15, "{wave:#}");
    // The wave lives in the zone, and exactly its first five services started.
    let zone = h.zone();
    let waves_record = records_at(&zone, "_cutover._waves.example.com");
    assert_eq!(waves_record.len(), 1, "{waves_record:?}");
    assert!(
        waves_record[0].records[0].contains("w=fleet"),
        "{:?}",
        waves_record[0]
    );
    let started: BTreeSet<String> = phases(&h).into_keys().collect();
    assert_eq!(started, first);

    let mut order: Vec<String> = first.iter().cloned().collect();
    let mut broken: BTreeSet<String> = BTreeSet::new();
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut stopped_at: Option<usize> = None;
    let mut stop_alerts: Vec<String> = Vec::new();
    let mut last = Value::Null;
    for minute in 0..60 {
        // Two services' green goes bad once it carries their first step's traffic.
        for service in FAILING {
            let at_50 = a_weights(&h.zone(), service, "blue", "green") == (Some(50), Some(50));
            if at_50 && broken.insert(service.to_string()) {
                h.set_lb_behaviour(
                    "green",
                    &format!("{service}.example.com"),
                    Behaviour::Status { status: 503 },
                );
            }
        }
        h.advance(Duration::from_secs(60));
        for (cluster, r) in h.external_dns().await {
            assert!(
                r.failed.is_empty(),
                "minute {minute}: {cluster}: {:?}",
                r.failed
            );
        }
        let report = h.tick().await;
        assert!(
            report["errors"].as_array().is_none_or(Vec::is_empty),
            "minute {minute}: {report:#}"
        );
        let wave = the_wave(&report);
        let now = phases(&h);
        // Never more than max_active in progress.
        let active: Vec<&String> = now
            .iter()
            .filter(|(_, p)| in_progress(**p))
            .map(|(s, _)| s)
            .collect();
        assert!(active.len() <= 5, "minute {minute}: {active:?}");
        for s in names_in(&wave["started"]) {
            assert!(
                stopped_at.is_none(),
                "minute {minute}: {s} started after the stop"
            );
            order.push(s);
        }
        if wave["status"] == "stopped" && stopped_at.is_none() {
            stopped_at = Some(minute);
            stop_alerts = names_in(&wave["alerts"]).into_iter().collect();
        }
        // The team finishes what reached 100 %: green asks for its key at 100, blue's goes.
        for (service, phase) in &now {
            if *phase == Phase::Completing && finished.insert(service.clone()) {
                h.annotate("green", service, &[("aws-weight", "100")]);
                h.remove_ingress("blue", service);
            }
        }
        last = wave;
        if stopped_at.is_some() && active.is_empty() {
            break;
        }
    }
    let stopped_at = stopped_at.unwrap_or_else(|| panic!("the wave never stopped: {last:#}"));

    // The wave stopped at its second rollback, with an alert naming both.
    assert_eq!(stop_alerts.len(), 1, "{stop_alerts:?}");
    assert!(
        stop_alerts[0].starts_with("wave fleet stopped")
            && stop_alerts[0].contains("svc02, svc08")
            && stop_alerts[0].contains("max_failures is 2"),
        "{stop_alerts:?}"
    );
    // Queue order: name order, the next one starting only as one finished.
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "services started out of queue order");
    assert!(
        order.len() > 5 && order.contains(&"svc08".to_string()),
        "the queue never moved: {order:?}"
    );
    let phases_now = phases(&h);
    for service in FAILING {
        assert_eq!(
            phases_now.get(service),
            Some(&Phase::RolledBack),
            "{service}"
        );
        assert_eq!(
            a_weights(&h.zone(), service, "blue", "green"),
            (Some(100), Some(0)),
            "{service}"
        );
    }
    // Everything started either completed or rolled back; the rest never started.
    for (service, phase) in &phases_now {
        assert!(
            matches!(phase, Phase::Completed | Phase::RolledBack),
            "{service}: {}",
            phase.name()
        );
    }
    let started: BTreeSet<String> = order.iter().cloned().collect();
    assert_eq!(phases_now.keys().cloned().collect::<BTreeSet<_>>(), started);
    let queued = SERVICES - started.len();
    assert!(queued > 0, "{order:?}");

    // More minutes: a stopped wave starts nothing, and the queued services keep blue at 100.
    for _ in 0..3 {
        h.advance(Duration::from_secs(60));
        h.external_dns().await;
        let report = h.tick().await;
        let wave = the_wave(&report);
        assert_eq!(wave["status"], "stopped", "{wave:#}");
        assert!(names_in(&wave["started"]).is_empty(), "{wave:#}");
    }
    assert_eq!(phases(&h).keys().cloned().collect::<BTreeSet<_>>(), started);
    for i in 0..SERVICES {
        let service = name(i);
        if !started.contains(&service) {
            assert_eq!(
                a_weights(&h.zone(), &service, "blue", "green"),
                (Some(100), Some(0)),
                "{service}"
            );
        }
    }

    // Status shows the wave: queued, active, done, rolled back, and why it stopped.
    let status = h
        .invoke(json!({ "action": "status", "actor": "test" }))
        .await;
    let wave = the_wave(&status);
    assert_eq!(wave["status"], "stopped", "{wave:#}");
    assert_eq!(wave["queued"], queued, "{wave:#}");
    assert!(names_in(&wave["active"]).is_empty(), "{wave:#}");
    assert_eq!(wave["done"], started.len() - 2, "{wave:#}");
    assert_eq!(
        names_in(&wave["rolled_back"]),
        FAILING.iter().map(|s| s.to_string()).collect(),
        "{wave:#}"
    );
    assert!(
        wave["stopped"]
            .as_str()
            .is_some_and(|s| s.contains("max_failures is 2")),
        "{wave:#}"
    );

    // The stop was published once, as an alert of the wave.
    let alerts: Vec<Value> = h
        .sandbox
        .sns()
        .messages()
        .iter()
        .filter(|m| m.attributes.get("decision").map(|a| a.1.as_str()) == Some("wave"))
        .map(|m| serde_json::from_str(&m.message).unwrap())
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["wave"], "fleet");
    assert_eq!(alerts[0]["status"], "stopped");
    assert!(stopped_at > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_wave_commands_are_refused_naming_the_field_and_write_nothing() {
    let h = harness(|t| t).await;
    let before = h.sandbox.route53().history().len();
    let cases = [
        (
            json!({"action": "start", "wave": "fleet", "services": "all", "max_active": 0}),
            "max_active",
        ),
        (
            json!({"action": "start", "wave": "fleet", "services": "all", "max_failures": 0}),
            "max_failures",
        ),
        (
            json!({"action": "start", "wave": "fleet", "services": "all", "max_active": -3}),
            "max_active",
        ),
        (json!({"action": "start", "wave": "fleet"}), "services"),
        (
            json!({"action": "start", "wave": "fleet", "services": "all", "match": "svc*"}),
            "services",
        ),
        (
            json!({"action": "start", "wave": "fleet", "services": "all", "to": "green"}),
            "to",
        ),
        (
            json!({"action": "start", "wave": "no good", "services": "all"}),
            "wave",
        ),
        (
            json!({"action": "start", "service": "svc00", "max_active": 2}),
            "max_active",
        ),
        (
            json!({"action": "start", "wave": "fleet", "label": "team"}),
            "label",
        ),
    ];
    for (payload, field) in cases {
        let report = h.invoke(payload.clone()).await;
        let text = report.to_string();
        assert!(
            text.contains(field) && report["services"].as_array().is_none_or(Vec::is_empty),
            "{payload}: {report:#}"
        );
        assert!(report.get("waves").is_none(), "{payload}: {report:#}");
    }
    // A selector that selects nothing is refused by the engine, naming the wave.
    let report = h
        .invoke(json!({"action": "start", "wave": "fleet", "match": "nothing-*", "actor": "t"}))
        .await;
    assert!(
        report.to_string().contains("selects no configured service"),
        "{report:#}"
    );
    assert_eq!(
        h.sandbox.route53().history().len(),
        before,
        "something was written"
    );
    assert!(records_at(&h.zone(), "_cutover._waves.example.com").is_empty());

    // A bad [wave] section of the config names its key.
    for (section, key) in [
        ("[wave]\nmax_active = 0\n", "wave.max_active"),
        ("[wave]\nmax_failures = 0\n", "wave.max_failures"),
        ("[wave]\nmax_actve = 3\n", "max_actve"),
    ] {
        let toml = format!("{}\n{section}", h.config_toml);
        let err = cutover_core::config::Config::parse(&toml)
            .err()
            .unwrap_or_else(|| panic!("{section} was accepted"));
        assert!(err.to_string().contains(key), "{section}: {err}");
    }
}
