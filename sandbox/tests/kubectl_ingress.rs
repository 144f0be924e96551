//! kubectl (a subprocess) reads a simulated cluster's Ingresses through a kubeconfig made by
//! `kube_api::kubeconfig`, with an EKS-style token. kubectl must be installed: missing, the tests
//! fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use sandbox::clock::SimClock;
use sandbox::cluster::{Cluster, Ingress};
use sandbox::kube_api::{kubeconfig, serve_kube_api, KubeApiServer};
use sandbox::pki::Pki;

const REGION: &str = "eu-west-1";
const LB: &str = "k8s-payments-1a2b3c.eu-west-1.elb.amazonaws.com";

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
    let cluster = Cluster::new("blue", REGION);
    cluster.upsert_ingress(Ingress {
        namespace: "payments".into(),
        name: "payments".into(),
        hosts: vec!["payments.example.com".into()],
        annotations: BTreeMap::from([(
            "external-dns.alpha.kubernetes.io/set-identifier".to_string(),
            "payments-blue".to_string(),
        )]),
        load_balancer: Some(LB.into()),
    });
    cluster.upsert_ingress(Ingress {
        namespace: "web".into(),
        name: "site".into(),
        hosts: vec!["www.example.com".into()],
        annotations: BTreeMap::new(),
        load_balancer: None,
    });
    let api = serve_kube_api(cluster.clone(), &pki, clock.clone())
        .await
        .expect("kube api");
    let dir = std::env::temp_dir().join(format!(
        "sandbox-kubectl-{test}-{}-{}",
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
    /// Writes a kubeconfig for `cluster_name` (its token made now, in simulated time) and returns
    /// its path.
    fn write_kubeconfig(&self, cluster_name: &str) -> PathBuf {
        let text = kubeconfig(
            cluster_name,
            REGION,
            &self.api.url(),
            self.pki.ca_pem(),
            self.clock.now(),
        )
        .expect("kubeconfig");
        let path = self.dir.join(format!("kubeconfig-{cluster_name}"));
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }

    async fn kubectl(&self, kubeconfig: &PathBuf, args: &[&str]) -> Output {
        let run = tokio::process::Command::new("kubectl")
            .env("KUBECONFIG", kubeconfig)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_lists_ingresses_across_namespaces() {
    let env = start("list").await;
    let config = env.write_kubeconfig("blue");
    let output = env.kubectl(&config, &["get", "ingress", "-A"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    let header: Vec<&str> = lines.first().expect("header").split_whitespace().collect();
    assert_eq!(
        header,
        vec![
            "NAMESPACE",
            "NAME",
            "CLASS",
            "HOSTS",
            "ADDRESS",
            "PORTS",
            "AGE"
        ]
    );
    let payments: Vec<&str> = lines.get(1).expect("row").split_whitespace().collect();
    assert_eq!(
        payments.get(..6),
        Some(
            &[
                "payments",
                "payments",
                "alb",
                "payments.example.com",
                LB,
                "80"
            ][..]
        )
    );
    let site: Vec<&str> = lines.get(2).expect("row").split_whitespace().collect();
    assert_eq!(site.get(..3), Some(&["web", "site", "alb"][..]));
    assert_eq!(lines.len(), 3, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_gets_one_ingress_as_json() {
    let env = start("get-json").await;
    let config = env.write_kubeconfig("blue");
    let output = env
        .kubectl(
            &config,
            &["get", "ingress", "-n", "payments", "payments", "-o", "json"],
        )
        .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let ingress: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(ingress["kind"], "Ingress");
    assert_eq!(ingress["apiVersion"], "networking.k8s.io/v1");
    assert_eq!(ingress["metadata"]["namespace"], "payments");
    assert_eq!(
        ingress["metadata"]["annotations"]["external-dns.alpha.kubernetes.io/set-identifier"],
        "payments-blue"
    );
    assert_eq!(ingress["spec"]["rules"][0]["host"], "payments.example.com");
    assert_eq!(
        ingress["status"]["loadBalancer"]["ingress"][0]["hostname"],
        LB
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_lists_a_namespace_as_json() {
    let env = start("list-json").await;
    let config = env.write_kubeconfig("blue");
    let output = env
        .kubectl(&config, &["get", "ingress", "-n", "web", "-o", "json"])
        .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["metadata"]["name"], "site");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reports_a_missing_ingress() {
    let env = start("missing").await;
    let config = env.write_kubeconfig("blue");
    let output = env
        .kubectl(&config, &["get", "ingress", "-n", "payments", "nope"])
        .await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(
            "Error from server (NotFound): ingresses.networking.k8s.io \"nope\" not found"
        ),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_with_a_token_for_another_cluster_is_unauthorized() {
    let env = start("other-cluster").await;
    let config = env.write_kubeconfig("green");
    let output = env.kubectl(&config, &["get", "ingress", "-A"]).await;
    assert!(!output.status.success());
    let err = stderr(&output);
    // kubectl's words for a 401.
    assert!(
        err.contains("the server has asked for the client to provide credentials"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_cannot_delete() {
    let env = start("delete").await;
    let config = env.write_kubeconfig("blue");
    let output = env
        .kubectl(
            &config,
            &["delete", "ingress", "-n", "payments", "payments"],
        )
        .await;
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("Forbidden"), "{err}");
    assert!(
        err.contains("cannot delete resource \"ingresses\" in API group \"networking.k8s.io\""),
        "{err}"
    );
    assert!(env.cluster.ingress("payments", "payments").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reports_a_missing_namespace() {
    let env = start("missing-ns").await;
    let config = env.write_kubeconfig("blue");
    let output = env
        .kubectl(&config, &["get", "ingress", "-n", "nowhere", "app"])
        .await;
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("Error from server (NotFound): namespaces \"nowhere\" not found"),
        "{err}"
    );
    let output = env.kubectl(&config, &["get", "namespaces"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let names: Vec<String> = stdout(&output)
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .collect();
    assert_eq!(
        names,
        vec![
            "default",
            "kube-node-lease",
            "kube-public",
            "kube-system",
            "payments",
            "web"
        ]
    );
}
