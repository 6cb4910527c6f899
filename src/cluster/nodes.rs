//! The `nodes` table and which node holds which charger. Every time here is PostgreSQL's clock
//! (`now()`), so nodes whose clocks disagree still agree on whose heartbeat lapsed.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// The live nodes: not stopped, heartbeat within `$1` seconds.
macro_rules! live_nodes {
    () => {
        "SELECT id FROM nodes WHERE stopped_at IS NULL AND heartbeat_at > now() - make_interval(secs => $1)"
    };
}

/// Records `node` as started (again, when a node of that name ran before).
pub async fn join(pool: &PgPool, node: &str) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "INSERT INTO nodes (id, started_at, heartbeat_at) VALUES ($1, now(), now()) ",
        "ON CONFLICT (id) DO UPDATE SET started_at = now(), heartbeat_at = now(), stopped_at = NULL, ",
        "chargers = 0, event_subscribers = 0"
    );
    sqlx::query(sql).bind(node).execute(pool).await?;
    Ok(())
}

/// Refreshes `node`'s heartbeat and counts (bringing its row back if it was cleaned up).
pub async fn beat(
    pool: &PgPool,
    node: &str,
    chargers: usize,
    subscribers: usize,
) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "INSERT INTO nodes (id, started_at, heartbeat_at, chargers, event_subscribers) VALUES ($1, now(), now(), $2, $3) ",
        "ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), stopped_at = NULL, chargers = $2, event_subscribers = $3"
    );
    sqlx::query(sql)
        .bind(node)
        .bind(count(chargers))
        .bind(count(subscribers))
        .execute(pool)
        .await?;
    Ok(())
}

/// Records that `node` stopped cleanly.
pub async fn leave(pool: &PgPool, node: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE nodes SET stopped_at = now(), chargers = 0, event_subscribers = 0 WHERE id = $1",
    )
    .bind(node)
    .execute(pool)
    .await?;
    Ok(())
}

/// A live node and its event-stream subscribers.
#[derive(Debug, sqlx::FromRow)]
pub struct LiveNode {
    pub id: String,
    pub event_subscribers: i32,
}

/// The live nodes.
pub async fn live(pool: &PgPool, timeout_secs: f64) -> Result<Vec<LiveNode>, sqlx::Error> {
    let sql = concat!(
        "SELECT id, event_subscribers FROM nodes WHERE id IN (",
        live_nodes!(),
        ")"
    );
    sqlx::query_as(sql).bind(timeout_secs).fetch_all(pool).await
}

/// Whether `node` is live.
pub async fn is_live(pool: &PgPool, node: &str, timeout_secs: f64) -> Result<bool, sqlx::Error> {
    let sql = concat!("SELECT EXISTS (", live_nodes!(), " AND id = $2)");
    sqlx::query_scalar(sql)
        .bind(timeout_secs)
        .bind(node)
        .fetch_one(pool)
        .await
}

/// The live node holding `charge_point_id`'s connection, if any.
pub async fn holder_of(
    pool: &PgPool,
    charge_point_id: &str,
    timeout_secs: f64,
) -> Result<Option<String>, sqlx::Error> {
    let sql = concat!(
        "SELECT node_id FROM chargers WHERE charge_point_id = $2 AND connected = TRUE AND node_id IN (",
        live_nodes!(),
        ")"
    );
    sqlx::query_scalar(sql)
        .bind(timeout_secs)
        .bind(charge_point_id)
        .fetch_optional(pool)
        .await
}

/// A charger marked disconnected because its node is gone.
#[derive(Debug, sqlx::FromRow)]
pub struct Swept {
    pub charge_point_id: String,
    pub disconnected_at: DateTime<Utc>,
    /// Its point's station's organization (for the event's scope).
    pub organization: Option<String>,
}

/// The chargers an `UPDATE ... RETURNING charge_point_id, disconnected_at` (named `released`)
/// marked disconnected, with their organizations.
macro_rules! released_with_organizations {
    () => {
        concat!(
            "SELECT released.charge_point_id, released.disconnected_at, s.organization FROM released ",
            "LEFT JOIN charging_points p ON p.device_id = released.charge_point_id AND p.deleted = FALSE ",
            "LEFT JOIN charging_stations s ON s.station_id = p.station_id"
        )
    };
}

/// Marks disconnected every charger held by a node that is not live (its heartbeat lapsed, or it
/// stopped without releasing them).
pub async fn sweep_dead(pool: &PgPool, timeout_secs: f64) -> Result<Vec<Swept>, sqlx::Error> {
    let sql = concat!(
        "WITH released AS (",
        "UPDATE chargers SET connected = FALSE, node_id = NULL, disconnected_at = now(), updated_at = now() ",
        "WHERE connected = TRUE AND node_id IS NOT NULL AND node_id NOT IN (",
        live_nodes!(),
        ") RETURNING charge_point_id, disconnected_at) ",
        released_with_organizations!()
    );
    sqlx::query_as(sql).bind(timeout_secs).fetch_all(pool).await
}

/// Marks disconnected every charger `node` holds: it is stopping, and releases them in one
/// statement rather than one per connection.
pub async fn release_held(pool: &PgPool, node: &str) -> Result<Vec<Swept>, sqlx::Error> {
    let sql = concat!(
        "WITH released AS (",
        "UPDATE chargers SET connected = FALSE, node_id = NULL, disconnected_at = now(), updated_at = now() ",
        "WHERE connected = TRUE AND node_id = $1 RETURNING charge_point_id, disconnected_at) ",
        released_with_organizations!()
    );
    sqlx::query_as(sql).bind(node).fetch_all(pool).await
}

/// Marks `node`'s live connections connected again where nobody else holds them: after its own
/// heartbeat lapsed (a database outage) and the other nodes swept its chargers.
pub async fn reclaim(pool: &PgPool, node: &str, chargers: &[String]) -> Result<u64, sqlx::Error> {
    let sql = concat!(
        "UPDATE chargers SET connected = TRUE, node_id = $1 ",
        "WHERE charge_point_id = ANY($2) AND connected = FALSE AND node_id IS NULL"
    );
    let done = sqlx::query(sql)
        .bind(node)
        .bind(chargers)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// Forgets nodes gone for more than a day.
pub async fn forget_old(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM nodes WHERE heartbeat_at < now() - interval '1 day'")
        .execute(pool)
        .await?;
    Ok(())
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
