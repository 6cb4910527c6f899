//! The runtime every station task shares: the state, the current connection, and the few
//! primitives the behaviour is built from (send a CALL, report a status, log a line).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use super::state::State;
use crate::answer::Answerer;
use crate::charger::Charger;
use crate::config::ChargerConfig;
use crate::error::SimError;
use crate::ocpp::messages::status_notification::{
    StatusNotificationRequest, StatusNotificationResponse,
};
use crate::ocpp::types::{ChargePointErrorCode, ChargePointStatus};
use crate::router::{Shared, lock};

/// A line for whoever watches the station (the CLI prints them).
pub(crate) type LogLine = Arc<dyn Fn(&str) + Send + Sync>;

/// Requests to the task that owns the connection's life cycle.
pub(crate) enum Control {
    /// Close, reconnect at once and boot again (Reset, new firmware).
    Reboot,
    GoOffline(oneshot::Sender<()>),
    GoOnline(oneshot::Sender<Result<(), SimError>>),
    Shutdown(oneshot::Sender<()>),
}

/// What earlier connections saw, kept when they are replaced.
#[derive(Default)]
pub(crate) struct History {
    pub server_calls: Vec<(String, Value)>,
    pub violations: Vec<(String, Vec<String>)>,
    pub max_outstanding: usize,
}

pub(crate) struct Core {
    pub cfg: ChargerConfig,
    pub reconnect: bool,
    /// The test's answers, consulted before the station's own.
    pub answerer: Option<Answerer>,
    pub log: Option<LogLine>,
    pub state: Mutex<State>,
    /// The live connection; `None` while offline. Holding it serializes the station's CALLs:
    /// one outstanding CALL per direction, as OCPP-J asks.
    pub link: tokio::sync::Mutex<Option<Charger>>,
    /// The live connection's reader state, readable without waiting for `link`.
    pub current: Mutex<Option<Arc<Shared>>>,
    pub history: Mutex<History>,
    pub control: mpsc::UnboundedSender<Control>,
    pub tasks: Mutex<Vec<AbortHandle>>,
    pub http: reqwest::Client,
}

impl Core {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn say(&self, line: impl FnOnce() -> String) {
        if let Some(log) = &self.log {
            log(&line());
        } else {
            tracing::debug!(charger = self.cfg.id, "{}", line());
        }
    }

