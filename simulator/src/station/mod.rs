//! A simulated charger that behaves like a real one: it boots, reports its connectors, sends
//! heartbeats and meter values, answers all 19 CSMS-initiated OCPP 1.6 calls and acts on them
//! (sessions, resets, availability, configuration, local list, reservations, charging profiles,
//! firmware and diagnostics), and reconnects after a drop. Built on [`crate::Charger`], in
//! strict mode unless the config says otherwise.

mod answers;
mod behaviour;
mod charging;
mod config_keys;
mod core;
mod link;
mod local_list;
mod smart_charging;
mod snapshot;
mod state;
mod transfer;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use snapshot::{ConfigKey, ConnectorState, StationSnapshot};

use self::core::{Control, Core, History};
use crate::answer::ServerAnswer;
use crate::config::ChargerConfig;
use crate::error::SimError;
use crate::ocpp::types::{AuthorizationStatus, Reason};
use config_keys::Configuration;
use state::State;

/// A test's own answers, consulted before the station's: refuse, fail or ignore a call.
pub type StationAnswerer = Arc<dyn Fn(&str, &Value) -> Option<ServerAnswer> + Send + Sync>;

/// Lines describing what the station receives and sends (the CLI prints them).
pub type StationLog = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Clone)]
pub struct StationOptions {
    /// Initial MeterValueSampleInterval (milliseconds allowed; the server can change it).
    pub meter_interval: Duration,
    /// Charging power per connector in kW (default: the profile's).
    pub power_kw: Option<u32>,
    /// Reconnect with backoff when the connection drops.
    pub reconnect: bool,
    pub answerer: Option<StationAnswerer>,
    /// Where to write one line per server call received and per message sent.
    pub log: Option<StationLog>,
}

impl Default for StationOptions {
    fn default() -> Self {
        StationOptions {
            meter_interval: Duration::from_secs(10),
            power_kw: None,
            reconnect: true,
            answerer: None,
            log: None,
        }
    }
}

impl std::fmt::Debug for StationOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StationOptions")
            .field("meter_interval", &self.meter_interval)
            .field("power_kw", &self.power_kw)
            .field("reconnect", &self.reconnect)
            .field("answerer", &self.answerer.is_some())
            .field("log", &self.log.is_some())
            .finish()
    }
}

/// A running simulated charger. Dropping it stops everything; [`Station::shutdown`] also closes
/// the connection cleanly.
pub struct Station {
    core: Arc<Core>,
    supervisor: Option<JoinHandle<()>>,
}

impl Station {
    /// Connects, boots (asking again while Pending; `SimError::Refused` when Rejected) and
    /// reports every connector; returns once booted.
    pub async fn start(cfg: ChargerConfig, options: StationOptions) -> Result<Station, SimError> {
        let power_kw = options.power_kw.unwrap_or(cfg.profile.power_kw);
        let configuration = Configuration::for_profile(&cfg.profile, options.meter_interval);
        let state = State::new(&cfg.profile, configuration, power_kw.saturating_mul(1000));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SimError::Config(format!("HTTP client: {e}")))?;
        let (control, control_rx) = mpsc::unbounded_channel();
        let core = Arc::new(Core {
            cfg,
            reconnect: options.reconnect,
            answerer: options.answerer,
            log: options.log,
            state: Mutex::new(state),
            link: tokio::sync::Mutex::new(None),
            current: Mutex::new(None),
            history: Mutex::new(History::default()),
            control,
            tasks: Mutex::new(Vec::new()),
            http,
        });
        let events = link::connect_and_boot(&core).await?;
        let _ = core.spawn(charging::clock(core.clone()));
        let supervisor = tokio::spawn(link::supervise(core.clone(), control_rx, events));
        Ok(Station {
            core,
            supervisor: Some(supervisor),
        })
    }

    pub fn snapshot(&self) -> StationSnapshot {
        self.core.state().snapshot()
    }

    /// Waits until `what` holds for the station's state; `SimError::Timeout` otherwise.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        what: impl Fn(&StationSnapshot) -> bool,
    ) -> Result<StationSnapshot, SimError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let snapshot = self.snapshot();
            if what(&snapshot) {
                return Ok(snapshot);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SimError::Timeout("the station state".into()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A driver plugs into `connector` and presents `id_tag`: authorization (Authorize, or the
    /// local list offline or with LocalPreAuthorize), Preparing, StartTransaction, Charging.
    /// Returns the transaction id; `SimError::Refused` for a busy connector or a refused tag.
    pub async fn start_local(&self, connector: u32, id_tag: &str) -> Result<i32, SimError> {
        charging::claim(&self.core, connector, id_tag)?;
        let status = match charging::authorize(&self.core, id_tag).await {
            Ok(status) => status,
            Err(e) => {
                charging::release(&self.core, connector).await;
                return Err(e);
            }
        };
        if status != AuthorizationStatus::Accepted {
            charging::release(&self.core, connector).await;
            return Err(SimError::Refused(format!("id tag {id_tag}: {status:?}")));
        }
        charging::start_session(&self.core, connector, id_tag, None).await
    }

    /// The driver ends the session on `connector` (reason Local).
    pub async fn stop_local(&self, connector: u32) -> Result<(), SimError> {
        charging::stop_session(&self.core, connector, Reason::Local).await
    }

    /// Online: Authorize. Offline: the local list (when LocalAuthorizeOffline), Invalid for a
    /// tag it lacks.
    pub async fn authorize(&self, id_tag: &str) -> Result<AuthorizationStatus, SimError> {
        charging::authorize(&self.core, id_tag).await
    }

    /// Closes the connection and stays offline (no reconnection) until [`Station::go_online`].
    pub async fn go_offline(&self) {
        let (done, wait) = oneshot::channel();
        if self.core.control.send(Control::GoOffline(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Reconnects and boots again; returns once booted.
    pub async fn go_online(&self) -> Result<(), SimError> {
        let (done, wait) = oneshot::channel();
        self.core
            .control
            .send(Control::GoOnline(done))
            .map_err(|_| SimError::Config("the station has stopped".into()))?;
        wait.await
            .map_err(|_| SimError::Config("the station has stopped".into()))?
    }

    /// Every server CALL (action, payload) across all connections, in order.
    pub fn server_calls(&self) -> Vec<(String, Value)> {
        self.core.server_calls()
    }

    /// Every strict-mode violation in what the server sent, across all connections.
    pub fn schema_violations(&self) -> Vec<(String, Vec<String>)> {
        self.core.schema_violations()
    }

    /// The most server CALLs that were ever in flight at once on one connection.
    pub fn max_outstanding_server_calls(&self) -> usize {
        self.core.max_outstanding_server_calls()
    }

    /// Closes the connection cleanly and stops every task.
    pub async fn shutdown(mut self) {
        let (done, wait) = oneshot::channel();
        if self.core.control.send(Control::Shutdown(done)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
        }
        if let Some(supervisor) = self.supervisor.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), supervisor).await;
        }
    }
}

impl Drop for Station {
    fn drop(&mut self) {
        if let Some(supervisor) = self.supervisor.take() {
            supervisor.abort();
        }
        for task in crate::router::lock(&self.core.tasks).drain(..) {
            task.abort();
        }
        // The connection's reader stops when its `Charger` is dropped; a task still holding the
        // link drops it when aborted.
        if let Ok(mut link) = self.core.link.try_lock() {
            link.take();
        }
    }
}
