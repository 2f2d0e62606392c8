"""The slot engine: availability rules + existing bookings + a window in, bookable slots out.

Pure and standard-library only (no Flask, no database), so it can be tested exhaustively and
timed alone. The slots endpoint, the booking check and the reschedule check all call it, through
``personal_slots`` / ``is_bookable`` (personal services) and ``session_slots`` (group, series, mini).

Time model
----------
* Weekly hours and date overrides are wall-clock times in the availability's IANA zone. They are
  expanded per *local date* of that zone with ``zoneinfo`` (the ZoneInfo object is cached, never an
  offset), so 09:00-17:00 stays 09:00-17:00 local on both sides of a DST change.
* Candidate starts step by the service interval from each availability interval's local start.
  A wall time that does not exist (spring-forward gap) is never offered; one that happens twice
  (fall-back) is offered once, at its first occurrence (``fold=0``).
* A slot lasts ``duration`` of real elapsed time and must end at or before the instant at which its
  availability interval ends.
* Everything returned is an aware UTC datetime; the client's zone only decides the window.

Speed
-----
Bookings are turned into forbidden ranges of *start instants*, sorted and merged once, then swept
with a moving pointer against the (sorted) candidates: cost is O(B log B + S), never B x S.
Days without a UTC-offset change (all but a few a year) use one offset for the whole day and plain
datetime arithmetic; only a day containing a transition falls back to a per-candidate round trip.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from backend.wallclock import wall_instant

__all__ = [
    "Availability",
    "Busy",
    "ServiceRules",
    "SessionInfo",
    "SessionSlot",
    "Slot",
    "busy_window",
    "intervals_for_date",
    "is_bookable",
    "local_dates_window",
    "personal_slots",
    "session_slots",
]

UTC = UTC
MIDNIGHT = time(0, 0)
_ONE_DAY = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)
_ONE_MICROSECOND = timedelta(microseconds=1)
# The longest local day of any zone in use is 25 h (a fall-back day); keep an hour of slack.
_LOCAL_DAY_MARGIN = timedelta(hours=26)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Availability:
    """An expert's availability.

    ``weekly`` maps 0=Monday..6=Sunday to local ``[start, end)`` intervals; an end of
    ``time(0, 0)`` means midnight at the END of the day (24:00). An interval whose end is before
    its start is ignored (split overnight hours into two days). ``overrides`` maps a local date to
    intervals replacing that weekday's; an empty sequence is a day off.
    """

    timezone: str
    weekly: Mapping[int, Sequence[tuple[time, time]]]
    overrides: Mapping[date, Sequence[tuple[time, time]]]


@dataclass(frozen=True, slots=True)
class ServiceRules:
    """The per-service rules that decide which starts are offered."""

    duration_minutes: int
    interval_minutes: int | None = None  # start times every N minutes from each interval's start; None = duration
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    min_notice_minutes: int = 0
    max_advance_days: int | None = None  # rolling: start <= now + days (elapsed time)
    daily_limit: int | None = None  # max bookings of THIS service per local day (availability zone)


class Busy(NamedTuple):
    """An existing booking or active hold of the same expert (any service).

    A NamedTuple rather than a frozen dataclass: the slots endpoint builds one per booking in the
    window (thousands), and a tuple is made in less than half the time.
    """

    start: datetime  # aware (any tz; treated as instants)
    end: datetime
    buffer_before_minutes: int = 0  # the existing booking's own buffers
    buffer_after_minutes: int = 0
    same_service: bool = False  # counts toward ServiceRules.daily_limit


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable slot of a personal service."""

    start: datetime  # aware, UTC
    end: datetime  # aware, UTC


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A scheduled occurrence of a group/series/mini service."""

    id: str
    start: datetime  # aware
    end: datetime
    capacity: int
    taken: int  # seats already held or booked


@dataclass(frozen=True, slots=True)
class SessionSlot:
    """A session a client may still book, with its seats left."""

    session_id: str
    start: datetime  # UTC
    end: datetime
    seats_left: int


# --------------------------------------------------------------------------- time helpers


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    # Cache the zone object (its transitions), never an offset: offsets depend on the date.
    return ZoneInfo(name)


def _utc(value: datetime, what: str) -> datetime:
    """``value`` as an aware datetime whose tzinfo is exactly ``timezone.utc``.

    Why: comparisons between datetimes sharing one tzinfo object are plain field comparisons;
    mixed tzinfos call utcoffset() on both sides every time.
    """
    tz = value.tzinfo
    if tz is UTC:
        return value
    if tz is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, got {value!r}")
    return value.astimezone(UTC)


def _minutes(n: int, what: str) -> timedelta:
    if n < 0:
        raise ValueError(f"{what} must be >= 0, got {n}")
    return timedelta(minutes=n)


def _days(n: int) -> timedelta:
    if n < 0:
        raise ValueError(f"max_advance_days must be >= 0, got {n}")
    return timedelta(days=n)


def _offset(tz: ZoneInfo, when: datetime) -> timedelta:
    """``tz``'s UTC offset at wall time ``when`` (naive, or already in ``tz``; ``fold`` is honoured)."""
    offset = tz.utcoffset(when)
    if offset is None:  # never for a ZoneInfo; tzinfo.utcoffset may return None in general
        raise ValueError(f"{tz} has no UTC offset at {when!r}")
    return offset


