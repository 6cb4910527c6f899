// Customers: list with search, create/edit form, delete.
import { h } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { listView, rowActions } from '../components/list-view.js';
import { resourceForm } from '../components/resource-form.js';
import * as api from '../services/api.js';

export function list(ctx) {
  listView(ctx, {
    title: 'Customers',
    intro: 'Drivers with a prepaid wallet.',
    newHref: '#/customers/new',
    newLabel: 'New customer',
    defaultSort: '-created_at',
    empty: 'No customers yet.',
    fetch: api.listCustomers,
    filters: [
      { name: 'search', label: 'Search', type: 'search', placeholder: 'Name, phone or email' },
      { name: 'created_from', label: 'Created from', type: 'date' },
      { name: 'created_to', label: 'Created to', type: 'date' },
    ],
    columns: ({ deleteButton }) => [
      { key: 'customer_name', label: 'Name', sortable: true, render: (c) => h('a', { href: `#/customers/${c.id}` }, c.customer_name) },
      { key: 'phone', label: 'Phone', render: (c) => fmt.text(c.phone) },
      { key: 'email', label: 'Email', render: (c) => fmt.text(c.email) },
      { key: 'default_vehicle', label: 'Vehicle', render: (c) => fmt.text(c.default_vehicle) },
      { key: 'wallet_balance', label: 'Wallet', sortable: true, align: 'num', render: (c) => fmt.money(c.wallet_balance) },
      { key: 'created_at', label: 'Created', sortable: true, render: (c) => fmt.date(c.created_at) },
      {
        key: 'actions', label: 'Actions', align: 'actions',
        render: (c) => rowActions(
          h('a', { class: 'btn btn-small btn-ghost', href: `#/customers/${c.id}`, 'aria-label': `Wallet of ${c.customer_name}` }, 'Wallet'),
          h('a', { class: 'btn btn-small btn-secondary', href: `#/customers/${c.id}/edit`, 'aria-label': `Edit ${c.customer_name}` }, 'Edit'),
          deleteButton({ label: c.customer_name, what: 'customer', remove: () => api.removeCustomer(c.id) }),
        ),
      },
    ],
  });
}

export function form(ctx) {
  const id = ctx.params.id;
  const isEdit = id !== undefined;
  return resourceForm(ctx, {
    title: isEdit ? 'Edit customer' : 'New customer',
    backHref: isEdit ? `#/customers/${encodeURIComponent(id)}` : '#/customers',
    isEdit,
    load: () => api.getCustomer(id),
    sections: () => [
      {
        legend: 'Customer',
        fields: [
          { name: 'customer_name', label: 'Name', required: true, maxlength: 255, autocomplete: 'name' },
          { name: 'phone', label: 'Phone', type: 'tel', required: true, maxlength: 20, autocomplete: 'tel', help: 'Unique among customers.' },
          { name: 'email', label: 'Email', type: 'email', maxlength: 255, autocomplete: 'email' },
          { name: 'default_vehicle', label: 'Default vehicle', maxlength: 255, placeholder: 'e.g. Tata Nexon EV' },
        ],
      },
    ],
    save: (body) => (isEdit ? api.updateCustomer(id, body) : api.createCustomer(body)),
    saved: (c) => `Customer “${c.customer_name}” ${isEdit ? 'saved' : 'created'}.`,
    afterSave: (c) => `#/customers/${c.id}`,
  });
}
