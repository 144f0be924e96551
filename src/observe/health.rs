//! Health verdicts from probes sent straight to each cluster's load balancer (docs/design.md §4):
//! HTTP(S) requests, or TCP connects for a load balancer that passes TCP through (an NLB in front
//! of a Service), where a connection that opens is a good sample.

use std::collections::HashMap;
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

    /// A tick's checks, at most `concurrency` at once, in the order of `checks`. A prober may
    /// share what the checks have in common (connections to the same load balancer); by default
    /// each check runs on its own.
    fn check_round<'a>(
        &'a self,
        checks: &'a [(ProbeSpec, ProbeTarget)],
        concurrency: usize,
    ) -> BoxFuture<'a, Vec<ClusterHealth>> {
        Box::pin(bounded(checks, concurrency, move |spec, target| {
            self.check(spec, target)
        }))
    }
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

    async fn run_check(
        &self,
        round: &Round,
        spec: &ProbeSpec,
        target: &ProbeTarget,
    ) -> ClusterHealth {
        let addr = match self.address(round, spec, target).await {
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
        let (client, url) = match round.client(spec, target, addr, &self.tls) {
            Ok(pooled) => pooled,
            Err(reason) => return inconclusive(reason),
        };
        let mut samples = Vec::new();
        for _ in 0..spec.samples.max(1) {
            samples.push(send_sample(&client, &url, &target.hostname, spec).await);
        }
        verdict_from_samples(samples, spec)
    }

    /// The load balancer's address: resolved once per round for all the checks that probe it.
    async fn address(
        &self,
        round: &Round,
        spec: &ProbeSpec,
        target: &ProbeTarget,
    ) -> Result<SocketAddr, String> {
        if let Some(addr) = target.connect_to {
            return Ok(addr);
        }
        let port = spec.port.unwrap_or(spec.scheme.default_port());
        let lb = target.load_balancer.trim_end_matches('.');
        if lb.is_empty() {
            return Err("no load-balancer hostname to probe".into());
        }
        let key = (lb.to_string(), port);
        if let Some(known) = lock(&round.addresses).get(&key) {
            return known.clone();
        }
        // A failure to resolve the LB name is on cutover's side of the check: inconclusive.
        let resolved = match self.resolver.resolve(lb, port).await {
            Ok(addrs) => addrs.into_iter().next().ok_or_else(|| {
                format!("load balancer {lb} resolved to no address", lb = quoted(lb))
            }),
            Err(e) => Err(format!(
                "cannot resolve load balancer {lb}: {e}",
                lb = quoted(lb)
            )),
        };
        lock(&round.addresses).insert(key, resolved.clone());
        resolved
    }
}

/// What the checks of one round (a tick's probes) share: each load balancer's address, resolved
/// once, and its HTTP clients, so that the samples of many services reuse connections instead of
/// opening one or more each. An HTTP client serves every service behind the load balancer: a
/// request names its service in the Host header, which is all an ALB routes by, so a kept-alive
/// connection may carry requests for any of them. HTTPS needs one client per (load balancer,
/// service name): the TLS server name (SNI) is the service's and picks the certificate, so a
/// connection made for one service must never carry another's requests. The round ends with the
/// tick; no connection outlives it, so none is reused after the load balancer's idle timeout
/// closed it.
#[derive(Default)]
struct Round {
    addresses: std::sync::Mutex<HashMap<(String, u16), Result<SocketAddr, String>>>,
    clients: std::sync::Mutex<HashMap<PoolKey, reqwest::Client>>,
}

