//! `/api/cms/stations/{stationId}/images`: pictures of a station (the roadmap's image upload),
//! kept in the object store (`crate::storage`), and `/files/{key}` where evcms serves them itself
//! when the store is the local disk.
//!
//! An upload is either `multipart/form-data` (its first file part) or the raw image as the body.
//! Its type is read from the bytes (JPEG, PNG, WebP); it is re-encoded without metadata and given
//! a thumbnail (`crate::images`). The objects are written first and the row last, in one
//! transaction; if anything fails the objects are removed again, so a failed upload leaves no row
//! and no object.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::{JsonObject, from_value};
use super::validate::{In, read, whole};
use crate::AppState;
use crate::auth::Caller;
use crate::db::{self, station_images};
use crate::domain::station::Station;
use crate::domain::station_image::StationImage;
use crate::error::docs::{DeleteErrors, ReadErrors, WriteErrors};
use crate::error::{ApiError, ApiResult};
use crate::images::{self, ImageRefusal};
use crate::storage::Storage;
use crate::{Config, db::Db};

/// Multipart framing around the file: boundaries and part headers.
const MULTIPART_OVERHEAD: usize = 16 * 1024;

/// The file store and the limits of uploads.
#[derive(Debug, Clone)]
pub struct Files {
    pub storage: Storage,
    pub max_bytes: usize,
    pub max_pixels: u64,
    pub purge_after: Duration,
}

impl Files {
    pub fn new(storage: Storage, config: &Config) -> Self {
        Self {
            storage,
            max_bytes: usize::try_from(config.max_image_bytes).unwrap_or(usize::MAX),
            max_pixels: config.max_image_pixels,
            purge_after: Duration::from_secs(config.image_purge_after),
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    // The upload reads its body itself, up to EVCMS_MAX_IMAGE_BYTES instead of the API's limit.
    let upload = OpenApiRouter::new()
        .routes(routes!(upload_image))
        .layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .routes(routes!(list_images))
        .routes(routes!(arrange_image, delete_image))
        .merge(upload)
}

/// Upload an image of a station (operators and admins): `multipart/form-data` with the file in
/// a part, or the image itself as the body. JPEG, PNG or WebP, read from the bytes (anything else:
/// 415 `unsupported_image`); larger than `EVCMS_MAX_IMAGE_BYTES`: 413; more pixels than
/// `EVCMS_MAX_IMAGE_PIXELS` or unreadable: 422. Stored re-encoded without metadata (GPS and camera
/// data are gone), with a 320-pixel-wide thumbnail. The station's first image becomes its cover.
#[utoipa::path(post, path = "/stations/{stationId}/images", tag = "stations",
    params(("stationId" = String, Path, description = "The station's `station_id`")),
    request_body(description = "The image (JPEG, PNG or WebP), raw or in a multipart/form-data part named `file`",
        content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"), (Vec<u8> = "multipart/form-data"))),
    responses((status = 201, body = StationImage), WriteErrors))]
async fn upload_image(
    State(state): State<AppState>,
    caller: Caller,
    Path(station_id): Path<String>,
    request: Request,
) -> ApiResult<(StatusCode, Json<StationImage>)> {
    visible_station(&state, &caller, &station_id).await?;
    let files = state.files.clone();
    let upload = read_upload(request, &state, files.max_bytes).await?;
    let max_pixels = files.max_pixels;
    let processed = tokio::task::spawn_blocking(move || images::process(&upload, max_pixels))
        .await
        .map_err(ApiError::internal)?
        .map_err(refused)?;
    let id = uuid::Uuid::new_v4();
    let ext = processed.kind.extension();
    let object_key = format!("images/{id}.{ext}");
    let thumbnail_key = format!("images/{id}-thumb.{ext}");
    let content_type = processed.kind.content_type();
    let stored = async {
        files
            .storage
            .put(&object_key, processed.bytes.clone(), content_type)
            .await?;
        files
            .storage
            .put(&thumbnail_key, processed.thumbnail.clone(), content_type)
            .await
    };
    if let Err(e) = stored.await {
        remove_objects(&files.storage, &[&object_key, &thumbnail_key]).await;
        return Err(storage_failed(e));
    }
    let new = station_images::NewImage {
        station_id: &station_id,
        object_key: &object_key,
        thumbnail_key: &thumbnail_key,
        content_type,
        size_bytes: i64::try_from(processed.bytes.len()).unwrap_or(i64::MAX),
        width: dimension(processed.width),
        height: dimension(processed.height),
        thumbnail_width: dimension(processed.thumbnail_width),
        thumbnail_height: dimension(processed.thumbnail_height),
        checksum: &processed.checksum,
        uploaded_by: caller.id(),
    };
    let recorded = record(&state.db, &new).await;
    let image = match recorded {
        Ok(Some(image)) => image,
        Ok(None) => {
            remove_objects(&files.storage, &[&object_key, &thumbnail_key]).await;
            return Err(no_station(&station_id));
        }
        Err(e) => {
            remove_objects(&files.storage, &[&object_key, &thumbnail_key]).await;
            return Err(e);
        }
    };
    tracing::info!(station = %station_id, image = image.id, bytes = image.size_bytes, "station image uploaded");
    Ok((
        StatusCode::CREATED,
        Json(with_urls(&files.storage, image).await?),
    ))
}

/// The row of an uploaded image, in one transaction with the station locked; None when the station
/// went away meanwhile.
async fn record(db: &Db, new: &station_images::NewImage<'_>) -> ApiResult<Option<StationImage>> {
    let mut tx = db.begin().await?;
    if !station_images::lock_station(&mut tx, new.station_id).await? {
        return Ok(None);
    }
    let image = station_images::insert(&mut tx, new, db::now()).await?;
    tx.commit().await?;
    Ok(Some(image))
}

/// The upload's bytes: the first file part of a multipart body, or the body itself. More than
/// `max_bytes` of image is 413.
async fn read_upload(request: Request, state: &AppState, max_bytes: usize) -> ApiResult<Bytes> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let limit = max_bytes + if multipart { MULTIPART_OVERHEAD } else { 0 };
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large(max_bytes))?;
    if !multipart {
        if bytes.is_empty() {
            return Err(ApiError::field(
                "file",
                "is required: send the image as the body or in a multipart part",
            ));
        }
        return Ok(bytes);
    }
    let request = Request::from_parts(parts, Body::from(bytes));
    let mut form = Multipart::from_request(request, state).await.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_multipart",
            e.body_text(),
        )
    })?;
    while let Some(field) = form.next_field().await.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_multipart",
            e.body_text(),
        )
    })? {
        if field.file_name().is_none() && field.name() != Some("file") {
            continue;
        }
        let data = field.bytes().await.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_multipart",
                e.body_text(),
            )
        })?;
        if data.len() > max_bytes {
            return Err(too_large(max_bytes));
        }
        if data.is_empty() {
            return Err(ApiError::field("file", "is empty"));
        }
        return Ok(data);
    }
    Err(ApiError::field(
        "file",
        "is required: a multipart part named `file`",
    ))
}

