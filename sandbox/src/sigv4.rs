//! SigV4 for the AWS APIs the sandbox serves (Route53, STS, EKS, CloudWatch, SNS): the request as
//! a handler receives it ([`SignedRequest`]), the `Authorization` header's parts, and the
//! signature recomputed with the `aws-sigv4` crate from the method, path, query, signed headers
//! and the SHA-256 of the body, then compared with the one sent. [`crate::iam::Iam::caller`]
//! decides which secret to recompute with; what is checked in which order is in docs/sandbox.md
//! "Credentials and signatures".

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign as sigv4_sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4::SigningParams;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::route53::ApiError;

/// The only algorithm the sandbox (and AWS for these APIs) accepts.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far `X-Amz-Date` may be from the checking clock (AWS: 15 minutes either way).
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// The largest body a handler reads (the `Bytes` extractor's default limit).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// What the signature covers: method, path and query, headers, body. An axum extractor (it reads
/// the body, so it comes last among a handler's arguments).
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl SignedRequest {
    /// A request with no body (tests, and handlers that take none).
    pub fn new(method: Method, uri: Uri, headers: HeaderMap, body: impl Into<Bytes>) -> Self {
        SignedRequest {
            method,
            uri,
            headers,
            body: body.into(),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for SignedRequest {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|e| {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the request body could not be read: {e}"),
                )
                    .into_response()
            })?;
        Ok(SignedRequest {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
        })
    }
}

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request,
/// SignedHeaders=a;b, Signature=HEX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    /// The credential scope's date (`yyyyMMdd`).
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// 403 `MissingAuthenticationToken`: the request carries no SigV4 `Authorization` header.
pub fn missing_authentication() -> ApiError {
    ApiError::new(
        403,
        "MissingAuthenticationToken",
        "Missing Authentication Token",
    )
}

fn incomplete(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "IncompleteSignature", message)
}

/// 403 `SignatureDoesNotMatch` with `message`.
pub fn does_not_match(message: impl Into<String>) -> ApiError {
    ApiError::new(403, "SignatureDoesNotMatch", message)
}

/// The message AWS sends when the recomputed signature differs.
pub const MISMATCH_MESSAGE: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

impl Authorization {
    /// Parses the `Authorization` header. No header, another scheme, or no `Credential`:
    /// `MissingAuthenticationToken`; a malformed credential or a missing part: 400
    /// `IncompleteSignature` naming what is wrong.
    pub fn parse(headers: &HeaderMap) -> Result<Self, ApiError> {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(missing_authentication)?;
        let rest = auth
            .strip_prefix(ALGORITHM)
            .filter(|rest| rest.starts_with(' '))
            .ok_or_else(missing_authentication)?;
        let part = |name: &str| {
            rest.split(',')
                .map(str::trim)
                .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
        };
        let credential = part("Credential").ok_or_else(missing_authentication)?;
        let signed_headers = part("SignedHeaders").ok_or_else(|| {
            incomplete("Authorization header requires 'SignedHeaders' parameter.")
        })?;
        let signature = part("Signature")
            .ok_or_else(|| incomplete("Authorization header requires 'Signature' parameter."))?;
        let scope: Vec<&str> = credential.split('/').collect();
        let [access_key_id, date, region, service, terminator] = scope.as_slice() else {
            return Err(incomplete(format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
            )));
        };
        if access_key_id.is_empty()
            || date.len() != 8
            || !date.bytes().all(|b| b.is_ascii_digit())
            || *terminator != "aws4_request"
        {
            return Err(incomplete(format!(
                "Credential is malformed: '{credential}' (keyid/yyyyMMdd/region/service/aws4_request)"
            )));
        }
        let signed_headers: Vec<String> = signed_headers
            .split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        if signed_headers.iter().any(String::is_empty) || signature.is_empty() {
            return Err(incomplete(
                "Authorization header has an empty 'SignedHeaders' or 'Signature' parameter.",
            ));
        }
        Ok(Authorization {
            access_key_id: access_key_id.to_string(),
            date: date.to_string(),
            region: region.to_string(),
            service: service.to_string(),
            signed_headers,
            signature: signature.to_string(),
        })
    }

    /// Whether `name` (lower case) is among the signed headers.
    pub fn signs(&self, name: &str) -> bool {
        self.signed_headers.iter().any(|h| h == name)
    }

    /// The scope's service must be `service`, its region a region name (`us-east-1`): the
    /// sandbox's one endpoint per API stands in for every region, and SDKs pointed at it with an
    /// endpoint URL sign with whatever region they are configured with.
    pub fn check_scope(&self, service: &str) -> Result<(), ApiError> {
        if self.service != service {
            return Err(does_not_match(format!(
                "Credential should be scoped to correct service: '{service}'."
            )));
        }
        if !is_region(&self.region) {
            return Err(does_not_match(format!(
                "Credential should be scoped to a valid region, not '{}'.",
                self.region
            )));
        }
        Ok(())
    }
}

