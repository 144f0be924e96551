//! The EKS Ingress source against the sandbox: DescribeCluster (endpoint + CA) → EKS token → one
//! HTTPS Ingress list, authenticated by the token and verified under the cluster's CA.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::collections::BTreeMap;
use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use cutover::observe::kubernetes::{
    ApiOverride, ClusterRef, EksIngressSource, IngressSource, KubeError,
};
use cutover_core::types::DnsName;
use sandbox::clock::SimClock;
use sandbox::cluster::{Cluster, Ingress};
use sandbox::eks::{self, EksCluster, EksState};
use sandbox::kube_api::{serve_kube_api, KubeApiServer};
use sandbox::pki::Pki;

const REGION: &str = "eu-west-1";
const PREFIX: &str = "external-dns.alpha.kubernetes.io/";
const LB: &str = "k8s-payments-1a2b3c.eu-west-1.elb.amazonaws.com";

struct Env {
    api: KubeApiServer,
    ca_pem: String,
    eks_url: String,
}

async fn start() -> Env {
    let pki = Pki::generate().expect("pki");
    let clock = SimClock::new();
    let cluster = Cluster::new("blue", REGION);
    cluster.upsert_ingress(Ingress {
        namespace: "payments".into(),
        name: "payments".into(),
        hosts: vec!["payments.example.com".into()],
        annotations: BTreeMap::from([
            (
                format!("{PREFIX}set-identifier"),
                "payments-blue".to_string(),
            ),
            (
                format!("{PREFIX}hostname"),
                "pay.example.com,api.example.com".to_string(),
            ),
        ]),
        load_balancer: Some(LB.into()),
    });
    cluster.upsert_ingress(Ingress {
        namespace: "web".into(),
        name: "site".into(),
        hosts: vec!["www.example.com".into()],
        annotations: BTreeMap::new(),
        load_balancer: None,
    });
    let api = serve_kube_api(cluster, &pki, clock)
        .await
        .expect("kube api");
    let state = EksState::new();
    state.insert(EksCluster::new("blue", REGION, &api.url(), pki.ca_pem()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let eks_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, eks::router(state)).await;
    });
    Env {
        api,
        ca_pem: pki.ca_pem().to_string(),
        eks_url,
    }
}

fn source(eks_url: &str, secret_key: &str) -> EksIngressSource {
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            sandbox::ACCESS_KEY_ID,
            secret_key,
            None,
            None,
            "sandbox",
        )))
        .endpoint_url(eks_url)
        .build();
    EksIngressSource::new(config, Duration::from_secs(5))
}

fn blue(api_override: Option<ApiOverride>) -> ClusterRef {
    ClusterRef {
        eks_name: "blue".into(),
        region: REGION.into(),
        annotation_prefix: PREFIX.into(),
        external_dns_version: cutover_core::registry::ExternalDnsVersion::V0_22,
        api_override,
        role: None,
    }
}

fn hosts(names: &[&str]) -> Vec<DnsName> {
    names.iter().map(|n| DnsName::parse(n).unwrap()).collect()
}

#[tokio::test]
async fn ingresses_are_listed_through_describe_cluster_and_the_eks_token() {
    let env = start().await;
    let mut ingresses = source(&env.eks_url, sandbox::SECRET_ACCESS_KEY)
        .list_ingresses(&blue(None))
        .await
        .unwrap();
    ingresses.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    assert_eq!(ingresses.len(), 2);
    let payments = &ingresses[0];
    assert_eq!(
        (payments.namespace.as_str(), payments.name.as_str()),
        ("payments", "payments")
    );
    assert_eq!(
        payments.hosts,
        hosts(&["payments.example.com", "pay.example.com", "api.example.com"])
    );
    assert_eq!(payments.load_balancer_hostnames, vec![LB.to_string()]);
    assert_eq!(
        payments.annotations.get(&format!("{PREFIX}set-identifier")),
        Some(&"payments-blue".to_string())
    );
    let site = &ingresses[1];
    assert_eq!(site.hosts, hosts(&["www.example.com"]));
    assert!(site.load_balancer_hostnames.is_empty());
}

#[tokio::test]
async fn the_api_override_reaches_the_same_cluster_without_describe_cluster() {
    let env = start().await;
    let cluster = blue(Some(ApiOverride {
        endpoint: env.api.url(),
        ca_pem: env.ca_pem.clone(),
    }));
    // The EKS endpoint is never asked: the SDK points at a closed port.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let ingresses = source(&closed, sandbox::SECRET_ACCESS_KEY)
        .list_ingresses(&cluster)
        .await
        .unwrap();
    assert_eq!(ingresses.len(), 2);
}

#[tokio::test]
async fn a_token_signed_with_the_wrong_secret_is_refused() {
    let env = start().await;
    let err = source(&env.eks_url, "wrong/secret")
        .list_ingresses(&blue(Some(ApiOverride {
            endpoint: env.api.url(),
            ca_pem: env.ca_pem.clone(),
        })))
        .await
        .unwrap_err();
    match &err {
        KubeError::List { message, .. } => assert!(message.contains("401"), "{message}"),
        other => panic!("expected a refused list, got {other:?}"),
    }
}
