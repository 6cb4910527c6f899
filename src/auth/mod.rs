//! Authentication and authorization: operator accounts and their tokens, the roles and
//! organization scope every `/api/cms` request runs under, login rate limiting, charger
//! credentials (OCPP security profiles 1 and 2) and TLS termination.
//!
//! [`Auth`] is built once at start-up ([`Auth::start`]): it loads or generates the token secret
//! and creates the first admin account of a fresh database. [`guard`] is the middleware in front of
//! `/api/cms`; [`Caller`] is the extractor handlers use to know who calls.

pub mod accounts;
pub mod caller;
pub mod charger;
pub mod cli;
pub mod config;
pub mod limiter;
pub mod password;
pub mod proxies;
pub mod tls;
pub mod token;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

pub use caller::{Caller, guard};
pub use charger::{ChargerAuthConfig, ChargerAuthError, check_charger, check_credentials};
use config::SecurityConfig;
use limiter::LoginLimiter;
use token::{Claims, TokenKey};

use crate::db::{self, Db};
use crate::domain::contact::Email;
use crate::domain::user::{Role, UserRow};
use accounts::{CreateUserError, NewUser, NewUserRefusal, create_user};

/// The authentication state shared by every request; cheap to clone.
#[derive(Clone, Debug)]
pub struct Auth(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    key: TokenKey,
    ttl: Duration,
    limiter: LoginLimiter,
    charger: ChargerAuthConfig,
    trusted_proxies: Vec<proxies::Network>,
}

/// Why authentication could not be set up at start-up.
#[derive(Debug, thiserror::Error)]
pub enum AuthStartError {
    #[error("EVCMS_JWT_SECRET must be at least 32 bytes long")]
    ShortSecret,
    #[error("EVCMS_JWT_TTL must be between 60 and 2592000 seconds (30 days)")]
    Ttl,
    #[error("EVCMS_ADMIN_PASSWORD is too weak: it {0}")]
    WeakAdminPassword(String),
    #[error("EVCMS_ADMIN_EMAIL {0:?} is not an e-mail address")]
    AdminEmail(String),
    #[error("cannot set up authentication: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot hash the admin password: {0}")]
    Hash(String),
    #[error("cannot create the admin account: {0}")]
    AdminRefused(NewUserRefusal),
}

/// The key under which a generated token secret is kept in `settings`.
const SECRET_SETTING: &str = "jwt_secret";

impl Auth {
    /// Loads (or generates and stores) the token secret and creates the first admin account when
    /// the database has never had a user.
    pub async fn start(db: &Db, config: &SecurityConfig) -> Result<Self, AuthStartError> {
        if !(60..=2_592_000).contains(&config.jwt_ttl) {
            return Err(AuthStartError::Ttl);
        }
        let secret = match &config.jwt_secret {
            Some(secret) if secret.len() < 32 => return Err(AuthStartError::ShortSecret),
            Some(secret) => secret.clone(),
            None => {
                let generated = password::random_secret(48);
                db::users::setting_or_insert(db, SECRET_SETTING, &generated, db::now()).await?
            }
        };
        create_first_admin(db, config).await?;
        Ok(Self(Arc::new(Inner {
            key: TokenKey::new(secret.as_bytes()),
            ttl: Duration::from_secs(config.jwt_ttl),
            limiter: LoginLimiter::for_database(db),
            trusted_proxies: config
                .trusted_proxies
                .clone()
                .map(|p| p.0)
                .unwrap_or_default(),
            charger: ChargerAuthConfig {
                required_by_default: config.charger_auth_default,
            },
        })))
    }

    /// A token for `user`, and when it expires.
    pub fn issue(&self, user: &UserRow) -> (String, chrono::DateTime<Utc>) {
        let now = Utc::now();
        let expires = now + self.0.ttl;
        let claims = Claims {
            sub: user.id.to_string(),
            role: user.role,
            org: user.organization.clone(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
            jti: password::random_secret(12),
            tv: user.token_version,
        };
        (self.0.key.sign(&claims), expires)
    }

    /// The claims of `token`, if it is ours and unexpired.
    pub fn verify(&self, token: &str) -> Result<Claims, token::TokenError> {
        self.0.key.verify(token, Utc::now().timestamp())
    }

    /// How long a token lives.
    pub fn ttl(&self) -> Duration {
        self.0.ttl
    }

    pub fn limiter(&self) -> &LoginLimiter {
        &self.0.limiter
    }

    /// The client's address, behind the trusted proxies (see [`proxies`]).
    pub fn client_address(
        &self,
        peer: std::net::IpAddr,
        headers: &axum::http::HeaderMap,
    ) -> std::net::IpAddr {
        proxies::client_address(peer, headers, &self.0.trusted_proxies)
    }

    /// Which chargers must authenticate, for [`check_charger`].
    pub fn charger(&self) -> &ChargerAuthConfig {
        &self.0.charger
    }
}

/// Creates the admin account on a database that has never had a user. Its password is
/// `EVCMS_ADMIN_PASSWORD`, or a generated one printed here, once.
async fn create_first_admin(db: &Db, config: &SecurityConfig) -> Result<(), AuthStartError> {
    if db::users::count_all(db).await? > 0 {
        return Ok(());
    }
    let email = Email::parse(&config.admin_email)
        .map_err(|_| AuthStartError::AdminEmail(config.admin_email.trim().to_lowercase()))?;
    let (password, generated) = match &config.admin_password {
        Some(p) => (p.clone(), false),
        None => (password::generate(), true),
    };
    let new = NewUser {
        email,
        name: "Administrator".to_owned(),
        role: Role::Admin,
        organization: None,
        active: true,
        password: password.clone(),
    };
    let email = match create_user(db, new).await {
        Ok(user) => user.email,
        // Another node starting on the same fresh database created it first.
        Err(CreateUserError::Refused(NewUserRefusal::EmailTaken)) => return Ok(()),
        Err(CreateUserError::Refused(NewUserRefusal::WeakPassword(problem))) => {
            return Err(AuthStartError::WeakAdminPassword(problem));
        }
        Err(CreateUserError::Refused(refusal)) => {
            return Err(AuthStartError::AdminRefused(refusal));
        }
        Err(CreateUserError::Hash(err)) => return Err(AuthStartError::Hash(err.to_string())),
        Err(CreateUserError::Database(err)) => return Err(err.into()),
    };
    if generated {
        tracing::warn!(
            "created the admin account {email} with the password {password} (shown only this once): log in with it and change it"
        );
    } else {
        tracing::info!(
            "created the admin account {email} with the password from EVCMS_ADMIN_PASSWORD"
        );
    }
    Ok(())
}
