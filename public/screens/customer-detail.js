// Customer detail: profile, wallet balance, wallet ledger and a form to credit (or debit) it.
import { h, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { buildForm } from '../components/form.js';
import { dataTable, pagination } from '../components/table.js';
import { filterBar } from '../components/filter-bar.js';
import { confirmDialog } from '../components/modal.js';
import { toast } from '../components/toast.js';
import * as api from '../services/api.js';
import { enumOptions } from '../services/enums.js';
import { idTagsCard } from './customer-id-tags.js';

export async function show(ctx) {
  const id = ctx.params.id;
  const back = h('a', { class: 'back-link', href: '#/customers' }, '‹ Customers');
  replace(ctx.main, back, h('p', { class: 'loading' }, 'Loading…'));
  let customer;
  let types;
  try {
    [customer, types] = await Promise.all([api.getCustomer(id), enumOptions('WalletTransactionType')]);
  } catch (err) {
    if (!ctx.isCurrent()) return;
    replace(ctx.main, back, h('div', { class: 'banner banner-error', role: 'alert' }, h('strong', {}, err.status === 404 ? 'Customer not found. ' : 'Could not load the customer. '), err.message));
    return;
  }
  if (!ctx.isCurrent()) return;

  const balance = h('p', { class: 'balance-amount' });
  const setBalance = (value) => {
    balance.textContent = fmt.money(value);
    balance.classList.toggle('is-zero', !Number(value));
  };
  setBalance(customer.wallet_balance);

  const del = h('button', { type: 'button', class: 'btn btn-danger-ghost' }, 'Delete');
  del.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Delete customer?',
      message: `“${customer.customer_name}” will be deleted. This cannot be undone from the admin UI.`,
      confirmLabel: 'Delete',
      danger: true,
      onConfirm: () => api.removeCustomer(customer.id),
    });
    if (ok) {
      toast(`Deleted customer “${customer.customer_name}”.`, 'success');
      location.hash = '#/customers';
    }
  });

  const dl = (pairs) => h('dl', { class: 'details' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  const profile = h(
    'section',
    { class: 'card', 'aria-labelledby': 'cust-profile' },
    h('h2', { id: 'cust-profile', class: 'card-title' }, 'Profile'),
    dl([
      ['Phone', fmt.text(customer.phone)],
      ['Email', fmt.text(customer.email)],
      ['Default vehicle', fmt.text(customer.default_vehicle)],
      ['Customer since', fmt.dateTime(customer.created_at)],
    ]),
  );
  const wallet = h(
    'section',
    { class: 'card wallet-card', 'aria-labelledby': 'cust-wallet' },
    h('h2', { id: 'cust-wallet', class: 'card-title' }, 'Wallet balance'),
    balance,
    h('a', { class: 'btn btn-small btn-ghost', href: `#/sessions?customer_id=${customer.id}` }, 'Charging sessions ›'),
  );

  // ---- credit form -----------------------------------------------------------------------
  const credit = buildForm({
    sections: [
      {
        legend: null,
        fields: [
          { name: 'transaction_type', label: 'Type', type: 'select', required: true, options: types, help: 'Debit only for manual corrections.' },
          { name: 'amount', label: `Amount (${fmt.WALLET_CURRENCY})`, type: 'number', required: true, step: '0.01', min: '0.01', inputmode: 'decimal' },
          { name: 'description', label: 'Description', maxlength: 255, placeholder: 'e.g. Top-up at counter' },
          { name: 'reference_id', label: 'Reference', maxlength: 255, placeholder: 'Receipt / payment ID', help: 'A reference can be used once per type; repeats are refused.' },
        ],
      },
    ],
    values: { transaction_type: 'Credit' },
    submitLabel: 'Apply to wallet',
    onSubmit: async (v) => {
      credit.clearErrors();
      const body = {};
      for (const [k, val] of Object.entries(v)) if (val !== null) body[k] = val;
      let tx;
      try {
        tx = await api.createWalletTransaction(customer.id, body);
      } catch (err) {
        if (err.code === 'insufficient_balance') {
          err.details = [{ field: 'amount', problem: err.message }];
        }
        throw err;
      }
      const newBalance = tx && tx.balance !== undefined ? tx.balance : null;
      if (newBalance !== null) setBalance(newBalance);
      else api.getCustomer(customer.id).then((c) => setBalance(c.wallet_balance)).catch(() => {});
      toast(`${body.transaction_type === 'Debit' ? 'Debited' : 'Credited'} ${fmt.money(body.amount)} — new balance ${fmt.money(newBalance ?? '')}.`, 'success');
      credit.form.reset();
      credit.form.elements.transaction_type.value = 'Credit';
      ledger.reload(1);
    },
  });
  const creditCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'cust-credit' },
    h('h2', { id: 'cust-credit', class: 'card-title' }, 'Credit wallet'),
    credit.form,
  );

  // ---- ledger --------------------------------------------------------------------------------
  const ledgerResults = h('div', { class: 'results', 'aria-live': 'polite' });
  const ledger = ledgerView(customer.id, ledgerResults, ctx);
  const ledgerCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'cust-ledger' },
    h('h2', { id: 'cust-ledger', class: 'card-title' }, 'Wallet transactions'),
    filterBar({
      fields: [
        { name: 'transaction_type', label: 'Type', type: 'select', options: types },
        { name: 'created_from', label: 'From', type: 'date' },
        { name: 'created_to', label: 'To', type: 'date' },
      ],
      onChange: (values) => ledger.filter(values),
    }),
    ledgerResults,
  );

  const idTags = idTagsCard(customer, ctx);

  replace(
    ctx.main,
    h(
      'div',
      { class: 'page-header' },
      h('div', {}, back, h('h1', {}, customer.customer_name), h('p', { class: 'page-intro' }, `Customer #${customer.id}`)),
      h('div', { class: 'header-actions' }, h('a', { class: 'btn btn-secondary', href: `#/customers/${customer.id}/edit` }, 'Edit'), del),
    ),
    h('div', { class: 'detail-grid' }, wallet, profile, creditCard),
    ledgerCard,
    idTags.card,
  );
  ledger.reload(1);
  idTags.reload(1);
}

