//! Pass 2: every cross-field rule checked and every default resolved into the values the rest
//! of cutover uses. Every error names the key path and the reason.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::raw::{
    RawCluster, RawConfig, RawHealthCheck, RawRollout, RawService, RawSource, RawStep, RawZone,
};
use super::values::default_set_identifier;
use super::{
    check_wave_limits, external_dns_zones, AssumeRole, AssumeRoleError, ClusterConfig, Config,
    ConfigError, EnvLookup, HealthCheck, Rollout, Scheme, ServiceConfig, SourceSelector, Step,
    WaveDefaults, ZoneConfig, DEFAULT_CAS_RETRIES, DEFAULT_LEASE_OWNER_ID,
    DEFAULT_PROBE_CONCURRENCY, DEFAULT_RATE_LIMIT, DEFAULT_STATE_RECORD_PREFIX,
    DEFAULT_WAVE_MAX_ACTIVE, DEFAULT_WAVE_MAX_FAILURES, ROUTE53_ACCOUNT_RATE,
};
use crate::observation::SourceKind;
use crate::registry::{all_txt_names, EncryptionKey, TxtNaming};
use crate::text::quoted;
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
    refuse_name_collisions(&services, &clusters, &zones, &state_record_prefix)?;
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
    if !(1..=MAX_PROBE_CONCURRENCY).contains(&probe_concurrency) {
        return Err(ConfigError::at(
            "probe_concurrency",
            format!("must be 1–{MAX_PROBE_CONCURRENCY}, got {probe_concurrency}"),
        ));
    }
    let cas_retries = raw.cas_retries.unwrap_or(DEFAULT_CAS_RETRIES);
    if cas_retries > MAX_CAS_RETRIES {
        return Err(ConfigError::at(
            "cas_retries",
            format!("must be at most {MAX_CAS_RETRIES}, got {cas_retries}"),
        ));
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

    let wave = WaveDefaults {
        max_active: raw.wave.max_active.unwrap_or(DEFAULT_WAVE_MAX_ACTIVE),
        max_failures: raw.wave.max_failures.unwrap_or(DEFAULT_WAVE_MAX_FAILURES),
    };
    check_wave_limits("wave.", wave.max_active, wave.max_failures)?;

    Ok(Config {
        zones,
        clusters,
        defaults,
        services,
        lease_owner_id,
        state_record_prefix,
        sns_topic_arns,
        rate_limit,
        cas_retries,
        probe_concurrency,
        notification_topic_arn,
        wave,
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
                    "bad hosted zone id {}: expected e.g. \"Z0123456789ABC\"",
                    quoted(&z.id)
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
        let role = validate_role(
            &format!("zones[{i}]"),
            z.role_arn.as_deref(),
            z.external_id.as_deref(),
        )?;
        out.push(ZoneConfig {
            id,
            name,
            private: z.private,
            role,
        });
    }
    Ok(out)
}

/// `role_arn` and `external_id` of a zone or a cluster (`at` is its key path): an external id
/// without a role is refused, as it would be ignored.
fn validate_role(
    at: &str,
    role_arn: Option<&str>,
    external_id: Option<&str>,
) -> Result<Option<AssumeRole>, ConfigError> {
    match (role_arn, external_id) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(ConfigError::at(
            format!("{at}.external_id"),
            "external_id is set without role_arn; it is sent only when assuming a role",
        )),
        (Some(arn), external_id) => {
            AssumeRole::new(arn.trim(), external_id)
                .map(Some)
                .map_err(|e| {
                    let field = match e {
                        AssumeRoleError::Arn(_) => "role_arn",
                        AssumeRoleError::ExternalId => "external_id",
                    };
                    ConfigError::at(format!("{at}.{field}"), e.to_string())
                })
        }
    }
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
                    "owner id {} is also used by clusters.{}: two external-dns instances with one owner id delete each other's records",
                    quoted(cluster.owner_id.as_str()),
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
                    "owner id {} equals lease_owner_id: the lease owner id must be one no external-dns uses",
                    quoted(lease.as_str())
                ),
            ));
        }
        // Two entries for one EKS cluster would read one cluster's Ingresses as two clusters'.
        if let Some(other) = out
            .values()
            .find(|c| c.eks_name == cluster.eks_name && c.region == cluster.region)
        {
            return Err(ConfigError::at(
                p("eks_name"),
                format!(
                    "EKS cluster {} in {} is also clusters.{}: from and to must be two clusters",
                    cluster.eks_name, cluster.region, other.key
                ),
            ));
        }
        // One probe address for two clusters would judge both by one load balancer.
        if let Some(other) = out
            .values()
            .find(|c| c.connect_to.is_some() && c.connect_to == cluster.connect_to)
        {
            return Err(ConfigError::at(
                p("connect_to"),
                format!(
                    "{} is also the probe address of clusters.{}: each cluster's health must come \
                     from its own load balancer",
                    cluster
                        .connect_to
                        .map(|a| a.to_string())
                        .unwrap_or_default(),
                    other.key
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
                "bad AWS region {}: expected e.g. \"us-east-1\"",
                quoted(&rc.region)
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
                    format!(
                        "bad annotation prefix {a}: expected e.g. \"external-dns.kubernetes.io/\"",
                        a = quoted(a)
                    ),
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
                format!(
                    "bad address {s}: expected \"ip:port\", e.g. \"127.0.0.1:8443\"",
                    s = quoted(s)
                ),
            )
        })?),
    };
    let zone_id = |field: &str, raw: &Option<String>| match raw {
        None => Ok(None),
        Some(z)
            if !z.is_empty() && z.len() <= 32 && z.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            Ok(Some(z.clone()))
        }
        Some(z) => Err(ConfigError::at(
            p(field),
            format!("bad hosted zone id {z}", z = quoted(z)),
        )),
    };
    let lb_canonical_zone_id = zone_id("lb_canonical_zone_id", &rc.lb_canonical_zone_id)?;
    let nlb_canonical_zone_id = zone_id("nlb_canonical_zone_id", &rc.nlb_canonical_zone_id)?;
    let txt_encrypt_key = match &rc.txt_encrypt_key_env {
        None => None,
        Some(var) => Some(read_encrypt_key(&p("txt_encrypt_key_env"), var, env)?),
    };
    let external_dns_sources = validate_sources(
        &p("external_dns_sources"),
        rc.external_dns_sources.as_deref(),
    )?;
    let load_balancer_dimensions = super::traffic::validate_dimensions(
        &p("load_balancer_dimensions"),
        &rc.load_balancer_dimensions,
    )?;
    let role = validate_role(
        &format!("clusters.{key}"),
        rc.role_arn.as_deref(),
        rc.external_id.as_deref(),
    )?;
    Ok(ClusterConfig {
        key: name,
        role,
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
        nlb_canonical_zone_id,
        txt_encrypt_key_env: rc.txt_encrypt_key_env.clone(),
        txt_encrypt_key,
        external_dns_sources,
        load_balancer_dimensions,
    })
}

