// Data table with sortable headers, and a pagination bar.
import { h } from './dom.js';

/**
 * columns: [{key, label, sortable?: bool | 'field', align?: 'num' | 'actions', render?(row) → node|text}]
 * sort: "field" or "-field" (current); onSort(newSort).
 * Returns a scrollable wrapper holding the <table>.
 */
export function dataTable({ columns, rows, sort = '', onSort, caption, empty = 'Nothing to show.', rowKey }) {
  const desc = sort.startsWith('-');
  const sortField = desc ? sort.slice(1) : sort;
  const head = h(
    'tr',
    {},
    columns.map((col) => {
      const field = col.sortable === true ? col.key : col.sortable;
      const cls = col.align ? `col-${col.align}` : null;
      if (!field || !onSort) return h('th', { scope: 'col', class: cls }, col.label);
      const active = field === sortField;
      const ariaSort = active ? (desc ? 'descending' : 'ascending') : 'none';
      const next = active && !desc ? `-${field}` : field;
      const arrow = active ? (desc ? '▼' : '▲') : '↕';
      return h(
        'th',
        { scope: 'col', class: cls, 'aria-sort': ariaSort },
        h(
          'button',
          {
            type: 'button',
            class: `sort-btn${active ? ' is-active' : ''}`,
            onclick: () => onSort(next),
            title: `Sort by ${col.label}`,
          },
          col.label,
          h('span', { class: 'sort-arrow', 'aria-hidden': 'true' }, arrow),
        ),
      );
    }),
  );
  const body = h('tbody');
  if (!rows || rows.length === 0) {
    body.appendChild(h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, empty)));
  } else {
    for (const row of rows) {
      body.appendChild(
        h(
          'tr',
          rowKey ? { dataset: { key: String(rowKey(row)) } } : {},
          columns.map((col) => {
            const v = col.render ? col.render(row) : row[col.key];
            return h('td', { class: col.align ? `col-${col.align}` : null, 'data-label': col.label }, v ?? '—');
          }),
        ),
      );
    }
  }
  // A table wider than its box scrolls sideways: the box takes focus so a keyboard can scroll it.
  return h(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption || 'Table' },
    h('table', { class: 'data-table' }, caption ? h('caption', { class: 'sr-only' }, caption) : null, h('thead', {}, head), body),
  );
}

const LIMITS = [10, 20, 50, 100];

/** Pagination bar: "Showing 21–40 of 134", page buttons, page-size select. */
export function pagination({ page = 1, limit = 20, total = 0, pages = 1, onPage, onLimit }) {
  const from = total === 0 ? 0 : (page - 1) * limit + 1;
  const to = Math.min(page * limit, total);
  const btn = (label, target, opts = {}) =>
    h(
      'button',
      {
        type: 'button',
        class: `page-btn${opts.current ? ' is-current' : ''}`,
        disabled: opts.disabled || opts.current,
        'aria-current': opts.current ? 'page' : null,
        'aria-label': opts.aria || `Page ${target}`,
        onclick: () => onPage(target),
      },
      label,
    );
  const numbers = [];
  const shown = new Set([1, pages, page - 1, page, page + 1].filter((p) => p >= 1 && p <= pages));
  let last = 0;
  for (const p of [...shown].sort((a, b) => a - b)) {
    if (p - last > 1) numbers.push(h('span', { class: 'page-gap', 'aria-hidden': 'true' }, '…'));
    numbers.push(btn(String(p), p, { current: p === page }));
    last = p;
  }
  const sizeSelect = h(
    'select',
    { class: 'page-size', 'aria-label': 'Rows per page', onchange: (e) => onLimit(Number(e.target.value)) },
    [...new Set([...LIMITS, limit])].sort((a, b) => a - b).map((n) => h('option', { value: String(n), selected: n === limit }, `${n} / page`)),
  );
  return h(
    'nav',
    { class: 'pagination', 'aria-label': 'Pagination' },
    h('p', { class: 'page-info' }, total === 0 ? 'No results' : `Showing ${from}–${to} of ${total}`),
    h(
      'div',
      { class: 'page-controls' },
      btn('‹ Prev', page - 1, { disabled: page <= 1, aria: 'Previous page' }),
      numbers,
      btn('Next ›', page + 1, { disabled: page >= pages, aria: 'Next page' }),
      onLimit ? sizeSelect : null,
    ),
  );
}
