//! The `cutover` binary: the Lambda handler when `AWS_LAMBDA_RUNTIME_API` is set, a local CLI
//! otherwise. Both hand one JSON payload to the same handler (`cli::dispatch`).

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use cutover::cli::{default_cli_actor, dispatch, Cli, Clients};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cutover: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        runtime.block_on(run_lambda())
    } else {
        runtime.block_on(run_cli())
    }
}

/// The Lambda: JSON logs when `AWS_LAMBDA_LOG_FORMAT=JSON` (`AWS_LAMBDA_LOG_LEVEL` / `RUST_LOG`
/// for the level), clients created once per cold start, every event answered with a JSON report.
async fn run_lambda() -> ExitCode {
    lambda_runtime::tracing::init_default_subscriber();
    let clients = Arc::new(Clients::from_env_with_defaults().await);
    // Accepted SNS topics come from the config once it is wired; none until then.
    let accepted_topics: Arc<Vec<String>> = Arc::new(Vec::new());
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let clients = clients.clone();
        let topics = accepted_topics.clone();
        async move {
            let report = dispatch(&clients, &topics, event.payload).await;
            Ok::<Value, lambda_runtime::Error>(report)
        }
    });
    match lambda_runtime::run(handler).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// The CLI: logs to stderr (`RUST_LOG`), the JSON report to stdout; exit code 1 when the report
/// carries an error.
async fn run_cli() -> ExitCode {
    init_cli_logging();
    let cli = Cli::parse();
    let payload = match cli.command.payload(&default_cli_actor()) {
        Ok(payload) => payload,
        Err(e) => {
            eprintln!("cutover: {e}");
            return ExitCode::FAILURE;
        }
    };
    let clients = Clients::from_env_with_defaults().await;
    let report = dispatch(&clients, &[], payload).await;
    match serde_json::to_string_pretty(&report) {
        Ok(text) => println!("{text}"),
        Err(e) => {
            eprintln!("cutover: cannot print the report: {e}");
            return ExitCode::FAILURE;
        }
    }
    if report_has_error(&report) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn report_has_error(report: &Value) -> bool {
    report.get("error").is_some()
        || report
            .get("commands")
            .and_then(Value::as_array)
            .is_some_and(|cs| cs.iter().any(|c| c.get("error").is_some()))
}

fn init_cli_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
