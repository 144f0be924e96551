//! The path cutover takes to a cluster, with the official clients: aws-sdk-eks DescribeCluster
//! (endpoint + CA) → an EKS token → a kube 5 client listing Ingresses over HTTPS under the CA.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_eks::config::{BehaviorVersion, Credentials, Region};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use k8s_openapi::api::networking::v1::Ingress as K8sIngress;
use kube::api::{Api, ListParams, PostParams};
use sandbox::clock::SimClock;
use sandbox::cluster::{Cluster, Ingress};
use sandbox::eks::{self, EksCluster, EksState};
use sandbox::kube_api::{serve_kube_api, KubeApiServer};
use sandbox::pki::Pki;
use sandbox::{token, ACCESS_KEY_ID, SECRET_ACCESS_KEY};

const REGION: &str = "eu-west-1";
const LB: &str = "k8s-payments-1a2b3c.eu-west-1.elb.amazonaws.com";

struct Sandbox {
    clock: SimClock,
    cluster: Cluster,
    api: KubeApiServer,
    eks_url: String,
    _eks_task: tokio::task::JoinHandle<()>,
}

fn payments_ingress() -> Ingress {
    Ingress {
        namespace: "payments".into(),
        name: "payments".into(),
        hosts: vec!["payments.example.com".into()],
        annotations: BTreeMap::from([
            (
                "external-dns.alpha.kubernetes.io/set-identifier".to_string(),
                "payments-blue".to_string(),
            ),
            (
                "external-dns.alpha.kubernetes.io/aws-weight".to_string(),
                "100".to_string(),
            ),
        ]),
        load_balancer: Some(LB.into()),
    }
}

fn web_ingress() -> Ingress {
    Ingress {
        namespace: "web".into(),
        name: "site".into(),
        hosts: vec!["www.example.com".into(), "example.com".into()],
        annotations: BTreeMap::new(),
        load_balancer: None,
    }
}