/// The kinds external-dns's Helm chart sources by default (`--source=service --source=ingress`).
pub(super) const DEFAULT_EXTERNAL_DNS_SOURCES: [SourceKind; 2] =
    [SourceKind::Ingress, SourceKind::Service];

/// A cluster's external-dns `--source` names, among those cutover follows.
fn validate_sources(path: &str, raw: Option<&[String]>) -> Result<Vec<SourceKind>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_EXTERNAL_DNS_SOURCES.to_vec());
    };
    if raw.is_empty() {
        return Err(ConfigError::at(
            path,
            "at least one source is required (the --source flags of the cluster's external-dns)",
        ));
    }
    let mut kinds = Vec::new();
    for (i, name) in raw.iter().enumerate() {
        let kind = SourceKind::from_external_dns_source(name).ok_or_else(|| {
            ConfigError::at(
                format!("{path}[{i}]"),
                format!(
                    "{} is not a source cutover follows: list the cluster's external-dns \
                     --source flags among {}",
                    quoted(name),
                    SourceKind::ALL
                        .iter()
                        .map(|k| format!("\"{}\"", k.external_dns_source()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds.sort();
    Ok(kinds)
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
                .map_err(|e| ConfigError::at(p("api_endpoint"), format!("bad URL {url}: {e}", url = quoted(url))))?;
            if parsed.scheme() != "https" {
                return Err(ConfigError::at(p("api_endpoint"), format!("must be an https:// URL, got {url}", url = quoted(url))));
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
            format!(
                "bad TXT affix {affix}: only a–z, 0–9, '-', '_', '.' and %{{record_type}}",
                affix = quoted(affix)
            ),
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
            format!("bad prefix {prefix}: must be one or more DNS labels ending with '.', e.g. \"_cutover.\"", prefix = quoted(&prefix)),
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
                format!(
                    "bad SNS topic ARN {arn}: expected \"arn:aws:sns:<region>:<account>:<topic>\"",
                    arn = quoted(arn)
                ),
            ));
        }
    }
    Ok(raw.to_vec())
}

/// Bounds that keep every value usable: a probe of billions of samples would never end, a
/// duration near `i64::MAX` milliseconds would overflow every sum it enters.
const MAX_SAMPLES: u32 = 100;
const MAX_PROBE_TIMEOUT_MS: i64 = 60_000;
const MAX_BAKE_MS: i64 = 7 * 24 * 3_600_000;
const MAX_PROPAGATION_ALLOWANCE_MS: i64 = 3_600_000;
const MAX_PROBE_CONCURRENCY: u32 = 256;
const MAX_CAS_RETRIES: u32 = 10;

/// A migrated hostname is a plain DNS host name: letters, digits, `-` and `_` in labels, and a
/// leading `*` label for a wildcard. Anything else (`localhost:9#.example.com`) would be sent as
/// a Host header and an SNI to probe, and is no name external-dns publishes for an Ingress.
fn check_hostname_characters(hostname: &DnsName) -> Result<(), String> {
    for (i, label) in hostname.as_str().split('.').enumerate() {
        if i == 0 && label == "*" {
            continue;
        }
        let bad = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'));
        if let Some(c) = bad {
            return Err(format!(
                "{hostname}: the character {c} is not allowed in a host name (letters, digits, \
                 '-', '_', and a leading '*' label)",
                c = quoted(c.encode_utf8(&mut [0; 4]))
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "{hostname}: the label {label} starts or ends with '-'",
                label = quoted(label)
            ));
        }
    }
    Ok(())
}

/// A service's hostname or state record may not be a name another service reads or writes (its
/// state record, or a TXT registry name any cluster's external-dns would use for it): the two
/// services would edit each other's records.
fn refuse_name_collisions(
    services: &BTreeMap<Name, ServiceConfig>,
    clusters: &BTreeMap<Name, ClusterConfig>,
    zones: &[ZoneConfig],
    state_prefix: &str,
) -> Result<(), ConfigError> {
    let namings: Vec<TxtNaming> = clusters.values().map(ClusterConfig::txt_naming).collect();
    // cutover's own records of each zone (the change record, the waves record) belong to no
    // service: a service's name that is one of them is refused.
    let zone_records: BTreeMap<DnsName, &'static str> = zones
        .iter()
        .flat_map(|z| super::zone_record_names(state_prefix, &z.name))
        .collect();
    let mut owner_of: BTreeMap<DnsName, (Name, &'static str)> = BTreeMap::new();
    for svc in services.values() {
        owner_of.insert(svc.hostname.clone(), (svc.name.clone(), "hostname"));
        if let Ok(state) = DnsName::parse(&format!("{state_prefix}{}", svc.hostname)) {
            owner_of.insert(state, (svc.name.clone(), "state record"));
        }
    }
    for svc in services.values() {
        let mut names: Vec<(DnsName, &str)> = all_txt_names(&svc.hostname, &namings)
            .into_iter()
            .map(|n| (n, "TXT registry name"))
            .collect();
        if let Ok(state) = DnsName::parse(&format!("{state_prefix}{}", svc.hostname)) {
            names.push((state, "state record"));
        }
        names.push((svc.hostname.clone(), "hostname"));
        for (name, what) in names {
            if let Some(record) = zone_records.get(&name) {
                return Err(ConfigError::at(
                    format!("services.{}.hostname", svc.name),
                    format!(
                        "{name}, a {what} of {}, is cutover's {record} of its zone",
                        svc.hostname
                    ),
                ));
            }
            match owner_of.get(&name) {
                Some((other, their)) if other != &svc.name => {
                    return Err(ConfigError::at(
                        format!("services.{}.hostname", svc.name),
                        format!(
                            "{name}, a {what} of {}, is the {their} of services.{other}: the two \
                             services would edit each other's records",
                            svc.hostname
                        ),
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
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
    check_hostname_characters(&hostname).map_err(|why| ConfigError::at(p("hostname"), why))?;
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
    // one (docs/reference/external-dns.md §5 "Mirror edits"): cutover mirrors each edit into all
    // of them, private zones first (docs/design.md §8.1).
    let zone_ids = horizon_order(external_dns_zones(zones, &hostname));
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
                format!("unknown cluster {c} (not in [clusters])", c = quoted(c)),
            ))
        }
    };
    let from = known("from", &rs.from)?;
    let to = known("to", &rs.to)?;
    if from == to {
        return Err(ConfigError::at(
            p("to"),
            format!(
                "from and to are the same cluster {from}",
                from = quoted(from.as_str())
            ),
        ));
    }
    let source = validate_service_sources(key, rs, clusters, [&from, &to])?;
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
    check_port_and_connect_to(key, rs, &rollout, [&from, &to], clusters)?;
    super::traffic::check_alarm_clusters(&p("overrides"), &rollout, clusters)?;
    let labels = validate_labels(&p("labels"), &rs.labels)?;
    Ok(ServiceConfig {
        name,
        hostname,
        from,
        to,
        source,
        set_identifiers,
        rollout,
        zone_id: zone.id.clone(),
        zone_ids,
        labels,
    })
}

/// Labels a wave selects services by: keys and values of letters, digits, `-`, `_`, `.` (a key
/// may also hold `/`), 1–63 characters each.
fn validate_labels(
    path: &str,
    labels: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let fine = |s: &str, slash: bool| {
        (1..=63).contains(&s.len())
            && s.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') || (slash && c == '/')
            })
    };
    for (key, value) in labels {
        if !fine(key, true) {
            return Err(ConfigError::at(
                format!("{path}.{key}"),
                format!(
                    "bad label key {}: 1–63 letters, digits, '-', '_', '.', '/'",
                    quoted(key)
                ),
            ));
        }
        if !fine(value, false) {
            return Err(ConfigError::at(
                format!("{path}.{key}"),
                format!(
                    "bad label value {}: 1–63 letters, digits, '-', '_', '.'",
                    quoted(value)
                ),
            ));
        }
    }
    Ok(labels.clone())
}

/// `connect_to` is the address and port the probes of that cluster connect to, so a
/// `health_check.port` for the same service could never be honoured: refused, naming the key
/// that set the port, rather than silently ignored.
fn check_port_and_connect_to(
    key: &str,
    rs: &RawService,
    rollout: &Rollout,
    service_clusters: [&Name; 2],
    clusters: &BTreeMap<Name, ClusterConfig>,
) -> Result<(), ConfigError> {
    let Some(port) = rollout.health_check.port else {
        return Ok(());
    };
    let probed_directly = service_clusters
        .into_iter()
        .find(|c| clusters.get(*c).is_some_and(|c| c.connect_to.is_some()));
    let Some(cluster) = probed_directly else {
        return Ok(());
    };
    let set_here = rs
        .overrides
        .health_check
        .as_ref()
        .is_some_and(|h| h.port.is_some());
    let path = if set_here {
        format!("services.{key}.overrides.health_check.port")
    } else {
        "defaults.health_check.port".to_string()
    };
    Err(ConfigError::at(
        path,
        format!(
            "port {port} cannot be honoured for services.{key}: clusters.{cluster}.connect_to \
             already gives the address and port its probes connect to; remove one of the two"
        ),
    ))
}

/// `source` (one selector for both clusters, or one per cluster) and the older `ingress` pins,
/// each checked against the kinds the cluster's external-dns reads.
fn validate_service_sources(
    key: &str,
    rs: &RawService,
    clusters: &BTreeMap<Name, ClusterConfig>,
    from_to: [&Name; 2],
) -> Result<BTreeMap<Name, SourceSelector>, ConfigError> {
    let p = |field: &str| format!("services.{key}.{field}");
    let known = |field: &str, c: &str| -> Result<Name, ConfigError> {
        let n = Name::new(c).map_err(|e| ConfigError::at(p(field), e.to_string()))?;
        if clusters.contains_key(&n) {
            Ok(n)
        } else {
            Err(ConfigError::at(
                p(field),
                format!("unknown cluster {c} (not in [clusters])", c = quoted(c)),
            ))
        }
    };
    // (cluster, selector, the key path it was written at)
    let mut written: Vec<(Name, SourceSelector, String)> = Vec::new();
    match &rs.source {
        None => {}
        Some(RawSource::Everywhere(selector)) => {
            for c in from_to {
                written.push((c.clone(), selector.clone(), p("source")));
            }
        }
        Some(RawSource::PerCluster(map)) => {
            for (c, selector) in map {
                let field = format!("source.{c}");
                written.push((known(&field, c)?, selector.clone(), p(&field)));
            }
        }
    }
    for (c, reference) in &rs.ingress {
        let field = format!("ingress.{c}");
        let n = known(&field, c)?;
        if written.iter().any(|(w, _, _)| *w == n) {
            return Err(ConfigError::at(
                p(&field),
                format!(
                    "source already names the source of cluster {c}; give it in one place \
                     (source.{c} = \"ingress/{reference}\")"
                ),
            ));
        }
        written.push((
            n,
            SourceSelector {
                kind: SourceKind::Ingress,
                object: Some(reference.clone()),
            },
            p(&field),
        ));
    }
    let mut out = BTreeMap::new();
    for (c, selector, path) in written {
        if let Some(cluster) = clusters.get(&c) {
            if !cluster.external_dns_sources.contains(&selector.kind) {
                return Err(ConfigError::at(
                    path,
                    format!(
                        "cluster {c}'s external-dns does not read {} objects \
                         (clusters.{c}.external_dns_sources = [{}]), so none can serve the \
                         service there; add \"{}\" if its external-dns runs with --source={}",
                        selector.kind.kind_name(),
                        cluster
                            .external_dns_sources
                            .iter()
                            .map(|k| format!("\"{}\"", k.external_dns_source()))
                            .collect::<Vec<_>>()
                            .join(", "),
                        selector.kind.external_dns_source(),
                        selector.kind.external_dns_source(),
                    ),
                ));
            }
        }
        out.insert(c, selector);
    }
    Ok(out)
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
    if verify_window.millis() > MAX_BAKE_MS {
        return Err(ConfigError::at(
            p("verify_window"),
            format!("must be at most 7d, got {verify_window}"),
        ));
    }
    let propagation_allowance = raw
        .propagation_allowance
        .unwrap_or(base.propagation_allowance);
    if propagation_allowance.millis() > MAX_PROPAGATION_ALLOWANCE_MS {
        return Err(ConfigError::at(
            p("propagation_allowance"),
            format!("must be at most 1h, got {propagation_allowance}"),
        ));
    }
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
        if s.bake.millis() > MAX_BAKE_MS {
            return Err(ConfigError::at(
                format!("{path}[{i}].bake"),
                format!("must be at most 7d, got {}", s.bake),
            ));
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
        Some(v) => Some(
            u16::try_from(v)
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| ConfigError::at(p("port"), format!("must be 1–65535, got {v}")))?,
        ),
    };
    let path_value = raw.path.clone().unwrap_or_else(|| base.path.clone());
    if !path_value.starts_with('/')
        || path_value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ConfigError::at(
            p("path"),
            format!(
                "must start with '/' and hold no whitespace, got {path_value}",
                path_value = quoted(&path_value)
            ),
        ));
    }
    let timeout = raw.timeout.unwrap_or(base.timeout);
    if timeout.millis() <= 0 || timeout.millis() > MAX_PROBE_TIMEOUT_MS {
        return Err(ConfigError::at(
            p("timeout"),
            format!("must be above 0 and at most 60s, got {timeout}"),
        ));
    }
    let samples = raw.samples.unwrap_or(base.samples);
    if !(1..=MAX_SAMPLES).contains(&samples) {
        return Err(ConfigError::at(
            p("samples"),
            format!("must be 1–{MAX_SAMPLES}, got {samples}"),
        ));
    }
    let allowed_failures = raw.allowed_failures.unwrap_or(base.allowed_failures);
    if allowed_failures >= samples {
        return Err(ConfigError::at(
            p("allowed_failures"),
            format!("must be below samples ({samples}), or every check would pass"),
        ));
    }
    let scheme = raw.scheme.unwrap_or(base.scheme);
    // A TCP check is a connect and nothing else: an HTTP setting written beside it would be
    // silently meaningless.
    if scheme == Scheme::Tcp {
        for (field, given) in [
            ("path", raw.path.is_some()),
            ("expected_status", raw.expected_status.is_some()),
        ] {
            if given {
                return Err(ConfigError::at(
                    p(field),
                    "means nothing with scheme \"tcp\" (the check is a TCP connect to the load \
                     balancer's port); remove it, or use scheme \"http\" or \"https\"",
                ));
            }
        }
    }
    Ok(HealthCheck {
        scheme,
        port,
        path: path_value,
        expected_status: raw.expected_status.unwrap_or(base.expected_status),
        timeout,
        samples,
        allowed_failures,
    })
}

/// The zones of a split-horizon name in the order cutover sends their batches: the private zones
/// (by id), then the public one (docs/design.md §8.1).
fn horizon_order(zones: Vec<&ZoneConfig>) -> Vec<String> {
    let mut ordered: Vec<&ZoneConfig> = zones;
    ordered.sort_by(|a, b| (!a.private, &a.id).cmp(&(!b.private, &b.id)));
    ordered.into_iter().map(|z| z.id.clone()).collect()
}
