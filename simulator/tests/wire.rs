//! The client wiring against a tiny in-test WebSocket server: handshake details, CALL round
//! trips, auto-answered server CALLs, strict checks on replies, and closes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use evcms_sim::{Charger, ChargerConfig, Incoming, SimError};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// What the server saw in the upgrade request.
#[derive(Default, Clone, Debug)]
struct Seen {
    path: String,
    protocols: Option<String>,
    authorization: Option<String>,
}

#[derive(Clone, Copy)]
enum Answer {
    /// Agree to ocpp1.6 when offered.
    Ocpp16,
    /// Upgrade without choosing a subprotocol.
    NoProtocol,
    /// Refuse the upgrade with this status.
    Refuse(u16),
}

type Ws = WebSocketStream<TcpStream>;

/// Serves one connection; `script` runs on the accepted socket.
async fn serve<F, Fut>(answer: Answer, script: F) -> (String, Arc<Mutex<Seen>>)
where
    F: FnOnce(Ws) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ocpp", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        // The callback's signature is tungstenite's, large error type included.
        #[allow(clippy::result_large_err)]
        let callback =
            move |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
                let header = |name: &str| {
                    req.headers()
                        .get(name)
                        .map(|v| v.to_str().unwrap().to_string())
                };
                *record.lock().unwrap() = Seen {
                    path: req.uri().path().to_string(),
                    protocols: header("sec-websocket-protocol"),
                    authorization: header("authorization"),
                };
                match answer {
                    Answer::Ocpp16 => {
                        if header("sec-websocket-protocol").is_some_and(|p| p.contains("ocpp1.6")) {
                            resp.headers_mut().insert(
                                "sec-websocket-protocol",
                                HeaderValue::from_static("ocpp1.6"),
                            );
                        }
                        Ok(resp)
                    }
                    Answer::NoProtocol => Ok(resp),
                    Answer::Refuse(status) => {
                        let mut refusal = ErrorResponse::new(Some("refused".into()));
                        *refusal.status_mut() = StatusCode::from_u16(status).unwrap();
                        Err(refusal)
                    }
                }
            };
        if let Ok(ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await {
            script(ws).await;
        }
    });
    (url, seen)
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Close(_) => panic!("closed"),
            _ => {}
        }
    }
}

async fn send(ws: &mut Ws, value: Value) {
    ws.send(Message::Text(value.to_string().into()))
        .await
        .unwrap();
}

fn config(url: &str, id: &str) -> ChargerConfig {
    let mut cfg = ChargerConfig::new(url, id);
    cfg.call_timeout = Duration::from_secs(5);
    cfg
}

#[tokio::test]
async fn handshake_offers_ocpp16_and_basic_auth_and_encodes_the_id() {
    let (url, seen) = serve(Answer::Ocpp16, |mut ws| async move {
        let call = next_json(&mut ws).await;
        send(
            &mut ws,
            json!([3, call[1], {"currentTime": "2025-01-01T00:00:00Z"}]),
        )
        .await;
        let _ = ws.next().await;
    })
    .await;
    let mut cfg = config(&url, "CP 1/ä");
    cfg.basic_auth_password = Some("s3cret-key-0123456789".into());
    let mut charger = Charger::connect(cfg).await.unwrap();
    charger.heartbeat().await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.path, "/ocpp/CP%201%2F%C3%A4");
    assert_eq!(seen.protocols.as_deref(), Some("ocpp1.6"));
    // base64("CP 1/ä:s3cret-key-0123456789")
    let expected = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode("CP 1/ä:s3cret-key-0123456789")
    };
    assert_eq!(seen.authorization, Some(format!("Basic {expected}")));
    charger.close().await.unwrap();
}

#[tokio::test]
async fn boot_round_trip_while_a_server_call_is_answered_automatically() {
    let (url, _) = serve(Answer::Ocpp16, |mut ws| async move {
        let boot = next_json(&mut ws).await;
        assert_eq!(boot[0], 2);
        assert_eq!(boot[2], "BootNotification");
        assert_eq!(boot[3]["chargePointVendor"], "Massive Mobility");
        // A server CALL before the reply: the charger must answer it by itself.
        send(&mut ws, json!([2, "srv-1", "GetConfiguration", {}])).await;
        let answer = next_json(&mut ws).await;
        assert_eq!(answer, json!([3, "srv-1", {"configurationKey": []}]));
        send(&mut ws, json!([3, boot[1], {"status": "Pending", "currentTime": "2025-01-01T00:00:00Z", "interval": 30}])).await;
        // An action 1.6 does not have is NotImplemented.
        send(&mut ws, json!([2, "srv-2", "Teleport", {}])).await;
        let answer = next_json(&mut ws).await;
        assert_eq!(answer[0], 4);
        assert_eq!(answer[2], "NotImplemented");
        send(&mut ws, json!([2, "srv-3", "Reset", {"type": "Soft"}])).await;
        let answer = next_json(&mut ws).await;
        assert_eq!(answer, json!([3, "srv-3", {"status": "Rejected"}]));
        let _ = ws.next().await;
    })
    .await;
    let mut charger = Charger::connect(config(&url, "CP-2")).await.unwrap();
    charger.set_responder(|action, _| (action == "Reset").then(|| json!({"status": "Rejected"})));
    let boot = charger.boot().await.unwrap();
    assert_eq!(boot.interval, 30);
    // Give the reader time to see the later server CALLs.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let actions: Vec<_> = charger.server_calls().into_iter().map(|(a, _)| a).collect();
    assert_eq!(actions, ["GetConfiguration", "Teleport", "Reset"]);
}

