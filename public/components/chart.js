// Time-series charts on uPlot (public/vendor/uplot, MIT), with what uPlot leaves to us: a loading
// and an empty state, a width that follows its container (phones included), keyboard use (the
// chart takes focus; ← → move the cursor from point to point, Home/End jump to the ends, the
// legend says the values), and the same figures as a table for screen readers and copying.
import uPlot from '../vendor/uplot/uPlot.esm.js';
import { h, nextId, replace } from './dom.js';

const COLORS = ['#16a34a', '#2563eb', '#d97706', '#9333ea'];

/**
 * A chart card body. opts: {title, kind: 'line' | 'bars', height, series: [{label, unit, digits,
 * scale?}], xKind: 'day' | 'time'}. Returns {el, loading(), error(err), set(xs, [ys...]), append(x, [y...])}.
 */
export function chart({ title, kind = 'line', height = 220, series, xKind = 'time', emptyText = 'No data yet.' }) {
  const id = nextId('chart');
  const area = h('div', { class: 'chart-area', tabindex: '0', role: 'img', 'aria-label': `${title}: chart; use the left and right arrow keys to read the values`, 'aria-describedby': `${id}-live` });
  const liveText = h('p', { id: `${id}-live`, class: 'chart-readout', 'aria-live': 'polite' });
  const tableSlot = h('div', { class: 'chart-table' });
  const state = h('p', { class: 'chart-state loading' }, 'Loading…');
  const el = h('figure', { class: 'chart', dataset: { chart: title } },
    h('figcaption', { class: 'chart-title' }, title),
    state, area, liveText,
    h('details', { class: 'chart-data' }, h('summary', {}, 'Show the figures as a table'), tableSlot));
  let plot = null;
  let data = null;
  let idx = -1;

  const fmtX = (x) => {
    const d = new Date(x * 1000);
    return xKind === 'day' ? d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })
      : xKind === 'hour' ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
        : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  };
  const fmtY = (s, v) => (v === null || v === undefined ? '—' : `${Number(v).toLocaleString(undefined, { maximumFractionDigits: s.digits ?? 2, minimumFractionDigits: s.digits ?? 0 })}${s.unit ? ` ${s.unit}` : ''}`);

  function readout(i) {
    if (!data || i < 0 || i >= data[0].length) return;
    idx = i;
    liveText.textContent = `${fmtX(data[0][i])}: ${series.map((s, k) => `${s.label} ${fmtY(s, data[k + 1][i])}`).join(', ')}`;
  }

  function renderTable() {
    if (!data) return;
    replace(tableSlot, h('div', { class: 'table-wrap' }, h('table', { class: 'data-table' },
      h('caption', { class: 'sr-only' }, title),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, xKind === 'day' ? 'Day' : 'Time'), series.map((s) => h('th', { scope: 'col', class: 'col-num' }, s.unit ? `${s.label} (${s.unit})` : s.label)))),
      h('tbody', {}, data[0].map((x, i) => h('tr', {}, h('td', {}, fmtX(x)), series.map((s, k) => h('td', { class: 'col-num' }, fmtY({ ...s, unit: '' }, data[k + 1][i])))))))));
  }

  function width() { return Math.max(240, Math.floor(area.clientWidth || el.clientWidth || 600)); }

  function build() {
    const opts = {
      width: width(),
      height,
      scales: { x: { time: true } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false }, points: { size: 8 } },
      axes: [
        { stroke: '#475569', grid: { stroke: '#e2e8f0' }, values: xKind === 'day' ? (u, vals) => vals.map((v) => fmtX(v)) : undefined },
        ...series.map((s, k) => ({
          scale: s.scale || s.unit || `y${k}`,
          side: k === 0 ? 3 : 1,
          stroke: COLORS[k],
          grid: { show: k === 0, stroke: '#e2e8f0' },
          size: 60,
          values: (u, vals) => vals.map((v) => (v === null ? '' : `${Number(v).toLocaleString(undefined, { maximumFractionDigits: 2 })}`)),
        })),
      ],
      series: [
        { value: (u, v) => (v === null ? '—' : fmtX(v)) },
        ...series.map((s, k) => ({
          label: s.unit ? `${s.label} (${s.unit})` : s.label,
          scale: s.scale || s.unit || `y${k}`,
          stroke: COLORS[k],
          width: 2,
          fill: kind === 'bars' ? `${COLORS[k]}99` : `${COLORS[k]}1a`,
          paths: kind === 'bars' ? uPlot.paths.bars({ size: [0.6, 40], gap: 1 }) : undefined,
          points: { show: kind !== 'bars' },
          value: (u, v) => fmtY(s, v),
        })),
      ],
      hooks: { setCursor: [(u) => { if (u.cursor.idx !== null && u.cursor.idx !== undefined) readout(u.cursor.idx); }] },
    };
    plot = new uPlot(opts, data, area);
  }

  area.addEventListener('keydown', (e) => {
    if (!plot || !data || !data[0].length) return;
    const last = data[0].length - 1;
    let i = idx < 0 ? last : idx;
    if (e.key === 'ArrowLeft') i = Math.max(0, i - 1);
    else if (e.key === 'ArrowRight') i = Math.min(last, i + 1);
    else if (e.key === 'Home') i = 0;
    else if (e.key === 'End') i = last;
    else return;
    e.preventDefault();
    const left = plot.valToPos(data[0][i], 'x');
    const y = data[1][i];
    const top = y === null || y === undefined ? plot.bbox.height / 2 / devicePixelRatio : plot.valToPos(y, plot.series[1].scale);
    plot.setCursor({ left, top });
    readout(i);
  });
  area.addEventListener('focus', () => { if (idx < 0 && data && data[0].length) readout(data[0].length - 1); });

  if (typeof ResizeObserver !== 'undefined') {
    new ResizeObserver(() => { if (plot) plot.setSize({ width: width(), height }); }).observe(area);
  }

  function show() {
    const empty = !data || data[0].length === 0 || data.slice(1).every((ys) => ys.every((v) => v === null || v === 0));
    state.hidden = !empty;
    state.className = 'chart-state';
    state.textContent = emptyText;
    area.hidden = false;
    if (!plot) build(); else plot.setData(data);
    renderTable();
    el.dataset.points = String(data[0].length);
  }

  return {
    el,
    loading() { state.hidden = false; state.className = 'chart-state loading'; state.textContent = 'Loading…'; el.setAttribute('aria-busy', 'true'); },
    error(err) { state.hidden = false; state.className = 'chart-state banner banner-error'; state.textContent = `Could not load: ${err.message}`; el.setAttribute('aria-busy', 'false'); },
    set(xs, ys) { data = [xs, ...ys]; el.setAttribute('aria-busy', 'false'); show(); },
    append(x, ys) {
      if (!data) data = [[], ...series.map(() => [])];
      data[0].push(x);
      ys.forEach((v, k) => data[k + 1].push(v));
      show();
    },
    get data() { return data; },
  };
}
