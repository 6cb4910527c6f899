// Charging points: list with filters and live connector status, create/edit form with 1–3
// connector rows, delete with confirm.
import { h, nextId, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { listView, rowActions } from '../components/list-view.js';
import { resourceForm } from '../components/resource-form.js';
import * as api from '../services/api.js';
import { schemaEnum } from '../services/enums.js';
import { pickerField, searchStations, searchActiveTariffs, describeStation, describeTariff } from '../components/pickers.js';

const CONNECTOR_IDS = ['1', '2', '3'];
const MAX_CONNECTORS = 3;
const pairs = (values) => values.map((v) => [v, v]);

/** The choices of the point's enums, from the API description (GET /api/openapi.json). */
async function choices() {
  const [chargerTypes, phases, oems, connectorTypes] = await Promise.all(['ChargerType', 'Phase', 'Oem', 'ConnectorType'].map(schemaEnum));
  return { chargerTypes: pairs(chargerTypes), phases: pairs(phases), oems: pairs(oems), connectorTypes: connectorTypes.map((t) => [t, fmt.connectorType(t)]) };
}


function connectorChips(p) {
  const cs = Array.isArray(p.connectors) ? [...p.connectors] : [];
  if (cs.length === 0) return '—';
  cs.sort((a, b) => String(a.connector_id).localeCompare(String(b.connector_id)));
  return h(
    'ul',
    { class: 'chips' },
    cs.map((c) =>
      h(
        'li',
        { class: 'chip', title: c.status_at ? `Status since ${fmt.dateTime(c.status_at)}${c.error_code && c.error_code !== 'NoError' ? ` · ${c.error_code}` : ''}` : 'No status reported yet' },
        h('span', { class: 'chip-id' }, `#${c.connector_id}`),
        ` ${fmt.connectorType(c.connector_type)} · ${fmt.kw(c.power)} `,
        badge(c.status, 'No status yet'),
        c.error_code && c.error_code !== 'NoError' ? h('span', { class: 'chip-error' }, ` ${c.error_code}`) : null,
      ),
    ),
  );
}

export async function list(ctx) {
  replace(ctx.main, h('p', { class: 'loading' }, 'Loading…'));
  const enums = await choices();
  if (!ctx.isCurrent()) return;
  // Rows carry their station's and tariff's names; the filters take codes and search as one
  // types, so no list of every station or tariff is loaded.
  const stationFilter = { name: 'station_id', label: 'Station code', type: 'text', placeholder: 'e.g. STN-BLR-01' };

  listView(ctx, {
    title: 'Charging points',
    intro: 'Chargers, their connectors and live OCPP status.',
    newHref: '#/points/new',
    newLabel: 'New charging point',
    defaultSort: '-created_at',
    empty: 'No charging points yet.',
    fetch: api.listPoints,
    filters: [
      { name: 'search', label: 'Search', type: 'search', placeholder: 'Name or device ID' },
      stationFilter,
      { name: 'charger_type', label: 'Type', type: 'select', options: enums.chargerTypes },
      { name: 'phase', label: 'Phase', type: 'select', options: enums.phases },
      { name: 'oem_list', label: 'OEM', type: 'select', options: enums.oems },
      { name: 'created_from', label: 'Created from', type: 'date' },
      { name: 'created_to', label: 'Created to', type: 'date' },
    ].filter(Boolean),
    columns: ({ deleteButton }) => [
      {
        key: 'charging_point_name', label: 'Name', sortable: true,
        render: (p) => h('div', {}, h('a', { href: `#/points/${p.id}` }, p.charging_point_name), h('div', { class: 'cell-sub nowrap' }, p.device_id ? `Device ${p.device_id}` : 'No device ID')),
      },
      {
        key: 'station_id', label: 'Station',
        render: (p) => {
          return h('div', {}, p.station_id ? h('a', { href: `#/stations/${encodeURIComponent(p.station_id)}` }, p.station_name || p.station_id) : '—', p.station_id ? h('div', { class: 'cell-sub' }, h('code', {}, p.station_id)) : null);
        },
      },
      { key: 'charger_type', label: 'Type', render: (p) => h('div', {}, fmt.text(p.charger_type), h('div', { class: 'cell-sub nowrap' }, fmt.text(p.phase))) },
      { key: 'oem_list', label: 'OEM', render: (p) => fmt.text(p.oem_list) },
      { key: 'max_power', label: 'Max power', sortable: true, align: 'num', render: (p) => fmt.kw(p.max_power) },
      {
        key: 'tariff_id', label: 'Tariff',
        render: (p) => {
          if (p.tariff_id === null || p.tariff_id === undefined) return h('span', { class: 'muted' }, 'None');
          return p.tariff_name || `#${p.tariff_id}`;
        },
      },
      { key: 'connectors', label: 'Connectors', render: connectorChips },
      { key: 'created_at', label: 'Created', sortable: true, render: (p) => fmt.date(p.created_at) },
      {
        key: 'actions', label: 'Actions', align: 'actions',
        render: (p) => rowActions(
          h('a', { class: 'btn btn-small btn-secondary', href: `#/points/${p.id}/edit`, 'aria-label': `Edit ${p.charging_point_name}` }, 'Edit'),
          deleteButton({ label: p.charging_point_name, what: 'charging point', remove: () => api.removePoint(p.id) }),
        ),
      },
    ],
  });
}

/** The connectors editor: 1–3 rows of connector number, type and power, with inline errors. */
function connectorsEditor(initial, connectorTypes) {
  const rowsEl = h('div', { class: 'connector-rows' });
  const addBtn = h('button', { type: 'button', class: 'btn btn-small btn-secondary' }, '+ Add connector');
  const count = h('span', { class: 'field-help', 'aria-live': 'polite' });
  const rows = [];

  const fieldBox = (label, control, path) => {
    const id = nextId('conn');
    control.id = id;
    const err = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
    control.setAttribute('aria-describedby', err.id);
    return h('div', { class: 'field', dataset: { field: path, part: label } }, h('label', { for: id }, label), control, err);
  };

  const renumber = () => {
    rows.forEach((r, i) => {
      r.el.dataset.field = `connectors[${i}]`;
      r.title.textContent = `Connector ${i + 1}`;
      for (const box of r.el.querySelectorAll('.field[data-part]')) {
        const key = { Number: 'connector_id', Type: 'connector_type', 'Power (kW)': 'power' }[box.dataset.part];
        box.dataset.field = `connectors[${i}].${key}`;
      }
      r.remove.disabled = rows.length <= 1;
      r.remove.setAttribute('aria-label', `Remove connector ${i + 1}`);
    });
    addBtn.disabled = rows.length >= MAX_CONNECTORS;
    count.textContent = `${rows.length} of ${MAX_CONNECTORS} connectors`;
  };

  const addRow = (c = {}) => {
    const used = new Set(rows.map((r) => r.cid.value));
    const cidValue = c.connector_id ? String(c.connector_id) : CONNECTOR_IDS.find((x) => !used.has(x)) || '1';
    const cid = h('select', {}, CONNECTOR_IDS.map((x) => h('option', { value: x, selected: x === cidValue }, x)));
    const type = h('select', {}, connectorTypes.map(([v, l]) => h('option', { value: v, selected: v === (c.connector_type || 'type2') }, l)));
    const power = h('input', { type: 'number', step: '0.01', min: '0', inputmode: 'decimal', value: c.power ?? '', required: true });
    const remove = h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost' }, 'Remove');
    const title = h('h3', { class: 'connector-title' });
    const status = c.id
      ? h('p', { class: 'connector-status' }, 'Live status: ', badge(c.status, 'No status yet'), c.error_code && c.error_code !== 'NoError' ? ` ${c.error_code}` : '', c.status_at ? h('span', { class: 'cell-sub' }, ` since ${fmt.dateTime(c.status_at)}`) : null)
      : null;
    const errRow = h('p', { class: 'field-error', hidden: true });
    const el = h(
      'div',
      { class: 'connector-row' },
      h('div', { class: 'connector-head' }, title, status, remove),
      h('div', { class: 'connector-grid' }, fieldBox('Number', cid, ''), fieldBox('Type', type, ''), fieldBox('Power (kW)', power, '')),
      errRow,
    );
    const row = { el, cid, type, power, remove, title };
    remove.addEventListener('click', () => {
      const i = rows.indexOf(row);
      rows.splice(i, 1);
      el.remove();
      renumber();
      (rows[Math.min(i, rows.length - 1)] || {}).cid?.focus();
    });
    rows.push(row);
    rowsEl.appendChild(el);
    renumber();
    return row;
  };

  addBtn.addEventListener('click', () => {
    if (rows.length < MAX_CONNECTORS) addRow().cid.focus();
  });
  const list = Array.isArray(initial) && initial.length ? initial : [{}];
  [...list].sort((a, b) => String(a.connector_id).localeCompare(String(b.connector_id))).forEach((c) => addRow(c));

  const el = h('fieldset', { class: 'connectors' }, h('legend', {}, 'Connectors ', h('span', { class: 'req', 'aria-hidden': 'true' }, '*')), rowsEl, h('div', { class: 'connector-add' }, addBtn, count));
  return {
    el,
    read: () =>
      rows.map((r) => {
        const raw = r.power.value.trim();
        const n = Number(raw);
        return { connector_id: r.cid.value, connector_type: r.type.value, power: raw === '' ? null : Number.isFinite(n) ? n : raw };
      }),
    focus: () => rows[0] && rows[0].cid.focus(),
  };
}

export function form(ctx) {
  const id = ctx.params.id;
  const isEdit = id !== undefined;
  return resourceForm(ctx, {
    title: isEdit ? 'Edit charging point' : 'New charging point',
    backHref: '#/points',
    isEdit,
    load: () => api.getPoint(id),
    defaults: { station_id: ctx.query.station_id || null, charger_type: 'AC', phase: 'Phase R' },
    prepare: choices,
    sections: (point, { chargerTypes, phases, oems, connectorTypes }) => {
      return [
        {
          legend: 'Charging point',
          fields: [
            { name: 'charging_point_name', label: 'Name', required: true, maxlength: 255 },
            {
              name: 'station_id', type: 'custom',
              render: (v) => pickerField({ name: 'station_id', label: 'Station', placeholder: 'Code or name', help: 'Type to search the stations by code or name.', search: searchStations, value: v, describe: describeStation }),
            },
            { name: 'device_id', label: 'Device ID (OCPP identity)', maxlength: 48, help: 'The charge point identity it connects with over OCPP. Optional.' },
            {
              name: 'tariff_id', type: 'custom',
              render: (v) => pickerField({ name: 'tariff_id', label: 'Tariff', placeholder: 'Code or name', help: 'Type to search the active tariffs by code or name.', search: searchActiveTariffs, value: v, describe: describeTariff, clearLabel: 'No tariff' }),
            },
          ],
        },
        {
          legend: 'Hardware',
          fields: [
            { name: 'charger_type', label: 'Charger type', type: 'select', required: true, options: chargerTypes },
            { name: 'phase', label: 'Phase', type: 'select', required: true, options: phases },
            { name: 'oem_list', label: 'OEM', type: 'select', required: true, options: oems },
            { name: 'max_power', label: 'Max power (kW)', type: 'number', step: '0.01', min: 0, inputmode: 'decimal' },
          ],
        },
        {
          legend: null,
          fields: [{ name: 'connectors', type: 'custom', full: true, render: (v) => connectorsEditor(v, connectorTypes) }],
        },
      ];
    },
    transform: (body) => {
      // The picker gives the tariff id as text; the API wants the numeric id.
      if ('tariff_id' in body && body.tariff_id !== null) body.tariff_id = body.tariff_id === '' ? null : Number(body.tariff_id);
      return body;
    },
    save: (body) => (isEdit ? api.updatePoint(id, body) : api.createPoint(body)),
    saved: (p) => `Charging point “${p.charging_point_name}” ${isEdit ? 'saved' : 'created'}.`,
    afterSave: () => '#/points',
  });
}
