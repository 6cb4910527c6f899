//! One simulated charger: a connected socket, a reader task routing what the server sends, and
//! the calls a test script makes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::answer::{ServerAnswer, ServerCallEvent};
use crate::config::ChargerConfig;
use crate::error::SimError;
use crate::frame;
use crate::handshake;
use crate::incoming::{Incoming, Reply};
use crate::router::{self, Shared, Waiter, lock};

pub struct Charger {
    cfg: ChargerConfig,
    shared: Arc<Shared>,
    incoming: mpsc::UnboundedReceiver<Result<Incoming, SimError>>,
    ended: watch::Receiver<Option<router::Ended>>,
    events: Option<mpsc::UnboundedReceiver<ServerCallEvent>>,
    reader: Option<JoinHandle<()>>,
    next_id: u64,
}

impl Charger {
    /// Opens the WebSocket (subprotocol offer, Basic auth) and starts routing frames. A refused
    /// upgrade is `SimError::Handshake` with the HTTP status.
    pub async fn connect(cfg: ChargerConfig) -> Result<Charger, SimError> {
        Self::connect_from(cfg, None).await
    }

    /// As [`Charger::connect`], binding the local end to `local_addr` (load generation from
    /// several loopback addresses).
    pub async fn connect_from(
        cfg: ChargerConfig,
        local_addr: Option<IpAddr>,
    ) -> Result<Charger, SimError> {
        let ws = handshake::open(&cfg, local_addr).await?;
        let (sink, stream) = ws.split();
        let (ended_tx, ended) = watch::channel(None);
        let shared = Arc::new(Shared {
            strict: cfg.strict,
            sink: tokio::sync::Mutex::new(sink),
            pending: Mutex::new(HashMap::new()),
            raw_calls: Mutex::new(HashMap::new()),
            server_calls: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
            responder: RwLock::new(None),
            answerer: RwLock::new(None),
            answer_delay: cfg.answer_delay,
            outstanding: AtomicUsize::new(0),
            max_outstanding: AtomicUsize::new(0),
            pong: Mutex::new(None),
            ended: ended_tx,
        });
        let (incoming_tx, incoming) = mpsc::unbounded_channel();
        let (events_tx, events) = mpsc::unbounded_channel();
        let reader = tokio::spawn(router::run(shared.clone(), stream, incoming_tx, events_tx));
        Ok(Charger {
            cfg,
            shared,
            incoming,
            ended,
            events: Some(events),
            reader: Some(reader),
            next_id: 0,
        })
    }

    pub fn id(&self) -> &str {
        &self.cfg.id
    }

    pub fn config(&self) -> &ChargerConfig {
        &self.cfg
    }

    /// A fresh message id: unique on this connection and far below the 36-character limit.
    fn fresh_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// Sends `[2, id, action, payload]` and waits (up to `call_timeout`) for the reply with that
    /// id. In strict mode a CALLRESULT must pass `<Action>Response.json`.
    pub async fn call_raw(&mut self, action: &str, payload: Value) -> Result<Reply, SimError> {
        let id = self.fresh_id();
        let (tx, rx) = oneshot::channel();
        // Register before sending: a fast reply must find its waiter.
        lock(&self.shared.pending).insert(
            id.clone(),
            Waiter {
                action: action.to_string(),
                reply: tx,
            },
        );
        let text = frame::call(&id, action, &payload);
        if let Err(e) = self.shared.send(Message::Text(text.into())).await {
            lock(&self.shared.pending).remove(&id);
            return Err(e);
        }
        match tokio::time::timeout(self.cfg.call_timeout, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(self.shared.closed_error()),
            Err(_) => {
                // Forget the waiter, or a late reply would find it and the map would grow.
                lock(&self.shared.pending).remove(&id);
                Err(SimError::Timeout(action.to_string()))
            }
        }
    }

