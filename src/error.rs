//! The one error type of the REST API, answered as
//! `{"error": {"code", "message", "details": [{"field", "problem"}]}}` with the right status.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::errors::{Violation, is_unique_violation, violation};
use crate::domain::refusal::Refusal;

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// Path of the field, e.g. `station_name` or `connectors[1].power`.
    pub field: String,
    /// What is wrong with it, e.g. `is required`.
    pub problem: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `validation_failed`, `not_found`, `conflict`, ...
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// Field-level problems; empty when the error is not about particular fields.
    pub details: Vec<Problem>,
    /// A remote command that did not get the charger's answer: its record, with the charger's
    /// CALLERROR code and description when it sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Box<crate::domain::command::Command>>,
}

/// An error answer: status, code, message and field problems.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<Problem>,
    /// Seconds after which a retry may succeed, sent as `Retry-After` (429, 503).
    pub retry_after: Option<u64>,
    /// The record of a remote command that failed (see [`ErrorDetail::command`]).
    pub command: Option<Box<crate::domain::command::Command>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
            command: None,
        }
    }

    /// 503 `busy`: the server is saturated (password hashing); retry after `seconds`.
    pub fn busy(seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is busy checking other passwords; try again shortly",
            )
        }
    }

    /// 422: the request is well-formed but some fields are not acceptable.
    pub fn validation(details: Vec<Problem>) -> Self {
        let message = match details.as_slice() {
            [only] => format!("{} {}", only.field, only.problem),
            _ => format!("{} fields are not valid", details.len()),
        };
        Self {
            details,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                message,
            )
        }
    }

    /// 422 about one field.
    pub fn field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::validation(vec![Problem::new(field, problem)])
    }

    /// 400: the query string has parameters that cannot be read.
    pub fn bad_query(details: Vec<Problem>) -> Self {
        let message = details
            .iter()
            .map(|p| format!("{} {}", p.field, p.problem))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            details,
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_query", message)
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 503: the database cannot be reached (or cannot take writes) now; the request may be
    /// repeated later. Answered within the pool's acquire timeout, not after a long hang.
    pub fn database_unavailable(cause: &sqlx::Error) -> Self {
        tracing::warn!(%cause, "request refused: the database is unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database is unavailable; try again shortly",
        )
    }

    /// 500 for a failure that is ours, not the caller's: the cause goes to the log, not the answer.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server could not complete the request",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                details: self.details,
                command: self.command,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

impl From<crate::auth::password::HashError> for ApiError {
    /// Busy hashing slots are 503 `busy` with `Retry-After`; a failed hash is ours (500).
    fn from(err: crate::auth::password::HashError) -> Self {
        match err {
            crate::auth::password::HashError::Busy => Self::busy(1),
            failed => Self::internal(failed),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    /// Constraint violations that a request can provoke are its fault (409/422); a database that
    /// cannot be reached is 503 `database_unavailable` (see [`crate::db::failure`]); anything else
    /// is ours (500). Call sites that know which constraint a request can hit map it first, with
    /// [`ResultExt::on_unique`], to say which field clashed.
    fn from(err: sqlx::Error) -> Self {
        match violation(&err) {
            Some(Violation::Unique) => {
                Self::conflict("a record with the same unique value already exists")
            }
            Some(Violation::ForeignKey) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "a referenced record does not exist",
            ),
            Some(Violation::NotAllowed) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "a value is not allowed",
            ),
            None => {
                metrics::counter!("db_errors_total", "door" => "rest").increment(1);
                if crate::db::failure(&err) == crate::db::Failure::Unavailable {
                    Self::database_unavailable(&err)
                } else {
                    Self::internal(err)
                }
            }
        }
    }
}

impl From<Refusal> for ApiError {
    /// A broken business rule: 409, `insufficient_balance` for a wallet that cannot pay, and 422
    /// naming the field when the rule is about one field's value.
    fn from(refusal: Refusal) -> Self {
        let message = refusal.to_string();
        match refusal {
            Refusal::TariffIdFixed => Self::field("tariff_id", message),
            Refusal::BalanceAboveMaximum { .. } => Self::field("amount", message),
            Refusal::InsufficientBalance { .. } => {
                Self::new(StatusCode::CONFLICT, "insufficient_balance", message)
            }
            Refusal::ReferenceUsed => Self {
                details: vec![Problem::new("reference_id", "is already taken")],
                ..Self::conflict(message)
            },
            Refusal::TariffInUse { .. }
            | Refusal::StationHasPoints { .. }
            | Refusal::PointCharging { .. }
            | Refusal::ConnectorCharging { .. }
            | Refusal::CustomerCharging { .. }
            | Refusal::LastActiveAdmin => Self::conflict(message),
        }
    }
}

/// Maps a database result's errors next to the query that can cause them.
pub trait ResultExt<T> {
    /// A unique violation on `name` becomes a 409 that names `field`.
    fn on_unique(self, name: &str, field: &str, message: &str) -> Result<T, ApiError>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn on_unique(self, name: &str, field: &str, message: &str) -> Result<T, ApiError> {
        self.map_err(|err| {
            if is_unique_violation(&err, name) {
                ApiError {
                    details: vec![Problem::new(field, "is already taken")],
                    ..ApiError::conflict(message)
                }
            } else {
                ApiError::from(err)
            }
        })
    }
}

/// OpenAPI answer sets shared by the routes, so none forgets an error it can give.
pub mod docs {
    use super::ErrorBody;

    /// What a list (GET with a query string) can answer besides 200.
    #[derive(utoipa::IntoResponses)]
    pub enum ListErrors {
        /// A query parameter cannot be read; `details` names each.
        #[response(status = 400)]
        BadQuery(ErrorBody),
    }

    /// What a remote command can answer besides 200.
    #[derive(utoipa::IntoResponses)]
    pub enum CommandErrors {
        /// No such charger (or another organization's), or something the payload names.
        #[response(status = 404)]
        NotFound(ErrorBody),
        /// `charger_offline` (not connected), `id_tag_refused`, `session_not_active`.
        #[response(status = 409)]
        Conflict(ErrorBody),
        /// An unknown action, or a payload that is not the action's; `details` names the field.
        #[response(status = 422)]
        Invalid(ErrorBody),
        /// `charger_error`: the charger answered with a CALLERROR (its code and description are in
        /// `command.error`); `charger_disconnected`: it left before answering.
        #[response(status = 502)]
        ChargerError(ErrorBody),
        /// `charger_busy`: too many commands wait for this charger.
        #[response(status = 503)]
        Busy(ErrorBody),
        /// `charger_timeout`: no answer within `EVCMS_OCPP_CALL_TIMEOUT`.
        #[response(status = 504)]
        Timeout(ErrorBody),
    }

    /// What reading one record can answer besides 200.
    #[derive(utoipa::IntoResponses)]
    pub enum ReadErrors {
        /// No such record, or it was deleted.
        #[response(status = 404)]
        NotFound(ErrorBody),
    }

    /// What a request with a JSON body can answer besides success.
    #[derive(utoipa::IntoResponses)]
    pub enum WriteErrors {
        /// The body is not valid JSON (`malformed_json`).
        #[response(status = 400)]
        Malformed(ErrorBody),
        /// A referenced or addressed record does not exist, or was deleted.
        #[response(status = 404)]
        NotFound(ErrorBody),
        /// A unique value is taken, or the change conflicts with related records.
        #[response(status = 409)]
        Conflict(ErrorBody),
        /// The body is larger than the server accepts.
        #[response(status = 413)]
        TooLarge(ErrorBody),
        /// The body is not sent as `application/json`.
        #[response(status = 415)]
        NotJson(ErrorBody),
        /// Fields are missing or invalid; `details` names every one.
        #[response(status = 422)]
        Invalid(ErrorBody),
    }

    /// What a delete can answer besides 204.
    #[derive(utoipa::IntoResponses)]
    pub enum DeleteErrors {
        /// No such record, or it was already deleted.
        #[response(status = 404)]
        NotFound(ErrorBody),
        /// Other live records depend on this one.
        #[response(status = 409)]
        Conflict(ErrorBody),
    }
}

/// The result of every handler.
pub type ApiResult<T> = Result<T, ApiError>;
