/*! Kairos embed, explained in docs/architecture.md#embedjs */
(function (w, d) {
  var K = w.Kairos;
  if (K && K.loaded) return;
  var S = d.currentScript || d.querySelector('script[src*="/embed.js"]');
  var HOST = new URL(S.src).origin;
  var TYPES = /^(ready|step|slot-selected|hold-expired|booking-(completed|cancelled|rescheduled|failed))$/;
  var OPTS = ['name', 'email', 'color', 'theme', 'lang', 'collection'];
  var all = {}, on = {}, seen = new WeakSet(), done = {}, dlg, cur;
  var T = 'clamp(0,(.179 - y)*1e5,1) ';
  var BTN = { position: 'fixed', margin: '0', border: '0', display: 'block', cursor: 'pointer', color: '#fff' };

  function css(el, o) { for (var k in o) el.style.setProperty(k, o[k], 'important'); return el; }
  function mk(tag, o, to) { var el = css(d.createElement(tag), o || {}); to && to.appendChild(el); return el; }
  function attr(el, k) { return el.getAttribute('data-kairos-' + k); }
  function opts(el, o) { o = o || {}; OPTS.concat('service', 'expert', 'manage').forEach(function (k) { o[k] = o[k] || attr(el, k); }); return o; }

  function frame(o, el, pop) {
    var id = 'k' + Math.random().toString(36).slice(2);
    var q = new URLSearchParams({ origin: location.origin, wid: id });
    OPTS.forEach(function (k) { o[k] && q.set(k, o[k]); });
    pop && q.set('popup', 1);
    var f = mk('iframe', { display: 'block', width: '100%', 'max-width': '100%', 'min-width': '0', height: '480px', 'min-height': '0',
      border: '0', margin: '0', padding: '0', background: 'none' });
    f.title = o.title || 'Booking';
    f.allow = 'payment';
    f.src = HOST + (o.manage ? '/manage/' + o.manage.split('/').pop() : '/widget/' + encodeURIComponent(o.expert) + (o.service ? '/' + encodeURIComponent(o.service) : '')) + '?' + q;
    return f.k = all[id] = { id: id, f: f, el: el };
  }

  function fit(wg, h, u) {
    var r = wg.f.getBoundingClientRect(), ok = u || wg.pop || Math.min(r.bottom, r.top + h) >= innerHeight;
    ok && css(wg.f, { height: h + 'px' });
    send(wg, 'hello', { scroll: !ok && r.height < h });
  }

  function send(wg, type, p) { wg.up && wg.f.contentWindow.postMessage({ kairos: 1, wid: wg.id, type: type, payload: p || {} }, HOST); }

  function emit(wg, type, detail) {
    var el = wg.el && wg.el.isConnected ? wg.el : d;
    el.dispatchEvent(new CustomEvent('kairos:' + type, { bubbles: true, composed: true, detail: detail }));
    (on[type] || []).forEach(function (fn) { fn(detail, wg.el); });
  }

  w.addEventListener('message', function (e) {
    var m = e.origin == HOST && e.data, wg = m && m.kairos === 1 && all[m.wid], p = m && m.payload || {}, t = m && m.type;
    if (!wg || e.source !== wg.f.contentWindow) return;
    wg.up || (wg.up = 1, cur == wg && send(wg, 'open'));
    if (t == 'resize') {
      p.height > 0 && fit(wg, p.height, p.user);
    } else if (t == 'close') {
      cur == wg && close();
    } else if (TYPES.test(t)) {
      if (t == 'booking-completed') {
        var b = p.booking && p.booking.id;
        if (!b || done[b]) return;
        done[b] = 1;
      }
      t == 'step' && !wg.pop && wg.f.getBoundingClientRect().top < 0 && wg.f.scrollIntoView();
      emit(wg, t, p);
    }
  });

  function inline(el, o) {
    if (!el || seen.has(el)) return;
    seen.add(el);
    o = opts(el, o);
    if (!o.expert && !o.manage) return;
    var r = el.getBoundingClientRect(), wg = frame(o, el);
    r.top > innerHeight + 800 && (wg.f.loading = 'lazy');
    css(wg.f, { height: (r.height || (o.service ? (r.width < 800 ? 1000 : 714) : 1100)) + 'px' });
    css(el, { 'min-height': '0' });
    el.appendChild(wg.f);
  }

  function trigger(el, o) {
    if (!el || seen.has(el)) return;
    seen.add(el);
    el.addEventListener('click', function (e) {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;
      e.preventDefault();
      var v = (attr(el, 'popup') || '').split('/'), x = opts(el, Object.assign({}, o));
      x.expert = x.expert || v[0];
      x.service = x.service || v[1];
      popup(x, el);
    });
  }

  function popup(o, el) {
    if (!o.expert) return;
    var key = [o.expert, o.service].concat(OPTS.map(function (k) { return o[k]; })).join('|'), wg;
    for (var k in all) if (all[k].pop == key) wg = all[k];
    dlg || build();
    if (!wg) { wg = frame(o, el, 1); wg.pop = key; dlg.p.insertBefore(wg.f, dlg.z); }
    wg.el = el || wg.el;
    for (k in all) all[k].pop && css(all[k].f, { display: all[k] == wg ? 'block' : 'none' });
    dlg.ret = el || d.activeElement;
    cur = wg;
    dlg.open || dlg.showModal();
    css(d.documentElement, { overflow: 'hidden' });
    wg.f.focus();
    send(wg, 'open');
  }

  function close() { dlg && dlg.open && dlg.close(); }

  function build() {
    dlg = mk('dialog', { position: 'fixed', inset: '0', width: '100%', height: '100%', 'max-width': '100%', 'max-height': '100%',
      margin: '0', padding: '0', border: '0', background: 'rgba(17,24,39,.6)', 'overflow-y': 'auto' }, d.body);
    dlg.setAttribute('aria-label', 'Booking');
    var p = dlg.p = mk('div', { display: 'block', position: 'relative', margin: '56px auto 24px', padding: '0', width: 'min(760px,100%)', background: '#fff',
      'border-radius': '12px', overflow: 'hidden', 'box-shadow': '0 20px 60px rgba(0,0,0,.35)' }, dlg);
    var a = mk('span', 0, p), x = mk('button', Object.assign({}, BTN, { top: '8px', right: '8px', width: '44px', height: '44px', padding: '0',
      'border-radius': '50%', background: '#fff', color: '#111', font: '600 28px/44px system-ui,sans-serif', 'z-index': '1' }), p), z = dlg.z = mk('span', 0, p);
    a.tabIndex = z.tabIndex = 0;
    x.type = 'button';
    x.textContent = '×';
    x.setAttribute('aria-label', 'Close');
    a.onfocus = function () { cur && cur.f.focus(); };
    z.onfocus = function () { x.focus(); };
    x.onclick = close;
    dlg.onclick = function (e) { e.target == dlg && close(); };
    dlg.onclose = function () {
      d.documentElement.style.removeProperty('overflow');
      cur = null;
      dlg.ret && dlg.ret.focus && dlg.ret.focus();
    };
  }

  function floating(o) {
    var c = o.color || '#2f5d8a', b = mk('button', Object.assign({ bottom: '20px', right: '20px', 'z-index': '2147483647', padding: '0 20px', 'border-radius': '24px',
      background: c, font: '600 16px/48px system-ui,sans-serif', 'box-shadow': '0 4px 16px rgba(0,0,0,.3)' }, BTN), d.body);
    css(b, { color: 'oklch(from color(from ' + c + ' xyz-d65 ' + T + T + T + ') l 0 0)' });
    b.type = 'button';
    b.textContent = o.label || 'Book a time';
    b.onclick = function () { popup(o, b); };
  }

  function api(cmd, o, fn) {
    o = o || {};
    var el = o.el || o.selector;
    el = typeof el == 'string' ? d.querySelector(el) : el;
    if (cmd == 'inline') inline(el, o);
    else if (cmd == 'popup') el ? trigger(el, o) : popup(o);
    else if (cmd == 'floating') d.body ? floating(o) : d.addEventListener('DOMContentLoaded', function () { floating(o); });
    else if (cmd == 'on') { o = String(o).replace('kairos:', ''); (on[o] = on[o] || []).push(fn); }
  }

  var q = K && K.q || [], busy;
  function scan() {
    busy = 0;
    d.querySelectorAll('[data-kairos-expert],[data-kairos-manage]').forEach(function (e) { inline(e); });
    d.querySelectorAll('[data-kairos-popup]').forEach(function (e) { trigger(e); });
  }
  w.Kairos = function () { api.apply(0, arguments); };
  w.Kairos.loaded = 1;
  scan();
  q.forEach(function (a) { api.apply(0, a); });
  new MutationObserver(function () { busy || (busy = Promise.resolve().then(scan)); })
    .observe(d.documentElement, { childList: true, subtree: true });
})(window, document);
