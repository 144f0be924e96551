//! Health from real traffic, end to end on the sandbox (docs/design.md §4): CloudWatch alarms,
//! the load balancers' metrics of simulated real traffic, the observed split, and the SNS
//! notification of every decision. cutover's real handler, the real SDK clients; simulated time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;

use std::time::Duration;

use sandbox::cbor::Cbor;
use sandbox::lb::Behaviour;
use sandbox::world::{World, DEFAULT_WORLD_TOML};
use serde_json::{json, Value};
use support::{service_report, Harness, FAST_ROLLOUT};

const HOST: &str = "search.example.com";

/// The built-in world with a client population for search.
fn world(requests_per_second: f64, ignore_ttl_share: f64) -> World {
    let text = format!(
        "{DEFAULT_WORLD_TOML}\n[[traffic]]\nhost = \"{HOST}\"\nrequests_per_second = {requests_per_second}\nclients = 400\nignore_ttl_share = {ignore_ttl_share}\nseed = 42\n"
    );
    World::from_toml(&text).unwrap()
}

const METRICS: &str = r#"
[defaults.metrics]
window = "2m"
min_requests = 50
max_error_rate = 2.0
max_error_ratio = 3
max_p99_latency = "2s"
"#;

async fn harness(world: World, extra: &str) -> Harness {
    let rollout = format!("{FAST_ROLLOUT}{extra}");
    Harness::start(world, &[("search", "blue", "green")], &rollout).await
}

/// One simulated minute: time, both external-dns, a scheduled tick; search's entry.
async fn minute(h: &Harness) -> Value {
    h.advance(Duration::from_secs(60));
    h.external_dns().await;
    let report = h.tick().await;
    service_report(&report, "search").unwrap_or_else(|| panic!("no search entry: {report}"))
}

fn to_share(entry: &Value) -> u64 {
    entry["weights_after"]["to"]
        .as_u64()
        .or(entry["weights_before"]["to"].as_u64())
        .unwrap_or(0)
}

/// Starts the canary and ticks until green carries `percent` (at most 20 minutes); returns the
/// entry of the first tick at that share after the step's change was sent: the one that sees it
/// INSYNC and starts the step's bake.
async fn start_and_reach(h: &Harness, percent: u64) -> Value {
    let started = h.deploy_event("deploy-1", "search", "green").await;
    let entry = service_report(&started, "search").unwrap();
    assert_eq!(entry["kind"], "start", "{entry}");
    for _ in 0..20 {
        let entry = minute(h).await;
        assert_ne!(entry["kind"], "rollback", "{entry}");
        if to_share(&entry) >= percent && entry["kind"] != "advance" {
            return entry;
        }
    }
    panic!("search never reached {percent}%");
}

