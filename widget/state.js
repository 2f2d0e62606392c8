// The booking flow's state: every view is rebuilt from it, so Back never loses what was typed.

import { $ } from './dom.js';
import { params } from './messenger.js';
import { detectTimeZone } from './early.js';

export const cfg = JSON.parse($('#kairos-config').textContent);
cfg.collection = params.get('collection');
export const popup = params.get('popup') === '1';

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
  sent: new Set(),
  busy: false,
  submitError: null,
  plans: [],
};

// "Keep me signed in": the frame's (partitioned) storage.
export const storageKey = `kairos:client:${cfg.expert}`;

export function fillFromMe() {
  S.form.name = S.me.client.name;
  S.form.email = S.me.client.email;
}
