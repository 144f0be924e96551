//! Pass 2: every cross-field rule checked and every default resolved into the values the rest
//! of cutover uses. Every error names the key path and the reason.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::raw::{RawCluster, RawConfig, RawHealthCheck, RawRollout, RawService, RawStep, RawZone};
use super::values::default_set_identifier;
use super::{
    external_dns_zones, ClusterConfig, Config, ConfigError, EnvLookup, HealthCheck, Rollout,
    ServiceConfig, Step, ZoneConfig, DEFAULT_CAS_RETRIES, DEFAULT_LEASE_OWNER_ID,
    DEFAULT_PROBE_CONCURRENCY, DEFAULT_RATE_LIMIT, DEFAULT_STATE_RECORD_PREFIX,
    ROUTE53_ACCOUNT_RATE,
};
use crate::registry::EncryptionKey;
use crate::types::{DnsName, Name, OwnerId, Percent, SetIdentifier};

pub(super) fn validate(raw: RawConfig, env: &EnvLookup<'_>) -> Result<Config, ConfigError> {
    let zones = validate_zones(&raw.zones)?;
    let lease_owner_id = OwnerId::new(
        raw.lease_owner_id
            .as_deref()
            .unwrap_or(DEFAULT_LEASE_OWNER_ID),
    )
    .map_err(|e| ConfigError::at("lease_owner_id", e.to_string()))?;
    let clusters = validate_clusters(&raw.clusters, &lease_owner_id, env)?;
    let state_record_prefix = validate_state_prefix(raw.state_record_prefix.as_deref())?;
    let defaults = merge_rollout("defaults", &Rollout::default(), &raw.defaults)?;
    super::traffic::check_alarm_clusters("defaults", &defaults, &clusters)?;
    let mut services = BTreeMap::new();
    let mut hostnames: BTreeMap<DnsName, Name> = BTreeMap::new();
    for (key, rs) in &raw.services {
        let svc = validate_service(key, rs, &clusters, &zones, &defaults, &state_record_prefix)?;
        if let Some(other) = hostnames.insert(svc.hostname.clone(), svc.name.clone()) {
            return Err(ConfigError::at(
                format!("services.{key}.hostname"),
                format!(
                    "hostname {} is already used by services.{other}",
                    svc.hostname
                ),
            ));
        }
        services.insert(svc.name.clone(), svc);
    }
    let sns_topic_arns = validate_sns_arns(&raw.sns_topic_arns)?;
    let rate_limit = raw.rate_limit.unwrap_or(DEFAULT_RATE_LIMIT);
    if !(rate_limit > 0.0 && rate_limit <= ROUTE53_ACCOUNT_RATE) {
        return Err(ConfigError::at(
            "rate_limit",
            format!(
                "must be above 0 and at most {ROUTE53_ACCOUNT_RATE} requests/second (Route53's per-account limit, shared with external-dns), got {rate_limit}"
            ),
        ));
    }
    let probe_concurrency = raw.probe_concurrency.unwrap_or(DEFAULT_PROBE_CONCURRENCY);
    if probe_concurrency == 0 {
        return Err(ConfigError::at("probe_concurrency", "must be at least 1"));
    }
    let notification_topic_arn = match &raw.notification_topic_arn {
        None => None,
        Some(arn) => Some(
            validate_sns_arns(std::slice::from_ref(arn))
                .map_err(|e| match e {
                    ConfigError::Invalid { reason, .. } => {
                        ConfigError::at("notification_topic_arn", reason)
                    }
                    other => other,
                })?
                .remove(0),
        ),
    };

    Ok(Config {
        zones,
        clusters,
        defaults,
        services,
        lease_owner_id,
        state_record_prefix,
        sns_topic_arns,
        rate_limit,
        cas_retries: raw.cas_retries.unwrap_or(DEFAULT_CAS_RETRIES),
        probe_concurrency,
        notification_topic_arn,
    })
}

