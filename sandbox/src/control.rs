//! The control API (HTTP JSON): how tests, the demo and operators change the sandbox's world —
//! Ingresses, Services, Gateways and HTTPRoutes, load-balancer behaviour, Route53 faults, the
//! simulated clock, external-dns runs — and look inside it (zones, logs, request counts).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::SimClock;
use crate::cluster::{Gateway, HttpRoute, Ingress, Listener, RouteParent, Service, LOAD_BALANCER};
use crate::lb::Behaviour;
use crate::route53::Route53;
use crate::{Endpoints, SandboxCluster};

/// What the control API works on (shared with the [`crate::Sandbox`]).
#[derive(Clone)]
pub struct Handles {
    pub clock: SimClock,
    pub route53: Route53,
    pub clusters: Arc<BTreeMap<String, SandboxCluster>>,
    pub ca_pem: String,
    pub endpoints: Endpoints,
    pub cloudwatch: crate::cloudwatch::CloudWatch,
    pub sns: crate::sns::Sns,
    pub traffic: crate::traffic::Traffic,
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::NotFound(_) => StatusCode::NOT_FOUND,
            ControlError::BadRequest(_) => StatusCode::BAD_REQUEST,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

type Result<T> = std::result::Result<T, ControlError>;

pub fn router(handles: Handles) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/endpoints", get(endpoints))
        .route("/cutover-config", get(cutover_config))
        .route("/clock", get(clock_now))
        .route("/clock/advance", post(advance_clock))
        .route("/zones", get(zones))
        .route("/zones/{zone}", get(zone_records))
        .route("/requests", get(requests))
        .route("/route53/faults", post(set_faults))
        .route("/route53/rate-limit", post(set_rate_limit))
        .route("/route53/history", get(history))
        .route("/external-dns/reconcile", post(reconcile_all))
        .route("/clusters/{cluster}/ingresses", get(list_ingresses))
        .route(
            "/clusters/{cluster}/ingresses/{namespace}/{name}",
            put(upsert_ingress).delete(remove_ingress).get(get_ingress),
        )
        .route("/clusters/{cluster}/services", get(list_services))
        .route(
            "/clusters/{cluster}/services/{namespace}/{name}",
            put(upsert_service).delete(remove_service).get(get_service),
        )
        .route("/clusters/{cluster}/gateways", get(list_gateways))
        .route(
            "/clusters/{cluster}/gateways/{namespace}/{name}",
            put(upsert_gateway).delete(remove_gateway).get(get_gateway),
        )
        .route("/clusters/{cluster}/httproutes", get(list_http_routes))
        .route(
            "/clusters/{cluster}/httproutes/{namespace}/{name}",
            put(upsert_http_route)
                .delete(remove_http_route)
                .get(get_http_route),
        )
        .route(
            "/clusters/{cluster}/external-dns/reconcile",
            post(reconcile),
        )
        .route(
            "/clusters/{cluster}/external-dns/log",
            get(external_dns_log),
        )
        .route(
            "/clusters/{cluster}/external-dns/requests",
            get(external_dns_requests),
        )
        .route("/clusters/{cluster}/kubeconfig", get(kubeconfig))
        .route(
            "/load-balancers/{lb}/hosts/{host}",
            put(set_behaviour).get(host_counts),
        )
        .route("/load-balancers/{lb}/listener", put(set_listener))
        .route(
            "/load-balancers/{lb}/hosts/{host}/path-behaviour",
            put(set_path_behaviour),
        )
        .route("/traffic", get(traffic_truth))
        .route("/traffic/run", post(traffic_run))
        .route("/cloudwatch/metrics", get(cloudwatch_metrics))
        .route("/cloudwatch/requests", get(cloudwatch_requests))
        .route("/cloudwatch/faults", post(cloudwatch_faults))
        .route("/sns/messages", get(sns_messages))
        .route("/sns/faults", post(sns_faults))
        .with_state(handles)
}

