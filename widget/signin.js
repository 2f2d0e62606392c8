// Existing clients: sign in with an emailed code, the account (bookings, credits, cards), buying a
// package. Loaded when the client asks for it (or a clients-only offer needs it), so the
// first screen stays small.
//
// The client token lives in memory; with "keep me signed in on this site" it is also kept in this
// frame's localStorage, which browsers partition by the host site (a token kept on one expert's
// site is not seen on another's). No cookie: the host's third-party cookies are blocked anyway.

import { h, replace, icon, id, sheet, $ } from './dom.js';
import { get, post, paths, setToken, hasToken } from './api.js';
import { t, fmt, addWords } from './i18n.js';
import words from './i18n-account.js';
import later from './i18n-steps.js';
import { announce, errorText } from './ui.js';
import { S, cfg, storageKey, fillFromMe } from './state.js';
import { go, heading, fatal } from './nav.js';
import { offers } from './catalog.js';

addWords(later);
addWords(words);
await sheet('steps.css'); // the step shows styled

const view = $('#view');
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const auth = { email: '', sent: false, keep: false, error: null, busy: false };

// Whether this frame may keep anything: browsers that block third-party storage deny it, and then
// "keep me signed in" is not offered (the token stays in memory for this visit).
function storageOk() {
  try {
    localStorage.setItem(`${storageKey}:probe`, '1');
    localStorage.removeItem(`${storageKey}:probe`);
    return true;
  } catch {
    return false;
  }
}

// Back to where the client was (nothing to go back to when a clients-only offer sent them here).
function topbar() {
  const back = S.signInFor ? null : () => go(S.service ? 'time' : 'services');
  return h('div', { class: 'topbar' },
    back ? h('button', { type: 'button', class: 'back', onclick: back }, icon('back'), h('span', { text: t('back') })) : h('span'));
}

function note(e) {
  return e ? h('div', { class: 'note error', role: 'alert', tabindex: '-1' }, icon('alert'), h('span', { text: errorText(e) })) : null;
}

function input(label, attrs) {
  const fid = id('f');
  return h('div', { class: 'field' }, h('label', { for: fid, text: label }), h('input', { id: fid, ...attrs }));
}

// ---- step: sign in (email, then the code) ------------------------------------------------------

function signinView() {
  const intro = S.signInFor ? t('signin_needed') : t('signin_intro');
  if (!auth.sent) {
    const form = h('form', { class: 'form', novalidate: true, onsubmit: (e) => { e.preventDefault(); start(form); } },
      note(auth.error),
      input(t('email'), { type: 'email', name: 'email', autocomplete: 'email', required: true, 'aria-required': 'true',
        value: auth.email || S.form.email, oninput: (e) => { auth.email = e.target.value; } }),
      storageOk() ? h('div', { class: 'field check' }, h('label', { class: 'check-label' },
        h('input', { type: 'checkbox', name: 'keep', checked: auth.keep, onchange: (e) => { auth.keep = e.target.checked; } }),
        h('span', { text: t('signin_keep') }))) : null,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary', 'aria-busy': auth.busy ? 'true' : null }, t('signin_send'))));
    return [topbar(), heading(t('signin_title')), h('p', { class: 'muted', text: intro }), form];
  }
  const form = h('form', { class: 'form', novalidate: true, onsubmit: (e) => { e.preventDefault(); verify(form); } },
    note(auth.error),
    input(t('signin_code'), { type: 'text', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]*',
      maxlength: 6, required: true, 'aria-required': 'true' }),
    h('div', { class: 'actions split' },
      h('button', { type: 'button', class: 'btn ghost', onclick: () => { auth.sent = false; auth.error = null; go('signin'); } }, t('signin_other')),
      h('button', { type: 'submit', class: 'btn primary' }, t('signin_verify'))));
  return [topbar(), heading(t('signin_check')), h('p', { class: 'muted', text: t('signin_sent', { email: auth.email }) }), form];
}

async function start(form) {
  const email = (auth.email || S.form.email || '').trim();
  auth.email = email;
  if (!EMAIL.test(email)) {
    auth.error = { message: t('e_email'), status: 422 };
    go('signin');
    return;
  }
  auth.busy = true;
  $('button[type=submit]', form)?.setAttribute('aria-busy', 'true');
  try {
    await post(paths.auth(cfg.expert, 'start'), { email });
    auth.sent = true;
    auth.error = null;
    announce(t('signin_sent', { email }));
  } catch (e) {
    auth.error = e;
  }
  auth.busy = false;
  go('signin');
}

