//! The reader task of one connection. It owns the receiving half of the socket and routes
//! every frame: replies to the CALL waiting for them, server CALLs to the answerer (answered at
//! once or after the configured delay, also while the test is idle), everything else to the
//! `next_frame` channel.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::answer::{Answerer, ServerAnswer, ServerCallEvent};
use crate::error::SimError;
use crate::frame::{self, Frame, FrameError};
use crate::handshake::WsStream;
use crate::incoming::{Incoming, Reply};
use crate::responder::{Responder, default_response};
use crate::schema::validate_ocpp16;

pub(crate) type Sink = SplitSink<WsStream, Message>;

/// How the connection ended: the close code (1005 when the close frame had none, 1006 when the
/// connection dropped without a close frame, as RFC 6455 names them) and the reason.
#[derive(Debug, Clone)]
pub(crate) struct Ended {
    pub code: u16,
    pub reason: String,
}

/// A CALL of ours waiting for its reply.
pub(crate) struct Waiter {
    pub action: String,
    pub reply: oneshot::Sender<Result<Reply, SimError>>,
}

/// State the reader task and the `Charger` handle share.
pub(crate) struct Shared {
    pub strict: bool,
    /// Both sides write: the handle its CALLs, the reader the answers to server CALLs.
    pub sink: tokio::sync::Mutex<Sink>,
    pub pending: Mutex<HashMap<String, Waiter>>,
    /// CALLs sent as raw text: id -> action, so their replies can still be checked.
    pub raw_calls: Mutex<HashMap<String, String>>,
    pub server_calls: Mutex<Vec<(String, Value)>>,
    pub violations: Mutex<Vec<(String, Vec<String>)>>,
    pub responder: RwLock<Option<Responder>>,
    pub answerer: RwLock<Option<Answerer>>,
    /// How long each answer to a server CALL waits before it is sent.
    pub answer_delay: Duration,
    /// Server CALLs received and not answered yet, and the most there ever were at once.
    pub outstanding: AtomicUsize,
    pub max_outstanding: AtomicUsize,
    pub pong: Mutex<Option<oneshot::Sender<Vec<u8>>>>,
    pub ended: watch::Sender<Option<Ended>>,
}

/// Locks ignoring poisoning: the data behind these locks stays consistent even if a holder
/// panicked (every critical section is a single insert/remove/push).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) async fn send(&self, message: Message) -> Result<(), SimError> {
        let mut sink = self.sink.lock().await;
        sink.send(message).await.map_err(|e| self.send_error(e))
    }

    /// A failed write on a closed connection is reported as `Closed`, with the close code when
    /// the reader has seen one.
    pub(crate) fn send_error(&self, error: tokio_tungstenite::tungstenite::Error) -> SimError {
        use tokio_tungstenite::tungstenite::Error as WsError;
        match error {
            WsError::ConnectionClosed | WsError::AlreadyClosed => self.closed_error(),
            other => SimError::Transport(other.to_string()),
        }
    }

    pub(crate) fn closed_error(&self) -> SimError {
        match &*self.ended.borrow() {
            Some(ended) => SimError::Closed {
                code: Some(ended.code),
                reason: ended.reason.clone(),
            },
            None => SimError::Closed {
                code: None,
                reason: "connection closed".into(),
            },
        }
    }

    fn violation(&self, action: &str, errors: Vec<String>) -> SimError {
        tracing::warn!(action, ?errors, "schema violation from the server");
        lock(&self.violations).push((action.to_string(), errors.clone()));
        SimError::SchemaViolation {
            action: action.to_string(),
            errors,
        }
    }
}

