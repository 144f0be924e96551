//! Read-only Kubernetes access: EKS DescribeCluster → EKS bearer token → per cluster per tick,
//! one list call for each kind of source object in use — Ingresses, Services (type
//! LoadBalancer), HTTPRoutes and the Gateways they attach to (docs/design.md §9) — converted into
//! the core's `SourceObject`s as external-dns reads them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};

use crate::observe::accounts::{Accounts, RoleCredentials};
use crate::observe::clock::{Clock, SystemClock};
use crate::observe::gateway::{self, RawObject, GATEWAY_GROUP};
use cutover_core::config::AssumeRole;
use cutover_core::observation::{SourceKind, SourceObject};
use cutover_core::registry::ExternalDnsVersion;
use cutover_core::text::quoted;
use cutover_core::types::DnsName;

/// Why listing a cluster's source objects failed. Every variant names the cluster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeError {
    #[error("cluster {cluster}: EKS DescribeCluster failed: {message}")]
    Describe { cluster: String, message: String },
    #[error("cluster {cluster}: EKS DescribeCluster answered without {field}")]
    MissingField {
        cluster: String,
        field: &'static str,
    },
    #[error("cluster {cluster}: certificate authority: {reason}")]
    CertificateAuthority { cluster: String, reason: String },
    #[error("cluster {cluster}: API endpoint {endpoint}: {reason}", endpoint = quoted(.endpoint))]
    Endpoint {
        cluster: String,
        endpoint: String,
        reason: String,
    },
    #[error("cluster {cluster}: no AWS credentials: {reason}")]
    Credentials { cluster: String, reason: String },
    #[error("cluster {cluster}: cannot sign the EKS token: {reason}")]
    Token { cluster: String, reason: String },
    #[error("cluster {cluster}: cannot build the Kubernetes client: {reason}")]
    Client { cluster: String, reason: String },
    /// `kind`: the plural listed (`Ingresses`, `Services`, `HTTPRoutes`, `Gateways`).
    #[error("cluster {cluster}: listing {kind} failed: {message}")]
    List {
        cluster: String,
        kind: String,
        message: String,
    },
    /// A listed object external-dns would read but cutover cannot make sense of (the message
    /// names the object and the field).
    #[error("cluster {cluster}: {message}")]
    Object { cluster: String, message: String },
}

/// A cluster as the source lister needs it (the config's cluster entry, reduced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRef {
    /// The EKS cluster name (also the token's `x-k8s-aws-id`).
    pub eks_name: String,
    pub region: String,
    /// The cluster's external-dns annotation prefix, e.g. `external-dns.alpha.kubernetes.io/`.
    pub annotation_prefix: String,
    /// The cluster's external-dns version: which annotations its sources read.
    pub external_dns_version: ExternalDnsVersion,
    /// Endpoint and CA from the config: DescribeCluster is skipped.
    pub api_override: Option<ApiOverride>,
    /// The role whose credentials call DescribeCluster and sign the token (a cluster in another
    /// account); none: the function's own.
    pub role: Option<AssumeRole>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiOverride {
    /// `https://…`
    pub endpoint: String,
    /// The CA bundle in PEM.
    pub ca_pem: String,
}

/// The port to the clusters' source objects: per call, one list per kind asked for (two for
/// HTTPRoutes: the routes and the Gateways), across all namespaces (docs/design.md §9).
pub trait ClusterSources: Send + Sync {
    fn list_sources<'a>(
        &'a self,
        cluster: &'a ClusterRef,
        kinds: &'a [SourceKind],
    ) -> BoxFuture<'a, Result<Vec<SourceObject>, KubeError>>;

    /// The cluster's Ingresses only.
    fn list_ingresses<'a>(
        &'a self,
        cluster: &'a ClusterRef,
    ) -> BoxFuture<'a, Result<Vec<SourceObject>, KubeError>> {
        self.list_sources(cluster, &[SourceKind::Ingress])
    }
}

