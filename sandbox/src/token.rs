//! EKS bearer tokens, made and checked as the AWS CLI and EKS do.
//!
//! A token is `k8s-aws-v1.` + base64url (no padding) of a presigned STS `GetCallerIdentity` URL
//! whose signature covers the header `x-k8s-aws-id: <cluster name>`, so a token made for one
//! cluster does not verify for another. EKS accepts a token for about 15 minutes.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4::SigningParams;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use time::macros::format_description;
use time::PrimitiveDateTime;
use url::Url;

/// Every EKS token starts with this.
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header that binds the token to one cluster (signed, carries the cluster name).
pub const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// How long EKS accepts a token after its `X-Amz-Date` (docs/reference/lambda-and-eks.md "EKS
/// token": "about 15 minutes").
pub const MAX_TOKEN_AGE: Duration = Duration::from_secs(15 * 60);
/// Tolerated clock difference between the token's maker and the checker before a token counts as
/// made in the future.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);
/// The presigned URL's own lifetime, as the AWS CLI sets it (docs/reference/lambda-and-eks.md "EKS
/// token": `X-Amz-Expires=60`).
pub const PRESIGN_EXPIRES: Duration = Duration::from_secs(60);

const ACTION: &str = "GetCallerIdentity";
const VERSION: &str = "2011-06-15";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const STS_SERVICE: &str = "sts";

/// The query parameters that a presigned URL carries for its signature (not part of the request
/// that was signed).
const SIGNING_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

/// Why a token was refused. Each check has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token does not start with `{TOKEN_PREFIX}`")]
    MissingPrefix,
    #[error("token payload is not base64url without padding: {0}")]
    NotBase64(String),
    #[error("token payload is not a URL: {0}")]
    NotAUrl(String),
    #[error("presigned URL scheme must be https, got `{0}`")]
    NotHttps(String),
    #[error("presigned URL host `{0}` is not an STS endpoint")]
    NotStsHost(String),
    #[error("presigned URL path must be `/`, got `{0}`")]
    WrongPath(String),
    #[error("query parameter `{name}` is missing")]
    MissingParameter { name: &'static str },
    #[error("query parameter `{name}` appears more than once")]
    DuplicateParameter { name: String },
    #[error("query parameter `Action` must be `{ACTION}`, got `{0}`")]
    WrongAction(String),
    #[error("query parameter `Version` must be `{VERSION}`, got `{0}`")]
    WrongVersion(String),
    #[error("query parameter `X-Amz-Algorithm` must be `{ALGORITHM}`, got `{0}`")]
    WrongAlgorithm(String),
    #[error("query parameter `X-Amz-Credential` is malformed: `{0}`")]
    MalformedCredential(String),
    #[error("credential scope service must be `sts`, got `{0}`")]
    WrongService(String),
    #[error("credential scope region `{scope}` does not match the STS host's region `{host}`")]
    RegionMismatch { scope: String, host: String },
    #[error("unknown access key id `{0}`")]
    UnknownAccessKey(String),
    #[error("query parameter `X-Amz-SignedHeaders` must include `{CLUSTER_ID_HEADER}`, got `{0}`")]
    ClusterHeaderNotSigned(String),
    #[error("query parameter `X-Amz-SignedHeaders` must include `host`, got `{0}`")]
    HostNotSigned(String),
    #[error("query parameter `X-Amz-Date` is not a yyyyMMddTHHmmssZ time: `{0}`")]
    MalformedDate(String),
    #[error("query parameter `X-Amz-Expires` is not a number of seconds: `{0}`")]
    MalformedExpires(String),
    #[error("credential scope date `{scope}` does not match `X-Amz-Date` `{date}`")]
    ScopeDateMismatch { scope: String, date: String },
    #[error("token expired: made {age_secs} s ago, accepted for {} s", MAX_TOKEN_AGE.as_secs())]
    Expired { age_secs: u64 },
    #[error("token is dated {ahead_secs} s in the future")]
    InTheFuture { ahead_secs: u64 },
    #[error("signature does not match (token made for another cluster or altered)")]
    SignatureMismatch,
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Makes an EKS token for `cluster_name`, signed at `at` with the given credentials, exactly as
/// `aws eks get-token` does: a presigned `GET https://sts.{region}.amazonaws.com/?Action=
/// GetCallerIdentity&Version=2011-06-15`, `X-Amz-Expires=60`, signed headers `host;x-k8s-aws-id`.
pub fn make(
    access_key: &str,
    secret_key: &str,
    region: &str,
    cluster_name: &str,
    at: SystemTime,
) -> Result<String, TokenError> {
    let base = format!("https://sts.{region}.amazonaws.com/?Action={ACTION}&Version={VERSION}");
    let credentials = Credentials::new(access_key, secret_key, None, None, "sandbox");
    let signature_params = presign(
        &base,
        &credentials,
        region,
        cluster_name,
        at,
        PRESIGN_EXPIRES,
    )?;
    let mut url = Url::parse(&base).map_err(|e| TokenError::NotAUrl(e.to_string()))?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in &signature_params {
            query.append_pair(name, value);
        }
    }
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(url.as_str())
    ))
}