fn cluster<'a>(handles: &'a Handles, name: &str) -> Result<&'a SandboxCluster> {
    handles
        .clusters
        .get(name)
        .ok_or_else(|| ControlError::NotFound(format!("cluster: no cluster named `{name}`")))
}

async fn endpoints(State(handles): State<Handles>) -> Json<Endpoints> {
    Json(handles.endpoints.clone())
}

fn clock_json(clock: &SimClock) -> Value {
    json!({
        "now_millis": clock.now_millis(),
        "offset_millis": u64::try_from(clock.offset().as_millis()).unwrap_or(u64::MAX),
    })
}

/// A complete cutover.toml for this sandbox (`crate::cutover_config`).
async fn cutover_config(State(handles): State<Handles>) -> String {
    crate::cutover_config::render(&handles, &crate::cutover_config::ConfigOptions::default())
}

async fn clock_now(State(handles): State<Handles>) -> Json<Value> {
    Json(clock_json(&handles.clock))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    seconds: f64,
}

async fn advance_clock(
    State(handles): State<Handles>,
    Json(body): Json<AdvanceBody>,
) -> Result<Json<Value>> {
    let by = Duration::try_from_secs_f64(body.seconds).map_err(|_| {
        ControlError::BadRequest("seconds: must be a non-negative number".to_string())
    })?;
    handles.clock.advance(by);
    Ok(Json(clock_json(&handles.clock)))
}

async fn zones(State(handles): State<Handles>) -> Json<Value> {
    Json(json!(handles.route53.zones()))
}

/// A zone by id (with or without `/hostedzone/`) or by name: its records in listing order.
async fn zone_records(
    State(handles): State<Handles>,
    Path(zone): Path<String>,
) -> Result<Json<Value>> {
    let wanted = zone.trim_start_matches("/hostedzone/");
    let wanted_name = wanted.trim_end_matches('.').to_ascii_lowercase();
    let found = handles.route53.zones().into_iter().find(|z| {
        z.id == wanted
            || z.name
                .trim_end_matches('.')
                .eq_ignore_ascii_case(&wanted_name)
    });
    let summary = found.ok_or_else(|| ControlError::NotFound(format!("zone: no zone `{zone}`")))?;
    let records = handles.route53.records(&summary.id);
    Ok(Json(json!({
        "id": summary.id,
        "name": summary.name,
        "private": summary.private,
        "records": records,
    })))
}