fn validate_zones(raw: &[RawZone]) -> Result<Vec<ZoneConfig>, ConfigError> {
    if raw.is_empty() {
        return Err(ConfigError::at(
            "zones",
            "at least one hosted zone is required",
        ));
    }
    let mut out: Vec<ZoneConfig> = Vec::new();
    for (i, z) in raw.iter().enumerate() {
        let id = z.id.trim().trim_start_matches("/hostedzone/").to_string();
        if id.is_empty() || id.len() > 32 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ConfigError::at(
                format!("zones[{i}].id"),
                format!(
                    "bad hosted zone id {:?}: expected e.g. \"Z0123456789ABC\"",
                    z.id
                ),
            ));
        }
        let name = DnsName::parse(&z.name)
            .map_err(|e| ConfigError::at(format!("zones[{i}].name"), e.to_string()))?;
        if out.iter().any(|o| o.id == id) {
            return Err(ConfigError::at(
                format!("zones[{i}].id"),
                format!("hosted zone id {id} is listed twice"),
            ));
        }
        out.push(ZoneConfig {
            id,
            name,
            private: z.private,
        });
    }
    Ok(out)
}

fn validate_clusters(
    raw: &BTreeMap<String, RawCluster>,
    lease: &OwnerId,
    env: &EnvLookup<'_>,
) -> Result<BTreeMap<Name, ClusterConfig>, ConfigError> {
    let mut out: BTreeMap<Name, ClusterConfig> = BTreeMap::new();
    for (key, rc) in raw {
        let cluster = validate_cluster(key, rc, env)?;
        let p = |field: &str| format!("clusters.{key}.{field}");
        // Same owner id in two clusters: they overwrite and delete each other
        // (docs/reference/external-dns.md §3) — refused.
        if let Some(other) = out.values().find(|c| c.owner_id == cluster.owner_id) {
            return Err(ConfigError::at(
                p("owner_id"),
                format!(
                    "owner id {:?} is also used by clusters.{}: two external-dns instances with one owner id delete each other's records",
                    cluster.owner_id.as_str(),
                    other.key
                ),
            ));
        }
        // The lease owner id must be one no external-dns uses, or parking would hand the record
        // to that cluster (docs/design.md §2).
        if &cluster.owner_id == lease {
            return Err(ConfigError::at(
                p("owner_id"),
                format!(
                    "owner id {:?} equals lease_owner_id: the lease owner id must be one no external-dns uses",
                    lease.as_str()
                ),
            ));
        }
        out.insert(cluster.key.clone(), cluster);
    }
    Ok(out)
}

