//! Load balancers observed as a health probe sees them: reqwest straight to the load balancer's
//! address with the service's Host header.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::time::Duration;

use sandbox::lb::{Behaviour, LbKind, LbSpec, LoadBalancer};

const HOST: &str = "payments.example.com";

async fn blue_lb() -> LoadBalancer {
    LoadBalancer::start(LbSpec::alb("blue", "eu-west-1"))
        .await
        .expect("load balancer starts")
}

/// A client that sends `HOST` to the load balancer, bypassing DNS (as cutover's probes do).
fn client_for(lb: &LoadBalancer, timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .resolve(HOST, lb.addr())
        .timeout(timeout)
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

fn url(lb: &LoadBalancer) -> String {
    format!("http://{HOST}:{}/healthz", lb.addr().port())
}

async fn get_status(client: &reqwest::Client, lb: &LoadBalancer) -> Result<u16, reqwest::Error> {
    Ok(client.get(url(lb)).send().await?.status().as_u16())
}

#[tokio::test]
async fn default_answer_is_200_naming_the_cluster() {
    let lb = blue_lb().await;
    lb.add_host(HOST);
    let client = client_for(&lb, Duration::from_secs(5));
    let response = client.get(url(&lb)).send().await.expect("answer");
    assert_eq!(response.status().as_u16(), 200);
    let body = response.text().await.expect("body");
    assert!(body.contains("cluster=blue"), "{body}");
    assert!(body.contains(HOST), "{body}");
    let counts = lb.counts(HOST);
    assert_eq!(counts.requests, 1);
    assert_eq!(counts.by_status.get(&200), Some(&1));
}

#[tokio::test]
async fn hostname_and_zone_id_follow_the_elb_forms() {
    let lb = blue_lb().await;
    assert!(lb.hostname().starts_with("k8s-blue-"), "{}", lb.hostname());
    assert!(lb.hostname().ends_with(".eu-west-1.elb.amazonaws.com"));
    assert_eq!(lb.canonical_zone_id(), Some("Z32O12XQLNTSW2"));
    let nlb = LoadBalancer::start(LbSpec::alb("green", "us-east-1").network())
        .await
        .expect("nlb");
    assert_eq!(nlb.kind(), LbKind::Network);
    assert!(nlb.hostname().ends_with(".elb.us-east-1.amazonaws.com"));
    assert_eq!(nlb.canonical_zone_id(), Some("Z26RNL4JYFTOTI"));
    assert_ne!(lb.addr(), nlb.addr());
}

#[tokio::test]
async fn unknown_host_is_404_and_counted() {
    let lb = blue_lb().await;
    let client = client_for(&lb, Duration::from_secs(5));
    assert_eq!(get_status(&client, &lb).await.expect("answer"), 404);
    assert_eq!(lb.counts(HOST).by_status.get(&404), Some(&1));
    lb.add_host(HOST);
    assert_eq!(get_status(&client, &lb).await.expect("answer"), 200);
    lb.remove_host(HOST);
    assert_eq!(get_status(&client, &lb).await.expect("answer"), 404);
}

#[tokio::test]
async fn scripted_status_is_answered() {
    let lb = blue_lb().await;
    lb.set_behaviour(HOST, Behaviour::Status { status: 503 });
    let client = client_for(&lb, Duration::from_secs(5));
    assert_eq!(get_status(&client, &lb).await.expect("answer"), 503);
    assert_eq!(lb.counts(HOST).by_status.get(&503), Some(&1));
    assert_eq!(lb.counts("other.example.com").requests, 0);
    // A status that is not an HTTP status is answered (and counted) as 500.
    lb.set_behaviour(HOST, Behaviour::Status { status: 42 });
    assert_eq!(get_status(&client, &lb).await.expect("answer"), 500);
    assert_eq!(lb.counts(HOST).by_status.get(&500), Some(&1));
    assert_eq!(lb.counts(HOST).by_status.get(&42), None);
}

#[tokio::test]
async fn slow_host_answers_after_its_latency_or_times_the_client_out() {
    let lb = blue_lb().await;
    lb.set_behaviour(
        HOST,
        Behaviour::Slow {
            latency_ms: 300,
            status: 200,
        },
    );
    // A client that waits longer than the latency gets the answer...
    let patient = client_for(&lb, Duration::from_secs(10));
    assert_eq!(get_status(&patient, &lb).await.expect("answer"), 200);
    // ...one that waits less times out.
    let hasty = client_for(&lb, Duration::from_millis(50));
    let error = get_status(&hasty, &lb).await.expect_err("times out");
    assert!(error.is_timeout(), "{error:?}");
}

#[tokio::test]
async fn hanging_host_times_the_client_out() {
    let lb = blue_lb().await;
    lb.set_behaviour(HOST, Behaviour::Hang);
    let client = client_for(&lb, Duration::from_millis(200));
    let error = get_status(&client, &lb).await.expect_err("times out");
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(lb.counts(HOST).hung, 1);
}

#[tokio::test]
async fn refusing_host_closes_the_connection_unanswered() {
    let lb = blue_lb().await;
    lb.set_behaviour(HOST, Behaviour::Refuse);
    let client = client_for(&lb, Duration::from_secs(5));
    let error = get_status(&client, &lb).await.expect_err("no answer");
    assert!(!error.is_timeout(), "{error:?}");
    assert!(
        error.status().is_none(),
        "no status was answered: {error:?}"
    );
    let counts = lb.counts(HOST);
    assert_eq!(counts.refused, 1);
    assert!(counts.by_status.is_empty());
    // The load balancer keeps serving other hosts.
    lb.add_host("other.example.com");
    let other = reqwest::Client::builder()
        .resolve("other.example.com", lb.addr())
        .build()
        .expect("client");
    let status = other
        .get(format!("http://other.example.com:{}/", lb.addr().port()))
        .send()
        .await
        .expect("answer")
        .status();
    assert_eq!(status.as_u16(), 200);
}

#[tokio::test]
async fn flapping_host_alternates_every_n_requests() {
    let lb = blue_lb().await;
    lb.set_behaviour(
        HOST,
        Behaviour::Flap {
            every: 3,
            good: 200,
            bad: 502,
        },
    );
    let client = client_for(&lb, Duration::from_secs(5));
    let mut seen = Vec::new();
    for _ in 0..8 {
        seen.push(get_status(&client, &lb).await.expect("answer"));
    }
    assert_eq!(seen, vec![200, 200, 200, 502, 502, 502, 200, 200]);
    let counts = lb.counts(HOST);
    assert_eq!(counts.requests, 8);
    assert_eq!(counts.by_status.get(&200), Some(&5));
    assert_eq!(counts.by_status.get(&502), Some(&3));
}

#[tokio::test]
async fn explicit_host_header_routes_too() {
    let lb = blue_lb().await;
    lb.set_behaviour(HOST, Behaviour::Status { status: 418 });
    let status = reqwest::Client::new()
        .get(format!("http://{}/", lb.addr()))
        .header("Host", HOST)
        .send()
        .await
        .expect("answer")
        .status();
    assert_eq!(status.as_u16(), 418);
}
