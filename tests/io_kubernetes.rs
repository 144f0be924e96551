//! EKS token byte-identical to botocore's, CA handling, DescribeCluster against a scripted EKS
//! server on loopback, the API override, and Ingress → IngressInfo.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod io_support;

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use base64::Engine;
use cutover::observe::kubernetes::{
    der_certificates, eks_token, ingress_info, presigned_sts_url, ApiOverride, ClusterRef,
    EksIngressSource, IngressSource, KubeError,
};
use cutover_core::types::DnsName;
use io_support::{FakeServer, Seen};
use serde_json::{json, Value};

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// `tests/fixtures/eks_token_botocore.json` was made by `eks_token_botocore.py` with botocore's
/// SigV4QueryAuth (what `aws eks get-token` uses), for fixed credentials and time.
#[test]
fn eks_token_is_byte_identical_to_botocore() {
    let fx: Value = serde_json::from_str(&fixture("eks_token_botocore.json")).unwrap();
    let time = UNIX_EPOCH + Duration::from_secs(fx["unix_time"].as_u64().unwrap());
    let cases = fx["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let credentials = Credentials::new(
            fx["access_key"].as_str().unwrap(),
            fx["secret_key"].as_str().unwrap(),
            case["session_token"].as_str().map(str::to_string),
            None,
            "fixture",
        );
        let cluster = case["cluster"].as_str().unwrap();
        let region = case["region"].as_str().unwrap();
        let url = presigned_sts_url(cluster, region, &credentials, time).unwrap();
        assert_eq!(url, case["url"].as_str().unwrap(), "{cluster}");
        let token = eks_token(cluster, region, &credentials, time).unwrap();
        assert_eq!(token, case["token"].as_str().unwrap(), "{cluster}");
    }
}

#[test]
fn eks_token_changes_with_the_cluster_name() {
    let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "t");
    let time = UNIX_EPOCH + Duration::from_secs(1_795_608_000);
    let blue = eks_token("blue", "us-east-1", &credentials, time).unwrap();
    let green = eks_token("green", "us-east-1", &credentials, time).unwrap();
    assert_ne!(blue, green);
    let body = blue.strip_prefix("k8s-aws-v1.").unwrap();
    assert!(!body.contains('='), "base64url without padding");
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .unwrap();
    let url = String::from_utf8(url).unwrap();
    assert!(url.starts_with(
        "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&"
    ));
    assert!(url.contains("X-Amz-Expires=60"));
    assert!(url.contains("X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"));
}

#[test]
fn ca_bundles_must_hold_a_certificate() {
    let pem = fixture("test-ca.pem");
    let ders = der_certificates(&pem).unwrap();
    assert_eq!(ders.len(), 1);
    assert_eq!(ders[0].first(), Some(&0x30), "DER starts with a SEQUENCE");
    let two = format!("{pem}\n{pem}");
    assert_eq!(der_certificates(&two).unwrap().len(), 2);
    assert_eq!(
        der_certificates("garbage").unwrap_err(),
        "no certificate in the PEM bundle"
    );
    assert_eq!(
        der_certificates("").unwrap_err(),
        "no certificate in the PEM bundle"
    );
}

fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDEXAMPLE",
            "not-a-real-secret",
            None,
            None,
            "test",
        )))
        .endpoint_url(endpoint)
        .build()
}

fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn cluster(api_override: Option<ApiOverride>) -> ClusterRef {
    ClusterRef {
        eks_name: "blue".into(),
        region: "eu-west-1".into(),
        annotation_prefix: "external-dns.alpha.kubernetes.io/".into(),
        external_dns_version: cutover_core::registry::ExternalDnsVersion::new(0, 14),
        api_override,
        role: None,
    }
}

#[tokio::test]
async fn describe_cluster_gives_endpoint_and_ca_then_the_list_is_tried() {
    let pem = fixture("test-ca.pem");
    let ca_data = base64::engine::general_purpose::STANDARD.encode(&pem);
    let port = dead_port();
    let server = FakeServer::start(move |_: &Seen, _| {
        (
            200,
            json!({"cluster": {
                "name": "blue",
                "endpoint": format!("https://127.0.0.1:{port}"),
                "certificateAuthority": {"data": ca_data},
                "status": "ACTIVE"
            }})
            .to_string(),
        )
    })
    .await;
    let source = EksIngressSource::new(sdk_config(&server.url()), Duration::from_secs(2));

    let err = source.list_ingresses(&cluster(None)).await.unwrap_err();

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/clusters/blue");
    // Nothing listens on the endpoint: the failure is the list, after a client was built.
    assert!(
        matches!(&err, KubeError::List { cluster, .. } if cluster == "blue"),
        "{err:?}"
    );
}

#[tokio::test]
async fn describe_cluster_without_ca_fails_loudly() {
    let server = FakeServer::start(|_: &Seen, _| {
        (
            200,
            json!({"cluster": {"name": "blue", "endpoint": "https://127.0.0.1:1"}}).to_string(),
        )
    })
    .await;
    let source = EksIngressSource::new(sdk_config(&server.url()), Duration::from_secs(2));
    let err = source.list_ingresses(&cluster(None)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cluster blue: EKS DescribeCluster answered without cluster.certificateAuthority.data"
    );
}

