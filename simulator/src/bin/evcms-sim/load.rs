//! Load mode: N chargers, one task each, ramped up at a fixed rate; each boots, reports its
//! status, then sends MeterValues every interval (with a random phase so they don't fire all at
//! once) and Heartbeats, optionally inside a transaction. Progress every 5 s, a report at the end.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use evcms_sim::ocpp::types::{
    AuthorizationStatus, ChargePointErrorCode, ChargePointStatus, Reason, RegistrationStatus,
};
use evcms_sim::{Charger, ChargerConfig, SimError};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

use crate::args::{Cli, LoadArgs};
use crate::stats::Stats;

/// The open-files limit here is 20,000 per process; leave room for everything else.
const MAX_CONNECTIONS_PER_PROCESS: u32 = 19_000;
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

pub async fn run(cli: &Cli, args: &LoadArgs) -> ExitCode {
    if args.chargers > MAX_CONNECTIONS_PER_PROCESS {
        eprintln!(
            "warning: {} chargers exceed what one process can hold (open-files limit 20,000); \
             expect connection failures beyond about {MAX_CONNECTIONS_PER_PROCESS}, or run \
             several processes with different --id-prefix",
            args.chargers
        );
    }
    let stats = Arc::new(Stats::new());
    let began = Instant::now();
    let ramp = Duration::from_secs_f64(f64::from(args.chargers) / f64::from(args.ramp));
    let end = began + ramp + args.duration;
    println!(
        "load: {} chargers on {} at {}/s, meter values every {:?}, running {:?} after ramp-up",
        args.chargers, cli.url, args.ramp, args.meter_interval, args.duration
    );

    let monitor = tokio::spawn(progress(stats.clone(), began, end));
    let mut tasks = JoinSet::new();
    for n in 0..args.chargers {
        let number = args.first + n;
        let id = format!("{}{number:05}", args.id_prefix);
        let plan = Plan {
            n: number,
            cfg: cli.charger_config(&id),
            start_at: began + Duration::from_secs_f64(f64::from(n) / f64::from(args.ramp)),
            end,
            meter_interval: args.meter_interval,
            heartbeat_interval: args.heartbeat_interval,
            session_tag: args
                .sessions
                .then(|| format!("{}TAG{number}", args.id_prefix)),
            local_addr: source_addr(n, args.source_ips),
        };
        tasks.spawn(charger(plan, stats.clone()));
    }
    while tasks.join_next().await.is_some() {}
    monitor.abort();
    report(&stats, began.elapsed())
}

/// 127.0.0.1, .2, ... round robin, when asked for more than one source address.
pub(crate) fn source_addr(n: u32, count: u8) -> Option<IpAddr> {
    (count > 1).then(|| {
        let host = (n % u32::from(count)) as u8 + 1;
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, host))
    })
}

/// What one simulated charger does during the run.
struct Plan {
    /// Its number: the digits of its id, and where its meter reading starts.
    n: u32,
    cfg: ChargerConfig,
    start_at: Instant,
    end: Instant,
    meter_interval: Duration,
    heartbeat_interval: Duration,
    session_tag: Option<String>,
    local_addr: Option<IpAddr>,
}

/// Runs one CALL, recording its latency or its error.
macro_rules! timed {
    ($stats:expr, $call:expr) => {{
        let t = Instant::now();
        let result = $call.await;
        match &result {
            Ok(_) => $stats.answered(t.elapsed()),
            Err(e) => $stats.error(e),
        }
        result
    }};
}

async fn charger(plan: Plan, stats: Arc<Stats>) {
    sleep_until(plan.start_at).await;
    let power_w = plan.cfg.profile.power_kw * 1000;
    let mut charger = match Charger::connect_from(plan.cfg.clone(), plan.local_addr).await {
        Ok(c) => {
            stats.connected.fetch_add(1, Ordering::Relaxed);
            c
        }
        Err(e) => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            stats.error(&e);
            return;
        }
    };
    if let Err(e) = drive(&mut charger, &plan, power_w, &stats).await {
        if matches!(e, SimError::Closed { .. }) {
            stats.disconnected.fetch_add(1, Ordering::Relaxed);
        }
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), charger.close()).await;
}

