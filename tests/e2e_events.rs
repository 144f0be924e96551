//! Every sample in `events/` through the real handler on the sandbox: each trigger and each
//! manual command is accepted and answered with a report (a decision per service), none with an
//! error. The deploy event goes first so that the commands after it have a migration to act on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;

use sandbox::world::World;
use serde_json::Value;
use support::{service_reports, Harness, FAST_ROLLOUT, TOPIC_ARN};

/// The topic the SNS sample comes from.
const SAMPLE_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:cutover-deploys";

fn samples() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("events/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    // The deploy event first, the rollback last; the rest in name order.
    files.sort_by_key(|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let rank = match name.as_str() {
            "sns-deployed.json" => 0,
            "manual-rollback.json" => 2,
            _ => 1,
        };
        (rank, name)
    });
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("sample readable");
            let value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string(),
                value,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_event_is_answered_by_the_handler() {
    let h = Harness::start_with_config(
        World::default_world(),
        &[("payments", "blue", "green")],
        FAST_ROLLOUT,
        |toml| toml.replace(TOPIC_ARN, SAMPLE_TOPIC),
        &|_| None,
    )
    .await
    .expect("config loads");
    h.deploy_ingress("green", "payments");
    let samples = samples();
    assert!(
        samples.len() >= 14,
        "expected a sample per trigger and command: {}",
        samples.len()
    );
    let mut kinds = BTreeMap::new();
    for (name, event) in samples {
        let report = h.invoke(event).await;
        assert!(report.get("error").is_none(), "{name}: {report:#}");
        assert!(
            report["errors"].as_array().is_none_or(|e| e.is_empty()),
            "{name}: {report:#}"
        );
        let entries = service_reports(&report);
        let entry = entries
            .iter()
            .find(|e| e["service"] == "payments")
            .unwrap_or_else(|| panic!("{name}: no decision for payments: {report:#}"));
        assert!(entry.get("error").is_none(), "{name}: {entry:#}");
        kinds.insert(name, entry["kind"].as_str().unwrap_or("").to_string());
    }
    // The deploy event started the canary and the rollback ended it.
    assert_eq!(kinds["sns-deployed.json"], "start", "{kinds:?}");
    assert_eq!(kinds["manual-rollback.json"], "rollback", "{kinds:?}");
}
