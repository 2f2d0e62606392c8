"""What the client may do through the manage link, and why not."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.errors import NotAllowed
from backend.models import Booking
from backend.statuses import BookingStatus

REASON_TEXT = {
    "cancelled": "This booking was cancelled.",
    "past": "This session has already taken place.",
    "group_session": "Seats in a group session cannot be changed online; please contact the expert.",
    "series": "A series cannot be changed online; please contact the expert.",
    "past_cutoff": "It is too close to the session to change it online; please contact the expert.",
    "policy": "The expert does not allow changes online; please contact them.",
    "not_confirmed": "This booking is not confirmed yet.",
}


@dataclass(frozen=True)
class Permissions:
    can_cancel: bool
    can_reschedule: bool
    reason: str | None  # why something is not allowed (the first rule that bites)

    @property
    def reason_text(self) -> str:
        """The reason in words for the client ("" when everything is allowed)."""
        return REASON_TEXT.get(self.reason, "") if self.reason else ""


def permissions(booking: Booking, now: datetime) -> Permissions:
    """What the client may do through the manage link right now, and why not."""
    policy = {"client_can_cancel": True, "client_can_reschedule": True, "cutoff_hours": 24,
              **(booking.service.policy or {})}
    kind = booking.service.kind
    if booking.status == BookingStatus.CANCELLED:
        return Permissions(False, False, "cancelled")
    if booking.start <= now:
        return Permissions(False, False, "past")
    if kind == "group":
        return Permissions(False, False, "group_session")
    if kind == "series":
        return Permissions(False, False, "series")
    within_cutoff = now > booking.start - timedelta(hours=policy["cutoff_hours"])
    can_cancel = policy["client_can_cancel"] and not within_cutoff
    can_reschedule = (policy["client_can_reschedule"] and not within_cutoff
                      and booking.status == BookingStatus.CONFIRMED)
    reason = None
    if not (can_cancel and can_reschedule):
        if within_cutoff:
            reason = "past_cutoff"
        elif not policy["client_can_cancel"] or not policy["client_can_reschedule"]:
            reason = "policy"
        elif booking.status != BookingStatus.CONFIRMED:
            reason = "not_confirmed"
    return Permissions(can_cancel, can_reschedule, reason)


def refuse(reason: str | None) -> NotAllowed:
    """The error for a change the policy refuses (``policy`` when no finer reason applies)."""
    return NotAllowed(reason or "policy", REASON_TEXT.get(reason or "policy"))
