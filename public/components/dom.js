// Tiny DOM builder: all text goes through text nodes, so server data is never parsed as HTML.

/**
 * h('a', {href: '#/x', class: 'btn', onclick: fn}, 'text', otherNode, [more], null)
 * Attributes: `class`, `dataset` (object), `on<event>` (listener), boolean `true` sets an empty
 * attribute, `false`/null/undefined omit it; properties `value`, `checked`, `selected`,
 * `disabled` are set as properties.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'value' || key === 'checked' || key === 'selected' || key === 'disabled') {
      el[key] = value;
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children: strings/numbers become text nodes; arrays are flattened; null skipped. */
export function append(parent, children) {
  for (const child of [].concat(children)) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces all children of `parent`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** Escapes text for the rare case HTML must be built as a string. */
export function escapeHtml(s) {
  return String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

let uid = 0;
/** A document-unique id with a readable prefix. */
export const nextId = (prefix = 'id') => `${prefix}-${++uid}`;
