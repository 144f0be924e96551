//! Load balancers on loopback: an HTTP/1.1 server on `127.0.0.1:0` that routes by `Host`, with
//! an ELB-style hostname and canonical hosted zone id, and behaviour scriptable per host (status,
//! latency, hanging, closing the connection unanswered, flapping) so health checks can be driven.
//! Its listener can also be closed and opened again on the same port, so that TCP connects are
//! refused — what a TCP health check of an NLB whose targets are all down sees.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The kind of load balancer: it decides the hostname form and the canonical hosted zone id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LbKind {
    /// Application Load Balancer: `<name>.<region>.elb.amazonaws.com`.
    Application,
    /// Classic Load Balancer: same hostname form and zone id as an ALB.
    Classic,
    /// Network Load Balancer: `<name>.elb.<region>.amazonaws.com`.
    Network,
}

/// The canonical hosted zone id of a load balancer of `kind` in `region` (docs/reference/route53.md
/// "Alias records": ALB and Classic share one id, NLB
/// has another). `None` for a region not in the table.
pub fn canonical_zone_id(region: &str, kind: LbKind) -> Option<&'static str> {
    let (_, alb, nlb) = ZONE_IDS.iter().find(|(r, _, _)| *r == region)?;
    Some(match kind {
        LbKind::Application | LbKind::Classic => alb,
        LbKind::Network => nlb,
    })
}

/// region, ALB + Classic, NLB (docs/reference/route53.md "Alias records").
pub const ZONE_IDS: [(&str, &str, &str); 38] = [
    ("af-south-1", "Z268VQBMOI5EKX", "Z203XCE67M25HM"),
    ("ap-east-1", "Z3DQVH9N71FHZ0", "Z12Y7K3UBGUAD1"),
    ("ap-east-2", "Z02789141MW7T1WBU19PO", "Z09176273OC2HWIAUNYW"),
    ("ap-northeast-1", "Z14GRHDCWA56QT", "Z31USIVHYNEOWT"),
    ("ap-northeast-2", "ZWKZPGTI48KDX", "ZIBE1TIR4HY56"),
    ("ap-northeast-3", "Z5LXEXXYW11ES", "Z1GWIQ4HH19I5X"),
    ("ap-south-1", "ZP97RAFLXTNZK", "ZVDDRBQ08TROA"),
    (
        "ap-south-2",
        "Z0173938T07WNTVAEPZN",
        "Z0711778386UTO08407HT",
    ),
    ("ap-southeast-1", "Z1LMS91P8CMLE5", "ZKVM4W9LS7TM"),
    ("ap-southeast-2", "Z1GM3OXH4ZPM65", "ZCT6FZBF4DROD"),
    (
        "ap-southeast-3",
        "Z08888821HLRG5A9ZRTER",
        "Z01971771FYVNCOVWJU1G",
    ),
    (
        "ap-southeast-4",
        "Z09517862IB2WZLPXG76F",
        "Z01156963G8MIIL7X90IV",
    ),
    (
        "ap-southeast-5",
        "Z06010284QMVVW7WO5J",
        "Z026317210H9ACVTRO6FB",
    ),
    (
        "ap-southeast-6",
        "Z023301818UFJ50CIO0MV",
        "Z01392953RKV2Q3RBP0KU",
    ),
    (
        "ap-southeast-7",
        "Z0390008CMBRTHFGWBCB",
        "Z054363131YWATEMWRG5L",
    ),
    ("ca-central-1", "ZQSVJUPU6J1EY", "Z2EPGBW3API2WT"),
    (
        "ca-west-1",
        "Z06473681N0SF6OS049SD",
        "Z02754302KBB00W2LKWZ9",
    ),
    ("cn-north-1", "Z1GDH35T77C1KE", "Z3QFB96KMJ7ED6"),
    ("cn-northwest-1", "ZM7IZAIOVVDZF", "ZQEIKTCZ8352D"),
    ("eu-central-1", "Z215JYRZR1TBD5", "Z3F0SRJ5LGBH90"),
    (
        "eu-central-2",
        "Z06391101F2ZOEP8P5EB3",
        "Z02239872DOALSIDCX66S",
    ),
    ("eu-north-1", "Z23TAZ6LKFMNIO", "Z1UDT6IFJ4EJM"),
    ("eu-south-1", "Z3ULH7SSC9OV64", "Z23146JA1KNAFP"),
    (
        "eu-south-2",
        "Z0956581394HF5D5LXGAP",
        "Z1011216NVTVYADP1SSV",
    ),
    ("eu-west-1", "Z32O12XQLNTSW2", "Z2IFOLAFXWLO4F"),
    ("eu-west-2", "ZHURV8PSTC4K8", "ZD4D7Y8KGAS4G"),
    ("eu-west-3", "Z3Q77PNBQS71R4", "Z1CMS0P5QUZ6D5"),
    (
        "il-central-1",
        "Z09170902867EHPV2DABU",
        "Z0313266YDI6ZRHTGQY4",
    ),
    (
        "me-central-1",
        "Z08230872XQRWHG2XF6I",
        "Z00282643NTTLPANJJG2P",
    ),
    ("me-south-1", "ZS929ML54UICD", "Z3QSRYVP46NYYV"),
    (
        "mx-central-1",
        "Z023552324OKD1BB28BH5",
        "Z02031231H3ID6HYJ9A7U",
    ),
    ("sa-east-1", "Z2P70J7HTTTPLU", "ZTK26PT1VY4CU"),
    ("us-east-1", "Z35SXDOTRQ7X7K", "Z26RNL4JYFTOTI"),
    ("us-east-2", "Z3AADJGX6KTTL2", "ZLMOA37VPKANP"),
    ("us-gov-east-1", "Z166TLBEWOO7G0", "Z1ZSMQQ6Q24QQ8"),
    ("us-gov-west-1", "Z33AYJ8TM3BH4J", "ZMG1MZ2THAWF1"),
    ("us-west-1", "Z368ELLRRE2KJ0", "Z24FKFUX50B4VW"),
    ("us-west-2", "Z1H1FL5HABSF5", "Z18D5FSROUN65G"),
];

