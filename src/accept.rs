//! Accepting TCP connections through a shortage of file descriptors, for the plain listener and
//! the TLS one alike.
//!
//! A whole network reconnecting at once holds its old sockets beside its new ones for a moment:
//! the old ones close only as the server reads their resets. A server near its open-files limit
//! then fails `accept` with EMFILE until they are gone. axum's own listener sleeps a whole second
//! after such an error, and every charger of the storm waits behind that second (seen in a 19,000
//! charger reconnect under a 20,000-file limit). Here the pause is short: the kernel's listen
//! queue holds the waiting connections meanwhile, and the next try comes as soon as files are
//! likely to be free again.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};

/// How long to wait after an accept failed for want of a resource (files, memory).
pub const RETRY_AFTER: Duration = Duration::from_millis(20);
/// At most one warning this often while the shortage lasts; the counter counts every failure.
const WARN_EVERY: Duration = Duration::from_secs(5);

/// Accepts from a [`TcpListener`], retrying shortly through resource shortages.
pub struct Acceptor {
    listener: TcpListener,
    last_warned: Option<Instant>,
}

impl Acceptor {
    pub fn new(listener: TcpListener) -> Self {
        Self {
            listener,
            last_warned: None,
        }
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The next connection. Errors are never returned: a connection that went away before it
    /// was accepted is skipped, and a shortage is waited out.
    pub async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok(accepted) => return accepted,
                Err(err) if went_away(&err) => continue,
                Err(err) => {
                    metrics::counter!("accept_errors_total").increment(1);
                    let now = Instant::now();
                    if self
                        .last_warned
                        .is_none_or(|at| now.duration_since(at) >= WARN_EVERY)
                    {
                        self.last_warned = Some(now);
                        tracing::warn!(%err, "cannot accept connections; retrying every {RETRY_AFTER:?} (raise the open-files limit?)");
                    }
                    tokio::time::sleep(RETRY_AFTER).await;
                }
            }
        }
    }
}

/// The peer gave up between its handshake and our accept: nothing is short, accept the next.
fn went_away(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}

impl Listener for Acceptor {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        Acceptor::accept(self).await
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Acceptor::local_addr(self)
    }
}
