// Charging stations: list with filters and cover thumbnails, create/edit form with the station's
// images below it (upload, cover, order, delete), delete (409 while it has points).
import { h, nextId, replace } from '../components/dom.js';
import * as fmt from '../components/format.js';
import { badge } from '../components/badge.js';
import { listView, rowActions } from '../components/list-view.js';
import { confirmDialog } from '../components/modal.js';
import { resourceForm } from '../components/resource-form.js';
import { toast } from '../components/toast.js';
import * as api from '../services/api.js';
import { enumOptions } from '../services/enums.js';

const dayLabel = (d) => d[0].toUpperCase() + d.slice(1);

/** The station's enums (status, grid phase, weekdays) from the API description. */
async function choices() {
  const [statuses, gridPhases, days] = await Promise.all([enumOptions('StationStatus'), enumOptions('GridPhase'), enumOptions('Weekday', dayLabel)]);
  return { statuses, gridPhases, days };
}
const enc = encodeURIComponent;

function place(s) {
  return [s.city, s.state, s.country].filter(Boolean).join(', ') || '—';
}

function hours(s) {
  if (!s.opening_time && !s.closing_time) return '—';
  return `${fmt.timeHM(s.opening_time) || '?'}–${fmt.timeHM(s.closing_time) || '?'}`;
}

/** The organizations from the API as [code, name] options; null when they cannot be loaded. */
async function organizationOptions() {
  try {
    const orgs = await api.listOrganizations();
    fmt.rememberOrganizations(orgs);
    return orgs.map((o) => [o.code, o.name]);
  } catch (err) {
    console.warn('could not load organizations:', err.message);
    return null;
  }
}

export async function list(ctx) {
  replace(ctx.main, h('p', { class: 'loading' }, 'Loading…'));
  const [orgs, { statuses, gridPhases }] = await Promise.all([organizationOptions(), choices()]);
  if (!ctx.isCurrent()) return;
  listView(ctx, {
    title: 'Stations',
    intro: 'Charging sites with their address, opening hours and contacts.',
    newHref: '#/stations/new',
    newLabel: 'New station',
    defaultSort: '-created_at',
    empty: 'No stations yet.',
    fetch: api.listStations,
    filters: [
      { name: 'search', label: 'Search', type: 'search', placeholder: 'Name, code, address' },
      { name: 'status', label: 'Status', type: 'select', options: statuses },
      orgs
        ? { name: 'organization', label: 'Organization', type: 'select', options: orgs }
        : { name: 'organization', label: 'Organization code', type: 'text' },
      { name: 'grid_phase', label: 'Grid phase', type: 'select', options: gridPhases },
      { name: 'city', label: 'City', type: 'text' },
      { name: 'state', label: 'State', type: 'text' },
      { name: 'country', label: 'Country', type: 'text' },
      { name: 'created_from', label: 'Created from', type: 'date' },
      { name: 'created_to', label: 'Created to', type: 'date' },
    ],
    columns: ({ deleteButton }) => [
      { key: 'station_id', label: 'Code', sortable: true, render: (s) => h('code', {}, s.station_id) },
      {
        key: 'station_name', label: 'Name', sortable: true,
        render: (s) => h(
          'div',
          { class: 'station-name' },
          coverThumbnail(s),
          h('div', {}, h('a', { href: `#/stations/${enc(s.station_id)}` }, s.station_name), h('div', { class: 'cell-sub' }, fmt.organization(s.organization))),
        ),
      },
      { key: 'city', label: 'Location', sortable: true, render: place },
      { key: 'status', label: 'Status', render: (s) => badge(s.status) },
      { key: 'grid_phase', label: 'Grid', render: (s) => fmt.text(s.grid_phase) },
      { key: 'hours', label: 'Hours', render: (s) => h('div', {}, hours(s), h('div', { class: 'cell-sub' }, fmt.workingDays(s.working_days))) },
      { key: 'contact', label: 'Contact', render: (s) => h('div', {}, fmt.text(s.contact_person), s.contact_number ? h('div', { class: 'cell-sub' }, s.contact_number) : null) },
      { key: 'created_at', label: 'Created', sortable: true, render: (s) => fmt.date(s.created_at) },
      {
        key: 'actions', label: 'Actions', align: 'actions',
        render: (s) => rowActions(
          h('a', { class: 'btn btn-small btn-ghost', href: `#/points?station_id=${enc(s.station_id)}`, 'aria-label': `Charging points of ${s.station_name}` }, 'Points'),
          h('a', { class: 'btn btn-small btn-secondary', href: `#/stations/${enc(s.station_id)}/edit`, 'aria-label': `Edit ${s.station_name}` }, 'Edit'),
          deleteButton({ label: s.station_name, what: 'station', remove: () => api.removeStation(s.station_id) }),
        ),
      },
    ],
  });
}

