//! Several evcms nodes on one PostgreSQL, behind a load balancer that is sticky by nothing.
//!
//! - **Nodes** ([`nodes`]): each process has a node id (`EVCMS_NODE_ID`, or host name and port) and a row
//!   in `nodes` whose heartbeat it refreshes every `EVCMS_NODE_HEARTBEAT` seconds. A charger's
//!   row names the node holding its socket (`chargers.node_id`, written with the connection). A
//!   node stopping cleanly releases its chargers; every node sweeps, at each heartbeat, the
//!   chargers of nodes whose heartbeat is older than `EVCMS_NODE_TIMEOUT` (and tells the event
//!   stream); a node starting clears what a previous run under its id left.
//! - **Commands** ([`relay`]): a command for a charger held elsewhere goes to its node through
//!   LISTEN/NOTIFY, its row being the source of truth.
//! - **Events** ([`events`]): every node's live events reach every node's subscribers.
//! - **Login limits** are counted in PostgreSQL (`crate::auth::limiter`).
//!
//! One listening connection per node carries every notification ([`Cluster::listen`]). On SQLite
//! there is one node and none of this runs.

pub mod events;
pub mod nodes;
pub mod relay;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;

use crate::commands::transport::Local;
use crate::events::Bus;
use crate::events::facts::{ChargerConnection, Fact};
use crate::ocpp::registry::Registry;

/// The node settings, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub heartbeat: Duration,
    pub timeout: Duration,
    pub call_timeout: Duration,
}

impl Settings {
    pub fn from_config(config: &crate::Config) -> Self {
        Self {
            heartbeat: Duration::from_secs(config.node_heartbeat),
            // A timeout shorter than two heartbeats would declare live nodes dead.
            timeout: Duration::from_secs(config.node_timeout.max(config.node_heartbeat * 2)),
            call_timeout: Duration::from_secs(config.ocpp_call_timeout),
        }
    }
}

