//! Each cluster's Kubernetes API: HTTPS on loopback under the sandbox CA, read-only, serving the
//! source objects of the cluster's store — `networking.k8s.io/v1` Ingresses, `v1` Services,
//! `gateway.networking.k8s.io/v1` Gateways and HTTPRoutes — authenticated the EKS way (a
//! `k8s-aws-v1.` bearer token checked by [`crate::token::verify`]).
//!
//! Served: discovery (`/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>`,
//! `/apis/<group>/v1`), for each kind a list across namespaces, a list per namespace and a get of
//! one (as JSON, or as a `Table` when the client asks for one, as `kubectl get` does), and the
//! namespaces (the system ones and those holding objects), which kubectl reads to explain a
//! missing object.
//! Errors are `Status` objects: 401 for a missing or bad token, 403 for any write verb, 404 for a
//! missing object or path. `labelSelector`, `fieldSelector`, `limit` and `watch` are ignored.

mod discovery;
mod objects;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::clock::SimClock;
use crate::cluster::Cluster;
use crate::eks::KUBERNETES_VERSION;
use crate::pki::{Pki, PkiError};
use crate::token::{self, TokenError};
use objects::{kind_at, status, ApiKind, ObjectTable};

/// The user EKS maps the sandbox credentials to (named in 403 answers).
pub const SANDBOX_USER: &str = "arn:aws:iam::123456789012:user/sandbox";

/// Why a Kubernetes API server could not start.
#[derive(Debug, thiserror::Error)]
pub enum KubeApiError {
    #[error("binding the Kubernetes API listener on 127.0.0.1: {0}")]
    Bind(#[from] std::io::Error),
    #[error("TLS for the Kubernetes API: {0}")]
    Tls(#[from] PkiError),
}

/// A running Kubernetes API server for one cluster. Stops when dropped.
#[derive(Debug)]
pub struct KubeApiServer {
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl KubeApiServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT`: the cluster endpoint EKS DescribeCluster reports.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for KubeApiServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts `cluster`'s API server on `127.0.0.1:0` with the PKI's leaf certificate; tokens are
/// checked against the simulated clock.
pub async fn serve_kube_api(
    cluster: Cluster,
    pki: &Pki,
    clock: SimClock,
) -> Result<KubeApiServer, KubeApiError> {
    serve_kube_api_in(cluster, pki, clock, None).await
}

/// [`serve_kube_api`] for a cluster in an account: `access` is the identities and the cluster's
/// account; a token is accepted only from an identity of that account.
pub async fn serve_kube_api_in(
    cluster: Cluster,
    pki: &Pki,
    clock: SimClock,
    access: Option<(crate::iam::Iam, String)>,
) -> Result<KubeApiServer, KubeApiError> {
    let config = pki.server_config()?;
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (tls_listener, accept_task) = tls::TlsListener::start(listener, config)?;
    let app = router_in(
        cluster,
        clock,
        &format!("127.0.0.1:{}", addr.port()),
        access,
    );
    let serve_task = tokio::spawn(async move {
        // Serving only ends when the task is aborted; an I/O error on one connection does not
        // end it.
        let _ = axum::serve(tls_listener, app).await;
    });
    Ok(KubeApiServer {
        addr,
        tasks: vec![accept_task, serve_task],
    })
}

/// The API as an axum router (TLS is added by [`serve_kube_api`]). `server_address` is what
/// `/api` reports as the address to reach it.
pub fn router(cluster: Cluster, clock: SimClock, server_address: &str) -> Router {
    router_in(cluster, clock, server_address, None)
}

fn router_in(
    cluster: Cluster,
    clock: SimClock,
    server_address: &str,
    access: Option<(crate::iam::Iam, String)>,
) -> Router {
    let state = Arc::new(ApiState {
        cluster,
        access,
        started: clock.now(),
        clock,
        objects: ObjectTable::default(),
        server_address: server_address.to_string(),
    });
    Router::new().fallback(handle).with_state(state)
}

/// A kubeconfig (JSON, which kubectl reads as YAML) for `cluster_name` at `server_url`, trusting
/// `ca_pem`, with an EKS token made at `now` from the sandbox credentials. Like `aws eks
/// update-kubeconfig` but with the token inline: it is accepted for 15 minutes from `now`.
pub fn kubeconfig(
    cluster_name: &str,
    region: &str,
    server_url: &str,
    ca_pem: &str,
    now: SystemTime,
) -> Result<String, TokenError> {
    let token = token::make(
        crate::ACCESS_KEY_ID,
        crate::SECRET_ACCESS_KEY,
        region,
        cluster_name,
        now,
    )?;
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": cluster_name,
            "cluster": {
                "server": server_url,
                "certificate-authority-data": STANDARD.encode(ca_pem),
            },
        }],
        "users": [{ "name": cluster_name, "user": { "token": token } }],
        "contexts": [{
            "name": cluster_name,
            "context": { "cluster": cluster_name, "user": cluster_name },
        }],
        "current-context": cluster_name,
        "preferences": {},
    });
    Ok(serde_json::to_string_pretty(&config).unwrap_or_default())
}

