// Pickers that search the API as the operator types instead of loading every row: a customer's
// id tag (for remote start and reservations), a station, a tariff. Each renders a labelled search
// input with a result list (a <select> sized to show the matches, so it works by keyboard and
// with screen readers without a custom listbox), and reads back the chosen value.
import { h, nextId, replace } from './dom.js';
import * as api from '../services/api.js';

/**
 * A search-as-you-type picker. spec: {label, placeholder, help, search: async (text) → [[value,
 * label]], initial?: [value, label], name}. Returns {el, read(), focus(), set([value,label])}.
 * The element carries data-field=name for inline errors.
 */
export function searchPicker({ name, label, placeholder, help, search, minChars = 1, initial = null, onPick }) {
  const inputId = nextId(`pick-${name}`);
  const listId = nextId(`pick-${name}-list`);
  const status = h('p', { class: 'field-help picker-status', 'aria-live': 'polite' }, help || '');
  const input = h('input', { id: inputId, type: 'search', autocomplete: 'off', placeholder, 'aria-describedby': `${listId}-label` });
  const list = h('select', { id: listId, class: 'picker-results', size: 4, 'aria-label': `${label}: matches`, name });
  let chosen = initial;
  if (initial) list.append(h('option', { value: initial[0], selected: true }, initial[1]));
  let seq = 0;
  let timer = null;
  async function run() {
    const text = input.value.trim();
    const mine = ++seq;
    if (text.length < minChars) { status.textContent = help || ''; return; }
    status.textContent = 'Searching…';
    try {
      const rows = await search(text);
      if (mine !== seq) return;
      replace(list, rows.map(([v, l]) => h('option', { value: String(v) }, l)));
      if (rows.length === 1) { list.value = String(rows[0][0]); pick(); }
      status.textContent = rows.length ? `${rows.length} match${rows.length === 1 ? '' : 'es'}: choose one.` : `Nothing matches “${text}”.`;
    } catch (err) {
      if (mine === seq) status.textContent = `Could not search: ${err.message}`;
    }
  }
  function pick() {
    const opt = list.selectedOptions[0];
    chosen = opt ? [opt.value, opt.textContent] : null;
    if (onPick) onPick(chosen);
  }
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(run, 250); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); clearTimeout(timer); run(); }
    if (e.key === 'ArrowDown' && list.options.length) { e.preventDefault(); list.focus(); if (list.selectedIndex < 0) { list.selectedIndex = 0; pick(); } }
  });
  list.addEventListener('change', pick);
  const el = h(
    'div',
    { class: 'field field-picker field-full', dataset: { field: name } },
    h('label', { for: inputId }, label),
    input,
    list,
    h('span', { id: `${listId}-label`, class: 'sr-only' }, 'Type to search; the matches are listed below.'),
    status,
    h('p', { class: 'field-error', hidden: true }),
  );
  return { el, read: () => (chosen ? chosen[0] : null), focus: () => input.focus(), input, list };
}

/** Id tags of customers whose name, phone or e-mail matches: [[idTag, "Name · TAG"]]. Blocked tags are left out. */
export async function searchCustomerTags(text) {
  const customers = (await api.listCustomers({ search: text, limit: 8 })).data || [];
  const out = [];
  await Promise.all(customers.map(async (c) => {
    const tags = (await api.listCustomerIdTags(c.id, { limit: 20 })).data || [];
    for (const t of tags) {
      if (t.blocked) continue;
      out.push([t.id_tag, `${c.customer_name} · ${t.id_tag} · wallet ${Number(c.wallet_balance).toFixed(2)}`]);
    }
  }));
  return out.sort((a, b) => a[1].localeCompare(b[1]));
}

/** Stations whose code or name matches: [[station_id, "Name (CODE)"]]. */
export async function searchStations(text) {
  const rows = (await api.listStations({ search: text, limit: 10 })).data || [];
  return rows.map((s) => [s.station_id, `${s.station_name} (${s.station_id})`]);
}

/** Tariffs whose code or name matches: [[id, "Name (CODE)"]]. */
export async function searchTariffs(text) {
  const rows = (await api.listTariffs({ search: text, limit: 10 })).data || [];
  return rows.map((t) => [t.id, `${t.tariff_name} (${t.tariff_id})`]);
}

/** Active tariffs whose code or name matches, with their price: [[id, "Name (CODE) · ₹18.50/kWh"]]. */
export async function searchActiveTariffs(text) {
  const rows = (await api.listTariffs({ search: text, status: 'Active', limit: 10 })).data || [];
  return rows.map((t) => [t.id, tariffLabel(t)]);
}

const tariffLabel = (t) => `${t.tariff_name} (${t.tariff_id}) · ${Number(t.base_charges).toFixed(2)} ${t.currency}/kWh${t.status === 'Active' ? '' : ' — inactive'}`;

/**
 * The tariff whose numeric id is `id` (null when there is none). The API reads a tariff by its
 * code only, so the tariffs are paged through (there are few) until it is found.
 */
export async function tariffById(id) {
  for (let page = 1; page <= 10; page += 1) {
    const res = await api.listTariffs({ page, limit: 100 });
    const t = (res.data || []).find((x) => String(x.id) === String(id));
    if (t) return t;
    if (!res.pagination || page >= res.pagination.pages) break;
  }
  return null;
}

/**
 * A search picker as a form field (type 'custom' of components/form.js), for a station or a
 * tariff: `value` is the current choice, whose label `describe(value)` resolves (async) for an
 * edit form. `clearLabel` offers a button that chooses nothing (read() then gives null).
 */
export function pickerField({ name, label, placeholder, help, search, value, describe, clearLabel }) {
  const has = value !== null && value !== undefined && value !== '';
  let cleared = false;
  const p = searchPicker({ name, label, placeholder, help, search, initial: has ? [String(value), String(value)] : null, onPick: () => { cleared = false; } });
  if (has && describe) {
    describe(value).then((text) => {
      const opt = [...p.list.options].find((o) => o.value === String(value));
      if (opt && text) opt.textContent = text;
    }).catch(() => {});
  }
  if (clearLabel) {
    const clear = h('button', { type: 'button', class: 'btn btn-small btn-ghost picker-clear' }, clearLabel);
    clear.addEventListener('click', () => {
      cleared = true;
      p.input.value = '';
      replace(p.list, h('option', { value: '', selected: true }, clearLabel));
      p.list.value = '';
    });
    p.el.querySelector('.picker-status').before(clear);
  }
  return { el: p.el, read: () => (cleared ? null : p.read()), focus: p.focus };
}

/** "Name (CODE) · price" of the tariff with numeric id `id`, for pickerField's describe. */
export const describeTariff = async (id) => { const t = await tariffById(id); return t ? tariffLabel(t) : `Tariff #${id}`; };

/** "Name (CODE)" of the station `code`, for pickerField's describe. */
export const describeStation = async (code) => { const s = await api.getStation(code); return `${s.station_name} (${s.station_id})`; };
