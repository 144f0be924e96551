//! Probes against the sandbox's load balancers, which route by Host header as an ALB does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::time::Duration;

use cutover::observe::health::{check_all, HttpProber, ProbeSpec, ProbeTarget, Prober};
use cutover_core::config::Scheme;
use cutover_core::observation::Verdict;
use cutover_core::types::DnsName;
use sandbox::lb::{Behaviour, LbSpec, LoadBalancer};

const HOST: &str = "payments.example.com";

fn spec() -> ProbeSpec {
    ProbeSpec {
        scheme: Scheme::Http,
        path: "/healthz".into(),
        port: None,
        expected_status: (200, 399),
        timeout: Duration::from_millis(500),
        samples: 3,
        allowed_failures: 0,
        extra_root_pem: None,
    }
}

fn target(lb: &LoadBalancer) -> ProbeTarget {
    ProbeTarget {
        hostname: DnsName::parse(HOST).unwrap(),
        load_balancer: lb.hostname().to_string(),
        connect_to: Some(lb.addr()),
    }
}

#[tokio::test]
async fn both_clusters_are_probed_with_the_service_host() {
    let blue = LoadBalancer::start(LbSpec::alb("blue", "eu-west-1"))
        .await
        .unwrap();
    let green = LoadBalancer::start(LbSpec::alb("green", "eu-west-1"))
        .await
        .unwrap();
    blue.add_host(HOST);
    green.add_host(HOST);
    green.set_behaviour(HOST, Behaviour::Status { status: 503 });

    let checks = vec![(spec(), target(&blue)), (spec(), target(&green))];
    let results = check_all(&HttpProber::default(), &checks, 2).await;

    assert_eq!(results[0].verdict, Verdict::Good, "{}", results[0].reason);
    assert_eq!(results[1].verdict, Verdict::Bad, "{}", results[1].reason);
    // Every sample reached the load balancer under the service's host name.
    assert_eq!(blue.counts(HOST).requests, 3);
    assert_eq!(green.counts(HOST).by_status.get(&503), Some(&3));
}

#[tokio::test]
async fn a_load_balancer_that_does_not_serve_the_host_is_bad() {
    let lb = LoadBalancer::start(LbSpec::alb("blue", "eu-west-1"))
        .await
        .unwrap();
    let health = HttpProber::default().check(&spec(), &target(&lb)).await;
    assert_eq!(health.verdict, Verdict::Bad);
    assert!(health.samples.iter().all(|s| s.status == Some(404)));
}

#[tokio::test]
async fn a_hanging_load_balancer_times_out_as_bad() {
    let lb = LoadBalancer::start(LbSpec::alb("blue", "eu-west-1"))
        .await
        .unwrap();
    lb.add_host(HOST);
    lb.set_behaviour(HOST, Behaviour::Hang);
    let mut spec = spec();
    spec.samples = 1;
    spec.timeout = Duration::from_millis(200);
    let health = HttpProber::default().check(&spec, &target(&lb)).await;
    assert_eq!(health.verdict, Verdict::Bad);
    assert!(
        health.samples[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .starts_with("timeout"),
        "{:?}",
        health.samples
    );
}
