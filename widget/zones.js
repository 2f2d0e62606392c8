// The IANA time zones the time-zone field (zone.js) offers and accepts, with today's names for the
// ones Chromium lists under old names.

import { h } from './dom.js';

let zones = null;

export function fill(datalist) {
  if (datalist.children.length) return;
  zones ||= timeZones();
  for (const z of zones) datalist.append(h('option', { value: z, label: `${z.split('/').pop().replace(/_/g, ' ')}` }));
}

// The zone a client typed: exact, else (unless exactOnly) by case-insensitive name or city.
export function resolve(value, exactOnly) {
  zones ||= timeZones();
  const v = value.trim();
  if (zones.includes(v)) return v;
  if (exactOnly || !v) return null;
  const low = v.toLowerCase().replace(/ /g, '_');
  return zones.find((z) => z.toLowerCase() === low)
    || zones.find((z) => z.toLowerCase().split('/').pop() === low) || null;
}

const RENAMED = {
  'Asia/Calcutta': 'Asia/Kolkata', 'Asia/Saigon': 'Asia/Ho_Chi_Minh', 'Europe/Kiev': 'Europe/Kyiv',
  'Asia/Katmandu': 'Asia/Kathmandu', 'Asia/Rangoon': 'Asia/Yangon', 'America/Godthab': 'America/Nuuk',
  'Atlantic/Faeroe': 'Atlantic/Faroe', 'Pacific/Enderbury': 'Pacific/Kanton', 'Pacific/Truk': 'Pacific/Chuuk',
  'Pacific/Ponape': 'Pacific/Pohnpei', 'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'America/Indianapolis': 'America/Indiana/Indianapolis', 'America/Louisville': 'America/Kentucky/Louisville',
};

function timeZones() {
  let list = [];
  try {
    list = Intl.supportedValuesOf('timeZone');
  } catch {
    list = [];
  }
  if (!list.includes('UTC')) list = [...list, 'UTC'];
  // Chromium lists some zones only under their old names (Asia/Calcutta): add today's, which
  // clients search for (and which Intl and the server both accept).
  const renamed = list.map((z) => RENAMED[z]).filter(Boolean);
  return renamed.length ? [...list, ...renamed].sort() : list;
}
