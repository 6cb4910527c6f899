//! Remote commands: the operations a central system sends a charger (OCPP 1.6's 19), from whoever
//! asks (an operator through the REST API, the balance guard) to the charger and back.
//!
//! - [`action`]: the 19 actions and the check of a request payload against its rust-ocpp type.
//! - [`prepare`]: what evcms adds before sending (a reservation's id, the local list from the
//!   customers' id tags, a remote start's tag judged by the charging rules, a session's
//!   transaction id, firmware and diagnostics locations).
//! - [`transport`]: how the CALL reaches the charger's connection.
//! - [`effects`]: what an answer changes (configuration, reservations, local list, profiles,
//!   firmware updates, diagnostics), written with the command's outcome in one transaction.
//!
//! A command is recorded Pending before its CALL leaves, so a crash mid-call leaves a trace; every
//! outcome (answered, refused by the charger, timed out, offline) is kept.

pub mod action;
pub mod effects;
pub mod files;
pub mod prepare;
pub mod transport;

use std::sync::Arc;

use serde_json::{Map, Value};

use self::action::{Action, BadPayload};
use self::prepare::Prepared;
use self::transport::{Transport, Undelivered};
use crate::charging::Rules;
use crate::db::{self, Db};
use crate::domain::command::Command;
use crate::events::Fact;
use crate::events::facts::{CommandAnswered, ReservationChanged};
use crate::ocpp::outbox::CallOutcome;

/// Sends commands and keeps their records.
#[derive(Debug, Clone)]
pub struct Commands {
    pub db: Db,
    pub transport: Arc<dyn Transport>,
    pub rules: Rules,
    /// Where chargers reach evcms over HTTP (`EVCMS_PUBLIC_URL`), for firmware and diagnostics.
    pub public_url: Option<String>,
    /// Where `command.answered` and `reservation.changed` are told.
    pub events: Arc<crate::events::Bus>,
}

/// Who asks for a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester {
    /// An operator (user id).
    User(i64),
    /// evcms itself, stopping the session record `session` whose wallet runs dry.
    BalanceGuard { session: i64 },
}

/// A command to send.
#[derive(Debug, Clone)]
pub struct Order {
    pub charge_point_id: String,
    pub action: Action,
    /// The request payload, with evcms's conveniences (see [`prepare`]).
    pub body: Map<String, Value>,
    pub requested_by: Requester,
    /// The HTTP origin the operator's request came to, for locations when `public_url` is unset.
    pub request_origin: Option<String>,
}

/// Why a command did not get the charger's CALLRESULT.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The payload is not what the action takes (nothing was sent or recorded).
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(BadPayload),
    /// evcms will not send it (a refused id tag, an unknown session...): nothing was sent.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// Something named in the payload does not exist (a session, a reservation, a firmware file).
    #[error("{0}")]
    NotFound(String),
    /// Sent or meant to be, and recorded, but not answered with a CALLRESULT: the record says
    /// how (`Offline`, `Busy`, `Timeout`, `CallError`, `Disconnected`).
    #[error("the command ended {}", .0.status)]
    Unanswered(Box<Command>),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl Commands {
    /// Checks and completes the order, records it, sends it and records what became of it.
    pub async fn send(&self, order: Order) -> Result<Command, CommandError> {
        let prepared = prepare::prepare(self, &order).await?;
        let request = Value::Object(prepared.payload.clone()).to_string();
        let (requested_by, user_id, session) = match order.requested_by {
            Requester::User(id) => ("user", Some(id), prepared.session),
            Requester::BalanceGuard { session } => ("balance_guard", None, Some(session)),
        };
        let new = db::commands::NewCommand {
            charge_point_id: &order.charge_point_id,
            action: order.action.name(),
            request: &request,
            requested_by,
            user_id,
            session,
        };
        let id = self.record(&new, &order, &prepared).await?;
        let outcome = self
            .transport
            .call(transport::Call {
                command: id,
                charge_point_id: &order.charge_point_id,
                action: order.action.name(),
                payload: request,
            })
            .await;
        let record = effects::complete(&self.db, id, &order, &prepared, outcome).await?;
        self.tell(&record, &order, &prepared).await;
        if record.status == "Answered" {
            Ok(record)
        } else {
            Err(CommandError::Unanswered(Box::new(record)))
        }
    }
}

impl Commands {
    /// Records the command as Pending, with the diagnostics request a GetDiagnostics opens: a
    /// charger may upload the moment it has the CALL, before its answer is back.
    async fn record(
        &self,
        new: &db::commands::NewCommand<'_>,
        order: &Order,
        prepared: &Prepared,
    ) -> Result<i64, sqlx::Error> {
        let now = db::now();
        let mut tx = self.db.begin().await?;
        let id = db::commands::insert(&mut tx, new, "Pending", now).await?;
        if order.action == Action::GetDiagnostics {
            let request = db::firmware::NewDiagnostics {
                charge_point_id: &order.charge_point_id,
                token: prepared.diagnostics_token.as_deref(),
                location: prepared
                    .payload
                    .get("location")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                file_name: None,
                command_id: id,
            };
            db::firmware::insert_diagnostics(&mut tx, &request, now).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The live events of a command whose outcome is committed: `command.answered`, and
    /// `reservation.changed` for a reservation it made or cancelled.
    async fn tell(&self, record: &Command, order: &Order, prepared: &Prepared) {
        let events = &self.events;
        let reservation = match order.action {
            Action::ReserveNow => prepared.reservation,
            Action::CancelReservation if record.status == "Answered" => prepared
                .payload
                .get("reservationId")
                .and_then(Value::as_i64),
            _ => None,
        };
        // The charger's organization, read once for both events, and only for listeners.
        let organization = if events.has_subscribers() {
            match db::charger_state::point_of(&self.db, &record.charge_point_id).await {
                Ok(point) => point.and_then(|p| p.organization),
                Err(e) => {
                    tracing::warn!(charger = %record.charge_point_id, error = %e, "could not read the charger's point for its events");
                    None
                }
            }
        } else {
            None
        };
        let at = record.answered_at.unwrap_or_else(db::now);
        events.publish(organization.as_deref(), || {
            Fact::CommandAnswered(CommandAnswered {
                id: record.id,
                charge_point_id: record.charge_point_id.clone(),
                action: record.action.clone(),
                status: record.status.clone(),
                response_status: record
                    .response
                    .as_ref()
                    .and_then(|r| r.get("status"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                at,
            })
        });
        let Some(reservation) = reservation else {
            return;
        };
        if events.skip_if_unheard() {
            return;
        }
        match db::reservations::find(&self.db, reservation).await {
            Ok(Some(r)) => events.publish(organization.as_deref(), || {
                Fact::ReservationChanged(ReservationChanged {
                    id: r.id,
                    charge_point_id: r.charge_point_id,
                    connector_number: r.connector_number,
                    status: r.status,
                    at,
                })
            }),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(reservation, error = %e, "could not read a reservation for the event stream")
            }
        }
    }
}

/// The status a command's record gets from what became of its CALL.
pub fn status_of(outcome: &Result<CallOutcome, Undelivered>) -> &'static str {
    match outcome {
        Ok(CallOutcome::Result(_)) => "Answered",
        Ok(CallOutcome::Error { .. } | CallOutcome::Malformed(_)) => "CallError",
        Ok(CallOutcome::Timeout) => "Timeout",
        Err(Undelivered::Offline) => "Offline",
        Err(Undelivered::Busy) => "Busy",
        Err(Undelivered::Disconnected) => "Disconnected",
    }
}
