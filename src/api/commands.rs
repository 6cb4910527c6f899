//! `/api/cms/chargers/{chargePointId}/commands/{Action}`: an operator sends a charger one of OCPP
//! 1.6's 19 central-system operations and gets the command's record with the charger's answer;
//! the command log of a charger; one command by id. See `crate::commands`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::chargers::visible_charger;
use super::json::JsonObject;
use super::query::{ListQuery, Page, PageQuery, QueryReader};
use crate::AppState;
use crate::auth::Caller;
use crate::commands::action::Action;
use crate::commands::{CommandError, Order, Requester};
use crate::db;
use crate::domain::command::{COMMAND_STATUSES, Command};
use crate::error::docs::{CommandErrors, ListErrors, ReadErrors};
use crate::error::{ApiError, ApiResult};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_command))
        .routes(routes!(list_commands))
        .routes(routes!(get_command))
}

/// Send a charger a command: `Action` is the OCPP action, the body its request payload as the
/// OCPP 1.6 specification names the fields (camelCase), checked before anything is sent. The
/// answer is the command's record, with the charger's payload in `response`.
///
/// evcms helps with OCPP's bookkeeping: a RemoteStartTransaction's `idTag` is judged like an
/// Authorize first (409 `id_tag_refused`); RemoteStopTransaction takes `sessionId` instead of
/// `transactionId`; ReserveNow gets its `reservationId` from evcms; SendLocalList without
/// `localAuthorizationList` sends the customers' id tags (Full, or what changed: Differential)
/// and numbers the version; UpdateFirmware takes `firmwareId` (an uploaded image) instead of
/// `location`; GetDiagnostics without `location` has the charger upload to evcms.
///
/// Errors: 404 unknown charger, 409 `charger_offline`, 422 a bad payload or action, 502
/// `charger_error` (the charger's CALLERROR, in `error.command.error`) or
/// `charger_disconnected`, 503 `charger_busy`, 504 `charger_timeout`. Viewers get 403.
#[utoipa::path(post, path = "/chargers/{chargePointId}/commands/{action}", tag = "commands",
    request_body(content = Object, description = "The OCPP request payload", example = json!({"type": "Soft"})),
    params(
        ("chargePointId" = String, Path, description = "The OCPP charge point id"),
        ("action" = String, Path, description = "The OCPP action", example = "Reset"),
    ),
    responses((status = 200, body = Command), CommandErrors))]
async fn send_command(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((charge_point_id, action)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Command>> {
    let action = Action::parse(&action).ok_or_else(|| {
        ApiError::field(
            "action",
            format!("{action:?} is not one of OCPP 1.6's central-system operations"),
        )
    })?;
    visible_charger(&state, &caller, &charge_point_id).await?;
    let order = Order {
        charge_point_id,
        action,
        body,
        requested_by: Requester::User(caller.id()),
        request_origin: origin(&headers),
    };
    state
        .ocpp
        .commands
        .send(order)
        .await
        .map(Json)
        .map_err(answer_of)
}

/// Filters of a charger's command log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommandListQuery {
    /// Only commands of this OCPP action.
    #[param(max_length = 50, example = "Reset")]
    action: Option<String>,
    /// Only commands that ended so: Pending, Answered, CallError, Timeout, Offline, Busy,
    /// Disconnected.
    #[param(example = "Answered")]
    status: Option<String>,
}

/// A charger's commands, newest first: who sent what, and how the charger answered.
#[utoipa::path(get, path = "/chargers/{chargePointId}/commands", tag = "commands",
    params(("chargePointId" = String, Path, description = "The OCPP charge point id"), PageQuery, CommandListQuery),
    responses((status = 200, body = Page<Command>), ListErrors, ReadErrors))]
async fn list_commands(
    State(state): State<AppState>,
    caller: Caller,
    Path(charge_point_id): Path<String>,
    ListQuery(paging): ListQuery<PageQuery>,
    ListQuery(q): ListQuery<CommandListQuery>,
) -> ApiResult<Json<Page<Command>>> {
    let mut r = QueryReader::default();
    let filter = db::commands::CommandFilter {
        action: r.text("action", q.action.as_deref()),
        status: r.parse("status", q.status.as_deref(), |v| {
            COMMAND_STATUSES
                .contains(&v)
                .then(|| v.to_owned())
                .ok_or_else(|| format!("must be one of {}", COMMAND_STATUSES.join(", ")))
        }),
    };
    let page = r.page(&paging);
    r.finish()?;
    visible_charger(&state, &caller, &charge_point_id).await?;
    let result = db::commands::list(&state.db, &charge_point_id, &filter, page).await?;
    Ok(Json(Page::new(result, page, Command::from)))
}

/// One command by id.
#[utoipa::path(get, path = "/commands/{id}", tag = "commands",
    params(("id" = i64, Path, description = "The command's id")),
    responses((status = 200, body = Command), ReadErrors))]
async fn get_command(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Command>> {
    let not_found = || ApiError::not_found(format!("no command {id}"));
    let row = db::commands::find(&state.db, id)
        .await?
        .ok_or_else(not_found)?;
    visible_charger(&state, &caller, &row.charge_point_id)
        .await
        .map_err(|_| not_found())?;
    Ok(Json(row.into()))
}

/// The origin the operator reached evcms at, for locations chargers download from or upload to
/// when `EVCMS_PUBLIC_URL` is not set.
fn origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| matches!(*p, "http" | "https"))
        .unwrap_or("http");
    Some(format!("{scheme}://{host}"))
}

/// The HTTP answer to each way a command can fail.
pub fn answer_of(error: CommandError) -> ApiError {
    match error {
        CommandError::Invalid(bad) => {
            let field = if bad.field.is_empty() {
                "body".to_owned()
            } else {
                bad.field
            };
            ApiError::field(field, bad.message)
        }
        CommandError::Refused { code, message } => {
            ApiError::new(StatusCode::CONFLICT, code, message)
        }
        CommandError::NotFound(what) => ApiError::not_found(what),
        CommandError::Database(e) => ApiError::from(e),
        CommandError::Unanswered(record) => {
            let (status, code, message) = match record.status.as_str() {
                "Offline" => (
                    StatusCode::CONFLICT,
                    "charger_offline",
                    "the charger is not connected".to_owned(),
                ),
                "Busy" => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "charger_busy",
                    "too many commands are waiting for this charger; retry shortly".to_owned(),
                ),
                "Timeout" => (
                    StatusCode::GATEWAY_TIMEOUT,
                    "charger_timeout",
                    "the charger did not answer in time".to_owned(),
                ),
                "Disconnected" => (
                    StatusCode::BAD_GATEWAY,
                    "charger_disconnected",
                    "the charger disconnected before answering".to_owned(),
                ),
                _ => {
                    let (code, description) = record
                        .error
                        .as_ref()
                        .map(|e| (e.code.as_str(), e.description.as_str()))
                        .unwrap_or(("GenericError", ""));
                    (
                        StatusCode::BAD_GATEWAY,
                        "charger_error",
                        format!("the charger answered with a CALLERROR {code}: {description}"),
                    )
                }
            };
            let mut error = ApiError::new(status, code, message);
            if status == StatusCode::SERVICE_UNAVAILABLE {
                error.retry_after = Some(1);
            }
            error.command = Some(record);
            error
        }
    }
}
