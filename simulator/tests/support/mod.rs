//! A tiny fake CSMS for the simulator's tests: accepts WebSocket connections, answers every
//! charger CALL with a plausible confirmation, lets the test send its own CALLs, and checks
//! every frame the charger sends against the OCPP 1.6 schemas.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evcms_sim::validate_ocpp16;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;

pub const WAIT: Duration = Duration::from_secs(10);

/// What the fake CSMS answers to BootNotification, first to last; Accepted once empty.
pub type BootAnswers = Arc<Mutex<VecDeque<&'static str>>>;

pub struct Csms {
    pub url: String,
    connections: mpsc::UnboundedReceiver<Connection>,
    pub boot_answers: BootAnswers,
    /// Every schema violation in what chargers sent, on any connection.
    pub violations: Arc<Mutex<Vec<String>>>,
}

/// One charger connection as the server sees it.
pub struct Connection {
    out: mpsc::UnboundedSender<Message>,
    charger_calls: mpsc::UnboundedReceiver<(String, Value)>,
    waiters: Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>,
    /// Arrival order of charger CALLs (`call:<Action>`) and replies (`reply:<id>`).
    pub log: Arc<Mutex<Vec<String>>>,
    next_id: u64,
}

impl Csms {
    pub async fn start() -> Csms {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/ocpp", listener.local_addr().unwrap());
        let (tx, connections) = mpsc::unbounded_channel();
        let boot_answers: BootAnswers = Arc::default();
        let violations: Arc<Mutex<Vec<String>>> = Arc::default();
        let (boots, bad) = (boot_answers.clone(), violations.clone());
        tokio::spawn(async move {
            let transaction_ids = Arc::new(AtomicI32::new(100));
            while let Ok((tcp, _)) = listener.accept().await {
                #[allow(clippy::result_large_err)]
                let agree = |_: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
                    resp.headers_mut().insert(
                        "sec-websocket-protocol",
                        HeaderValue::from_static("ocpp1.6"),
                    );
                    Ok(resp)
                };
                let Ok(ws) = tokio_tungstenite::accept_hdr_async(tcp, agree).await else {
                    continue;
                };
                let conn =
                    Connection::spawn(ws, boots.clone(), bad.clone(), transaction_ids.clone());
                if tx.send(conn).is_err() {
                    return;
                }
            }
        });
        Csms {
            url,
            connections,
            boot_answers,
            violations,
        }
    }

    pub async fn next_connection(&mut self) -> Connection {
        tokio::time::timeout(WAIT, self.connections.recv())
            .await
            .expect("no connection in time")
            .expect("listener gone")
    }

    pub fn assert_no_violations(&self) {
        let violations = self.violations.lock().unwrap().clone();
        assert!(violations.is_empty(), "{violations:#?}");
    }
}

