//! A reader of the live event stream (`GET /api/cms/events`) as the admin UI reads it: a streamed
//! response body with the bearer header, cut into server-sent events.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::TestApp;

/// How long [`Subscriber::until`] waits for an event.
pub const WAIT: Duration = Duration::from_secs(20);

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct Sse {
    pub id: Option<u64>,
    pub event: String,
    pub data: Value,
}

/// A subscriber: the response body read chunk by chunk and cut into events.
pub struct Subscriber {
    response: reqwest::Response,
    buffer: String,
    /// Events read but not yet taken.
    queue: std::collections::VecDeque<Sse>,
    /// Every event read so far, in order, and when each arrived.
    pub seen: Vec<Sse>,
    pub arrivals: Vec<std::time::Instant>,
}

impl Subscriber {
    pub async fn open(app: &TestApp, token: &str, last_event_id: Option<&str>) -> Self {
        let mut request = app
            .anonymous
            .get(app.url("/api/cms/events"))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("the stream opens");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Self {
            response,
            buffer: String::new(),
            queue: Default::default(),
            seen: Vec::new(),
            arrivals: Vec::new(),
        }
    }

    /// The next event within `wait`; None when none came.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(event) = self.queue.pop_front() {
                self.seen.push(event.clone());
                self.arrivals.push(std::time::Instant::now());
                return Some(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => {
                    self.buffer.push_str(std::str::from_utf8(&bytes).unwrap());
                    if let Some(end) = self.buffer.rfind("\n\n") {
                        let rest = self.buffer.split_off(end + 2);
                        let complete = std::mem::replace(&mut self.buffer, rest);
                        self.queue.extend(complete.split("\n\n").filter_map(parse));
                    }
                }
                Ok(Ok(None)) => panic!("the stream ended; seen: {:#?}", self.seen),
                Ok(Err(e)) => panic!("the stream failed: {e}"),
                Err(_) => return None,
            }
        }
    }

    /// The first event that `check` accepts, reading past others.
    pub async fn until(&mut self, what: &str, check: impl Fn(&Sse) -> bool) -> Sse {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Some(event) if check(&event) => return event,
                Some(_) => {}
                None => panic!(
                    "no {what} within {WAIT:?}; seen: {:#?}",
                    &self.seen[self.seen.len().saturating_sub(40)..]
                ),
            }
        }
    }

    /// The first event already read that `check` accepts, or the next one.
    pub async fn seen_or_until(&mut self, what: &str, check: impl Fn(&Sse) -> bool) -> Sse {
        match self.seen.iter().find(|e| check(e)) {
            Some(event) => event.clone(),
            None => self.until(what, check).await,
        }
    }

    /// The first `name` event about charger `cp` already read, or the next one.
    pub async fn seen_or_next(&mut self, name: &str, cp: &str) -> Sse {
        self.seen_or_until(&format!("{name} of {cp}"), |e| {
            e.event == name && e.data["charge_point_id"] == cp
        })
        .await
    }

    /// The first `name` event about charger `cp`.
    pub async fn about(&mut self, name: &str, cp: &str) -> Sse {
        self.until(&format!("{name} of {cp}"), |e| {
            e.event == name && e.data["charge_point_id"] == cp
        })
        .await
    }
}

/// One block of the stream as an event; None for a comment (`: keep-alive`) or nothing.
fn parse(block: &str) -> Option<Sse> {
    let (mut id, mut event, mut data) = (None, None, None);
    for line in block.lines().filter(|l| !l.is_empty()) {
        if let Some(value) = line.strip_prefix("id: ") {
            id = Some(value.parse().expect("a numeric id"));
        } else if let Some(value) = line.strip_prefix("event: ") {
            event = Some(value.to_owned());
        } else if let Some(value) = line.strip_prefix("data: ") {
            assert!(data.is_none(), "one data line per event: {block:?}");
            data = Some(serde_json::from_str(value).expect("the data line is JSON"));
        } else {
            assert!(line.starts_with(':'), "an unexpected line: {line:?}");
        }
    }
    Some(Sse {
        id,
        event: event?,
        data: super::numbers_by_value(data.expect("an event has data")),
    })
}
