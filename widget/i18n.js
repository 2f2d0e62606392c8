// Words and Intl formatting. The language comes from the `lang` parameter (set by the expert's
// embed), else the expert's locale, else the browser; every date and time goes through Intl with
// an explicit timeZone.

const en = {
  loading: 'Loading…',
  step: 'Step {n} of {total}',
  back: 'Back',
  services: 'Choose a service',
  no_services: 'There is nothing to book right now.',
  free: 'Free',
  loc_video: 'Video call',
  loc_phone: 'Phone call',
  loc_in_person: 'In person',
  loc_custom: 'Location shared after booking',
  kind_group: 'Group session',
  kind_series: 'Series',
  kind_mini: 'Mini session',
  time_title: 'Choose a time',
  date_title: 'Choose a date',
  prev_month: 'Previous month',
  next_month: 'Next month',
  no_month: 'No available times in {month}.',
  no_day: 'Choose a day with available times.',
  n_times: { one: '{n} time available', other: '{n} times available' },
  day_free: 'available',
  day_none: 'no times',
  today: 'today',
  timezone: 'Time zone',
  tz_bad: 'Pick a time zone from the list.',
  tz_changed: 'Times now shown in {tz}.',
  clock: 'Clock',
  h12: '12h',
  h24: '24h',
  seats: { one: '1 seat left', other: '{n} seats left' },
  later: 'Show later dates',
  no_sessions: 'No upcoming dates right now.',
  full: 'Full',
  wl_join: 'Join the waitlist',
  wl_join_for: 'Join the waitlist for {when}',
  wl_gone: 'The seat held for you was released. You are no longer holding a place.',
  place_time: '{time} {city} time',
  your_time: '{time} your time',
  e_network: 'We couldn’t reach the booking service. Check your connection and try again.',
  e_generic: 'Something went wrong. Please try again.',
  e_rate: 'Too many attempts. Please wait a moment, then try again.',
  e_missing: 'This booking page doesn’t exist or is no longer available.',
  retry: 'Try again',
  signin_title: 'Sign in',
  signin_prompt: 'Booked before?',
  signed_in_as: 'Signed in as {email}',
  sign_out: 'Sign out',
  acct_title: 'Your account',
  packages: 'Packages',
  pkg_n: { one: '{n} session', other: '{n} sessions' },
};


const cache = new Map();
const DICTS = { en };
const LOADERS = { fr: () => import('./fr.js') };
let dict = en;

// The first screen's words only: the later steps add theirs (i18n-steps.js, i18n-account.js).
export function addWords(words) {
  for (const [key, text] of Object.entries(words)) en[key] ??= text;
}
export let lang = 'en';
export let locale = 'en';

// Pick the language: the first of prefs (then the browser's) that we speak. English is built in;
// other dictionaries are modules loaded only when chosen. Resolves to the language code.
export function chooseLanguage(...prefs) {
  const browser = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  for (const p of [...prefs, ...browser]) {
    const code = String(p || '').toLowerCase().split(/[-_]/)[0];
    if (DICTS[code] || LOADERS[code]) {
      // Keep the browser's region for formats when it speaks the chosen language (en-GB dates, fr-CA...).
      const regional = browser.find((b) => b.toLowerCase().startsWith(code));
      let loc = regional || String(p).replace('_', '-');
      try {
        loc = Intl.getCanonicalLocales(loc)[0];
      } catch {
        loc = code;
      }
      return { code, locale: loc };
    }
  }
  return { code: 'en', locale: 'en' };
}

export async function setLanguage(...prefs) {
  const choice = chooseLanguage(...prefs);
  if (!DICTS[choice.code]) {
    try {
      DICTS[choice.code] = (await LOADERS[choice.code]()).default;
    } catch {
      choice.code = 'en';
      choice.locale = 'en';
    }
  }
  lang = choice.code;
  locale = choice.locale;
  dict = DICTS[lang];
  cache.clear();
  document.documentElement.lang = lang;
  return lang;
}

export function t(key, vars = {}) {
  let s = dict[key] ?? en[key] ?? key;
  if (typeof s === 'object') {
    const form = new Intl.PluralRules(locale).select(vars.n ?? 0);
    s = s[form] ?? s.other;
  }
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ''));
}

// ---- formats --------------------------------------------------------------

function dtf(opts) {
  const key = locale + JSON.stringify(opts);
  if (!cache.has(key)) cache.set(key, new Intl.DateTimeFormat(locale, opts));
  return cache.get(key);
}

export function defaultHour12() {
  const hc = new Intl.DateTimeFormat(locale, { hour: 'numeric' }).resolvedOptions().hourCycle;
  return hc === 'h11' || hc === 'h12';
}

export const fmt = {
  // The 24-hour clock always pads (09:00): locales disagree on it otherwise (en-GB gives 9:00, en-US 09:00).
  time: (iso, timeZone, hour12) =>
    dtf({ hour: hour12 ? 'numeric' : '2-digit', minute: '2-digit', timeZone, hourCycle: hour12 ? 'h12' : 'h23' }).format(new Date(iso)),
  date: (iso, timeZone) =>
    dtf({ weekday: 'long', month: 'long', day: 'numeric', year: 'numeric', timeZone }).format(new Date(iso)),
  dateShort: (iso, timeZone) => dtf({ weekday: 'short', month: 'short', day: 'numeric', timeZone }).format(new Date(iso)),
  // A calendar date "YYYY-MM-DD" (no instant): format it at noon UTC so no zone can shift the day.
  day: (ymd, opts = { weekday: 'long', month: 'long', day: 'numeric' }) =>
    dtf({ ...opts, timeZone: 'UTC' }).format(new Date(`${ymd}T12:00:00Z`)),
  month: (y, m) => dtf({ month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m, 15))),
  range: (start, end, timeZone, hour12) => `${fmt.time(start, timeZone, hour12)} – ${fmt.time(end, timeZone, hour12)}`,
  tzName: (timeZone, iso = Date.now()) => {
    try {
      const part = dtf({ timeZone, timeZoneName: 'longGeneric' }).formatToParts(new Date(iso)).find((p) => p.type === 'timeZoneName');
      return part ? part.value : timeZone;
    } catch {
      return timeZone;
    }
  },
  duration: (minutes) => {
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    const unit = (u, v) => new Intl.NumberFormat(locale, { style: 'unit', unit: u, unitDisplay: 'short' }).format(v);
    return [h && unit('hour', h), (m || !h) && unit('minute', m)].filter(Boolean).join(' ');
  },
  price: (price) => {
    if (!price) return t('free');
    const currency = String(price.currency).toUpperCase();
    const nf = new Intl.NumberFormat(locale, { style: 'currency', currency });
    const digits = nf.resolvedOptions().maximumFractionDigits;
    return nf.format(price.amount / 10 ** digits);
  },
  countdown: (ms) => {
    const s = Math.max(0, Math.round(ms / 1000));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  },
};

export { todayIn, detectTimeZone } from './early.js';

// First day of the week for the locale: 0 = Sunday, 1 = Monday.
export function firstDay() {
  try {
    const l = new Intl.Locale(locale);
    const info = (l.getWeekInfo && l.getWeekInfo()) || l.weekInfo;
    if (info) return info.firstDay % 7;
    return /-(US|CA|JP|BR|MX|IL|PH|KR|TW|AU|IN)$/i.test(l.baseName) || l.baseName === 'en' ? 0 : 1;
  } catch {
    return 1;
  }
}
