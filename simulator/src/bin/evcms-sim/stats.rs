//! Counters and latency histograms shared by all load-test chargers. One lock per recorded
//! message is cheap next to a network round trip, and keeps the histogram exact.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use evcms_sim::SimError;
use hdrhistogram::Histogram;

pub struct Stats {
    pub connected: AtomicU64,
    pub failed: AtomicU64,
    pub disconnected: AtomicU64,
    pub messages: AtomicU64,
    /// Latencies since the last progress line, in microseconds.
    window: Mutex<Histogram<u64>>,
    /// Latencies of the whole run (the windows merged in).
    total: Mutex<Histogram<u64>>,
    errors: Mutex<BTreeMap<String, u64>>,
    boots: Mutex<BTreeMap<String, u64>>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs .. 10 min at 3 significant digits; the bounds are constants, so this cannot fail.
    Histogram::new_with_bounds(1, 600_000_000, 3).unwrap_or_else(|_| unreachable!())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A short name for an error, used to count errors by kind.
pub fn error_kind(e: &SimError) -> String {
    match e {
        SimError::CallError { code, .. } => format!("CALLERROR {code}"),
        SimError::SchemaViolation { action, .. } => format!("schema violation in {action}"),
        SimError::Handshake {
            status: Some(s), ..
        } => format!("handshake {s}"),
        SimError::Handshake {
            status: None,
            message,
        } => {
            format!("connect: {}", message.split(':').next().unwrap_or(message))
        }
        SimError::Timeout(what) => format!("timeout ({what})"),
        SimError::Closed { code, .. } => format!("closed ({code:?})"),
        SimError::Decode { action, .. } => format!("undecodable {action} reply"),
        SimError::Transport(_) => "transport".into(),
        SimError::Config(_) => "configuration".into(),
        SimError::Refused(_) => "refused".into(),
    }
}

/// Percentiles of one histogram, in milliseconds.
pub struct Latency {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        Latency {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        }
    }
}

impl Stats {
    pub fn new() -> Self {
        Stats {
            connected: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            disconnected: AtomicU64::new(0),
            messages: AtomicU64::new(0),
            window: Mutex::new(histogram()),
            total: Mutex::new(histogram()),
            errors: Mutex::new(BTreeMap::new()),
            boots: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn answered(&self, latency: Duration) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        lock(&self.window).saturating_record(micros.max(1));
    }

    pub fn error(&self, e: &SimError) {
        *lock(&self.errors).entry(error_kind(e)).or_default() += 1;
    }

    pub fn boot_status(&self, status: &str) {
        *lock(&self.boots).entry(status.to_string()).or_default() += 1;
    }

    /// Latency of the window since the last call; the window then starts afresh.
    pub fn take_window(&self) -> Latency {
        let window = std::mem::replace(&mut *lock(&self.window), histogram());
        let latency = Latency::of(&window);
        let _ = lock(&self.total).add(&window);
        latency
    }

    pub fn total(&self) -> Latency {
        Latency::of(&lock(&self.total))
    }

    pub fn errors(&self) -> BTreeMap<String, u64> {
        lock(&self.errors).clone()
    }

    pub fn boots(&self) -> BTreeMap<String, u64> {
        lock(&self.boots).clone()
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
