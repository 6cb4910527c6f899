//! How a command reaches its charger. Today every charger a node serves is connected to that
//! node ([`Local`]: the registry's queue of the connection's task); with several nodes a transport
//! that forwards to the node holding the connection (over PostgreSQL) takes its place, and no
//! caller changes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::ocpp::outbox::{CallOutcome, OutgoingCall};
use crate::ocpp::registry::{NotQueued, Registry};

/// Why a CALL got no answer from the charger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undelivered {
    /// The charger is not connected.
    Offline,
    /// Too many commands already wait for this charger.
    Busy,
    /// The connection ended before the charger answered.
    Disconnected,
}

pub type Delivery<'a> = Pin<Box<dyn Future<Output = Result<CallOutcome, Undelivered>> + Send + 'a>>;

/// Sends one CALL to a charger and waits for what became of it.
pub trait Transport: Send + Sync + std::fmt::Debug {
    fn call<'a>(
        &'a self,
        charge_point_id: &'a str,
        action: &'static str,
        payload: String,
    ) -> Delivery<'a>;

    /// Whether the charger can be reached now (a hint: it may leave before the call).
    fn is_connected(&self, charge_point_id: &str) -> bool;
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
}

impl Transport for Local {
    fn call<'a>(
        &'a self,
        charge_point_id: &'a str,
        action: &'static str,
        payload: String,
    ) -> Delivery<'a> {
        Box::pin(async move {
            let (outcome, answer) = oneshot::channel();
            let call = OutgoingCall {
                action,
                payload,
                queued_at: Instant::now(),
                outcome,
            };
            self.registry
                .queue_call(charge_point_id, call)
                .map_err(|e| match e {
                    NotQueued::Offline => Undelivered::Offline,
                    NotQueued::Busy => Undelivered::Busy,
                })?;
            // The connection's task answers every call it takes (reply, timeout) and drops the
            // rest when it ends: a dropped sender is a disconnection.
            answer.await.map_err(|_| Undelivered::Disconnected)
        })
    }

    fn is_connected(&self, charge_point_id: &str) -> bool {
        self.registry.is_connected(charge_point_id)
    }
}
