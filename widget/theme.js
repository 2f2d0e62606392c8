// Brand colour and light/dark theme, applied through the CSSOM (CSS custom properties on <html>).
// Contrast is computed, not hoped for: text on the brand colour is white or near-black, whichever
// reads, and the brand colour used as text is darkened (or lightened on dark) until it reaches 4.5:1.

const hex = (c) => `#${c.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;

export function parseColor(value) {
  const m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value || '').trim());
  if (!m) return null;
  let s = m[1];
  if (s.length === 3) s = s.replace(/./g, '$&$&');
  return [0, 2, 4].map((i) => parseInt(s.slice(i, i + 2), 16));
}

function luminance(c) {
  const [r, g, b] = c.map((v) => {
    const x = v / 255;
    return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a, b) {
  const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (l1 + 0.05) / (l2 + 0.05);
}

const mix = (a, b, w) => a.map((v, i) => v * (1 - w) + b[i] * w);
const WHITE = [255, 255, 255];
const INK = [17, 17, 17];

export function applyTheme(color, mode) {
  const root = document.documentElement;
  const dark = mode === 'dark' || (mode === 'auto' && matchMedia('(prefers-color-scheme: dark)').matches);
  root.classList.toggle('dark', dark);
  let base = parseColor(color) || [47, 93, 138];
  const bg = dark ? [21, 24, 29] : WHITE;

  // The fill of primary buttons and the selected day.
  let on = WHITE;
  if (contrast(WHITE, base) < 4.5) {
    if (contrast(WHITE, base) >= 3) {
      for (let i = 0; i < 20 && contrast(WHITE, base) < 4.5; i++) base = mix(base, [0, 0, 0], 0.08);
    } else {
      on = INK;
    }
  }
  // The tint behind available days, and the brand colour as text on it and on the background.
  const tint = mix(bg, base, dark ? 0.22 : 0.12);
  let text = base;
  const toward = dark ? WHITE : [0, 0, 0];
  for (let i = 0; i < 30 && (contrast(text, bg) < 4.5 || contrast(text, tint) < 4.5); i++) text = mix(text, toward, 0.1);

  const set = (k, v) => root.style.setProperty(k, v);
  set('--accent', hex(base));
  set('--on-accent', hex(on));
  set('--accent-text', hex(text));
  set('--accent-tint', hex(tint));
}
