// Modal dialogs on the native <dialog> element (focus trapping, Esc to close, inert background).
import { h, nextId } from './dom.js';

/**
 * Opens a modal. `content` is a node or array of nodes; `actions` a list of buttons.
 * Returns {dialog, body, close}. The dialog removes itself when closed.
 */
export function openModal({ title, content, actions = [], onClose } = {}) {
  const titleId = nextId('dlg-title');
  const body = h('div', { class: 'modal-body' }, content);
  const dialog = h(
    'dialog',
    { class: 'modal', 'aria-labelledby': titleId },
    h('h2', { id: titleId, class: 'modal-title' }, title),
    body,
    h('div', { class: 'modal-actions' }, actions),
  );
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (onClose) onClose(dialog.returnValue);
  });
  document.body.appendChild(dialog);
  dialog.showModal();
  return { dialog, body, close: (value = '') => dialog.open && dialog.close(value) };
}

/**
 * Asks for confirmation, then runs `onConfirm` (async) with the dialog open. If it throws, the
 * error message is shown inside the dialog (e.g. a 409 "station has points") and the dialog stays
 * open; on success it closes. Resolves true when confirmed and done, false when cancelled.
 */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false, onConfirm }) {
  return new Promise((resolve) => {
    let done = false;
    const error = h('div', { class: 'banner banner-error', role: 'alert', hidden: true });
    const cancel = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Cancel');
    const ok = h('button', { type: 'button', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}` }, confirmLabel);
    const modal = openModal({
      title,
      content: [h('p', {}, message), error],
      actions: [cancel, ok],
      onClose: () => resolve(done),
    });
    cancel.addEventListener('click', () => modal.close('cancel'));
    ok.addEventListener('click', async () => {
      ok.disabled = true;
      cancel.disabled = true;
      ok.setAttribute('aria-busy', 'true');
      error.hidden = true;
      try {
        if (onConfirm) await onConfirm();
        done = true;
        modal.close('ok');
      } catch (err) {
        error.textContent = err && err.message ? err.message : String(err);
        error.hidden = false;
        ok.disabled = false;
        cancel.disabled = false;
        ok.removeAttribute('aria-busy');
        cancel.focus();
      }
    });
    cancel.focus();
  });
}
