//! Credentials per target: a zone or a cluster that names a role (`role_arn`, `external_id`) is
//! reached with that role's temporary credentials, obtained through `aws-config`'s
//! `AssumeRoleProvider` (STS `AssumeRole`, session name `cutover`) and cached until shortly
//! before they expire, for as long as the clients live (a warm Lambda keeps them across
//! invocations). Everything else uses the function's own credentials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use futures::future::BoxFuture;

use crate::observe::route53::{RecordSink, Route53Api, Route53Error, SdkRoute53};
use cutover_core::config::{AssumeRole, Config, ROLE_SESSION_NAME};
use cutover_core::route53::model::{ChangeBatch, ChangeInfo, ChangeStatus};

/// Cached credentials are renewed this long before they expire, so that none expires while a
/// tick uses it.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// Why a role's credentials could not be had. Names the role, never a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot assume role {role}: {reason}")]
pub struct RoleError {
    pub role: String,
    pub reason: String,
}

/// One role's credentials: assumed on first use, then served from the cache until
/// [`REFRESH_BEFORE_EXPIRY`] before they expire.
pub struct RoleCredentials {
    role: AssumeRole,
    sts: aws_config::SdkConfig,
    provider: tokio::sync::OnceCell<AssumeRoleProvider>,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for RoleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The role only: never the credentials, nor the external id.
        f.debug_struct("RoleCredentials")
            .field("role", &self.role.arn)
            .finish_non_exhaustive()
    }
}

impl RoleCredentials {
    /// `sts`: the SDK config the STS client is built from (region, endpoint, and the function's
    /// own credentials that call `AssumeRole`).
    pub fn new(role: AssumeRole, sts: aws_config::SdkConfig) -> Self {
        RoleCredentials {
            role,
            sts,
            provider: tokio::sync::OnceCell::new(),
            cached: tokio::sync::Mutex::new(None),
        }
    }

    pub fn role(&self) -> &AssumeRole {
        &self.role
    }

    /// The role's credentials: the cached ones while fresh, else a new `AssumeRole`.
    pub async fn get(&self) -> Result<Credentials, RoleError> {
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref() {
            if is_fresh(credentials, SystemTime::now()) {
                return Ok(credentials.clone());
            }
        }
        let provider = self
            .provider
            .get_or_init(|| {
                let mut builder = AssumeRoleProvider::builder(self.role.arn.clone())
                    .session_name(ROLE_SESSION_NAME)
                    .configure(&self.sts);
                if let Some(id) = &self.role.external_id {
                    builder = builder.external_id(id.clone());
                }
                builder.build()
            })
            .await;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| RoleError {
                role: self.role.arn.clone(),
                reason: aws_sdk_route53::error::DisplayErrorContext(&e).to_string(),
            })?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }
}

/// Whether credentials can still be used for a while at `now` (none without an expiry expire).
pub fn is_fresh(credentials: &Credentials, now: SystemTime) -> bool {
    credentials
        .expiry()
        .is_none_or(|expiry| expiry > now + REFRESH_BEFORE_EXPIRY)
}

/// [`RoleCredentials`] as the SDK clients take a credentials provider.
#[derive(Debug, Clone)]
pub struct RoleProvider(pub Arc<RoleCredentials>);

impl ProvideCredentials for RoleProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.0.get().await.map_err(CredentialsError::provider_error)
        })
    }
}

/// The roles' credentials and Route53 clients, shared by every context built on the same
/// clients, so that each role is assumed once per lifetime of its credentials.
pub struct Accounts {
    route53: aws_config::SdkConfig,
    sts: aws_config::SdkConfig,
    route53_requests_per_second: f64,
    roles: Mutex<HashMap<AssumeRole, Arc<RoleClients>>>,
}