export async function form(ctx) {
  const id = ctx.params.id;
  const isEdit = id !== undefined;
  let station = null;
  await resourceForm(ctx, {
    title: isEdit ? `Edit station ${id}` : 'New station',
    backHref: '#/stations',
    isEdit,
    load: async () => (station = await api.getStation(id)),
    prepare: async () => ({ orgs: await organizationOptions(), ...(await choices()) }),
    // Every weekday of the API description (Weekday) is ticked on a new station.
    defaults: { status: 'Active', country: 'India', grid_phase: 'Three Phase', working_days: null },
    toValues: (s) => ({ ...s, opening_time: fmt.timeHM(s.opening_time), closing_time: fmt.timeHM(s.closing_time) }),
    sections: (station, { orgs, statuses, gridPhases, days }) => [
      {
        legend: 'Station',
        fields: [
          { name: 'station_id', label: 'Station code', required: !isEdit, readonly: isEdit, maxlength: 255, placeholder: 'e.g. ST-BLR-001', help: isEdit ? 'The code cannot be changed.' : 'Cannot be changed later.' },
          { name: 'station_name', label: 'Name', required: true, maxlength: 255 },
          orgs
            ? { name: 'organization', label: 'Organization', type: 'select', required: true, options: orgs }
            : { name: 'organization', label: 'Organization code', required: true, maxlength: 255, help: 'The organization list could not be loaded; type the code.' },
          { name: 'status', label: 'Status', type: 'select', required: true, options: statuses },
          { name: 'grid_phase', label: 'Grid phase', type: 'select', required: true, options: gridPhases },
        ],
      },
      {
        legend: 'Location',
        fields: [
          { name: 'address', label: 'Address', type: 'textarea', full: true, rows: 2 },
          { name: 'city', label: 'City', maxlength: 100 },
          { name: 'state', label: 'State', maxlength: 100 },
          { name: 'country', label: 'Country', required: true, maxlength: 100 },
          { name: 'pincode', label: 'Pincode', maxlength: 20, inputmode: 'numeric' },
          { name: 'latitude', label: 'Latitude', type: 'number', step: 'any', min: -90, max: 90, inputmode: 'decimal', help: 'Give both latitude and longitude, or neither.' },
          { name: 'longitude', label: 'Longitude', type: 'number', step: 'any', min: -180, max: 180, inputmode: 'decimal' },
        ],
      },
      {
        legend: 'Opening hours',
        fields: [
          { name: 'working_days', label: 'Working days', type: 'checkboxes', options: days, full: true, allByDefault: !isEdit },
          { name: 'opening_time', label: 'Opens at', type: 'time' },
          { name: 'closing_time', label: 'Closes at', type: 'time' },
        ],
      },
      {
        legend: 'Contact',
        fields: [
          { name: 'contact_person', label: 'Contact person', maxlength: 255, autocomplete: 'name' },
          { name: 'contact_number', label: 'Contact number', type: 'tel', maxlength: 20, autocomplete: 'tel' },
          { name: 'email', label: 'Email', type: 'email', maxlength: 255, autocomplete: 'email' },
        ],
      },
    ],
    save: (body) => (isEdit ? api.updateStation(id, body) : api.createStation(body)),
    saved: (s) => `Station “${s.station_name}” ${isEdit ? 'saved' : 'created'}.`,
    afterSave: () => '#/stations',
  });
  if (!ctx.isCurrent()) return;
  if (!isEdit) ctx.main.append(imagesPanel(null));
  else if (station) ctx.main.append(imagesPanel(station));
}

// ---- the station's images ---------------------------------------------------------------------

const IMAGE_TYPES = 'image/jpeg,image/png,image/webp';

