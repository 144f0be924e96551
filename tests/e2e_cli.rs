//! The real `cutover` binary against `sandbox serve`, as a platform team rehearses
//! (docs/sandbox.md "Rehearsing with the CLI"): the config the sandbox writes, the sandbox's
//! simulated clock (`--clock sandbox:URL`), a whole canary from start to completion, and the exit
//! codes a script relies on — 0 done, 1 failed (a retry may help), 2 refused, 3 partially done.
//!
//! Nothing here waits on the wall clock: bake windows pass by moving the sandbox's clock, and
//! every loop is bounded by a count of ticks, not by time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::{json, Value};

/// A running `sandbox serve` with the cutover.toml it wrote; killed on drop.
struct Served {
    child: Child,
    dir: PathBuf,
    line: Value,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The sandbox binary is built beside cutover's (`cargo nextest run --workspace` builds both).
fn sandbox_binary() -> PathBuf {
    let cutover = Path::new(env!("CARGO_BIN_EXE_cutover"));
    let path = cutover.with_file_name(format!("sandbox{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} not built: run the tests with --workspace (README)",
        path.display()
    );
    path
}

/// `sandbox serve` with its external-dns run only when the test asks (`reconcile`), so that
/// injected faults and each reconcile's report belong to the step that caused them.
fn serve(name: &str) -> Served {
    let dir = std::env::temp_dir().join(format!("cutover-e2e-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("cutover.toml");
    let mut child = Command::new(sandbox_binary())
        .args(["serve", "--no-external-dns-loops", "--cutover-config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn sandbox serve");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .expect("read the first line");
    let line: Value = serde_json::from_str(&first)
        .unwrap_or_else(|e| panic!("first line is not JSON ({e}): {first:?}"));
    Served { child, dir, line }
}

impl Served {
    fn control(&self) -> String {
        self.line["control"].as_str().unwrap().to_string()
    }

    fn config(&self) -> PathBuf {
        self.dir.join("cutover.toml")
    }

    /// `cutover --config … --clock sandbox:… ARGS`, with only the sandbox's standard variables.
    fn cutover(&self, args: &[&str]) -> Output {
        let clock = format!("sandbox:{}", self.control());
        let mut command = Command::new(env!("CARGO_BIN_EXE_cutover"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env(
                "AWS_ENDPOINT_URL_ROUTE_53",
                self.line["route53"].as_str().unwrap(),
            )
            .env("AWS_ENDPOINT_URL_EKS", self.line["eks"].as_str().unwrap())
            .env("AWS_ACCESS_KEY_ID", sandbox::ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", sandbox::SECRET_ACCESS_KEY)
            .env("AWS_REGION", "us-east-1")
            .env("USER", "rehearsal")
            .arg("--config")
            .arg(self.config())
            .args(["--clock", &clock])
            .args(args);
        command.output().expect("run cutover")
    }

    /// Runs cutover and returns (exit code, JSON report).
    fn run(&self, args: &[&str]) -> (i32, Value) {
        let out = self.cutover(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: stdout is not a JSON report ({e}):\n{stdout}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().expect("exit code"), report)
    }

    fn advance_clock(&self, seconds: u32) {
        let out = Command::new(sandbox_binary())
            .args(["clock", "--control", &self.control(), "--advance"])
            .arg(seconds.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    async fn control_json(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = reqwest::Client::new()
            .request(method, format!("{}{path}", self.control()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        let text = response.text().await.unwrap();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Runs both clusters' external-dns once and checks neither touched `service`'s records:
    /// cutover's parked and handed-back records are never fought over.
    async fn reconcile_leaves_alone(&self, service: &str) {
        let reports = self
            .control_json(
                reqwest::Method::POST,
                "/external-dns/reconcile",
                Value::Null,
            )
            .await;
        for cluster in ["blue", "green"] {
            for field in ["created", "updated", "deleted", "failed"] {
                let touched: Vec<&Value> = reports[cluster][field]
                    .as_array()
                    .unwrap_or_else(|| panic!("{cluster}.{field} missing in {reports}"))
                    .iter()
                    .filter(|c| c.to_string().contains(service))
                    .collect();
                assert!(
                    touched.is_empty(),
                    "{cluster} external-dns {field}: {touched:?}"
                );
            }
        }
    }
}

fn service<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["service"] == name))
        .unwrap_or_else(|| panic!("no {name} in {report:#}"))
}

#[tokio::test]
async fn a_whole_canary_rehearsed_with_the_real_cli_and_the_sandbox_clock() {
    let served = serve("canary");

    // The generated config works as written.
    let (code, report) = served.run(&["status"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outcome"], "done");
    assert_eq!(
        report["services"].as_array().unwrap().len(),
        3,
        "{report:#}"
    );

    let (code, report) = served.run(&[
        "start",
        "checkout",
        "--actor",
        "alice",
        "--reason",
        "rehearsal",
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(service(&report, "checkout")["kind"], "start");
    assert_eq!(service(&report, "checkout")["applied"], true);

    // Move the sandbox clock past each bake and tick, as the schedule would; bounded by count.
    let mut seen_weights = Vec::new();
    let mut completing = None;
    for _ in 0..20 {
        served.advance_clock(120);
        let (code, report) = served.run(&["tick", "checkout"]);
        assert_eq!(code, 0, "{report:#}");
        served.reconcile_leaves_alone("checkout").await;
        let checkout = service(&report, "checkout");
        if checkout["kind"] == "advance" {
            seen_weights.push(checkout["weights_after"]["to"].as_u64().unwrap());
        }
        if checkout["summary"]
            .as_str()
            .unwrap()
            .starts_with("completing")
        {
            completing = Some(checkout.clone());
            break;
        }
    }
    assert_eq!(
        seen_weights,
        [5, 25, 50, 100],
        "the generated rollout's steps, in order"
    );
    let completing = completing.expect("the canary reached completing within 20 ticks");
    let waits = completing["waits_for"].as_str().unwrap();
    assert!(waits.contains("delete Ingress default/checkout"), "{waits}");

    // The team does what the report asks in each cluster, then the next tick completes.
    served
        .control_json(
            reqwest::Method::PUT,
            "/clusters/green/ingresses/default/checkout",
            json!({"hosts": ["checkout.example.com"], "load_balancer": "k8s-green-ingress",
                   "annotations": {"external-dns.kubernetes.io/set-identifier": "checkout-green",
                                   "external-dns.kubernetes.io/aws-weight": "100"}}),
        )
        .await;
    served
        .control_json(
            reqwest::Method::DELETE,
            "/clusters/blue/ingresses/default/checkout",
            Value::Null,
        )
        .await;
    let (code, report) = served.run(&["tick", "checkout"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        service(&report, "checkout")["kind"],
        "complete",
        "{report:#}"
    );

    let (code, report) = served.run(&["status", "checkout"]);
    assert_eq!(code, 0);
    let summary = service(&report, "checkout")["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("completed: blue → green at 100%"),
        "{summary}"
    );

    // Green's external-dns owns its key again and finds nothing to change; blue's has no
    // Ingress for it and nothing of its own left to delete.
    served.reconcile_leaves_alone("checkout").await;
}

#[tokio::test]
async fn exit_codes_say_done_failed_refused_or_partial() {
    let served = serve("exit-codes");

    // 0: done, including a no-op and a dry run.
    let (code, report) = served.run(&["tick"]);
    assert_eq!(
        (code, report["outcome"].as_str()),
        (0, Some("done")),
        "{report:#}"
    );
    let (code, _) = served.run(&["start", "search", "--dry-run"]);
    assert_eq!(code, 0);

    // 2: refused — a precondition not met (payments has no Ingress in green), named.
    let (code, report) = served.run(&["start", "payments"]);
    assert_eq!(
        (code, report["outcome"].as_str()),
        (2, Some("refused")),
        "{report:#}"
    );
    let summary = service(&report, "payments")["summary"].as_str().unwrap();
    assert!(
        summary.contains("in cluster green claims payments.example.com"),
        "{summary}"
    );
    assert!(
        service(&report, "payments").get("transient").is_none(),
        "{report:#}"
    );

    // 2: refused — bad input, with the field named in words.
    let (code, report) = served.run(&["pause", "ghostshop"]);
    assert_eq!(code, 2, "{report:#}");
    let message = report["errors"][0]
        .as_str()
        .or(report["error"]["message"].as_str())
        .unwrap();
    assert!(
        message.contains("unknown service \"ghostshop\""),
        "{message}"
    );
    assert_eq!(
        cutover_core::text::debug_notation(message),
        None,
        "{message}"
    );

    // 2: refused — the zone's listing was refused (access denied): every service it holds is
    // named as not decided, with the zone, and a retry would be refused again.
    served
        .control_json(
            reqwest::Method::POST,
            "/route53/faults",
            json!({"fail_next_list": {"code": "AccessDenied", "message": "listing denied"}}),
        )
        .await;
    let (code, report) = served.run(&["tick"]);
    assert_eq!(
        (code, report["outcome"].as_str()),
        (2, Some("refused")),
        "{report:#}"
    );
    for name in ["checkout", "payments", "search"] {
        let s = service(&report, name);
        let error = s["error"].as_str().unwrap();
        assert!(error.contains("listing denied"), "{name}: {error}");
        assert!(error.contains("zone"), "{name}: {error}");
        assert!(s.get("transient").is_none(), "{name}: {s:#}");
    }

    // 1: failed for a reason a retry may fix — Route53 applied the start of checkout but its
    // answer was lost (a 500), and the zone could not be read again to tell: not known, so not
    // refused; a retry finds the change in the zone.
    served
        .control_json(
            reqwest::Method::POST,
            "/route53/faults",
            json!({
                "lose_next_change_answer": {"code": "InternalFailure", "message": "answer lost"},
                "fail_next_list": {"code": "AccessDenied", "message": "re-read denied", "skip": 1},
            }),
        )
        .await;
    let (code, report) = served.run(&["start", "checkout"]);
    assert_eq!(
        (code, report["outcome"].as_str()),
        (1, Some("failed")),
        "{report:#}"
    );
    let s = service(&report, "checkout");
    assert_eq!(s["transient"], true, "{s:#}");
    assert!(
        s["error"]
            .as_str()
            .unwrap_or_default()
            .contains("answer lost"),
        "{s:#}"
    );

    // 3: partially done — an SNS batch whose first record starts a migration and whose second
    // names a service cutover does not know.
    let mut batch = support::sns_deploy("m-1", "search", "green");
    let bad = support::sns_deploy("m-2", "ghostshop", "green")["Records"][0].clone();
    batch["Records"].as_array_mut().unwrap().push(bad);
    let event = served.dir.join("batch.json");
    std::fs::write(&event, batch.to_string()).unwrap();
    let (code, report) = served.run(&["invoke", event.to_str().unwrap()]);
    assert_eq!(
        (code, report["outcome"].as_str()),
        (3, Some("partial")),
        "{report:#}"
    );
    let records = report["records"].as_array().unwrap();
    assert_eq!(
        service(&records[0], "search")["applied"],
        true,
        "{report:#}"
    );
    let refused = records[1]["errors"][0].as_str().unwrap();
    assert!(
        refused.starts_with("service: unknown service \"ghostshop\""),
        "{refused}"
    );
}

#[test]
fn a_bad_config_or_clock_is_refused_before_anything_is_read() {
    let dir = std::env::temp_dir().join(format!("cutover-e2e-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("cutover.toml");
    std::fs::write(
        &config,
        "lease_owner_id = \"cutover\"\n[clusters.blue]\nregion = 3\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cutover"))
            .env_remove("CUTOVER_CONFIG")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--config", config.to_str().unwrap(), "status"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("clusters.blue"), "{stderr}");
    assert!(out.stdout.is_empty());

    let out = run(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--config or CUTOVER_CONFIG"));

    // A simulated clock is only followed on loopback.
    let out = run(&[
        "--config",
        config.to_str().unwrap(),
        "--clock",
        "sandbox:http://192.0.2.1:9",
        "status",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("loopback"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn completions_and_the_manual_page_come_from_the_command_line_itself() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        for sub in [
            "promote-full",
            "set-weight",
            "iam-record-names",
            "clock",
            "table",
        ] {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("man")
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH cutover 1"),
        "{page}"
    );
    assert!(page.contains("rollback"), "{page}");
}
