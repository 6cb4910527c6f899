// Tariffs: list with filters, create/edit form, delete (409 when points use the tariff).
import { h, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { listView, rowActions } from '../components/list-view.js';
import { resourceForm } from '../components/resource-form.js';
import * as api from '../services/api.js';
import { enumOptions } from '../services/enums.js';

const CURRENCY_NAMES = { INR: 'Indian rupee', USD: 'US dollar' };
const currencyLabel = (c) => (CURRENCY_NAMES[c] ? `${c} — ${CURRENCY_NAMES[c]}` : c);
const enc = encodeURIComponent;

export async function list(ctx) {
  replace(ctx.main, h('p', { class: 'loading' }, 'Loading…'));
  const [statuses, currencies] = await Promise.all([enumOptions('TariffStatus'), enumOptions('Currency')]);
  if (!ctx.isCurrent()) return;
  listView(ctx, {
    title: 'Tariffs',
    intro: 'Energy prices per kWh and tax, assigned to charging points.',
    newHref: '#/tariffs/new',
    newLabel: 'New tariff',
    defaultSort: '-created_at',
    empty: 'No tariffs yet. Create one to price charging.',
    fetch: api.listTariffs,
    filters: [
      { name: 'search', label: 'Search', type: 'search', placeholder: 'Name or code' },
      { name: 'status', label: 'Status', type: 'select', options: statuses },
      { name: 'currency', label: 'Currency', type: 'select', options: currencies },
      { name: 'created_from', label: 'Created from', type: 'date' },
      { name: 'created_to', label: 'Created to', type: 'date' },
    ],
    columns: ({ deleteButton }) => [
      { key: 'tariff_id', label: 'Code', sortable: true, render: (t) => h('code', {}, t.tariff_id) },
      { key: 'tariff_name', label: 'Name', sortable: true, render: (t) => h('a', { href: `#/tariffs/${enc(t.tariff_id)}/edit` }, t.tariff_name) },
      { key: 'base_charges', label: 'Price / kWh', sortable: true, align: 'num', render: (t) => fmt.money(t.base_charges, t.currency) },
      { key: 'tax', label: 'Tax', align: 'num', render: (t) => fmt.percent(t.tax) },
      { key: 'status', label: 'Status', render: (t) => badge(t.status) },
      { key: 'created_by', label: 'Created by', render: (t) => fmt.text(t.created_by) },
      { key: 'created_at', label: 'Created', sortable: true, render: (t) => fmt.dateTime(t.created_at) },
      {
        key: 'actions', label: 'Actions', align: 'actions',
        render: (t) => rowActions(
          h('a', { class: 'btn btn-small btn-secondary', href: `#/tariffs/${enc(t.tariff_id)}/edit`, 'aria-label': `Edit ${t.tariff_name}` }, 'Edit'),
          deleteButton({ label: t.tariff_name, what: 'tariff', remove: () => api.removeTariff(t.tariff_id) }),
        ),
      },
    ],
  });
}

export function form(ctx) {
  const id = ctx.params.id;
  const isEdit = id !== undefined;
  return resourceForm(ctx, {
    title: isEdit ? `Edit tariff ${id}` : 'New tariff',
    backHref: '#/tariffs',
    isEdit,
    load: () => api.getTariff(id),
    defaults: { currency: 'INR', status: 'Active' },
    prepare: async () => {
      const [statuses, currencies] = await Promise.all([enumOptions('TariffStatus'), enumOptions('Currency', currencyLabel)]);
      return { statuses, currencies };
    },
    sections: (tariff, { statuses, currencies }) => [
      {
        legend: 'Tariff',
        fields: [
          { name: 'tariff_id', label: 'Tariff code', required: !isEdit, readonly: isEdit, maxlength: 255, placeholder: 'e.g. TRF-STD-INR', help: isEdit ? 'The code cannot be changed.' : 'Letters, digits and - _ . : — cannot be changed later.' },
          { name: 'tariff_name', label: 'Name', required: true, maxlength: 255, placeholder: 'e.g. Standard AC' },
          { name: 'status', label: 'Status', type: 'select', required: true, options: statuses, help: 'Only active tariffs can be assigned to charging points.' },
          { name: 'created_by', label: 'Created by', maxlength: 255 },
        ],
      },
      {
        legend: 'Price',
        fields: [
          { name: 'currency', label: 'Currency', type: 'select', required: true, options: currencies },
          { name: 'base_charges', label: 'Base charge per kWh', type: 'number', required: true, step: '0.01', min: 0, inputmode: 'decimal', help: 'Before tax, two decimals at most.' },
          { name: 'tax', label: 'Tax (%)', type: 'number', required: true, step: '0.01', min: 0, max: 100, inputmode: 'decimal', help: '0 to 100.' },
        ],
      },
    ],
    save: (body) => (isEdit ? api.updateTariff(id, body) : api.createTariff(body)),
    saved: (t) => `Tariff “${t.tariff_name}” ${isEdit ? 'saved' : 'created'}.`,
    afterSave: () => '#/tariffs',
  });
}
