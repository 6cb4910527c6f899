//! The OCPP credentials of chargers (security profiles 1 and 2), kept on the `chargers` row:
//! the hash of the charger's AuthorizationKey and whether it must authenticate.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Db;
use crate::{on_read, on_write};

/// What the handshake of a charger needs to know.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct ChargerCredentials {
    /// argon2id of the AuthorizationKey; None = no key set.
    pub auth_key_hash: Option<String>,
    /// Whether it must authenticate; None = the global default.
    pub auth_required: Option<bool>,
}

/// The credentials of charger `charge_point_id`; None when there is no `chargers` row.
pub async fn credentials(
    db: &Db,
    charge_point_id: &str,
) -> Result<Option<ChargerCredentials>, sqlx::Error> {
    let sql = "SELECT auth_key_hash, auth_required FROM chargers WHERE charge_point_id = $1";
    on_read!(db, pool => sqlx::query_as(sql).bind(charge_point_id).fetch_optional(pool).await)
}

/// [`credentials`] for many chargers at once, by charge point id (chargers never seen are
/// missing).
pub async fn credentials_many(
    db: &Db,
    charge_point_ids: &[Arc<str>],
) -> Result<HashMap<Arc<str>, ChargerCredentials>, sqlx::Error> {
    const HEAD: &str = "SELECT charge_point_id, auth_key_hash, auth_required FROM chargers WHERE charge_point_id IN (";
    let rows: Vec<(String, Option<String>, Option<bool>)> =
        super::rows_for_ids(db, HEAD, charge_point_ids).await?;
    Ok(rows
        .into_iter()
        .map(|(charge_point_id, auth_key_hash, auth_required)| {
            let credentials = ChargerCredentials {
                auth_key_hash,
                auth_required,
            };
            (Arc::from(charge_point_id), credentials)
        })
        .collect())
}

/// Which of the two settings a change touches: `Some(value)` sets it (a value of None clears
/// it), None keeps the stored one.
#[derive(Debug, Clone, Default)]
pub struct CredentialsChange {
    pub auth_key_hash: Option<Option<String>>,
    pub auth_required: Option<Option<bool>>,
}

/// Applies `change` to charger `charge_point_id`, creating its `chargers` row when it has never
/// connected, so a key can be set before the first connection. Gives the stored result.
pub async fn set_credentials(
    db: &Db,
    charge_point_id: &str,
    change: &CredentialsChange,
    now: DateTime<Utc>,
) -> Result<ChargerCredentials, sqlx::Error> {
    let insert = "INSERT INTO chargers (charge_point_id, connected, created_at, updated_at) VALUES ($1, FALSE, $2, $2) ON CONFLICT (charge_point_id) DO NOTHING";
    on_write!(db, pool => sqlx::query(insert).bind(charge_point_id).bind(now).execute(pool).await.map(|_| ()))?;
    let sql = concat!(
        "UPDATE chargers SET ",
        "auth_key_hash = CASE WHEN $2 THEN $3 ELSE auth_key_hash END, ",
        "auth_required = CASE WHEN $4 THEN $5 ELSE auth_required END, ",
        "updated_at = $6 WHERE charge_point_id = $1 RETURNING auth_key_hash, auth_required"
    );
    on_write!(db, pool => sqlx::query_as(sql)
        .bind(charge_point_id)
        .bind(change.auth_key_hash.is_some()).bind(change.auth_key_hash.clone().flatten())
        .bind(change.auth_required.is_some()).bind(change.auth_required.flatten())
        .bind(now)
        .fetch_one(pool).await)
}

/// Whether charger `charge_point_id` belongs to organization `organization`: the device of a
/// live charging point at one of its stations (as in
/// [`Where::charger_in_organization`](super::filter::Where::charger_in_organization)).
pub async fn in_organization(
    db: &Db,
    charge_point_id: &str,
    organization: &str,
) -> Result<bool, sqlx::Error> {
    let sql = concat!(
        "SELECT COUNT(*) FROM charging_points cp JOIN charging_stations st ON st.station_id = cp.station_id ",
        "WHERE cp.deleted = FALSE AND cp.device_id = $1 AND st.organization = $2"
    );
    let n: i64 = on_read!(db, pool => sqlx::query_scalar(sql).bind(charge_point_id).bind(organization).fetch_one(pool).await)?;
    Ok(n > 0)
}
