// Charging sessions (read-only) with filters, and each session's meter values in a dialog.
import { h, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { listView } from '../components/list-view.js';
import { openModal } from '../components/modal.js';
import { dataTable, pagination } from '../components/table.js';
import * as api from '../services/api.js';

const STATUSES = [['Active', 'Active'], ['Completed', 'Completed'], ['Cancelled', 'Cancelled']];

function duration(s) {
  if (!s.start_time) return '';
  const end = s.end_time ? new Date(s.end_time) : new Date();
  const mins = Math.max(0, Math.round((end - new Date(s.start_time)) / 60000));
  if (!Number.isFinite(mins)) return '';
  const text = mins >= 60 ? `${Math.floor(mins / 60)} h ${mins % 60} min` : `${mins} min`;
  return s.end_time ? text : `${text} so far`;
}

export function list(ctx) {
  listView(ctx, {
    title: 'Sessions',
    intro: 'Charging sessions reported by the chargers. Read-only.',
    defaultSort: '-start_time',
    empty: 'No charging sessions yet.',
    fetch: api.listSessions,
    filters: [
      { name: 'search', label: 'Search', type: 'search', placeholder: 'Session ID or ID tag' },
      { name: 'status', label: 'Status', type: 'select', options: STATUSES },
      { name: 'station_id', label: 'Station code', type: 'text' },
      { name: 'customer_id', label: 'Customer #', type: 'text', inputmode: 'numeric' },
      { name: 'charging_point_id', label: 'Point #', type: 'text', inputmode: 'numeric' },
      { name: 'start_from', label: 'Started from', type: 'date' },
      { name: 'start_to', label: 'Started to', type: 'date' },
    ],
    columns: () => [
      { key: 'session_id', label: 'Session', render: (s) => h('div', {}, h('code', {}, s.session_id), s.id_tag ? h('div', { class: 'cell-sub' }, `Tag ${s.id_tag}`) : null) },
      {
        key: 'customer_name', label: 'Customer',
        render: (s) => (s.customer_id ? h('a', { href: `#/customers/${s.customer_id}` }, fmt.text(s.customer_name)) : fmt.text(s.customer_name)),
      },
      { key: 'charging_point_name', label: 'Charging point', render: (s) => h('div', {}, fmt.text(s.charging_point_name), h('div', { class: 'cell-sub' }, `${fmt.text(s.station_id)} · connector ${fmt.text(s.connector_number)}`)) },
      { key: 'start_time', label: 'Started', sortable: true, render: (s) => h('div', {}, fmt.dateTime(s.start_time), h('div', { class: 'cell-sub' }, duration(s))) },
      { key: 'end_time', label: 'Ended', render: (s) => fmt.dateTime(s.end_time) },
      { key: 'energy_consumed', label: 'Energy', sortable: 'energy_wh', align: 'num', render: (s) => fmt.kwh(s.energy_consumed) },
      { key: 'billed_amount', label: 'Billed', sortable: true, align: 'num', render: (s) => fmt.money(s.billed_amount, s.currency) },
      {
        key: 'status', label: 'Status',
        // An anomaly (a lost Stop, a meter that went backwards...) is for an operator to look at.
        render: (s) => h('div', {}, badge(s.status), s.anomaly ? h('div', { class: 'cell-sub', title: s.anomaly }, `⚠ ${s.anomaly}`) : null),
      },
      {
        key: 'actions', label: 'Actions', align: 'actions',
        render: (s) => h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'aria-label': `Meter values of ${s.session_id}`, onclick: () => meterValues(s) }, 'Meter values'),
      },
    ],
  });
}

/** A value with its unit. */
function reading(m) {
  const value = fmt.decimal(m.value, 3);
  return m.unit ? `${value} ${m.unit}` : value;
}

/** The session's meter values, page by page, in a dialog. */
function meterValues(s) {
  const body = h('div', { class: 'results', 'aria-live': 'polite', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  const close = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Close');
  const modal = openModal({ title: `Meter values · ${s.session_id}`, content: body, actions: [close] });
  modal.dialog.classList.add('modal-wide');
  close.addEventListener('click', () => modal.close());
  const state = { page: 1, limit: 50 };
  let seq = 0;
  async function load(page) {
    state.page = page;
    const mine = ++seq;
    body.setAttribute('aria-busy', 'true');
    try {
      const res = await api.listMeterValues(s.session_id, { page: state.page, limit: state.limit });
      if (mine !== seq || !modal.dialog.open) return;
      const pg = res.pagination;
      replace(
        body,
        dataTable({
          caption: `Meter values of ${s.session_id}`,
          empty: 'The charger sent no meter values for this session.',
          rows: res.data,
          columns: [
            { key: 'sampled_at', label: 'Sampled', render: (m) => h('span', { class: 'nowrap' }, fmt.dateTime(m.sampled_at)) },
            { key: 'measurand', label: 'Measurand', render: (m) => h('div', {}, m.measurand, m.context ? h('div', { class: 'cell-sub' }, m.context) : null) },
            { key: 'phase', label: 'Phase', render: (m) => fmt.text(m.phase) },
            { key: 'location', label: 'Location', render: (m) => fmt.text(m.location) },
            { key: 'value', label: 'Value', align: 'num', render: reading },
            { key: 'connector_number', label: 'Connector', align: 'num', render: (m) => `${m.charge_point_id} #${m.connector_number}` },
          ],
        }),
        pg.total > state.limit
          ? pagination({ page: pg.page, limit: pg.limit, total: pg.total, pages: Math.max(1, pg.pages), onPage: (p) => load(p) })
          : null,
      );
    } catch (err) {
      if (mine !== seq) return;
      replace(body, h('div', { class: 'banner banner-error', role: 'alert' }, h('strong', {}, 'Could not load meter values: '), err.message));
    } finally {
      if (mine === seq) body.setAttribute('aria-busy', 'false');
    }
  }
  load(1);
}
