// The time step, shared by the booking flow and the manage page (reschedule):
// - personal services: a month calendar (days with slots) and the times of the chosen day;
// - group, series and mini services: the scheduled dates, grouped by day, with seats and place.
// Plus the time-zone field (searchable <datalist>) and the 12/24-hour switch.
// Slots are asked for in the client's time zone; the server answers in it, so a slot's local
// date is the first 10 characters of its start.

import { get, paths } from './api.js';
import { h, replace, icon, id } from './dom.js';
import { t, fmt, todayIn, firstDay, timeZones } from './i18n.js';
import { placeTime } from './ui.js';

const pad = (n) => String(n).padStart(2, '0');
export const ymd = (y, m, d) => `${y}-${pad(m + 1)}-${pad(d)}`;
const daysIn = (y, m) => new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
export function addDays(date, n) {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
const parse = (date) => date.split('-').map(Number);
const monthKey = (y, m) => `${y}-${pad(m + 1)}`;

export { firstRange } from './early.js';

export function fetchSlots(expert, service, start, end, tz) {
  return get(paths.slots(expert, service, start, end, tz));
}

export function createPicker(o) {
  // o: {expert, service, tz, hour12, prefetch?: {tz, start, end, promise}, onPick(slot), onTz(tz),
  //     onHour12(bool), announce(text), message?: {text, kind}}
  const personal = o.service.kind === 'personal';
  const st = { tz: o.tz, hour12: o.hour12, day: null, y: 0, m: 0, auto: 3, seq: 0 };
  let data = {}; // tz -> {months: {key: 'loading'|'done'|'error'}, days: {date: [slot]}, list: [slot], until}

  const store = () => (data[st.tz] ||= { months: {}, days: {}, list: [], until: null, state: null });

  const root = h('div', { class: 'picker' });
  const note = h('div', { class: 'note-slot' });
  const main = h('div', { class: personal ? 'cal-layout' : 'sess-layout' });
  const tzBox = h('div', { class: 'tzbox' });
  root.append(note, main);

  function setMessage(msg) {
    replace(note, msg ? h('p', { class: `note ${msg.kind || 'warn'}`, role: msg.kind === 'error' ? 'alert' : null }, icon(msg.kind === 'error' ? 'alert' : 'info'), h('span', { text: msg.text })) : null);
  }
  setMessage(o.message);

  // ---- loading ------------------------------------------------------------

  function absorb(s, slots, start, end) {
    for (const slot of slots) {
      const date = slot.start.slice(0, 10);
      (s.days[date] ||= []).push(slot);
    }
    // Mark each month that the range fully covers (from today on) as loaded.
    const today = todayIn(st.tz);
    let [y, m] = parse(start);
    m -= 1;
    for (;;) {
      const first = ymd(y, m, 1);
      const last = ymd(y, m, daysIn(y, m));
      if (first > end) break;
      const from = first < today ? today : first;
      if (from >= start && last <= end) s.months[monthKey(y, m)] = 'done';
      m += 1;
      if (m === 12) { m = 0; y += 1; }
    }
  }

  async function loadMonth(y, m) {
    const s = store();
    const key = monthKey(y, m);
    if (s.months[key] === 'done' || s.months[key] === 'loading') return;
    const today = todayIn(st.tz);
    const first = ymd(y, m, 1);
    const last = ymd(y, m, daysIn(y, m));
    if (last < today) { s.months[key] = 'done'; return; }
    const start = first < today ? today : first;
    s.months[key] = 'loading';
    const tz = st.tz;
    try {
      let res;
      const pf = o.prefetch;
      if (pf && pf.tz === tz && pf.start <= start && pf.end >= last) {
        o.prefetch = null;
        res = await pf.promise;
        if (data[tz] !== s) return;
        absorb(s, res.slots, pf.start, pf.end);
        return;
      }
      res = await fetchSlots(o.expert, o.service.slug, start, last, tz);
      if (data[tz] !== s) return;
      absorb(s, res.slots, start, last);
    } catch (e) {
      if (data[tz] !== s) return;
      s.months[key] = 'error';
      s.error = e;
    }
  }

  async function showMonth(y, m, { focusDay = false, auto = false } = {}) {
    st.y = y;
    st.m = m;
    const seq = ++st.seq;
    const s = store();
    drawCalendar();
    await loadMonth(y, m);
    if (seq !== st.seq) return;
    const days = monthDays(s);
    if (auto && !days.length && s.months[monthKey(y, m)] === 'done' && st.auto-- > 0) {
      const [ny, nm] = m === 11 ? [y + 1, 0] : [y, m + 1];
      return showMonth(ny, nm, { auto: true, focusDay });
    }
    if (!st.day || !st.day.startsWith(monthKey(y, m)) || !(s.days[st.day] || []).length) st.day = days[0] || null;
    drawCalendar();
    if (focusDay) focusSelected();
    if (s.months[monthKey(y, m)] === 'done') {
      say(days.length ? `${fmt.month(y, m)}: ${t('n_times', { n: (s.days[st.day] || []).length })}, ${st.day ? fmt.day(st.day) : ''}` : t('no_month', { month: fmt.month(y, m) }));
    }
  }

  // Announce the times; right after a time-zone switch, say the new zone with them.
  function say(text) {
    o.announce?.(st.note ? `${st.note} ${text}` : text);
    st.note = null;
  }

  const monthDays = (s) => Object.keys(s.days).filter((d) => d.startsWith(monthKey(st.y, st.m)) && s.days[d].length).sort();

  // ---- personal: calendar + times --------------------------------------------

  const calCol = h('div', { class: 'cal-col' });
  const timesCol = h('div', { class: 'times-col' });
  const monthLabel = h('h2', { class: 'month', id: id('m'), 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'icon-btn', 'aria-label': t('prev_month'), onclick: () => step(-1) }, icon('back'));
  const next = h('button', { type: 'button', class: 'icon-btn', 'aria-label': t('next_month'), onclick: () => step(1) }, icon('next'));
  const grid = h('div', { class: 'grid-wrap' });
  if (personal) {
    calCol.append(h('div', { class: 'cal-head' }, prev, monthLabel, next), grid, tzBox);
    main.append(calCol, timesCol);
  } else {
    main.append(tzBox);
  }

  function step(delta) {
    let m = st.m + delta;
    let y = st.y;
    if (m < 0) { m = 11; y -= 1; }
    if (m > 11) { m = 0; y += 1; }
    st.day = null;
    showMonth(y, m);
  }

  function drawCalendar() {
    const s = store();
    const { y, m } = st;
    const key = monthKey(y, m);
    const state = s.months[key];
    const today = todayIn(st.tz);
    const [ty, tm] = parse(today);
    monthLabel.textContent = fmt.month(y, m);
    prev.disabled = y < ty || (y === ty && m <= tm - 1);
    next.disabled = (y - ty) * 12 + (m - (tm - 1)) >= 12;

    const fd = firstDay();
    const head = h('tr');
    for (let i = 0; i < 7; i++) {
      // 2023-01-01 was a Sunday.
      const date = `2023-01-${pad(1 + ((fd + i) % 7))}`;
      head.append(h('th', { scope: 'col' },
        h('span', { 'aria-hidden': 'true', text: fmt.day(date, { weekday: 'narrow' }) }),
        h('span', { class: 'sr-only', text: fmt.day(date, { weekday: 'long' }) })));
    }
    const body = h('tbody');
    let row = h('tr');
    const lead = (new Date(Date.UTC(y, m, 1)).getUTCDay() - fd + 7) % 7;
    for (let i = 0; i < lead; i++) row.append(h('td'));
    const n = daysIn(y, m);
    const selected = st.day && st.day.startsWith(key) ? st.day : null;
    let tabbable = selected;
    if (!tabbable) tabbable = ymd(y, m, 1) > today ? ymd(y, m, 1) : (today.startsWith(key) ? today : ymd(y, m, 1));
    for (let d = 1; d <= n; d++) {
      const date = ymd(y, m, d);
      const has = state === 'done' && (s.days[date] || []).length > 0;
      const label = `${fmt.day(date)}, ${has ? t('day_free') : t('day_none')}${date === today ? `, ${t('today')}` : ''}`;
      row.append(h('td', null, h('button', {
        type: 'button',
        class: ['day', date < today && 'past', has && 'has', date === selected && 'sel', date === today && 'today', state === 'loading' && 'shimmer'],
        'data-date': date,
        'aria-label': label,
        'aria-pressed': date === selected ? 'true' : 'false',
        'aria-disabled': has ? null : 'true',
        tabindex: date === tabbable ? '0' : '-1',
        onclick: () => has && pickDay(date),
        onkeydown: dayKeys,
      }, String(d))));
      if (row.children.length === 7) { body.append(row); row = h('tr'); }
    }
    if (row.children.length) {
      while (row.children.length < 7) row.append(h('td'));
      body.append(row);
    }
    replace(grid, h('table', { class: 'cal', 'aria-labelledby': monthLabel.id }, h('thead', null, head), body));
    drawTimes();
  }

  function dayKeys(e) {
    const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };
    const delta = moves[e.key];
    if (!delta) return;
    e.preventDefault();
    const target = addDays(e.currentTarget.dataset.date, delta);
    const btn = grid.querySelector(`[data-date="${target}"]`);
    if (btn) {
      for (const b of grid.querySelectorAll('.day')) b.tabIndex = -1;
      btn.tabIndex = 0;
      btn.focus();
    }
  }

  function focusSelected() {
    const btn = grid.querySelector('.day.sel') || grid.querySelector('.day[tabindex="0"]');
    btn?.focus();
  }

  function pickDay(date) {
    st.day = date;
    for (const b of grid.querySelectorAll('.day')) {
      const sel = b.dataset.date === date;
      b.classList.toggle('sel', sel);
      b.setAttribute('aria-pressed', sel ? 'true' : 'false');
      b.tabIndex = sel ? 0 : -1;
    }
    drawTimes();
    o.announce?.(`${fmt.day(date)}: ${t('n_times', { n: (store().days[date] || []).length })}`);
  }

  function errorBox(err, retry) {
    const text = err && err.network ? t('e_network') : (err && err.status === 429 ? t('e_rate') : t('e_generic'));
    return h('div', { class: 'note error', role: 'alert' }, icon('alert'), h('span', { text }),
      h('button', { type: 'button', class: 'btn small', onclick: retry }, t('retry')));
  }

  function drawTimes() {
    const s = store();
    const state = s.months[monthKey(st.y, st.m)];
    if (state === 'error') {
      return replace(timesCol, errorBox(s.error, () => { delete s.months[monthKey(st.y, st.m)]; showMonth(st.y, st.m); }));
    }
    if (state !== 'done') {
      return replace(timesCol, h('div', { class: 'sk-line w40' }), h('ul', { class: 'times', 'aria-hidden': 'true' },
        Array.from({ length: 6 }, () => h('li', null, h('div', { class: 'sk-time' })))));
    }
    if (!st.day) {
      return replace(timesCol, h('p', { class: 'muted empty' }, monthDays(s).length ? t('no_day') : t('no_month', { month: fmt.month(st.y, st.m) })));
    }
    const slots = s.days[st.day] || [];
    const listId = id('t');
    replace(timesCol,
      h('h2', { class: 'times-h', id: listId, text: fmt.day(st.day) }),
      h('ul', { class: 'times', 'aria-labelledby': listId },
        slots.map((slot) => h('li', null, timeButton(slot)))));
  }

  // ---- group / series / mini: list of scheduled dates -------------------------

  const listBox = h('div', { class: 'sess-list' });
  if (!personal) main.prepend(listBox);

  // Scheduled sessions, two months at a time (the API's range limit). A prefetched first range is
  // shown at once and the rest of the two months is asked for right after.
  async function loadList(more = false) {
    const s = store();
    const tz = st.tz;
    const from = s.until ? addDays(s.until, 1) : todayIn(tz);
    const target = addDays(from, 61);
    s.state = 'loading';
    drawList();
    try {
      const pf = o.prefetch;
      if (!s.until && pf && pf.tz === tz) {
        o.prefetch = null;
        const res = await pf.promise;
        if (data[tz] !== s) return;
        s.list.push(...res.slots);
        s.until = pf.end;
        if (s.until < target) drawList();
      }
      if (!s.until || s.until < target) {
        const start = s.until ? addDays(s.until, 1) : from;
        const res = await fetchSlots(o.expert, o.service.slug, start, target, tz);
        if (data[tz] !== s) return;
        s.list.push(...res.slots);
        s.until = target;
      }
      s.state = 'done';
    } catch (e) {
      if (data[tz] !== s) return;
      s.state = 'error';
      s.error = e;
    }
    drawList(more);
    if (s.state === 'done') say(s.list.length ? t('n_times', { n: s.list.length }) : t('no_sessions'));
  }

  function drawList(more = false) {
    const s = store();
    const items = [];
    const byDay = new Map();
    for (const slot of s.list) {
      const date = slot.start.slice(0, 10);
      if (!byDay.has(date)) byDay.set(date, []);
      byDay.get(date).push(slot);
    }
    const mini = o.service.kind === 'mini';
    for (const [date, slots] of byDay) {
      // One place for the whole day is said once, under the date.
      const places = new Set(slots.map((x) => placeOf(x.location)));
      const common = places.size === 1 ? [...places][0] : '';
      const timeList = (list) => h('ul', { class: 'times' }, list.map((slot) => h('li', null, slot.seats_left > 0
        ? timeButton(slot)
        : h('button', {
          type: 'button', class: 'time full', onclick: () => o.onWaitlist(slot),
          'aria-label': t('wl_join_for', { when: fmt.time(slot.start, st.tz, st.hour12) }),
        }, h('span', { text: fmt.time(slot.start, st.tz, st.hour12) }), h('span', { class: 'full-tag', text: t('full') })))));
      // Mini sessions at several places on one day: each place with its own times.
      const byPlace = mini && !common
        ? [...places].map((place) => [h('p', { class: 'sess-place' }, icon('pin'), place),
          timeList(slots.filter((x) => placeOf(x.location) === place))])
        : null;
      items.push(h('li', { class: 'sess-day' },
        h('h2', { class: 'sess-date', text: fmt.day(date, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' }) }),
        common ? h('p', { class: 'sess-place' }, icon('pin'), common) : null,
        mini
          ? (byPlace ? byPlace.flat() : timeList(slots))
          : h('ul', { class: 'sess-items' }, slots.map((slot) => h('li', null, sessionButton(slot, !common))))));
    }
    const parts = [];
    if (items.length) parts.push(h('ul', { class: 'sess-days' }, items));
    if (s.state === 'loading') {
      parts.push(h('div', { class: 'sk-card' }), h('div', { class: 'sk-card' }));
    } else if (s.state === 'error') {
      parts.push(errorBox(s.error, () => loadList(Boolean(s.list.length))));
    } else {
      if (!items.length) parts.push(h('p', { class: 'muted empty', text: t('no_sessions') }));
      if (s.until) parts.push(h('button', { type: 'button', class: 'btn ghost', onclick: () => loadList(true) }, t('later')));
    }
    const focused = more && document.activeElement && listBox.contains(document.activeElement);
    replace(listBox, parts);
    if (focused) listBox.querySelector('.sess-days li:last-child .sess-btn')?.focus();
  }

  // A time to pick; at an in-person place on another clock, the place's time first and the client's below it.
  function timeButton(slot) {
    const place = placeTime(slot.location || o.service.location, slot.start, null, st.tz, st.hour12);
    return h('button', { type: 'button', class: place ? 'time two-clocks' : 'time', onclick: () => o.onPick(slot),
      'aria-label': place ? place.text : null },
      place ? [h('span', { text: place.there }), h('span', { class: 'yours', text: place.here })]
        : fmt.time(slot.start, st.tz, st.hour12));
  }

  function placeOf(loc) {
    return loc ? [loc.name, loc.address].filter(Boolean).join(', ') : '';
  }

  function sessionTime(slot) {
    const place = placeTime(slot.location || o.service.location, slot.start, slot.end, st.tz, st.hour12);
    return place ? place.text : fmt.range(slot.start, slot.end, st.tz, st.hour12);
  }

  function sessionButton(slot, withPlace) {
    const where = withPlace ? placeOf(slot.location) : '';
    const dates = Array.isArray(slot.sessions) && slot.sessions.length > 1
      ? slot.sessions.map((x) => fmt.dateShort(x.start || x, st.tz)).join(' · ') : '';
    const when = fmt.range(slot.start, slot.end, st.tz, st.hour12);
    const parts = [
      h('span', { class: 'sess-time' }, icon('clock'), sessionTime(slot)),
      where ? h('span', { class: 'sess-meta' }, icon('pin'), where) : null,
      dates ? h('span', { class: 'sess-meta' }, icon('calendar'), dates) : null,
    ];
    if (slot.seats_left <= 0) {
      // A full session is not bookable: it says so, and offers its waitlist instead.
      return h('div', { class: 'sess-btn full' }, parts,
        h('span', { class: 'sess-seats' }, h('span', { class: 'full-tag', text: t('full') }),
          h('button', { type: 'button', class: 'btn small', onclick: () => o.onWaitlist(slot),
            'aria-label': t('wl_join_for', { when: `${fmt.dateShort(slot.start, st.tz)}, ${when}` }) }, t('wl_join'))));
    }
    return h('button', { type: 'button', class: 'sess-btn', onclick: () => o.onPick(slot) }, parts,
      h('span', { class: 'sess-seats', text: t('seats', { n: slot.seats_left }) }));
  }

  // ---- time zone + clock ----------------------------------------------------

  const zone = zoneField({ tz: st.tz, hour12: st.hour12, onTz: setTz, onHour12: setHour12 });
  tzBox.append(zone.el);

  function setTz(zone) {
    st.tz = zone;
    o.onTz?.(zone);
    st.note = t('tz_changed', { tz: zone }); // said again with the new times, which replace it
    o.announce?.(st.note);
    if (personal) {
      const today = todayIn(zone);
      const [ty, tm] = parse(today);
      if (st.y * 12 + st.m < ty * 12 + tm - 1) { st.y = ty; st.m = tm - 1; }
      if (st.day && st.day < today) st.day = null;
      showMonth(st.y, st.m);
    } else if (!store().state) {
      loadList();
    } else {
      drawList();
    }
  }

  function setHour12(value) {
    st.hour12 = value;
    o.onHour12?.(value);
    if (personal) drawTimes();
    else drawList();
  }

  // ---- public -----------------------------------------------------------------

  if (personal) {
    const [y, m] = parse(todayIn(st.tz));
    showMonth(y, m - 1, { auto: true });
  } else {
    loadList();
  }

  return {
    el: root,
    get tz() { return st.tz; },
    // After a 409 or an expired hold: forget every slot, show a message and load again.
    refresh(message) {
      data = {};
      st.auto = 3;
      setMessage(message);
      if (personal) showMonth(st.y, st.m, { auto: true });
      else loadList();
    },
    setMessage,
    setHour12(value) {
      if (value !== st.hour12) {
        zone.setHour12(value);
        setHour12(value);
      }
    },
    focus: focusSelected,
  };
}

// The time-zone field (a searchable <datalist> of IANA zones, with the zone's name and the time
// there as a hint) and the 12/24-hour switch. Used by the time step and by the completion of a
// session the expert set up. o: {tz, hour12, onTz(zone), onHour12(bool)}.
export function zoneField(o) {
  const st = { tz: o.tz, hour12: o.hour12 };
  const box = h('div', { class: 'tz-wrap' });
  const inputId = id('tz');
  const listId = id('tzl');
  const hintId = id('tzh');
  const errId = id('tze');
  const datalist = h('datalist', { id: listId });
  const hint = h('p', { class: 'tz-hint', id: hintId });
  const err = h('p', { class: 'field-error', id: errId, hidden: true });
  const showHint = () => { hint.textContent = `${fmt.tzName(st.tz)} · ${fmt.time(new Date().toISOString(), st.tz, st.hour12)}`; };
  showHint();
  const input = h('input', {
    id: inputId, class: 'tz-input', type: 'text', value: st.tz, list: listId, autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': `${hintId} ${errId}`,
    onfocus: () => fillZones(datalist),
    oninput: () => { const z = resolveZone(input.value, true); if (z) apply(z); },
    onchange: () => {
      const z = resolveZone(input.value, false);
      if (z) apply(z);
      else {
        err.textContent = t('tz_bad');
        err.hidden = false;
        input.setAttribute('aria-invalid', 'true');
      }
    },
  });
  function apply(zone) {
    err.hidden = true;
    input.removeAttribute('aria-invalid');
    if (zone === st.tz) { input.value = zone; return; }
    input.value = zone;
    st.tz = zone;
    showHint();
    o.onTz?.(zone);
  }
  const buttons = [true, false].map((h12) => h('button', {
    type: 'button', class: 'seg-btn', 'aria-pressed': String(st.hour12 === h12),
    onclick: () => { if (st.hour12 !== h12) { setHour12(h12); o.onHour12?.(h12); } },
  }, h12 ? t('h12') : t('h24')));
  function setHour12(value) {
    st.hour12 = value;
    buttons.forEach((b, i) => b.setAttribute('aria-pressed', String((i === 0) === value)));
    showHint();
  }
  box.append(
    h('div', { class: 'tz-row' },
      h('div', { class: 'tz-field' },
        h('label', { for: inputId, class: 'tz-label' }, icon('globe'), t('timezone')),
        input, datalist),
      h('div', { class: 'seg', role: 'group', 'aria-label': t('clock') }, buttons)),
    hint, err);
  return { el: box, setHour12 };
}

let zones = null;
function fillZones(datalist) {
  if (datalist.children.length) return;
  zones ||= timeZones();
  for (const z of zones) datalist.append(h('option', { value: z, label: `${z.split('/').pop().replace(/_/g, ' ')}` }));
}

function resolveZone(value, exactOnly) {
  zones ||= timeZones();
  const v = value.trim();
  if (zones.includes(v)) return v;
  if (exactOnly || !v) return null;
  const low = v.toLowerCase().replace(/ /g, '_');
  return zones.find((z) => z.toLowerCase() === low)
    || zones.find((z) => z.toLowerCase().split('/').pop() === low) || null;
}
