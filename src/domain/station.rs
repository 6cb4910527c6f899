//! Charging stations: the sites that hold charging points.

use chrono::{DateTime, NaiveTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::contact::{Email, Phone};
use super::enums::{GridPhase, StationStatus};
use crate::db::types::WorkingDays;
use crate::fixed::Degrees;

/// A charging station as stored and shown.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Station {
    pub id: i64,
    /// The operator's code for the station, unique forever (points refer to it).
    pub station_id: String,
    pub station_name: String,
    /// Code of the owning organization, e.g. `massive_mobility`.
    pub organization: String,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: String,
    pub pincode: Option<String>,
    pub latitude: Option<Degrees>,
    pub longitude: Option<Degrees>,
    pub status: StationStatus,
    pub grid_phase: GridPhase,
    pub working_days: WorkingDays,
    /// `HH:MM:SS`.
    #[schema(value_type = Option<String>, example = "08:00:00")]
    pub opening_time: Option<NaiveTime>,
    /// `HH:MM:SS`.
    #[schema(value_type = Option<String>, example = "22:00:00")]
    pub closing_time: Option<NaiveTime>,
    pub contact_person: Option<String>,
    pub contact_number: Option<String>,
    pub email: Option<String>,
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The cover image's URL (see `images`); null without images.
    #[sqlx(skip)]
    pub image_url: Option<String>,
    /// The cover's thumbnail (320 pixels wide), for lists.
    #[sqlx(skip)]
    pub thumbnail_url: Option<String>,
    /// The station's images in their order; shown on a single station, not in lists.
    #[sqlx(skip)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<super::station_image::StationImage>>,
}

/// A station's editable fields, validated.
#[derive(Debug, Clone)]
pub struct StationFields {
    pub station_id: String,
    pub station_name: String,
    pub organization: String,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: String,
    pub pincode: Option<String>,
    pub latitude: Option<Degrees>,
    pub longitude: Option<Degrees>,
    pub status: StationStatus,
    pub grid_phase: GridPhase,
    pub working_days: WorkingDays,
    pub opening_time: Option<NaiveTime>,
    pub closing_time: Option<NaiveTime>,
    pub contact_person: Option<String>,
    pub contact_number: Option<Phone>,
    pub email: Option<Email>,
}
