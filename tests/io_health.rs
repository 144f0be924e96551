//! HTTP probes against a tiny server on 127.0.0.1:0: good, 5xx, slow (timeout), refused, the Host
//! header, unresolvable load balancers (inconclusive), bounded parallel checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use cutover::observe::health::{check_all, HttpProber, ProbeSpec, ProbeTarget, Prober, Resolver};
use cutover_core::config::Scheme;
use cutover_core::observation::{ClusterHealth, Verdict};
use cutover_core::types::DnsName;
use futures::future::BoxFuture;

#[derive(Default)]
struct Counters {
    flaky: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

async fn start_server() -> (SocketAddr, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/down",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/host",
            get(|headers: HeaderMap| async move {
                let host = headers
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                if host == "payments.example.com" {
                    (StatusCode::OK, host)
                } else {
                    (StatusCode::MISDIRECTED_REQUEST, host)
                }
            }),
        )
        .route(
            "/flaky",
            get(|State(c): State<Arc<Counters>>| async move {
                // Every third request fails.
                if c.flaky.fetch_add(1, Ordering::SeqCst) % 3 == 2 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }),
        )
        .route(
            "/gauge",
            get(|State(c): State<Arc<Counters>>| async move {
                let now = c.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                c.max_in_flight.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                c.in_flight.fetch_sub(1, Ordering::SeqCst);
                StatusCode::OK
            }),
        )
        .with_state(counters.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, counters)
}

fn spec(path: &str, samples: u32, allowed_failures: u32) -> ProbeSpec {
    ProbeSpec {
        scheme: Scheme::Http,
        path: path.into(),
        port: None,
        expected_status: (200, 399),
        timeout: Duration::from_millis(300),
        samples,
        allowed_failures,
        extra_root_pem: None,
    }
}

fn target(connect_to: Option<SocketAddr>, load_balancer: &str) -> ProbeTarget {
    ProbeTarget {
        hostname: DnsName::parse("payments.example.com").unwrap(),
        load_balancer: load_balancer.into(),
        connect_to,
    }
}

async fn check(spec: &ProbeSpec, target: &ProbeTarget) -> ClusterHealth {
    HttpProber::default().check(spec, target).await
}

#[tokio::test]
async fn a_healthy_endpoint_is_good_with_every_sample_recorded() {
    let (addr, _) = start_server().await;
    let health = check(&spec("/healthz", 3, 0), &target(Some(addr), "unused")).await;
    assert_eq!(health.verdict, Verdict::Good, "{}", health.reason);
    assert_eq!(health.samples.len(), 3);
    assert!(health.samples.iter().all(|s| s.ok && s.status == Some(200)));
}

#[tokio::test]
async fn the_host_header_is_the_service_hostname_not_the_load_balancer() {
    let (addr, _) = start_server().await;
    let health = check(&spec("/host", 1, 0), &target(Some(addr), "lb.example.net")).await;
    assert_eq!(health.verdict, Verdict::Good, "{}", health.reason);
}

#[tokio::test]
async fn a_5xx_endpoint_is_bad_and_says_why() {
    let (addr, _) = start_server().await;
    let health = check(&spec("/down", 2, 1), &target(Some(addr), "unused")).await;
    assert_eq!(health.verdict, Verdict::Bad);
    assert_eq!(health.samples.len(), 2);
    assert!(health
        .samples
        .iter()
        .all(|s| s.status == Some(503) && !s.ok));
    assert_eq!(
        health.reason,
        "2 of 2 samples failed (allowed 1; expected status 200–399): status 503 outside 200–399"
    );
}

#[tokio::test]
async fn the_expected_status_range_is_honoured() {
    let (addr, _) = start_server().await;
    let mut spec = spec("/down", 1, 0);
    spec.expected_status = (500, 503);
    let health = check(&spec, &target(Some(addr), "unused")).await;
    assert_eq!(health.verdict, Verdict::Good, "{}", health.reason);
}