/// A role's cached credentials, the one SDK provider every client of the role is built with,
/// and its Route53 client (built on first use: a cluster's role never needs one).
struct RoleClients {
    credentials: Arc<RoleCredentials>,
    /// One per role: the SDK's identity cache keeps a partition per provider, and clients built
    /// on clones of it share that partition instead of adding one per client.
    provider: SharedCredentialsProvider,
    route53: OnceLock<Arc<SdkRoute53>>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

impl Accounts {
    /// `route53`: the SDK config Route53 clients are built from (endpoint, region); `sts`: the
    /// one STS clients are built from, whose credentials call `AssumeRole`. Each role's Route53
    /// client has its own rate limiter of `route53_requests_per_second`: Route53's limit is per
    /// account.
    pub fn new(
        route53: aws_config::SdkConfig,
        sts: aws_config::SdkConfig,
        route53_requests_per_second: f64,
    ) -> Self {
        Accounts {
            route53,
            sts,
            route53_requests_per_second,
            roles: Mutex::new(HashMap::new()),
        }
    }

    fn entry(&self, role: &AssumeRole) -> Arc<RoleClients> {
        let mut roles = self.roles.lock().unwrap_or_else(|e| e.into_inner());
        roles
            .entry(role.clone())
            .or_insert_with(|| {
                let credentials = Arc::new(RoleCredentials::new(role.clone(), self.sts.clone()));
                let provider = SharedCredentialsProvider::new(RoleProvider(credentials.clone()));
                Arc::new(RoleClients {
                    credentials,
                    provider,
                    route53: OnceLock::new(),
                })
            })
            .clone()
    }

    fn route53_client(&self, role: &RoleClients) -> Arc<SdkRoute53> {
        role.route53
            .get_or_init(|| {
                let mut config = aws_sdk_route53::config::Builder::from(&self.route53);
                config.set_credentials_provider(Some(role.provider.clone()));
                let client = aws_sdk_route53::Client::from_conf(config.build());
                Arc::new(SdkRoute53::new(client, self.route53_requests_per_second))
            })
            .clone()
    }

    /// The role's cached credentials, and the provider to build an SDK client of the role with.
    pub fn credentials(
        &self,
        role: &AssumeRole,
    ) -> (Arc<RoleCredentials>, SharedCredentialsProvider) {
        let entry = self.entry(role);
        (entry.credentials.clone(), entry.provider.clone())
    }

    /// Route53 for `config`'s zones: each zone with a role through that role's client, the
    /// others through `default`.
    pub fn route53(&self, config: &Config, default: Arc<dyn Route53Api>) -> ZoneRoute53 {
        let zones = config
            .zones
            .iter()
            .filter_map(|zone| {
                let role = zone.role.as_ref()?;
                let entry = self.entry(role);
                let route = ZoneRoute {
                    credentials: entry.credentials.clone(),
                    api: self.route53_client(&entry) as Arc<dyn Route53Api>,
                };
                Some((zone.id.clone(), route))
            })
            .collect();
        ZoneRoute53 {
            default,
            zones,
            changes: Mutex::new(HashMap::new()),
        }
    }
}

#[derive(Clone)]
struct ZoneRoute {
    credentials: Arc<RoleCredentials>,
    api: Arc<dyn Route53Api>,
}

/// [`Route53Api`] routed by zone: a zone's calls go through its role's client, and a change is
/// followed (GetChange) through the client that made it. A refusal (the role cannot be
/// assumed, or `AccessDenied`) becomes [`Route53Error::AccessDenied`], naming the zone and the
/// role; when the role cannot be assumed, nothing is sent to Route53.
pub struct ZoneRoute53 {
    default: Arc<dyn Route53Api>,
    zones: HashMap<String, ZoneRoute>,
    /// Change id → the client that made it, until it is seen INSYNC.
    changes: Mutex<HashMap<String, Arc<dyn Route53Api>>>,
}

/// A bound on the changes followed at once (a change is forgotten when seen INSYNC).
const MAX_FOLLOWED_CHANGES: usize = 10_000;

impl ZoneRoute53 {
    fn route(&self, zone_id: &str) -> Option<&ZoneRoute> {
        self.zones.get(zone_id.trim_start_matches("/hostedzone/"))
    }

