//! The chargers connected to this process: at most one live connection per charge point id.
//!
//! A new connection for an id replaces the old one, which is told to close. Each connection has a
//! number, so the old connection's clean-up cannot unregister its successor.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::outbox::OutgoingCall;

/// What a connection's task is asked to do from outside.
#[derive(Debug)]
pub enum Order {
    /// Close with this WebSocket close code and reason.
    Close { code: u16, reason: &'static str },
    /// Send this CALL to the charger.
    Call(OutgoingCall),
}

/// Where a connection's orders wait. It allocates nothing until a CALL is queued: a tokio channel
/// allocates a block of 32 slots when made, and the two a connection used to have cost about
/// 3 KiB of every idle connection (a fleet of 19,000 is mostly idle).
#[derive(Debug, Default)]
pub struct Mailbox {
    orders: Mutex<Orders>,
    wake: Notify,
}

#[derive(Debug, Default)]
struct Orders {
    close: Option<(u16, &'static str)>,
    calls: VecDeque<OutgoingCall>,
}

impl Mailbox {
    /// The next order: a close first, then (only when `calls_wanted`) the oldest CALL. Safe to
    /// cancel: an order is taken only when it is returned.
    pub async fn next(&self, calls_wanted: bool) -> Order {
        loop {
            // Armed before looking, so an order queued meanwhile still wakes this task.
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            {
                let mut orders = self.lock();
                if let Some((code, reason)) = orders.close.take() {
                    return Order::Close { code, reason };
                }
                if calls_wanted && let Some(call) = orders.calls.pop_front() {
                    return Order::Call(call);
                }
            }
            woken.await;
        }
    }

    fn close(&self, code: u16, reason: &'static str) {
        self.lock().close.get_or_insert((code, reason));
        self.wake.notify_one();
    }

    fn call(&self, call: OutgoingCall) -> Result<(), NotQueued> {
        {
            let mut orders = self.lock();
            if orders.calls.len() >= QUEUED_CALLS {
                return Err(NotQueued::Busy);
            }
            orders.calls.push_back(call);
        }
        self.wake.notify_one();
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Orders> {
        // Every change is one field set or one push or pop: a poisoned lock is still consistent.
        self.orders.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The handle the registry keeps of a connection.
#[derive(Debug)]
struct Live {
    connection: u64,
    mailbox: Arc<Mailbox>,
}

#[derive(Debug, Default)]
pub struct Registry {
    live: Mutex<HashMap<Box<str>, Live>>,
    next_connection: AtomicU64,
}

/// A registered connection: its number and where its orders arrive (CALLs to send the charger,
/// in order, one at a time: see [`super::outbox`]).
#[derive(Debug)]
pub struct Registration {
    pub connection: u64,
    pub mailbox: Arc<Mailbox>,
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
        let mailbox = Arc::new(Mailbox::default());
        let previous = self.lock().insert(
            charge_point_id.into(),
            Live {
                connection,
                mailbox: mailbox.clone(),
            },
        );
        if let Some(previous) = previous {
            previous
                .mailbox
                .close(CLOSE_REPLACED, "replaced by a newer connection");
        }
        Registration {
            connection,
            mailbox,
        }
    }

    /// Queues a CALL for the live connection of `charge_point_id`.
    pub fn queue_call(&self, charge_point_id: &str, call: OutgoingCall) -> Result<(), NotQueued> {
        let live = self.lock();
        let Some(live) = live.get(charge_point_id) else {
            return Err(NotQueued::Offline);
        };
        live.mailbox.call(call)
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
            live.mailbox.close(CLOSE_GOING_AWAY, "server shutting down");
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
        let first = registry.register("CP-1");
        let second = registry.register("CP-1");
        assert_eq!(
            first.mailbox.lock().close.map(|(code, _)| code),
            Some(CLOSE_REPLACED)
        );
        assert!(!registry.unregister("CP-1", first.connection));
        assert!(registry.is_connected("CP-1"));
        assert!(registry.unregister("CP-1", second.connection));
        assert!(!registry.is_connected("CP-1"));
    }
}
