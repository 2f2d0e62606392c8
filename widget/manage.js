// The manage page (the link in every email): see the booking, cancel it with a message, or move it
// to another time of the same service (reusing the time step of the booking flow). A session the
// expert set up is completed here first (complete.js: questions, payment, confirmation). When
// embedded, it tells the host page through the same protocol as the flow.

import { h, replace, icon, $ } from './dom.js';
import { get, post as apiPost, paths, setBase, uuid } from './api.js';
import { t, fmt, setLanguage, defaultHour12, detectTimeZone, addWords } from './i18n.js';
import words from './i18n-steps.js';
import { params, post as send, on, watchSize, embedded, publicBooking } from './messenger.js';
import { applyTheme } from './theme.js';
import { calendarLinks } from './calendar-links.js';
import { announce, focusHeading, errorText } from './ui.js';
import { summary, moneyLines } from './summary.js';

addWords(words);

const cfg = JSON.parse($('#kairos-config').textContent);
setBase(cfg.api);
const manageP = get(paths.manage(cfg.token));
manageP.catch(() => {});

const main = $('#main');
const view = $('#view');
const langP = setLanguage(params.get('lang'));
applyTheme(params.get('color'), params.get('theme'));
if (embedded) document.documentElement.classList.add('embedded');
if (cfg.mode === 'page' || !embedded) document.documentElement.classList.add('page');
watchSize(document.body);
on('open', () => focusHeading(view));

const S = { data: null, expert: null, service: null, tz: detectTimeZone(), hour12: true, picker: null, slot: null, busy: false, error: null, message: '', done: null };

boot();

async function boot() {
  try {
    [S.data] = await Promise.all([manageP, langP]);
  } catch (e) {
    main.removeAttribute('aria-busy');
    replace(view, h('div', { class: 'fatal' }, h('h1', { class: 'step-h', tabindex: '-1', text: e.status === 404 ? t('link_bad') : errorText(e) }),
      e.status === 404 ? null : h('button', { type: 'button', class: 'btn', onclick: () => location.reload() }, t('retry'))));
    return;
  }
  const b = S.data.booking;
  try {
    S.expert = await get(paths.expert(b.expert.slug));
    if (!params.get('lang') && S.expert.locale) await setLanguage(S.expert.locale);
    if (!params.get('color') && S.expert.brand_color) applyTheme(S.expert.brand_color, params.get('theme'));
  } catch {
    S.expert = b.expert;
  }
  S.hour12 = defaultHour12();
  let first = 'view';
  if (S.data.can_complete || awaitsCard(b)) {
    try {
      await loadCompletion();
      first = S.data.can_complete ? 'complete' : 'payment';
    } catch {
      /* the booking view still shows it, with a button to try again */
    }
  }
  main.removeAttribute('aria-busy');
  go(first, false);
}

// A session the expert set up whose client chose to pay by card and has not paid yet: no hold
// counts down (the expert reserved the time), so the page offers to pay again.
const awaitsCard = (b) => b.status === 'pending_payment' && b.payment && b.payment.option === 'online' && !b.payment.hold_expires_at;

let completion = null;
async function loadCompletion() {
  if (!completion) {
    const { completionViews } = await import('./complete.js');
    completion = completionViews({
      S, api: cfg.api, token: cfg.token, stripe: cfg.stripe, root: view, go, reload, expertName, send,
    });
    Object.assign(VIEWS, completion);
  }
}

async function openCompletion(step) {
  S.error = null;
  try {
    await loadCompletion();
  } catch (e) {
    S.error = { ...e, network: true };
    return go('view');
  }
  go(step);
}

function go(step, focus = true) {
  S.step = step;
  replace(view, VIEWS[step]());
  document.title = completion && step in completion && step !== 'completed' ? t('complete_title') : t('manage_title');
  if (focus) focusHeading(view, !embedded);
}

const expertName = () => (S.expert && S.expert.name) || (S.data.booking.expert && S.data.booking.expert.name) || '';
const bookingTz = () => S.data.booking.timezone || S.tz;

function reasonText(reason) {
  const key = `r_${reason}`;
  const text = t(key, { expert: expertName() });
  return text === key ? t('r_default', { expert: expertName() }) : text;
}

function statusBadge(b) {
  // A pending offer that lapsed waits for nobody any more: say so rather than "Waiting for you".
  const lapsed = b.status === 'pending' && S.data.reason === 'lapsed';
  return h('span', { class: `status ${lapsed ? 'cancelled' : b.status}`, text: t(lapsed ? 'st_lapsed' : `st_${b.status}`) });
}