impl Connection {
    fn spawn(
        ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
        boots: BootAnswers,
        violations: Arc<Mutex<Vec<String>>>,
        transaction_ids: Arc<AtomicI32>,
    ) -> Connection {
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let (calls_tx, charger_calls) = mpsc::unbounded_channel();
        let waiters: Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>> = Arc::default();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        tokio::spawn(async move {
            while let Some(message) = out_rx.recv().await {
                let closing = matches!(message, Message::Close(_));
                // After a close frame the half is dropped, so the socket closes once the reader
                // has seen the charger's close reply.
                if sink.send(message).await.is_err() || closing {
                    return;
                }
            }
        });
        let (answers, replies, order) = (out.clone(), waiters.clone(), log.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                let id = frame[1].as_str().unwrap_or_default().to_string();
                match frame[0].as_u64() {
                    Some(2) => {
                        let action = frame[2].as_str().unwrap_or_default().to_string();
                        let payload = frame[3].clone();
                        if let Err(e) = validate_ocpp16(&action, &payload) {
                            violations.lock().unwrap().push(format!("{action}: {e:?}"));
                        }
                        order.lock().unwrap().push(format!("call:{action}"));
                        let reply = confirmation(&action, &payload, &boots, &transaction_ids);
                        let _ = calls_tx.send((action, payload));
                        let _ =
                            answers.send(Message::Text(json!([3, id, reply]).to_string().into()));
                    }
                    _ => {
                        order.lock().unwrap().push(format!("reply:{id}"));
                        if let Some(waiter) = replies.lock().unwrap().remove(&id) {
                            let _ = waiter.send(frame);
                        }
                    }
                }
            }
        });
        Connection {
            out,
            charger_calls,
            waiters,
            log,
            next_id: 0,
        }
    }

    /// Sends a CALL without waiting; the receiver gets the whole reply frame.
    pub fn send_call(&mut self, action: &str, payload: Value) -> oneshot::Receiver<Value> {
        self.next_id += 1;
        let id = format!("srv-{}", self.next_id);
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().unwrap().insert(id.clone(), tx);
        let _ = self.out.send(Message::Text(
            json!([2, id, action, payload]).to_string().into(),
        ));
        rx
    }

    /// Sends a CALL and returns the CALLRESULT payload (panics on a CALLERROR or no reply).
    pub async fn call(&mut self, action: &str, payload: Value) -> Value {
        let frame = self.call_frame(action, payload).await;
        assert_eq!(frame[0], 3, "{action}: {frame}");
        if let Err(e) = validate_ocpp16(&format!("{action}Response"), &frame[2]) {
            panic!("{action}Response breaks the schema: {e:?}: {frame}");
        }
        frame[2].clone()
    }

    /// Sends a CALL and returns the whole reply frame.
    pub async fn call_frame(&mut self, action: &str, payload: Value) -> Value {
        let rx = self.send_call(action, payload);
        tokio::time::timeout(WAIT, rx)
            .await
            .unwrap_or_else(|_| panic!("no reply to {action}"))
            .expect("connection gone")
    }

    /// The next charger CALL of this action, skipping others; panics after 10 s.
    pub async fn expect(&mut self, action: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.charger_calls.recv()).await;
            match next {
                Ok(Some((a, payload))) if a == action => return payload,
                Ok(Some(_)) => {}
                Ok(None) => panic!("connection ended while waiting for {action}"),
                Err(_) => panic!("no {action} in time"),
            }
        }
    }

    /// Charger CALLs arrived so far and not yet consumed.
    pub fn drain(&mut self) -> Vec<(String, Value)> {
        let mut calls = Vec::new();
        while let Ok(call) = self.charger_calls.try_recv() {
            calls.push(call);
        }
        calls
    }

    /// Waits until the charger closes the connection.
    pub async fn closed(&mut self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while let Ok(Some(_)) = tokio::time::timeout_at(deadline, self.charger_calls.recv()).await {
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the charger did not close"
        );
    }

    pub fn close(&self) {
        let _ = self.out.send(Message::Close(None));
    }
}

fn confirmation(
    action: &str,
    payload: &Value,
    boots: &BootAnswers,
    transaction_ids: &AtomicI32,
) -> Value {
    let now = "2025-01-01T00:00:00Z";
    let tag_info = |tag: &Value| {
        let blocked = tag.as_str().is_some_and(|t| t.starts_with("BLOCKED"));
        json!({"status": if blocked { "Blocked" } else { "Accepted" }})
    };
    match action {
        "BootNotification" => {
            let status = boots.lock().unwrap().pop_front().unwrap_or("Accepted");
            json!({"status": status, "currentTime": now, "interval": if status == "Accepted" { 60 } else { 1 }})
        }
        "Heartbeat" => json!({"currentTime": now}),
        "Authorize" => json!({"idTagInfo": tag_info(&payload["idTag"])}),
        "StartTransaction" => json!({
            "transactionId": transaction_ids.fetch_add(1, Ordering::SeqCst),
            "idTagInfo": tag_info(&payload["idTag"]),
        }),
        "DataTransfer" => json!({"status": "Accepted"}),
        _ => json!({}),
    }
}
