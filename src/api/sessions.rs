//! `/api/cms/sessions`: charging sessions, as recorded from the chargers (read-only here).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{ListQuery, Page, PageQuery, QueryReader, range_end, range_start, record_id};
use crate::AppState;
use crate::auth::Caller;
use crate::db::{self, filter::Sort};
use crate::domain::enums::SessionStatus;
use crate::domain::session::Session;
use crate::error::docs::{ListErrors, ReadErrors};
use crate::error::{ApiError, ApiResult};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(get_session))
}

/// Filters and paging of the session list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionListQuery {
    /// `start_time` (default `-start_time`), `billed_amount`, `energy_wh`; `-` for descending.
    /// Unknown amounts and energy sort before every known one.
    #[param(pattern = "^-?(start_time|billed_amount|energy_wh)$")]
    sort: Option<String>,
    /// `Active`, `Completed` or `Cancelled`.
    #[param(value_type = Option<SessionStatus>)]
    status: Option<String>,
    /// The customer's id.
    #[param(value_type = Option<i64>, minimum = 1)]
    customer_id: Option<String>,
    /// The charging point's id.
    #[param(value_type = Option<i64>, minimum = 1)]
    charging_point_id: Option<String>,
    /// The `station_id` of the point's station.
    #[param(max_length = 255)]
    station_id: Option<String>,
    /// Started on or after this date (YYYY-MM-DD) or time (RFC 3339).
    #[param(format = Date)]
    start_from: Option<String>,
    /// Started on or before this date or time.
    #[param(format = Date)]
    start_to: Option<String>,
    /// Case-insensitive text in the session id or the idTag.
    #[param(max_length = 255)]
    search: Option<String>,
}

/// Nullable sort keys are read with unknown as -1, so both databases put them first ascending.
const SORTS: &[(&str, &str)] = &[
    ("start_time", "cs.start_time"),
    ("billed_amount", "COALESCE(cs.billed_amount, -1)"),
    ("energy_wh", "COALESCE(cs.energy_wh, -1)"),
];

/// List charging sessions.
#[utoipa::path(get, path = "/sessions", tag = "sessions", params(PageQuery, SessionListQuery),
    responses((status = 200, body = Page<Session>), ListErrors))]
async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
    ListQuery(paging): ListQuery<PageQuery>,
    ListQuery(q): ListQuery<SessionListQuery>,
) -> ApiResult<Json<Page<Session>>> {
    let mut r = QueryReader::default();
    let filter = db::sessions::SessionFilter {
        status: r.parse("status", q.status.as_deref(), SessionStatus::parse),
        customer_id: r.parse("customer_id", q.customer_id.as_deref(), record_id),
        charging_point_id: r.parse(
            "charging_point_id",
            q.charging_point_id.as_deref(),
            record_id,
        ),
        station_id: r.text("station_id", q.station_id.as_deref()),
        start_from: r.parse("start_from", q.start_from.as_deref(), range_start),
        start_to: r.parse("start_to", q.start_to.as_deref(), range_end),
        search: r.text("search", q.search.as_deref()),
        scope: caller.scope().map(str::to_owned),
    };
    let page = r.page(&paging);
    let sort = r.sort(
        q.sort.as_deref(),
        SORTS,
        Sort::new("cs.start_time", true, "cs.id"),
    );
    r.finish()?;
    let result = db::sessions::list(&state.db, &filter, &sort, page).await?;
    Ok(Json(Page::new(result, page, |s| s)))
}

/// One charging session, by its `session_id`.
#[utoipa::path(get, path = "/sessions/{sessionId}", tag = "sessions",
    params(("sessionId" = String, Path, description = "The session's `session_id`")),
    responses((status = 200, body = Session), ReadErrors))]
async fn get_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(session_id): Path<String>,
) -> ApiResult<Json<Session>> {
    visible_session(&state, &caller, &session_id)
        .await
        .map(Json)
}

/// The session `session_id` if the caller may see it; another organization's session is 404,
/// exactly like a missing one.
pub async fn visible_session(
    state: &AppState,
    caller: &Caller,
    session_id: &str,
) -> ApiResult<Session> {
    let not_found = || ApiError::not_found(format!("no session {session_id:?}"));
    let session = db::sessions::find(&state.db, session_id)
        .await?
        .ok_or_else(not_found)?;
    if !caller.sees_station(&state.db, &session.station_id).await? {
        return Err(not_found());
    }
    Ok(session)
}
