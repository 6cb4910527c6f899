//! One charger's connection: what evcms knows about it while it is connected, and the dispatch of
//! each CALL it sends to the handler of its action.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_ocpp::v1_6::messages::stop_transaction::StopTransactionRequest;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use validator::Validate;

use super::Hub;
use super::frame::{self, CallError, ErrorCode, Incoming};
use super::lenient::{self, Quirk};
use super::transaction::LiveTransaction;
use super::{charger, metering, transaction};
use crate::db::charger_state::PointLink;
use crate::db::{self, Db};

/// How often at most a connection's traffic moves its charger's `last_seen_at`.
const SEEN_EVERY: Duration = Duration::from_secs(30);

/// Transactions remembered per connection (most chargers have one to three connectors).
const REMEMBERED_TRANSACTIONS: usize = 64;

/// Actions a charger may send (OCPP 1.6, charge point to central system).
const CHARGER_ACTIONS: &[&str] = &[
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
];

/// Actions of OCPP 1.6 that only the central system sends.
const CENTRAL_SYSTEM_ACTIONS: &[&str] = &[
    "CancelReservation",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "ClearChargingProfile",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetLocalListVersion",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "TriggerMessage",
    "UnlockConnector",
    "UpdateFirmware",
];

/// A connected charger.
pub struct Link {
    pub db: Db,
    pub hub: Arc<Hub>,
    pub charge_point_id: Arc<str>,
    /// The charging point that adopted this charger, if any (read at connection and boot).
    pub point: Option<PointLink>,
    /// Transactions of this charger seen on this connection, by OCPP transaction id; `None`
    /// remembers an id that is not this charger's.
    transactions: HashMap<i32, Option<LiveTransaction>>,
    quirks_logged: Vec<Quirk>,
    seen_sent: Option<Instant>,
}

impl Link {
    pub fn new(db: Db, hub: Arc<Hub>, charge_point_id: Arc<str>) -> Self {
        Self {
            db,
            hub,
            charge_point_id,
            point: None,
            transactions: HashMap::new(),
            quirks_logged: Vec::new(),
            seen_sent: None,
        }
    }

    /// Handles one text frame; returns the frame to answer with, if any.
    pub async fn handle_text(&mut self, text: &str) -> Option<String> {
        self.note_seen().await;
        match frame::parse(text) {
            Err(bad) => {
                tracing::warn!(charger = %self.charge_point_id, code = bad.error.code.as_str(), problem = %bad.error.description, "bad OCPP frame");
                Some(frame::call_error(&bad.id, &bad.error))
            }
            Ok(Incoming::UnknownType(number)) => {
                tracing::info!(charger = %self.charge_point_id, number, "ignored a frame of unknown message type");
                None
            }
            Ok(Incoming::Reply { id }) => {
                tracing::info!(charger = %self.charge_point_id, id, "ignored a reply to no call of ours");
                None
            }
            Ok(Incoming::Call {
                id,
                action,
                payload,
            }) => Some(match self.dispatch(action, payload).await {
                Ok(reply) => frame::call_result(id, &reply),
                Err(error) => {
                    tracing::warn!(charger = %self.charge_point_id, action, code = error.code.as_str(), problem = %error.description, "answered a CALL with an error");
                    frame::call_error(id, &error)
                }
            }),
        }
    }

    async fn dispatch(&mut self, action: &str, payload: &RawValue) -> Result<String, CallError> {
        match action {
            // Boot, status and data transfer carry informational text whose length limits are not
            // worth refusing a charger for: read without them (boot data is cut to fit).
            "BootNotification" => {
                let request = self.decode(payload)?;
                reply(charger::boot(self, request).await?)
            }
            "Heartbeat" => reply(charger::heartbeat(self).await),
            "StatusNotification" => {
                let request = self.decode(payload)?;
                reply(charger::status(self, request).await?)
            }
            "DataTransfer" => {
                let request = self.decode(payload)?;
                reply(charger::data_transfer(self, request))
            }
            "DiagnosticsStatusNotification" => {
                let request = self.decode(payload)?;
                reply(charger::diagnostics_status(self, request).await?)
            }
            "FirmwareStatusNotification" => {
                let request = self.decode(payload)?;
                reply(charger::firmware_status(self, request).await?)
            }
            "Authorize" => {
                let request = self.decode_checked(payload)?;
                reply(transaction::authorize(self, request).await?)
            }
            "StartTransaction" => {
                let request = self.decode_checked(payload)?;
                reply(transaction::start(self, request).await?)
            }
            "StopTransaction" => {
                let (request, data) = self.decode_stop(payload)?;
                reply(transaction::stop(self, request, data).await?)
            }
            "MeterValues" => {
                let request = self.decode(payload)?;
                reply(metering::meter_values(self, request).await?)
            }
            other if CENTRAL_SYSTEM_ACTIONS.contains(&other) => Err(CallError::new(
                ErrorCode::NotSupported,
                format!("{other} is sent by a central system, not by a charge point"),
            )),
            other => {
                debug_assert!(!CHARGER_ACTIONS.contains(&other));
                Err(CallError::new(
                    ErrorCode::NotImplemented,
                    format!("unknown action {other:?}"),
                ))
            }
        }
    }

