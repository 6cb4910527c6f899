//! Charging points and their connectors.

use chrono::{DateTime, Utc};

use super::filter::{self, PageOf, PageRequest, Sort, Where};
use super::{Db, Tx};
use crate::domain::enums::{ChargerType, Oem, Phase};
use crate::domain::point::{Connector, ConnectorFields, PointFields, PointRow};
use crate::{on_read, on_tx};

/// The columns of [`PointRow`], as a macro so queries can be `concat!`-ed into static strings.
macro_rules! columns {
    () => {
        concat!(
            "id, charging_point_name, station_id, device_id, tariff_id, charger_type, phase, oem_list, max_power, deleted, created_at, updated_at, ",
            "(SELECT s.station_name FROM charging_stations s WHERE s.station_id = charging_points.station_id) AS station_name, ",
            "(SELECT t.tariff_name FROM tariffs t WHERE t.id = charging_points.tariff_id) AS tariff_name"
        )
    };
}

/// The columns of [`Connector`].
macro_rules! connector_columns {
    () => {
        "id, charging_point_id, connector_id, connector_type, power, status, error_code, status_at, created_at, updated_at"
    };
}

/// Filters of the point list.
#[derive(Debug, Default)]
pub struct PointFilter {
    pub station_id: Option<String>,
    pub charger_type: Option<ChargerType>,
    pub phase: Option<Phase>,
    pub oem_list: Option<Oem>,
    pub tariff_id: Option<i64>,
    pub search: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// The caller's organization: rows of other organizations are left out (None = all).
    pub scope: Option<String>,
}

pub async fn list(
    db: &Db,
    f: &PointFilter,
    sort: &Sort,
    page: PageRequest,
) -> Result<PageOf<PointRow>, sqlx::Error> {
    let mut w = Where::new(&["deleted = FALSE"]);
    w.eq_opt("station_id", f.station_id.as_deref())
        .eq_opt("charger_type", f.charger_type.map(|c| c.as_str()))
        .eq_opt("phase", f.phase.map(|p| p.as_str()))
        .eq_opt("oem_list", f.oem_list.map(|o| o.as_str()))
        .eq_opt("tariff_id", f.tariff_id)
        .search_opt(&["charging_point_name", "device_id"], f.search.as_deref())
        .between_opt("created_at", f.created_from, f.created_to)
        .station_in_organization("station_id", f.scope.as_deref());
    filter::list(db, columns!(), "charging_points", &w, sort, page).await
}

/// The live connectors of the points `point_ids`, in one query, by point and connector_id.
pub async fn connectors_of(db: &Db, point_ids: &[i64]) -> Result<Vec<Connector>, sqlx::Error> {
    if point_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut w = Where::new(&["deleted = FALSE"]);
    w.one_of("charging_point_id", point_ids.iter().copied());
    let sort = Sort::new("connector_id", false, "id");
    filter::all(db, connector_columns!(), "connectors", &w, &sort).await
}

/// The live point `id`.
pub async fn find(db: &Db, id: i64) -> Result<Option<PointRow>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM charging_points WHERE id = $1 AND deleted = FALSE"
    );
    on_read!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)
}

/// The live connectors of point `id`, by connector_id, as seen inside `tx`.
pub async fn connectors(tx: &mut Tx, id: i64) -> Result<Vec<Connector>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        connector_columns!(),
        " FROM connectors WHERE charging_point_id = $1 AND deleted = FALSE ORDER BY connector_id, id"
    );
    on_tx!(tx, conn => sqlx::query_as(sql).bind(id).fetch_all(conn).await)
}

pub async fn insert(
    tx: &mut Tx,
    p: &PointFields,
    now: DateTime<Utc>,
) -> Result<PointRow, sqlx::Error> {
    let sql = concat!(
        "INSERT INTO charging_points (charging_point_name, station_id, device_id, tariff_id, charger_type, phase, oem_list, ",
        "max_power, deleted, created_at, updated_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, $9, $9) RETURNING ",
        columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(&p.charging_point_name).bind(&p.station_id).bind(&p.device_id).bind(p.tariff_id)
        .bind(p.charger_type).bind(p.phase).bind(p.oem_list).bind(p.max_power).bind(now)
        .fetch_one(conn).await)
}

