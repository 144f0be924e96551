//! `sandbox serve [--world FILE]`: starts the whole sandbox and prints, as its first line on
//! stdout, one JSON object naming every endpoint; runs until SIGINT/SIGTERM.
//! `sandbox kubeconfig --control URL --cluster NAME`: prints a kubeconfig for a running sandbox.
//! `sandbox cutover-config --control URL`: prints a complete cutover.toml for a running sandbox.
//! `sandbox default-world`: prints the built-in world file.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use sandbox::route53::Route53Options;
use sandbox::world::{World, DEFAULT_WORLD_TOML};
use sandbox::{Sandbox, SandboxOptions};

#[derive(Parser)]
#[command(
    name = "sandbox",
    about = "A local Route53, EKS, Kubernetes API, external-dns and load balancers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start everything and print the endpoints as one JSON line.
    Serve {
        /// A world file (TOML); the built-in world when absent.
        #[arg(long)]
        world: Option<PathBuf>,
        /// Do not run the external-dns loops by themselves (reconcile through the control API).
        #[arg(long)]
        no_external_dns_loops: bool,
        /// Seconds of simulated time a Route53 change stays PENDING.
        #[arg(long, default_value_t = 2.0)]
        insync_after_seconds: f64,
        /// Route53 requests per second (account-wide); 0 disables the limit.
        #[arg(long, default_value_t = 5.0)]
        rate_limit: f64,
        /// Write a complete cutover.toml for this sandbox to FILE once it has started.
        #[arg(long, value_name = "FILE")]
        cutover_config: Option<PathBuf>,
    },
    /// Print a complete cutover.toml for a running sandbox (zones, clusters, services).
    CutoverConfig {
        /// The control API URL printed by `sandbox serve`.
        #[arg(long, env = "SANDBOX_CONTROL_URL")]
        control: String,
    },
    /// Print a kubeconfig (with an EKS token) for a cluster of a running sandbox.
    Kubeconfig {
        /// The control API URL printed by `sandbox serve`.
        #[arg(long, env = "SANDBOX_CONTROL_URL")]
        control: String,
        #[arg(long)]
        cluster: String,
    },
    /// Print the simulated clock of a running sandbox, or move it forward (`--advance 90`).
    Clock {
        /// The control API URL printed by `sandbox serve`.
        #[arg(long, env = "SANDBOX_CONTROL_URL")]
        control: String,
        /// Seconds to move the simulated clock forward.
        #[arg(long, value_name = "SECONDS")]
        advance: Option<f64>,
    },
    /// Print the built-in world file.
    DefaultWorld,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve {
            world,
            no_external_dns_loops,
            insync_after_seconds,
            rate_limit,
            cutover_config,
        } => {
            let options = serve_options(!no_external_dns_loops, insync_after_seconds, rate_limit)?;
            serve(world, options, cutover_config).await
        }
        Command::CutoverConfig { control } => {
            print!("{}", http_get(&control, "/cutover-config").await?);
            Ok(())
        }
        Command::Kubeconfig { control, cluster } => {
            let text = http_get(&control, &format!("/clusters/{cluster}/kubeconfig")).await?;
            println!("{text}");
            Ok(())
        }
        Command::Clock { control, advance } => {
            let answer = match advance {
                None => http_request(&control, "GET", "/clock", None).await?,
                Some(seconds) => {
                    let body = serde_json::json!({ "seconds": seconds }).to_string();
                    http_request(&control, "POST", "/clock/advance", Some(&body)).await?
                }
            };
            println!("{}", answer.trim_end());
            Ok(())
        }
        Command::DefaultWorld => {
            print!("{}", DEFAULT_WORLD_TOML.trim_start());
            Ok(())
        }
    }
}

fn serve_options(
    loops: bool,
    insync_after: f64,
    rate_limit: f64,
) -> anyhow::Result<SandboxOptions> {
    let insync_after = Duration::try_from_secs_f64(insync_after)
        .context("--insync-after-seconds: must be a non-negative number")?;
    if !(rate_limit.is_finite() && rate_limit >= 0.0) {
        bail!("--rate-limit: must be a non-negative number");
    }
    Ok(SandboxOptions {
        run_external_dns_loops: loops,
        route53: Route53Options {
            insync_after,
            rate_limit_per_second: (rate_limit > 0.0).then_some(rate_limit),
            ..Route53Options::default()
        },
    })
}

async fn serve(
    world: Option<PathBuf>,
    options: SandboxOptions,
    cutover_config: Option<PathBuf>,
) -> anyhow::Result<()> {
    let world = match world {
        Some(path) => World::load(&path)?,
        None => World::default_world(),
    };
    let sandbox = Sandbox::start(world, options).await?;
    if let Some(path) = cutover_config {
        let text = sandbox::cutover_config::render(
            &sandbox.handles(),
            &sandbox::cutover_config::ConfigOptions::default(),
        );
        std::fs::write(&path, text)
            .with_context(|| format!("--cutover-config: cannot write {}", path.display()))?;
    }
    let endpoints = sandbox.endpoints();
    let line = json!({
        "route53": endpoints.route53,
        "eks": endpoints.eks,
        "cloudwatch": endpoints.cloudwatch,
        "sns": endpoints.sns,
        "sts": endpoints.sts,
        "control": endpoints.control,
        "clusters": endpoints.clusters,
        "credentials": {
            "access_key_id": sandbox::ACCESS_KEY_ID,
            "secret_access_key": sandbox::SECRET_ACCESS_KEY,
            "region": sandbox::DEFAULT_REGION,
        },
    });
    let mut stdout = tokio::io::stdout();
    stdout.write_all(format!("{line}\n").as_bytes()).await?;
    stdout.flush().await?;
    wait_for_signal().await?;
    sandbox.shutdown();
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("waiting for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}

/// A plain HTTP/1.1 GET to the sandbox's control API (loopback only); returns the body.
async fn http_get(base: &str, path: &str) -> anyhow::Result<String> {
    http_request(base, "GET", path, None).await
}

/// One HTTP/1.1 request to the sandbox's control API (loopback only); returns the body.
async fn http_request(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> anyhow::Result<String> {
    let url = url::Url::parse(base).with_context(|| format!("--control: `{base}` is not a URL"))?;
    let host = url.host_str().unwrap_or_default();
    if !matches!(host, "127.0.0.1" | "[::1]" | "::1" | "localhost") {
        bail!("--control: `{base}` is not a loopback address");
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let mut stream = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .with_context(|| format!("connecting to {base}"))?;
    let body = body.unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("malformed HTTP response from the control API")?;
    let status = head.split_whitespace().nth(1).unwrap_or_default();
    if status != "200" {
        bail!("{path}: HTTP {status}: {body}");
    }
    Ok(body.to_string())
}
