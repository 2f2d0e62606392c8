// A chosen or made booking in words (time, place, price), for the later steps and the manage page;
// not part of the booking flow's first screen.

import { h, icon } from './dom.js';
import { t, fmt } from './i18n.js';
import { locationLabel, locationIcon, placeTime } from './ui.js';

// A public place ("Riverside Park, 1 Main St") or just the kind of location.
export function bookingLocation(loc) {
  if (!loc) return t('loc_custom');
  const place = [loc.name, loc.address].filter(Boolean).join(', ');
  return place || locationLabel(loc);
}

// "Monday, December 7, 2026, 10:00 AM – 10:20 AM Boston time · 7:00 AM – 7:20 AM your time" at a place on
// another clock, else the date and range in `tz` (followed by the zone's name when `withZone`).
export function whenText(start, end, loc, tz, hour12, withZone = false) {
  const place = placeTime(loc, start, end, tz, hour12);
  if (place) return `${fmt.date(start, place.zone)}, ${place.text}`;
  return `${fmt.date(start, tz)}, ${fmt.range(start, end, tz, hour12)}${withZone ? ` (${tz})` : ''}`;
}

// The booking's time and place, with the private details (call link, phone, address) it carries.
export function summary(b, { tz, hour12, expert }) {
  const loc = b.status === 'cancelled' ? null : b.location || null;
  const where = [];
  if (loc) {
    where.push(h('span', { class: 'loc-type', text: locationLabel(loc) }));
    if (loc.url) {
      where.push(h('a', { href: loc.url, target: '_blank', rel: 'noopener noreferrer', class: 'join' }, t('join')),
        h('span', { class: 'url', text: loc.url.replace(/^https?:\/\//, '') }));
    }
    if (loc.phone) where.push(h('a', { href: `tel:${loc.phone.replace(/[^0-9+]/g, '')}`, text: loc.phone }));
    const place = [loc.name, loc.address].filter(Boolean).join(', ');
    if (place && loc.type !== 'custom') where.push(h('span', { text: place }));
    if (loc.details) where.push(h('span', { class: 'pre', text: loc.details }));
  }
  const expertName = (b.expert && b.expert.name) || (expert && expert.name);
  const place = placeTime(loc, b.start, b.end, tz, hour12);
  return h('dl', { class: 'summary' },
    row('calendar', t('when'), [
      h('span', { class: 'strong', text: fmt.date(b.start, place ? place.zone : tz) }),
      h('span', { text: place ? place.text : `${fmt.range(b.start, b.end, tz, hour12)} · ${zoneText(tz, b.start)}` })]),
    row('user', t('service'), [h('span', { class: 'strong', text: b.service ? b.service.name : '' }), expertName ? h('span', { text: expertName }) : null]),
    loc ? row(locationIcon(loc), t('where'), where) : null);
}

// What a booking's price became: the coupon taken off, the deposit paid now, what is still due later.
export function moneyLines(b, currency = null) {
  const p = b.payment;
  const lines = [];
  const cur = p ? p.currency : currency;
  if (b.coupon && b.coupon.discount && cur) {
    lines.push(h('p', { class: 'money-line', text: t('coupon_applied', { code: b.coupon.code, amount: fmt.price({ amount: b.coupon.discount, currency: cur }) }) }));
  }
  if (p && p.deposit) {
    lines.push(h('p', { class: 'money-line', text: t(p.status === 'paid' ? 'deposit_paid' : 'deposit_now', { price: fmt.price({ amount: p.deposit, currency: cur }) }) }));
    const due = p.amount_due ?? p.amount - p.deposit;
    if (due > 0) lines.push(h('p', { class: 'money-line strong', text: t('deposit_rest', { price: fmt.price({ amount: due, currency: cur }) }) }));
  }
  return lines;
}

// "Central European Time (Europe/Paris)", or just the zone when Intl only knows an offset for it.
export function zoneText(tz, at) {
  const name = fmt.tzName(tz, at);
  return name && name !== tz && !/^(GMT|UTC)/.test(name) ? `${name} (${tz})` : tz;
}

function row(ic, label, content) {
  return h('div', { class: 'sum-row' }, icon(ic), h('dt', { class: 'sr-only', text: label }), h('dd', null, content));
}
