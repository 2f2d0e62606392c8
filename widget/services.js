// The services and packages of a page without a service.

import { h, icon, id, sheet } from './dom.js';
import { t, fmt } from './i18n.js';
import { S, cfg } from './state.js';
import { go } from './nav.js';
import { slotStore } from './slots.js';
import { accountBar, avatar, serviceMeta } from './header.js';

await sheet('services.css'); // linked by the HTML of a page without a service

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
        onpointerdown: () => slotStore(cfg.expert, s.slug).warm(S.tz),
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

function pickService(s) {
  if (S.service !== s) {
    S.service = s;
    S.slot = null;
  }
  slotStore(cfg.expert, s.slug).warm(S.tz);
  go('time');
}

export const VIEWS = { services: servicesView };
