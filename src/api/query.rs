//! Reading list parameters from the query string: pagination, sorting and filters, each problem
//! reported together as one 400 answer.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::filter::{PageOf, PageRequest, Sort};
use crate::error::{ApiError, Problem};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// The query string read into `T` (a struct of `Option<String>` fields; unknown keys are ignored).
pub struct ListQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ListQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map(Self)
            .map_err(|err| ApiError::bad_query(vec![Problem::new("query", err.to_string())]))
    }
}

/// `?page=&limit=`, taken by every list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1 (default 1).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000000)]
    page: Option<String>,
    /// Records per page, from 1 (default 20; values above 100 are capped at 100).
    #[param(value_type = Option<u32>, minimum = 1)]
    limit: Option<String>,
}

/// One page of a list, with where it stands among all matching records.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub pagination: Pagination,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    /// This page's number, from 1.
    pub page: u32,
    /// Most records per page.
    pub limit: u32,
    /// Records matching the filters, on all pages.
    pub total: i64,
    /// Number of pages (0 when nothing matches).
    pub pages: i64,
}

impl<T> Page<T> {
    pub fn new<R>(result: PageOf<R>, request: PageRequest, convert: impl FnMut(R) -> T) -> Self {
        let limit = i64::from(request.limit);
        Self {
            data: result.rows.into_iter().map(convert).collect(),
            pagination: Pagination {
                page: request.page,
                limit: request.limit,
                total: result.total,
                pages: (result.total + limit - 1) / limit,
            },
        }
    }
}

/// Collects the problems of a query string while its parameters are parsed.
#[derive(Default)]
pub struct QueryReader {
    problems: Vec<Problem>,
}

impl QueryReader {
    /// Parses an optional parameter; a blank one counts as absent.
    pub fn parse<T>(
        &mut self,
        name: &str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        match parse(value) {
            Ok(parsed) => Some(parsed),
            Err(problem) => {
                self.problems.push(Problem::new(name, problem));
                None
            }
        }
    }

    /// A free-text parameter, trimmed, without control characters (PostgreSQL refuses a NUL in
    /// text); blank counts as absent.
    pub fn text(&mut self, name: &str, value: Option<&str>) -> Option<String> {
        self.parse(name, value, |v| {
            if v.chars().count() > 255 {
                Err("must be at most 255 characters".into())
            } else if v.chars().any(char::is_control) {
                Err("must not contain control characters".into())
            } else {
                Ok(v.to_owned())
            }
        })
    }

    /// `page` (from 1, default 1) and `limit` (1 to 100, default 20; larger values are capped).
    pub fn page(&mut self, query: &PageQuery) -> PageRequest {
        let (page, limit) = (query.page.as_deref(), query.limit.as_deref());
        let page = self.parse("page", page, |v| match v.parse::<u32>() {
            Ok(n) if (1..=10_000_000).contains(&n) => Ok(n),
            _ => Err("must be a whole number from 1".into()),
        });
        let limit = self.parse("limit", limit, |v| match v.parse::<u64>() {
            Ok(n) if n >= 1 => Ok(n.min(u64::from(MAX_LIMIT)) as u32),
            _ => Err(format!(
                "must be a whole number from 1 (at most {MAX_LIMIT} are returned)"
            )),
        });
        PageRequest {
            page: page.unwrap_or(1),
            limit: limit.unwrap_or(DEFAULT_LIMIT),
        }
    }

    /// `sort=field` (ascending) or `sort=-field` (descending), among `allowed` (name, SQL column).
    pub fn sort(
        &mut self,
        value: Option<&str>,
        allowed: &[(&str, &'static str)],
        default: Sort,
    ) -> Sort {
        let tie_breaker = default.tie_breaker();
        self.parse("sort", value, |v| {
            let (descending, name) = match v.strip_prefix('-') {
                Some(name) => (true, name),
                None => (false, v),
            };
            allowed
                .iter()
                .find(|(field, _)| *field == name)
                .map(|(_, column)| Sort::new(column, descending, tie_breaker))
                .ok_or_else(|| {
                    let names = allowed
                        .iter()
                        .map(|(f, _)| *f)
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!(
                        "must be one of {names}, optionally prefixed with - for descending order"
                    )
                })
        })
        .unwrap_or(default)
    }

    /// 400 listing every problem, if there were any.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ApiError::bad_query(self.problems))
        }
    }
}

