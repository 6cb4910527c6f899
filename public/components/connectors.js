// The connector table columns and live session figures shared by the charger, point and station
// pages, and the kWh formatting of a Wh count.
import { h } from './dom.js';
import * as fmt from './format.js';
import { badge } from './badge.js';

/** Wh as kWh, or a dash when unknown. */
export const kwhOf = (wh) => (wh === null || wh === undefined ? '—' : fmt.kwh(Number(wh) / 1000));

/** Who charges, how much so far and what it costs: the line under a running session. */
export const sessionFigures = (s) => `${fmt.text(s.customer_name)} · ${kwhOf(s.energy_wh)} · ${fmt.money(s.running_cost ?? fmt.estimatedCost(s), s.currency)} so far`;

/** Connector, live status and active session columns; `activeOn(number)` names the running session. */
export function connectorColumns(activeOn) {
  return [
    { key: 'connector_id', label: 'Connector', render: (k) => h('div', {}, `#${k.connector_id}`, h('div', { class: 'cell-sub' }, `${fmt.connectorType(k.connector_type)} · ${fmt.kw(k.power)}`)) },
    {
      key: 'status', label: 'Status',
      render: (k) => h('div', { class: 'connector-status' }, badge(k.status, 'No status yet'),
        k.error_code && k.error_code !== 'NoError' ? h('div', { class: 'cell-sub' }, k.error_code) : null,
        k.status_at ? h('div', { class: 'cell-sub nowrap' }, `since ${fmt.dateTime(k.status_at)}`) : null),
    },
    {
      key: 'session', label: 'Active session',
      render: (k) => {
        const s = activeOn(k.connector_id);
        if (!s) return h('span', { class: 'muted' }, 'None');
        return h('div', { class: 'active-session', dataset: { session: s.session_id } },
          h('a', { href: `#/sessions/${encodeURIComponent(s.session_id)}` }, h('code', {}, s.session_id)),
          h('div', { class: 'cell-sub' }, sessionFigures(s)));
      },
    },
  ];
}
