use super::*;
use crate::observation::SourceKind;
use crate::registry::EncryptionKey;
use crate::types::Name;

pub(crate) const EXAMPLE: &str = r#"
lease_owner_id = "cutover"
sns_topic_arns = ["arn:aws:sns:us-east-1:123456789012:deploys"]

[[zones]]
id = "/hostedzone/Z0EXAMPLE"
name = "example.com"

[clusters.blue]
eks_name = "prod-blue"
region = "us-east-1"
owner_id = "blue"
external_dns_version = "v0.14.2"

[clusters.green]
eks_name = "prod-green"
region = "us-east-1"
owner_id = "green"
external_dns_version = "0.22"
txt_prefix = "TXT."
connect_to = "127.0.0.1:8443"

[defaults]
steps = [{ percent = 10, bake = "5m" }, { percent = 50, bake = "10m" }, { percent = 100, bake = "1h" }]
failure_threshold = 2

[defaults.health_check]
path = "/healthz"
expected_status = "200-299"

[services.payments]
hostname = "Payments.Example.com."
from = "blue"
to = "green"
ingress = { blue = "default/payments", green = "pay/payments" }

[services.payments.overrides]
failure_threshold = 5
"#;

/// Every config error is in words: no Rust debug notation (`Some(…)`, `Name("…")`).
fn readable(path: String, reason: String) -> (String, String) {
    if let Some(found) = crate::text::debug_notation(&reason) {
        panic!("{path}: debug notation {found:?} in {reason:?}");
    }
    (path, reason)
}

