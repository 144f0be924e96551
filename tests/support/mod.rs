//! Runs cutover's real handler against a running sandbox: the harness shared by the end-to-end
//! tests, the demo and the benchmark.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use cutover::engine::{self, Context, TrafficPorts};
use cutover::notify::SdkSns;
use cutover::observe::accounts::Accounts;
use cutover::observe::clock::Clock;
use cutover::observe::cloudwatch::SdkCloudWatch;
use cutover::observe::health::{HttpProber, Prober};
use cutover::observe::kubernetes::EksClusterSources;
use cutover::observe::route53::SdkRoute53;
use cutover_core::config::Config;
use sandbox::cluster::{HttpRoute, Ingress, Service};
use sandbox::route53::Rrset;
use sandbox::world::World;
use sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};

/// The SNS topic the generated configs accept deploy events from.
pub const TOPIC_ARN: &str = sandbox::cutover_config::DEPLOY_TOPIC_ARN;

/// A canary of four steps, short bakes (the floor is the ELB alias's 60 s + the allowance).
pub const FAST_ROLLOUT: &str = r#"
[defaults]
strategy = "canary"
steps = [{ percent = 5, bake = "2m" }, { percent = 25, bake = "2m" }, { percent = 50, bake = "2m" }, { percent = 100, bake = "2m" }]
failure_threshold = 2
propagation_allowance = "30s"

[defaults.health_check]
scheme = "http"
path = "/healthz"
timeout = "5s"
samples = 3
allowed_failures = 0
"#;

pub struct Harness {
    pub sandbox: Sandbox,
    pub world: World,
    pub ctx: Context,
    pub route53: Arc<SdkRoute53>,
    pub config_toml: String,
}

/// One migration to configure: service name, from, to.
pub type ServiceSpec<'a> = (&'a str, &'a str, &'a str);

