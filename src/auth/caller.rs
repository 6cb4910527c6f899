//! Who calls: the bearer token checked against the user's current row, the role rule of
//! `/api/cms`, and the organization scope handlers filter by.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::db;
use crate::domain::user::{Role, UserRow};
use crate::error::ApiError;

/// The signed-in user of a request, as its row says now (not as its token said): a role change,
/// a deactivation or a logout takes effect at the next request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserRow,
}

impl Caller {
    pub fn id(&self) -> i64 {
        self.user.id
    }

    pub fn role(&self) -> Role {
        self.user.role
    }

    /// The organization the caller is limited to; None = every organization.
    pub fn scope(&self) -> Option<&str> {
        self.user.organization.as_deref()
    }

    /// Whether the caller may see rows of organization `organization`.
    pub fn sees(&self, organization: &str) -> bool {
        self.scope().is_none_or(|own| own == organization)
    }

    /// Whether the caller may see station `station_id` and what hangs from it (points,
    /// sessions, chargers). A station that does not exist is not seen either.
    pub async fn sees_station(&self, db: &db::Db, station_id: &str) -> Result<bool, ApiError> {
        match self.scope() {
            None => Ok(true),
            Some(own) => Ok(db::stations::organization_of(db, station_id)
                .await?
                .is_some_and(|org| org == own)),
        }
    }

    /// 403 unless the caller is an admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.user.role == Role::Admin {
            Ok(())
        } else {
            Err(forbidden("only an admin may do this"))
        }
    }
}

/// 401 with `WWW-Authenticate: Bearer`: no token, or one that is not (or no longer) valid.
pub fn unauthorized(message: &str) -> Response {
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"evcms\""),
    );
    response
}

/// 403: the caller is known but its role does not allow this.
pub fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

/// The bearer token of `headers`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The caller named by the bearer token of `headers`, checked against its user row.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, Response> {
    let Some(token) = bearer(headers) else {
        return Err(unauthorized(
            "sign in first: send Authorization: Bearer <token> from POST /api/auth/login",
        ));
    };
    let claims = state.auth.verify(token).map_err(|err| {
        tracing::debug!(%err, "token refused");
        unauthorized("the token is not valid or has expired; sign in again")
    })?;
    let Ok(id) = claims.sub.parse::<i64>() else {
        return Err(unauthorized("the token is not valid; sign in again"));
    };
    let user = db::users::find(&state.db, id)
        .await
        .map_err(|err| ApiError::from(err).into_response())?;
    match user {
        Some(user) if user.active && user.token_version == claims.tv => Ok(Caller { user }),
        _ => Err(unauthorized(
            "the token has been revoked or its user disabled; sign in again",
        )),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    /// The caller [`guard`] already checked, or the bearer token checked now (for routes outside
    /// `/api/cms`, such as `/api/auth/me`).
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        authenticate(state, &parts.headers).await
    }
}

/// Whether `path` is under `/api/cms`, the routes that need a token.
fn protected(path: &str) -> bool {
    path == "/api/cms" || path.starts_with("/api/cms/")
}

/// The role rule: viewers read, operators also write, admins also manage users and
/// organizations.
fn allowed(role: Role, method: &Method, path: &str) -> Result<(), ApiError> {
    let reading = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let admin_area = path == "/api/cms/users"
        || path.starts_with("/api/cms/users/")
        || (path.starts_with("/api/cms/organizations") && !reading);
    match role {
        Role::Admin => Ok(()),
        _ if admin_area => Err(forbidden(
            "only an admin may manage users and organizations",
        )),
        Role::Operator => Ok(()),
        Role::Viewer if reading => Ok(()),
        Role::Viewer => Err(forbidden("a viewer may only read")),
    }
}

/// The middleware in front of every route: under `/api/cms` it asks for a valid token (401),
/// applies the role rule (403) and hands the [`Caller`] to the handler.
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if !protected(&path) {
        return next.run(request).await;
    }
    let caller = match authenticate(&state, request.headers()).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    if let Err(err) = allowed(caller.role(), request.method(), &path) {
        return err.into_response();
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_allow_what_they_should() {
        let get = Method::GET;
        let post = Method::POST;
        assert!(allowed(Role::Viewer, &get, "/api/cms/stations").is_ok());
        assert!(allowed(Role::Viewer, &post, "/api/cms/stations").is_err());
        assert!(allowed(Role::Operator, &Method::DELETE, "/api/cms/stations/S").is_ok());
        assert!(allowed(Role::Operator, &get, "/api/cms/users").is_err());
        assert!(allowed(Role::Operator, &get, "/api/cms/organizations").is_ok());
        assert!(allowed(Role::Operator, &post, "/api/cms/organizations").is_err());
        assert!(allowed(Role::Admin, &post, "/api/cms/users").is_ok());
        assert!(protected("/api/cms"));
        assert!(protected("/api/cms/anything"));
        assert!(!protected("/api/cmsx"));
        assert!(!protected("/api/auth/login"));
    }

    #[test]
    fn reads_the_bearer_token() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer abc.def.ghi".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc.def.ghi"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
