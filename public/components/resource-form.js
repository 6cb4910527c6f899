// A create/edit screen: loads the record (edit) and any option lists, builds the form, sends
// POST with the filled fields or PUT with only the changed fields, and shows 422 details inline.
import { h, replace } from './dom.js';
import { buildForm, changedFields, withoutEmpty } from './form.js';
import { toast } from './toast.js';

/**
 * opts: {title, backHref, isEdit, load?: () => record, prepare?: () => extras,
 *        sections: (record, extras) => [section], toValues?: (record) => values,
 *        save: (body) => record, saved: (record) => message, afterSave: (record) => href,
 *        transform?: (body, {isEdit}) => body}
 */
export async function resourceForm(ctx, opts) {
  const heading = h('h1', {}, opts.title);
  const back = h('a', { class: 'back-link', href: opts.backHref }, '‹ Back');
  const body = h('div', { class: 'card', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  replace(ctx.main, h('div', { class: 'page-header' }, h('div', {}, back, heading)), body);

  let record = null;
  let extras = {};
  try {
    [record, extras] = await Promise.all([
      opts.isEdit && opts.load ? opts.load() : null,
      opts.prepare ? opts.prepare() : {},
    ]);
  } catch (err) {
    if (!ctx.isCurrent()) return;
    replace(
      body,
      h('div', { class: 'banner banner-error', role: 'alert' }, h('strong', {}, err.status === 404 ? 'Not found. ' : 'Could not load the form. '), err.message),
    );
    body.setAttribute('aria-busy', 'false');
    return;
  }
  if (!ctx.isCurrent()) return;

  const values = record ? (opts.toValues ? opts.toValues(record) : record) : opts.defaults || {};
  let initial = {};
  const f = buildForm({
    sections: opts.sections(record, extras || {}),
    values,
    submitLabel: opts.isEdit ? 'Save changes' : opts.createLabel || 'Create',
    cancelHref: opts.backHref,
    onSubmit: async (now) => {
      f.clearErrors();
      let payload = opts.isEdit ? changedFields(initial, now) : withoutEmpty(now);
      if (opts.transform) payload = opts.transform(payload, { isEdit: opts.isEdit, now });
      if (opts.isEdit && Object.keys(payload).length === 0) {
        toast('Nothing changed.', 'info');
        return;
      }
      const saved = await opts.save(payload);
      toast(opts.saved(saved || record), 'success');
      location.hash = opts.afterSave(saved || record);
    },
  });
  initial = f.read();
  replace(body, f.form);
  body.setAttribute('aria-busy', 'false');
  const firstInput = f.form.querySelector('input:not([readonly]), select, textarea');
  if (firstInput) firstInput.focus();
}