/// The name `ClusterSources` had while Ingresses were the only kind read.
pub use self::ClusterSources as IngressSource;

/// Read timeout of a Kubernetes API call.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// [`ClusterSources`] on EKS: DescribeCluster → EKS token → a `kube::Client` built per call (the
/// token lives about 15 minutes and is fixed inside the client; docs/reference/lambda-and-eks.md
/// "EKS token"), then one list per kind.
#[derive(Clone)]
pub struct EksClusterSources {
    sdk_config: aws_config::SdkConfig,
    read_timeout: Duration,
    /// Signs the token's date: the system clock, or the sandbox's simulated one.
    clock: Arc<dyn Clock>,
    /// The roles' cached credentials, for clusters that name a role.
    accounts: Option<Arc<Accounts>>,
}

/// The name `EksClusterSources` had while Ingresses were the only kind read.
pub type EksIngressSource = EksClusterSources;

impl std::fmt::Debug for EksClusterSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EksClusterSources")
            .field("read_timeout", &self.read_timeout)
            .finish_non_exhaustive()
    }
}

impl EksClusterSources {
    /// `sdk_config` from the standard environment (`AWS_ENDPOINT_URL_EKS`, credentials…).
    pub fn new(sdk_config: aws_config::SdkConfig, read_timeout: Duration) -> Self {
        EksClusterSources {
            sdk_config,
            read_timeout,
            clock: Arc::new(SystemClock),
            accounts: None,
        }
    }

    /// Clusters that name a role are reached with that role's credentials, cached in `accounts`.
    pub fn with_accounts(mut self, accounts: Arc<Accounts>) -> Self {
        self.accounts = Some(accounts);
        self
    }

    /// The role's cached credentials and its SDK provider, for a cluster that names one.
    fn role_credentials(
        &self,
        cluster: &ClusterRef,
    ) -> Result<Option<(Arc<RoleCredentials>, SharedCredentialsProvider)>, KubeError> {
        let Some(role) = &cluster.role else {
            return Ok(None);
        };
        match &self.accounts {
            Some(accounts) => Ok(Some(accounts.credentials(role))),
            None => Err(KubeError::Credentials {
                cluster: cluster.eks_name.clone(),
                reason: format!("role {} is configured but no STS client is", role.arn),
            }),
        }
    }

