// The slot store: a service's slots, fetched in windows and kept per time zone, for the time step
// of the booking flow and of the manage page (reschedule). Slots are asked for in the client's
// time zone; the server answers in it, so a slot's local date is the first 10 characters of its start.
// - month windows (personal services): each month that a window fully covers (from today on) is
//   marked loaded, and its slots are filed by local date;
// - a list (group, series and mini services): scheduled dates, two months at a time.
// The first window can be asked for before any view exists (`warm`), from a direct link's early.js
// request or when the client reaches for a service.

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

// The one store of a service: the flow's pickers, its prefetching and a refresh all share it.
export function slotStore(expert, slug) {
  const key = `${expert}/${slug}`;
  if (!stores.has(key)) stores.set(key, createStore(expert, slug));
  return stores.get(key);
}

function createStore(expert, slug) {
  // tz -> {months: {key: 'loading'|'done'|'error'}, days: {date: [slot]}, list: [slot], until, state, error}
  let data = {};
  let first = null; // {tz, start, end, promise}: the first window, asked for ahead of the view

  const zone = (tz) => (data[tz] ||= { months: {}, days: {}, list: [], until: null, state: null, error: null });

  function warm(tz) {
    if (data[tz] || (first && first.tz === tz)) return;
    const e = early.slots;
    let promise;
    let range;
    if (e && e.service === slug && e.tz === tz) {
      // Started by early.js before the flow loaded; used once (a refresh asks again). A failed
      // answer is asked again through api.js.
      delete early.slots;
      range = e;
      promise = e.response.then((res) => (res.ok ? res.json() : Promise.reject(res)))
        .catch(() => fetchSlots(expert, slug, e.start, e.end, tz));
    } else {
      range = firstRange(tz);
      promise = fetchSlots(expert, slug, range.start, range.end, tz);
    }
    promise.catch(() => {});
    first = { tz, start: range.start, end: range.end, promise };
  }

  // The first window, once, when it covers [start, end] in tz.
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
    for (;;) {
      const firstDay = ymd(y, m, 1);
      const last = ymd(y, m, daysIn(y, m));
      if (firstDay > end) break;
      const from = firstDay < today ? today : firstDay;
      if (from >= start && last <= end) s.months[monthKey(y, m)] = 'done';
      m += 1;
      if (m === 12) { m = 0; y += 1; }
    }
  }

  // Load month m (0-based) of year y, from today on; sets its state to done or error.
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

  // The next two months of the list (the API's range limit). A first window is absorbed at once and
  // `onPart` called, then the rest of the two months is asked for. Resolves false when the store
  // was reset meanwhile (the answer is dropped).
  async function loadList(tz, onPart) {
    const s = zone(tz);
    const from = s.until ? addDays(s.until, 1) : todayIn(tz);
    const target = addDays(from, 61);
    s.state = 'loading';
    onPart();
    try {
      const pf = s.until ? null : takeFirst(tz);
      if (pf) {
        const res = await pf.promise;
        if (data[tz] !== s) return false;
        s.list.push(...res.slots);
        s.until = pf.end;
        if (s.until < target) onPart();
      }
      if (!s.until || s.until < target) {
        const start = s.until ? addDays(s.until, 1) : from;
        const res = await fetchSlots(expert, slug, start, target, tz);
        if (data[tz] !== s) return false;
        s.list.push(...res.slots);
        s.until = target;
      }
      s.state = 'done';
    } catch (e) {
      if (data[tz] !== s) return false;
      s.state = 'error';
      s.error = e;
    }
    return true;
  }

  return {
    zone,
    warm,
    loadMonth,
    loadList,
    // After a 409 or an expired hold: forget every slot (answers still on their way are dropped).
    reset() {
      data = {};
      first = null;
    },
  };
}