impl Harness {
    /// Starts the sandbox from `world` (external-dns loops off: the caller runs them, so every
    /// step is deterministic) and builds cutover's context against it.
    pub async fn start(world: World, services: &[ServiceSpec<'_>], rollout: &str) -> Harness {
        let options = SandboxOptions {
            run_external_dns_loops: false,
            ..SandboxOptions::default()
        };
        let sandbox = Sandbox::start(world.clone(), options)
            .await
            .expect("sandbox starts");
        let config_toml = cutover_toml(&sandbox, &world, services, rollout);
        let config = Arc::new(
            Config::parse(&config_toml)
                .unwrap_or_else(|e| panic!("generated config is valid: {e}\n{config_toml}")),
        );
        let (ctx, route53) = context(&sandbox, config).await;
        Harness {
            sandbox,
            world,
            ctx,
            route53,
            config_toml,
        }
    }

    /// `start`, with the generated cutover.toml passed through `edit` and environment variables
    /// (e.g. `txt_encrypt_key_env`) looked up with `env` instead of the process environment.
    /// Returns the config error if the edited config does not load.
    pub async fn start_with_config(
        world: World,
        services: &[ServiceSpec<'_>],
        rollout: &str,
        edit: impl FnOnce(String) -> String,
        env: &cutover_core::config::EnvLookup<'_>,
    ) -> Result<Harness, cutover_core::config::ConfigError> {
        let options = SandboxOptions {
            run_external_dns_loops: false,
            ..SandboxOptions::default()
        };
        let sandbox = Sandbox::start(world.clone(), options)
            .await
            .expect("sandbox starts");
        let config_toml = edit(cutover_toml(&sandbox, &world, services, rollout));
        let config = Arc::new(Config::parse_with_env(&config_toml, env)?);
        let (ctx, route53) = context(&sandbox, config).await;
        Ok(Harness {
            sandbox,
            world,
            ctx,
            route53,
            config_toml,
        })
    }

    /// Invokes the handler with a raw event, exactly as Lambda would.
    pub async fn invoke(&self, payload: Value) -> Value {
        engine::handle(&self.ctx, payload).await
    }

    /// A scheduled tick (classic EventBridge rule shape).
    pub async fn tick(&self) -> Value {
        self.invoke(scheduled_event()).await
    }

    /// A manual command.
    pub async fn command(&self, action: &str, service: &str) -> Value {
        self.invoke(
            json!({ "action": action, "service": service, "actor": "test", "reason": "e2e" }),
        )
        .await
    }

    /// An SNS deploy event for `service` on `cluster`.
    pub async fn deploy_event(&self, message_id: &str, service: &str, cluster: &str) -> Value {
        self.invoke(sns_deploy(message_id, service, cluster)).await
    }

    /// An SNS deploy event for `service` on `cluster` naming its `strategy` (`canary` or
    /// `blue-green`).
    pub async fn deploy_event_with_strategy(
        &self,
        message_id: &str,
        service: &str,
        cluster: &str,
        strategy: &str,
    ) -> Value {
        self.invoke(sns_deploy_with_strategy(
            message_id, service, cluster, strategy,
        ))
        .await
    }

    /// One cluster's external-dns runs one loop.
    pub async fn external_dns_of(&self, cluster: &str) -> sandbox::external_dns::ReconcileReport {
        self.sandbox
            .external_dns(cluster)
            .expect("cluster runs external-dns")
            .run_once()
            .await
    }

    /// Moves simulated time forward (Route53 INSYNC, bake times, external-dns intervals).
    pub fn advance(&self, by: Duration) {
        self.sandbox.clock().advance(by);
    }

    /// Every cluster's external-dns runs one loop.
    pub async fn external_dns(&self) -> BTreeMap<String, sandbox::external_dns::ReconcileReport> {
        self.sandbox.reconcile_all().await
    }

    pub fn zone_id(&self) -> String {
        self.sandbox
            .zone_id("example.com")
            .expect("zone example.com")
            .to_string()
    }

    /// Changes an Ingress as a team would (kubectl apply), through the sandbox.
    pub fn edit_ingress(&self, cluster: &str, name: &str, edit: impl FnOnce(&mut Ingress)) {
        let c = &self.sandbox.cluster(cluster).expect("cluster").cluster;
        let mut ingress = c.ingress("default", name).expect("ingress exists");
        edit(&mut ingress);
        c.upsert_ingress(ingress);
    }

    /// Adds an Ingress, and its hosts to its load balancer's rules (as the control API does).
    pub fn add_ingress(&self, cluster: &str, ingress: Ingress) {
        let c = self.sandbox.cluster(cluster).expect("cluster");
        if let Some(lb) = ingress
            .load_balancer
            .as_deref()
            .and_then(|l| c.load_balancer(l))
        {
            for host in &ingress.hosts {
                lb.add_host(host);
            }
        }
        c.cluster.upsert_ingress(ingress);
    }

    pub fn remove_ingress(&self, cluster: &str, name: &str) {
        self.sandbox
            .cluster(cluster)
            .expect("cluster")
            .cluster
            .remove_ingress("default", name);
    }

    /// Changes a Service as a team would (kubectl apply), through the sandbox.
    pub fn edit_service(
        &self,
        cluster: &str,
        namespace: &str,
        name: &str,
        edit: impl FnOnce(&mut Service),
    ) {
        let c = &self.sandbox.cluster(cluster).expect("cluster").cluster;
        let mut service = c.service(namespace, name).expect("service exists");
        edit(&mut service);
        c.upsert_service(service);
    }

    /// Changes an HTTPRoute as a team would (kubectl apply), through the sandbox.
    pub fn edit_http_route(
        &self,
        cluster: &str,
        namespace: &str,
        name: &str,
        edit: impl FnOnce(&mut HttpRoute),
    ) {
        let c = &self.sandbox.cluster(cluster).expect("cluster").cluster;
        let mut route = c.http_route(namespace, name).expect("route exists");
        edit(&mut route);
        c.upsert_http_route(route);
    }

    pub fn remove_service(&self, cluster: &str, namespace: &str, name: &str) {
        let c = &self.sandbox.cluster(cluster).expect("cluster").cluster;
        assert!(
            c.remove_service(namespace, name),
            "no service {namespace}/{name}"
        );
    }

    pub fn remove_http_route(&self, cluster: &str, namespace: &str, name: &str) {
        let c = &self.sandbox.cluster(cluster).expect("cluster").cluster;
        assert!(
            c.remove_http_route(namespace, name),
            "no route {namespace}/{name}"
        );
    }

    /// The team deploys `service` on `cluster` too, asking for the same simple key (that
    /// cluster's external-dns sees another owner and skips it).
    pub fn deploy_ingress(&self, cluster: &str, service: &str) {
        self.add_ingress(
            cluster,
            Ingress {
                namespace: "default".into(),
                name: service.into(),
                hosts: vec![format!("{service}.example.com")],
                annotations: BTreeMap::new(),
                load_balancer: Some(self.lb_hostname(cluster)),
            },
        );
    }

    /// Sets external-dns annotations (v0.22 prefix) on a cluster's Ingress, as a team would.
    pub fn annotate(&self, cluster: &str, service: &str, pairs: &[(&str, &str)]) {
        self.edit_ingress(cluster, service, |i| {
            for (key, value) in pairs {
                i.annotations.insert(
                    format!("external-dns.kubernetes.io/{key}"),
                    (*value).to_string(),
                );
            }
        });
    }

    /// What start's report asks of a team moving a simple record: both Ingresses name their
    /// weighted key (`<service>-<cluster>`), `from` at 100 and `to` at 0.
    pub fn name_weighted_keys(&self, service: &str, from: &str, to: &str) {
        let from_id = format!("{service}-{from}");
        let to_id = format!("{service}-{to}");
        self.annotate(
            from,
            service,
            &[("set-identifier", &from_id), ("aws-weight", "100")],
        );
        self.annotate(
            to,
            service,
            &[("set-identifier", &to_id), ("aws-weight", "0")],
        );
    }

    /// The ELB host name of a cluster's (only) load balancer.
    pub fn lb_hostname(&self, cluster: &str) -> String {
        let c = self.sandbox.cluster(cluster).expect("cluster");
        c.load_balancers
            .values()
            .next()
            .expect("a load balancer")
            .hostname()
            .to_string()
    }

    pub fn set_lb_behaviour(&self, cluster: &str, host: &str, behaviour: sandbox::lb::Behaviour) {
        let c = self.sandbox.cluster(cluster).expect("cluster");
        // The simulated traffic due before now ran under the old behaviour.
        self.sandbox.traffic().run_until_now();
        for lb in c.load_balancers.values() {
            lb.set_behaviour(host, behaviour.clone());
        }
    }

    /// Like `set_lb_behaviour`, for exactly one path of the host (real traffic's, say, while
    /// the probes' `/healthz` keeps its behaviour).
    pub fn set_lb_path_behaviour(
        &self,
        cluster: &str,
        host: &str,
        path: &str,
        behaviour: sandbox::lb::Behaviour,
    ) {
        let c = self.sandbox.cluster(cluster).expect("cluster");
        self.sandbox.traffic().run_until_now();
        for lb in c.load_balancers.values() {
            lb.set_path_behaviour(host, path, behaviour.clone());
        }
    }

    /// The CloudWatch dimension of a cluster's (only) load balancer.
    pub fn lb_dimension(&self, cluster: &str) -> String {
        let c = self.sandbox.cluster(cluster).expect("cluster");
        c.load_balancers
            .values()
            .next()
            .expect("a load balancer")
            .metrics_dimension()
    }
}

/// Builds cutover's context on the sandbox: the real SDK clients, the real EKS Ingress source,
/// the real HTTP prober — only the endpoints and the clock are the sandbox's.
///
/// Zones and clusters that name a role are reached through the sandbox's STS (`AssumeRole` with
/// the sandbox's own keys), as the Lambda reaches them through STS.
pub async fn context(sandbox: &Sandbox, config: Arc<Config>) -> (Context, Arc<SdkRoute53>) {
    let endpoints = sandbox.endpoints();
    let route53_sdk = sdk_config(&endpoints.route53).await;
    let eks_sdk = sdk_config(&endpoints.eks).await;
    let sts_sdk = sdk_config(&endpoints.sts).await;
    let traffic = traffic_ports(sandbox).await;
    let route53 = Arc::new(SdkRoute53::new(
        aws_sdk_route53::Client::new(&route53_sdk),
        config.rate_limit,
    ));
    let accounts = Arc::new(Accounts::new(route53_sdk, sts_sdk, config.rate_limit));
    let sim = sandbox.clock().clone();
    let clock: Arc<dyn Clock> = Arc::new(move || sim.now_millis());
    let sources = EksClusterSources::new(eks_sdk, Duration::from_secs(5))
        .with_clock(clock.clone())
        .with_accounts(accounts.clone());
    let ctx = Context {
        route53: Arc::new(accounts.route53(&config, route53.clone())),
        config,
        sources: Arc::new(sources),
        prober: Arc::new(HttpProber::default()),
        clock,
        traffic,
    };
    (ctx, route53)
}

/// CloudWatch and SNS clients on the sandbox's endpoints (the real SDK), and EMF lines kept in
/// memory.
pub async fn traffic_ports(sandbox: &Sandbox) -> TrafficPorts {
    let endpoints = sandbox.endpoints();
    let cloudwatch_sdk = sdk_config(&endpoints.cloudwatch).await;
    let sns_sdk = sdk_config(&endpoints.sns).await;
    TrafficPorts {
        cloudwatch: Some(Arc::new(SdkCloudWatch::new(
            aws_sdk_cloudwatch::Client::new(&cloudwatch_sdk),
        ))),
        notifier: Some(Arc::new(SdkSns::new(aws_sdk_sns::Client::new(&sns_sdk)))),
        metrics: Some(Arc::new(cutover::emf::Collect::default())),
    }
}

async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(sandbox::DEFAULT_REGION))
        .credentials_provider(Credentials::from_keys(
            sandbox::ACCESS_KEY_ID,
            sandbox::SECRET_ACCESS_KEY,
            None,
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// A cutover.toml for the sandbox, as `sandbox cutover-config` writes it (its zones, its clusters
/// with their owner ids, TXT settings and probe addresses on loopback), with the given services
/// and rollout.
pub fn cutover_toml(
    sandbox: &Sandbox,
    _world: &World,
    services: &[ServiceSpec<'_>],
    rollout: &str,
) -> String {
    sandbox::cutover_config::render(
        &sandbox.handles(),
        &sandbox::cutover_config::ConfigOptions {
            services: Some(
                services
                    .iter()
                    .map(|(n, f, t)| (n.to_string(), f.to_string(), t.to_string()))
                    .collect(),
            ),
            rollout: Some(rollout.to_string()),
        },
    )
}

pub fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-25T12:00:00Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/cutover-tick"],
        "detail": {}
    })
}

pub fn sns_deploy(message_id: &str, service: &str, cluster: &str) -> Value {
    sns_deploy_with_strategy(message_id, service, cluster, "canary")
}

/// An SNS delivery of CI's deploy message naming `strategy`.
pub fn sns_deploy_with_strategy(
    message_id: &str,
    service: &str,
    cluster: &str,
    strategy: &str,
) -> Value {
    let message = json!({
        "type": "deployed", "service": service, "cluster": cluster,
        "strategy": strategy, "version": "v42", "actor": "ci#812"
    })
    .to_string();
    json!({ "Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": format!("{TOPIC_ARN}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"),
        "Sns": {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": TOPIC_ARN,
            "Subject": null,
            "Message": message,
            "Timestamp": "2026-11-25T12:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
            "UnsubscribeUrl": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": {}
        }
    }]})
}

