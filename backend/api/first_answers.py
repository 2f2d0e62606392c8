"""The widget page's first answers, carried in the page itself so the first screen needs no second
round trip: the expert's page and the first window of slots the widget would ask for.

They go in a ``<script type="application/json" id="kairos-data">`` block (data, never run: the CSP
keeps no ``unsafe-inline``), keyed by the exact API path the widget builds (``widget/api.js``
``paths``), and ``api.js`` takes each once for exactly that request. ``signed_out`` lists the answers
that are right only for a signed-out visitor (the expert's page lists clients-only services to a
client), which the widget fetches itself when it holds a client token.

The zone: the widget asks for slots in the browser's zone, which the server cannot know. A personal
service's first slots are carried in no zone at all (``any_zone``): their starts as minutes since the
epoch, for a UTC window wide enough to hold the first window of every zone on Earth (a day each side,
to the latest end ``first_range`` gives any zone's today), and ``widget/early.js`` (``answerIn``)
writes from them the API's answer for the browser's zone and first window, offsets and all, so a
visitor anywhere sees the first times with no request. It is also about a fifteenth of the bytes: the
starts are written as the minutes from the one before, which gzip packs to almost nothing. A group,
series or mini service (slots with seats, places and dates) is carried as the API's answer for the
expert's own zone, or the ``tz`` hint of the page's URL when the embed gives one, and used only when
the widget asks for exactly that window in exactly that zone. Only public services' slots are carried
(clients-only ones need a token, unlisted ones a collection check): from the same cache as the API
serves them (``services/slot_answers``).
"""
from __future__ import annotations

import json
from calendar import monthrange
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from markupsafe import Markup
from sqlalchemy.orm import Session

from backend import slot_cache
from backend.api.public import public_expert_view
from backend.errors import NotFound
from backend.models import Expert
from backend.schemas import PublicExpertSchema
from backend.schemas.common import is_timezone
from backend.services import slot_answers
from backend.slot_engine import local_dates_window
from backend.timeutil import zone as zone_of
from backend.types import utcnow

#: Every zone's today is the UTC date or the day either side (UTC-12 to UTC+14).
_ONE_DAY = timedelta(days=1)


def enc(value: str) -> str:
    """JavaScript's ``encodeURIComponent``, which the widget's paths use."""
    return quote(value, safe="-_.!~*'()")


def first_range(today: date) -> tuple[date, date]:
    """``firstRange`` of widget/early.js: today to the end of this month, or of the next one when
    fewer than 9 days of this month are left."""
    last = monthrange(today.year, today.month)[1]
    if last - today.day < 9:
        after = date(today.year, today.month, last) + timedelta(days=1)
        return today, date(after.year, after.month, monthrange(after.year, after.month)[1])
    return today, date(today.year, today.month, last)


def block(db: Session, expert: Expert, service: str | None, args: Mapping[str, str]) -> Markup:
    """The JSON data block's text (``<``, ``>`` and ``&`` escaped, so ``</script>`` cannot end it)."""
    view = PublicExpertSchema().dump(public_expert_view(expert))
    expert_path = f"/experts/{enc(expert.slug)}"
    answers = {expert_path: json.dumps(view, separators=(",", ":"))}
    if service is None and len(view["services"]) == 1 and not view["packages"]:
        service = view["services"][0]["slug"]  # the widget goes straight to its times
    carried = None
    if service is not None and not args.get("collection"):
        found = slot_answers.head(db, expert.slug, service)
        if found is not None and found.public:
            now = utcnow()
            store, namespace = slot_cache.current()
            kind = next((s["kind"] for s in view["services"] if s["slug"] == service), None)
            try:
                if kind == "personal":
                    carried = any_zone(db, store, namespace, found, service, now)
                if carried is None:
                    hint = args.get("tz", "")
                    zone = hint if is_timezone(hint) else expert.timezone
                    start, end = first_range(now.astimezone(zone_of(zone)).date())
                    entry = slot_answers.answer(db, store, namespace, found, start, end, zone, True, now)
                    path = (f"/experts/{enc(expert.slug)}/services/{enc(service)}/slots?start={start}&end={end}"
                            f"&timezone={enc(zone)}&include_full=true")
                    answers[path] = entry.body.decode()
            except NotFound:  # removed just now: the widget will ask, and be told
                carried = None
    return _text(answers, expert_path, carried)


def any_window(today_utc: date) -> tuple[date, date]:
    """The UTC dates whose slots hold the first window (``first_range``) of every zone: a zone's today
    is ``today_utc`` or a day either side, and a day more each side covers its midnights (UTC-12 to +14)."""
    end = max(first_range(today_utc + k * _ONE_DAY)[1] for k in (-1, 0, 1))
    return today_utc - _ONE_DAY, end + _ONE_DAY


def any_zone(db: Session, store: slot_cache.Store, namespace: str, found: slot_answers.Head, service: str,
             now: datetime) -> dict[str, Any] | None:
    """A personal service's first slots in no zone: ``from`` and ``to`` (the UTC window, minutes since
    the epoch, ``to`` excluded), ``length`` (minutes) and ``starts`` (the first start, then each as
    the minutes after the one before). None when the slots are not all one length and one seat (the
    widget then asks)."""
    start, end = any_window(now.date())
    entry = slot_answers.answer(db, store, namespace, found, start, end, "UTC", True, now)
    packed = _packed(entry.etag, entry.body)
    if packed is None:
        return None
    window = local_dates_window(start, end, "UTC")
    return {"service": service, "from": _minutes(window[0]), "to": _minutes(window[1]), **packed}


@lru_cache(maxsize=64)  # an answer lives a minute at most; a miss only reads it again
def _packed(etag: str, body: bytes) -> dict[str, Any] | None:
    """``length`` and ``starts`` of an answer (read once per answer: the ETag names its body)."""
    starts: list[int] = []
    length = None
    for slot in json.loads(body)["slots"]:
        start, end = (datetime.fromisoformat(slot[k]).timestamp() for k in ("start", "end"))
        if (slot.keys() != {"start", "end", "seats_left"} or slot["seats_left"] != 1 or start % 60 or end % 60
                or (length is not None and end - start != length * 60)):
            return None
        length = int(end - start) // 60
        starts.append(int(start) // 60)
    return {"length": length or 0, "starts": [b - a for a, b in zip([0, *starts], starts, strict=False)]}


def _minutes(instant: datetime) -> int:
    return int(instant.timestamp()) // 60


def _text(answers: dict[str, str], expert_path: str, carried: dict[str, Any] | None) -> Markup:
    text = ('{"answers":{' + ",".join(f"{json.dumps(p)}:{body}" for p, body in answers.items())
            + '},"signed_out":' + json.dumps([expert_path])
            + (',"slots":' + json.dumps(carried, separators=(",", ":")) if carried else "") + "}")
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
