//! The HTTP front: axum routes for the seven operations, request accounting, injected faults and
//! the rate limit, and the REST-XML answers.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::listing::{self, ListStart};
use super::model::ApiError;
use super::names::DnsName;
use super::wire;
use super::zone::Zone;
use super::{request_id, Route53};
use crate::iam::Caller;
use crate::sigv4::SignedRequest;

/// Default page size of the hosted-zone listings (the model's default).
const DEFAULT_ZONE_PAGE: usize = 100;

pub fn router(route53: Route53) -> Router {
    Router::new()
        .route(
            "/2013-04-01/hostedzone",
            get(list_hosted_zones).post(create_hosted_zone),
        )
        .route("/2013-04-01/hostedzone/{id}", get(get_hosted_zone))
        .route(
            "/2013-04-01/hostedzone/{id}/rrset",
            get(list_record_sets).post(change_record_sets),
        )
        .route(
            "/2013-04-01/hostedzone/{id}/rrset/",
            get(list_record_sets).post(change_record_sets),
        )
        .route("/2013-04-01/hostedzonesbyname", get(list_by_name))
        .route("/2013-04-01/change/{id}", get(get_change))
        .fallback(unknown_operation)
        .with_state(route53)
}

/// A successful answer: status, XML body, optional Location header.
struct Reply {
    status: StatusCode,
    body: String,
    location: Option<String>,
}

impl Reply {
    fn ok(body: String) -> Self {
        Reply {
            status: StatusCode::OK,
            body,
            location: None,
        }
    }
}

/// Counts the request, applies injected latency/faults and the rate limit, then runs `op`.
/// The caller is checked (SigV4 credential scope, key, session token, signature: `Iam::caller`) before
/// `op` runs; `op` acts for the caller's account only.
async fn serve(
    route53: &Route53,
    request: &SignedRequest,
    operation: &str,
    op: impl FnOnce(&Route53, &Caller) -> Result<Reply, ApiError>,
) -> Response {
    let injected = route53.admit(operation);
    if !injected.latency.is_zero() {
        tokio::time::sleep(injected.latency).await;
    }
    let result = match injected.error {
        Some(error) => Err(error),
        None => match route53.iam().caller(request, "route53") {
            Ok(caller) => op(route53, &caller),
            Err(error) => Err(error),
        },
    };
    let request_id = request_id();
    match result {
        Ok(reply) => xml_response(reply.status, reply.body, &request_id, reply.location),
        Err(error) => {
            let status =
                StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            xml_response(
                status,
                wire::render_error(&error, &request_id),
                &request_id,
                None,
            )
        }
    }
}

fn xml_response(
    status: StatusCode,
    body: String,
    request_id: &str,
    location: Option<String>,
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, value);
    }
    response
}

fn query_map(raw: Option<String>) -> BTreeMap<String, String> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

async fn create_hosted_zone(State(route53): State<Route53>, request: SignedRequest) -> Response {
    serve(&route53, &request, "CreateHostedZone", |r, caller| {
        let (xml, id) = r.http_create_zone(&request.body, &caller.account)?;
        Ok(Reply {
            status: StatusCode::CREATED,
            body: xml,
            location: Some(format!(
                "https://route53.amazonaws.com/2013-04-01/hostedzone/{id}"
            )),
        })
    })
    .await
}

async fn get_hosted_zone(
    State(route53): State<Route53>,
    Path(id): Path<String>,
    request: SignedRequest,
) -> Response {
    serve(&route53, &request, "GetHostedZone", |r, caller| {
        r.with_zone(caller, "GetHostedZone", &id, |zone| {
            Ok(Reply::ok(wire::render_get_zone(zone)))
        })
    })
    .await
}

async fn list_hosted_zones(
    State(route53): State<Route53>,
    RawQuery(q): RawQuery,
    request: SignedRequest,
) -> Response {
    let query = query_map(q);
    serve(&route53, &request, "ListHostedZones", |r, caller| {
        let max_items = parse_zone_page(query.get("maxitems"))?;
        let marker = query.get("marker").map(String::as_str);
        r.with_state(|zones| {
            let mut iter = zones
                .values()
                .filter(|z| z.account == caller.account)
                .filter(|z| marker.is_none_or(|m| z.id.as_str() >= m));
            let page: Vec<&Zone> = iter.by_ref().take(max_items).collect();
            let next = iter.next().map(|z| z.id.clone());
            Ok(Reply::ok(wire::render_list_zones(
                &page,
                marker,
                next.as_deref(),
                max_items,
            )))
        })
    })
    .await
}