#[tokio::test]
async fn allowed_failures_tolerate_some_bad_samples() {
    let (addr, _) = start_server().await;
    // /flaky fails one request in three.
    let health = check(&spec("/flaky", 3, 1), &target(Some(addr), "unused")).await;
    assert_eq!(health.verdict, Verdict::Good, "{}", health.reason);
    assert_eq!(health.samples.iter().filter(|s| !s.ok).count(), 1);
    let health = check(&spec("/flaky", 3, 0), &target(Some(addr), "unused")).await;
    assert_eq!(health.verdict, Verdict::Bad, "{}", health.reason);
}

#[tokio::test]
async fn a_slow_endpoint_times_out_and_is_bad() {
    let (addr, _) = start_server().await;
    let health = check(&spec("/slow", 1, 0), &target(Some(addr), "unused")).await;
    assert_eq!(health.verdict, Verdict::Bad);
    let error = health.samples[0].error.as_deref().unwrap_or_default();
    assert!(error.starts_with("timeout"), "{error}");
    assert_eq!(health.samples[0].status, None);
}

#[tokio::test]
async fn a_refused_connection_is_bad() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let health = check(&spec("/healthz", 2, 0), &target(Some(addr), "unused")).await;
    assert_eq!(health.verdict, Verdict::Bad);
    let error = health.samples[0].error.as_deref().unwrap_or_default();
    assert!(error.starts_with("connect"), "{error}");
}

/// Answers from a table, never from the network.
struct TableResolver(Vec<(String, Option<SocketAddr>)>);

impl Resolver for TableResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<SocketAddr>>> {
        let found = self.0.iter().find(|(h, _)| h == host).map(|(_, a)| *a);
        Box::pin(async move {
            match found {
                Some(Some(addr)) => Ok(vec![SocketAddr::new(addr.ip(), port)]),
                Some(None) => Ok(vec![]),
                None => Err(std::io::Error::other(
                    "failed to lookup address information",
                )),
            }
        })
    }
}

#[tokio::test]
async fn the_load_balancer_name_is_resolved_and_probed_on_the_spec_port() {
    let (addr, _) = start_server().await;
    let prober = HttpProber::new(Arc::new(TableResolver(vec![(
        "blue-lb.us-east-1.elb.amazonaws.com".into(),
        Some(addr),
    )])));
    let mut spec = spec("/host", 1, 0);
    spec.port = Some(addr.port());
    let health = prober
        .check(&spec, &target(None, "blue-lb.us-east-1.elb.amazonaws.com."))
        .await;
    assert_eq!(health.verdict, Verdict::Good, "{}", health.reason);
}

#[tokio::test]
async fn an_unresolvable_load_balancer_is_inconclusive_never_bad() {
    let prober = HttpProber::new(Arc::new(TableResolver(vec![(
        "empty-lb.example.net".into(),
        None,
    )])));
    let spec = spec("/healthz", 1, 0);
    let health = prober
        .check(&spec, &target(None, "gone-lb.example.net"))
        .await;
    assert_eq!(health.verdict, Verdict::Inconclusive);
    assert_eq!(
        health.reason,
        "cannot resolve load balancer \"gone-lb.example.net\": failed to lookup address information"
    );
    assert!(health.samples.is_empty());

    let health = prober
        .check(&spec, &target(None, "empty-lb.example.net"))
        .await;
    assert_eq!(health.verdict, Verdict::Inconclusive);
    assert_eq!(
        health.reason,
        "load balancer \"empty-lb.example.net\" resolved to no address"
    );

    let health = prober.check(&spec, &target(None, "")).await;
    assert_eq!(health.verdict, Verdict::Inconclusive);
}