fn validate_cluster(
    key: &str,
    rc: &RawCluster,
    env: &EnvLookup<'_>,
) -> Result<ClusterConfig, ConfigError> {
    let p = |field: &str| format!("clusters.{key}.{field}");
    let name =
        Name::new(key).map_err(|e| ConfigError::at(format!("clusters.{key}"), e.to_string()))?;
    if rc.eks_name.trim().is_empty() || rc.eks_name.len() > 100 {
        return Err(ConfigError::at(p("eks_name"), "must be 1–100 characters"));
    }
    if !is_region(&rc.region) {
        return Err(ConfigError::at(
            p("region"),
            format!(
                "bad AWS region {:?}: expected e.g. \"us-east-1\"",
                rc.region
            ),
        ));
    }
    let owner_id =
        OwnerId::new(&rc.owner_id).map_err(|e| ConfigError::at(p("owner_id"), e.to_string()))?;
    let txt_prefix = rc
        .txt_prefix
        .clone()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let txt_suffix = rc
        .txt_suffix
        .clone()
        .unwrap_or_default()
        .to_ascii_lowercase();
    // "Prefix and suffix are exclusive" (docs/reference/external-dns.md §1 "TXT names").
    if !txt_prefix.is_empty() && !txt_suffix.is_empty() {
        return Err(ConfigError::at(
            p("txt_suffix"),
            "txt_prefix and txt_suffix are exclusive in external-dns; set one of them",
        ));
    }
    check_affix(&p("txt_prefix"), &txt_prefix)?;
    check_affix(&p("txt_suffix"), &txt_suffix)?;
    let txt_wildcard_replacement = match &rc.txt_wildcard_replacement {
        None => None,
        Some(w) if w.is_empty() => None,
        Some(w) => {
            if w.contains('.') || w.len() > 63 || w.chars().any(|c| c.is_whitespace() || c == '"') {
                return Err(ConfigError::at(
                    p("txt_wildcard_replacement"),
                    "must be one DNS label (no dots, quotes or whitespace)",
                ));
            }
            Some(w.to_ascii_lowercase())
        }
    };
    let annotation_prefix = match &rc.annotation_prefix {
        Some(a) => {
            if !a.ends_with('/') || a.len() < 2 || a.chars().any(|c| c.is_whitespace()) {
                return Err(ConfigError::at(
                    p("annotation_prefix"),
                    format!("bad annotation prefix {a:?}: expected e.g. \"external-dns.kubernetes.io/\""),
                ));
            }
            a.clone()
        }
        None => rc
            .external_dns_version
            .default_annotation_prefix()
            .to_string(),
    };
    let (api_endpoint, api_ca_pem) = validate_api_override(key, rc)?;
    let connect_to = match &rc.connect_to {
        None => None,
        Some(s) => Some(s.parse::<SocketAddr>().map_err(|_| {
            ConfigError::at(
                p("connect_to"),
                format!("bad address {s:?}: expected \"ip:port\", e.g. \"127.0.0.1:8443\""),
            )
        })?),
    };
    let lb_canonical_zone_id = match &rc.lb_canonical_zone_id {
        None => None,
        Some(z)
            if !z.is_empty() && z.len() <= 32 && z.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            Some(z.clone())
        }
        Some(z) => {
            return Err(ConfigError::at(
                p("lb_canonical_zone_id"),
                format!("bad hosted zone id {z:?}"),
            ))
        }
    };
    let txt_encrypt_key = match &rc.txt_encrypt_key_env {
        None => None,
        Some(var) => Some(read_encrypt_key(&p("txt_encrypt_key_env"), var, env)?),
    };
    let load_balancer_dimensions = super::traffic::validate_dimensions(
        &p("load_balancer_dimensions"),
        &rc.load_balancer_dimensions,
    )?;
    Ok(ClusterConfig {
        key: name,
        eks_name: rc.eks_name.clone(),
        region: rc.region.clone(),
        owner_id,
        external_dns_version: rc.external_dns_version,
        txt_prefix,
        txt_suffix,
        txt_wildcard_replacement,
        annotation_prefix,
        evaluate_target_health: rc.evaluate_target_health.unwrap_or(true),
        api_endpoint,
        api_ca_pem,
        connect_to,
        lb_canonical_zone_id,
        txt_encrypt_key_env: rc.txt_encrypt_key_env.clone(),
        txt_encrypt_key,
        load_balancer_dimensions,
    })
}

/// Reads a cluster's `--txt-aes-encryption-key` from the environment variable `var`
/// (docs/reference/external-dns.md §1 "Encryption": "key 32 raw bytes or standard base64"). Errors
/// name the key path and the variable, never the variable's value.
fn read_encrypt_key(
    path: &str,
    var: &str,
    env: &EnvLookup<'_>,
) -> Result<EncryptionKey, ConfigError> {
    let valid_name = var
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(ConfigError::at(
            path,
            // The value is not echoed: it may be a key pasted into the file by mistake.
            "bad environment variable name: expected the NAME of the variable that holds the key (A–Z, a–z, 0–9, '_', not starting with a digit, e.g. \"BLUE_TXT_AES_KEY\"), never the key itself",
        ));
    }
    let value = env(var).ok_or_else(|| {
        ConfigError::at(
            path,
            format!("environment variable {var} is not set (it must hold the cluster's --txt-aes-encryption-key)"),
        )
    })?;
    EncryptionKey::parse(&value).map_err(|e| {
        ConfigError::at(
            path,
            format!("environment variable {var} does not hold a valid key: {e}"),
        )
    })
}

