//! The AWS-facing clients, created once per cold start from the standard SDK environment, and
//! the configuration loaded at start: the wiring shared by the Lambda and the CLI.

use std::sync::Arc;
use std::time::Duration;

use cutover_core::config::{Config, ConfigError};

use crate::engine::Context;
use crate::observe::clock::{Clock, SystemClock};
use crate::observe::health::HttpProber;
use crate::observe::kubernetes::{EksClusterSources, DEFAULT_READ_TIMEOUT};
use crate::observe::ratelimit::DEFAULT_REQUESTS_PER_SECOND;
use crate::observe::route53::SdkRoute53;

/// Loads and validates the whole configuration, when a path is given (`--config` or
/// `CUTOVER_CONFIG`). A bad config stops cutover with the key and the reason (docs/design.md §8).
pub fn load_config(path: Option<&std::path::Path>) -> Result<Option<Config>, ConfigError> {
    let mut config = path.map(load_file).transpose()?;
    if let Some(config) = config.as_mut() {
        accept_topics_from_env(config);
    }
    Ok(config)
}

/// The deploy topic created with the function is accepted too: its ARN comes from the
/// environment (`CUTOVER_ACCEPTED_TOPIC_ARNS`, comma-separated), set by the template.
fn accept_topics_from_env(config: &mut Config) {
    let Ok(list) = std::env::var("CUTOVER_ACCEPTED_TOPIC_ARNS") else {
        return;
    };
    for arn in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        if !config.sns_topic_arns.iter().any(|known| known == arn) {
            config.sns_topic_arns.push(arn.to_string());
        }
    }
}

/// The AWS-facing clients, created once per cold start (docs/reference/lambda-and-eks.md "Lambda
/// handler") from the standard SDK environment (`AWS_REGION`, `AWS_ENDPOINT_URL_ROUTE_53`,
/// `AWS_ENDPOINT_URL_EKS`, credentials…).
#[derive(Debug, Clone)]
pub struct Clients {
    pub route53: Arc<SdkRoute53>,
    pub sources: Arc<EksClusterSources>,
    pub prober: Arc<HttpProber>,
    /// The engine's clock and the EKS tokens' signing time: the system clock, or the sandbox's
    /// for a CLI rehearsal (docs/sandbox.md "Rehearsing with the CLI").
    pub clock: Arc<dyn Clock>,
}

impl Clients {
    pub async fn from_env(route53_requests_per_second: f64, kube_read_timeout: Duration) -> Self {
        Clients::from_env_with_clock(
            route53_requests_per_second,
            kube_read_timeout,
            Arc::new(SystemClock),
        )
        .await
    }

    pub async fn from_env_with_clock(
        route53_requests_per_second: f64,
        kube_read_timeout: Duration,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let sdk_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        Clients {
            route53: Arc::new(SdkRoute53::new(
                aws_sdk_route53::Client::new(&sdk_config),
                route53_requests_per_second,
            )),
            sources: Arc::new(
                EksClusterSources::new(sdk_config, kube_read_timeout).with_clock(clock.clone()),
            ),
            prober: Arc::new(HttpProber::default()),
            clock,
        }
    }

    pub async fn from_env_with_defaults() -> Self {
        Clients::from_env(DEFAULT_REQUESTS_PER_SECOND, DEFAULT_READ_TIMEOUT).await
    }

    /// The engine's context over these clients, the validated config and their clock.
    pub fn context(&self, config: Arc<Config>) -> Context {
        Context {
            config,
            route53: self.route53.clone(),
            sources: self.sources.clone(),
            prober: self.prober.clone(),
            clock: self.clock.clone(),
        }
    }
}

/// Reads and validates the file at `path`.
fn load_file(path: &std::path::Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
        path: path.display().to_string(),
        reason: format!("cannot read: {e}"),
    })?;
    Config::parse(&text)
}
