// The time step (booking flow and reschedule): a message, the times (month.js or sessions.js) and
// the zone field. o: {expert, service, tz, hour12, onPick, onWaitlist, onTz, onHour12, announce, message}.

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
    // Right after a zone switch, the new zone is said with the times.
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
      view = m.createView(ctx, h('div', { class: 'tzbox' }, zone.el));
      replace(main, view.el);
    }, (e) => replace(main, retryNote({ ...e, network: true }, mount)));
  }
  mount();

  return {
    el: root,
    get tz() { return ctx.tz; },
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