/// Checks `token` as STS and EKS would for a request to `expected_cluster` at `now`: the presigned
/// URL's form, the sandbox's access key ([`crate::ACCESS_KEY_ID`]), the signature recomputed over
/// `x-k8s-aws-id: expected_cluster`, and the token's age.
pub fn verify(token: &str, expected_cluster: &str, now: SystemTime) -> Result<(), TokenError> {
    let sandbox_key = |key: &str| {
        (key == crate::ACCESS_KEY_ID).then(|| (crate::SECRET_ACCESS_KEY.to_string(), None))
    };
    verify_with(token, expected_cluster, now, &sandbox_key).map(|_| ())
}

/// The secret of an access key, and the session token issued with it for temporary
/// credentials (`None`: the key is unknown).
pub type KeyLookup<'a> = dyn Fn(&str) -> Option<(String, Option<String>)> + 'a;

/// [`verify`] with the keys `keys` knows (an account's, or a role's temporary ones, whose
/// session token must be the one in the URL); returns the access key that signed the token.
pub fn verify_with(
    token: &str,
    expected_cluster: &str,
    now: SystemTime,
    keys: &KeyLookup<'_>,
) -> Result<String, TokenError> {
    let url = decode(token)?;
    let host = check_sts_url(&url)?;
    let query = Query::parse(&url)?;
    check_action_and_version(&query)?;
    let presigned = PresignedParts::parse(&query, &host)?;
    let (secret, session_token) = keys(&presigned.access_key)
        .ok_or_else(|| TokenError::UnknownAccessKey(presigned.access_key.clone()))?;
    if session_token.is_some() && session_token != presigned.security_token {
        return Err(TokenError::UnknownAccessKey(presigned.access_key.clone()));
    }
    check_age(presigned.signed_at, now)?;
    check_signature(&url, &query, &presigned, expected_cluster, &secret)?;
    Ok(presigned.access_key)
}

/// Signs `uri` for query-string presigning; returns the `X-Amz-*` parameters to append.
fn presign(
    uri: &str,
    credentials: &Credentials,
    region: &str,
    cluster_name: &str,
    at: SystemTime,
    expires_in: Duration,
) -> Result<Vec<(String, String)>, TokenError> {
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(expires_in);
    let params = SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(STS_SERVICE)
        .time(at)
        .settings(settings)
        .build()
        .map_err(|e| TokenError::Signing(e.to_string()))?
        .into();
    let request = SignableRequest::new(
        "GET",
        uri,
        std::iter::once((CLUSTER_ID_HEADER, cluster_name)),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| TokenError::Signing(e.to_string()))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| TokenError::Signing(e.to_string()))?
        .into_parts();
    let (_headers, query) = instructions.into_parts();
    Ok(query
        .into_iter()
        .map(|(name, value)| (name.to_string(), value.into_owned()))
        .collect())
}

