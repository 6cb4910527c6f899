//! Station images: the rows that say which objects of the store belong to which station.

use chrono::{DateTime, Utc};

use super::{Db, Tx};
use crate::domain::station_image::StationImage;
use crate::{on_read, on_tx};

macro_rules! columns {
    () => {
        concat!(
            "id, station_id, content_type, size_bytes, width, height, thumbnail_width, thumbnail_height, ",
            "checksum, position, is_cover, uploaded_by, created_at, object_key, thumbnail_key"
        )
    };
}

/// An image to record, its objects already stored.
#[derive(Debug, Clone)]
pub struct NewImage<'a> {
    pub station_id: &'a str,
    pub object_key: &'a str,
    pub thumbnail_key: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub width: i32,
    pub height: i32,
    pub thumbnail_width: i32,
    pub thumbnail_height: i32,
    pub checksum: &'a str,
    pub uploaded_by: i64,
}

/// Locks the live station `station_id` (uploads, reorders and deletes of its images queue behind
/// each other); false when there is none.
pub async fn lock_station(tx: &mut Tx, station_id: &str) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE charging_stations SET updated_at = updated_at WHERE station_id = $1 AND deleted = FALSE RETURNING id";
    let id: Option<i64> =
        on_tx!(tx, conn => sqlx::query_scalar(sql).bind(station_id).fetch_optional(conn).await)?;
    Ok(id.is_some())
}

/// Records `image` last in its station's order; the station's first image becomes its cover.
pub async fn insert(
    tx: &mut Tx,
    image: &NewImage<'_>,
    now: DateTime<Utc>,
) -> Result<StationImage, sqlx::Error> {
    let sql = concat!(
        "INSERT INTO station_images (station_id, object_key, thumbnail_key, content_type, size_bytes, width, height, ",
        "thumbnail_width, thumbnail_height, checksum, position, is_cover, uploaded_by, created_at) ",
        "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE(MAX(position), 0) + 1, COUNT(*) = 0, $11, $12 ",
        "FROM station_images WHERE station_id = $1 AND deleted = FALSE RETURNING ",
        columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(image.station_id).bind(image.object_key).bind(image.thumbnail_key).bind(image.content_type)
        .bind(image.size_bytes).bind(image.width).bind(image.height).bind(image.thumbnail_width)
        .bind(image.thumbnail_height).bind(image.checksum).bind(image.uploaded_by).bind(now)
        .fetch_one(conn).await)
}

const OF_STATION: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM station_images WHERE station_id = $1 AND deleted = FALSE ORDER BY position, id"
);

/// The live images of `station_id`, in their order.
pub async fn of_station(db: &Db, station_id: &str) -> Result<Vec<StationImage>, sqlx::Error> {
    on_read!(db, pool => sqlx::query_as(OF_STATION).bind(station_id).fetch_all(pool).await)
}

/// [`of_station`] inside `tx`.
pub async fn of_station_in(
    tx: &mut Tx,
    station_id: &str,
) -> Result<Vec<StationImage>, sqlx::Error> {
    on_tx!(tx, conn => sqlx::query_as(OF_STATION).bind(station_id).fetch_all(conn).await)
}

/// The covers of the live stations among `station_ids`.
pub async fn covers(db: &Db, station_ids: &[String]) -> Result<Vec<StationImage>, sqlx::Error> {
    if station_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = String::from(concat!(
        "SELECT ",
        columns!(),
        " FROM station_images WHERE is_cover = TRUE AND deleted = FALSE AND station_id IN ("
    ));
    for i in 1..=station_ids.len() {
        if i > 1 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("${i}"));
    }
    sql.push(')');
    on_read!(db, pool => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        for id in station_ids {
            q = q.bind(id);
        }
        q.fetch_all(pool).await
    })
}

/// Sets the position and cover flag of image `id`. The cover is cleared from the others first
/// (one cover per station, by a unique index).
pub async fn arrange(
    tx: &mut Tx,
    station_id: &str,
    order: &[(i64, i32, bool)],
) -> Result<(), sqlx::Error> {
    let clear =
        "UPDATE station_images SET is_cover = FALSE WHERE station_id = $1 AND deleted = FALSE";
    on_tx!(tx, conn => sqlx::query(clear).bind(station_id).execute(conn).await.map(|r| r.rows_affected()))?;
    let set = "UPDATE station_images SET position = $2, is_cover = $3 WHERE id = $1";
    for (id, position, cover) in order {
        on_tx!(tx, conn => sqlx::query(set).bind(id).bind(position).bind(cover).execute(conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Soft-deletes image `id`.
pub async fn delete(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql =
        "UPDATE station_images SET deleted = TRUE, is_cover = FALSE, deleted_at = $2 WHERE id = $1";
    on_tx!(tx, conn => sqlx::query(sql).bind(id).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whether a live image (or its thumbnail) is stored under `key`: only those are served.
pub async fn is_live_key(db: &Db, key: &str) -> Result<Option<String>, sqlx::Error> {
    let sql = "SELECT content_type FROM station_images WHERE deleted = FALSE AND (object_key = $1 OR thumbnail_key = $1)";
    on_read!(db, pool => sqlx::query_scalar(sql).bind(key).fetch_optional(pool).await)
}

/// Deleted images whose objects are still stored, deleted at or before `cutoff`.
pub async fn unpurged(
    db: &Db,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<StationImage>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM station_images WHERE deleted = TRUE AND purged_at IS NULL AND deleted_at <= $1 ORDER BY id LIMIT $2"
    );
    on_read!(db, pool => sqlx::query_as(sql).bind(cutoff).bind(limit).fetch_all(pool).await)
}

/// Records that image `id`'s objects are removed.
pub async fn purged(db: &Db, id: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE station_images SET purged_at = $2 WHERE id = $1";
    crate::on_write!(db, pool => sqlx::query(sql).bind(id).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}
