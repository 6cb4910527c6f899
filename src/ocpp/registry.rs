//! The chargers connected to this process: at most one live connection per charge point id.
//!
//! A new connection for an id replaces the old one, which is told to close. Each connection has a
//! number, so the old connection's clean-up cannot unregister its successor.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::outbox::OutgoingCall;

/// What a connection's task is asked to do from outside.
#[derive(Debug)]
pub enum Control {
    /// Close with this WebSocket close code and reason.
    Close { code: u16, reason: &'static str },
}

/// The handle the registry keeps of a connection.
#[derive(Debug)]
struct Live {
    connection: u64,
    control: mpsc::Sender<Control>,
    calls: mpsc::Sender<OutgoingCall>,
}

#[derive(Debug, Default)]
pub struct Registry {
    live: Mutex<HashMap<Box<str>, Live>>,
    next_connection: AtomicU64,
}

/// A registered connection: its number and where its orders arrive.
#[derive(Debug)]
pub struct Registration {
    pub connection: u64,
    pub control: mpsc::Receiver<Control>,
    /// CALLs to send the charger, in order, one at a time (see [`super::outbox`]).
    pub calls: mpsc::Receiver<OutgoingCall>,
}

/// CALLs queued per connection behind the one in flight; more are refused as busy rather than
/// left waiting minutes behind a slow charger.
pub const QUEUED_CALLS: usize = 16;

/// Why a CALL could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotQueued {
    /// The charger has no live connection to this process.
    Offline,
    /// [`QUEUED_CALLS`] are already waiting.
    Busy,
}

/// Close code sent to a connection replaced by a newer one of the same charger.
pub const CLOSE_REPLACED: u16 = 4000;
/// Close code of a server going down (RFC 6455 "going away").
pub const CLOSE_GOING_AWAY: u16 = 1001;

impl Registry {
    /// Registers a new connection for `charge_point_id`, telling any previous one to close.
    pub fn register(&self, charge_point_id: &str) -> Registration {
        let connection = self.next_connection.fetch_add(1, Ordering::Relaxed);
        // Room for a close order and the commands a later issue adds; they are rare.
        let (control, receiver) = mpsc::channel(4);
        let (calls, calls_receiver) = mpsc::channel(QUEUED_CALLS);
        let previous = self.lock().insert(
            charge_point_id.into(),
            Live {
                connection,
                control,
                calls,
            },
        );
        if let Some(previous) = previous {
            // A full or closed channel means the old task is already going away.
            let _ = previous.control.try_send(Control::Close {
                code: CLOSE_REPLACED,
                reason: "replaced by a newer connection",
            });
        }
        Registration {
            connection,
            control: receiver,
            calls: calls_receiver,
        }
    }

    /// Queues a CALL for the live connection of `charge_point_id`.
    pub fn queue_call(&self, charge_point_id: &str, call: OutgoingCall) -> Result<(), NotQueued> {
        let live = self.lock();
        let Some(live) = live.get(charge_point_id) else {
            return Err(NotQueued::Offline);
        };
        live.calls.try_send(call).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => NotQueued::Busy,
            mpsc::error::TrySendError::Closed(_) => NotQueued::Offline,
        })
    }

    /// Forgets `connection` of `charge_point_id`, unless a newer one has replaced it. Returns
    /// whether it was still the live one.
    pub fn unregister(&self, charge_point_id: &str, connection: u64) -> bool {
        let mut live = self.lock();
        let current = live
            .get(charge_point_id)
            .is_some_and(|l| l.connection == connection);
        if current {
            live.remove(charge_point_id);
        }
        current
    }

    /// Whether `connection` is still the live one of `charge_point_id`.
    pub fn is_current(&self, charge_point_id: &str, connection: u64) -> bool {
        self.lock()
            .get(charge_point_id)
            .is_some_and(|l| l.connection == connection)
    }

    pub fn is_connected(&self, charge_point_id: &str) -> bool {
        self.lock().contains_key(charge_point_id)
    }

    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// The chargers connected here.
    pub fn charge_point_ids(&self) -> Vec<String> {
        self.lock().keys().map(|id| id.to_string()).collect()
    }

    /// Tells every connection to close (at shutdown).
    pub fn close_all(&self) {
        for live in self.lock().values() {
            let _ = live.control.try_send(Control::Close {
                code: CLOSE_GOING_AWAY,
                reason: "server shutting down",
            });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Live>> {
        // A panic while holding this lock cannot leave the map inconsistent (every change is one
        // insert or remove), so a poisoned lock is still safe to use.
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_connection_replaces_the_old_and_the_old_cleanup_keeps_it() {
        let registry = Registry::default();
        let mut first = registry.register("CP-1");
        let second = registry.register("CP-1");
        assert!(matches!(
            first.control.try_recv(),
            Ok(Control::Close {
                code: CLOSE_REPLACED,
                ..
            })
        ));
        assert!(!registry.unregister("CP-1", first.connection));
        assert!(registry.is_connected("CP-1"));
        assert!(registry.unregister("CP-1", second.connection));
        assert!(!registry.is_connected("CP-1"));
    }
}
