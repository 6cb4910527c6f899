//! Charging sessions, shown with the names of their customer, point, station and connector.

use chrono::{DateTime, Utc};

use super::filter::{self, PageOf, PageRequest, Sort, Where};
use super::{Db, Tx};
use crate::domain::enums::{SessionStatus, SettledBy};
use crate::domain::session::{NewSession, Session};
use crate::fixed::Money;
use crate::{on_read, on_tx};

/// The columns of [`Session`] over [`from!`]'s join.
macro_rules! columns {
    () => {
        concat!(
            "cs.id, cs.session_id, cs.customer_id, c.customer_name, cs.charging_point_id, cp.charging_point_name, ",
            "cp.station_id, cs.connector_id, k.connector_id AS connector_number, cs.start_time, cs.end_time, ",
            "cs.energy_wh, cs.billed_amount, cs.status, cs.transaction_id, cs.id_tag, cs.meter_start_wh, ",
            "cs.meter_stop_wh, cs.stop_reason, cs.id_tag_status, cs.anomaly, cs.tariff_id, cs.currency, cs.base_charges, cs.tax, ",
            "cs.settled_by, cs.settled_at, cs.settled_by_user_id, cs.settle_note, cs.guard_stop_requested_at, ",
            "cs.guard_note, cs.guard_flagged_at, cs.created_at, cs.updated_at"
        )
    };
}

/// Sessions with their point (always there), customer and connector (when known). Deleted
/// customers and points still name their past sessions.
macro_rules! from {
    () => {
        concat!(
            "charging_sessions cs JOIN charging_points cp ON cp.id = cs.charging_point_id ",
            "LEFT JOIN customers c ON c.id = cs.customer_id LEFT JOIN connectors k ON k.id = cs.connector_id"
        )
    };
}

/// A settled session as the live event stream tells it, with its charger and the organization
/// of its point's station.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SettledFacts {
    pub id: i64,
    pub session_id: String,
    /// The point's `device_id`: the charger's OCPP id.
    pub charge_point_id: Option<String>,
    pub point_id: i64,
    pub connector_number: Option<String>,
    pub status: SessionStatus,
    pub energy_wh: Option<i64>,
    pub billed_amount: Option<Money>,
    pub stop_reason: Option<String>,
    pub customer_id: Option<i64>,
    pub settled_by: Option<SettledBy>,
    pub settled_at: Option<DateTime<Utc>>,
    pub organization: Option<String>,
}

/// The [`SettledFacts`] of session record `id`.
pub async fn settled_facts(db: &Db, id: i64) -> Result<Option<SettledFacts>, sqlx::Error> {
    let sql = concat!(
        "SELECT cs.id, cs.session_id, cp.device_id AS charge_point_id, cs.charging_point_id AS point_id, ",
        "k.connector_id AS connector_number, cs.status, cs.energy_wh, cs.billed_amount, cs.stop_reason, ",
        "cs.customer_id, cs.settled_by, cs.settled_at, st.organization ",
        "FROM charging_sessions cs JOIN charging_points cp ON cp.id = cs.charging_point_id ",
        "LEFT JOIN connectors k ON k.id = cs.connector_id ",
        "LEFT JOIN charging_stations st ON st.station_id = cp.station_id WHERE cs.id = $1"
    );
    on_read!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)
}

/// Filters of the session list.
#[derive(Debug, Default)]
pub struct SessionFilter {
    pub status: Option<SessionStatus>,
    pub customer_id: Option<i64>,
    pub charging_point_id: Option<i64>,
    pub station_id: Option<String>,
    pub start_from: Option<DateTime<Utc>>,
    pub start_to: Option<DateTime<Utc>>,
    pub search: Option<String>,
    /// The caller's organization: rows of other organizations are left out (None = all).
    pub scope: Option<String>,
}

pub async fn list(
    db: &Db,
    f: &SessionFilter,
    sort: &Sort,
    page: PageRequest,
) -> Result<PageOf<Session>, sqlx::Error> {
    let mut w = Where::new(&[]);
    w.eq_opt("cs.status", f.status.map(|s| s.as_str()))
        .eq_opt("cs.customer_id", f.customer_id)
        .eq_opt("cs.charging_point_id", f.charging_point_id)
        .eq_opt("cp.station_id", f.station_id.as_deref())
        .between_opt("cs.start_time", f.start_from, f.start_to)
        .search_opt(&["cs.session_id", "cs.id_tag"], f.search.as_deref())
        .station_in_organization("cp.station_id", f.scope.as_deref());
    let page = filter::list(db, columns!(), from!(), &w, sort, page).await?;
    Ok(PageOf {
        rows: page.rows.into_iter().map(Session::derive).collect(),
        total: page.total,
    })
}

/// How many sessions are Active now.
pub async fn count_active(db: &Db) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM charging_sessions WHERE status = 'Active'";
    on_read!(db, pool => sqlx::query_scalar(sql).fetch_one(pool).await)
}

/// The session with public id `session_id`.
pub async fn find(db: &Db, session_id: &str) -> Result<Option<Session>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM ",
        from!(),
        " WHERE cs.session_id = $1"
    );
    let found: Option<Session> =
        on_read!(db, pool => sqlx::query_as(sql).bind(session_id).fetch_optional(pool).await)?;
    Ok(found.map(Session::derive))
}

/// Records a session; gives its record id.
pub async fn insert(tx: &mut Tx, s: &NewSession, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let sql = concat!(
        "INSERT INTO charging_sessions (session_id, customer_id, charging_point_id, connector_id, start_time, end_time, ",
        "energy_wh, billed_amount, status, transaction_id, id_tag, meter_start_wh, meter_stop_wh, stop_reason, ",
        "id_tag_status, anomaly, tariff_id, currency, base_charges, tax, created_at, updated_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21) RETURNING id"
    );
    on_tx!(tx, conn => sqlx::query_scalar(sql)
        .bind(&s.session_id).bind(s.customer_id).bind(s.charging_point_id).bind(s.connector_id)
        .bind(s.start_time).bind(s.end_time).bind(s.energy_wh).bind(s.billed_amount).bind(s.status)
        .bind(s.transaction_id).bind(&s.id_tag).bind(s.meter_start_wh).bind(s.meter_stop_wh)
        .bind(&s.stop_reason).bind(&s.id_tag_status).bind(&s.anomaly).bind(s.tariff_id).bind(s.currency).bind(s.base_charges).bind(s.tax)
        .bind(now)
        .fetch_one(conn).await)
}
