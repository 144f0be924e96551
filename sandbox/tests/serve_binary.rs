//! `sandbox serve` as a process: its first stdout line names every endpoint, and each answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

struct Served {
    child: Child,
    line: Value,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args(["serve", "--rate-limit", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn sandbox serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("read first line");
    let line: Value = serde_json::from_str(&first)
        .unwrap_or_else(|e| panic!("first line is not JSON ({e}): {first:?}"));
    Served { child, line }
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} missing in {value}"))
}

#[tokio::test]
async fn serve_prints_the_endpoints_and_answers_on_them() {
    let served = serve();
    let line = &served.line;
    let route53 = text(line, "/route53");
    let eks = text(line, "/eks");
    let control = text(line, "/control");
    let blue_api = text(line, "/clusters/blue/api");
    assert!(text(line, "/clusters/green/api").starts_with("https://127.0.0.1:"));
    assert_eq!(
        text(line, "/credentials/access_key_id"),
        sandbox::ACCESS_KEY_ID
    );
    assert_eq!(text(line, "/credentials/region"), "us-east-1");
    for url in [route53, eks, control] {
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    }

    let http = reqwest::Client::new();
    let health = http
        .get(format!("{control}/health"))
        .send()
        .await
        .expect("control health");
    assert_eq!(health.text().await.expect("body"), "ok");

    // Route53 through the SDK: the zone exists and external-dns already published checkout.
    let credentials = aws_credential_types::Credentials::from_keys(
        sandbox::ACCESS_KEY_ID,
        sandbox::SECRET_ACCESS_KEY,
        None,
    );
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(route53)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await;
    let client = aws_sdk_route53::Client::new(&config);
    let zones = client.list_hosted_zones().send().await.expect("zones");
    let zone = &zones.hosted_zones()[0];
    assert_eq!(zone.name(), "example.com.");
    let records = client
        .list_resource_record_sets()
        .hosted_zone_id(zone.id())
        .send()
        .await
        .expect("records");
    let weighted: Vec<(String, Option<i64>)> = records
        .resource_record_sets()
        .iter()
        .filter(|r| r.name() == "checkout.example.com." && r.r#type().as_str() == "A")
        .map(|r| {
            (
                r.set_identifier().unwrap_or_default().to_string(),
                r.weight(),
            )
        })
        .collect();
    assert_eq!(
        weighted,
        vec![
            ("checkout-blue".to_string(), Some(100)),
            ("checkout-green".to_string(), Some(0))
        ]
    );

    // EKS DescribeCluster names the cluster API the line printed.
    let eks_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(eks)
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_credential_types::Credentials::from_keys(
            sandbox::ACCESS_KEY_ID,
            sandbox::SECRET_ACCESS_KEY,
            None,
        ))
        .load()
        .await;
    let described = aws_sdk_eks::Client::new(&eks_config)
        .describe_cluster()
        .name("blue")
        .send()
        .await
        .expect("describe blue");
    assert_eq!(
        described.cluster().and_then(|c| c.endpoint()),
        Some(blue_api)
    );

    // The load balancer serving payments answers for its host.
    let lbs = line
        .pointer("/clusters/blue/load_balancers")
        .and_then(Value::as_object)
        .expect("blue load balancers");
    let (hostname, url) = lbs.iter().next().expect("one load balancer");
    assert!(
        hostname.ends_with(".eu-west-1.elb.amazonaws.com"),
        "{hostname}"
    );
    let answer = http
        .get(url.as_str().unwrap_or_default())
        .header("host", "payments.example.com")
        .send()
        .await
        .expect("load balancer");
    assert_eq!(answer.status(), 200);

    // `sandbox kubeconfig` asks the running sandbox for a kubeconfig of the cluster.
    let output = Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args(["kubeconfig", "--control", control, "--cluster", "blue"])
        .output()
        .expect("run kubeconfig");
    assert!(output.status.success(), "{output:?}");
    let kubeconfig: Value = serde_json::from_slice(&output.stdout).expect("kubeconfig JSON");
    assert_eq!(text(&kubeconfig, "/clusters/0/cluster/server"), blue_api);
    assert!(text(&kubeconfig, "/users/0/user/token").starts_with("k8s-aws-v1."));
}

#[test]
fn serve_refuses_a_bad_world_file_naming_the_key() {
    let dir = std::env::temp_dir().join(format!("sandbox-world-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("world.toml");
    std::fs::write(
        &path,
        "[[clusters]]\nname = \"blue\"\nregion = \"eu-west-1\"\n[clusters.external_dns]\nversion = \"v0.22\"\n",
    )
    .expect("write world");
    let output = Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args(["serve", "--world"])
        .arg(&path)
        .output()
        .expect("run serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("clusters[0].external_dns.policy"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}