/// Reads until the connection ends. `events` is dropped with the reader (and with the last
/// delayed answer), so the event stream ends when the connection does.
pub(crate) async fn run(
    shared: Arc<Shared>,
    mut stream: SplitStream<WsStream>,
    incoming: mpsc::UnboundedSender<Result<Incoming, SimError>>,
    events: mpsc::UnboundedSender<ServerCallEvent>,
) {
    let mut close: Option<Ended> = None;
    while let Some(message) = stream.next().await {
        match message {
            Ok(Message::Text(text)) => route_text(&shared, &incoming, &events, text.as_str()).await,
            Ok(Message::Binary(_)) => {
                // OCPP-J carries every message in text frames.
                let error = shared.violation("frame", vec!["binary frame from the server".into()]);
                let _ = incoming.send(Err(error));
            }
            Ok(Message::Pong(payload)) => {
                if let Some(waiter) = lock(&shared.pong).take() {
                    let _ = waiter.send(payload.to_vec());
                }
            }
            // tungstenite answers pings itself.
            Ok(Message::Ping(_)) | Ok(Message::Frame(_)) => {}
            Ok(Message::Close(frame)) => {
                close = Some(match frame {
                    Some(f) => Ended {
                        code: f.code.into(),
                        reason: f.reason.to_string(),
                    },
                    None => Ended {
                        code: 1005,
                        reason: String::new(),
                    },
                });
            }
            Err(e) => {
                if close.is_none() {
                    close = Some(Ended {
                        code: 1006,
                        reason: e.to_string(),
                    });
                }
                break;
            }
        }
    }
    let ended = close.unwrap_or(Ended {
        code: 1006,
        reason: "connection dropped".into(),
    });
    finish(&shared, &incoming, ended);
}

/// Ends every wait: CALLs in flight fail with `Closed`, `next_frame` sees `Incoming::Closed`.
fn finish(
    shared: &Shared,
    incoming: &mpsc::UnboundedSender<Result<Incoming, SimError>>,
    ended: Ended,
) {
    let _ = shared.ended.send(Some(ended.clone()));
    // Dropping the pong waiter wakes a pending ping with `Closed`.
    lock(&shared.pong).take();
    for (_, waiter) in lock(&shared.pending).drain() {
        let _ = waiter.reply.send(Err(SimError::Closed {
            code: Some(ended.code),
            reason: ended.reason.clone(),
        }));
    }
    let _ = incoming.send(Ok(Incoming::Closed {
        code: Some(ended.code),
        reason: ended.reason,
    }));
}

async fn route_text(
    shared: &Arc<Shared>,
    incoming: &mpsc::UnboundedSender<Result<Incoming, SimError>>,
    events: &mpsc::UnboundedSender<ServerCallEvent>,
    text: &str,
) {
    match frame::parse(text) {
        Ok(Frame::Call {
            id,
            action,
            payload,
        }) => answer_server_call(shared, incoming, events, id, action, payload).await,
        Ok(Frame::Result { id, payload }) => {
            let waiter = lock(&shared.pending).remove(&id);
            if let Some(waiter) = waiter {
                let result = check_result(shared, &waiter.action, payload);
                let _ = waiter.reply.send(result.map(Reply::Result));
                return;
            }
            let raw_action = lock(&shared.raw_calls).remove(&id);
            let item = match raw_action {
                Some(action) => check_result(shared, &action, payload)
                    .map(|payload| Incoming::Result { id, payload }),
                None => Ok(Incoming::Result { id, payload }),
            };
            let _ = incoming.send(item);
        }
        Ok(Frame::Error {
            id,
            code,
            description,
            details,
        }) => {
            lock(&shared.raw_calls).remove(&id);
            let waiter = lock(&shared.pending).remove(&id);
            match waiter {
                Some(waiter) => {
                    let _ = waiter.reply.send(Ok(Reply::Error {
                        code,
                        description,
                        details,
                    }));
                }
                None => {
                    let _ = incoming.send(Ok(Incoming::Error {
                        id,
                        code,
                        description,
                        details,
                    }));
                }
            }
        }
        Err(FrameError { id, errors }) => {
            // A malformed reply to a CALL of ours fails that CALL; anything else goes to
            // next_frame.
            let waiter = id.as_ref().and_then(|id| lock(&shared.pending).remove(id));
            match waiter {
                Some(waiter) => {
                    let error = shared.violation(&waiter.action, errors);
                    let _ = waiter.reply.send(Err(error));
                }
                None => {
                    let _ = incoming.send(Err(shared.violation("frame", errors)));
                }
            }
        }
    }
}

