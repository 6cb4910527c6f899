// Form fields with inline errors, and a form builder that maps server `details` to fields.
import { h, nextId, replace } from './dom.js';

/**
 * One labelled field. spec: {name, label, type, required, options: [[value, label]], help,
 * placeholder, step, min, max, maxlength, readonly, inputmode, autocomplete, full (span row)}
 * type: text | email | tel | number | time | date | select | textarea | checkboxes | custom
 * custom: spec.render(value) → {el, read(), focus?()}; the custom element must carry its own
 * data-field attributes for nested errors.
 * Returns {el, read(), focus()}.
 */
export function formField(spec, value) {
  const id = nextId(`fld-${spec.name}`);
  const errorId = `${id}-error`;
  const helpId = spec.help ? `${id}-help` : null;
  const describedBy = [helpId, errorId].filter(Boolean).join(' ');
  const error = h('p', { id: errorId, class: 'field-error', hidden: true });
  const help = spec.help ? h('p', { id: helpId, class: 'field-help' }, spec.help) : null;
  const reqMark = spec.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null;
  const wrapClass = `field field-${spec.type || 'text'}${spec.full ? ' field-full' : ''}`;

  if (spec.type === 'custom') {
    const custom = spec.render(value);
    const el = h('div', { class: wrapClass, dataset: { field: spec.name } }, custom.el, error);
    return { el, read: custom.read, focus: custom.focus || (() => {}) };
  }

  if (spec.type === 'checkboxes') {
    // allByDefault: every option ticked when there is no value yet (e.g. a new station's days).
    const selected = new Set(Array.isArray(value) ? value : spec.allByDefault ? spec.options.map(([v]) => v) : []);
    const boxes = spec.options.map(([v, label]) =>
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: spec.name, value: v, checked: selected.has(v) }), ' ', label),
    );
    const el = h(
      'fieldset',
      { class: wrapClass, dataset: { field: spec.name }, 'aria-describedby': describedBy },
      h('legend', {}, spec.label, reqMark),
      h('div', { class: 'check-group' }, boxes),
      help,
      error,
    );
    return {
      el,
      read: () => boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
      focus: () => boxes[0].querySelector('input').focus(),
    };
  }

  const common = {
    id,
    name: spec.name,
    required: spec.required || null,
    readonly: spec.readonly || null,
    'aria-describedby': describedBy,
    placeholder: spec.placeholder || null,
    autocomplete: spec.autocomplete || 'off',
  };
  let control;
  if (spec.type === 'select') {
    const v = value === null || value === undefined ? '' : String(value);
    const opts = spec.options.map(([ov, label]) => h('option', { value: String(ov), selected: String(ov) === v }, label));
    if (v !== '' && !spec.options.some(([ov]) => String(ov) === v)) {
      opts.push(h('option', { value: v, selected: true }, spec.unknownLabel ? spec.unknownLabel(v) : v));
    }
    control = h(
      'select',
      { ...common, disabled: spec.readonly || null },
      spec.required && !spec.emptyLabel ? h('option', { value: '', disabled: true, selected: v === '' }, 'Select…') : h('option', { value: '' }, spec.emptyLabel || '—'),
      opts,
    );
  } else if (spec.type === 'textarea') {
    control = h('textarea', { ...common, rows: spec.rows || 3, maxlength: spec.maxlength || null }, value ?? '');
  } else {
    control = h('input', {
      ...common,
      type: spec.type || 'text',
      value: value === null || value === undefined ? '' : String(value),
      step: spec.step || null,
      min: spec.min ?? null,
      max: spec.max ?? null,
      maxlength: spec.maxlength || null,
      inputmode: spec.inputmode || null,
    });
  }
  const el = h(
    'div',
    { class: wrapClass, dataset: { field: spec.name } },
    h('label', { for: id }, spec.label, reqMark),
    control,
    help,
    error,
  );
  const read = () => {
    const raw = control.value.trim();
    if (raw === '') return null;
    if (spec.type === 'number') {
      const n = Number(raw);
      return Number.isFinite(n) ? n : raw;
    }
    return raw;
  };
  return { el, read, focus: () => control.focus() };
}