/// The DNS name of a load balancer called `name` (docs/reference/route53.md "Alias records":
/// ALB/Classic `…<region>.elb.amazonaws.com`, NLB `…elb.<region>.amazonaws.com`, `.com.cn` in
/// China).
pub fn elb_hostname(name: &str, region: &str, kind: LbKind) -> String {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    match kind {
        LbKind::Application | LbKind::Classic => format!("{name}.{region}.elb.{domain}"),
        LbKind::Network => format!("{name}.elb.{region}.{domain}"),
    }
}

/// What the load balancer does with a request for one host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Behaviour {
    /// Answer with this status (200: the default, healthy) and a small body naming the cluster.
    Status { status: u16 },
    /// Wait `latency_ms`, then answer with `status`.
    Slow { latency_ms: u64, status: u16 },
    /// Never answer (the client times out); the connection is held until the client gives up or
    /// the load balancer stops.
    Hang,
    /// Close the connection without answering.
    Refuse,
    /// Alternate: `every` requests answered `good`, then `every` answered `bad`, and so on.
    Flap { every: u32, good: u16, bad: u16 },
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour::Status { status: 200 }
    }
}

/// What a load balancer saw for one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HostCounts {
    /// Every request for the host.
    pub requests: u64,
    /// Requests answered, by status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests whose connection was closed unanswered.
    pub refused: u64,
    /// Requests left hanging.
    pub hung: u64,
}

/// How a load balancer is made.
#[derive(Debug, Clone)]
pub struct LbSpec {
    /// The cluster behind it (named in the default body).
    pub cluster: String,
    pub region: String,
    pub kind: LbKind,
    /// The load balancer's name, the first label of its hostname.
    pub name: String,
}

impl LbSpec {
    /// An ALB for `cluster` in `region`, named as the AWS load balancer controller does
    /// (`k8s-<cluster>-<random>`).
    pub fn alb(cluster: &str, region: &str) -> Self {
        LbSpec {
            cluster: cluster.to_string(),
            region: region.to_string(),
            kind: LbKind::Application,
            name: format!("k8s-{cluster}-{:010}", rand::random::<u32>()),
        }
    }

    /// The same spec as a Network Load Balancer.
    pub fn network(mut self) -> Self {
        self.kind = LbKind::Network;
        self
    }
}

#[derive(Debug, Default)]
struct Hosts {
    behaviours: BTreeMap<String, Behaviour>,
    /// (host, path) → behaviour for requests of exactly that path (a listener rule on the
    /// path); other paths of the host get the host's behaviour.
    paths: BTreeMap<(String, String), Behaviour>,
    counts: BTreeMap<String, HostCounts>,
}

