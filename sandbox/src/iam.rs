//! Accounts, roles and STS `AssumeRole`: each account has its own long-term access key; a role
//! lives in one account and trusts some accounts, optionally requiring an external id; the
//! temporary credentials `AssumeRole` issues act in the role's account only. Route53, STS, EKS,
//! CloudWatch and SNS ask [`Iam::caller`] which account signed a request.
//!
//! A request is checked as the sandbox checks every AWS request: `AWS4-HMAC-SHA256`, a
//! credential scope whose service is the one called, a known access key, for temporary
//! credentials the session token issued with them (`X-Amz-Security-Token`, itself signed), and
//! the signature recomputed with the key's secret ([`crate::sigv4`]). Temporary credentials
//! expire on the real clock (the SDK caches them on it).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::clock::SimClock;
use crate::route53::ApiError;
use crate::sigv4::{Authorization, SignedRequest};

/// The account the sandbox's own keys ([`crate::ACCESS_KEY_ID`]) belong to: cutover's, and
/// every zone's and external-dns's unless a world says otherwise.
pub const DEFAULT_ACCOUNT: &str = "111111111111";

/// `DurationSeconds` when the request gives none, and its bounds (STS: 900 s to 12 h).
const DEFAULT_SESSION_SECONDS: u64 = 3600;
const MIN_SESSION_SECONDS: u64 = 900;
const MAX_SESSION_SECONDS: u64 = 43_200;

/// Who signed a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub account: String,
    /// `arn:aws:iam::<account>:root` for an account's own key, the assumed-role ARN for
    /// temporary credentials.
    pub principal: String,
}

/// One `AssumeRole` request as STS answered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssumeRoleCall {
    pub role_arn: String,
    pub caller_account: Option<String>,
    pub session_name: Option<String>,
    /// Whether an external id was sent (never its value).
    pub external_id_sent: bool,
    /// `None`: credentials issued; otherwise the error code.
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
struct Key {
    account: String,
    secret: String,
    /// Temporary credentials: (session token, assumed-role ARN, expiry).
    session: Option<(String, String, SystemTime)>,
}

/// A role: its account, the accounts it trusts, and the external id its trust policy requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub account: String,
    pub name: String,
    pub trusted_accounts: Vec<String>,
    pub external_id: Option<String>,
}

impl Role {
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:role/{}", self.account, self.name)
    }
}

#[derive(Debug, Default)]
struct IamState {
    keys: HashMap<String, Key>,
    roles: BTreeMap<String, Role>,
    calls: Vec<AssumeRoleCall>,
    issued: u64,
}

/// The sandbox's identities. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct Iam {
    state: Arc<Mutex<IamState>>,
    /// The simulated clock, whose time a signature may also carry (besides the real one).
    clock: Option<SimClock>,
}

impl Default for Iam {
    fn default() -> Self {
        Iam::new()
    }
}

/// The long-term keys of an account of the sandbox (the default account's are
/// [`crate::ACCESS_KEY_ID`] and [`crate::SECRET_ACCESS_KEY`]).
pub fn account_keys(account: &str) -> (String, String) {
    if account == DEFAULT_ACCOUNT {
        return (
            crate::ACCESS_KEY_ID.to_string(),
            crate::SECRET_ACCESS_KEY.to_string(),
        );
    }
    (
        format!("AKIASANDBOX{account}"),
        format!("sandbox/not/a/real/secret/of/{account}"),
    )
}

impl Iam {
    /// The default account and its keys.
    pub fn new() -> Self {
        let iam = Iam {
            state: Arc::new(Mutex::new(IamState::default())),
            clock: None,
        };
        iam.add_account(DEFAULT_ACCOUNT);
        iam
    }

    /// Also accepts signatures dated by `clock` (a client that signs with the sandbox's
    /// simulated time), besides those dated by the real clock.
    pub fn with_clock(mut self, clock: SimClock) -> Self {
        self.clock = Some(clock);
        self
    }

    fn lock(&self) -> MutexGuard<'_, IamState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an account with its long-term keys ([`account_keys`]).
    pub fn add_account(&self, account: &str) {
        let (id, secret) = account_keys(account);
        self.lock().keys.insert(
            id,
            Key {
                account: account.to_string(),
                secret,
                session: None,
            },
        );
    }

    pub fn add_role(&self, role: Role) {
        self.lock().roles.insert(role.arn(), role);
    }

    /// Every role, by ARN.
    pub fn roles(&self) -> Vec<Role> {
        self.lock().roles.values().cloned().collect()
    }

