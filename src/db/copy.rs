//! Large inserts on PostgreSQL through `COPY … FROM STDIN`, in COPY's text format.
//!
//! A multi-row INSERT is parsed, analysed and planned as a tree holding every value, and its
//! rows are inserted one at a time, each with its own WAL record. COPY has nothing to plan and
//! fills heap pages several rows at a time. Measured on the message log (16,000 rows, this
//! project's machine): 290 ms as INSERTs of 500 rows, 130 ms as one COPY. In a storm of 19,000
//! chargers the log's inserts alone took 3.8 s of PostgreSQL's time, a quarter of it planning.
//!
//! A COPY costs two round trips (the statement, then the data) where an INSERT costs one, and on
//! a busy machine a round trip is milliseconds of waiting for the batch writer's lane. With COPY
//! from 64 rows, a storm's MeterValues batches (a few hundred rows) waited a round trip more
//! than they saved: MeterValues p50 during a reconnect storm went from 6 ms to 77 ms. So only
//! batches of at least [`WORTH_COPYING`] rows use it, where the saving (about 10 µs a row of
//! PostgreSQL's time) outweighs a round trip: a storm's batches and the message log's, never a
//! single message's. SQLite has no COPY and keeps its INSERTs.
//!
//! Inside the batch's transaction a COPY is all or nothing like the INSERT it replaces: a row the
//! table refuses fails the statement, and with it the transaction.

use std::fmt::{self, Display, Write};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::Tx;

/// Rows from which a bulk insert on PostgreSQL goes through COPY.
pub const WORTH_COPYING: usize = 512;

/// The PostgreSQL connection of `tx` when `rows` rows are worth a COPY; None on SQLite or for a
/// smaller batch, which keeps its INSERT.
pub fn worth_copying(tx: &mut Tx, rows: usize) -> Option<&mut PgConnection> {
    match tx {
        Tx::Postgres(t) if rows >= WORTH_COPYING => Some(&mut **t),
        _ => None,
    }
}

/// Rows in COPY's text format: fields separated by tabs, rows ended by a newline, `\N` for
/// NULL, and backslash, tab, newline and carriage return escaped within a value.
#[derive(Default)]
pub struct CopyText {
    text: String,
    row_started: bool,
}

impl CopyText {
    /// A value as its `Display` form (text, numbers, decimals, the domain's enums).
    pub fn value(&mut self, value: impl Display) -> &mut Self {
        self.separate();
        // Display cannot fail into a String; the escaping writer never fails either.
        let _ = write!(Escaping(&mut self.text), "{value}");
        self
    }

    /// A value, or NULL.
    pub fn maybe(&mut self, value: Option<impl Display>) -> &mut Self {
        match value {
            Some(value) => self.value(value),
            None => self.null(),
        }
    }

    /// A point in time, to the microsecond (truncated, as sqlx binds one) and in UTC.
    pub fn time(&mut self, at: DateTime<Utc>) -> &mut Self {
        self.value(at.format("%Y-%m-%d %H:%M:%S%.6f+00"))
    }

    pub fn null(&mut self) -> &mut Self {
        self.separate();
        self.text.push_str("\\N");
        self
    }

    /// Ends the current row.
    pub fn end_row(&mut self) {
        self.text.push('\n');
        self.row_started = false;
    }

    fn separate(&mut self) {
        if self.row_started {
            self.text.push('\t');
        }
        self.row_started = true;
    }
}

/// Escapes what COPY's text format reads specially.
struct Escaping<'a>(&'a mut String);

impl Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if !s
            .bytes()
            .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
        {
            self.0.push_str(s);
            return Ok(());
        }
        for c in s.chars() {
            match c {
                '\\' => self.0.push_str("\\\\"),
                '\t' => self.0.push_str("\\t"),
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                c => self.0.push(c),
            }
        }
        Ok(())
    }
}

/// Runs `statement` (`COPY table (columns) FROM STDIN`) with one row per item of `rows`, each
/// written by `row` field by field in the statement's column order; gives the rows copied.
pub async fn copy_in<R>(
    conn: &mut PgConnection,
    statement: &str,
    rows: &[R],
    mut row: impl FnMut(&mut CopyText, &R),
) -> Result<u64, sqlx::Error> {
    let mut text = CopyText::default();
    for r in rows {
        row(&mut text, r);
        text.end_row();
    }
    let mut copy = conn.copy_in_raw(statement).await?;
    copy.send(text.text.as_bytes()).await?;
    copy.finish().await
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn special_characters_are_escaped_and_nulls_marked() {
        let mut text = CopyText::default();
        text.value("a\tb\\c\nd\re").maybe(None::<i64>).value(42);
        text.end_row();
        text.value("plain");
        text.end_row();
        assert_eq!(text.text, "a\\tb\\\\c\\nd\\re\t\\N\t42\nplain\n");
    }

    #[test]
    fn times_are_written_in_utc_to_the_microsecond() {
        let at = Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap();
        let mut text = CopyText::default();
        text.time(at);
        assert_eq!(text.text, "2023-11-14 22:13:20.123456+00");
    }
}
