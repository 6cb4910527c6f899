// Charging sessions with filters, each session's meter values in a dialog, and what an operator
// does to a session: settle one whose Stop never came, correct a settled session's bill.
import { h, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { buildForm, withoutEmpty } from '../components/form.js';
import { listView, rowActions } from '../components/list-view.js';
import { openModal } from '../components/modal.js';
import { dataTable, pagination } from '../components/table.js';
import { toast } from '../components/toast.js';
import * as api from '../services/api.js';
import { enumOptions } from '../services/enums.js';


function duration(s) {
  if (!s.start_time) return '';
  const end = s.end_time ? new Date(s.end_time) : new Date();
  const mins = Math.max(0, Math.round((end - new Date(s.start_time)) / 60000));
  if (!Number.isFinite(mins)) return '';
  const text = mins >= 60 ? `${Math.floor(mins / 60)} h ${mins % 60} min` : `${mins} min`;
  return s.end_time ? text : `${text} so far`;
}

export async function list(ctx) {
  replace(ctx.main, h('p', { class: 'loading' }, 'Loading…'));
  const statuses = await enumOptions('SessionStatus');
  if (!ctx.isCurrent()) return;
  listView(ctx, {
    title: 'Sessions',
    intro: 'Charging sessions reported by the chargers. A session whose charger never sent its Stop can be settled by hand, and a settled bill corrected.',
    defaultSort: '-start_time',
    empty: 'No charging sessions yet.',
    fetch: api.listSessions,
    filters: [
      { name: 'search', label: 'Search', type: 'search', placeholder: 'Session ID or ID tag' },
      { name: 'status', label: 'Status', type: 'select', options: statuses },
      { name: 'station_id', label: 'Station code', type: 'text' },
      { name: 'customer_id', label: 'Customer #', type: 'text', inputmode: 'numeric' },
      { name: 'charging_point_id', label: 'Point #', type: 'text', inputmode: 'numeric' },
      { name: 'start_from', label: 'Started from', type: 'date' },
      { name: 'start_to', label: 'Started to', type: 'date' },
    ],
    columns: (view) => [
      { key: 'session_id', label: 'Session', render: (s) => h('div', {}, h('a', { href: `#/sessions/${encodeURIComponent(s.session_id)}` }, h('code', { class: 'session-id' }, s.session_id)), s.id_tag ? h('div', { class: 'cell-sub' }, `Tag ${s.id_tag}`) : null) },
      {
        key: 'customer_name', label: 'Customer',
        render: (s) => (s.customer_id ? h('a', { href: `#/customers/${s.customer_id}` }, fmt.text(s.customer_name)) : fmt.text(s.customer_name)),
      },
      { key: 'charging_point_name', label: 'Charging point', render: (s) => h('div', {}, fmt.text(s.charging_point_name), h('div', { class: 'cell-sub' }, `${fmt.text(s.station_id)} · connector ${fmt.text(s.connector_number)}`)) },
      { key: 'start_time', label: 'Started', sortable: true, render: (s) => h('div', {}, fmt.dateTime(s.start_time), h('div', { class: 'cell-sub' }, duration(s))) },
      { key: 'end_time', label: 'Ended', render: (s) => fmt.dateTime(s.end_time) },
      { key: 'energy_consumed', label: 'Energy', sortable: 'energy_wh', align: 'num', render: (s) => fmt.kwh(s.energy_consumed) },
      { key: 'billed_amount', label: 'Billed', sortable: true, align: 'num', render: (s) => fmt.money(s.billed_amount, s.currency) },
      { key: 'status', label: 'Status', render: statusCell },
      {
        key: 'actions', label: 'Actions', align: 'actions',
        render: (s) => {
          const mayChange = api.canChange();
          const actions = rowActions(
            h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'aria-label': `Meter values of ${s.session_id}`, onclick: () => meterValues(s) }, 'Meter values'),
            mayChange && s.status === 'Active'
              ? h('button', { type: 'button', class: 'btn btn-small btn-secondary', 'aria-label': `Settle ${s.session_id}`, onclick: () => settleDialog(s, view.reload) }, 'Settle…')
              : null,
            mayChange && s.status === 'Completed'
              ? h('button', { type: 'button', class: 'btn btn-small btn-secondary', 'aria-label': `Bill of ${s.session_id}`, onclick: () => billDialog(s, view.reload) }, 'Bill…')
              : null,
          );
          actions.classList.add('session-actions');
          return actions;
        },
      },
    ],
  });
}

// ---- how a session was settled ----------------------------------------------------------------

