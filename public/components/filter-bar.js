// Filter bar: search box, selects and date ranges that apply as they change.
import { h, nextId } from './dom.js';

/**
 * fields: [{name, label, type: 'search' | 'select' | 'date' | 'text', options?: [[value, label]], placeholder?}]
 * values: current values by name. onChange(values) is called with all values (empty ones as '').
 */
export function filterBar({ fields, values = {}, onChange }) {
  const form = h('form', { class: 'filter-bar', role: 'search', 'aria-label': 'Filters' });
  const read = () => {
    const out = {};
    for (const f of fields) out[f.name] = form.elements[f.name].value.trim();
    return out;
  };
  let timer = null;
  const apply = () => {
    clearTimeout(timer);
    onChange(read());
  };
  for (const f of fields) {
    const id = nextId(`f-${f.name}`);
    let control;
    if (f.type === 'select') {
      control = h(
        'select',
        { id, name: f.name, onchange: apply },
        h('option', { value: '' }, f.all || 'All'),
        f.options.map(([v, label]) => h('option', { value: v, selected: String(values[f.name] ?? '') === v }, label)),
      );
    } else {
      control = h('input', {
        id,
        name: f.name,
        type: f.type === 'date' ? 'date' : f.type === 'search' ? 'search' : 'text',
        value: values[f.name] ?? '',
        placeholder: f.placeholder || null,
        inputmode: f.inputmode || null,
        autocomplete: 'off',
        onchange: apply,
        oninput:
          f.type === 'search' || f.type === 'text'
            ? () => {
                clearTimeout(timer);
                timer = setTimeout(apply, 400);
              }
            : null,
      });
    }
    form.appendChild(h('div', { class: `filter filter-${f.type}` }, h('label', { for: id }, f.label), control));
  }
  const reset = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-ghost',
      onclick: () => {
        for (const f of fields) form.elements[f.name].value = '';
        apply();
      },
    },
    'Clear filters',
  );
  form.appendChild(h('div', { class: 'filter filter-actions' }, reset));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  return form;
}
