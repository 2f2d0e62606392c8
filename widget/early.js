// Loaded as an async module with no imports, so it runs as soon as it arrives: it writes the first
// slots from those the page carried, or for a direct service link starts their request, while the
// rest of the widget is still loading. The flow picks the answer up from `early` (slots.js and
// i18n.js reuse the date helpers).

// A clock in `timeZone`: the local date of an instant, with the time too if asked.
const clock = (timeZone, time) => {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit',
    ...(time && { hourCycle: 'h23', hour: '2-digit', minute: '2-digit', second: '2-digit' }),
  });
  return (date) => {
    const p = {};
    for (const part of f.formatToParts(date)) p[part.type] = part.value;
    return `${p.year}-${p.month}-${p.day}${time ? `T${p.hour}:${p.minute}:${p.second}` : ''}`;
  };
};

export const todayIn = (timeZone) => clock(timeZone)(new Date());

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

// The slots the page carried in no zone (minutes since the epoch, first_answers.py) as the API's
// answer for local dates [start, end] in `tz`; null unless their window holds all of those dates.
export function answerIn(c, tz, start, end) {
  const wall = clock(tz, true);
  const exact = {};
  const offsetAt = (min) => (exact[min] ??= Math.round(Date.parse(`${wall(new Date(min * 6e4))}Z`) / 6e4) - min);
  // Asking Intl for every slot costs tens of ms on a busy device: a UTC day whose start and end have one
  // offset has it throughout (no zone changes its offset twice in a day); a day with a change asks per slot.
  const days = {};
  const offset = (min) => {
    const d = Math.floor(min / 1440) * 1440;
    if (!(d in days)) days[d] = offsetAt(d) === offsetAt(d + 1440) ? offsetAt(d) : null;
    return days[d] ?? offsetAt(min);
  };
  const iso = (min) => {
    const off = offset(min);
    const a = Math.abs(off);
    return `${new Date((min + off) * 6e4).toISOString().slice(0, 19)}${off < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
  };
  if (!(iso(c.from).slice(0, 10) < start && iso(c.to).slice(0, 10) > end)) return null;
  const slots = [];
  let at = 0;
  for (const step of c.starts) {
    at += step;
    const s = iso(at);
    const day = s.slice(0, 10);
    if (day >= start && day <= end) slots.push({ start: s, end: iso(at + c.length), seats_left: 1 });
  }
  return { timezone: tz, slots };
}

export const early = {};
try {
  const cfg = JSON.parse(document.getElementById('kairos-config').textContent);
  const block = document.getElementById('kairos-data');
  const carried = block ? JSON.parse(block.textContent) : { answers: {} };
  const tz = detectTimeZone();
  const r = firstRange(tz);
  const c = carried.slots;
  const answer = c && answerIn(c, tz, r.start, r.end);
  if (answer) {
    early.slots = { service: c.service, tz, ...r, answer: Promise.resolve(answer) };
  } else if (cfg.service && cfg.expert) {
    const enc = encodeURIComponent;
    const path = `/experts/${enc(cfg.expert)}/services/${enc(cfg.service)}/slots?start=${r.start}&end=${r.end}&timezone=${enc(tz)}&include_full=true`;
    // The page carried this very answer: api.js hands it to the flow, no request at all.
    if (!(path in carried.answers)) {
      early.slots = {
        service: cfg.service, tz, ...r,
        answer: fetch(cfg.api + path, { headers: { Accept: 'application/json' } })
          .then((res) => (res.ok ? res.json() : Promise.reject(res))),
      };
      early.slots.answer.catch(() => {});
    }
  }
} catch {
  /* the flow asks for itself */
}
