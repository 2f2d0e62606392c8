// Hook for online payment (a later issue). The flow calls, when a booking comes back
// `pending_payment`:
//
//   mountPayment(container, {booking, stripe, t, fmt, onPaid(booking), onFailed(code)})
//
// - `booking.payment` holds what the backend sends for the payment (amount, currency,
//   hold_expires_at, and what Stripe.js needs);
// - `stripe` is config.stripe ({publishable_key, js_url}) or null;
// - call onPaid(updatedBooking) once the booking is confirmed (the flow then shows the
//   confirmation and fires booking-completed), onFailed(code) when a payment attempt fails.
// The hold countdown is drawn by the flow, above the container.

import { h, replace } from './dom.js';

export function mountPayment(container, { booking, t, fmt }) {
  const p = booking.payment || {};
  replace(container,
    p.amount != null ? h('p', { class: 'strong', text: fmt.price({ amount: p.amount, currency: p.currency }) }) : null,
    h('p', { class: 'muted', text: t('pay_later') }));
}
