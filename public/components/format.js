// Formatting helpers. Every function returns plain text ("—" when there is no value).

export const DASH = '—';
/** Wallets have no currency field; the deployment's wallets are kept in this currency. */
export const WALLET_CURRENCY = 'INR';

const isBlank = (v) => v === null || v === undefined || v === '';

const moneyFormats = new Map();
/** 1234.5, "INR" → "₹1,234.50"; unknown currency → "1,234.50 XYZ". */
export function money(amount, currency = WALLET_CURRENCY) {
  if (isBlank(amount)) return DASH;
  const n = Number(amount);
  if (!Number.isFinite(n)) return String(amount);
  const cur = currency || WALLET_CURRENCY;
  let fmt = moneyFormats.get(cur);
  if (!fmt) {
    try {
      fmt = new Intl.NumberFormat(cur === 'INR' ? 'en-IN' : undefined, {
        style: 'currency',
        currency: cur,
        minimumFractionDigits: 2,
        maximumFractionDigits: 2,
      });
    } catch {
      fmt = { format: (x) => `${x.toFixed(2)} ${cur}` };
    }
    moneyFormats.set(cur, fmt);
  }
  return fmt.format(n);
}

/** Number with fixed decimals, e.g. 18 → "18.00". */
export function decimal(value, digits = 2) {
  if (isBlank(value)) return DASH;
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  return n.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const kwh = (value) => (isBlank(value) ? DASH : `${decimal(value, 2)} kWh`);
export const kw = (value) => (isBlank(value) ? DASH : `${decimal(value, Number(value) % 1 ? 2 : 0)} kW`);
export const percent = (value) => (isBlank(value) ? DASH : `${decimal(value, 2)} %`);

const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

function toDate(value) {
  if (isBlank(value)) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** ISO timestamp → local date and time, e.g. "24 Nov 2025, 14:05". */
export function dateTime(value) {
  const d = toDate(value);
  return d ? dateTimeFmt.format(d) : isBlank(value) ? DASH : String(value);
}

/** ISO timestamp → local date. */
export function date(value) {
  const d = toDate(value);
  return d ? dateFmt.format(d) : isBlank(value) ? DASH : String(value);
}

/** "09:30:00" → "09:30". */
export const timeHM = (value) => (isBlank(value) ? '' : String(value).slice(0, 5));

/** Plain text or a dash. */
export const text = (value) => (isBlank(value) ? DASH : String(value));

/** Organization names by code, filled from GET /organizations (see rememberOrganizations). */
const ORGS = new Map();
export function rememberOrganizations(list) {
  for (const o of list || []) ORGS.set(o.code, o.name);
}
/** "1c_ev_charging" → "1C EV Charging" once the organizations are known; else the code. */
export const organization = (code) => (isBlank(code) ? DASH : ORGS.get(code) || String(code));

const CONNECTOR_TYPES = {
  type2: 'Type 2', ccs2: 'CCS2', type1: 'Type 1', gbt: 'GB/T', nacs: 'NACS', ac_socket: 'AC socket',
};
export const connectorType = (code) => (isBlank(code) ? DASH : CONNECTOR_TYPES[code] || String(code));

const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
/** ["monday","tuesday"] → "Mon, Tue"; all seven → "Every day". */
export function workingDays(days) {
  if (!Array.isArray(days) || days.length === 0) return DASH;
  if (days.length === 7) return 'Every day';
  return DAYS.filter((d) => days.includes(d))
    .map((d) => d[0].toUpperCase() + d.slice(1, 3))
    .join(', ');
}

/**
 * What an Active session costs so far by its tariff snapshot: energy × rate, plus tax (the
 * server's running cost, when an event carried it, is preferred by callers).
 */
export function estimatedCost(s) {
  if (isBlank(s.energy_wh) || isBlank(s.base_charges)) return null;
  const net = (Number(s.energy_wh) / 1000) * Number(s.base_charges);
  return Math.round(net * (1 + Number(s.tax || 0) / 100) * 100) / 100;
}
