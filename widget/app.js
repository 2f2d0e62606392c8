// The booking flow: service → time → details → review → (payment) → confirmation.
// One state object, one view at a time; every view is rebuilt from the state, so Back never loses
// what was typed. Requests start before anything renders: the profile (preloaded by the HTML) and,
// for a direct service link, the first weeks of slots go out in parallel.
// This module holds the first screen (services, time); the later steps live in steps.js, loaded
// as soon as the client shows intent (pointer or focus inside the widget), to keep the first
// screen small.

import { h, replace, icon, id, $ } from './dom.js';
import { get, paths, setBase, setToken, hasToken } from './api.js';
import { early } from './early.js';
import { t, fmt, setLanguage, chooseLanguage, defaultHour12, detectTimeZone } from './i18n.js';
import { createPicker, firstRange, fetchSlots } from './calendar.js';
import { params, post as send, on, watchSize, embedded } from './messenger.js';
import { applyTheme } from './theme.js';
import { locationLabel, locationIcon, announce, focusHeading, errorText, whenText } from './ui.js';

export const cfg = JSON.parse($('#kairos-config').textContent);
setBase(cfg.api);
export const popup = params.get('popup') === '1';

// The step names a host page's analytics sees in kairos:step (as the README lists them).
const stepName = (step) => ({ services: 'service', done: 'confirmation' }[step] || step);

// ---- start the network first -------------------------------------------------------

export const S = {
  tz: detectTimeZone(),
  hour12: null,
  step: null,
  ready: false,
  expert: null,
  services: [],
  service: null,
  slot: null,
  form: { name: params.get('name') || '', email: params.get('email') || '', phone: '', message: '', answers: {} },
  errors: {},
  payment: null,
  coupon: '',
  offer: null, // a waitlist link's held seat: {token, expires, …}
  waitlisted: null,
  booking: null,
  attempt: null,
  pickers: {},
  prefetch: {},
  sent: new Set(),
  busy: false,
  submitError: null,
  plans: [],
};

// "Keep me signed in": the frame's (partitioned) storage.
export const storageKey = `kairos:client:${cfg.expert}`;
function keptToken() {
  try {
    const kept = JSON.parse(localStorage.getItem(storageKey) || 'null');
    if (kept && kept.token && new Date(kept.expires_at) > new Date()) return kept.token;
  } catch { /* storage blocked or garbled: signed out */ }
  return null;
}
setToken(keptToken());
cfg.collection = params.get('collection');

const expertP = get(paths.expert(cfg.expert));
expertP.catch(() => {});
// The emailed link opens the whole page (/book/jane?signin=…).
const meP = (params.get('signin') ? import('./signin.js').then((m) => m.linkSignIn(), () => {}) : Promise.resolve())
  .then(() => (hasToken() ? get(paths.auth(cfg.expert, 'me')) : null)).catch(() => { setToken(null); return null; });
if (cfg.service) prefetchSlots(cfg.service);
// A language other than English is a module of its own: fetch it now, alongside the profile.
const langP = setLanguage(params.get('lang'));

function prefetchSlots(slug) {
  if (S.prefetch[slug] || S.pickers[slug]) return;
  const e = early.slots;
  if (e && e.service === slug && e.tz === S.tz) {
    // Started by early.js before this module loaded; a failed answer is asked again through api.js.
    const promise = e.response.then((res) => (res.ok ? res.json() : Promise.reject(res)))
      .catch(() => fetchSlots(cfg.expert, slug, e.start, e.end, S.tz));
    promise.catch(() => {});
    S.prefetch[slug] = { tz: S.tz, start: e.start, end: e.end, promise };
    return;
  }
  const r = firstRange(S.tz);
  const promise = fetchSlots(cfg.expert, slug, r.start, r.end, S.tz);
  promise.catch(() => {});
  S.prefetch[slug] = { tz: S.tz, ...r, promise };
}

// ---- frame ----------------------------------------------------------------------------

const main = $('#main');
const view = $('#view');
const root = document.documentElement;
applyTheme(params.get('color'), params.get('theme'));
if (embedded) root.classList.add('embedded');
if (popup) root.classList.add('popup');
if (cfg.mode === 'page') root.classList.add('page');
watchSize(document.body);
on('open', () => focusHeading(view));

