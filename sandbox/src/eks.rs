//! EKS `DescribeCluster` (and `ListClusters`) in the REST-JSON wire form, so the official
//! `aws-sdk-eks` pointed at this router with an endpoint URL works unchanged.
//!
//! `GET /clusters/{name}` → `{"cluster": {...}}` with the cluster's HTTPS API endpoint and its CA
//! (base64 of the PEM in `certificateAuthority.data`). Errors as AWS REST-JSON sends them: the
//! status, an `x-amzn-errortype` header naming the error, and a JSON body with `message`.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::sigv4::SignedRequest;

/// The account the sandbox's ARNs name.
pub const ACCOUNT_ID: &str = "123456789012";
/// The Kubernetes version sandbox clusters report.
pub const KUBERNETES_VERSION: &str = "1.31";

/// One cluster as EKS describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksCluster {
    pub name: String,
    pub region: String,
    /// The cluster's Kubernetes API URL (`https://127.0.0.1:port` in the sandbox).
    pub endpoint: String,
    /// The cluster CA certificate in PEM.
    pub ca_pem: String,
    pub version: String,
    pub created_at: SystemTime,
    /// The account the cluster lives in: only its credentials may describe it (when the EKS
    /// state checks identities, [`EksState::with_iam`]).
    pub account: String,
}

impl EksCluster {
    pub fn new(name: &str, region: &str, endpoint: &str, ca_pem: &str) -> Self {
        EksCluster {
            name: name.to_string(),
            region: region.to_string(),
            endpoint: endpoint.to_string(),
            ca_pem: ca_pem.to_string(),
            version: KUBERNETES_VERSION.to_string(),
            created_at: SystemTime::now(),
            account: crate::iam::DEFAULT_ACCOUNT.to_string(),
        }
    }

    /// The cluster in `account`.
    pub fn in_account(mut self, account: &str) -> Self {
        self.account = account.to_string();
        self
    }

    pub fn arn(&self) -> String {
        format!(
            "arn:aws:eks:{}:{ACCOUNT_ID}:cluster/{}",
            self.region, self.name
        )
    }
}

/// The clusters EKS knows, by name. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct EksState {
    clusters: Arc<RwLock<BTreeMap<String, EksCluster>>>,
    /// Identities: when set, any key of an account (or a role's temporary key) is accepted, and a
    /// cluster may be described only with credentials of its own account.
    iam: Option<crate::iam::Iam>,
}

