// Status pills with a colour per well-known value.
import { h } from './dom.js';

const TONES = {
  active: 'ok', available: 'ok', completed: 'ok', credit: 'ok', accepted: 'ok',
  inactive: 'muted', unknown: 'muted', unavailable: 'muted', cancelled: 'muted',
  maintenance: 'warn', preparing: 'info', charging: 'info', suspendedev: 'warn', suspendedevse: 'warn',
  finishing: 'info', reserved: 'info', debit: 'warn',
  faulted: 'bad', error: 'bad',
  connected: 'ok', offline: 'muted', pending: 'warn', rejected: 'bad', blocked: 'bad', expired: 'muted',
};

export function badge(value, fallback = 'Unknown') {
  const label = value === null || value === undefined || value === '' ? fallback : String(value);
  const tone = TONES[label.toLowerCase()] || 'neutral';
  return h('span', { class: `badge badge-${tone}` }, label);
}
