//! A picture of a charging station, kept in the object store (`crate::storage`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A station image as stored, with the URLs to read it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct StationImage {
    pub id: i64,
    pub station_id: String,
    /// Where a browser reads the image and its thumbnail: evcms's own `/files/...`, or a
    /// presigned URL valid for a few minutes when the images are on S3.
    #[sqlx(skip)]
    pub url: String,
    #[sqlx(skip)]
    pub thumbnail_url: String,
    /// `image/jpeg`, `image/png` or `image/webp`: read from the bytes, not from the upload's name.
    pub content_type: String,
    pub size_bytes: i64,
    pub width: i32,
    pub height: i32,
    pub thumbnail_width: i32,
    pub thumbnail_height: i32,
    /// SHA-256 of the stored bytes, hex.
    pub checksum: String,
    /// The order in which the station's images are shown, from 1.
    pub position: i32,
    /// The station's cover: its `image_url`.
    pub is_cover: bool,
    /// The user who uploaded it.
    pub uploaded_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub object_key: String,
    #[serde(skip)]
    pub thumbnail_key: String,
}
