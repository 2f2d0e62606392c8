// The later steps of the booking flow (details, review, payment, confirmation, joining a waitlist),
// loaded when the client shows intent (app.js gives nav.js the loader), so the first screen stays small.

import { h, replace, add, icon, id, sheet, $ } from './dom.js';
import { post as apiPost, paths, uuid } from './api.js';
import { t, fmt, lang, addWords } from './i18n.js';
import words from './i18n-steps.js';
import { params, post as send, embedded, hostOrigin, wid, publicBooking } from './messenger.js';
import { announce, errorText } from './ui.js';
import { summary, moneyLines, whenText, bookingLocation } from './summary.js';
import { PHONE, field, questionFields, missingAnswers, answersBody, showErrors, fieldMessages, paymentSection } from './form.js';
import { calendarLinks } from './calendar-links.js';
import { S, cfg } from './state.js';
import { go, topbar, heading } from './nav.js';
import { serviceHeader } from './header.js';
import { picker } from './times.js';
import { cardLabel } from './signin.js';

addWords(words);
await sheet('steps.css'); // the step shows styled

const view = $('#view');

const slotWhen = () => S.slot && whenText(S.slot.start, S.slot.end, S.slot.location || S.service.location, S.tz, S.hour12);

// ---- step: details ------------------------------------------------------------------------

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function fieldErrors() {
  const s = S.service;
  const f = S.form;
  const e = {};
  if (!f.name.trim()) e['client.name'] = t('e_required');
  if (!f.email.trim()) e['client.email'] = t('e_required');
  else if (!EMAIL.test(f.email.trim())) e['client.email'] = t('e_email');
  if (s.phone === 'required' && !f.phone.trim()) e['client.phone'] = t('e_required');
  else if (s.phone !== 'hidden' && f.phone.trim() && !PHONE.test(f.phone.trim())) e['client.phone'] = t('e_phone');
  return { ...e, ...missingAnswers(s.questions, f.answers) };
}

function detailsView() {
  const s = S.service;
  const f = S.form;
  const fields = [
    field('client.name', t('name'), { value: f.name, autocomplete: 'name', required: true, set: (v) => { f.name = v; } }),
    field('client.email', t('email'), { type: 'email', value: f.email, autocomplete: 'email', required: true, set: (v) => { f.email = v; } }),
  ];
  if (s.phone !== 'hidden') {
    fields.push(field('client.phone', t('phone'), { type: 'tel', value: f.phone, autocomplete: 'tel', required: s.phone === 'required', set: (v) => { f.phone = v; } }));
  }
  if (s.message) fields.push(field('message', t('message'), { kind: 'textarea', value: f.message, set: (v) => { f.message = v; } }));
  fields.push(...questionFields(s.questions, f.answers));
  const form = h('form', { class: 'form', novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    S.errors = fieldErrors();
    if (Object.keys(S.errors).length) {
      showErrors(form, S.errors);
      return;
    }
    go('review');
  } },
  h('p', { class: 'form-error', role: 'alert', hidden: !Object.keys(S.errors).length, text: t('e_fix') }),
  fields,
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('next'), icon('next'))));
  if (Object.keys(S.errors).length) queueMicrotask(() => showErrors(form, S.errors, false));
  return [topbar(), serviceHeader(slotWhen()), heading(t('details')), heldNote(), form];
}

// The seat a waitlist link holds, and until when.
function heldNote() {
  if (!S.offer || !S.offer.offer_expires_at) return null;
  return h('p', { class: 'note info held' }, icon('clock'),
    h('span', { text: t('wl_held', { time: fmt.time(S.offer.offer_expires_at, S.tz, S.hour12) }) }));
}

// ---- step: review ---------------------------------------------------------------------------