let steps = null;
let stepsP = null;
function loadSteps() {
  stepsP ||= import('./steps.js').then((m) => { steps = m; return m; }, (e) => { stepsP = null; throw e; });
  return stepsP;
}
for (const ev of ['pointerover', 'focusin', 'touchstart']) view.addEventListener(ev, () => S.ready && loadSteps().catch(() => {}), { once: true, passive: true });

boot();

async function boot() {
  let expert;
  try {
    [expert, S.me] = await Promise.all([expertP, meP, langP]);
  } catch (e) {
    return fatal(e);
  }
  S.expert = expert;
  if (S.me) fillFromMe();
  if (!params.get('lang') && expert.locale && chooseLanguage(expert.locale).code !== chooseLanguage().code) await setLanguage(expert.locale);
  if (!params.get('color') && expert.brand_color) applyTheme(expert.brand_color, params.get('theme'));
  S.hour12 = defaultHour12();
  S.services = expert.services || [];
  S.plans = expert.packages || [];
  let first = 'services';
  const offer = cfg.service && params.get('waitlist') ? await readOffer(params.get('waitlist')) : null;
  try {
    first = await offers();
  } catch (e) {
    if (e.code !== 'sign_in_required') return fatal(e);
    S.signInFor = true; // clients only
    first = 'signin';
  }
  if (first === 'signin') {
    // the sign-in step first
  } else if (cfg.service) {
    first = 'time';
    if (offer && offer.status === 'offered') {
      // The link of a waitlist offer: the held seat is chosen and the client's details filled in.
      S.offer = offer;
      S.slot = { start: offer.start, end: offer.end, session: offer.session, seats_left: 1 };
      S.tz = offer.timezone || S.tz;
      S.form.name ||= offer.client.name;
      S.form.email ||= offer.client.email;
      first = 'details';
    } else if (offer) {
      picker().setMessage({ text: t('wl_gone'), kind: 'error' });
    }
  } else if (S.services.length === 1 && !S.plans.length) {
    S.service = S.services[0];
    prefetchSlots(S.service.slug);
    first = 'time';
  }
  go(first, { focus: popup });
  main.removeAttribute('aria-busy');
  S.ready = true;
  send('ready', { expert: cfg.expert, service: cfg.service || null });
  send('step', { step: stepName(first) });
}

async function readOffer(token) {
  try {
    return { ...(await get(paths.offer(token))).offer, token };
  } catch (e) {
    return { status: 'gone', token };
  }
}

// The expert's page, a collection or one service.
export async function offers() {
  if (cfg.collection) {
    const c = (await get(paths.collection(cfg.expert, cfg.collection))).collection;
    S.collection = c;
    S.services = c.services;
    S.plans = c.packages;
  }
  if (cfg.service) {
    S.service = S.services.find((s) => s.slug === cfg.service) || await get(paths.service(cfg.expert, cfg.service));
    prefetchSlots(S.service.slug);
  }
  return 'services';
}

export function fillFromMe() {
  S.form.name = S.me.client.name;
  S.form.email = S.me.client.email;
}

const loadAccount = () => loadSteps();

export function accountBar() {
  if (S.me) {
    return h('div', { class: 'topbar' },
      h('span', { class: 'muted', text: t('signed_in_as', { email: S.me.client.email }) }),
      h('button', { type: 'button', class: 'link', onclick: () => loadAccount().then((m) => m.openAccount()) }, t('acct_title')),
      h('button', { type: 'button', class: 'link', onclick: () => loadAccount().then((m) => m.signOut()) }, t('sign_out')));
  }
  return h('div', { class: 'topbar' },
    h('span', { class: 'muted', text: t('signin_prompt') }),
    h('button', { type: 'button', class: 'link', onclick: () => go('signin') }, t('signin_title')));
}

export function fatal(e) {
  main.removeAttribute('aria-busy');
  const missing = e && e.status === 404;
  replace(view, h('div', { class: 'fatal' },
    h('h1', { class: 'step-h', tabindex: '-1', text: missing ? t('e_missing') : errorText(e) }),
    missing ? null : h('button', { type: 'button', class: 'btn', onclick: () => location.reload() }, t('retry'))));
}

// ---- navigation -------------------------------------------------------------------

