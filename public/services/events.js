// The live event stream, GET /api/cms/events (server-sent events), read with fetch() so that the
// bearer token travels in a header and never in a URL. One connection per page, shared by every
// screen: a screen subscribes with `onEvent(type | '*', handler)` and unsubscribes when it goes.
// The stream reconnects with backoff and sends `Last-Event-ID`; a `resync` event (the server could
// not resume, or this client lagged) tells screens to refetch what they show.
import { API_BASE, getToken } from './api.js';

/** How often a screen refetches when the server has no event stream. */
const POLL_MS = 5000;
const listeners = new Map(); // type → Set<handler>
const stateListeners = new Set();
let controller = null;
let lastEventId = null;
let retryMs = 1000;
let retryTimer = null;
let state = 'idle'; // idle | connecting | open | retrying | unavailable

function setState(next) {
  if (state === next) return;
  state = next;
  for (const fn of stateListeners) fn(state);
}

function dispatch(type, data, id) {
  for (const key of [type, '*']) {
    for (const fn of listeners.get(key) || []) {
      try { fn(data, { type, id }); } catch (err) { console.error(err); }
    }
  }
}

/** Parses one SSE block ("id:", "event:", "data:" lines) and dispatches it. */
function handleBlock(block) {
  let type = 'message';
  let id = null;
  const data = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
  }
  if (id !== null) lastEventId = id;
  if (!data.length && type === 'message') return;
  let payload = null;
  try { payload = data.length ? JSON.parse(data.join('\n')) : null; } catch { payload = data.join('\n'); }
  dispatch(type, payload, id);
}

async function run() {
  const token = getToken();
  if (!token) { setState('idle'); return; }
  controller = new AbortController();
  setState('connecting');
  const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${token}` };
  if (lastEventId !== null) headers['Last-Event-ID'] = lastEventId;
  let reconnect = true;
  try {
    const res = await fetch(`${API_BASE}/events`, { headers, signal: controller.signal, cache: 'no-store' });
    if (res.status === 404) {
      // A server without the stream: screens keep their own refresh.
      setState('unavailable');
      reconnect = false;
      return;
    }
    if (res.status === 401 || res.status === 403) { reconnect = false; setState('idle'); return; }
    if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
    setState('open');
    retryMs = 1000;
    // Whatever happened while we were away is not known here: refetch.
    dispatch('connected', null, null);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        handleBlock(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
      }
    }
  } catch (err) {
    if (err && err.name === 'AbortError') reconnect = false;
  } finally {
    controller = null;
  }
  if (reconnect && getToken()) {
    setState('retrying');
    const wait = retryMs;
    retryMs = Math.min(retryMs * 2, 30000);
    retryTimer = setTimeout(() => { retryTimer = null; run(); }, wait + Math.random() * 250);
  }
}

/** Opens the stream if it is not open (idempotent). */
export function start() {
  if (controller || retryTimer || state === 'unavailable') return;
  run();
}

/** Closes the stream (on logout). */
export function stop() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (controller) controller.abort();
  controller = null;
  lastEventId = null;
  setState('idle');
}

/** Subscribes `handler(data, {type, id})` to events of `type` ('*' for all); returns the unsubscribe function. */
export function onEvent(type, handler) {
  if (!listeners.has(type)) listeners.set(type, new Set());
  listeners.get(type).add(handler);
  start();
  return () => listeners.get(type).delete(handler);
}

/** `fn(state)` on each change of the connection state; returns the unsubscribe function. */
export function onState(fn) {
  stateListeners.add(fn);
  fn(state);
  return () => stateListeners.delete(fn);
}

export const streamState = () => state;

/**
 * For a screen: subscribes to several event types while `ctx.isCurrent()`; handlers stop once the
 * screen is left (checked on each event, and all unsubscribed at the first stale event).
 * `onResync` runs on `resync` and on every (re)connection.
 */
export function live(ctx, handlers, onResync) {
  const offs = [];
  const guard = (fn) => (data, meta) => {
    if (!ctx.isCurrent()) { for (const off of offs) off(); return; }
    fn(data, meta);
  };
  for (const [type, fn] of Object.entries(handlers)) offs.push(onEvent(type, guard(fn)));
  if (onResync) {
    offs.push(onEvent('resync', guard(() => onResync())));
    let first = true;
    // The first connection is the screen's own load; later ones may have missed events.
    offs.push(onEvent('connected', guard(() => { if (first) { first = false; return; } onResync(); })));
    if (state === 'open') first = false;
    // A server without the stream: the screen refetches every few seconds instead.
    const poll = setInterval(() => {
      if (!ctx.isCurrent()) { clearInterval(poll); for (const off of offs) off(); return; }
      if (state === 'unavailable' && document.visibilityState !== 'hidden') onResync();
    }, POLL_MS);
    offs.push(() => clearInterval(poll));
  }
  return () => { for (const off of offs) off(); };
}
