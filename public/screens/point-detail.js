// One charging point: its data (station, tariff with its price, charger type, phase, OEM, max
// power, the device ID that links to the charger's page), its connectors with their live status
// and the session running on each, and its recent sessions. Live through the event stream
// (refetched every few seconds without one); edit and delete only for the roles that may.
import { h, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { confirmDialog } from '../components/modal.js';
import { dataTable } from '../components/table.js';
import { toast } from '../components/toast.js';
import { card, details, errorBanner, loadingBox } from '../components/detail.js';
import { tariffById } from '../components/pickers.js';
import * as api from '../services/api.js';
import { live } from '../services/events.js';
import { statusCell } from './sessions.js';
import { connectorColumns, kwhOf, sessionFigures } from '../components/connectors.js';

const enc = encodeURIComponent;
const RECENT = 10;

export async function show(ctx) {
  const id = ctx.params.id;
  const mayChange = api.canChange();
  const head = h('div', { class: 'page-header' }, h('h1', {}, 'Charging point'));
  const about = loadingBox();
  const hardware = loadingBox();
  const connectors = loadingBox('point-connectors');
  const recent = loadingBox('point-sessions');
  replace(
    ctx.main,
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/points' }, '← Charging points')),
    head,
    h('div', { class: 'pair-grid' }, card('Charging point', 'pt-about', about), card('Hardware', 'pt-hardware', hardware)),
    card('Connectors', 'pt-connectors', connectors),
    card('Recent sessions', 'pt-sessions', recent),
  );

  let point = null;
  let active = [];

  async function loadPoint() {
    try {
      const p = await api.getPoint(id);
      const [station, tariff] = await Promise.all([
        p.station_id ? api.getStation(p.station_id).catch(() => null) : null,
        p.tariff_id !== null && p.tariff_id !== undefined ? tariffById(p.tariff_id).catch(() => null) : null,
      ]);
      if (!ctx.isCurrent()) return;
      point = p;
      renderPoint(station, tariff);
    } catch (err) {
      if (!ctx.isCurrent()) return;
      replace(about, errorBanner(err.status === 404 ? 'the charging point (there is none with this id)' : 'the charging point', err));
      replace(hardware);
      replace(connectors);
    } finally {
      about.setAttribute('aria-busy', 'false');
      hardware.setAttribute('aria-busy', 'false');
    }
  }

  function renderPoint(station, tariff) {
    const p = point;
    replace(head,
      h('div', {}, h('h1', {}, p.charging_point_name),
        h('p', { class: 'page-intro' }, station ? `At ${station.station_name}` : `Station ${fmt.text(p.station_id)}`)),
      mayChange
        ? h('div', { class: 'row-actions page-actions' },
          h('a', { class: 'btn btn-secondary', href: `#/points/${p.id}/edit` }, 'Edit'),
          h('button', { type: 'button', class: 'btn btn-danger-ghost', onclick: remove }, 'Delete'))
        : null);
    let tariffText;
    if (p.tariff_id === null || p.tariff_id === undefined) tariffText = h('span', { class: 'muted' }, 'None');
    else if (!tariff) tariffText = `Tariff #${p.tariff_id}`;
    else {
      tariffText = h('span', { class: 'point-tariff' },
        `${tariff.tariff_name} (${tariff.tariff_id}) · ${fmt.money(tariff.base_charges, tariff.currency)}/kWh + ${fmt.percent(tariff.tax)} tax`,
        tariff.status === 'Active' ? null : [' ', badge(tariff.status)]);
    }
    replace(about, details([
      ['Station', p.station_id ? h('a', { href: `#/stations/${enc(p.station_id)}` }, station ? `${station.station_name} (${p.station_id})` : p.station_id) : '—'],
      ['Tariff', tariffText],
      ['Device ID', p.device_id ? h('a', { href: `#/chargers/${enc(p.device_id)}`, class: 'point-charger' }, h('code', {}, p.device_id)) : h('span', { class: 'muted' }, 'None: no charger is linked')],
      ['Created', fmt.dateTime(p.created_at)],
    ]));
    replace(hardware, details([
      ['Charger type', fmt.text(p.charger_type)],
      ['Phase', fmt.text(p.phase)],
      ['OEM', fmt.text(p.oem_list)],
      ['Max power', fmt.kw(p.max_power)],
    ]));
    renderConnectors();
  }

  async function remove() {
    const ok = await confirmDialog({
      title: 'Delete charging point?',
      message: `“${point.charging_point_name}” and its connectors will be deleted.`,
      confirmLabel: 'Delete',
      danger: true,
      onConfirm: () => api.removePoint(point.id),
    });
    if (!ok) return;
    toast(`Charging point “${point.charging_point_name}” deleted.`, 'success');
    location.hash = '#/points';
  }

  const activeOn = (n) => active.find((s) => String(s.connector_number) === String(n));

  function renderConnectors() {
    const rows = [...(point.connectors || [])].sort((a, b) => String(a.connector_id).localeCompare(String(b.connector_id)));
    connectors.setAttribute('aria-busy', 'false');
    replace(connectors, dataTable({
      caption: `Connectors of ${point.charging_point_name}`,
      empty: 'This point has no connectors.',
      rows,
      rowKey: (k) => k.connector_id,
      columns: [
        ...connectorColumns(activeOn),
      ],
    }));
  }

  async function loadSessions() {
    try {
      const [act, res] = await Promise.all([
        api.listSessions({ status: 'Active', charging_point_id: id, limit: 100 }),
        api.listSessions({ charging_point_id: id, limit: RECENT, sort: '-start_time' }),
      ]);
      if (!ctx.isCurrent()) return;
      active = act.data || [];
      if (point) renderConnectors();
      replace(recent, dataTable({
        caption: `The ${RECENT} most recent sessions on this point`,
        empty: 'No session on this point yet.',
        rows: res.data || [],
        rowKey: (s) => s.session_id,
        columns: [
          { key: 'session_id', label: 'Session', render: (s) => h('a', { href: `#/sessions/${enc(s.session_id)}` }, h('code', {}, s.session_id)) },
          { key: 'connector_number', label: 'Connector', render: (s) => `#${fmt.text(s.connector_number)}` },
          { key: 'customer_name', label: 'Customer', render: (s) => (s.customer_id ? h('a', { href: `#/customers/${s.customer_id}` }, fmt.text(s.customer_name)) : fmt.text(s.customer_name)) },
          { key: 'start_time', label: 'Started', render: (s) => h('span', { class: 'nowrap' }, fmt.dateTime(s.start_time)) },
          { key: 'energy_wh', label: 'Energy', align: 'num', render: (s) => kwhOf(s.energy_wh) },
          { key: 'billed_amount', label: 'Billed', align: 'num', render: (s) => (s.billed_amount === null || s.billed_amount === undefined ? '—' : fmt.money(s.billed_amount, s.currency)) },
          { key: 'status', label: 'Status', render: (s) => statusCell(s) },
        ],
      }), (res.pagination && res.pagination.total > RECENT)
        ? h('p', { class: 'field-help' }, h('a', { href: `#/sessions?charging_point_id=${enc(id)}` }, `All ${res.pagination.total} sessions of this point`))
        : null);
    } catch (err) {
      if (ctx.isCurrent()) replace(recent, errorBanner('the sessions', err));
    } finally {
      recent.setAttribute('aria-busy', 'false');
    }
  }

  // ---- live ----
  const mine = (e) => e && point && (String(e.point_id) === String(point.id) || (point.device_id && e.charge_point_id === point.device_id));
  let pending = null;
  const soon = () => { clearTimeout(pending); pending = setTimeout(() => { if (ctx.isCurrent()) loadSessions(); }, 300); };
  live(ctx, {
    'connector.status': (e) => {
      if (!mine(e)) return;
      const k = (point.connectors || []).find((c) => String(c.connector_id) === String(e.connector_number));
      if (!k) return;
      Object.assign(k, { status: e.status, error_code: e.error_code, status_at: e.at });
      renderConnectors();
    },
    'session.started': (e) => { if (mine(e)) soon(); },
    'session.stopped': (e) => { if (mine(e)) soon(); },
    'session.updated': (e) => {
      const s = active.find((x) => x.session_id === e.session_id);
      if (!s) return;
      s.energy_wh = e.energy_wh;
      if (e.running_cost !== undefined && e.running_cost !== null) s.running_cost = e.running_cost;
      // In place: rebuilding the table every few seconds would take a click or the focus away.
      const el = connectors.querySelector(`.active-session[data-session="${CSS.escape(s.session_id)}"] .cell-sub`);
      if (el) el.textContent = sessionFigures(s); else renderConnectors();
    },
  }, () => { loadPoint().then(loadSessions); });

  await loadPoint();
  if (!point) return;
  await loadSessions();
}
