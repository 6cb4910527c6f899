//! `/api/cms/sessions/{sessionId}/meter-values`: the meter values a charger sent during one
//! charging session (read-only).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{ListQuery, Page, PageQuery, QueryReader};
use crate::AppState;
use crate::auth::Caller;
use crate::db;
use crate::domain::meter_reading::MeterReading;
use crate::error::ApiResult;
use crate::error::docs::{ListErrors, ReadErrors};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_meter_values))
}

/// Filters of a session's meter values.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeterValueListQuery {
    /// Only values of this OCPP measurand, e.g. `Energy.Active.Import.Register`.
    #[param(max_length = 255, example = "Energy.Active.Import.Register")]
    measurand: Option<String>,
}

/// A session's meter values, in the order they were sampled.
#[utoipa::path(get, path = "/sessions/{sessionId}/meter-values", tag = "sessions",
    params(("sessionId" = String, Path, description = "The session's `session_id`"), PageQuery, MeterValueListQuery),
    responses((status = 200, body = Page<MeterReading>), ListErrors, ReadErrors))]
async fn list_meter_values(
    State(state): State<AppState>,
    caller: Caller,
    Path(session_id): Path<String>,
    ListQuery(paging): ListQuery<PageQuery>,
    ListQuery(q): ListQuery<MeterValueListQuery>,
) -> ApiResult<Json<Page<MeterReading>>> {
    let mut r = QueryReader::default();
    let measurand = r.text("measurand", q.measurand.as_deref());
    let page = r.page(&paging);
    r.finish()?;
    let session = super::sessions::visible_session(&state, &caller, &session_id).await?;
    let result =
        db::meter_values_read::list_of_session(&state.db, session.id, measurand.as_deref(), page)
            .await?;
    Ok(Json(Page::new(result, page, |m| m)))
}
