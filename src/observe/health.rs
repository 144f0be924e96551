//! Health verdicts from probes sent straight to each cluster's load balancer (docs/design.md §4):
//! HTTP(S) requests, or TCP connects for a load balancer that passes TCP through (an NLB in front
//! of a Service), where a connection that opens is a good sample.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::StreamExt;

use cutover_core::config::Scheme;
use cutover_core::observation::{ClusterHealth, Sample, Verdict};
use cutover_core::text::quoted;
use cutover_core::types::DnsName;

// ---------------------------------------------------------------------------------------------
// HTTP probes straight to a load balancer (docs/design.md §4)

/// How to check one service: the same for both clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    /// `Tcp`: each sample is a TCP connect to the load balancer's `port` (path, status and TLS
    /// settings unused).
    pub scheme: Scheme,
    /// Starts with `/`, may carry a query.
    pub path: String,
    /// `None`: the scheme's port.
    pub port: Option<u16>,
    /// Expected status range, inclusive: `(200, 399)`.
    pub expected_status: (u16, u16),
    pub timeout: Duration,
    /// Requests per check (at least one is sent).
    pub samples: u32,
    /// Failed samples tolerated in one check.
    pub allowed_failures: u32,
    /// Extra trusted root certificates (PEM), e.g. a private CA; the system roots stay trusted.
    pub extra_root_pem: Option<Vec<u8>>,
}

/// Where one cluster serves the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    /// The service hostname: Host header and TLS SNI.
    pub hostname: DnsName,
    /// The cluster's load-balancer hostname, resolved here (not the service's DNS).
    pub load_balancer: String,
    /// Per-cluster override (address:port) for private networks and the sandbox: skips the
    /// resolution of `load_balancer`.
    pub connect_to: Option<SocketAddr>,
}

/// Resolves a load balancer's name. A trait so tests can fail it without touching the network.
pub trait Resolver: Send + Sync {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<SocketAddr>>>;
}

/// The system resolver (`getaddrinfo` through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<SocketAddr>>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// Checks one cluster for one service. A trait so the engine can run without the network.
pub trait Prober: Send + Sync {
    fn check<'a>(
        &'a self,
        spec: &'a ProbeSpec,
        target: &'a ProbeTarget,
    ) -> BoxFuture<'a, ClusterHealth>;
}

/// HTTP probes with reqwest, bypassing DNS for the service hostname.
#[derive(Clone)]
pub struct HttpProber {
    resolver: Arc<dyn Resolver>,
    /// The TLS settings (system roots), made once: loading the roots for every check made a
    /// client cost ~20 ms, which dominated a tick of many services.
    tls: Result<Arc<rustls::ClientConfig>, String>,
}

/// rustls with aws-lc-rs and the platform's trusted roots.
fn shared_tls() -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS settings: {e}"))?
        .with_platform_verifier()
        .map_err(|e| format!("trusted roots: {e}"))?
        .with_no_client_auth();
    Ok(Arc::new(config))
}

impl Default for HttpProber {
    fn default() -> Self {
        HttpProber::new(Arc::new(SystemResolver))
    }
}

impl std::fmt::Debug for HttpProber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpProber").finish_non_exhaustive()
    }
}

impl HttpProber {
    pub fn new(resolver: Arc<dyn Resolver>) -> Self {
        HttpProber {
            resolver,
            tls: shared_tls(),
        }
    }

    async fn run_check(&self, spec: &ProbeSpec, target: &ProbeTarget) -> ClusterHealth {
        let addr = match self.address(spec, target).await {
            Ok(addr) => addr,
            Err(reason) => return inconclusive(reason),
        };
        if spec.scheme == Scheme::Tcp {
            let mut samples = Vec::new();
            for _ in 0..spec.samples.max(1) {
                samples.push(tcp_sample(addr, spec.timeout).await);
            }
            return verdict_from_samples(samples, spec);
        }
        let client = match build_client(spec, target, addr, &self.tls) {
            Ok(client) => client,
            Err(reason) => return inconclusive(reason),
        };
        // Without a port in the URL, reqwest connects to the overridden address's port while
        // the Host header and SNI stay the bare service hostname.
        let url = format!(
            "{}://{}{}",
            spec.scheme.as_str(),
            target.hostname,
            spec.path
        );
        let mut samples = Vec::new();
        for _ in 0..spec.samples.max(1) {
            samples.push(send_sample(&client, &url, spec.expected_status).await);
        }
        verdict_from_samples(samples, spec)
    }

