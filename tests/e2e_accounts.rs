//! End to end on the sandbox: the hosted zone lives in another account (222222222222), as in an
//! organisation whose zones sit in a shared networking account. Both external-dns instances
//! write there with that account's credentials; cutover reaches the zone only through the role
//! `cutover-records` it assumes (STS `AssumeRole`, session `cutover`, external id), since its own
//! credentials are refused there. What each test shows:
//! - a canary and a blue-green migrate a name in that zone through the assumed role, and the
//!   role is assumed once for the whole migration (credentials cached across invocations);
//! - a wrong external id, no role at all, or a role in the wrong account are refused with an
//!   error naming the zone and the role (or the function's own credentials), and nothing is
//!   written;
//! - a request signed with a wrong secret, or whose body was altered after signing, is refused
//!   `SignatureDoesNotMatch` by Route53 and by STS `AssumeRole`, and nothing is changed; SNS and
//!   CloudWatch refuse an unknown key and a wrong secret.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use sandbox::iam::DEFAULT_ACCOUNT;
use sandbox::world::World;
use serde_json::Value;
use support::{records_at, service_report, Harness, FAST_ROLLOUT};

const ZONE_ACCOUNT: &str = "222222222222";
const ROLE_ARN: &str = "arn:aws:iam::222222222222:role/cutover-records";
const EXTERNAL_ID: &str = "cutover-ext-42";
const OTHER_ROLE_ARN: &str = "arn:aws:iam::333333333333:role/elsewhere";
/// green runs in its own workload account; cutover reads it through this role.
const CLUSTER_ACCOUNT: &str = "444444444444";
const CLUSTER_ROLE_ARN: &str = "arn:aws:iam::444444444444:role/cutover-reader";

/// Blue-green: the event names the strategy; one step, a five-minute verify window.
const BG_ROLLOUT: &str = r#"
[defaults]
strategy = "canary"
steps = [{ percent = 100, bake = "2m" }]
failure_threshold = 2
verify_window = "5m"
propagation_allowance = "30s"

[defaults.health_check]
scheme = "http"
path = "/healthz"
timeout = "5s"
samples = 3
allowed_failures = 0
"#;

fn world() -> World {
    let text = format!(
        r#"
[[accounts]]
id = "{ZONE_ACCOUNT}"
[[accounts.roles]]
name = "cutover-records"
external_id = "{EXTERNAL_ID}"
trusted_accounts = ["{DEFAULT_ACCOUNT}"]

[[accounts]]
id = "333333333333"
[[accounts.roles]]
name = "elsewhere"
trusted_accounts = ["{DEFAULT_ACCOUNT}"]

[[accounts]]
id = "{CLUSTER_ACCOUNT}"
[[accounts.roles]]
name = "cutover-reader"
trusted_accounts = ["{DEFAULT_ACCOUNT}"]

[[zones]]
name = "example.com"
account = "{ZONE_ACCOUNT}"

[[clusters]]
name = "blue"
region = "eu-west-1"
load_balancers = [{{ name = "k8s-blue-ingress", kind = "alb" }}]
[clusters.external_dns]
owner_id = "blue"
version = "v0.22"
policy = "sync"
interval_seconds = 60
account = "{ZONE_ACCOUNT}"

[[clusters]]
name = "green"
account = "{CLUSTER_ACCOUNT}"
region = "eu-west-1"
load_balancers = [{{ name = "k8s-green-ingress", kind = "alb" }}]
[clusters.external_dns]
owner_id = "green"
version = "v0.22"
policy = "sync"
interval_seconds = 60
account = "{ZONE_ACCOUNT}"

[[ingresses]]
cluster = "blue"
name = "payments"
hosts = ["payments.example.com"]
load_balancer = "k8s-blue-ingress"

[[ingresses]]
cluster = "green"
name = "payments"
hosts = ["payments.example.com"]
load_balancer = "k8s-green-ingress"

[[ingresses]]
cluster = "blue"
name = "search"
hosts = ["search.example.com"]
load_balancer = "k8s-blue-ingress"
annotations = {{ "external-dns.kubernetes.io/set-identifier" = "search-blue", "external-dns.kubernetes.io/aws-weight" = "100" }}

[[ingresses]]
cluster = "green"
name = "search"
hosts = ["search.example.com"]
load_balancer = "k8s-green-ingress"
annotations = {{ "external-dns.kubernetes.io/set-identifier" = "search-green", "external-dns.kubernetes.io/aws-weight" = "0" }}
"#
    );
    World::from_toml(&text).unwrap_or_else(|e| panic!("world: {e}\n{text}"))
}

