//! evcms: an OCPP 1.6-J charge-point management system.
//!
//! [`App::build`] connects to the database, applies migrations and binds the listener; [`App::run`]
//! serves until shut down. `main.rs` and the integration tests start evcms through exactly these
//! two calls.

pub mod accept;
pub mod api;
pub mod auth;
pub mod charging;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod fixed;
pub mod images;
pub mod ocpp;
pub mod storage;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use config::Config;
pub use db::Db;

/// Shared by every request handler; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    /// The OCPP endpoint's shared state: live connections and the meter-sample writer.
    pub ocpp: Arc<ocpp::Hub>,
    pub auth: auth::Auth,
    /// Uploaded files (station images): the store and the upload limits.
    pub files: Arc<api::station_images::Files>,
}

/// A ready-to-serve evcms: database open and migrated, listener bound.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    /// The metrics listener and its router, when `EVCMS_METRICS_BIND` puts them off this port.
    metrics: Option<(TcpListener, axum::Router)>,
    files: Arc<api::station_images::Files>,
    db: Db,
    ocpp: Arc<ocpp::Hub>,
    tls: Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
}

/// Why evcms could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] db::ConnectError),
    #[error("cannot record that chargers are disconnected: {0}")]
    Disconnect(#[from] sqlx::Error),
    #[error(transparent)]
    Auth(#[from] auth::AuthStartError),
    #[error(transparent)]
    Tls(#[from] auth::tls::TlsError),
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl App {
    /// Opens the database named in `config` and binds `config.bind`.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        let tls = match (&config.security.tls_cert, &config.security.tls_key) {
            (Some(cert), Some(key)) => Some(auth::tls::server_config(cert, key)?),
            _ => None,
        };
        let storage = storage::Storage::open(&config.storage_url)?;
        let db = Db::connect_with(&config.database_url, config.pool_settings()).await?;
        let auth = auth::Auth::start(&db, &config.security).await?;
        let ocpp = Arc::new(ocpp::Hub::start(&db, config));
        // Connections do not survive a restart: a charger is connected only while a socket serves
        // it. After a crash (kill -9, power loss) its row still says `connected`; set it straight
        // before serving: every charger on SQLite's one node; with several nodes, those this
        // node's id held (the others sweep what dead nodes of other ids held).
        let stale = match &ocpp.cluster {
            Some(cluster) => cluster.join().await?,
            None => db::charger_state::release(&db, None, db::now()).await?,
        };
        if stale > 0 {
            tracing::info!(
                chargers = stale,
                node = %ocpp.node,
                "marked chargers left connected by the previous run as disconnected"
            );
        }
        let listener = listen(config.bind).map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
        let state = AppState {
            db: db.clone(),
            ocpp: ocpp.clone(),
            auth,
            files: Arc::new(api::station_images::Files::new(storage, config)),
        };
        let files = state.files.clone();
        let metrics = match config.metrics_bind {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartError::Bind { addr, source })?;
                let router = axum::Router::new()
                    .route("/metrics", axum::routing::get(telemetry::render))
                    .with_state(state.clone());
                Some((listener, router))
            }
            None => None,
        };
        telemetry::handle();
        let router = api::router(state, config);
        Ok(Self {
            listener,
            router,
            metrics,
            files,
            db,
            ocpp,
            tls,
        })
    }

    /// The metrics listener's address, when it is off the main port.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// The address actually bound (the port is chosen by the OS when the configuration says 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The OCPP endpoint's shared state (live connections).
    pub fn ocpp(&self) -> &Arc<ocpp::Hub> {
        &self.ocpp
    }

    /// Whether it serves HTTPS/WSS (`EVCMS_TLS_CERT` and `EVCMS_TLS_KEY`) rather than HTTP/WS.
    pub fn serves_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight, closes the charger
    /// connections, writes the queued meter samples and closes the database.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Closing abandoned sessions needs no request to trigger it; it stops with the server.
        let sweeper = charging::sweep::start(
            self.db.clone(),
            self.ocpp.rules.clone(),
            self.ocpp.events.clone(),
        );
        let purge = api::station_images::start_purge(self.db.clone(), self.files.clone());
        let cluster_tasks = self
            .ocpp
            .cluster
            .as_ref()
            .map(|cluster| cluster.start())
            .unwrap_or_default();
        let metrics = self.metrics.map(|(listener, router)| {
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            })
        });
        // Event streams never end by themselves: end them when shutdown begins, or graceful
        // shutdown would wait for them for ever.
        let events = self.ocpp.events.clone();
        let shutdown = async move {
            shutdown.await;
            events.close();
        };
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        // `tap_io` with nothing to do: axum gives the peer's address (ConnectInfo) to listeners
        // of its own and to tapped ones.
        use axum::serve::ListenerExt;
        match self.tls {
            Some(tls) => {
                let listener = auth::tls::TlsListener::new(self.listener, tls)?.tap_io(|_| ());
                axum::serve(listener, service)
                    .with_graceful_shutdown(shutdown)
                    .await?
            }
            None => {
                let listener = accept::Acceptor::new(self.listener).tap_io(|_| ());
                axum::serve(listener, service)
                    .with_graceful_shutdown(shutdown)
                    .await?
            }
        }
        // The listener is closed now, so chargers told to go cannot come straight back. Upgraded
        // WebSocket connections are not requests axum waits for: close them here, let each record
        // its disconnection, and write the meter samples they handed over.
        if let Some(sweeper) = sweeper {
            sweeper.abort();
        }
        purge.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        for task in cluster_tasks {
            task.abort();
        }
        self.ocpp.shut_down(&self.db).await;
        self.db.close().await;
        Ok(())
    }
}

/// Connections the kernel queues before evcms accepts them. Tokio's default of 1,024 overflows
/// when a whole network reconnects at once: the chargers beyond it wait for their SYN to be
/// retransmitted (1 s, 3 s, 7 s...) and see slow or failed handshakes. Linux caps it at
/// `net.core.somaxconn` (4,096 by default).
const LISTEN_BACKLOG: u32 = 4096;

fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // A restarted server binds at once even while the previous run's connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}
