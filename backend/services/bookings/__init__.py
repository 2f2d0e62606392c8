"""The booking rules, split by job; this package re-exports the public functions.

- ``requests``: what a client asks for and its validation;
- ``target``: what a client's booking reads before the lock, in one query;
- ``create``: a client books (under the expert's lock);
- ``changes``: cancel, reschedule, confirm by hand, share again;
- ``expert_sessions``: sessions the expert sets up (and one-offs);
- ``policy``: what a client may do through the manage link;
- ``queries``: lists and look-ups.

How a booking looks to the outside is built by ``backend.views``; payments are reached through
``backend.payments.options`` (inside the transaction) and ``backend.payments.checkout`` (after it).
"""
from backend.services.bookings.changes import cancel_booking, confirm_booking, reschedule_booking, share_booking
from backend.services.bookings.create import create_booking
from backend.services.bookings.expert_sessions import (
    ONE_OFF_SLUG,
    create_expert_booking,
    one_off_service,
    set_up_session,
)
from backend.services.bookings.policy import REASON_TEXT, Permissions, permissions
from backend.services.bookings.queries import find_by_token, get_booking, list_bookings
from backend.services.bookings.requests import BookingRequest, validate_request
from backend.services.bookings.target import Target, read_target

__all__ = [
    "ONE_OFF_SLUG", "REASON_TEXT", "BookingRequest", "Permissions", "cancel_booking", "confirm_booking",
    "create_booking", "create_expert_booking", "find_by_token", "get_booking", "list_bookings", "one_off_service",
    "permissions", "read_target", "Target", "reschedule_booking", "set_up_session", "share_booking", "validate_request",
]