    async fn address(&self, spec: &ProbeSpec, target: &ProbeTarget) -> Result<SocketAddr, String> {
        if let Some(addr) = target.connect_to {
            return Ok(addr);
        }
        let port = spec.port.unwrap_or(spec.scheme.default_port());
        let lb = target.load_balancer.trim_end_matches('.');
        if lb.is_empty() {
            return Err("no load-balancer hostname to probe".into());
        }
        // A failure to resolve the LB name is on cutover's side of the check: inconclusive.
        let addrs = self
            .resolver
            .resolve(lb, port)
            .await
            .map_err(|e| format!("cannot resolve load balancer {lb}: {e}", lb = quoted(lb)))?;
        addrs
            .into_iter()
            .next()
            .ok_or_else(|| format!("load balancer {lb} resolved to no address", lb = quoted(lb)))
    }
}

impl Prober for HttpProber {
    fn check<'a>(
        &'a self,
        spec: &'a ProbeSpec,
        target: &'a ProbeTarget,
    ) -> BoxFuture<'a, ClusterHealth> {
        Box::pin(self.run_check(spec, target))
    }
}

fn build_client(
    spec: &ProbeSpec,
    target: &ProbeTarget,
    addr: SocketAddr,
    tls: &Result<Arc<rustls::ClientConfig>, String>,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(spec.timeout)
        .connect_timeout(spec.timeout)
        .resolve(target.hostname.as_str(), addr);
    if let Some(pem) = &spec.extra_root_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| format!("extra root certificates: {e}"))?;
        if certs.is_empty() {
            return Err("extra root certificates: no certificate in the PEM".into());
        }
        builder = builder.tls_certs_merge(certs);
    } else {
        let tls = tls
            .as_ref()
            .map_err(|e| format!("cannot set up TLS: {e}"))?;
        builder = builder.use_preconfigured_tls(rustls::ClientConfig::clone(tls));
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

async fn send_sample(client: &reqwest::Client, url: &str, expected: (u16, u16)) -> Sample {
    let started = Instant::now();
    let result = client.get(url).send().await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(response) => {
            let status = response.status().as_u16();
            let ok = (expected.0..=expected.1).contains(&status);
            Sample {
                status: Some(status),
                latency_ms,
                error: (!ok)
                    .then(|| format!("status {status} outside {}–{}", expected.0, expected.1)),
                ok,
            }
        }
        Err(e) => Sample {
            status: None,
            latency_ms,
            error: Some(describe_request_error(&e)),
            ok: false,
        },
    }
}

/// One TCP connect: good when the connection opens within `timeout`; a refused or reset connect
/// and a timeout are failed samples (the load balancer, or every target behind it, is down).
async fn tcp_sample(addr: SocketAddr, timeout: Duration) -> Sample {
    let started = Instant::now();
    let result = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let error = match result {
        Ok(Ok(_stream)) => None,
        Ok(Err(e)) => Some(format!("connect: {e}")),
        Err(_) => Some(format!(
            "timeout: no TCP connection to {addr} within {} ms",
            timeout.as_millis()
        )),
    };
    Sample {
        status: None,
        latency_ms,
        ok: error.is_none(),
        error,
    }
}

fn describe_request_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "request"
    };
    // The source chain says why (refused, reset, certificate…).
    format!("{kind}: {}", super::error_chain(e))
}

/// Good when at most `allowed_failures` samples failed, else Bad (docs/design.md §4).
pub fn verdict_from_samples(samples: Vec<Sample>, spec: &ProbeSpec) -> ClusterHealth {
    let failed = samples.iter().filter(|s| !s.ok).count();
    let total = samples.len();
    let allowed = usize::try_from(spec.allowed_failures).unwrap_or(usize::MAX);
    let (lo, hi) = spec.expected_status;
    if total == 0 {
        return inconclusive("no sample was taken".into());
    }
    let expected = match spec.scheme {
        Scheme::Tcp => "a TCP connection".to_string(),
        Scheme::Http | Scheme::Https => format!("status {lo}–{hi}"),
    };
    let (verdict, reason) = if failed <= allowed {
        (
            Verdict::Good,
            format!("{failed} of {total} samples failed (allowed {allowed}; expected {expected})"),
        )
    } else {
        let first_error = samples
            .iter()
            .find_map(|s| s.error.clone())
            .unwrap_or_default();
        (
            Verdict::Bad,
            format!(
                "{failed} of {total} samples failed (allowed {allowed}; expected {expected}): {first_error}"
            ),
        )
    };
    ClusterHealth {
        verdict,
        reason,
        samples,
    }
}

fn inconclusive(reason: String) -> ClusterHealth {
    ClusterHealth {
        verdict: Verdict::Inconclusive,
        reason,
        samples: Vec::new(),
    }
}

/// Checks many (service, cluster) pairs in parallel, at most `concurrency` at once, and returns
/// the results in the order of `checks`.
pub async fn check_all<P: Prober + ?Sized>(
    prober: &P,
    checks: &[(ProbeSpec, ProbeTarget)],
    concurrency: usize,
) -> Vec<ClusterHealth> {
    let mut results: Vec<(usize, ClusterHealth)> = futures::stream::iter(checks.iter().enumerate())
        .map(|(i, (spec, target))| async move { (i, prober.check(spec, target).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, health)| health).collect()
}