function reviewView() {
  const s = S.service;
  const f = S.form;
  const options = s.payment_options || [];
  if (options.length && !options.includes(S.payment)) S.payment = options[0];
  const rows = [
    [t('service'), `${s.name} · ${fmt.duration(s.duration_minutes)}`, null],
    [t('when'), whenText(S.slot.start, S.slot.end, S.slot.location || s.location, S.tz, S.hour12, true), 'time'],
    [t('where'), bookingLocation(S.slot.location || s.location), null],
    [t('you'), [f.name, f.email, f.phone].filter(Boolean).join(' · '), S.me ? null : 'details'],
  ];
  if (f.message) rows.push([t('message'), f.message, null]);
  for (const q of s.questions || []) {
    const v = f.answers[q.id];
    if (v !== undefined && v !== '' && v !== false) rows.push([q.label, v === true ? t('yes') : String(v), null]);
  }
  const list = h('dl', { class: 'review' }, rows.map(([k, v, target]) => h('div', { class: 'row' },
    h('dt', { text: k }),
    h('dd', null, h('span', { class: 'val', text: v }),
      target ? h('button', { type: 'button', class: 'link', 'aria-label': `${t('change')}: ${k}`, onclick: () => go(target) }, t('change')) : null))));

  const pay = paymentSection({
    options, price: s.price, chosen: S.payment, instructions: s.outside_payment_instructions, root: view,
    onChoose: (opt) => { S.payment = opt; go('review', { focus: false }); },
    deposit: s.deposit, expert: S.expert.name,
  });
  if (S.payment === 'online' && S.me && S.me.cards.length) {
    // One click for a returning client: a saved card, or a new one on the next step.
    if (S.card !== '' && !S.me.cards.some((c) => c.id === S.card)) S.card = S.me.cards[0].id;
    add(pay, h('fieldset', { class: 'choice' }, h('legend', { text: t('pay_card_choose') }),
      S.me.cards.map((c) => h('label', { class: 'radio' },
        h('input', { type: 'radio', name: 'card', value: c.id, checked: S.card === c.id, onchange: () => { S.card = c.id; } }),
        h('span', { text: cardLabel(c) }))),
      h('label', { class: 'radio' },
        h('input', { type: 'radio', name: 'card', value: '', checked: S.card === '', onchange: () => { S.card = ''; } }),
        h('span', { text: t('pay_card_new') }))));
  }
  const fits = S.payment === 'package' && S.me
    ? S.me.packages.filter((p) => !p.services.length || p.services.includes(s.slug)) : [];
  if (fits.length > 1) {
    // Several packages fit: the client says which one pays (the one expiring first is chosen first).
    if (!fits.some((p) => p.id === S.pkg)) S.pkg = fits[0].id;
    add(pay, h('fieldset', { class: 'choice' }, h('legend', { text: t('pay_pkg_choose') }),
      fits.map((p) => h('label', { class: 'radio' },
        h('input', { type: 'radio', name: 'pkg', value: String(p.id), checked: S.pkg === p.id, onchange: () => { S.pkg = p.id; } }),
        h('span', { text: `${p.name} · ${t('credits_left', { n: p.credits_left })}` })))));
  } else {
    S.pkg = null;
  }
  if (options.length && s.price && S.payment !== 'package') add(pay, couponField());

  const errBox = h('div', { class: 'submit-error' });
  if (S.submitError) replace(errBox, submitErrorBox(S.submitError));
  const btn = h('button', { type: 'button', class: 'btn primary wide', onclick: submit, 'aria-disabled': S.busy ? 'true' : null, 'aria-busy': S.busy ? 'true' : null },
    S.busy ? [h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('booking')] : [icon('check'), t('confirm')]);
  return [topbar(), heading(t('review')), list, pay, errBox, h('div', { class: 'actions' }, btn)];
}

