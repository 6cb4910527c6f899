//! The dashboard's figures, each aggregated in SQL: chargers online and faulted, connectors by
//! status, active sessions, and energy, revenue and sessions per day and per hour. Days and hours
//! are UTC. `Scope` narrows every figure to an organization and/or a station.

use chrono::{DateTime, Utc};

use super::Db;
use crate::fixed::Money;
use crate::on_read;

/// Which chargers and sessions count: those of `organization` and/or `station_id` (None: any).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub organization: Option<String>,
    pub station_id: Option<String>,
}

/// `$1` organization, `$2` station: the filter every query below shares.
const IN_SCOPE: &str =
    "($1 IS NULL OR st.organization = $1) AND ($2 IS NULL OR cp.station_id = $2)";

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct ChargerCounts {
    pub total: i64,
    pub online: i64,
    /// Chargers with at least one connector reporting Faulted.
    pub faulted: i64,
}

pub async fn chargers(db: &Db, scope: &Scope) -> Result<ChargerCounts, sqlx::Error> {
    // Without a filter, chargers no point has adopted count too.
    let sql = format!(
        "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN ch.connected THEN 1 ELSE 0 END), 0) AS online, \
         COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM connectors k WHERE k.charging_point_id = cp.id \
         AND k.deleted = FALSE AND k.status = 'Faulted') THEN 1 ELSE 0 END), 0) AS faulted \
         FROM chargers ch LEFT JOIN charging_points cp ON cp.device_id = ch.charge_point_id AND cp.deleted = FALSE \
         LEFT JOIN charging_stations st ON st.station_id = cp.station_id WHERE {IN_SCOPE}"
    );
    on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(scope.organization.as_deref()).bind(scope.station_id.as_deref()).fetch_one(pool).await)
}

/// Connectors of live points by their last reported status (`Unknown` before the first report).
pub async fn connectors(db: &Db, scope: &Scope) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let sql = format!(
        "SELECT COALESCE(k.status, 'Unknown') AS status, COUNT(*) AS n FROM connectors k \
         JOIN charging_points cp ON cp.id = k.charging_point_id \
         JOIN charging_stations st ON st.station_id = cp.station_id \
         WHERE k.deleted = FALSE AND cp.deleted = FALSE AND {IN_SCOPE} GROUP BY COALESCE(k.status, 'Unknown') ORDER BY 1"
    );
    on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(scope.organization.as_deref()).bind(scope.station_id.as_deref()).fetch_all(pool).await)
}

/// A running session as the dashboard lists it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct ActiveSession {
    pub session_id: String,
    pub charge_point_id: Option<String>,
    pub charging_point_name: String,
    pub connector_number: Option<String>,
    pub customer_name: Option<String>,
    pub start_time: DateTime<Utc>,
    pub energy_wh: Option<i64>,
    /// The cost so far, from the latest meter value.
    pub running_cost: Option<Money>,
}

/// The active sessions, newest first (at most `limit`).
pub async fn active_sessions(
    db: &Db,
    scope: &Scope,
    limit: i64,
) -> Result<Vec<ActiveSession>, sqlx::Error> {
    let sql = format!(
        "SELECT cs.session_id, cp.device_id AS charge_point_id, cp.charging_point_name, \
         k.connector_id AS connector_number, c.customer_name, cs.start_time, cs.energy_wh, \
         cs.billed_amount AS running_cost FROM charging_sessions cs \
         JOIN charging_points cp ON cp.id = cs.charging_point_id \
         JOIN charging_stations st ON st.station_id = cp.station_id \
         LEFT JOIN connectors k ON k.id = cs.connector_id LEFT JOIN customers c ON c.id = cs.customer_id \
         WHERE cs.status = 'Active' AND {IN_SCOPE} ORDER BY cs.start_time DESC, cs.id DESC LIMIT $3"
    );
    on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(scope.organization.as_deref()).bind(scope.station_id.as_deref()).bind(limit)
        .fetch_all(pool).await)
}

/// Energy, revenue and sessions of the sessions started in one period.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Totals {
    pub period: String,
    pub energy_wh: i64,
    pub revenue: Money,
    pub sessions: i64,
}

/// How long a period's key is: 10 characters make a day (`YYYY-MM-DD`), 13 an hour
/// (`YYYY-MM-DD HH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Hour,
}

/// Totals per period of the sessions started from `since` on (refused, Cancelled sessions left
/// out), in UTC; periods without sessions are absent.
pub async fn totals(
    db: &Db,
    scope: &Scope,
    period: Period,
    since: DateTime<Utc>,
) -> Result<Vec<Totals>, sqlx::Error> {
    // The key is text in both databases: SQLite keeps times as UTC text, PostgreSQL formats them.
    let key = match (db, period) {
        (Db::Sqlite { .. }, Period::Day) => "substr(cs.start_time, 1, 10)",
        (Db::Sqlite { .. }, Period::Hour) => "substr(cs.start_time, 1, 13)",
        (Db::Postgres(_), Period::Day) => "to_char(cs.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        (Db::Postgres(_), Period::Hour) => {
            "to_char(cs.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"
        }
    };
    let sql = format!(
        "SELECT {key} AS period, CAST(COALESCE(SUM(cs.energy_wh), 0) AS BIGINT) AS energy_wh, \
         COALESCE(SUM(cs.billed_amount), 0) AS revenue, COUNT(*) AS sessions FROM charging_sessions cs \
         JOIN charging_points cp ON cp.id = cs.charging_point_id \
         JOIN charging_stations st ON st.station_id = cp.station_id \
         WHERE cs.status <> 'Cancelled' AND cs.start_time >= $3 AND {IN_SCOPE} GROUP BY {key} ORDER BY 1"
    );
    let mut rows: Vec<Totals> = on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(scope.organization.as_deref()).bind(scope.station_id.as_deref()).bind(since)
        .fetch_all(pool).await)?;
    // SQLite's text has a `T` or a space between date and hour, depending on who wrote it.
    for row in &mut rows {
        row.period = row.period.replace('T', " ");
    }
    Ok(rows)
}