    /// Uses `clock` for the token's signing time (the sandbox's simulated clock in tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    async fn list(
        &self,
        cluster: &ClusterRef,
        kinds: &[SourceKind],
    ) -> Result<Vec<SourceObject>, KubeError> {
        let (endpoint, ca_pem) = match &cluster.api_override {
            Some(o) => (o.endpoint.clone(), o.ca_pem.clone()),
            None => self.describe(cluster).await?,
        };
        let token = self.token(cluster).await?;
        let client = kube_client(cluster, &endpoint, &ca_pem, token, self.read_timeout)?;
        let mut kinds = kinds.to_vec();
        kinds.sort();
        kinds.dedup();
        let mut out = Vec::new();
        for kind in kinds {
            out.extend(match kind {
                SourceKind::Ingress => list_all_ingresses(client.clone(), cluster).await?,
                SourceKind::Service => list_all_services(client.clone(), cluster).await?,
                SourceKind::HttpRoute => list_all_http_routes(client.clone(), cluster).await?,
            });
        }
        Ok(out)
    }

    /// EKS DescribeCluster → (endpoint, CA PEM). The client is per region (clusters may differ).
    async fn describe(&self, cluster: &ClusterRef) -> Result<(String, String), KubeError> {
        let mut config = aws_sdk_eks::config::Builder::from(&self.sdk_config)
            .region(aws_config::Region::new(cluster.region.clone()));
        if let Some((role, provider)) = self.role_credentials(cluster)? {
            // Assumed first, so that a refusal names the role rather than a dispatch failure.
            role.get().await.map_err(|e| KubeError::Credentials {
                cluster: cluster.eks_name.clone(),
                reason: e.to_string(),
            })?;
            config.set_credentials_provider(Some(provider));
        }
        let config = config.build();
        let output = aws_sdk_eks::Client::from_conf(config)
            .describe_cluster()
            .name(&cluster.eks_name)
            .send()
            .await
            .map_err(|e| KubeError::Describe {
                cluster: cluster.eks_name.clone(),
                message: aws_sdk_eks::error::DisplayErrorContext(&e).to_string(),
            })?;
        let missing = |field| KubeError::MissingField {
            cluster: cluster.eks_name.clone(),
            field,
        };
        let described = output.cluster().ok_or_else(|| missing("cluster"))?;
        let endpoint = described
            .endpoint()
            .ok_or_else(|| missing("cluster.endpoint"))?;
        let ca_base64 = described
            .certificate_authority()
            .and_then(|ca| ca.data())
            .ok_or_else(|| missing("cluster.certificateAuthority.data"))?;
        let ca_pem =
            decode_ca_data(ca_base64).map_err(|reason| KubeError::CertificateAuthority {
                cluster: cluster.eks_name.clone(),
                reason,
            })?;
        Ok((endpoint.to_string(), ca_pem))
    }

    async fn token(&self, cluster: &ClusterRef) -> Result<String, KubeError> {
        let credentials_error = |reason: String| KubeError::Credentials {
            cluster: cluster.eks_name.clone(),
            reason,
        };
        if let Some((role, _)) = self.role_credentials(cluster)? {
            let credentials = role
                .get()
                .await
                .map_err(|e| credentials_error(e.to_string()))?;
            return eks_token(
                &cluster.eks_name,
                &cluster.region,
                &credentials,
                UNIX_EPOCH + Duration::from_millis(self.clock.now_millis().max(0) as u64),
            )
            .map_err(|reason| KubeError::Token {
                cluster: cluster.eks_name.clone(),
                reason,
            });
        }
        // The SdkConfig's provider: the EKS client's own accessor is deprecated and returns
        // None (docs/reference/lambda-and-eks.md "EKS token").
        let provider = self
            .sdk_config
            .credentials_provider()
            .ok_or_else(|| credentials_error("no credentials provider configured".into()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| credentials_error(e.to_string()))?;
        eks_token(
            &cluster.eks_name,
            &cluster.region,
            &credentials,
            UNIX_EPOCH + Duration::from_millis(self.clock.now_millis().max(0) as u64),
        )
        .map_err(|reason| KubeError::Token {
            cluster: cluster.eks_name.clone(),
            reason,
        })
    }
}

impl ClusterSources for EksClusterSources {
    fn list_sources<'a>(
        &'a self,
        cluster: &'a ClusterRef,
        kinds: &'a [SourceKind],
    ) -> BoxFuture<'a, Result<Vec<SourceObject>, KubeError>> {
        Box::pin(self.list(cluster, kinds))
    }
}

/// `certificateAuthority.data` is the PEM bundle, base64-encoded once more.
fn decode_ca_data(data: &str) -> Result<String, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| format!("certificateAuthority.data is not base64: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "certificateAuthority.data is not PEM text".to_string())
}

// ---------------------------------------------------------------------------------------------
// The EKS token

/// The token's presigned request lives 60 seconds (`X-Amz-Expires=60`,
/// docs/reference/lambda-and-eks.md "EKS token"); EKS accepts the token for about 15 minutes.
pub const TOKEN_PRESIGN_EXPIRY: Duration = Duration::from_secs(60);

