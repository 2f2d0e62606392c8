// The slot store: a service's slots by month and time zone (the session list keeps its dates here
// too). The server answers in the zone asked for, so a slot's local date is its start's first 10
// characters.

import { get, paths } from './api.js';
import { early, firstRange, todayIn } from './early.js';

const pad = (n) => String(n).padStart(2, '0');
export const ymd = (y, m, d) => `${y}-${pad(m + 1)}-${pad(d)}`; // m is 0-based
export const daysIn = (y, m) => new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
export const parse = (date) => date.split('-').map(Number);
export const monthKey = (y, m) => `${y}-${pad(m + 1)}`;
export function addDays(date, n) {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function fetchSlots(expert, service, start, end, tz) {
  return get(paths.slots(expert, service, start, end, tz));
}

const stores = new Map();

export function slotStore(expert, slug) {
  const key = `${expert}/${slug}`;
  if (!stores.has(key)) stores.set(key, createStore(expert, slug));
  return stores.get(key);
}

function createStore(expert, slug) {
  let data = {};
  let first = null; // the first window, asked for ahead of any view (warm)

  const zone = (tz) => (data[tz] ||= { months: {}, days: {}, list: [], until: null, state: null, error: null });

  function warm(tz) {
    if (data[tz] || (first && first.tz === tz)) return;
    const e = early.slots;
    let promise;
    let range;
    if (e && e.service === slug && e.tz === tz) {
      // early.js's answer, used once (a refresh asks again); a failed request is asked again through api.js.
      delete early.slots;
      range = e;
      promise = e.answer.catch(() => fetchSlots(expert, slug, e.start, e.end, tz));
    } else {
      range = firstRange(tz);
      promise = fetchSlots(expert, slug, range.start, range.end, tz);
    }
    promise.catch(() => {});
    first = { tz, start: range.start, end: range.end, promise };
  }

  function takeFirst(tz, start, end) {
    const pf = first;
    if (!pf || pf.tz !== tz || (start && pf.start > start) || (end && pf.end < end)) return null;
    first = null;
    return pf;
  }

  function absorb(s, tz, slots, start, end) {
    for (const slot of slots) (s.days[slot.start.slice(0, 10)] ||= []).push(slot);
    const today = todayIn(tz);
    let [y, m] = parse(start);
    m -= 1;
    for (;;) { // mark each month the window covers (from today on) as loaded
      const firstDay = ymd(y, m, 1);
      const last = ymd(y, m, daysIn(y, m));
      if (firstDay > end) break;
      const from = firstDay < today ? today : firstDay;
      if (from >= start && last <= end) s.months[monthKey(y, m)] = 'done';
      m += 1;
      if (m === 12) { m = 0; y += 1; }
    }
  }

  async function loadMonth(tz, y, m) {
    const s = zone(tz);
    const key = monthKey(y, m);
    if (s.months[key] === 'done' || s.months[key] === 'loading') return;
    const today = todayIn(tz);
    const firstDay = ymd(y, m, 1);
    const last = ymd(y, m, daysIn(y, m));
    if (last < today) { s.months[key] = 'done'; return; }
    const start = firstDay < today ? today : firstDay;
    s.months[key] = 'loading';
    try {
      const pf = takeFirst(tz, start, last);
      const res = await (pf ? pf.promise : fetchSlots(expert, slug, start, last, tz));
      if (data[tz] !== s) return;
      if (pf) absorb(s, tz, res.slots, pf.start, pf.end);
      else absorb(s, tz, res.slots, start, last);
    } catch (e) {
      if (data[tz] !== s) return;
      s.months[key] = 'error';
      s.error = e;
    }
  }

  return {
    zone,
    warm,
    loadMonth,
    takeFirst,
    fetch: (tz, start, end) => fetchSlots(expert, slug, start, end, tz),
    // false once a reset dropped `s` (its answers are dropped too)
    holds: (tz, s) => data[tz] === s,
    // after a 409 or an expired hold
    reset() {
      data = {};
      first = null;
    },
  };
}