fn decode(token: &str) -> Result<Url, TokenError> {
    let payload = token
        .strip_prefix(TOKEN_PREFIX)
        .ok_or(TokenError::MissingPrefix)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| TokenError::NotBase64(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| TokenError::NotAUrl(e.to_string()))?;
    Url::parse(&text).map_err(|e| TokenError::NotAUrl(e.to_string()))
}

/// The URL must be `https://sts[.region].amazonaws.com[.cn]/`; returns the host.
fn check_sts_url(url: &Url) -> Result<String, TokenError> {
    if url.scheme() != "https" {
        return Err(TokenError::NotHttps(url.scheme().to_string()));
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if sts_host_region(&host).is_none() || url.port().is_some() {
        return Err(TokenError::NotStsHost(url.authority().to_string()));
    }
    if url.path() != "/" {
        return Err(TokenError::WrongPath(url.path().to_string()));
    }
    Ok(host)
}

/// The region an STS host serves: `sts.amazonaws.com` is the global endpoint (us-east-1),
/// `sts.{region}.amazonaws.com` (`.com.cn` in China) a regional one. `None`: not STS.
fn sts_host_region(host: &str) -> Option<String> {
    if host == "sts.amazonaws.com" {
        return Some("us-east-1".to_string());
    }
    let rest = host.strip_prefix("sts.")?;
    let region = rest
        .strip_suffix(".amazonaws.com")
        .or_else(|| rest.strip_suffix(".amazonaws.com.cn"))?;
    let valid = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    valid.then(|| region.to_string())
}

/// The decoded query, each name at most once.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(url: &Url) -> Result<Self, TokenError> {
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        for (index, (name, _)) in pairs.iter().enumerate() {
            if pairs.iter().skip(index + 1).any(|(other, _)| other == name) {
                return Err(TokenError::DuplicateParameter { name: name.clone() });
            }
        }
        Ok(Query(pairs))
    }

    fn get(&self, name: &'static str) -> Result<&str, TokenError> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .ok_or(TokenError::MissingParameter { name })
    }

    fn optional(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The parameters that were part of the signed request (all but the signature's own).
    fn request_params(&self) -> impl Iterator<Item = &(String, String)> {
        self.0
            .iter()
            .filter(|(name, _)| !SIGNING_PARAMS.contains(&name.as_str()))
    }
}

fn check_action_and_version(query: &Query) -> Result<(), TokenError> {
    let action = query.get("Action")?;
    if action != ACTION {
        return Err(TokenError::WrongAction(action.to_string()));
    }
    let version = query.get("Version")?;
    if version != VERSION {
        return Err(TokenError::WrongVersion(version.to_string()));
    }
    Ok(())
}

/// The presigned URL's signature parameters, checked for form.
struct PresignedParts {
    access_key: String,
    region: String,
    signed_at: SystemTime,
    expires: Duration,
    security_token: Option<String>,
    signature: String,
}

impl PresignedParts {
    fn parse(query: &Query, host: &str) -> Result<Self, TokenError> {
        let algorithm = query.get("X-Amz-Algorithm")?;
        if algorithm != ALGORITHM {
            return Err(TokenError::WrongAlgorithm(algorithm.to_string()));
        }
        let date = query.get("X-Amz-Date")?;
        let signed_at = parse_amz_date(date)?;
        let (access_key, scope_date, region) = parse_credential(query.get("X-Amz-Credential")?)?;
        if !date.starts_with(&scope_date) {
            return Err(TokenError::ScopeDateMismatch {
                scope: scope_date,
                date: date.to_string(),
            });
        }
        let host_region = sts_host_region(host).unwrap_or_default();
        if region != host_region {
            return Err(TokenError::RegionMismatch {
                scope: region,
                host: host_region,
            });
        }
        check_signed_headers(query.get("X-Amz-SignedHeaders")?)?;
        let expires_text = query.get("X-Amz-Expires")?;
        let expires = expires_text
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| TokenError::MalformedExpires(expires_text.to_string()))?;
        Ok(PresignedParts {
            access_key,
            region,
            signed_at,
            expires,
            security_token: query.optional("X-Amz-Security-Token").map(str::to_string),
            signature: query.get("X-Amz-Signature")?.to_string(),
        })
    }
}