#[tokio::test]
async fn an_unusable_ca_bundle_is_inconclusive() {
    let (addr, _) = start_server().await;
    let mut spec = spec("/healthz", 1, 0);
    spec.extra_root_pem = Some(b"not a certificate".to_vec());
    let health = check(&spec, &target(Some(addr), "unused")).await;
    assert_eq!(health.verdict, Verdict::Inconclusive, "{}", health.reason);
    assert!(
        health.reason.starts_with("extra root certificates"),
        "{}",
        health.reason
    );
}

#[tokio::test]
async fn many_checks_run_in_parallel_under_the_bound_and_keep_their_order() {
    let (addr, counters) = start_server().await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut checks: Vec<(ProbeSpec, ProbeTarget)> = (0..8)
        .map(|_| (spec("/gauge", 1, 0), target(Some(addr), "unused")))
        .collect();
    checks.insert(3, (spec("/healthz", 1, 0), target(Some(dead), "unused")));
    let results = check_all(&HttpProber::default(), &checks, 3).await;
    assert_eq!(results.len(), 9);
    for (i, health) in results.iter().enumerate() {
        let expected = if i == 3 { Verdict::Bad } else { Verdict::Good };
        assert_eq!(health.verdict, expected, "check {i}: {}", health.reason);
    }
    let max = counters.max_in_flight.load(Ordering::SeqCst);
    assert!(
        (1..=3).contains(&max),
        "at most 3 probes at once, saw {max}"
    );
}

/// A TCP front of `backend` that counts the connections it accepts.
async fn counting_front(backend: SocketAddr) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (addr, accepted)
}

fn target_for(host: &str, connect_to: SocketAddr) -> ProbeTarget {
    ProbeTarget {
        hostname: DnsName::parse(host).unwrap(),
        load_balancer: "shared-lb.example.net".into(),
        connect_to: Some(connect_to),
    }
}

#[tokio::test]
async fn the_checks_of_a_round_share_one_connection_pool_per_load_balancer() {
    let (backend, _) = start_server().await;
    let (lb, accepted) = counting_front(backend).await;
    // Six services behind one load balancer, three samples each, one check at a time: every
    // request after the first rides the kept-alive connection, whatever its Host header.
    let checks: Vec<(ProbeSpec, ProbeTarget)> = (0..6)
        .map(|i| {
            (
                spec("/healthz", 3, 0),
                target_for(&format!("svc{i}.example.com"), lb),
            )
        })
        .collect();
    let results = check_all(&HttpProber::default(), &checks, 1).await;
    assert!(results
        .iter()
        .all(|h| h.verdict == Verdict::Good && h.samples.len() == 3));
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one connection for the whole round"
    );

    // A second round does not reuse the first one's connections.
    let results = check_all(&HttpProber::default(), &checks[..1], 1).await;
    assert_eq!(results[0].verdict, Verdict::Good, "{}", results[0].reason);
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn every_request_of_a_shared_connection_names_its_own_service() {
    let (backend, _) = start_server().await;
    let (lb, accepted) = counting_front(backend).await;
    // /host answers 200 for payments.example.com only: on the shared connection the other
    // service's samples must still carry their own Host header, and fail.
    let checks = vec![
        (spec("/host", 2, 0), target_for("payments.example.com", lb)),
        (spec("/host", 2, 0), target_for("orders.example.com", lb)),
        (spec("/host", 2, 0), target_for("payments.example.com", lb)),
    ];
    let results = check_all(&HttpProber::default(), &checks, 1).await;
    let verdicts: Vec<Verdict> = results.iter().map(|h| h.verdict).collect();
    assert_eq!(verdicts, [Verdict::Good, Verdict::Bad, Verdict::Good]);
    assert!(results[1].samples.iter().all(|s| s.status == Some(421)));
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn load_balancers_of_a_round_keep_their_own_pools_and_resolve_once() {
    let (backend, _) = start_server().await;
    let (blue, blue_accepted) = counting_front(backend).await;
    let (green, green_accepted) = counting_front(backend).await;
    let resolved = Arc::new(AtomicUsize::new(0));
    struct Counting(Arc<AtomicUsize>, SocketAddr, SocketAddr);
    impl Resolver for Counting {
        fn resolve<'a>(
            &'a self,
            host: &'a str,
            _port: u16,
        ) -> BoxFuture<'a, std::io::Result<Vec<SocketAddr>>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            let addr = if host.starts_with("blue") {
                self.1
            } else {
                self.2
            };
            Box::pin(async move { Ok(vec![addr]) })
        }
    }
    let prober = HttpProber::new(Arc::new(Counting(resolved.clone(), blue, green)));
    let on = |host: &str, lb: &str| ProbeTarget {
        hostname: DnsName::parse(host).unwrap(),
        load_balancer: lb.into(),
        connect_to: None,
    };
    let mut checks = Vec::new();
    for i in 0..4 {
        let host = format!("svc{i}.example.com");
        checks.push((spec("/healthz", 2, 0), on(&host, "blue-lb.example.net")));
        checks.push((spec("/healthz", 2, 0), on(&host, "green-lb.example.net")));
    }
    let results = check_all(&prober, &checks, 1).await;
    assert!(
        results.iter().all(|h| h.verdict == Verdict::Good),
        "{results:?}"
    );
    assert_eq!(blue_accepted.load(Ordering::SeqCst), 1);
    assert_eq!(green_accepted.load(Ordering::SeqCst), 1);
    assert_eq!(
        resolved.load(Ordering::SeqCst),
        2,
        "one resolution per load balancer"
    );
}