fn err(text: &str) -> (String, String) {
    match Config::parse(text) {
        Err(ConfigError::Invalid { path, reason }) => readable(path, reason),
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[test]
fn example_parses_with_defaults_resolved() {
    let c = Config::parse(EXAMPLE).unwrap();
    assert_eq!(c.zones[0].id, "Z0EXAMPLE");
    let blue = c.cluster(&Name::new("blue").unwrap()).unwrap();
    assert_eq!(blue.annotation_prefix, "external-dns.alpha.kubernetes.io/");
    assert!(blue.evaluate_target_health);
    let green = c.cluster(&Name::new("green").unwrap()).unwrap();
    assert_eq!(green.annotation_prefix, "external-dns.kubernetes.io/");
    assert_eq!(green.txt_prefix, "txt.");
    let svc = c.service(&Name::new("payments").unwrap()).unwrap();
    assert_eq!(svc.hostname.as_str(), "payments.example.com");
    assert_eq!(svc.rollout.failure_threshold, 5);
    assert_eq!(svc.rollout.steps.len(), 3);
    assert_eq!(svc.rollout.steps[2].bake, DurationSpec(3_600_000));
    assert_eq!(svc.rollout.health_check.path, "/healthz");
    assert_eq!(svc.rollout.health_check.port, None);
    assert_eq!(
        svc.set_identifier(&svc.to).unwrap().as_str(),
        "payments-green"
    );
    assert_eq!(c.state_record_prefix, "_cutover.");
    assert_eq!(
        c.state_record_name(svc).unwrap().as_str(),
        "_cutover.payments.example.com"
    );
    assert_eq!(c.rate_limit, 2.0);
    assert_eq!(c.cas_retries, 3);
    assert_eq!(c.zone_for(&svc.hostname).unwrap().id, "Z0EXAMPLE");
}

/// EXAMPLE with `txt_encrypt_key_env = "<var>"` on the blue cluster.
fn with_key_env(var: &str) -> String {
    EXAMPLE.replace(
        "external_dns_version = \"v0.14.2\"",
        &format!("external_dns_version = \"v0.14.2\"\ntxt_encrypt_key_env = \"{var}\""),
    )
}

fn env_err(text: &str, env: &EnvLookup<'_>) -> (String, String) {
    match Config::parse_with_env(text, env) {
        Err(ConfigError::Invalid { path, reason }) => readable(path, reason),
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[test]
fn txt_encrypt_key_is_read_from_the_named_variable() {
    let raw = "0123456789abcdef0123456789abcdef";
    let text = with_key_env("BLUE_TXT_KEY");
    let env = |name: &str| (name == "BLUE_TXT_KEY").then(|| format!("{raw}\n"));
    let c = Config::parse_with_env(&text, &env).unwrap();
    let blue = c.cluster(&Name::new("blue").unwrap()).unwrap();
    assert_eq!(blue.txt_encrypt_key_env.as_deref(), Some("BLUE_TXT_KEY"));
    assert_eq!(
        blue.txt_encrypt_key,
        Some(EncryptionKey::parse(raw).unwrap())
    );
    let green = c.cluster(&Name::new("green").unwrap()).unwrap();
    assert_eq!(green.txt_encrypt_key, None);
    assert_eq!(
        c.txt_encrypt_keys(),
        vec![EncryptionKey::parse(raw).unwrap()]
    );
    // The key never reaches the serialized config nor its Debug form.
    let json = serde_json::to_string(&c).unwrap();
    assert!(!json.contains(raw), "{json}");
    assert!(json.contains("BLUE_TXT_KEY"));
    assert!(!format!("{c:?}").contains(raw));
    // Standard base64 of 32 bytes works as well (docs/reference/external-dns.md §1 "Encryption").
    let b64 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let env64 = |name: &str| (name == "BLUE_TXT_KEY").then(|| b64.to_string());
    let c64 = Config::parse_with_env(&text, &env64).unwrap();
    assert_eq!(c64.txt_encrypt_keys(), c.txt_encrypt_keys());
}

#[test]
fn txt_encrypt_key_errors_name_the_key_and_the_variable_never_the_value() {
    let text = with_key_env("BLUE_TXT_KEY");
    let (path, reason) = env_err(&text, &|_| None);
    assert_eq!(path, "clusters.blue.txt_encrypt_key_env");
    assert_eq!(
        reason,
        "environment variable BLUE_TXT_KEY is not set (it must hold the cluster's --txt-aes-encryption-key)"
    );
    let secret = "not-a-key-sekrit";
    let (path, reason) = env_err(&text, &|_| Some(secret.to_string()));
    assert_eq!(path, "clusters.blue.txt_encrypt_key_env");
    assert!(
        reason.starts_with("environment variable BLUE_TXT_KEY does not hold a valid key: TXT encryption key must be 32 raw bytes"),
        "{reason}"
    );
    assert!(!reason.contains(secret), "{reason}");
    // The setting is a variable's name; a key pasted into the file is refused.
    let (path, reason) = env_err(
        &with_key_env("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
        &|_| None,
    );
    assert_eq!(path, "clusters.blue.txt_encrypt_key_env");
    assert!(
        reason.starts_with("bad environment variable name"),
        "{reason}"
    );
    assert!(!reason.contains("MDEy"), "{reason}");
    let (_, reason) = env_err(&with_key_env(""), &|_| None);
    assert!(
        reason.starts_with("bad environment variable name"),
        "{reason}"
    );
}

#[test]
fn unknown_keys_are_refused_with_their_path() {
    let (path, reason) = err(&EXAMPLE.replace("failure_threshold = 5", "failure_treshold = 5"));
    assert_eq!(path, "services.payments.overrides.failure_treshold");
    assert!(
        reason.contains("unknown field `failure_treshold`"),
        "{reason}"
    );
}

#[test]
fn type_errors_name_the_key() {
    let (path, reason) = err(&EXAMPLE.replace("bake = \"1h\"", "bake = \"1y\""));
    assert_eq!(path, "defaults.steps[2].bake");
    assert!(reason.contains("unknown unit"), "{reason}");
}

#[test]
fn unknown_cluster_and_same_cluster() {
    let (path, reason) = err(&EXAMPLE.replace("to = \"green\"", "to = \"red\""));
    assert_eq!(path, "services.payments.to");
    assert!(reason.contains("unknown cluster \"red\""));
    let (path, reason) = err(&EXAMPLE.replace("to = \"green\"", "to = \"blue\""));
    assert_eq!(path, "services.payments.to");
    assert!(reason.contains("same cluster"));
}

#[test]
fn duplicate_owner_ids_and_lease_collisions_are_refused() {
    let (path, reason) = err(&EXAMPLE.replace("owner_id = \"green\"", "owner_id = \"blue\""));
    assert_eq!(path, "clusters.green.owner_id");
    assert!(reason.contains("also used by clusters.blue"));
    let (path, _) =
        err(&EXAMPLE.replace("lease_owner_id = \"cutover\"", "lease_owner_id = \"green\""));
    assert_eq!(path, "clusters.green.owner_id");
}

#[test]
fn steps_must_increase_and_end_at_100() {
    let (path, reason) = err(&EXAMPLE.replace("percent = 50", "percent = 5"));
    assert_eq!(path, "defaults.steps[1].percent");
    assert!(reason.contains("must increase"));
    let (path, reason) = err(&EXAMPLE.replace("percent = 100", "percent = 90"));
    assert_eq!(path, "defaults.steps");
    assert!(reason.contains("100"));
    let (path, _) = err(&EXAMPLE.replace("percent = 100", "percent = 101"));
    assert_eq!(path, "defaults.steps[2].percent");
}

#[test]
fn hostname_outside_every_zone() {
    let (path, reason) = err(&EXAMPLE.replace("Payments.Example.com.", "payments.example.org"));
    assert_eq!(path, "services.payments.hostname");
    assert!(reason.contains("outside every configured zone"));
}

#[test]
fn a_name_external_dns_writes_into_several_zones_is_mirrored_private_zones_first() {
    // Two private zones and a public one of the name; a less specific public zone is not
    // written by external-dns (docs/reference/external-dns.md §5 "Mirror edits").
    let zones = "[[zones]]\nid = \"ZPUBLICPARENT\"\nname = \"com\"\n\n\
                 [[zones]]\nid = \"ZPRIVATEB\"\nname = \"example.com\"\nprivate = true\n\n\
                 [[zones]]\nid = \"ZPRIVATEA\"\nname = \"example.com\"\nprivate = true\n\n[[zones]]";
    let c = Config::parse(&EXAMPLE.replacen("[[zones]]", zones, 1)).unwrap();
    let svc = c.services().next().unwrap();
    assert_eq!(svc.zone_ids, ["ZPRIVATEA", "ZPRIVATEB", "Z0EXAMPLE"]);
    // A more specific public zone alone is fine: external-dns writes only that one.
    let sub = "[[zones]]\nid = \"ZSUB\"\nname = \"payments.example.com\"\n\n[[zones]]";
    let c = Config::parse(&EXAMPLE.replacen("[[zones]]", sub, 1)).unwrap();
    let svc = c.services().next().unwrap();
    assert_eq!(svc.zone_id, "ZSUB");
    assert_eq!(svc.zone_ids, ["ZSUB"]);
}

#[test]
fn prefix_and_suffix_are_exclusive() {
    let (path, _) = err(&EXAMPLE.replace(
        "txt_prefix = \"TXT.\"",
        "txt_prefix = \"x.\"\ntxt_suffix = \"-y\"",
    ));
    assert_eq!(path, "clusters.green.txt_suffix");
}

#[test]
fn scalar_checks() {
    let (path, _) = err(&format!("rate_limit = 6.0\n{EXAMPLE}"));
    assert_eq!(path, "rate_limit");
    let (path, _) = err(&EXAMPLE.replace(
        "expected_status = \"200-299\"",
        "expected_status = \"299-200\"",
    ));
    assert_eq!(path, "defaults.health_check.expected_status");
    let (path, _) =
        err(&EXAMPLE.replace("path = \"/healthz\"", "samples = 1\nallowed_failures = 1"));
    assert_eq!(path, "defaults.health_check.allowed_failures");
    let (path, _) = err(&EXAMPLE.replace("127.0.0.1:8443", "localhost"));
    assert_eq!(path, "clusters.green.connect_to");
    let (path, _) = err(&EXAMPLE.replace("arn:aws:sns:us-east-1:123456789012:deploys", "deploys"));
    assert_eq!(path, "sns_topic_arns[0]");
    let (path, _) = err(&EXAMPLE.replace("default/payments", "payments"));
    assert_eq!(path, "services.payments.ingress.blue");
}

#[test]
fn syntax_errors_are_reported() {
    assert!(matches!(
        Config::parse("zones = ["),
        Err(ConfigError::Syntax(_))
    ));
}

#[test]
fn durations() {
    assert_eq!(
        DurationSpec::parse("1h30m").unwrap(),
        DurationSpec(5_400_000)
    );
    assert_eq!(DurationSpec::parse("500ms").unwrap(), DurationSpec(500));
    assert!(DurationSpec::parse("5").is_err());
    assert!(DurationSpec::parse("m").is_err());
    assert!(DurationSpec::parse("99999999999999999999s").is_err());
}

#[test]
fn versions() {
    assert_eq!(
        ExternalDnsVersion::parse("v0.14.2").unwrap(),
        ExternalDnsVersion::new(0, 14)
    );
    assert!(ExternalDnsVersion::parse("0").is_err());
    assert!(ExternalDnsVersion::parse("0.x").is_err());
}

#[test]
fn step_health_keys_and_approval() {
    let c = Config::parse(&EXAMPLE.replace(
        "failure_threshold = 2",
        "failure_threshold = 2\nfailure_limit = 4\nsuccess_threshold = 3",
    ))
    .unwrap();
    assert_eq!(c.defaults.failure_limit, 4);
    assert_eq!(c.defaults.success_threshold, 3);
    let c = Config::parse(&EXAMPLE.replace(
        "{ percent = 50, bake = \"10m\" }",
        "{ percent = 50, bake = \"10m\", approval = true }",
    ))
    .unwrap();
    let approvals: Vec<bool> = c.defaults.steps.iter().map(|s| s.approval).collect();
    assert_eq!(approvals, vec![false, true, false]);
    let (path, _) = err(&EXAMPLE.replace("failure_threshold = 2", "failure_limit = 0"));
    assert_eq!(path, "defaults.failure_limit");
    let (path, _) = err(&EXAMPLE.replace("failure_threshold = 2", "success_threshold = 0"));
    assert_eq!(path, "defaults.success_threshold");
}

#[test]
fn alarms_are_per_cluster_and_name_their_key() {
    let c = Config::parse(&EXAMPLE.replace(
        "failure_threshold = 5",
        "failure_threshold = 5\nalarms = { green = [\"payments-green-5xx\", \"green-nodes\"] }",
    ))
    .unwrap();
    let svc = c.service(&Name::new("payments").unwrap()).unwrap();
    assert_eq!(
        svc.rollout
            .alarms
            .get(&Name::new("green").unwrap())
            .unwrap(),
        &vec!["payments-green-5xx".to_string(), "green-nodes".to_string()]
    );
    // A plain list says nothing of the side it protects.
    let (path, _) = err(&EXAMPLE.replace(
        "failure_threshold = 5",
        "failure_threshold = 5\nalarms = [\"payments-5xx\"]",
    ));
    assert_eq!(path, "services.payments.overrides.alarms");
    let (path, reason) = err(&EXAMPLE.replace(
        "failure_threshold = 5",
        "failure_threshold = 5\nalarms = { red = [\"x\"] }",
    ));
    assert_eq!(path, "services.payments.overrides.alarms.red");
    assert!(reason.contains("unknown cluster"), "{reason}");
    let (path, _) = err(&EXAMPLE.replace(
        "failure_threshold = 2",
        "failure_threshold = 2\nalarms = { green = [\"\"] }",
    ));
    assert_eq!(path, "defaults.alarms.green[0]");
    let (path, reason) = err(&EXAMPLE.replace(
        "failure_threshold = 2",
        "failure_threshold = 2\nalarms = { green = [\"a\", \"a\"] }",
    ));
    assert_eq!(path, "defaults.alarms.green[1]");
    assert!(reason.contains("twice"), "{reason}");
}

#[test]
fn metric_rules_and_the_split_gate_are_validated() {
    let with = |extra: &str| {
        EXAMPLE.replace(
            "[defaults.health_check]",
            &format!("{extra}\n[defaults.health_check]"),
        )
    };
    let c = Config::parse(&with(
        "[defaults.metrics]\nwindow = \"3m\"\nmin_requests = 50\nmax_error_rate = 2.5\nmax_error_ratio = 2\nmax_p99_latency = \"800ms\"\nmax_p99_ratio = 1.5\n[defaults.observed_split]\nmin_fraction = 0.8\nmax_wait = \"15m\"",
    ))
    .unwrap();
    let m = c.defaults.metrics.as_ref().unwrap();
    assert_eq!(
        (
            m.window.millis(),
            m.min_requests,
            m.max_error_rate_percent,
            m.max_error_ratio,
            m.max_p99_ms,
            m.max_p99_ratio
        ),
        (180_000, 50, 2.5, Some(2.0), Some(800), Some(1.5))
    );
    let s = c.defaults.observed_split.as_ref().unwrap();
    assert_eq!((s.min_fraction, s.max_wait.millis()), (0.8, 900_000));
    // The service inherits both.
    let svc = c.service(&Name::new("payments").unwrap()).unwrap();
    assert_eq!(svc.rollout.metrics.as_ref(), Some(m));
    // Defaults of the metrics table.
    let c = Config::parse(&with("[defaults.metrics]")).unwrap();
    let m = c.defaults.metrics.unwrap();
    assert_eq!(
        (m.window.millis(), m.min_requests, m.max_error_rate_percent),
        (300_000, 100, 1.0)
    );
    for (extra, path) in [
        (
            "[defaults.metrics]\nwindow = \"90s\"",
            "defaults.metrics.window",
        ),
        (
            "[defaults.metrics]\nwindow = \"2h\"",
            "defaults.metrics.window",
        ),
        (
            "[defaults.metrics]\nmin_requests = 0",
            "defaults.metrics.min_requests",
        ),
        (
            "[defaults.metrics]\nmax_error_rate = 101",
            "defaults.metrics.max_error_rate",
        ),
        (
            "[defaults.metrics]\nmax_error_ratio = 0.5",
            "defaults.metrics.max_error_ratio",
        ),
        (
            "[defaults.metrics]\nmax_p99_ratio = -1",
            "defaults.metrics.max_p99_ratio",
        ),
        (
            "[defaults.metrics]\nmax_p99_latency = \"0s\"",
            "defaults.metrics.max_p99_latency",
        ),
        (
            "[defaults.metrics]\nmax_errors = 1",
            "defaults.metrics.max_errors",
        ),
        (
            "[defaults.observed_split]\nmin_fraction = 0\nmax_wait = \"5m\"",
            "defaults.observed_split.min_fraction",
        ),
        (
            "[defaults.observed_split]\nmin_fraction = 1.5\nmax_wait = \"5m\"",
            "defaults.observed_split.min_fraction",
        ),
        (
            "[defaults.observed_split]\nmin_fraction = 0.5\nmax_wait = \"2h\"",
            "defaults.observed_split.max_wait",
        ),
    ] {
        let text = with(extra);
        match Config::parse(&text) {
            Err(e) => assert!(e.to_string().starts_with(path), "{extra}: {e}"),
            Ok(_) => panic!("{extra}: accepted"),
        }
    }
}

#[test]
fn load_balancer_dimensions_and_the_notification_topic_are_validated() {
    let c = Config::parse(&EXAMPLE.replace(
        "connect_to = \"127.0.0.1:8443\"",
        "connect_to = \"127.0.0.1:8443\"\nload_balancer_dimensions = { \"K8s-Green-1.us-east-1.elb.amazonaws.com.\" = \"app/k8s-green/50dc6c495c0c9188\" }",
    ))
    .unwrap();
    assert_eq!(
        c.load_balancer_dimension(
            &Name::new("green").unwrap(),
            "k8s-green-1.us-east-1.elb.amazonaws.com"
        ),
        Some("app/k8s-green/50dc6c495c0c9188")
    );
    let (path, reason) = err(&EXAMPLE.replace(
        "connect_to = \"127.0.0.1:8443\"",
        "load_balancer_dimensions = { \"k8s-green-1.us-east-1.elb.amazonaws.com\" = \"arn:aws:elasticloadbalancing:x\" }",
    ));
    assert_eq!(
        path,
        "clusters.green.load_balancer_dimensions.\"k8s-green-1.us-east-1.elb.amazonaws.com\""
    );
    assert!(reason.contains("app/<name>/<id>"), "{reason}");
    let c = Config::parse(&format!(
        "notification_topic_arn = \"arn:aws:sns:us-east-1:123456789012:cutover-decisions\"\n{EXAMPLE}"
    ))
    .unwrap();
    assert_eq!(
        c.notification_topic_arn.as_deref(),
        Some("arn:aws:sns:us-east-1:123456789012:cutover-decisions")
    );
    let (path, _) = err(&format!(
        "notification_topic_arn = \"decisions\"\n{EXAMPLE}"
    ));
    assert_eq!(path, "notification_topic_arn");
}

#[test]
fn values_that_would_hang_or_overflow_are_bounded() {
    for (edit, path) in [
        ("path = \"/healthz\"", "defaults.health_check.samples"),
        ("path = \"/healthz\"", "defaults.health_check.timeout"),
        ("failure_threshold = 2", "defaults.propagation_allowance"),
        ("failure_threshold = 2", "defaults.verify_window"),
        ("bake = \"1h\"", "defaults.steps[2].bake"),
    ] {
        let replacement = match path {
            "defaults.health_check.samples" => "path = \"/healthz\"\nsamples = 4294967295",
            "defaults.health_check.timeout" => "path = \"/healthz\"\ntimeout = \"61s\"",
            "defaults.propagation_allowance" => {
                "failure_threshold = 2\npropagation_allowance = \"9223372036854775807ms\""
            }
            "defaults.verify_window" => "failure_threshold = 2\nverify_window = \"8d\"",
            _ => "bake = \"30d\"",
        };
        let (got, reason) = err(&EXAMPLE.replace(edit, replacement));
        assert_eq!(got, path, "{reason}");
    }
    let (path, _) = err(&format!("probe_concurrency = 100000\n{EXAMPLE}"));
    assert_eq!(path, "probe_concurrency");
    let (path, _) = err(&format!("cas_retries = 1000\n{EXAMPLE}"));
    assert_eq!(path, "cas_retries");
}

#[test]
fn clusters_must_be_two_clusters() {
    let (path, reason) =
        err(&EXAMPLE.replace("eks_name = \"prod-green\"", "eks_name = \"prod-blue\""));
    assert_eq!(path, "clusters.green.eks_name");
    assert!(reason.contains("also clusters.blue"), "{reason}");
    let shared = EXAMPLE.replace(
        "external_dns_version = \"v0.14.2\"",
        "external_dns_version = \"v0.14.2\"\nconnect_to = \"127.0.0.1:8443\"",
    );
    let (path, reason) = err(&shared);
    assert_eq!(path, "clusters.green.connect_to");
    assert!(reason.contains("clusters.blue"), "{reason}");
}

#[test]
fn hostnames_are_plain_host_names() {
    for bad in [
        "localhost:9#.example.com",
        "pay ments.example.com",
        "-pay.example.com",
        "a.*.example.com",
    ] {
        let (path, _) = err(&EXAMPLE.replace("Payments.Example.com.", bad));
        assert_eq!(path, "services.payments.hostname", "{bad}");
    }
    for good in ["*.example.com", "pay_ments.example.com", "p-1.example.com"] {
        assert!(
            Config::parse(&EXAMPLE.replace("Payments.Example.com.", good)).is_ok(),
            "{good}"
        );
    }
}

#[test]
fn a_hostname_may_not_be_another_services_record() {
    let second = |hostname: &str| {
        format!(
            "{EXAMPLE}\n[services.other]\nhostname = \"{hostname}\"\nfrom = \"blue\"\nto = \"green\"\n"
        )
    };
    for colliding in [
        "_cutover.payments.example.com",
        "a-payments.example.com",
        "cname-payments.example.com",
        "txt.a-payments.example.com",
    ] {
        match Config::parse(&second(colliding)) {
            Err(ConfigError::Invalid { path, reason }) => {
                assert!(path.ends_with(".hostname"), "{colliding}: {path}");
                assert!(
                    reason.contains("each other's records"),
                    "{colliding}: {reason}"
                );
            }
            other => panic!("{colliding}: expected a refusal, got {other:?}"),
        }
    }
    assert!(Config::parse(&second("orders.example.com")).is_ok());
}

#[test]
fn a_probe_port_with_connect_to_is_refused_naming_the_key_that_set_it() {
    // EXAMPLE's green cluster is probed at connect_to.
    let (path, reason) =
        err(&EXAMPLE.replace("path = \"/healthz\"", "path = \"/healthz\"\nport = 8443"));
    assert_eq!(path, "defaults.health_check.port");
    assert!(reason.contains("clusters.green.connect_to"), "{reason}");
    let (path, _) = err(&format!(
        "{EXAMPLE}\n[services.payments.overrides.health_check]\nport = 8443\n"
    ));
    assert_eq!(path, "services.payments.overrides.health_check.port");
    // Without connect_to the port is the load balancer's, and kept.
    let direct = EXAMPLE
        .replace("connect_to = \"127.0.0.1:8443\"", "")
        .replace("path = \"/healthz\"", "path = \"/healthz\"\nport = 8443");
    let cfg = Config::parse(&direct).unwrap();
    let svc = cfg.service(&Name::new("payments").unwrap()).unwrap();
    assert_eq!(svc.rollout.health_check.port, Some(8443));
}

// ---------------------------------------------------------------------------------------------
// Sources: `clusters.<c>.external_dns_sources`, `services.<s>.source` and the older `ingress` pin

fn sources_of(c: &Config) -> Vec<(String, String)> {
    let svc = c.service(&Name::new("payments").unwrap()).unwrap();
    svc.source
        .iter()
        .map(|(cluster, sel)| (cluster.to_string(), sel.to_string()))
        .collect()
}

/// EXAMPLE with the service's `ingress = {…}` line replaced by `line`.
fn with_source(line: &str) -> String {
    EXAMPLE.replace(
        "ingress = { blue = \"default/payments\", green = \"pay/payments\" }",
        line,
    )
}

#[test]
fn the_ingress_pin_still_means_an_ingress_source() {
    let c = Config::parse(EXAMPLE).unwrap();
    assert_eq!(
        sources_of(&c),
        vec![
            ("blue".to_string(), "ingress/default/payments".to_string()),
            ("green".to_string(), "ingress/pay/payments".to_string()),
        ]
    );
    // external-dns's Helm chart sources Services and Ingresses by default.
    let blue = c.cluster(&Name::new("blue").unwrap()).unwrap();
    assert_eq!(
        blue.external_dns_sources,
        vec![SourceKind::Ingress, SourceKind::Service]
    );
}

#[test]
fn a_source_for_both_clusters_or_one_per_cluster() {
    let c = Config::parse(&with_source("source = \"service\"")).unwrap();
    assert_eq!(
        sources_of(&c),
        vec![
            ("blue".to_string(), "service".to_string()),
            ("green".to_string(), "service".to_string()),
        ]
    );
    let text = with_source(
        "source = { blue = \"ingress/default/payments\", green = \"httproute/web/payments\" }",
    )
    .replace(
        "txt_prefix = \"TXT.\"",
        "txt_prefix = \"TXT.\"\nexternal_dns_sources = [\"ingress\", \"gateway-httproute\"]",
    );
    let c = Config::parse(&text).unwrap();
    let svc = c.service(&Name::new("payments").unwrap()).unwrap();
    let green = svc.source_of(&Name::new("green").unwrap()).unwrap();
    assert_eq!(green.kind, SourceKind::HttpRoute);
    assert_eq!(
        green.object,
        Some(ObjectRef {
            namespace: "web".into(),
            name: "payments".into()
        })
    );
    let green_cluster = c.cluster(&Name::new("green").unwrap()).unwrap();
    assert_eq!(svc.source_kinds(green_cluster), vec![SourceKind::HttpRoute]);
    assert_eq!(
        green_cluster.external_dns_sources,
        vec![SourceKind::Ingress, SourceKind::HttpRoute]
    );
    // The older pin and the table mix, one cluster each.
    let c = Config::parse(&with_source(
        "ingress = { blue = \"default/payments\" }\nsource = { green = \"service/pay/payments\" }",
    ))
    .unwrap();
    assert_eq!(
        sources_of(&c),
        vec![
            ("blue".to_string(), "ingress/default/payments".to_string()),
            ("green".to_string(), "service/pay/payments".to_string()),
        ]
    );
}

#[test]
fn without_a_source_any_kind_the_clusters_external_dns_reads_may_claim() {
    use crate::observation::SourceObject;
    use crate::types::DnsName;
    let text = with_source("").replace(
        "txt_prefix = \"TXT.\"",
        "txt_prefix = \"TXT.\"\nexternal_dns_sources = [\"service\"]",
    );
    let c = Config::parse(&text).unwrap();
    let svc = c.service(&Name::new("payments").unwrap()).unwrap();
    let blue = c.cluster(&Name::new("blue").unwrap()).unwrap();
    let green = c.cluster(&Name::new("green").unwrap()).unwrap();
    let obj = |kind, host: &str| SourceObject {
        kind,
        namespace: "pay".into(),
        name: "payments".into(),
        hosts: vec![DnsName::parse(host).unwrap()],
        annotations: Default::default(),
        load_balancer_hostnames: vec![],
    };
    assert!(svc.claimed_by(blue, &obj(SourceKind::Ingress, "payments.example.com")));
    assert!(svc.claimed_by(blue, &obj(SourceKind::Service, "payments.example.com")));
    assert!(!svc.claimed_by(blue, &obj(SourceKind::HttpRoute, "payments.example.com")));
    assert!(!svc.claimed_by(blue, &obj(SourceKind::Ingress, "other.example.com")));
    // Green's external-dns reads Services only: an Ingress there publishes nothing.
    assert!(!svc.claimed_by(green, &obj(SourceKind::Ingress, "payments.example.com")));
    assert!(svc.claimed_by(green, &obj(SourceKind::Service, "payments.example.com")));
    // A pin selects its object only.
    let c = Config::parse(&with_source("source = \"service/pay/payments\"")).unwrap();
    let svc = c.service(&Name::new("payments").unwrap()).unwrap();
    let blue = c.cluster(&Name::new("blue").unwrap()).unwrap();
    assert!(svc.claimed_by(blue, &obj(SourceKind::Service, "payments.example.com")));
    let mut other = obj(SourceKind::Service, "payments.example.com");
    other.name = "payments-copy".into();
    assert!(!svc.claimed_by(blue, &other));
    assert!(!svc.claimed_by(blue, &obj(SourceKind::Ingress, "payments.example.com")));
}

#[test]
fn bad_sources_name_the_key_and_the_reason() {
    let (path, reason) = err(&with_source("source = \"gateway\""));
    assert_eq!(path, "services.payments.source");
    assert!(
        reason.contains("bad source \"gateway\": the kind must be one of \"ingress\", \"service\", \"httproute\""),
        "{reason}"
    );
    let (path, reason) = err(&with_source("source = { green = \"service/payments\" }"));
    assert_eq!(path, "services.payments.source.green");
    assert!(
        reason.contains("write \"service\" or \"service/namespace/name\""),
        "{reason}"
    );
    let (path, reason) = err(&with_source(
        "source = { green = \"Service/pay/payments\" }",
    ));
    assert_eq!(path, "services.payments.source.green");
    assert!(reason.contains("bad source"), "{reason}");
    let (path, reason) = err(&with_source("source = { red = \"service\" }"));
    assert_eq!(path, "services.payments.source.red");
    assert!(reason.contains("unknown cluster \"red\""), "{reason}");
    let (path, reason) = err(&with_source("source = 3"));
    assert_eq!(path, "services.payments.source");
    assert!(reason.contains("a source (\"ingress\""), "{reason}");
    let (path, reason) = err(&with_source("source = { green = 3 }"));
    assert_eq!(path, "services.payments.source.green");
    assert!(reason.contains("invalid type"), "{reason}");
    // The same cluster named twice.
    let (path, reason) = err(&with_source(
        "ingress = { green = \"pay/payments\" }\nsource = \"service\"",
    ));
    assert_eq!(path, "services.payments.ingress.green");
    assert!(
        reason.contains("give it in one place (source.green = \"ingress/pay/payments\")"),
        "{reason}"
    );
    // A kind the cluster's external-dns does not read can serve nothing there.
    let (path, reason) = err(&with_source(
        "source = { green = \"httproute/web/payments\" }",
    ));
    assert_eq!(path, "services.payments.source.green");
    assert!(
        reason.contains(
            "cluster green's external-dns does not read HTTPRoute objects (clusters.green.external_dns_sources = [\"ingress\", \"service\"])"
        ) && reason.contains("--source=gateway-httproute"),
        "{reason}"
    );
}

#[test]
fn bad_external_dns_sources_name_the_key_and_the_reason() {
    let with = |list: &str| {
        EXAMPLE.replace(
            "txt_prefix = \"TXT.\"",
            &format!("txt_prefix = \"TXT.\"\nexternal_dns_sources = {list}"),
        )
    };
    let (path, reason) = err(&with("[\"ingress\", \"crd\"]"));
    assert_eq!(path, "clusters.green.external_dns_sources[1]");
    assert!(
        reason.contains("\"crd\" is not a source cutover follows")
            && reason.contains("\"gateway-httproute\""),
        "{reason}"
    );
    let (path, reason) = err(&with("[]"));
    assert_eq!(path, "clusters.green.external_dns_sources");
    assert!(reason.contains("at least one source"), "{reason}");
    // `httproute` is the resource label's kind; the --source name is `gateway-httproute`.
    let (path, _) = err(&with("[\"httproute\"]"));
    assert_eq!(path, "clusters.green.external_dns_sources[0]");
    let (path, _) = err(&with("\"ingress\""));
    assert_eq!(path, "clusters.green.external_dns_sources");
    // Duplicates are harmless and kept once.
    let c = Config::parse(&with("[\"service\", \"ingress\", \"service\"]")).unwrap();
    let green = c.cluster(&Name::new("green").unwrap()).unwrap();
    assert_eq!(
        green.external_dns_sources,
        vec![SourceKind::Ingress, SourceKind::Service]
    );
}

#[test]
fn tcp_health_checks_and_their_http_only_keys() {
    // Probed at the load balancer's own address (no connect_to), so the port is honoured.
    let tcp = EXAMPLE.replace("connect_to = \"127.0.0.1:8443\"", "").replace(
        "failure_threshold = 5",
        "failure_threshold = 5\n\n[services.payments.overrides.health_check]\nscheme = \"tcp\"\nport = 8443",
    );
    let c = Config::parse(&tcp).unwrap();
    let svc = c.service(&Name::new("payments").unwrap()).unwrap();
    assert_eq!(svc.rollout.health_check.scheme, Scheme::Tcp);
    assert_eq!(svc.rollout.health_check.port, Some(8443));
    // Inherited HTTP settings stay (and mean nothing for a connect); written beside tcp they
    // are refused.
    assert_eq!(svc.rollout.health_check.path, "/healthz");
    let (path, reason) = err(&tcp.replace("port = 8443", "port = 8443\npath = \"/ready\""));
    assert_eq!(path, "services.payments.overrides.health_check.path");
    assert!(
        reason.contains("means nothing with scheme \"tcp\""),
        "{reason}"
    );
    let (path, _) = err(&tcp.replace("port = 8443", "expected_status = \"200\""));
    assert_eq!(
        path,
        "services.payments.overrides.health_check.expected_status"
    );
    let (path, reason) = err(&tcp.replace("scheme = \"tcp\"", "scheme = \"udp\""));
    assert_eq!(path, "services.payments.overrides.health_check.scheme");
    assert!(reason.contains("unknown variant `udp`"), "{reason}");
}

#[test]
fn nlb_canonical_zone_id_is_its_own_key() {
    let c = Config::parse(&EXAMPLE.replace(
        "connect_to = \"127.0.0.1:8443\"",
        "connect_to = \"127.0.0.1:8443\"\nlb_canonical_zone_id = \"ZALB\"\nnlb_canonical_zone_id = \"ZNLB\"",
    ))
    .unwrap();
    let green = c.cluster(&Name::new("green").unwrap()).unwrap();
    assert_eq!(green.lb_canonical_zone_id.as_deref(), Some("ZALB"));
    assert_eq!(green.nlb_canonical_zone_id.as_deref(), Some("ZNLB"));
    let (path, reason) = err(&EXAMPLE.replace(
        "connect_to = \"127.0.0.1:8443\"",
        "nlb_canonical_zone_id = \"Z-1\"",
    ));
    assert_eq!(path, "clusters.green.nlb_canonical_zone_id");
    assert!(reason.contains("bad hosted zone id"), "{reason}");
}

/// EXAMPLE with `extra` lines added to the zone and `cluster_extra` to the blue cluster.
fn with_roles(zone_extra: &str, cluster_extra: &str) -> String {
    EXAMPLE
        .replace(
            "name = \"example.com\"\n",
            &format!("name = \"example.com\"\n{zone_extra}\n"),
        )
        .replace(
            "external_dns_version = \"v0.14.2\"",
            &format!("external_dns_version = \"v0.14.2\"\n{cluster_extra}"),
        )
}

#[test]
fn zones_and_clusters_name_the_role_to_assume() {
    let text = with_roles(
        "role_arn = \"arn:aws:iam::210987654321:role/dns/cutover-records\"\nexternal_id = \"cutover-7f3a\"",
        "role_arn = \"arn:aws:iam::123456789012:role/cutover-reader\"",
    );
    let c = Config::parse(&text).unwrap();
    let zone_role = c.zones[0].role.as_ref().unwrap();
    assert_eq!(
        zone_role.arn,
        "arn:aws:iam::210987654321:role/dns/cutover-records"
    );
    assert_eq!(zone_role.external_id.as_deref(), Some("cutover-7f3a"));
    assert_eq!(zone_role.account(), "210987654321");
    let blue = c.cluster(&Name::new("blue").unwrap()).unwrap();
    let blue_role = blue.role.as_ref().unwrap();
    assert_eq!(
        blue_role.arn,
        "arn:aws:iam::123456789012:role/cutover-reader"
    );
    assert_eq!(blue_role.external_id, None);
    // Without role_arn, the function's own credentials are used.
    let green = c.cluster(&Name::new("green").unwrap()).unwrap();
    assert_eq!(green.role, None);
    assert_eq!(ROLE_SESSION_NAME, "cutover");
}

#[test]
fn a_bad_role_arn_or_external_id_is_refused_with_its_key() {
    for bad in [
        "arn:aws:iam::12345:role/short-account",
        "arn:aws:iam::123456789012:user/not-a-role",
        "arn:aws:sts::123456789012:role/wrong-service",
        "arn:aws:iam:us-east-1:123456789012:role/regional",
        "arn:aws:iam::123456789012:role/",
        "arn:aws:iam::123456789012:role/bad name",
        "cutover-records",
        "",
    ] {
        let (path, reason) = err(&with_roles(&format!("role_arn = \"{bad}\""), ""));
        assert_eq!(path, "zones[0].role_arn", "{bad}");
        assert!(reason.starts_with("bad role ARN"), "{bad}: {reason}");
        assert!(reason.contains("arn:aws:iam::<12-digit account id>:role/<name>"));
        let (path, _) = err(&with_roles("", &format!("role_arn = \"{bad}\"")));
        assert_eq!(path, "clusters.blue.role_arn", "{bad}");
    }
    let secret_like = "has spaces in it";
    let (path, reason) = err(&with_roles(
        &format!(
            "role_arn = \"arn:aws:iam::210987654321:role/r\"\nexternal_id = \"{secret_like}\""
        ),
        "",
    ));
    assert_eq!(path, "zones[0].external_id");
    assert!(reason.starts_with("bad external id"), "{reason}");
    assert!(!reason.contains(secret_like), "{reason}");
    let (path, reason) = err(&with_roles("", "external_id = \"abc\""));
    assert_eq!(path, "clusters.blue.external_id");
    assert!(reason.contains("without role_arn"), "{reason}");
    let (path, _) = err(&with_roles("role_arn = 7", ""));
    assert_eq!(path, "zones[0].role_arn");
}
