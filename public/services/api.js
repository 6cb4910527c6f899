// The only module that talks HTTP. One function per operation; every failure is thrown as an
// ApiError carrying the HTTP status, the server's error code, message and field details.

export const API_BASE = '/api/cms';

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the server could not be reached)
   * @param {string} code machine-readable code from the server, e.g. "validation_failed"
   * @param {string} message human-readable message from the server
   * @param {{field: string, problem: string}[]} details per-field problems (422)
   */
  constructor(status, code, message, details = [], command = null) {
    const text = String(message ?? '');
    super(text.charAt(0).toUpperCase() + text.slice(1));
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
    /** A remote command's record, when a command failed (its charger's CALLERROR is in `command.error`). */
    this.command = command;
  }
}

/** Builds "?a=1&b=2", leaving out empty, null and undefined values. */
export function queryString(params = {}) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    q.set(key, String(value));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// ---- the signed-in user's token (sessionStorage: gone when the tab closes) --------------------
const TOKEN_KEY = 'evcms.token';
const USER_KEY = 'evcms.user';
let unauthorizedHandler = () => {};

export const getToken = () => sessionStorage.getItem(TOKEN_KEY);
export const getUser = () => {
  try { return JSON.parse(sessionStorage.getItem(USER_KEY) || 'null'); } catch { return null; }
};
function keepToken(answer) {
  sessionStorage.setItem(TOKEN_KEY, answer.token);
  sessionStorage.setItem(USER_KEY, JSON.stringify(answer.user));
  return answer;
}
export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}
/**
 * Whether the signed-in user may change data. Viewers may only read: the server refuses their
 * writes (403) whatever the UI shows, so this only decides which buttons to offer.
 */
export const canChange = () => {
  const user = getUser();
  return Boolean(user) && user.role !== 'viewer';
};
/** `handler` runs when the server refuses the token (401): the UI goes back to its login. */
export function onUnauthorized(handler) { unauthorizedHandler = handler; }

async function request(method, url, { query, body } = {}) {
  const headers = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers };
  if (body instanceof FormData) {
    // Sent as is: the browser writes the multipart Content-Type with its boundary.
    init.body = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url + queryString(query), init);
  } catch (err) {
    throw new ApiError(0, 'network_error', `Could not reach the server (${err.message}).`);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.status === 401 && token && url !== '/api/auth/login') {
    forgetToken();
    unauthorizedHandler();
  }
  if (!res.ok) {
    const e = data && data.error ? data.error : {};
    throw new ApiError(
      res.status,
      e.code || `http_${res.status}`,
      e.message || `The server answered ${res.status} ${res.statusText}.`.trim(),
      e.details || [],
      e.command || null,
    );
  }
  return data;
}

const cms = (path) => API_BASE + path;
const seg = (id) => encodeURIComponent(String(id));

// ---- authentication -------------------------------------------------------------------------
export const login = async (email, password) => keepToken(await request('POST', '/api/auth/login', { body: { email, password } }));
export const refreshToken = async () => keepToken(await request('POST', '/api/auth/refresh'));
export async function logout() {
  try { await request('POST', '/api/auth/logout'); } finally { forgetToken(); }
}

// ---- health ---------------------------------------------------------------------------------
export const getHealth = () => request('GET', '/api/health');

// ---- organizations (read-only, keyed by code) ----------------------------------------------
export const listOrganizations = () => request('GET', cms('/organizations'));
export const createOrganization = (body) => request('POST', cms('/organizations'), { body });

// ---- tariffs (keyed by the string tariff_id) ------------------------------------------------
export const listTariffs = (query) => request('GET', cms('/tariffs'), { query });
export const getTariff = (tariffId) => request('GET', cms(`/tariffs/${seg(tariffId)}`));
export const createTariff = (body) => request('POST', cms('/tariffs'), { body });
export const updateTariff = (tariffId, body) => request('PUT', cms(`/tariffs/${seg(tariffId)}`), { body });
export const removeTariff = (tariffId) => request('DELETE', cms(`/tariffs/${seg(tariffId)}`));