async fn requests(State(handles): State<Handles>) -> Json<Value> {
    let external_dns: BTreeMap<&String, Value> = handles
        .clusters
        .iter()
        .map(|(name, c)| {
            let requests = c.external_dns.requests();
            let mut by_operation: BTreeMap<&str, u64> = BTreeMap::new();
            for r in &requests {
                *by_operation.entry(r.operation).or_default() += 1;
            }
            let failed = requests.iter().filter(|r| r.error.is_some()).count();
            (
                name,
                json!({ "total": requests.len(), "failed": failed, "by_operation": by_operation }),
            )
        })
        .collect();
    Json(json!({
        "route53": handles.route53.request_count(),
        "external_dns": external_dns,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailChange {
    code: String,
    message: String,
    /// For `fail_next_list`: pages to let through first.
    #[serde(default)]
    skip: u32,
}

/// Faults to inject into Route53; every field optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsBody {
    /// Remove every fault first.
    #[serde(default)]
    clear: bool,
    latency_ms: Option<u64>,
    fail_next_5xx: Option<u32>,
    throttle_next: Option<u32>,
    fail_next_change: Option<FailChange>,
    /// The next change is applied, then answered with this error.
    lose_next_change_answer: Option<FailChange>,
    fail_next_list: Option<FailChange>,
}

async fn set_faults(State(handles): State<Handles>, Json(body): Json<FaultsBody>) -> StatusCode {
    let faults = handles.route53.faults();
    if body.clear {
        faults.clear();
    }
    if let Some(ms) = body.latency_ms {
        faults.set_latency(Duration::from_millis(ms));
    }
    if let Some(n) = body.fail_next_5xx {
        faults.fail_next_5xx(n);
    }
    if let Some(n) = body.throttle_next {
        faults.throttle_next(n);
    }
    if let Some(fail) = body.fail_next_change {
        faults.fail_next_change(&fail.code, &fail.message);
    }
    if let Some(fail) = body.lose_next_change_answer {
        faults.lose_next_change_answer(&fail.code, &fail.message);
    }
    if let Some(fail) = body.fail_next_list {
        faults.fail_list_after(fail.skip, &fail.code, &fail.message);
    }
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitBody {
    /// `null` disables the limit.
    per_second: Option<f64>,
}

async fn set_rate_limit(
    State(handles): State<Handles>,
    Json(body): Json<RateLimitBody>,
) -> Result<StatusCode> {
    if body.per_second.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        return Err(ControlError::BadRequest(
            "per_second: must be a positive number or null".to_string(),
        ));
    }
    handles.route53.set_rate_limit(body.per_second);
    Ok(StatusCode::NO_CONTENT)
}

async fn history(State(handles): State<Handles>) -> Json<Value> {
    Json(json!(handles.route53.history()))
}

async fn reconcile_all(State(handles): State<Handles>) -> Json<Value> {
    let mut reports = BTreeMap::new();
    for (name, c) in handles.clusters.iter() {
        reports.insert(name.clone(), c.external_dns.run_once().await);
    }
    Json(json!(reports))
}

async fn reconcile(
    State(handles): State<Handles>,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    let report = cluster(&handles, &name)?.external_dns.run_once().await;
    Ok(Json(json!(report)))
}

async fn external_dns_log(
    State(handles): State<Handles>,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    Ok(Json(json!(cluster(&handles, &name)?.external_dns.log())))
}

async fn external_dns_requests(
    State(handles): State<Handles>,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    Ok(Json(json!(cluster(&handles, &name)?
        .external_dns
        .requests())))
}

async fn list_ingresses(
    State(handles): State<Handles>,
    Path(name): Path<String>,
) -> Result<Json<Vec<Ingress>>> {
    Ok(Json(cluster(&handles, &name)?.cluster.ingresses()))
}

async fn get_ingress(
    State(handles): State<Handles>,
    Path((name, namespace, ingress)): Path<(String, String, String)>,
) -> Result<Json<Ingress>> {
    cluster(&handles, &name)?
        .cluster
        .ingress(&namespace, &ingress)
        .map(Json)
        .ok_or_else(|| {
            ControlError::NotFound(format!(
                "ingress: no {namespace}/{ingress} in cluster {name}"
            ))
        })
}

/// An Ingress as the control API takes it.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IngressBody {
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// One of the cluster's load balancers, by world name or ELB host name; absent = no
    /// load-balancer status.
    pub load_balancer: Option<String>,
}

async fn upsert_ingress(
    State(handles): State<Handles>,
    Path((name, namespace, ingress_name)): Path<(String, String, String)>,
    Json(body): Json<IngressBody>,
) -> Result<Json<Ingress>> {
    let target = cluster(&handles, &name)?;
    let lb = match &body.load_balancer {
        None => None,
        Some(wanted) => Some(target.load_balancer(wanted).ok_or_else(|| {
            ControlError::BadRequest(format!(
                "load_balancer: cluster {name} has no load balancer `{wanted}`"
            ))
        })?),
    };
    if let Some(lb) = lb {
        for host in &body.hosts {
            lb.add_host(host);
        }
    }
    let ingress = Ingress {
        namespace,
        name: ingress_name,
        hosts: body.hosts,
        annotations: body.annotations,
        load_balancer: lb.map(|lb| lb.hostname().to_string()),
    };
    target.cluster.upsert_ingress(ingress.clone());
    Ok(Json(ingress))
}

async fn remove_ingress(
    State(handles): State<Handles>,
    Path((name, namespace, ingress)): Path<(String, String, String)>,
) -> Result<StatusCode> {
    if cluster(&handles, &name)?
        .cluster
        .remove_ingress(&namespace, &ingress)
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ControlError::NotFound(format!(
            "ingress: no {namespace}/{ingress} in cluster {name}"
        )))
    }
}