struct ApiState {
    cluster: Cluster,
    clock: SimClock,
    objects: ObjectTable,
    /// When the cluster's namespaces were made (the server's start, simulated time).
    started: SystemTime,
    /// Identities and the cluster's account, when tokens of several accounts are checked.
    access: Option<(crate::iam::Iam, String)>,
    server_address: String,
}

/// One request: authenticate, refuse writes, then route by path.
async fn handle(
    State(state): State<Arc<ApiState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    // `/version` is public on EKS (system:public-info-viewer); everything else needs a token.
    if segments != ["version"] {
        if let Err(reason) = authenticate(&state, &headers) {
            tracing::debug!(cluster = %state.cluster.name, %reason, "kube API: 401");
            return unauthorized();
        }
    }
    if method != Method::GET && method != Method::HEAD {
        return refuse_method(&method, &segments);
    }
    let wants_table = accepts_table(&headers);
    route(&state, &segments, wants_table)
}

fn authenticate(state: &ApiState, headers: &HeaderMap) -> Result<(), String> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or("no Authorization header")?
        .to_str()
        .map_err(|_| "Authorization header is not text")?;
    let bearer = value
        .strip_prefix("Bearer ")
        .ok_or("Authorization is not a Bearer token")?;
    // A client may sign its token on the sandbox's simulated clock (cutover following it) or on
    // the real one (kubectl, cutover without the rehearsal clock): the token's age is judged on
    // either, so moving the simulated clock never locks a client out. The signature is checked
    // the same way whichever clock passes.
    let token = bearer.trim();
    let Some((iam, account)) = &state.access else {
        return match token::verify(token, &state.cluster.name, state.clock.now()) {
            Err(
                e @ (token::TokenError::Expired { .. } | token::TokenError::InTheFuture { .. }),
            ) => token::verify(token, &state.cluster.name, std::time::SystemTime::now())
                .map_err(|_| e.to_string()),
            other => other.map_err(|e| e.to_string()),
        };
    };
    // Identities: any account's key or a role's temporary key signs the token; only an identity
    // of the cluster's own account is let in (access entries map that account's principals).
    let keys = |key: &str| iam.secret_of(key);
    let access_key = match token::verify_with(token, &state.cluster.name, state.clock.now(), &keys)
    {
        Err(e @ (token::TokenError::Expired { .. } | token::TokenError::InTheFuture { .. })) => {
            token::verify_with(
                token,
                &state.cluster.name,
                std::time::SystemTime::now(),
                &keys,
            )
            .map_err(|_| e.to_string())
        }
        other => other.map_err(|e| e.to_string()),
    }?;
    let session = iam.secret_of(&access_key).and_then(|(_, token)| token);
    match iam.account_of_key(&access_key, session.as_deref()) {
        Some(a) if a == *account => Ok(()),
        Some(a) => Err(format!(
            "access key of account {a} has no access entry in cluster {} (account {account})",
            state.cluster.name
        )),
        None => Err(format!("access key {access_key} is unknown or expired")),
    }
}