// ---- stations (keyed by the string station_id) ----------------------------------------------
export const listStations = (query) => request('GET', cms('/stations'), { query });
export const getStation = (stationId) => request('GET', cms(`/stations/${seg(stationId)}`));
export const createStation = (body) => request('POST', cms('/stations'), { body });
export const updateStation = (stationId, body) => request('PUT', cms(`/stations/${seg(stationId)}`), { body });
export const removeStation = (stationId) => request('DELETE', cms(`/stations/${seg(stationId)}`));

// ---- a station's images (numeric id); the first is the cover until another is chosen -------
export const listStationImages = (stationId) => request('GET', cms(`/stations/${seg(stationId)}/images`));
/** Uploads one image file (JPEG, PNG or WebP) as multipart part `file`; answers the new image. */
export function uploadStationImage(stationId, file) {
  const form = new FormData();
  form.append('file', file, file.name);
  return request('POST', cms(`/stations/${seg(stationId)}/images`), { body: form });
}
/** Makes an image the cover ({is_cover: true}) and/or moves it ({position: n}, from 1); answers the station's images in their new order. */
export const arrangeStationImage = (stationId, imageId, body) =>
  request('PUT', cms(`/stations/${seg(stationId)}/images/${seg(imageId)}`), { body });
export const removeStationImage = (stationId, imageId) =>
  request('DELETE', cms(`/stations/${seg(stationId)}/images/${seg(imageId)}`));

// ---- charging points (numeric id) -----------------------------------------------------------
export const listPoints = (query) => request('GET', cms('/points'), { query });
export const getPoint = (id) => request('GET', cms(`/points/${seg(id)}`));
export const createPoint = (body) => request('POST', cms('/points'), { body });
export const updatePoint = (id, body) => request('PUT', cms(`/points/${seg(id)}`), { body });
export const removePoint = (id) => request('DELETE', cms(`/points/${seg(id)}`));

// ---- customers (numeric id) and their wallets -----------------------------------------------
export const listCustomers = (query) => request('GET', cms('/customers'), { query });
export const getCustomer = (id) => request('GET', cms(`/customers/${seg(id)}`));
export const createCustomer = (body) => request('POST', cms('/customers'), { body });
export const updateCustomer = (id, body) => request('PUT', cms(`/customers/${seg(id)}`), { body });
export const removeCustomer = (id) => request('DELETE', cms(`/customers/${seg(id)}`));
export const listWalletTransactions = (customerId, query) =>
  request('GET', cms(`/customers/${seg(customerId)}/wallet-transactions`), { query });
export const createWalletTransaction = (customerId, body) =>
  request('POST', cms(`/customers/${seg(customerId)}/wallet-transactions`), { body });

// ---- id tags (OCPP idTags, keyed by the idTag text) -----------------------------------------
export const listCustomerIdTags = (customerId, query) =>
  request('GET', cms(`/customers/${seg(customerId)}/id-tags`), { query });
export const createIdTag = (customerId, body) =>
  request('POST', cms(`/customers/${seg(customerId)}/id-tags`), { body });
export const listIdTags = (query) => request('GET', cms('/id-tags'), { query });
export const getIdTag = (idTag) => request('GET', cms(`/id-tags/${seg(idTag)}`));
export const updateIdTag = (idTag, body) => request('PUT', cms(`/id-tags/${seg(idTag)}`), { body });
export const removeIdTag = (idTag) => request('DELETE', cms(`/id-tags/${seg(idTag)}`));

// ---- sessions (keyed by the string session_id): read, and an operator's actions ------------
export const listSessions = (query) => request('GET', cms('/sessions'), { query });
export const getSession = (sessionId) => request('GET', cms(`/sessions/${seg(sessionId)}`));
export const listMeterValues = (sessionId, query) =>
  request('GET', cms(`/sessions/${seg(sessionId)}/meter-values`), { query });
