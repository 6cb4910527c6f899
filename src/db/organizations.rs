//! Organizations table.

use super::Db;
use crate::domain::organization::Organization;
use crate::on_read;

/// Every organization, by code.
pub async fn list(db: &Db) -> Result<Vec<Organization>, sqlx::Error> {
    on_read!(db, pool => sqlx::query_as("SELECT code, name, created_at FROM organizations ORDER BY code").fetch_all(pool).await)
}