pub async fn update(
    tx: &mut Tx,
    id: i64,
    p: &PointFields,
    now: DateTime<Utc>,
) -> Result<Option<PointRow>, sqlx::Error> {
    let sql = concat!(
        "UPDATE charging_points SET charging_point_name = $2, station_id = $3, device_id = $4, tariff_id = $5, ",
        "charger_type = $6, phase = $7, oem_list = $8, max_power = $9, updated_at = $10 ",
        "WHERE id = $1 AND deleted = FALSE RETURNING ",
        columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(id).bind(&p.charging_point_name).bind(&p.station_id).bind(&p.device_id).bind(p.tariff_id)
        .bind(p.charger_type).bind(p.phase).bind(p.oem_list).bind(p.max_power).bind(now)
        .fetch_optional(conn).await)
}

/// Locks the live point `id` against concurrent edits or deletion until `tx` ends; false when
/// there is no such live point.
pub async fn lock(tx: &mut Tx, id: i64) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE charging_points SET updated_at = updated_at WHERE id = $1 AND deleted = FALSE RETURNING id";
    let found: Option<i64> =
        on_tx!(tx, conn => sqlx::query_scalar(sql).bind(id).fetch_optional(conn).await)?;
    Ok(found.is_some())
}

/// Sets connector `c` of point `point_id`: updates (and revives, if it was removed) the connector
/// with that connector_id, or inserts it.
pub async fn put_connector(
    tx: &mut Tx,
    point_id: i64,
    c: &ConnectorFields,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let update = "UPDATE connectors SET connector_type = $3, power = $4, deleted = FALSE, updated_at = $5 WHERE charging_point_id = $1 AND connector_id = $2";
    let updated = on_tx!(tx, conn => sqlx::query(update)
        .bind(point_id).bind(&c.connector_id).bind(c.connector_type).bind(c.power).bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    if updated == 0 {
        let insert = "INSERT INTO connectors (charging_point_id, connector_id, connector_type, power, deleted, created_at, updated_at) VALUES ($1, $2, $3, $4, FALSE, $5, $5)";
        on_tx!(tx, conn => sqlx::query(insert)
            .bind(point_id).bind(&c.connector_id).bind(c.connector_type).bind(c.power).bind(now)
            .execute(conn).await.map(|_| ()))?;
    }
    Ok(())
}

/// Hides connector `id` (by `connectors.id`); sessions keep referring to it.
pub async fn remove_connector(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE connectors SET deleted = TRUE, updated_at = $2 WHERE id = $1";
    on_tx!(tx, conn => sqlx::query(sql).bind(id).bind(now).execute(conn).await.map(|_| ()))?;
    Ok(())
}

/// How many `Active` sessions run on connector `id` (by `connectors.id`).
pub async fn active_sessions_on_connector(tx: &mut Tx, id: i64) -> Result<i64, sqlx::Error> {
    let sql =
        "SELECT COUNT(*) FROM charging_sessions WHERE connector_id = $1 AND status = 'Active'";
    on_tx!(tx, conn => sqlx::query_scalar(sql).bind(id).fetch_one(conn).await)
}

/// How many `Active` sessions run on point `id`.
pub async fn active_sessions(tx: &mut Tx, id: i64) -> Result<i64, sqlx::Error> {
    let sql =
        "SELECT COUNT(*) FROM charging_sessions WHERE charging_point_id = $1 AND status = 'Active'";
    on_tx!(tx, conn => sqlx::query_scalar(sql).bind(id).fetch_one(conn).await)
}

/// Soft-deletes point `id` and its connectors.
pub async fn soft_delete(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE charging_points SET deleted = TRUE, updated_at = $2 WHERE id = $1 AND deleted = FALSE";
    let done = on_tx!(tx, conn => sqlx::query(sql).bind(id).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    let sql = "UPDATE connectors SET deleted = TRUE, updated_at = $2 WHERE charging_point_id = $1 AND deleted = FALSE";
    on_tx!(tx, conn => sqlx::query(sql).bind(id).bind(now).execute(conn).await.map(|_| ()))?;
    Ok(done == 1)
}
