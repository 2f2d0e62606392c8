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
  times_on: 'Times on {date}',
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
  sessions: 'Sessions',
  select: 'Select',
  details: 'Your details',
  name: 'Name',
  email: 'Email',
  phone: 'Phone',
  message: 'Message',
  optional: 'optional',
  yes: 'Yes',
  choose: 'Choose…',
  e_required: 'Please fill in this field.',
  e_email: 'Enter an email address like name@example.com.',
  e_phone: 'Enter a phone number, e.g. +1 617 555 0100.',
  e_fix: 'Please correct the highlighted fields.',
  next: 'Next',
  review: 'Review and confirm',
  confirm: 'Confirm booking',
  booking: 'Booking…',
  change: 'Change',
  when: 'When',
  service: 'Service',
  duration: 'Duration',
  where: 'Where',
  you: 'Your details',
  answers: 'Your answers',
  payment: 'Payment',
  pay_free: 'Free: there is nothing to pay.',
  pay_online: 'You will pay {price} by card in the next step.',
  pay_outside: '{price}, paid outside this site:',
  pay_package: 'Uses one credit from your package.',
  full: 'Full',
  wl_join: 'Join the waitlist',
  wl_join_for: 'Join the waitlist for {when}',
  wl_title: 'Join the waitlist',
  wl_intro: 'This session is full. Leave your name and email: if a seat frees up and you are first in line, we email you a link that holds it for you for {minutes} minutes.',
  wl_send: 'Join the waitlist',
  wl_joined: 'You’re on the waitlist',
  wl_position: { one: 'You are first in line.', other: 'You are number {n} in line.' },
  wl_email: 'If a seat frees up, we will email {email}.',
  wl_seats_left: 'A seat has just freed up: you can book it now.',
  wl_held: 'A seat is held for you until {time}. Book it before then.',
  wl_gone: 'The seat held for you was released. You are no longer holding a place.',
  coupon: 'Discount code',
  coupon_hint: 'Optional. Applied when you confirm.',
  coupon_applied: 'Code {code}: −{amount}',
  deposit_now: 'Deposit now: {price}',
  deposit_paid: 'Deposit paid: {price}',
  deposit_rest: 'Still to pay later: {price}',
  pay_rest: 'Pay the rest ({price}) by card',
  pay_rest_done: 'Thank you: nothing is left to pay.',
  pay_deposit: 'You will pay a deposit of {deposit} by card in the next step; the rest ({rest}) is due later, as {expert} says.',
  pay_choose: 'How would you like to pay?',
  opt_online: 'Card, online',
  opt_outside: 'Pay separately',
  opt_package: 'Package credit',
  done: 'You’re booked',
  done_sent: 'We sent a confirmation to {email}.',
  pending: 'Your booking is waiting for confirmation',
  add_cal: 'Add to your calendar',
  ics: 'Apple / Outlook (.ics)',
  google: 'Google Calendar',
  manage: 'Reschedule or cancel',
  join: 'Join the call',
  place_time: '{time} {city} time',
  your_time: '{time} your time',
  book_more: 'Book another time',
  e_taken: 'That time was just taken. Please pick another.',
  e_network: 'We couldn’t reach the booking service. Check your connection and try again.',
  e_generic: 'Something went wrong. Please try again.',
  e_rate: 'Too many attempts. Please wait a moment, then try again.',
  e_missing: 'This booking page doesn’t exist or is no longer available.',
  retry: 'Try again',
  hold: 'This time is held for you for {time}.',
  hold_expired: 'The hold on this time has run out. Please pick a time again.',
  pay_title: 'Payment',
  pay_later: 'Online payment will open here. Your time is held while you pay.',
  pay_now: 'Pay {price}',
  pay_card: 'Card details',
  pay_secure: 'Payments are processed securely by Stripe. Your time is held while you pay.',
  pay_loading: 'Loading the secure card form…',
  pay_busy: 'Paying…',
  pay_auth: 'Waiting for your bank…',
  pay_checking: 'Checking your payment…',
  pay_check: 'Check payment status',
  pay_processing: 'Your payment is still being processed. We will email you as soon as it goes through.',
  pay_failed: 'The payment did not go through. Please try again or use another card.',
  pay_unavailable: 'Card payment is not available right now. Please try again later.',
  card_number: 'Card number',
  card_exp_month: 'Expiry month',
  card_exp_year: 'Expiry year',
  card_cvc: 'Security code (CVC)',
  card_postal_code: 'Postal code',
  manage_title: 'Your booking',
  st_confirmed: 'Confirmed',
  st_cancelled: 'Cancelled',
  st_pending: 'Waiting for you',
  st_pending_payment: 'Awaiting payment',
  cancel: 'Cancel booking',
  cancel_q: 'Cancel this booking?',
  cancel_msg: 'Message to {expert} (optional)',
  keep: 'Keep booking',
  cancelled: 'Your booking is cancelled.',
  resched: 'Reschedule',
  resched_title: 'Pick a new time',
  resched_to: 'Move your booking to this time?',
  was: 'Currently: {when}',
  resched_ok: 'Your booking has been moved.',
  r_past_cutoff: 'It is too close to the start to change this booking online. Please contact {expert}.',
  r_group_session: 'Group sessions can’t be moved online. Please contact {expert}.',
  r_cancelled: 'This booking has been cancelled.',
  r_past: 'This booking is in the past.',
  r_policy: '{expert} doesn’t allow changes to this booking online. Please get in touch directly.',
  r_package: 'Package bookings can’t be changed online. Please contact {expert}.',
  r_default: 'This booking can’t be changed online. Please contact {expert}.',
  link_bad: 'This link is no longer valid.',
  complete_title: 'Complete your booking',
  complete_intro: '{expert} has set up this session for you. Check the time, answer a few questions and confirm.',
  complete_btn: 'Complete your booking',
  complete_until: 'This time is reserved for you until {date}.',
  complete_price: 'Price',
  complete_questions: 'A few questions',
  complete_reserved: 'This time stays reserved for you while you pay.',
  complete_resume: 'Pay to confirm',
  st_lapsed: 'Offer lapsed',
  r_lapsed: 'This offer has lapsed and the time is no longer reserved for you. Please contact {expert}.',
  r_not_pending: 'This booking is not waiting to be completed any more.',
  r_not_confirmed: 'This booking is not confirmed yet.',
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

