// Loaded as an async module with no imports, so it runs as soon as it arrives: for a direct
// service link it starts the first slots request while the rest of the widget is still loading.
// The flow picks the answer up from `early` (slots.js and i18n.js reuse the date helpers).

export function todayIn(timeZone) {
  const p = {};
  for (const part of new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date())) {
    p[part.type] = part.value;
  }
  return `${p.year}-${p.month}-${p.day}`;
}

const pad = (n) => String(n).padStart(2, '0');
const lastDay = (y, m) => new Date(Date.UTC(y, m, 0)).getUTCDate(); // m is 1-based here

// The first range to ask for: today to the end of this month (and of the next one when this month
// is nearly over), so the first screen shows times with a single request.
export function firstRange(tz) {
  const start = todayIn(tz);
  let [y, m] = start.split('-').map(Number);
  if (lastDay(y, m) - Number(start.slice(8)) < 9) {
    m += 1;
    if (m === 13) { m = 1; y += 1; }
  }
  return { start, end: `${y}-${pad(m)}-${pad(lastDay(y, m))}` };
}

export function detectTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

export const early = {};
try {
  const cfg = JSON.parse(document.getElementById('kairos-config').textContent);
  if (cfg.service && cfg.expert) {
    const tz = detectTimeZone();
    const r = firstRange(tz);
    const enc = encodeURIComponent;
    const path = `/experts/${enc(cfg.expert)}/services/${enc(cfg.service)}/slots?start=${r.start}&end=${r.end}&timezone=${enc(tz)}&include_full=true`;
    const carried = document.getElementById('kairos-data');
    // The page carried this very answer: api.js hands it to the flow, no request at all.
    if (!(carried && path in JSON.parse(carried.textContent).answers)) {
      early.slots = {
        service: cfg.service, tz, ...r,
        response: fetch(cfg.api + path, { headers: { Accept: 'application/json' } }),
      };
      early.slots.response.catch(() => {});
    }
  }
} catch {
  /* the flow asks for itself */
}