/// What the load balancer did with one simulated request (the traffic generator's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimOutcome {
    /// A target answered with this status after this latency.
    Target { status: u16, latency_ms: u64 },
    /// No rule for the host: the load balancer itself answered 404.
    NoRoute,
    /// The target never answered: the load balancer times out (504).
    Timeout,
    /// The target closed the connection: the load balancer answers 502.
    Reset,
}

/// The decision for one request, taken under the lock.
enum Action {
    Answer { status: u16, latency: Duration },
    Hang,
    Refuse,
}

/// One running load balancer. Stops when dropped.
#[derive(Debug)]
pub struct LoadBalancer {
    spec: LbSpec,
    hostname: String,
    addr: SocketAddr,
    hosts: Arc<Mutex<Hosts>>,
    stop: watch::Sender<bool>,
    shared: Arc<Shared>,
    /// The accept loop; `None` while the listener is closed.
    accept_task: Mutex<Option<JoinHandle<()>>>,
}

impl LoadBalancer {
    /// Binds `127.0.0.1:0` and starts serving.
    pub async fn start(spec: LbSpec) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let hosts = Arc::new(Mutex::new(Hosts::default()));
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            cluster: spec.cluster.clone(),
            hosts: hosts.clone(),
            stopped,
        });
        let accept_task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(LoadBalancer {
            hostname: elb_hostname(&spec.name, &spec.region, spec.kind),
            spec,
            addr,
            hosts,
            stop,
            shared,
            accept_task: Mutex::new(Some(accept_task)),
        })
    }

    /// Closes the listener (`false`: TCP connects are refused) or opens it again on the same
    /// address (`true`). Connections already open are not touched.
    pub async fn set_accepting(&self, accepting: bool) -> std::io::Result<()> {
        if !accepting {
            let running = self
                .accept_task
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(task) = running {
                task.abort();
                // The listener is dropped with the task; wait until it is.
                let _ = task.await;
            }
            return Ok(());
        }
        if self.is_accepting() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.addr).await?;
        let task = tokio::spawn(accept_loop(listener, self.shared.clone()));
        *self.accept_task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        Ok(())
    }

    /// Whether the listener is open.
    pub fn is_accepting(&self) -> bool {
        self.accept_task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Where it listens (what a probe's `connect_to` points at).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its ELB DNS name (what an Ingress status and an alias target carry).
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    pub fn kind(&self) -> LbKind {
        self.spec.kind
    }

    pub fn region(&self) -> &str {
        &self.spec.region
    }

    /// The canonical hosted zone id for its region and kind; `None` for a region not in the
    /// table.
    pub fn canonical_zone_id(&self) -> Option<&'static str> {
        canonical_zone_id(&self.spec.region, self.spec.kind)
    }

    /// Serves `host` with the default behaviour (200) unless it already has one.
    pub fn add_host(&self, host: &str) {
        let mut hosts = lock(&self.hosts);
        hosts.behaviours.entry(normalise_host(host)).or_default();
    }

    /// Sets how requests for `host` are answered (and starts serving it).
    pub fn set_behaviour(&self, host: &str, behaviour: Behaviour) {
        let mut hosts = lock(&self.hosts);
        hosts.behaviours.insert(normalise_host(host), behaviour);
    }

    /// Sets how requests for exactly `path` of `host` are answered (the host's behaviour still
    /// answers its other paths), and starts serving the host.
    pub fn set_path_behaviour(&self, host: &str, path: &str, behaviour: Behaviour) {
        let mut hosts = lock(&self.hosts);
        let host = normalise_host(host);
        hosts.behaviours.entry(host.clone()).or_default();
        hosts.paths.insert((host, path.to_string()), behaviour);
    }

    /// Stops serving `host`: its requests get 404 from then on.
    pub fn remove_host(&self, host: &str) {
        let mut hosts = lock(&self.hosts);
        let host = normalise_host(host);
        hosts.behaviours.remove(&host);
        hosts.paths.retain(|(h, _), _| *h != host);
    }

    /// One simulated request for `path` of `host`, decided and counted exactly as an HTTP one,
    /// without a connection (the sandbox's traffic generator, running in simulated time).
    pub fn serve_simulated(&self, host: &str, path: &str) -> SimOutcome {
        let host = normalise_host(host);
        let routed = lock(&self.hosts).behaviours.contains_key(&host);
        match decide(&self.hosts, &host, path) {
            _ if !routed => SimOutcome::NoRoute,
            Action::Answer { status, latency } => SimOutcome::Target {
                status,
                latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            },
            Action::Hang => SimOutcome::Timeout,
            Action::Refuse => SimOutcome::Reset,
        }
    }

    /// Its CloudWatch `LoadBalancer` dimension: the end of its ARN, `app/<name>/<id>` (ALB,
    /// Classic modelled as ALB) or `net/<name>/<id>` (NLB), the id a stable function of the name
    /// (docs/reference/cloudwatch.md "Load balancer metrics").
    pub fn metrics_dimension(&self) -> String {
        let kind = match self.spec.kind {
            LbKind::Network => "net",
            LbKind::Application | LbKind::Classic => "app",
        };
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.spec.name.bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{kind}/{}/{hash:016x}", self.spec.name)
    }

    /// Its CloudWatch namespace: `AWS/ApplicationELB` or `AWS/NetworkELB`.
    pub fn metrics_namespace(&self) -> &'static str {
        match self.spec.kind {
            LbKind::Network => "AWS/NetworkELB",
            LbKind::Application | LbKind::Classic => "AWS/ApplicationELB",
        }
    }

    /// What was seen for `host` so far (zeros if nothing).
    pub fn counts(&self, host: &str) -> HostCounts {
        lock(&self.hosts)
            .counts
            .get(&normalise_host(host))
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for LoadBalancer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self
            .accept_task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

#[derive(Debug)]
struct Shared {
    cluster: String,
    hosts: Arc<Mutex<Hosts>>,
    stopped: watch::Receiver<bool>,
}

fn lock(hosts: &Mutex<Hosts>) -> std::sync::MutexGuard<'_, Hosts> {
    hosts.lock().unwrap_or_else(|e| e.into_inner())
}