#[tokio::test]
async fn missing_subprotocol_in_the_reply_is_a_handshake_error() {
    let (url, _) = serve(Answer::NoProtocol, |_| async {}).await;
    let error = Charger::connect(config(&url, "CP-3")).await.err().unwrap();
    assert!(
        matches!(
            error,
            SimError::Handshake {
                status: Some(101),
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn refused_upgrade_reports_the_http_status() {
    let (url, _) = serve(Answer::Refuse(404), |_| async {}).await;
    let error = Charger::connect(config(&url, "CP-4")).await.err().unwrap();
    assert!(
        matches!(
            error,
            SimError::Handshake {
                status: Some(404),
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn strict_mode_rejects_bad_replies_and_passes_call_errors_through() {
    let (url, _) = serve(Answer::Ocpp16, |mut ws| async move {
        let call = next_json(&mut ws).await;
        send(&mut ws, json!([3, call[1], {"currentTime": "2025-01-01T00:00:00Z", "extra": 1}])).await;
        let call = next_json(&mut ws).await;
        send(&mut ws, json!([4, call[1], "NotSupported", "no"])).await;
        let call = next_json(&mut ws).await;
        send(&mut ws, json!([4, call[1], "NotSupported", "no", {}])).await;
        let call = next_json(&mut ws).await;
        send(&mut ws, json!([3, call[1], {"status": "Accepted", "currentTime": "2025-01-01T00:00:00Z", "interval": 300.0}])).await;
        let _ = ws.next().await;
    })
    .await;
    let mut charger = Charger::connect(config(&url, "CP-5")).await.unwrap();
    let e = charger.heartbeat().await.unwrap_err();
    assert!(
        matches!(&e, SimError::SchemaViolation { action, .. } if action == "Heartbeat"),
        "{e:?}"
    );
    let e = charger.heartbeat().await.unwrap_err();
    assert!(matches!(e, SimError::SchemaViolation { .. }), "{e:?}");
    let e = charger.heartbeat().await.unwrap_err();
    assert!(
        matches!(&e, SimError::CallError { code, .. } if code == "NotSupported"),
        "{e:?}"
    );
    let e = charger.boot().await.unwrap_err();
    assert!(matches!(e, SimError::SchemaViolation { .. }), "{e:?}");
    assert_eq!(charger.schema_violations().len(), 3);
}

#[tokio::test]
async fn raw_frames_replies_pings_and_close_codes() {
    let (url, _) = serve(Answer::Ocpp16, |mut ws| async move {
        let call = next_json(&mut ws).await;
        assert_eq!(call, json!([2, "raw-1", "Heartbeat", {}]));
        send(
            &mut ws,
            json!([3, "raw-1", {"currentTime": "2025-01-01T00:00:00Z"}]),
        )
        .await;
        // Keep reading so pings are answered, then close with a policy code.
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(300), ws.next()).await {}
        let frame = CloseFrame {
            code: CloseCode::Policy,
            reason: "bye".into(),
        };
        let _ = ws.close(Some(frame)).await;
        while ws.next().await.is_some() {}
    })
    .await;
    let mut charger = Charger::connect(config(&url, "CP-6")).await.unwrap();
    charger
        .send_text(r#"[2,"raw-1","Heartbeat",{}]"#)
        .await
        .unwrap();
    let reply = charger.next_frame(Duration::from_secs(5)).await.unwrap();
    assert!(
        matches!(reply, Incoming::Result { ref id, .. } if id == "raw-1"),
        "{reply:?}"
    );
    assert_eq!(charger.ping(b"hi".to_vec()).await.unwrap(), b"hi");
    assert_eq!(charger.is_closed(Duration::from_secs(5)).await, Some(1008));
    let end = charger.next_frame(Duration::from_secs(1)).await.unwrap();
    assert_eq!(
        end,
        Incoming::Closed {
            code: Some(1008),
            reason: "bye".into()
        }
    );
    assert!(matches!(
        charger.heartbeat().await,
        Err(SimError::Closed { .. })
    ));
}
