//! The Lambda: JSON logs when `AWS_LAMBDA_LOG_FORMAT=JSON` (`AWS_LAMBDA_LOG_LEVEL` / `RUST_LOG`
//! for the level), clients created once per cold start, every event answered with a JSON report.

use std::process::ExitCode;
use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

use crate::clients::{load_config, Clients};
use crate::engine;
use crate::observe::kubernetes::DEFAULT_READ_TIMEOUT;

/// The Lambda: JSON logs when `AWS_LAMBDA_LOG_FORMAT=JSON` (`AWS_LAMBDA_LOG_LEVEL` / `RUST_LOG`
/// for the level), clients created once per cold start, every event answered with a JSON report.
pub async fn run() -> ExitCode {
    lambda_runtime::tracing::init_default_subscriber();
    // A bad or missing config stops the function at start (docs/design.md §8).
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
    let ctx = Arc::new(clients.lambda_context(Arc::new(config)));
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let ctx = ctx.clone();
        async move {
            let report = engine::handle(&ctx, event.payload).await;
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