/// `X-Amz-Credential` = `<access key>/<yyyyMMdd>/<region>/sts/aws4_request`.
fn parse_credential(credential: &str) -> Result<(String, String, String), TokenError> {
    let malformed = || TokenError::MalformedCredential(credential.to_string());
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, terminator] = parts.as_slice() else {
        return Err(malformed());
    };
    if access_key.is_empty()
        || date.len() != 8
        || region.is_empty()
        || *terminator != "aws4_request"
    {
        return Err(malformed());
    }
    if *service != STS_SERVICE {
        return Err(TokenError::WrongService(service.to_string()));
    }
    Ok((access_key.to_string(), date.to_string(), region.to_string()))
}

/// The cluster header must be signed, or the token would be valid for every cluster.
fn check_signed_headers(signed_headers: &str) -> Result<(), TokenError> {
    let headers: Vec<&str> = signed_headers.split(';').collect();
    if !headers.contains(&CLUSTER_ID_HEADER) {
        return Err(TokenError::ClusterHeaderNotSigned(
            signed_headers.to_string(),
        ));
    }
    if !headers.contains(&"host") {
        return Err(TokenError::HostNotSigned(signed_headers.to_string()));
    }
    Ok(())
}

pub(crate) fn parse_amz_date(text: &str) -> Result<SystemTime, TokenError> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    let parsed = PrimitiveDateTime::parse(text, format)
        .map_err(|_| TokenError::MalformedDate(text.to_string()))?;
    Ok(SystemTime::from(parsed.assume_utc()))
}

/// EKS accepts a token up to 15 minutes after it was made, and none made in the future.
fn check_age(signed_at: SystemTime, now: SystemTime) -> Result<(), TokenError> {
    match now.duration_since(signed_at) {
        Ok(age) if age > MAX_TOKEN_AGE => Err(TokenError::Expired {
            age_secs: age.as_secs(),
        }),
        Ok(_) => Ok(()),
        Err(ahead) if ahead.duration() > MAX_CLOCK_SKEW => Err(TokenError::InTheFuture {
            ahead_secs: ahead.duration().as_secs(),
        }),
        Err(_) => Ok(()),
    }
}

/// Recomputes the signature over the same request with `x-k8s-aws-id: expected_cluster` and the
/// sandbox's secret key, as STS does, and compares.
fn check_signature(
    url: &Url,
    query: &Query,
    presigned: &PresignedParts,
    expected_cluster: &str,
    secret: &str,
) -> Result<(), TokenError> {
    let mut uri = format!("https://{}/?", url.host_str().unwrap_or_default());
    let request_query: Vec<String> = query
        .request_params()
        .map(|(name, value)| format!("{}={}", sigv4_encode(name), sigv4_encode(value)))
        .collect();
    uri.push_str(&request_query.join("&"));
    let credentials = Credentials::new(
        presigned.access_key.as_str(),
        secret,
        presigned.security_token.clone(),
        None,
        "sandbox",
    );
    let recomputed = presign(
        &uri,
        &credentials,
        &presigned.region,
        expected_cluster,
        presigned.signed_at,
        presigned.expires,
    )?;
    let expected = recomputed
        .iter()
        .find(|(name, _)| name == "X-Amz-Signature")
        .map(|(_, value)| value.as_str())
        .ok_or_else(|| TokenError::Signing("no signature produced".to_string()))?;
    if constant_time_eq(expected.as_bytes(), presigned.signature.as_bytes()) {
        Ok(())
    } else {
        Err(TokenError::SignatureMismatch)
    }
}

