// One station: its data (address, hours, contacts, organization, status), its images, its
// charging points with their connectors' live status, the sessions running there, and its
// figures (today's energy, revenue and sessions; energy per day over 30 days). Live through the
// event stream (refetched every few seconds without one); edit and delete only for the roles
// that may change data.
import { h, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { chart } from '../components/chart.js';
import { confirmDialog } from '../components/modal.js';
import { dataTable } from '../components/table.js';
import { toast } from '../components/toast.js';
import { card, details, errorBanner, loadingBox, tile, setTile } from '../components/detail.js';
import * as api from '../services/api.js';
import { live } from '../services/events.js';
import { imagesPanel } from './stations.js';
import { kwhOf } from '../components/connectors.js';

const enc = encodeURIComponent;
const costOf = (s) => fmt.money(s.running_cost ?? fmt.estimatedCost(s), s.currency);
const pointFigures = (s) => `${fmt.text(s.customer_name)} · ${kwhOf(s.energy_wh)}`;
const epoch = (s) => Math.floor(new Date(s).getTime() / 1000);

export async function show(ctx) {
  const code = ctx.params.id;
  const mayChange = api.canChange();
  const head = h('div', { class: 'page-header' }, h('h1', {}, 'Station ', h('code', {}, code)));
  const about = loadingBox();
  const contact = loadingBox();
  const tiles = h('div', { class: 'tiles station-figures' },
    tile('Chargers online', 'online'), tile('Energy today', 'energy'), tile('Revenue today', 'revenue'), tile('Sessions today', 'sessions'));
  const figuresError = h('div', { class: 'banner banner-error', role: 'alert', hidden: true });
  const pointsBox = loadingBox('station-points');
  const sessionsBox = loadingBox('station-sessions');
  const imagesSlot = h('div', {});
  const energyChart = chart({ title: 'Energy per day (30 days)', kind: 'bars', xKind: 'day', series: [{ label: 'Energy', unit: 'kWh', digits: 2 }], emptyText: 'No energy delivered here in the last 30 days.' });
  replace(
    ctx.main,
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/stations' }, '← Stations')),
    head,
    figuresError,
    tiles,
    h('div', { class: 'pair-grid' }, card('Station', 'st-about', about), card('Hours and contact', 'st-contact', contact)),
    card('Charging points and connectors', 'st-points', pointsBox),
    card('Active sessions', 'st-sessions', sessionsBox),
    h('section', { class: 'card' }, energyChart.el),
    imagesSlot,
  );

  let station = null;
  let points = [];
  let sessions = [];

  async function loadStation() {
    try {
      const [s, orgs] = await Promise.all([api.getStation(code), api.listOrganizations().catch(() => null)]);
      if (!ctx.isCurrent()) return;
      if (orgs) fmt.rememberOrganizations(orgs);
      station = s;
      renderStation();
      replace(imagesSlot, imagesPanel(s));
    } catch (err) {
      if (!ctx.isCurrent()) return;
      replace(about, errorBanner(err.status === 404 ? 'the station (there is no station with this code)' : 'the station', err));
      replace(contact);
    } finally {
      about.setAttribute('aria-busy', 'false');
      contact.setAttribute('aria-busy', 'false');
    }
  }

  function renderStation() {
    const s = station;
    replace(head,
      h('div', {},
        h('h1', {}, s.station_name, ' ', h('code', { class: 'heading-code' }, s.station_id)),
        h('p', { class: 'page-intro' }, badge(s.status), ' ', fmt.organization(s.organization))),
      mayChange
        ? h('div', { class: 'row-actions page-actions' },
          h('a', { class: 'btn btn-secondary', href: `#/stations/${enc(s.station_id)}/edit` }, 'Edit'),
          h('button', { type: 'button', class: 'btn btn-danger-ghost', onclick: remove }, 'Delete'))
        : null);
    const where = [s.address, [s.city, s.state, s.pincode].filter(Boolean).join(', '), s.country].filter(Boolean);
    replace(about, details([
      ['Organization', fmt.organization(s.organization)],
      ['Status', badge(s.status)],
      ['Grid', fmt.text(s.grid_phase)],
      ['Address', where.length ? h('span', { class: 'address' }, where.map((l, i) => [i ? h('br') : null, l])) : '—'],
      s.latitude !== null && s.latitude !== undefined ? ['Coordinates', `${s.latitude}, ${s.longitude}`] : null,
      ['Created', fmt.dateTime(s.created_at)],
    ]));
    const hrs = s.opening_time || s.closing_time ? `${fmt.timeHM(s.opening_time) || '?'}–${fmt.timeHM(s.closing_time) || '?'}` : '—';
    replace(contact, details([
      ['Hours', hrs],
      ['Working days', fmt.workingDays(s.working_days)],
      ['Contact person', fmt.text(s.contact_person)],
      ['Phone', s.contact_number ? h('a', { href: `tel:${s.contact_number}` }, s.contact_number) : '—'],
      ['E-mail', s.email ? h('a', { href: `mailto:${s.email}` }, s.email) : '—'],
    ]));
  }

  async function remove() {
    const ok = await confirmDialog({
      title: 'Delete station?',
      message: `“${station.station_name}” (${station.station_id}) will be deleted. A station that still has charging points cannot be deleted.`,
      confirmLabel: 'Delete',
      danger: true,
      onConfirm: () => api.removeStation(station.station_id),
    });
    if (!ok) return;
    toast(`Station “${station.station_name}” deleted.`, 'success');
    location.hash = '#/stations';
  }

  // ---- points and their connectors ----
  async function loadPoints() {
    try {
      const rows = await api.listAll(api.listPoints, { station_id: code }, 5);
      if (!ctx.isCurrent()) return;
      points = rows;
      renderPoints();
    } catch (err) {
      if (ctx.isCurrent()) replace(pointsBox, errorBanner('the charging points', err));
    } finally {
      pointsBox.setAttribute('aria-busy', 'false');
    }
  }

  const activeOn = (pointId, n) => sessions.find((s) => String(s.charging_point_id) === String(pointId) && String(s.connector_number) === String(n));

  function renderPoints() {
    const rows = [];
    for (const p of points) {
      const cs = [...(p.connectors || [])].sort((a, b) => String(a.connector_id).localeCompare(String(b.connector_id)));
      if (!cs.length) rows.push({ p, k: null });
      for (const k of cs) rows.push({ p, k });
    }
    replace(pointsBox, dataTable({
      caption: `Charging points of ${station ? station.station_name : code}`,
      empty: 'No charging points at this station yet.',
      rows,
      rowKey: (r) => `${r.p.id}-${r.k ? r.k.connector_id : 0}`,
      columns: [
        {
          key: 'point', label: 'Point',
          render: (r) => h('div', {},
            h('a', { href: `#/points/${r.p.id}` }, r.p.charging_point_name),
            h('div', { class: 'cell-sub' }, r.p.device_id ? ['Charger ', h('a', { href: `#/chargers/${enc(r.p.device_id)}` }, r.p.device_id)] : 'No device ID')),
        },
        { key: 'connector', label: 'Connector', render: (r) => (r.k ? h('div', {}, `#${r.k.connector_id}`, h('div', { class: 'cell-sub' }, `${fmt.connectorType(r.k.connector_type)} · ${fmt.kw(r.k.power)}`)) : '—') },
        {
          key: 'status', label: 'Status',
          render: (r) => (r.k
            ? h('div', { class: 'connector-status', dataset: { point: String(r.p.id), connector: String(r.k.connector_id) } }, badge(r.k.status, 'No status yet'),
              r.k.error_code && r.k.error_code !== 'NoError' ? h('div', { class: 'cell-sub' }, r.k.error_code) : null,
              r.k.status_at ? h('div', { class: 'cell-sub nowrap' }, `since ${fmt.dateTime(r.k.status_at)}`) : null)
            : '—'),
        },
        {
          key: 'session', label: 'Active session',
          render: (r) => {
            const s = r.k && activeOn(r.p.id, r.k.connector_id);
            if (!s) return h('span', { class: 'muted' }, 'None');
            return h('div', { class: 'active-session', dataset: { session: s.session_id } },
              h('a', { href: `#/sessions/${enc(s.session_id)}` }, h('code', {}, s.session_id)),
              h('div', { class: 'cell-sub' }, pointFigures(s)));
          },
        },
      ],
    }));
  }

  // ---- active sessions ----
  async function loadSessions() {
    try {
      const res = await api.listSessions({ status: 'Active', station_id: code, limit: 100, sort: '-start_time' });
      if (!ctx.isCurrent()) return;
      sessions = res.data || [];
      renderSessions();
      if (points.length) renderPoints();
    } catch (err) {
      if (ctx.isCurrent()) replace(sessionsBox, errorBanner('the active sessions', err));
    } finally {
      sessionsBox.setAttribute('aria-busy', 'false');
    }
  }

  function renderSessions() {
    replace(sessionsBox, dataTable({
      caption: 'Sessions charging now at this station',
      empty: 'No session is charging here now.',
      rows: sessions,
      rowKey: (s) => s.session_id,
      columns: [
        { key: 'session_id', label: 'Session', render: (s) => h('a', { href: `#/sessions/${enc(s.session_id)}` }, h('code', {}, s.session_id)) },
        { key: 'point', label: 'Point', render: (s) => h('div', {}, fmt.text(s.charging_point_name), h('div', { class: 'cell-sub' }, `connector ${fmt.text(s.connector_number)}`)) },
        { key: 'customer_name', label: 'Customer', render: (s) => (s.customer_id ? h('a', { href: `#/customers/${s.customer_id}` }, fmt.text(s.customer_name)) : fmt.text(s.customer_name)) },
        { key: 'start_time', label: 'Started', render: (s) => fmt.dateTime(s.start_time) },
        { key: 'energy_wh', label: 'Energy', align: 'num', render: (s) => h('span', { class: 'live-energy' }, kwhOf(s.energy_wh)) },
        { key: 'running_cost', label: 'Cost so far', align: 'num', render: (s) => h('span', { class: 'live-cost' }, costOf(s)) },
      ],
    }));
  }

  // ---- figures ----
  async function loadFigures() {
    try {
      const s = await api.getDashboard({ station_id: code });
      if (!ctx.isCurrent()) return;
      figuresError.hidden = true;
      setTile(tiles, 'online', `${s.chargers.online} of ${s.chargers.total}`);
      setTile(tiles, 'energy', kwhOf(s.today.energy_wh));
      setTile(tiles, 'revenue', fmt.money(s.today.revenue));
      setTile(tiles, 'sessions', String(s.today.sessions));
    } catch (err) {
      if (!ctx.isCurrent()) return;
      figuresError.hidden = false;
      figuresError.textContent = `Could not load the station’s figures: ${err.message}`;
    }
  }

  async function loadChart() {
    energyChart.loading();
    try {
      const daily = await api.getDashboardDaily({ station_id: code, days: 30 });
      if (!ctx.isCurrent()) return;
      energyChart.set(daily.map((d) => epoch(`${d.day}T00:00:00`)), [daily.map((d) => Number(d.energy_wh) / 1000)]);
    } catch (err) {
      if (ctx.isCurrent()) energyChart.error(err);
    }
  }

  // ---- live ----
  const pointOf = (id) => points.find((p) => String(p.id) === String(id));
  let pending = null;
  let figTimer = null;
  const refresh = () => { clearTimeout(pending); pending = setTimeout(() => { if (ctx.isCurrent()) { loadSessions(); loadFigures(); } }, 300); };
  const refreshFigures = () => { clearTimeout(figTimer); figTimer = setTimeout(() => { if (ctx.isCurrent()) loadFigures(); }, 300); };
  const chargerHere = (id) => points.some((p) => p.device_id === id);
  live(ctx, {
    'connector.status': (e) => {
      const p = pointOf(e.point_id) || points.find((x) => x.device_id === e.charge_point_id);
      const k = p && (p.connectors || []).find((c) => String(c.connector_id) === String(e.connector_number));
      if (!k) return;
      Object.assign(k, { status: e.status, error_code: e.error_code, status_at: e.at });
      renderPoints();
    },
    'charger.connected': (e) => { if (chargerHere(e.charge_point_id)) refreshFigures(); },
    'charger.disconnected': (e) => { if (chargerHere(e.charge_point_id)) refreshFigures(); },
    'session.started': (e) => { if (pointOf(e.point_id)) refresh(); },
    'session.stopped': (e) => { if (pointOf(e.point_id)) { refresh(); loadChart(); } },
    'session.updated': (e) => {
      const s = sessions.find((x) => x.session_id === e.session_id);
      if (!s) return;
      s.energy_wh = e.energy_wh;
      if (e.running_cost !== undefined && e.running_cost !== null) s.running_cost = e.running_cost;
      // In place: rebuilding the tables every few seconds would take a click or the focus away.
      const row = sessionsBox.querySelector(`tr[data-key="${CSS.escape(s.session_id)}"]`);
      const cell = pointsBox.querySelector(`.active-session[data-session="${CSS.escape(s.session_id)}"] .cell-sub`);
      if (row) { row.querySelector('.live-energy').textContent = kwhOf(s.energy_wh); row.querySelector('.live-cost').textContent = costOf(s); } else renderSessions();
      if (cell) cell.textContent = pointFigures(s); else renderPoints();
    },
  }, () => { loadPoints(); loadSessions(); loadFigures(); });

  await loadStation();
  if (!station) return;
  await Promise.all([loadPoints(), loadSessions(), loadFigures()]);
  loadChart();
}
