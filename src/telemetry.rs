//! Prometheus metrics at `GET /metrics` (text format), through the `metrics` facade and
//! `metrics-exporter-prometheus`. Counters and histograms are recorded where things happen (OCPP
//! messages in `ocpp::dispatch`, HTTP requests in [`track_http`], billing in `charging::settle`);
//! gauges that are cheaper to read than to keep (connected chargers, pool use, active sessions) are
//! read when scraped. Labels stay low-cardinality: actions, routes as templates, status codes;
//! never a charger or session id.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;
use crate::db::Db;

/// Latency buckets in seconds: OCPP replies and REST calls are milliseconds when healthy.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed once (tests start several servers in one process; they share
/// it, as several apps in one process would).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        match builder.install_recorder() {
            Ok(handle) => {
                describe();
                drain_histograms(handle.clone());
                handle
            }
            // Another recorder is installed (an embedding program's): ours still renders, empty.
            Err(e) => {
                tracing::warn!(error = %e, "a metrics recorder was already installed");
                PrometheusBuilder::new().build_recorder().handle()
            }
        }
    })
}

/// How often histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds the histograms' recorded samples into their buckets every [`UPKEEP_EVERY`], on a thread
/// of its own for the process's life (the recorder is the process's). Without it, samples pile up
/// until a scrape drains them: about 10 bytes each, three or four per OCPP message, so a server
/// nobody scraped grew by 2 MB a minute in a soak of 19,000 chargers.
fn drain_histograms(handle: PrometheusHandle) {
    let started = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                handle.run_upkeep();
            }
        });
    if let Err(e) = started {
        tracing::warn!(error = %e, "the metrics upkeep thread did not start; histograms drain only when scraped");
    }
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(
        "ocpp_connected_chargers",
        "Chargers with a live WebSocket to this node"
    );
    describe_counter!(
        "ocpp_messages_total",
        "OCPP frames received, by action and outcome (CALLRESULT or the CALLERROR code)"
    );
    describe_histogram!(
        "ocpp_message_duration_seconds",
        Unit::Seconds,
        "Time from a frame in to its reply out, by action"
    );
    describe_counter!(
        "ocpp_message_log_dropped_total",
        "Frames the message log could not keep (queue full or write failed)"
    );
    describe_counter!(
        "ocpp_grouped_reads_total",
        "Grouped reads run (one answers every request waiting), by read: charger_identities (handshakes), id_tag_holders (Authorize)"
    );
    describe_counter!(
        "ocpp_grouped_read_keys_total",
        "Requests answered by grouped reads, by read"
    );
    describe_counter!(
        "ocpp_connections_opened_total",
        "Charger WebSocket connections opened"
    );
    describe_counter!(
        "ocpp_connections_closed_total",
        "Charger WebSocket connections closed, by reason"
    );
    describe_counter!(
        "meter_samples_queued_total",
        "Meter samples handed to the batch writer"
    );
    describe_counter!(
        "meter_samples_written_total",
        "Meter samples committed in a whole batch"
    );
    describe_counter!(
        "meter_samples_refused_total",
        "Meter samples of batches the database could not take (their chargers got a CALLERROR)"
    );
    describe_histogram!(
        "meter_sample_batch_rows",
        "Samples per batch the writer commits"
    );
    describe_histogram!(
        "meter_sample_flush_seconds",
        Unit::Seconds,
        "Time to commit one batch of samples"
    );
    describe_gauge!("charging_sessions_active", "Sessions now Active");
    describe_gauge!(
        "sqlite_heap_bytes",
        "Bytes SQLite's connections hold on the heap (page caches, statements; SQLite only)"
    );
    describe_gauge!(
        "events_subscribers",
        "Subscribers of the live event stream (GET /api/cms/events) on this node"
    );
    describe_counter!(
        "events_resyncs_total",
        "resync events sent, by reason (lagged: the subscriber fell behind; resume: its Last-Event-ID was no longer kept)"
    );
    describe_counter!(
        "charging_energy_delivered_wh_total",
        "Energy of settled sessions, Wh"
    );
    describe_counter!(
        "charging_billed_minor_units_total",
        "Amount billed to wallets, in minor units (paise, cents)"
    );
    describe_counter!(
        "charging_sessions_settled_total",
        "Sessions settled, by who settled them"
    );
    describe_gauge!(
        "db_pool_connections",
        "Database pool connections, by state (idle, in_use)"
    );
    describe_counter!(
        "db_errors_total",
        "Database errors met while handling requests and messages, by door"
    );
    describe_counter!(
        "http_requests_total",
        "HTTP requests, by method, route template and status"
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency, by method and route template"
    );
}

/// Middleware: counts every HTTP request by method, route template and status, with its latency.
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    // The template (`/api/cms/stations/{station_id}`), never the path: ids would explode the labels.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: the gauges read now, then everything in the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> Response {
    metrics::gauge!("ocpp_connected_chargers").set(state.ocpp.registry.count() as f64);
    pool_gauges(&state.db);
    match crate::db::sessions::count_active(&state.db).await {
        Ok(active) => metrics::gauge!("charging_sessions_active").set(active as f64),
        Err(e) => tracing::warn!(error = %e, "metrics: could not count active sessions"),
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}

fn pool_gauges(db: &Db) {
    let (size, idle) = match db {
        Db::Sqlite { read, write, .. } => {
            metrics::gauge!("sqlite_heap_bytes").set(crate::db::sqlite_heap_bytes() as f64);
            (
                read.size() + write.size(),
                read.num_idle() + write.num_idle(),
            )
        }
        Db::Postgres(pool) => (pool.size(), pool.num_idle()),
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("db_pool_connections", "state" => "in_use")
        .set(f64::from(size.saturating_sub(idle)));
}