/// The images of a station, in their order, each with its URLs.
#[utoipa::path(get, path = "/stations/{stationId}/images", tag = "stations",
    params(("stationId" = String, Path, description = "The station's `station_id`")),
    responses((status = 200, body = Vec<StationImage>), ReadErrors))]
async fn list_images(
    State(state): State<AppState>,
    caller: Caller,
    Path(station_id): Path<String>,
) -> ApiResult<Json<Vec<StationImage>>> {
    visible_station(&state, &caller, &station_id).await?;
    let images = station_images::of_station(&state.db, &station_id).await?;
    Ok(Json(all_with_urls(&state.files.storage, images).await?))
}

/// Where an image goes among its station's.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageArrangement {
    /// `true` makes this image the station's cover (`image_url`); `false` is refused (choose
    /// another image as the cover instead).
    #[schema(value_type = Option<bool>)]
    pub is_cover: In<bool>,
    /// The image's place in the station's order, from 1; the others move to make room.
    #[schema(value_type = Option<i32>, minimum = 1)]
    pub position: In<i64>,
}

/// Choose an image as the station's cover, or move it in the station's order.
#[utoipa::path(put, path = "/stations/{stationId}/images/{imageId}", tag = "stations",
    request_body = ImageArrangement,
    params(("stationId" = String, Path, description = "The station's `station_id`"),
        ("imageId" = i64, Path, description = "The image's id")),
    responses((status = 200, body = Vec<StationImage>, description = "The station's images in their new order"), WriteErrors))]