type ObjectPath = Path<(String, String, String)>;

fn not_found(kind: &str, cluster: &str, namespace: &str, name: &str) -> ControlError {
    ControlError::NotFound(format!(
        "{kind}: no {namespace}/{name} in cluster {cluster}"
    ))
}

/// One of the cluster's load balancers by world name or ELB host name, or a 400 naming it.
fn cluster_lb<'a>(
    target: &'a SandboxCluster,
    cluster_name: &str,
    wanted: Option<&String>,
) -> Result<Option<&'a Arc<crate::lb::LoadBalancer>>> {
    match wanted {
        None => Ok(None),
        Some(wanted) => target.load_balancer(wanted).map(Some).ok_or_else(|| {
            ControlError::BadRequest(format!(
                "load_balancer: cluster {cluster_name} has no load balancer `{wanted}`"
            ))
        }),
    }
}

async fn list_services(
    State(handles): State<Handles>,
    Path(name): Path<String>,
) -> Result<Json<Vec<Service>>> {
    Ok(Json(cluster(&handles, &name)?.cluster.services()))
}

async fn get_service(
    State(handles): State<Handles>,
    Path((name, namespace, object)): ObjectPath,
) -> Result<Json<Service>> {
    cluster(&handles, &name)?
        .cluster
        .service(&namespace, &object)
        .map(Json)
        .ok_or_else(|| not_found("service", &name, &namespace, &object))
}

/// A Service as the control API takes it: its hosts go in its `hostname` annotation.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceBody {
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// `LoadBalancer` (default) or `ClusterIP`.
    #[serde(rename = "type", default = "crate::cluster::load_balancer_type")]
    pub service_type: String,
    /// One of the cluster's load balancers, by world name or ELB host name; absent = no
    /// load-balancer status.
    pub load_balancer: Option<String>,
}

async fn upsert_service(
    State(handles): State<Handles>,
    Path((name, namespace, object)): ObjectPath,
    Json(body): Json<ServiceBody>,
) -> Result<Json<Service>> {
    let target = cluster(&handles, &name)?;
    if ![LOAD_BALANCER, crate::cluster::CLUSTER_IP].contains(&body.service_type.as_str()) {
        return Err(ControlError::BadRequest(format!(
            "type: `{}` is not modelled: LoadBalancer or ClusterIP",
            body.service_type
        )));
    }
    let lb = cluster_lb(target, &name, body.load_balancer.as_ref())?;
    let service = Service {
        namespace,
        name: object,
        annotations: body.annotations,
        service_type: body.service_type,
        load_balancer: lb.map(|lb| lb.hostname().to_string()),
    };
    crate::serve_service_hosts(
        &target.load_balancers,
        &service,
        target.external_dns.settings().annotation_prefix(),
    );
    target.cluster.upsert_service(service.clone());
    Ok(Json(service))
}

async fn remove_service(
    State(handles): State<Handles>,
    Path((name, namespace, object)): ObjectPath,
) -> Result<StatusCode> {
    if cluster(&handles, &name)?
        .cluster
        .remove_service(&namespace, &object)
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found("service", &name, &namespace, &object))
    }
}

async fn list_gateways(
    State(handles): State<Handles>,
    Path(name): Path<String>,
) -> Result<Json<Vec<Gateway>>> {
    Ok(Json(cluster(&handles, &name)?.cluster.gateways()))
}