/// The per-service entries of a report (a single command's report, or each SNS record's).
pub fn service_reports(report: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut collect = |r: &Value| {
        if let Some(list) = r.get("services").and_then(Value::as_array) {
            out.extend(list.iter().cloned());
        }
    };
    match report.get("records").and_then(Value::as_array) {
        Some(records) => records.iter().for_each(&mut collect),
        None => collect(report),
    }
    out
}

/// The entry for `service`, if the report has one.
pub fn service_report(report: &Value, service: &str) -> Option<Value> {
    service_reports(report)
        .into_iter()
        .find(|s| s.get("service").and_then(Value::as_str) == Some(service))
}

// ---------------------------------------------------------------------------------------------
// Contexts that differ from the default one (rate limit, EKS endpoint, prober, config)

/// What to change when building another cutover context on the same sandbox. Unset fields keep
/// the harness's defaults.
#[derive(Default, Clone)]
pub struct ContextOptions {
    /// The config (TOML) instead of the harness's.
    pub config_toml: Option<String>,
    /// The EKS endpoint instead of the sandbox's (e.g. a closed port: clusters unreachable).
    pub eks_endpoint: Option<String>,
    /// The prober instead of the real HTTP prober.
    pub prober: Option<Arc<dyn Prober>>,
    /// The client-side Route53 rate limit (requests/second) instead of the config's.
    pub route53_rate: Option<f64>,
}