/// The EKS bearer token: `k8s-aws-v1.` + base64url (no padding) of a presigned
/// `GET https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15`, signed
/// with SigV4 in the query (X-Amz-Expires=60) over the headers `host;x-k8s-aws-id`, the latter
/// carrying the cluster name (docs/reference/lambda-and-eks.md "EKS token").
pub fn eks_token(
    cluster_name: &str,
    region: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<String, String> {
    let url = presigned_sts_url(cluster_name, region, credentials, time)?;
    Ok(format!(
        "k8s-aws-v1.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
    ))
}

/// The presigned STS URL inside the token, byte-identical to botocore's for the same credentials and time.
pub fn presigned_sts_url(
    cluster_name: &str,
    region: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<String, String> {
    let base = format!("https://sts.{region}.amazonaws.com/");
    let unsigned = format!("{base}?Action=GetCallerIdentity&Version=2011-06-15");
    let identity: Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_PRESIGN_EXPIRY);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let request = SignableRequest::new(
        "GET",
        unsigned,
        std::iter::once(("x-k8s-aws-id", cluster_name)),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let mut query: Vec<(String, String)> = vec![
        ("Action".into(), "GetCallerIdentity".into()),
        ("Version".into(), "2011-06-15".into()),
    ];
    query.extend(
        instructions
            .params()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    // botocore's order: the request's own query, the authentication parameters in the order
    // they are added (Algorithm, Credential, Date, Expires, SignedHeaders, Security-Token), the
    // signature last. The order does not change the signature; it keeps the token identical.
    query.sort_by_key(|(k, _)| k == "X-Amz-Signature");
    let encoded: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", aws_uri_encode(k), aws_uri_encode(v)))
        .collect();
    Ok(format!("{base}?{}", encoded.join("&")))
}

/// SigV4 URI encoding: every byte but `A–Z a–z 0–9 - _ . ~` as `%XX` (upper-case hex).
fn aws_uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The kube client and the Ingress list

/// DER certificates from a PEM bundle; an error if none parses (docs/reference/lambda-and-eks.md "A
/// kube client without a kubeconfig": fail loudly).
pub fn der_certificates(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut ders = Vec::new();
    for (i, cert) in CertificateDer::pem_slice_iter(pem.as_bytes()).enumerate() {
        let cert = cert.map_err(|e| format!("certificate {i} does not parse: {e}"))?;
        ders.push(cert.as_ref().to_vec());
    }
    if ders.is_empty() {
        return Err("no certificate in the PEM bundle".into());
    }
    Ok(ders)
}

fn kube_client(
    cluster: &ClusterRef,
    endpoint: &str,
    ca_pem: &str,
    token: String,
    read_timeout: Duration,
) -> Result<kube::Client, KubeError> {
    // The bearer token must never travel in clear text.
    if !endpoint.starts_with("https://") {
        return Err(KubeError::Endpoint {
            cluster: cluster.eks_name.clone(),
            endpoint: endpoint.to_string(),
            reason: "must start with https://".into(),
        });
    }
    let uri = parse_display_err(endpoint).map_err(|reason| KubeError::Endpoint {
        cluster: cluster.eks_name.clone(),
        endpoint: endpoint.to_string(),
        reason,
    })?;
    let ders = der_certificates(ca_pem).map_err(|reason| KubeError::CertificateAuthority {
        cluster: cluster.eks_name.clone(),
        reason,
    })?;
    let mut config = kube::Config::new(uri);
    config.root_cert = Some(ders);
    config.auth_info.token = Some(token.into());
    config.read_timeout = Some(read_timeout);
    config.connect_timeout = Some(read_timeout);
    kube::Client::try_from(config).map_err(|e| KubeError::Client {
        cluster: cluster.eks_name.clone(),
        reason: e.to_string(),
    })
}

/// `s.parse()` with the error as text (lets the URI type be inferred from its use).
fn parse_display_err<T>(s: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e: T::Err| e.to_string())
}

/// The error of one list call, naming the kind, with what to check for the answers an operator
/// can fix: 403 (the role may not list the kind — docs/deploy.md lists the permissions) and, for
/// the Gateway API, 404 (the CRDs are not installed).
fn list_error(cluster: &ClusterRef, kind: &str, error: &kube::Error) -> KubeError {
    let hint = match error {
        kube::Error::Api(status) if status.code == 403 => format!(
            " (the role cutover runs as may not list {kind}: grant get and list on them, see \
             docs/deploy.md)"
        ),
        kube::Error::Api(status)
            if status.code == 404 && matches!(kind, "HTTPRoutes" | "Gateways") =>
        {
            format!(" (is the Gateway API, {GATEWAY_GROUP}/v1, installed in the cluster?)")
        }
        _ => String::new(),
    };
    KubeError::List {
        cluster: cluster.eks_name.clone(),
        kind: kind.to_string(),
        message: format!("{error}{hint}"),
    }
}

/// Every object `api` lists across the cluster's namespaces (one list call); a failure names the
/// cluster and the kind (`plural`).
async fn list_items<K>(
    api: kube::Api<K>,
    cluster: &ClusterRef,
    plural: &str,
) -> Result<Vec<K>, KubeError>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let list = api
        .list(&kube::api::ListParams::default())
        .await
        .map_err(|e| list_error(cluster, plural, &e))?;
    Ok(list.items)
}

async fn list_all_ingresses(
    client: kube::Client,
    cluster: &ClusterRef,
) -> Result<Vec<SourceObject>, KubeError> {
    let items = list_items(kube::Api::<Ingress>::all(client), cluster, "Ingresses").await?;
    Ok(items
        .iter()
        .map(|ingress| ingress_info(ingress, &cluster.annotation_prefix))
        .collect())
}

async fn list_all_services(
    client: kube::Client,
    cluster: &ClusterRef,
) -> Result<Vec<SourceObject>, KubeError> {
    let items = list_items(kube::Api::<Service>::all(client), cluster, "Services").await?;
    Ok(items
        .iter()
        .filter_map(|service| service_object(service, &cluster.annotation_prefix))
        .collect())
}

/// `gateway.networking.k8s.io/v1` `kind`, listed as `plural`: the Gateway API types are not in
/// k8s-openapi, so they are read as dynamic objects.
fn gateway_api_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GATEWAY_GROUP, "v1", kind), plural)
}

