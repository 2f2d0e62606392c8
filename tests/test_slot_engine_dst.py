"""Property tests of the slot engine across time zones and DST changes (hypothesis).

Zones cover 30- and 45-minute offsets (Asia/Kolkata, Asia/Kathmandu, Pacific/Chatham,
America/St_Johns), a 30-minute DST (Australia/Lord_Howe), DST at midnight (America/Santiago,
America/Havana), southern-hemisphere DST (Australia/Sydney, Pacific/Auckland), DST on moving dates
(Africa/Casablanca) and none (UTC). Dates span 2026-2028 and are biased towards transition days.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.slot_engine import (
    Availability,
    Busy,
    ServiceRules,
    Slot,
    is_bookable,
    local_dates_window,
    personal_slots,
)

UTC = timezone.utc
ZONES = [
    "Europe/Paris", "Europe/London", "America/New_York", "America/Santiago", "America/Havana",
    "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham",
    "America/St_Johns", "Pacific/Auckland", "Africa/Casablanca", "UTC",
]
CLIENT_ZONES = ZONES + ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Etc/GMT+12", "Asia/Tokyo", "America/Los_Angeles"]
FIRST, LAST = date(2026, 1, 1), date(2028, 12, 31)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@lru_cache(maxsize=None)
def transition_days(zone: str) -> tuple[date, ...]:
    """Local dates in 2026-2028 on which the zone's UTC offset changes (by noon-to-noon scan)."""
    tz = ZoneInfo(zone)
    days = []
    d = FIRST
    previous = tz.utcoffset(datetime.combine(d - timedelta(days=1), time(12)))
    while d <= LAST:
        offset = tz.utcoffset(datetime.combine(d, time(12)))
        if offset != previous:
            # The change happened between noon yesterday and noon today.
            days.append(d if tz.utcoffset(datetime.combine(d, time(0))) == offset else d - timedelta(days=1))
        previous = offset
        d += timedelta(days=1)
    return tuple(days)


def test_the_zone_list_really_has_transitions_to_test():
    assert len(transition_days("Europe/Paris")) == 6
    assert len(transition_days("Australia/Lord_Howe")) == 6
    assert transition_days("Asia/Kathmandu") == () and transition_days("UTC") == ()


# --------------------------------------------------------------------------- strategies

# Wall times on a 5-minute grid, half of them where transitions happen (around 00:00-03:00,
# late evening for zones changing at 24:00) so intervals often straddle a change.
NEAR_CHANGES = [0, 15, 30, 45, 60, 75, 90, 105, 120, 135, 150, 165, 180, 195, 210, 1380, 1410, 1425]
MINUTES = st.one_of(st.sampled_from(NEAR_CHANGES), st.integers(0, 287).map(lambda n: n * 5))


