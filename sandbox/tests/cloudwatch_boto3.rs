//! Runs `boto3_cloudwatch.py` (boto3, an independent client) against the sandbox's CloudWatch
//! and SNS; fails if the script fails. The metrics it reads are recorded here first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use sandbox::world::World;
use sandbox::{Sandbox, SandboxOptions};

#[tokio::test]
async fn boto3_reads_metrics_scripts_alarms_and_publishes() {
    let sandbox = Sandbox::start(
        World::default_world(),
        SandboxOptions {
            run_external_dns_loops: false,
            ..SandboxOptions::default()
        },
    )
    .await
    .unwrap();
    let lb = sandbox.load_balancer("k8s-green-ingress").unwrap();
    let dimension = lb.metrics_dimension();
    let cw = sandbox.cloudwatch();
    let key = |metric: &str| {
        sandbox::cloudwatch::MetricKey::new(
            "AWS/ApplicationELB",
            metric,
            &[("LoadBalancer", dimension.as_str())],
        )
    };
    let start = (sandbox.clock().now_millis() / 60_000 - 5) * 60_000;
    cw.record_many(&key("RequestCount"), start, &[1.0; 40]);
    cw.record_many(&key("HTTPCode_Target_5XX_Count"), start, &[1.0; 3]);
    let latencies: Vec<f64> = (1..=40).map(|i| f64::from(i) / 100.0).collect();
    cw.record_many(&key("TargetResponseTime"), start, &latencies);

    let endpoints = sandbox.endpoints();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/boto3_cloudwatch.py");
    let output = tokio::process::Command::new("python3")
        .arg(script)
        .arg(&endpoints.cloudwatch)
        .arg(&endpoints.sns)
        .env("AWS_ACCESS_KEY_ID", sandbox::ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", sandbox::SECRET_ACCESS_KEY)
        .env("DIMENSION", &dimension)
        .env("START", (start / 1000).to_string())
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .await
        .expect("python3 must be installed");
    assert!(
        output.status.success(),
        "boto3 script failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // What boto3 published is recorded.
    let messages = sandbox.sns().messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].attributes["decision"].1, "rollback");
    assert!(cw.request_counts()["GetMetricData"] >= 2);
}