/// Host names compare without case, port or trailing dot.
fn normalise_host(host: &str) -> String {
    if let Some(end) = host.find(']').filter(|_| host.starts_with('[')) {
        return host.get(..=end).unwrap_or(host).to_string();
    }
    let without_port = match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            name
        }
        _ => host,
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            // Out of descriptors or similar: back off briefly and keep serving.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut stopped = shared.stopped.clone();
            let service_shared = shared.clone();
            let service = service_fn(move |request| handle(service_shared.clone(), request));
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = stopped.wait_for(|stop| *stop) => {}
            }
        });
    }
}

/// The error a handler returns to make hyper close the connection without an answer.
#[derive(Debug, thiserror::Error)]
#[error("connection closed unanswered by the load balancer's scripted behaviour")]
struct Refused;

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Refused> {
    let host = request_host(&request);
    let path = request.uri().path().to_string();
    match decide(&shared.hosts, &host, &path) {
        Action::Refuse => Err(Refused),
        Action::Hang => {
            let mut stopped = shared.stopped.clone();
            let _ = stopped.wait_for(|stop| *stop).await;
            Err(Refused)
        }
        Action::Answer { status, latency } => {
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            Ok(answer(status, &shared.cluster, &host))
        }
    }
}

fn request_host(request: &Request<Incoming>) -> String {
    let header = request
        .headers()
        .get(hyper::header::HOST)
        .and_then(|value| value.to_str().ok());
    let host = header.or_else(|| request.uri().host()).unwrap_or_default();
    normalise_host(host)
}

/// Counts the request and picks what to do; unknown hosts get 404.
fn decide(hosts: &Mutex<Hosts>, host: &str, path: &str) -> Action {
    let mut hosts = lock(hosts);
    let behaviour = hosts
        .paths
        .get(&(host.to_string(), path.to_string()))
        .or_else(|| hosts.behaviours.get(host))
        .cloned();
    let counts = hosts.counts.entry(host.to_string()).or_default();
    let seen_before = counts.requests;
    counts.requests += 1;
    let action = match behaviour {
        None => Action::Answer {
            status: 404,
            latency: Duration::ZERO,
        },
        Some(behaviour) => action_for(&behaviour, seen_before),
    };
    let action = match action {
        // HTTP status codes are three digits; anything else scripted is answered as 500.
        Action::Answer { status, latency } if StatusCode::from_u16(status).is_err() => {
            Action::Answer {
                status: 500,
                latency,
            }
        }
        other => other,
    };
    match &action {
        Action::Answer { status, .. } => *counts.by_status.entry(*status).or_default() += 1,
        Action::Hang => counts.hung += 1,
        Action::Refuse => counts.refused += 1,
    }
    action
}

