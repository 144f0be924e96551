//! Runs `boto3_route53.py` (boto3) against the sandbox Route53; fails if the script fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use sandbox::clock::SimClock;
use sandbox::route53::{Route53, Route53Options};

#[tokio::test]
async fn boto3_round_trip_compare_and_swap_and_paging() {
    let r53 = Route53::new(
        SimClock::new(),
        Route53Options {
            rate_limit_per_second: None,
            ..Route53Options::default()
        },
    );
    r53.register_alias_target("boto-lb-1.us-east-1.elb.amazonaws.com", "Z35SXDOTRQ7X7K");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = r53.router();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/boto3_route53.py");
    let output = tokio::process::Command::new("python3")
        .arg(script)
        .arg(format!("http://{addr}"))
        .env("AWS_ACCESS_KEY_ID", sandbox::ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", sandbox::SECRET_ACCESS_KEY)
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
    // The script's changes went through the same rules: three committed batches.
    assert_eq!(r53.history().len(), 3);
}