/// Which requests may share a connection: the same load balancer (address), scheme and trusted
/// roots, and for HTTPS the same server name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    https: bool,
    addr: SocketAddr,
    server_name: Option<String>,
    extra_root_pem: Option<Vec<u8>>,
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere cannot leave a cache half-written: take it as it is.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Round {
    /// The client for a check and the URL its samples request. HTTP: the URL names the load
    /// balancer's address and the Host header the service; HTTPS: the URL names the service
    /// (Host header and SNI), which the client resolves to the load balancer's address, without
    /// a port in the URL so that the overridden address's port is used.
    fn client(
        &self,
        spec: &ProbeSpec,
        target: &ProbeTarget,
        addr: SocketAddr,
        tls: &Result<Arc<rustls::ClientConfig>, String>,
    ) -> Result<(reqwest::Client, String), String> {
        let https = spec.scheme == Scheme::Https;
        let key = PoolKey {
            https,
            addr,
            server_name: https.then(|| target.hostname.as_str().to_string()),
            extra_root_pem: spec.extra_root_pem.clone(),
        };
        let url = if https {
            format!("https://{}{}", target.hostname, spec.path)
        } else {
            format!("http://{addr}{}", spec.path)
        };
        if let Some(client) = lock(&self.clients).get(&key) {
            return Ok((client.clone(), url));
        }
        let client = build_client(spec, &key, tls)?;
        lock(&self.clients).insert(key, client.clone());
        Ok((client, url))
    }
}

impl Prober for HttpProber {
    fn check<'a>(
        &'a self,
        spec: &'a ProbeSpec,
        target: &'a ProbeTarget,
    ) -> BoxFuture<'a, ClusterHealth> {
        Box::pin(async move { self.run_check(&Round::default(), spec, target).await })
    }

    /// One round: the checks share each load balancer's address and connections ([`Round`]).
    fn check_round<'a>(
        &'a self,
        checks: &'a [(ProbeSpec, ProbeTarget)],
        concurrency: usize,
    ) -> BoxFuture<'a, Vec<ClusterHealth>> {
        Box::pin(async move {
            let round = Round::default();
            let round = &round;
            bounded(checks, concurrency, move |spec, target| {
                self.run_check(round, spec, target)
            })
            .await
        })
    }
}

/// A client for the requests of `key`. The time limits are each request's own (a check's
/// `timeout` bounds its connect and its answer), so checks of different timeouts may share it.
fn build_client(
    spec: &ProbeSpec,
    key: &PoolKey,
    tls: &Result<Arc<rustls::ClientConfig>, String>,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none());
    if let Some(server_name) = &key.server_name {
        builder = builder.resolve(server_name, key.addr);
    }
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

async fn send_sample(
    client: &reqwest::Client,
    url: &str,
    hostname: &DnsName,
    spec: &ProbeSpec,
) -> Sample {
    let expected = spec.expected_status;
    let started = Instant::now();
    let result = client
        .get(url)
        .header(reqwest::header::HOST, hostname.as_str())
        .timeout(spec.timeout)
        .send()
        .await;
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
/// the results in the order of `checks`: one round of `prober` ([`Prober::check_round`]).
pub async fn check_all<P: Prober + ?Sized>(
    prober: &P,
    checks: &[(ProbeSpec, ProbeTarget)],
    concurrency: usize,
) -> Vec<ClusterHealth> {
    prober.check_round(checks, concurrency).await
}

/// Runs `check` over `checks`, at most `concurrency` at once, in the order of `checks`.
async fn bounded<'a, F, Fut>(
    checks: &'a [(ProbeSpec, ProbeTarget)],
    concurrency: usize,
    check: F,
) -> Vec<ClusterHealth>
where
    F: Fn(&'a ProbeSpec, &'a ProbeTarget) -> Fut,
    Fut: std::future::Future<Output = ClusterHealth>,
{
    // A plain loop over a set of futures (no closure in the stream's type, so the future stays
    // `Send` for every lifetime of `checks`).
    let limit = concurrency.max(1);
    let mut next = checks.iter().enumerate();
    let mut running = futures::stream::FuturesUnordered::new();
    let mut results: Vec<(usize, ClusterHealth)> = Vec::with_capacity(checks.len());
    loop {
        while running.len() < limit {
            let Some((i, (spec, target))) = next.next() else {
                break;
            };
            running.push(indexed(i, check(spec, target)));
        }
        match running.next().await {
            Some(done) => results.push(done),
            None => break,
        }
    }
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, health)| health).collect()
}

async fn indexed<F: std::future::Future>(i: usize, future: F) -> (usize, F::Output) {
    (i, future.await)
}