/** How a session was closed when not by its charger's own StopTransaction (null when it was). */
function settledText(s) {
  switch (s.settled_by) {
    case null: case undefined: case 'charger': return null;
    case 'operator': return `settled by an operator${s.settle_note ? `: ${s.settle_note}` : ''}`;
    case 'connector_available': return 'closed provisionally: connector Available';
    case 'charger_reboot': return 'closed provisionally: charger rebooted';
    case 'new_transaction': return 'closed by a new transaction on its connector';
    default: return `settled by ${s.settled_by}`;
  }
}

// The note the server writes first into `anomaly` when a session is closed without its charger's
// Stop. The settled line says the same in fewer words, so only what follows it is repeated (if
// the server's wording changes, the note is merely shown twice).
const SETTLE_NOTE = /^(settled by an operator|closed provisionally: .*?billed up to the last meter value|closed without a StopTransaction when a new transaction started on its connector)(; |$)/;

export function statusCell(s) {
  const settled = settledText(s);
  // An anomaly (a lost Stop, a meter that went backwards...) is for an operator to look at.
  const anomaly = s.anomaly && settled ? s.anomaly.replace(SETTLE_NOTE, '') : s.anomaly;
  const when = s.settled_at ? `Settled ${fmt.dateTime(s.settled_at)}` : '';
  return h(
    'div',
    {},
    badge(s.status),
    settled ? h('div', { class: 'cell-sub settled-by', title: [when, s.anomaly].filter(Boolean).join(' — ') || null }, settled) : null,
    anomaly ? h('div', { class: 'cell-sub', title: s.anomaly }, `⚠ ${anomaly}`) : null,
  );
}

const wh = (value) => `${fmt.decimal(value, 0)} Wh`;
const details = (pairs) => h('dl', { class: 'details modal-details' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));

// ---- settling an Active session ---------------------------------------------------------------

/** The energy register at the last reading received, as the server counts it. */
const lastReadingWh = (s) => (s.meter_start_wh ?? 0) + (s.energy_wh ?? 0);

export function settleDialog(s, reload) {
  const last = lastReadingWh(s);
  let modal = null;
  const f = buildForm({
    sections: [
      {
        legend: null,
        fields: [
          {
            name: 'reason', label: 'Reason', type: 'textarea', required: true, maxlength: 255, full: true,
            placeholder: 'e.g. charger offline since the storm; reading from its display',
            help: 'Kept on the session with your name and the time.',
          },
          {
            name: 'meter_stop_wh', label: 'Final meter reading (Wh)', type: 'number', step: '1', min: String(last), inputmode: 'numeric', full: true,
            help: `Optional: the charger's energy register, e.g. from its display. At least ${wh(last)}, the last reading received; left empty, the session is billed up to that reading.`,
          },
        ],
      },
    ],
    submitLabel: 'Settle session',
    onSubmit: async (values) => {
      f.clearErrors();
      let settled;
      try {
        settled = await api.stopSession(s.session_id, withoutEmpty(values));
      } catch (err) {
        // Settled meanwhile (its Stop came, or another operator): the list is out of date.
        if (err.code === 'session_not_active') reload();
        throw err;
      }
      modal.close('ok');
      toast(`Settled session ${s.session_id}: ${fmt.kwh(settled.energy_consumed)}, billed ${fmt.money(settled.billed_amount, settled.currency)}.`, 'success');
      reload();
    },
  });
  // The form's own buttons are the dialog's: Cancel goes beside its submit button.
  const cancel = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Cancel');
  f.form.querySelector('.form-actions').prepend(cancel);
  modal = openModal({
    title: `Settle session ${s.session_id}`,
    content: [
      h('p', {}, 'For a session whose charger will not send its Stop. It is billed now by its tariff and closed as settled by you; a Stop the charger still sends later bills only the difference.'),
      details([
        ['Charging point', `${fmt.text(s.charging_point_name)} · connector ${fmt.text(s.connector_number)}`],
        ['Customer', fmt.text(s.customer_name)],
        ['Started', fmt.dateTime(s.start_time)],
        ['Last reading', `${wh(last)} (${fmt.kwh(s.energy_consumed)} so far)`],
      ]),
      f.form,
    ],
  });
  modal.dialog.querySelector('.modal-actions').remove();
  cancel.addEventListener('click', () => modal.close('cancel'));
  f.form.elements.reason.focus();
}

// ---- correcting a settled session's bill -------------------------------------------------------

const KIND_LABELS = { Refund: 'Refund (credits the wallet)', Charge: 'Extra charge (debits the wallet)' };

