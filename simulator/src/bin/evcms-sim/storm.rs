//! Storm mode: what a CSMS meets when a whole network arrives at once (after a restart of the
//! CSMS, a network outage or a firmware push). No ramp: every charger starts in the same instant.
//!
//! Phases, each timed from its own start:
//! 1. **connect + setup**: the WebSocket handshake, BootNotification and, with `--setup full`,
//!    StatusNotification for connectors 0 and 1, Authorize and StartTransaction;
//! 2. **hold**: MeterValues every `--meter-interval` (in the transaction) for `--hold` after the
//!    last charger is set up;
//! 3. **reconnect + resume** (`--resume`): every charger drops its connection in the same instant
//!    and reconnects: BootNotification, StatusNotification Charging, MeterValues of its running
//!    transaction; then another hold;
//! 4. **stop storm** (`--stop`): every charger sends StopTransaction within `--stop-window`.
//!
//! A phase ends when every charger still in the run has finished it, or after `--phase-timeout`.
//! Calls wait up to 60 s for their answer, so that slow answers are measured rather than cut off
//! at the usual 10 s; the report counts those over 10 s (where a real charger would have given
//! up). A charger whose handshake or call fails leaves the run and is counted.

use std::collections::BTreeMap;
use std::future::Future;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use evcms_sim::ocpp::types::{
    AuthorizationStatus, ChargePointErrorCode, ChargePointStatus, Reason, RegistrationStatus,
};
use evcms_sim::{Charger, SimError};
use hdrhistogram::Histogram;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

use crate::args::{Cli, StormArgs};
use crate::load::{jitter, source_addr};
use crate::stats::error_kind;

/// Where a charger would give up on a call.
const CHARGER_PATIENCE: Duration = Duration::from_secs(10);
/// How long a call waits here before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Time for every task to be spawned before the common start.
const START_DELAY: Duration = Duration::from_millis(500);

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Phase {
    Setup,
    Hold,
    Resume,
    Stop,
}

impl Phase {
    const ALL: [Phase; 4] = [Phase::Setup, Phase::Hold, Phase::Resume, Phase::Stop];

    fn name(self) -> &'static str {
        match self {
            Phase::Setup => "connect + setup",
            Phase::Hold => "hold (MeterValues)",
            Phase::Resume => "reconnect + resume",
            Phase::Stop => "stop storm",
        }
    }
}

