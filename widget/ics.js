// "Add to calendar": a link to the server's .ics of the booking (GET /api/v1/manage/{token}/booking.ics,
// built by the same code as the emails' invitations, so the UID and SEQUENCE match) and a Google
// Calendar link. The manage link is a secret: it goes into the server's file only, never into a URL
// sent to a third party.

import { h, icon } from './dom.js';

const utc = (iso) => new Date(iso).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

function place(loc) {
  if (!loc) return '';
  return loc.url || [loc.name, loc.address].filter(Boolean).join(', ') || loc.phone || loc.details || '';
}

// The .ics address of a booking, from its manage link (http://HOST/manage/TOKEN).
export function icsUrl(b) {
  const at = b.manage_url ? b.manage_url.lastIndexOf('/manage/') : -1;
  if (at < 0) return null;
  return `${b.manage_url.slice(0, at)}/api/v1/manage/${b.manage_url.slice(at + 8)}/booking.ics`;
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
  const file = icsUrl(b);
  return [
    file ? h('a', { class: 'btn ghost', href: file, download: `${(b.service && b.service.slug) || 'booking'}.ics` }, icon('calendar'), t('ics')) : null,
    h('a', { class: 'btn ghost', href: googleUrl(b, expert), target: '_blank', rel: 'noopener noreferrer' }, icon('calendar'), t('google')),
  ].filter(Boolean);
}
