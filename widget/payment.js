// The online payment step, loaded only when a booking comes back `pending_payment`:
//
//   mountPayment(container, {booking, stripe, t, fmt, onPaid(booking), onFailed(code)})
//
// Stripe.js (or localstripe's fake of it) collects the card into a SetupIntent
// (confirmCardSetup); the backend then charges it (POST pay_url/confirm). 3-D Secure goes
// through confirmCardPayment, then the status is polled (GET pay_url). A declined card shows
// Stripe's message and keeps the hold; the next try gets a fresh SetupIntent (POST pay_url).
// onPaid(booking) once confirmed; onFailed(code) after a failed attempt (the flow goes back to
// the times on `slot_unavailable`). The hold countdown is drawn by the flow, above the container.

import { h, replace, icon, id } from './dom.js';
import { request } from './api.js';

let loading = null;
function loadStripe(url) {
  if (window.Stripe) return Promise.resolve(window.Stripe);
  loading = loading || new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = url;
    s.async = true;
    s.onload = () => (window.Stripe ? resolve(window.Stripe) : reject(new Error('stripe')));
    s.onerror = () => { loading = null; s.remove(); reject(new Error('stripe')); };
    document.head.append(s);
  });
  return loading;
}

const wait = (ms) => new Promise((r) => setTimeout(r, ms));
// The same steps pay a booking ({booking}) or a package purchase ({purchase}, paid when status is 'paid').
const item = (res) => res.booking || res.purchase;
const isPaid = (b) => b.status === 'confirmed' || b.status === 'paid';

export function mountPayment(container, { booking, stripe, t, fmt, onPaid, onFailed }) {
  let pay = booking.payment || {};
  const jsUrl = pay.js_url || (stripe && stripe.js_url);
  const key = pay.publishable_key || (stripe && stripe.publishable_key);
  // pay_url is absolute; the widget talks to its own origin through the API base.
  const path = pay.pay_url ? new URL(pay.pay_url, location.href).pathname.replace(/^.*?\/api\/v1(?=\/)/, '') : null;
  let secret = pay.client_secret || null;
  let client = null;
  let card = null;
  let busy = false;
  let done = false;
  let checking = false; // still processing: the button checks again instead of paying again

  const labelId = id('card-l');
  const cardBox = h('div', { class: 'card-field', role: 'group', 'aria-labelledby': labelId });
  const err = h('div', { class: 'pay-error', 'aria-live': 'assertive' });
  const status = h('p', { class: 'muted pay-status', 'aria-live': 'polite' });
  // With a deposit, the card pays the deposit now; the rest is due later, and may be paid by card from
  // the manage page (a confirmed booking with an amount due: paid up once nothing is due).
  const balance = booking.status === 'confirmed' && pay.amount_due > 0;
  // Paid up: the rest, when paying a deposit's balance; else a confirmed booking, a paid purchase or payment.
  const paidUp = (b) => (balance ? !((b.payment || {}).amount_due > 0)
    : isPaid(b) || (b.payment || {}).status === 'paid');
  const charged = fmt.price({ amount: balance ? pay.amount_due : pay.deposit || pay.amount, currency: pay.currency });
  const label = [icon('card'), t('pay_now', { price: charged })];
  const btn = h('button', { type: 'button', class: 'btn primary wide', 'aria-disabled': 'true', onclick: submit }, label);

  replace(container,
    h('p', { class: 'strong pay-amount', text: charged }),
    h('div', { class: 'field' }, h('p', { id: labelId, class: 'card-label', text: t('pay_card') }), cardBox),
    err, status,
    h('div', { class: 'actions' }, btn),
    h('p', { class: 'muted', text: t('pay_secure') }));

  if (!jsUrl || !key || !path) {
    showError(t('pay_unavailable'));
    return;
  }
  status.textContent = t('pay_loading');
  loadStripe(jsUrl).then((Stripe) => {
    client = Stripe(key);
    card = client.elements().create('card', { hidePostalCode: true });
    card.mount(cardBox);
    // localstripe's fake element is plain inputs in this page; name them (real Stripe labels its iframe).
    for (const input of cardBox.querySelectorAll('input:not([aria-label])')) {
      input.setAttribute('aria-label', t('card_' + input.placeholder));
      input.setAttribute('autocomplete', 'off');
    }
    status.textContent = '';
    setBusy(false);
  }).catch(() => { status.textContent = ''; showError(t('pay_unavailable')); });

  function setBusy(on, text) {
    busy = on;
    btn.setAttribute('aria-disabled', on ? 'true' : 'false');
    if (on) btn.setAttribute('aria-busy', 'true'); else btn.removeAttribute('aria-busy');
    replace(btn, on ? [h('span', { class: 'spinner', 'aria-hidden': 'true' }), text || t('pay_busy')] : label);
  }

  function showError(message) {
    if (!message) return replace(err);
    const note = h('div', { class: 'note error', role: 'alert', tabindex: '-1' }, icon('alert'), h('span', { text: message }));
    replace(err, note);
    note.focus();
  }

  function finish(b) {
    done = true;
    onPaid(b);
  }

  async function submit() {
    if (busy || done || !card) return;
    if (checking) return poll();
    setBusy(true);
    showError(null);
    try {
      if (!secret) {
        const fresh = await request(path, { method: 'POST' });
        if (paidUp(item(fresh))) return finish(item(fresh));
        pay = item(fresh).payment || pay;
        secret = pay.client_secret;
      }
      const c = booking.client || {};
      const res = await client.confirmCardSetup(secret, {
        payment_method: { card, billing_details: { name: c.name, email: c.email } },
      });
      secret = null; // a used (or failed) SetupIntent: the next try asks for a fresh one
      if (res.error) {
        setBusy(false);
        showError(res.error.message || t('pay_failed'));
        onFailed('card_error');
        return;
      }
      const out = await request(`${path}/confirm`, { method: 'POST', body: { setup_intent: res.setupIntent.id } });
      await settle(item(out));
    } catch (e) {
      secret = null;
      setBusy(false);
      if (e.code === 'slot_unavailable') { onFailed(e.code); return; }
      showError(e.status === 403 ? e.message || t('e_generic') : e.network ? t('e_network') : e.message || t('e_generic'));
      onFailed(e.code);
    }
  }

  async function settle(b) {
    const p = b.payment || {};
    if (paidUp(b)) return finish(b);
    if (p.status === 'requires_action' && p.client_secret) {
      setBusy(true, t('pay_auth'));
      const res = await client.confirmCardPayment(p.client_secret);
      if (res.error) {
        setBusy(false);
        showError(res.error.message || t('pay_failed'));
        onFailed('authentication_failed');
        return;
      }
    }
    if (p.status === 'requires_action' || p.status === 'processing') return poll();
    setBusy(false);
    showError(t('pay_failed'));
    onFailed('payment_failed');
  }

  // After 3-D Secure or while Stripe processes: ask the backend (which asks Stripe), with backoff.
  async function poll() {
    setBusy(true, t('pay_checking'));
    status.textContent = '';
    for (const delay of [300, 700, 1200, 2000, 3000, 4000]) {
      await wait(delay);
      let b;
      try {
        b = item(await request(path));
      } catch {
        continue;
      }
      const s = (b.payment || {}).status;
      if (paidUp(b)) return finish(b);
      if (s === 'requires_payment' || s === 'cancelled' || s === 'refunded' || b.status === 'cancelled') {
        setBusy(false);
        showError(t('pay_failed'));
        onFailed('payment_failed');
        return;
      }
    }
    checking = true;
    setBusy(false);
    replace(btn, t('pay_check'));
    status.textContent = t('pay_processing');
  }
}
