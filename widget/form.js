// Form pieces shared by the booking flow (steps.js) and the completion of a session the expert set up
// (complete.js): labelled fields with their error slots, showing a server's or our own field errors,
// the answers to a service's questions, and the payment section with its choice of options.

import { h, add, id, $ } from './dom.js';
import { t, fmt } from './i18n.js';

// A phone number as clients type it (+1 617 555 0100, 06 12 34 56 78).
export const PHONE = /^\+?[0-9 ().-]{5,30}$/;

// One labelled control (input, textarea, select or checkbox) with its error slot; `key` is the API's
// field path (client.phone, answers.goal), which showErrors matches.
export function field(key, label, o) {
  const fid = id('f');
  const errId = `${fid}e`;
  const attrs = {
    id: fid, name: key, required: o.required || null, 'aria-required': o.required ? 'true' : null,
    'aria-describedby': errId, autocomplete: o.autocomplete || null,
  };
  let control;
  if (o.kind === 'textarea') {
    control = h('textarea', { ...attrs, rows: 3, value: o.value, oninput: (e) => o.set(e.target.value) });
  } else if (o.kind === 'select') {
    control = h('select', { ...attrs, onchange: (e) => o.set(e.target.value) },
      h('option', { value: '', text: t('choose') }),
      (o.options || []).map((opt) => h('option', { value: opt, selected: opt === o.value, text: opt })));
  } else if (o.kind === 'checkbox') {
    control = h('input', { ...attrs, type: 'checkbox', checked: Boolean(o.value), onchange: (e) => o.set(e.target.checked) });
    return h('div', { class: 'field check', 'data-key': key },
      h('label', { for: fid, class: 'check-label' }, control, h('span', { text: label })),
      h('p', { class: 'field-error', id: errId, hidden: true }));
  } else {
    control = h('input', { ...attrs, type: o.type || 'text', value: o.value, oninput: (e) => o.set(e.target.value) });
  }
  return h('div', { class: 'field', 'data-key': key },
    h('label', { for: fid }, label, o.required ? null : h('span', { class: 'opt', text: ` (${t('optional')})` })),
    control,
    h('p', { class: 'field-error', id: errId, hidden: true }));
}

// The fields of a service's questions, their values kept in `answers`.
export function questionFields(questions, answers) {
  return (questions || []).map((q) => field(`answers.${q.id}`, q.label, {
    kind: q.type === 'textarea' ? 'textarea' : q.type === 'select' ? 'select' : q.type === 'checkbox' ? 'checkbox' : 'input',
    options: q.options, required: q.required, value: answers[q.id] ?? (q.type === 'checkbox' ? false : ''),
    set: (v) => { answers[q.id] = v; },
  }));
}

// Required questions left empty, as {"answers.<id>": message}.
export function missingAnswers(questions, answers) {
  const e = {};
  for (const q of questions || []) {
    const v = answers[q.id];
    if (q.required && (v == null || v === '' || v === false)) e[`answers.${q.id}`] = t('e_required');
  }
  return e;
}

// The answers worth sending (empty ones left out).
export function answersBody(questions, answers) {
  const out = {};
  for (const q of questions || []) if (answers[q.id] !== undefined && answers[q.id] !== '') out[q.id] = answers[q.id];
  return out;
}

// Show `errors` ({key: message}) under their fields and in the banner; focus the first one.
export function showErrors(form, errors, focus = true) {
  let first = null;
  for (const wrap of form.querySelectorAll('.field')) {
    const msg = errors[wrap.dataset.key];
    const control = wrap.querySelector('input, textarea, select');
    const err = wrap.querySelector('.field-error');
    err.textContent = msg || '';
    err.hidden = !msg;
    if (msg) {
      control.setAttribute('aria-invalid', 'true');
      first ||= control;
    } else {
      control.removeAttribute('aria-invalid');
    }
  }
  const banner = form.querySelector('.form-error');
  banner.hidden = !first;
  if (first && focus) first.focus();
}

// A server's 422 `fields` as {key: message}.
export function fieldMessages(fields) {
  return Object.fromEntries(Object.entries(fields || {}).map(([k, v]) => [k, [].concat(v).join(' ')]));
}

// The payment section of a review: free, or the options with a choice when there are several.
// `onChoose(option)` is called when the client picks another one (the caller re-renders).
export function paymentSection({ options, price, chosen, instructions, onChoose, root, deposit = null, expert = '' }) {
  const pay = h('section', { class: 'pay', 'aria-labelledby': 'pay-h' }, h('h2', { id: 'pay-h', class: 'section-h', text: t('payment') }));
  if (!options.length || !price) {
    add(pay, h('p', { text: t('pay_free') }));
    return pay;
  }
  if (options.length > 1) {
    add(pay, h('fieldset', { class: 'choice' }, h('legend', { text: t('pay_choose') }),
      options.map((opt) => h('label', { class: 'radio' },
        h('input', { type: 'radio', name: 'pay', value: opt, checked: chosen === opt, onchange: () => { onChoose(opt); $(`input[value="${opt}"]`, root)?.focus(); } }),
        h('span', { text: t(`opt_${opt}`) })))));
  }
  const amount = fmt.price(price);
  // A deposit is paid by card now; the rest later, as the expert says.
  if (chosen === 'online' && deposit) {
    add(pay, h('p', { text: t('pay_deposit', {
      deposit: fmt.price(deposit), rest: fmt.price({ ...price, amount: price.amount - deposit.amount }), expert }) }));
  } else if (chosen === 'online') add(pay, h('p', { text: t('pay_online', { price: amount }) }));
  if (chosen === 'outside') {
    add(pay, h('p', { text: t('pay_outside', { price: amount }) }));
    if (instructions) add(pay, h('p', { class: 'instructions', text: instructions }));
  }
  if (chosen === 'package') add(pay, h('p', { text: t('pay_package') }));
  return pay;
}
