//! The OCPP 1.6-J endpoint: chargers connect to `/ocpp/{chargePointId}` over WebSocket.
//!
//! - [`socket`]: the handshake and one task per connection (reads, pings, replies).
//! - [`frame`] and [`lenient`]: OCPP-J framing, and the charger quirks read leniently.
//! - [`link`]: one connection's state; [`dispatch`]: each frame to the handler of its action.
//! - [`charger`], [`transaction`], [`metering`]: each message translated into calls of the
//!   charging domain (`crate::charging`) and the charger's state. [`batcher`]: meter samples reach
//!   the database in batches.
//! - [`registry`]: at most one live connection per charger in this process.

pub mod batcher;
pub mod charger;
pub mod dispatch;
pub mod frame;
pub mod grouped;
pub mod identity;
pub mod lenient;
pub mod link;
pub mod message_log;
pub mod metering;
pub mod outbox;
pub mod registry;
pub mod socket;
pub mod tag_holders;
pub mod transaction;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use rust_ocpp::v1_6::types::RegistrationStatus;

use crate::config::UnknownChargers;
use crate::db::Db;
use crate::{AppState, Config};

/// The OCPP settings, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub heartbeat_interval: u32,
    pub unknown_chargers: RegistrationStatus,
    pub max_frame_bytes: usize,
    pub ping_interval: Option<Duration>,
    /// How long a charger has to answer a CALL of ours.
    pub call_timeout: Duration,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            heartbeat_interval: config.ocpp_heartbeat_interval,
            unknown_chargers: match config.ocpp_unknown_chargers {
                UnknownChargers::Pending => RegistrationStatus::Pending,
                UnknownChargers::Rejected => RegistrationStatus::Rejected,
            },
            max_frame_bytes: config.ocpp_max_frame_bytes as usize,
            ping_interval: (config.ocpp_ping_interval > 0)
                .then(|| Duration::from_secs(config.ocpp_ping_interval)),
            call_timeout: Duration::from_secs(config.ocpp_call_timeout),
        }
    }
}

/// What every connection shares: settings, the registry of live connections, the sample writer.
#[derive(Debug)]
pub struct Hub {
    pub settings: Settings,
    /// The charging rules the messages are judged by.
    pub rules: crate::charging::Rules,
    pub registry: std::sync::Arc<registry::Registry>,
    /// Commands to chargers (through `registry` today).
    pub commands: crate::commands::Commands,
    pub samples: batcher::SampleWriter,
    /// Connecting chargers' credentials and points, read in batches.
    pub identities: identity::Identities,
    /// Authorize's reads of idTags, many at once.
    pub tag_holders: tag_holders::TagHolders,
    /// The log of every frame in and out.
    pub messages: message_log::MessageLog,
    /// The live event stream's bus (`GET /api/cms/events`), shared with the REST side.
    pub events: std::sync::Arc<crate::events::Bus>,
    /// This node's id, recorded with each charger it holds.
    pub node: std::sync::Arc<str>,
    /// This node among the others (PostgreSQL); None on SQLite's one node.
    pub cluster: Option<std::sync::Arc<crate::cluster::Cluster>>,
    /// Set when the server stops: connections then leave their disconnection to
    /// [`Hub::shut_down`], which records them all in one statement (thousands of single writes
    /// at once would outwait the database pool).
    stopping: std::sync::atomic::AtomicBool,
}

/// Lanes of the sample writer (see [`batcher`]): SQLite has one writer; PostgreSQL
/// `db_writer_lanes`, at most half the pool, so that REST requests and reads keep connections
/// of their own.
///
/// Two by default. More lanes overlap more round trips, but each takes a smaller share of a
/// storm, and a batch has costs of its own whatever its size (each statement's plan, the
/// hashing of the tables it joins), so on a database short of cores more lanes only add work.
/// On this project's two-core machine, 19,000 chargers at once: 4 lanes (the earlier half of
/// the default pool) set every charger up after 8.4–8.9 s and answered the stop storm at p99
/// 1.6–1.9 s; 2 lanes after 7.8–8.6 s and at p99 1.3–1.6 s, with less PostgreSQL CPU; 8
/// lanes were worse still (docs/performance.md).
fn writer_lanes(db: &Db, config: &Config) -> usize {
    match db {
        Db::Sqlite { .. } => 1,
        Db::Postgres(_) => {
            let half_the_pool = (config.db_max_connections / 2).max(1);
            usize::try_from(config.db_writer_lanes.min(half_the_pool)).unwrap_or(1)
        }
    }
}

impl Hub {
    pub fn start(db: &Db, config: &Config) -> Self {
        let (samples, _writer) = batcher::SampleWriter::start(db.clone(), writer_lanes(db, config));
        let lookups = grouped::reader(db);
        let backlog = samples.backlog();
        let registry = std::sync::Arc::new(registry::Registry::default());
        let rules = crate::charging::Rules::from_config(config);
        let events = std::sync::Arc::new(crate::events::Bus::new(crate::events::Settings {
            buffer: usize::try_from(config.events_buffer).unwrap_or(usize::MAX),
            ..Default::default()
        }));
        let node = crate::cluster::node_id(config);
        let cluster = match db {
            Db::Postgres(pool) => Some(crate::cluster::Cluster::new(
                pool.clone(),
                node.clone(),
                crate::cluster::Settings::from_config(config),
                registry.clone(),
                events.clone(),
            )),
            Db::Sqlite { .. } => None,
        };
        let transport: std::sync::Arc<dyn crate::commands::transport::Transport> = match &cluster {
            Some(cluster) => std::sync::Arc::new(cluster.transport()),
            None => std::sync::Arc::new(crate::commands::transport::Local::new(registry.clone())),
        };
        let commands = crate::commands::Commands {
            db: db.clone(),
            transport,
            rules: rules.clone(),
            public_url: config.public_url.clone(),
            events: events.clone(),
        };
        Self {
            settings: Settings::from_config(config),
            rules,
            registry,
            commands,
            samples,
            identities: identity::Identities::start(lookups.clone()),
            tag_holders: tag_holders::TagHolders::start(lookups),
            events,
            node,
            cluster,
            stopping: std::sync::atomic::AtomicBool::new(false),
            messages: message_log::MessageLog::start(
                db.clone(),
                message_log::LogSettings {
                    keep_days: (config.message_log_days > 0).then_some(config.message_log_days),
                    heartbeats: config.message_log_heartbeats,
                },
                backlog,
            ),
        }
    }

    /// Whether the server is stopping.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Closes every charger connection, records them all disconnected and writes the samples
    /// still queued.
    pub async fn shut_down(&self, db: &Db) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.events.close();
        self.registry.close_all();
        // Give connections a moment to send their close frames.
        for _ in 0..500 {
            if self.registry.count() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        match &self.cluster {
            Some(cluster) => cluster.leave().await,
            None => {
                if let Err(e) = crate::db::charger_state::release(db, None, crate::db::now()).await
                {
                    tracing::warn!(error = %e, "could not record the chargers disconnected; the next start will");
                }
            }
        }
        self.samples.flush().await;
    }
}

/// The WebSocket route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/ocpp/{charge_point_id}", get(socket::upgrade))
}

/// The name an OCPP enum value has on the wire (`"SuspendedEV"`, `"Energy.Active.Import.Register"`).
pub fn wire_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        other => format!("{other:?}"),
    }
}