#[tokio::test]
async fn describe_cluster_errors_are_reported_with_the_cluster() {
    let server = FakeServer::start(|_: &Seen, _| {
        (
            404,
            json!({"message": "No cluster found for name: blue."}).to_string(),
        )
    })
    .await;
    let source = EksIngressSource::new(sdk_config(&server.url()), Duration::from_secs(2));
    let err = source.list_ingresses(&cluster(None)).await.unwrap_err();
    assert!(
        matches!(&err, KubeError::Describe { cluster, .. } if cluster == "blue"),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_api_override_skips_describe_cluster() {
    let server = FakeServer::start(|_: &Seen, _| (500, "{}".into())).await;
    let source = EksIngressSource::new(sdk_config(&server.url()), Duration::from_secs(2));
    let ca_pem = fixture("test-ca.pem");

    let good = cluster(Some(ApiOverride {
        endpoint: format!("https://127.0.0.1:{}", dead_port()),
        ca_pem: ca_pem.clone(),
    }));
    let err = source.list_ingresses(&good).await.unwrap_err();
    assert!(matches!(err, KubeError::List { .. }), "{err:?}");

    let bad_ca = cluster(Some(ApiOverride {
        endpoint: "https://127.0.0.1:6443".into(),
        ca_pem: "not a pem".into(),
    }));
    assert_eq!(
        source
            .list_ingresses(&bad_ca)
            .await
            .unwrap_err()
            .to_string(),
        "cluster blue: certificate authority: no certificate in the PEM bundle"
    );

    let clear_text = cluster(Some(ApiOverride {
        endpoint: "http://127.0.0.1:6443".into(),
        ca_pem,
    }));
    assert_eq!(
        source
            .list_ingresses(&clear_text)
            .await
            .unwrap_err()
            .to_string(),
        "cluster blue: API endpoint \"http://127.0.0.1:6443\": must start with https://"
    );

    assert!(server.requests().is_empty(), "DescribeCluster was skipped");
}

#[test]
fn ingress_hosts_come_from_rules_tls_and_the_hostname_annotation() {
    let ingress: k8s_openapi::api::networking::v1::Ingress = serde_json::from_value(json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "payments",
            "namespace": "shop",
            "annotations": {
                "external-dns.alpha.kubernetes.io/hostname": "Pay.Example.com., api.example.com , bad..name",
                "external-dns.alpha.kubernetes.io/set-identifier": "payments-blue",
                "other.example/hostname": "ignored.example.com"
            }
        },
        "spec": {
            "rules": [{"host": "payments.example.com"}, {}],
            "tls": [{"hosts": ["payments.example.com", "www.payments.example.com"]}]
        },
        "status": {"loadBalancer": {"ingress": [
            {"hostname": "k8s-shop-payments-1234.us-east-1.elb.amazonaws.com"}
        ]}}
    }))
    .unwrap();
    let info = ingress_info(&ingress, "external-dns.alpha.kubernetes.io/");
    assert_eq!(info.namespace, "shop");
    assert_eq!(info.name, "payments");
    let hosts: Vec<&str> = info.hosts.iter().map(DnsName::as_str).collect();
    assert_eq!(
        hosts,
        vec![
            "payments.example.com",
            "www.payments.example.com",
            "pay.example.com",
            "api.example.com"
        ]
    );
    assert_eq!(
        info.load_balancer_hostnames,
        vec!["k8s-shop-payments-1234.us-east-1.elb.amazonaws.com".to_string()]
    );
    assert_eq!(
        info.annotations
            .get("external-dns.alpha.kubernetes.io/set-identifier"),
        Some(&"payments-blue".to_string())
    );

    // Another cluster's prefix reads another annotation.
    let info = ingress_info(&ingress, "other.example/");
    assert!(info
        .hosts
        .contains(&DnsName::parse("ignored.example.com").unwrap()));
}

#[test]
fn an_ingress_target_annotation_replaces_its_load_balancer_status() {
    let ingress: k8s_openapi::api::networking::v1::Ingress = serde_json::from_value(json!({
        "metadata": {
            "name": "payments",
            "namespace": "shop",
            "annotations": {
                "external-dns.alpha.kubernetes.io/target": "edge-1.eu-west-1.elb.amazonaws.com., ",
                "other.example/target": "ignored.example.net"
            }
        },
        "spec": { "rules": [{"host": "payments.example.com"}] },
        "status": {"loadBalancer": {"ingress": [
            {"hostname": "k8s-shop-payments-1234.us-east-1.elb.amazonaws.com"}
        ]}}
    }))
    .unwrap();
    // As external-dns publishes it: the annotation's targets, not the status.
    let info = ingress_info(&ingress, "external-dns.alpha.kubernetes.io/");
    assert_eq!(
        info.load_balancer_hostnames,
        vec!["edge-1.eu-west-1.elb.amazonaws.com".to_string()]
    );
    // Another prefix's annotation is not this cluster's: the status stands.
    let info = ingress_info(&ingress, "another.example/");
    assert_eq!(
        info.load_balancer_hostnames,
        vec!["k8s-shop-payments-1234.us-east-1.elb.amazonaws.com".to_string()]
    );
}

#[test]
fn an_ingress_without_spec_or_status_is_empty_not_an_error() {
    let ingress: k8s_openapi::api::networking::v1::Ingress =
        serde_json::from_value(json!({"metadata": {"name": "bare", "namespace": "default"}}))
            .unwrap();
    let info = ingress_info(&ingress, "external-dns.alpha.kubernetes.io/");
    assert!(info.hosts.is_empty());
    assert!(info.load_balancer_hostnames.is_empty());
    assert_eq!(info.annotations, BTreeMap::new());
}
