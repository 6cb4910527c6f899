//! `/api/auth`: log in (a token for an e-mail and password), refresh, log out, who am I, and
//! change one's own password. Every answer carries `Cache-Control: no-store`.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::{JsonObject, from_value};
use crate::AppState;
use crate::auth::{Caller, password};
use crate::db;
use crate::domain::user::{User, UserFields, UserRow};
use crate::error::{ApiError, ApiResult, ErrorBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// An e-mail and password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    #[schema(example = "admin@evcms.local")]
    pub email: String,
    #[schema(example = "correct horse battery staple")]
    pub password: String,
}

/// A token and who it is for.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenAnswer {
    /// Send it as `Authorization: Bearer <token>`.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: u64,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// A change of one's own password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 12 characters mixing two kinds (lowercase, uppercase, digits, others), not the
    /// e-mail address.
    pub new_password: String,
}

/// What the authentication routes can answer besides success.
#[derive(utoipa::IntoResponses)]
pub enum AuthErrors {
    /// The body is not valid JSON.
    #[response(status = 400)]
    Malformed(ErrorBody),
    /// Wrong e-mail or password, or no valid token.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// Fields are missing or invalid.
    #[response(status = 422)]
    Invalid(ErrorBody),
    /// Too many failed logins for this account or address; see `Retry-After`.
    #[response(status = 429)]
    TooMany(ErrorBody),
    /// Too many passwords being checked at once (`busy`); see `Retry-After`.
    #[response(status = 503)]
    Busy(ErrorBody),
}

fn token_answer(state: &AppState, user: &UserRow) -> TokenAnswer {
    let (token, expires_at) = state.auth.issue(user);
    TokenAnswer {
        token,
        token_type: "Bearer",
        expires_in: state.auth.ttl().as_secs(),
        expires_at,
        user: User::from(user),
    }
}

fn wrong_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "wrong e-mail or password",
    )
}

/// Log in: a token for an e-mail and password. Failed attempts are limited per account (5) and
/// per address (20) in 15 minutes; past that the answer is 429 with `Retry-After`.
#[utoipa::path(post, path = "/login", tag = "auth", request_body = LoginInput,
    responses((status = 200, body = TokenAnswer), AuthErrors))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<TokenAnswer>> {
    let input: LoginInput = from_value(body.into())?;
    let email = input.email.trim().to_lowercase();
    let address = state.auth.client_address(remote.ip(), &headers);
    // The limit is applied before any hashing, and again once a hashing slot is ours: requests
    // queued behind a flood see the failures counted while they waited.
    too_many_attempts(&state, &email, address).await?;
    let user = db::users::find_by_email(&state.db, &email).await?;
    let slot = password::slot().await.inspect_err(|_| {
        tracing::warn!(%email, %address, "login refused: password hashing is saturated");
    })?;
    too_many_attempts(&state, &email, address).await?;
    let matches = password::verify_in(
        slot,
        input.password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
    match user {
        Some(user) if matches && user.active => {
            state.auth.limiter().succeeded(&email).await;
            db::users::touch_login(&state.db, user.id, db::now()).await?;
            tracing::info!(%email, %address, "logged in");
            Ok(Json(token_answer(&state, &user)))
        }
        _ => {
            state.auth.limiter().failed(&email, address).await;
            tracing::info!(%email, %address, "login refused: wrong e-mail or password, or inactive account");
            Err(wrong_credentials())
        }
    }
}

/// 429 with `Retry-After` when `email` or `address` failed too often lately.
async fn too_many_attempts(state: &AppState, email: &str, address: IpAddr) -> ApiResult<()> {
    match state.auth.limiter().check(email, address).await? {
        Ok(()) => Ok(()),
        Err(wait) => {
            tracing::warn!(%email, %address, "login refused: too many failed attempts");
            Err(ApiError {
                retry_after: Some(wait.as_secs()),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    "too many failed logins; try again later",
                )
            })
        }
    }
}

/// A fresh token for the bearer of a valid one (before it expires).
#[utoipa::path(post, path = "/refresh", tag = "auth",
    responses((status = 200, body = TokenAnswer), AuthErrors))]
async fn refresh(State(state): State<AppState>, caller: Caller) -> Json<TokenAnswer> {
    Json(token_answer(&state, &caller.user))
}

/// Log out: every token of this user stops working, on every device.
#[utoipa::path(post, path = "/logout", tag = "auth",
    responses((status = 204, description = "Logged out"), AuthErrors))]
async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    db::users::revoke_tokens(&state.db, caller.id(), db::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/me", tag = "auth", responses((status = 200, body = User), AuthErrors))]
async fn me(caller: Caller) -> Json<User> {
    Json(User::from(&caller.user))
}

/// Change one's own password; every earlier token stops working, and a new one is given.
#[utoipa::path(put, path = "/password", tag = "auth", request_body = PasswordChange,
    responses((status = 200, body = TokenAnswer), AuthErrors))]
async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<TokenAnswer>> {
    let input: PasswordChange = from_value(body.into())?;
    let user = caller.user;
    if !password::verify_blocking(input.current_password, Some(user.password_hash.clone())).await? {
        return Err(ApiError::field("current_password", "is not your password"));
    }
    if let Some(problem) = password::weakness(&input.new_password, user.email.as_str()) {
        return Err(ApiError::field("new_password", problem));
    }
    let fields = UserFields {
        email: user.email.clone(),
        name: user.name.clone(),
        password_hash: password::hash_blocking(input.new_password).await?,
        role: user.role,
        organization: user.organization.clone(),
        active: user.active,
    };
    let mut tx = state.db.begin().await?;
    let updated = db::users::update(&mut tx, user.id, &fields, true, db::now())
        .await?
        .ok_or_else(|| ApiError::not_found("no such user"))?;
    tx.commit().await?;
    Ok(Json(token_answer(&state, &updated)))
}
