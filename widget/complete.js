// Completing a session the expert set up, on the manage page (the link in the expert's email):
// what was set up (time in the client's zone, which they can change), the service's questions,
// how to pay, then the card payment or the confirmation. The same steps and pieces as the booking
// flow: the form fields and payment section of form.js, the zone field of zone.js, the card
// payment of payment.js, the summary of summary.js. Loaded by manage.js only for such a session.
//
//   completionViews(ctx) -> {complete, answers, review, payment, completed}
//   ctx: {S (the manage page's state), api, token, stripe, root, go(step, focus), reload(), expertName(), send}

import { h, replace, icon, $ } from './dom.js';
import { post as apiPost, paths } from './api.js';
import { t, fmt } from './i18n.js';
import { publicBooking } from './messenger.js';
import { announce, errorText } from './ui.js';
import { summary, bookingLocation } from './summary.js';
import { zoneField } from './zone.js';
import { calendarLinks } from './calendar-links.js';
import { PHONE, field, questionFields, missingAnswers, answersBody, showErrors, fieldMessages, paymentSection } from './form.js';

export function completionViews(ctx) {
  const { S } = ctx;
  const C = { phone: '', message: '', answers: {}, errors: {}, payment: null, busy: false, error: null, booking: null };
  const spec = () => S.data.completion || { questions: [], payment_options: [], price: null, phone: 'hidden', message: false };
  const asks = () => {
    const c = spec();
    return c.phone !== 'hidden' || c.message || (c.questions || []).length > 0;
  };
  const flow = () => ['complete', ...(asks() ? ['answers'] : []), 'review'];

  function topbar(back) {
    const list = flow();
    const n = list.indexOf(S.step);
    return h('div', { class: 'topbar' },
      back ? h('button', { type: 'button', class: 'back', onclick: () => ctx.go(back) }, icon('back'), h('span', { text: t('back') })) : h('span'),
      n >= 0 ? h('span', { class: 'stepno', text: t('step', { n: n + 1, total: list.length }) }) : null);
  }

  const heading = (text) => h('h1', { class: 'step-h', tabindex: '-1', text });
  const when = (b) => `${fmt.date(b.start, S.tz)}, ${fmt.range(b.start, b.end, S.tz, S.hour12)}`;
  const minutes = (b) => Math.round((new Date(b.end) - new Date(b.start)) / 60000);

  // ---- step 1: what the expert set up ------------------------------------------------------

  function completeView() {
    const b = S.data.booking;
    const c = spec();
    let sum = summary(b, { tz: S.tz, hour12: S.hour12, expert: S.expert });
    const untilText = () => t('complete_until', { date: `${fmt.date(b.expires_at, S.tz)}, ${fmt.time(b.expires_at, S.tz, S.hour12)}` });
    const until = b.expires_at ? h('p', { class: 'note info' }, icon('clock'), h('span', { text: untilText() })) : null;
    // A new zone or clock redraws the times in place; the focus stays in the field.
    function redraw() {
      const next = summary(b, { tz: S.tz, hour12: S.hour12, expert: S.expert });
      sum.replaceWith(next);
      sum = next;
      if (until) until.lastChild.textContent = untilText();
    }
    const zone = zoneField({
      tz: S.tz, hour12: S.hour12,
      onTz: (z) => { S.tz = z; redraw(); announce(t('tz_changed', { tz: z })); },
      onHour12: (v) => { S.hour12 = v; redraw(); },
    });
    return [
      topbar(null),
      heading(t('complete_title')),
      h('p', { class: 'intro', text: t('complete_intro', { expert: ctx.expertName() }) }),
      sum,
      h('dl', { class: 'review' },
        h('div', { class: 'row' }, h('dt', { text: t('duration') }), h('dd', null, h('span', { class: 'val', text: fmt.duration(minutes(b)) }))),
        h('div', { class: 'row' }, h('dt', { text: t('complete_price') }), h('dd', null, h('span', { class: 'val', text: fmt.price(c.price) })))),
      until,
      h('div', { class: 'tzbox' }, zone.el),
      h('div', { class: 'actions' },
        S.data.can_cancel ? h('button', { type: 'button', class: 'btn ghost', onclick: () => ctx.go('cancel') }, t('cancel')) : null,
        h('button', { type: 'button', class: 'btn primary', onclick: () => ctx.go(asks() ? 'answers' : 'review') }, t('next'), icon('next'))),
    ];
  }

  // ---- step 2: the service's questions, phone and message ----------------------------------

  function answersErrors() {
    const c = spec();
    const e = missingAnswers(c.questions, C.answers);
    const phone = C.phone.trim();
    if (c.phone === 'required' && !phone) e.phone = t('e_required');
    else if (c.phone !== 'hidden' && phone && !PHONE.test(phone)) e.phone = t('e_phone');
    return e;
  }

  function answersView() {
    const c = spec();
    const fields = [...questionFields(c.questions, C.answers)];
    if (c.phone !== 'hidden') {
      fields.push(field('phone', t('phone'), { type: 'tel', value: C.phone, autocomplete: 'tel', required: c.phone === 'required', set: (v) => { C.phone = v; } }));
    }
    if (c.message) fields.push(field('message', t('message'), { kind: 'textarea', value: C.message, set: (v) => { C.message = v; } }));
    const form = h('form', { class: 'form', novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      C.errors = answersErrors();
      if (Object.keys(C.errors).length) {
        showErrors(form, C.errors);
        return;
      }
      ctx.go('review');
    } },
    h('p', { class: 'form-error', role: 'alert', hidden: !Object.keys(C.errors).length, text: t('e_fix') }),
    fields,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('next'), icon('next'))));
    if (Object.keys(C.errors).length) queueMicrotask(() => showErrors(form, C.errors, false));
    return [topbar('complete'), heading(t('complete_questions')), form];
  }

  // ---- step 3: review, how to pay, confirm -------------------------------------------------------

  function reviewView() {
    const b = S.data.booking;
    const c = spec();
    const options = c.payment_options || [];
    if (options.length && !options.includes(C.payment)) C.payment = options[0];
    const rows = [
      [t('service'), `${b.service.name} · ${fmt.duration(minutes(b))}`, null],
      [t('when'), `${when(b)} (${S.tz})`, 'complete'],
      [t('where'), bookingLocation(b.location), null],
    ];
    if (C.phone.trim()) rows.push([t('phone'), C.phone.trim(), 'answers']);
    if (C.message.trim()) rows.push([t('message'), C.message.trim(), 'answers']);
    for (const q of c.questions || []) {
      const v = C.answers[q.id];
      if (v !== undefined && v !== '' && v !== false) rows.push([q.label, v === true ? t('yes') : String(v), 'answers']);
    }
    const list = h('dl', { class: 'review' }, rows.map(([k, v, target]) => h('div', { class: 'row' },
      h('dt', { text: k }),
      h('dd', null, h('span', { class: 'val', text: v }),
        target ? h('button', { type: 'button', class: 'link', 'aria-label': `${t('change')}: ${k}`, onclick: () => ctx.go(target) }, t('change')) : null))));
    const pay = paymentSection({
      options, price: c.price, chosen: C.payment, instructions: c.outside_payment_instructions, root: ctx.root,
      onChoose: (opt) => { C.payment = opt; ctx.go('review', false); },
    });
    const errBox = h('div', { class: 'submit-error' });
    if (C.error) {
      replace(errBox, h('div', { class: 'note error', role: 'alert', tabindex: '-1' }, icon('alert'), h('span', { text: errorText(C.error) }),
        C.error.network || C.error.status >= 500 || C.error.status === 429 ? h('button', { type: 'button', class: 'btn small', onclick: submit }, t('retry')) : null));
    }
    const btn = h('button', { type: 'button', class: 'btn primary wide', onclick: submit, 'aria-disabled': C.busy ? 'true' : null, 'aria-busy': C.busy ? 'true' : null },
      C.busy ? [h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('booking')] : [icon('check'), t('confirm')]);
    return [topbar(asks() ? 'answers' : 'complete'), heading(t('review')), list, pay, errBox, h('div', { class: 'actions' }, btn)];
  }

  async function submit() {
    if (C.busy) return;
    const c = spec();
    const body = { answers: answersBody(c.questions, C.answers), timezone: S.tz };
    if ((c.payment_options || []).length && c.price) body.payment_option = C.payment;
    if (c.phone !== 'hidden' && C.phone.trim()) body.phone = C.phone.trim();
    if (c.message && C.message.trim()) body.message = C.message.trim();
    C.busy = true;
    C.error = null;
    const btn = $('.btn.primary.wide', ctx.root);
    if (btn) {
      // Progress on the button itself: re-rendering would take the keyboard focus away.
      btn.setAttribute('aria-disabled', 'true');
      btn.setAttribute('aria-busy', 'true');
      replace(btn, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('booking'));
    }
    announce(t('booking'));
    try {
      const res = await apiPost(`${paths.manage(ctx.token)}/complete`, body);
      C.busy = false;
      C.booking = res.booking;
      if (res.booking.status === 'pending_payment') ctx.go('payment');
      else finish();
    } catch (e) {
      C.busy = false;
      ctx.send('booking-failed', { code: e.code, message: e.message, status: e.status });
      if (e.status === 422 && Object.keys(e.fields).some((k) => /^(phone|message|answers)/.test(k))) {
        C.errors = fieldMessages(e.fields);
        ctx.go('answers');
        return;
      }
      if (e.code === 'not_allowed') {
        // Completed meanwhile (another tab, a retry), confirmed or cancelled by the expert, or lapsed.
        await ctx.reload();
        S.error = e;
        ctx.go('view');
        return;
      }
      C.error = e;
      ctx.go('review', false);
      $('.submit-error .note', ctx.root)?.focus();
    }
  }

  // ---- step 4: card payment (no countdown: the expert reserved the time) --------------------------

  function paymentView() {
    const b = C.booking || S.data.booking;
    const payment = { ...(b.payment || {}) };
    // After a reload the manage view carries no payment link: it is this page's own token.
    payment.pay_url ||= new URL(`${ctx.api}/manage/${encodeURIComponent(ctx.token)}/payment`, location.href).href;
    const box = h('div', { class: 'pay-box' });
    import('./payment.js').then((m) => m.mountPayment(box, {
      booking: { ...b, payment }, stripe: ctx.stripe, t, fmt,
      onPaid: (paid) => { C.booking = paid || b; finish(); },
      onFailed: (code) => ctx.send('booking-failed', { code }),
    })).catch(() => replace(box, h('p', { text: t('e_generic') })));
    return [h('div', { class: 'topbar' }), heading(t('pay_title')),
      summary(b, { tz: S.tz, hour12: S.hour12, expert: S.expert }),
      h('p', { class: 'note info' }, icon('info'), h('span', { text: t('complete_reserved') })), box];
  }

  // ---- step 5: confirmation -------------------------------------------------------------------------

  function finish() {
    const b = C.booking;
    S.data = { ...S.data, booking: b, can_complete: false, completion: undefined };
    ctx.go('completed');
    announce(b.status === 'confirmed' ? t('done') : t('pending'));
    if (b.status === 'confirmed') ctx.send('booking-completed', { booking: publicBooking(b) });
    ctx.reload();  // the booking view behind "Reschedule or cancel" shows what the server now says
  }

  function completedView() {
    const b = C.booking || S.data.booking;
    const c = spec();
    const confirmed = b.status === 'confirmed';
    const calBox = h('div', { class: 'cal-links' });
    if (confirmed) replace(calBox, calendarLinks(b));
    const outside = b.payment && b.payment.option === 'outside';
    return [
      h('div', { class: 'done-head' },
        h('span', { class: 'done-icon' }, icon('check')),
        h('h1', { class: 'step-h', tabindex: '-1', text: confirmed ? t('done') : t('pending') })),
      summary(b, { tz: S.tz, hour12: S.hour12, expert: S.expert }),
      b.confirmation_note ? h('p', { class: 'note info' }, icon('info'), h('span', { text: b.confirmation_note })) : null,
      outside && (b.payment.instructions || c.outside_payment_instructions)
        ? h('div', { class: 'pay' }, h('p', { text: t('pay_outside', { price: fmt.price({ amount: b.payment.amount, currency: b.payment.currency }) }) }),
          h('p', { class: 'instructions', text: b.payment.instructions || c.outside_payment_instructions })) : null,
      b.client && b.client.email ? h('p', { class: 'muted', text: t('done_sent', { email: b.client.email }) }) : null,
      confirmed ? h('h2', { class: 'section-h', text: t('add_cal') }) : null,
      confirmed ? calBox : null,
      h('div', { class: 'actions split' },
        h('button', { type: 'button', class: 'btn ghost', onclick: () => ctx.go('view') }, t('manage'))),
    ];
  }

  return { complete: completeView, answers: answersView, review: reviewView, payment: paymentView, completed: completedView };
}