/// This node's id: the configured one, or `{host name}-{port}`: stable across restarts (so a
/// node restarted after a crash clears what it held at once) and distinct for two nodes on one
/// host, which listen on different ports.
pub fn node_id(config: &crate::Config) -> Arc<str> {
    if let Some(id) = &config.node_id {
        return Arc::from(id.as_str());
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(50)
        .collect();
    let host = if host.is_empty() {
        "evcms".to_owned()
    } else {
        host
    };
    Arc::from(format!("{host}-{}", config.bind.port()))
}

/// This node among the others.
#[derive(Debug)]
pub struct Cluster {
    pub node: Arc<str>,
    pool: PgPool,
    settings: Settings,
    registry: Arc<Registry>,
    bus: Arc<Bus>,
    pub relay: Arc<relay::Relay>,
    listeners: events::Listeners,
    outgoing_events: std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<crate::events::Shared>>>,
}

impl Cluster {
    pub fn new(
        pool: PgPool,
        node: Arc<str>,
        settings: Settings,
        registry: Arc<Registry>,
        bus: Arc<Bus>,
    ) -> Arc<Self> {
        let relay = Arc::new(relay::Relay::new(
            pool.clone(),
            node.clone(),
            Local::new(registry.clone()),
            settings.call_timeout,
            settings.timeout,
        ));
        let listeners = events::Listeners::default();
        let outgoing = events::attach(&bus, &listeners);
        Arc::new(Self {
            node,
            pool,
            settings,
            registry,
            bus,
            relay,
            listeners,
            outgoing_events: std::sync::Mutex::new(Some(outgoing)),
        })
    }

    /// The transport commands take: here when the charger is here, through its node otherwise.
    pub fn transport(&self) -> relay::Routed {
        relay::Routed {
            local: Local::new(self.registry.clone()),
            relay: self.relay.clone(),
        }
    }

    /// Records this node as started and clears what an earlier run under its id left connected.
    /// Before serving.
    pub async fn join(&self) -> Result<u64, sqlx::Error> {
        nodes::join(&self.pool, &self.node).await?;
        crate::db::charger_state::release(
            &crate::db::Db::Postgres(self.pool.clone()),
            Some(&self.node),
            crate::db::now(),
        )
        .await
    }

    /// Starts the heartbeat, the listener and the event relay.
    pub fn start(self: &Arc<Self>) -> Vec<JoinHandle<()>> {
        let mut tasks = vec![
            tokio::spawn(self.clone().beat()),
            tokio::spawn(self.clone().listen()),
            tokio::spawn(events::announce_subscribers(
                self.pool.clone(),
                self.node.clone(),
                self.bus.clone(),
            )),
        ];
        let outgoing = self
            .outgoing_events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(outgoing) = outgoing {
            tasks.push(tokio::spawn(events::send_batches(
                self.pool.clone(),
                self.node.clone(),
                outgoing,
            )));
        }
        tasks
    }

    /// Stopping cleanly, once the connections are closed: this node's chargers are released in
    /// one statement (the other nodes' subscribers are told), the node marked stopped.
    pub async fn leave(&self) {
        match nodes::release_held(&self.pool, &self.node).await {
            Ok(released)
                if self
                    .listeners
                    .any
                    .load(std::sync::atomic::Ordering::Relaxed) =>
            {
                let told = released
                    .into_iter()
                    .map(|charger| {
                        let fact = Fact::ChargerDisconnected(ChargerConnection {
                            charge_point_id: charger.charge_point_id,
                            at: charger.disconnected_at,
                        });
                        crate::events::Shared {
                            name: fact.name(),
                            organization: charger.organization.map(Arc::from),
                            data: fact.data_json(),
                        }
                    })
                    .collect();
                events::send_now(&self.pool, &self.node, told).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not release this node's chargers"),
        }
        if let Err(e) = nodes::leave(&self.pool, &self.node).await {
            tracing::warn!(error = %e, "could not record this node as stopped");
        }
    }

    /// Every heartbeat: refresh ours, learn the others', sweep the chargers of dead nodes.
    async fn beat(self: Arc<Self>) {
        let timeout = self.settings.timeout.as_secs_f64();
        let mut every = tokio::time::interval(self.settings.heartbeat);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_beat = tokio::time::Instant::now();
        let mut beats: u64 = 0;
        loop {
            every.tick().await;
            beats += 1;
            let beat = nodes::beat(
                &self.pool,
                &self.node,
                self.registry.count(),
                self.bus.local_subscribers(),
            )
            .await;
            if let Err(e) = beat {
                metrics::counter!("cluster_heartbeat_failures_total").increment(1);
                tracing::warn!(error = %e, "could not refresh this node's heartbeat");
                continue;
            }
            // Our heartbeat lapsed (a database outage): the others may have swept our chargers.
            if last_beat.elapsed() >= self.settings.timeout {
                self.reclaim().await;
            }
            last_beat = tokio::time::Instant::now();
            let read_at = std::time::Instant::now();
            match nodes::live(&self.pool, timeout).await {
                Ok(live) => {
                    metrics::gauge!("cluster_nodes_live").set(live.len() as f64);
                    self.listeners.reset(&self.node, live, read_at);
                }
                Err(e) => tracing::warn!(error = %e, "could not read the live nodes"),
            }
            self.sweep(timeout).await;
            if beats % 720 == 1
                && let Err(e) = nodes::forget_old(&self.pool).await
            {
                tracing::warn!(error = %e, "could not forget old nodes");
            }
            if beats % 12 == 1 {
                crate::auth::limiter::forget_old(&self.pool).await;
            }
        }
    }

    /// Marks disconnected the chargers of nodes presumed dead, and tells the event stream.
    async fn sweep(&self, timeout: f64) {
        let swept = match nodes::sweep_dead(&self.pool, timeout).await {
            Ok(swept) => swept,
            Err(e) => {
                tracing::warn!(error = %e, "could not sweep the chargers of dead nodes");
                return;
            }
        };
        if swept.is_empty() {
            return;
        }
        tracing::warn!(
            chargers = swept.len(),
            "marked the chargers of a node presumed dead as disconnected"
        );
        metrics::counter!("cluster_chargers_swept_total").increment(swept.len() as u64);
        for charger in swept {
            self.bus.publish(charger.organization.as_deref(), || {
                Fact::ChargerDisconnected(ChargerConnection {
                    charge_point_id: charger.charge_point_id,
                    at: charger.disconnected_at,
                })
            });
        }
    }

    async fn reclaim(&self) {
        let held = self.registry.charge_point_ids();
        match nodes::reclaim(&self.pool, &self.node, &held).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!(
                    chargers = n,
                    "this node's heartbeat had lapsed: marked its chargers connected again"
                )
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not mark this node's chargers connected again")
            }
        }
    }

    /// The one listening connection: commands to send, commands answered, events, subscribers.
    async fn listen(self: Arc<Self>) {
        let mut listener = loop {
            match self.subscribe().await {
                Ok(listener) => break listener,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for the other nodes yet");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        // Whatever was asked of this node before it listened.
        self.relay.catch_up().await;
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    let payload = notification.payload();
                    match notification.channel() {
                        relay::CALLS => self.relay.asked(payload),
                        relay::CALLS_DONE => self.relay.done(payload),
                        events::EVENTS => events::received(&self.bus, &self.node, payload),
                        events::SUBSCRIBERS => self.listeners.announced(&self.node, payload),
                        _ => {}
                    }
                }
                // The connection was lost and is back: notifications may have been missed.
                Ok(None) => {
                    tracing::warn!("the listening connection to PostgreSQL was re-established");
                    self.relay.catch_up().await;
                }
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "listening for the other nodes failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn subscribe(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener
            .listen_all([
                relay::CALLS,
                relay::CALLS_DONE,
                events::EVENTS,
                events::SUBSCRIBERS,
            ])
            .await?;
        Ok(listener)
    }
}