/** Settles an Active session by hand: body {reason, meter_stop_wh?}; answers the session. */
export const stopSession = (sessionId, body) => request('POST', cms(`/sessions/${seg(sessionId)}/stop`), { body });
/** The refunds and extra charges on a session's bill, oldest first. */
export const listSessionCorrections = (sessionId) => request('GET', cms(`/sessions/${seg(sessionId)}/corrections`));
/** Corrects a settled session's bill: body {kind: "Refund" | "Charge", amount, reason}. */
export const createSessionCorrection = (sessionId, body) =>
  request('POST', cms(`/sessions/${seg(sessionId)}/corrections`), { body });

// ---- chargers as they connected over OCPP (read-only, keyed by charge point id) -------------
export const listChargers = (query) => request('GET', cms('/chargers'), { query });
export const getCharger = (chargePointId) => request('GET', cms(`/chargers/${seg(chargePointId)}`));
/**
 * A charger's OCPP message log, newest first by default: query {page, limit, sort: 'at' | '-at',
 * action, from, to}; answers {data: [{id, direction, message_type, message_id, action, payload, at}], pagination}.
 */
export const listChargerMessages = (chargePointId, query) =>
  request('GET', cms(`/chargers/${seg(chargePointId)}/messages`), { query });

// ---- remote commands and what they changed on a charger -------------------------------------
/**
 * Sends an OCPP command (`action`, e.g. "Reset") with its payload (OCPP's camelCase) and waits for
 * the charger's answer: resolves with the command record {id, action, request, status, response,
 * error, ...}; a charger that is offline, refuses (CALLERROR) or does not answer throws an ApiError
 * (409 charger_offline, 502 charger_error with `command.error`, 504 charger_timeout, ...).
 */
export const sendCommand = (chargePointId, action, payload = {}) =>
  request('POST', cms(`/chargers/${seg(chargePointId)}/commands/${seg(action)}`), { body: payload });
export const listCommands = (chargePointId, query) => request('GET', cms(`/chargers/${seg(chargePointId)}/commands`), { query });
export const listReservations = (chargePointId) => request('GET', cms(`/chargers/${seg(chargePointId)}/reservations`));
export const getLocalList = (chargePointId) => request('GET', cms(`/chargers/${seg(chargePointId)}/local-list`));
export const getConfiguration = (chargePointId) => request('GET', cms(`/chargers/${seg(chargePointId)}/configuration`));

// ---- the dashboard's aggregates ------------------------------------------------------------
export const getDashboard = (query) => request('GET', cms('/dashboard'), { query });
export const getDashboardDaily = (query) => request('GET', cms('/dashboard/daily'), { query });
export const getDashboardHourly = (query) => request('GET', cms('/dashboard/hourly'), { query });

// ---- users (admins only) -----------------------------------------------------------------------
export const listUsers = (query) => request('GET', cms('/users'), { query });
export const createUser = (body) => request('POST', cms('/users'), { body });
export const updateUser = (id, body) => request('PUT', cms(`/users/${seg(id)}`), { body });
export const isAdmin = () => (getUser() || {}).role === 'admin';

// ---- the API description (OpenAPI), for choices the server defines -------------------------
let description = null;
/** GET /api/openapi.json, fetched once per page load (a failure is retried on the next call). */
export function getApiDescription() {
  if (!description) {
    description = request('GET', '/api/openapi.json').catch((err) => {
      description = null;
      throw err;
    });
  }
  return description;
}
/** The values of the enum schema `name` in the API description, e.g. "CorrectionKind". */
export async function schemaEnum(name) {
  const doc = await getApiDescription();
  const values = doc && doc.components && doc.components.schemas && doc.components.schemas[name] && doc.components.schemas[name].enum;
  if (!Array.isArray(values)) throw new ApiError(0, 'no_schema', `The API description has no choices for ${name}.`);
  return values;
}

/** Fetches every page of a list (at most `maxPages` pages of 100), for pickers. */
export async function listAll(listFn, query = {}, maxPages = 10) {
  const rows = [];
  for (let page = 1; page <= maxPages; page += 1) {
    const res = await listFn({ ...query, page, limit: 100 });
    rows.push(...(res.data || []));
    const pages = res.pagination ? res.pagination.pages : 1;
    if (page >= pages) break;
  }
  return rows;
}