/// SigV4 URI encoding: unreserved characters as they are, every other byte `%XX`.
fn sigv4_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};

    const REGION: &str = "eu-west-1";
    const CLUSTER: &str = "blue";

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    const T0: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn sandbox_token(cluster: &str, made: SystemTime) -> String {
        make(ACCESS_KEY_ID, SECRET_ACCESS_KEY, REGION, cluster, made).expect("make")
    }

    fn presigned_url(token: &str) -> String {
        let payload = token.strip_prefix(TOKEN_PREFIX).expect("prefix");
        String::from_utf8(URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("utf8")
    }

    fn reencode(url: &str) -> String {
        format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(url))
    }

    /// Rewrites one query parameter of the token's URL (keeps the others and their order).
    fn with_param(token: &str, name: &str, value: Option<&str>) -> String {
        let mut url = Url::parse(&presigned_url(token)).expect("url");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        {
            let mut query = url.query_pairs_mut();
            query.clear();
            for (n, v) in &pairs {
                if n == name {
                    if let Some(new) = value {
                        query.append_pair(n, new);
                    }
                } else {
                    query.append_pair(n, v);
                }
            }
        }
        reencode(url.as_str())
    }

    #[test]
    fn verify_with_accepts_the_keys_it_knows_and_only_with_their_secret() {
        let (key, secret) = crate::iam::account_keys("444444444444");
        let token = make(&key, &secret, "eu-west-1", CLUSTER, at(T0)).unwrap();
        let knows = |k: &str| (k == key).then(|| (secret.clone(), None));
        assert_eq!(
            verify_with(&token, CLUSTER, at(T0), &knows),
            Ok(key.clone())
        );
        // The sandbox's own check knows only its key.
        assert_eq!(
            verify(&token, CLUSTER, at(T0)),
            Err(TokenError::UnknownAccessKey(key.clone()))
        );
        // Known key, another secret: the recomputed signature differs.
        let wrong = |k: &str| (k == key).then(|| ("not/the/secret".to_string(), None));
        assert!(verify_with(&token, CLUSTER, at(T0), &wrong).is_err());
        // A temporary key must come with its session token, which this token lacks.
        let temporary = |k: &str| (k == key).then(|| (secret.clone(), Some("session".to_string())));
        assert_eq!(
            verify_with(&token, CLUSTER, at(T0), &temporary),
            Err(TokenError::UnknownAccessKey(key.clone()))
        );
    }

    #[test]
    fn token_has_the_eks_form() {
        let token = sandbox_token(CLUSTER, at(T0));
        let url = Url::parse(&presigned_url(&token)).expect("url");
        assert_eq!(url.host_str(), Some("sts.eu-west-1.amazonaws.com"));
        let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["Action"], "GetCallerIdentity");
        assert_eq!(q["Version"], "2011-06-15");
        assert_eq!(q["X-Amz-Expires"], "60");
        assert_eq!(q["X-Amz-SignedHeaders"], "host;x-k8s-aws-id");
        assert_eq!(q["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(q["X-Amz-Date"], "20260101T000000Z");
        assert_eq!(
            q["X-Amz-Credential"],
            format!("{ACCESS_KEY_ID}/20260101/eu-west-1/sts/aws4_request")
        );
        assert_eq!(q["X-Amz-Signature"].len(), 64);
        assert!(!token.contains('='), "no padding");
    }

    /// A URL presigned by botocore's `SigV4QueryAuth` (what `aws eks get-token` uses) with the
    /// sandbox credentials, for cluster `blue`, at 2026-11-25T20:18:01Z.
    const BOTOCORE_URL: &str = "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIASANDBOXEXAMPLE01%2F20261125%2Feu-west-1%2Fsts%2Faws4_request&X-Amz-Date=20261125T201801Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=0f5ace9440e8790db3a51bf82d859bc081041aba2a0a196ddcb30570086751cc";
    const BOTOCORE_AT: u64 = 1_795_637_881; // 2026-11-25T20:18:01Z

    #[test]
    fn matches_botocore_byte_for_byte() {
        let token = sandbox_token(CLUSTER, at(BOTOCORE_AT));
        assert_eq!(presigned_url(&token), BOTOCORE_URL);
        assert_eq!(
            verify(&reencode(BOTOCORE_URL), CLUSTER, at(BOTOCORE_AT)),
            Ok(())
        );
    }

    #[test]
    fn round_trip_verifies() {
        let token = sandbox_token(CLUSTER, at(T0));
        assert_eq!(verify(&token, CLUSTER, at(T0)), Ok(()));
        assert_eq!(verify(&token, CLUSTER, at(T0 + 14 * 60)), Ok(()));
    }

    #[test]
    fn token_for_another_cluster_fails() {
        let token = sandbox_token("green", at(T0));
        assert_eq!(
            verify(&token, CLUSTER, at(T0)),
            Err(TokenError::SignatureMismatch)
        );
    }

    #[test]
    fn wrong_secret_fails() {
        let token = make(ACCESS_KEY_ID, "not-the-secret", REGION, CLUSTER, at(T0)).expect("make");
        assert_eq!(
            verify(&token, CLUSTER, at(T0)),
            Err(TokenError::SignatureMismatch)
        );
    }

    #[test]
    fn other_access_key_fails() {
        let token = make("AKIAOTHER", SECRET_ACCESS_KEY, REGION, CLUSTER, at(T0)).expect("make");
        assert_eq!(
            verify(&token, CLUSTER, at(T0)),
            Err(TokenError::UnknownAccessKey("AKIAOTHER".into()))
        );
    }

    #[test]
    fn expired_and_future_tokens_fail() {
        let token = sandbox_token(CLUSTER, at(T0));
        assert_eq!(
            verify(&token, CLUSTER, at(T0 + 15 * 60 + 1)),
            Err(TokenError::Expired { age_secs: 901 })
        );
        assert_eq!(
            verify(&token, CLUSTER, at(T0 - 600)),
            Err(TokenError::InTheFuture { ahead_secs: 600 })
        );
    }

    #[test]
    fn malformed_tokens_fail_with_their_own_error() {
        assert_eq!(
            verify("Bearer abc", CLUSTER, at(T0)),
            Err(TokenError::MissingPrefix)
        );
        assert!(matches!(
            verify("k8s-aws-v1.!!!", CLUSTER, at(T0)),
            Err(TokenError::NotBase64(_))
        ));
        assert!(matches!(
            verify(&reencode("not a url"), CLUSTER, at(T0)),
            Err(TokenError::NotAUrl(_))
        ));
    }

    #[test]
    fn url_must_be_https_sts_root() {
        let token = sandbox_token(CLUSTER, at(T0));
        let url = presigned_url(&token);
        let http = reencode(&url.replacen("https://", "http://", 1));
        assert_eq!(
            verify(&http, CLUSTER, at(T0)),
            Err(TokenError::NotHttps("http".into()))
        );
        let evil = reencode(&url.replacen("sts.eu-west-1.amazonaws.com", "evil.example.com", 1));
        assert_eq!(
            verify(&evil, CLUSTER, at(T0)),
            Err(TokenError::NotStsHost("evil.example.com".into()))
        );
        let path = reencode(&url.replacen(".com/?", ".com/x?", 1));
        assert_eq!(
            verify(&path, CLUSTER, at(T0)),
            Err(TokenError::WrongPath("/x".into()))
        );
        let other_region = reencode(&url.replacen("sts.eu-west-1.", "sts.us-east-2.", 1));
        assert_eq!(
            verify(&other_region, CLUSTER, at(T0)),
            Err(TokenError::RegionMismatch {
                scope: "eu-west-1".into(),
                host: "us-east-2".into()
            })
        );
    }

    #[test]
    fn action_version_and_signing_parameters_are_checked() {
        let token = sandbox_token(CLUSTER, at(T0));
        let zeros = "0".repeat(64);
        let cases: Vec<(&str, Option<&str>, TokenError)> = vec![
            (
                "Action",
                Some("AssumeRole"),
                TokenError::WrongAction("AssumeRole".into()),
            ),
            (
                "Action",
                None,
                TokenError::MissingParameter { name: "Action" },
            ),
            (
                "Version",
                Some("2020-01-01"),
                TokenError::WrongVersion("2020-01-01".into()),
            ),
            (
                "X-Amz-Algorithm",
                Some("AWS4-HMAC-SHA1"),
                TokenError::WrongAlgorithm("AWS4-HMAC-SHA1".into()),
            ),
            (
                "X-Amz-SignedHeaders",
                Some("host"),
                TokenError::ClusterHeaderNotSigned("host".into()),
            ),
            (
                "X-Amz-SignedHeaders",
                Some("x-k8s-aws-id"),
                TokenError::HostNotSigned("x-k8s-aws-id".into()),
            ),
            (
                "X-Amz-Date",
                Some("yesterday"),
                TokenError::MalformedDate("yesterday".into()),
            ),
            (
                "X-Amz-Date",
                Some("20260102T000000Z"),
                TokenError::ScopeDateMismatch {
                    scope: "20260101".into(),
                    date: "20260102T000000Z".into(),
                },
            ),
            (
                "X-Amz-Expires",
                Some("soon"),
                TokenError::MalformedExpires("soon".into()),
            ),
            ("X-Amz-Expires", Some("900"), TokenError::SignatureMismatch),
            (
                "X-Amz-Credential",
                Some("AKIA/20260101/eu-west-1/sts"),
                TokenError::MalformedCredential("AKIA/20260101/eu-west-1/sts".into()),
            ),
            (
                "X-Amz-Credential",
                Some("AKIASANDBOXEXAMPLE01/20260101/eu-west-1/iam/aws4_request"),
                TokenError::WrongService("iam".into()),
            ),
            (
                "X-Amz-Signature",
                None,
                TokenError::MissingParameter {
                    name: "X-Amz-Signature",
                },
            ),
            (
                "X-Amz-Signature",
                Some(zeros.as_str()),
                TokenError::SignatureMismatch,
            ),
        ];
        for (name, value, expected) in cases {
            let altered = with_param(&token, name, value);
            assert_eq!(
                verify(&altered, CLUSTER, at(T0)),
                Err(expected),
                "{name} = {value:?}"
            );
        }
    }

    #[test]
    fn an_added_parameter_breaks_the_signature() {
        let token = sandbox_token(CLUSTER, at(T0));
        let url = presigned_url(&token);
        let added = reencode(&format!("{url}&Extra=1"));
        assert_eq!(
            verify(&added, CLUSTER, at(T0)),
            Err(TokenError::SignatureMismatch)
        );
        let duplicated = reencode(&format!("{url}&Action=GetCallerIdentity"));
        assert_eq!(
            verify(&duplicated, CLUSTER, at(T0)),
            Err(TokenError::DuplicateParameter {
                name: "Action".into()
            })
        );
    }

    #[test]
    fn global_sts_host_is_us_east_1() {
        assert_eq!(
            sts_host_region("sts.amazonaws.com").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(
            sts_host_region("sts.cn-north-1.amazonaws.com.cn").as_deref(),
            Some("cn-north-1")
        );
        assert_eq!(sts_host_region("sts.amazonaws.com.evil.com"), None);
        let token = make(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            "us-east-1",
            CLUSTER,
            at(T0),
        )
        .expect("make");
        let global = reencode(&presigned_url(&token).replacen("sts.us-east-1.", "sts.", 1));
        // The host is signed: moving the token to the global endpoint breaks the signature.
        assert_eq!(
            verify(&global, CLUSTER, at(T0)),
            Err(TokenError::SignatureMismatch)
        );
    }
}
