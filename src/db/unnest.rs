//! A batch's rows on PostgreSQL as one array per column, read back as a table with
//! `UNNEST($1::…[], $2::…[], …)`, in place of a multi-row `VALUES` list.
//!
//! [`crate::execute_values!`] sends a batch as statements of 500 rows, each `VALUES` list a
//! parse tree holding every value (twelve parameters a row for a session's end), planned anew
//! because every row count is a statement of its own. PostgreSQL then joins each 500 rows to the
//! table: without statistics (a table that grew faster than autovacuum analyzed it) that is a
//! hash of the whole table for every chunk. With the rows as arrays a batch is one statement
//! whatever its size, prepared once per connection, and one join.
//!
//! Measured on this project's machine, closing 19,000 running sessions (the UPDATE of a stop
//! storm, `charging_sessions` as a storm leaves it): 38 statements of 500 `VALUES` rows took
//! 1.44 s of PostgreSQL's execution plus their planning, one statement over arrays 0.67 s, of
//! which 0.58 s is the same UPDATE with no join at all (its index entries and WAL).
//!
//! The statements keep the `VALUES` form's column names (`v.column1`, `v.column2`…): the
//! arrays are unnested as `column1`…, so one statement text serves both databases but for its
//! source of rows. SQLite, in-process and without arrays, keeps `VALUES`.
//!
//! Plans. An INSERT from arrays reads no table, so it is prepared once per connection and never
//! planned again (meter samples in a steady 19,000-charger load: 9.8 s of PostgreSQL's time for
//! 255,000 rows as `VALUES`, planning included, 7.3 s as arrays). A statement joining a table is
//! not kept prepared: a plan cached while the table was nearly empty (the first minutes of a
//! storm, before autovacuum has analyzed it) scanned the whole table for every row once it had
//! 19,000 (the live readings' UPDATE took 21 s instead of 2.5 s). Planned each time, the arrays'
//! join costs about 0.17 ms of planning, more than a small prepared `VALUES` statement, so joins
//! use arrays only where `VALUES` would take several statements ([`worth_joining`]): a storm's
//! batches, not the steady state's.

use sqlx::PgConnection;

use super::{ROWS_PER_STATEMENT, Tx};

/// The PostgreSQL connection of `tx` when a statement joining a table to `rows` rows is worth
/// sending as arrays: when `VALUES` would take more than one statement. None on SQLite, or for a
/// smaller batch, which keeps its `VALUES` (see the module's note on plans).
pub fn worth_joining(tx: &mut Tx, rows: usize) -> Option<&mut PgConnection> {
    match tx {
        Tx::Postgres(t) if rows > ROWS_PER_STATEMENT => Some(&mut **t),
        _ => None,
    }
}

/// `head` + the rows of one array per column, of PostgreSQL types `types` (`int8`, `text`…),
/// named `column1`… as in a `VALUES` list + `tail`. `head` ends where a `VALUES` list would
/// start, inside a parenthesis (`… FROM (`, `… JOIN (`), and `tail` names the rows (`) AS v …`).
/// All three are the caller's SQL text, never a value: the values go in the arrays.
pub fn statement(head: &str, types: &[&str], tail: &str) -> sqlx::AssertSqlSafe<String> {
    let mut sql = String::with_capacity(head.len() + tail.len() + 48 + types.len() * 24);
    sql.push_str(head);
    sql.push_str("SELECT * FROM UNNEST(");
    for (i, ty) in types.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("${}::{ty}[]", i + 1));
    }
    sql.push_str(") AS u(");
    for i in 1..=types.len() {
        if i > 1 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("column{i}"));
    }
    sql.push(')');
    sql.push_str(tail);
    sqlx::AssertSqlSafe(sql)
}

/// One column of `rows`: the array bound for it.
pub fn column<'r, R, T>(rows: &'r [R], value: impl FnMut(&'r R) -> T) -> Vec<T> {
    rows.iter().map(value).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unnests_the_arrays_as_the_columns_of_a_values_list() {
        assert_eq!(
            statement(
                "UPDATE t SET a = v.column2 FROM (",
                &["int8", "text"],
                ") AS v WHERE t.id = v.column1"
            )
            .0,
            "UPDATE t SET a = v.column2 FROM (SELECT * FROM UNNEST($1::int8[], $2::text[]) AS u(column1, column2)) AS v WHERE t.id = v.column1"
        );
    }
}