function errorNote() {
  if (!S.error) return null;
  const e = S.error;
  const text = e.code === 'not_allowed' && e.reason ? reasonText(e.reason) : errorText(e);
  return h('div', { class: 'note error', role: 'alert' }, icon('alert'), h('span', { text }));
}

function mainView() {
  const { booking: b, can_cancel: canCancel, can_reschedule: canMove, reason } = S.data;
  const blocked = (!canCancel || !canMove) && !S.data.can_complete;
  const done = S.done === 'cancelled' ? t('cancelled') : S.done === 'rescheduled' ? t('resched_ok') : null;
  return [
    h('h1', { class: 'step-h', tabindex: '-1', text: done || t('manage_title') }),
    statusBadge(b),
    summary(b, { tz: bookingTz(), hour12: S.hour12, expert: S.expert }),
    moneyLines(b),
    restPayment(b),
    errorNote(),
    blocked && reason && !(b.status === 'cancelled' && S.done === 'cancelled')
      ? h('p', { class: 'note info' }, icon('info'), h('span', { text: reasonText(reason) })) : null,
    h('div', { class: 'actions' },
      S.data.can_complete ? h('button', { type: 'button', class: 'btn primary', onclick: () => openCompletion('complete') }, icon('check'), t('complete_btn')) : null,
      awaitsCard(b) ? h('button', { type: 'button', class: 'btn primary', onclick: () => openCompletion('payment') }, icon('card'), t('complete_resume')) : null,
      b.status === 'cancelled' ? h('a', { class: 'btn primary', href: bookAgainUrl(b) }, t('book_more')) : null,
      canMove ? h('button', { type: 'button', class: 'btn primary', onclick: startReschedule }, icon('calendar'), t('resched')) : null,
      canCancel ? h('button', { type: 'button', class: 'btn ghost', onclick: () => { S.error = null; go('cancel'); } }, t('cancel')) : null),
    b.status === 'confirmed' ? h('div', { class: 'actions' }, ...calendarLinks(b)) : null,
  ];
}

// The rest of a deposit booking, paid by card from here: a fresh card setup, then the payment module.
function restPayment(b) {
  const p = b.payment;
  if (!p || p.option !== 'online' || b.status !== 'confirmed' || !(p.amount_due > 0)) return null;
  const box = h('div', { class: 'pay-box' });
  const start = async () => {
    replace(box, h('p', { class: 'muted', text: t('pay_loading') }));
    try {
      const fresh = (await apiPost(`/manage/${encodeURIComponent(cfg.token)}/payment`)).booking;
      const m = await import('./payment.js');
      m.mountPayment(box, {
        booking: fresh, stripe: null, t, fmt,
        onPaid: (paid) => { S.data.booking = paid; announce(t('pay_rest_done')); go('view'); },
        onFailed: () => {},
      });
    } catch (e) {
      replace(box, h('p', { class: 'note error', role: 'alert' }, h('span', { text: errorText(e) })));
    }
  };
  replace(box, h('button', { type: 'button', class: 'btn primary', onclick: start },
    icon('card'), t('pay_rest', { price: fmt.price({ amount: p.amount_due, currency: p.currency }) })));
  return h('section', { class: 'pay', 'aria-label': t('payment') }, box);
}

// A new booking of the same service: inside the same iframe when embedded, so the host page keeps
// hearing from this widget (same origin and wid parameters).
function bookAgainUrl(b) {
  const path = `/${embedded ? 'widget' : 'book'}/${encodeURIComponent(b.expert.slug)}/${encodeURIComponent(b.service.slug)}`;
  return embedded ? `${path}?${params}` : path;
}

function cancelView() {
  const b = S.data.booking;
  const fid = 'cancel-msg';
  const btn = h('button', { type: 'submit', class: 'btn primary danger', disabled: S.busy }, S.busy ? [h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('cancel')] : t('cancel'));
  return [
    topbar(() => go('view')),
    h('h1', { class: 'step-h', tabindex: '-1', text: t('cancel_q') }),
    summary(b, { tz: bookingTz(), hour12: S.hour12, expert: S.expert }),
    h('form', { class: 'form', novalidate: true, onsubmit: (e) => { e.preventDefault(); cancel(); } },
      h('div', { class: 'field' },
        h('label', { for: fid, text: t('cancel_msg', { expert: expertName() }) }),
        h('textarea', { id: fid, rows: 3, value: S.message, oninput: (e) => { S.message = e.target.value; } })),
      errorNote(),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn ghost', onclick: () => go('view') }, t('keep')),
        btn)),
  ];
}

