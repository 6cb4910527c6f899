//! The local authorization list each charger holds (SendLocalList), as evcms sent it and the
//! charger accepted it, and what the customers' id tags would make of it now.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Db, Tx};
use crate::domain::command::LocalListEntry;
use crate::{on_read, on_tx};

/// The version of the list `charge_point_id` accepted last (0: none).
pub async fn version(db: &Db, charge_point_id: &str) -> Result<i32, sqlx::Error> {
    let sql = "SELECT version FROM local_lists WHERE charge_point_id = $1";
    let found: Option<i32> = on_read!(db, pool => sqlx::query_scalar(sql).bind(charge_point_id).fetch_optional(pool).await)?;
    Ok(found.unwrap_or(0))
}

/// The list's header row: version, when sent, what the charger last reported.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct ListState {
    pub version: i32,
    pub sent_at: Option<DateTime<Utc>>,
    pub reported_version: Option<i32>,
    pub reported_at: Option<DateTime<Utc>>,
}

pub async fn state(db: &Db, charge_point_id: &str) -> Result<ListState, sqlx::Error> {
    let sql = "SELECT version, sent_at, reported_version, reported_at FROM local_lists WHERE charge_point_id = $1";
    let found: Option<ListState> =
        on_read!(db, pool => sqlx::query_as(sql).bind(charge_point_id).fetch_optional(pool).await)?;
    Ok(found.unwrap_or_default())
}

/// Every id tag of a customer not deleted, as a local list entry: Blocked, Expired or Accepted
/// with its expiry. (A wallet's balance cannot be said in a local list: a charger working
/// offline from it may start a session that the balance guard then stops once online.)
pub async fn wanted_entries(
    db: &Db,
    now: DateTime<Utc>,
) -> Result<Vec<LocalListEntry>, sqlx::Error> {
    let sql = concat!(
        "SELECT t.id_tag, CASE WHEN t.blocked THEN 'Blocked' WHEN t.expires_at IS NOT NULL AND t.expires_at <= $1 ",
        "THEN 'Expired' ELSE 'Accepted' END AS status, t.expires_at AS expiry_date, CAST(NULL AS VARCHAR(20)) AS parent_id_tag ",
        "FROM id_tags t JOIN customers c ON c.id = t.customer_id WHERE c.deleted = FALSE ORDER BY t.id_tag"
    );
    on_read!(db, pool => sqlx::query_as(sql).bind(now).fetch_all(pool).await)
}

/// The entries `charge_point_id` holds, as accepted.
pub async fn entries(db: &Db, charge_point_id: &str) -> Result<Vec<LocalListEntry>, sqlx::Error> {
    let sql = "SELECT id_tag, status, expiry_date, parent_id_tag FROM local_list_entries WHERE charge_point_id = $1 ORDER BY id_tag";
    on_read!(db, pool => sqlx::query_as(sql).bind(charge_point_id).fetch_all(pool).await)
}

/// What a Differential update must carry to turn `sent` into `wanted`: entries added or changed,
/// and tags to remove.
pub fn difference(
    sent: &[LocalListEntry],
    wanted: Vec<LocalListEntry>,
) -> (Vec<LocalListEntry>, Vec<String>) {
    let mut held: HashMap<&str, &LocalListEntry> =
        sent.iter().map(|e| (e.id_tag.as_str(), e)).collect();
    let mut upserts = Vec::new();
    for entry in wanted {
        match held.remove(entry.id_tag.as_str()) {
            Some(old)
                if old.status == entry.status
                    && old.expiry_date == entry.expiry_date
                    && old.parent_id_tag == entry.parent_id_tag => {}
            _ => upserts.push(entry),
        }
    }
    let mut removals: Vec<String> = held.into_keys().map(str::to_owned).collect();
    removals.sort();
    (upserts, removals)
}

/// The charger accepted list `version`: `full` replaces what it held.
pub async fn accepted(
    tx: &mut Tx,
    charge_point_id: &str,
    version: i32,
    full: bool,
    upserts: &[LocalListEntry],
    removals: &[String],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if full {
        let sql = "DELETE FROM local_list_entries WHERE charge_point_id = $1";
        on_tx!(tx, conn => sqlx::query(sql).bind(charge_point_id).execute(conn).await.map(|r| r.rows_affected()))?;
    }
    for tag in removals {
        let sql = "DELETE FROM local_list_entries WHERE charge_point_id = $1 AND id_tag = $2";
        on_tx!(tx, conn => sqlx::query(sql).bind(charge_point_id).bind(tag).execute(conn).await.map(|r| r.rows_affected()))?;
    }
    for e in upserts {
        let sql = concat!(
            "INSERT INTO local_list_entries (charge_point_id, id_tag, status, expiry_date, parent_id_tag) ",
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (charge_point_id, id_tag) DO UPDATE SET ",
            "status = excluded.status, expiry_date = excluded.expiry_date, parent_id_tag = excluded.parent_id_tag"
        );
        on_tx!(tx, conn => sqlx::query(sql).bind(charge_point_id).bind(&e.id_tag).bind(&e.status)
            .bind(e.expiry_date).bind(e.parent_id_tag.as_deref()).execute(conn).await.map(|r| r.rows_affected()))?;
    }
    let sql = concat!(
        "INSERT INTO local_lists (charge_point_id, version, sent_at) VALUES ($1, $2, $3) ",
        "ON CONFLICT (charge_point_id) DO UPDATE SET version = excluded.version, sent_at = excluded.sent_at"
    );
    on_tx!(tx, conn => sqlx::query(sql).bind(charge_point_id).bind(version).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// What GetLocalListVersion answered.
pub async fn reported(
    tx: &mut Tx,
    charge_point_id: &str,
    version: i32,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "INSERT INTO local_lists (charge_point_id, version, reported_version, reported_at) VALUES ($1, 0, $2, $3) ",
        "ON CONFLICT (charge_point_id) DO UPDATE SET reported_version = excluded.reported_version, reported_at = excluded.reported_at"
    );
    on_tx!(tx, conn => sqlx::query(sql).bind(charge_point_id).bind(version).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
