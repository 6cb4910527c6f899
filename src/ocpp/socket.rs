//! The WebSocket side: the handshake at `/ocpp/{chargePointId}` and the task serving each
//! connection.
//!
//! Buffers are small on purpose (see the OCPP notes): a 2 KiB read buffer per connection and a
//! frame limit let one process hold a fleet of 19,000 chargers in about 250 MB.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::frame::{self, CallError, ErrorCode};
use super::link::Link;
use super::registry::Order;
use crate::AppState;
use crate::db::charger_state::PointLink;
use crate::db::{self, charger_state};
use crate::error::ApiError;
use crate::events::Fact;
use crate::events::facts::ChargerConnection;

/// The OCPP-J subprotocol evcms speaks.
pub const SUBPROTOCOL: &str = "ocpp1.6";
/// The longest charge point id accepted (the `device_id` column's length).
const MAX_ID_LEN: usize = 255;
/// Read buffer per connection. OCPP frames are small (a Heartbeat is 30 bytes, a MeterValues
/// with five samples about 600), and a larger frame grows the buffer as it needs: every idle
/// connection keeps this much (see the memory figures in docs/performance.md).
const READ_BUFFER: usize = 2 * 1024;
/// Most bytes queued for a slow charger before its connection is dropped.
const MAX_WRITE_BUFFER: usize = 256 * 1024;
/// How long a send may wait for a charger that does not read.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// RFC 6455 close codes.
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_PROTOCOL_ERROR: u16 = 1002;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TRY_AGAIN: u16 = 1013;
/// How long a disconnection that could not be recorded is retried in the background.
const DISCONNECTION_RETRIES: [u64; 10] = [1, 1, 2, 2, 4, 8, 15, 30, 60, 120];

/// The handshake: a charge point id that can be stored, the charger's credentials when it must
/// (or chooses to) authenticate (OCPP security profiles 1 and 2), and the `ocpp1.6` subprotocol;
/// or no WebSocket at all.
pub async fn upgrade(
    State(state): State<AppState>,
    Path(charge_point_id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if charge_point_id.is_empty()
        || charge_point_id.len() > MAX_ID_LEN
        || charge_point_id.chars().any(char::is_control)
    {
        tracing::warn!(%peer, "refused an OCPP connection with an unusable charge point id");
        return ApiError::not_found("no such charge point").into_response();
    }
    let charge_point_id: Arc<str> = Arc::from(charge_point_id);
    // Read with the other chargers connecting now (see `identity`), never on a writer's connection.
    let identity = state.ocpp.identities.of(&charge_point_id).await;
    let (credentials, point) = match identity {
        Ok(identity) => (Ok(identity.credentials), identity.point),
        Err(failed) => (Err(failed.0.into()), None),
    };
    if let Err(refused) = crate::auth::check_credentials(
        credentials,
        state.auth.charger(),
        &charge_point_id,
        &headers,
        Some(peer),
    )
    .await
    {
        return refused.into_response();
    }
    let ws = ws.protocols([SUBPROTOCOL]);
    if ws.selected_protocol().is_none() {
        tracing::warn!(charger = %charge_point_id, %peer, "refused an OCPP connection that does not offer the ocpp1.6 subprotocol");
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "subprotocol_required",
            "the WebSocket handshake must offer the ocpp1.6 subprotocol (Sec-WebSocket-Protocol: ocpp1.6)",
        )
        .into_response();
    }
    let limit = state.ocpp.settings.max_frame_bytes;
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_failed_upgrade(
            move |e| tracing::warn!(%peer, error = %e, "OCPP WebSocket upgrade failed"),
        )
        .on_upgrade(move |socket| serve(socket, state, charge_point_id, point, peer))
}