/// `kubectl get` asks for server-side printing: `Accept: application/json;as=Table;...`.
fn accepts_table(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("as=Table"))
}

fn route(state: &ApiState, segments: &[&str], wants_table: bool) -> Response {
    let now = state.clock.now();
    let served = discovery::served_groups(state.cluster.gateway_api);
    match segments {
        ["version"] => ok(discovery::version(KUBERNETES_VERSION)),
        ["api"] => ok(discovery::core_versions(&state.server_address)),
        ["api", "v1"] => ok(discovery::core_resources()),
        ["api", "v1", "namespaces"] => {
            let snapshot = state.objects.snapshot(&state.cluster, now);
            if wants_table {
                ok(snapshot.namespace_table(None, state.started, now))
            } else {
                ok(snapshot.namespace_list(state.started))
            }
        }
        ["api", "v1", "namespaces", name] => get_namespace(state, name, wants_table, now),
        ["apis"] => ok(discovery::groups(state.cluster.gateway_api)),
        ["apis", group] if served.contains(group) => ok(discovery::group(group)),
        ["apis", group, "v1"] if served.contains(group) => ok(discovery::group_resources(group)),
        ["apis", group, ..] if !served.contains(group) => not_found_path(),
        ["api", "v1", plural] | ["apis", _, "v1", plural] => match kind_of(segments, plural) {
            Some(kind) => list(state, kind, None, wants_table, now),
            None => not_found_path(),
        },
        ["api", "v1", "namespaces", namespace, plural]
        | ["apis", _, "v1", "namespaces", namespace, plural] => match kind_of(segments, plural) {
            Some(kind) => list(state, kind, Some(namespace), wants_table, now),
            None => not_found_path(),
        },
        ["api", "v1", "namespaces", namespace, plural, name]
        | ["apis", _, "v1", "namespaces", namespace, plural, name] => {
            match kind_of(segments, plural) {
                Some(kind) => get_one(state, kind, namespace, name, wants_table, now),
                None => not_found_path(),
            }
        }
        _ => not_found_path(),
    }
}

/// The kind a path names: `/api/v1/…/<plural>` in the core group, `/apis/<group>/v1/…/<plural>`
/// in another.
fn kind_of(segments: &[&str], plural: &str) -> Option<&'static ApiKind> {
    match segments {
        ["api", ..] => kind_at("", plural),
        ["apis", group, ..] => kind_at(group, plural),
        _ => None,
    }
}

fn list(
    state: &ApiState,
    kind: &ApiKind,
    namespace: Option<&str>,
    wants_table: bool,
    now: SystemTime,
) -> Response {
    let snapshot = state.objects.snapshot(&state.cluster, now);
    if wants_table {
        ok(snapshot.table(kind, namespace, None, now))
    } else {
        ok(snapshot.list(kind, namespace))
    }
}

fn get_one(
    state: &ApiState,
    kind: &ApiKind,
    namespace: &str,
    name: &str,
    wants_table: bool,
    now: SystemTime,
) -> Response {
    let snapshot = state.objects.snapshot(&state.cluster, now);
    match snapshot.get(kind, namespace, name) {
        None => not_found_object(kind, name),
        Some(_) if wants_table => ok(snapshot.table(kind, Some(namespace), Some(name), now)),
        Some(object) => ok(object),
    }
}

fn get_namespace(state: &ApiState, name: &str, wants_table: bool, now: SystemTime) -> Response {
    let snapshot = state.objects.snapshot(&state.cluster, now);
    match snapshot.namespace(name, state.started) {
        None => json_response(
            StatusCode::NOT_FOUND,
            status(
                404,
                "NotFound",
                &format!("namespaces \"{name}\" not found"),
                Some(json!({ "name": name, "kind": "namespaces" })),
            ),
        ),
        Some(_) if wants_table => ok(snapshot.namespace_table(Some(name), state.started, now)),
        Some(namespace) => ok(namespace),
    }
}

fn json_response(code: StatusCode, body: Value) -> Response {
    let mut response = (code, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, body)
}

