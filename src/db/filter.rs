//! Dynamic WHERE clauses, sort orders and pages for list queries, built as one SQL text with `$n`
//! placeholders plus the values to bind, which both databases accept unchanged.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, FromRow};

use super::Db;

/// A value bound to a placeholder of a dynamic query.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<DateTime<Utc>> for Arg {
    fn from(v: DateTime<Utc>) -> Self {
        Arg::Time(v)
    }
}

/// Binds every [`Arg`] in order to a sqlx query (of either backend).
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Text(v) => query.bind(v),
                Arg::Int(v) => query.bind(v),
                Arg::Time(v) => query.bind(v),
            };
        }
        query
    }};
}

/// The conditions of a list query, joined with AND.
#[derive(Debug, Clone, Default)]
pub struct Where {
    conditions: Vec<String>,
    args: Vec<Arg>,
}

impl Where {
    /// Starts from fixed conditions that take no parameters (`s.deleted = FALSE`).
    pub fn new(fixed: &[&str]) -> Self {
        Self {
            conditions: fixed.iter().map(|c| c.to_string()).collect(),
            args: Vec::new(),
        }
    }

    fn placeholder(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// Adds `column <op> value`, with `op` one of `=`, `>=`, `<`, ....
    pub fn compare(&mut self, column: &str, op: &str, value: impl Into<Arg>) -> &mut Self {
        let p = self.placeholder(value.into());
        self.conditions.push(format!("{column} {op} {p}"));
        self
    }

    /// Adds `column = value` when a value is given.
    pub fn eq_opt(&mut self, column: &str, value: Option<impl Into<Arg>>) -> &mut Self {
        if let Some(value) = value {
            self.compare(column, "=", value);
        }
        self
    }

    /// Adds a case-insensitive equality (`LOWER(column) = lower(value)`) when a value is given.
    pub fn eq_ignore_case_opt(&mut self, column: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            let p = self.placeholder(Arg::Text(value.to_lowercase()));
            self.conditions.push(format!("LOWER({column}) = {p}"));
        }
        self
    }

    /// Adds a time range: `from` inclusive, `to` exclusive.
    pub fn between_opt(
        &mut self,
        column: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> &mut Self {
        if let Some(from) = from {
            self.compare(column, ">=", from);
        }
        if let Some(to) = to {
            self.compare(column, "<", to);
        }
        self
    }

    /// Adds a case-insensitive substring match of `term` in any of `columns`.
    pub fn search_opt(&mut self, columns: &[&str], term: Option<&str>) -> &mut Self {
        let Some(term) = term else { return self };
        let pairs: Vec<(&str, &str)> = columns.iter().map(|column| (*column, term)).collect();
        self.search_each(&pairs)
    }

    /// Adds `column IN (values...)`; an empty list matches nothing.
    pub fn one_of<V: Into<Arg>>(
        &mut self,
        column: &str,
        values: impl IntoIterator<Item = V>,
    ) -> &mut Self {
        let placeholders = values
            .into_iter()
            .map(|v| self.placeholder(v.into()))
            .collect::<Vec<_>>();
        if placeholders.is_empty() {
            self.conditions.push("FALSE".to_owned());
        } else {
            self.conditions
                .push(format!("{column} IN ({})", placeholders.join(", ")));
        }
        self
    }

    /// Limits the rows to those of organization `organization` (None = no limit), where
    /// `station_column` holds a station's `station_id`. The one place organization scoping of
    /// stations, points and sessions is written.
    pub fn station_in_organization(
        &mut self,
        station_column: &str,
        organization: Option<&str>,
    ) -> &mut Self {
        if let Some(organization) = organization {
            let p = self.placeholder(Arg::Text(organization.to_owned()));
            self.conditions.push(format!(
                "{station_column} IN (SELECT station_id FROM charging_stations WHERE organization = {p})"
            ));
        }
        self
    }

    /// Limits the rows to chargers of organization `organization` (None = no limit), where
    /// `charge_point_column` holds an OCPP charge point id: a charger belongs to the organization
    /// of the station of the live charging point whose `device_id` it is.
    pub fn charger_in_organization(
        &mut self,
        charge_point_column: &str,
        organization: Option<&str>,
    ) -> &mut Self {
        if let Some(organization) = organization {
            let p = self.placeholder(Arg::Text(organization.to_owned()));
            self.conditions.push(format!(
                "{charge_point_column} IN (SELECT cp.device_id FROM charging_points cp JOIN charging_stations st ON st.station_id = cp.station_id WHERE cp.deleted = FALSE AND cp.device_id IS NOT NULL AND st.organization = {p})"
            ));
        }
        self
    }

    /// Adds a case-insensitive substring match of any `(column, term)` pair, for a search whose
    /// term is read differently per column (a phone number also by its digits alone).
    pub fn search_each(&mut self, pairs: &[(&str, &str)]) -> &mut Self {
        if pairs.is_empty() {
            return self;
        }
        let any = pairs
            .iter()
            .map(|(column, term)| {
                let pattern = format!("%{}%", escape_like(&term.to_lowercase()));
                let p = self.placeholder(Arg::Text(pattern));
                format!("LOWER(COALESCE({column}, '')) LIKE {p} ESCAPE '\\'")
            })
            .collect::<Vec<_>>()
            .join(" OR ");
        self.conditions.push(format!("({any})"));
        self
    }

    fn sql(&self) -> String {
        if self.conditions.is_empty() {
            "TRUE".to_owned()
        } else {
            self.conditions.join(" AND ")
        }
    }
}

/// Escapes the LIKE wildcards so a search for `50%` means the text "50%".
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// An ORDER BY clause, always ending in the primary key so equal keys keep a stable order across
/// pages.
#[derive(Debug, Clone)]
pub struct Sort {
    column: &'static str,
    descending: bool,
    tie_breaker: &'static str,
}

impl Sort {
    pub fn new(column: &'static str, descending: bool, tie_breaker: &'static str) -> Self {
        Self {
            column,
            descending,
            tie_breaker,
        }
    }