async fn list_dynamic(
    client: kube::Client,
    cluster: &ClusterRef,
    resource: &ApiResource,
    kind_plural: &str,
) -> Result<Vec<RawObject>, KubeError> {
    let api = kube::Api::<DynamicObject>::all_with(client, resource);
    let items = list_items(api, cluster, kind_plural).await?;
    Ok(items
        .into_iter()
        .map(|object| RawObject {
            namespace: object.metadata.namespace.clone().unwrap_or_default(),
            name: object.metadata.name.clone().unwrap_or_default(),
            annotations: object.metadata.annotations.clone().unwrap_or_default(),
            data: object.data,
        })
        .collect())
}

/// The HTTPRoutes and the Gateways they attach to (two list calls), resolved as external-dns's
/// `gateway-httproute` source does.
async fn list_all_http_routes(
    client: kube::Client,
    cluster: &ClusterRef,
) -> Result<Vec<SourceObject>, KubeError> {
    let routes = list_dynamic(
        client.clone(),
        cluster,
        &gateway_api_resource(gateway::HTTP_ROUTE_KIND, "httproutes"),
        "HTTPRoutes",
    )
    .await?;
    let gateways = list_dynamic(
        client,
        cluster,
        &gateway_api_resource(gateway::GATEWAY_KIND, "gateways"),
        "Gateways",
    )
    .await?;
    gateway::http_route_objects(
        &routes,
        &gateways,
        &cluster.annotation_prefix,
        cluster.external_dns_version,
    )
    .map_err(|message| KubeError::Object {
        cluster: cluster.eks_name.clone(),
        message,
    })
}