const SERVICES: [(&str, &str, &str); 2] =
    [("search", "blue", "green"), ("payments", "blue", "green")];

async fn harness(rollout: &str) -> Harness {
    let h = Harness::start(world(), &SERVICES, rollout).await;
    // The generated config names the zone's role, as an operator's would.
    assert!(
        h.config_toml
            .contains(&format!("role_arn = \"{ROLE_ARN}\"")),
        "{}",
        h.config_toml
    );
    for (cluster, r) in h.external_dns().await {
        assert!(r.failed.is_empty(), "{cluster}: {:?}", r.failed);
        assert!(r.errors.is_empty(), "{cluster}: {:?}", r.errors);
    }
    assert_eq!(
        h.sandbox.route53().zone_account(&h.zone_id()).as_deref(),
        Some(ZONE_ACCOUNT)
    );
    h
}

/// A harness whose config went through `edit` (the zone's role changed or removed).
async fn harness_with(edit: impl FnOnce(String) -> String) -> Harness {
    let h = Harness::start_with_config(world(), &SERVICES, FAST_ROLLOUT, edit, &|_| None)
        .await
        .unwrap_or_else(|e| panic!("config: {e}"));
    for (cluster, r) in h.external_dns().await {
        assert!(r.failed.is_empty(), "{cluster}: {:?}", r.failed);
    }
    h
}

fn kind(entry: &Value) -> String {
    entry["kind"].as_str().unwrap_or_default().to_string()
}

fn percent(entry: &Value, key: &str) -> Option<u64> {
    entry.get(key)?.get("to")?.as_u64()
}

