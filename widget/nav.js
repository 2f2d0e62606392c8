// The booking flow's navigation: one step on screen, its title, Back, history on the whole page.
// Step modules are loaded through the loaders app.js gives (`lazy`), so no step imports the entry.

import { h, replace, icon, $ } from './dom.js';
import { t } from './i18n.js';
import { post as send } from './messenger.js';
import { announce, focusHeading, errorText } from './ui.js';
import { S, cfg } from './state.js';

const main = $('#main');
const view = $('#view');
const VIEWS = {};
const LOADERS = {};
const loading = {};

// The step names a host page's analytics sees in kairos:step (as the README lists them).
export const stepName = (step) => ({ services: 'service', done: 'confirmation' }[step] || step);

export function define(views) {
  Object.assign(VIEWS, views);
}

export function lazy(loaders) {
  Object.assign(LOADERS, loaders);
}

export function load(step) {
  if (VIEWS[step]) return Promise.resolve();
  const loader = LOADERS[step];
  if (!loader) return Promise.reject(new Error(`no step ${step}`));
  loading[step] ||= loader().then((m) => define(m.VIEWS), (e) => { delete loading[step]; throw e; });
  return loading[step];
}

export function preload(...steps) {
  for (const step of steps) load(step).catch(() => {});
}

export function go(step, opts = {}) {
  const fn = VIEWS[step];
  if (!fn) {
    // The step is still loading (or failed to): keep the client where they are, busy.
    main.setAttribute('aria-busy', 'true');
    load(step).then(() => { main.removeAttribute('aria-busy'); go(step, opts); }, (e) => {
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

const ORDER = ['services', 'time', 'details', 'review'];
const flowSteps = () => ORDER.filter((s) => (s !== 'services' || (!cfg.service && S.services.length + S.plans.length > 1))
  && (s !== 'details' || !S.me));

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

export function fatal(e) {
  main.removeAttribute('aria-busy');
  const missing = e && e.status === 404;
  replace(view, h('div', { class: 'fatal' },
    h('h1', { class: 'step-h', tabindex: '-1', text: missing ? t('e_missing') : errorText(e) }),
    missing ? null : h('button', { type: 'button', class: 'btn', onclick: () => location.reload() }, t('retry'))));
}
