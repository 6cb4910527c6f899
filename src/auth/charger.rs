//! Charger authentication on the OCPP WebSocket upgrade (OCPP 1.6 security profiles 1 and 2):
//! HTTP Basic with the charge point id as user and the charger's AuthorizationKey as password,
//! checked against its argon2id hash.
//!
//! The OCPP upgrade handler calls [`check_charger`] before accepting the WebSocket and answers
//! the error's response (401 with `WWW-Authenticate: Basic`) when it fails.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use ring::digest;

use crate::db::charger_security::ChargerCredentials;
use crate::db::{self, Db};

/// Which chargers must authenticate when their own setting says nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChargerAuthConfig {
    /// `EVCMS_CHARGER_AUTH_DEFAULT`.
    pub required_by_default: bool,
}

/// Why a charger is refused at the handshake.
#[derive(Debug, thiserror::Error)]
pub enum ChargerAuthError {
    #[error("the charger must authenticate and sent no HTTP Basic credentials")]
    MissingCredentials,
    #[error("the Authorization header is not valid HTTP Basic")]
    MalformedCredentials,
    #[error("the Basic user is not the charge point id of the URL")]
    WrongUser,
    #[error("the charger has no authorization key set")]
    NoKey,
    #[error("the authorization key does not match")]
    WrongKey,
    #[error("cannot read the charger's credentials: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Hash(#[from] super::password::HashError),
}

impl IntoResponse for ChargerAuthError {
    /// 401 with `WWW-Authenticate: Basic realm="evcms"`; when the database failed, what
    /// [`crate::error::ApiError`] makes of it (503 during an outage, else 500); 503 with
    /// `Retry-After` when password hashing is saturated.
    fn into_response(self) -> Response {
        match self {
            ChargerAuthError::Database(err) => {
                return crate::error::ApiError::from(err).into_response();
            }
            ChargerAuthError::Hash(err) => {
                return crate::error::ApiError::from(err).into_response();
            }
            _ => {}
        }
        let mut response = crate::error::ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "charger authentication failed",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"evcms\""),
        );
        response
    }
}

/// Checks the handshake of charger `charge_point_id` (already percent-decoded). When the charger
/// must authenticate (its own `auth_required`, else the global default), it needs HTTP Basic with
/// user = `charge_point_id` and its AuthorizationKey as password. Credentials sent by a charger
/// that need not authenticate are still checked: a wrong key is refused, never ignored.
/// Refusals are logged with the charger id and `remote` address, never the password.
pub async fn check_charger(
    db: &Db,
    config: &ChargerAuthConfig,
    charge_point_id: &str,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
) -> Result<(), ChargerAuthError> {
    let credentials = db::charger_security::credentials(db, charge_point_id).await;
    let credentials = credentials.map(Option::unwrap_or_default);
    check_credentials(
        credentials.map_err(ChargerAuthError::from),
        config,
        charge_point_id,
        headers,
        remote,
    )
    .await
}

/// [`check_charger`] with the charger's stored credentials already read (the OCPP handshake reads
/// them for many chargers at once), or the error reading them gave.
pub async fn check_credentials(
    credentials: Result<ChargerCredentials, ChargerAuthError>,
    config: &ChargerAuthConfig,
    charge_point_id: &str,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
) -> Result<(), ChargerAuthError> {
    let result = match credentials {
        Ok(credentials) => check(credentials, config, charge_point_id, headers).await,
        Err(e) => Err(e),
    };
    if let Err(err) = &result {
        let remote = remote.map(|a| a.to_string()).unwrap_or_default();
        tracing::warn!(charge_point_id, %remote, reason = %err, "charger refused at the handshake");
    }
    result
}

async fn check(
    credentials: ChargerCredentials,
    config: &ChargerAuthConfig,
    charge_point_id: &str,
    headers: &HeaderMap,
) -> Result<(), ChargerAuthError> {
    let required = credentials
        .auth_required
        .unwrap_or(config.required_by_default);
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return if required {
            Err(ChargerAuthError::MissingCredentials)
        } else {
            Ok(())
        };
    };
    let (user, password) = basic(value).ok_or(ChargerAuthError::MalformedCredentials)?;
    if user != charge_point_id {
        return Err(ChargerAuthError::WrongUser);
    }
    let Some(hash) = credentials.auth_key_hash else {
        // Spend the time of a verification all the same.
        super::password::verify_blocking(password, None).await?;
        return Err(ChargerAuthError::NoKey);
    };
    if VERIFIED.matches(charge_point_id, &hash, &password) {
        return Ok(());
    }
    if super::password::verify_blocking(password.clone(), Some(hash.clone())).await? {
        VERIFIED.remember(charge_point_id, &hash, &password);
        Ok(())
    } else {
        Err(ChargerAuthError::WrongKey)
    }
}

/// The user and password of an `Authorization: Basic` header.
fn basic(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Keys verified recently, so a reconnect storm does not cost one argon2 verification per
/// charger per reconnect. An entry holds the stored hash it was verified against (a new key
/// invalidates it) and a SHA-256 of the key, never the key itself.
static VERIFIED: VerifiedKeys = VerifiedKeys {
    entries: Mutex::new(None),
};

struct VerifiedKeys {
    entries: Mutex<Option<HashMap<String, (String, digest::Digest)>>>,
}

impl VerifiedKeys {
    fn matches(&self, charge_point_id: &str, hash: &str, password: &str) -> bool {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .as_ref()
            .and_then(|e| e.get(charge_point_id))
            .is_some_and(|(h, d)| {
                h == hash
                    && equal_in_constant_time(
                        d.as_ref(),
                        digest::digest(&digest::SHA256, password.as_bytes()).as_ref(),
                    )
            })
    }

    fn remember(&self, charge_point_id: &str, hash: &str, password: &str) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entries = entries.get_or_insert_with(HashMap::new);
        if entries.len() >= 100_000 {
            entries.clear();
        }
        entries.insert(
            charge_point_id.to_owned(),
            (
                hash.to_owned(),
                digest::digest(&digest::SHA256, password.as_bytes()),
            ),
        );
    }
}

fn equal_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `key` is an acceptable AuthorizationKey: 16 to 40 printable ASCII characters.
pub fn key_problem(key: &str) -> Option<&'static str> {
    if !(16..=40).contains(&key.len()) {
        Some("must be 16 to 40 characters")
    } else if !key.chars().all(|c| c.is_ascii_graphic()) {
        Some("must be printable ASCII without spaces")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_basic_credentials() {
        let value = HeaderValue::from_static("Basic Q1AtMTpzM2NyZXQ6d2l0aDpjb2xvbnM=");
        assert_eq!(
            basic(&value),
            Some(("CP-1".to_owned(), "s3cret:with:colons".to_owned()))
        );
        assert_eq!(basic(&HeaderValue::from_static("Bearer x")), None);
        assert_eq!(basic(&HeaderValue::from_static("Basic !!!")), None);
    }

    #[test]
    fn keys_are_16_to_40_printable_characters() {
        assert!(key_problem("0123456789abcdef").is_none());
        assert!(key_problem("short").is_some());
        assert!(key_problem("0123456789abcdef 0123").is_some());
        assert!(key_problem(&"k".repeat(41)).is_some());
    }
}
