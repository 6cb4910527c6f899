//! The connection's life cycle: connect, boot (retrying while Pending), report statuses, send
//! heartbeats, and reconnect after a drop, a reset or new firmware, or on request.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::answers;
use super::behaviour::{self, Next};
use super::core::{Control, Core};
use crate::answer::ServerCallEvent;
use crate::boot_request;
use crate::charger::Charger;
use crate::error::SimError;
use crate::ocpp::messages::boot_notification::BootNotificationResponse;
use crate::ocpp::messages::heart_beat::{HeartbeatRequest, HeartbeatResponse};
use crate::ocpp::types::RegistrationStatus;
use crate::router::lock;

type Events = mpsc::UnboundedReceiver<ServerCallEvent>;

const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Connects, installs the station's answers, boots and reports every status. Returns the
/// connection's stream of answered server CALLs.
pub(crate) async fn connect_and_boot(core: &Arc<Core>) -> Result<Events, SimError> {
    let mut charger = Charger::connect(core.cfg.clone()).await?;
    core.say(|| format!("connected to {}", core.cfg.endpoint()));
    // A weak reference: the answerer lives in the connection, which the core owns.
    let weak = Arc::downgrade(core);
    charger.set_answerer(move |action, payload| {
        let core = weak.upgrade()?;
        if let Some(custom) = &core.answerer
            && let Some(answer) = custom(action, payload)
        {
            return Some(answer);
        }
        Some(answers::answer(&core, action, payload))
    });
    let events = charger
        .server_call_events()
        .ok_or_else(|| SimError::Config("server call events already taken".into()))?;
    *lock(&core.current) = Some(charger.shared().clone());
    *core.link.lock().await = Some(charger);
    if let Err(e) = boot(core).await {
        core.disconnect().await;
        return Err(e);
    }
    core.report_all_statuses(None).await;
    {
        let mut state = core.state();
        state.connected = true;
        state.boots += 1;
    }
    Ok(events)
}

/// BootNotification until Accepted: Pending waits the interval the server gave and asks again,
/// Rejected gives up.
async fn boot(core: &Core) -> Result<(), SimError> {
    loop {
        let mut req = boot_request(&core.cfg.profile);
        req.firmware_version = Some(core.state().firmware_version.clone());
        let answer: BootNotificationResponse = core.call("BootNotification", &req).await?;
        let interval = u64::from(answer.interval);
        match answer.status {
            RegistrationStatus::Accepted => {
                if interval > 0 {
                    core.state().configuration.set_heartbeat_interval(interval);
                }
                return Ok(());
            }
            RegistrationStatus::Pending => {
                core.say(|| {
                    format!(
                        "the charger is awaiting adoption by an operator: register {:?} as a \
                         charging point's device_id; asking again in {} s",
                        core.cfg.id,
                        interval.max(1)
                    )
                });
                tokio::time::sleep(Duration::from_secs(interval.max(1))).await;
            }
            RegistrationStatus::Rejected => {
                return Err(SimError::Refused(
                    "the server rejected the BootNotification".into(),
                ));
            }
        }
    }
}

/// Heartbeats at the live HeartbeatInterval, for as long as the connection lasts.
async fn heartbeats(core: Arc<Core>) {
    let mut last = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let interval = core.state().configuration.heartbeat_interval();
        if interval.is_zero() || last.elapsed() < interval {
            continue;
        }
        last = Instant::now();
        let sent: Result<HeartbeatResponse, _> = core.call("Heartbeat", &HeartbeatRequest {}).await;
        if let Err(SimError::Closed { .. }) = sent {
            return;
        }
    }
}

/// Why a connection's service ended.
enum End {
    Lost,
    Reboot,
    Offline(tokio::sync::oneshot::Sender<()>),
    Shutdown(tokio::sync::oneshot::Sender<()>),
}