/** The list's cover thumbnail, or a neutral placeholder of the same size. */
function coverThumbnail(s) {
  const none = () => h('span', { class: 'station-thumb station-thumb-none', 'aria-hidden': 'true' });
  if (!s.thumbnail_url) return none();
  return h('img', {
    class: 'station-thumb', src: s.thumbnail_url, alt: `Cover image of ${s.station_name}`, width: 48, height: 36, loading: 'lazy',
    onerror: (e) => e.target.replaceWith(none()),
  });
}

/** 5242880 → "5 MiB". */
function byteSize(n) {
  if (n >= 1024 * 1024) return `${Number((n / 1024 / 1024).toFixed(1))} MiB`;
  if (n >= 1024) return `${Number((n / 1024).toFixed(1))} KiB`;
  return `${n} bytes`;
}

const sentence = (text) => (/[.!?…]$/.test(text) ? text : `${text}.`);
const lowerFirst = (text) => text.charAt(0).toLowerCase() + text.slice(1);

/** Why the server refused `file`, in words: 415 not an image, 413 too large, 422 unreadable. */
function uploadRefusal(file, err) {
  const name = `“${file.name}” was not uploaded: `;
  if (err.status === 413) {
    const limit = /at most (\d+) bytes/.exec(err.message);
    return sentence(`${name}it is ${byteSize(file.size)}${limit ? `, and an image may be at most ${byteSize(Number(limit[1]))}` : ` (${lowerFirst(err.message)})`}`);
  }
  const problems = (err.details || []).filter((d) => d.field === 'file').map((d) => d.problem);
  if (err.status === 422 && problems.length) return sentence(`${name}${problems.join('; ')}`);
  return sentence(`${name}${lowerFirst(err.message)}`);
}

/**
 * The "Images" card below the station form: thumbnails in order with the cover marked, and for
 * those who may change data, Make cover, Move left/right, Delete and an upload control. `station`
 * is null on the New station page, which has none yet.
 */
