// The booking flow's entry: service → time → details → review → (payment) → confirmation.
// Requests go out before anything renders. Steps are modules loaded when reached: the first
// screen's are preloaded by the HTML, the later ones load on intent (pointer or focus inside).

import { $ } from './dom.js';
import { get, paths, setBase, setToken, hasToken } from './api.js';
import { t, setLanguage, chooseLanguage, defaultHour12 } from './i18n.js';
import { params, post as send, on, watchSize, embedded } from './messenger.js';
import { applyTheme } from './theme.js';
import { focusHeading } from './ui.js';
import { S, cfg, popup, storageKey, fillFromMe } from './state.js';
import { go, lazy, load, preload, fatal, stepName } from './nav.js';
import { offers } from './catalog.js';
import { slotStore } from './slots.js';

setBase(cfg.api);

const account = () => import('./signin.js');
const later = () => import('./steps.js');
lazy({
  services: () => import('./services.js'),
  time: () => import('./times.js'),
  details: later, review: later, payment: later, done: later, waitlist: later,
  signin: account, account, package: account, package_done: account,
});

function keptToken() {
  try {
    const kept = JSON.parse(localStorage.getItem(storageKey) || 'null');
    if (kept && kept.token && new Date(kept.expires_at) > new Date()) return kept.token;
  } catch { /* storage blocked or garbled: signed out */ }
  return null;
}
setToken(keptToken());

const expertP = get(paths.expert(cfg.expert));
expertP.catch(() => {});
// The emailed link opens the whole page (/book/jane?signin=…).
const meP = (params.get('signin') ? account().then((m) => m.linkSignIn(), () => {}) : Promise.resolve())
  .then(() => (hasToken() ? get(paths.auth(cfg.expert, 'me')) : null)).catch(() => { setToken(null); return null; });
if (cfg.service) slotStore(cfg.expert, cfg.service).warm(S.tz);
// A language other than English is a module of its own: fetch it now, alongside the profile.
const langP = setLanguage(params.get('lang'));

const main = $('#main');
const view = $('#view');
const root = document.documentElement;
applyTheme(params.get('color'), params.get('theme'));
if (embedded) root.classList.add('embedded');
if (popup) root.classList.add('popup');
if (cfg.mode === 'page') root.classList.add('page');
watchSize(document.body);
on('open', () => focusHeading(view));

for (const ev of ['pointerover', 'focusin', 'touchstart']) {
  view.addEventListener(ev, () => S.ready && preload('time', 'details'), { once: true, passive: true });
}

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
    await offers();
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
      try {
        (await import('./times.js')).picker().setMessage({ text: t('wl_gone'), kind: 'error' });
      } catch (e) {
        return fatal({ ...e, network: true });
      }
    }
  } else if (S.services.length === 1 && !S.plans.length) {
    S.service = S.services[0];
    slotStore(cfg.expert, S.service.slug).warm(S.tz);
    first = 'time';
  }
  try {
    await load(first);
  } catch (e) {
    return fatal({ ...e, network: true });
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
