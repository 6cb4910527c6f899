//! Who holds the idTags that chargers ask about (Authorize), read for many at once (see
//! [`super::grouped`]). When a whole network arrives, each charger authorizes its driver's tag
//! within seconds of the others: read one by one, 19,000 Authorizes cost PostgreSQL 2.5 s of
//! planning alone (the lookup is sent unprepared, see `transactions::tag_holder`); read together,
//! a query plans once for hundreds of tags.
//!
//! Only the reading is shared: each Authorize is still judged on its own ([`tag::judge`]).
//! StartTransaction reads its tag again inside its transaction, with the customer locked.
//!
//! [`tag::judge`]: crate::charging::tag::judge

use std::sync::Arc;

use super::grouped::{GroupedReads, LookupFailed, Read};
use crate::charging::tag::TagHolder;
use crate::db::{Db, transactions};

/// Most tags read by one group of queries.
const MAX_BATCH: usize = 2048;

/// Where Authorizes ask; cheap to clone.
#[derive(Debug, Clone)]
pub struct TagHolders {
    reads: GroupedReads<String, Option<TagHolder>>,
}

impl TagHolders {
    /// Starts the lookup task, reading through `reader` (see [`super::grouped::reader`]).
    pub fn start(reader: Db) -> Self {
        let read: Read<String, Option<TagHolder>> = Arc::new(|db, tags| Box::pin(read(db, tags)));
        Self {
            reads: GroupedReads::start(reader, MAX_BATCH, "id_tag_holders", read),
        }
    }

    /// The holder of `id_tag` (compared case-insensitively); None for an unknown tag.
    pub async fn of(&self, id_tag: &str) -> Result<Option<TagHolder>, LookupFailed> {
        self.reads.get(id_tag.to_owned()).await
    }
}

async fn read(db: &Db, tags: &[String]) -> Result<Vec<Option<TagHolder>>, sqlx::Error> {
    if let [tag] = tags {
        return Ok(vec![transactions::tag_holder(db, tag).await?]);
    }
    let indexed: Vec<(i64, &str)> = (0_i64..).zip(tags.iter().map(String::as_str)).collect();
    let mut found = transactions::many::tag_holders_read(db, &indexed).await?;
    Ok((0_i64..)
        .take(tags.len())
        .map(|index| found.remove(&index))
        .collect())
}