    /// Every `AssumeRole` request so far, in order.
    pub fn assume_role_calls(&self) -> Vec<AssumeRoleCall> {
        self.lock().calls.clone()
    }

    /// The secret of a known access key (and its session token, for temporary credentials):
    /// what the EKS token check recomputes the signature with.
    pub fn secret_of(&self, access_key_id: &str) -> Option<(String, Option<String>)> {
        self.lock().keys.get(access_key_id).map(|k| {
            (
                k.secret.clone(),
                k.session.as_ref().map(|(token, _, _)| token.clone()),
            )
        })
    }

    /// The account of a known access key, whose session (if any) has not expired.
    pub fn account_of_key(&self, access_key_id: &str, token: Option<&str>) -> Option<String> {
        let state = self.lock();
        let key = state.keys.get(access_key_id)?;
        match &key.session {
            None => Some(key.account.clone()),
            Some((issued, _, expiry)) => (token == Some(issued.as_str())
                && *expiry > SystemTime::now())
            .then(|| key.account.clone()),
        }
    }

    /// Who signed the request, for `service` (the credential scope's service name). Refused as
    /// AWS refuses: no signature → `MissingAuthenticationToken`; a malformed `Authorization` →
    /// `IncompleteSignature`; a scope of another service or no region → `SignatureDoesNotMatch`;
    /// an unknown key, or temporary credentials without their (signed) session token →
    /// `InvalidClientTokenId`; an expired session → `ExpiredToken`; then the signature
    /// recomputed with the key's secret ([`crate::sigv4::verify`]) must be the one sent, else
    /// `SignatureDoesNotMatch`. `X-Amz-Date` must be within 15 minutes of the real clock or of
    /// the simulated one ([`Iam::with_clock`]).
    pub fn caller(&self, request: &SignedRequest, service: &str) -> Result<Caller, ApiError> {
        let auth = Authorization::parse(&request.headers)?;
        auth.check_scope(service)?;
        let invalid = || {
            ApiError::new(
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            )
        };
        let token = request
            .headers
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok());
        let (caller, secret) = {
            let state = self.lock();
            let key = state.keys.get(&auth.access_key_id).ok_or_else(invalid)?;
            let caller = match &key.session {
                None => Caller {
                    account: key.account.clone(),
                    principal: format!("arn:aws:iam::{}:root", key.account),
                },
                Some((issued, assumed_arn, expiry)) => {
                    if token != Some(issued.as_str()) || !auth.signs("x-amz-security-token") {
                        return Err(invalid());
                    }
                    if *expiry <= SystemTime::now() {
                        return Err(ApiError::new(
                            403,
                            "ExpiredToken",
                            "The security token included in the request is expired",
                        ));
                    }
                    Caller {
                        account: key.account.clone(),
                        principal: assumed_arn.clone(),
                    }
                }
            };
            (caller, key.secret.clone())
        };
        let mut clocks = vec![SystemTime::now()];
        clocks.extend(self.clock.as_ref().map(SimClock::now));
        crate::sigv4::verify(request, &auth, &secret, &clocks)?;
        Ok(caller)
    }

    /// STS `AssumeRole` (Query protocol, form-encoded): the caller must sign with an account's
    /// long-term key (no role chaining here), the role must exist and trust the caller's account,
    /// and the external id must be the one the role requires.
    fn assume_role(
        &self,
        caller: Result<Caller, ApiError>,
        form: &BTreeMap<String, String>,
    ) -> Result<String, ApiError> {
        let role_arn = form.get("RoleArn").cloned().unwrap_or_default();
        let session_name = form.get("RoleSessionName").cloned();
        let external_id = form.get("ExternalId").cloned();
        let mut call = AssumeRoleCall {
            role_arn: role_arn.clone(),
            caller_account: caller.as_ref().ok().map(|c| c.account.clone()),
            session_name: session_name.clone(),
            external_id_sent: external_id.is_some(),
            error: None,
        };
        let result = self.issue(caller, &role_arn, session_name, external_id, form);
        call.error = result.as_ref().err().map(|e| e.code.clone());
        self.lock().calls.push(call);
        result
    }

    fn issue(
        &self,
        caller: Result<Caller, ApiError>,
        role_arn: &str,
        session_name: Option<String>,
        external_id: Option<String>,
        form: &BTreeMap<String, String>,
    ) -> Result<String, ApiError> {
        let caller = caller?;
        if form.get("Action").map(String::as_str) != Some("AssumeRole") {
            return Err(ApiError::new(
                400,
                "InvalidAction",
                "The sandbox STS implements AssumeRole only",
            ));
        }
        let session_name = session_name.unwrap_or_default();
        let session_ok = (2..=64).contains(&session_name.len())
            && session_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c));
        if !session_ok {
            return Err(ApiError::new(
                400,
                "ValidationError",
                "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
            ));
        }
        let seconds = match form.get("DurationSeconds") {
            None => DEFAULT_SESSION_SECONDS,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|s| (MIN_SESSION_SECONDS..=MAX_SESSION_SECONDS).contains(s))
                .ok_or_else(|| {
                    ApiError::new(
                        400,
                        "ValidationError",
                        "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200",
                    )
                })?,
        };
        let denied = || {
            ApiError::new(
                403,
                "AccessDenied",
                format!(
                    "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                    caller.principal
                ),
            )
        };
        if caller.principal.contains(":assumed-role/") {
            return Err(denied());
        }
        let mut state = self.lock();
        let role = state.roles.get(role_arn).cloned().ok_or_else(denied)?;
        if !role.trusted_accounts.contains(&caller.account) {
            return Err(denied());
        }
        if role.external_id.is_some() && role.external_id != external_id {
            return Err(denied());
        }
        state.issued += 1;
        let n = state.issued;
        let access_key_id = format!("ASIASANDBOX{:09}", n);
        let secret = format!("sandbox/temporary/secret/{n:09}/{}", role.account);
        let token = format!("sandbox-session-token-{n:09}-{}", role.name);
        let expiry = SystemTime::now() + Duration::from_secs(seconds);
        let assumed_arn = format!(
            "arn:aws:sts::{}:assumed-role/{}/{session_name}",
            role.account, role.name
        );
        state.keys.insert(
            access_key_id.clone(),
            Key {
                account: role.account.clone(),
                secret: secret.clone(),
                session: Some((token.clone(), assumed_arn.clone(), expiry)),
            },
        );
        let expiration = time::OffsetDateTime::from(expiry)
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        Ok(format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
<AssumeRoleResult>\
<AssumedRoleUser><AssumedRoleId>AROASANDBOX{n:09}:{session_name}</AssumedRoleId><Arn>{assumed_arn}</Arn></AssumedRoleUser>\
<Credentials><AccessKeyId>{access_key_id}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>\
<SessionToken>{token}</SessionToken><Expiration>{expiration}</Expiration></Credentials>\
</AssumeRoleResult>\
<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata>\
</AssumeRoleResponse>",
            crate::route53::request_id()
        ))
    }

    /// The STS Query API: `POST /` with a form body; mount at "/".
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .route("/", axum::routing::post(sts))
            .with_state(self.clone())
    }
}

