// "Add to calendar" for a made booking. The file is the server's (GET /api/v1/manage/{token}/booking.ics,
// built by the code that builds the emails' invitations: one UID, a rising SEQUENCE, every date of a
// series), so the widget writes no calendar data of its own. Beside it, a Google Calendar link for a
// single session, filled in as the server fills the file's event (title "Service – Expert", the
// location's name, address, call link and phone); a series has only the file, which holds every date.
// The manage link is a secret: it reaches the file's address only, never a URL sent to a third party.

import { h, icon } from './dom.js';
import { t } from './i18n.js';

const utc = (iso) => new Date(iso).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

// The .ics address of a booking, beside its manage link (https://HOST/manage/TOKEN).
function fileUrl(b) {
  const at = b.manage_url ? b.manage_url.lastIndexOf('/manage/') : -1;
  if (at < 0) return null;
  return `${b.manage_url.slice(0, at)}/api/v1/manage/${b.manage_url.slice(at + 8)}/booking.ics`;
}

function googleUrl(b) {
  const loc = b.location || {};
  const q = new URLSearchParams({
    action: 'TEMPLATE',
    text: [b.service && b.service.name, b.expert && b.expert.name].filter(Boolean).join(' – '),
    dates: `${utc(b.start)}/${utc(b.end)}`,
    location: [loc.name, loc.address, loc.url, loc.phone].filter(Boolean).join(', '),
  });
  if (b.confirmation_note) q.set('details', b.confirmation_note);
  return `https://calendar.google.com/calendar/render?${q}`;
}

export function calendarLinks(b) {
  const file = fileUrl(b);
  const series = Array.isArray(b.sessions) && b.sessions.length > 1;
  return [
    file ? h('a', { class: 'btn ghost', href: file, download: `${(b.service && b.service.slug) || 'booking'}.ics` }, icon('calendar'), t('ics')) : null,
    series ? null : h('a', { class: 'btn ghost', href: googleUrl(b), target: '_blank', rel: 'noopener noreferrer' }, icon('calendar'), t('google')),
  ].filter(Boolean);
}
