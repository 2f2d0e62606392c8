// The time step's picker, shared by the booking flow and the manage page (reschedule): a message
// slot, the view of the service's times (month.js for a personal service, sessions.js for group,
// series and mini ones, loaded with the first picker of their kind) over the service's slot store
// (slots.js), and the time-zone field (zone.js). It owns the zone and the clock the views draw in.
//
//   createPicker(o) -> {el, tz, refresh(message), setMessage(message), setHour12(bool), focus()}
//   o: {expert, service, tz, hour12, onPick(slot), onWaitlist(slot), onTz(tz), onHour12(bool),
//       announce(text), message?: {text, kind}}

import { h, replace, icon } from './dom.js';
import { t } from './i18n.js';
import { retryNote } from './ui.js';
import { slotStore } from './slots.js';
import { zoneField } from './zone.js';

export function createPicker(o) {
  const personal = o.service.kind === 'personal';
  const ctx = {
    store: slotStore(o.expert, o.service.slug), service: o.service, tz: o.tz, hour12: o.hour12, note: null,
    onPick: o.onPick, onWaitlist: o.onWaitlist, announce: o.announce,
    // Announce the times; right after a time-zone switch, say the new zone with them.
    say(text) {
      o.announce?.(ctx.note ? `${ctx.note} ${text}` : text);
      ctx.note = null;
    },
  };
  const root = h('div', { class: 'picker' });
  const note = h('div', { class: 'note-slot' });
  const main = h('div', { class: personal ? 'cal-layout' : 'sess-layout' });
  root.append(note, main);
  let view = null;

  function setMessage(msg) {
    replace(note, msg ? h('p', { class: `note ${msg.kind || 'warn'}`, role: msg.kind === 'error' ? 'alert' : null }, icon(msg.kind === 'error' ? 'alert' : 'info'), h('span', { text: msg.text })) : null);
  }
  setMessage(o.message);

  const zone = zoneField({
    tz: ctx.tz, hour12: ctx.hour12,
    onTz(tz) {
      ctx.tz = tz;
      o.onTz?.(tz);
      ctx.note = t('tz_changed', { tz }); // said again with the new times, which replace it
      o.announce?.(ctx.note);
      view?.setTz(tz);
    },
    onHour12(value) {
      ctx.hour12 = value;
      o.onHour12?.(value);
      view?.redraw();
    },
  });

  function mount() {
    replace(main, h('div', { class: 'sk-card' }));
    (personal ? import('./month.js') : import('./sessions.js')).then((m) => {
      view = m.createView(ctx, zone.el);
      replace(main, view.el);
    }, (e) => replace(main, retryNote({ ...e, network: true }, mount)));
  }
  mount();

  return {
    el: root,
    get tz() { return ctx.tz; },
    // After a 409 or an expired hold: forget every slot, show a message and load again.
    refresh(message) {
      ctx.store.reset();
      setMessage(message);
      view?.refresh();
    },
    setMessage,
    setHour12(value) {
      if (value !== ctx.hour12) {
        ctx.hour12 = value;
        zone.setHour12(value);
        view?.redraw();
      }
    },
    focus: () => view?.focus(),
  };
}