async fn get_gateway(
    State(handles): State<Handles>,
    Path((name, namespace, object)): ObjectPath,
) -> Result<Json<Gateway>> {
    cluster(&handles, &name)?
        .cluster
        .gateway(&namespace, &object)
        .map(Json)
        .ok_or_else(|| not_found("gateway", &name, &namespace, &object))
}

/// A Gateway as the control API takes it.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayBody {
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub listeners: Vec<Listener>,
    /// One of the cluster's load balancers (its address); absent = not programmed.
    pub load_balancer: Option<String>,
}

async fn upsert_gateway(
    State(handles): State<Handles>,
    Path((name, namespace, object)): ObjectPath,
    Json(body): Json<GatewayBody>,
) -> Result<Json<Gateway>> {
    let target = cluster(&handles, &name)?;
    crate::world::check_listeners("listeners", &body.listeners)
        .map_err(|e| ControlError::BadRequest(e.to_string()))?;
    let lb = cluster_lb(target, &name, body.load_balancer.as_ref())?;
    let gateway = Gateway {
        namespace,
        name: object,
        annotations: body.annotations,
        listeners: body.listeners,
        load_balancer: lb.map(|lb| lb.hostname().to_string()),
    };
    target.cluster.upsert_gateway(gateway.clone());
    Ok(Json(gateway))
}

async fn remove_gateway(
    State(handles): State<Handles>,
    Path((name, namespace, object)): ObjectPath,
) -> Result<StatusCode> {
    if cluster(&handles, &name)?
        .cluster
        .remove_gateway(&namespace, &object)
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found("gateway", &name, &namespace, &object))
    }
}

async fn list_http_routes(
    State(handles): State<Handles>,
    Path(name): Path<String>,
) -> Result<Json<Vec<HttpRoute>>> {
    Ok(Json(cluster(&handles, &name)?.cluster.http_routes()))
}

async fn get_http_route(
    State(handles): State<Handles>,
    Path((name, namespace, object)): ObjectPath,
) -> Result<Json<HttpRoute>> {
    cluster(&handles, &name)?
        .cluster
        .http_route(&namespace, &object)
        .map(Json)
        .ok_or_else(|| not_found("httproute", &name, &namespace, &object))
}

/// An HTTPRoute as the control API takes it.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRouteBody {
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub hostnames: Vec<String>,
    #[serde(default)]
    pub parents: Vec<RouteParent>,
}

async fn upsert_http_route(
    State(handles): State<Handles>,
    Path((name, namespace, object)): ObjectPath,
    Json(body): Json<HttpRouteBody>,
) -> Result<Json<HttpRoute>> {
    let target = cluster(&handles, &name)?;
    let route = HttpRoute {
        namespace,
        name: object,
        annotations: body.annotations,
        hostnames: body.hostnames,
        parents: body.parents,
    };
    crate::serve_route_hosts(
        &target.load_balancers,
        &target.cluster,
        &route,
        target.external_dns.settings().annotation_prefix(),
    );
    target.cluster.upsert_http_route(route.clone());
    Ok(Json(route))
}

async fn remove_http_route(
    State(handles): State<Handles>,
    Path((name, namespace, object)): ObjectPath,
) -> Result<StatusCode> {
    if cluster(&handles, &name)?
        .cluster
        .remove_http_route(&namespace, &object)
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found("httproute", &name, &namespace, &object))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListenerBody {
    accepting: bool,
}

/// Closes (`{"accepting": false}`: TCP connects refused) or reopens a load balancer's listener.
async fn set_listener(
    State(handles): State<Handles>,
    Path(lb): Path<String>,
    Json(body): Json<ListenerBody>,
) -> Result<Json<Value>> {
    let lb = find_load_balancer(&handles, &lb)?;
    lb.set_accepting(body.accepting).await.map_err(|e| {
        ControlError::BadRequest(format!("accepting: cannot reopen {}: {e}", lb.addr()))
    })?;
    Ok(Json(json!({ "accepting": lb.is_accepting() })))
}

