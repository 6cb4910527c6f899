//! SQLite's WAL checkpoints, taken off the writer.
//!
//! In WAL mode a commit appends the pages it changed to the WAL file, and a checkpoint copies
//! them back into the database file and syncs it. SQLite checkpoints by default on the writer's
//! own connection, inside the commit that takes the WAL past 1,000 pages: that commit then
//! copies and syncs megabytes before it returns, and every message queued behind the one writer
//! waits for it. In a stop storm this was about a third of the writer thread's time (perf:
//! `fsync` and the copy-back `pwrite`s).
//!
//! So a connection of its own runs a PASSIVE checkpoint every [`EVERY`], beside the writer: a
//! passive checkpoint never blocks the writer or readers, it copies whatever frames no reader
//! still needs. The writer keeps SQLite's automatic checkpoint only as a backstop, at
//! [`WRITER_BACKSTOP_PAGES`], for when the background one falls behind. The WAL's pages being
//! copied back less often also helps: a page changed by many commits in between is copied once.

use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

/// How often the background checkpoint runs.
const EVERY: Duration = Duration::from_millis(500);
/// WAL pages past which the writer's own commit checkpoints (SQLite's default is 1,000): 64 MiB
/// of 4 KiB pages, reached only when the background checkpoint cannot keep up.
pub(super) const WRITER_BACKSTOP_PAGES: u32 = 16_384;

/// The background checkpoints of one database, shared by every clone of its [`super::Db`]: they
/// stop (and their connection closes) when the database is closed or its last clone dropped.
#[derive(Debug)]
pub struct Checkpointer(tokio::task::AbortHandle);

impl Checkpointer {
    /// Opens the checkpointing connection and starts checkpointing.
    pub(super) async fn start(options: &SqliteConnectOptions) -> Result<Self, sqlx::Error> {
        let conn = options.connect().await?;
        Ok(Self(tokio::spawn(run(conn)).abort_handle()))
    }

    pub(super) fn stop(&self) {
        self.0.abort();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn run(mut conn: SqliteConnection) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        // (busy, frames in the WAL, frames copied back)
        let result: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut conn)
            .await;
        match result {
            Ok((_, frames, _)) => {
                failing = false;
                metrics::gauge!("sqlite_wal_frames").set(frames.max(0) as f64);
            }
            // Logged once per run of failures: the writer's backstop checkpoints meanwhile.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "the background WAL checkpoint failed; retrying");
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::db::Db;

    /// Committed pages reach the database file without the writer's own checkpoint: the writes
    /// here stay far below its backstop, so only the background checkpoint can copy them back.
    #[tokio::test]
    async fn committed_pages_reach_the_database_file_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("evcms.db");
        let db = Db::connect(&format!("sqlite://{}?mode=rwc", file.display()), 2)
            .await
            .unwrap();
        let before = std::fs::metadata(&file).unwrap().len();
        let mut tx = db.begin().await.unwrap();
        crate::on_tx!(&mut tx, conn => sqlx::raw_sql(
            "CREATE TABLE filler (v BLOB NOT NULL); \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
             INSERT INTO filler SELECT randomblob(4000) FROM n;"
        ).execute(conn).await.map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
        let grown = before + 3_000_000;
        let mut size = std::fs::metadata(&file).unwrap().len();
        for _ in 0..50 {
            if size >= grown {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            size = std::fs::metadata(&file).unwrap().len();
        }
        assert!(
            size >= grown,
            "the database file stayed at {size} bytes (from {before})"
        );
        db.close().await;
    }
}