// The discount code, entered on the review step; the server applies it (a bad one is a 422 on coupon).
function couponField() {
  const inputId = id('coupon');
  const hintId = id('coupon-h');
  const errId = id('coupon-e');
  const msg = S.errors.coupon;
  return h('div', { class: 'field coupon', 'data-key': 'coupon' },
    h('label', { for: inputId, text: t('coupon') }),
    h('input', { id: inputId, name: 'coupon', value: S.coupon, autocomplete: 'off', autocapitalize: 'characters',
      type: 'text', spellcheck: 'false', maxlength: '64', 'aria-describedby': msg ? `${hintId} ${errId}` : hintId,
      'aria-invalid': msg ? 'true' : null, oninput: (e) => { S.coupon = e.target.value; } }),
    h('p', { id: hintId, class: 'hint', text: t('coupon_hint') }),
    h('p', { id: errId, class: 'field-error', hidden: !msg, text: msg || '' }));
}

function submitErrorBox(e) {
  return h('div', { class: 'note error', role: 'alert', tabindex: '-1' }, icon('alert'), h('span', { text: errorText(e) }),
    e.network || e.status >= 500 || e.status === 429 ? h('button', { type: 'button', class: 'btn small', onclick: submit }, t('retry')) : null);
}

async function submit() {
  if (S.busy) return;
  const s = S.service;
  const f = S.form;
  const body = { timezone: S.tz, client: { name: f.name.trim(), email: f.email.trim() } };
  if (S.slot.session && s.kind !== 'personal') body.session = S.slot.session;
  else body.start = S.slot.start;
  if (s.phone !== 'hidden' && f.phone.trim()) body.client.phone = f.phone.trim();
  if (s.message && f.message.trim()) body.message = f.message.trim();
  body.answers = answersBody(s.questions, f.answers);
  if ((s.payment_options || []).length && s.price) body.payment_option = S.payment;
  if (S.coupon.trim() && S.payment !== 'package') body.coupon = S.coupon.trim();
  if (S.offer) body.waitlist = S.offer.token;
  if (S.me) delete body.client; // the client token says who books
  if (S.me && S.payment === 'online' && S.card) body.card = S.card;
  if (S.me && S.payment === 'package' && S.pkg) body.package = S.pkg;
  // One Idempotency-Key per attempt of one submission: a retry of the same body reuses it.
  const text = JSON.stringify(body);
  if (!S.attempt || S.attempt.body !== text) S.attempt = { body: text, key: uuid() };

  S.busy = true;
  S.submitError = null;
  // Show progress on the button itself (re-rendering would take the keyboard focus away).
  const btn = $('.btn.primary.wide', view);
  if (btn) {
    btn.setAttribute('aria-disabled', 'true');
    btn.setAttribute('aria-busy', 'true');
    replace(btn, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('booking'));
  }
  replace($('.submit-error', view) || h('div'));
  announce(t('booking'));
  try {
    const res = await apiPost(paths.bookings(cfg.expert, s.slug), body, S.attempt.key);
    S.busy = false;
    S.attempt = null;
    S.booking = res.booking;
    if (res.booking.status === 'pending_payment') go('payment');
    else complete();
  } catch (e) {
    S.busy = false;
    send('booking-failed', { code: e.code, message: e.message, status: e.status });
    if (e.code === 'idempotency_conflict') S.attempt = null;
    if (e.code === 'slot_unavailable') {
      S.slot = null;
      S.attempt = null;
      go('time');
      picker().refresh({ text: e.message && lang === 'en' ? e.message : t('e_taken'), kind: 'error' });
      announce(t('e_taken'));
      return;
    }
    if (e.status === 422 && e.fields && e.fields.coupon) {
      S.errors = { coupon: [].concat(e.fields.coupon).join(' ') };
      go('review', { focus: false });
      $('input[name="coupon"]', view)?.focus();
      announce(S.errors.coupon);
      return;
    }
    if (e.status === 422 && !S.me && Object.keys(e.fields).some((k) => /^(client\.|message|answers)/.test(k))) {
      S.errors = fieldMessages(e.fields);
      go('details');
      return;
    }
    S.submitError = e;
    go('review', { focus: false });
    $('.submit-error .note', view)?.focus();
  }
}