fn all_probes_ok(entry: &Value, cluster: &str) -> bool {
    let samples = &entry["health"][cluster]["samples"];
    samples["count"].as_u64().unwrap() > 0 && samples["failed"] == 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_rate_of_real_traffic_on_to_rolls_back_while_probes_pass() {
    let h = harness(world(20.0, 0.0), METRICS).await;
    start_and_reach(&h, 5).await;
    // green's new version fails real requests; its /healthz stays green.
    h.set_lb_path_behaviour("green", HOST, "/", Behaviour::Status { status: 503 });
    let mut rolled_back = None;
    for _ in 0..6 {
        let entry = minute(&h).await;
        if entry["kind"] == "rollback" {
            rolled_back = Some(entry);
            break;
        }
        assert_eq!(entry["kind"], "hold", "{entry}");
    }
    let entry = rolled_back.expect("rolled back by the 5xx rate");
    assert!(all_probes_ok(&entry, "green"), "probes pass: {entry}");
    let green = &entry["traffic"]["clusters"]["green"]["metrics"];
    assert_eq!(green["verdict"], "bad", "{entry}");
    assert!(
        green["rule"]
            .as_str()
            .unwrap()
            .contains("> max_error_rate 2%"),
        "{green}"
    );
    assert!(green["figures"]["error_rate_percent"].as_f64().unwrap() > 50.0);
    assert_eq!(entry["health"]["green"]["verdict"], "bad");
    assert_eq!(entry["weights_after"]["to"], 0);
    let zone = h.zone();
    assert_eq!(
        support::a_weights(&zone, "search", "blue", "green"),
        (Some(100), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_in_alarm_blocks_and_rolls_back() {
    let alarms = "\n[defaults.alarms]\ngreen = [\"search-green-5xx\"]\n";
    let h = harness(world(20.0, 0.0), alarms).await;
    // A real metric alarm on green's load balancer, as a team would create it.
    let dimension = h.lb_dimension("green");
    h.sandbox
        .cloudwatch()
        .call(
            "PutMetricAlarm",
            &Cbor::map(vec![
                ("AlarmName", Cbor::text("search-green-5xx")),
                ("Namespace", Cbor::text("AWS/ApplicationELB")),
                ("MetricName", Cbor::text("HTTPCode_Target_5XX_Count")),
                (
                    "Dimensions",
                    Cbor::Array(vec![Cbor::map(vec![
                        ("Name", Cbor::text("LoadBalancer")),
                        ("Value", Cbor::text(dimension)),
                    ])]),
                ),
                ("Statistic", Cbor::text("Sum")),
                ("Period", Cbor::Int(60)),
                ("EvaluationPeriods", Cbor::Int(1)),
                ("Threshold", Cbor::Float(5.0)),
                (
                    "ComparisonOperator",
                    Cbor::text("GreaterThanOrEqualToThreshold"),
                ),
                ("TreatMissingData", Cbor::text("notBreaching")),
            ]),
        )
        .unwrap();
    // The step's bake starts here, with the alarm OK (all requests so far succeeded).
    let entry = start_and_reach(&h, 5).await;
    assert_eq!(
        entry["traffic"]["clusters"]["green"]["alarms"][0]["state"],
        json!({"known": "OK"}),
        "{entry}"
    );
    // green's new version fails real requests from the start of the bake, so the bake (2 m)
    // cannot end before the alarm has seen a whole minute of failures. The first minute may still
    // be judged on a minute that is partly before the failures (the alarm then still says OK and
    // the bake goes on); the next one cannot.
    h.set_lb_path_behaviour("green", HOST, "/", Behaviour::Status { status: 500 });
    let mut saw_hold = false;
    let mut rolled_back = None;
    for _ in 0..6 {
        let entry = minute(&h).await;
        match entry["kind"].as_str().unwrap() {
            "rollback" => {
                rolled_back = Some(entry);
                break;
            }
            "hold" => {
                saw_hold = true;
                // The alarm blocks: no step while it fires.
                assert!(to_share(&entry) <= 5, "{entry}");
            }
            "wait" if !saw_hold => assert_eq!(to_share(&entry), 5, "{entry}"),
            other => panic!("unexpected {other}: {entry}"),
        }
    }
    assert!(saw_hold, "a first bad check holds before the threshold");
    let entry = rolled_back.expect("rolled back by the alarm");
    assert!(all_probes_ok(&entry, "green"), "{entry}");
    let side = &entry["traffic"]["clusters"]["green"];
    assert_eq!(side["verdict"], "bad", "{entry}");
    assert_eq!(side["alarms"][0]["state"], json!({"known": "ALARM"}));
    assert!(side["alarms_rule"]
        .as_str()
        .unwrap()
        .contains("search-green-5xx in ALARM"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_little_traffic_is_inconclusive_and_holds() {
    // 0.5 requests/second: about 2 per minute reach green at 5 %, far below min_requests 50.
    let h = harness(world(0.5, 0.0), METRICS).await;
    start_and_reach(&h, 5).await;
    for _ in 0..8 {
        let entry = minute(&h).await;
        assert_eq!(entry["kind"], "hold", "{entry}");
        assert_eq!(to_share(&entry), 5, "never advances: {entry}");
        let green = &entry["traffic"]["clusters"]["green"]["metrics"];
        assert_eq!(green["verdict"], "inconclusive", "{entry}");
        assert!(green["rule"]
            .as_str()
            .unwrap()
            .contains("below min_requests 50"));
        // Inconclusive never counts as a failure.
        assert_eq!(entry["analysis"]["consecutive_bad"], 0, "{entry}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloudwatch_error_is_inconclusive_and_holds() {
    let h = harness(world(20.0, 0.0), METRICS).await;
    start_and_reach(&h, 5).await;
    // More failures than the SDK's retries: the whole tick's GetMetricData fails.
    h.sandbox.cloudwatch().fail_next(50);
    let entry = minute(&h).await;
    assert_eq!(entry["kind"], "hold", "{entry}");
    let green = &entry["traffic"]["clusters"]["green"]["metrics"];
    assert_eq!(green["verdict"], "inconclusive", "{entry}");
    assert!(
        green["rule"]
            .as_str()
            .unwrap()
            .contains("GetMetricData failed"),
        "{green}"
    );
    assert_eq!(entry["analysis"]["consecutive_bad"], 0);
    h.sandbox.cloudwatch().fail_next(0);
    let entry = minute(&h).await;
    assert_ne!(entry["kind"], "rollback", "{entry}");
    assert_eq!(
        entry["traffic"]["clusters"]["green"]["metrics"]["verdict"], "good",
        "{entry}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_observed_split_lags_the_weight_and_matches_the_truth() {
    // A fifth of the clients never re-resolve: they stay on blue whatever the weights say.
    let h = harness(world(50.0, 0.2), "").await;
    start_and_reach(&h, 25).await;
    let green_lb = h.lb_hostname("green");
    let mut checked = 0;
    for _ in 0..3 {
        let entry = minute(&h).await;
        let split = &entry["traffic"]["split"];
        let until = split["until"]
            .as_i64()
            .unwrap_or_else(|| panic!("no split: {entry}"));
        let since = split["since"].as_i64().unwrap();
        let truth = h.sandbox.traffic().truth_of(HOST).unwrap();
        let true_latest = truth.share(&green_lb, until - 60_000, until).unwrap();
        let reported_latest = split["latest_percent"].as_f64().unwrap();
        assert!(
            (reported_latest - true_latest).abs() < 2.0,
            "latest {reported_latest} vs truth {true_latest}"
        );
        // The step window starts at the step's INSYNC: empty until a whole minute passed.
        match (
            truth.share(&green_lb, since, until),
            split["share_percent"].as_f64(),
        ) {
            (Some(t), Some(r)) => assert!((r - t).abs() < 2.0, "window {r} vs truth {t}"),
            (None, None) => {}
            other => panic!("window: truth and report disagree: {other:?} {split}"),
        }
        // The weight says 25 %, the traffic says less: cached answers.
        let weight = split["weight"].as_u64().unwrap() as f64;
        if weight >= 25.0 {
            assert!(reported_latest < weight - 2.0, "{split}");
            checked += 1;
        }
    }
    assert!(checked > 0);
    // `status` reports it too.
    let status = h.command("status", "search").await;
    let entry = service_report(&status, "search").unwrap();
    assert!(
        entry["traffic"]["split"]["latest_percent"].is_number(),
        "{entry}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_split_gate_holds_the_bake_until_the_share_caught_up() {
    // Half the clients never re-resolve: green's share cannot reach 0.8 × 25 %.
    let gate = "\n[defaults.observed_split]\nmin_fraction = 0.8\nmax_wait = \"4m\"\n";
    let h = harness(world(50.0, 0.5), gate).await;
    start_and_reach(&h, 25).await;
    let mut waited = false;
    let mut gave_up = false;
    for _ in 0..8 {
        let entry = minute(&h).await;
        let summary = entry["summary"].as_str().unwrap();
        if summary.contains("observed share") {
            waited = true;
            assert_eq!(to_share(&entry), 25, "{entry}");
        }
        if entry["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().contains("split gate"))
        {
            gave_up = true;
            break;
        }
    }
    assert!(waited, "the gate waited for the share");
    assert!(
        gave_up,
        "after max_wait it alerts instead of waiting forever"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decision_is_published_with_its_fields_and_a_failed_publish_changes_nothing() {
    let topic = "arn:aws:sns:eu-west-1:123456789012:cutover-decisions";
    let rollout = format!("{FAST_ROLLOUT}{METRICS}");
    let h = Harness::start_with_config(
        world(20.0, 0.0),
        &[("search", "blue", "green")],
        &rollout,
        |toml| format!("notification_topic_arn = \"{topic}\"\n{toml}"),
        &|_| None,
    )
    .await
    .unwrap();
    let started = h.deploy_event("deploy-1", "search", "green").await;
    assert_eq!(
        started["notifications"][0]["decision"], "start",
        "{started}"
    );
    let messages = h.sandbox.sns().messages();
    assert_eq!(messages.len(), 1);
    let m: Value = serde_json::from_str(&messages[0].message).unwrap();
    assert_eq!(m["service"], "search");
    assert_eq!(m["decision"], "start");
    assert_eq!(m["actor"], "ci#812");
    assert_eq!(m["weights_before"]["to"], 0);
    assert_eq!(m["weights_after"]["to"], 0);
    assert!(m["change_id"].as_str().unwrap().starts_with('C'), "{m}");
    assert_eq!(m["health"]["green"]["verdict"], "good");
    assert_eq!(messages[0].topic_arn, topic);
    assert_eq!(messages[0].attributes["decision"].1, "start");
    assert_eq!(messages[0].attributes["service"].1, "search");
    // Quiet waits are not published; the advance is, once.
    let mut advances = 0;
    for _ in 0..4 {
        let entry = minute(&h).await;
        if entry["kind"] == "advance" {
            advances += 1;
        }
    }
    let messages = h.sandbox.sns().messages();
    let kinds: Vec<String> = messages
        .iter()
        .map(|m| m.attributes["decision"].1.clone())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "advance").count(),
        advances,
        "{kinds:?}"
    );
    assert!(!kinds.iter().any(|k| k == "wait"), "{kinds:?}");
    let advance: Value = serde_json::from_str(
        &messages
            .iter()
            .find(|m| m.attributes["decision"].1 == "advance")
            .unwrap()
            .message,
    )
    .unwrap();
    assert_eq!(advance["weights_before"]["to"], 0);
    assert_eq!(advance["weights_after"]["to"], 5);
    assert_eq!(advance["actor"], "schedule");

    // SNS fails: the rollback happens all the same, and the report says the publish failed.
    h.sandbox.sns().fail_next(50);
    let report = h.command("rollback", "search").await;
    let entry = service_report(&report, "search").unwrap();
    assert_eq!(entry["kind"], "rollback");
    assert_eq!(entry["applied"], true);
    let n = &report["notifications"][0];
    assert_eq!(n["decision"], "rollback");
    assert!(
        n["error"].as_str().unwrap().contains("InternalError"),
        "{report}"
    );
    assert!(report.get("errors").is_none(), "{report}");
    assert_eq!(
        support::a_weights(&h.zone(), "search", "blue", "green"),
        (Some(100), Some(0))
    );
}