export function imagesPanel(station) {
  const titleId = nextId('station-images');
  const heading = h('h2', { id: titleId, class: 'card-title' }, 'Images');
  if (!station) {
    return h('section', { class: 'card station-images', 'aria-labelledby': titleId }, heading, h('p', { class: 'muted' }, 'Save the station first to add images.'));
  }
  const code = station.station_id;
  const mayChange = api.canChange();
  const error = h('div', { class: 'banner banner-error', role: 'alert', hidden: true });
  const grid = h('div', { class: 'image-list' });
  const status = h('p', { class: 'upload-status', role: 'status' });
  const progress = h('progress', { class: 'upload-progress', hidden: true, 'aria-label': 'Uploading' });
  const inputId = nextId('image-file');
  const input = h('input', { type: 'file', id: inputId, name: 'file', accept: IMAGE_TYPES, multiple: true, onchange: () => upload() });
  const panel = h(
    'section',
    { class: 'card station-images', 'aria-labelledby': titleId },
    heading,
    h('p', { class: 'field-help' }, mayChange
      ? 'JPEG, PNG or WebP. The cover is shown in the station list; the first image becomes the cover until another is chosen.'
      : 'The cover is shown in the station list.'),
    error,
    grid,
    mayChange
      ? h('div', { class: 'image-upload' }, h('label', { for: inputId }, 'Add images'), input, progress, status)
      : null,
  );

  let images = station.images || [];
  let busy = false;
  const showError = (lines) => {
    replace(error, lines.length === 1 ? lines[0] : h('ul', {}, lines.map((l) => h('li', {}, l))));
    error.hidden = false;
  };
  /** Runs one change at a time, the panel marked busy; a failure is shown above the images. */
  async function run(fn) {
    if (busy) return;
    busy = true;
    panel.setAttribute('aria-busy', 'true');
    panel.classList.add('is-busy');
    input.disabled = true;
    error.hidden = true;
    try {
      await fn();
    } catch (err) {
      showError([sentence(err.message)]);
    } finally {
      busy = false;
      panel.setAttribute('aria-busy', 'false');
      panel.classList.remove('is-busy');
      input.disabled = false;
    }
  }

  /** Re-renders the images; `focus` ({id, action}) puts the focus back on the button used. */
  function show(next, focus = null) {
    images = next;
    if (images.length === 0) {
      replace(grid, h('p', { class: 'muted image-none' }, mayChange ? 'No images yet. Add some below.' : 'No images yet.'));
      return;
    }
    replace(grid, h('ol', { class: 'image-grid' }, images.map(tile)));
    if (focus) {
      const t = grid.querySelector(`[data-image-id="${focus.id}"]`);
      const b = t && (t.querySelector(`[data-action="${focus.action}"]:not(:disabled)`) || t.querySelector('button:not(:disabled)'));
      if (b) b.focus();
    }
  }

  function tile(img, i) {
    const n = i + 1;
    const act = (action, label, aria, onclick, disabled = false) =>
      h('button', { type: 'button', class: 'btn btn-small btn-secondary', dataset: { action }, 'aria-label': aria, title: aria, disabled, onclick }, label);
    return h(
      'li',
      { class: `image-tile${img.is_cover ? ' is-cover' : ''}`, dataset: { imageId: String(img.id) } },
      h(
        'a',
        { class: 'image-thumb', href: img.url, target: '_blank', rel: 'noopener' },
        h('img', {
          src: img.thumbnail_url, alt: `${station.station_name}, image ${n}${img.is_cover ? ' (cover)' : ''}`,
          width: img.thumbnail_width, height: img.thumbnail_height, loading: 'lazy',
        }),
      ),
      h(
        'div',
        { class: 'image-meta' },
        img.is_cover ? h('span', { class: 'badge badge-ok' }, 'Cover') : null,
        h('span', { class: 'cell-sub' }, `${img.width} × ${img.height} · ${byteSize(img.size_bytes)}`),
      ),
      mayChange
        ? h(
          'div',
          { class: 'image-actions' },
          img.is_cover ? null : act('cover', 'Make cover', `Make image ${n} the cover`, () => arrange(img, { is_cover: true }, 'cover')),
          act('left', '←', `Move image ${n} left`, () => arrange(img, { position: n - 1 }, 'left'), i === 0),
          act('right', '→', `Move image ${n} right`, () => arrange(img, { position: n + 1 }, 'right'), n === images.length),
          h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost', 'aria-label': `Delete image ${n}`, onclick: () => remove(img, n) }, 'Delete'),
        )
        : null,
    );
  }

  function arrange(img, body, action) {
    return run(async () => {
      show(await api.arrangeStationImage(code, img.id, body), { id: img.id, action });
      status.textContent = body.is_cover ? 'The cover is changed.' : `Image moved to place ${body.position}.`;
    });
  }

  async function remove(img, n) {
    if (busy) return;
    const ok = await confirmDialog({
      title: 'Delete image?',
      message: `Image ${n} of “${station.station_name}” will be deleted.${img.is_cover && images.length > 1 ? ' The next image becomes the cover.' : ''}`,
      confirmLabel: 'Delete',
      danger: true,
      onConfirm: () => api.removeStationImage(code, img.id),
    });
    if (!ok) return;
    toast(`Deleted image ${n} of “${station.station_name}”.`, 'success');
    await run(async () => show(await api.listStationImages(code)));
    // The button used is gone with its image: the focus goes to the next image, or the upload.
    const next = grid.querySelector('.image-tile button:not(:disabled)') || input;
    if (next.isConnected) next.focus();
  }

  function upload() {
    const files = [...input.files];
    if (files.length === 0) return;
    run(async () => {
      const refused = [];
      let done = 0;
      progress.hidden = false;
      try {
        for (const [k, file] of files.entries()) {
          status.textContent = `Uploading “${file.name}” (${byteSize(file.size)})${files.length > 1 ? `, ${k + 1} of ${files.length}` : ''}…`;
          try {
            await api.uploadStationImage(code, file);
            done += 1;
          } catch (err) {
            if (err.status === 401) throw err;
            refused.push(uploadRefusal(file, err));
          }
        }
      } finally {
        progress.hidden = true;
        input.value = '';
      }
      status.textContent = done ? `Uploaded ${done === 1 ? 'the image' : `${done} images`}.` : '';
      if (done) show(await api.listStationImages(code));
      if (refused.length) showError(refused);
    });
  }

  show(images);
  return panel;
}
