//! How a command reaches its charger: [`Local`] when the charger's socket is in this process (the
//! registry's queue of the connection's task); with several nodes, `crate::cluster::relay::Routed`
//! forwards the others to the node holding the connection, through PostgreSQL. No caller changes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::ocpp::outbox::{CallOutcome, OutgoingCall};
use crate::ocpp::registry::{NotQueued, Registry};

/// Why a CALL got no answer from the charger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Undelivered {
    /// The charger is not connected.
    Offline,
    /// Too many commands already wait for this charger.
    Busy,
    /// The connection ended before the charger answered.
    Disconnected,
}

pub type Delivery<'a> = Pin<Box<dyn Future<Output = Result<CallOutcome, Undelivered>> + Send + 'a>>;

/// One CALL for a charger: the command it carries out (its record is already Pending).
#[derive(Debug)]
pub struct Call<'a> {
    pub command: i64,
    pub charge_point_id: &'a str,
    pub action: &'static str,
    pub payload: String,
}

/// Sends one CALL to a charger and waits for what became of it.
pub trait Transport: Send + Sync + std::fmt::Debug {
    fn call<'a>(&'a self, call: Call<'a>) -> Delivery<'a>;
}

/// The chargers connected to this process.
#[derive(Debug, Clone)]
pub struct Local {
    registry: Arc<Registry>,
}

impl Local {
    pub fn new(registry: Arc<Registry>) -> Self {
        Self { registry }
    }

    /// Whether the charger's socket is in this process.
    pub fn holds(&self, charge_point_id: &str) -> bool {
        self.registry.is_connected(charge_point_id)
    }
}

impl Transport for Local {
    fn call<'a>(&'a self, call: Call<'a>) -> Delivery<'a> {
        Box::pin(async move {
            let (outcome, answer) = oneshot::channel();
            let outgoing = OutgoingCall {
                action: call.action,
                payload: call.payload,
                queued_at: Instant::now(),
                outcome,
            };
            self.registry
                .queue_call(call.charge_point_id, outgoing)
                .map_err(|e| match e {
                    NotQueued::Offline => Undelivered::Offline,
                    NotQueued::Busy => Undelivered::Busy,
                })?;
            // The connection's task answers every call it takes (reply, timeout) and drops the
            // rest when it ends: a dropped sender is a disconnection.
            answer.await.map_err(|_| Undelivered::Disconnected)
        })
    }
}
