// Chargers as they connected over OCPP (read-only): connection, registration, boot data and the
// charging point that adopted each (the live point whose device ID is the charge point ID), and
// each charger's OCPP message log in a dialog.
import { h, nextId, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { listView, rowActions } from '../components/list-view.js';
import { openModal } from '../components/modal.js';
import { dataTable, pagination } from '../components/table.js';
import * as api from '../services/api.js';

const YES_NO = [['true', 'Yes'], ['false', 'No']];
const REGISTRATION = [['Accepted', 'Accepted'], ['Pending', 'Pending'], ['Rejected', 'Rejected']];

function connection(c) {
  const since = c.connected ? c.connected_at : c.disconnected_at;
  return h(
    'div',
    {},
    badge(c.connected ? 'Connected' : 'Offline'),
    since ? h('div', { class: 'cell-sub nowrap' }, `since ${fmt.dateTime(since)}`) : null,
  );
}

function hardware(c) {
  const name = [c.vendor, c.model].filter(Boolean).join(' ');
  const serial = c.charge_point_serial_number || c.charge_box_serial_number;
  return h(
    'div',
    {},
    name || h('span', { class: 'muted' }, 'Not reported'),
    h('div', { class: 'cell-sub nowrap' }, [c.firmware_version ? `FW ${c.firmware_version}` : null, serial ? `SN ${serial}` : null].filter(Boolean).join(' · ') || '—'),
  );
}

function adoptedBy(c) {
  if (c.charging_point_id === null || c.charging_point_id === undefined) {
    return h('span', { class: 'muted' }, 'Not adopted');
  }
  return h(
    'div',
    {},
    h('a', { href: `#/points/${c.charging_point_id}` }, fmt.text(c.charging_point_name)),
    c.station_id ? h('div', { class: 'cell-sub' }, h('code', {}, c.station_id)) : null,
  );
}

export function list(ctx) {
  listView(ctx, {
    title: 'Chargers',
    intro: 'Chargers as they connected over OCPP. A charger is adopted by the charging point whose device ID is its charge point ID.',
    defaultSort: '-created_at',
    empty: 'No charger has connected yet.',
    fetch: api.listChargers,
    filters: [
      { name: 'search', label: 'Search', type: 'search', placeholder: 'ID, vendor, model or serial' },
      { name: 'connected', label: 'Connected', type: 'select', options: YES_NO },
      { name: 'registration_status', label: 'Registration', type: 'select', options: REGISTRATION },
      { name: 'adopted', label: 'Adopted', type: 'select', options: YES_NO },
    ],
    columns: () => [
      { key: 'charge_point_id', label: 'Charge point ID', sortable: true, render: (c) => h('a', { href: `#/chargers/${encodeURIComponent(c.charge_point_id)}`, 'aria-label': `Charger ${c.charge_point_id}` }, h('code', {}, c.charge_point_id)) },
      { key: 'connected', label: 'Connection', render: connection },
      {
        key: 'registration_status', label: 'Registration',
        render: (c) => h('div', {}, badge(c.registration_status, 'Not booted'), c.last_boot_at ? h('div', { class: 'cell-sub nowrap' }, `booted ${fmt.dateTime(c.last_boot_at)}`) : null),
      },
      {
        key: 'status', label: 'Status',
        render: (c) => h('div', {}, badge(c.status, 'No status yet'), c.error_code && c.error_code !== 'NoError' ? h('div', { class: 'cell-sub nowrap' }, c.error_code) : null),
      },
      { key: 'vendor', label: 'Vendor / model', render: hardware },
      { key: 'last_seen_at', label: 'Last seen', sortable: true, render: (c) => fmt.dateTime(c.last_seen_at) },
      { key: 'charging_point_id', label: 'Adopted by', render: adoptedBy },
      { key: 'created_at', label: 'First seen', sortable: true, render: (c) => fmt.date(c.created_at) },
      {
        key: 'actions', label: 'Actions', align: 'actions',
        render: (c) => rowActions(
          h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'aria-label': `Messages of ${c.charge_point_id}`, onclick: () => messagesDialog(c) }, 'Messages'),
        ),
      },
    ],
  });
}

// ---- a charger's OCPP message log ---------------------------------------------------------------

/** OCPP-J message type numbers. 0: a frame the server could not read. */
const MESSAGE_TYPES = { 2: 'CALL', 3: 'CALLRESULT', 4: 'CALLERROR', 0: 'Unreadable' };
/** A compact frame longer than this is shown on one line with a toggle to expand it. */
const LONG_PAYLOAD = 90;
// A log is read to the second (the shared format stops at minutes): the time, the date under it.
const timeFmt = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
const atTime = (value) => {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return fmt.text(value);
  return h('div', { title: d.toISOString() }, h('span', { class: 'nowrap' }, timeFmt.format(d)), h('div', { class: 'cell-sub nowrap' }, fmt.date(value)));
};

function direction(m) {
  const incoming = m.direction === 'in';
  return h(
    'span',
    { class: `msg-dir msg-dir-${incoming ? 'in' : 'out'} nowrap`, title: incoming ? 'Sent by the charger to evcms' : 'Sent by evcms to the charger' },
    incoming ? 'In ← charger' : 'Out → charger',
  );
}