    fn who(route: Option<&ZoneRoute>) -> String {
        match route {
            Some(r) => format!("role {}", r.credentials.role().arn),
            None => "the function's own credentials".to_string(),
        }
    }

    /// The zone's client, once its role's credentials are had.
    async fn api_for(&self, zone_id: &str) -> Result<Arc<dyn Route53Api>, Route53Error> {
        match self.route(zone_id) {
            None => Ok(self.default.clone()),
            Some(route) => match route.credentials.get().await {
                Ok(_) => Ok(route.api.clone()),
                Err(e) => Err(Route53Error::AccessDenied {
                    zone: zone_id.to_string(),
                    role: Self::who(Some(route)),
                    reason: e.reason,
                }),
            },
        }
    }

    fn name_refusal(&self, zone_id: &str, error: Route53Error) -> Route53Error {
        match error {
            Route53Error::Other { code, message } if code == "AccessDenied" => {
                Route53Error::AccessDenied {
                    zone: zone_id.to_string(),
                    role: Self::who(self.route(zone_id)),
                    reason: format!("{code}: {message}"),
                }
            }
            other => other,
        }
    }

    async fn list_into(&self, zone_id: &str, sink: RecordSink<'_>) -> Result<usize, Route53Error> {
        let api = self.api_for(zone_id).await?;
        api.list_records_into(zone_id, sink)
            .await
            .map_err(|e| self.name_refusal(zone_id, e))
    }

    async fn change_zone(
        &self,
        zone_id: &str,
        batch: &ChangeBatch,
    ) -> Result<ChangeInfo, Route53Error> {
        let api = self.api_for(zone_id).await?;
        let info = api
            .change(zone_id, batch)
            .await
            .map_err(|e| self.name_refusal(zone_id, e))?;
        let mut changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        if changes.len() >= MAX_FOLLOWED_CHANGES {
            changes.clear();
        }
        changes.insert(info.id.clone(), api);
        Ok(info)
    }

