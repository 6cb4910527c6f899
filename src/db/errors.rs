//! What a database error means for the caller, read the same way on SQLite and PostgreSQL: the one
//! place that knows how each database reports a broken constraint.

use sqlx::error::ErrorKind;

/// The constraint a failed statement broke, when it is one a request can provoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// A unique index or constraint: the value is taken.
    Unique,
    /// A foreign key: a referenced record does not exist.
    ForeignKey,
    /// A CHECK or NOT NULL constraint: a value is not allowed.
    NotAllowed,
}

/// Which constraint `err` broke, or None for any other error (ours, not the caller's).
pub fn violation(err: &sqlx::Error) -> Option<Violation> {
    match err {
        sqlx::Error::Database(db) => match db.kind() {
            ErrorKind::UniqueViolation => Some(Violation::Unique),
            ErrorKind::ForeignKeyViolation => Some(Violation::ForeignKey),
            ErrorKind::CheckViolation | ErrorKind::NotNullViolation => Some(Violation::NotAllowed),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `err` is a unique violation on the constraint or column called `name`.
/// PostgreSQL names the constraint (`uq_tariffs_tariff_id`); SQLite names the column in its message
/// (`UNIQUE constraint failed: tariffs.tariff_id`), so a name that is part of both matches both.
pub fn is_unique_violation(err: &sqlx::Error, name: &str) -> bool {
    match err {
        sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => {
            db.constraint().is_some_and(|c| c.contains(name)) || db.message().contains(name)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_that_are_not_from_the_database_break_no_constraint() {
        let err = sqlx::Error::RowNotFound;
        assert_eq!(violation(&err), None);
        assert!(!is_unique_violation(&err, "email"));
    }
}