/// What cutover needs of one Service, as external-dns's `service` source reads it
/// (docs/reference/external-dns.md §6 "Service (type LoadBalancer)"); `None` unless it is of type
/// LoadBalancer. Hosts come from the `<prefix>hostname` annotation only (comma-separated, spaces
/// removed, a trailing dot dropped; names that are not valid DNS names are dropped); targets from
/// the `<prefix>target` annotation, else `spec.externalIPs`, else each
/// `status.loadBalancer.ingress[]` IP and host name. Other Service types, and the
/// `internal-hostname` annotation (which publishes the cluster IP), are not read.
pub fn service_object(service: &Service, annotation_prefix: &str) -> Option<SourceObject> {
    let spec = service.spec.as_ref()?;
    if spec.type_.as_deref() != Some("LoadBalancer") {
        return None;
    }
    let meta = &service.metadata;
    let annotations: BTreeMap<String, String> = meta.annotations.clone().unwrap_or_default();
    let mut hosts: Vec<DnsName> = Vec::new();
    for host in gateway::split_annotation(annotations.get(&format!("{annotation_prefix}hostname")))
    {
        if let Ok(name) = DnsName::parse(host.trim_end_matches('.')) {
            if !hosts.contains(&name) {
                hosts.push(name);
            }
        }
    }
    let annotated =
        gateway::targets_from_annotation(annotations.get(&format!("{annotation_prefix}target")));
    let external_ips = spec.external_ips.clone().unwrap_or_default();
    let load_balancer_hostnames = if !annotated.is_empty() {
        annotated
    } else if !external_ips.is_empty() {
        external_ips
    } else {
        service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .into_iter()
            .flatten()
            .flat_map(|i| {
                i.ip.iter()
                    .chain(i.hostname.iter())
                    .filter(|t| !t.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    Some(SourceObject {
        kind: SourceKind::Service,
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        hosts,
        annotations,
        load_balancer_hostnames,
    })
}

/// What cutover needs of one Ingress. Hosts come from `spec.rules[].host`, `spec.tls[].hosts`
/// and the `<prefix>hostname` annotation (comma-separated), as external-dns reads them
/// (docs/reference/external-dns.md); hosts that are not valid DNS names are dropped. Targets: the
/// `<prefix>target` annotation when set, else the load-balancer status.
pub fn ingress_info(ingress: &Ingress, annotation_prefix: &str) -> SourceObject {
    let meta = &ingress.metadata;
    let annotations: BTreeMap<String, String> = meta.annotations.clone().unwrap_or_default();
    let spec = ingress.spec.as_ref();
    let rule_hosts = spec
        .and_then(|s| s.rules.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|r| r.host.clone());
    let tls_hosts = spec
        .and_then(|s| s.tls.as_ref())
        .into_iter()
        .flatten()
        .flat_map(|t| t.hosts.clone().unwrap_or_default());
    let annotated = annotations
        .get(&format!("{annotation_prefix}hostname"))
        .map(|v| {
            v.split(',')
                .map(|h| h.trim().to_string())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let mut hosts: Vec<DnsName> = Vec::new();
    for host in rule_hosts.chain(tls_hosts).chain(annotated) {
        if let Ok(name) = DnsName::parse(host.trim()) {
            if !hosts.contains(&name) {
                hosts.push(name);
            }
        }
    }
    // external-dns publishes the `target` annotation's targets instead of the load-balancer
    // status when it is set (docs/reference/external-dns.md §2), so cutover probes
    // and points records at what the cluster's external-dns will write once it owns the key.
    let annotated =
        gateway::targets_from_annotation(annotations.get(&format!("{annotation_prefix}target")));
    let load_balancer_hostnames = if annotated.is_empty() {
        ingress
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|i| i.hostname.clone().or_else(|| i.ip.clone()))
            .collect()
    } else {
        annotated
    };
    SourceObject {
        kind: SourceKind::Ingress,
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        hosts,
        annotations,
        load_balancer_hostnames,
    }
}
