// A list screen: title bar, filter bar, sortable table and pagination, with its state (page,
// limit, sort, filters) kept in the URL hash query so reloads and shared links keep it.
import { h, replace } from './dom.js';
import { dataTable, pagination } from './table.js';
import { filterBar } from './filter-bar.js';
import { confirmDialog } from './modal.js';
import { toast } from './toast.js';

/**
 * ctx: the router context ({path, query, main}).
 * opts: {title, intro, newHref, newLabel, filters: [filter spec], columns: (api) => [column],
 *        fetch: (query) => Promise<{data, pagination}>, defaultSort, caption, empty}
 * `columns` receives {reload} so action cells can refresh the list.
 */
export function listView(ctx, opts) {
  const q = ctx.query;
  const state = {
    page: Math.max(1, Number(q.page) || 1),
    limit: Math.min(100, Math.max(1, Number(q.limit) || 20)),
    sort: q.sort || opts.defaultSort || '',
    filters: {},
  };
  for (const f of opts.filters || []) state.filters[f.name] = q[f.name] || '';

  const results = h('div', { class: 'results', 'aria-live': 'polite', 'aria-busy': 'true' });
  const header = h(
    'div',
    { class: 'page-header' },
    h('div', {}, h('h1', {}, opts.title), opts.intro ? h('p', { class: 'page-intro' }, opts.intro) : null),
    opts.newHref ? h('a', { class: 'btn btn-primary', href: opts.newHref }, opts.newLabel || 'New') : null,
  );
  const bar = opts.filters && opts.filters.length
    ? filterBar({
        fields: opts.filters,
        values: state.filters,
        onChange: (values) => {
          state.filters = values;
          state.page = 1;
          load();
        },
      })
    : null;
  replace(ctx.main, header, bar, results);

  const syncUrl = () => {
    const params = new URLSearchParams();
    if (state.page !== 1) params.set('page', state.page);
    if (state.limit !== 20) params.set('limit', state.limit);
    if (state.sort && state.sort !== (opts.defaultSort || '')) params.set('sort', state.sort);
    for (const [k, v] of Object.entries(state.filters)) if (v) params.set(k, v);
    const s = params.toString();
    history.replaceState(null, '', `#${ctx.path}${s ? `?${s}` : ''}`);
  };

  let seq = 0;
  async function load() {
    const mine = ++seq;
    syncUrl();
    results.setAttribute('aria-busy', 'true');
    results.classList.add('is-loading');
    try {
      const res = await opts.fetch({ page: state.page, limit: state.limit, sort: state.sort || undefined, ...state.filters });
      if (mine !== seq || !ctx.isCurrent()) return;
      const pg = res.pagination || { page: state.page, limit: state.limit, total: res.data.length, pages: 1 };
      if (res.data.length === 0 && state.page > 1 && pg.pages >= 1 && state.page > pg.pages) {
        state.page = pg.pages;
        load();
        return;
      }
      replace(
        results,
        dataTable({
          columns: opts.columns(api),
          rows: res.data,
          sort: state.sort,
          caption: opts.caption || opts.title,
          empty: Object.values(state.filters).some(Boolean) ? 'No results match these filters.' : opts.empty || 'Nothing here yet.',
          onSort: (sort) => {
            state.sort = sort;
            state.page = 1;
            load();
          },
        }),
        pagination({
          page: pg.page,
          limit: pg.limit,
          total: pg.total,
          pages: Math.max(1, pg.pages),
          onPage: (p) => {
            state.page = p;
            load();
          },
          onLimit: (l) => {
            state.limit = l;
            state.page = 1;
            load();
          },
        }),
      );
    } catch (err) {
      if (mine !== seq || !ctx.isCurrent()) return;
      replace(
        results,
        h(
          'div',
          { class: 'banner banner-error', role: 'alert' },
          h('strong', {}, `Could not load ${opts.title.toLowerCase()}: `),
          err.message,
          err.details && err.details.length ? h('ul', {}, err.details.map((d) => h('li', {}, `${d.field}: ${d.problem}`))) : null,
          ' ',
          h('button', { type: 'button', class: 'btn btn-small btn-secondary', onclick: () => load() }, 'Retry'),
        ),
      );
    } finally {
      if (mine === seq) {
        results.setAttribute('aria-busy', 'false');
        results.classList.remove('is-loading');
      }
    }
  }

  /** A delete button that confirms, calls `remove`, toasts and reloads; 409s show in the dialog. */
  const deleteButton = ({ label, what, remove }) =>
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn-small btn-danger-ghost',
        'aria-label': `Delete ${label}`,
        onclick: async () => {
          const ok = await confirmDialog({
            title: `Delete ${what}?`,
            message: `“${label}” will be deleted. This cannot be undone from the admin UI.`,
            confirmLabel: 'Delete',
            danger: true,
            onConfirm: remove,
          });
          if (ok) {
            toast(`Deleted ${what} “${label}”.`, 'success');
            load();
          }
        },
      },
      'Delete',
    );

  const api = { reload: load, deleteButton };
  load();
  return api;
}

/** Edit link + delete button for an actions cell. */
export function rowActions(...nodes) {
  return h('div', { class: 'row-actions' }, nodes);
}
