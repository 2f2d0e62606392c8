// "Add to calendar": an .ics file built here from the booking (a data: URL, nothing stored) and a
// Google Calendar link. The manage link goes into the .ics only: it is a secret and must not be
// sent to a third party in a URL.

import { h, icon } from './dom.js';

const utc = (iso) => new Date(iso).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const esc = (s) => String(s).replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');

function fold(line) {
  // RFC 5545: lines longer than 75 octets are folded; counting characters keeps it simple and safe.
  const out = [];
  let rest = line;
  while (rest.length > 73) {
    out.push(rest.slice(0, 73));
    rest = ` ${rest.slice(73)}`;
  }
  out.push(rest);
  return out.join('\r\n');
}

function place(loc) {
  if (!loc) return '';
  return loc.url || [loc.name, loc.address].filter(Boolean).join(', ') || loc.phone || loc.details || '';
}

export function ics(b, expert) {
  const title = `${b.service ? b.service.name : 'Booking'}${expert && expert.name ? ` – ${expert.name}` : ''}`;
  const details = [b.location && b.location.url, b.location && b.location.phone, b.manage_url && `Manage: ${b.manage_url}`].filter(Boolean).join('\n');
  const lines = [
    'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Kairos//Booking//EN', 'CALSCALE:GREGORIAN', 'METHOD:PUBLISH',
    'BEGIN:VEVENT',
    `UID:${b.id}@kairos`,
    `DTSTAMP:${utc(new Date().toISOString())}`,
    `DTSTART:${utc(b.start)}`,
    `DTEND:${utc(b.end)}`,
    `SUMMARY:${esc(title)}`,
    details ? `DESCRIPTION:${esc(details)}` : null,
    place(b.location) ? `LOCATION:${esc(place(b.location))}` : null,
    b.location && b.location.url ? `URL:${b.location.url}` : null,
    'STATUS:CONFIRMED',
    'END:VEVENT', 'END:VCALENDAR',
  ].filter(Boolean);
  return `${lines.map(fold).join('\r\n')}\r\n`;
}

export function googleUrl(b, expert) {
  const q = new URLSearchParams({
    action: 'TEMPLATE',
    text: `${b.service ? b.service.name : 'Booking'}${expert && expert.name ? ` – ${expert.name}` : ''}`,
    dates: `${utc(b.start)}/${utc(b.end)}`,
    details: [b.location && b.location.url, b.location && b.location.phone].filter(Boolean).join('\n'),
    location: place(b.location),
  });
  return `https://calendar.google.com/calendar/render?${q}`;
}

export function calendarLinks(b, expert, t) {
  const href = `data:text/calendar;charset=utf-8,${encodeURIComponent(ics(b, expert))}`;
  return [
    h('a', { class: 'btn ghost', href, download: `${(b.service && b.service.slug) || 'booking'}.ics` }, icon('calendar'), t('ics')),
    h('a', { class: 'btn ghost', href: googleUrl(b, expert), target: '_blank', rel: 'noopener noreferrer' }, icon('calendar'), t('google')),
  ];
}