impl EksState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks callers against `iam`'s accounts instead of the sandbox's one key.
    pub fn with_iam(mut self, iam: crate::iam::Iam) -> Self {
        self.iam = Some(iam);
        self
    }

    /// Adds or replaces a cluster (by name).
    pub fn insert(&self, cluster: EksCluster) {
        self.write().insert(cluster.name.clone(), cluster);
    }

    /// Removes a cluster; returns whether it existed.
    pub fn remove(&self, name: &str) -> bool {
        self.write().remove(name).is_some()
    }

    pub fn get(&self, name: &str) -> Option<EksCluster> {
        self.read().get(name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, EksCluster>> {
        self.clusters.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, EksCluster>> {
        self.clusters.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The EKS API: `GET /clusters` and `GET /clusters/{name}`.
pub fn router(state: EksState) -> Router {
    Router::new()
        .route("/clusters", get(list_clusters))
        .route("/clusters/{name}", get(describe_cluster))
        .fallback(unknown_operation)
        .with_state(state)
}

/// An EKS error in the REST-JSON wire form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EksError {
    /// No cluster of that name (EKS: 404 `ResourceNotFoundException`, "No cluster found for
    /// name: NAME.", with `clusterName`).
    #[error("No cluster found for name: {0}.")]
    ClusterNotFound(String),
    /// No `Authorization` header (AWS: 403 `MissingAuthenticationTokenException`).
    #[error("Missing Authentication Token")]
    MissingAuthentication,
    /// Signed with an access key the sandbox does not know (AWS: 403
    /// `UnrecognizedClientException`).
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    /// A signature that does not verify, a scope of another service, a stale `X-Amz-Date` (AWS:
    /// 403 `InvalidSignatureException`).
    #[error("{0}")]
    InvalidSignature(String),
    /// A malformed `Authorization` header or no `X-Amz-Date` (AWS: 400
    /// `IncompleteSignatureException`).
    #[error("{0}")]
    IncompleteSignature(String),
    /// Credentials of another account than the cluster's (AWS: 403 `AccessDeniedException`).
    #[error("{0}")]
    AccessDenied(String),
    /// A path or method EKS does not serve here.
    #[error("no EKS operation for {0}")]
    UnknownOperation(String),
}

impl EksError {
    fn status(&self) -> StatusCode {
        match self {
            EksError::ClusterNotFound(_) | EksError::UnknownOperation(_) => StatusCode::NOT_FOUND,
            EksError::IncompleteSignature(_) => StatusCode::BAD_REQUEST,
            EksError::MissingAuthentication
            | EksError::UnrecognizedClient
            | EksError::InvalidSignature(_)
            | EksError::AccessDenied(_) => StatusCode::FORBIDDEN,
        }
    }

    fn error_type(&self) -> &'static str {
        match self {
            EksError::ClusterNotFound(_) => "ResourceNotFoundException",
            EksError::MissingAuthentication => "MissingAuthenticationTokenException",
            EksError::UnrecognizedClient => "UnrecognizedClientException",
            EksError::InvalidSignature(_) => "InvalidSignatureException",
            EksError::IncompleteSignature(_) => "IncompleteSignatureException",
            EksError::AccessDenied(_) => "AccessDeniedException",
            EksError::UnknownOperation(_) => "UnknownOperationException",
        }
    }

    fn body(&self) -> Value {
        let mut body = json!({ "message": self.to_string() });
        if let EksError::ClusterNotFound(name) = self {
            body["clusterName"] = json!(name);
        }
        body
    }
}

impl IntoResponse for EksError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        // REST-JSON: the error code travels in `x-amzn-errortype` (the SDK reads it first).
        response.headers_mut().insert(
            "x-amzn-errortype",
            HeaderValue::from_static(self.error_type()),
        );
        response
    }
}

async fn describe_cluster(
    State(state): State<EksState>,
    Path(name): Path<String>,
    request: SignedRequest,
) -> Result<Json<Value>, EksError> {
    let caller = check_credentials(&state, &request)?;
    let cluster = state
        .get(&name)
        .ok_or_else(|| EksError::ClusterNotFound(name.clone()))?;
    if let Some(caller) = caller {
        if caller.account != cluster.account {
            return Err(EksError::AccessDenied(format!(
                "User: {} is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:{}:{}:cluster/{}",
                caller.principal, cluster.region, cluster.account, cluster.name
            )));
        }
    }
    Ok(Json(json!({ "cluster": describe(&cluster) })))
}

async fn list_clusters(
    State(state): State<EksState>,
    request: SignedRequest,
) -> Result<Json<Value>, EksError> {
    check_credentials(&state, &request)?;
    Ok(Json(json!({ "clusters": state.names() })))
}

async fn unknown_operation(method: axum::http::Method, uri: axum::http::Uri) -> EksError {
    EksError::UnknownOperation(format!("{method} {}", uri.path()))
}

/// The request must be SigV4-signed with a known key, the signature recomputed with its secret
/// ([`crate::iam::Iam::caller`]): any account's key (or a role's temporary key with its session
/// token) when the state checks identities, else only the sandbox's own key.
fn check_credentials(
    state: &EksState,
    request: &SignedRequest,
) -> Result<Option<crate::iam::Caller>, EksError> {
    let caller = match &state.iam {
        Some(iam) => iam.caller(request, "eks").map(Some),
        None => crate::iam::Iam::new().caller(request, "eks").map(|_| None),
    };
    caller.map_err(|e| match e.code.as_str() {
        "MissingAuthenticationToken" => EksError::MissingAuthentication,
        "SignatureDoesNotMatch" => EksError::InvalidSignature(e.message),
        "IncompleteSignature" => EksError::IncompleteSignature(e.message),
        _ => EksError::UnrecognizedClient,
    })
}