impl Harness {
    /// Another cutover context on this sandbox (same simulated clock), built as the Lambda
    /// would, with the given differences.
    pub async fn context_with(&self, options: ContextOptions) -> (Context, Arc<SdkRoute53>) {
        let toml = options
            .config_toml
            .clone()
            .unwrap_or_else(|| self.config_toml.clone());
        let config = Arc::new(
            Config::parse(&toml).unwrap_or_else(|e| panic!("config is valid: {e}\n{toml}")),
        );
        let endpoints = self.sandbox.endpoints();
        let eks_endpoint = options
            .eks_endpoint
            .clone()
            .unwrap_or_else(|| endpoints.eks.clone());
        let sim = self.sandbox.clock().clone();
        let clock: Arc<dyn Clock> = Arc::new(move || sim.now_millis());
        context_at(
            &endpoints.route53,
            &eks_endpoint,
            config,
            clock,
            options.route53_rate,
            options.prober,
        )
        .await
    }

    /// The records of the zone `example.com`, as the sandbox holds them now.
    pub fn zone(&self) -> Vec<Rrset> {
        self.sandbox.route53().records(&self.zone_id())
    }
}

/// A cutover context against Route53 and EKS at the given loopback endpoints, on `clock`.
/// `route53_rate`: the client-side limit (default: the config's); `prober`: default the real one.
pub async fn context_at(
    route53_endpoint: &str,
    eks_endpoint: &str,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    route53_rate: Option<f64>,
    prober: Option<Arc<dyn Prober>>,
) -> (Context, Arc<SdkRoute53>) {
    let route53_sdk = sdk_config(route53_endpoint).await;
    let eks_sdk = sdk_config(eks_endpoint).await;
    let route53 = Arc::new(SdkRoute53::new(
        aws_sdk_route53::Client::new(&route53_sdk),
        route53_rate.unwrap_or(config.rate_limit),
    ));
    let sources = EksClusterSources::new(eks_sdk, Duration::from_secs(5)).with_clock(clock.clone());
    let ctx = Context {
        config,
        route53: route53.clone(),
        sources: Arc::new(sources),
        prober: prober.unwrap_or_else(|| Arc::new(HttpProber::default())),
        clock,
        traffic: TrafficPorts::default(),
    };
    (ctx, route53)
}