fn histogram() -> Histogram<u64> {
    // 1 µs .. 10 min at 3 significant digits; constant bounds, so this cannot fail.
    Histogram::new_with_bounds(1, 600_000_000, 3).unwrap_or_else(|_| unreachable!())
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// What one phase saw.
struct PhaseStats {
    calls: Histogram<u64>,
    by_action: BTreeMap<&'static str, Histogram<u64>>,
    /// Calls answered after more than [`CHARGER_PATIENCE`].
    impatient: u64,
    /// Per charger: from the phase's start to the charger's end of it.
    done_after: Histogram<u64>,
    failed: u64,
    errors: BTreeMap<String, u64>,
}

impl PhaseStats {
    fn new() -> Self {
        PhaseStats {
            calls: histogram(),
            by_action: BTreeMap::new(),
            impatient: 0,
            done_after: histogram(),
            failed: 0,
            errors: BTreeMap::new(),
        }
    }
}

/// Everything the run measured; one lock per phase.
struct Storm {
    phases: [Mutex<PhaseStats>; 4],
    handshakes: Mutex<Histogram<u64>>,
    handshakes_failed: AtomicU32,
    /// Per charger: from the common start to its BootNotification's answer.
    booted_after: Mutex<Histogram<u64>>,
    rejected_boots: AtomicU32,
    refused_starts: AtomicU32,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Storm {
    fn new() -> Self {
        Storm {
            phases: Phase::ALL.map(|_| Mutex::new(PhaseStats::new())),
            handshakes: Mutex::new(histogram()),
            handshakes_failed: AtomicU32::new(0),
            booted_after: Mutex::new(histogram()),
            rejected_boots: AtomicU32::new(0),
            refused_starts: AtomicU32::new(0),
        }
    }

    fn phase(&self, phase: Phase) -> std::sync::MutexGuard<'_, PhaseStats> {
        lock(&self.phases[phase as usize])
    }

    /// Runs one CALL of `phase`, recording its latency or its error.
    async fn call<T>(
        &self,
        phase: Phase,
        action: &'static str,
        call: impl Future<Output = Result<T, SimError>>,
    ) -> Result<T, SimError> {
        let began = Instant::now();
        let result = call.await;
        let took = began.elapsed();
        let mut stats = self.phase(phase);
        match &result {
            Ok(_) => {
                stats.calls.saturating_record(micros(took));
                stats
                    .by_action
                    .entry(action)
                    .or_insert_with(histogram)
                    .saturating_record(micros(took));
                if took > CHARGER_PATIENCE {
                    stats.impatient += 1;
                }
            }
            Err(e) => {
                *stats
                    .errors
                    .entry(format!("{action}: {}", error_kind(e)))
                    .or_default() += 1;
            }
        }
        result
    }

    fn done(&self, phase: Phase, started: Instant) {
        self.phase(phase)
            .done_after
            .saturating_record(micros(started.elapsed()));
    }

    fn failed(&self, phase: Phase) {
        self.phase(phase).failed += 1;
    }
}

/// The end of a phase: chargers arrive; once all still running have (or the phase timed out),
/// the gate opens with the instant the next phase starts.
struct Gate {
    arrived: AtomicU32,
    opens: watch::Sender<Option<Instant>>,
}

impl Gate {
    fn new() -> Self {
        Gate {
            arrived: AtomicU32::new(0),
            opens: watch::channel(None).0,
        }
    }
}

/// Shared by every charger task.
struct Run {
    args: StormArgs,
    cfg_of: Box<dyn Fn(u32) -> evcms_sim::ChargerConfig + Send + Sync>,
    storm: Storm,
    /// Chargers still in the run.
    alive: AtomicU32,
    /// One gate after each phase, in [`Phase`] order (the hold's gate opens the resume or the stop).
    gates: [Gate; 4],
    start: Instant,
}

pub async fn run(cli: &Cli, args: &StormArgs) -> ExitCode {
    if args.stop && args.setup != "full" {
        eprintln!("--stop needs --setup full: a Stop needs a transaction");
        return ExitCode::FAILURE;
    }
    let url = cli.url.clone();
    let profile = cli.profile.clone();
    let password = cli.password.clone();
    let strict = !cli.lenient;
    let prefix = args.id_prefix.clone();
    let cfg_of = Box::new(move |n: u32| {
        let mut cfg = evcms_sim::ChargerConfig::new(url.clone(), format!("{prefix}{n:05}"));
        cfg.profile = profile.clone();
        cfg.basic_auth_password = password.clone();
        cfg.strict = strict;
        cfg.call_timeout = CALL_TIMEOUT;
        cfg
    });
    let run = Arc::new(Run {
        args: args.clone(),
        cfg_of,
        storm: Storm::new(),
        alive: AtomicU32::new(args.chargers),
        gates: Phase::ALL.map(|_| Gate::new()),
        start: Instant::now() + START_DELAY,
    });
    println!(
        "storm: {} chargers on {} at once, setup {}, hold {:?}{}{}",
        args.chargers,
        cli.url,
        args.setup,
        args.hold,
        if args.resume { ", then reconnect" } else { "" },
        if args.stop {
            format!(", then all stop within {:?}", args.stop_window)
        } else {
            String::new()
        }
    );
    let coordinator = tokio::spawn(coordinate(run.clone()));
    let mut tasks = JoinSet::new();
    for k in 0..args.chargers {
        tasks.spawn(charger(run.clone(), args.first + k, k));
    }
    while tasks.join_next().await.is_some() {}
    coordinator.abort();
    report(&run)
}

/// Opens each gate once every charger still running has arrived at it, or its phase timed out.
async fn coordinate(run: Arc<Run>) {
    let mut phase_start = run.start;
    for (i, gate) in run.gates.iter().enumerate() {
        let phase = Phase::ALL[i];
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let all_there =
                gate.arrived.load(Ordering::Acquire) >= run.alive.load(Ordering::Acquire);
            if all_there || phase_start.elapsed() > run.args.phase_timeout + run.args.hold {
                break;
            }
        }
        let now = Instant::now();
        let next = match phase {
            // After the set-up and after the resume: hold before what comes next.
            Phase::Setup | Phase::Resume => now + run.args.hold,
            // The hold's gate is itself the start of what comes next.
            Phase::Hold | Phase::Stop => now,
        };
        println!(
            "[{:>5.1}s] {} over: {} chargers running",
            run.start.elapsed().as_secs_f64(),
            phase.name(),
            run.alive.load(Ordering::Acquire)
        );
        let _ = gate.opens.send(Some(next));
        phase_start = next;
    }
}

