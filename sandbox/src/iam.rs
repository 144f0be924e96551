//! Accounts, roles and STS `AssumeRole`: each account has its own long-term access key; a role
//! lives in one account and trusts some accounts, optionally requiring an external id; the
//! temporary credentials `AssumeRole` issues act in the role's account only. Route53 and EKS ask
//! [`Iam::caller`] which account signed a request.
//!
//! A request is checked as the sandbox checks every AWS request: `AWS4-HMAC-SHA256`, a
//! credential scope whose service is the one called, a known access key, and for temporary
//! credentials the session token issued with them (`X-Amz-Security-Token`, itself signed). The
//! signature bytes are not recomputed. Temporary credentials expire on the real clock (the SDK
//! caches them on it).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::route53::ApiError;

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
        };
        iam.add_account(DEFAULT_ACCOUNT);
        iam
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
    /// AWS refuses: no signature → `MissingAuthenticationToken`; an unknown key, or temporary
    /// credentials without their session token → `InvalidClientTokenId`; an expired session →
    /// `ExpiredToken`.
    pub fn caller(&self, headers: &HeaderMap, service: &str) -> Result<Caller, ApiError> {
        let missing = || {
            ApiError::new(
                403,
                "MissingAuthenticationToken",
                "Missing Authentication Token",
            )
        };
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(missing)?;
        let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(missing)?;
        let credential = rest
            .split(',')
            .map(str::trim)
            .find_map(|part| part.strip_prefix("Credential="))
            .ok_or_else(missing)?;
        let signed_headers = rest
            .split(',')
            .map(str::trim)
            .find_map(|part| part.strip_prefix("SignedHeaders="))
            .unwrap_or_default();
        let mut scope = credential.split('/');
        let access_key_id = scope.next().unwrap_or_default();
        let scope_service = scope.nth(2).unwrap_or_default();
        let invalid = || {
            ApiError::new(
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            )
        };
        if scope_service != service {
            return Err(ApiError::new(
                403,
                "SignatureDoesNotMatch",
                format!("Credential should be scoped to correct service: '{service}'."),
            ));
        }
        let token = headers
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok());
        let state = self.lock();
        let key = state.keys.get(access_key_id).ok_or_else(invalid)?;
        match &key.session {
            None => Ok(Caller {
                account: key.account.clone(),
                principal: format!("arn:aws:iam::{}:root", key.account),
            }),
            Some((issued, assumed_arn, expiry)) => {
                let token_signed = signed_headers
                    .split(';')
                    .any(|h| h == "x-amz-security-token");
                if token != Some(issued.as_str()) || !token_signed {
                    return Err(invalid());
                }
                if *expiry <= SystemTime::now() {
                    return Err(ApiError::new(
                        403,
                        "ExpiredToken",
                        "The security token included in the request is expired",
                    ));
                }
                Ok(Caller {
                    account: key.account.clone(),
                    principal: assumed_arn.clone(),
                })
            }
        }
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

async fn sts(State(iam): State<Iam>, headers: HeaderMap, body: Bytes) -> Response {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let caller = iam.caller(&headers, "sts");
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

    fn signed(key: &str, service: &str, token: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        let signed = if token.is_some() {
            "host;x-amz-date;x-amz-security-token"
        } else {
            "host;x-amz-date"
        };
        h.insert(
            header::AUTHORIZATION,
            format!("AWS4-HMAC-SHA256 Credential={key}/20261201/us-east-1/{service}/aws4_request, SignedHeaders={signed}, Signature=00")
                .parse()
                .unwrap(),
        );
        if let Some(t) = token {
            h.insert("x-amz-security-token", t.parse().unwrap());
        }
        h
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
        let me = || iam.caller(&signed(crate::ACCESS_KEY_ID, "sts", None), "sts");
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
        let untrusted = iam.caller(&signed(&other_key, "sts", None), "sts");
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
        let unknown = iam.caller(&signed("AKIAUNKNOWN", "sts", None), "sts");
        assert_eq!(
            iam.assume_role(unknown, &ok_form).unwrap_err().code,
            "InvalidClientTokenId"
        );

        let xml = iam.assume_role(me(), &ok_form).unwrap();
        let key = field(&xml, "AccessKeyId").to_string();
        let token = field(&xml, "SessionToken").to_string();
        assert!(key.starts_with("ASIA"));
        assert!(field(&xml, "Arn").ends_with(":assumed-role/records/cutover"));
        let caller = iam
            .caller(&signed(&key, "route53", Some(&token)), "route53")
            .unwrap();
        assert_eq!(caller.account, "222222222222");
        // Without the session token, or with another, the temporary key is refused.
        assert_eq!(
            iam.caller(&signed(&key, "route53", None), "route53")
                .unwrap_err()
                .code,
            "InvalidClientTokenId"
        );
        assert_eq!(
            iam.caller(&signed(&key, "route53", Some("forged")), "route53")
                .unwrap_err()
                .code,
            "InvalidClientTokenId"
        );
        // A signature scoped to another service is refused.
        assert_eq!(
            iam.caller(&signed(&key, "eks", Some(&token)), "route53")
                .unwrap_err()
                .code,
            "SignatureDoesNotMatch"
        );
        // No role chaining from temporary credentials.
        let chained = iam.caller(&signed(&key, "sts", Some(&token)), "sts");
        assert_eq!(
            iam.assume_role(chained, &ok_form).unwrap_err().code,
            "AccessDenied"
        );
        let calls = iam.assume_role_calls();
        assert_eq!(calls.iter().filter(|c| c.error.is_none()).count(), 1);
        assert!(calls.iter().all(|c| !format!("{c:?}").contains("ext-1")));
        // Unsigned: MissingAuthenticationToken.
        assert_eq!(
            iam.caller(&HeaderMap::new(), "sts").unwrap_err().code,
            "MissingAuthenticationToken"
        );
    }
}