def _first_instant(local: datetime, tz: ZoneInfo) -> datetime:
    """The first instant (aware UTC) whose wall time in ``tz`` is at or after naive ``local``.

    For an ordinary wall time that is the instant itself; for an ambiguous one, its first
    occurrence; for one inside a spring-forward gap (e.g. midnight in America/Santiago), the
    transition instant, i.e. the first wall time that exists after it.
    """
    off0 = _offset(tz, local)  # fold=0: the offset before any transition
    instant = datetime.combine(local.date(), local.time(), UTC) - off0
    if instant.astimezone(tz).utcoffset() == off0:  # round trip: the wall time exists
        return instant
    # In a gap: fold=1 reads it with the later offset, landing before the transition; fold=0
    # (above) lands at or after it. Bisect to the second for the transition instant.
    lo = datetime.combine(local.date(), local.time(), UTC) - _offset(tz, local.replace(fold=1))
    hi = instant
    while hi - lo > _ONE_SECOND:
        mid = lo + (hi - lo) // 2
        if mid.astimezone(tz).utcoffset() == off0:
            lo = mid
        else:
            hi = mid
    return hi


def local_dates_window(start: date, end: date, timezone: str) -> tuple[datetime, datetime]:
    """Local dates ``[start, end]`` (inclusive) in ``timezone`` as a half-open UTC instant range.

    Returns ``(first instant of start, first instant of end + 1 day)``, both aware UTC. A midnight
    that does not exist because of DST (America/Santiago, America/Havana) is replaced by the first
    existing instant of that day. Raises ValueError if ``end`` is before ``start`` and
    ZoneInfoNotFoundError for an unknown zone.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    tz = _zone(timezone)
    return (
        _first_instant(datetime.combine(start, MIDNIGHT), tz),
        _first_instant(datetime.combine(end + _ONE_DAY, MIDNIGHT), tz),
    )


def intervals_for_date(availability: Availability, day: date) -> Sequence[tuple[time, time]]:
    """The local intervals that apply on ``day``: its override if any, else its weekday's."""
    intervals = availability.overrides.get(day)
    if intervals is None:
        intervals = availability.weekly.get(day.weekday(), ())
    return intervals


def busy_window(
    rules: ServiceRules,
    window_start: datetime,
    window_end: datetime,
    *,
    max_other_buffer_minutes: int = 240,
) -> tuple[datetime, datetime]:
    """The instant range ``(lo, hi)`` of existing bookings to load for an exact answer.

    Load every booking/hold of the expert with ``start < hi and end > lo`` (one indexed range
    query) and pass them as ``busy`` to ``personal_slots`` / ``is_bookable`` for a window of
    ``[window_start, window_end)``. The range widens the window by the slot duration, both
    buffers, ``max_other_buffer_minutes`` (the largest buffer any existing booking may carry)
    and one local day either side (26 h, the longest DST day plus slack) so the daily limit sees
    every booking of the local dates the window touches, whatever the expert's zone.
    """
    ws, we = _utc(window_start, "window_start"), _utc(window_end, "window_end")
    other = _minutes(max_other_buffer_minutes, "max_other_buffer_minutes")
    before = max(_minutes(rules.buffer_before_minutes, "buffer_before_minutes"), other)
    after = _minutes(rules.duration_minutes, "duration_minutes") + max(
        _minutes(rules.buffer_after_minutes, "buffer_after_minutes"), other
    )
    return ws - max(before, _LOCAL_DAY_MARGIN), we + max(after, _LOCAL_DAY_MARGIN)