/// One charger's part of the storm.
async fn charger(run: Arc<Run>, n: u32, k: u32) {
    let meter_start: i64 = 1_000_000 + i64::from(n) * 1000;
    let mut session = Session {
        n,
        local: source_addr(k, run.args.source_ips),
        energy_wh: meter_start,
        transaction: None,
    };
    sleep_until(run.start).await;
    let outcome = drive(&run, &mut session).await;
    if let Err(phase) = outcome {
        run.storm.failed(phase);
        run.alive.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Session {
    n: u32,
    local: Option<std::net::IpAddr>,
    energy_wh: i64,
    transaction: Option<i32>,
}

/// The phases in order; a failure names the phase it ended the charger in.
async fn drive(run: &Run, s: &mut Session) -> Result<(), Phase> {
    let storm = &run.storm;
    let mut charger = connect(run, s, Phase::Setup).await?;
    let boot = storm
        .call(Phase::Setup, "BootNotification", charger.boot())
        .await
        .map_err(|_| Phase::Setup)?;
    lock(&storm.booted_after).saturating_record(micros(run.start.elapsed()));
    if boot.status != RegistrationStatus::Accepted {
        storm.rejected_boots.fetch_add(1, Ordering::Relaxed);
        return Err(Phase::Setup);
    }
    if run.args.setup == "full" {
        set_up(run, s, &mut charger).await?;
    }
    storm.done(Phase::Setup, run.start);
    let hold_until = arrive(run, Phase::Setup).await;
    hold(run, s, &mut charger, hold_until, Phase::Hold).await?;
    let after_hold = arrive(run, Phase::Hold).await;
    let mut next = opened_at(&after_hold);
    if run.args.resume {
        // The outage: the connection is gone without a goodbye, and the charger comes back.
        drop(charger);
        charger = connect(run, s, Phase::Resume).await?;
        resume(run, s, &mut charger).await?;
        storm.done(Phase::Resume, next);
        let hold_until = arrive(run, Phase::Resume).await;
        next = opened_at(&hold_until);
        hold(run, s, &mut charger, hold_until, Phase::Resume).await?;
    } else {
        let _ = arrive(run, Phase::Resume).await;
    }

    if run.args.stop
        && let Some(transaction) = s.transaction
    {
        let window = u64::try_from(run.args.stop_window.as_millis())
            .unwrap_or(1000)
            .max(1);
        let at = next + Duration::from_millis(rand::random_range(0..window));
        sleep_until(at).await;
        let meter_stop = i32::try_from(s.energy_wh).unwrap_or(i32::MAX);
        let tag = tag_of(run, s.n);
        storm
            .call(
                Phase::Stop,
                "StopTransaction",
                charger.stop_transaction(
                    transaction,
                    meter_stop,
                    Utc::now(),
                    Some(Reason::Local),
                    Some(&tag),
                ),
            )
            .await
            .map_err(|_| Phase::Stop)?;
        storm.done(Phase::Stop, next);
    }
    let _ = arrive(run, Phase::Stop).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), charger.close()).await;
    Ok(())
}