    /// Runs `task` at most as long as the station lives (Drop aborts it).
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) -> AbortHandle {
        let handle = tokio::spawn(task).abort_handle();
        let mut tasks = lock(&self.tasks);
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle.clone());
        handle
    }

    pub(crate) fn offline() -> SimError {
        SimError::Closed {
            code: None,
            reason: "the station is offline".into(),
        }
    }

    /// A CALL on the live connection, waiting for any CALL of the station still in flight.
    pub(crate) async fn call<Req: Serialize, Resp: DeserializeOwned + Serialize>(
        &self,
        action: &str,
        req: &Req,
    ) -> Result<Resp, SimError> {
        let mut link = self.link.lock().await;
        let charger = link.as_mut().ok_or_else(Self::offline)?;
        self.call_on(charger, action, req).await
    }

    /// A CALL on a connection the caller already holds (to keep a read of the state and the
    /// message built from it together).
    pub(crate) async fn call_on<Req: Serialize, Resp: DeserializeOwned + Serialize>(
        &self,
        charger: &mut Charger,
        action: &str,
        req: &Req,
    ) -> Result<Resp, SimError> {
        let result = charger.call::<Req, Resp>(action, req).await;
        self.say(|| {
            let sent = serde_json::to_string(req).unwrap_or_default();
            match &result {
                Ok(reply) => format!(
                    "-> {action} {sent} => {}",
                    serde_json::to_string(reply).unwrap_or_default()
                ),
                Err(e) => format!("-> {action} {sent} => error: {e}"),
            }
        });
        result
    }

    /// Records a connector's status (0: the charger) and reports it when connected; offline,
    /// the next boot reports it.
    pub(crate) async fn report_status(&self, connector: u32, status: ChargePointStatus) {
        {
            let mut state = self.state();
            if connector == 0 {
                state.charger_status = status.clone();
            } else if let Some(c) = state.connector_mut(connector) {
                c.status = status.clone();
            }
        }
        let req = StatusNotificationRequest {
            connector_id: connector,
            error_code: ChargePointErrorCode::NoError,
            status,
            timestamp: Some(Utc::now()),
            ..Default::default()
        };
        let sent: Result<StatusNotificationResponse, _> =
            self.call("StatusNotification", &req).await;
        if let Err(e) = sent {
            tracing::debug!(charger = self.cfg.id, error = %e, "status not reported");
        }
    }

    /// Reports every connector whose state calls for another status than the last reported.
    pub(crate) async fn refresh_statuses(&self) {
        let changes: Vec<(u32, ChargePointStatus)> = {
            let state = self.state();
            let charger_due = if state.charger_available {
                ChargePointStatus::Available
            } else {
                ChargePointStatus::Unavailable
            };
            let charger = (charger_due != state.charger_status).then_some((0, charger_due));
            charger
                .into_iter()
                .chain(state.connectors.iter().filter_map(|c| {
                    let due = c.due_status();
                    (due != c.status).then_some((c.id, due))
                }))
                .collect()
        };
        for (connector, status) in changes {
            self.report_status(connector, status).await;
        }
    }

    /// Reports the status of connector 0 and every connector, as after a boot. `only` limits it
    /// to one connector (TriggerMessage).
    pub(crate) async fn report_all_statuses(&self, only: Option<u32>) {
        let statuses: Vec<(u32, ChargePointStatus)> = {
            let state = self.state();
            let charger = if state.charger_available {
                ChargePointStatus::Available
            } else {
                ChargePointStatus::Unavailable
            };
            std::iter::once((0, charger))
                .chain(state.connectors.iter().map(|c| (c.id, c.due_status())))
                .filter(|(id, _)| only.is_none_or(|o| o == *id))
                .collect()
        };
        for (connector, status) in statuses {
            self.report_status(connector, status).await;
        }
    }

    /// Takes the live connection down, keeping what it saw.
    pub(crate) async fn disconnect(&self) {
        let charger = self.link.lock().await.take();
        self.state().connected = false;
        self.archive_current();
        if let Some(charger) = charger {
            let _ = tokio::time::timeout(Duration::from_secs(2), charger.close()).await;
        }
    }

    fn archive_current(&self) {
        let Some(shared) = lock(&self.current).take() else {
            return;
        };
        let mut history = lock(&self.history);
        history
            .server_calls
            .extend(lock(&shared.server_calls).drain(..));
        history
            .violations
            .extend(lock(&shared.violations).drain(..));
        history.max_outstanding = history.max_outstanding.max(
            shared
                .max_outstanding
                .load(std::sync::atomic::Ordering::SeqCst),
        );
    }

    pub(crate) fn server_calls(&self) -> Vec<(String, Value)> {
        let mut calls = lock(&self.history).server_calls.clone();
        if let Some(shared) = lock(&self.current).as_ref() {
            calls.extend(lock(&shared.server_calls).iter().cloned());
        }
        calls
    }

    pub(crate) fn schema_violations(&self) -> Vec<(String, Vec<String>)> {
        let mut violations = lock(&self.history).violations.clone();
        if let Some(shared) = lock(&self.current).as_ref() {
            violations.extend(lock(&shared.violations).iter().cloned());
        }
        violations
    }

    pub(crate) fn max_outstanding_server_calls(&self) -> usize {
        let earlier = lock(&self.history).max_outstanding;
        let now = lock(&self.current).as_ref().map_or(0, |shared| {
            shared
                .max_outstanding
                .load(std::sync::atomic::Ordering::SeqCst)
        });
        earlier.max(now)
    }
}
