// Tiny DOM helpers. Text always goes in through text nodes (never innerHTML), so expert and
// client text can never become markup. No style attributes either: the widget's CSP forbids them.

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'indeterminate']);

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const key of Object.keys(props)) {
      const v = props[key];
      if (v == null || v === false) continue;
      if (key === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (key === 'text') el.textContent = v;
      else if (key.startsWith('on') && typeof v === 'function') el.addEventListener(key.slice(2).toLowerCase(), v);
      else if (PROPS.has(key)) el[key] = v;
      else if (key === 'ref') v(el);
      else el.setAttribute(key, v === true ? '' : String(v));
    }
  }
  add(el, children);
  return el;
}

export function add(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c == null || c === false || c === '') continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren();
  return add(el, children);
}

export const $ = (sel, root = document) => root.querySelector(sel);

// A later step's stylesheet, added once; resolves when it applies, or failed (the step still works).
export function sheet(name) {
  const href = new URL(name, import.meta.url).href;
  let link = [...document.querySelectorAll('link[rel=stylesheet]')].find((l) => l.href === href);
  if (link && link.sheet) return Promise.resolve();
  if (!link) document.head.append(link = h('link', { rel: 'stylesheet', href }));
  return new Promise((resolve) => { link.addEventListener('load', resolve); link.addEventListener('error', resolve); });
}

let uid = 0;
export const id = (prefix = 'k') => `${prefix}${++uid}`;

// Inline SVG icons built through the DOM (no markup strings).
const SVG = 'http://www.w3.org/2000/svg';
const ICONS = {
  back: 'M15 18l-6-6 6-6',
  next: 'M9 18l6-6-6-6',
  clock: 'M12 7v5l3 2M12 3a9 9 0 100 18 9 9 0 000-18z',
  video: 'M15 10l5-3v10l-5-3M3 7h12v10H3z',
  phone: 'M5 4h4l2 5-2.5 1.5a11 11 0 005 5L15 13l5 2v4a2 2 0 01-2 2A16 16 0 013 6a2 2 0 012-2',
  pin: 'M12 21s-7-6.1-7-11.5a7 7 0 0114 0C19 14.9 12 21 12 21zM12 12a2.5 2.5 0 100-5 2.5 2.5 0 000 5z',
  globe: 'M12 3a9 9 0 100 18 9 9 0 000-18zM3 12h18M12 3c2.5 2.7 3.5 5.7 3.5 9s-1 6.3-3.5 9c-2.5-2.7-3.5-5.7-3.5-9s1-6.3 3.5-9z',
  check: 'M5 12.5l4.5 4.5L19 7.5',
  calendar: 'M4 6h16v14H4zM4 10h16M8 3v4M16 3v4',
  card: 'M3 6h18v12H3zM3 10h18',
  info: 'M12 3a9 9 0 100 18 9 9 0 000-18zM12 11v6M12 7.5v.5',
  user: 'M12 12a4 4 0 100-8 4 4 0 000 8zM4 21a8 8 0 0116 0',
  alert: 'M12 3L2 20h20L12 3zM12 10v4M12 17v.5',
};

export function icon(name, cls = 'ic') {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', cls);
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', ICONS[name] || '');
  svg.append(path);
  return svg;
}