// ---- step: payment (hook for online payment) ---------------------------------------------------

let holdTimer = null;
function paymentView() {
  const b = S.booking;
  const box = h('div', { class: 'pay-box' });
  const hold = h('p', { class: 'hold', role: 'timer', 'aria-live': 'off' });
  const expires = b.payment && b.payment.hold_expires_at ? new Date(b.payment.hold_expires_at).getTime() : null;
  clearInterval(holdTimer);
  if (expires) {
    let warned = false;
    const tick = () => {
      const left = expires - Date.now();
      hold.replaceChildren(icon('clock'), t('hold', { time: fmt.countdown(left) }));
      if (left <= 60000 && !warned) { warned = true; announce(t('hold', { time: fmt.countdown(left) })); }
      if (left <= 0 && S.step === 'payment') holdExpired();
    };
    tick();
    holdTimer = setInterval(() => (S.step === 'payment' ? tick() : clearInterval(holdTimer)), 1000);
  }
  // The payment UI lives in its own module, loaded only when a booking needs it.
  import('./payment.js').then((m) => m.mountPayment(box, {
    booking: b, stripe: cfg.stripe, t, fmt,
    onPaid: (booking) => { S.booking = booking || S.booking; clearInterval(holdTimer); complete(); },
    onFailed: (code) => {
      send('booking-failed', { code });
      // The hold ran out and someone took the time (nothing was charged): back to the times.
      if (code === 'slot_unavailable' && S.step === 'payment') holdExpired();
    },
  })).catch(() => replace(box, h('p', { text: t('e_generic') })));
  return [h('div', { class: 'topbar' }), serviceHeader(slotWhen()), heading(t('pay_title')), expires ? hold : null, moneyLines(b), box];
}

function holdExpired() {
  clearInterval(holdTimer);
  send('hold-expired', { booking: publicBooking(S.booking) });
  S.booking = null;
  S.slot = null;
  go('time');
  picker().refresh({ text: t('hold_expired'), kind: 'error' });
}

// ---- step: confirmation ---------------------------------------------------------------------------

function complete() {
  const b = S.booking;
  go('done');
  if (b.status === 'confirmed' && !S.sent.has(b.id)) {
    S.sent.add(b.id);
    send('booking-completed', { booking: publicBooking(b) });
  }
  picker().refresh(null);
}

function doneView() {
  const b = S.booking;
  const confirmed = b.status === 'confirmed';
  const tz = b.timezone || S.tz;
  let manage = b.manage_url;
  if (manage && embedded) {
    const q = new URLSearchParams({ origin: hostOrigin, wid });
    for (const k of ['color', 'theme', 'lang']) if (params.get(k)) q.set(k, params.get(k));
    manage += (manage.includes('?') ? '&' : '?') + q;
  }
  return [
    h('div', { class: 'done-head' },
      h('span', { class: 'done-icon' }, icon('check')),
      h('h1', { class: 'step-h', tabindex: '-1', text: confirmed ? t('done') : t('pending') })),
    summary(b, { tz, hour12: S.hour12, expert: S.expert }),
    moneyLines(b, S.service.price && S.service.price.currency),
    b.confirmation_note ? h('p', { class: 'note info' }, icon('info'), h('span', { text: b.confirmation_note })) : null,
    S.payment === 'outside' && S.service.outside_payment_instructions
      ? h('div', { class: 'pay' }, h('p', { text: t('pay_outside', { price: fmt.price(S.service.price) }) }),
        h('p', { class: 'instructions', text: S.service.outside_payment_instructions })) : null,
    b.client && b.client.email ? h('p', { class: 'muted', text: t('done_sent', { email: b.client.email }) }) : null,
    h('h2', { class: 'section-h', text: t('add_cal') }),
    h('div', { class: 'cal-links' }, calendarLinks(b)),
    h('div', { class: 'actions split' },
      manage ? h('a', { class: 'btn ghost', href: manage, target: embedded ? null : '_blank', rel: embedded ? null : 'noopener' }, t('manage')) : null,
      h('button', { type: 'button', class: 'btn ghost', onclick: bookAnother }, t('book_more'))),
  ];
}