/// The start of a time range: a date (`2026-11-01`, from midnight UTC) or an RFC 3339 time.
pub fn range_start(value: &str) -> Result<DateTime<Utc>, String> {
    parse_time_or_date(value, false)
}

/// The end of a time range, inclusive of a whole date: `2026-11-30` means until the end of that day.
/// Returned as the first instant past the range, for a `<` comparison.
pub fn range_end(value: &str) -> Result<DateTime<Utc>, String> {
    parse_time_or_date(value, true)
}

fn parse_time_or_date(value: &str, end: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        let time = time.with_timezone(&Utc);
        // An explicit instant is inclusive too: the first microsecond after it is excluded.
        return Ok(if end {
            time + chrono::Duration::microseconds(1)
        } else {
            time
        });
    }
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| "must be a date (YYYY-MM-DD) or an RFC 3339 date-time".to_owned())?;
    let date = if end {
        date.succ_opt().ok_or("is out of range")?
    } else {
        date
    };
    Ok(date
        .and_hms_opt(0, 0, 0)
        .ok_or("is out of range")?
        .and_utc())
}

/// A positive database id from a filter parameter.
pub fn record_id(value: &str) -> Result<i64, String> {
    value
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| "must be a positive whole number".to_owned())
}

/// A yes/no filter parameter: `true` or `false`.
pub fn boolean(value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("must be true or false".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_the_limit_and_reports_bad_pages() {
        let mut q = QueryReader::default();
        assert_eq!(
            q.page(&PageQuery {
                page: None,
                limit: Some("500".into())
            }),
            PageRequest {
                page: 1,
                limit: 100
            }
        );
        assert!(q.finish().is_ok());
        let mut q = QueryReader::default();
        q.page(&PageQuery {
            page: Some("0".into()),
            limit: Some("ten".into()),
        });
        let err = q.finish().unwrap_err();
        assert_eq!(
            err.details
                .iter()
                .map(|p| p.field.as_str())
                .collect::<Vec<_>>(),
            ["page", "limit"]
        );
    }

    #[test]
    fn a_date_range_covers_whole_days() {
        assert_eq!(
            range_start("2026-11-01").unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert_eq!(
            range_end("2026-11-30").unwrap().to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        assert_eq!(
            range_start("2026-11-01T05:30:00+05:30")
                .unwrap()
                .to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert!(range_start("yesterday").is_err());
    }

    #[test]
    fn free_text_is_trimmed_blank_is_absent_and_control_characters_are_refused() {
        let mut q = QueryReader::default();
        assert_eq!(q.text("search", Some(" asha ")), Some("asha".into()));
        assert_eq!(q.text("search", Some("  ")), None);
        assert!(q.finish().is_ok());
        let mut q = QueryReader::default();
        assert_eq!(q.text("search", Some("a\0b")), None);
        assert_eq!(q.finish().unwrap_err().details[0].field, "search");
    }

    #[test]
    fn pages_round_up() {
        let page = Page::new(
            PageOf {
                rows: vec![1, 2],
                total: 41,
            },
            PageRequest { page: 3, limit: 20 },
            |r: i32| r,
        );
        assert_eq!(page.pagination.pages, 3);
        let empty = Page::new(
            PageOf::<i32> {
                rows: vec![],
                total: 0,
            },
            PageRequest { page: 1, limit: 20 },
            |r| r,
        );
        assert_eq!(empty.pagination.pages, 0);
    }
}