function messageType(m) {
  const label = MESSAGE_TYPES[m.message_type] ?? String(m.message_type);
  const tone = m.message_type === 4 || m.message_type === 0 ? 'bad' : m.message_type === 3 ? 'ok' : 'info';
  return h('span', { class: `badge badge-${tone}` }, label);
}

/** The frame in a <pre>: pretty-printed, or on one line with an expand toggle when long. */
function payload(m) {
  let compact = String(m.payload ?? '');
  let pretty = compact;
  try {
    const value = JSON.parse(compact);
    compact = JSON.stringify(value);
    pretty = JSON.stringify(value, null, 2);
  } catch { /* not JSON (an unreadable frame): shown as it came */ }
  if (compact.length <= LONG_PAYLOAD) return h('pre', { class: 'msg-payload' }, compact);
  const id = nextId('payload');
  const pre = h('pre', { id, class: 'msg-payload is-collapsed', title: compact }, compact);
  const toggle = h('button', { type: 'button', class: 'btn btn-small btn-ghost msg-toggle', 'aria-expanded': 'false', 'aria-controls': id }, 'Expand');
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = open ? 'Collapse' : 'Expand';
    pre.classList.toggle('is-collapsed', !open);
    pre.textContent = open ? pretty : compact;
    pre.title = open ? '' : compact;
  });
  return h('div', { class: 'msg-payload-wrap' }, pre, toggle);
}

/** The charger's OCPP frames, in and out, page by page, newest first, in a dialog. */
export function messagesDialog(c) {
  const id = c.charge_point_id;
  const listId = nextId('msg-actions');
  const actionsSeen = new Set();
  const datalist = h('datalist', { id: listId });
  const actionInput = h('input', {
    id: nextId('msg-action'), name: 'action', type: 'search', list: listId, autocomplete: 'off', maxlength: 50,
    placeholder: 'e.g. BootNotification',
  });
  const clear = h('button', { type: 'button', class: 'btn btn-ghost' }, 'Clear filter');
  const bar = h(
    'form',
    { class: 'filter-bar msg-filter', role: 'search', 'aria-label': 'Filter the messages' },
    h('div', { class: 'filter filter-search' }, h('label', { for: actionInput.id }, 'Action'), actionInput, datalist),
    h('div', { class: 'filter filter-actions' }, clear),
  );
  const body = h('div', { class: 'results', 'aria-live': 'polite', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  const close = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Close');
  const modal = openModal({
    title: `OCPP messages · ${id}`,
    content: [
      h('p', { class: 'field-help' }, 'Every frame the charger sent and evcms answered or sent it, as on the wire (secrets masked). Heartbeats are not logged.'),
      bar,
      body,
    ],
    actions: [close],
  });
  modal.dialog.classList.add('modal-wide', 'modal-log');
  close.addEventListener('click', () => modal.close());

  const state = { page: 1, limit: 25, sort: '-at', action: '' };
  let seq = 0;
  async function load() {
    const mine = ++seq;
    body.setAttribute('aria-busy', 'true');
    try {
      const res = await api.listChargerMessages(id, { page: state.page, limit: state.limit, sort: state.sort, action: state.action });
      if (mine !== seq || !modal.dialog.open) return;
      for (const m of res.data) if (m.action) actionsSeen.add(m.action);
      replace(datalist, [...actionsSeen].sort().map((a) => h('option', { value: a })));
      const pg = res.pagination;
      replace(
        body,
        dataTable({
          caption: `OCPP messages of ${id}`,
          empty: state.action ? `No ${state.action} messages logged for this charger.` : 'No messages logged for this charger yet.',
          rows: res.data,
          rowKey: (m) => m.id,
          sort: state.sort,
          onSort: (sort) => { state.sort = sort; state.page = 1; load(); },
          columns: [
            { key: 'at', label: 'Time', sortable: true, render: (m) => atTime(m.at) },
            { key: 'direction', label: 'Direction', render: direction },
            { key: 'message_type', label: 'Type', render: messageType },
            { key: 'action', label: 'Action', render: (m) => fmt.text(m.action) },
            { key: 'message_id', label: 'Message ID', render: (m) => (m.message_id ? h('code', { class: 'msg-id' }, m.message_id) : '—') },
            { key: 'payload', label: 'Payload', render: payload },
          ],
        }),
        pagination({
          page: pg.page, limit: pg.limit, total: pg.total, pages: Math.max(1, pg.pages),
          onPage: (p) => { state.page = p; load(); },
          onLimit: (l) => { state.limit = l; state.page = 1; load(); },
        }),
      );
    } catch (err) {
      if (mine !== seq || !modal.dialog.open) return;
      replace(body, h('div', { class: 'banner banner-error', role: 'alert' }, h('strong', {}, 'Could not load the messages: '), err.message));
    } finally {
      if (mine === seq) body.setAttribute('aria-busy', 'false');
    }
  }

  let timer = null;
  const apply = () => {
    clearTimeout(timer);
    const action = actionInput.value.trim();
    if (action === state.action) return;
    state.action = action;
    state.page = 1;
    load();
  };
  actionInput.addEventListener('change', apply);
  actionInput.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(apply, 400); });
  bar.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  clear.addEventListener('click', () => { actionInput.value = ''; apply(); actionInput.focus(); });
  modal.dialog.addEventListener('close', () => clearTimeout(timer));
  load();
}