/// Strict mode checks a CALLRESULT payload against `<Action>Response`.
fn check_result(shared: &Shared, action: &str, payload: Value) -> Result<Value, SimError> {
    if shared.strict
        && let Err(errors) = validate_ocpp16(&format!("{action}Response"), &payload)
    {
        return Err(shared.violation(action, errors));
    }
    Ok(payload)
}

async fn answer_server_call(
    shared: &Arc<Shared>,
    incoming: &mpsc::UnboundedSender<Result<Incoming, SimError>>,
    events: &mpsc::UnboundedSender<ServerCallEvent>,
    id: String,
    action: String,
    payload: Value,
) {
    lock(&shared.server_calls).push((action.clone(), payload.clone()));
    let now = shared.outstanding.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_outstanding.fetch_max(now, Ordering::SeqCst);
    let answer = decide(shared, incoming, &action, &payload);
    let call = ServerCallEvent {
        id,
        action,
        payload,
        answer,
    };
    if call.answer == ServerAnswer::Ignore {
        // Never answered: it stops counting at once, or one ignored CALL would make every later
        // one look like a second CALL in flight.
        shared.outstanding.fetch_sub(1, Ordering::SeqCst);
        let _ = events.send(call);
        return;
    }
    if shared.answer_delay.is_zero() {
        deliver(shared, events, call).await;
    } else {
        // The delayed answer waits in its own task so the reader keeps reading: a server that
        // sends its next CALL before this answer shows up in `max_outstanding`.
        let shared = shared.clone();
        let events = events.clone();
        tokio::spawn(async move {
            tokio::time::sleep(shared.answer_delay).await;
            deliver(&shared, &events, call).await;
        });
    }
}

/// The answer: CALLERROR for an action 1.6 lacks or a payload breaking its schema (strict), else
/// the custom answerer, the responder, the default confirmation, in that order.
fn decide(
    shared: &Shared,
    incoming: &mpsc::UnboundedSender<Result<Incoming, SimError>>,
    action: &str,
    payload: &Value,
) -> ServerAnswer {
    let Some(default) = default_response(action) else {
        return ServerAnswer::Error {
            code: "NotImplemented".into(),
            description: format!("unknown action {action}"),
        };
    };
    if shared.strict
        && let Err(errors) = validate_ocpp16(action, payload)
    {
        let description = errors.join("; ");
        let _ = incoming.send(Err(shared.violation(action, errors)));
        return ServerAnswer::Error {
            code: "FormationViolation".into(),
            description,
        };
    }
    let answerer = lock_read(&shared.answerer).clone();
    if let Some(answer) = answerer.and_then(|f| f(action, payload)) {
        return answer;
    }
    let responder = lock_read(&shared.responder).clone();
    ServerAnswer::Result(
        responder
            .and_then(|f| f(action, payload))
            .unwrap_or(default),
    )
}

/// Sends the answer, then tells whoever listens that it left.
async fn deliver(
    shared: &Shared,
    events: &mpsc::UnboundedSender<ServerCallEvent>,
    call: ServerCallEvent,
) {
    let text = match &call.answer {
        ServerAnswer::Result(payload) => frame::result(&call.id, payload),
        ServerAnswer::Error { code, description } => frame::error(&call.id, code, description),
        ServerAnswer::Ignore => return,
    };
    let sent = shared.send(Message::Text(text.into())).await;
    shared.outstanding.fetch_sub(1, Ordering::SeqCst);
    match sent {
        Ok(()) => {
            let _ = events.send(call);
        }
        Err(e) => {
            tracing::debug!(error = %e, action = call.action, "could not answer a server CALL")
        }
    }
}

fn lock_read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}
