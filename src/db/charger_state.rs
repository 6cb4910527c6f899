//! What the OCPP endpoint records about chargers: their connections, boot data and live status.
//!
//! Status updates carry the charger's own timestamp and only apply when newer than the stored one,
//! so a notification delivered late never overwrites a fresher state.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Db, Tx};
use crate::{on_read, on_write};

/// What a BootNotification tells about a charger.
#[derive(Debug, Clone, Default)]
pub struct BootData {
    pub vendor: String,
    pub model: String,
    pub charge_point_serial_number: Option<String>,
    pub charge_box_serial_number: Option<String>,
    pub firmware_version: Option<String>,
    pub iccid: Option<String>,
    pub imsi: Option<String>,
    pub meter_type: Option<String>,
    pub meter_serial_number: Option<String>,
}

/// The live charging point a charger belongs to: the one whose `device_id` is its id, and the
/// organization of its station (whose users see the charger's events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointLink {
    pub point_id: i64,
    pub organization: Option<Arc<str>>,
}

#[derive(sqlx::FromRow)]
struct PointRow {
    point_id: i64,
    organization: Option<String>,
}

/// What a status update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusStored {
    /// Stored: it is the latest.
    Applied,
    /// Not stored: the stored status is newer.
    Older,
    /// Not stored: the point has no such live connector.
    NoSuchConnector,
}

/// A connection that began: the charger, the node serving it, when.
#[derive(Debug, Clone)]
pub struct Connection {
    pub charge_point_id: Arc<str>,
    pub node: Arc<str>,
    pub at: DateTime<Utc>,
}

/// Records many connections that began, in `tx` (the sample writer's batches): one statement per
/// few hundred. A charger connecting twice in one batch keeps its newer connection.
pub async fn connected_many(tx: &mut Tx, began: &[Connection]) -> Result<(), sqlx::Error> {
    // One row per charger: a statement may not update the same row twice.
    let mut newest: HashMap<&str, &Connection> = HashMap::with_capacity(began.len());
    for c in began {
        let kept = newest.entry(&c.charge_point_id).or_insert(c);
        if c.at >= kept.at {
            *kept = c;
        }
    }
    let began: Vec<&Connection> = newest.into_values().collect();
    const HEAD: &str = concat!(
        "INSERT INTO chargers (charge_point_id, connected, connected_at, last_seen_at, node_id, created_at, updated_at) ",
        "SELECT v.column1, TRUE, v.column2, v.column2, v.column3, v.column2, v.column2 FROM ("
    );
    // `WHERE TRUE` keeps SQLite from reading ON CONFLICT as part of the SELECT.
    const TAIL: &str = concat!(
        ") AS v WHERE TRUE ON CONFLICT (charge_point_id) DO UPDATE SET connected = TRUE, ",
        "connected_at = excluded.connected_at, last_seen_at = excluded.last_seen_at, ",
        "node_id = excluded.node_id, updated_at = excluded.updated_at"
    );
    crate::execute_values!(tx, HEAD, TAIL, began, |b, c| {
        b.push_bind(&*c.charge_point_id)
            .push_bind(c.at)
            .push_bind(&*c.node);
    })?;
    Ok(())
}

