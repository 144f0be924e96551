//! The binary as a Lambda: a fake Lambda Runtime API on loopback hands it one event and receives
//! its JSON answer.

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
    headers.insert(
        "lambda-runtime-deadline-ms",
        "4102444800000".parse().unwrap(),
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

#[tokio::test]
async fn the_lambda_answers_each_event_with_a_json_report() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let runtime = Arc::new(Runtime {
        // Served last-first.
        events: Mutex::new(vec![
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

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "cutover")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let mut answers = Vec::new();
    for _ in 0..2 {
        let got = tokio::time::timeout(Duration::from_secs(120), rx.recv())
            .await
            .expect("the function answers")
            .expect("channel open");
        answers.push(got);
    }
    let _ = child.kill().await;

    let (id, kind, report) = &answers[0];
    assert_eq!((id.as_str(), kind.as_str()), ("req-0", "response"));
    assert_eq!(
        report["commands"][0]["command"]["action"]["action"],
        json!("rollback")
    );
    assert_eq!(report["commands"][0]["command"]["actor"], json!("alice"));

    // A payload of no known shape is answered (not failed: a retry would not help) with the
    // error naming what is wrong.
    let (id, kind, report) = &answers[1];
    assert_eq!((id.as_str(), kind.as_str()), ("req-1", "response"));
    assert_eq!(report["error"]["field"], json!("payload"));
}
