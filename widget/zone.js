// The time-zone field (a <datalist> of IANA zones, filled on focus) and the 12/24-hour switch.

import { h, icon, id } from './dom.js';
import { t, fmt } from './i18n.js';

// The list of zones is a module of its own, loaded when the field is first used.
const zones = () => import('./zones.js');

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
    onfocus: () => zones().then((m) => m.fill(datalist)),
    oninput: () => zones().then((m) => { const z = m.resolve(input.value, true); if (z) apply(z); }),
    onchange: () => zones().then((m) => {
      const z = m.resolve(input.value, false);
      if (z) apply(z);
      else {
        err.textContent = t('tz_bad');
        err.hidden = false;
        input.setAttribute('aria-invalid', 'true');
      }
    }),
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