/// The instant an opened gate names.
fn opened_at(gate: &watch::Receiver<Option<Instant>>) -> Instant {
    gate.borrow().unwrap_or_else(Instant::now)
}

fn tag_of(run: &Run, n: u32) -> String {
    format!("{}TAG{n}", run.args.id_prefix)
}

async fn connect(run: &Run, s: &Session, phase: Phase) -> Result<Charger, Phase> {
    let began = Instant::now();
    let connecting = Charger::connect_from((run.cfg_of)(s.n), s.local);
    match tokio::time::timeout(run.args.handshake_timeout, connecting).await {
        Ok(Ok(charger)) => {
            lock(&run.storm.handshakes).saturating_record(micros(began.elapsed()));
            Ok(charger)
        }
        Ok(Err(e)) => {
            run.storm.handshakes_failed.fetch_add(1, Ordering::Relaxed);
            *run.storm
                .phase(phase)
                .errors
                .entry(format!("handshake: {}", error_kind(&e)))
                .or_default() += 1;
            Err(phase)
        }
        Err(_) => {
            run.storm.handshakes_failed.fetch_add(1, Ordering::Relaxed);
            *run.storm
                .phase(phase)
                .errors
                .entry("handshake: timed out".into())
                .or_default() += 1;
            Err(phase)
        }
    }
}