def _time(minutes: int) -> time:
    return time(0) if minutes == 1440 else time(minutes // 60, minutes % 60)


@st.composite
def intervals(draw) -> list[tuple[time, time]]:
    result = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(MINUTES)
        end = draw(st.one_of(
            st.just(1440),
            st.sampled_from([m for m in NEAR_CHANGES if m > start] or [1440]),
            st.integers(start // 5 + 1, 288).map(lambda n: n * 5),
        ))
        result.append((_time(start), _time(end)))
    return result


@st.composite
def scenario_date(draw, zone: str) -> date:
    days = transition_days(zone)
    if days and draw(st.booleans()):
        return draw(st.sampled_from(days)) + timedelta(days=draw(st.integers(-1, 1)))
    return draw(st.dates(FIRST, LAST))


@st.composite
def availabilities(draw, zone: str, around: date) -> Availability:
    # A few day patterns shared out over the week: as varied as needed, far fewer draws.
    patterns = [[], draw(intervals()), draw(intervals())]
    weekly = {wd: patterns[draw(st.integers(0, 2))] for wd in range(7)}
    overrides = {}
    for offset in draw(st.lists(st.integers(-2, 2), max_size=3, unique=True)):
        overrides[around + timedelta(days=offset)] = draw(intervals())
    return Availability(zone, weekly, overrides)


RULES = st.builds(
    ServiceRules,
    duration_minutes=st.sampled_from([5, 15, 20, 30, 45, 60, 90, 120]),
    interval_minutes=st.sampled_from([None, 5, 10, 15, 20, 30, 60]),
    buffer_before_minutes=st.sampled_from([0, 5, 10, 30]),
    buffer_after_minutes=st.sampled_from([0, 5, 10, 30]),
    min_notice_minutes=st.sampled_from([0, 30, 600]),
    max_advance_days=st.sampled_from([None, None, 1, 3]),
    daily_limit=st.sampled_from([None, None, 0, 1, 2, 5]),
)


@st.composite
def busy_lists(draw, around: date) -> list[Busy]:
    base = datetime.combine(around, time(0), UTC) - timedelta(days=2)
    result = []
    for _ in range(draw(st.integers(0, 8))):
        start = base + timedelta(minutes=draw(st.integers(0, 5 * 24 * 12)) * 5)
        result.append(Busy(
            start,
            start + timedelta(minutes=draw(st.sampled_from([5, 15, 30, 60, 180]))),
            draw(st.sampled_from([0, 10, 45])),
            draw(st.sampled_from([0, 10, 45])),
            draw(st.booleans()),
        ))
    return result


@st.composite
def cases(draw, with_rules: bool = True, with_busy: bool = True):
    zone = draw(st.sampled_from(ZONES))
    day = draw(scenario_date(zone))
    availability = draw(availabilities(zone, day))
    rules = draw(RULES) if with_rules else ServiceRules(
        draw(st.sampled_from([5, 15, 20, 30, 45, 60, 90])), draw(st.sampled_from([None, 5, 10, 15, 30, 60])))
    busy = draw(busy_lists(day)) if with_busy else []
    ws, we = local_dates_window(day - timedelta(days=1), day + timedelta(days=1), zone)
    now = ws + timedelta(minutes=draw(st.integers(-3 * 1440, 3 * 1440)))
    return zone, day, availability, rules, busy, ws, we, now


# --------------------------------------------------------------------------- the oracle


def first_instant_brute(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first instant whose wall time is at or after ``wall``, by walking minute by minute."""
    while True:
        instant = wall.replace(tzinfo=tz).astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == wall:
            return instant
        wall += timedelta(minutes=1)


def reference_slots(availability: Availability, rules: ServiceRules, busy: list[Busy],
                    ws: datetime, we: datetime, now: datetime) -> list[Slot]:
    """The rules read literally: every candidate converted on its own, every booking checked."""
    tz = ZoneInfo(availability.timezone)
    dur = timedelta(minutes=rules.duration_minutes)
    step = timedelta(minutes=rules.interval_minutes or rules.duration_minutes)
    result = set()
    d = ws.astimezone(tz).date() - timedelta(days=1)
    while d <= we.astimezone(tz).date() + timedelta(days=1):
        count = sum(1 for b in busy if b.same_service and b.start.astimezone(tz).date() == d)
        if rules.daily_limit is not None and count >= rules.daily_limit:
            d += timedelta(days=1)
            continue
        hours = availability.overrides.get(d, availability.weekly.get(d.weekday(), []))
        for begin, end in hours:
            wall = datetime.combine(d, begin)
            wall_end = datetime.combine(d + timedelta(days=1) if end == time(0) else d, end)
            end_instant = first_instant_brute(wall_end, tz)
            while wall < wall_end:
                start = wall.replace(tzinfo=tz).astimezone(UTC)  # fold=0: first occurrence
                exists = start.astimezone(tz).replace(tzinfo=None) == wall
                slot_end = start + dur
                ok = (
                    exists
                    and slot_end <= end_instant
                    and ws <= start < we
                    and start >= now
                    and start >= now + timedelta(minutes=rules.min_notice_minutes)
                    and (rules.max_advance_days is None or start <= now + timedelta(days=rules.max_advance_days))
                )
                for b in busy:
                    wide_start = start - timedelta(minutes=rules.buffer_before_minutes)
                    wide_end = slot_end + timedelta(minutes=rules.buffer_after_minutes)
                    if wide_start < b.end and b.start < wide_end:
                        ok = False
                    b_wide_start = b.start - timedelta(minutes=b.buffer_before_minutes)
                    b_wide_end = b.end + timedelta(minutes=b.buffer_after_minutes)
                    if start < b_wide_end and b_wide_start < slot_end:
                        ok = False
                if ok:
                    result.add(Slot(start, slot_end))
                wall += step
        d += timedelta(days=1)
    return sorted(result, key=lambda s: s.start)


# --------------------------------------------------------------------------- properties


@FAST
@given(cases())
def test_engine_agrees_with_the_literal_reading_of_every_rule(case):
    zone, day, availability, rules, busy, ws, we, now = case
    assert personal_slots(availability, rules, busy, ws, we, now) == reference_slots(
        availability, rules, busy, ws, we, now)


@FAST
@given(cases(with_rules=False, with_busy=False))
def test_every_slot_lies_in_its_local_dates_hours_on_the_step_grid(case):
    zone, day, availability, rules, busy, ws, we, now = case
    tz = ZoneInfo(zone)
    step = rules.interval_minutes or rules.duration_minutes
    slots = personal_slots(availability, rules, busy, ws, we, LONG_AGO)

    starts = [s.start for s in slots]
    assert starts == sorted(set(starts))  # sorted, no instant twice
    local_walls = [s.start.astimezone(tz).replace(tzinfo=None) for s in slots]
    assert len(set(local_walls)) == len(local_walls)  # no wall time twice (repeated hour offered once)

    for slot in slots:
        assert slot.start.tzinfo is UTC and slot.end - slot.start == timedelta(minutes=rules.duration_minutes)
        assert ws <= slot.start < we
        local = slot.start.astimezone(tz)
        wall = local.replace(tzinfo=None)
        assert local.fold == 0  # the first occurrence of an ambiguous wall time
        assert wall.replace(tzinfo=tz).astimezone(UTC) == slot.start  # the wall time exists
        d = wall.date()
        hours = availability.overrides.get(d, availability.weekly.get(d.weekday(), []))
        fits = []
        for begin, end in hours:
            begin_wall = datetime.combine(d, begin)
            end_wall = datetime.combine(d + timedelta(days=1) if end == time(0) else d, end)
            fits.append(
                begin_wall <= wall < end_wall
                and (wall - begin_wall) % timedelta(minutes=step) == timedelta(0)
                and slot.end <= first_instant_brute(end_wall, tz)
            )
        assert any(fits), (slot, hours)


@FAST
@given(cases(), st.randoms(use_true_random=False))
def test_is_bookable_accepts_offered_starts_and_refuses_all_others(case, rng):
    zone, day, availability, rules, busy, ws, we, now = case
    slots = personal_slots(availability, rules, busy, ws, we, now)
    offered = {s.start: s for s in slots}
    for slot in slots[:: max(1, len(slots) // 15)]:  # a spread of them keeps this fast
        assert is_bookable(availability, rules, busy, slot.start, now) == slot
    span = int((we - ws).total_seconds() // 60)
    for _ in range(15):
        start = ws + timedelta(minutes=rng.randrange(span), seconds=rng.choice([0, 0, 0, 1, 59]))
        start = start.astimezone(ZoneInfo(rng.choice(CLIENT_ZONES)))
        assert is_bookable(availability, rules, busy, start, now) == offered.get(start)


@FAST
@given(cases(), st.sampled_from(CLIENT_ZONES), st.integers(0, 2))
def test_the_clients_zone_only_changes_which_slots_fall_in_the_window(case, client_zone, n_days):
    zone, day, availability, rules, busy, _, _, now = case
    big_start, big_end = local_dates_window(day - timedelta(days=3), day + timedelta(days=3), zone)
    everything = personal_slots(availability, rules, busy, big_start, big_end, now)

    first = day - timedelta(days=1)
    ws, we = local_dates_window(first, first + timedelta(days=n_days), client_zone)
    assert big_start <= ws and we <= big_end
    in_window = personal_slots(availability, rules, busy, ws, we, now)
    assert in_window == [s for s in everything if ws <= s.start < we]

    by_day = []  # the client's days one by one give the same slots as the range
    for k in range(n_days + 1):
        day_start, day_end = local_dates_window(first + timedelta(days=k), first + timedelta(days=k), client_zone)
        by_day += personal_slots(availability, rules, busy, day_start, day_end, now)
    assert by_day == in_window


NINE_TO_FIVE = {wd: [(time(9), time(17))] for wd in range(7)}
TRANSITIONS = [(zone, d) for zone in ZONES for d in transition_days(zone)]


@pytest.mark.parametrize("zone, transition", TRANSITIONS, ids=[f"{z}-{d}" for z, d in TRANSITIONS])
def test_nine_to_five_stays_nine_to_five_around_every_transition(zone, transition):
    tz = ZoneInfo(zone)
    availability = Availability(zone, NINE_TO_FIVE, {})
    for d in (transition - timedelta(days=1), transition, transition + timedelta(days=1)):
        ws, we = local_dates_window(d, d, zone)
        slots = personal_slots(availability, ServiceRules(60), [], ws, we, LONG_AGO)
        assert len(slots) == 8, d
        assert slots[0].start.astimezone(tz).strftime("%Y-%m-%d %H:%M") == f"{d} 09:00"
        assert slots[-1].end.astimezone(tz).strftime("%Y-%m-%d %H:%M") == f"{d} 17:00"


@FAST
@given(st.sampled_from([z for z in ZONES if transition_days(z)]).flatmap(
    lambda z: st.tuples(st.just(z), st.sampled_from(transition_days(z)), st.integers(-1, 1))),
    st.sampled_from([(15, 15), (30, 15), (45, 15), (60, 30), (90, 30), (120, 60), (40, 10), (480, 60)]),
    st.sampled_from(CLIENT_ZONES))
def test_nine_to_five_first_and_last_slot_with_any_duration(where, rule, client_zone):
    zone, transition, shift = where
    duration, step = rule
    tz = ZoneInfo(zone)
    d = transition + timedelta(days=shift)
    availability = Availability(zone, NINE_TO_FIVE, {})
    ws, we = local_dates_window(d - timedelta(days=1), d + timedelta(days=1), client_zone)
    slots = personal_slots(availability, ServiceRules(duration, step), [], ws - timedelta(days=1),
                           we + timedelta(days=1), LONG_AGO)
    today = [s for s in slots if s.start.astimezone(tz).date() == d]
    assert today[0].start.astimezone(tz).strftime("%H:%M") == "09:00"
    assert today[-1].end.astimezone(tz).strftime("%H:%M") == "17:00"
    assert len(today) == (480 - duration) // step + 1


@FAST
@given(st.sampled_from(ZONES), st.dates(FIRST, LAST), st.sampled_from(CLIENT_ZONES))
def test_local_dates_window_starts_each_day_at_its_first_instant(zone, day, client_zone):
    tz = ZoneInfo(zone)
    ws, we = local_dates_window(day, day, zone)
    assert ws.astimezone(tz).date() == day and (ws - timedelta(seconds=1)).astimezone(tz).date() < day
    assert we.astimezone(tz).date() == day + timedelta(days=1)
    assert (we - timedelta(seconds=1)).astimezone(tz).date() == day
    assert timedelta(hours=22) <= we - ws <= timedelta(hours=26)


def test_one_wall_clock_rule_for_gaps_and_repeats():
    """wall_instant (backend/wallclock.py) is the rule the engine, mini days and the dashboard share."""
    from datetime import datetime as dt
    from zoneinfo import ZoneInfo

    from backend.wallclock import wall_instant
    paris = ZoneInfo("Europe/Paris")
    assert wall_instant(dt(2026, 3, 29, 2, 30), paris) is None  # clocks jump 02:00 -> 03:00
    assert wall_instant(dt(2026, 3, 29, 3, 0), paris).isoformat() == "2026-03-29T01:00:00+00:00"
    # 02:30 happens twice on 25 October: its first occurrence, still on summer time.
    assert wall_instant(dt(2026, 10, 25, 2, 30), paris).isoformat() == "2026-10-25T00:30:00+00:00"
    assert wall_instant(dt(2026, 7, 1, 9, 0), paris).isoformat() == "2026-07-01T07:00:00+00:00"
