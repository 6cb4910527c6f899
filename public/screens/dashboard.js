// The landing screen: chargers online / offline / faulted, connectors by status, the chargers
// with their connectors' live status, active sessions with live energy and cost, today's energy
// and revenue, and charts of energy and revenue per day (30 days) and sessions per hour (24 h);
// filtered by organization and station, kept live by the event stream without a reload.
import { h, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { chart } from '../components/chart.js';
import { dataTable } from '../components/table.js';
import { searchPicker, searchStations } from '../components/pickers.js';
import * as api from '../services/api.js';
import { live, onState } from '../services/events.js';
import { kwhOf } from '../components/connectors.js';

const tile = (label, key, sub) => h('div', { class: 'tile', dataset: { tile: key } }, h('p', { class: 'tile-label' }, label), h('p', { class: 'tile-value' }, '—'), sub ? h('p', { class: 'tile-sub' }, sub) : null);
const setTile = (root, key, value) => { const el = root.querySelector(`[data-tile="${key}"] .tile-value`); if (el) el.textContent = value; };
const epoch = (s) => Math.floor(new Date(s).getTime() / 1000);

export async function screen(ctx) {
  const q = ctx.query;
  const filters = { organization: q.organization || '', station_id: q.station_id || '' };
  const liveState = h('p', { class: 'live-state', role: 'status' });
  const orgSelect = h('select', { id: 'dash-org', name: 'organization' }, h('option', { value: '' }, 'All organizations'));
  const station = searchPicker({
    name: 'station_id', label: 'Station', placeholder: 'Code or name', search: searchStations,
    initial: filters.station_id ? [filters.station_id, filters.station_id] : null,
    onPick: (v) => { filters.station_id = v ? v[0] : ''; apply(); },
  });
  const clear = h('button', { type: 'button', class: 'btn btn-ghost' }, 'All stations');
  const tiles = h('div', { class: 'tiles' },
    tile('Chargers online', 'online'), tile('Offline', 'offline'), tile('Faulted', 'faulted'),
    tile('Energy today', 'energy'), tile('Revenue today', 'revenue'), tile('Sessions today', 'sessions'));
  const connectorCounts = h('div', { class: 'connector-counts', 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Loading…'));
  const chargersBox = h('div', { class: 'results dash-chargers', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  const sessionsBox = h('div', { class: 'results dash-sessions', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  const energyChart = chart({ title: 'Energy per day (30 days)', kind: 'bars', xKind: 'day', series: [{ label: 'Energy', unit: 'kWh', digits: 2 }], emptyText: 'No energy delivered in the last 30 days.' });
  const revenueChart = chart({ title: 'Revenue per day (30 days)', kind: 'bars', xKind: 'day', series: [{ label: 'Revenue', unit: fmt.WALLET_CURRENCY, digits: 2 }], emptyText: 'No revenue in the last 30 days.' });
  const hourlyChart = chart({ title: 'Sessions per hour (24 hours)', kind: 'bars', xKind: 'hour', series: [{ label: 'Sessions', unit: '', digits: 0 }], emptyText: 'No sessions started in the last 24 hours.' });
  const figuresError = h('div', { class: 'banner banner-error', role: 'alert', hidden: true });

  replace(
    ctx.main,
    h('div', { class: 'page-header' }, h('div', {}, h('h1', {}, 'Dashboard'), h('p', { class: 'page-intro' }, 'Chargers, connectors and sessions as they are now; energy and revenue over time.')), liveState),
    h('form', { class: 'filter-bar dash-filters', role: 'search', 'aria-label': 'Filter the dashboard', onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'filter' }, h('label', { for: 'dash-org' }, 'Organization'), orgSelect),
      h('div', { class: 'filter filter-station' }, station.el),
      h('div', { class: 'filter filter-actions' }, clear)),
    figuresError,
    tiles,
    h('div', { class: 'pair-grid' },
      h('section', { class: 'card', 'aria-labelledby': 'dash-connectors' }, h('h2', { id: 'dash-connectors', class: 'card-title' }, 'Connectors by status'), connectorCounts),
      h('section', { class: 'card', 'aria-labelledby': 'dash-chargers-t' }, h('h2', { id: 'dash-chargers-t', class: 'card-title' }, 'Chargers'), chargersBox)),
    h('section', { class: 'card', 'aria-labelledby': 'dash-active' }, h('h2', { id: 'dash-active', class: 'card-title' }, 'Active sessions'), sessionsBox),
    h('div', { class: 'chart-grid' },
      h('section', { class: 'card' }, energyChart.el),
      h('section', { class: 'card' }, revenueChart.el),
      h('section', { class: 'card' }, hourlyChart.el)),
  );

  const offState = onState((s) => {
    if (!ctx.isCurrent()) { offState(); return; }
    liveState.dataset.state = s;
    liveState.textContent = s === 'open' ? '● Live' : s === 'unavailable' ? 'Refreshed every 5 s (no event stream)' : s === 'retrying' ? 'Reconnecting…' : 'Connecting…';
  });

  api.listOrganizations().then((orgs) => {
    fmt.rememberOrganizations(orgs);
    for (const o of orgs) orgSelect.append(h('option', { value: o.code, selected: o.code === filters.organization }, o.name));
  }).catch(() => {});
  orgSelect.addEventListener('change', () => { filters.organization = orgSelect.value; apply(); });
  clear.addEventListener('click', () => { filters.station_id = ''; station.input.value = ''; replace(station.list); apply(); });

  function apply() {
    const params = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
    history.replaceState(null, '', `#/dashboard${params.toString() ? `?${params}` : ''}`);
    loadAll();
  }

  // ---- figures ----
  let summary = null;
  async function loadSummary() {
    try {
      summary = await api.getDashboard(filters);
      if (!ctx.isCurrent()) return;
      figuresError.hidden = true;
      renderSummary();
    } catch (err) {
      if (!ctx.isCurrent()) return;
      figuresError.hidden = false;
      figuresError.textContent = `Could not load the dashboard figures: ${err.message}`;
      replace(connectorCounts, h('p', { class: 'muted' }, '—'));
      replace(sessionsBox, h('p', { class: 'muted' }, '—'));
      sessionsBox.setAttribute('aria-busy', 'false');
    }
  }
  function renderSummary() {
    const s = summary;
    setTile(tiles, 'online', `${s.chargers.online} of ${s.chargers.total}`);
    setTile(tiles, 'offline', String(s.chargers.offline));
    setTile(tiles, 'faulted', String(s.chargers.faulted));
    setTile(tiles, 'energy', kwhOf(s.today.energy_wh));
    setTile(tiles, 'revenue', fmt.money(s.today.revenue));
    setTile(tiles, 'sessions', String(s.today.sessions));
    const counts = Object.entries(s.connectors || {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    replace(connectorCounts, counts.length
      ? h('ul', { class: 'status-counts' }, counts.map(([status, n]) => h('li', { dataset: { status } }, badge(status), h('span', { class: 'status-count' }, String(n)))))
      : h('p', { class: 'muted' }, 'No connector has reported a status yet.'));
    renderSessions();
  }
  function renderSessions() {
    sessionsBox.setAttribute('aria-busy', 'false');
    replace(sessionsBox, dataTable({
      caption: 'Active sessions',
      empty: 'No session is charging now.',
      rows: summary.active_sessions || [],
      rowKey: (a) => a.session_id,
      columns: [
        { key: 'session_id', label: 'Session', render: (a) => h('a', { href: `#/sessions/${encodeURIComponent(a.session_id)}` }, h('code', {}, a.session_id)) },
        { key: 'charge_point_id', label: 'Charger', render: (a) => h('div', {}, h('a', { href: `#/chargers/${encodeURIComponent(a.charge_point_id)}` }, a.charge_point_id), h('div', { class: 'cell-sub' }, `connector ${fmt.text(a.connector_number)}`)) },
        { key: 'customer_name', label: 'Customer', render: (a) => fmt.text(a.customer_name) },
        { key: 'start_time', label: 'Started', render: (a) => fmt.dateTime(a.start_time) },
        { key: 'energy_wh', label: 'Energy', align: 'num', render: (a) => h('span', { class: 'live-energy' }, kwhOf(a.energy_wh)) },
        { key: 'running_cost', label: 'Cost so far', align: 'num', render: (a) => h('span', { class: 'live-cost' }, fmt.money(a.running_cost)) },
      ],
    }));
  }

  async function loadCharts() {
    energyChart.loading(); revenueChart.loading(); hourlyChart.loading();
    try {
      const [daily, hourly] = await Promise.all([api.getDashboardDaily({ ...filters, days: 30 }), api.getDashboardHourly(filters)]);
      if (!ctx.isCurrent()) return;
      const days = daily.map((d) => epoch(`${d.day}T00:00:00`));
      energyChart.set(days, [daily.map((d) => Number(d.energy_wh) / 1000)]);
      revenueChart.set(days, [daily.map((d) => Number(d.revenue))]);
      hourlyChart.set(hourly.map((x) => epoch(x.hour)), [hourly.map((x) => Number(x.sessions))]);
    } catch (err) {
      if (!ctx.isCurrent()) return;
      energyChart.error(err); revenueChart.error(err); hourlyChart.error(err);
    }
  }

  // ---- chargers and their connectors ----
  let chargers = [];
  // Loads overlap when events come fast (a charger connects, then reports each connector): only
  // the one started last may render, or an older snapshot finishing late would undo newer news.
  let chargersLoad = 0;
  async function loadChargers() {
    const mine = ++chargersLoad;
    try {
      // The chargers list has no station filter: the station's chargers are picked out here.
      const res = await api.listChargers({ limit: filters.station_id ? 100 : 10, sort: '-last_seen_at' });
      const shown = (res.data || []).filter((c) => !filters.station_id || c.station_id === filters.station_id).slice(0, 10);
      const rows = await Promise.all(shown.map((c) => api.getCharger(c.charge_point_id).catch(() => ({ ...c, connectors: [] }))));
      if (!ctx.isCurrent() || mine !== chargersLoad) return;
      chargers = rows;
      renderChargers();
    } catch (err) {
      if (ctx.isCurrent() && mine === chargersLoad) replace(chargersBox, h('div', { class: 'banner banner-error', role: 'alert' }, `Could not load the chargers: ${err.message}`));
    } finally {
      if (mine === chargersLoad) chargersBox.setAttribute('aria-busy', 'false');
    }
  }
  function renderChargers() {
    replace(chargersBox, dataTable({
      caption: 'Chargers, most recently seen first',
      empty: 'No charger has connected yet.',
      rows: chargers,
      rowKey: (c) => c.charge_point_id,
      columns: [
        { key: 'charge_point_id', label: 'Charger', render: (c) => h('div', {}, h('a', { href: `#/chargers/${encodeURIComponent(c.charge_point_id)}` }, c.charge_point_id), c.charging_point_name ? h('div', { class: 'cell-sub' }, c.charging_point_id ? h('a', { href: `#/points/${c.charging_point_id}` }, c.charging_point_name) : c.charging_point_name, c.station_id ? [' · ', h('a', { href: `#/stations/${encodeURIComponent(c.station_id)}`, class: 'dash-station' }, c.station_id)] : null) : null) },
        { key: 'connected', label: 'Connection', render: (c) => h('span', { class: 'dash-connection' }, badge(c.connected ? 'Connected' : 'Offline')) },
        {
          key: 'connectors', label: 'Connectors',
          render: (c) => ((c.connectors || []).length
            ? h('ul', { class: 'connector-pills' }, c.connectors.map((k) => h('li', { dataset: { connector: k.connector_id } }, h('span', { class: 'connector-no' }, `#${k.connector_id}`), badge(k.status, 'No status'))))
            : h('span', { class: 'muted' }, '—')),
        },
      ],
    }));
  }

  function loadAll() {
    loadSummary();
    loadCharts();
    loadChargers();
  }

  // ---- live ----
  let timer = null;
  let chartTimer = null;
  const refreshSummary = () => { clearTimeout(timer); timer = setTimeout(() => { if (ctx.isCurrent()) loadSummary(); }, 300); };
  const refreshCharts = () => { clearTimeout(chartTimer); chartTimer = setTimeout(() => { if (ctx.isCurrent()) loadCharts(); }, 1000); };
  const chargerOf = (id) => chargers.find((c) => c.charge_point_id === id);
  live(ctx, {
    'charger.connected': (e) => {
      const c = chargerOf(e.charge_point_id);
      if (c) { c.connected = true; renderChargers(); } else loadChargers();
      refreshSummary();
    },
    'charger.disconnected': (e) => {
      const c = chargerOf(e.charge_point_id);
      if (c) { c.connected = false; renderChargers(); }
      refreshSummary();
    },
    'charger.booted': (e) => { if (!chargerOf(e.charge_point_id)) loadChargers(); },
    'connector.status': (e) => {
      const c = chargerOf(e.charge_point_id);
      const k = c && (c.connectors || []).find((x) => String(x.connector_id) === String(e.connector_number));
      if (k) { k.status = e.status; k.error_code = e.error_code; renderChargers(); } else if (!c) loadChargers();
      refreshSummary();
    },
    'session.started': () => { refreshSummary(); refreshCharts(); },
    'session.updated': (e) => {
      const a = summary && (summary.active_sessions || []).find((x) => x.session_id === e.session_id);
      if (!a) { refreshSummary(); return; }
      a.energy_wh = e.energy_wh;
      if (e.running_cost !== undefined && e.running_cost !== null) a.running_cost = e.running_cost;
      renderSessions();
    },
    'session.stopped': () => { refreshSummary(); refreshCharts(); },
  }, loadAll);

  loadAll();
}
