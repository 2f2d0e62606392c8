// A personal service's times: the month grid (arrow keys move between days; up to three empty months
// are skipped) and the chosen day's times.

import { h, replace, icon, id } from './dom.js';
import { t, fmt, todayIn, firstDay } from './i18n.js';
import { timeButton, retryNote } from './ui.js';
import { ymd, daysIn, parse, monthKey, addDays } from './slots.js';

export function createView(ctx, zoneEl) {
  const st = { day: null, y: 0, m: 0, auto: 3, seq: 0 };
  const store = () => ctx.store.zone(ctx.tz);
  const monthDays = (s) => Object.keys(s.days).filter((d) => d.startsWith(monthKey(st.y, st.m)) && s.days[d].length).sort();

  const calCol = h('div', { class: 'cal-col' });
  const timesCol = h('div', { class: 'times-col' });
  const monthLabel = h('h2', { class: 'month', id: id('m'), 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'icon-btn', 'aria-label': t('prev_month'), onclick: () => step(-1) }, icon('back'));
  const next = h('button', { type: 'button', class: 'icon-btn', 'aria-label': t('next_month'), onclick: () => step(1) }, icon('next'));
  const grid = h('div', { class: 'grid-wrap' });
  calCol.append(h('div', { class: 'cal-head' }, prev, monthLabel, next), grid, zoneEl);

  async function showMonth(y, m, { focusDay = false, auto = false } = {}) {
    st.y = y;
    st.m = m;
    const seq = ++st.seq;
    const s = store();
    drawCalendar();
    await ctx.store.loadMonth(ctx.tz, y, m);
    if (seq !== st.seq) return;
    const days = monthDays(s);
    if (auto && !days.length && s.months[monthKey(y, m)] === 'done' && st.auto-- > 0) {
      const [ny, nm] = m === 11 ? [y + 1, 0] : [y, m + 1];
      return showMonth(ny, nm, { auto: true, focusDay });
    }
    if (!st.day || !st.day.startsWith(monthKey(y, m)) || !(s.days[st.day] || []).length) st.day = days[0] || null;
    drawCalendar();
    if (focusDay) focus();
    if (s.months[monthKey(y, m)] === 'done') {
      ctx.say(days.length ? `${fmt.month(y, m)}: ${t('n_times', { n: (s.days[st.day] || []).length })}, ${st.day ? fmt.day(st.day) : ''}` : t('no_month', { month: fmt.month(y, m) }));
    }
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
    const today = todayIn(ctx.tz);
    const [ty, tm] = parse(today);
    monthLabel.textContent = fmt.month(y, m);
    prev.disabled = y < ty || (y === ty && m <= tm - 1);
    next.disabled = (y - ty) * 12 + (m - (tm - 1)) >= 12;

    const fd = firstDay();
    const head = h('tr');
    for (let i = 0; i < 7; i++) {
      // 2023-01-01 was a Sunday.
      const date = `2023-01-0${1 + ((fd + i) % 7)}`;
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

  function focus() {
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
    ctx.announce?.(`${fmt.day(date)}: ${t('n_times', { n: (store().days[date] || []).length })}`);
  }

  function drawTimes() {
    const s = store();
    const key = monthKey(st.y, st.m);
    const state = s.months[key];
    if (state === 'error') {
      return replace(timesCol, retryNote(s.error, () => { delete s.months[key]; showMonth(st.y, st.m); }));
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
        slots.map((slot) => h('li', null, timeButton(slot, ctx)))));
  }

  const [y, m] = parse(todayIn(ctx.tz));
  showMonth(y, m - 1, { auto: true });

  return {
    el: [calCol, timesCol],
    setTz(tz) {
      const today = todayIn(tz);
      const [ty, tm] = parse(today);
      if (st.y * 12 + st.m < ty * 12 + tm - 1) { st.y = ty; st.m = tm - 1; }
      if (st.day && st.day < today) st.day = null;
      showMonth(st.y, st.m);
    },
    redraw: drawTimes,
    refresh() {
      st.auto = 3;
      showMonth(st.y, st.m, { auto: true });
    },
    focus,
  };
}
