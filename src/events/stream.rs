//! One subscriber's stream of server-sent events: what it missed (on a resume), then every event
//! of its organization as it comes, a `: keep-alive` comment every [`KEEP_ALIVE`], and `resync`
//! when it fell behind. It ends when the server shuts down, or when the subscriber's sign-in no
//! longer holds (checked at each keep-alive: a logout, a disabled account or an expired token
//! ends it within [`KEEP_ALIVE`]; a changed organization applies from then on).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, Interval};

use super::facts::Resync;
use super::{Event, Subscription, one_line};

/// How often a comment line keeps proxies and the browser from closing an idle stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

const KEEP_ALIVE_LINE: &[u8] = b": keep-alive\n\n";

/// The subscriber's organization scope, asked again at each keep-alive: `None` ends the stream
/// (the subscriber may no longer read it); `Some(scope)` is its scope now (`Some(None)`: every
/// organization).
pub type Recheck =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = Option<Option<String>>> + Send>> + Send + Sync>;

/// The stream of a subscriber limited to `scope` (None: every organization).
pub fn events(
    subscription: Subscription,
    scope: Option<String>,
    recheck: Recheck,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let mut pending = VecDeque::new();
    if let Some(reason) = subscription.resync {
        pending.push_back(resync(reason));
    }
    pending.extend(
        subscription
            .missed
            .iter()
            .filter(|e| e.is_for(scope.as_deref()))
            .map(|e| e.message.clone()),
    );
    let reader = Reader {
        pending,
        receiver: subscription.receiver,
        closed: subscription.closed,
        keep_alive: tokio::time::interval_at(Instant::now() + KEEP_ALIVE, KEEP_ALIVE),
        scope,
        recheck,
        _counted: Counted::new(),
    };
    futures_util::stream::unfold(reader, |mut reader| async move {
        let message = reader.next().await?;
        Some((Ok(message), reader))
    })
}

struct Reader {
    pending: VecDeque<Bytes>,
    receiver: tokio::sync::broadcast::Receiver<Arc<Event>>,
    closed: tokio::sync::watch::Receiver<bool>,
    keep_alive: Interval,
    scope: Option<String>,
    recheck: Recheck,
    _counted: Counted,
}

impl Reader {
    /// The next bytes to send; None ends the stream.
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(message) = self.pending.pop_front() {
            return Some(message);
        }
        loop {
            if *self.closed.borrow() {
                return None;
            }
            tokio::select! {
                biased;
                changed = self.closed.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                received = self.receiver.recv() => match received {
                    Ok(event) if event.is_for(self.scope.as_deref()) => {
                        return Some(event.message.clone());
                    }
                    Ok(_) => {}
                    // The subscriber is told to refetch, and goes on from the newest event: what
                    // is still queued is older than what it will fetch (one resync per fall, not
                    // one per event lost while it catches up).
                    Err(RecvError::Lagged(_)) => {
                        self.receiver = self.receiver.resubscribe();
                        return Some(resync("lagged"));
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = self.keep_alive.tick() => {
                    self.scope = (self.recheck)().await?;
                    return Some(Bytes::from_static(KEEP_ALIVE_LINE));
                }
            }
        }
    }
}

/// A `resync` message (no `id:`: it is no event of the sequence).
fn resync(reason: &'static str) -> Bytes {
    metrics::counter!("events_resyncs_total", "reason" => reason).increment(1);
    let data = one_line(&Resync {
        reason: reason.to_owned(),
    });
    Bytes::from(format!("event: resync\ndata: {data}\n\n"))
}

/// Counts a subscriber in the `events_subscribers` gauge while it lives.
struct Counted;

impl Counted {
    fn new() -> Self {
        metrics::gauge!("events_subscribers").increment(1.0);
        Counted
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        metrics::gauge!("events_subscribers").decrement(1.0);
    }
}
