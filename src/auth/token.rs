//! Access tokens: JSON Web Tokens signed with HMAC-SHA256 (HS256), written and checked here with
//! `ring`'s HMAC (constant-time comparison). Only `{"alg":"HS256","typ":"JWT"}` is accepted, so
//! `alg: none` and algorithm confusion have nowhere to go.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use serde::{Deserialize, Serialize};

use crate::domain::user::Role;

/// What a token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id, as a string (JWT convention).
    pub sub: String,
    pub role: Role,
    /// The organization the user is bound to; None = every organization.
    pub org: Option<String>,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
    /// A random id of this token.
    pub jti: String,
    /// The user's token version when the token was issued; a later bump revokes the token.
    pub tv: i64,
}

/// Why a token is refused. All of them answer the same 401; the kind is for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm is not HS256")]
    Algorithm,
    #[error("the token's signature does not match")]
    Signature,
    #[error("the token has expired")]
    Expired,
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Signs and checks tokens with one secret.
#[derive(Clone)]
pub struct TokenKey {
    key: hmac::Key,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(***)")
    }
}

impl TokenKey {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// The compact JWT for `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let tag = hmac::sign(&self.key, signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The claims of `token` if its signature is ours and it has not expired at `now` (seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| TokenError::Malformed)?;
        let header: serde_json::Value =
            serde_json::from_slice(&header).map_err(|_| TokenError::Malformed)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(TokenError::Algorithm);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let signing_input_len = token.len() - token.rsplit('.').next().map_or(0, str::len) - 1;
        hmac::verify(
            &self.key,
            &token.as_bytes()[..signing_input_len],
            &signature,
        )
        .map_err(|_| TokenError::Signature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "7".into(),
            role: Role::Operator,
            org: Some("massive_mobility".into()),
            iat: 1_000,
            exp,
            jti: "abc".into(),
            tv: 3,
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let key = TokenKey::new(b"0123456789abcdef0123456789abcdef");
        let token = key.sign(&claims(2_000));
        assert_eq!(key.verify(&token, 1_500), Ok(claims(2_000)));
        assert_eq!(key.verify(&token, 2_000), Err(TokenError::Expired));
    }

    #[test]
    fn tampered_foreign_and_unsigned_tokens_are_refused() {
        let key = TokenKey::new(b"0123456789abcdef0123456789abcdef");
        let token = key.sign(&claims(2_000));
        let other = TokenKey::new(b"another secret of thirty-two bytes!");
        assert_eq!(other.verify(&token, 1_500), Err(TokenError::Signature));

        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut admin = claims(2_000);
        admin.role = Role::Admin;
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&admin).unwrap());
        assert_eq!(
            key.verify(&parts.join("."), 1_500),
            Err(TokenError::Signature)
        );

        parts[0] = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        parts[2] = String::new();
        assert_eq!(
            key.verify(&parts.join("."), 1_500),
            Err(TokenError::Algorithm)
        );
        assert_eq!(key.verify("garbage", 1_500), Err(TokenError::Malformed));
    }
}