/// The successful `AssumeRole` calls of `role` so far; every call is checked for the session
/// name and the caller.
fn assumed(h: &Harness, role: &str) -> usize {
    let calls = h.sandbox.route53().iam().assume_role_calls();
    for call in &calls {
        assert_eq!(call.session_name.as_deref(), Some("cutover"), "{call:?}");
        assert_eq!(call.caller_account.as_deref(), Some(DEFAULT_ACCOUNT));
    }
    calls
        .iter()
        .filter(|c| c.error.is_none() && c.role_arn == role)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_in_a_zone_of_another_account_goes_through_the_assumed_role() {
    let h = harness(FAST_ROLLOUT).await;
    // cutover's own credentials cannot read the zone: only the role can.
    let own = h.route53.clone();
    let refused = cutover::observe::route53::Route53Api::list_records(&*own, &h.zone_id())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("AccessDenied"), "{refused}");

    let history_start = h.sandbox.route53().history_len();
    let report = h.deploy_event("msg-1", "search", "green").await;
    let entry = service_report(&report, "search").unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(kind(&entry), "start", "{entry:#}");
    assert_eq!(entry["applied"], true, "{entry:#}");

    let mut seen = BTreeSet::new();
    let mut team_acted = false;
    let mut completed = false;
    for tick in 0..40 {
        h.advance(Duration::from_secs(60));
        for (cluster, r) in h.external_dns().await {
            assert!(
                r.failed.is_empty(),
                "tick {tick}: {cluster}: {:?}",
                r.failed
            );
        }
        let report = h.tick().await;
        let Some(entry) = service_report(&report, "search") else {
            continue;
        };
        assert!(entry.get("error").is_none(), "tick {tick}: {entry:#}");
        if let Some(p) = percent(&entry, "weights_after").or(percent(&entry, "weights_before")) {
            seen.insert(p);
        }
        if seen.contains(&100) && !team_acted {
            h.annotate("green", "search", &[("aws-weight", "100")]);
            h.remove_ingress("blue", "search");
            team_acted = true;
        }
        if kind(&entry) == "complete" {
            completed = true;
            break;
        }
    }
    for p in [5, 25, 50, 100] {
        assert!(seen.contains(&p), "never reached {p} %: {seen:?}");
    }
    assert!(completed, "the canary did not complete: {seen:?}");
    // Every write went to the zone of the other account.
    let history = h.sandbox.route53().history();
    assert!(history.len() > history_start + 4);
    assert!(history[history_start..]
        .iter()
        .all(|c| c.zone_id == h.zone_id()));
    let zone = h.sandbox.route53().records(&h.zone_id());
    let a: Vec<_> = records_at(&zone, "search.example.com")
        .into_iter()
        .filter(|r| r.rtype == "A")
        .collect();
    assert_eq!(a.len(), 1, "{a:?}");
    // One AssumeRole per role for the whole migration: the credentials were cached across
    // invocations, and green's role served both DescribeCluster and the token.
    assert_eq!(assumed(&h, ROLE_ARN), 1);
    assert_eq!(assumed(&h, CLUSTER_ROLE_ARN), 1);
    let calls = h.sandbox.route53().iam().assume_role_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls
        .iter()
        .all(|c| c.external_id_sent == (c.role_arn == ROLE_ARN)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blue_green_in_a_zone_of_another_account_goes_through_the_assumed_role() {
    let h = harness(BG_ROLLOUT).await;
    let report = h
        .deploy_event_with_strategy("msg-bg", "payments", "green", "blue-green")
        .await;
    let entry = service_report(&report, "payments").unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(kind(&entry), "start", "{entry:#}");
    assert_eq!(entry["applied"], true, "{entry:#}");
    let green_lb = h
        .lb_hostname("green")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let zone = h.sandbox.route53().records(&h.zone_id());
    for r in records_at(&zone, "payments.example.com")
        .into_iter()
        .filter(|r| r.rtype == "A")
    {
        let target = r
            .alias_target
            .as_ref()
            .map(|a| a.dns_name.trim_end_matches('.').to_ascii_lowercase());
        assert_eq!(target.as_deref(), Some(green_lb.as_str()), "{r:?}");
    }
    let mut done = None;
    for round in 0..30 {
        h.advance(Duration::from_secs(60));
        for (cluster, r) in h.external_dns().await {
            assert!(
                r.failed.is_empty(),
                "round {round}: {cluster}: {:?}",
                r.failed
            );
        }
        let report = h.tick().await;
        if let Some(entry) = service_report(&report, "payments") {
            assert!(entry.get("error").is_none(), "round {round}: {entry:#}");
            if kind(&entry) == "complete" {
                done = Some(entry);
                break;
            }
        }
    }
    let done = done.expect("the blue-green completes");
    assert_eq!(done["applied"], true, "{done:#}");
    assert_eq!(assumed(&h, ROLE_ARN), 1);
    assert_eq!(assumed(&h, CLUSTER_ROLE_ARN), 1);
}

/// A deploy event for `search` that cannot reach the zone: the report's error, and nothing
/// written.
async fn refused_start(h: &Harness) -> String {
    let writes = h.sandbox.route53().history_len();
    let report = h.deploy_event("msg-refused", "search", "green").await;
    assert_eq!(
        h.sandbox.route53().history_len(),
        writes,
        "something was written: {report:#}"
    );
    let entry = service_report(&report, "search").unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(entry["applied"], false, "{entry:#}");
    assert_eq!(entry["kind"], "hold", "{entry:#}");
    // A refusal is not something a retry fixes: Lambda must not retry the event for it.
    assert!(entry.get("transient").is_none(), "{entry:#}");
    assert_eq!(report["outcome"], "refused", "{report:#}");
    entry["error"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_external_id_is_refused_naming_the_zone_and_the_role() {
    let h = harness_with(|toml| {
        toml.replace(
            &format!("external_id = \"{EXTERNAL_ID}\""),
            "external_id = \"not-the-agreed-id\"",
        )
    })
    .await;
    let error = refused_start(&h).await;
    let zone = h.zone_id();
    assert!(error.contains(&format!("zone {zone}")), "{error}");
    assert!(error.contains(&format!("role {ROLE_ARN}")), "{error}");
    assert!(error.contains("sts:AssumeRole"), "{error}");
    assert!(!error.contains("not-the-agreed-id"), "{error}");
    // STS was asked and refused; Route53 never saw a request for the zone from cutover.
    let calls = h.sandbox.route53().iam().assume_role_calls();
    let zone_calls: Vec<_> = calls.iter().filter(|c| c.role_arn == ROLE_ARN).collect();
    assert!(!zone_calls.is_empty());
    assert!(
        zone_calls
            .iter()
            .all(|c| c.error.as_deref() == Some("AccessDenied")),
        "{calls:?}"
    );
    assert_eq!(assumed(&h, ROLE_ARN), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_functions_own_credentials_are_refused_in_the_other_account() {
    let h = harness_with(|toml| {
        toml.replace(&format!("role_arn = \"{ROLE_ARN}\"\n"), "")
            .replace(&format!("external_id = \"{EXTERNAL_ID}\"\n"), "")
    })
    .await;
    assert!(h.ctx.config.zones[0].role.is_none());
    let error = refused_start(&h).await;
    let zone = h.zone_id();
    assert!(error.contains(&format!("zone {zone}")), "{error}");
    assert!(error.contains("the function's own credentials"), "{error}");
    assert!(error.contains("AccessDenied"), "{error}");
    assert!(h
        .sandbox
        .route53()
        .iam()
        .assume_role_calls()
        .iter()
        .all(|c| c.role_arn != ROLE_ARN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_in_the_wrong_account_is_refused_by_route53() {
    let h = harness_with(|toml| {
        toml.replace(ROLE_ARN, OTHER_ROLE_ARN)
            .replace(&format!("external_id = \"{EXTERNAL_ID}\"\n"), "")
    })
    .await;
    let error = refused_start(&h).await;
    let zone = h.zone_id();
    assert!(error.contains(&format!("zone {zone}")), "{error}");
    assert!(error.contains(&format!("role {OTHER_ROLE_ARN}")), "{error}");
    assert!(error.contains("route53:ListResourceRecordSets"), "{error}");
    // The role itself was assumed: Route53 refused its credentials for this zone.
    assert_eq!(assumed(&h, OTHER_ROLE_ARN), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_of_another_account_is_read_only_through_its_role() {
    // Without green's role, cutover's own credentials cannot describe green: the service is
    // held with the cluster named, and nothing is written.
    let h = harness_with(|toml| toml.replace(&format!("role_arn = \"{CLUSTER_ROLE_ARN}\"\n"), ""))
        .await;
    let green = h
        .ctx
        .config
        .cluster(&cutover_core::types::Name::new("green").unwrap())
        .unwrap();
    assert!(green.role.is_none());
    let writes = h.sandbox.route53().history_len();
    let report = h.deploy_event("msg-cluster", "search", "green").await;
    assert_eq!(h.sandbox.route53().history_len(), writes, "{report:#}");
    let text = report.to_string();
    assert!(text.contains("cluster green"), "{report:#}");
    assert!(text.contains("eks:DescribeCluster"), "{report:#}");
    let entry = service_report(&report, "search").unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(entry["applied"], false, "{entry:#}");

    // The role exists and works (the canary above reads green through it): the refusal came
    // from green's account, which cutover's own credentials have no access to.
    assert_eq!(h.sandbox.cluster("green").unwrap().account, CLUSTER_ACCOUNT);
}

/// A raw request to a sandbox endpoint, signed now with `signing` over `signed_body`, then sent
/// with `sent_body` (the same, or one altered after signing). Returns status and body.
async fn send_signed(
    signing: &sandbox::sigv4::SigningKey<'_>,
    url: &str,
    content_type: &str,
    signed_body: &str,
    sent_body: &str,
) -> (u16, String) {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("content-type", content_type.parse().unwrap());
    let headers = sandbox::sigv4::sign(
        signing,
        &axum::http::Method::POST,
        url,
        &headers,
        signed_body.as_bytes(),
        std::time::SystemTime::now(),
    )
    .unwrap();
    // Route53's rate limit answers before the signature is looked at: wait and resend.
    loop {
        let response = reqwest::Client::new()
            .post(url)
            .headers(headers.clone())
            .body(sent_body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        if !text.contains("<Code>Throttling</Code>") {
            return (status, text);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn change_batch(value: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>signed.example.com</Name><Type>TXT</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>"{value}"</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_or_a_body_altered_after_signing_is_refused_and_changes_nothing() {
    let h = harness(FAST_ROLLOUT).await;
    let endpoints = h.sandbox.endpoints().clone();
    let (zone_key, zone_secret) = sandbox::iam::account_keys(ZONE_ACCOUNT);
    let zone = h.zone_id();
    let writes = h.sandbox.route53().history_len();
    let route53_key = |secret| sandbox::sigv4::SigningKey {
        access_key_id: &zone_key,
        secret,
        session_token: None,
        region: "us-east-1",
        service: "route53",
    };
    let change_url = format!("{}/2013-04-01/hostedzone/{zone}/rrset/", endpoints.route53);

    // Route53 through the real SDK, the zone account's key with another secret.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::from_keys(
            &zone_key,
            "not/the/secret",
            None,
        ))
        .endpoint_url(&endpoints.route53)
        .load()
        .await;
    let refused = aws_sdk_route53::Client::new(&sdk)
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .unwrap_err();
    assert!(
        format!("{refused:?}").contains("SignatureDoesNotMatch"),
        "{refused:?}"
    );

    // A change signed with another secret, and one whose body was altered after signing.
    let (status, body) = send_signed(
        &route53_key("not/the/secret"),
        &change_url,
        "text/xml",
        &change_batch("a"),
        &change_batch("a"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    let (status, body) = send_signed(
        &route53_key(&zone_secret),
        &change_url,
        "text/xml",
        &change_batch("a"),
        &change_batch("b"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    assert_eq!(h.sandbox.route53().history_len(), writes);
    // The same change as signed goes through: only the secret or the body was wrong.
    let (status, body) = send_signed(
        &route53_key(&zone_secret),
        &change_url,
        "text/xml",
        &change_batch("a"),
        &change_batch("a"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.sandbox.route53().history_len(), writes + 1);

    // STS AssumeRole: another secret, then a role swapped into the body after signing.
    let form = |role: &str| {
        format!(
            "Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName=cutover&ExternalId={EXTERNAL_ID}",
            url::form_urlencoded::byte_serialize(role.as_bytes()).collect::<String>()
        )
    };
    let sts_key = |secret| sandbox::sigv4::SigningKey {
        access_key_id: sandbox::ACCESS_KEY_ID,
        secret,
        session_token: None,
        region: "us-east-1",
        service: "sts",
    };
    let sts_url = format!("{}/", endpoints.sts);
    let form_type = "application/x-www-form-urlencoded";
    let (status, body) = send_signed(
        &sts_key("not/the/secret"),
        &sts_url,
        form_type,
        &form(ROLE_ARN),
        &form(ROLE_ARN),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    let (status, body) = send_signed(
        &sts_key(sandbox::SECRET_ACCESS_KEY),
        &sts_url,
        form_type,
        &form(OTHER_ROLE_ARN),
        &form(ROLE_ARN),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    let calls = h.sandbox.route53().iam().assume_role_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(
        calls
            .iter()
            .all(|c| c.error.as_deref() == Some("SignatureDoesNotMatch")),
        "{calls:?}"
    );
    let (status, body) = send_signed(
        &sts_key(sandbox::SECRET_ACCESS_KEY),
        &sts_url,
        form_type,
        &form(ROLE_ARN),
        &form(ROLE_ARN),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<AccessKeyId>ASIA"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_and_cloudwatch_refuse_an_unknown_key_and_a_wrong_secret() {
    let h = harness(FAST_ROLLOUT).await;
    let endpoints = h.sandbox.endpoints().clone();
    let sdk = |endpoint: String, key: &'static str, secret: &'static str| async move {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::from_keys(
                key, secret, None,
            ))
            .endpoint_url(endpoint)
            .load()
            .await
    };
    let topic = h.sandbox.sns().topic_arn(sandbox::sns::DEFAULT_TOPIC);
    let published = h.sandbox.sns().messages().len();
    for (key, secret, code) in [
        ("AKIAUNKNOWNKEY000001", "whatever", "InvalidClientTokenId"),
        (
            sandbox::ACCESS_KEY_ID,
            "not/the/secret",
            "SignatureDoesNotMatch",
        ),
    ] {
        let sns = aws_sdk_sns::Client::new(&sdk(endpoints.sns.clone(), key, secret).await);
        let refused = sns
            .publish()
            .topic_arn(&topic)
            .message("not from cutover")
            .send()
            .await
            .unwrap_err();
        assert!(format!("{refused:?}").contains(code), "{code}: {refused:?}");
        let cloudwatch =
            aws_sdk_cloudwatch::Client::new(&sdk(endpoints.cloudwatch.clone(), key, secret).await);
        let refused = cloudwatch.describe_alarms().send().await.unwrap_err();
        assert!(format!("{refused:?}").contains(code), "{code}: {refused:?}");
    }
    assert_eq!(h.sandbox.sns().messages().len(), published);
    // With the right secret, both answer.
    let sns = aws_sdk_sns::Client::new(
        &sdk(
            endpoints.sns.clone(),
            sandbox::ACCESS_KEY_ID,
            sandbox::SECRET_ACCESS_KEY,
        )
        .await,
    );
    sns.publish()
        .topic_arn(&topic)
        .message("from cutover")
        .send()
        .await
        .unwrap();
    assert_eq!(h.sandbox.sns().messages().len(), published + 1);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(
        &sdk(
            endpoints.cloudwatch.clone(),
            sandbox::ACCESS_KEY_ID,
            sandbox::SECRET_ACCESS_KEY,
        )
        .await,
    );
    cloudwatch.describe_alarms().send().await.unwrap();
}