export function billDialog(s, reload) {
  const history = h('div', { class: 'results', 'aria-live': 'polite', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  const formSlot = h('div', { class: 'correction-form' }, h('p', { class: 'loading' }, 'Loading…'));
  const settled = settledText(s);
  const close = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Close');
  const modal = openModal({
    title: `Bill of session ${s.session_id}`,
    actions: [close],
    content: [
      details([
        ['Customer', fmt.text(s.customer_name)],
        ['Energy', fmt.kwh(s.energy_consumed)],
        ['Billed', fmt.money(s.billed_amount, s.currency)],
        ['Ended', `${fmt.dateTime(s.end_time)}${settled ? ` · ${settled}` : ''}`],
      ]),
      h('h3', { class: 'modal-section-title' }, 'Corrections'),
      history,
      h('h3', { class: 'modal-section-title' }, 'Add a correction'),
      h('p', { class: 'field-help' }, 'A refund credits the customer’s wallet, up to what is left of the bill; an extra charge debits it. The original debit is never changed.'),
      formSlot,
    ],
  });
  modal.dialog.classList.add('modal-wide');
  close.addEventListener('click', () => modal.close());

  let seq = 0;
  async function loadHistory() {
    const mine = ++seq;
    history.setAttribute('aria-busy', 'true');
    try {
      const rows = await api.listSessionCorrections(s.session_id);
      if (mine !== seq || !modal.dialog.open) return;
      replace(
        history,
        dataTable({
          caption: `Corrections of ${s.session_id}`,
          empty: 'No corrections yet.',
          rows,
          columns: [
            { key: 'created_at', label: 'Date', render: (c) => h('span', { class: 'nowrap' }, fmt.dateTime(c.created_at)) },
            { key: 'kind', label: 'Kind', render: (c) => c.kind },
            {
              key: 'amount', label: 'Amount', align: 'num',
              render: (c) => (c.kind === 'Refund'
                ? h('span', { class: 'amount-credit' }, `+${fmt.money(c.amount, s.currency)}`)
                : h('span', { class: 'amount-debit' }, `−${fmt.money(c.amount, s.currency)}`)),
            },
            { key: 'reason', label: 'Reason', render: (c) => fmt.text(c.reason) },
            { key: 'balance_after', label: 'Wallet after', align: 'num', render: (c) => fmt.money(c.balance_after) },
            { key: 'created_by', label: 'By', render: (c) => (c.created_by ? `User #${c.created_by}` : '—') },
          ],
        }),
      );
    } catch (err) {
      if (mine !== seq) return;
      replace(history, h('div', { class: 'banner banner-error', role: 'alert' }, h('strong', {}, 'Could not load the corrections: '), err.message));
    } finally {
      if (mine === seq) history.setAttribute('aria-busy', 'false');
    }
  }

  function correctionForm(kinds) {
    const f = buildForm({
      sections: [
        {
          legend: null,
          fields: [
            { name: 'kind', label: 'Kind', type: 'select', required: true, options: kinds.map((k) => [k, KIND_LABELS[k] || k]) },
            { name: 'amount', label: `Amount (${s.currency || fmt.WALLET_CURRENCY})`, type: 'number', required: true, step: '0.01', min: '0.01', inputmode: 'decimal' },
            { name: 'reason', label: 'Reason', required: true, maxlength: 255, full: true, placeholder: 'e.g. connector fault: 3 kWh not delivered' },
          ],
        },
      ],
      values: { kind: kinds[0] },
      submitLabel: 'Record correction',
      onSubmit: async (values) => {
        f.clearErrors();
        let c;
        try {
          c = await api.createSessionCorrection(s.session_id, withoutEmpty(values));
        } catch (err) {
          // The wallet cannot pay the charge: that is about the amount.
          if (err.code === 'insufficient_balance') err.details = [{ field: 'amount', problem: err.message }];
          throw err;
        }
        const what = c.kind === 'Refund' ? `Refunded ${fmt.money(c.amount, s.currency)} to` : `Charged ${fmt.money(c.amount, s.currency)} more to`;
        toast(`${what} ${fmt.text(s.customer_name)} — wallet balance ${fmt.money(c.balance_after)}.`, 'success');
        f.form.reset();
        f.form.elements.kind.value = kinds[0];
        loadHistory();
        reload();
      },
    });
    // One row of buttons: Close goes beside the form's submit button.
    f.form.querySelector('.form-actions').prepend(close);
    modal.dialog.querySelector('.modal-actions').remove();
    replace(formSlot, f.form);
  }

  loadHistory();
  api.schemaEnum('CorrectionKind').then(correctionForm, (err) => {
    if (!modal.dialog.open) return;
    replace(formSlot, h('div', { class: 'banner banner-error', role: 'alert' }, h('strong', {}, 'Could not load the form: '), err.message));
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
