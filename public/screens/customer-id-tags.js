// The id tags panel of the customer detail screen: the customer's OCPP idTags (RFID cards, app
// tokens), a form to add one, and block/unblock and delete per tag.
import { h, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { buildForm } from '../components/form.js';
import { dataTable, pagination } from '../components/table.js';
import { confirmDialog } from '../components/modal.js';
import { toast } from '../components/toast.js';
import * as api from '../services/api.js';

function tagState(t) {
  if (t.blocked) return 'Blocked';
  if (t.expires_at && new Date(t.expires_at) <= new Date()) return 'Expired';
  return 'Active';
}

/** A date (YYYY-MM-DD) as the end of that day in the operator's time zone, RFC 3339 in UTC. */
function endOfDay(date) {
  const d = new Date(`${date}T23:59:59`);
  return Number.isNaN(d.getTime()) ? date : d.toISOString();
}

/** The card; `ctx` is the screen's router context. */
export function idTagsCard(customer, ctx) {
  const results = h('div', { class: 'results', 'aria-live': 'polite' });
  const state = { page: 1, limit: 20 };
  let seq = 0;

  async function setBlocked(t, blocked) {
    try {
      await api.updateIdTag(t.id_tag, { blocked });
      toast(`${blocked ? 'Blocked' : 'Unblocked'} id tag ${t.id_tag}.`, 'success');
    } catch (err) {
      toast(`Could not change id tag ${t.id_tag}: ${err.message}`, 'error');
    }
    reload();
  }

  async function remove(t) {
    const ok = await confirmDialog({
      title: 'Delete id tag?',
      message: `“${t.id_tag}” will no longer be accepted by chargers, and may then be given to another customer.`,
      confirmLabel: 'Delete',
      danger: true,
      onConfirm: () => api.removeIdTag(t.id_tag),
    });
    if (ok) {
      toast(`Deleted id tag ${t.id_tag}.`, 'success');
      reload();
    }
  }

  async function reload(page = state.page) {
    state.page = page;
    const mine = ++seq;
    results.setAttribute('aria-busy', 'true');
    try {
      const res = await api.listCustomerIdTags(customer.id, { page: state.page, limit: state.limit });
      if (mine !== seq || !ctx.isCurrent()) return;
      const pg = res.pagination || { page: 1, limit: state.limit, total: res.data.length, pages: 1 };
      replace(
        results,
        dataTable({
          caption: 'Id tags',
          empty: 'No id tags yet.',
          rows: res.data,
          rowKey: (t) => t.id_tag,
          columns: [
            { key: 'id_tag', label: 'Id tag', render: (t) => h('code', {}, t.id_tag) },
            { key: 'state', label: 'Status', render: (t) => badge(tagState(t)) },
            { key: 'expires_at', label: 'Expires', render: (t) => (t.expires_at ? fmt.dateTime(t.expires_at) : h('span', { class: 'muted' }, 'Never')) },
            { key: 'created_at', label: 'Added', render: (t) => fmt.date(t.created_at) },
            {
              key: 'actions', label: 'Actions', align: 'actions',
              render: (t) => h(
                'div',
                { class: 'row-actions' },
                h('button', { type: 'button', class: 'btn btn-small btn-secondary', 'aria-label': `${t.blocked ? 'Unblock' : 'Block'} ${t.id_tag}`, onclick: () => setBlocked(t, !t.blocked) }, t.blocked ? 'Unblock' : 'Block'),
                h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost', 'aria-label': `Delete ${t.id_tag}`, onclick: () => remove(t) }, 'Delete'),
              ),
            },
          ],
        }),
        pg.total > state.limit
          ? pagination({ page: pg.page, limit: pg.limit, total: pg.total, pages: Math.max(1, pg.pages), onPage: (p) => reload(p) })
          : null,
      );
    } catch (err) {
      if (mine !== seq) return;
      replace(results, h('div', { class: 'banner banner-error', role: 'alert' }, h('strong', {}, 'Could not load id tags: '), err.message));
    } finally {
      if (mine === seq) results.setAttribute('aria-busy', 'false');
    }
  }

  const add = buildForm({
    sections: [
      {
        legend: null,
        fields: [
          { name: 'id_tag', label: 'Id tag', required: true, maxlength: 20, placeholder: 'e.g. 04A2B3C4D5E6F7', help: 'The card UID or app token: up to 20 characters, no spaces.' },
          { name: 'expires_at', label: 'Valid until', type: 'date', help: 'Optional: accepted until the end of this day.' },
        ],
      },
    ],
    submitLabel: 'Add id tag',
    onSubmit: async (v) => {
      add.clearErrors();
      const body = { id_tag: v.id_tag };
      if (v.expires_at) body.expires_at = endOfDay(v.expires_at);
      const tag = await api.createIdTag(customer.id, body);
      toast(`Added id tag ${tag.id_tag}.`, 'success');
      add.form.reset();
      reload(1);
    },
  });

  const card = h(
    'section',
    { class: 'card', id: 'cust-id-tags', 'aria-labelledby': 'cust-id-tags-title' },
    h('h2', { id: 'cust-id-tags-title', class: 'card-title' }, 'Id tags'),
    h('p', { class: 'field-help' }, 'RFID cards and app tokens that charge to this wallet.'),
    add.form,
    results,
  );
  return { card, reload };
}
