// Building blocks of the detail pages (station, point): titled cards, definition lists, figure
// tiles, a loading box and an error banner naming what could not be loaded.
import { h } from './dom.js';

/** A card titled by an <h2 id=id>, labelling the section. */
export const card = (title, id, ...body) => h('section', { class: 'card detail-card', 'aria-labelledby': id }, h('h2', { id, class: 'card-title' }, title), body);

/** A <dl> of [term, description] pairs; falsy pairs are left out. */
export const details = (pairs) => h('dl', { class: 'details' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));

/** "Could not load <what>: <message>" as an alert. */
export const errorBanner = (what, err) => h('div', { class: 'banner banner-error', role: 'alert' }, h('strong', {}, `Could not load ${what}: `), err.message);

/** A results box, busy and saying Loading… until filled. */
export const loadingBox = (cls = '') => h('div', { class: `results ${cls}`.trim(), 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));

/** A figure tile (label, value shown as — until set). */
export const tile = (label, key, sub) => h('div', { class: 'tile', dataset: { tile: key } }, h('p', { class: 'tile-label' }, label), h('p', { class: 'tile-value' }, '—'), sub ? h('p', { class: 'tile-sub' }, sub) : null);

/** Sets the value of the tile `key` under `root`. */
export const setTile = (root, key, value) => { const el = root.querySelector(`[data-tile="${key}"] .tile-value`); if (el) el.textContent = value; };