function bookAnother() {
  S.offer = null;
  S.coupon = '';
  S.booking = null;
  S.slot = null;
  S.attempt = null;
  go(cfg.service || S.services.length === 1 ? 'time' : 'services');
}


// ---- step: join the waitlist of a full session ------------------------------------------------------

function waitlistView() {
  const s = S.service;
  const f = S.form;
  const when = `${fmt.date(S.slot.start, S.tz)}, ${fmt.range(S.slot.start, S.slot.end, S.tz, S.hour12)}`;
  const backBtn = h('div', { class: 'topbar' }, h('button', { type: 'button', class: 'back', onclick: () => go('time') },
    icon('back'), h('span', { text: t('back') })));
  if (S.waitlisted) {
    const w = S.waitlisted;
    return [backBtn, h('div', { class: 'done-head' }, h('span', { class: 'done-icon' }, icon('check')),
      h('h1', { class: 'step-h', tabindex: '-1', text: t('wl_joined') })),
    h('p', { class: 'strong', text: `${s.name} · ${when}` }),
    h('p', { text: t('wl_position', { n: w.position }) }),
    h('p', { class: 'muted', text: t('wl_email', { email: w.client.email }) })];
  }
  const errBox = h('div', { class: 'submit-error' });
  if (S.submitError) replace(errBox, submitErrorBox(S.submitError));
  const form = h('form', { class: 'form', novalidate: true, onsubmit: (e) => { e.preventDefault(); joinWaitlist(form); } },
    h('p', { class: 'form-error', role: 'alert', hidden: true, text: t('e_fix') }),
    field('client.name', t('name'), { value: f.name, autocomplete: 'name', required: true, set: (v) => { f.name = v; } }),
    field('client.email', t('email'), { type: 'email', value: f.email, autocomplete: 'email', required: true, set: (v) => { f.email = v; } }),
    errBox,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary wide' }, t('wl_send'))));
  return [backBtn, heading(t('wl_title')), h('p', { class: 'strong', text: `${s.name} · ${when}` }),
    h('p', { class: 'wl-intro', text: t('wl_intro', { minutes: s.hold_minutes }) }), form];
}

async function joinWaitlist(form) {
  if (S.busy) return;
  const f = S.form;
  const errors = {};
  if (!f.name.trim()) errors['client.name'] = t('e_required');
  if (!f.email.trim()) errors['client.email'] = t('e_required');
  else if (!EMAIL.test(f.email.trim())) errors['client.email'] = t('e_email');
  S.errors = errors;
  if (Object.keys(errors).length) {
    showErrors(form, S.errors);
    return;
  }
  S.busy = true;
  S.submitError = null;
  try {
    const res = await apiPost(paths.waitlist(cfg.expert, S.service.slug), {
      session: S.slot.session, timezone: S.tz, client: { name: f.name.trim(), email: f.email.trim() } });
    S.waitlisted = res.waitlist;
    S.busy = false;
    go('waitlist');
    announce(t('wl_joined'));
  } catch (e) {
    S.busy = false;
    if (e.reason === 'seats_left') {
      // A seat freed up meanwhile: the client books it directly.
      S.slot = { ...S.slot, seats_left: 1 };
      go('details');
      announce(t('wl_seats_left'));
      return;
    }
    if (e.status === 422 && e.fields) {
      S.errors = Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [k, [].concat(v).join(' ')]));
      showErrors(form, S.errors);
      return;
    }
    S.submitError = e;
    go('waitlist', { focus: false });
    $('.submit-error .note', view)?.focus();
  }
}

export const VIEWS = { details: detailsView, review: reviewView, payment: paymentView, done: doneView, waitlist: waitlistView };