/// Owns the connection from the first boot to shutdown.
pub(crate) async fn supervise(
    core: Arc<Core>,
    mut control: mpsc::UnboundedReceiver<Control>,
    mut events: Events,
) {
    loop {
        let heartbeat = core.spawn(heartbeats(core.clone()));
        let end = serve(&core, &mut events, &mut control).await;
        heartbeat.abort();
        core.disconnect().await;
        let next = match end {
            End::Shutdown(done) => {
                core.say(|| "closed".into());
                let _ = done.send(());
                return;
            }
            End::Offline(done) => {
                core.say(|| "offline".into());
                let _ = done.send(());
                wait_until_online(&core, &mut control).await
            }
            End::Reboot => {
                core.say(|| "rebooting".into());
                reconnect(&core, &mut control).await
            }
            End::Lost if core.reconnect => {
                core.say(|| "connection lost; reconnecting".into());
                reconnect(&core, &mut control).await
            }
            End::Lost => {
                core.say(|| "connection lost".into());
                wait_until_online(&core, &mut control).await
            }
        };
        match next {
            Some(fresh) => events = fresh,
            None => return,
        }
    }
}

/// Acts on each answered server CALL in order, until the connection ends or a request ends it.
async fn serve(
    core: &Arc<Core>,
    events: &mut Events,
    control: &mut mpsc::UnboundedReceiver<Control>,
) -> End {
    loop {
        tokio::select! {
            event = events.recv() => match event {
                None => return End::Lost,
                Some(event) => {
                    if let Next::Reboot = behaviour::follow_up(core, event).await {
                        return End::Reboot;
                    }
                }
            },
            request = control.recv() => match request {
                Some(Control::Reboot) => return End::Reboot,
                Some(Control::GoOffline(done)) => return End::Offline(done),
                Some(Control::GoOnline(done)) => {
                    let _ = done.send(Ok(()));
                }
                Some(Control::Shutdown(done)) => return End::Shutdown(done),
                None => {
                    let (done, _) = tokio::sync::oneshot::channel();
                    return End::Shutdown(done);
                }
            },
        }
    }
}

/// Reconnects with a growing pause between attempts; `None` when asked to shut down.
async fn reconnect(
    core: &Arc<Core>,
    control: &mut mpsc::UnboundedReceiver<Control>,
) -> Option<Events> {
    let mut backoff = Duration::ZERO;
    let mut waiting_online = Vec::new();
    loop {
        let pause = tokio::time::sleep(backoff);
        tokio::pin!(pause);
        // Requests keep being served during the pause.
        loop {
            tokio::select! {
                () = &mut pause => break,
                request = control.recv() => match request {
                    Some(Control::Reboot) => {}
                    Some(Control::GoOnline(done)) => waiting_online.push(done),
                    Some(Control::GoOffline(done)) => {
                        let _ = done.send(());
                        return wait_until_online(core, control).await;
                    }
                    Some(Control::Shutdown(done)) => {
                        let _ = done.send(());
                        return None;
                    }
                    None => return None,
                },
            }
        }
        match connect_and_boot(core).await {
            Ok(events) => {
                for done in waiting_online {
                    let _ = done.send(Ok(()));
                }
                return Some(events);
            }
            Err(e) => {
                backoff = (backoff * 2).clamp(FIRST_BACKOFF, MAX_BACKOFF);
                core.say(|| format!("reconnect failed: {e}; next attempt in {backoff:?}"));
            }
        }
    }
}

/// Offline until `go_online` (no automatic reconnection); `None` when asked to shut down.
async fn wait_until_online(
    core: &Arc<Core>,
    control: &mut mpsc::UnboundedReceiver<Control>,
) -> Option<Events> {
    loop {
        match control.recv().await? {
            Control::GoOnline(done) => match connect_and_boot(core).await {
                Ok(events) => {
                    let _ = done.send(Ok(()));
                    return Some(events);
                }
                Err(e) => {
                    let _ = done.send(Err(e));
                }
            },
            Control::GoOffline(done) => {
                let _ = done.send(());
            }
            Control::Reboot => {}
            Control::Shutdown(done) => {
                let _ = done.send(());
                return None;
            }
        }
    }
}
