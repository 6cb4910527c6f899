// One charging session: power and energy over time from its meter values (growing live while it
// runs), its tariff snapshot, the bill's breakdown (energy × rate, tax, total), the wallet ledger
// entry that paid it and its corrections, anomalies and the balance guard's notes, and the
// operator's actions (settle, correct the bill) where the role allows.
import { h, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { chart } from '../components/chart.js';
import { dataTable } from '../components/table.js';
import * as api from '../services/api.js';
import { live } from '../services/events.js';
import { billDialog, settleDialog, statusCell } from './sessions.js';

const ENERGY = 'Energy.Active.Import.Register';
const POWER = 'Power.Active.Import';
const card = (title, id, ...body) => h('section', { class: 'card detail-card', 'aria-labelledby': id }, h('h2', { id, class: 'card-title' }, title), body);
const details = (pairs) => h('dl', { class: 'details' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
const epoch = (t) => new Date(t).getTime() / 1000;
const toWh = (m) => { const v = Number(m.value); return (m.unit || 'Wh') === 'kWh' ? v * 1000 : v; };
const toW = (m) => { const v = Number(m.value); return (m.unit || 'W') === 'kW' ? v * 1000 : v; };

export async function show(ctx) {
  const sid = ctx.params.id;
  const head = h('div', { class: 'page-header' }, h('h1', {}, 'Session ', h('code', {}, sid)));
  const summary = h('div', { class: 'results', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  const bill = h('div', { class: 'results', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  const ledger = h('div', { class: 'results', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  const notes = h('div', { class: 'results' });
  const actions = h('div', { class: 'row-actions session-actions' });
  const graph = chart({ title: 'Power and energy over time', kind: 'line', xKind: 'time', height: 260,
    series: [{ label: 'Energy', unit: 'kWh', digits: 3 }, { label: 'Power', unit: 'kW', digits: 2 }],
    emptyText: 'The charger has sent no meter values for this session yet.' });
  replace(
    ctx.main,
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/sessions' }, '← Sessions')),
    head,
    h('section', { class: 'card' }, graph.el),
    h('div', { class: 'pair-grid' }, card('Session', 'se-summary', summary), card('Bill', 'se-bill', bill)),
    h('div', { class: 'pair-grid' }, card('Wallet', 'se-ledger', ledger), card('Anomalies and guard', 'se-notes', notes)),
  );

  let s = null;
  async function loadSession() {
    try {
      s = await api.getSession(sid);
      if (!ctx.isCurrent()) return;
      render();
    } catch (err) {
      if (!ctx.isCurrent()) return;
      replace(summary, h('div', { class: 'banner banner-error', role: 'alert' }, h('strong', {}, 'Could not load the session: '), err.message));
    } finally {
      summary.setAttribute('aria-busy', 'false');
      bill.setAttribute('aria-busy', 'false');
    }
  }

  const energyKwh = () => (s.energy_wh === null || s.energy_wh === undefined ? null : Number(s.energy_wh) / 1000);

  function render() {
    const mayChange = api.canChange();
    replace(head,
      h('div', {}, h('h1', {}, 'Session ', h('code', {}, s.session_id)), h('div', { class: 'page-intro session-status' }, statusCell(s))),
      actions);
    replace(actions,
      mayChange && s.status === 'Active' ? h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => settleDialog(s, reloadAll) }, 'Settle…') : null,
      mayChange && s.status === 'Completed' ? h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => billDialog(s, reloadAll) }, 'Bill…') : null);
    const running = s.status === 'Active';
    replace(summary, details([
      ['Customer', s.customer_id ? h('a', { href: `#/customers/${s.customer_id}` }, fmt.text(s.customer_name)) : fmt.text(s.customer_name)],
      ['Id tag', s.id_tag ? h('code', {}, s.id_tag) : '—'],
      ['Charging point', h('span', {}, h('a', { href: `#/points/${s.charging_point_id}` }, fmt.text(s.charging_point_name)), ` · connector ${fmt.text(s.connector_number)}`)],
      ['Station', h('a', { href: `#/stations/${encodeURIComponent(s.station_id)}` }, s.station_id)],
      ['Started', fmt.dateTime(s.start_time)],
      ['Ended', running ? 'Still charging' : fmt.dateTime(s.end_time)],
      ['Energy', h('span', { class: 'session-energy', dataset: { wh: String(s.energy_wh ?? '') } }, `${fmt.kwh(energyKwh())}${running ? ' so far' : ''}`)],
      ['Meter', `${fmt.decimal(s.meter_start_wh, 0)} Wh → ${s.meter_stop_wh === null || s.meter_stop_wh === undefined ? '…' : `${fmt.decimal(s.meter_stop_wh, 0)} Wh`}`],
      s.stop_reason ? ['Stop reason', s.stop_reason] : null,
      s.transaction_id ? ['OCPP transaction', String(s.transaction_id)] : null,
    ]));
    renderBill();
    renderNotes();
  }

  let liveCost = null;
  function renderBill() {
    const kwh = energyKwh() ?? 0;
    const rate = Number(s.base_charges ?? 0);
    const taxPct = Number(s.tax ?? 0);
    const net = Math.round(kwh * rate * 100) / 100;
    const tax = Math.round(net * taxPct) / 100;
    const running = s.status === 'Active';
    const total = running ? (liveCost ?? fmt.estimatedCost(s)) : s.billed_amount;
    replace(bill,
      h('h3', { class: 'modal-section-title' }, 'Tariff when the session started'),
      details([
        ['Tariff', s.tariff_id ? h('a', { href: `#/tariffs/${s.tariff_id}/edit` }, `#${s.tariff_id}`) : '—'],
        ['Rate', s.base_charges !== null && s.base_charges !== undefined ? `${fmt.money(rate, s.currency)} per kWh` : '—'],
        ['Tax', fmt.percent(s.tax)],
        ['Currency', fmt.text(s.currency)],
      ]),
      h('h3', { class: 'modal-section-title' }, running ? 'Cost so far' : 'Breakdown'),
      h('table', { class: 'data-table bill-table' },
        h('caption', { class: 'sr-only' }, 'Bill breakdown'),
        h('tbody', {},
          h('tr', {}, h('th', { scope: 'row' }, `Energy ${fmt.decimal(kwh, 3)} kWh × ${fmt.money(rate, s.currency)}`), h('td', { class: 'col-num' }, fmt.money(net, s.currency))),
          h('tr', {}, h('th', { scope: 'row' }, `Tax ${fmt.percent(taxPct)}`), h('td', { class: 'col-num' }, fmt.money(tax, s.currency))),
          h('tr', { class: 'bill-total' }, h('th', { scope: 'row' }, running ? 'Total so far' : 'Billed'), h('td', { class: 'col-num bill-amount' }, fmt.money(total, s.currency))))),
      !running && s.billed_amount !== null && Math.abs(Number(s.billed_amount) - (net + tax)) >= 0.01
        ? h('p', { class: 'field-help' }, 'The billed amount differs from energy × rate + tax: the server rounds the bill once, on the whole session.')
        : null);
  }

  function renderNotes() {
    const rows = [
      s.anomaly ? ['Anomaly', `⚠ ${s.anomaly}`] : null,
      s.settled_by && s.settled_by !== 'charger' ? ['Settled', `${s.settled_by}${s.settle_note ? `: ${s.settle_note}` : ''}${s.settled_at ? ` · ${fmt.dateTime(s.settled_at)}` : ''}`] : null,
      s.guard_stop_requested_at ? ['Balance guard', `asked the charger to stop ${fmt.dateTime(s.guard_stop_requested_at)}`] : null,
      s.guard_note ? ['Guard note', s.guard_note] : null,
      s.guard_flagged_at ? ['Flagged for an operator', fmt.dateTime(s.guard_flagged_at)] : null,
    ].filter(Boolean);
    replace(notes, rows.length ? details(rows) : h('p', { class: 'muted' }, 'No anomaly, and the balance guard did not step in.'));
  }

  async function loadLedger() {
    if (!s || !s.customer_id) { replace(ledger, h('p', { class: 'muted' }, 'No customer: nothing was charged to a wallet.')); ledger.setAttribute('aria-busy', 'false'); return; }
    try {
      const [customer, tx, corrections] = await Promise.all([
        api.getCustomer(s.customer_id),
        api.listWalletTransactions(s.customer_id, { limit: 100, sort: '-created_at' }),
        s.status === 'Completed' ? api.listSessionCorrections(sid) : Promise.resolve([]),
      ]);
      if (!ctx.isCurrent()) return;
      const mine = (tx.data || []).filter((t) => t.reference_id === sid || (t.reference_id || '').startsWith(`${sid}:`));
      replace(ledger,
        details([['Customer’s wallet now', h('span', { class: 'wallet-now' }, fmt.money(customer.wallet_balance))]]),
        dataTable({
          caption: 'Wallet entries of this session',
          empty: s.status === 'Active' ? 'Nothing debited yet: the bill is debited when the session ends.' : 'No wallet entry for this session.',
          rows: mine,
          rowKey: (t) => t.id,
          columns: [
            { key: 'created_at', label: 'Date', render: (t) => h('span', { class: 'nowrap' }, fmt.dateTime(t.created_at)) },
            { key: 'transaction_type', label: 'Kind', render: (t) => badge(t.transaction_type) },
            { key: 'amount', label: 'Amount', align: 'num', render: (t) => fmt.money(t.amount) },
            { key: 'balance', label: 'Balance after', align: 'num', render: (t) => fmt.money(t.balance) },
            { key: 'description', label: 'Description', render: (t) => fmt.text(t.description) },
          ],
        }),
        corrections.length ? h('p', { class: 'field-help' }, `${corrections.length} correction${corrections.length === 1 ? '' : 's'} of this bill (see Bill…).`) : null);
    } catch (err) {
      if (ctx.isCurrent()) replace(ledger, h('div', { class: 'banner banner-error', role: 'alert' }, `Could not load the wallet: ${err.message}`));
    } finally {
      ledger.setAttribute('aria-busy', 'false');
    }
  }

  /** Every meter value of the session (pages of 100), as chart points. */
  async function loadMeter() {
    graph.loading();
    try {
      const rows = await api.listAll((q) => api.listMeterValues(sid, q), {}, 20);
      if (!ctx.isCurrent()) return;
      const byTime = new Map();
      for (const m of rows) {
        if (m.phase) continue;
        const t = epoch(m.sampled_at);
        const p = byTime.get(t) || { energy: null, power: null };
        if (m.measurand === ENERGY) p.energy = (toWh(m) - Number(s?.meter_start_wh ?? 0)) / 1000;
        else if (m.measurand === POWER) p.power = toW(m) / 1000;
        else continue;
        byTime.set(t, p);
      }
      const xs = [...byTime.keys()].sort((a, b) => a - b);
      if (s && s.start_time && xs.length) {
        const t0 = epoch(s.start_time);
        if (t0 < xs[0]) { xs.unshift(t0); byTime.set(t0, { energy: 0, power: null }); }
      }
      graph.set(xs, [xs.map((t) => byTime.get(t).energy), xs.map((t) => byTime.get(t).power)]);
    } catch (err) {
      if (ctx.isCurrent()) graph.error(err);
    }
  }

  function reloadAll() { loadSession().then(loadLedger); loadMeter(); }

  live(ctx, {
    'session.updated': (e) => {
      if (!s || e.session_id !== sid) return;
      s.energy_wh = e.energy_wh;
      if (e.running_cost !== undefined && e.running_cost !== null) liveCost = e.running_cost;
      graph.append(epoch(e.at || new Date().toISOString()), [Number(e.energy_wh) / 1000, e.power_w === null || e.power_w === undefined ? null : Number(e.power_w) / 1000]);
      render();
    },
    'session.stopped': (e) => { if (e.session_id === sid) setTimeout(reloadAll, 300); },
  }, reloadAll);

  await loadSession();
  loadLedger();
  loadMeter();
}