function topbar(onBack) {
  return h('div', { class: 'topbar' }, h('button', { type: 'button', class: 'back', onclick: onBack }, icon('back'), h('span', { text: t('back') })), h('span'));
}

async function cancel() {
  if (S.busy) return;
  S.busy = true;
  S.error = null;
  go('cancel', false);
  try {
    const res = await apiPost(`${paths.manage(cfg.token)}/cancel`, { reason: S.message.trim() }, uuid());
    S.data = { ...S.data, booking: res.booking, can_cancel: false, can_reschedule: false, reason: 'cancelled' };
    S.done = 'cancelled';
    S.busy = false;
    go('view');
    announce(t('cancelled'));
    send('booking-cancelled', { booking: publicBooking(res.booking) });
  } catch (e) {
    S.busy = false;
    S.error = e;
    if (e.code === 'not_allowed') await reload();
    go('cancel', false);
    announce(errorText(e));
  }
}

async function reload() {
  try {
    S.data = await get(paths.manage(cfg.token));
  } catch {
    /* keep what we have */
  }
}

async function startReschedule() {
  S.error = null;
  const b = S.data.booking;
  if (!S.service) {
    try {
      S.service = (S.expert.services || []).find((s) => s.slug === b.service.slug) || await get(paths.service(b.expert.slug, b.service.slug));
    } catch (e) {
      S.error = e;
      return go('view');
    }
  }
  if (!S.picker) {
    const { createPicker } = await import('./picker.js');
    S.picker = createPicker({
      expert: b.expert.slug, service: S.service, tz: S.tz, hour12: S.hour12,
      onPick: (slot) => { S.slot = slot; S.error = null; go('confirm'); },
      onTz: (z) => { S.tz = z; },
      onHour12: (v) => { S.hour12 = v; },
      announce,
    });
  }
  go('reschedule');
}

function rescheduleView() {
  return [topbar(() => go('view')), h('h1', { class: 'step-h', tabindex: '-1', text: t('resched_title') }), S.picker.el];
}

function confirmView() {
  const slot = S.slot;
  const old = S.data.booking;
  const tz = bookingTz();
  const was = `${fmt.dateShort(old.start, tz)}, ${fmt.range(old.start, old.end, tz, S.hour12)}`;
  return [
    topbar(() => go('reschedule')),
    h('h1', { class: 'step-h', tabindex: '-1', text: t('resched_to') }),
    summary({ ...old, start: slot.start, end: slot.end }, { tz: S.tz, hour12: S.hour12, expert: S.expert }),
    h('p', { class: 'muted was', text: t('was', { when: was }) }),
    errorNote(),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn ghost', onclick: () => go('reschedule') }, t('back')),
      h('button', { type: 'button', class: 'btn primary', onclick: reschedule, disabled: S.busy },
        S.busy ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : icon('check'), t('resched'))),
  ];
}

async function reschedule() {
  if (S.busy) return;
  S.busy = true;
  go('confirm', false);
  const body = { timezone: S.tz };
  if (S.slot.session && S.service.kind !== 'personal') body.session = S.slot.session;
  else body.start = S.slot.start;
  try {
    const res = await apiPost(`${paths.manage(cfg.token)}/reschedule`, body, uuid());
    S.busy = false;
    await reload();
    if (!S.data.booking || S.data.booking.start !== res.booking.start) S.data = { ...S.data, booking: res.booking };
    S.done = 'rescheduled';
    S.picker.refresh(null);
    go('view');
    announce(t('resched_ok'));
    send('booking-rescheduled', { booking: publicBooking(res.booking) });
  } catch (e) {
    S.busy = false;
    if (e.status === 409) {
      S.picker.refresh({ text: t('e_taken'), kind: 'error' });
      go('reschedule');
      announce(t('e_taken'));
      return;
    }
    S.error = e;
    if (e.code === 'not_allowed') {
      await reload();
      return go('view');
    }
    go('confirm', false);
    announce(errorText(e));
  }
}

const VIEWS = { view: mainView, cancel: cancelView, reschedule: rescheduleView, confirm: confirmView };