fn find_load_balancer<'a>(
    handles: &'a Handles,
    wanted: &str,
) -> Result<&'a Arc<crate::lb::LoadBalancer>> {
    handles
        .clusters
        .values()
        .find_map(|c| c.load_balancer(wanted))
        .ok_or_else(|| ControlError::NotFound(format!("lb: no load balancer `{wanted}`")))
}

async fn set_behaviour(
    State(handles): State<Handles>,
    Path((lb, host)): Path<(String, String)>,
    Json(behaviour): Json<Behaviour>,
) -> Result<StatusCode> {
    let lb = find_load_balancer(&handles, &lb)?;
    // Traffic due before now ran under the old behaviour.
    handles.traffic.run_until_now();
    lb.set_behaviour(&host, behaviour);
    Ok(StatusCode::NO_CONTENT)
}

/// A behaviour for exactly one path of a host.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathBehaviourBody {
    path: String,
    behaviour: Behaviour,
}

async fn set_path_behaviour(
    State(handles): State<Handles>,
    Path((lb, host)): Path<(String, String)>,
    Json(body): Json<PathBehaviourBody>,
) -> Result<StatusCode> {
    if !body.path.starts_with('/') {
        return Err(ControlError::BadRequest("path: must start with `/`".into()));
    }
    let lb = find_load_balancer(&handles, &lb)?;
    handles.traffic.run_until_now();
    lb.set_path_behaviour(&host, &body.path, body.behaviour);
    Ok(StatusCode::NO_CONTENT)
}

async fn traffic_truth(State(handles): State<Handles>) -> Json<Value> {
    Json(json!(handles.traffic.truth()))
}

async fn traffic_run(State(handles): State<Handles>) -> StatusCode {
    handles.traffic.run_until_now();
    StatusCode::NO_CONTENT
}

async fn cloudwatch_metrics(State(handles): State<Handles>) -> Json<Value> {
    handles.traffic.run_until_now();
    let list: Vec<Value> = handles
        .cloudwatch
        .metric_names()
        .into_iter()
        .map(|(key, minutes)| json!({ "metric": key, "minutes": minutes }))
        .collect();
    Json(json!(list))
}

async fn cloudwatch_requests(State(handles): State<Handles>) -> Json<Value> {
    Json(json!(handles.cloudwatch.request_counts()))
}

/// Faults to inject: the next `fail_next` requests fail with a 500.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailNextBody {
    fail_next: u32,
}

async fn cloudwatch_faults(
    State(handles): State<Handles>,
    Json(body): Json<FailNextBody>,
) -> StatusCode {
    handles.cloudwatch.fail_next(body.fail_next);
    StatusCode::NO_CONTENT
}

async fn sns_messages(State(handles): State<Handles>) -> Json<Value> {
    Json(json!(handles.sns.messages()))
}

async fn sns_faults(State(handles): State<Handles>, Json(body): Json<FailNextBody>) -> StatusCode {
    handles.sns.fail_next(body.fail_next);
    StatusCode::NO_CONTENT
}

async fn host_counts(
    State(handles): State<Handles>,
    Path((lb, host)): Path<(String, String)>,
) -> Result<Json<Value>> {
    Ok(Json(
        json!(find_load_balancer(&handles, &lb)?.counts(&host)),
    ))
}

/// A kubeconfig for the cluster with a fresh EKS token (valid 15 minutes of simulated time).
async fn kubeconfig(State(handles): State<Handles>, Path(name): Path<String>) -> Result<Response> {
    let target = cluster(&handles, &name)?;
    let text = crate::kube_api::kubeconfig(
        &target.cluster.name,
        &target.cluster.region,
        &target.api.url(),
        &handles.ca_pem,
        handles.clock.now(),
    )
    .map_err(|e| ControlError::BadRequest(format!("kubeconfig: {e}")))?;
    Ok(([("content-type", "application/json")], text).into_response())
}
