//! Charging stations table.

use chrono::{DateTime, Utc};

use super::filter::{self, PageOf, PageRequest, Sort, Where};
use super::{Db, Tx};
use crate::domain::enums::{GridPhase, StationStatus};
use crate::domain::station::{Station, StationFields};
use crate::{on_read, on_tx};

/// The columns of [`Station`], as a macro so queries can be `concat!`-ed into static strings.
macro_rules! columns {
    () => {
        "id, station_id, station_name, organization, address, city, state, country, pincode, latitude, longitude, status, grid_phase, working_days, opening_time, closing_time, contact_person, contact_number, email, deleted, created_at, updated_at"
    };
}

/// Filters of the station list.
#[derive(Debug, Default)]
pub struct StationFilter {
    pub status: Option<StationStatus>,
    pub organization: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub grid_phase: Option<GridPhase>,
    pub search: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// The caller's organization: rows of other organizations are left out (None = all).
    pub scope: Option<String>,
}

pub async fn list(
    db: &Db,
    f: &StationFilter,
    sort: &Sort,
    page: PageRequest,
) -> Result<PageOf<Station>, sqlx::Error> {
    let mut w = Where::new(&["deleted = FALSE"]);
    w.eq_opt("status", f.status.map(|s| s.as_str()))
        .eq_opt("organization", f.organization.as_deref())
        .eq_ignore_case_opt("city", f.city.as_deref())
        .eq_ignore_case_opt("state", f.state.as_deref())
        .eq_ignore_case_opt("country", f.country.as_deref())
        .eq_opt("grid_phase", f.grid_phase.map(|g| g.as_str()))
        .search_opt(
            &[
                "station_name",
                "station_id",
                "city",
                "address",
                "contact_person",
            ],
            f.search.as_deref(),
        )
        .between_opt("created_at", f.created_from, f.created_to)
        .station_in_organization("station_id", f.scope.as_deref());
    filter::list(db, columns!(), "charging_stations", &w, sort, page).await
}

/// The live station with code `station_id`.
pub async fn find(db: &Db, station_id: &str) -> Result<Option<Station>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM charging_stations WHERE station_id = $1 AND deleted = FALSE"
    );
    on_read!(db, pool => sqlx::query_as(sql).bind(station_id).fetch_optional(pool).await)
}

pub async fn insert(
    tx: &mut Tx,
    s: &StationFields,
    now: DateTime<Utc>,
) -> Result<Station, sqlx::Error> {
    let sql = concat!(
        "INSERT INTO charging_stations (station_id, station_name, organization, address, city, state, country, pincode, ",
        "latitude, longitude, status, grid_phase, working_days, opening_time, closing_time, contact_person, contact_number, ",
        "email, deleted, created_at, updated_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, FALSE, $19, $19) RETURNING ",
        columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(&s.station_id).bind(&s.station_name).bind(&s.organization).bind(&s.address)
        .bind(&s.city).bind(&s.state).bind(&s.country).bind(&s.pincode)
        .bind(s.latitude).bind(s.longitude).bind(s.status).bind(s.grid_phase)
        .bind(&s.working_days).bind(s.opening_time).bind(s.closing_time)
        .bind(&s.contact_person).bind(&s.contact_number).bind(&s.email).bind(now)
        .fetch_one(conn).await)
}

pub async fn update(
    tx: &mut Tx,
    id: i64,
    s: &StationFields,
    now: DateTime<Utc>,
) -> Result<Option<Station>, sqlx::Error> {
    let sql = concat!(
        "UPDATE charging_stations SET station_name = $2, organization = $3, address = $4, city = $5, state = $6, ",
        "country = $7, pincode = $8, latitude = $9, longitude = $10, status = $11, grid_phase = $12, working_days = $13, ",
        "opening_time = $14, closing_time = $15, contact_person = $16, contact_number = $17, email = $18, updated_at = $19 ",
        "WHERE id = $1 AND deleted = FALSE RETURNING ",
        columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(id).bind(&s.station_name).bind(&s.organization).bind(&s.address)
        .bind(&s.city).bind(&s.state).bind(&s.country).bind(&s.pincode)
        .bind(s.latitude).bind(s.longitude).bind(s.status).bind(s.grid_phase)
        .bind(&s.working_days).bind(s.opening_time).bind(s.closing_time)
        .bind(&s.contact_person).bind(&s.contact_number).bind(&s.email).bind(now)
        .fetch_optional(conn).await)
}

/// Locks the live station `station_id` against concurrent deletion or new points until `tx`
/// ends, and gives its id (None when there is no such live station). A no-op UPDATE takes the row
/// lock in PostgreSQL; SQLite serializes writers anyway.
pub async fn lock(tx: &mut Tx, station_id: &str) -> Result<Option<i64>, sqlx::Error> {
    let sql = "UPDATE charging_stations SET updated_at = updated_at WHERE station_id = $1 AND deleted = FALSE RETURNING id";
    on_tx!(tx, conn => sqlx::query_scalar(sql).bind(station_id).fetch_optional(conn).await)
}

/// How many live charging points stand at station `station_id`.
pub async fn live_points(tx: &mut Tx, station_id: &str) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM charging_points WHERE station_id = $1 AND deleted = FALSE";
    on_tx!(tx, conn => sqlx::query_scalar(sql).bind(station_id).fetch_one(conn).await)
}

pub async fn soft_delete(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE charging_stations SET deleted = TRUE, updated_at = $2 WHERE id = $1 AND deleted = FALSE";
    let done = on_tx!(tx, conn => sqlx::query(sql).bind(id).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// The organization of station `station_id` (deleted or not); None when there is no such station.
pub async fn organization_of(db: &Db, station_id: &str) -> Result<Option<String>, sqlx::Error> {
    let sql = "SELECT organization FROM charging_stations WHERE station_id = $1";
    on_read!(db, pool => sqlx::query_scalar(sql).bind(station_id).fetch_optional(pool).await)
}
