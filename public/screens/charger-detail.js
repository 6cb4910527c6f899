// One charger: its connection and boot data, its connectors with their live status and active
// session, the common remote commands as buttons (each answer or error said in words), its
// configuration as an editable key table, the command log, reservations and the local list.
// Live through the event stream; viewers see everything and are offered no command.
import { h, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { buildForm } from '../components/form.js';
import { openModal, confirmDialog } from '../components/modal.js';
import { dataTable, pagination } from '../components/table.js';
import { toast } from '../components/toast.js';
import { searchPicker, searchCustomerTags } from '../components/pickers.js';
import { actionLabel, answerText, answeredOk, errorText, logAnswer } from '../components/commands.js';
import * as api from '../services/api.js';
import { messagesDialog } from './chargers.js';
import { connectorColumns, sessionFigures } from '../components/connectors.js';
import { live } from '../services/events.js';
import { ocppEnum } from '../services/enums.js';

const card = (title, id, ...body) => h('section', { class: 'card detail-card', 'aria-labelledby': id }, h('h2', { id, class: 'card-title' }, title), body);
const details = (pairs) => h('dl', { class: 'details' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
const errorBanner = (what, err) => h('div', { class: 'banner banner-error', role: 'alert' }, h('strong', {}, `Could not load ${what}: `), err.message);

export async function show(ctx) {
  const id = ctx.params.id;
  const mayChange = api.canChange();
  const result = h('div', { class: 'command-result', role: 'status', 'aria-live': 'polite' });
  const head = h('div', { class: 'page-header' });
  const about = h('div', { class: 'results', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  const connectors = h('div', { class: 'results', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  const commandBar = h('div', { class: 'command-bar' });
  const config = h('div', { class: 'results' }, h('p', { class: 'muted' }, 'Not read yet.'));
  const log = h('div', { class: 'results', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  const reservations = h('div', { class: 'results', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  const localList = h('div', { class: 'results', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  replace(
    ctx.main,
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/chargers' }, '← Chargers')),
    head,
    result,
    h('div', { class: 'pair-grid' },
      card('Connection and boot data', 'ch-about', about),
      card('Commands', 'ch-commands', mayChange ? commandBar : h('p', { class: 'muted' }, 'Your role may look at this charger but not send it commands.'))),
    card('Connectors', 'ch-connectors', connectors),
    card('Configuration', 'ch-config', config),
    card('Command log', 'ch-log',
      h('p', {}, h('button', { type: 'button', class: 'btn btn-small btn-ghost', onclick: () => messagesDialog({ charge_point_id: id }) }, 'OCPP message log…')),
      log),
    h('div', { class: 'pair-grid' },
      card('Reservations', 'ch-reservations', reservations),
      card('Local authorization list', 'ch-local-list', localList)),
  );

  let charger = null;
  let sessions = [];

  // ---- saying how a command went ----
  function say(text, ok) {
    replace(result, h('div', { class: `banner ${ok ? 'banner-ok' : 'banner-error'}` }, text));
    toast(text, ok ? 'success' : 'error');
  }
  /** Sends a command; says the answer or the error; resolves the record (null on failure). */
  async function send(action, payload) {
    replace(result, h('p', { class: 'loading' }, `${actionLabel(action)}: waiting for the charger…`));
    try {
      const record = await api.sendCommand(id, action, payload);
      say(answerText(record), answeredOk(record));
      loadLog();
      return record;
    } catch (err) {
      say(errorText(action, err), false);
      loadLog();
      if (err.status === 422) throw err;
      return null;
    }
  }

  // ---- loading ----
  async function loadCharger() {
    try {
      const c = await api.getCharger(id);
      const active = c.charging_point_id
        ? await api.listSessions({ status: 'Active', charging_point_id: c.charging_point_id, limit: 100 }).then((r) => r.data || [])
        : [];
      if (!ctx.isCurrent()) return;
      charger = c;
      sessions = active;
      renderHead();
      renderAbout();
      renderConnectors();
    } catch (err) {
      if (!ctx.isCurrent()) return;
      replace(about, errorBanner('the charger', err));
      replace(connectors);
    } finally {
      about.setAttribute('aria-busy', 'false');
      connectors.setAttribute('aria-busy', 'false');
    }
  }

  function renderHead() {
    const c = charger;
    replace(
      head,
      h('div', {},
        h('h1', {}, 'Charger ', h('code', {}, c.charge_point_id)),
        h('p', { class: 'page-intro' },
          h('span', { class: 'charger-connection' }, badge(c.connected ? 'Connected' : 'Offline')), ' ',
          c.connected ? `online since ${fmt.dateTime(c.connected_at)}` : c.disconnected_at ? `offline since ${fmt.dateTime(c.disconnected_at)}` : 'never connected',
          c.last_seen_at ? ` · last seen ${fmt.dateTime(c.last_seen_at)}` : '')),
      h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => { loadCharger(); loadLog(); loadReservations(); loadLocalList(); } }, 'Refresh'),
    );
  }

  function renderAbout() {
    const c = charger;
    const hw = [c.vendor, c.model].filter(Boolean).join(' ');
    replace(about, details([
      ['Connection', c.connected ? `Connected since ${fmt.dateTime(c.connected_at)}${c.node_id ? ` to node ${c.node_id}` : ''}` : `Offline${c.disconnected_at ? ` since ${fmt.dateTime(c.disconnected_at)}` : ''}`],
      ['Last seen', fmt.dateTime(c.last_seen_at)],
      ['Registration', h('span', {}, badge(c.registration_status, 'Not booted'), c.last_boot_at ? ` booted ${fmt.dateTime(c.last_boot_at)}` : '')],
      ['Status', h('span', {}, badge(c.status, 'No status yet'), c.error_code && c.error_code !== 'NoError' ? ` ${c.error_code}` : '')],
      ['Vendor / model', hw || 'Not reported'],
      ['Firmware', fmt.text(c.firmware_version)],
      ['Serial numbers', [c.charge_point_serial_number, c.charge_box_serial_number].filter(Boolean).join(' · ') || '—'],
      c.meter_type || c.meter_serial_number ? ['Meter', [c.meter_type, c.meter_serial_number].filter(Boolean).join(' · ')] : null,
      c.iccid || c.imsi ? ['SIM', [c.iccid, c.imsi].filter(Boolean).join(' · ')] : null,
      ['Adopted by', c.charging_point_id ? h('a', { href: `#/points/${c.charging_point_id}` }, fmt.text(c.charging_point_name)) : h('span', { class: 'muted' }, 'Not adopted')],
      ['Station', c.station_id ? h('a', { href: `#/stations/${encodeURIComponent(c.station_id)}` }, c.station_id) : '—'],
    ]));
  }

  const activeOn = (number) => sessions.find((s) => String(s.connector_number) === String(number));

  function renderConnectors() {
    const rows = charger.connectors || [];
    replace(connectors, dataTable({
      caption: `Connectors of ${id}`,
      empty: charger.charging_point_id ? 'The adopting point has no connectors.' : 'No charging point has adopted this charger, so it has no connectors here.',
      rows,
      rowKey: (k) => k.connector_id,
      columns: [
        ...connectorColumns(activeOn),
        mayChange ? { key: 'actions', label: 'Actions', align: 'actions', render: connectorActions } : null,
      ].filter(Boolean),
    }));
  }

  function connectorActions(k) {
    const n = Number(k.connector_id);
    const s = activeOn(k.connector_id);
    const b = (label, aria, fn, cls = 'btn-secondary') => h('button', { type: 'button', class: `btn btn-small ${cls}`, 'aria-label': `${aria} connector ${n}`, onclick: fn }, label);
    return h('div', { class: 'row-actions' },
      s ? b('Remote stop', 'Remote stop on', () => remoteStop(s), 'btn-danger-ghost') : b('Remote start…', 'Remote start on', () => remoteStart(n)),
      b('Unlock', 'Unlock', () => confirmAndSend('UnlockConnector', { connectorId: n }, `Unlock connector ${n}?`, 'The charger releases the cable of this connector. A running charge there stops.')),
      k.status === 'Unavailable'
        ? b('Make operative', 'Make operative', () => send('ChangeAvailability', { connectorId: n, type: 'Operative' }).then(loadCharger))
        : b('Make inoperative', 'Make inoperative', () => confirmAndSend('ChangeAvailability', { connectorId: n, type: 'Inoperative' }, `Take connector ${n} out of service?`, 'It stays Unavailable until made operative again (after a running charge, if any).')),
      s ? null : b('Reserve…', 'Reserve', () => reserve(n)),
    );
  }

  async function confirmAndSend(action, payload, title, message) {
    let record = null;
    await confirmDialog({ title, message, confirmLabel: actionLabel(action), onConfirm: async () => { record = await send(action, payload); } });
    if (record) loadCharger();
  }

  // ---- commands with a form ----
  /** A dialog holding a form; `fields` are form specs or custom pickers; `submit(values)` sends. */
  function commandDialog({ title, intro, fields, submitLabel, submit }) {
    let modal = null;
    const f = buildForm({
      sections: [{ legend: null, fields }],
      submitLabel,
      onSubmit: async (values) => {
        f.clearErrors();
        const record = await submit(values);
        if (record !== undefined) modal.close('ok');
      },
    });
    const cancel = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Cancel');
    f.form.querySelector('.form-actions').prepend(cancel);
    modal = openModal({ title, content: [intro ? h('p', {}, intro) : null, f.form] });
    modal.dialog.querySelector('.modal-actions').remove();
    cancel.addEventListener('click', () => modal.close('cancel'));
    const first = f.form.querySelector('input, select');
    if (first) first.focus();
    return { modal, form: f };
  }

  const tagField = (name = 'idTag') => ({
    name, type: 'custom', label: 'Customer',
    render: () => searchPicker({ name, label: 'Customer’s id tag', placeholder: 'Name, phone or e-mail', help: 'Search a customer; their id tags are listed.', search: searchCustomerTags }),
  });
  const connectorField = (n) => ({
    name: 'connectorId', label: 'Connector', type: 'select', required: true,
    options: (charger.connectors || []).map((k) => [k.connector_id, `#${k.connector_id} (${k.status || 'no status'})`]),
  });
  const needTag = (values) => {
    if (!values.idTag) {
      const e = new api.ApiError(422, 'validation_failed', 'Choose a customer’s id tag.', [{ field: 'idTag', problem: 'choose a customer’s id tag' }]);
      throw e;
    }
  };

  function remoteStart(n) {
    const d = commandDialog({
      title: `Remote start on connector ${n}`,
      intro: 'The charger starts a charge for this customer’s id tag, as if the tag had been shown to it; the session is billed to their wallet.',
      fields: [connectorField(n), tagField()],
      submitLabel: 'Start charging',
      submit: async (values) => {
        needTag(values);
        await send('RemoteStartTransaction', { connectorId: Number(values.connectorId), idTag: values.idTag });
        setTimeout(loadCharger, 1500);
        return null;
      },
    });
    d.form.form.elements.connectorId.value = String(n);
    d.form.form.querySelector('[data-field="idTag"] input').focus();
  }

  function reserve(n) {
    const inHalfAnHour = new Date(Date.now() + 30 * 60000);
    const local = new Date(inHalfAnHour.getTime() - inHalfAnHour.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
    const d = commandDialog({
      title: `Reserve connector ${n}`,
      intro: 'The connector is held for this customer’s id tag until the expiry time.',
      fields: [connectorField(n), tagField(), { name: 'expiryDate', label: 'Until', type: 'datetime-local', required: true, help: 'Local time.' }],
      submitLabel: 'Reserve',
      submit: async (values) => {
        needTag(values);
        const expiry = values.expiryDate ? new Date(values.expiryDate) : null;
        const rec = await send('ReserveNow', { connectorId: Number(values.connectorId), idTag: values.idTag, expiryDate: expiry && !Number.isNaN(expiry.getTime()) ? expiry.toISOString() : values.expiryDate });
        loadReservations();
        return rec;
      },
    });
    d.form.form.elements.connectorId.value = String(n);
    d.form.form.elements.expiryDate.value = local;
  }

  async function remoteStop(s) {
    let record = null;
    await confirmDialog({
      title: `Stop session ${s.session_id}?`,
      message: `The charger ends the charge of ${fmt.text(s.customer_name)} on connector ${s.connector_number}; the session is billed when the charger reports the stop.`,
      confirmLabel: 'Remote stop',
      danger: true,
      onConfirm: async () => { record = await send('RemoteStopTransaction', { sessionId: s.session_id }); },
    });
    if (record) setTimeout(loadCharger, 1500);
  }

  async function reset() {
    const types = await ocppEnum('ResetType');
    commandDialog({
      title: `Reset ${id}`,
      intro: 'Soft: the charger stops its charges and restarts its software. Hard: it reboots. Running sessions end and are billed.',
      fields: [{ name: 'type', label: 'Kind of reset', type: 'select', required: true, options: types.map((t) => [t, t]) }],
      submitLabel: 'Reset',
      submit: async (values) => send('Reset', { type: values.type }),
    });
  }

  async function trigger() {
    const messages = await ocppEnum('MessageTrigger');
    commandDialog({
      title: 'Trigger a message',
      intro: 'Asks the charger to send one of its messages now.',
      fields: [
        { name: 'requestedMessage', label: 'Message', type: 'select', required: true, options: messages.map((m) => [m, m]) },
        { name: 'connectorId', label: 'Connector', type: 'select', emptyLabel: 'The whole charger', options: (charger.connectors || []).map((k) => [k.connector_id, `#${k.connector_id}`]) },
      ],
      submitLabel: 'Trigger',
      submit: async (values) => send('TriggerMessage', values.connectorId ? { requestedMessage: values.requestedMessage, connectorId: Number(values.connectorId) } : { requestedMessage: values.requestedMessage }),
    });
  }

  async function wholeAvailability() {
    const types = await ocppEnum('AvailabilityType');
    commandDialog({
      title: 'Availability of the whole charger',
      intro: 'Connector 0: every connector of the charger at once.',
      fields: [{ name: 'type', label: 'Availability', type: 'select', required: true, options: types.map((t) => [t, t]) }],
      submitLabel: 'Change availability',
      submit: async (values) => { const r = await send('ChangeAvailability', { connectorId: 0, type: values.type }); setTimeout(loadCharger, 800); return r; },
    });
  }

  async function readConfiguration() {
    const rec = await send('GetConfiguration', {});
    if (rec) loadConfiguration();
  }

  async function sendLocalList(updateType) {
    let record = null;
    await confirmDialog({
      title: `Send the local list (${updateType})?`,
      message: updateType === 'Full'
        ? 'The charger replaces its local authorization list with every id tag evcms would accept now.'
        : 'The charger applies only the changes since the version it has.',
      confirmLabel: `Send ${updateType}`,
      onConfirm: async () => { record = await send('SendLocalList', { updateType }); },
    });
    if (record) loadLocalList();
  }

  if (mayChange) {
    const b = (label, fn, cls = 'btn-secondary') => h('button', { type: 'button', class: `btn ${cls}`, onclick: fn }, label);
    replace(commandBar,
      h('p', { class: 'field-help' }, 'Each command waits for the charger’s answer, shown above and in the command log. Per-connector commands are in the Connectors table.'),
      h('div', { class: 'button-row' },
        b('Reset…', reset),
        b('Trigger message…', trigger),
        b('Availability…', wholeAvailability),
        b('Read configuration', readConfiguration),
        b('Send local list (Full)', () => sendLocalList('Full')),
        b('Send local list (Differential)', () => sendLocalList('Differential'))));
  }

  // ---- configuration: the keys as last read, values editable ----
  async function loadConfiguration() {
    config.setAttribute('aria-busy', 'true');
    try {
      const keys = await api.getConfiguration(id);
      if (!ctx.isCurrent()) return;
      replace(config, dataTable({
        caption: `Configuration of ${id}`,
        empty: mayChange ? 'Not read yet: use “Read configuration”.' : 'Not read yet.',
        rows: keys,
        rowKey: (k) => k.key,
        columns: [
          { key: 'key', label: 'Key', render: (k) => h('code', {}, k.key) },
          {
            key: 'value', label: 'Value',
            render: (k) => {
              if (!mayChange || k.readonly) return h('span', { class: 'config-value' }, fmt.text(k.value), k.readonly ? h('span', { class: 'cell-sub' }, ' read-only') : null);
              const input = h('input', { type: 'text', value: k.value ?? '', 'aria-label': `Value of ${k.key}`, class: 'config-input', maxlength: 500 });
              const save = h('button', { type: 'submit', class: 'btn btn-small btn-secondary', 'aria-label': `Save ${k.key}` }, 'Save');
              return h('form', {
                class: 'config-edit',
                onsubmit: async (e) => {
                  e.preventDefault();
                  save.disabled = true;
                  try {
                    const rec = await send('ChangeConfiguration', { key: k.key, value: input.value });
                    if (rec) loadConfiguration();
                  } catch { /* said above */ } finally { save.disabled = false; }
                },
              }, input, save);
            },
          },
          { key: 'status', label: 'Last change', render: (k) => (k.status ? badge(k.status) : '—') },
        ],
      }));
    } catch (err) {
      if (ctx.isCurrent()) replace(config, errorBanner('the configuration', err));
    } finally {
      config.setAttribute('aria-busy', 'false');
    }
  }

  // ---- the command log ----
  const logState = { page: 1, limit: 10 };
  async function loadLog() {
    log.setAttribute('aria-busy', 'true');
    try {
      const res = await api.listCommands(id, { page: logState.page, limit: logState.limit });
      if (!ctx.isCurrent()) return;
      const pg = res.pagination;
      replace(log, dataTable({
        caption: `Commands sent to ${id}`,
        empty: 'No command sent to this charger yet.',
        rows: res.data,
        rowKey: (c) => c.id,
        columns: [
          { key: 'created_at', label: 'Sent', render: (c) => h('span', { class: 'nowrap' }, fmt.dateTime(c.created_at)) },
          { key: 'action', label: 'Command', render: (c) => h('div', {}, actionLabel(c.action), h('div', { class: 'cell-sub' }, h('code', {}, JSON.stringify(c.request)))) },
          { key: 'status', label: 'Outcome', render: (c) => h('div', {}, badge(c.status === 'Answered' ? (c.response && c.response.status) || 'Answered' : c.status), h('div', { class: 'cell-sub' }, logAnswer(c))) },
          { key: 'requested_by', label: 'By', render: (c) => (c.requested_by && c.requested_by.kind === 'user' ? `User #${c.requested_by.user_id}` : fmt.text(c.requested_by && c.requested_by.kind)) },
        ],
      }), pg.total > logState.limit ? pagination({ page: pg.page, limit: pg.limit, total: pg.total, pages: Math.max(1, pg.pages), onPage: (p) => { logState.page = p; loadLog(); } }) : null);
    } catch (err) {
      if (ctx.isCurrent()) replace(log, errorBanner('the command log', err));
    } finally {
      log.setAttribute('aria-busy', 'false');
    }
  }

  async function loadReservations() {
    reservations.setAttribute('aria-busy', 'true');
    try {
      const rows = await api.listReservations(id);
      if (!ctx.isCurrent()) return;
      replace(reservations, dataTable({
        caption: `Reservations of ${id}`,
        empty: 'No reservations.',
        rows,
        columns: [
          { key: 'id', label: 'ID', render: (r) => String(r.id ?? r.reservation_id) },
          { key: 'connector_id', label: 'Connector', render: (r) => `#${fmt.text(r.connector_id ?? r.connector_number)}` },
          { key: 'id_tag', label: 'Id tag', render: (r) => h('code', {}, fmt.text(r.id_tag)) },
          { key: 'expiry_date', label: 'Until', render: (r) => fmt.dateTime(r.expiry_date ?? r.expires_at) },
          { key: 'status', label: 'Status', render: (r) => badge(r.status) },
        ],
      }));
    } catch (err) {
      if (ctx.isCurrent()) replace(reservations, errorBanner('the reservations', err));
    } finally {
      reservations.setAttribute('aria-busy', 'false');
    }
  }

  async function loadLocalList() {
    localList.setAttribute('aria-busy', 'true');
    try {
      const l = await api.getLocalList(id);
      if (!ctx.isCurrent()) return;
      replace(localList, details([
        ['Version sent', l.version ? `${l.version}${l.sent_at ? ` · ${fmt.dateTime(l.sent_at)}` : ''}` : 'None sent yet'],
        ['Version reported', l.reported_version !== null && l.reported_version !== undefined ? `${l.reported_version}${l.reported_at ? ` · ${fmt.dateTime(l.reported_at)}` : ''}` : '—'],
        ['In sync', l.in_sync ? 'Yes' : 'No'],
        ['Changes waiting', String(l.pending_changes ?? 0)],
        ['Entries on the charger', String((l.entries || []).length)],
      ]));
    } catch (err) {
      if (ctx.isCurrent()) replace(localList, errorBanner('the local list', err));
    } finally {
      localList.setAttribute('aria-busy', 'false');
    }
  }

  // ---- live ----
  const mine = (e) => e && e.charge_point_id === id;
  let pending = null;
  const soon = () => { clearTimeout(pending); pending = setTimeout(() => { if (ctx.isCurrent()) loadCharger(); }, 150); };
  live(ctx, {
    'charger.connected': (e) => { if (mine(e)) soon(); },
    'charger.disconnected': (e) => { if (mine(e)) soon(); },
    'charger.booted': (e) => { if (mine(e)) soon(); },
    'connector.status': (e) => {
      if (!mine(e) || !charger) return;
      const k = (charger.connectors || []).find((c) => String(c.connector_id) === String(e.connector_number));
      if (!k) return;
      Object.assign(k, { status: e.status, error_code: e.error_code, status_at: e.at });
      renderConnectors();
    },
    'session.started': (e) => { if (mine(e)) soon(); },
    'session.stopped': (e) => { if (sessions.some((s) => s.session_id === e.session_id)) soon(); },
    'session.updated': (e) => {
      const s = sessions.find((x) => x.session_id === e.session_id);
      if (!s) return;
      Object.assign(s, { energy_wh: e.energy_wh, running_cost: e.running_cost });
      // In place: rebuilding the table every few seconds would take a click or the focus away.
      const el = connectors.querySelector(`.active-session[data-session="${CSS.escape(s.session_id)}"] .cell-sub`);
      if (el) el.textContent = sessionFigures(s); else renderConnectors();
    },
    'command.answered': (e) => { if (mine(e)) loadLog(); },
    'reservation.changed': (e) => { if (!e || mine(e)) loadReservations(); },
  }, () => { loadCharger(); loadLog(); loadReservations(); loadLocalList(); });

  await loadCharger();
  loadLog();
  loadReservations();
  loadLocalList();
  loadConfiguration();
}

