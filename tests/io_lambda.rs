//! The binary as a Lambda: a fake Lambda Runtime API on loopback hands it one event and receives
//! its JSON answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::mpsc;

struct Runtime {
    events: Mutex<Vec<Value>>,
    served: AtomicUsize,
    answers: mpsc::UnboundedSender<(String, String, Value)>,
}

async fn next(State(rt): State<Arc<Runtime>>) -> impl IntoResponse {
    let event = rt.events.lock().unwrap().pop();
    let Some(event) = event else {
        // No more events: hold the poll until the test ends.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return (HeaderMap::new(), String::new());
    };
    let n = rt.served.fetch_add(1, Ordering::SeqCst);
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        format!("req-{n}").parse().unwrap(),
    );
    // Eight seconds from now, as Lambda would give a short function: retries of an unreachable
    // Route53 end by then.
    let deadline_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 8_000;
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline_ms.to_string().parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:cutover"
            .parse()
            .unwrap(),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000".parse().unwrap(),
    );
    (headers, event.to_string())
}

async fn answer(
    State(rt): State<Arc<Runtime>>,
    Path((id, kind)): Path<(String, String)>,
    body: String,
) -> impl IntoResponse {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let _ = rt.answers.send((id, kind, value));
    axum::http::StatusCode::ACCEPTED
}

const CONFIG: &str = r#"
lease_owner_id = "cutover"
sns_topic_arns = ["arn:aws:sns:us-east-1:123456789012:cutover-deploys"]
rate_limit = 2.0

[[zones]]
id = "Z0123456789ABC"
name = "example.com"

[clusters.blue]
eks_name = "prod-blue"
region = "us-east-1"
owner_id = "blue"
external_dns_version = "0.14"

[clusters.green]
eks_name = "prod-green"
region = "us-east-1"
owner_id = "green"
external_dns_version = "0.14"

[services.payments]
hostname = "payments.example.com"
from = "blue"
to = "green"
"#;

fn write_config(text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cutover-io-lambda-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let path = dir.join(format!(
        "cutover-{}.toml",
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::write(&path, text).unwrap();
    path
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn lambda_command(runtime_api: &str, config: &std::path::Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"));
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "cutover")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("CUTOVER_CONFIG", config)
        .env("AWS_REGION", "us-east-1")
        // Every AWS call goes to a closed loopback port: nothing leaves the machine.
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", closed_port()),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn a_bad_config_stops_the_function_at_start_naming_the_key() {
    let path = write_config(&CONFIG.replace("rate_limit = 2.0", "rate_limit = 9.0"));
    let output = lambda_command("127.0.0.1:9", &path)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(logs.contains("invalid configuration"), "{logs}");
    assert!(logs.contains("rate_limit"), "the key is named: {logs}");
}

#[tokio::test]
async fn the_lambda_answers_each_event_with_a_json_report() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let runtime = Arc::new(Runtime {
        // Served last-first.
        events: Mutex::new(vec![
            serde_json::from_str(
                &std::fs::read_to_string(
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("events/sns-deployed.json"),
                )
                .unwrap(),
            )
            .unwrap(),
            json!({"hello": "world"}),
            json!({"action": "rollback", "service": "payments", "actor": "alice", "reason": "5xx"}),
        ]),
        served: AtomicUsize::new(0),
        answers: tx,
    });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(answer))
        .with_state(runtime);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let config = write_config(CONFIG);
    let mut child = lambda_command(&addr.to_string(), &config).spawn().unwrap();

    let mut answers = Vec::new();
    for _ in 0..3 {
        let got = tokio::select! {
            got = rx.recv() => got.expect("channel open"),
            status = child.wait() => panic!("the function exited: {status:?}"),
            _ = tokio::time::sleep(Duration::from_secs(120)) => panic!("no answer"),
        };
        answers.push(got);
    }
    let _ = child.kill().await;

    let (id, kind, report) = &answers[0];
    assert_eq!((id.as_str(), kind.as_str()), ("req-0", "response"));
    assert_eq!(report["action"], json!("rollback"), "{report}");
    assert_eq!(report["actor"], json!("alice"));
    assert_eq!(report["reason"], json!("5xx"));
    // The typed report reaches the runtime with what a report carries at its top: the outcome.
    assert_eq!(report["outcome"], json!("failed"), "{report}");
    // Route53 is unreachable here: the manual command (a synchronous invoke, whose caller reads
    // the report) is answered with a report that names the zone and the service not decided.
    let entry = &report["services"][0];
    assert_eq!(entry["transient"], json!(true), "{report}");
    assert!(
        entry["error"]
            .as_str()
            .is_some_and(|e| e.contains("listing zone Z0123456789ABC") && e.contains("payments")),
        "{report}"
    );

    // A payload of no known shape is answered (not failed: a retry would not help) with the
    // error naming what is wrong.
    let (id, kind, report) = &answers[1];
    assert_eq!((id.as_str(), kind.as_str()), ("req-1", "response"));
    assert_eq!(report["error"]["field"], json!("payload"));
    assert_eq!(report["outcome"], json!("refused"), "{report}");

    // The SNS deploy event (asynchronous) could not be worked on for a transient reason: it is
    // answered with an error, so that Lambda retries it and then sends it to the on-failure
    // destination.
    let (id, kind, error) = &answers[2];
    assert_eq!((id.as_str(), kind.as_str()), ("req-2", "error"), "{error}");
    let message = error["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("Lambda retries this event"), "{error}");
    assert!(message.contains("deployed v42 on green"), "{error}");
}
