"""The widget page's first answers, carried in the page itself so the first screen needs no second
round trip: the expert's page and the first window of slots the widget would ask for.

They go in a ``<script type="application/json" id="kairos-data">`` block (data, never run: the CSP
keeps no ``unsafe-inline``), keyed by the exact API path the widget builds (``widget/api.js``
``paths``), and ``api.js`` takes each once for exactly that request. ``signed_out`` lists the answers
that are right only for a signed-out visitor (the expert's page lists clients-only services to a
client), which the widget fetches itself when it holds a client token.

The zone: the widget asks for slots in the browser's zone, which the server cannot know. The slots
are carried for the expert's own zone, or the ``tz`` hint of the page's URL when the embed gives one,
and used only when the widget asks for exactly that window in exactly that zone; any other visitor's
widget fetches as before. Only public services' slots are carried (clients-only ones need a token,
unlisted ones a collection check): the same cache as the API serves them (``services/slot_answers``).
"""
from __future__ import annotations

import json
from calendar import monthrange
from collections.abc import Mapping
from datetime import date, timedelta
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
from backend.timeutil import zone as zone_of
from backend.types import utcnow


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
    if service is not None and not args.get("collection"):
        found = slot_answers.head(db, expert.slug, service)
        if found is not None and found.public:
            hint = args.get("tz", "")
            zone = hint if is_timezone(hint) else expert.timezone
            start, end = first_range(utcnow().astimezone(zone_of(zone)).date())
            store, namespace = slot_cache.current()
            try:
                entry = slot_answers.answer(db, store, namespace, found, start, end, zone, True, utcnow())
            except NotFound:  # removed just now: the widget will ask, and be told
                return _text(answers, expert_path)
            path = (f"/experts/{enc(expert.slug)}/services/{enc(service)}/slots?start={start}&end={end}"
                    f"&timezone={enc(zone)}&include_full=true")
            answers[path] = entry.body.decode()
    return _text(answers, expert_path)


def _text(answers: dict[str, str], expert_path: str) -> Markup:
    text = ('{"answers":{' + ",".join(f"{json.dumps(p)}:{body}" for p, body in answers.items())
            + '},"signed_out":' + json.dumps([expert_path]) + "}")
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