/// Serves one connection until it closes, is replaced, or stops answering pings.
async fn serve(
    mut socket: WebSocket,
    state: AppState,
    charge_point_id: Arc<str>,
    point: Option<PointLink>,
    peer: SocketAddr,
) {
    let hub = state.ocpp.clone();
    let registration = hub.registry.register(&charge_point_id);
    let connected_at = db::now();
    // Recorded in the sample writer's batches: a whole network reconnecting at once costs a few
    // transactions, not one each. Nothing is read before it is committed, so the charger's row
    // exists for its first message.
    let began = charger_state::Connection {
        charge_point_id: charge_point_id.clone(),
        node: hub.node.clone(),
        at: connected_at,
    };
    if hub.samples.connected(began).await.is_err() {
        // Unrecorded, the charger would be listed disconnected while connected. Without the
        // database nothing it sends could be stored anyway: let it reconnect later.
        tracing::error!(charger = %charge_point_id, "could not record the connection; closing it");
        close(
            &mut socket,
            CLOSE_TRY_AGAIN,
            "the central system cannot take chargers now",
        )
        .await;
        hub.registry
            .unregister(&charge_point_id, registration.connection);
        return;
    }
    tracing::info!(charger = %charge_point_id, %peer, "charger connected");
    metrics::counter!("ocpp_connections_opened_total").increment(1);
    // The point read at the handshake serves the first boot; after it, boots read it afresh.
    let mut link = Link::new(state.db.clone(), hub.clone(), charge_point_id.clone());
    link.adopt_at_connection(point);
    Box::pin(link.tell(|| {
        Fact::ChargerConnected(ChargerConnection {
            charge_point_id: charge_point_id.to_string(),
            at: connected_at,
        })
    }))
    .await;
    let ping_every = hub.settings.ping_interval;
    let mut pings = tokio::time::interval(ping_every.unwrap_or(Duration::from_secs(3600)));
    pings.tick().await;
    let mut heard = Instant::now();
    let reason = loop {
        tokio::select! {
            received = socket.recv() => {
                heard = Instant::now();
                let message = match received {
                    None => break "closed by the charger",
                    Some(Err(e)) => break read_failed(&mut socket, &e).await,
                    Some(Ok(message)) => message,
                };
                // Boxed: handling a message awaits the database, and that state, kept inline, would
                // size every idle connection's task by the largest handler (see the memory
                // figures in docs/performance.md); boxed, it exists only while a message is handled.
                let answer = match message {
                    Message::Text(text) => Box::pin(link.handle_text(text.as_str())).await,
                    Message::Binary(bytes) => match std::str::from_utf8(&bytes) {
                        Ok(text) => Box::pin(link.handle_text(text)).await,
                        Err(_) => Some(frame::call_error(
                            frame::UNKNOWN_MESSAGE_ID,
                            &CallError::new(ErrorCode::FormationViolation, "OCPP-J frames are JSON text"),
                        )),
                    },
                    Message::Close(_) => break "closed by the charger",
                    Message::Ping(_) | Message::Pong(_) => None,
                };
                if let Some(answer) = answer
                    && !send(&mut socket, Message::Text(answer.into())).await
                {
                    break "the charger stopped reading";
                }
            }
            order = registration.mailbox.next(link.outbox.is_idle()) => match order {
                Order::Call(call) => {
                    if let Some(frame) = link.begin_call(call)
                        && !send(&mut socket, Message::Text(frame.into())).await
                    {
                        link.outbox.abandon();
                        break "the charger stopped reading";
                    }
                }
                Order::Close { code, reason } => {
                    close(&mut socket, code, reason).await;
                    break reason;
                }
            },
            () = link.outbox.expired() => link.outbox.time_out(),
            _ = pings.tick(), if ping_every.is_some() => {
                let every = ping_every.unwrap_or_default();
                if heard.elapsed() > every * 2 {
                    close(&mut socket, CLOSE_POLICY, "no answer to pings").await;
                    break "no answer to pings";
                }
                if !send(&mut socket, Message::Ping(Default::default())).await {
                    break "the charger stopped reading";
                }
            }
        }
    };
    // Its file and its connection slot go back now, not after the disconnection is committed:
    // in a reconnect storm the old sockets would otherwise crowd out the new ones (see
    // `crate::accept`).
    drop(socket);
    // A connection replaced by a newer one leaves the charger's state to its successor; at
    // shutdown, the hub records every disconnection at once. The disconnection is recorded before
    // the registry forgets it.
    if !hub.is_stopping()
        && hub
            .registry
            .is_current(&charge_point_id, registration.connection)
        && let Some(at) = Box::pin(record_disconnection(
            &state.db,
            &hub,
            &charge_point_id,
            connected_at,
        ))
        .await
    {
        Box::pin(link.tell(|| {
            Fact::ChargerDisconnected(ChargerConnection {
                charge_point_id: charge_point_id.to_string(),
                at,
            })
        }))
        .await;
    }
    hub.registry
        .unregister(&charge_point_id, registration.connection);
    tracing::info!(charger = %charge_point_id, %peer, reason, "charger disconnected");
    // The reasons are this module's own fixed texts: a small label set.
    metrics::counter!("ocpp_connections_closed_total", "reason" => reason).increment(1);
}

/// Records the end of the connection made at `connected_at` (through the sample writer's
/// batches: a whole network dropping at once costs a few transactions); gives when, once
/// recorded. When the database is unavailable, tries again in the background for a few minutes,
/// so the charger is not left listed as connected once the database is back (a newer connection
/// is never overwritten: the update names this one's `connected_at`). A restart clears whatever
/// is left (see `App::build`).
async fn record_disconnection(
    db: &db::Db,
    hub: &super::Hub,
    charge_point_id: &Arc<str>,
    connected_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let at = db::now();
    let ended = charger_state::Disconnection {
        charge_point_id: charge_point_id.clone(),
        connected_at,
        at,
    };
    if hub.samples.disconnected(ended).await.is_ok() {
        return Some(at);
    }
    tracing::error!(charger = %charge_point_id, "could not record the disconnection; retrying in the background");
    let db = db.clone();
    let charge_point_id = charge_point_id.clone();
    tokio::spawn(async move {
        for seconds in DISCONNECTION_RETRIES {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            match charger_state::disconnected(&db, &charge_point_id, connected_at, at).await {
                Ok(()) => {
                    tracing::info!(charger = %charge_point_id, "recorded a disconnection late");
                    return;
                }
                Err(sqlx::Error::PoolClosed) => return,
                Err(_) => {}
            }
        }
        tracing::error!(charger = %charge_point_id, "gave up recording a disconnection; the charger stays listed as connected until it reconnects or evcms restarts");
    });
    None
}

/// Closes after a read error with the close code that names it.
async fn read_failed(socket: &mut WebSocket, error: &axum::Error) -> &'static str {
    let text = error.to_string();
    if text.contains("without closing handshake") || text.contains("Connection reset") {
        // The charger's network dropped: routine for chargers on mobile networks, and nothing
        // to close. Its disconnection is logged with this reason; a warning per charger would
        // bury a whole network's reconnect under 19,000 lines.
        return "connection lost";
    }
    tracing::warn!(error = %text, "OCPP connection read failed");
    if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
        close(socket, CLOSE_TOO_BIG, "message too big").await;
        "message too big"
    } else {
        close(socket, CLOSE_PROTOCOL_ERROR, "WebSocket protocol error").await;
        "WebSocket protocol error"
    }
}

/// Sends `message`; false when the charger is gone or has not read anything for [`SEND_TIMEOUT`]
/// (a peer that stops reading must not hold its task and socket for ever).
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    send(socket, Message::Close(Some(frame))).await;
}
