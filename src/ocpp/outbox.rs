//! The CALLs evcms sends a charger, one connection's side of them: OCPP 1.6 allows one
//! outstanding CALL per direction, so the connection's task takes the next call from its queue
//! (the registry's bounded channel, which keeps them in order) only when the previous one was
//! answered, timed out or failed. The charger's own CALLs keep flowing meanwhile.
//!
//! Every waiter gets an answer: the reply, a timeout, or — when the connection ends — a dropped
//! sender, which the caller reads as "disconnected".

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::frame::ReplyBody;

/// A CALL to send to a charger, and where its outcome goes.
#[derive(Debug)]
pub struct OutgoingCall {
    /// The OCPP action (one of the 19 a central system sends).
    pub action: &'static str,
    /// The request payload, serialized and validated.
    pub payload: String,
    /// When the caller queued it: a call that waited longer than the timeout in the queue is not
    /// sent any more (its caller has been told it timed out).
    pub queued_at: Instant,
    pub outcome: oneshot::Sender<CallOutcome>,
}

/// What became of a CALL.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum CallOutcome {
    /// The CALLRESULT's payload.
    Result(serde_json::Value),
    /// The charger's CALLERROR.
    Error { code: String, description: String },
    /// The charger's reply could not be read.
    Malformed(String),
    /// No reply within the timeout.
    Timeout,
}

/// A CALL sent and not answered yet.
#[derive(Debug)]
struct InFlight {
    id: String,
    action: &'static str,
    deadline: Instant,
    outcome: oneshot::Sender<CallOutcome>,
}

/// One connection's outgoing CALLs: at most one in flight.
#[derive(Debug)]
pub struct Outbox {
    timeout: Duration,
    in_flight: Option<InFlight>,
}

impl Outbox {
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            in_flight: None,
        }
    }

    /// Whether the next CALL may be sent.
    pub fn is_idle(&self) -> bool {
        self.in_flight.is_none()
    }

    /// Takes `call` in flight and returns the frame to send; None when it waited in the queue
    /// past its timeout or its caller is gone (nothing is sent for it).
    pub fn start(&mut self, call: OutgoingCall) -> Option<(String, &'static str)> {
        let now = Instant::now();
        if call.outcome.is_closed() {
            return None;
        }
        if now.duration_since(call.queued_at) >= self.timeout {
            let _ = call.outcome.send(CallOutcome::Timeout);
            return None;
        }
        let id = uuid::Uuid::new_v4().to_string();
        let frame = format!(
            "[2,\"{id}\",\"{action}\",{payload}]",
            action = call.action,
            payload = call.payload
        );
        self.in_flight = Some(InFlight {
            id,
            action: call.action,
            deadline: now + self.timeout,
            outcome: call.outcome,
        });
        Some((frame, call.action))
    }

    /// The send of the in-flight CALL failed: the connection is going away.
    pub fn abandon(&mut self) {
        self.in_flight = None;
    }

    /// Hands a reply to the CALL waiting for it. Returns the action it answered, or None when no
    /// CALL of ours has that id (logged and ignored, as OCPP-J says).
    pub fn answer(&mut self, id: &str, body: ReplyBody<'_>) -> Option<&'static str> {
        if self.in_flight.as_ref().is_none_or(|call| call.id != id) {
            return None;
        }
        let call = self.in_flight.take()?;
        let outcome = match body {
            ReplyBody::Result(payload) => match serde_json::from_str(payload.get()) {
                Ok(value) => CallOutcome::Result(value),
                Err(e) => CallOutcome::Malformed(e.to_string()),
            },
            ReplyBody::Error { code, description } => CallOutcome::Error { code, description },
            ReplyBody::Malformed(problem) => CallOutcome::Malformed(problem.to_owned()),
        };
        metrics::counter!("ocpp_commands_answered_total", "action" => call.action, "outcome" => outcome.label())
            .increment(1);
        let _ = call.outcome.send(outcome);
        Some(call.action)
    }

    /// Waits until the in-flight CALL's deadline (for ever when there is none).
    pub async fn expired(&self) {
        match &self.in_flight {
            Some(call) => tokio::time::sleep_until(call.deadline).await,
            None => std::future::pending().await,
        }
    }

    /// The in-flight CALL got no reply in time: its caller is told, the next may go.
    pub fn time_out(&mut self) {
        if let Some(call) = self.in_flight.take() {
            tracing::warn!(action = call.action, message_id = %call.id, "a charger did not answer a CALL in time");
            metrics::counter!("ocpp_commands_answered_total", "action" => call.action, "outcome" => "timeout")
                .increment(1);
            let _ = call.outcome.send(CallOutcome::Timeout);
        }
    }
}

impl CallOutcome {
    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Result(_) => "result",
            Self::Error { .. } => "call_error",
            Self::Malformed(_) => "malformed",
            Self::Timeout => "timeout",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(action: &'static str) -> (OutgoingCall, oneshot::Receiver<CallOutcome>) {
        let (tx, rx) = oneshot::channel();
        let call = OutgoingCall {
            action,
            payload: "{}".into(),
            queued_at: Instant::now(),
            outcome: tx,
        };
        (call, rx)
    }

    fn id_of(frame: &str) -> String {
        let v: serde_json::Value = serde_json::from_str(frame).unwrap();
        v[1].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn one_call_in_flight_matched_by_id() {
        let mut outbox = Outbox::new(Duration::from_secs(5));
        let (first, mut first_rx) = call("Reset");
        let (frame, _) = outbox.start(first).unwrap();
        assert!(!outbox.is_idle());
        let raw =
            serde_json::value::RawValue::from_string("{\"status\":\"Accepted\"}".into()).unwrap();
        assert_eq!(outbox.answer("other", ReplyBody::Result(&raw)), None);
        assert!(first_rx.try_recv().is_err());
        assert_eq!(
            outbox.answer(&id_of(&frame), ReplyBody::Result(&raw)),
            Some("Reset")
        );
        assert!(outbox.is_idle());
        assert_eq!(
            first_rx.try_recv().unwrap(),
            CallOutcome::Result(serde_json::json!({"status": "Accepted"}))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_waited_past_its_timeout_is_not_sent() {
        let mut outbox = Outbox::new(Duration::from_secs(5));
        let (late, mut rx) = call("ClearCache");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(outbox.start(late).is_none());
        assert_eq!(rx.try_recv().unwrap(), CallOutcome::Timeout);
        assert!(outbox.is_idle());
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_charger_times_out() {
        let mut outbox = Outbox::new(Duration::from_secs(5));
        let (c, mut rx) = call("GetConfiguration");
        outbox.start(c).unwrap();
        outbox.expired().await;
        outbox.time_out();
        assert_eq!(rx.try_recv().unwrap(), CallOutcome::Timeout);
        assert!(outbox.is_idle());
    }
}