// Words of the later steps that only some clients reach (signing in, the account, packages): a module
// of their own (i18n-account.js), added when those steps load, to keep the first screen small.
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

const RENAMED = {
  'Asia/Calcutta': 'Asia/Kolkata', 'Asia/Saigon': 'Asia/Ho_Chi_Minh', 'Europe/Kiev': 'Europe/Kyiv',
  'Asia/Katmandu': 'Asia/Kathmandu', 'Asia/Rangoon': 'Asia/Yangon', 'America/Godthab': 'America/Nuuk',
  'Atlantic/Faeroe': 'Atlantic/Faroe', 'Pacific/Enderbury': 'Pacific/Kanton', 'Pacific/Truk': 'Pacific/Chuuk',
  'Pacific/Ponape': 'Pacific/Pohnpei', 'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'America/Indianapolis': 'America/Indiana/Indianapolis', 'America/Louisville': 'America/Kentucky/Louisville',
};

export function timeZones() {
  let list = [];
  try {
    list = Intl.supportedValuesOf('timeZone');
  } catch {
    list = [];
  }
  if (!list.includes('UTC')) list = [...list, 'UTC'];
  // Chromium lists some zones only under their old names (Asia/Calcutta): add today's, which
  // clients search for (and which Intl and the server both accept).
  const renamed = list.map((z) => RENAMED[z]).filter(Boolean);
  return renamed.length ? [...list, ...renamed].sort() : list;
}
