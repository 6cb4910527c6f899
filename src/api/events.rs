//! `GET /api/cms/events`: the live event stream as server-sent events (see `crate::events`).
//!
//! **Why the bearer header, and no ticket or cookie.** The admin UI reads the stream with
//! `fetch()` and a `ReadableStream`, not `EventSource`, so it sends `Authorization: Bearer` like
//! every other call. `EventSource` cannot send headers, which would leave a token in the URL
//! (URLs end up in access logs, proxies and browser history) or a cookie (which would need CSRF
//! care on every route that accepts it). A fetch stream needs neither, and the token is checked
//! again at each keep-alive, so a logout or a disabled account ends the stream.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Caller;
use crate::events::stream::{self, Recheck};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(event_stream))
}

/// The live event stream, as server-sent events (`text/event-stream`): what happens to chargers,
/// connectors, sessions, commands and reservations, as it happens, for the admin UI.
///
/// Send `Authorization: Bearer <token>` as on every call: read the stream with `fetch()` and a
/// `ReadableStream` (not `EventSource`, which cannot send the header), so no token goes in a
/// URL. Every role may subscribe. A user bound to an organization receives only the events of
/// chargers whose point's station belongs to it; one bound to none receives all (and alone the
/// events of chargers no point has adopted).
///
/// Each message is `id: <sequence number>`, `event: <name>`, `data: <one line of JSON>` and a blank
/// line; a `: keep-alive` comment comes every 15 s. The events and their data (schemas
/// `Event...`; every one has `at`, RFC 3339):
///
/// - `charger.connected`, `charger.disconnected`: `EventChargerConnection`
/// - `charger.booted`: `EventChargerBooted`
/// - `connector.status`: `EventConnectorStatus` (connector 0 is the charger itself)
/// - `session.started`: `EventSessionStarted`
/// - `session.updated`: `EventSessionUpdated`, at most one every 5 s per session
/// - `session.stopped`: `EventSessionStopped`, once settled and billed
/// - `command.answered`: `EventCommandAnswered`, any outcome
/// - `reservation.changed`: `EventReservationChanged`
/// - `resync`: `EventResync`, with no `id:`: the subscriber fell behind (`lagged`) or its
///   `Last-Event-ID` is no longer kept (`resume`); refetch the lists.
///
/// Reconnecting with the header `Last-Event-ID` (the last `id:` received) resumes: the events
/// since then come first, or `resync` when they are no longer all kept (the last 2,048, while
/// anyone listens).
#[utoipa::path(get, path = "/events", tag = "events",
    params(("Last-Event-ID" = Option<String>, Header, description = "The last `id:` received, to resume after it")),
    responses((status = 200, content_type = "text/event-stream", body = String,
        description = "Server-sent events: `id:`, `event:`, `data:` (one line of JSON) and a blank line each")))]
async fn event_stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let subscription = state.ocpp.events.subscribe(last_event_id);
    let scope = caller.scope().map(str::to_owned);
    let recheck: Recheck = Box::new(move || {
        let state = state.clone();
        let headers = headers.clone();
        Box::pin(async move {
            crate::auth::caller::authenticate(&state, &headers)
                .await
                .ok()
                .map(|caller| caller.scope().map(str::to_owned))
        })
    });
    let body = Body::from_stream(stream::events(subscription, scope, recheck));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            // nginx would otherwise hold the events back in its buffer.
            (
                header::HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            ),
        ],
        body,
    )
        .into_response()
}