async fn start() -> Sandbox {
    let pki = Pki::generate().expect("pki");
    let clock = SimClock::new();
    let cluster = Cluster::new("blue", REGION);
    cluster.upsert_ingress(payments_ingress());
    cluster.upsert_ingress(web_ingress());
    let api = serve_kube_api(cluster.clone(), &pki, clock.clone())
        .await
        .expect("kube api");
    let state = EksState::new();
    state.insert(EksCluster::new("blue", REGION, &api.url(), pki.ca_pem()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let eks_url = format!("http://{}", listener.local_addr().expect("addr"));
    let eks_task = tokio::spawn(async move {
        let _ = axum::serve(listener, eks::router(state)).await;
    });
    Sandbox {
        clock,
        cluster,
        api,
        eks_url,
        _eks_task: eks_task,
    }
}

fn eks_client(sandbox: &Sandbox, access_key: &str) -> aws_sdk_eks::Client {
    let config = aws_sdk_eks::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(&sandbox.eks_url)
        .credentials_provider(Credentials::new(
            access_key,
            SECRET_ACCESS_KEY,
            None,
            None,
            "test",
        ))
        .build();
    aws_sdk_eks::Client::from_conf(config)
}

/// DescribeCluster → (endpoint, CA certificates in DER).
async fn describe(sandbox: &Sandbox, name: &str) -> (String, Vec<Vec<u8>>) {
    let output = eks_client(sandbox, ACCESS_KEY_ID)
        .describe_cluster()
        .name(name)
        .send()
        .await
        .expect("describe");
    let cluster = output.cluster().expect("cluster");
    let endpoint = cluster.endpoint().expect("endpoint").to_string();
    let data = cluster
        .certificate_authority()
        .and_then(|ca| ca.data())
        .expect("ca data");
    let pem = STANDARD.decode(data).expect("base64");
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let ders: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&pem)
        .map(|c| c.expect("pem").to_vec())
        .collect();
    assert!(
        !ders.is_empty(),
        "no certificate in certificateAuthority.data"
    );
    (endpoint, ders)
}

fn kube_client(endpoint: &str, ca: Vec<Vec<u8>>, token: Option<String>) -> kube::Client {
    let mut config = kube::Config::new(endpoint.parse().expect("uri"));
    config.root_cert = Some(ca);
    config.auth_info.token = token.map(Into::into);
    config.read_timeout = Some(Duration::from_secs(10));
    kube::Client::try_from(config).expect("client")
}

fn sandbox_token(cluster: &str, at: SystemTime) -> String {
    token::make(ACCESS_KEY_ID, SECRET_ACCESS_KEY, REGION, cluster, at).expect("token")
}

async fn client_for(sandbox: &Sandbox, token: Option<String>) -> kube::Client {
    let (endpoint, ca) = describe(sandbox, "blue").await;
    kube_client(&endpoint, ca, token)
}

fn api_status(error: kube::Error) -> u16 {
    match error {
        kube::Error::Api(status) => status.code,
        other => panic!("expected an API Status error, got {other:?}"),
    }
}

#[tokio::test]
async fn describe_cluster_returns_endpoint_ca_and_active_status() {
    let sandbox = start().await;
    let output = eks_client(&sandbox, ACCESS_KEY_ID)
        .describe_cluster()
        .name("blue")
        .send()
        .await
        .expect("describe");
    let cluster = output.cluster().expect("cluster");
    assert_eq!(cluster.name(), Some("blue"));
    assert_eq!(
        cluster.arn(),
        Some("arn:aws:eks:eu-west-1:123456789012:cluster/blue")
    );
    assert_eq!(
        cluster.status(),
        Some(&aws_sdk_eks::types::ClusterStatus::Active)
    );
    assert_eq!(cluster.endpoint(), Some(sandbox.api.url().as_str()));
    assert!(cluster.version().is_some());
    assert!(cluster.created_at().is_some());
    let (_, ca) = describe(&sandbox, "blue").await;
    assert_eq!(ca.len(), 1);
}

#[tokio::test]
async fn describe_unknown_cluster_is_resource_not_found() {
    let sandbox = start().await;
    let error = eks_client(&sandbox, ACCESS_KEY_ID)
        .describe_cluster()
        .name("purple")
        .send()
        .await
        .expect_err("unknown cluster");
    let service_error = error.into_service_error();
    assert!(
        service_error.is_resource_not_found_exception(),
        "{service_error:?}"
    );
    let aws_sdk_eks::operation::describe_cluster::DescribeClusterError::ResourceNotFoundException(
        not_found,
    ) = service_error
    else {
        panic!("not ResourceNotFoundException");
    };
    assert_eq!(
        not_found.message(),
        Some("No cluster found for name: purple.")
    );
    assert_eq!(not_found.cluster_name(), Some("purple"));
}

#[tokio::test]
async fn describe_with_unknown_access_key_is_refused() {
    let sandbox = start().await;
    let error = eks_client(&sandbox, "AKIAUNKNOWN")
        .describe_cluster()
        .name("blue")
        .send()
        .await
        .expect_err("unknown key");
    let service_error = error.into_service_error();
    assert_eq!(
        aws_sdk_eks::error::ProvideErrorMetadata::code(&service_error),
        Some("UnrecognizedClientException")
    );
}

#[tokio::test]
async fn kube_client_lists_ingresses_across_namespaces() {
    let sandbox = start().await;
    let client = client_for(&sandbox, Some(sandbox_token("blue", sandbox.clock.now()))).await;
    let list = Api::<K8sIngress>::all(client)
        .list(&ListParams::default())
        .await
        .expect("list");
    assert!(list.metadata.resource_version.is_some());
    let names: Vec<(String, String)> = list
        .items
        .iter()
        .map(|i| {
            (
                i.metadata.namespace.clone().unwrap_or_default(),
                i.metadata.name.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("payments".to_string(), "payments".to_string()),
            ("web".to_string(), "site".to_string())
        ]
    );
    let payments = list.items.first().expect("payments");
    let hosts: Vec<String> = payments
        .spec
        .as_ref()
        .and_then(|s| s.rules.clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r.host)
        .collect();
    assert_eq!(hosts, vec!["payments.example.com"]);
    let annotations = payments.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations
            .get("external-dns.alpha.kubernetes.io/set-identifier")
            .map(String::as_str),
        Some("payments-blue")
    );
    let lb_hostname = payments
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .and_then(|ingress| ingress.first())
        .and_then(|ingress| ingress.hostname.clone());
    assert_eq!(lb_hostname.as_deref(), Some(LB));
    assert!(payments.metadata.uid.is_some());
    assert!(payments.metadata.creation_timestamp.is_some());
    assert!(payments.metadata.resource_version.is_some());
    let site = list.items.get(1).expect("site");
    let site_lb = site
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.clone());
    assert_eq!(site_lb, None, "no load balancer status yet");
}

#[tokio::test]
async fn kube_client_lists_per_namespace_and_gets_one() {
    let sandbox = start().await;
    let client = client_for(&sandbox, Some(sandbox_token("blue", sandbox.clock.now()))).await;
    let web: Api<K8sIngress> = Api::namespaced(client.clone(), "web");
    let list = web.list(&ListParams::default()).await.expect("list");
    assert_eq!(list.items.len(), 1);
    let site = web.get("site").await.expect("get");
    let hosts: Vec<String> = site
        .spec
        .and_then(|s| s.rules)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r.host)
        .collect();
    assert_eq!(hosts, vec!["www.example.com", "example.com"]);
    let missing = web.get("nope").await.expect_err("missing");
    match missing {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 404);
            assert_eq!(status.reason, "NotFound");
            assert_eq!(
                status.message,
                "ingresses.networking.k8s.io \"nope\" not found"
            );
        }
        other => panic!("{other:?}"),
    }
    // A change in the store shows on the next read.
    sandbox.cluster.remove_ingress("web", "site");
    let list = web.list(&ListParams::default()).await.expect("list");
    assert!(list.items.is_empty());
}

