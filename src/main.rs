//! The `cutover` binary: the Lambda handler when `AWS_LAMBDA_RUNTIME_API` is set, a local CLI
//! otherwise. Both hand one JSON payload to the same handler (`cli::dispatch` → `engine::handle`).

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use cutover::cli::{default_cli_actor, dispatch, load_config, report_has_error, Cli, Clients};
use cutover::kubernetes::DEFAULT_READ_TIMEOUT;
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
    // A bad or missing config stops the function at start (PRODUCT.md §8).
    let path = std::env::var_os("CUTOVER_CONFIG").map(std::path::PathBuf::from);
    let config = match load_config(path.as_deref()) {
        Ok(Some(config)) => config,
        Ok(None) => {
            tracing::error!("CUTOVER_CONFIG: not set (the path of cutover.toml)");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            tracing::error!(error = %e, "invalid configuration");
            return ExitCode::FAILURE;
        }
    };
    let clients = Clients::from_env(config.rate_limit, DEFAULT_READ_TIMEOUT).await;
    let ctx = Arc::new(clients.context(Arc::new(config)));
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let ctx = ctx.clone();
        async move {
            let report = dispatch(&ctx, event.payload).await;
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
    let config = match load_config(cli.config.as_deref()) {
        Ok(Some(config)) => config,
        Ok(None) => {
            eprintln!("cutover: --config or CUTOVER_CONFIG: not set (the path of cutover.toml)");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("cutover: {e}");
            return ExitCode::FAILURE;
        }
    };
    let payload = match cli.command.payload(&default_cli_actor()) {
        Ok(payload) => payload,
        Err(e) => {
            eprintln!("cutover: {e}");
            return ExitCode::FAILURE;
        }
    };
    let clients = Clients::from_env(config.rate_limit, DEFAULT_READ_TIMEOUT).await;
    let ctx = clients.context(Arc::new(config));
    let report = dispatch(&ctx, payload).await;
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

fn init_cli_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