function ledgerView(customerId, container, ctx) {
  const state = { page: 1, limit: 20, sort: '-created_at', filters: {} };
  let seq = 0;
  async function reload(page = state.page) {
    state.page = page;
    const mine = ++seq;
    container.setAttribute('aria-busy', 'true');
    try {
      const res = await api.listWalletTransactions(customerId, { page: state.page, limit: state.limit, sort: state.sort, ...state.filters });
      if (mine !== seq || !ctx.isCurrent()) return;
      const pg = res.pagination || { page: 1, limit: state.limit, total: res.data.length, pages: 1 };
      replace(
        container,
        dataTable({
          caption: 'Wallet transactions',
          empty: 'No wallet transactions yet.',
          rows: res.data,
          sort: state.sort,
          onSort: (sort) => { state.sort = sort; reload(1); },
          columns: [
            { key: 'created_at', label: 'Date', sortable: true, render: (t) => fmt.dateTime(t.created_at) },
            { key: 'transaction_type', label: 'Type', render: (t) => badge(t.transaction_type) },
            { key: 'amount', label: 'Amount', sortable: true, align: 'num', render: (t) => h('span', { class: t.transaction_type === 'Debit' ? 'amount-debit' : 'amount-credit' }, `${t.transaction_type === 'Debit' ? '−' : '+'}${fmt.money(t.amount)}`) },
            { key: 'balance', label: 'Balance after', align: 'num', render: (t) => fmt.money(t.balance) },
            { key: 'description', label: 'Description', render: (t) => fmt.text(t.description) },
            { key: 'reference_id', label: 'Reference', render: (t) => (t.reference_id ? h('code', {}, t.reference_id) : '—') },
          ],
        }),
        pagination({
          page: pg.page, limit: pg.limit, total: pg.total, pages: Math.max(1, pg.pages),
          onPage: (p) => reload(p),
          onLimit: (l) => { state.limit = l; reload(1); },
        }),
      );
    } catch (err) {
      if (mine !== seq) return;
      replace(container, h('div', { class: 'banner banner-error', role: 'alert' }, h('strong', {}, 'Could not load transactions: '), err.message));
    } finally {
      if (mine === seq) container.setAttribute('aria-busy', 'false');
    }
  }
  return {
    reload,
    filter: (values) => {
      state.filters = values;
      reload(1);
    },
  };
}
