// A throwaway in-memory mock of the /api/cms contract, for trying the admin UI screens whose
// Rust routes are not built yet. Serves ../../public as static files.
//   node tests/ui/mock-server.mjs 18112
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PUBLIC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../public');
const port = Number(process.argv[2] || 18112);
const now = () => new Date().toISOString();
let seq = 100;

const db = {
  tariffs: [
    { id: 1, tariff_id: 'TRF-STD-INR', tariff_name: 'Standard AC', currency: 'INR', base_charges: 18.5, tax: 18, status: 'Active', created_by: 'admin', created_at: '2025-11-01T10:00:00Z' },
    { id: 2, tariff_id: 'TRF-FAST-DC', tariff_name: 'Fast DC', currency: 'INR', base_charges: 24, tax: 18, status: 'Active', created_by: null, created_at: '2025-11-02T10:00:00Z' },
  ],
  stations: [
    { id: 1, station_id: 'ST-BLR-001', station_name: 'Koramangala Hub', organization: 'massive_mobility', address: '80 Feet Rd', city: 'Bengaluru', state: 'Karnataka', country: 'India', pincode: '560034', latitude: 12.9352, longitude: 77.6245, status: 'Active', grid_phase: 'Three Phase', working_days: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'], opening_time: '08:00:00', closing_time: '22:00:00', contact_person: 'Asha Rao', contact_number: '+91 98450 00000', email: 'asha@example.com', created_at: '2025-11-03T09:00:00Z' },
    { id: 2, station_id: 'ST-PUN-007', station_name: 'Baner <script>alert(1)</script> Plaza', organization: '1c_ev_charging', address: null, city: 'Pune', state: 'Maharashtra', country: 'India', pincode: null, latitude: null, longitude: null, status: 'Maintenance', grid_phase: 'Single Phase', working_days: ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'], opening_time: null, closing_time: null, contact_person: null, contact_number: null, email: null, created_at: '2025-11-05T09:00:00Z' },
  ],
  points: [
    { id: 1, charging_point_name: 'KOR-AC-01', station_id: 'ST-BLR-001', device_id: 'CP-KOR-01', tariff_id: 1, charger_type: 'AC', phase: 'Phase R', oem_list: 'EVRE', max_power: 7.4, created_at: '2025-11-04T09:00:00Z',
      connectors: [{ id: 1, connector_id: '1', connector_type: 'type2', power: 7.4, status: 'Charging', error_code: 'NoError', status_at: '2025-11-24T06:00:00Z' }] },
    { id: 2, charging_point_name: 'KOR-DC-01', station_id: 'ST-BLR-001', device_id: null, tariff_id: 2, charger_type: 'DC', phase: 'Phase Y', oem_list: 'Okaya', max_power: 60, created_at: '2025-11-04T10:00:00Z',
      connectors: [{ id: 2, connector_id: '1', connector_type: 'ccs2', power: 60, status: null, error_code: null, status_at: null }, { id: 3, connector_id: '2', connector_type: 'gbt', power: 30, status: 'Faulted', error_code: 'GroundFailure', status_at: '2025-11-24T05:00:00Z' }] },
  ],
  customers: [
    { id: 5, customer_name: 'Ravi Kumar', phone: '+919876543210', email: 'ravi@example.com', default_vehicle: 'Tata Nexon EV', wallet_balance: 450, created_at: '2025-11-06T09:00:00Z' },
    { id: 6, customer_name: 'Meera Iyer', phone: '+919812345678', email: null, default_vehicle: null, wallet_balance: 0, created_at: '2025-11-07T09:00:00Z' },
  ],
  wallet: [
    { id: 1, customer_id: 5, transaction_type: 'Credit', amount: 500, balance: 500, description: 'Top-up', reference_id: 'RCPT-1', created_at: '2025-11-06T10:00:00Z' },
    { id: 2, customer_id: 5, transaction_type: 'Debit', amount: 50, balance: 450, description: 'Session S-1', reference_id: 'S-1', created_at: '2025-11-07T10:00:00Z' },
  ],
  sessions: [
    { id: 1, session_id: 'S-1', customer_id: 5, customer_name: 'Ravi Kumar', charging_point_id: 1, charging_point_name: 'KOR-AC-01', station_id: 'ST-BLR-001', connector_number: 1, start_time: '2025-11-07T09:00:00Z', end_time: '2025-11-07T09:40:00Z', energy_consumed: 2.36, billed_amount: 50, currency: 'INR', status: 'Completed', id_tag: 'TAG001' },
    { id: 2, session_id: 'S-2', customer_id: 5, customer_name: 'Ravi Kumar', charging_point_id: 1, charging_point_name: 'KOR-AC-01', station_id: 'ST-BLR-001', connector_number: 1, start_time: new Date(Date.now() - 25 * 60000).toISOString(), end_time: null, energy_consumed: 1.1, billed_amount: null, currency: 'INR', status: 'Active', id_tag: 'TAG001' },
  ],
};

const send = (res, status, body) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
};
const fail = (res, status, code, message, details = []) => send(res, status, { error: { code, message, details } });

function list(res, rows, q, filterKeys, searchKeys) {
  let out = rows.filter((r) => !r.deleted);
  for (const k of filterKeys) if (q.get(k)) out = out.filter((r) => String(r[k]) === q.get(k));
  const s = (q.get('search') || '').toLowerCase();
  if (s) out = out.filter((r) => searchKeys.some((k) => String(r[k] ?? '').toLowerCase().includes(s)));
  const sort = q.get('sort') || '-created_at';
  const desc = sort.startsWith('-');
  const f = desc ? sort.slice(1) : sort;
  out.sort((a, b) => (a[f] > b[f] ? 1 : a[f] < b[f] ? -1 : 0) * (desc ? -1 : 1));
  const page = Number(q.get('page') || 1);
  const limit = Math.min(100, Number(q.get('limit') || 20));
  send(res, 200, { data: out.slice((page - 1) * limit, page * limit), pagination: { page, limit, total: out.length, pages: Math.ceil(out.length / limit) } });
}

function validatePoint(b) {
  const d = [];
  if (!b.charging_point_name) d.push({ field: 'charging_point_name', problem: 'is required' });
  if (!Array.isArray(b.connectors) || b.connectors.length < 1 || b.connectors.length > 3) d.push({ field: 'connectors', problem: 'must have 1 to 3 connectors' });
  (b.connectors || []).forEach((c, i) => {
    if (!(c.power > 0)) d.push({ field: `connectors[${i}].power`, problem: 'must be greater than 0' });
    if ((b.connectors || []).findIndex((x) => x.connector_id === c.connector_id) !== i) d.push({ field: `connectors[${i}].connector_id`, problem: 'is used by another connector' });
  });
  return d;
}

async function api(req, res, url) {
  const parts = url.pathname.replace('/api/cms/', '').split('/').map(decodeURIComponent);
  const q = url.searchParams;
  let body = {};
  if (req.method === 'POST' || req.method === 'PUT') {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    try { body = JSON.parse(raw || '{}'); } catch { return fail(res, 400, 'malformed_json', 'the request body is not valid JSON'); }
  }
  const [kind, id, sub] = parts;
  const keyOf = { tariffs: 'tariff_id', stations: 'station_id', points: 'id', customers: 'id', sessions: 'id' }[kind];
  if (!keyOf) return fail(res, 404, 'not_found', 'no such resource');
  const rows = db[kind];
  const find = () => rows.find((r) => !r.deleted && String(r[keyOf]) === id);
  if (!id) {
    if (req.method === 'GET') {
      const filters = { tariffs: ['status', 'currency'], stations: ['status', 'organization', 'city', 'state', 'country', 'grid_phase'], points: ['station_id', 'charger_type', 'phase', 'oem_list', 'tariff_id'], customers: [], sessions: ['status', 'customer_id', 'charging_point_id', 'station_id'] }[kind];
      return list(res, rows, q, filters, ['tariff_name', 'tariff_id', 'station_name', 'station_id', 'charging_point_name', 'device_id', 'customer_name', 'phone', 'email', 'session_id']);
    }
    if (req.method === 'POST' && kind !== 'sessions') {
      if (kind === 'points') { const d = validatePoint(body); if (d.length) return fail(res, 422, 'validation_failed', `${d.length} fields are not valid`, d); }
      if (kind === 'stations' && !body.country) return fail(res, 422, 'validation_failed', '1 field is not valid', [{ field: 'country', problem: 'is required' }]);
      if (kind === 'customers' && rows.some((r) => !r.deleted && r.phone === body.phone)) return fail(res, 409, 'conflict', 'a customer already has this phone', [{ field: 'phone', problem: 'is already used' }]);
      const rec = { ...body, id: ++seq, created_at: now(), ...(kind === 'customers' ? { wallet_balance: 0 } : {}) };
      if (kind === 'points') rec.connectors = rec.connectors.map((c) => ({ ...c, id: ++seq, status: null, error_code: null, status_at: null }));
      rows.push(rec);
      return send(res, 201, rec);
    }
    return fail(res, 405, 'method_not_allowed', 'no');
  }
  const rec = find();
  if (!rec) return fail(res, 404, 'not_found', `no ${kind} ${JSON.stringify(id)}`);
  if (sub === 'wallet-transactions') {
    if (req.method === 'GET') return list(res, db.wallet.filter((t) => t.customer_id === rec.id), q, ['transaction_type'], []);
    const d = [];
    if (!(body.amount > 0)) d.push({ field: 'amount', problem: 'must be greater than 0' });
    if (!['Credit', 'Debit'].includes(body.transaction_type)) d.push({ field: 'transaction_type', problem: 'must be one of: Credit, Debit' });
    if (d.length) return fail(res, 422, 'validation_failed', `${d.length} fields are not valid`, d);
    if (body.transaction_type === 'Debit' && body.amount > rec.wallet_balance) return fail(res, 409, 'insufficient_balance', `the wallet holds ${rec.wallet_balance.toFixed(2)}, less than ${body.amount.toFixed(2)}`);
    rec.wallet_balance = Math.round((rec.wallet_balance + (body.transaction_type === 'Credit' ? body.amount : -body.amount)) * 100) / 100;
    const tx = { id: ++seq, customer_id: rec.id, ...body, balance: rec.wallet_balance, created_at: now() };
    db.wallet.push(tx);
    return send(res, 201, tx);
  }
  if (req.method === 'GET') return send(res, 200, rec);
  if (req.method === 'PUT') {
    if (kind === 'points' && body.connectors) { const d = validatePoint({ ...rec, ...body }); if (d.length) return fail(res, 422, 'validation_failed', `${d.length} fields are not valid`, d); }
    Object.assign(rec, body);
    return send(res, 200, rec);
  }
  if (req.method === 'DELETE') {
    if (kind === 'stations' && db.points.some((p) => !p.deleted && p.station_id === rec.station_id)) return fail(res, 409, 'conflict', 'the station has charging points; delete or move them first');
    rec.deleted = true;
    return send(res, 204);
  }
  return fail(res, 405, 'method_not_allowed', 'no');
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };
http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/api/health') return send(res, 200, { status: 'ok', database: 'mock' });
  if (url.pathname.startsWith('/api/cms/')) return api(req, res, url);
  const file = path.join(PUBLIC, url.pathname === '/' ? 'index.html' : path.normalize(url.pathname));
  if (!file.startsWith(PUBLIC) || !fs.existsSync(file)) return fail(res, 404, 'not_found', 'no such resource');
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
}).listen(port, '127.0.0.1', () => console.log(`mock on http://127.0.0.1:${port}`));