/// A loopback URL where nothing listens (a port bound, then released).
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

// ---------------------------------------------------------------------------------------------
// Reading the zone

/// The rrsets at `name` (with or without the trailing dot).
pub fn records_at<'a>(records: &'a [Rrset], name: &str) -> Vec<&'a Rrset> {
    records
        .iter()
        .filter(|r| r.name.trim_end_matches('.') == name.trim_end_matches('.'))
        .collect()
}

/// The weight of the `rtype` record of key `set_identifier` at `name`.
pub fn key_weight(records: &[Rrset], name: &str, rtype: &str, set_identifier: &str) -> Option<i64> {
    records_at(records, name)
        .into_iter()
        .find(|r| r.rtype == rtype && r.set_identifier.as_deref() == Some(set_identifier))
        .and_then(|r| r.weight)
}

/// The weights of the A records of `{service}-{from}` and `{service}-{to}` at
/// `{service}.example.com`.
pub fn a_weights(
    records: &[Rrset],
    service: &str,
    from: &str,
    to: &str,
) -> (Option<i64>, Option<i64>) {
    let host = format!("{service}.example.com");
    (
        key_weight(records, &host, "A", &format!("{service}-{from}")),
        key_weight(records, &host, "A", &format!("{service}-{to}")),
    )
}

/// The state record of `service` as cutover wrote it, decoded with cutover's own reader; the
/// error says why it is missing or unreadable.
pub fn state_of(records: &[Rrset], service: &str) -> Result<cutover_core::state::State, String> {
    let name = format!("_cutover.{service}.example.com");
    let rrset = records_at(records, &name)
        .into_iter()
        .find(|r| r.rtype == "TXT")
        .ok_or_else(|| format!("no state record at {name}"))?;
    let dns_name = cutover_core::types::DnsName::parse(&name).map_err(|e| e.to_string())?;
    match rrset.records.as_slice() {
        [value] => cutover_core::state::State::decode(&dns_name, value).map_err(|e| e.to_string()),
        other => Err(format!("{name}: {} values, expected one", other.len())),
    }
}