const ORDER = ['services', 'time', 'details', 'review'];
const flowSteps = () => ORDER.filter((s) => (s !== 'services' || (!cfg.service && S.services.length + S.plans.length > 1))
  && (s !== 'details' || !S.me));

export function go(step, opts = {}) {
  const fn = CORE[step] || (steps && steps.VIEWS[step]);
  if (!fn) {
    // The later steps are still loading (or failed to): keep the client where they are, busy.
    main.setAttribute('aria-busy', 'true');
    loadSteps().then(() => { main.removeAttribute('aria-busy'); go(step, opts); }, (e) => {
      main.removeAttribute('aria-busy');
      announce(errorText({ ...e, network: true }));
      replace(view, h('div', { class: 'fatal' }, h('h1', { class: 'step-h', tabindex: '-1', text: t('e_network') }),
        h('button', { type: 'button', class: 'btn', onclick: () => go(step, opts) }, t('retry'))));
      focusHeading(view);
    });
    return;
  }
  const changed = S.step !== step;
  S.step = step;
  // On the whole page (/book/...), each step is a history entry: the browser's Back steps back.
  if (cfg.mode === 'page' && changed && !opts.fromHistory) history[S.ready ? 'pushState' : 'replaceState']({ kairos: step }, '');
  replace(view, fn());
  document.title = [titleOf(step), S.expert && S.expert.name].filter(Boolean).join(' · ');
  if (opts.focus !== false) focusHeading(view, cfg.mode === 'page');
  if (changed && S.ready) send('step', { step: stepName(step) });
}

export function titleOf(step) {
  return {
    services: S.collection ? S.collection.name : t('services'), signin: t('signin_title'), account: t('acct_title'),
    package: S.plan && S.plan.name, time: S.service && S.service.kind !== 'personal' ? t('date_title') : t('time_title'),
    details: t('details'), review: t('review'), payment: t('pay_title'), done: t('done'), waitlist: t('wl_title'),
  }[step];
}

addEventListener('popstate', (e) => {
  let step = e.state && e.state.kairos;
  if (!step || step === S.step || !S.ready) return;
  if (S.booking && (S.step === 'done' || S.step === 'payment')) {
    // Leaving a made (or held) booking starts a new one.
    S.booking = null;
    S.slot = null;
    S.attempt = null;
  }
  const needs = { details: S.slot, review: S.slot, waitlist: S.slot, payment: S.booking, done: S.booking, time: S.service };
  if (step in needs && !needs[step]) step = S.service ? 'time' : 'services';
  go(step, { fromHistory: true });
});

function back() {
  const list = flowSteps();
  const i = list.indexOf(S.step);
  if (i > 0) go(list[i - 1]);
}

export function topbar() {
  const list = flowSteps();
  const n = list.indexOf(S.step);
  return h('div', { class: 'topbar' },
    n > 0 ? h('button', { type: 'button', class: 'back', onclick: back }, icon('back'), h('span', { text: t('back') })) : h('span'),
    n >= 0 ? h('span', { class: 'stepno', text: t('step', { n: n + 1, total: list.length }) }) : null);
}

export function heading(text) {
  return h('h1', { class: 'step-h', tabindex: '-1', text });
}

// ---- step: services -------------------------------------------------------------------

function servicesView() {
  const e = S.expert;
  const c = S.collection;
  return [
    accountBar(),
    h('header', { class: 'profile' },
      avatar(e, 'lg'),
      h('div', { class: 'profile-text' },
        h('h1', { class: 'step-h', tabindex: '-1', text: c ? c.name : e.name }),
        c ? h('p', { class: 'expert-name', text: e.name }) : null,
        (c ? c.description : e.bio) ? h('p', { class: 'bio', text: c ? c.description : e.bio }) : null)),
    h('h2', { class: 'section-h', text: t('services') }),
    S.services.length
      ? h('ul', { class: 'svc-list' }, S.services.map(serviceCard))
      : h('p', { class: 'muted empty', text: t('no_services') }),
    S.plans.length ? h('h2', { class: 'section-h', text: t('packages') }) : null,
    S.plans.length ? h('ul', { class: 'svc-list' }, S.plans.map(planCard)) : null,
  ];
}

