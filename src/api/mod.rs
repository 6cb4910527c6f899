//! The REST API under `/api/cms`, its OpenAPI description at `/api/openapi.json`, and the admin UI
//! files served at `/`.

pub mod auth;
pub mod charger_messages;
pub mod charger_records;
pub mod charger_security;
pub mod chargers;
pub mod commands;
pub mod customers;
pub mod dashboard;
pub mod events;
pub mod id_tags;
pub mod json;
pub mod meter_values;
pub mod openapi;
pub mod organizations;
pub mod points;
pub mod query;
pub mod session_actions;
pub mod sessions;
pub mod station_images;
pub mod stations;
pub mod tariffs;
pub mod users;
pub mod validate;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{ApiError, ErrorBody, Problem};
use crate::{AppState, Config};

#[derive(OpenApi)]
#[openapi(
    info(title = "evcms API", description = "Charging stations, charging points, tariffs, customers with wallets, and charging sessions."),
    components(schemas(
        ErrorBody,
        Problem,
        crate::domain::ocpp_enums::ResetType,
        crate::domain::ocpp_enums::AvailabilityType,
        crate::domain::ocpp_enums::MessageTrigger,
        crate::domain::ocpp_enums::UpdateType,
        crate::domain::ocpp_enums::ChargingProfilePurposeType,
        crate::events::facts::ChargerConnection, crate::events::facts::ChargerBooted,
        crate::events::facts::ConnectorStatus, crate::events::facts::SessionStarted,
        crate::events::facts::SessionUpdated, crate::events::facts::SessionStopped,
        crate::events::facts::CommandAnswered, crate::events::facts::ReservationChanged,
        crate::events::facts::Resync,
    )),
    tags(
        (name = "organizations", description = "Operators that own stations"),
        (name = "stations", description = "Charging stations: sites with an address, hours and contacts"),
        (name = "points", description = "Charging points (chargers) of a station, with their connectors"),
        (name = "tariffs", description = "Prices per kWh and tax"),
        (name = "customers", description = "Customers and their prepaid wallets"),
        (name = "sessions", description = "Charging sessions"),
        (name = "id-tags", description = "OCPP idTags (RFID cards, app tokens) that charge to a customer's wallet"),
        (name = "auth", description = "Log in, refresh, log out: the bearer token every /api/cms route needs"),
        (name = "users", description = "Operator accounts (admins only)"),
        (name = "chargers", description = "Chargers as they connect over OCPP, the points that adopted them, and their credentials"),
        (name = "dashboard", description = "The operators' landing figures and chart series, aggregated in SQL"),
        (name = "events", description = "The live event stream (server-sent events) the admin UI follows"),
        (name = "commands", description = "Remote commands to chargers (the 19 central-system operations of OCPP 1.6) and what they changed: reservations, local lists, charging profiles, configuration, firmware, diagnostics"),
    )
)]
struct ApiDoc;

/// The whole HTTP application: REST API, OpenAPI document, health check and admin UI.
pub fn router(state: AppState, config: &Config) -> Router {
    let (cms, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/cms", cms_routes())
        .nest("/api/auth", auth::routes())
        .split_for_parts();
    let openapi = Arc::new(openapi::document(&openapi));
    let static_files = ServeDir::new(&config.public_dir)
        .append_index_html_on_directories(true)
        .call_fallback_on_method_not_allowed(true)
        .not_found_service(axum::handler::HandlerWithoutStateExt::into_service(
            not_found,
        ));
    let app = Router::new()
        .merge(cms)
        .route(
            "/api/openapi.json",
            get(move || async move { Json(openapi.clone()) }),
        )
        .route("/api/health", get(health))
        .route("/files/{*key}", get(station_images::serve_file))
        .route("/api/ready", get(ready))
        .merge(crate::ocpp::routes())
        .merge(crate::commands::files::routes());
    // Off the public port when EVCMS_METRICS_BIND names another (see `App::build`).
    let app = if config.metrics_bind.is_none() {
        app.route("/metrics", get(crate::telemetry::render))
    } else {
        app
    };
    let app = app
        .route_layer(axum::middleware::from_fn(crate::telemetry::track_http))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback_service(static_files)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::guard,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::middleware::from_fn(no_control_characters_in_path));
    let image_origin = state.files.storage.browser_origin();
    let mut app = with_security_headers(app, image_origin.as_deref());
    if let Some(cors) = cors(config) {
        app = app.layer(cors);
    }
    app.layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal("a request handler panicked").into_response()
        }))
        .with_state(state)
}