    /// A typed CALL: CALLERROR becomes `SimError::CallError`.
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &mut self,
        action: &str,
        req: &Req,
    ) -> Result<Resp, SimError> {
        let payload = serde_json::to_value(req).map_err(|e| SimError::Decode {
            action: action.to_string(),
            message: format!("cannot encode the request: {e}"),
        })?;
        match self.call_raw(action, payload).await? {
            Reply::Result(value) => serde_json::from_value(value).map_err(|e| SimError::Decode {
                action: action.to_string(),
                message: e.to_string(),
            }),
            Reply::Error {
                code,
                description,
                details,
            } => Err(SimError::CallError {
                code,
                description,
                details,
            }),
        }
    }

    /// Sends a text frame as it is. If it is a CALL, its reply arrives through `next_frame` and
    /// is still checked against the action's response schema in strict mode.
    pub async fn send_text(&mut self, text: &str) -> Result<(), SimError> {
        if let Some((id, action)) = frame::outgoing_call(text) {
            lock(&self.shared.raw_calls).insert(id, action);
        }
        self.shared.send(Message::Text(text.into())).await
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> Result<(), SimError> {
        self.shared.send(Message::Binary(bytes.into())).await
    }

    /// The next frame that is neither a reply to a waiting CALL nor a server CALL (those are
    /// answered automatically). After the connection ends, returns `Incoming::Closed` once and
    /// then `SimError::Closed`.
    pub async fn next_frame(&mut self, timeout: Duration) -> Result<Incoming, SimError> {
        match tokio::time::timeout(timeout, self.incoming.recv()).await {
            Ok(Some(item)) => item,
            Ok(None) => Err(self.shared.closed_error()),
            Err(_) => Err(SimError::Timeout("next frame".into())),
        }
    }

    /// Sends a WebSocket ping and returns the pong's payload.
    pub async fn ping(&mut self, payload: Vec<u8>) -> Result<Vec<u8>, SimError> {
        let (tx, rx) = oneshot::channel();
        *lock(&self.shared.pong) = Some(tx);
        self.shared.send(Message::Ping(payload.into())).await?;
        match tokio::time::timeout(self.cfg.call_timeout, rx).await {
            Ok(Ok(pong)) => Ok(pong),
            Ok(Err(_)) => Err(self.shared.closed_error()),
            Err(_) => Err(SimError::Timeout("pong".into())),
        }
    }

    /// Server-initiated CALLs seen so far (action, payload), in order. All were answered.
    pub fn server_calls(&self) -> Vec<(String, Value)> {
        lock(&self.shared.server_calls).clone()
    }

    /// Every strict-mode violation seen so far (action, errors), including those in server
    /// CALLs that no `call` or `next_frame` reported.
    pub fn schema_violations(&self) -> Vec<(String, Vec<String>)> {
        lock(&self.shared.violations).clone()
    }

    /// Custom answers to server CALLs: return `Some(payload)` to answer with it, `None` to fall
    /// back to the default confirmation.
    pub fn set_responder(
        &mut self,
        f: impl Fn(&str, &Value) -> Option<Value> + Send + Sync + 'static,
    ) {
        *self
            .shared
            .responder
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(f));
    }

    /// Custom answers to server CALLs, richer than [`Charger::set_responder`]: a result, a
    /// CALLERROR, or no answer at all. `None` falls back to the responder, then to the default.
    pub fn set_answerer(
        &mut self,
        f: impl Fn(&str, &Value) -> Option<ServerAnswer> + Send + Sync + 'static,
    ) {
        *self
            .shared
            .answerer
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(f));
    }

    /// Every server CALL with its answer, each sent once the answer has left (an ignored CALL
    /// once it was ignored). The stream ends when the connection does. It can be taken once;
    /// later calls return `None`.
    pub fn server_call_events(&mut self) -> Option<mpsc::UnboundedReceiver<ServerCallEvent>> {
        self.events.take()
    }

    /// The most server CALLs that were ever received and not yet answered at the same time on
    /// this connection. With an `answer_delay`, a server that waits for each answer before its
    /// next CALL keeps this at 1. Ignored CALLs count only while they are being decided.
    pub fn max_outstanding_server_calls(&self) -> usize {
        self.shared.max_outstanding.load(Ordering::SeqCst)
    }

    /// The state shared with the reader task, for the station's view across reconnections.
    pub(crate) fn shared(&self) -> &Arc<router::Shared> {
        &self.shared
    }

    /// Waits up to `timeout` for the connection to end. Returns the close code (1005: close
    /// frame without code, 1006: dropped without close frame), or `None` if still open.
    pub async fn is_closed(&mut self, timeout: Duration) -> Option<u16> {
        let ended = tokio::time::timeout(timeout, self.ended.wait_for(Option::is_some)).await;
        match ended {
            Ok(Ok(state)) => state.as_ref().map(|e| e.code),
            // The reader is gone without recording an end: treat as dropped.
            Ok(Err(_)) => Some(1006),
            Err(_) => None,
        }
    }

    /// Closes the connection cleanly (close code 1000) and waits briefly for the server's
    /// close frame.
    pub async fn close(mut self) -> Result<(), SimError> {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let sent = self.shared.send(Message::Close(Some(frame))).await;
        if let Some(reader) = self.reader.take() {
            let abort = reader.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), reader)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        match sent {
            Ok(()) | Err(SimError::Closed { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl Drop for Charger {
    fn drop(&mut self) {
        // The reader task holds the socket: stop it with the handle.
        if let Some(reader) = self.reader.take() {
            reader.abort();
        }
    }
}
