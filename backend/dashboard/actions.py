"""Which actions a booking row of the dashboard offers (only those the services would accept)."""
from __future__ import annotations

from backend.models import Booking
from backend.services.bookings import completion
from backend.types import utcnow
from backend.views.payments import payment_view


def can_share(booking: Booking) -> bool:
    """A session the expert set up that the client has not completed: its link can be sent again.

    ``share_booking`` accepts any pending booking, but its email says "has set up a session for you",
    which is only true of the expert's own sessions (a widget booking awaiting an outside payment
    already has its manage link)."""
    return booking.status == "pending" and booking.source == "expert"


def can_mark_paid(booking: Booking) -> bool:
    """A live booking to be paid outside Kairos with no payment recorded yet, or a deposit booking with
    the rest still due (``outside.mark_paid`` records either)."""
    if booking.deposit_amount and booking.payment_option == "online" and booking.status == "confirmed":
        return bool((payment_view(booking) or {}).get("amount_due"))
    if booking.payment_option != "outside" or booking.status not in ("pending", "confirmed"):
        return False
    view = payment_view(booking) or {}
    return view.get("status") == "pay_outside"


def lapsed(booking: Booking) -> bool:
    """A session the expert set up whose offer expired before the client completed it: its time is
    free again (sharing it again reserves it anew, if nobody took it)."""
    return completion.lapsed(booking, utcnow())


TESTS = {"dash_can_share": can_share, "dash_can_mark_paid": can_mark_paid, "dash_lapsed": lapsed}