    /// Newest first: `created_at` descending, ties by `id`. The default order of most lists.
    pub fn newest_first() -> Self {
        Self::new("created_at", true, "id")
    }

    pub fn tie_breaker(&self) -> &'static str {
        self.tie_breaker
    }

    fn sql(&self) -> String {
        let dir = if self.descending { "DESC" } else { "ASC" };
        if self.column == self.tie_breaker {
            format!("{} {dir}", self.column)
        } else {
            format!("{} {dir}, {} {dir}", self.column, self.tie_breaker)
        }
    }
}

/// Which page of a list to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub limit: u32,
}

/// One page of rows and the count of all rows that match.
#[derive(Debug)]
pub struct PageOf<T> {
    pub rows: Vec<T>,
    pub total: i64,
}

/// Runs `SELECT {select} FROM {from} WHERE {filter} ORDER BY {sort}` for one page, and the count of
/// all matching rows.
pub async fn list<T>(
    db: &Db,
    select: &str,
    from: &str,
    filter: &Where,
    sort: &Sort,
    page: PageRequest,
) -> Result<PageOf<T>, sqlx::Error>
where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let condition = filter.sql();
    let n = filter.args.len();
    let rows_sql = format!(
        "SELECT {select} FROM {from} WHERE {condition} ORDER BY {} LIMIT ${} OFFSET ${}",
        sort.sql(),
        n + 1,
        n + 2
    );
    let count_sql = format!("SELECT COUNT(*) FROM {from} WHERE {condition}");
    let limit = i64::from(page.limit);
    let offset = i64::from(page.page.saturating_sub(1)) * limit;
    let args = filter.args.clone();
    // Audited: the SQL holds only the caller's constant fragments, whitelisted column names and
    // numbered placeholders; every value travels as a bound argument.
    crate::on_read!(db, pool => {
        let rows = bind_args!(sqlx::query_as::<_, T>(AssertSqlSafe(rows_sql.clone())), args.clone()).bind(limit).bind(offset).fetch_all(pool).await?;
        let total: i64 = bind_args!(sqlx::query_scalar(AssertSqlSafe(count_sql.clone())), args).fetch_one(pool).await?;
        Ok(PageOf { rows, total })
    })
}

/// Runs `SELECT {select} FROM {from} WHERE {filter} ORDER BY {sort}` for every matching row, for
/// loading the children of a page of rows in one query.
pub async fn all<T>(
    db: &Db,
    select: &str,
    from: &str,
    filter: &Where,
    sort: &Sort,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let sql = format!(
        "SELECT {select} FROM {from} WHERE {} ORDER BY {}",
        filter.sql(),
        sort.sql()
    );
    let args = filter.args.clone();
    // Audited as in `list`: constant fragments, whitelisted columns and numbered placeholders.
    crate::on_read!(db, pool => {
        bind_args!(sqlx::query_as::<_, T>(AssertSqlSafe(sql.clone())), args.clone()).fetch_all(pool).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_in_order_and_escapes_wildcards() {
        let mut w = Where::new(&["deleted = FALSE"]);
        w.eq_opt("status", Some("Active"))
            .search_opt(&["name", "city"], Some("50%_Off"));
        assert_eq!(
            w.sql(),
            "deleted = FALSE AND status = $1 AND (LOWER(COALESCE(name, '')) LIKE $2 ESCAPE '\\' OR LOWER(COALESCE(city, '')) LIKE $3 ESCAPE '\\')"
        );
        assert!(matches!(&w.args[1], Arg::Text(p) if p == "%50\\%\\_off%"));
    }

    #[test]
    fn sort_always_ends_in_the_tie_breaker() {
        assert_eq!(
            Sort::new("s.city", true, "s.id").sql(),
            "s.city DESC, s.id DESC"
        );
        assert_eq!(Sort::new("s.id", false, "s.id").sql(), "s.id ASC");
    }
}