/// A TLS front of `backend` (the sandbox's certificate for `localhost`) that records the server
/// name (SNI) of every connection it accepts.
async fn tls_front(
    backend: SocketAddr,
    pki: &sandbox::pki::Pki,
) -> (SocketAddr, Arc<std::sync::Mutex<Vec<String>>>) {
    let config = pki.server_config().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let names = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = names.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let config = config.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                // The name is read from the ClientHello, before the client may refuse the
                // certificate.
                let acceptor = rustls::server::Acceptor::default();
                let Ok(start) = tokio_rustls::LazyConfigAcceptor::new(acceptor, inbound).await
                else {
                    return;
                };
                let name = start.client_hello().server_name().unwrap_or("").to_string();
                seen.lock().unwrap().push(name);
                let Ok(mut tls) = start.into_stream(config).await else {
                    return;
                };
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut outbound).await;
                }
            });
        }
    });
    (addr, names)
}

#[tokio::test]
async fn https_checks_share_connections_only_within_one_server_name() {
    let (backend, _) = start_server().await;
    let pki = sandbox::pki::Pki::generate().unwrap();
    let (lb, names) = tls_front(backend, &pki).await;
    let https = |samples| ProbeSpec {
        scheme: Scheme::Https,
        extra_root_pem: Some(pki.ca_pem().as_bytes().to_vec()),
        timeout: Duration::from_secs(5),
        ..spec("/healthz", samples, 0)
    };
    // Two checks of `localhost` and one of another name behind the same load balancer.
    let checks = vec![
        (https(2), target_for("localhost", lb)),
        (https(2), target_for("other.example.com", lb)),
        (https(2), target_for("localhost", lb)),
    ];
    let results = check_all(&HttpProber::default(), &checks, 1).await;
    assert_eq!(results[0].verdict, Verdict::Good, "{}", results[0].reason);
    assert_eq!(results[2].verdict, Verdict::Good, "{}", results[2].reason);
    // The certificate is not valid for the other name: its samples never reached the backend
    // over a connection made for `localhost`.
    assert_eq!(results[1].verdict, Verdict::Bad, "{}", results[1].reason);
    let names = names.lock().unwrap().clone();
    assert_eq!(
        names.iter().filter(|n| *n == "localhost").count(),
        1,
        "one connection for both checks of localhost: {names:?}"
    );
    assert!(
        names.iter().any(|n| n == "other.example.com"),
        "the other name made its own connection: {names:?}"
    );
}