/// `xx-name-N` (or longer: `us-gov-west-1`, `cn-north-1`): lower-case words, then a number.
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Checks the request's `X-Amz-Date` (present, well formed, the scope's date, within
/// [`MAX_SKEW`] of one of `clocks`) and recomputes the signature with `secret`.
pub fn verify(
    request: &SignedRequest,
    auth: &Authorization,
    secret: &str,
    clocks: &[SystemTime],
) -> Result<(), ApiError> {
    let amz_date = request
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            incomplete("Authorization header requires existence of a 'X-Amz-Date' header.")
        })?;
    let signed_at = crate::token::parse_amz_date(amz_date).map_err(|_| {
        incomplete(format!(
            "X-Amz-Date must be in the ISO-8601 basic format yyyyMMddTHHmmssZ, got '{amz_date}'"
        ))
    })?;
    if !amz_date.starts_with(&auth.date) {
        return Err(does_not_match(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
            auth.date,
            amz_date.get(..8).unwrap_or(amz_date)
        )));
    }
    check_skew(signed_at, amz_date, clocks)?;
    let expected = recompute(request, auth, secret, signed_at)?;
    if crate::token::constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        Ok(())
    } else {
        Err(does_not_match(MISMATCH_MESSAGE))
    }
}

/// Accepted when within [`MAX_SKEW`] of any of `clocks` (none given: not checked).
fn check_skew(
    signed_at: SystemTime,
    amz_date: &str,
    clocks: &[SystemTime],
) -> Result<(), ApiError> {
    let within = |now: &SystemTime| match now.duration_since(signed_at) {
        Ok(age) => age <= MAX_SKEW,
        Err(ahead) => ahead.duration() <= MAX_SKEW,
    };
    if clocks.is_empty() || clocks.iter().any(within) {
        return Ok(());
    }
    let now = clocks[0];
    let stamp = |t: SystemTime| {
        time::OffsetDateTime::from(t)
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .unwrap_or_default()
    };
    Err(if signed_at < now {
        does_not_match(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            stamp(now - MAX_SKEW),
            stamp(now)
        ))
    } else {
        does_not_match(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
            stamp(now + MAX_SKEW),
            stamp(now)
        ))
    })
}

/// The signature of the request as signed at `signed_at` with `secret`: the signed headers as
/// received (values the crate trims), the path and query as received, the SHA-256 of the body
/// received (so an `x-amz-content-sha256` header naming another hash does not verify).
fn recompute(
    request: &SignedRequest,
    auth: &Authorization,
    secret: &str,
    signed_at: SystemTime,
) -> Result<String, ApiError> {
    let mut headers: Vec<(&str, &str)> = Vec::new();
    for name in &auth.signed_headers {
        for value in request.headers.get_all(name.as_str()) {
            let value = value.to_str().map_err(|_| {
                does_not_match(format!(
                    "The value of the signed header '{name}' is not text."
                ))
            })?;
            headers.push((name.as_str(), value));
        }
    }
    // The crate takes the host from the URI when no `host` header is given; give it one that
    // parses (the Host header, else the request's own authority) so it has one to take.
    let authority = request
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    let path_and_query = request.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let uri = format!("http://{authority}{path_and_query}");
    let credentials = Credentials::new(auth.access_key_id.as_str(), secret, None, None, "sandbox");
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    // The client's list of signed headers is what counts: exclude none of them.
    settings.excluded_headers = Some(Vec::new());
    let params = SigningParams::builder()
        .identity(&identity)
        .region(&auth.region)
        .name(&auth.service)
        .time(signed_at)
        .settings(settings)
        .build()
        .map_err(|e| does_not_match(format!("The signature could not be recomputed: {e}")))?
        .into();
    let signable = SignableRequest::new(
        request.method.as_str(),
        uri,
        headers.into_iter(),
        SignableBody::Bytes(&request.body),
    )
    .map_err(|e| does_not_match(format!("The request could not be canonicalized: {e}")))?;
    let output = sigv4_sign(signable, &params)
        .map_err(|e| does_not_match(format!("The request could not be canonicalized: {e}")))?;
    Ok(output.signature().to_string())
}

