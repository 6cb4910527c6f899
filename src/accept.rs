//! Accepting TCP connections without running out of files, for the plain listener and the TLS
//! one alike.
//!
//! Every charger is an open socket, and a whole network reconnecting at once holds its old
//! sockets beside its new ones for a moment: the old ones close only as the server reads their
//! resets. Near the open-files limit that used to fail twice over (seen with 19,000 chargers
//! reconnecting under a limit of 20,000):
//! - the database could not open the files it needs (SQLite's journal and temporary files, a
//!   new pool connection), so a storm's batches failed and their chargers got CALLERRORs;
//! - `accept` failed with EMFILE, and axum's own listener then paused for a whole second.
//!
//! So connections are admitted within a budget: the open-files limit less a reserve for
//! everything else (the database, files served, outgoing connections). A connection beyond it
//! waits in the kernel's listen queue until an older one closes, which in a reconnect storm is
//! moments later. Should `accept` fail anyway (files held elsewhere, memory), the next try comes
//! after a short pause.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long to wait after an accept failed for want of a resource (files, memory).
const RETRY_AFTER: Duration = Duration::from_millis(20);
/// At most one warning this often while a shortage lasts; the counter counts every failure.
const WARN_EVERY: Duration = Duration::from_secs(5);
/// Files kept back from connections: a database pool (SQLite holds three files per connection,
/// plus temporary files for large statements), files served, outgoing connections.
const RESERVED_FILES: u64 = 512;

/// How many connections may be open at once under an open-files limit of `limit`: a quarter of
/// a small limit is kept back, [`RESERVED_FILES`] of a large one.
pub fn connection_budget(limit: u64) -> usize {
    let budget = limit - (limit / 4).min(RESERVED_FILES);
    usize::try_from(budget.max(1)).unwrap_or(usize::MAX)
}

/// This process's open-files limit now (raised at start-up to the hard limit, see `main`).
fn open_files_limit() -> u64 {
    rlimit::Resource::NOFILE.get_soft().unwrap_or(1024)
}

/// Accepts from a [`TcpListener`] within the connection budget, retrying shortly through
/// resource shortages.
pub struct Acceptor {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    last_warned: Option<Instant>,
}

impl Acceptor {
    /// An acceptor whose budget follows from the process's open-files limit.
    pub fn new(listener: TcpListener) -> Self {
        let limit = open_files_limit();
        let budget = connection_budget(limit);
        tracing::info!(
            limit,
            budget,
            "accepting at most {budget} connections at once (open-files limit {limit})"
        );
        Self {
            listener,
            slots: Arc::new(Semaphore::new(budget.min(Semaphore::MAX_PERMITS))),
            last_warned: None,
        }
    }

    /// The next connection, once there is room for it. Errors are never returned: a connection
    /// that went away before it was accepted is skipped, and a shortage is waited out.
    pub async fn accept(&mut self) -> (Admitted, SocketAddr) {
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                metrics::counter!("accept_budget_waits_total").increment(1);
                self.slots
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the budget's semaphore is never closed")
            }
        };
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    let admitted = Admitted {
                        stream,
                        _slot: slot,
                    };
                    return (admitted, peer);
                }
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
    type Io = Admitted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        Acceptor::accept(self).await
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// An accepted connection holding its place in the budget until it is dropped.
pub struct Admitted {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for Admitted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Admitted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::connection_budget;

    #[test]
    fn the_budget_keeps_files_back_for_everything_else() {
        assert_eq!(connection_budget(20_000), 19_488);
        assert_eq!(connection_budget(1_048_576), 1_048_064);
        assert_eq!(connection_budget(1_024), 768);
        assert_eq!(connection_budget(8), 6);
        assert_eq!(connection_budget(1), 1);
    }
}
