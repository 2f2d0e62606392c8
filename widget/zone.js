// The time-zone field: a searchable <datalist> of IANA zones (filled when first focused), with the
// zone's name and the time there as a hint, and the 12/24-hour switch. Used by the time step (the
// picker) and by the completion of a session the expert set up. Every time goes through Intl.

import { h, icon, id } from './dom.js';
import { t, fmt } from './i18n.js';

// o: {tz, hour12, onTz(zone), onHour12(bool)} -> {el, setHour12(bool)}
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
