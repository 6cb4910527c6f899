// App shell: hash router, navigation state, health indicator.
import { h, replace } from './components/dom.js';
import { getHealth, getToken, getUser, logout, onUnauthorized, refreshToken } from './services/api.js';
import * as login from './screens/login.js';
import * as stations from './screens/stations.js';
import * as points from './screens/points.js';
import * as tariffs from './screens/tariffs.js';
import * as customers from './screens/customers.js';
import * as customerDetail from './screens/customer-detail.js';
import * as sessions from './screens/sessions.js';
import * as chargers from './screens/chargers.js';
import * as chargerDetail from './screens/charger-detail.js';
import * as dashboard from './screens/dashboard.js';
import * as sessionDetail from './screens/session-detail.js';
import * as stationDetail from './screens/station-detail.js';
import * as pointDetail from './screens/point-detail.js';
import * as events from './services/events.js';
import * as users from './screens/users.js';

// [pattern, screen function, nav section, title]
const ROUTES = [
  ['/dashboard', dashboard.screen, 'dashboard', 'Dashboard'],
  ['/stations', stations.list, 'stations', 'Stations'],
  ['/stations/new', stations.form, 'stations', 'New station'],
  ['/stations/:id', stationDetail.show, 'stations', 'Station'],
  ['/stations/:id/edit', stations.form, 'stations', 'Edit station'],
  ['/points', points.list, 'points', 'Charging points'],
  ['/points/new', points.form, 'points', 'New charging point'],
  ['/points/:id', pointDetail.show, 'points', 'Charging point'],
  ['/points/:id/edit', points.form, 'points', 'Edit charging point'],
  ['/tariffs', tariffs.list, 'tariffs', 'Tariffs'],
  ['/tariffs/new', tariffs.form, 'tariffs', 'New tariff'],
  ['/tariffs/:id/edit', tariffs.form, 'tariffs', 'Edit tariff'],
  ['/customers', customers.list, 'customers', 'Customers'],
  ['/customers/new', customers.form, 'customers', 'New customer'],
  ['/customers/:id', customerDetail.show, 'customers', 'Customer'],
  ['/customers/:id/edit', customers.form, 'customers', 'Edit customer'],
  ['/sessions', sessions.list, 'sessions', 'Sessions'],
  ['/sessions/:id', sessionDetail.show, 'sessions', 'Session'],
  ['/chargers', chargers.list, 'chargers', 'Chargers'],
  ['/chargers/:id', chargerDetail.show, 'chargers', 'Charger'],
  ['/users', users.list, 'users', 'Users and organizations'],
];

function match(path) {
  const parts = path.split('/').filter(Boolean);
  for (const [pattern, screen, nav, title] of ROUTES) {
    const pp = pattern.split('/').filter(Boolean);
    if (pp.length !== parts.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < pp.length; i += 1) {
      if (pp[i].startsWith(':')) {
        try {
          params[pp[i].slice(1)] = decodeURIComponent(parts[i]);
        } catch {
          ok = false;
        }
      } else if (pp[i] !== parts[i]) ok = false;
      if (!ok) break;
    }
    if (ok) return { screen, nav, title, params };
  }
  return null;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs = ''] = raw.split('?');
  return { path: path.replace(/\/+$/, '') || '/', query: Object.fromEntries(new URLSearchParams(qs)) };
}

const main = document.getElementById('main');
let current = 0;

// ---- signed in or not -----------------------------------------------------------------------
const account = document.getElementById('account');
function showAccount() {
  const user = getUser();
  document.body.classList.toggle('signed-out', !getToken());
  account.hidden = !getToken();
  account.querySelector('.account-email').textContent = user ? `${user.email} · ${user.role}` : '';
  // Users and organizations are an admin's alone: the others are not offered the screen.
  for (const el of document.querySelectorAll('[data-admin-only]')) el.hidden = !user || user.role !== 'admin';
}
account.querySelector('button').addEventListener('click', async () => {
  events.stop();
  try { await logout(); } catch { /* signed out locally all the same */ }
  route();
});
onUnauthorized(() => { ++current; events.stop(); route(); });
// Tokens live an hour: refresh them while the UI is open.
setInterval(() => { if (getToken()) refreshToken().catch(() => {}); }, 10 * 60 * 1000);

async function route() {
  showAccount();
  if (!getToken()) {
    ++current;
    document.title = 'Sign in · evcms admin';
    login.screen({ main, onSignedIn: () => { showAccount(); route(); } });
    return;
  }
  const { path, query } = parseHash();
  if (path === '/') {
    location.replace('#/dashboard');
    return;
  }
  events.start();
  const token = ++current;
  // A dialog left open (e.g. by the Back button) must not outlive its screen.
  for (const dlg of document.querySelectorAll('dialog[open]')) dlg.close('navigate');
  const m = match(path);
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (m && a.dataset.nav === m.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  closeMenu();
  document.title = `${m ? m.title : 'Not found'} · evcms admin`;
  if (!m) {
    replace(main, h('div', { class: 'card' }, h('h1', {}, 'Page not found'), h('p', {}, 'There is no screen at this address. '), h('a', { href: '#/dashboard' }, 'Go to the dashboard')));
    return;
  }
  const ctx = { path, query, params: m.params, main, isCurrent: () => token === current };
  main.scrollTop = 0;
  window.scrollTo(0, 0);
  try {
    await m.screen(ctx);
  } catch (err) {
    console.error(err);
    if (token === current) {
      replace(main, h('div', { class: 'banner banner-error', role: 'alert' }, h('strong', {}, 'Something went wrong. '), err.message || String(err)));
    }
  }
  if (token === current && document.activeElement === document.body) main.focus({ preventScroll: true });
}

// ---- health indicator -----------------------------------------------------------------------
const health = document.getElementById('health');
async function checkHealth() {
  const text = health.querySelector('.health-text');
  try {
    const res = await getHealth();
    const ok = res && res.status === 'ok';
    health.dataset.state = ok ? 'ok' : 'bad';
    text.textContent = ok ? `Online · ${res.database}` : `Degraded · ${res.database || 'database'}`;
    health.title = ok ? 'Server and database are reachable' : 'The database is not answering';
  } catch (err) {
    health.dataset.state = 'bad';
    text.textContent = err.status ? `Unavailable (${err.status})` : 'Server unreachable';
    health.title = err.message;
  }
}

// ---- mobile menu ----------------------------------------------------------------------------
const toggle = document.getElementById('menu-toggle');
function closeMenu() {
  document.body.classList.remove('menu-open');
  toggle.setAttribute('aria-expanded', 'false');
}
toggle.addEventListener('click', () => {
  const open = !document.body.classList.contains('menu-open');
  document.body.classList.toggle('menu-open', open);
  toggle.setAttribute('aria-expanded', String(open));
  if (open) document.querySelector('#sidebar .nav a').focus();
});
// A click outside the open menu closes it.
document.addEventListener('click', (e) => {
  if (!document.body.classList.contains('menu-open')) return;
  if (e.target.closest('#sidebar') || e.target.closest('#menu-toggle')) return;
  closeMenu();
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && document.body.classList.contains('menu-open')) closeMenu();
});

window.addEventListener('hashchange', route);
route();
checkHealth();
setInterval(checkHealth, 30000);