fn validate_api_override(
    key: &str,
    rc: &RawCluster,
) -> Result<(Option<String>, Option<String>), ConfigError> {
    let p = |field: &str| format!("clusters.{key}.{field}");
    match (&rc.api_endpoint, &rc.api_ca_pem) {
        (None, None) => Ok((None, None)),
        (Some(_), None) => Err(ConfigError::at(
            p("api_ca_pem"),
            "required with api_endpoint (the override replaces EKS DescribeCluster, which gives both)",
        )),
        (None, Some(_)) => Err(ConfigError::at(
            p("api_endpoint"),
            "required with api_ca_pem (the override replaces EKS DescribeCluster, which gives both)",
        )),
        (Some(url), Some(ca)) => {
            let parsed = url::Url::parse(url)
                .map_err(|e| ConfigError::at(p("api_endpoint"), format!("bad URL {url:?}: {e}")))?;
            if parsed.scheme() != "https" {
                return Err(ConfigError::at(p("api_endpoint"), format!("must be an https:// URL, got {url:?}")));
            }
            if !ca.contains("-----BEGIN CERTIFICATE-----") {
                return Err(ConfigError::at(
                    p("api_ca_pem"),
                    "must hold a PEM certificate (\"-----BEGIN CERTIFICATE-----\")",
                ));
            }
            Ok((Some(url.clone()), Some(ca.clone())))
        }
    }
}