async fn arrange_image(
    State(state): State<AppState>,
    caller: Caller,
    Path((station_id, image_id)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Vec<StationImage>>> {
    visible_station(&state, &caller, &station_id).await?;
    let input = from_value::<ImageArrangement>(body.into())?;
    let (is_cover, position) = crate::validate!(
        is_cover = read(input.is_cover).and_then(|c| match c {
            Some(false) => Err("can only be true: choose another image as the cover".to_owned()),
            other => Ok(other),
        }),
        position = whole(input.position, 1, 10_000),
    )?;
    let mut tx = state.db.begin().await?;
    if !station_images::lock_station(&mut tx, &station_id).await? {
        return Err(no_station(&station_id));
    }
    let mut images = station_images::of_station_in(&mut tx, &station_id).await?;
    let index = images
        .iter()
        .position(|i| image_id.parse() == Ok(i.id))
        .ok_or_else(|| no_image(&image_id))?;
    let moved = images.remove(index);
    let to = position.map_or(index, |p| (p as usize - 1).min(images.len()));
    let cover_id = if is_cover == Some(true) {
        Some(moved.id)
    } else {
        images
            .iter()
            .chain([&moved])
            .find(|i| i.is_cover)
            .map(|i| i.id)
    };
    images.insert(to, moved);
    let order: Vec<(i64, i32, bool)> = images
        .iter()
        .enumerate()
        .map(|(n, i)| (i.id, (n + 1) as i32, Some(i.id) == cover_id))
        .collect();
    station_images::arrange(&mut tx, &station_id, &order).await?;
    let images = station_images::of_station_in(&mut tx, &station_id).await?;
    tx.commit().await?;
    Ok(Json(all_with_urls(&state.files.storage, images).await?))
}

/// Delete an image (soft: its files are removed from the store later by a sweep). When it was the
/// cover, the next image in order becomes the cover.
#[utoipa::path(delete, path = "/stations/{stationId}/images/{imageId}", tag = "stations",
    params(("stationId" = String, Path, description = "The station's `station_id`"),
        ("imageId" = i64, Path, description = "The image's id")),
    responses((status = 204), DeleteErrors))]