/// Records that the connection made at `connected_at` ended, unless a newer one took its place
/// (on this node or another).
pub async fn disconnected(
    db: &Db,
    charge_point_id: &str,
    connected_at: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on_write!(db, pool => sqlx::query(DISCONNECTED).bind(charge_point_id).bind(connected_at).bind(at).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Marks a connection ended, unless a newer one of the charger took its place.
const DISCONNECTED: &str = concat!(
    "UPDATE chargers SET connected = FALSE, node_id = NULL, disconnected_at = $3, last_seen_at = $3, updated_at = $3 ",
    "WHERE charge_point_id = $1 AND connected_at = $2"
);

/// A connection that ended: the charger, when the connection began, when it ended.
#[derive(Debug, Clone)]
pub struct Disconnection {
    pub charge_point_id: Arc<str>,
    pub connected_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// [`disconnected`] for many connections, in `tx` (the sample writer's batches): one statement
/// per few hundred.
pub async fn disconnected_many(tx: &mut Tx, ended: &[Disconnection]) -> Result<(), sqlx::Error> {
    const HEAD: &str = concat!(
        "UPDATE chargers SET connected = FALSE, node_id = NULL, disconnected_at = v.column3, ",
        "last_seen_at = v.column3, updated_at = v.column3 FROM ("
    );
    const TAIL: &str =
        ") AS v WHERE chargers.charge_point_id = v.column1 AND chargers.connected_at = v.column2";
    crate::execute_values!(tx, HEAD, TAIL, ended, |b, d| {
        b.push_bind(&*d.charge_point_id)
            .push_bind(d.connected_at)
            .push_bind(d.at);
    })?;
    Ok(())
}

/// Records the chargers left marked connected to `node` (or to no node) as disconnected at `at`;
/// gives how many. Run when `node` starts, before any socket of it serves a charger, and when it
/// stops. `None` clears every charger: SQLite's one node.
pub async fn release(db: &Db, node: Option<&str>, at: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let sql = concat!(
        "UPDATE chargers SET connected = FALSE, node_id = NULL, disconnected_at = $1, updated_at = $1 ",
        "WHERE connected = TRUE AND ($2 IS NULL OR node_id = $2 OR node_id IS NULL)"
    );
    on_write!(db, pool => sqlx::query(sql).bind(at).bind(node).execute(pool).await.map(|r| r.rows_affected()))
}

/// A BootNotification to record: who booted, what it told, what it was answered, when.
#[derive(Debug, Clone)]
pub struct Boot {
    pub charge_point_id: Arc<str>,
    pub data: BootData,
    pub registration_status: String,
    pub at: DateTime<Utc>,
}

/// Records many boots in `tx`, a few hundred to a statement. A charger booting twice in one
/// batch keeps its later boot.
pub async fn booted_many(tx: &mut Tx, boots: &[&Boot]) -> Result<(), sqlx::Error> {
    let mut latest: HashMap<&str, &Boot> = HashMap::with_capacity(boots.len());
    for boot in boots {
        latest.insert(&boot.charge_point_id, boot);
    }
    let boots: Vec<&Boot> = latest.into_values().collect();
    const HEAD: &str = concat!(
        "UPDATE chargers SET vendor = v.column2, model = v.column3, charge_point_serial_number = v.column4, ",
        "charge_box_serial_number = v.column5, firmware_version = v.column6, iccid = v.column7, imsi = v.column8, ",
        "meter_type = v.column9, meter_serial_number = v.column10, registration_status = v.column11, ",
        "last_boot_at = v.column12, last_seen_at = v.column12, updated_at = v.column12 FROM ("
    );
    const TAIL: &str = ") AS v WHERE chargers.charge_point_id = v.column1";
    crate::execute_values!(tx, HEAD, TAIL, boots, |b, boot| {
        let d = &boot.data;
        b.push_bind(&*boot.charge_point_id)
            .push_bind(&d.vendor)
            .push_bind(&d.model)
            .push_bind(&d.charge_point_serial_number)
            .push_bind(&d.charge_box_serial_number)
            .push_bind(&d.firmware_version)
            .push_bind(&d.iccid)
            .push_bind(&d.imsi)
            .push_bind(&d.meter_type)
            .push_bind(&d.meter_serial_number)
            .push_bind(&boot.registration_status)
            .push_bind(boot.at);
    })?;
    Ok(())
}

/// The live point whose `device_id` is `charge_point_id`.
pub async fn point_of(db: &Db, charge_point_id: &str) -> Result<Option<PointLink>, sqlx::Error> {
    let sql = concat!(
        "SELECT p.id AS point_id, s.organization FROM charging_points p ",
        "LEFT JOIN charging_stations s ON s.station_id = p.station_id ",
        "WHERE p.device_id = $1 AND p.deleted = FALSE"
    );
    let row: Option<PointRow> =
        on_read!(db, pool => sqlx::query_as(sql).bind(charge_point_id).fetch_optional(pool).await)?;
    Ok(row.map(|r| PointLink {
        point_id: r.point_id,
        organization: r.organization.map(Arc::from),
    }))
}

/// [`point_of`] for many chargers at once, by charge point id (those no live point has adopted
/// are missing).
pub async fn points_of(
    db: &Db,
    charge_point_ids: &[Arc<str>],
) -> Result<HashMap<Arc<str>, PointLink>, sqlx::Error> {
    const HEAD: &str = concat!(
        "SELECT p.device_id AS charge_point_id, p.id AS point_id, s.organization FROM charging_points p ",
        "LEFT JOIN charging_stations s ON s.station_id = p.station_id ",
        "WHERE p.deleted = FALSE AND p.device_id IN ("
    );
    let rows: Vec<(String, i64, Option<String>)> =
        super::rows_for_ids(db, HEAD, charge_point_ids).await?;
    Ok(rows
        .into_iter()
        .map(|(charge_point_id, point_id, organization)| {
            let link = PointLink {
                point_id,
                organization: organization.map(Arc::from),
            };
            (Arc::from(charge_point_id), link)
        })
        .collect())
}

/// A StatusNotification to store: of the charger itself (`point` None, connector 0) or of
/// connector `connector` of its charging point.
#[derive(Debug, Clone)]
pub struct StatusReport {
    pub charge_point_id: Arc<str>,
    /// The charger's point, for a connector's status.
    pub point_id: Option<i64>,
    pub connector: u32,
    pub status: String,
    pub error_code: String,
    pub at: DateTime<Utc>,
}

/// Stores many status reports, each only where `at` is not older than the stored status, in a few
/// statements; gives what each did. A second report of the same charger or connector is not
/// stored (None): its caller stores it after, alone (the rows changed are known by their keys,
/// as SQLite's RETURNING cannot name the values, so each key goes once).
pub async fn statuses(
    tx: &mut Tx,
    reports: &[&StatusReport],
) -> Result<Vec<Option<StatusStored>>, sqlx::Error> {
    let now = super::now();
    let mut keys = HashSet::with_capacity(reports.len());
    let first: Vec<bool> = reports
        .iter()
        .map(|r| keys.insert((r.point_id, r.connector, r.charge_point_id.clone())))
        .collect();
    let (own, of_connectors): (Vec<&StatusReport>, Vec<&StatusReport>) = reports
        .iter()
        .zip(&first)
        .filter(|(_, first)| **first)
        .map(|(r, _)| *r)
        .partition(|r| r.point_id.is_none());
    const OWN_HEAD: &str = "UPDATE chargers SET status = v.column2, error_code = v.column3, status_at = v.column4, updated_at = v.column5 FROM (";
    const OWN_TAIL: &str = concat!(
        ") AS v WHERE chargers.charge_point_id = v.column1 ",
        "AND (chargers.status_at IS NULL OR chargers.status_at <= v.column4) RETURNING chargers.charge_point_id"
    );
    let applied: Vec<(String,)> =
        crate::fetch_values!(tx, OWN_HEAD, OWN_TAIL, own, (String,), true, |b, r| {
            b.push_bind(&*r.charge_point_id)
                .push_bind(&r.status)
                .push_bind(&r.error_code)
                .push_bind(r.at)
                .push_bind(now);
        })?;
    let applied: HashSet<String> = applied.into_iter().map(|(id,)| id).collect();
    let connectors: Vec<(i64, String, &StatusReport)> = of_connectors
        .iter()
        .map(|r| (r.point_id.unwrap_or(0), r.connector.to_string(), *r))
        .collect();
    const HEAD: &str = "UPDATE connectors SET status = v.column3, error_code = v.column4, status_at = v.column5 FROM (";
    const TAIL: &str = concat!(
        ") AS v WHERE connectors.charging_point_id = v.column1 AND connectors.connector_id = v.column2 ",
        "AND connectors.deleted = FALSE AND (connectors.status_at IS NULL OR connectors.status_at <= v.column5) ",
        "RETURNING connectors.charging_point_id, connectors.connector_id"
    );
    let changed: Vec<(i64, String)> =
        crate::fetch_values!(tx, HEAD, TAIL, connectors, (i64, String), true, |b, c| {
            let (point, number, r) = c;
            b.push_bind(*point)
                .push_bind(number.as_str())
                .push_bind(&r.status)
                .push_bind(&r.error_code)
                .push_bind(r.at);
        })?;
    let changed: HashSet<(i64, String)> = changed.into_iter().collect();
    // Not applied: an older report (fine) or no such connector (worth a log line).
    let unapplied: Vec<&(i64, String, &StatusReport)> = connectors
        .iter()
        .filter(|(point, number, _)| !changed.contains(&(*point, number.clone())))
        .collect();
    let mut existing: HashSet<(i64, String)> = HashSet::new();
    if !unapplied.is_empty() {
        const EXISTS_HEAD: &str =
            "SELECT k.charging_point_id, k.connector_id FROM connectors k JOIN (";
        const EXISTS_TAIL: &str = ") AS v ON k.charging_point_id = v.column1 AND k.connector_id = v.column2 AND k.deleted = FALSE";
        let found: Vec<(i64, String)> = crate::fetch_values!(
            tx,
            EXISTS_HEAD,
            EXISTS_TAIL,
            unapplied,
            (i64, String),
            true,
            |b, c| {
                b.push_bind(c.0).push_bind(c.1.as_str());
            }
        )?;
        existing.extend(found);
    }
    Ok(reports
        .iter()
        .zip(first)
        .map(|(r, first)| {
            first.then(|| match r.point_id {
                None if applied.contains(&*r.charge_point_id) => StatusStored::Applied,
                None => StatusStored::Older,
                Some(point) => {
                    let key = (point, r.connector.to_string());
                    if changed.contains(&key) {
                        StatusStored::Applied
                    } else if existing.contains(&key) {
                        StatusStored::Older
                    } else {
                        StatusStored::NoSuchConnector
                    }
                }
            })
        })
        .collect())
}

/// Moves `last_seen_at` forward for each charger (batched by the sample writer; one time per
/// charger).
pub async fn seen(tx: &mut Tx, seen: &[(Box<str>, DateTime<Utc>)]) -> Result<(), sqlx::Error> {
    const HEAD: &str = "UPDATE chargers SET last_seen_at = v.column2 FROM (";
    const TAIL: &str = concat!(
        ") AS v WHERE chargers.charge_point_id = v.column1 ",
        "AND (chargers.last_seen_at IS NULL OR chargers.last_seen_at < v.column2)"
    );
    crate::execute_values!(tx, HEAD, TAIL, seen, |b, s| {
        b.push_bind(&*s.0).push_bind(s.1);
    })?;
    Ok(())
}

/// A progress report of a charger's firmware update or diagnostics upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    Firmware,
    Diagnostics,
}

/// Stores the latest firmware or diagnostics state a charger reported.
pub async fn report(
    db: &Db,
    charge_point_id: &str,
    report: Report,
    status: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = match report {
        Report::Firmware => {
            "UPDATE chargers SET firmware_status = $2, updated_at = $3 WHERE charge_point_id = $1"
        }
        Report::Diagnostics => {
            "UPDATE chargers SET diagnostics_status = $2, updated_at = $3 WHERE charge_point_id = $1"
        }
    };
    on_write!(db, pool => sqlx::query(sql).bind(charge_point_id).bind(status).bind(at).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}