/// What to sign a request with (tests and tools that talk to the sandbox without an SDK).
#[derive(Debug, Clone)]
pub struct SigningKey<'a> {
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
    pub service: &'a str,
}

/// Signs `method url` with `headers` and `body` at `at` as the SDKs do (`host` from the URL,
/// `x-amz-date`, `x-amz-security-token` for temporary credentials, the payload hash from an
/// `x-amz-content-sha256` header if given, else the body's); returns the request's headers with
/// `authorization` and those added.
pub fn sign(
    key: &SigningKey<'_>,
    method: &Method,
    url: &str,
    headers: &HeaderMap,
    body: &[u8],
    at: SystemTime,
) -> Result<HeaderMap, String> {
    let credentials = Credentials::new(
        key.access_key_id,
        key.secret,
        key.session_token.map(str::to_string),
        None,
        "sandbox",
    );
    let identity = credentials.into();
    let params = SigningParams::builder()
        .identity(&identity)
        .region(key.region)
        .name(key.service)
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    // As SDKs do: the payload hash is the `x-amz-content-sha256` header when one is given.
    let body = match headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
    {
        Some(hash) => SignableBody::Precomputed(hash.to_string()),
        None => SignableBody::Bytes(body),
    };
    let signable = SignableRequest::new(method.as_str(), url, pairs.into_iter(), body)
        .map_err(|e| e.to_string())?;
    let (instructions, _) = sigv4_sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let mut signed = headers.clone();
    let (added, _) = instructions.into_parts();
    for header in added {
        let value = header.value().parse().map_err(|e| format!("{e}"))?;
        signed.insert(header.name(), value);
    }
    if !signed.contains_key(header::HOST) {
        let host = url
            .parse::<Uri>()
            .ok()
            .and_then(|u| u.authority().map(|a| a.to_string()))
            .ok_or_else(|| format!("no host in {url}"))?;
        signed.insert(header::HOST, host.parse().map_err(|e| format!("{e}"))?);
    }
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AKIASANDBOXEXAMPLE01";
    const SECRET: &str = "sandbox/not/a/real/secret/key/000000000";

    fn key<'a>(secret: &'a str) -> SigningKey<'a> {
        SigningKey {
            access_key_id: KEY,
            secret,
            session_token: None,
            region: "us-east-1",
            service: "route53",
        }
    }

    fn request(secret: &str, body: &'static [u8], at: SystemTime) -> SignedRequest {
        let url = "http://127.0.0.1:8080/2013-04-01/hostedzone/Z1/rrset/?a=1&b=x%20y";
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "text/xml".parse().unwrap());
        let headers = sign(&key(secret), &Method::POST, url, &headers, body, at).unwrap();
        SignedRequest::new(Method::POST, url.parse().unwrap(), headers, body)
    }

    fn check(request: &SignedRequest, secret: &str, now: SystemTime) -> Result<(), ApiError> {
        let auth = Authorization::parse(&request.headers)?;
        auth.check_scope("route53")?;
        verify(request, &auth, secret, &[now])
    }

    #[test]
    fn a_signed_request_verifies_and_any_change_does_not() {
        let now = SystemTime::now();
        let good = request(SECRET, b"<x/>", now);
        assert_eq!(check(&good, SECRET, now), Ok(()));
        let code = |r: &SignedRequest| {
            check(r, SECRET, now)
                .map_err(|e| e.code)
                .expect_err(&format!("{r:?}"))
        };
        // Another secret.
        assert_eq!(
            code(&request("wrong", b"<x/>", now)),
            "SignatureDoesNotMatch"
        );
        // The body, the path, the query, a signed header changed after signing.
        let mut body = good.clone();
        body.body = Bytes::from_static(b"<y/>");
        assert_eq!(code(&body), "SignatureDoesNotMatch");
        let mut path = good.clone();
        path.uri = "/2013-04-01/hostedzone/Z2/rrset/?a=1&b=x%20y"
            .parse()
            .unwrap();
        assert_eq!(code(&path), "SignatureDoesNotMatch");
        let mut query = good.clone();
        query.uri = "/2013-04-01/hostedzone/Z1/rrset/?a=2&b=x%20y"
            .parse()
            .unwrap();
        assert_eq!(code(&query), "SignatureDoesNotMatch");
        let mut header = good.clone();
        header
            .headers
            .insert("content-type", "application/xml".parse().unwrap());
        assert_eq!(code(&header), "SignatureDoesNotMatch");
        // An x-amz-content-sha256 that is not the body's hash.
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-content-sha256", "UNSIGNED-PAYLOAD".parse().unwrap());
        let url = "http://127.0.0.1:8080/";
        let signed = sign(&key(SECRET), &Method::POST, url, &headers, b"<x/>", now).unwrap();
        let unsigned = SignedRequest::new(Method::POST, url.parse().unwrap(), signed, "<x/>");
        assert_eq!(code(&unsigned), "SignatureDoesNotMatch");
    }

    #[test]
    fn date_scope_and_skew_are_checked() {
        let now = SystemTime::now();
        let good = request(SECRET, b"", now);
        // Signed 20 minutes before or after the checking clock.
        let late = check(&good, SECRET, now + Duration::from_secs(20 * 60)).unwrap_err();
        assert!(
            late.message.starts_with("Signature expired"),
            "{}",
            late.message
        );
        let early = check(&good, SECRET, now - Duration::from_secs(20 * 60)).unwrap_err();
        assert!(
            early.message.starts_with("Signature not yet current"),
            "{}",
            early.message
        );
        // Either of two clocks will do.
        let auth = Authorization::parse(&good.headers).unwrap();
        let clocks = [
            now + Duration::from_secs(3600),
            now + Duration::from_secs(60),
        ];
        assert_eq!(verify(&good, &auth, SECRET, &clocks), Ok(()));
        // No X-Amz-Date.
        let mut undated = good.clone();
        undated.headers.remove("x-amz-date");
        assert_eq!(
            check(&undated, SECRET, now).unwrap_err().code,
            "IncompleteSignature"
        );
        // Scoped to another service.
        let mut other = key(SECRET);
        other.service = "sts";
        let signed = sign(
            &other,
            &Method::GET,
            "http://h/",
            &HeaderMap::new(),
            b"",
            now,
        )
        .unwrap();
        let r = SignedRequest::new(Method::GET, "/".parse().unwrap(), signed, "");
        assert_eq!(
            check(&r, SECRET, now).unwrap_err().code,
            "SignatureDoesNotMatch"
        );
    }

    #[test]
    fn malformed_authorization_headers_are_refused_with_4xx() {
        let cases = [
            ("", "MissingAuthenticationToken"),
            ("Basic abc", "MissingAuthenticationToken"),
            ("AWS4-HMAC-SHA256", "MissingAuthenticationToken"),
            ("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00", "MissingAuthenticationToken"),
            ("AWS4-HMAC-SHA256 Credential=K/20260101/us-east-1/route53/aws4_request, Signature=00", "IncompleteSignature"),
            ("AWS4-HMAC-SHA256 Credential=K/20260101/us-east-1/route53/aws4_request, SignedHeaders=host", "IncompleteSignature"),
            ("AWS4-HMAC-SHA256 Credential=K/20260101/us-east-1, SignedHeaders=host, Signature=00", "IncompleteSignature"),
            ("AWS4-HMAC-SHA256 Credential=K/2026/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=00", "IncompleteSignature"),
            ("AWS4-HMAC-SHA256 Credential=K/20260101/us-east-1/route53/aws4_request, SignedHeaders=, Signature=00", "IncompleteSignature"),
        ];
        for (value, expected) in cases {
            let mut headers = HeaderMap::new();
            if !value.is_empty() {
                headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            }
            let e = Authorization::parse(&headers).unwrap_err();
            assert_eq!(e.code, expected, "{value}");
            assert!((400..500).contains(&e.status), "{value}");
        }
        let auth = Authorization::parse(&{
            let mut h = HeaderMap::new();
            h.insert(
                header::AUTHORIZATION,
                "AWS4-HMAC-SHA256 Credential=K/20260101/not_a_region/route53/aws4_request, SignedHeaders=host, Signature=00"
                    .parse()
                    .unwrap(),
            );
            h
        })
        .unwrap();
        assert_eq!(
            auth.check_scope("route53").unwrap_err().code,
            "SignatureDoesNotMatch"
        );
        assert!(is_region("us-east-1") && is_region("us-gov-west-1") && is_region("cn-north-1"));
        assert!(!is_region("us-east") && !is_region("east-1") && !is_region("US-EAST-1"));
    }
}
