// A group, series or mini service's times: the scheduled dates by day, with seats and place; a full
// session offers its waitlist.

import { h, replace, icon, sheet } from './dom.js';
import { t, fmt, todayIn } from './i18n.js';
import { addDays } from './slots.js';
import { placeTime, timeButton, retryNote } from './ui.js';

await sheet('sessions.css'); // the list shows styled

const placeOf = (loc) => (loc ? [loc.name, loc.address].filter(Boolean).join(', ') : '');

export function createView(ctx, zoneEl) {
  const listBox = h('div', { class: 'sess-list' });
  const store = () => ctx.store.zone(ctx.tz);

  // The next two months of dates (the API's range limit): a first window asked for ahead (the
  // store's) is shown at once, then the rest of the two months is asked for.
  async function load(more = false) {
    const { store: st, tz } = ctx;
    const s = store();
    const from = s.until ? addDays(s.until, 1) : todayIn(tz);
    const target = addDays(from, 61);
    s.state = 'loading';
    draw();
    try {
      const pf = s.until ? null : st.takeFirst(tz);
      if (pf) {
        const res = await pf.promise;
        if (!st.holds(tz, s)) return;
        s.list.push(...res.slots);
        s.until = pf.end;
        if (s.until < target) draw();
      }
      if (!s.until || s.until < target) {
        const res = await st.fetch(tz, s.until ? addDays(s.until, 1) : from, target);
        if (!st.holds(tz, s)) return;
        s.list.push(...res.slots);
        s.until = target;
      }
      s.state = 'done';
    } catch (e) {
      if (!st.holds(tz, s)) return;
      s.state = 'error';
      s.error = e;
    }
    draw(more);
    if (s.state === 'done') ctx.say(s.list.length ? t('n_times', { n: s.list.length }) : t('no_sessions'));
  }

  function draw(more = false) {
    const s = store();
    const items = [];
    const byDay = new Map();
    for (const slot of s.list) {
      const date = slot.start.slice(0, 10);
      if (!byDay.has(date)) byDay.set(date, []);
      byDay.get(date).push(slot);
    }
    const mini = ctx.service.kind === 'mini';
    for (const [date, slots] of byDay) {
      // One place for the whole day is said once, under the date.
      const places = new Set(slots.map((x) => placeOf(x.location)));
      const common = places.size === 1 ? [...places][0] : '';
      const timeList = (list) => h('ul', { class: 'times' }, list.map((slot) => h('li', null, slot.seats_left > 0
        ? timeButton(slot, ctx)
        : h('button', {
          type: 'button', class: 'time full', onclick: () => ctx.onWaitlist(slot),
          'aria-label': t('wl_join_for', { when: fmt.time(slot.start, ctx.tz, ctx.hour12) }),
        }, h('span', { text: fmt.time(slot.start, ctx.tz, ctx.hour12) }), h('span', { class: 'full-tag', text: t('full') })))));
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
      parts.push(retryNote(s.error, () => load(Boolean(s.list.length))));
    } else {
      if (!items.length) parts.push(h('p', { class: 'muted empty', text: t('no_sessions') }));
      if (s.until) parts.push(h('button', { type: 'button', class: 'btn ghost', onclick: () => load(true) }, t('later')));
    }
    const focused = more && document.activeElement && listBox.contains(document.activeElement);
    replace(listBox, parts);
    if (focused) listBox.querySelector('.sess-days li:last-child .sess-btn')?.focus();
  }

  function sessionTime(slot) {
    const place = placeTime(slot.location || ctx.service.location, slot.start, slot.end, ctx.tz, ctx.hour12);
    return place ? place.text : fmt.range(slot.start, slot.end, ctx.tz, ctx.hour12);
  }

  function sessionButton(slot, withPlace) {
    const where = withPlace ? placeOf(slot.location) : '';
    const dates = Array.isArray(slot.sessions) && slot.sessions.length > 1
      ? slot.sessions.map((x) => fmt.dateShort(x.start || x, ctx.tz)).join(' · ') : '';
    const when = fmt.range(slot.start, slot.end, ctx.tz, ctx.hour12);
    const parts = [
      h('span', { class: 'sess-time' }, icon('clock'), sessionTime(slot)),
      where ? h('span', { class: 'sess-meta' }, icon('pin'), where) : null,
      dates ? h('span', { class: 'sess-meta' }, icon('calendar'), dates) : null,
    ];
    if (slot.seats_left <= 0) {
      // A full session is not bookable: it says so, and offers its waitlist instead.
      return h('div', { class: 'sess-btn full' }, parts,
        h('span', { class: 'sess-seats' }, h('span', { class: 'full-tag', text: t('full') }),
          h('button', { type: 'button', class: 'btn small', onclick: () => ctx.onWaitlist(slot),
            'aria-label': t('wl_join_for', { when: `${fmt.dateShort(slot.start, ctx.tz)}, ${when}` }) }, t('wl_join'))));
    }
    return h('button', { type: 'button', class: 'sess-btn', onclick: () => ctx.onPick(slot) }, parts,
      h('span', { class: 'sess-seats', text: t('seats', { n: slot.seats_left }) }));
  }

  load();

  return {
    el: [listBox, zoneEl],
    setTz() {
      if (!store().state) load();
      else draw();
    },
    redraw: () => draw(),
    refresh: () => load(),
    focus: () => listBox.querySelector('.sess-btn, .time')?.focus(),
  };
}
