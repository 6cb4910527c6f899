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
