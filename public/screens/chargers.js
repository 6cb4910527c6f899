// Chargers as they connected over OCPP (read-only): connection, registration, boot data and the
// charging point that adopted each (the live point whose device ID is the charge point ID).
import { h } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { listView } from '../components/list-view.js';
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
    h('a', { href: `#/points/${c.charging_point_id}/edit` }, fmt.text(c.charging_point_name)),
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
      { key: 'charge_point_id', label: 'Charge point ID', sortable: true, render: (c) => h('code', {}, c.charge_point_id) },
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
    ],
  });
}