    /// Reads a payload, rewriting unambiguous quirks (see [`lenient`]) when the strict read fails.
    fn decode<T: DeserializeOwned>(&mut self, payload: &RawValue) -> Result<T, CallError> {
        let strict = match serde_json::from_str(payload.get()) {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        let value = self.normalized(payload)?;
        if value.is_none() {
            return Err(payload_error(&strict));
        }
        serde_json::from_value(value.unwrap_or_default()).map_err(|e| payload_error(&e))
    }

    /// The payload with its quirks rewritten (each logged once per connection); None when it had
    /// none.
    fn normalized(&mut self, payload: &RawValue) -> Result<Option<Value>, CallError> {
        let mut value: Value =
            serde_json::from_str(payload.get()).map_err(|e| payload_error(&e))?;
        let quirks = lenient::normalize(&mut value);
        if quirks.is_empty() {
            return Ok(None);
        }
        for quirk in quirks {
            if !self.quirks_logged.contains(&quirk) {
                self.quirks_logged.push(quirk);
                tracing::info!(charger = %self.charge_point_id, quirk = quirk.describe(), "accepted a charger quirk");
            }
        }
        Ok(Some(value))
    }

    /// A StopTransaction must settle its session whatever else is odd about it: its meter data is
    /// read sample by sample (a bad one is skipped, see [`metering`]), and an idTag over 20
    /// characters, which can be no tag of ours, is ignored.
    fn decode_stop(
        &mut self,
        payload: &RawValue,
    ) -> Result<(StopTransactionRequest, Vec<metering::LooseMeterValue>), CallError> {
        let mut value = match self.normalized(payload)? {
            Some(value) => value,
            None => serde_json::from_str(payload.get()).map_err(|e| payload_error(&e))?,
        };
        let data = value
            .as_object_mut()
            .and_then(|fields| fields.remove("transactionData"))
            .map(|data| {
                serde_json::from_value(data).unwrap_or_else(|e| {
                    tracing::warn!(charger = %self.charge_point_id, error = %e, "skipped unreadable transactionData");
                    Vec::new()
                })
            })
            .unwrap_or_default();
        let mut request: StopTransactionRequest =
            serde_json::from_value(value).map_err(|e| payload_error(&e))?;
        if request.id_tag.as_ref().is_some_and(|tag| tag.len() > 20) {
            tracing::warn!(charger = %self.charge_point_id, "ignored a StopTransaction idTag longer than 20 characters");
            request.id_tag = None;
        }
        request.id_tag = request.id_tag.filter(|tag| !tag.is_empty());
        Ok((request, data))
    }

    /// [`Link::decode`], then the payload's length and range limits.
    fn decode_checked<T: DeserializeOwned + Validate>(
        &mut self,
        payload: &RawValue,
    ) -> Result<T, CallError> {
        let request: T = self.decode(payload)?;
        request.validate().map_err(|e| {
            CallError::new(
                ErrorCode::PropertyConstraintViolation,
                e.to_string().replace('\n', "; "),
            )
        })?;
        Ok(request)
    }

    /// Queues a `last_seen_at` update at most every [`SEEN_EVERY`].
    async fn note_seen(&mut self) {
        if self.seen_sent.is_some_and(|at| at.elapsed() < SEEN_EVERY) {
            return;
        }
        self.seen_sent = Some(Instant::now());
        self.hub
            .samples
            .seen(self.charge_point_id.clone(), db::now())
            .await;
    }

    /// The point that adopted this charger. Read again while there is none, so a charger adopted
    /// while connected is recognised without waiting for its next boot.
    pub async fn point(&mut self) -> Result<Option<PointLink>, sqlx::Error> {
        if self.point.is_none() {
            self.point =
                crate::db::charger_state::point_of(&self.db, &self.charge_point_id).await?;
        }
        Ok(self.point)
    }

    /// A transaction of this charger, from memory or the database.
    pub async fn transaction(
        &mut self,
        transaction_id: i32,
    ) -> Result<Option<LiveTransaction>, sqlx::Error> {
        if let Some(known) = self.transactions.get(&transaction_id) {
            return Ok(*known);
        }
        let found = transaction::load(self, transaction_id).await?;
        self.remember(transaction_id, found);
        Ok(found)
    }

    pub fn remember(&mut self, transaction_id: i32, live: Option<LiveTransaction>) {
        if self.transactions.len() >= REMEMBERED_TRANSACTIONS {
            self.transactions.clear();
        }
        self.transactions.insert(transaction_id, live);
    }

    pub fn forget(&mut self, transaction_id: i32) {
        self.transactions.remove(&transaction_id);
    }
}

/// Serializes a confirmation.
fn reply<T: Serialize>(confirmation: T) -> Result<String, CallError> {
    serde_json::to_string(&confirmation)
        .map_err(|e| CallError::new(ErrorCode::InternalError, e.to_string()))
}

/// The CALLERROR for a payload that does not fit its action's schema.
fn payload_error(e: &serde_json::Error) -> CallError {
    let message = e.to_string();
    let code = if message.starts_with("missing field") {
        ErrorCode::OccurenceConstraintViolation
    } else if message.starts_with("unknown variant") || message.starts_with("invalid value") {
        ErrorCode::PropertyConstraintViolation
    } else if e.is_data() {
        ErrorCode::TypeConstraintViolation
    } else {
        ErrorCode::FormationViolation
    };
    CallError::new(code, message)
}

/// A database failure, answered as an internal error so the charger retries later.
pub fn internal(e: sqlx::Error) -> CallError {
    tracing::error!(error = %e, "database error while handling an OCPP message");
    CallError::new(
        ErrorCode::InternalError,
        "the central system could not store the message; retry later",
    )
}
