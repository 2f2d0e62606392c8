// Brand colour and light/dark theme, applied through the CSSOM (CSS custom properties on <html>).
// Contrast is computed, not hoped for: text on the brand colour is white or black by the one rule
// Kairos uses everywhere (textOn), and the brand colour used as text is darkened (or lightened on
// dark) until it reaches 4.5:1.

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
    return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a, b) {
  const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (l1 + 0.05) / (l2 + 0.05);
}

const mix = (a, b, w) => a.map((v, i) => v * (1 - w) + b[i] * w);
const WHITE = [255, 255, 255];
const BLACK = [0, 0, 0];

// The one rule for text on the brand colour, shared with the emails and the dashboard
// (backend/colours.py) and the floating button (embed.js): white while the colour's WCAG luminance
// is under 0.179, black from there; both then reach 4.5:1 whatever the colour.
export const textOn = (c) => (luminance(c) < 0.179 ? WHITE : BLACK);

export function applyTheme(color, mode) {
  const root = document.documentElement;
  const dark = mode === 'dark' || (mode === 'auto' && matchMedia('(prefers-color-scheme: dark)').matches);
  root.classList.toggle('dark', dark);
  const base = parseColor(color) || [47, 93, 138];
  const bg = dark ? [21, 24, 29] : WHITE;

  // The fill of primary buttons and the selected day is the expert's colour itself.
  const on = textOn(base);
  // The tint behind available days, and the brand colour as text on it and on the background.
  const tint = mix(bg, base, dark ? 0.22 : 0.12);
  let text = base;
  const toward = dark ? WHITE : BLACK;
  for (let i = 0; i < 30 && (contrast(text, bg) < 4.5 || contrast(text, tint) < 4.5); i++) text = mix(text, toward, 0.1);

  const set = (k, v) => root.style.setProperty(k, v);
  set('--accent', hex(base));
  set('--on-accent', hex(on));
  set('--accent-text', hex(text));
  set('--accent-tint', hex(tint));
}
