// Pieces shared by the booking flow and the manage page.

import { h, icon, $ } from './dom.js';
import { t, fmt } from './i18n.js';

export function locationLabel(loc) {
  if (!loc || !loc.type) return t('loc_custom');
  if (loc.type === 'custom' && loc.name) return loc.name;
  return t(`loc_${loc.type}`);
}

export function locationIcon(loc) {
  return { video: 'video', phone: 'phone', in_person: 'pin' }[loc && loc.type] || 'info';
}

// An in-person session happens on the place's clock: "10:00 AM Boston time · 7:00 AM your time".
// Null when the location is not a place or the client's clock reads the same (the server fills in
// the place's zone: its own, else the expert's). Without `end`, single times instead of ranges.
export function placeTime(loc, start, end, tz, hour12) {
  const zone = loc && loc.type === 'in_person' && loc.timezone;
  if (!zone) return null;
  const when = (z) => (end ? fmt.range(start, end, z, hour12) : fmt.time(start, z, hour12));
  const yours = when(tz);
  const atPlace = when(zone);
  if (atPlace === yours && fmt.date(start, zone) === fmt.date(start, tz)) return null;
  const city = loc.city || zone.split('/').pop().replace(/_/g, ' ');
  const there = t('place_time', { time: atPlace, city });
  const sameDay = fmt.date(start, zone) === fmt.date(start, tz);
  const here = t('your_time', { time: sameDay ? yours : `${fmt.dateShort(start, tz)} ${yours}` });
  return { zone, there, here, text: `${there} · ${here}` };
}

// A time to pick; at an in-person place on another clock, the place's time first and the client's below it.
// ctx: {service, tz, hour12, onPick(slot)}.
export function timeButton(slot, ctx) {
  const place = placeTime(slot.location || ctx.service.location, slot.start, null, ctx.tz, ctx.hour12);
  return h('button', { type: 'button', class: place ? 'time two-clocks' : 'time', onclick: () => ctx.onPick(slot),
    'aria-label': place ? place.text : null },
  place ? [h('span', { text: place.there }), h('span', { class: 'yours', text: place.here })]
    : fmt.time(slot.start, ctx.tz, ctx.hour12));
}

// Times that could not be loaded, with a button to try again.
export function retryNote(err, retry) {
  const text = err && err.network ? t('e_network') : (err && err.status === 429 ? t('e_rate') : t('e_generic'));
  return h('div', { class: 'note error', role: 'alert' }, icon('alert'), h('span', { text }),
    h('button', { type: 'button', class: 'btn small', onclick: retry }, t('retry')));
}

let liveTimer = 0;
export function announce(text) {
  const live = $('#live');
  if (!live || !text) return;
  live.textContent = '';
  cancelAnimationFrame(liveTimer);
  liveTimer = requestAnimationFrame(() => { live.textContent = text; });
}

export function focusHeading(root, scroll = false) {
  const el = root.querySelector('h1');
  if (!el) return;
  el.focus({ preventScroll: true });
  if (scroll) window.scrollTo({ top: 0 });
}

export function errorText(e) {
  if (!e) return t('e_generic');
  if (e.network) return t('e_network');
  if (e.status === 429) return t('e_rate');
  if (e.status === 404) return t('e_missing');
  if (e.status >= 500 || !e.message) return t('e_generic');
  return e.message;
}