#[tokio::test]
async fn bad_tokens_are_401() {
    let sandbox = start().await;
    let now = sandbox.clock.now();
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing token", None),
        ("not an EKS token", Some("hello".to_string())),
        (
            "garbled EKS token",
            Some("k8s-aws-v1.aHR0cHM6Ly9ldmlsLmV4YW1wbGUuY29tLw".to_string()),
        ),
        (
            "token for another cluster",
            Some(sandbox_token("green", now)),
        ),
        (
            "expired token",
            Some(sandbox_token("blue", now - Duration::from_secs(16 * 60))),
        ),
        (
            "wrong secret",
            Some(token::make(ACCESS_KEY_ID, "wrong", REGION, "blue", now).expect("token")),
        ),
    ];
    for (case, token) in cases {
        let client = client_for(&sandbox, token).await;
        let error = Api::<K8sIngress>::all(client)
            .list(&ListParams::default())
            .await
            .expect_err(case);
        assert_eq!(api_status(error), 401, "{case}");
    }
}

#[tokio::test]
async fn token_expires_as_simulated_time_passes() {
    // A token signed on the simulated clock (a client following it) expires as simulated time
    // passes: 15 minutes later it is refused.
    let sandbox = start().await;
    sandbox.clock.advance(Duration::from_secs(3600));
    let client = client_for(&sandbox, Some(sandbox_token("blue", sandbox.clock.now()))).await;
    let api = Api::<K8sIngress>::all(client);
    api.list(&ListParams::default()).await.expect("fresh token");
    sandbox.clock.advance(Duration::from_secs(16 * 60));
    let error = api.list(&ListParams::default()).await.expect_err("expired");
    assert_eq!(api_status(error), 401);
}

#[tokio::test]
async fn a_token_on_the_real_clock_survives_moving_the_simulated_clock() {
    // kubectl (or cutover without the rehearsal clock) signs on the real clock: moving the
    // simulated clock must not lock it out.
    let sandbox = start().await;
    let client = client_for(
        &sandbox,
        Some(sandbox_token("blue", std::time::SystemTime::now())),
    )
    .await;
    let api = Api::<K8sIngress>::all(client);
    sandbox.clock.advance(Duration::from_secs(3 * 3600));
    api.list(&ListParams::default())
        .await
        .expect("a fresh real-clock token is accepted whatever the simulated time");
    // A token too old on both clocks is refused.
    let old = std::time::SystemTime::now() - Duration::from_secs(20 * 60);
    let client = client_for(&sandbox, Some(sandbox_token("blue", old))).await;
    let error = Api::<K8sIngress>::all(client)
        .list(&ListParams::default())
        .await
        .expect_err("expired");
    assert_eq!(api_status(error), 401);
}

#[tokio::test]
async fn writes_are_403() {
    let sandbox = start().await;
    let client = client_for(&sandbox, Some(sandbox_token("blue", sandbox.clock.now()))).await;
    let api: Api<K8sIngress> = Api::namespaced(client, "payments");
    let mut ingress = K8sIngress::default();
    ingress.metadata.name = Some("new".into());
    let error = api
        .create(&PostParams::default(), &ingress)
        .await
        .expect_err("read-only");
    match error {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 403);
            assert_eq!(status.reason, "Forbidden");
            assert!(
                status
                    .message
                    .contains("cannot create resource \"ingresses\""),
                "{}",
                status.message
            );
        }
        other => panic!("{other:?}"),
    }
    let error = api
        .delete("payments", &Default::default())
        .await
        .expect_err("read-only");
    assert_eq!(api_status(error), 403);
    assert!(sandbox.cluster.ingress("payments", "payments").is_some());
}

#[tokio::test]
async fn a_write_without_a_token_is_401_first() {
    let sandbox = start().await;
    let client = client_for(&sandbox, None).await;
    let api: Api<K8sIngress> = Api::namespaced(client, "payments");
    let error = api
        .create(&PostParams::default(), &K8sIngress::default())
        .await
        .expect_err("unauthenticated");
    assert_eq!(api_status(error), 401);
}

#[tokio::test]
async fn the_server_is_not_trusted_without_the_cluster_ca() {
    let sandbox = start().await;
    let other_ca = Pki::generate().expect("pki").ca_der().to_vec();
    let client = kube_client(
        &sandbox.api.url(),
        vec![other_ca],
        Some(sandbox_token("blue", sandbox.clock.now())),
    );
    let error = Api::<K8sIngress>::all(client)
        .list(&ListParams::default())
        .await
        .expect_err("untrusted");
    assert!(
        !matches!(error, kube::Error::Api(_)),
        "TLS must fail before any answer: {error:?}"
    );
}