async fn list_by_name(
    State(route53): State<Route53>,
    RawQuery(q): RawQuery,
    request: SignedRequest,
) -> Response {
    let query = query_map(q);
    serve(&route53, &request, "ListHostedZonesByName", |r, caller| {
        let max_items = parse_zone_page(query.get("maxitems"))?;
        let dns_name = query.get("dnsname").cloned();
        let zone_id = query
            .get("hostedzoneid")
            .map(|id| super::rules::strip_zone_prefix(id).to_string());
        if zone_id.is_some() && dns_name.is_none() {
            return Err(ApiError::invalid_input(
                "The input is not valid: hostedzoneid was given without dnsname",
            ));
        }
        let start_key = dns_name
            .as_deref()
            .map(DnsName::parse)
            .transpose()
            .map_err(|e| ApiError::new(400, "InvalidDomainName", e.to_string()))?
            .map(|n| (n.sort_key(), zone_id.clone().unwrap_or_default()));
        r.with_state(|zones| {
            let mut sorted: Vec<&Zone> = zones
                .values()
                .filter(|z| z.account == caller.account)
                .collect();
            sorted.sort_by_key(|z| (z.name.sort_key(), z.id.clone()));
            let mut iter = sorted.into_iter().filter(|z| {
                start_key
                    .as_ref()
                    .is_none_or(|start| (z.name.sort_key(), z.id.clone()) >= *start)
            });
            let page: Vec<&Zone> = iter.by_ref().take(max_items).collect();
            let next = iter.next().map(|z| (z.name.to_wire(), z.id.clone()));
            Ok(Reply::ok(wire::render_list_zones_by_name(
                &wire::ByNamePage {
                    zones: page,
                    dns_name,
                    hosted_zone_id: zone_id,
                    next,
                    max_items,
                },
            )))
        })
    })
    .await
}

fn parse_zone_page(raw: Option<&String>) -> Result<usize, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_ZONE_PAGE);
    };
    match raw.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n.min(DEFAULT_ZONE_PAGE)),
        _ => Err(ApiError::invalid_input(format!(
            "1 validation error detected: Value '{raw}' at 'maxItems' failed to satisfy constraint: Member must be a positive integer"
        ))),
    }
}

async fn list_record_sets(
    State(route53): State<Route53>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    request: SignedRequest,
) -> Response {
    let query = query_map(q);
    serve(&route53, &request, "ListResourceRecordSets", |r, caller| {
        let start = ListStart {
            name: query.get("name").cloned(),
            rtype: query.get("type").cloned(),
            identifier: query.get("identifier").cloned(),
        };
        let max_items = listing::parse_max_items(query.get("maxitems").map(String::as_str))?;
        if let Some(error) = r.faults().take_list_failure() {
            return Err(error);
        }
        r.with_zone(caller, "ListResourceRecordSets", &id, |zone| {
            let page = listing::list_page(zone, &start, max_items)?;
            Ok(Reply::ok(wire::render_list_rrsets(&page)))
        })
    })
    .await
}

async fn change_record_sets(
    State(route53): State<Route53>,
    Path(id): Path<String>,
    request: SignedRequest,
) -> Response {
    serve(
        &route53,
        &request,
        "ChangeResourceRecordSets",
        |r, caller| {
            r.with_zone(caller, "ChangeResourceRecordSets", &id, |_| Ok(()))?;
            let info = r.http_change(&id, &request.body)?;
            if let Some(error) = r.faults().take_lost_change_answer() {
                return Err(error);
            }
            Ok(Reply::ok(wire::render_change_info(
                "ChangeResourceRecordSetsResponse",
                &info,
            )))
        },
    )
    .await
}

async fn get_change(
    State(route53): State<Route53>,
    Path(id): Path<String>,
    request: SignedRequest,
) -> Response {
    serve(&route53, &request, "GetChange", |r, _| {
        let info = r.get_change(&id)?;
        Ok(Reply::ok(wire::render_change_info(
            "GetChangeResponse",
            &info,
        )))
    })
    .await
}

async fn unknown_operation(State(route53): State<Route53>, request: SignedRequest) -> Response {
    serve(&route53, &request, "Unknown", |_, _| {
        Err(ApiError::new(
            404,
            "UnknownOperationException",
            "The sandbox Route53 does not implement this operation",
        ))
    })
    .await
}