function serviceCard(s) {
  const metaId = id('sm');
  const descId = id('sd');
  return h('li', { class: 'svc' },
    h('h3', { class: 'svc-name' },
      h('button', {
        type: 'button', class: 'svc-btn', 'aria-describedby': `${metaId}${s.description ? ` ${descId}` : ''}`,
        onpointerdown: () => prefetchSlots(s.slug),
        onclick: () => pickService(s),
      }, s.name)),
    h('p', { class: 'meta', id: metaId }, serviceMeta(s)),
    s.description ? h('p', { class: 'svc-desc', id: descId, text: s.description }) : null,
    icon('next', 'ic chev'));
}

function planCard(p) {
  const metaId = id('pm');
  return h('li', { class: 'svc' },
    h('h3', { class: 'svc-name' },
      h('button', { type: 'button', class: 'svc-btn', 'aria-describedby': metaId, onclick: () => { S.plan = p; go('package'); } }, p.name)),
    h('p', { class: 'meta', id: metaId },
      h('span', { class: 'chip', text: t('pkg_n', { n: p.sessions }) }),
      h('span', { class: 'chip price' }, fmt.price(p.price))),
    p.description ? h('p', { class: 'svc-desc', text: p.description }) : null,
    icon('next', 'ic chev'));
}

function serviceMeta(s) {
  const parts = [
    h('span', { class: 'chip' }, icon('clock'), fmt.duration(s.duration_minutes)),
    h('span', { class: 'chip' }, icon(locationIcon(s.location)), locationLabel(s.location)),
    h('span', { class: 'chip price' }, fmt.price(s.price)),
  ];
  if (s.kind !== 'personal') parts.unshift(h('span', { class: 'chip kind', text: t(`kind_${s.kind}`) }));
  return parts;
}

function pickService(s) {
  if (S.service !== s) {
    S.service = s;
    S.slot = null;
  }
  prefetchSlots(s.slug);
  go('time');
}

function avatar(e, size = 'sm') {
  const px = size === 'lg' ? 72 : 40;
  if (e.avatar_url) return h('img', { class: `avatar ${size}`, src: e.avatar_url, alt: '', width: px, height: px });
  const initials = (e.name || '?').split(/\s+/).filter((w) => /^\p{L}/u.test(w)).slice(-2).map((w) => w[0]).join('').toUpperCase();
  return h('span', { class: `avatar ${size}`, 'aria-hidden': 'true', text: initials || '?' });
}

export function serviceHeader(withSlot) {
  const s = S.service;
  return h('div', { class: 'svc-head' },
    avatar(S.expert),
    h('div', null,
      h('p', { class: 'expert-name', text: S.expert.name }),
      h('p', { class: 'svc-title', text: s.name }),
      h('p', { class: 'meta' }, serviceMeta(s)),
      withSlot && S.slot ? h('p', { class: 'meta when' }, icon('calendar'),
        whenText(S.slot.start, S.slot.end, S.slot.location || s.location, S.tz, S.hour12)) : null));
}

// ---- step: time -------------------------------------------------------------------------

export function picker() {
  const s = S.service;
  let p = S.pickers[s.slug];
  if (!p) {
    const pf = S.prefetch[s.slug];
    p = S.pickers[s.slug] = createPicker({
      expert: cfg.expert, service: s, tz: S.tz, hour12: S.hour12, prefetch: pf && pf.tz === S.tz ? pf : null,
      onPick: pickSlot,
      onWaitlist: (slot) => { S.slot = slot; S.waitlisted = null; S.errors = {}; go('waitlist'); },
      onTz: (z) => { S.tz = z; },
      onHour12: (v) => {
        S.hour12 = v;
        for (const other of Object.values(S.pickers)) other.setHour12(v);
      },
      announce,
    });
    delete S.prefetch[s.slug];
  }
  return p;
}

function timeView() {
  return [accountBar(), topbar(), serviceHeader(false), heading(titleOf('time')), picker().el];
}

function pickSlot(slot) {
  S.slot = slot;
  S.submitError = null;
  picker().setMessage(null);
  send('slot-selected', { start: slot.start, timezone: S.tz });
  go(S.me ? 'review' : 'details'); // a signed-in client gives no name or email
}

const CORE = { services: servicesView, time: timeView };