fn unauthorized() -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        status(401, "Unauthorized", "Unauthorized", None),
    )
}

fn not_found_path() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        status(
            404,
            "NotFound",
            "the server could not find the requested resource",
            Some(json!({})),
        ),
    )
}

fn not_found_object(kind: &ApiKind, name: &str) -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        status(
            404,
            "NotFound",
            &format!("{} \"{name}\" not found", kind.qualified()),
            Some(json!({ "name": name, "group": kind.group, "kind": kind.plural })),
        ),
    )
}

/// Read-only: the sandbox identity has a view policy, so every write is forbidden (403), named
/// as the API server's RBAC authorizer names it.
fn refuse_method(method: &Method, segments: &[&str]) -> Response {
    let verb = match *method {
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => {
            let (resource, group) = resource_of(segments);
            if segments.last() == Some(&resource) && kind_at(group, resource).is_some() {
                "deletecollection"
            } else {
                "delete"
            }
        }
        _ => {
            return json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                status(
                    405,
                    "MethodNotAllowed",
                    &format!(
                        "the server does not allow this method on the requested resource: {method}"
                    ),
                    Some(json!({})),
                ),
            )
        }
    };
    let (resource, group) = resource_of(segments);
    let namespace = namespace_of(segments);
    let qualified = if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    };
    let scope = match namespace {
        Some(ns) => format!(" in the namespace \"{ns}\""),
        None => " at the cluster scope".to_string(),
    };
    let message = format!(
        "{qualified} is forbidden: User \"{SANDBOX_USER}\" cannot {verb} resource \"{resource}\" in API group \"{group}\"{scope}"
    );
    json_response(
        StatusCode::FORBIDDEN,
        status(
            403,
            "Forbidden",
            &message,
            Some(json!({ "group": group, "kind": resource })),
        ),
    )
}

/// The resource and API group a path names (`/apis/G/V/[namespaces/NS/]R[/NAME]`,
/// `/api/v1/[namespaces/NS/]R[/NAME]`).
fn resource_of<'a>(segments: &[&'a str]) -> (&'a str, &'a str) {
    let (group, rest) = match segments {
        ["apis", group, _version, rest @ ..] => (*group, rest),
        ["api", _version, rest @ ..] => ("", rest),
        _ => return ("", ""),
    };
    let resource = match rest {
        ["namespaces", _ns, resource, ..] => resource,
        [resource, ..] => resource,
        [] => "",
    };
    (resource, group)
}

fn namespace_of<'a>(segments: &[&'a str]) -> Option<&'a str> {
    segments
        .windows(3)
        .find(|w| w.first() == Some(&"namespaces"))
        .and_then(|w| w.get(1).copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::objects::GROUP;

    #[test]
    fn write_paths_name_resource_group_and_namespace() {
        let path = [
            "apis",
            GROUP,
            "v1",
            "namespaces",
            "payments",
            "ingresses",
            "app",
        ];
        assert_eq!(resource_of(&path), ("ingresses", GROUP));
        assert_eq!(namespace_of(&path), Some("payments"));
        let all = ["apis", GROUP, "v1", "ingresses"];
        assert_eq!(resource_of(&all), ("ingresses", GROUP));
        assert_eq!(namespace_of(&all), None);
        assert_eq!(resource_of(&["api", "v1", "pods"]), ("pods", ""));
    }

    #[test]
    fn kubeconfig_names_server_ca_and_a_valid_token() {
        let now = SystemTime::now();
        let text =
            kubeconfig("blue", "eu-west-1", "https://127.0.0.1:1", "PEM", now).expect("kubeconfig");
        let config: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(config["current-context"], "blue");
        assert_eq!(
            config["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:1"
        );
        assert_eq!(
            config["clusters"][0]["cluster"]["certificate-authority-data"],
            STANDARD.encode("PEM")
        );
        let token = config["users"][0]["user"]["token"].as_str().expect("token");
        assert_eq!(token::verify(token, "blue", now), Ok(()));
        assert_eq!(
            token::verify(token, "green", now),
            Err(TokenError::SignatureMismatch)
        );
    }
}