async function verify(form) {
  const code = $('input[name=code]', form).value.replace(/\D/g, '');
  try {
    const res = await post(paths.auth(cfg.expert, 'verify'), { email: auth.email, code });
    signedIn(res);
  } catch (e) {
    auth.error = e.status === 401 ? { message: t('signin_wrong'), status: 401 } : e;
    go('signin');
  }
}

export async function signedIn(res, keep = auth.keep) {
  setToken(res.client_token);
  if (keep) {
    try { localStorage.setItem(storageKey, JSON.stringify({ token: res.client_token, expires_at: res.expires_at })); } catch { /* storage blocked: memory only */ }
  }
  auth.sent = false;
  auth.error = null;
  await afterSignIn();
}

export async function signOut() {
  try { await post(paths.auth(cfg.expert, 'sign-out')); } catch { /* the token is dropped here anyway */ }
  setToken(null);
  try { localStorage.removeItem(storageKey); } catch { /* nothing kept */ }
  S.me = null;
  S.form.name = '';
  S.form.email = '';
  announce(t('signed_out'));
  await afterSignIn();
}

// After signing in or out: read the client and what they may now see, then carry on where they were.
export async function afterSignIn(resume = true) {
  S.me = hasToken() ? await get(paths.auth(cfg.expert, 'me')).catch(() => null) : null;
  if (S.me) fillFromMe();
  const was = S.signInFor;
  S.signInFor = false;
  try {
    const expert = await get(paths.expert(cfg.expert));
    S.services = expert.services || [];
    S.plans = expert.packages || [];
    await offers();
  } catch (e) {
    if (e.code === 'sign_in_required') { S.signInFor = true; go('signin'); return; }
    return fatal(e);
  }
  if (!resume) return;
  if (S.me) announce(t('signed_in_as', { email: S.me.client.email }));
  go(S.slot && S.service && !was ? 'review' : cfg.service ? 'time' : 'services');
}


// The account is read again when opened: a booking or a payment since sign-in shows there.
export async function openAccount() {
  S.me = await get(paths.auth(cfg.expert, 'me')).catch(() => S.me);
  go('account');
}

// ---- step: the client's account ---------------------------------------------------------------

function accountView() {
  const me = S.me;
  if (!me) return signinView();
  // Each list is rows of the review's table: what, and its details.
  const list = (items, row, none) => (items.length
    ? h('dl', { class: 'review' }, items.map((x) => h('div', { class: 'row' }, row(x))))
    : h('p', { class: 'muted', text: none }));
  const upcoming = list(me.bookings, (b) => [h('dt', { text: b.service.name }), h('dd', null,
    h('span', { class: 'val', text: `${fmt.date(b.start, S.tz)}, ${fmt.range(b.start, b.end, S.tz, S.hour12)}` }),
    h('a', { href: b.manage_url, target: '_blank', rel: 'noopener', class: 'link',
      'aria-label': `${t('manage')}: ${b.service.name}, ${fmt.date(b.start, S.tz)}` }, t('manage')))], t('acct_none'));
  const credits = list(me.packages, (p) => [h('dt', { text: p.name }), h('dd', null, h('span', { class: 'val',
    text: [t('credits_left', { n: p.credits_left }), p.expires_at ? t('expires', { date: fmt.date(p.expires_at, S.tz) }) : '']
      .filter(Boolean).join(', ') }))], t('acct_no_credits'));
  const cards = list(me.cards, (c) => [h('dt', { text: t('acct_card') }), h('dd', null, h('span', { class: 'val', text: cardLabel(c) }))],
    t('acct_no_cards'));
  return [topbar(), heading(t('acct_title')),
    h('p', { class: 'muted', text: t('signed_in_as', { email: me.client.email }) }),
    h('h2', { class: 'section-h', text: t('acct_upcoming') }), upcoming,
    h('h2', { class: 'section-h', text: t('acct_credits') }), credits,
    h('h2', { class: 'section-h', text: t('acct_cards') }), cards,
    h('div', { class: 'actions split' },
      h('button', { type: 'button', class: 'btn ghost', onclick: signOut }, t('sign_out')),
      h('button', { type: 'button', class: 'btn primary', onclick: () => go(cfg.service ? 'time' : 'services') }, t('book_more')))];
}