# --------------------------------------------------------------------------- personal services


def personal_slots(
    availability: Availability,
    rules: ServiceRules,
    busy: Sequence[Busy],
    window_start: datetime,
    window_end: datetime,
    now: datetime,
) -> list[Slot]:
    """All bookable slots whose start lies in ``[window_start, window_end)``, sorted, in UTC.

    Applies weekly hours and overrides (per local date of ``availability.timezone``), duration,
    slot interval, buffers against ``busy`` (both ways: this slot's buffers may not overlap a
    booking, a booking's buffers may not overlap this slot; buffers may overlap buffers), minimum
    notice and "not in the past" from the instant ``now``, the rolling maximum advance window and
    the daily limit. All datetimes must be aware; any zone is accepted.
    """
    tz = _zone(availability.timezone)
    duration = rules.duration_minutes
    if duration <= 0:
        raise ValueError(f"duration_minutes must be > 0, got {duration}")
    step_minutes = rules.interval_minutes if rules.interval_minutes is not None else duration
    if step_minutes <= 0:
        raise ValueError(f"interval_minutes must be > 0, got {step_minutes}")
    dur = timedelta(minutes=duration)
    step = timedelta(minutes=step_minutes)
    buf_before = _minutes(rules.buffer_before_minutes, "buffer_before_minutes")
    buf_after = _minutes(rules.buffer_after_minutes, "buffer_after_minutes")
    notice = _minutes(rules.min_notice_minutes, "min_notice_minutes")

    ws, we, now = _utc(window_start, "window_start"), _utc(window_end, "window_end"), _utc(now, "now")
    lo = max(ws, now + notice)  # first allowed start (inclusive): never in the past, notice applied
    hi = we  # exclusive
    last = None  # last allowed start (inclusive), from the rolling advance window
    if rules.max_advance_days is not None:
        last = now + _days(rules.max_advance_days)  # elapsed days from the instant now
        if last < hi:
            hi = last + _ONE_MICROSECOND
    if lo >= hi or rules.daily_limit == 0:
        return []

    # Local dates whose slots could start in [lo, hi); a day of margin each side costs nothing
    # (clipped arithmetically below) and keeps us safe from odd zone histories.
    first_day = lo.astimezone(tz).date() - _ONE_DAY
    last_day = hi.astimezone(tz).date() + _ONE_DAY
    days: list[date] = []
    day_starts: list[datetime] = []  # first instant of each day, plus one for the day after
    day_offsets: list[timedelta] = []  # UTC offset at that instant
    midnight_exists: list[bool] = []  # False when the day starts at a DST transition, not 00:00
    d = first_day
    while d <= last_day + _ONE_DAY:
        start_instant = _first_instant(datetime.combine(d, MIDNIGHT), tz)
        offset = _offset(tz, start_instant.astimezone(tz))
        days.append(d)
        day_starts.append(start_instant)
        day_offsets.append(offset)
        midnight_exists.append(start_instant == datetime.combine(d, MIDNIGHT, UTC) - offset)
        d += _ONE_DAY
    n_days = len(days) - 1  # the last entry only bounds the day before it

    spans_lo, spans_hi, per_day = _forbidden_starts(
        busy, dur, buf_before, buf_after, lo, hi, day_starts if rules.daily_limit is not None else None
    )
    limit = rules.daily_limit

    starts: list[datetime] = []
    append = starts.append
    ordered = True
    previous = None
    for i in range(n_days):
        if limit is not None and per_day[i] >= limit:
            continue  # daily limit reached: the whole local date offers nothing
        if day_starts[i + 1] <= lo or day_starts[i] >= hi:
            continue
        day = days[i]
        intervals = intervals_for_date(availability, day)
        if not intervals:
            continue
        if len(intervals) > 1:
            intervals = sorted(intervals)
        offset = day_offsets[i]
        # Why: if the day starts at 00:00 and the offset at its first instant equals the next
        # day's, no transition happens in between (barring two in one day, which no zone has),
        # so every wall time of the day exists once and maps to UTC with this one offset.
        constant = midnight_exists[i] and offset == day_offsets[i + 1]
        for begin_t, end_t in intervals:
            end_day = days[i + 1] if end_t == MIDNIGHT else day
            if end_day == day and end_t <= begin_t:
                continue  # empty or reversed interval
            if constant:
                first = datetime.combine(day, begin_t, UTC) - offset
                final = datetime.combine(end_day, end_t, UTC) - offset - dur  # last start that fits
                if final < first:
                    continue
                k_lo = 0 if first >= lo else -((first - lo) // step)  # ceil((lo - first) / step)
                k_hi = (final - first) // step  # inclusive
                if hi <= final:
                    k_hi = min(k_hi, -((first - hi) // step) - 1)  # starts < hi
                if k_lo > k_hi:
                    continue
                s = first + step * k_lo if k_lo else first
                if previous is not None and s <= previous:
                    ordered = False
                for _ in range(k_hi - k_lo + 1):
                    append(s)
                    s += step
                previous = s - step
            else:
                for s in _transition_day_starts(day, end_day, begin_t, end_t, step, dur, tz):
                    if lo <= s < hi:
                        if previous is not None and s <= previous:
                            ordered = False
                        append(s)
                        previous = s

    if not ordered:  # overlapping intervals in a day: duplicates and out-of-order starts
        starts = sorted(set(starts))

    # Sweep: both lists sorted; the forbidden spans are disjoint open intervals of start instants.
    slots: list[Slot] = []
    out = slots.append
    j = 0
    n_spans = len(spans_lo)
    for s in starts:
        while j < n_spans and spans_hi[j] <= s:
            j += 1
        if j < n_spans and spans_lo[j] < s:
            continue
        out(Slot(s, s + dur))
    return slots


def _transition_day_starts(
    day: date, end_day: date, begin_t: time, end_t: time, step: timedelta, dur: timedelta, tz: ZoneInfo
) -> Iterable[datetime]:
    """Candidate starts (aware UTC) of one interval on a day containing a UTC-offset change.

    Slow but exact: each wall-clock candidate is converted on its own and kept only if it exists
    (round trip) and the slot ends by the interval's end instant. Ambiguous wall times take their
    first occurrence (fold=0), so each is offered once.
    """
    wall = datetime.combine(day, begin_t)
    wall_end = datetime.combine(end_day, end_t)
    end_instant = _first_instant(wall_end, tz)
    while wall < wall_end:
        instant = wall_instant(wall, tz)
        if instant is not None and instant + dur <= end_instant:
            yield instant
        wall += step


def _forbidden_starts(
    busy: Sequence[Busy],
    dur: timedelta,
    buf_before: timedelta,
    buf_after: timedelta,
    lo: datetime,
    hi: datetime,
    day_starts: list[datetime] | None,
) -> tuple[list[datetime], list[datetime], list[int]]:
    """Busy periods as merged, sorted, disjoint open ranges of forbidden start instants.

    A start ``s`` conflicts with booking ``b`` when ``[s - buf_before, s + dur + buf_after)``
    overlaps ``[b.start, b.end)`` or ``[s, s + dur)`` overlaps
    ``[b.start - b.buffer_before, b.end + b.buffer_after)``, i.e. when
    ``b.start - dur - max(buf_after, b.buffer_before) < s < b.end + max(buf_before, b.buffer_after)``
    (the two open ranges always intersect, so their union is one range). Buffers never meet
    buffers here, so they may overlap. Also counts same-service bookings per local day
    (``day_starts``) for the daily limit.
    """
    per_day = [0] * (len(day_starts) - 1) if day_starts is not None else []
    n_days = len(per_day)
    bounds = day_starts or []  # searched only when n_days > 0, i.e. when day_starts was given
    # Bookings mostly share a few buffer values: cache the padding per value (minutes ->
    # timedelta) instead of building timedeltas per booking.
    pad_before: dict[int, timedelta] = {}  # booking's buffer_before -> dur + max(buf_after, it)
    pad_after: dict[int, timedelta] = {}  # booking's buffer_after -> max(buf_before, it)
    raw: list[tuple[datetime, datetime]] = []
    add = raw.append
    for b in busy:
        b_start = b.start
        if b_start.tzinfo is not UTC:
            b_start = _utc(b_start, "Busy.start")
        b_end = b.end
        if b_end.tzinfo is not UTC:
            b_end = _utc(b_end, "Busy.end")
        before = pad_before.get(b.buffer_before_minutes)
        if before is None:
            own = _minutes(b.buffer_before_minutes, "Busy.buffer_before_minutes")
            before = pad_before[b.buffer_before_minutes] = dur + max(buf_after, own)
        after = pad_after.get(b.buffer_after_minutes)
        if after is None:
            own = _minutes(b.buffer_after_minutes, "Busy.buffer_after_minutes")
            after = pad_after[b.buffer_after_minutes] = max(buf_before, own)
        span_lo = b_start - before
        span_hi = b_end + after
        if span_hi > lo and span_lo < hi:
            add((span_lo, span_hi))
        if n_days and b.same_service:
            k = bisect_right(bounds, b_start) - 1
            if 0 <= k < n_days:
                per_day[k] += 1
    raw.sort()  # near-sorted input (bookings ordered by start) sorts in ~linear time
    spans_lo: list[datetime] = []
    spans_hi: list[datetime] = []
    for span_lo, span_hi in raw:
        # Open ranges that merely touch leave the touching instant free (back-to-back is fine).
        if spans_hi and span_lo < spans_hi[-1]:
            if span_hi > spans_hi[-1]:
                spans_hi[-1] = span_hi
        elif span_lo < span_hi:
            spans_lo.append(span_lo)
            spans_hi.append(span_hi)
    return spans_lo, spans_hi, per_day


def is_bookable(
    availability: Availability,
    rules: ServiceRules,
    busy: Sequence[Busy],
    start: datetime,
    now: datetime,
) -> Slot | None:
    """The Slot ``personal_slots`` would offer starting exactly at instant ``start``, else None.

    Runs the very same code over a one-microsecond window, so the booking and reschedule checks
    can never disagree with the slots endpoint given the same inputs.
    """
    s = _utc(start, "start")
    for slot in personal_slots(availability, rules, busy, s, s + _ONE_MICROSECOND, now):
        if slot.start == s:
            return slot
    return None


# --------------------------------------------------------------------------- scheduled sessions


def session_slots(
    sessions: Sequence[SessionInfo],
    rules: ServiceRules,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
) -> list[SessionSlot]:
    """Sessions starting in ``[window_start, window_end)`` that a client may still book.

    Keeps sessions with ``capacity - taken > 0`` (each session's own count), starting no earlier
    than ``now + min_notice`` and no later than ``now + max_advance_days``; sorted by start
    (then id), times in UTC.
    """
    ws, we, now = _utc(window_start, "window_start"), _utc(window_end, "window_end"), _utc(now, "now")
    lo = max(ws, now + _minutes(rules.min_notice_minutes, "min_notice_minutes"))
    last = None
    if rules.max_advance_days is not None:
        last = now + _days(rules.max_advance_days)
    result: list[SessionSlot] = []
    for session in sessions:
        seats_left = session.capacity - session.taken
        if seats_left <= 0:
            continue
        start = _utc(session.start, "SessionInfo.start")
        if start < lo or start >= we or (last is not None and start > last):
            continue
        result.append(SessionSlot(session.id, start, _utc(session.end, "SessionInfo.end"), seats_left))
    result.sort(key=lambda s: (s.start, s.session_id))
    return result
