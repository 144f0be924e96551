//! The `cutover` binary: the Lambda handler when `AWS_LAMBDA_RUNTIME_API` is set, a local CLI
//! otherwise. Both hand one JSON payload to the same handler, `engine::handle`.

use std::process::ExitCode;

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
        runtime.block_on(cutover::lambda::run())
    } else {
        runtime.block_on(cutover::cli::run())
    }
}
