// Charging sessions (read-only) with filters.
import { h } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { listView } from '../components/list-view.js';
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
      { key: 'status', label: 'Status', render: (s) => badge(s.status) },
    ],
  });
}