/// A TXT prefix/suffix is pasted into a DNS name; `%{record_type}` is external-dns's placeholder.
fn check_affix(path: &str, affix: &str) -> Result<(), ConfigError> {
    let plain = affix.replace("%{record_type}", "a");
    let bad = plain
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        || plain.contains("..");
    if bad || affix.len() > 63 {
        return Err(ConfigError::at(
            path,
            format!("bad TXT affix {affix:?}: only a–z, 0–9, '-', '_', '.' and %{{record_type}}"),
        ));
    }
    Ok(())
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

fn validate_state_prefix(raw: Option<&str>) -> Result<String, ConfigError> {
    let prefix = raw
        .unwrap_or(DEFAULT_STATE_RECORD_PREFIX)
        .to_ascii_lowercase();
    let label_part = prefix.strip_suffix('.');
    let ok = match label_part {
        Some(labels) => DnsName::parse(labels).is_ok(),
        None => false,
    };
    if !ok {
        return Err(ConfigError::at(
            "state_record_prefix",
            format!("bad prefix {prefix:?}: must be one or more DNS labels ending with '.', e.g. \"_cutover.\""),
        ));
    }
    Ok(prefix)
}

fn validate_sns_arns(raw: &[String]) -> Result<Vec<String>, ConfigError> {
    for (i, arn) in raw.iter().enumerate() {
        let parts: Vec<&str> = arn.split(':').collect();
        let ok = parts.len() == 6
            && parts.first() == Some(&"arn")
            && parts.get(1).is_some_and(|p| p.starts_with("aws"))
            && parts.get(2) == Some(&"sns")
            && parts.iter().skip(3).all(|p| !p.is_empty());
        if !ok {
            return Err(ConfigError::at(
                format!("sns_topic_arns[{i}]"),
                format!("bad SNS topic ARN {arn:?}: expected \"arn:aws:sns:<region>:<account>:<topic>\""),
            ));
        }
    }
    Ok(raw.to_vec())
}

fn validate_service(
    key: &str,
    rs: &RawService,
    clusters: &BTreeMap<Name, ClusterConfig>,
    zones: &[ZoneConfig],
    defaults: &Rollout,
    state_prefix: &str,
) -> Result<ServiceConfig, ConfigError> {
    let p = |field: &str| format!("services.{key}.{field}");
    let name =
        Name::new(key).map_err(|e| ConfigError::at(format!("services.{key}"), e.to_string()))?;
    let hostname =
        DnsName::parse(&rs.hostname).map_err(|e| ConfigError::at(p("hostname"), e.to_string()))?;
    let zone = zones
        .iter()
        .filter(|z| hostname.is_within(&z.name))
        .max_by_key(|z| z.name.as_str().len())
        .ok_or_else(|| {
            ConfigError::at(
                p("hostname"),
                format!("{hostname} lies outside every configured zone"),
            )
        })?;
    // external-dns writes a name into every matching private zone and the most specific public
    // one (docs/reference/external-dns.md §5 "Mirror edits"). cutover changes one zone per service,
    // atomically; until it mirrors edits, a name that external-dns would write into several zones
    // is refused rather than migrated in one of them only.
    let writers = external_dns_zones(zones, &hostname);
    if writers.len() > 1 {
        return Err(ConfigError::at(
            p("hostname"),
            format!(
                "{hostname} is written by external-dns into {} zones ({}); cutover migrates a \
                 name in one zone only, so configure just the zone to migrate",
                writers.len(),
                writers
                    .iter()
                    .map(|z| z.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if DnsName::parse(&format!("{state_prefix}{hostname}")).is_err() {
        return Err(ConfigError::at(
            p("hostname"),
            format!("the state record name {state_prefix}{hostname} is not a valid DNS name"),
        ));
    }
    let known = |field: &str, c: &str| -> Result<Name, ConfigError> {
        let n = Name::new(c).map_err(|e| ConfigError::at(p(field), e.to_string()))?;
        if clusters.contains_key(&n) {
            Ok(n)
        } else {
            Err(ConfigError::at(
                p(field),
                format!("unknown cluster {c:?} (not in [clusters])"),
            ))
        }
    };
    let from = known("from", &rs.from)?;
    let to = known("to", &rs.to)?;
    if from == to {
        return Err(ConfigError::at(
            p("to"),
            format!("from and to are the same cluster {from:?}"),
        ));
    }
    let mut ingress = BTreeMap::new();
    for (c, r) in &rs.ingress {
        let n = known(&format!("ingress.{c}"), c)?;
        ingress.insert(n, r.clone());
    }
    let mut set_identifiers = BTreeMap::new();
    for c in [&from, &to] {
        set_identifiers.insert(
            c.clone(),
            default_set_identifier(&name, c)
                .map_err(|e| ConfigError::at(p("set_identifier"), e.to_string()))?,
        );
    }
    for (c, s) in &rs.set_identifier {
        let field = format!("set_identifier.{c}");
        let n = known(&field, c)?;
        let id = SetIdentifier::new(s).map_err(|e| ConfigError::at(p(&field), e.to_string()))?;
        set_identifiers.insert(n, id);
    }
    if set_identifiers.get(&from) == set_identifiers.get(&to) {
        return Err(ConfigError::at(
            p(&format!("set_identifier.{to}")),
            "from and to need different set identifiers (one weighted record per cluster)",
        ));
    }
    let rollout = merge_rollout(&p("overrides"), defaults, &rs.overrides)?;
    super::traffic::check_alarm_clusters(&p("overrides"), &rollout, clusters)?;
    Ok(ServiceConfig {
        name,
        hostname,
        from,
        to,
        ingress,
        set_identifiers,
        rollout,
        zone_id: zone.id.clone(),
    })
}

fn merge_rollout(path: &str, base: &Rollout, raw: &RawRollout) -> Result<Rollout, ConfigError> {
    let p = |field: &str| format!("{path}.{field}");
    let steps = match &raw.steps {
        None => base.steps.clone(),
        Some(steps) => validate_steps(&p("steps"), steps)?,
    };
    let failure_threshold = raw.failure_threshold.unwrap_or(base.failure_threshold);
    if failure_threshold == 0 {
        return Err(ConfigError::at(
            p("failure_threshold"),
            "must be at least 1",
        ));
    }
    let failure_limit = raw.failure_limit.unwrap_or(base.failure_limit);
    if failure_limit == 0 {
        return Err(ConfigError::at(p("failure_limit"), "must be at least 1"));
    }
    let success_threshold = raw.success_threshold.unwrap_or(base.success_threshold);
    if success_threshold == 0 {
        return Err(ConfigError::at(
            p("success_threshold"),
            "must be at least 1 (a step advances only after good checks)",
        ));
    }
    let verify_window = raw.verify_window.unwrap_or(base.verify_window);
    let propagation_allowance = raw
        .propagation_allowance
        .unwrap_or(base.propagation_allowance);
    let health_check = merge_health(
        &p("health_check"),
        &base.health_check,
        raw.health_check.as_ref(),
    )?;
    let alarms = match &raw.alarms {
        None => base.alarms.clone(),
        Some(raw_alarms) => super::traffic::validate_alarms(&p("alarms"), raw_alarms)?,
    };
    let metrics = match &raw.metrics {
        None => base.metrics.clone(),
        Some(m) => Some(super::traffic::validate_metrics(&p("metrics"), m)?),
    };
    let observed_split = match &raw.observed_split {
        None => base.observed_split.clone(),
        Some(s) => Some(super::traffic::validate_split(&p("observed_split"), s)?),
    };
    Ok(Rollout {
        strategy: raw.strategy.unwrap_or(base.strategy),
        steps,
        failure_threshold,
        failure_limit,
        success_threshold,
        verify_window,
        propagation_allowance,
        health_check,
        alarms,
        metrics,
        observed_split,
    })
}

fn validate_steps(path: &str, raw: &[RawStep]) -> Result<Vec<Step>, ConfigError> {
    if raw.is_empty() {
        return Err(ConfigError::at(
            path,
            "at least one step is required (the last at 100)",
        ));
    }
    let mut out: Vec<Step> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let sp = format!("{path}[{i}].percent");
        let percent = Percent::new(s.percent).map_err(|e| ConfigError::at(&sp, e.to_string()))?;
        if percent == Percent::ZERO {
            return Err(ConfigError::at(
                &sp,
                "a step must move traffic: percent above 0",
            ));
        }
        if let Some(prev) = out.last() {
            if percent <= prev.percent {
                return Err(ConfigError::at(
                    &sp,
                    format!("steps must increase: {} after {}", percent, prev.percent),
                ));
            }
        }
        out.push(Step {
            percent,
            bake: s.bake,
            approval: s.approval,
        });
    }
    if out.last().map(|s| s.percent) != Some(Percent::FULL) {
        return Err(ConfigError::at(
            path,
            "the last step must be at 100 percent",
        ));
    }
    Ok(out)
}

fn merge_health(
    path: &str,
    base: &HealthCheck,
    raw: Option<&RawHealthCheck>,
) -> Result<HealthCheck, ConfigError> {
    let Some(raw) = raw else {
        return Ok(base.clone());
    };
    let p = |field: &str| format!("{path}.{field}");
    let port = match raw.port {
        None => base.port,
        Some(v) => u16::try_from(v)
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| ConfigError::at(p("port"), format!("must be 1–65535, got {v}")))?,
    };
    let path_value = raw.path.clone().unwrap_or_else(|| base.path.clone());
    if !path_value.starts_with('/')
        || path_value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ConfigError::at(
            p("path"),
            format!("must start with '/' and hold no whitespace, got {path_value:?}"),
        ));
    }
    let timeout = raw.timeout.unwrap_or(base.timeout);
    if timeout.millis() <= 0 {
        return Err(ConfigError::at(p("timeout"), "must be above 0"));
    }
    let samples = raw.samples.unwrap_or(base.samples);
    if samples == 0 {
        return Err(ConfigError::at(p("samples"), "must be at least 1"));
    }
    let allowed_failures = raw.allowed_failures.unwrap_or(base.allowed_failures);
    if allowed_failures >= samples {
        return Err(ConfigError::at(
            p("allowed_failures"),
            format!("must be below samples ({samples}), or every check would pass"),
        ));
    }
    Ok(HealthCheck {
        scheme: raw.scheme.unwrap_or(base.scheme),
        port,
        path: path_value,
        expected_status: raw.expected_status.unwrap_or(base.expected_status),
        timeout,
        samples,
        allowed_failures,
    })
}
