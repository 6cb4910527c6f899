//! The bare responder: a CSMS stand-in with nothing behind it. It accepts `/ocpp/{id}` with the
//! `ocpp1.6` subprotocol and answers each CALL at once with the smallest confirmation the 1.6
//! schemas accept; it stores nothing. Run the same scenario against it and against evcms, and
//! the difference is what evcms's own work costs (the database, the bookkeeping) on this machine.
//!
//! It uses the same WebSocket buffers and listen backlog as evcms, so the comparison is of the
//! work done per message, not of settings.

use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};

use chrono::{SecondsFormat, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::args::RespondArgs;

/// Pending connections the kernel queues for us (Linux caps it at `net.core.somaxconn`).
const BACKLOG: u32 = 4096;
/// The last transaction id given out.
static TRANSACTIONS: AtomicI32 = AtomicI32::new(0);

pub async fn run(args: &RespondArgs) -> ExitCode {
    let listener = match listen(args.bind) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", args.bind);
            return ExitCode::FAILURE;
        }
    };
    println!(
        "bare responder on ws://{}/ocpp/{{id}}: answers every CALL, stores nothing",
        args.bind
    );
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve(stream));
            }
            // Out of file descriptors, say: the charger retries; keep accepting the others.
            Err(e) => tracing::warn!(error = %e, "accept failed"),
        }
    }
}

fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

async fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let config = evcms_sim::ws_config();
    let Ok(mut socket) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, accept, Some(config)).await
    else {
        return;
    };
    while let Some(Ok(message)) = socket.next().await {
        let reply = match message {
            Message::Text(text) => answer(text.as_str()),
            Message::Close(_) => break,
            _ => None,
        };
        if let Some(reply) = reply
            && socket.send(Message::Text(reply.into())).await.is_err()
        {
            break;
        }
    }
}

/// The handshake: an `ocpp1.6` offer on `/ocpp/...`, answered with that subprotocol.
// The error type is tungstenite's handshake callback's: not ours to shrink.
#[allow(clippy::result_large_err)]
fn accept(request: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    let offers_ocpp = request
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == "ocpp1.6");
    if !offers_ocpp || !request.uri().path().starts_with("/ocpp/") {
        let mut refused = ErrorResponse::new(Some("an OCPP 1.6 charger only".into()));
        *refused.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::BAD_REQUEST;
        return Err(refused);
    }
    response.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("ocpp1.6"),
    );
    Ok(response)
}

/// The reply to one frame: a CALLRESULT for a CALL, nothing for anything else.
fn answer(text: &str) -> Option<String> {
    let Ok(Value::Array(frame)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    let (Some(2), Some(id), Some(action)) = (
        frame.first().and_then(Value::as_u64),
        frame.get(1).and_then(Value::as_str),
        frame.get(2).and_then(Value::as_str),
    ) else {
        return None;
    };
    let now = || Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let accepted = || json!({ "status": "Accepted" });
    let payload = match action {
        "BootNotification" => {
            json!({ "currentTime": now(), "interval": 300, "status": "Accepted" })
        }
        "Heartbeat" => json!({ "currentTime": now() }),
        "Authorize" => json!({ "idTagInfo": accepted() }),
        "StartTransaction" => json!({
            "idTagInfo": accepted(),
            "transactionId": TRANSACTIONS.fetch_add(1, Ordering::Relaxed) + 1,
        }),
        "DataTransfer" => json!({ "status": "UnknownVendorId" }),
        "StatusNotification"
        | "MeterValues"
        | "StopTransaction"
        | "DiagnosticsStatusNotification"
        | "FirmwareStatusNotification" => json!({}),
        _ => {
            return Some(
                json!([
                    4,
                    id,
                    "NotImplemented",
                    "not a charger-initiated OCPP 1.6 action",
                    {}
                ])
                .to_string(),
            );
        }
    };
    Some(json!([3, id, payload]).to_string())
}