async fn delete_image(
    State(state): State<AppState>,
    caller: Caller,
    Path((station_id, image_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    visible_station(&state, &caller, &station_id).await?;
    let mut tx = state.db.begin().await?;
    if !station_images::lock_station(&mut tx, &station_id).await? {
        return Err(no_station(&station_id));
    }
    let images = station_images::of_station_in(&mut tx, &station_id).await?;
    let gone = images
        .iter()
        .find(|i| image_id.parse() == Ok(i.id))
        .ok_or_else(|| no_image(&image_id))?;
    station_images::delete(&mut tx, gone.id, db::now()).await?;
    let rest: Vec<&StationImage> = images.iter().filter(|i| i.id != gone.id).collect();
    let cover = rest
        .iter()
        .find(|i| i.is_cover)
        .or_else(|| rest.first())
        .map(|i| i.id);
    let order: Vec<(i64, i32, bool)> = rest
        .iter()
        .enumerate()
        .map(|(n, i)| (i.id, (n + 1) as i32, Some(i.id) == cover))
        .collect();
    station_images::arrange(&mut tx, &station_id, &order).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /files/{key}`: an image of the local store, while a live image row names it. Keys are
/// random and never reused, so a response may be cached for good.
pub async fn serve_file(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    let not_found = || ApiError::not_found("no such file").into_response();
    if !state.files.storage.serves_files() || key.contains("..") {
        return not_found();
    }
    let content_type = match station_images::is_live_key(&state.db, &key).await {
        Ok(Some(content_type)) => content_type,
        Ok(None) => return not_found(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    match state.files.storage.get(&key).await {
        Ok(bytes) => {
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                headers.insert(header::CONTENT_TYPE, v);
            }
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=31536000, immutable"),
            );
            (headers, bytes).into_response()
        }
        Err(e) => {
            tracing::warn!(key, error = %e, "a live image's file cannot be read");
            not_found()
        }
    }
}

/// `station` with its images and cover (a single station).
pub async fn with_images(state: &AppState, mut station: Station) -> ApiResult<Station> {
    let images = station_images::of_station(&state.db, &station.station_id).await?;
    let images = all_with_urls(&state.files.storage, images).await?;
    if let Some(cover) = images.iter().find(|i| i.is_cover) {
        station.image_url = Some(cover.url.clone());
        station.thumbnail_url = Some(cover.thumbnail_url.clone());
    }
    station.images = Some(images);
    Ok(station)
}

/// `stations` with their covers (a list: one query for the page).
pub async fn with_covers(state: &AppState, mut stations: Vec<Station>) -> ApiResult<Vec<Station>> {
    let codes: Vec<String> = stations.iter().map(|s| s.station_id.clone()).collect();
    let covers = station_images::covers(&state.db, &codes).await?;
    for cover in covers {
        let cover = with_urls(&state.files.storage, cover).await?;
        if let Some(station) = stations
            .iter_mut()
            .find(|s| s.station_id == cover.station_id)
        {
            station.image_url = Some(cover.url);
            station.thumbnail_url = Some(cover.thumbnail_url);
        }
    }
    Ok(stations)
}

/// The live station `station_id` if the caller may see it (another organization's is 404).
async fn visible_station(state: &AppState, caller: &Caller, station_id: &str) -> ApiResult<()> {
    db::stations::find(&state.db, station_id)
        .await?
        .filter(|s| caller.sees(&s.organization))
        .map(|_| ())
        .ok_or_else(|| no_station(station_id))
}

/// `image` with the URLs of the store.
pub async fn with_urls(storage: &Storage, mut image: StationImage) -> ApiResult<StationImage> {
    image.url = storage
        .url(&image.object_key)
        .await
        .map_err(storage_failed)?;
    image.thumbnail_url = storage
        .url(&image.thumbnail_key)
        .await
        .map_err(storage_failed)?;
    Ok(image)
}

pub async fn all_with_urls(
    storage: &Storage,
    images: Vec<StationImage>,
) -> ApiResult<Vec<StationImage>> {
    let mut out = Vec::with_capacity(images.len());
    for image in images {
        out.push(with_urls(storage, image).await?);
    }
    Ok(out)
}

/// Removes objects written for an upload that did not complete; a failure is only logged (the
/// objects are then orphans no row names, never served).
async fn remove_objects(storage: &Storage, keys: &[&str]) {
    for key in keys {
        if let Err(e) = storage.delete(key).await {
            tracing::warn!(key, error = %e, "could not remove the object of a failed upload");
        }
    }
}

fn dimension(pixels: u32) -> i32 {
    i32::try_from(pixels).unwrap_or(i32::MAX)
}

fn refused(refusal: ImageRefusal) -> ApiError {
    match refusal {
        ImageRefusal::UnsupportedType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_image",
            refusal.to_string(),
        ),
        other => ApiError::field("file", other.to_string()),
    }
}

fn too_large(max_bytes: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("an image may be at most {max_bytes} bytes"),
    )
}

fn storage_failed(e: crate::storage::StorageError) -> ApiError {
    tracing::error!(error = %e, "the file store failed");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage_unavailable",
        "the file store cannot be reached; try again later",
    )
}

fn no_station(station_id: &str) -> ApiError {
    ApiError::not_found(format!("no station {station_id:?}"))
}

fn no_image(image_id: &str) -> ApiError {
    ApiError::not_found(format!("no image {image_id:?} of this station"))
}

/// Removes from the store the files of images deleted longer than `files.purge_after` ago.
pub async fn purge(db: &Db, files: &Files) -> Result<usize, sqlx::Error> {
    let cutoff = db::now() - files.purge_after;
    let mut purged = 0;
    for image in station_images::unpurged(db, cutoff, 100).await? {
        let removed = async {
            files.storage.delete(&image.object_key).await?;
            files.storage.delete(&image.thumbnail_key).await
        };
        match removed.await {
            Ok(()) => {
                station_images::purged(db, image.id, db::now()).await?;
                purged += 1;
            }
            Err(e) => {
                tracing::warn!(image = image.id, error = %e, "could not remove a deleted image's files; retried later")
            }
        }
    }
    Ok(purged)
}

/// Starts the background purge of deleted images' files, every quarter of the purge delay (at
/// least every 10 minutes, at most every 250 ms).
pub fn start_purge(db: Db, files: Arc<Files>) -> tokio::task::JoinHandle<()> {
    let every = (files.purge_after / 4).clamp(Duration::from_millis(250), Duration::from_secs(600));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match purge(&db, &files).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(images = n, "deleted images' files removed"),
                Err(e) => tracing::warn!(error = %e, "image purge failed; retried next round"),
            }
        }
    })
}
