// Toast notifications in a polite live region (errors use role="alert" so they are announced).
import { h } from './dom.js';

const MAX_TOASTS = 3;

function region() {
  let el = document.getElementById('toasts');
  if (!el) {
    el = h('div', { id: 'toasts', class: 'toasts', 'aria-live': 'polite', 'aria-atomic': 'false' });
    document.body.appendChild(el);
  }
  return el;
}

/** toast('Saved', 'success' | 'error' | 'info', {timeout}) */
export function toast(message, kind = 'info', { timeout = kind === 'error' ? 8000 : 4000 } = {}) {
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss notification' }, '×');
  const el = h(
    'div',
    { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', { class: 'toast-msg' }, message),
    close,
  );
  const remove = () => el.remove();
  close.addEventListener('click', remove);
  const box = region();
  // Keep the stack short: the oldest notifications give way to new ones.
  while (box.children.length >= MAX_TOASTS) box.firstElementChild.remove();
  box.appendChild(el);
  if (timeout) setTimeout(remove, timeout);
  return remove;
}

/** Shows an error (ApiError or other) as a toast. */
export function toastError(err, prefix = '') {
  const msg = err && err.message ? err.message : String(err);
  return toast(prefix ? `${prefix}: ${msg}` : msg, 'error');
}
