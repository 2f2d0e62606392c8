// The tops of the flow's steps: the account bar, the expert's avatar, the service's facts.

import { h, icon } from './dom.js';
import { t, fmt } from './i18n.js';
import { locationLabel, locationIcon } from './ui.js';
import { S } from './state.js';
import { go } from './nav.js';

const account = () => import('./signin.js');

export function accountBar() {
  if (S.me) {
    return h('div', { class: 'topbar' },
      h('span', { class: 'muted', text: t('signed_in_as', { email: S.me.client.email }) }),
      h('button', { type: 'button', class: 'link', onclick: () => account().then((m) => m.openAccount()) }, t('acct_title')),
      h('button', { type: 'button', class: 'link', onclick: () => account().then((m) => m.signOut()) }, t('sign_out')));
  }
  return h('div', { class: 'topbar' },
    h('span', { class: 'muted', text: t('signin_prompt') }),
    h('button', { type: 'button', class: 'link', onclick: () => go('signin') }, t('signin_title')));
}

export function avatar(e, size = 'sm') {
  const px = size === 'lg' ? 72 : 40;
  if (e.avatar_url) return h('img', { class: `avatar ${size}`, src: e.avatar_url, alt: '', width: px, height: px });
  const initials = (e.name || '?').split(/\s+/).filter((w) => /^\p{L}/u.test(w)).slice(-2).map((w) => w[0]).join('').toUpperCase();
  return h('span', { class: `avatar ${size}`, 'aria-hidden': 'true', text: initials || '?' });
}

export function serviceMeta(s) {
  const parts = [
    h('span', { class: 'chip' }, icon('clock'), fmt.duration(s.duration_minutes)),
    h('span', { class: 'chip' }, icon(locationIcon(s.location)), locationLabel(s.location)),
    h('span', { class: 'chip price' }, fmt.price(s.price)),
  ];
  if (s.kind !== 'personal') parts.unshift(h('span', { class: 'chip kind', text: t(`kind_${s.kind}`) }));
  return parts;
}

// `when`: the chosen time in words, which the later steps show.
export function serviceHeader(when = null) {
  const s = S.service;
  return h('div', { class: 'svc-head' },
    avatar(S.expert),
    h('div', null,
      h('p', { class: 'expert-name', text: S.expert.name }),
      h('p', { class: 'svc-title', text: s.name }),
      h('p', { class: 'meta' }, serviceMeta(s)),
      when ? h('p', { class: 'meta when' }, icon('calendar'), when) : null));
}