    async fn follow(&self, change_id: &str) -> Result<ChangeStatus, Route53Error> {
        let api = self
            .changes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(change_id)
            .cloned()
            .unwrap_or_else(|| self.default.clone());
        let status = api.get_change(change_id).await?;
        if status == ChangeStatus::Insync {
            self.changes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(change_id);
        }
        Ok(status)
    }
}

impl Route53Api for ZoneRoute53 {
    fn list_records_into<'a>(
        &'a self,
        zone_id: &'a str,
        sink: RecordSink<'a>,
    ) -> BoxFuture<'a, Result<usize, Route53Error>> {
        Box::pin(self.list_into(zone_id, sink))
    }

    fn change<'a>(
        &'a self,
        zone_id: &'a str,
        batch: &'a ChangeBatch,
    ) -> BoxFuture<'a, Result<ChangeInfo, Route53Error>> {
        Box::pin(self.change_zone(zone_id, batch))
    }

    fn get_change<'a>(
        &'a self,
        change_id: &'a str,
    ) -> BoxFuture<'a, Result<ChangeStatus, Route53Error>> {
        Box::pin(self.follow(change_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_fresh_until_shortly_before_they_expire() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let expiring = |in_secs: u64| {
            Credentials::new(
                "AKID",
                "secret",
                Some("token".into()),
                Some(now + Duration::from_secs(in_secs)),
                "test",
            )
        };
        assert!(is_fresh(&expiring(3600), now));
        assert!(is_fresh(&expiring(301), now));
        assert!(!is_fresh(&expiring(300), now));
        assert!(!is_fresh(&expiring(0), now));
        assert!(is_fresh(
            &Credentials::new("AKID", "secret", None, None, "test"),
            now
        ));
    }

    /// A Route53 that names itself in change ids and records which change ids it was asked for.
    struct Fake {
        name: &'static str,
        deny: bool,
        asked: Mutex<Vec<String>>,
    }

    impl Fake {
        fn new(name: &'static str, deny: bool) -> Arc<Fake> {
            Arc::new(Fake {
                name,
                deny,
                asked: Mutex::new(Vec::new()),
            })
        }
        fn asked(&self) -> Vec<String> {
            self.asked.lock().unwrap().clone()
        }
    }

    impl Route53Api for Fake {
        fn list_records_into<'a>(
            &'a self,
            _zone_id: &'a str,
            _sink: RecordSink<'a>,
        ) -> BoxFuture<'a, Result<usize, Route53Error>> {
            let result = if self.deny {
                Err(Route53Error::Other {
                    code: "AccessDenied".into(),
                    message: "User: someone is not authorized".into(),
                })
            } else {
                Ok(0)
            };
            Box::pin(async move { result })
        }
        fn change<'a>(
            &'a self,
            _zone_id: &'a str,
            _batch: &'a ChangeBatch,
        ) -> BoxFuture<'a, Result<ChangeInfo, Route53Error>> {
            let id = format!("C-{}", self.name);
            Box::pin(async move {
                Ok(ChangeInfo {
                    id,
                    status: ChangeStatus::Pending,
                })
            })
        }
        fn get_change<'a>(
            &'a self,
            change_id: &'a str,
        ) -> BoxFuture<'a, Result<ChangeStatus, Route53Error>> {
            self.asked.lock().unwrap().push(change_id.to_string());
            Box::pin(async move { Ok(ChangeStatus::Insync) })
        }
    }

    /// A role whose credentials are already cached (no STS call).
    fn cached_role(arn: &str) -> Arc<RoleCredentials> {
        let role = AssumeRole::new(arn, None).unwrap();
        let credentials = RoleCredentials::new(role, aws_config::SdkConfig::builder().build());
        *credentials.cached.try_lock().unwrap() = Some(Credentials::new(
            "ASIA",
            "secret",
            Some("t".into()),
            None,
            "test",
        ));
        Arc::new(credentials)
    }

    #[tokio::test]
    async fn each_zone_goes_through_its_role_and_a_change_is_followed_where_it_was_made() {
        let default = Fake::new("default", true);
        let role_api = Fake::new("role", false);
        let arn = "arn:aws:iam::222222222222:role/cutover-records";
        let routed = ZoneRoute53 {
            default: default.clone(),
            zones: HashMap::from([(
                "ZROLE".to_string(),
                ZoneRoute {
                    credentials: cached_role(arn),
                    api: role_api.clone(),
                },
            )]),
            changes: Mutex::new(HashMap::new()),
        };
        let batch = ChangeBatch {
            comment: None,
            changes: Vec::new(),
        };
        assert!(routed.list_records("/hostedzone/ZROLE").await.is_ok());
        let info = routed.change("ZROLE", &batch).await.unwrap();
        assert_eq!(info.id, "C-role");
        assert_eq!(
            routed.get_change("C-role").await.unwrap(),
            ChangeStatus::Insync
        );
        assert_eq!(role_api.asked(), vec!["C-role"]);
        // Seen INSYNC, it is forgotten; an unknown change goes to the default client.
        routed.get_change("C-role").await.unwrap();
        assert_eq!(default.asked(), vec!["C-role"]);
        // A refusal names the zone and who was refused.
        let denied = routed.list_records("ZOTHER").await.unwrap_err();
        assert_eq!(
            denied,
            Route53Error::AccessDenied {
                zone: "ZOTHER".into(),
                role: "the function's own credentials".into(),
                reason: "AccessDenied: User: someone is not authorized".into(),
            }
        );
        assert!(!denied.is_transient());
        assert!(!denied.change_may_have_applied());
        // The role's Debug shows the role, never a credential.
        let shown = format!("{:?}", cached_role(arn));
        assert!(shown.contains(arn) && !shown.contains("secret"), "{shown}");
    }
}
