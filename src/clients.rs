//! The AWS-facing clients, created once per cold start from the standard SDK environment, and
//! the configuration loaded at start: the wiring shared by the Lambda and the CLI.

use std::sync::Arc;
use std::time::Duration;

use cutover_core::config::{Config, ConfigError};

use crate::emf;
use crate::engine::{Context, TrafficPorts};
use crate::notify::SdkSns;
use crate::observe::accounts::Accounts;
use crate::observe::clock::{Clock, SystemClock};
use crate::observe::cloudwatch::SdkCloudWatch;
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
        notification_topic_from_env(config);
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

/// The notification topic created with the function (`CUTOVER_NOTIFICATION_TOPIC_ARN`, set by
/// the template) is used when the config names none.
fn notification_topic_from_env(config: &mut Config) {
    if config.notification_topic_arn.is_some() {
        return;
    }
    if let Ok(arn) = std::env::var("CUTOVER_NOTIFICATION_TOPIC_ARN") {
        let arn = arn.trim();
        if !arn.is_empty() {
            config.notification_topic_arn = Some(arn.to_string());
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
    pub cloudwatch: Arc<SdkCloudWatch>,
    pub sns: Arc<SdkSns>,
    /// The credentials of the roles zones and clusters name, cached for the clients' life.
    pub accounts: Arc<Accounts>,
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
        // STS (`AWS_ENDPOINT_URL_STS` for a local rehearsal) with the function's own credentials:
        // they only assume the roles zones and clusters name.
        let accounts = Arc::new(Accounts::new(
            sdk_config.clone(),
            sdk_config.clone(),
            route53_requests_per_second,
        ));
        Clients {
            route53: Arc::new(SdkRoute53::new(
                aws_sdk_route53::Client::new(&sdk_config),
                route53_requests_per_second,
            )),
            sources: Arc::new(
                EksClusterSources::new(sdk_config.clone(), kube_read_timeout)
                    .with_clock(clock.clone())
                    .with_accounts(accounts.clone()),
            ),
            prober: Arc::new(HttpProber::default()),
            clock,
            // The same SDK config as Route53's: endpoints (`AWS_ENDPOINT_URL_CLOUDWATCH`,
            // `AWS_ENDPOINT_URL_SNS`), region and credentials from the standard environment.
            cloudwatch: Arc::new(SdkCloudWatch::new(aws_sdk_cloudwatch::Client::new(
                &sdk_config,
            ))),
            sns: Arc::new(SdkSns::new(aws_sdk_sns::Client::new(&sdk_config))),
            accounts,
        }
    }

    pub async fn from_env_with_defaults() -> Self {
        Clients::from_env(DEFAULT_REQUESTS_PER_SECOND, DEFAULT_READ_TIMEOUT).await
    }

    /// The engine's context over these clients, the validated config and their clock.
    pub fn context(&self, config: Arc<Config>) -> Context {
        Context {
            route53: Arc::new(self.accounts.route53(&config, self.route53.clone())),
            config,
            sources: self.sources.clone(),
            prober: self.prober.clone(),
            clock: self.clock.clone(),
            traffic: TrafficPorts {
                cloudwatch: Some(self.cloudwatch.clone()),
                notifier: Some(self.sns.clone()),
                metrics: None,
            },
        }
    }

    /// `context`, also writing cutover's own metrics (EMF) to stdout: in Lambda, where stdout
    /// goes to CloudWatch Logs (docs/reference/cloudwatch.md "Embedded Metric Format").
    pub fn lambda_context(&self, config: Arc<Config>) -> Context {
        let mut ctx = self.context(config);
        ctx.traffic.metrics = Some(Arc::new(emf::Stdout));
        ctx
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