/// What `behaviour` does with the request that follows `seen_before` others for its host.
fn action_for(behaviour: &Behaviour, seen_before: u64) -> Action {
    let answer = |status| Action::Answer {
        status,
        latency: Duration::ZERO,
    };
    match behaviour {
        Behaviour::Status { status } => answer(*status),
        Behaviour::Slow { latency_ms, status } => Action::Answer {
            status: *status,
            latency: Duration::from_millis(*latency_ms),
        },
        Behaviour::Hang => Action::Hang,
        Behaviour::Refuse => Action::Refuse,
        Behaviour::Flap { every, good, bad } => {
            let every = u64::from((*every).max(1));
            if (seen_before / every).is_multiple_of(2) {
                answer(*good)
            } else {
                answer(*bad)
            }
        }
    }
}

fn answer(status: u16, cluster: &str, host: &str) -> Response<Body> {
    // `decide` only lets valid codes through.
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = if status == 404 {
        format!("no route for host {host} on cluster {cluster}\n")
    } else {
        format!("cluster={cluster} host={host} status={status}\n")
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = code;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_ids_follow_the_reference_table() {
        assert_eq!(
            canonical_zone_id("us-east-1", LbKind::Application),
            Some("Z35SXDOTRQ7X7K")
        );
        assert_eq!(
            canonical_zone_id("us-east-1", LbKind::Classic),
            Some("Z35SXDOTRQ7X7K")
        );
        assert_eq!(
            canonical_zone_id("us-east-1", LbKind::Network),
            Some("Z26RNL4JYFTOTI")
        );
        assert_eq!(
            canonical_zone_id("eu-west-1", LbKind::Application),
            Some("Z32O12XQLNTSW2")
        );
        assert_eq!(
            canonical_zone_id("eu-west-1", LbKind::Network),
            Some("Z2IFOLAFXWLO4F")
        );
        assert_eq!(
            canonical_zone_id("us-west-2", LbKind::Network),
            Some("Z18D5FSROUN65G")
        );
        assert_eq!(canonical_zone_id("xx-nowhere-1", LbKind::Network), None);
    }

    #[test]
    fn hostnames_have_the_elb_forms() {
        assert_eq!(
            elb_hostname("k8s-payments-1a2b3c", "eu-west-1", LbKind::Application),
            "k8s-payments-1a2b3c.eu-west-1.elb.amazonaws.com"
        );
        assert_eq!(
            elb_hostname("k8s-payments-1a2b3c", "eu-west-1", LbKind::Network),
            "k8s-payments-1a2b3c.elb.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            elb_hostname("lb", "cn-north-1", LbKind::Classic),
            "lb.cn-north-1.elb.amazonaws.com.cn"
        );
    }

    #[test]
    fn hosts_compare_without_case_port_or_trailing_dot() {
        assert_eq!(normalise_host("App.Example.com.:8080"), "app.example.com");
        assert_eq!(normalise_host("app.example.com"), "app.example.com");
        assert_eq!(normalise_host("[::1]:80"), "[::1]");
    }

    #[test]
    fn flap_alternates_every_n_requests() {
        let flap = Behaviour::Flap {
            every: 2,
            good: 200,
            bad: 503,
        };
        let statuses: Vec<u16> = (0..6)
            .map(|seen| match action_for(&flap, seen) {
                Action::Answer { status, .. } => status,
                _ => 0,
            })
            .collect();
        assert_eq!(statuses, vec![200, 200, 503, 503, 200, 200]);
    }

    #[tokio::test]
    async fn a_closed_listener_refuses_tcp_connects_until_it_reopens_on_the_same_port() {
        let lb = LoadBalancer::start(LbSpec::alb("blue", "eu-west-1").network())
            .await
            .expect("lb");
        let addr = lb.addr();
        assert!(lb.is_accepting());
        assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
        lb.set_accepting(false).await.expect("close");
        assert!(!lb.is_accepting());
        let refused = tokio::net::TcpStream::connect(addr).await;
        assert_eq!(
            refused.map(|_| ()).map_err(|e| e.kind()),
            Err(std::io::ErrorKind::ConnectionRefused)
        );
        lb.set_accepting(true).await.expect("reopen");
        assert_eq!(lb.addr(), addr);
        assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    }
}