async fn drive(
    charger: &mut Charger,
    plan: &Plan,
    power_w: u32,
    stats: &Stats,
) -> Result<(), SimError> {
    let boot = timed!(stats, charger.boot())?;
    stats.boot_status(&format!("{:?}", boot.status));
    if boot.status != RegistrationStatus::Accepted {
        // A charger that is not accepted must not send anything else: stay connected, idle.
        let _ = charger
            .is_closed(plan.end.saturating_duration_since(Instant::now()))
            .await;
        return Ok(());
    }
    timed!(
        stats,
        charger.status(
            1,
            ChargePointStatus::Available,
            ChargePointErrorCode::NoError
        )
    )?;

    let mut energy_wh: i64 = 1_000_000 + i64::from(plan.n) * 1000;
    let mut transaction = None;
    if let Some(tag) = plan.session_tag.as_deref() {
        let start = timed!(
            stats,
            charger.start_transaction(1, tag, energy_wh as i32, Utc::now())
        );
        if let Ok(start) = start
            && start.id_tag_info.status == AuthorizationStatus::Accepted
        {
            transaction = Some(start.transaction_id);
        }
    }
    let meter_start = energy_wh;

    let now = Instant::now();
    let mut next_meter = now + jitter(plan.meter_interval);
    let mut next_heartbeat = now + jitter(plan.heartbeat_interval);
    // Energy per meter interval at full power, in Wh.
    let step_wh = i64::from(power_w) * plan.meter_interval.as_millis() as i64 / 3_600_000;
    loop {
        let next = next_meter.min(next_heartbeat);
        if next >= plan.end {
            break;
        }
        sleep_until(next).await;
        if next_meter <= next {
            energy_wh += step_wh;
            let sample = Charger::sample(Utc::now(), energy_wh, power_w);
            let result = timed!(stats, charger.meter_values(1, transaction, vec![sample]));
            stop_if_closed(result)?;
            next_meter += plan.meter_interval;
        }
        if next_heartbeat <= next {
            stop_if_closed(timed!(stats, charger.heartbeat()))?;
            next_heartbeat += plan.heartbeat_interval;
        }
    }
    // The transaction ends after this charger's last sample (chargers' phases differ, so their
    // Stops spread over the last interval as they would in the field, not all at one instant).
    if let Some(tx) = transaction {
        let meter_stop = i32::try_from(energy_wh.max(meter_start)).unwrap_or(i32::MAX);
        let stop = charger.stop_transaction(
            tx,
            meter_stop,
            Utc::now(),
            Some(Reason::Local),
            plan.session_tag.as_deref(),
        );
        timed!(stats, stop)?;
    }
    // Stay connected until the run ends, so the whole fleet is up together to the last second.
    sleep_until(plan.end).await;
    Ok(())
}

/// Errors of one message are counted and the charger carries on, unless the connection is gone.
fn stop_if_closed<T>(result: Result<T, SimError>) -> Result<(), SimError> {
    match result {
        Err(e @ SimError::Closed { .. }) => Err(e),
        _ => Ok(()),
    }
}

/// A random phase within one interval, so chargers started together spread their messages.
pub(crate) fn jitter(interval: Duration) -> Duration {
    let millis = u64::try_from(interval.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    Duration::from_millis(rand::random_range(0..millis))
}

async fn progress(stats: Arc<Stats>, began: Instant, end: Instant) {
    let mut ticker = tokio::time::interval_at(began + PROGRESS_EVERY, PROGRESS_EVERY);
    let mut last_messages = 0;
    loop {
        ticker.tick().await;
        let messages = Stats::get(&stats.messages);
        let window = stats.take_window();
        println!(
            "[{:>4}s] connected {} failed {} disconnected {} | {:.0} msg/s | p50 {:.1} ms p95 {:.1} ms p99 {:.1} ms",
            began.elapsed().as_secs(),
            Stats::get(&stats.connected),
            Stats::get(&stats.failed),
            Stats::get(&stats.disconnected),
            (messages - last_messages) as f64 / PROGRESS_EVERY.as_secs_f64(),
            window.p50,
            window.p95,
            window.p99,
        );
        last_messages = messages;
        if Instant::now() >= end + PROGRESS_EVERY {
            break;
        }
    }
}

fn report(stats: &Stats, elapsed: Duration) -> ExitCode {
    stats.take_window();
    let total = stats.total();
    let messages = Stats::get(&stats.messages);
    let failed = Stats::get(&stats.failed);
    println!("--- load report ---");
    println!(
        "connections: {} ok, {failed} failed, {} dropped by the server",
        Stats::get(&stats.connected),
        Stats::get(&stats.disconnected)
    );
    println!("boot answers: {:?}", stats.boots());
    println!(
        "messages: {messages} answered in {:.1} s = {:.0} msg/s",
        elapsed.as_secs_f64(),
        messages as f64 / elapsed.as_secs_f64().max(0.001)
    );
    println!(
        "latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
        total.p50, total.p90, total.p99, total.max, total.count
    );
    let errors = stats.errors();
    if errors.is_empty() {
        println!("errors: none");
    } else {
        println!("errors:");
        for (kind, count) in &errors {
            println!("  {count:>8}  {kind}");
        }
    }
    if failed > 0 || !errors.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
