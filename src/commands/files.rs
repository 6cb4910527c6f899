//! The HTTP side chargers use for firmware and diagnostics, so no FTP server is needed for
//! chargers that speak HTTP: an UpdateFirmware points at `/ocpp-files/firmware/{token}/{name}`,
//! a GetDiagnostics at `/ocpp-files/diagnostics/{token}`, where the charger PUTs or POSTs its file
//! (raw, or as the one file of a multipart form) once.
//!
//! Chargers send no bearer token: the unguessable token in the URL is the credential, as in the
//! presigned URLs of object stores. Each token names one image or one request.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};

use crate::AppState;
use crate::db::{self, firmware::FirmwareFile};
use crate::error::ApiError;

/// Largest diagnostics file a charger may upload.
pub const MAX_DIAGNOSTICS_BYTES: usize = 50 * 1024 * 1024;

/// A fresh URL token: 128 random bits.
pub fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Where a charger downloads `file`. The file name ends the URL because some chargers name the
/// downloaded image after it.
pub fn firmware_location(base: &str, file: &FirmwareFile) -> String {
    // Names are kept to URL-safe characters at upload (see [`sanitized`]).
    format!(
        "{base}/ocpp-files/firmware/{}/{}",
        file.token, file.file_name
    )
}

/// Where a charger uploads the diagnostics of the request with `token`.
pub fn diagnostics_location(base: &str, token: &str) -> String {
    format!("{base}/ocpp-files/diagnostics/{token}")
}

/// The chargers' routes (outside `/api/cms`: no bearer token).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/ocpp-files/firmware/{token}/{name}",
            get(download_firmware),
        )
        .route(
            "/ocpp-files/diagnostics/{token}",
            put(upload_unnamed).post(upload_unnamed),
        )
        .route(
            "/ocpp-files/diagnostics/{token}/{name}",
            put(upload_named).post(upload_named),
        )
        .layer(DefaultBodyLimit::max(MAX_DIAGNOSTICS_BYTES))
}

async fn download_firmware(
    State(state): State<AppState>,
    Path((token, _name)): Path<(String, String)>,
) -> Response {
    let file = match db::firmware::file_by_token(&state.db, &token).await {
        Ok(Some(file)) => file,
        Ok(None) => return ApiError::not_found("no such firmware image").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    match state.files.storage.get(&file.storage_key).await {
        Ok(bytes) => {
            tracing::info!(file = %file.file_name, "a charger downloads a firmware image");
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            (headers, bytes).into_response()
        }
        Err(e) => {
            tracing::error!(file = %file.file_name, error = %e, "a firmware image's file cannot be read");
            ApiError::not_found("the firmware image's file is missing").into_response()
        }
    }
}

async fn upload_unnamed(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(&state, &token, None, &headers, body).await
}

async fn upload_named(
    State(state): State<AppState>,
    Path((token, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(&state, &token, Some(name), &headers, body).await
}

/// Stores a charger's diagnostics file for the request with `token`, once.
async fn receive(
    state: &AppState,
    token: &str,
    name: Option<String>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let request = match db::firmware::diagnostics_by_token(&state.db, token).await {
        Ok(Some(request)) if !token.starts_with("external-") => request,
        Ok(_) => return ApiError::not_found("no such diagnostics request").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    if request.storage_key.is_some() {
        return ApiError::new(
            StatusCode::GONE,
            "already_uploaded",
            "this upload URL was used already",
        )
        .into_response();
    }
    let (file_name, bytes) = match multipart_file(headers, &body) {
        Some((part_name, bytes)) => (name.or(part_name), bytes),
        None => (name, body.to_vec()),
    };
    let file_name = file_name
        .or(request.file_name.clone())
        .unwrap_or_else(|| "diagnostics.log".to_owned());
    let file_name = sanitized(&file_name);
    let key = format!("diagnostics/{}/{}", request.id, file_name);
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    if let Err(e) = state
        .files
        .storage
        .put(&key, bytes, "application/octet-stream")
        .await
    {
        tracing::error!(error = %e, "could not store a diagnostics upload");
        return ApiError::internal("the file could not be stored").into_response();
    }
    match db::firmware::diagnostics_received(
        &state.db,
        request.id,
        &file_name,
        &key,
        size,
        db::now(),
    )
    .await
    {
        Ok(true) => {
            tracing::info!(charger = %request.charge_point_id, file = %file_name, size, "received a diagnostics file");
            StatusCode::CREATED.into_response()
        }
        Ok(false) => ApiError::new(
            StatusCode::GONE,
            "already_uploaded",
            "this upload URL was used already",
        )
        .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The first file part of a `multipart/form-data` body, with its file name: what chargers that
/// upload like a browser form send.
fn multipart_file(headers: &HeaderMap, body: &[u8]) -> Option<(Option<String>, Vec<u8>)> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    if !content_type.starts_with("multipart/form-data") {
        return None;
    }
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let start = find(body, delimiter.as_bytes())? + delimiter.len();
    let rest = &body[start..];
    let head_end = find(rest, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&rest[..head_end]);
    let name = head.split(';').find_map(|p| {
        p.trim().strip_prefix("filename=").map(|n| {
            n.trim_matches(|c| c == '"' || c == '\r' || c == '\n')
                .to_owned()
        })
    });
    let content = &rest[head_end + 4..];
    let end = find(content, format!("\r\n{delimiter}").as_bytes())?;
    Some((name, content[..end].to_vec()))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A file name safe as a storage key and URL segment: letters, digits, `.`, `-`, `_`, at most
/// 100.
pub fn sanitized(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(100)
        .collect();
    if cleaned.is_empty() || cleaned.starts_with('.') {
        format!("file{cleaned}")
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_escape_their_folder() {
        assert_eq!(sanitized("../../etc/passwd"), "passwd");
        assert_eq!(sanitized("..\\x.log"), "x.log");
        assert_eq!(sanitized(".."), "file..");
        assert_eq!(sanitized("diag 2026.log"), "diag2026.log");
    }

    #[test]
    fn reads_the_file_of_a_multipart_form() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=XyZ"),
        );
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.log\"\r\n\r\nhello\r\n--XyZ--\r\n";
        let (name, bytes) = multipart_file(&headers, body).unwrap();
        assert_eq!(name.as_deref(), Some("d.log"));
        assert_eq!(bytes, b"hello");
    }
}
