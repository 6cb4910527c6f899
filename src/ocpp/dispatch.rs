//! The dispatch of each frame a charger sends: a CALL goes to the handler of its action, its
//! payload read strictly first and leniently (see [`super::lenient`]) when that fails; anything
//! else is answered or ignored as OCPP-J says.

use rust_ocpp::v1_6::messages::stop_transaction::StopTransactionRequest;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use validator::Validate;

use tracing::Instrument;

use super::frame::{self, CallError, ErrorCode, Incoming};
use super::lenient;
use super::link::Link;
use super::message_log::Direction;
use super::outbox::OutgoingCall;
use super::{charger, metering, transaction};

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

impl Link {
    /// Handles one text frame; returns the frame to answer with, if any. Both are logged (see
    /// [`super::message_log`]) and counted by action and outcome.
    pub async fn handle_text(&mut self, text: &str) -> Option<String> {
        self.note_seen().await;
        let started = std::time::Instant::now();
        let handled = self.answer(text).await;
        let log = &self.hub.messages;
        log.record(&self.charge_point_id, Direction::In, handled.action, text);
        if let Some(answer) = &handled.answer {
            log.record(
                &self.charge_point_id,
                Direction::Out,
                handled.action,
                answer,
            );
        }
        let action = metric_action(handled.action);
        metrics::counter!("ocpp_messages_total", "action" => action, "result" => handled.outcome)
            .increment(1);
        metrics::histogram!("ocpp_message_duration_seconds", "action" => action)
            .record(started.elapsed().as_secs_f64());
        handled.answer
    }

    /// Takes the next queued CALL in flight: the frame to send (logged), or None when there is
    /// nothing to send for it (it expired in the queue or its caller left).
    pub fn begin_call(&mut self, call: OutgoingCall) -> Option<String> {
        let (frame, action) = self.outbox.start(call)?;
        self.hub
            .messages
            .record(&self.charge_point_id, Direction::Out, Some(action), &frame);
        metrics::counter!("ocpp_commands_sent_total", "action" => action).increment(1);
        Some(frame)
    }

    async fn answer<'a>(&mut self, text: &'a str) -> Handled<'a> {
        match frame::parse(text) {
            Err(bad) => {
                tracing::warn!(charger = %self.charge_point_id, code = bad.error.code.as_str(), problem = %bad.error.description, "bad OCPP frame");
                Handled {
                    action: None,
                    answer: Some(frame::call_error(&bad.id, &bad.error)),
                    outcome: bad.error.code.as_str(),
                }
            }
            Ok(Incoming::Reply { id, body }) => match self.outbox.answer(id, body) {
                Some(action) => Handled {
                    action: Some(action),
                    answer: None,
                    outcome: "reply",
                },
                None => {
                    tracing::info!(charger = %self.charge_point_id, id, "ignored a reply to no call of ours");
                    Handled::silent("reply")
                }
            },
            Ok(Incoming::Call {
                id,
                action,
                payload,
            }) => {
                let span = tracing::info_span!("ocpp", charger = %self.charge_point_id, action, message_id = id);
                let result = self
                    .dispatch(action, payload)
                    .instrument(span.clone())
                    .await;
                let _entered = span.enter();
                match result {
                    Ok(reply) => Handled {
                        action: Some(action),
                        answer: Some(frame::call_result(id, &reply)),
                        outcome: "CALLRESULT",
                    },
                    Err(error) => {
                        tracing::warn!(code = error.code.as_str(), problem = %error.description, "answered a CALL with an error");
                        Handled {
                            action: Some(action),
                            answer: Some(frame::call_error(id, &error)),
                            outcome: error.code.as_str(),
                        }
                    }
                }
            }
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
}

/// What became of one frame.
struct Handled<'a> {
    /// The CALL's action, when the frame was one.
    action: Option<&'a str>,
    answer: Option<String>,
    /// `CALLRESULT`, the CALLERROR code, or what else was done with the frame.
    outcome: &'static str,
}

impl Handled<'_> {
    fn silent(outcome: &'static str) -> Self {
        Self {
            action: None,
            answer: None,
            outcome,
        }
    }
}

/// The action as a metric label: one of OCPP 1.6's, so a charger cannot grow the label set.
fn metric_action(action: Option<&str>) -> &'static str {
    let Some(action) = action else {
        return "none";
    };
    CHARGER_ACTIONS
        .iter()
        .chain(CENTRAL_SYSTEM_ACTIONS)
        .find(|known| **known == action)
        .copied()
        .unwrap_or("unknown")
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
