// The flow's time step: one picker per service, kept while the client goes back and forth.

import { S, cfg } from './state.js';
import { go, topbar, heading, titleOf } from './nav.js';
import { post as send } from './messenger.js';
import { announce } from './ui.js';
import { accountBar, serviceHeader } from './header.js';
import { createPicker } from './picker.js';

export function picker() {
  const s = S.service;
  S.pickers[s.slug] ||= createPicker({
    expert: cfg.expert, service: s, tz: S.tz, hour12: S.hour12,
    onPick: pickSlot,
    onWaitlist: (slot) => { S.slot = slot; S.waitlisted = null; S.errors = {}; go('waitlist'); },
    onTz: (z) => { S.tz = z; },
    onHour12: (v) => {
      S.hour12 = v;
      for (const other of Object.values(S.pickers)) other.setHour12(v);
    },
    announce,
  });
  return S.pickers[s.slug];
}

function timeView() {
  return [accountBar(), topbar(), serviceHeader(), heading(titleOf('time')), picker().el];
}

function pickSlot(slot) {
  S.slot = slot;
  S.submitError = null;
  picker().setMessage(null);
  send('slot-selected', { start: slot.start, timezone: S.tz });
  go(S.me ? 'review' : 'details'); // a signed-in client gives no name or email
}

export const VIEWS = { time: timeView };
