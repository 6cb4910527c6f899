// Charging stations: list with filters, create/edit form, delete (409 while it has points).
import { h, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { listView, rowActions } from '../components/list-view.js';
import { resourceForm } from '../components/resource-form.js';
import * as api from '../services/api.js';

const STATUSES = [['Active', 'Active'], ['Inactive', 'Inactive'], ['Maintenance', 'Maintenance']];
const GRID_PHASES = [['Single Phase', 'Single Phase'], ['Three Phase', 'Three Phase']];
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'].map((d) => [d, d[0].toUpperCase() + d.slice(1)]);
const enc = encodeURIComponent;

function place(s) {
  return [s.city, s.state, s.country].filter(Boolean).join(', ') || '—';
}

function hours(s) {
  if (!s.opening_time && !s.closing_time) return '—';
  return `${fmt.timeHM(s.opening_time) || '?'}–${fmt.timeHM(s.closing_time) || '?'}`;
}

/** The organizations from the API as [code, name] options; null when they cannot be loaded. */
async function organizationOptions() {
  try {
    const orgs = await api.listOrganizations();
    fmt.rememberOrganizations(orgs);
    return orgs.map((o) => [o.code, o.name]);
  } catch (err) {
    console.warn('could not load organizations:', err.message);
    return null;
  }
}

export async function list(ctx) {
  replace(ctx.main, h('p', { class: 'loading' }, 'Loading…'));
  const orgs = await organizationOptions();
  if (!ctx.isCurrent()) return;
  listView(ctx, {
    title: 'Stations',
    intro: 'Charging sites with their address, opening hours and contacts.',
    newHref: '#/stations/new',
    newLabel: 'New station',
    defaultSort: '-created_at',
    empty: 'No stations yet.',
    fetch: api.listStations,
    filters: [
      { name: 'search', label: 'Search', type: 'search', placeholder: 'Name, code, address' },
      { name: 'status', label: 'Status', type: 'select', options: STATUSES },
      orgs
        ? { name: 'organization', label: 'Organization', type: 'select', options: orgs }
        : { name: 'organization', label: 'Organization code', type: 'text' },
      { name: 'grid_phase', label: 'Grid phase', type: 'select', options: GRID_PHASES },
      { name: 'city', label: 'City', type: 'text' },
      { name: 'state', label: 'State', type: 'text' },
      { name: 'country', label: 'Country', type: 'text' },
      { name: 'created_from', label: 'Created from', type: 'date' },
      { name: 'created_to', label: 'Created to', type: 'date' },
    ],
    columns: ({ deleteButton }) => [
      { key: 'station_id', label: 'Code', sortable: true, render: (s) => h('code', {}, s.station_id) },
      {
        key: 'station_name', label: 'Name', sortable: true,
        render: (s) => h('div', {}, h('a', { href: `#/stations/${enc(s.station_id)}/edit` }, s.station_name), h('div', { class: 'cell-sub' }, fmt.organization(s.organization))),
      },
      { key: 'city', label: 'Location', sortable: true, render: place },
      { key: 'status', label: 'Status', render: (s) => badge(s.status) },
      { key: 'grid_phase', label: 'Grid', render: (s) => fmt.text(s.grid_phase) },
      { key: 'hours', label: 'Hours', render: (s) => h('div', {}, hours(s), h('div', { class: 'cell-sub' }, fmt.workingDays(s.working_days))) },
      { key: 'contact', label: 'Contact', render: (s) => h('div', {}, fmt.text(s.contact_person), s.contact_number ? h('div', { class: 'cell-sub' }, s.contact_number) : null) },
      { key: 'created_at', label: 'Created', sortable: true, render: (s) => fmt.date(s.created_at) },
      {
        key: 'actions', label: 'Actions', align: 'actions',
        render: (s) => rowActions(
          h('a', { class: 'btn btn-small btn-ghost', href: `#/points?station_id=${enc(s.station_id)}`, 'aria-label': `Charging points of ${s.station_name}` }, 'Points'),
          h('a', { class: 'btn btn-small btn-secondary', href: `#/stations/${enc(s.station_id)}/edit`, 'aria-label': `Edit ${s.station_name}` }, 'Edit'),
          deleteButton({ label: s.station_name, what: 'station', remove: () => api.removeStation(s.station_id) }),
        ),
      },
    ],
  });
}

export function form(ctx) {
  const id = ctx.params.id;
  const isEdit = id !== undefined;
  return resourceForm(ctx, {
    title: isEdit ? `Edit station ${id}` : 'New station',
    backHref: '#/stations',
    isEdit,
    load: () => api.getStation(id),
    prepare: async () => ({ orgs: await organizationOptions() }),
    defaults: { status: 'Active', country: 'India', grid_phase: 'Three Phase', working_days: DAYS.map(([d]) => d) },
    toValues: (s) => ({ ...s, opening_time: fmt.timeHM(s.opening_time), closing_time: fmt.timeHM(s.closing_time) }),
    sections: (station, { orgs }) => [
      {
        legend: 'Station',
        fields: [
          { name: 'station_id', label: 'Station code', required: !isEdit, readonly: isEdit, maxlength: 255, placeholder: 'e.g. ST-BLR-001', help: isEdit ? 'The code cannot be changed.' : 'Cannot be changed later.' },
          { name: 'station_name', label: 'Name', required: true, maxlength: 255 },
          orgs
            ? { name: 'organization', label: 'Organization', type: 'select', required: true, options: orgs }
            : { name: 'organization', label: 'Organization code', required: true, maxlength: 255, help: 'The organization list could not be loaded; type the code.' },
          { name: 'status', label: 'Status', type: 'select', required: true, options: STATUSES },
          { name: 'grid_phase', label: 'Grid phase', type: 'select', required: true, options: GRID_PHASES },
        ],
      },
      {
        legend: 'Location',
        fields: [
          { name: 'address', label: 'Address', type: 'textarea', full: true, rows: 2 },
          { name: 'city', label: 'City', maxlength: 100 },
          { name: 'state', label: 'State', maxlength: 100 },
          { name: 'country', label: 'Country', required: true, maxlength: 100 },
          { name: 'pincode', label: 'Pincode', maxlength: 20, inputmode: 'numeric' },
          { name: 'latitude', label: 'Latitude', type: 'number', step: 'any', min: -90, max: 90, inputmode: 'decimal', help: 'Give both latitude and longitude, or neither.' },
          { name: 'longitude', label: 'Longitude', type: 'number', step: 'any', min: -180, max: 180, inputmode: 'decimal' },
        ],
      },
      {
        legend: 'Opening hours',
        fields: [
          { name: 'working_days', label: 'Working days', type: 'checkboxes', options: DAYS, full: true },
          { name: 'opening_time', label: 'Opens at', type: 'time' },
          { name: 'closing_time', label: 'Closes at', type: 'time' },
        ],
      },
      {
        legend: 'Contact',
        fields: [
          { name: 'contact_person', label: 'Contact person', maxlength: 255, autocomplete: 'name' },
          { name: 'contact_number', label: 'Contact number', type: 'tel', maxlength: 20, autocomplete: 'tel' },
          { name: 'email', label: 'Email', type: 'email', maxlength: 255, autocomplete: 'email' },
        ],
      },
    ],
    save: (body) => (isEdit ? api.updateStation(id, body) : api.createStation(body)),
    saved: (s) => `Station “${s.station_name}” ${isEdit ? 'saved' : 'created'}.`,
    afterSave: () => '#/stations',
  });
}
