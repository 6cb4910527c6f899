//! What remote commands changed on a charger, as evcms keeps it: reservations, the local
//! authorization list, charging profiles, the configuration as last read, firmware updates and
//! diagnostics uploads; and the firmware images operators upload for chargers to download.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::chargers::visible_charger;
use crate::AppState;
use crate::auth::Caller;
use crate::commands::files;
use crate::db::{self, firmware::Diagnostics, firmware::FirmwareFile, firmware::FirmwareUpdate};
use crate::domain::command::{ChargingProfileRecord, ConfigurationKey, LocalList, Reservation};
use crate::error::docs::{ReadErrors, WriteErrors};
use crate::error::{ApiError, ApiResult};

/// Largest firmware image an operator may upload.
const MAX_FIRMWARE_BYTES: usize = 128 * 1024 * 1024;

pub fn routes() -> OpenApiRouter<AppState> {
    // Images are far larger than the API's body limit.
    let upload = OpenApiRouter::new()
        .routes(routes!(upload_firmware))
        .layer(DefaultBodyLimit::max(MAX_FIRMWARE_BYTES));
    OpenApiRouter::new()
        .routes(routes!(reservations))
        .routes(routes!(local_list))
        .routes(routes!(charging_profiles))
        .routes(routes!(configuration))
        .routes(routes!(firmware_updates))
        .routes(routes!(diagnostics))
        .routes(routes!(diagnostics_file))
        .routes(routes!(list_firmware))
        .merge(upload)
}

/// A charger's reservations, newest first (the last 100): a reservation's id is the OCPP
/// `reservationId`; an accepted one past its expiry shows `Expired`.
#[utoipa::path(get, path = "/chargers/{chargePointId}/reservations", tag = "commands",
    params(("chargePointId" = String, Path, description = "The OCPP charge point id")),
    responses((status = 200, body = Vec<Reservation>), ReadErrors))]
async fn reservations(
    State(state): State<AppState>,
    caller: Caller,
    Path(charge_point_id): Path<String>,
) -> ApiResult<Json<Vec<Reservation>>> {
    visible_charger(&state, &caller, &charge_point_id).await?;
    Ok(Json(
        db::reservations::of_charger(&state.db, &charge_point_id, 100).await?,
    ))
}

/// The local authorization list the charger accepted last, what it last reported
/// (GetLocalListVersion), and how many entries the customers' id tags have changed since.
#[utoipa::path(get, path = "/chargers/{chargePointId}/local-list", tag = "commands",
    params(("chargePointId" = String, Path, description = "The OCPP charge point id")),
    responses((status = 200, body = LocalList), ReadErrors))]
async fn local_list(
    State(state): State<AppState>,
    caller: Caller,
    Path(charge_point_id): Path<String>,
) -> ApiResult<Json<LocalList>> {
    visible_charger(&state, &caller, &charge_point_id).await?;
    let header = db::local_lists::state(&state.db, &charge_point_id).await?;
    let entries = db::local_lists::entries(&state.db, &charge_point_id).await?;
    let wanted = db::local_lists::wanted_entries(&state.db, db::now()).await?;
    let (upserts, removals) = db::local_lists::difference(&entries, wanted);
    Ok(Json(LocalList {
        charge_point_id,
        version: header.version,
        sent_at: header.sent_at,
        reported_version: header.reported_version,
        reported_at: header.reported_at,
        in_sync: header.reported_version.map(|v| v == header.version),
        pending_changes: upserts.len() + removals.len(),
        entries,
    }))
}

/// The charging profiles in force on a charger (set, not cleared, not past `validTo`).
#[utoipa::path(get, path = "/chargers/{chargePointId}/charging-profiles", tag = "commands",
    params(("chargePointId" = String, Path, description = "The OCPP charge point id")),
    responses((status = 200, body = Vec<ChargingProfileRecord>), ReadErrors))]
async fn charging_profiles(
    State(state): State<AppState>,
    caller: Caller,
    Path(charge_point_id): Path<String>,
) -> ApiResult<Json<Vec<ChargingProfileRecord>>> {
    visible_charger(&state, &caller, &charge_point_id).await?;
    Ok(Json(
        db::charger_settings::profiles(&state.db, &charge_point_id, db::now()).await?,
    ))
}

/// A charger's configuration as last read (GetConfiguration) or changed (an accepted
/// ChangeConfiguration); keys the charger does not have are `Unknown`.
#[utoipa::path(get, path = "/chargers/{chargePointId}/configuration", tag = "commands",
    params(("chargePointId" = String, Path, description = "The OCPP charge point id")),
    responses((status = 200, body = Vec<ConfigurationKey>), ReadErrors))]