/** Marks the element carrying data-field=`path` (or its nearest parent path) invalid. */
function findFieldEl(root, path) {
  let p = path;
  while (p) {
    const el = root.querySelector(`[data-field="${CSS.escape(p)}"]`);
    if (el) return el;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    if (cut <= 0) break;
    p = p.slice(0, cut);
  }
  return null;
}

function errorNodeOf(fieldEl) {
  return [...fieldEl.children].find((c) => c.classList.contains('field-error'));
}

/**
 * Builds a form from sections [{legend, fields: [spec]}], filled from `values`.
 * Returns {form, banner, read(), setErrors(details), clearErrors(), showBanner(msg, list)}.
 */
export function buildForm({ sections, values = {}, submitLabel = 'Save', cancelHref, onSubmit }) {
  const fields = [];
  const banner = h('div', { class: 'banner banner-error', role: 'alert', tabindex: '-1', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, submitLabel);
  const form = h(
    'form',
    { class: 'resource-form', novalidate: true },
    banner,
    sections.map((s) => {
      const nodes = s.fields.map((spec) => {
        const f = formField(spec, values[spec.name]);
        fields.push({ spec, ...f });
        return f.el;
      });
      return h('fieldset', { class: 'form-section' }, s.legend ? h('legend', {}, s.legend) : null, h('div', { class: 'form-grid' }, nodes));
    }),
    h('div', { class: 'form-actions' }, cancelHref ? h('a', { class: 'btn btn-secondary', href: cancelHref }, 'Cancel') : null, submit),
  );

  const read = () => {
    const out = {};
    for (const f of fields) if (!f.spec.readonly || f.spec.send) out[f.spec.name] = f.read();
    return out;
  };
  const clearErrors = () => {
    banner.hidden = true;
    replace(banner);
    for (const el of form.querySelectorAll('.has-error')) el.classList.remove('has-error');
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const el of form.querySelectorAll('.field-error')) {
      el.hidden = true;
      el.textContent = '';
    }
  };
  const showBanner = (message, list = []) => {
    replace(
      banner,
      h('strong', {}, message),
      list.length ? h('ul', {}, list.map((d) => h('li', {}, d.field ? `${d.field}: ${d.problem}` : d.problem))) : null,
    );
    banner.hidden = false;
  };
  /** Shows each detail next to its field; returns the ones no field claimed. */
  const setErrors = (details = []) => {
    const unmatched = [];
    let first = null;
    for (const d of details) {
      const el = d.field ? findFieldEl(form, d.field) : null;
      const errEl = el && errorNodeOf(el);
      if (!errEl) {
        unmatched.push(d);
        continue;
      }
      el.classList.add('has-error');
      const control = el.querySelector(':scope > input, :scope > select, :scope > textarea');
      if (control) control.setAttribute('aria-invalid', 'true');
      errEl.textContent = errEl.textContent ? `${errEl.textContent}; ${d.problem}` : d.problem;
      errEl.hidden = false;
      if (!first) first = el;
    }
    if (first) {
      const focusable = first.querySelector('input, select, textarea, button');
      if (focusable) focusable.focus();
    }
    return unmatched;
  };
  /** Shows an ApiError: details next to fields, the message (and leftovers) in the banner. */
  const showError = (err) => {
    clearErrors();
    const details = (err && err.details) || [];
    const unmatched = setErrors(details);
    if (details.length === 0 || unmatched.length > 0) {
      showBanner(err && err.message ? err.message : String(err), unmatched);
      banner.focus();
    } else {
      // Every problem is shown at its field; the server's message repeats them with raw paths.
      showBanner(details.length === 1 ? 'Please correct the highlighted field.' : `Please correct the ${details.length} highlighted fields.`);
    }
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!onSubmit) return;
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    try {
      await onSubmit(read());
    } catch (err) {
      showError(err);
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
  });
  return { form, banner, fields, read, setErrors, clearErrors, showBanner, showError };
}

/** The keys of `now` whose values differ from `before` (JSON comparison), for PUT merges. */
export function changedFields(before, now) {
  const out = {};
  for (const [k, v] of Object.entries(now)) {
    if (JSON.stringify(v ?? null) !== JSON.stringify(before[k] ?? null)) out[k] = v;
  }
  return out;
}

/** Drops null/undefined values (for POST bodies, so the server applies its defaults). */
export function withoutEmpty(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}
