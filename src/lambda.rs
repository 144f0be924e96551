//! The Lambda: JSON logs when `AWS_LAMBDA_LOG_FORMAT=JSON` (`AWS_LAMBDA_LOG_LEVEL` / `RUST_LOG`
//! for the level), clients created once per cold start, every event answered with a JSON report.

use std::process::ExitCode;
use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

use crate::clients::{load_config, Clients};
use crate::engine::retry::Deadline;
use crate::engine::{self, ReportBody, TypedAnswer};
use crate::events;
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
            let deadline = invocation_deadline(&event.context);
            let asynchronous = events::is_asynchronous(&event.payload);
            let answer = engine::answer_until(&ctx, event.payload, deadline).await;
            answer_to_lambda(answer, asynchronous)
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

/// The invocation's deadline from Lambda's context (`Lambda-Runtime-Deadline-Ms`).
fn invocation_deadline(context: &lambda_runtime::Context) -> Deadline {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Deadline::from_epoch_millis(context.deadline, now_ms)
}

/// An asynchronous event whose work failed for a transient reason is answered with an error, so
/// that Lambda retries it and, after its retries, hands it to the on-failure destination (the
/// SNS MessageId and the command id make the retry safe: docs/design.md §6, §7.8). Everything
/// else — done, refused, or a synchronous invoke whose caller reads the report — is answered with
/// the report; a refusal is not retried, because a retry would be refused again. The report goes
/// to the runtime typed, which serializes it straight into the response.
fn answer_to_lambda(
    answer: TypedAnswer,
    asynchronous: bool,
) -> Result<ReportBody, lambda_runtime::Error> {
    if asynchronous && answer.retry {
        let report = serde_json::to_string(&answer.report)
            .unwrap_or_else(|e| format!("(the report cannot be written: {e})"));
        tracing::error!(outcome = %answer.outcome, %report, "transient failure; Lambda retries the event");
        return Err(format!(
            "cutover: transient failure ({}); Lambda retries this event. Report: {report}",
            answer.outcome
        )
        .into());
    }
    Ok(answer.report)
}
