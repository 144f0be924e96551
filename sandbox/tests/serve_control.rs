//! The assembled sandbox and its control API, in-process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::time::Duration;

use sandbox::route53::Route53Options;
use sandbox::world::World;
use sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};

async fn sandbox() -> Sandbox {
    Sandbox::start(
        World::default_world(),
        SandboxOptions {
            run_external_dns_loops: false,
            route53: Route53Options {
                insync_after: Duration::from_secs(2),
                rate_limit_per_second: None,
                ..Route53Options::default()
            },
        },
    )
    .await
    .expect("sandbox starts")
}

fn names(zone: &Value) -> Vec<String> {
    let mut names: Vec<String> = zone["records"]
        .as_array()
        .map(|records| {
            records
                .iter()
                .filter(|r| r["type"] != "SOA" && r["type"] != "NS")
                .map(|r| {
                    format!(
                        "{} {} {}",
                        r["name"].as_str().unwrap_or_default(),
                        r["type"].as_str().unwrap_or_default(),
                        r["set_identifier"].as_str().unwrap_or("-")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn the_default_world_starts_in_the_states_teams_have() {
    let sandbox = sandbox().await;
    let zone = sandbox.zone_id("example.com").expect("zone");
    let records = sandbox.route53().records(zone);
    let find = |name: &str, set_id: Option<&str>| {
        records
            .iter()
            .find(|r| r.name == name && r.rtype == "A" && r.set_identifier.as_deref() == set_id)
            .cloned()
    };
    let payments = find("payments.example.com.", None).expect("payments simple");
    assert_eq!(payments.weight, None);
    for service in ["checkout", "search"] {
        let name = format!("{service}.example.com.");
        let blue = find(&name, Some(&format!("{service}-blue"))).expect("blue member");
        let green = find(&name, Some(&format!("{service}-green"))).expect("green member");
        assert_eq!((blue.weight, green.weight), (Some(100), Some(0)));
    }
    // Each cluster's external-dns owns its own members (TXT owner labels).
    let txt = records
        .iter()
        .find(|r| {
            r.name == "a-checkout.example.com."
                && r.set_identifier.as_deref() == Some("checkout-green")
        })
        .expect("green TXT");
    assert!(
        txt.records[0].contains("external-dns/owner=green"),
        "{txt:?}"
    );
    assert!(sandbox.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    let endpoints = sandbox.endpoints();
    assert_eq!(endpoints.clusters.len(), 2);
    assert_eq!(endpoints.clusters["blue"].load_balancers.len(), 1);
}

#[tokio::test]
async fn control_api_changes_ingresses_and_runs_external_dns() {
    let sandbox = sandbox().await;
    let control = sandbox.endpoints().control.clone();
    let http = reqwest::Client::new();

    // Green gains a weighted payments Ingress: its CREATE conflicts with blue's simple record.
    let put = http
        .put(format!(
            "{control}/clusters/green/ingresses/default/payments"
        ))
        .json(&json!({
            "hosts": ["payments.example.com"],
            "annotations": {
                "external-dns.kubernetes.io/set-identifier": "payments-green",
                "external-dns.kubernetes.io/aws-weight": "0"
            },
            "load_balancer": "k8s-green-ingress"
        }))
        .send()
        .await
        .expect("put ingress");
    assert_eq!(put.status(), 200);
    let ingress: Value = put.json().await.expect("ingress json");
    assert!(ingress["load_balancer"]
        .as_str()
        .unwrap_or_default()
        .starts_with("k8s-green-ingress.eu-west-1.elb.amazonaws.com"));

    let report: Value = http
        .post(format!("{control}/clusters/green/external-dns/reconcile"))
        .send()
        .await
        .expect("reconcile")
        .json()
        .await
        .expect("report");
    assert_eq!(
        report["failed"][0]["name"], "payments.example.com",
        "{report}"
    );
    assert_eq!(report["failed"][0]["error"]["code"], "InvalidChangeBatch");

    // An unknown load balancer is refused naming the field.
    let bad = http
        .put(format!("{control}/clusters/green/ingresses/default/x"))
        .json(&json!({ "hosts": ["x.example.com"], "load_balancer": "nope" }))
        .send()
        .await
        .expect("put");
    assert_eq!(bad.status(), 400);
    let error: Value = bad.json().await.expect("error json");
    assert_eq!(
        error["error"],
        "load_balancer: cluster green has no load balancer `nope`"
    );

    // Removing blue's search Ingress: blue deletes its member (sync).
    let deleted = http
        .delete(format!("{control}/clusters/blue/ingresses/default/search"))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);
    http.post(format!("{control}/external-dns/reconcile"))
        .send()
        .await
        .expect("reconcile all");
    let zone: Value = http
        .get(format!("{control}/zones/example.com"))
        .send()
        .await
        .expect("zone")
        .json()
        .await
        .expect("zone json");
    let names = names(&zone);
    assert!(
        !names.contains(&"search.example.com. A search-blue".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"search.example.com. A search-green".to_string()),
        "{names:?}"
    );

    let missing = http
        .delete(format!("{control}/clusters/blue/ingresses/default/search"))
        .send()
        .await
        .expect("delete again");
    assert_eq!(missing.status(), 404);
    let unknown = http
        .post(format!("{control}/clusters/red/external-dns/reconcile"))
        .send()
        .await
        .expect("unknown cluster");
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn control_api_moves_the_clock_injects_faults_and_scripts_load_balancers() {
    let sandbox = sandbox().await;
    let control = sandbox.endpoints().control.clone();
    let http = reqwest::Client::new();

    let before = sandbox.clock().now_millis();
    let clock: Value = http
        .post(format!("{control}/clock/advance"))
        .json(&json!({ "seconds": 3600 }))
        .send()
        .await
        .expect("advance")
        .json()
        .await
        .expect("clock json");
    assert!(
        clock["offset_millis"].as_u64() >= Some(3_600_000),
        "{clock}"
    );
    assert!(sandbox.clock().now_millis() - before >= 3_600_000);

    // The next ChangeResourceRecordSets fails once.
    let zone = sandbox.zone_id("example.com").expect("zone").to_string();
    let mut member = sandbox
        .route53()
        .records(&zone)
        .into_iter()
        .find(|r| {
            r.name == "checkout.example.com."
                && r.rtype == "A"
                && r.set_identifier.as_deref() == Some("checkout-blue")
        })
        .expect("member");
    member.weight = Some(1);
    sandbox
        .route53()
        .change(
            &zone,
            vec![sandbox::route53::Change {
                action: sandbox::route53::Action::Upsert,
                rrset: member,
            }],
            None,
        )
        .expect("edit");
    let faults = http
        .post(format!("{control}/route53/faults"))
        .json(
            &json!({ "fail_next_change": { "code": "InvalidChangeBatch", "message": "injected" } }),
        )
        .send()
        .await
        .expect("faults");
    assert_eq!(faults.status(), 204);
    let edns = sandbox.external_dns("blue").expect("blue external-dns");
    // The whole batch fails once; external-dns then retries name by name in the same loop.
    let report = edns.run_once().await;
    assert_eq!(report.updated.len(), 1, "{report:?}");
    assert!(edns
        .log()
        .iter()
        .any(|l| l.message.contains("failed, retrying each name")
            && l.message.contains("InvalidChangeBatch: injected")));

    let counts: Value = http
        .get(format!("{control}/requests"))
        .send()
        .await
        .expect("requests")
        .json()
        .await
        .expect("requests json");
    assert!(counts["route53"]["total"].as_u64() > Some(0), "{counts}");
    assert!(
        counts["external_dns"]["blue"]["failed"].as_u64() >= Some(1),
        "{counts}"
    );

    // A scripted behaviour on blue's load balancer.
    let set = http
        .put(format!(
            "{control}/load-balancers/k8s-blue-ingress/hosts/payments.example.com"
        ))
        .json(&json!({ "kind": "status", "status": 503 }))
        .send()
        .await
        .expect("behaviour");
    assert_eq!(set.status(), 204);
    let lb_url = sandbox.endpoints().clusters["blue"]
        .load_balancers
        .values()
        .next()
        .cloned()
        .expect("lb url");
    let answer = http
        .get(&lb_url)
        .header("host", "payments.example.com")
        .send()
        .await
        .expect("lb");
    assert_eq!(answer.status(), 503);
    let host_counts: Value = http
        .get(format!(
            "{control}/load-balancers/k8s-blue-ingress/hosts/payments.example.com"
        ))
        .send()
        .await
        .expect("counts")
        .json()
        .await
        .expect("counts json");
    assert_eq!(host_counts["by_status"]["503"], 1, "{host_counts}");
}

#[tokio::test]
async fn a_gateway_with_a_bad_listener_is_refused_naming_it_and_not_stored() {
    let sandbox = sandbox().await;
    let control = sandbox.endpoints().control.clone();
    let http = reqwest::Client::new();
    let url = format!("{control}/clusters/green/gateways/default/edge");
    let cases = [
        (
            json!([{ "name": "http", "protocol": "SCTP" }]),
            "listeners[0].protocol: `SCTP` is not one of HTTP, HTTPS, TLS, TCP, UDP",
        ),
        (
            json!([{ "name": "a" }, { "name": "a" }]),
            "listeners[1].name: `a` must be a non-empty, unique listener name",
        ),
        (
            json!([{ "name": "a", "port": 0 }]),
            "listeners[0].port: must be 1–65535",
        ),
        (
            json!([{ "name": "a", "allowed_routes_from": "Any" }]),
            "listeners[0].allowed_routes_from: `Any` is not one of Same, All, Selector",
        ),
    ];
    for (listeners, message) in cases {
        let bad = http
            .put(&url)
            .json(&json!({ "listeners": listeners }))
            .send()
            .await
            .expect("put");
        assert_eq!(bad.status(), 400, "{listeners}");
        let error: Value = bad.json().await.expect("error json");
        assert_eq!(error["error"], message);
        let stored = http.get(&url).send().await.expect("get");
        assert_eq!(stored.status(), 404, "a refused gateway was stored");
    }
    let good = http
        .put(&url)
        .json(&json!({ "listeners": [{ "name": "http" }] }))
        .send()
        .await
        .expect("put");
    assert_eq!(good.status(), 200);
}
