// fetch wrapper for the public API: JSON in and out, the error envelope of API.md turned into
// ApiError, and retries on network failures (GETs always; POSTs only when they carry an
// Idempotency-Key, which makes a repeat safe).

export class ApiError extends Error {
  constructor(status, code, message, fields = {}, reason = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || {};
    this.reason = reason;
  }
  get network() {
    return this.status === 0;
  }
}

let base = '/api/v1';
// A signed-in client's token: a Bearer header (third-party cookies are blocked in the iframe).
let token = null;
export function setToken(value) {
  token = value || null;
}
export const hasToken = () => Boolean(token);
export function setBase(value) {
  base = value || base;
}

const wait = (ms) => new Promise((r) => setTimeout(r, ms));

// Answers the widget page carried (<script type="application/json" id="kairos-data">, see
// backend/api/first_answers.py): each is taken once, for exactly the request it answers; those
// right only for a signed-out visitor are not taken with a client token.
let carried = { answers: {}, signed_out: [] };
try {
  carried = JSON.parse(document.getElementById('kairos-data').textContent);
} catch { /* none on this page */ }
function take(path) {
  if (!Object.hasOwn(carried.answers, path) || (token && carried.signed_out.includes(path))) return undefined;
  const data = carried.answers[path];
  delete carried.answers[path];
  return data;
}

export async function request(path, { method = 'GET', body, key, retries } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (key) headers['Idempotency-Key'] = key;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (method === 'GET' && body === undefined) {
    const data = take(path);
    if (data !== undefined) return data;
  }
  const safe = method === 'GET' || Boolean(key);
  const tries = retries ?? (safe ? 2 : 0);
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(base + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        // Slots carry an ETag and no-cache: the browser revalidates (304) and never shows a stale copy.
        cache: path.includes('/slots?') ? 'no-cache' : 'no-store',
      });
    } catch {
      if (attempt < tries) {
        await wait(400 * 2 ** attempt);
        continue;
      }
      throw new ApiError(0, 'network', 'network');
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (res.ok) return data;
    if (safe && attempt < tries && (res.status === 502 || res.status === 503 || res.status === 504)) {
      await wait(400 * 2 ** attempt);
      continue;
    }
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || `http_${res.status}`, e.message || res.statusText || 'error', e.fields, e.reason);
  }
}

export const get = (path) => request(path);
export const post = (path, body, key) => request(path, { method: 'POST', body, key });

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const enc = encodeURIComponent;
export const paths = {
  expert: (e) => `/experts/${enc(e)}`,
  service: (e, s) => `/experts/${enc(e)}/services/${enc(s)}`,
  slots: (e, s, start, end, tz) =>
    `/experts/${enc(e)}/services/${enc(s)}/slots?start=${start}&end=${end}&timezone=${enc(tz)}&include_full=true`,
  bookings: (e, s) => `/experts/${enc(e)}/services/${enc(s)}/bookings`,
  manage: (t) => `/manage/${enc(t)}`,
  waitlist: (e, s) => `/experts/${enc(e)}/services/${enc(s)}/waitlist`,
  offer: (t) => `/waitlist/${enc(t)}`,
  auth: (e, what) => `/experts/${enc(e)}/client-auth/${what}`,
  collection: (e, c) => `/experts/${enc(e)}/collections/${enc(c)}`,
  purchases: (e, p) => `/experts/${enc(e)}/package-plans/${enc(p)}/purchases`,
};