/// The `cluster` object of a DescribeCluster answer.
fn describe(cluster: &EksCluster) -> Value {
    let created_at = cluster
        .created_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    json!({
        "name": cluster.name,
        "arn": cluster.arn(),
        "createdAt": created_at,
        "version": cluster.version,
        "endpoint": cluster.endpoint,
        "roleArn": format!("arn:aws:iam::{ACCOUNT_ID}:role/eks-cluster-{}", cluster.name),
        "resourcesVpcConfig": {
            "subnetIds": [],
            "securityGroupIds": [],
            "vpcId": "vpc-0sandbox",
            "endpointPublicAccess": true,
            "endpointPrivateAccess": true,
            "publicAccessCidrs": ["0.0.0.0/0"]
        },
        "kubernetesNetworkConfig": {
            "serviceIpv4Cidr": "10.100.0.0/16",
            "ipFamily": "ipv4"
        },
        "identity": {
            "oidc": {
                "issuer": format!(
                    "https://oidc.eks.{}.amazonaws.com/id/SANDBOX{}",
                    cluster.region,
                    cluster.name.to_ascii_uppercase()
                )
            }
        },
        "status": "ACTIVE",
        "certificateAuthority": { "data": STANDARD.encode(&cluster.ca_pem) },
        "platformVersion": "eks.1",
        "tags": {},
        "accessConfig": { "authenticationMode": "API" }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_carries_endpoint_and_base64_ca() {
        let cluster = EksCluster::new("blue", "eu-west-1", "https://127.0.0.1:1", "PEM");
        let value = describe(&cluster);
        assert_eq!(value["status"], "ACTIVE");
        assert_eq!(value["endpoint"], "https://127.0.0.1:1");
        assert_eq!(
            value["certificateAuthority"]["data"],
            STANDARD.encode("PEM")
        );
        assert_eq!(
            value["arn"],
            "arn:aws:eks:eu-west-1:123456789012:cluster/blue"
        );
    }

    fn signed(key: &str, secret: &str) -> SignedRequest {
        let url = "http://127.0.0.1:1/clusters/blue";
        let signing = crate::sigv4::SigningKey {
            access_key_id: key,
            secret,
            session_token: None,
            region: "eu-west-1",
            service: "eks",
        };
        let headers = crate::sigv4::sign(
            &signing,
            &axum::http::Method::GET,
            url,
            &axum::http::HeaderMap::new(),
            b"",
            SystemTime::now(),
        )
        .expect("sign");
        SignedRequest::new(
            axum::http::Method::GET,
            "/clusters/blue".parse().expect("uri"),
            headers,
            "",
        )
    }

    #[test]
    fn credentials_are_checked_by_access_key_and_signature() {
        let state = EksState::new();
        let unsigned = SignedRequest::new(
            axum::http::Method::GET,
            "/clusters/blue".parse().expect("uri"),
            axum::http::HeaderMap::new(),
            "",
        );
        assert_eq!(
            check_credentials(&state, &unsigned),
            Err(EksError::MissingAuthentication)
        );
        assert_eq!(
            check_credentials(&state, &signed("AKIAOTHER", crate::SECRET_ACCESS_KEY)),
            Err(EksError::UnrecognizedClient)
        );
        assert!(matches!(
            check_credentials(&state, &signed(crate::ACCESS_KEY_ID, "not/the/secret")),
            Err(EksError::InvalidSignature(_))
        ));
        let mut undated = signed(crate::ACCESS_KEY_ID, crate::SECRET_ACCESS_KEY);
        undated.headers.remove("x-amz-date");
        let refused = check_credentials(&state, &undated).unwrap_err();
        assert!(
            matches!(refused, EksError::IncompleteSignature(_)),
            "{refused:?}"
        );
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            check_credentials(
                &state,
                &signed(crate::ACCESS_KEY_ID, crate::SECRET_ACCESS_KEY)
            ),
            Ok(None)
        );
    }
}
