//! A minimal stand-in CSMS for trying the `evcms-sim` CLI without the real server:
//! `cargo run -p evcms-sim --example mock_csms -- 127.0.0.1:8080`. It accepts every charger,
//! agrees to `ocpp1.6`, and answers each charger CALL with a schema-valid confirmation.

use std::sync::atomic::{AtomicI32, Ordering};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;

static NEXT_TRANSACTION: AtomicI32 = AtomicI32::new(1);

fn answer(action: &str) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let accepted = json!({"status": "Accepted"});
    match action {
        "BootNotification" => json!({"status": "Accepted", "currentTime": now, "interval": 300}),
        "Heartbeat" => json!({"currentTime": now}),
        "Authorize" | "StopTransaction" => json!({"idTagInfo": accepted}),
        "StartTransaction" => json!({
            "idTagInfo": accepted,
            "transactionId": NEXT_TRANSACTION.fetch_add(1, Ordering::Relaxed),
        }),
        _ => json!({}),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("mock CSMS on ws://{addr}/ocpp/{{id}}");
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            // Out of file descriptors under load: back off instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        tokio::spawn(async move {
            #[allow(clippy::result_large_err)] // tungstenite's callback signature
            let agree = |_: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
                resp.headers_mut().insert(
                    "sec-websocket-protocol",
                    HeaderValue::from_static("ocpp1.6"),
                );
                Ok(resp)
            };
            let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, agree).await else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(Value::Array(frame)) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                if frame.first() != Some(&json!(2)) || frame.len() != 4 {
                    continue;
                }
                let action = frame[2].as_str().unwrap_or_default();
                let reply = json!([3, frame[1], answer(action)]);
                if ws
                    .send(Message::Text(reply.to_string().into()))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
    }
}