async fn sts(State(iam): State<Iam>, request: SignedRequest) -> Response {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    let caller = iam.caller(&request, "sts");
    let request_id = crate::route53::request_id();
    let (status, body) = match iam.assume_role(caller, &form) {
        Ok(body) => (StatusCode::OK, body),
        Err(e) => (
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                e.fault_type(),
                quick_xml::escape::escape(e.code.as_str()),
                quick_xml::escape::escape(e.message.as_str())
            ),
        ),
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, Method};

    /// A request signed now with `key` and `secret` for `service` (and `token` as its session
    /// token).
    fn signed_with(key: &str, secret: &str, service: &str, token: Option<&str>) -> SignedRequest {
        let url = "http://127.0.0.1:1/";
        let signing = crate::sigv4::SigningKey {
            access_key_id: key,
            secret,
            session_token: token,
            region: "us-east-1",
            service,
        };
        let headers = crate::sigv4::sign(
            &signing,
            &Method::POST,
            url,
            &HeaderMap::new(),
            b"",
            SystemTime::now(),
        )
        .unwrap();
        SignedRequest::new(Method::POST, url.parse().unwrap(), headers, "")
    }

    /// Signed with the secret `iam` knows for `key` (any, for an unknown key).
    fn signed(iam: &Iam, key: &str, service: &str, token: Option<&str>) -> SignedRequest {
        let secret = iam
            .secret_of(key)
            .map_or_else(|| "unknown".to_string(), |(secret, _)| secret);
        signed_with(key, &secret, service, token)
    }

    fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn field<'a>(xml: &'a str, tag: &str) -> &'a str {
        let start = xml.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
        let end = xml[start..].find(&format!("</{tag}>")).unwrap() + start;
        &xml[start..end]
    }

    #[test]
    fn assume_role_checks_trust_and_external_id_and_scopes_credentials_to_the_role_account() {
        let iam = Iam::new();
        iam.add_account("222222222222");
        iam.add_role(Role {
            account: "222222222222".into(),
            name: "records".into(),
            trusted_accounts: vec![DEFAULT_ACCOUNT.into()],
            external_id: Some("ext-1".into()),
        });
        let arn = "arn:aws:iam::222222222222:role/records";
        let me = || iam.caller(&signed(&iam, crate::ACCESS_KEY_ID, "sts", None), "sts");
        // Wrong or missing external id, unknown role, untrusted caller: AccessDenied.
        for f in [
            form(&[
                ("Action", "AssumeRole"),
                ("RoleArn", arn),
                ("RoleSessionName", "cutover"),
                ("ExternalId", "nope"),
            ]),
            form(&[
                ("Action", "AssumeRole"),
                ("RoleArn", arn),
                ("RoleSessionName", "cutover"),
            ]),
            form(&[
                ("Action", "AssumeRole"),
                ("RoleArn", "arn:aws:iam::222222222222:role/other"),
                ("RoleSessionName", "cutover"),
                ("ExternalId", "ext-1"),
            ]),
        ] {
            let e = iam.assume_role(me(), &f).unwrap_err();
            assert_eq!((e.status, e.code.as_str()), (403, "AccessDenied"));
            assert!(e.message.contains("sts:AssumeRole"), "{}", e.message);
        }
        let (other_key, _) = account_keys("222222222222");
        let untrusted = iam.caller(&signed(&iam, &other_key, "sts", None), "sts");
        let ok_form = form(&[
            ("Action", "AssumeRole"),
            ("RoleArn", arn),
            ("RoleSessionName", "cutover"),
            ("ExternalId", "ext-1"),
        ]);
        assert_eq!(
            iam.assume_role(untrusted, &ok_form).unwrap_err().code,
            "AccessDenied"
        );
        // An unknown key never reaches the role.
        let unknown = iam.caller(&signed(&iam, "AKIAUNKNOWN", "sts", None), "sts");
        assert_eq!(
            iam.assume_role(unknown, &ok_form).unwrap_err().code,
            "InvalidClientTokenId"
        );
        // A known key signed with another secret never reaches the role either.
        let forged = iam.caller(
            &signed_with(crate::ACCESS_KEY_ID, "not/the/secret", "sts", None),
            "sts",
        );
        assert_eq!(
            iam.assume_role(forged, &ok_form).unwrap_err().code,
            "SignatureDoesNotMatch"
        );

        let xml = iam.assume_role(me(), &ok_form).unwrap();
        let key = field(&xml, "AccessKeyId").to_string();
        let token = field(&xml, "SessionToken").to_string();
        assert!(key.starts_with("ASIA"));
        assert!(field(&xml, "Arn").ends_with(":assumed-role/records/cutover"));
        let caller = iam
            .caller(&signed(&iam, &key, "route53", Some(&token)), "route53")
            .unwrap();
        assert_eq!(caller.account, "222222222222");
        // The temporary key with the right token but another secret: the signature differs.
        assert_eq!(
            iam.caller(
                &signed_with(&key, "not/the/secret", "route53", Some(&token)),
                "route53"
            )
            .unwrap_err()
            .code,
            "SignatureDoesNotMatch"
        );
        // Without the session token, or with another, the temporary key is refused.
        assert_eq!(
            iam.caller(&signed(&iam, &key, "route53", None), "route53")
                .unwrap_err()
                .code,
            "InvalidClientTokenId"
        );
        assert_eq!(
            iam.caller(&signed(&iam, &key, "route53", Some("forged")), "route53")
                .unwrap_err()
                .code,
            "InvalidClientTokenId"
        );
        // A signature scoped to another service is refused.
        assert_eq!(
            iam.caller(&signed(&iam, &key, "eks", Some(&token)), "route53")
                .unwrap_err()
                .code,
            "SignatureDoesNotMatch"
        );
        // No role chaining from temporary credentials.
        let chained = iam.caller(&signed(&iam, &key, "sts", Some(&token)), "sts");
        assert_eq!(
            iam.assume_role(chained, &ok_form).unwrap_err().code,
            "AccessDenied"
        );
        let calls = iam.assume_role_calls();
        assert_eq!(calls.iter().filter(|c| c.error.is_none()).count(), 1);
        assert!(calls
            .iter()
            .any(|c| c.error.as_deref() == Some("SignatureDoesNotMatch")));
        assert!(calls.iter().all(|c| !format!("{c:?}").contains("ext-1")));
        // Unsigned: MissingAuthenticationToken.
        let unsigned = SignedRequest::new(Method::POST, "/".parse().unwrap(), HeaderMap::new(), "");
        assert_eq!(
            iam.caller(&unsigned, "sts").unwrap_err().code,
            "MissingAuthenticationToken"
        );
    }
}
