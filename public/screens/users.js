// Users and organizations, for admins: the accounts with their role and organization (a user
// bound to an organization sees only its stations), a form to add one, activate or deactivate
// it; the organizations with a form to add one. Roles come from the API description (`Role`).
import { h, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { buildForm, withoutEmpty } from '../components/form.js';
import { listView, rowActions } from '../components/list-view.js';
import { dataTable } from '../components/table.js';
import { toast } from '../components/toast.js';
import * as api from '../services/api.js';
import { schemaEnum } from '../services/enums.js';

export async function list(ctx) {
  if (!api.isAdmin()) {
    replace(ctx.main, h('div', { class: 'card' }, h('h1', {}, 'Users and organizations'), h('p', {}, 'Only an admin manages users and organizations.')));
    return;
  }
  const [roles, orgs] = await Promise.all([schemaEnum('Role'), api.listOrganizations()]);
  if (!ctx.isCurrent()) return;
  fmt.rememberOrganizations(orgs);
  const usersSlot = h('div');
  const orgsBox = h('div', { class: 'results' });
  const newUser = h('div');
  const newOrg = h('div');
  replace(ctx.main, usersSlot,
    h('section', { class: 'card', 'aria-labelledby': 'us-new' }, h('h2', { id: 'us-new', class: 'card-title' }, 'Add a user'), newUser),
    h('div', { class: 'pair-grid' },
      h('section', { class: 'card', 'aria-labelledby': 'us-orgs' }, h('h2', { id: 'us-orgs', class: 'card-title' }, 'Organizations'), orgsBox),
      h('section', { class: 'card', 'aria-labelledby': 'us-new-org' }, h('h2', { id: 'us-new-org', class: 'card-title' }, 'Add an organization'), newOrg)));

  const view = listView({ ...ctx, main: usersSlot }, {
    title: 'Users',
    intro: 'Accounts that sign in to this console. Viewers read only; operators change data; admins also manage users. A user bound to an organization sees only its stations.',
    defaultSort: '',
    empty: 'No users.',
    fetch: api.listUsers,
    filters: [{ name: 'search', label: 'Search', type: 'search', placeholder: 'Name or e-mail' }],
    columns: () => [
      { key: 'name', label: 'Name', render: (u) => h('div', {}, fmt.text(u.name), h('div', { class: 'cell-sub' }, u.email)) },
      { key: 'role', label: 'Role', render: (u) => u.role },
      { key: 'organization', label: 'Organization', render: (u) => (u.organization ? fmt.organization(u.organization) : 'All') },
      { key: 'active', label: 'Status', render: (u) => badge(u.active ? 'Active' : 'Inactive') },
      {
        key: 'actions', label: 'Actions', align: 'actions',
        render: (u) => rowActions(h('button', {
          type: 'button', class: 'btn btn-small btn-secondary', 'aria-label': `${u.active ? 'Deactivate' : 'Activate'} ${u.email}`,
          onclick: async () => {
            try {
              await api.updateUser(u.id, { active: !u.active });
              toast(`${u.email} ${u.active ? 'deactivated' : 'activated'}.`, 'success');
              view.reload();
            } catch (err) { toast(err.message, 'error'); }
          },
        }, u.active ? 'Deactivate' : 'Activate')),
      },
    ],
  });

  const orgOptions = () => orgs.map((o) => [o.code, o.name]);
  const userForm = () => {
    const f = buildForm({
      sections: [{
        legend: null,
        fields: [
          { name: 'name', label: 'Name', required: true, maxlength: 255 },
          { name: 'email', label: 'E-mail', type: 'email', required: true },
          { name: 'role', label: 'Role', type: 'select', required: true, options: roles.map((r) => [r, r]) },
          { name: 'organization', label: 'Organization', type: 'select', emptyLabel: 'All organizations', options: orgOptions(), help: 'An admin has no organization.' },
          { name: 'password', label: 'Password', type: 'password', required: true, help: 'At least 12 characters.' },
        ],
      }],
      values: { role: 'viewer' },
      submitLabel: 'Add user',
      onSubmit: async (values) => {
        const u = await api.createUser(withoutEmpty(values));
        toast(`Added ${u.email} (${u.role}).`, 'success');
        replace(newUser, userForm());
        view.reload();
      },
    });
    return f.form;
  };
  replace(newUser, userForm());

  function renderOrgs() {
    replace(orgsBox, dataTable({
      caption: 'Organizations', empty: 'No organizations.', rows: orgs,
      columns: [{ key: 'code', label: 'Code', render: (o) => h('code', {}, o.code) }, { key: 'name', label: 'Name' }],
    }));
  }
  renderOrgs();
  const orgForm = () => buildForm({
    sections: [{ legend: null, fields: [
      { name: 'code', label: 'Code', required: true, placeholder: 'e.g. metro_ev' },
      { name: 'name', label: 'Name', required: true },
    ] }],
    submitLabel: 'Add organization',
    onSubmit: async (values) => {
      const o = await api.createOrganization(withoutEmpty(values));
      orgs.push(o);
      fmt.rememberOrganizations([o]);
      toast(`Added the organization ${o.name}.`, 'success');
      renderOrgs();
      replace(newOrg, orgForm().form);
    },
  });
  replace(newOrg, orgForm().form);
}
