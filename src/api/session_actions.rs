//! `/api/cms/sessions/{sessionId}/...`: what an operator does to a session, through the charging
//! domain (`charging::operator`): settle a stuck session, correct a bill. Operators and admins
//! only (the role guard), within their organization (another's session is 404).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::{JsonObject, from_value};
use super::sessions::visible_session;
use super::validate::{In, choice, positive, required, text, whole};
use crate::AppState;
use crate::auth::Caller;
use crate::charging::ChargingError;
use crate::charging::operator::{self, Correction, OperatorStop, Refusal};
use crate::db::{self, wallet::WalletRefusal};
use crate::domain::enums::CorrectionKind;
use crate::domain::session::{Session, SessionCorrection};
use crate::error::docs::{ReadErrors, WriteErrors};
use crate::error::{ApiError, ApiResult};
use crate::fixed::Money;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stop_session))
        .routes(routes!(list_corrections, correct_session))
}

/// An operator settles an Active session whose charger is gone.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionStopInput {
    /// Required: why, at most 255 characters; kept on the session.
    #[schema(value_type = String, example = "charger offline since the storm; reading from the display", max_length = 255)]
    pub reason: In<String>,
    /// The final energy register in Wh, when known (from the charger's display, say); at least
    /// the last one received. Without it the session is billed up to the last meter value.
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 2147483647)]
    pub meter_stop_wh: In<i64>,
}

/// Settle an Active session by hand: billed once by the same rule as a charger's Stop, up to the
/// reading given or the last one received, and marked as settled by the operator (who, when, why).
/// A StopTransaction the charger still sends later bills only the difference. 409
/// `session_not_active` when the session is not Active.
#[utoipa::path(post, path = "/sessions/{sessionId}/stop", tag = "sessions",
    request_body = SessionStopInput,
    params(("sessionId" = String, Path, description = "The session's `session_id`")),
    responses((status = 200, body = Session), WriteErrors))]
async fn stop_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(session_id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Session>> {
    visible_session(&state, &caller, &session_id).await?;
    let input = from_value::<SessionStopInput>(body.into())?;
    let (reason, meter_stop_wh) = crate::validate!(
        reason = required(text(input.reason, 255)),
        meter_stop_wh = whole(input.meter_stop_wh, 0, i64::from(i32::MAX)),
    )?;
    let stop = OperatorStop {
        meter_stop_wh,
        reason,
        user_id: caller.id(),
    };
    let settled = operator::stop_session(&state.db, &session_id, &stop)
        .await
        .map_err(failed)?
        .map_err(|r| refused(r, &session_id))?;
    state.ocpp.events.session_settled(&state.db, settled).await;
    visible_session(&state, &caller, &session_id)
        .await
        .map(Json)
}

/// A refund or an extra charge on a settled session.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionInput {
    /// Required: `Refund` (credits the wallet) or `Charge` (debits it).
    #[schema(value_type = CorrectionKind)]
    pub kind: In<String>,
    /// Required: greater than 0 and less than 100000000, two decimals at most.
    #[schema(value_type = f64, example = 25.5, exclusive_minimum = 0, exclusive_maximum = 100000000, multiple_of = 0.01)]
    pub amount: In<Money>,
    /// Required: why, at most 255 characters.
    #[schema(value_type = String, example = "connector fault: 3 kWh not delivered", max_length = 255)]
    pub reason: In<String>,
}

/// Correct a settled session's bill: a wallet ledger entry referencing the session (a Credit for a
/// refund, a Debit for a charge), never an edit of the original debit. Refunds are bounded by what
/// the session was billed net of earlier corrections (422 naming `amount`); a charge may not
/// overdraw the wallet (409 `insufficient_balance`); a session not billed is 409
/// `session_not_billed`.
#[utoipa::path(post, path = "/sessions/{sessionId}/corrections", tag = "sessions",
    request_body = CorrectionInput,
    params(("sessionId" = String, Path, description = "The session's `session_id`")),
    responses((status = 201, body = SessionCorrection), WriteErrors))]
async fn correct_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(session_id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<SessionCorrection>)> {
    visible_session(&state, &caller, &session_id).await?;
    let input = from_value::<CorrectionInput>(body.into())?;
    let correction = crate::validate!(Correction {
        kind = required(choice(input.kind, CorrectionKind::parse)),
        amount = required(positive(input.amount, 100_000_000)),
        reason = required(text(input.reason, 255));
        user_id: caller.id(),
    })?;
    let recorded = operator::correct(&state.db, &session_id, &correction)
        .await
        .map_err(failed)?
        .map_err(|r| refused(r, &session_id))?;
    Ok((StatusCode::CREATED, Json(recorded)))
}

/// The corrections of a session's bill, oldest first.
#[utoipa::path(get, path = "/sessions/{sessionId}/corrections", tag = "sessions",
    params(("sessionId" = String, Path, description = "The session's `session_id`")),
    responses((status = 200, body = Vec<SessionCorrection>), ReadErrors))]
async fn list_corrections(
    State(state): State<AppState>,
    caller: Caller,
    Path(session_id): Path<String>,
) -> ApiResult<Json<Vec<SessionCorrection>>> {
    let session = visible_session(&state, &caller, &session_id).await?;
    Ok(Json(
        db::corrections::of_session(&state.db, session.id).await?,
    ))
}

fn failed(error: ChargingError) -> ApiError {
    match error {
        ChargingError::Database(e) => ApiError::from(e),
        other => ApiError::internal(other),
    }
}

/// The answer to each refusal of the charging domain.
fn refused(refusal: Refusal, session_id: &str) -> ApiError {
    let conflict =
        |code: &'static str, message: String| ApiError::new(StatusCode::CONFLICT, code, message);
    match refusal {
        Refusal::NotFound => ApiError::not_found(format!("no session {session_id:?}")),
        Refusal::NotActive(status) => conflict(
            "session_not_active",
            format!("the session is {status}: only an Active session can be settled"),
        ),
        Refusal::MeterBelow { lowest_wh } => ApiError::field(
            "meter_stop_wh",
            format!("must be at least {lowest_wh}, the last meter reading received"),
        ),
        Refusal::NotBilled => conflict(
            "session_not_billed",
            "only a Completed session that was billed can be corrected".to_owned(),
        ),
        Refusal::NoCustomer => conflict(
            "session_not_billed",
            "the session has no customer whose wallet could be corrected".to_owned(),
        ),
        Refusal::RefundAboveBill { refundable } => ApiError::field(
            "amount",
            format!("must be at most {refundable}, what is left of the session's bill"),
        ),
        Refusal::Wallet(WalletRefusal::InsufficientFunds { balance }) => conflict(
            "insufficient_balance",
            format!("the wallet balance is {balance}, less than the charge"),
        ),
        Refusal::Wallet(WalletRefusal::BalanceLimit { balance }) => ApiError::field(
            "amount",
            format!(
                "would take the wallet balance of {balance} above the maximum of {}",
                crate::domain::customer::wallet_ceiling()
            ),
        ),
        Refusal::Wallet(WalletRefusal::NotFound) => conflict(
            "customer_deleted",
            "the session's customer was deleted: their wallet cannot be corrected".to_owned(),
        ),
        Refusal::Wallet(WalletRefusal::DuplicateReference) => {
            ApiError::conflict("this correction was already applied; retry to record a new one")
        }
    }
}