async fn configuration(
    State(state): State<AppState>,
    caller: Caller,
    Path(charge_point_id): Path<String>,
) -> ApiResult<Json<Vec<ConfigurationKey>>> {
    visible_charger(&state, &caller, &charge_point_id).await?;
    Ok(Json(
        db::charger_settings::configuration(&state.db, &charge_point_id).await?,
    ))
}

/// A charger's firmware updates with their progress, newest first.
#[utoipa::path(get, path = "/chargers/{chargePointId}/firmware-updates", tag = "commands",
    params(("chargePointId" = String, Path, description = "The OCPP charge point id")),
    responses((status = 200, body = Vec<FirmwareUpdate>), ReadErrors))]
async fn firmware_updates(
    State(state): State<AppState>,
    caller: Caller,
    Path(charge_point_id): Path<String>,
) -> ApiResult<Json<Vec<FirmwareUpdate>>> {
    visible_charger(&state, &caller, &charge_point_id).await?;
    Ok(Json(
        db::firmware::updates(&state.db, &charge_point_id).await?,
    ))
}

/// A charger's diagnostics requests with their progress, newest first; `Received` ones can be
/// downloaded.
#[utoipa::path(get, path = "/chargers/{chargePointId}/diagnostics", tag = "commands",
    params(("chargePointId" = String, Path, description = "The OCPP charge point id")),
    responses((status = 200, body = Vec<Diagnostics>), ReadErrors))]
async fn diagnostics(
    State(state): State<AppState>,
    caller: Caller,
    Path(charge_point_id): Path<String>,
) -> ApiResult<Json<Vec<Diagnostics>>> {
    visible_charger(&state, &caller, &charge_point_id).await?;
    Ok(Json(
        db::firmware::diagnostics(&state.db, &charge_point_id).await?,
    ))
}

/// The diagnostics file a charger uploaded.
#[utoipa::path(get, path = "/diagnostics/{id}/file", tag = "commands",
    params(("id" = i64, Path, description = "The diagnostics request's id")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), ReadErrors))]
async fn diagnostics_file(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found(format!("no diagnostics file for request {id}"));
    let request = db::firmware::diagnostics_by_id(&state.db, id)
        .await?
        .ok_or_else(not_found)?;
    visible_charger(&state, &caller, &request.charge_point_id)
        .await
        .map_err(|_| not_found())?;
    let (Some(key), Some(name)) = (&request.storage_key, &request.file_name) else {
        return Err(not_found());
    };
    let bytes = state
        .files
        .storage
        .get(key)
        .await
        .map_err(|_| ApiError::not_found("the file is missing from the store"))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, bytes).into_response())
}

/// The firmware images uploaded, newest first.
#[utoipa::path(get, path = "/firmware", tag = "commands",
    responses((status = 200, body = Vec<FirmwareFile>)))]
async fn list_firmware(State(state): State<AppState>) -> ApiResult<Json<Vec<FirmwareFile>>> {
    Ok(Json(db::firmware::files(&state.db).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FirmwareUploadQuery {
    /// The image's file name (letters, digits, `.`, `-`, `_` are kept).
    #[param(example = "mm-fw-3.5.0.bin")]
    file_name: String,
}

/// Upload a firmware image (the raw bytes as the body, at most 128 MiB); an UpdateFirmware command
/// naming its id as `firmwareId` has the charger download it from evcms.
#[utoipa::path(post, path = "/firmware", tag = "commands",
    params(FirmwareUploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FirmwareFile), WriteErrors))]
async fn upload_firmware(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<FirmwareUploadQuery>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<FirmwareFile>)> {
    if body.is_empty() {
        return Err(ApiError::field(
            "body",
            "must be the firmware image's bytes",
        ));
    }
    let name = files::sanitized(&q.file_name);
    let token = files::new_token();
    let key = format!("firmware/{token}/{name}");
    let size = i64::try_from(body.len()).unwrap_or(i64::MAX);
    state
        .files
        .storage
        .put(&key, body.to_vec(), "application/octet-stream")
        .await
        .map_err(ApiError::internal)?;
    let file =
        db::firmware::insert_file(&state.db, &name, size, &key, &token, caller.id(), db::now())
            .await?;
    Ok((StatusCode::CREATED, Json(file)))
}