/// Connectors 0 and 1 report, the driver's tag is authorized, the transaction starts.
async fn set_up(run: &Run, s: &mut Session, charger: &mut Charger) -> Result<(), Phase> {
    let storm = &run.storm;
    let p = Phase::Setup;
    for (connector, state) in [
        (0, ChargePointStatus::Available),
        (1, ChargePointStatus::Preparing),
    ] {
        storm
            .call(
                p,
                "StatusNotification",
                charger.status(connector, state, ChargePointErrorCode::NoError),
            )
            .await
            .map_err(|_| p)?;
    }
    let tag = tag_of(run, s.n);
    storm
        .call(p, "Authorize", charger.authorize(&tag))
        .await
        .map_err(|_| p)?;
    let meter_start = i32::try_from(s.energy_wh).unwrap_or(i32::MAX);
    let start = storm
        .call(
            p,
            "StartTransaction",
            charger.start_transaction(1, &tag, meter_start, Utc::now()),
        )
        .await
        .map_err(|_| p)?;
    if start.id_tag_info.status == AuthorizationStatus::Accepted {
        s.transaction = Some(start.transaction_id);
    } else {
        storm.refused_starts.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Back after the outage: boot, say it is charging, and send the transaction's reading.
async fn resume(run: &Run, s: &mut Session, charger: &mut Charger) -> Result<(), Phase> {
    let storm = &run.storm;
    let p = Phase::Resume;
    storm
        .call(p, "BootNotification", charger.boot())
        .await
        .map_err(|_| p)?;
    let state = if s.transaction.is_some() {
        ChargePointStatus::Charging
    } else {
        ChargePointStatus::Available
    };
    storm
        .call(
            p,
            "StatusNotification",
            charger.status(1, state, ChargePointErrorCode::NoError),
        )
        .await
        .map_err(|_| p)?;
    meter_values(run, s, charger, p).await
}

/// MeterValues every interval until the gate's instant (unknown until every charger arrived).
async fn hold(
    run: &Run,
    s: &mut Session,
    charger: &mut Charger,
    mut until: watch::Receiver<Option<Instant>>,
    phase: Phase,
) -> Result<(), Phase> {
    let mut next_meter = Instant::now() + jitter(run.args.meter_interval);
    loop {
        let deadline = until
            .borrow()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        let next = next_meter.min(deadline);
        tokio::select! {
            () = sleep_until(next) => {}
            changed = until.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                continue;
            }
        }
        if Instant::now() >= deadline {
            return Ok(());
        }
        meter_values(run, s, charger, phase).await?;
        next_meter += run.args.meter_interval;
    }
}

async fn meter_values(
    run: &Run,
    s: &mut Session,
    charger: &mut Charger,
    phase: Phase,
) -> Result<(), Phase> {
    let power_w = charger.config().profile.power_kw * 1000;
    let step_wh = i64::from(power_w) * run.args.meter_interval.as_millis() as i64 / 3_600_000;
    s.energy_wh += step_wh;
    let sample = Charger::sample(Utc::now(), s.energy_wh, power_w);
    run.storm
        .call(
            phase,
            "MeterValues",
            charger.meter_values(1, s.transaction, vec![sample]),
        )
        .await
        .map(|_| ())
        .map_err(|_| phase)
}

/// Arrives at the end of `phase`; gives the gate, whose value is the instant the next part starts.
async fn arrive(run: &Run, phase: Phase) -> watch::Receiver<Option<Instant>> {
    let gate = &run.gates[phase as usize];
    gate.arrived.fetch_add(1, Ordering::AcqRel);
    let mut opens = gate.opens.subscribe();
    let _ = opens.wait_for(Option::is_some).await;
    opens
}

fn report(run: &Run) -> ExitCode {
    let storm = &run.storm;
    let handshakes = lock(&storm.handshakes);
    let booted = lock(&storm.booted_after);
    let failed_handshakes = storm.handshakes_failed.load(Ordering::Relaxed);
    println!("--- storm report ---");
    println!(
        "handshakes: {} ok, {failed_handshakes} failed; p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        handshakes.len(),
        ms(handshakes.value_at_quantile(0.5)),
        ms(handshakes.value_at_quantile(0.99)),
        ms(handshakes.max())
    );
    println!(
        "booted: {} of {} (not accepted: {}); all booted after {:.2} s (p50 {:.2} s, p99 {:.2} s)",
        booted.len(),
        run.args.chargers,
        storm.rejected_boots.load(Ordering::Relaxed),
        ms(booted.max()) / 1000.0,
        ms(booted.value_at_quantile(0.5)) / 1000.0,
        ms(booted.value_at_quantile(0.99)) / 1000.0,
    );
    let refused = storm.refused_starts.load(Ordering::Relaxed);
    if refused > 0 {
        println!("StartTransaction not accepted: {refused}");
    }
    println!(
        "{:<20} {:>7} {:>6} {:>10} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "phase",
        "done",
        "failed",
        "done p99 s",
        "all done s",
        "calls",
        "p50 ms",
        "p99 ms",
        "max ms",
        "> 10 s"
    );
    let mut trouble = failed_handshakes > 0;
    for phase in Phase::ALL {
        let stats = storm.phase(phase);
        if stats.calls.is_empty() && stats.failed == 0 && stats.errors.is_empty() {
            continue;
        }
        trouble |= stats.failed > 0 || !stats.errors.is_empty() || stats.impatient > 0;
        println!(
            "{:<20} {:>7} {:>6} {:>10.2} {:>10.2} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9}",
            phase.name(),
            stats.done_after.len(),
            stats.failed,
            ms(stats.done_after.value_at_quantile(0.99)) / 1000.0,
            ms(stats.done_after.max()) / 1000.0,
            stats.calls.len(),
            ms(stats.calls.value_at_quantile(0.5)),
            ms(stats.calls.value_at_quantile(0.99)),
            ms(stats.calls.max()),
            stats.impatient,
        );
        for (action, h) in &stats.by_action {
            println!(
                "  {:<18} {:>7} {:>6} {:>10} {:>10} {:>8} {:>9.1} {:>9.1} {:>9.1}",
                action,
                "",
                "",
                "",
                "",
                h.len(),
                ms(h.value_at_quantile(0.5)),
                ms(h.value_at_quantile(0.99)),
                ms(h.max()),
            );
        }
        for (error, count) in &stats.errors {
            println!("  error {count:>8}  {error}");
        }
    }
    if trouble {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
