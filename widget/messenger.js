// The widget's side of the embed protocol. Messages are {kairos: 1, wid, type, payload}.
// We post only to the exact origin the host page gave us (the `origin` query parameter, never '*'),
// and accept only messages from that origin whose source is our parent window and whose wid is ours.

export const params = new URLSearchParams(location.search);

function exactOrigin(value) {
  if (!value) return null;
  try {
    const u = new URL(value);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === value ? value : null;
  } catch {
    return null;
  }
}

export const hostOrigin = exactOrigin(params.get('origin'));
export const wid = (params.get('wid') || '').slice(0, 64);
export const embedded = Boolean(hostOrigin && window.parent !== window);

const listeners = {};

export function post(type, payload = {}) {
  if (!embedded) return;
  window.parent.postMessage({ kairos: 1, wid, type, payload }, hostOrigin);
}

export function on(type, fn) {
  (listeners[type] ||= []).push(fn);
}

window.addEventListener('message', (e) => {
  if (!embedded || e.origin !== hostOrigin || e.source !== window.parent) return;
  const m = e.data;
  if (!m || m.kairos !== 1 || m.wid !== wid || typeof m.type !== 'string') return;
  if (m.type === 'hello') document.documentElement.classList.toggle('sized', !(m.payload && m.payload.scroll));
  for (const fn of listeners[m.type] || []) fn(m.payload || {});
});

// Report our height to the embed whenever it changes (reasons: docs/architecture.md#embedjs).
export function watchSize(el = document.body) {
  if (!embedded) return;
  let last = 0;
  let queued = false;
  let user = false;
  const report = () => {
    queued = false;
    const height = Math.ceil(el.getBoundingClientRect().height);
    if (height && height !== last) {
      last = height;
      post('resize', { height, user });
    }
  };
  const used = () => {
    if (user) return;
    user = true;
    last = 0;
    report();
  };
  for (const type of ['pointerdown', 'keydown']) window.addEventListener(type, used, { capture: true, passive: true });
  if ('ResizeObserver' in window) new ResizeObserver(report).observe(el);
  new MutationObserver(() => {
    if (!queued) {
      queued = true;
      setTimeout(report);
    }
  }).observe(el, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['class', 'hidden'] });
  report();
}

// What the host page may learn about a booking: never the manage token or URL.
export function publicBooking(b) {
  return {
    id: b.id, status: b.status, start: b.start, end: b.end, timezone: b.timezone,
    service: b.service ? { slug: b.service.slug, name: b.service.name, kind: b.service.kind } : null,
    client: b.client ? { name: b.client.name, email: b.client.email } : null,
  };
}

// In a popup, Esc pressed inside the iframe never reaches the host page's dialog: ask it to close.
if (embedded && params.get('popup') === '1') {
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !e.defaultPrevented) post('close');
  });
}
