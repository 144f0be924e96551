//! kubectl (a subprocess) reads a simulated cluster's Services, Gateways and HTTPRoutes — the
//! source kinds besides Ingresses — through a kubeconfig made by `kube_api::kubeconfig`, with an
//! EKS-style token: `get svc`, `get gateway`, `get httproute` by short and full names, as tables
//! and as JSON, missing objects, and read-only. kubectl must be installed: missing, the tests
//! fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use sandbox::clock::SimClock;
use sandbox::cluster::{Cluster, Gateway, HttpRoute, Listener, RouteParent, Service};
use sandbox::kube_api::{kubeconfig, serve_kube_api, KubeApiServer};
use sandbox::pki::Pki;

const REGION: &str = "eu-west-1";
const NLB: &str = "k8s-pay-payments-1a2b3c.elb.eu-west-1.amazonaws.com";
const GW_LB: &str = "k8s-infra-shared-4d5e6f.eu-west-1.elb.amazonaws.com";

struct Env {
    pki: Pki,
    clock: SimClock,
    cluster: Cluster,
    api: KubeApiServer,
    dir: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn start(test: &str) -> Env {
    let pki = Pki::generate().expect("pki");
    let clock = SimClock::new();
    let cluster = Cluster::new("green", REGION);
    cluster.upsert_service(Service {
        namespace: "pay".into(),
        name: "payments".into(),
        annotations: BTreeMap::from([(
            "external-dns.kubernetes.io/hostname".to_string(),
            "payments.example.com".to_string(),
        )]),
        service_type: "LoadBalancer".into(),
        load_balancer: Some(NLB.into()),
    });
    cluster.upsert_service(Service {
        namespace: "pay".into(),
        name: "internal".into(),
        annotations: BTreeMap::new(),
        service_type: "ClusterIP".into(),
        load_balancer: None,
    });
    cluster.upsert_gateway(Gateway {
        namespace: "infra".into(),
        name: "shared".into(),
        annotations: BTreeMap::new(),
        listeners: vec![Listener {
            name: "http".into(),
            hostname: Some("*.example.com".into()),
            port: 80,
            protocol: "HTTP".into(),
            allowed_routes_from: Some("All".into()),
        }],
        load_balancer: Some(GW_LB.into()),
    });
    cluster.upsert_http_route(HttpRoute {
        namespace: "web".into(),
        name: "shop".into(),
        annotations: BTreeMap::from([(
            "external-dns.kubernetes.io/set-identifier".to_string(),
            "shop-green".to_string(),
        )]),
        hostnames: vec!["shop.example.com".into()],
        parents: vec![RouteParent {
            namespace: Some("infra".into()),
            gateway: "shared".into(),
            section_name: None,
            accepted: true,
        }],
    });
    let api = serve_kube_api(cluster.clone(), &pki, clock.clone())
        .await
        .expect("kube api");
    let dir = std::env::temp_dir().join(format!(
        "sandbox-kubectl-sources-{test}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    Env {
        pki,
        clock,
        cluster,
        api,
        dir,
    }
}

impl Env {
    fn write_kubeconfig(&self) -> PathBuf {
        let text = kubeconfig(
            "green",
            REGION,
            &self.api.url(),
            self.pki.ca_pem(),
            self.clock.now(),
        )
        .expect("kubeconfig");
        let path = self.dir.join("kubeconfig");
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }

    async fn kubectl(&self, args: &[&str]) -> Output {
        let config = self.write_kubeconfig();
        let run = tokio::process::Command::new("kubectl")
            .env("KUBECONFIG", &config)
            .env("HOME", &self.dir)
            .arg("--cache-dir")
            .arg(self.dir.join("cache"))
            .arg("--request-timeout=20s")
            .args(args)
            .kill_on_drop(true)
            .output();
        match tokio::time::timeout(Duration::from_secs(60), run).await {
            Ok(Ok(output)) => output,
            Ok(Err(error)) => panic!("kubectl must be installed to run these tests: {error}"),
            Err(_) => panic!("kubectl {args:?} did not finish"),
        }
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_lists_services_with_their_load_balancer() {
    let env = start("svc").await;
    let output = env.kubectl(&["get", "svc", "-A"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let table = rows(&stdout(&output));
    assert_eq!(
        table[0],
        vec![
            "NAMESPACE",
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ]
    );
    assert_eq!(table.len(), 3, "{table:?}");
    assert_eq!(table[1][..3], ["pay", "internal", "ClusterIP"]);
    assert_eq!(table[1][4], "<none>");
    assert_eq!(table[2][..3], ["pay", "payments", "LoadBalancer"]);
    assert_eq!(table[2][4], NLB);
    // One as JSON, by its full resource name.
    let output = env
        .kubectl(&["get", "services", "-n", "pay", "payments", "-o", "json"])
        .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let svc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(svc["kind"], "Service");
    assert_eq!(svc["apiVersion"], "v1");
    assert_eq!(svc["spec"]["type"], "LoadBalancer");
    assert_eq!(
        svc["metadata"]["annotations"]["external-dns.kubernetes.io/hostname"],
        "payments.example.com"
    );
    assert_eq!(svc["status"]["loadBalancer"]["ingress"][0]["hostname"], NLB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_lists_gateways_and_httproutes() {
    let env = start("gateway-api").await;
    let output = env.kubectl(&["get", "gateway", "-A"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let table = rows(&stdout(&output));
    assert_eq!(
        table[0],
        vec!["NAMESPACE", "NAME", "CLASS", "ADDRESS", "PROGRAMMED", "AGE"]
    );
    assert_eq!(table[1][..5], ["infra", "shared", "sandbox", GW_LB, "True"]);

    let output = env.kubectl(&["get", "httproute", "-A"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let table = rows(&stdout(&output));
    assert_eq!(table[0], vec!["NAMESPACE", "NAME", "HOSTNAMES", "AGE"]);
    assert_eq!(table[1][..3], ["web", "shop", "[\"shop.example.com\"]"]);

    // Several kinds at once, as the docs show.
    let output = env.kubectl(&["get", "svc,gateway,httproute", "-A"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for needle in [
        "service/payments",
        "gateway.gateway.networking.k8s.io/shared",
        "httproute.gateway.networking.k8s.io/shop",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }

    let output = env
        .kubectl(&[
            "get",
            "httproutes.gateway.networking.k8s.io",
            "-n",
            "web",
            "shop",
            "-o",
            "json",
        ])
        .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let route: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(route["apiVersion"], "gateway.networking.k8s.io/v1");
    assert_eq!(route["spec"]["parentRefs"][0]["name"], "shared");
    assert_eq!(route["spec"]["parentRefs"][0]["namespace"], "infra");
    assert_eq!(
        route["status"]["parents"][0]["conditions"][0]["type"],
        "Accepted"
    );
    assert_eq!(
        route["status"]["parents"][0]["conditions"][0]["status"],
        "True"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reports_missing_objects_and_cannot_write() {
    let env = start("missing").await;
    let output = env
        .kubectl(&["get", "httproute", "-n", "web", "nope"])
        .await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(
            "Error from server (NotFound): httproutes.gateway.networking.k8s.io \"nope\" not found"
        ),
        "{}",
        stderr(&output)
    );
    let output = env.kubectl(&["get", "svc", "-n", "pay", "nope"]).await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("Error from server (NotFound): services \"nope\" not found"),
        "{}",
        stderr(&output)
    );
    let output = env
        .kubectl(&["delete", "svc", "-n", "pay", "payments"])
        .await;
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("cannot delete resource \"services\" in API group \"\""),
        "{err}"
    );
    assert!(env.cluster.service("pay", "payments").is_some());
    let output = env
        .kubectl(&["delete", "httproute", "-n", "web", "shop"])
        .await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(
            "cannot delete resource \"httproutes\" in API group \"gateway.networking.k8s.io\""
        ),
        "{}",
        stderr(&output)
    );
}