export function cardLabel(c) {
  return t('card_saved', { brand: c.brand.charAt(0).toUpperCase() + c.brand.slice(1), last4: c.last4,
    exp: `${String(c.exp_month).padStart(2, '0')}/${String(c.exp_year).slice(-2)}` });
}

// ---- step: buy a package -----------------------------------------------------------------------

const buy = { busy: false, error: null, purchase: null };

function packageView() {
  const p = S.plan;
  const f = S.form;
  const fields = S.me ? [] : [
    input(t('name'), { type: 'text', name: 'name', autocomplete: 'name', required: true, 'aria-required': 'true', value: f.name, oninput: (e) => { f.name = e.target.value; } }),
    input(t('email'), { type: 'email', name: 'email', autocomplete: 'email', required: true, 'aria-required': 'true', value: f.email, oninput: (e) => { f.email = e.target.value; } }),
  ];
  const names = p.services.map((slug) => (S.services.find((s) => s.slug === slug) || { name: slug }).name);
  const box = h('div', { class: 'pay-box' });
  const form = h('form', { class: 'form', novalidate: true, onsubmit: (e) => { e.preventDefault(); purchase(box); } },
    note(buy.error), fields,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary wide' }, icon('card'), t('pkg_buy', { price: fmt.price(p.price) }))));
  return [topbar(), heading(p.name),
    h('dl', { class: 'review' },
      h('div', { class: 'row' }, h('dt', { text: t('pkg_sessions') }), h('dd', { text: String(p.sessions) })),
      h('div', { class: 'row' }, h('dt', { text: t('service') }), h('dd', { text: names.join(', ') })),
      h('div', { class: 'row' }, h('dt', { text: t('pkg_price') }), h('dd', { text: fmt.price(p.price) })),
      p.expires_after_days ? h('div', { class: 'row' }, h('dt', { text: t('pkg_valid') }), h('dd', { text: t('pkg_days', { n: p.expires_after_days }) })) : null),
    p.description ? h('p', { class: 'svc-desc', text: p.description }) : null,
    S.me ? h('p', { class: 'muted', text: t('signed_in_as', { email: S.me.client.email }) }) : null,
    buy.purchase ? box : form];
}

async function purchase(box) {
  const f = S.form;
  const body = {};
  if (!S.me) {
    if (!f.name.trim() || !EMAIL.test(f.email.trim())) {
      buy.error = { message: t('e_fix'), status: 422 };
      go('package');
      return;
    }
    body.client = { name: f.name.trim(), email: f.email.trim() };
  }
  try {
    const res = await post(paths.purchases(cfg.expert, S.plan.slug), body);
    buy.purchase = res.purchase;
    buy.error = null;
  } catch (e) {
    buy.error = e;
    go('package');
    return;
  }
  go('package', { focus: false });
  const target = $('.pay-box', view) || box;
  const m = await import('./payment.js');
  m.mountPayment(target, {
    booking: { ...buy.purchase, client: body.client || S.me.client }, stripe: cfg.stripe, t, fmt,
    onPaid: async (p) => {
      buy.purchase = null;
      S.bought = p;
      await afterSignIn(false);
      go('package_done');
    },
    onFailed: () => {},
  });
}

function packageDoneView() {
  const p = S.bought;
  return [
    h('div', { class: 'done-head' }, h('span', { class: 'done-icon' }, icon('check')),
      h('h1', { class: 'step-h', tabindex: '-1', text: t('pkg_done') })),
    h('p', { text: t('pkg_done_text', { n: p.package ? p.package.credits_left : p.plan.sessions, name: p.plan.name }) }),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn primary', onclick: () => {
      S.payment = 'package';
      const first = S.services.find((s) => p.plan.services.includes(s.slug));
      if (first) { S.service = first; go('time'); } else go('services');
    } }, t('pkg_book_first')))];
}

// The emailed link (/book/jane?signin=…): sign in with it once, then drop it from the address.
export async function linkSignIn() {
  const url = new URL(location.href);
  const link = url.searchParams.get('signin');
  url.searchParams.delete('signin');
  history.replaceState(history.state, '', url);
  try {
    setToken((await post(paths.auth(cfg.expert, 'verify'), { link_token: link })).client_token);
  } catch { /* used or expired: the client can ask for a code */ }
}

export async function loadMe() {
  return get(paths.auth(cfg.expert, 'me'));
}

export const VIEWS = { signin: signinView, account: accountView, package: packageView, package_done: packageDoneView };