fn cms_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(organizations::routes())
        .merge(stations::routes())
        .merge(points::routes())
        .merge(tariffs::routes())
        .merge(customers::routes())
        .merge(sessions::routes())
        .merge(session_actions::routes())
        .merge(station_images::routes())
        .merge(id_tags::routes())
        .merge(chargers::routes())
        .merge(charger_messages::routes())
        .merge(commands::routes())
        .merge(dashboard::routes())
        .merge(charger_records::routes())
        .merge(meter_values::routes())
        .merge(users::routes())
        .merge(charger_security::routes())
        .merge(events::routes())
}

/// Headers on every answer, the admin UI's included: no MIME sniffing, no framing, no referrer,
/// and a content security policy that lets the UI load only its own files, and images from the
/// file store's origin too when that is S3 (`image_origin`).
fn with_security_headers(router: Router<AppState>, image_origin: Option<&str>) -> Router<AppState> {
    let policy = format!(
        "default-src 'self'; img-src 'self' data:{}; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        image_origin.map(|o| format!(" {o}")).unwrap_or_default()
    );
    let policy = HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
    let headers = [
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::CONTENT_SECURITY_POLICY, policy),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(name, value))
    })
}

/// CORS for the origins of `EVCMS_CORS_ORIGINS`; with none, no CORS headers at all (browsers then
/// allow only the admin UI's own origin).
fn cors(config: &Config) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = config
        .security
        .cors_origins()
        .iter()
        .filter_map(|origin| match HeaderValue::from_str(origin) {
            Ok(value) => Some(value),
            Err(_) => {
                tracing::warn!(
                    origin,
                    "EVCMS_CORS_ORIGINS: ignoring an origin that is not a valid header value"
                );
                None
            }
        })
        .collect();
    (!origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .max_age(std::time::Duration::from_secs(3600))
    })
}

/// Liveness: 200 while the process serves requests, whatever the database does (an orchestrator
/// must not restart every node during a database outage; readiness, `/api/ready`, takes them out
/// of the load balancer instead). The body says whether the database answered within a second,
/// for people and the admin UI: `status` is `ok` or `degraded`.
async fn health(State(state): State<AppState>) -> Response {
    let reachable = matches!(
        tokio::time::timeout(
            std::time::Duration::from_secs(1),
            crate::db::ping(&state.db)
        )
        .await,
        Ok(Ok(()))
    );
    if !reachable {
        tracing::warn!("health check: the database did not answer within a second");
    }
    Json(serde_json::json!({
        "status": if reachable { "ok" } else { "degraded" },
        "database": state.db.backend().name(),
        "database_reachable": reachable,
    }))
    .into_response()
}

/// Readiness for load balancers and orchestrators: the database answers, every migration of this
/// build is applied, and the meter-sample writer drains its queue. 503 naming what is not ready.
async fn ready(State(state): State<AppState>) -> Response {
    let database = crate::db::ping(&state.db).await.is_ok();
    let migrations = database && state.db.migrations_applied().await.unwrap_or(false);
    let writer = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        state.ocpp.samples.flush(),
    )
    .await
    .is_ok();
    let body = serde_json::json!({
        "status": if database && migrations && writer { "ready" } else { "not_ready" },
        "database": database,
        "migrations": migrations,
        "sample_writer": writer,
    });
    let status = if database && migrations && writer {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// 404 for a path with a percent-encoded control character (`%00`...): no record or charger id
/// holds one, and PostgreSQL refuses a NUL in text, so such a segment must not reach a query.
async fn no_control_characters_in_path(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if has_encoded_control_character(request.uri().path()) {
        return ApiError::not_found("no such resource").into_response();
    }
    next.run(request).await
}

fn has_encoded_control_character(path: &str) -> bool {
    path.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && std::str::from_utf8(&w[1..])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .is_some_and(|byte| byte < 0x20 || byte == 0x7f)
    })
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such resource")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this resource does not accept that method",
    )
}

/// A path segment that must be a record's numeric id; anything else names no record (404).
pub fn record_id(segment: &str, what: &str) -> Result<i64, ApiError> {
    segment
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(format!("no {what} {segment:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_percent_encoded_control_characters_in_a_path() {
        assert!(has_encoded_control_character("/api/cms/id-tags/A%00B"));
        assert!(has_encoded_control_character("/api/cms/tariffs/%1f"));
        assert!(has_encoded_control_character("/ocpp/CP%7F"));
        assert!(!has_encoded_control_character(
            "/api/cms/id-tags/A%20B%C3%A4"
        ));
        assert!(!has_encoded_control_character("/api/cms/stations/100%"));
    }
}
