// Sign in: e-mail and password for a token (kept in sessionStorage by services/api.js).
import { h, replace } from '../components/dom.js';
import * as api from '../services/api.js';

export function screen({ main, onSignedIn }) {
  const error = h('div', { class: 'banner banner-error', role: 'alert', hidden: true });
  const email = h('input', { id: 'login-email', type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { id: 'login-password', type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const form = h('form', {
    class: 'card login',
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      error.hidden = true;
      submit.disabled = true;
      submit.setAttribute('aria-busy', 'true');
      try {
        await api.login(email.value.trim(), password.value);
        onSignedIn();
      } catch (err) {
        error.textContent = err.status === 401 ? 'Wrong e-mail or password.' : err.message;
        error.hidden = false;
        password.value = '';
        password.focus();
      } finally {
        submit.disabled = false;
        submit.removeAttribute('aria-busy');
      }
    },
  },
  h('h1', {}, 'Sign in'),
  h('p', {}, 'Sign in with your evcms account. The first admin account is printed in the server log at its first start.'),
  error,
  h('label', { for: 'login-email' }, 'E-mail'), email,
  h('label', { for: 'login-password' }, 'Password'), password,
  submit);
  replace(main, form);
  email.focus();
}
