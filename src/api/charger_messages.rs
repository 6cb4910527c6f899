//! `/api/cms/chargers/{chargePointId}/messages`: the OCPP message log of one charger, every frame
//! in and out (see `ocpp::message_log`), for the operator who asks what a charger said and what
//! evcms answered.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::chargers::visible_charger;
use super::query::{ListQuery, Page, PageQuery, QueryReader, range_end, range_start};
use crate::AppState;
use crate::auth::Caller;
use crate::db::{self, filter::Sort};
use crate::domain::charger::LoggedMessage;
use crate::error::ApiResult;
use crate::error::docs::{ListErrors, ReadErrors};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_messages))
}

/// Filters and order of a charger's message log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageListQuery {
    /// `at` (oldest first) or `-at` (newest first, the default).
    #[param(pattern = "^-?at$")]
    sort: Option<String>,
    /// Only frames of this OCPP action (a reply carries the action of the CALL it answers).
    #[param(max_length = 50, example = "StartTransaction")]
    action: Option<String>,
    /// Logged on or after this date (YYYY-MM-DD) or time (RFC 3339).
    #[param(format = Date)]
    from: Option<String>,
    /// Logged on or before this date or time.
    #[param(format = Date)]
    to: Option<String>,
}

const SORTS: &[(&str, &str)] = &[("at", "id")];

/// A charger's OCPP frames, in and out, secrets masked. Heartbeats are kept only when
/// `EVCMS_MESSAGE_LOG_HEARTBEATS` is on; frames older than `EVCMS_MESSAGE_LOG_DAYS` are pruned.
#[utoipa::path(get, path = "/chargers/{chargePointId}/messages", tag = "chargers",
    params(("chargePointId" = String, Path, description = "The OCPP charge point id"), PageQuery, MessageListQuery),
    responses((status = 200, body = Page<LoggedMessage>), ListErrors, ReadErrors))]
async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(charge_point_id): Path<String>,
    ListQuery(paging): ListQuery<PageQuery>,
    ListQuery(q): ListQuery<MessageListQuery>,
) -> ApiResult<Json<Page<LoggedMessage>>> {
    let mut r = QueryReader::default();
    let filter = db::ocpp_messages::MessageFilter {
        action: r.text("action", q.action.as_deref()),
        from: r.parse("from", q.from.as_deref(), range_start),
        to: r.parse("to", q.to.as_deref(), range_end),
    };
    let page = r.page(&paging);
    // Frames are numbered as they are logged: the id orders them exactly, times may tie.
    let sort = r.sort(q.sort.as_deref(), SORTS, Sort::new("id", true, "id"));
    r.finish()?;
    visible_charger(&state, &caller, &charge_point_id).await?;
    let result = db::ocpp_messages::list(&state.db, &charge_point_id, &filter, &sort, page).await?;
    Ok(Json(Page::new(result, page, |m| m)))
}
