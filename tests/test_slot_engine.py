"""The slot engine, rule by rule at its edges, and the bugs other schedulers shipped.

Dates used: 2026-06-01 is a Monday. Unless a test says otherwise the expert is in UTC so that
local times read the same as the instants.
"""
from __future__ import annotations

import os
import random
import time as systime
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from backend.slot_engine import (
    Availability,
    Busy,
    ServiceRules,
    SessionInfo,
    SessionSlot,
    Slot,
    busy_window,
    intervals_for_date,
    is_bookable,
    local_dates_window,
    personal_slots,
    session_slots,
)

UTC = timezone.utc
MONDAY = date(2026, 6, 1)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
MON_FRI_SPLIT = {wd: [(time(9), time(12)), (time(13), time(17))] for wd in range(5)}


def at(zone: str, y: int, m: int, d: int, h: int = 0, mi: int = 0, fold: int = 0) -> datetime:
    """The UTC instant of a local wall time in ``zone``."""
    return datetime(y, m, d, h, mi, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def walls(slots: list[Slot], zone: str) -> list[str]:
    """Slot starts as local 'YYYY-MM-DD HH:MM' in ``zone``."""
    return [s.start.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") for s in slots]


def hhmm(slots: list[Slot], zone: str = "UTC") -> list[str]:
    return [s.start.astimezone(ZoneInfo(zone)).strftime("%H:%M") for s in slots]


def day_slots(
    weekly=None,
    rules: ServiceRules | None = None,
    busy=(),
    day: date = MONDAY,
    zone: str = "UTC",
    overrides=None,
    now: datetime = LONG_AGO,
) -> list[Slot]:
    """Slots of one local date of the expert."""
    availability = Availability(zone, weekly if weekly is not None else MON_FRI_SPLIT, overrides or {})
    start, end = local_dates_window(day, day, zone)
    return personal_slots(availability, rules or ServiceRules(60), list(busy), start, end, now)


def busy(start: datetime, minutes: int, before: int = 0, after: int = 0, same: bool = False) -> Busy:
    return Busy(start, start + timedelta(minutes=minutes), before, after, same)


def u(h: int, mi: int = 0, day: date = MONDAY) -> datetime:
    return datetime.combine(day, time(h, mi), UTC)


# --------------------------------------------------------------------------- hours


def test_several_intervals_a_day_each_offer_starts_that_fit():
    slots = day_slots(rules=ServiceRules(60, interval_minutes=30))
    assert hhmm(slots) == ["09:00", "09:30", "10:00", "10:30", "11:00",
                           "13:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00"]
    assert all(s.end - s.start == timedelta(minutes=60) for s in slots)
    assert all(s.start.tzinfo is UTC and s.end.tzinfo is UTC for s in slots)


def test_interval_defaults_to_duration():
    slots = day_slots(weekly={0: [(time(9), time(12))]}, rules=ServiceRules(45))
    assert hhmm(slots) == ["09:00", "09:45", "10:30", "11:15"]


def test_interval_longer_than_duration_leaves_gaps():
    slots = day_slots(weekly={0: [(time(9), time(12))]}, rules=ServiceRules(30, interval_minutes=60))
    assert hhmm(slots) == ["09:00", "10:00", "11:00"]


def test_starts_step_from_each_intervals_own_start():
    slots = day_slots(weekly={0: [(time(9, 10), time(10, 30)), (time(13, 5), time(14))]},
                      rules=ServiceRules(20, interval_minutes=30))
    assert hhmm(slots) == ["09:10", "09:40", "10:10", "13:05", "13:35"]


def test_slot_must_end_by_the_end_of_its_interval():
    slots = day_slots(weekly={0: [(time(9), time(10, 20))]}, rules=ServiceRules(30, interval_minutes=15))
    assert hhmm(slots) == ["09:00", "09:15", "09:30", "09:45"]  # 10:00 would end at 10:30


def test_interval_shorter_than_duration_offers_nothing():
    assert day_slots(weekly={0: [(time(9), time(9, 45))]}, rules=ServiceRules(60)) == []


def test_end_at_midnight_means_the_end_of_the_day():
    slots = day_slots(weekly={0: [(time(22), time(0))]}, rules=ServiceRules(30))
    assert hhmm(slots) == ["22:00", "22:30", "23:00", "23:30"]
    assert slots[-1].end == u(0, day=MONDAY + timedelta(days=1))


def test_midnight_to_midnight_is_the_whole_day():
    slots = day_slots(weekly={0: [(time(0), time(0))]}, rules=ServiceRules(120))
    assert len(slots) == 12 and hhmm(slots)[0] == "00:00" and hhmm(slots)[-1] == "22:00"


def test_reversed_interval_is_ignored():
    assert day_slots(weekly={0: [(time(17), time(9))]}, rules=ServiceRules(30)) == []


def test_overlapping_intervals_give_each_start_once_sorted():
    slots = day_slots(weekly={0: [(time(10), time(12)), (time(9), time(11))]}, rules=ServiceRules(60, 30))
    assert hhmm(slots) == ["09:00", "09:30", "10:00", "10:30", "11:00"]


def test_weekday_without_hours_offers_nothing():
    assert day_slots(day=MONDAY + timedelta(days=5)) == []  # Saturday


# --------------------------------------------------------------------------- overrides


def test_override_with_no_intervals_is_a_day_off():
    assert day_slots(overrides={MONDAY: []}) == []
    assert day_slots(overrides={MONDAY: []}, day=MONDAY + timedelta(days=1)) != []  # only that date


def test_override_replaces_the_weekdays_hours():
    slots = day_slots(overrides={MONDAY: [(time(15), time(17))]})
    assert hhmm(slots) == ["15:00", "16:00"]


def test_override_opens_a_day_without_weekly_hours():
    saturday = MONDAY + timedelta(days=5)
    slots = day_slots(overrides={saturday: [(time(10), time(12))]}, day=saturday)
    assert hhmm(slots) == ["10:00", "11:00"]


def test_intervals_for_date_prefers_the_override():
    availability = Availability("UTC", MON_FRI_SPLIT, {MONDAY: []})
    assert intervals_for_date(availability, MONDAY) == []
    assert intervals_for_date(availability, MONDAY + timedelta(days=1)) == MON_FRI_SPLIT[1]
    assert intervals_for_date(availability, MONDAY + timedelta(days=6)) == ()


# --------------------------------------------------------------------------- bookings and buffers

ONE_MORNING = {0: [(time(9), time(12))]}
EVERY_15 = ServiceRules(30, interval_minutes=15)


def test_booking_of_any_service_blocks_its_time():
    slots = day_slots(ONE_MORNING, EVERY_15, [busy(u(10), 30, same=False)])
    assert "10:00" not in hhmm(slots) and "09:45" not in hhmm(slots) and "10:15" not in hhmm(slots)


def test_back_to_back_with_a_booking_is_allowed():
    slots = day_slots(ONE_MORNING, EVERY_15, [busy(u(10), 30)])
    assert hhmm(slots) == ["09:00", "09:15", "09:30", "10:30", "10:45", "11:00", "11:15", "11:30"]


def test_own_buffers_may_not_overlap_a_booking():
    rules = ServiceRules(30, interval_minutes=15, buffer_before_minutes=15, buffer_after_minutes=15)
    slots = day_slots(ONE_MORNING, rules, [busy(u(10), 60)])
    # 09:15 ends 09:45, its buffer ends exactly at 10:00; 11:15's buffer starts exactly at 11:00.
    assert hhmm(slots) == ["09:00", "09:15", "11:15", "11:30"]


def test_bookings_own_buffers_block_a_bare_slot():
    slots = day_slots(ONE_MORNING, EVERY_15, [busy(u(10), 60, before=30, after=30)])
    assert hhmm(slots) == ["09:00", "11:30"]


def test_buffers_may_overlap_other_buffers():
    rules = ServiceRules(30, interval_minutes=15, buffer_before_minutes=15, buffer_after_minutes=15)
    slots = day_slots(ONE_MORNING, rules, [busy(u(10), 60, before=15, after=15)])
    # A scheduler that adds the two buffers would only offer 09:00 and 11:30.
    assert hhmm(slots) == ["09:00", "09:15", "11:15", "11:30"]


def test_the_larger_of_two_facing_buffers_decides():
    rules = ServiceRules(30, interval_minutes=15, buffer_after_minutes=5)
    slots = day_slots(ONE_MORNING, rules, [busy(u(10), 60, before=20)])
    # Our 5 minutes after would allow 09:15 (ends 09:45); the booking's own 20 before does not.
    assert hhmm(slots) == ["09:00", "11:00", "11:15", "11:30"]


def test_overlapping_and_unsorted_bookings_are_all_respected():
    bookings = [busy(u(11), 30), busy(u(9, 30), 45), busy(u(9, 45), 15), busy(u(10, 15), 10)]
    slots = day_slots(ONE_MORNING, EVERY_15, bookings)
    assert hhmm(slots) == ["09:00", "10:30", "11:30"]  # each back-to-back with its neighbours


def test_slot_exactly_filling_the_gap_between_two_bookings_is_offered():
    slots = day_slots(ONE_MORNING, EVERY_15, [busy(u(9, 30), 30), busy(u(10, 30), 30)])
    assert "10:00" in hhmm(slots) and "09:45" not in hhmm(slots) and "10:15" not in hhmm(slots)
    # Their buffers leave exactly 10:10-10:40 free: the first one's ends at 10:10 and the
    # second one's starts at 10:40 (a buffer may not overlap the new booking itself).
    with_buffers = [busy(u(9, 30), 30, after=10), busy(u(10, 50), 30, before=10)]
    offered = hhmm(day_slots(ONE_MORNING, ServiceRules(30, 5), with_buffers))
    assert "10:10" in offered and "10:05" not in offered and "10:15" not in offered


def test_booking_outside_the_window_still_blocks_a_slot_it_overlaps():
    # The booking starts before the window; the 09:00 slot is inside it and overlaps.
    slots = day_slots(ONE_MORNING, EVERY_15, [Busy(u(8), u(9, 20))])
    assert hhmm(slots)[0] == "09:30"


# --------------------------------------------------------------------------- notice, past, advance


def test_min_notice_boundary_is_inclusive():
    now = u(8)
    assert hhmm(day_slots(ONE_MORNING, ServiceRules(30, 15, min_notice_minutes=60), now=now))[0] == "09:00"
    assert hhmm(day_slots(ONE_MORNING, ServiceRules(30, 15, min_notice_minutes=61), now=now))[0] == "09:15"


def test_slots_in_the_past_are_never_offered():
    slots = day_slots(ONE_MORNING, EVERY_15, now=u(10, 5))
    assert hhmm(slots)[0] == "10:15"
    assert hhmm(day_slots(ONE_MORNING, EVERY_15, now=u(10)))[0] == "10:00"  # starting right now is fine


def test_max_advance_is_rolling_from_now_and_inclusive():
    availability = Availability("UTC", {wd: [(time(9), time(12))] for wd in range(7)}, {})
    rules = ServiceRules(30, interval_minutes=15, max_advance_days=1)
    now = u(9, 10)
    slots = personal_slots(availability, rules, [], u(0), u(0) + timedelta(days=5), now)
    assert slots[-1].start == u(9, 0, MONDAY + timedelta(days=1))  # <= now + 1 day (09:10)
    rules_on_grid = ServiceRules(30, interval_minutes=15, max_advance_days=1)
    slots = personal_slots(availability, rules_on_grid, [], u(0), u(0) + timedelta(days=5), u(9, 15))
    assert slots[-1].start == u(9, 15, MONDAY + timedelta(days=1))  # exactly now + 1 day is offered


def test_max_advance_of_zero_days_leaves_only_starts_at_now():
    rules = ServiceRules(30, interval_minutes=15, max_advance_days=0)
    assert hhmm(day_slots(ONE_MORNING, rules, now=u(10))) == ["10:00"]


# --------------------------------------------------------------------------- daily limit


def test_daily_limit_closes_a_day_once_reached():
    rules = ServiceRules(30, daily_limit=2)
    two = [busy(u(7), 30, same=True), busy(u(20), 30, same=True)]  # outside hours: no conflict
    assert day_slots(ONE_MORNING, rules, two) == []
    assert len(day_slots(ONE_MORNING, rules, two[:1])) == 6  # one below the limit: all open


def test_daily_limit_counts_only_this_services_bookings():
    rules = ServiceRules(30, daily_limit=1)
    others = [busy(u(7), 30, same=False), busy(u(20), 30, same=False), busy(u(21), 30, same=False)]
    assert len(day_slots(ONE_MORNING, rules, others)) == 6


def test_daily_limit_counts_per_local_date_of_the_expert():
    zone = "Pacific/Auckland"  # UTC+12 in June
    rules = ServiceRules(60, daily_limit=1)
    weekly = {wd: [(time(9), time(12))] for wd in range(7)}
    late_utc_monday = busy(u(23, 30), 30, same=True)  # = Tuesday 11:30 in Auckland
    assert day_slots(weekly, rules, [late_utc_monday], day=MONDAY, zone=zone) != []
    assert day_slots(weekly, rules, [late_utc_monday], day=MONDAY + timedelta(days=1), zone=zone) == []


def test_daily_limit_of_zero_offers_nothing():
    assert day_slots(rules=ServiceRules(30, daily_limit=0)) == []


# --------------------------------------------------------------------------- windows


def test_window_keeps_only_starts_inside_it_half_open():
    availability = Availability("UTC", ONE_MORNING, {})
    slots = personal_slots(availability, EVERY_15, [], u(9, 50), u(10, 30), LONG_AGO)
    assert hhmm(slots) == ["10:00", "10:15"]  # 09:45 starts before; 10:30 is the exclusive end


def test_local_dates_window_is_the_clients_days():
    start, end = local_dates_window(date(2026, 6, 1), date(2026, 6, 2), "Europe/Paris")
    assert (start, end) == (datetime(2026, 5, 31, 22, tzinfo=UTC), datetime(2026, 6, 2, 22, tzinfo=UTC))


def test_local_dates_window_midnight_that_does_not_exist_starts_at_the_first_instant():
    # America/Santiago jumps from 24:00 to 01:00 on 2026-09-06; Havana from 00:00 to 01:00 on 2026-03-08.
    assert local_dates_window(date(2026, 9, 6), date(2026, 9, 6), "America/Santiago") == (
        at("America/Santiago", 2026, 9, 6, 1), at("America/Santiago", 2026, 9, 7))
    assert local_dates_window(date(2026, 9, 5), date(2026, 9, 5), "America/Santiago")[1] == datetime(
        2026, 9, 6, 4, tzinfo=UTC)
    assert local_dates_window(date(2026, 3, 8), date(2026, 3, 8), "America/Havana")[0] == datetime(
        2026, 3, 8, 5, tzinfo=UTC)


def test_local_dates_window_ambiguous_midnight_uses_its_first_occurrence():
    # Havana falls back 01:00 -> 00:00 on 2026-11-01: the day starts at 00:00 CDT (-04:00).
    assert local_dates_window(date(2026, 11, 1), date(2026, 11, 1), "America/Havana")[0] == datetime(
        2026, 11, 1, 4, tzinfo=UTC)


def test_local_dates_window_rejects_end_before_start():
    with pytest.raises(ValueError):
        local_dates_window(date(2026, 6, 2), date(2026, 6, 1), "UTC")


def test_naive_datetimes_are_refused():
    availability = Availability("UTC", ONE_MORNING, {})
    with pytest.raises(ValueError):
        personal_slots(availability, EVERY_15, [], datetime(2026, 6, 1), u(12), LONG_AGO)
    with pytest.raises(ValueError):
        personal_slots(availability, EVERY_15, [Busy(datetime(2026, 6, 1, 9), u(10))], u(0), u(12), LONG_AGO)


def test_invalid_rules_are_refused():
    availability = Availability("UTC", ONE_MORNING, {})
    for rules in (ServiceRules(0), ServiceRules(30, interval_minutes=0), ServiceRules(30, buffer_after_minutes=-5)):
        with pytest.raises(ValueError):
            personal_slots(availability, rules, [], u(0), u(12), LONG_AGO)


def test_instants_in_any_zone_are_accepted_and_results_are_utc():
    paris = ZoneInfo("Europe/Paris")
    availability = Availability("UTC", ONE_MORNING, {})
    slots = personal_slots(availability, EVERY_15, [Busy(u(10).astimezone(paris), u(11).astimezone(paris))],
                           u(0).astimezone(paris), u(12).astimezone(paris), LONG_AGO.astimezone(paris))
    assert hhmm(slots) == ["09:00", "09:15", "09:30", "11:00", "11:15", "11:30"]
    assert all(s.start.tzinfo is UTC for s in slots)


# --------------------------------------------------------------------------- is_bookable


def test_is_bookable_accepts_exactly_the_offered_starts():
    availability = Availability("UTC", ONE_MORNING, {})
    bookings = [busy(u(10), 30, before=10)]
    offered = personal_slots(availability, EVERY_15, bookings, u(0), u(23), LONG_AGO)
    for slot in offered:
        assert is_bookable(availability, EVERY_15, bookings, slot.start, LONG_AGO) == slot
    for start in (u(9, 30), u(10), u(9, 5), u(11, 45), u(8, 45), u(9, 0) + timedelta(seconds=1)):
        assert is_bookable(availability, EVERY_15, bookings, start, LONG_AGO) is None


def test_is_bookable_accepts_a_start_given_in_the_clients_zone():
    availability = Availability("Europe/Paris", ONE_MORNING, {})
    start = datetime(2026, 6, 1, 9, 15, tzinfo=ZoneInfo("Europe/Paris")).astimezone(ZoneInfo("Asia/Tokyo"))
    slot = is_bookable(availability, EVERY_15, [], start, LONG_AGO)
    assert slot == Slot(datetime(2026, 6, 1, 7, 15, tzinfo=UTC), datetime(2026, 6, 1, 7, 45, tzinfo=UTC))


def test_is_bookable_applies_notice_and_daily_limit_like_the_list():
    availability = Availability("UTC", ONE_MORNING, {})
    rules = ServiceRules(30, 15, min_notice_minutes=30, daily_limit=1)
    assert is_bookable(availability, rules, [], u(10), u(9, 31)) is None
    assert is_bookable(availability, rules, [], u(10), u(9, 30)) is not None
    assert is_bookable(availability, rules, [busy(u(7), 10, same=True)], u(10), u(9)) is None


# --------------------------------------------------------------------------- busy_window


def test_busy_window_covers_duration_buffers_and_a_local_day():
    rules = ServiceRules(30, buffer_before_minutes=10, buffer_after_minutes=300)
    lo, hi = busy_window(rules, u(0), u(0, day=MONDAY + timedelta(days=1)), max_other_buffer_minutes=240)
    assert lo == u(0) - timedelta(hours=26)
    assert hi == u(0, day=MONDAY + timedelta(days=1)) + timedelta(hours=26)
    lo, hi = busy_window(ServiceRules(30, buffer_after_minutes=2000), u(0), u(1))
    assert hi == u(1) + timedelta(minutes=2030)


def test_loading_only_the_busy_window_gives_the_same_slots():
    rng = random.Random(7)
    zone = "Pacific/Chatham"
    availability = Availability(zone, MON_FRI_SPLIT, {MONDAY + timedelta(days=3): [(time(6), time(23))]})
    rules = ServiceRules(30, 15, buffer_before_minutes=10, buffer_after_minutes=20, daily_limit=5)
    base = u(0) - timedelta(days=10)
    bookings = []
    for _ in range(600):
        start = base + timedelta(minutes=15 * rng.randrange(40 * 96))
        bookings.append(busy(start, rng.choice([15, 30, 60]), rng.choice([0, 30, 240]), rng.choice([0, 30, 240]),
                             rng.random() < 0.3))
    for first, last in ((MONDAY, MONDAY), (MONDAY, MONDAY + timedelta(days=13))):
        ws, we = local_dates_window(first, last, "America/Los_Angeles")
        lo, hi = busy_window(rules, ws, we)
        loaded = [b for b in bookings if b.start < hi and b.end > lo]
        assert len(loaded) < len(bookings)
        expected = personal_slots(availability, rules, bookings, ws, we, LONG_AGO)
        assert personal_slots(availability, rules, loaded, ws, we, LONG_AGO) == expected
        for slot in expected[::7]:
            lo, hi = busy_window(rules, slot.start, slot.start + timedelta(microseconds=1))
            near = [b for b in bookings if b.start < hi and b.end > lo]
            assert is_bookable(availability, rules, near, slot.start, LONG_AGO) == slot


# --------------------------------------------------------------------------- DST, deterministic


def test_spring_forward_gap_times_are_never_offered():
    zone = "America/New_York"  # 2026-03-08 (Sunday): 02:00 EST -> 03:00 EDT
    slots = day_slots({6: [(time(1), time(4))]}, ServiceRules(30), day=date(2026, 3, 8), zone=zone)
    assert hhmm(slots, zone) == ["01:00", "01:30", "03:00", "03:30"]
    assert slots[1].end == at(zone, 2026, 3, 8, 3)  # 01:30 EST + 30 real minutes = 03:00 EDT


def test_fall_back_repeated_times_are_offered_once_at_their_first_occurrence():
    zone = "America/New_York"  # 2026-11-01 (Sunday): 02:00 EDT -> 01:00 EST
    slots = day_slots({6: [(time(0), time(3))]}, ServiceRules(30), day=date(2026, 11, 1), zone=zone)
    assert hhmm(slots, zone) == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"]
    one_am = slots[2].start.astimezone(ZoneInfo(zone))
    assert one_am.utcoffset() == timedelta(hours=-4)  # the first 01:00, daylight time
    assert slots[2].start == datetime(2026, 11, 1, 5, tzinfo=UTC)


def test_slot_across_fall_back_lasts_its_real_duration():
    zone = "Europe/Paris"  # 2026-10-25: 03:00 CEST -> 02:00 CET
    slots = day_slots({6: [(time(1), time(4))]}, ServiceRules(60), day=date(2026, 10, 25), zone=zone)
    assert hhmm(slots, zone) == ["01:00", "02:00", "03:00"]
    assert slots[1].end.astimezone(ZoneInfo(zone)).strftime("%H:%M %z") == "02:00 +0100"


def test_half_hour_dst_of_lord_howe():
    zone = "Australia/Lord_Howe"  # 2026-10-04: 02:00 -> 02:30 (+10:30 -> +11:00)
    slots = day_slots({6: [(time(1), time(4))]}, ServiceRules(30), day=date(2026, 10, 4), zone=zone)
    assert hhmm(slots, zone) == ["01:00", "01:30", "02:30", "03:00", "03:30"]


def test_gap_times_off_the_grid_are_skipped_not_moved():
    zone = "Europe/Paris"  # 2026-03-29: 02:00 and 02:45 do not exist; they must not become 03:00/03:45
    slots = day_slots({6: [(time(1, 15), time(5))]}, ServiceRules(45), day=date(2026, 3, 29), zone=zone)
    assert hhmm(slots, zone) == ["01:15", "03:30", "04:15"]


@pytest.mark.parametrize("zone, day, expected", [
    # The day starts at 01:00: 00:00-01:00 never happens, 22:00-24:00 does.
    ("America/Santiago", date(2026, 9, 6), ["01:00", "01:30", "02:00", "02:30", "22:00", "22:30", "23:00", "23:30"]),
    ("America/Havana", date(2026, 3, 8), ["01:00", "01:30", "02:00", "02:30", "22:00", "22:30", "23:00", "23:30"]),
    # 24:00 -> 23:00: the last hour happens twice and is offered once.
    ("America/Santiago", date(2026, 4, 4),
     ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "22:00", "22:30", "23:00", "23:30"]),
])
def test_days_whose_midnight_moves(zone, day, expected):
    availability = Availability(zone, {day.weekday(): [(time(0), time(3)), (time(22), time(0))]}, {})
    # Ask for the day before and after too: a wrong offset would leak slots into them.
    ws, we = local_dates_window(day - timedelta(days=1), day + timedelta(days=1), zone)
    slots = personal_slots(availability, ServiceRules(30), [], ws, we, LONG_AGO)
    assert hhmm(slots, zone) == expected
    assert all(s.start.astimezone(ZoneInfo(zone)).date() == day for s in slots)


def test_interval_ending_inside_a_gap_ends_at_the_transition():
    zone = "Europe/Paris"  # 2026-03-29: 02:00 CET -> 03:00 CEST; 02:30 does not exist
    slots = day_slots({6: [(time(1), time(2, 30))]}, ServiceRules(30), day=date(2026, 3, 29), zone=zone)
    assert hhmm(slots, zone) == ["01:00", "01:30"]
    assert slots[-1].end == at(zone, 2026, 3, 29, 3)


# --------------------------------------------------------------------------- regressions


@pytest.mark.parametrize("zone, dst_day", [
    ("Europe/Paris", date(2026, 3, 29)), ("Europe/Paris", date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8)), ("America/New_York", date(2026, 11, 1)),
    ("Australia/Sydney", date(2026, 4, 5)), ("Australia/Sydney", date(2026, 10, 4)),
])
def test_regression_13_to_18_day_is_not_shifted_by_an_hour_on_a_dst_date(zone, dst_day):
    weekly = {wd: [(time(13), time(18))] for wd in range(7)}
    for day in (dst_day - timedelta(days=1), dst_day, dst_day + timedelta(days=1)):
        slots = day_slots(weekly, ServiceRules(60), day=day, zone=zone)
        assert hhmm(slots, zone) == ["13:00", "14:00", "15:00", "16:00", "17:00"], day
        assert slots[-1].end.astimezone(ZoneInfo(zone)).strftime("%H:%M") == "18:00"


def test_regression_todays_offset_is_not_used_for_dates_after_a_change():
    zone = "Europe/Paris"
    now = at(zone, 2026, 3, 10, 12)  # winter time (+01:00) today
    availability = Availability(zone, MON_FRI_SPLIT, {})
    ws, we = local_dates_window(date(2026, 4, 6), date(2026, 4, 6), zone)
    slots = personal_slots(availability, ServiceRules(60), [], ws, we, now)
    assert slots[0].start == datetime(2026, 4, 6, 7, tzinfo=UTC)  # 09:00 +02:00, not 08:00 UTC
    assert hhmm(slots, zone)[0] == "09:00"


@pytest.mark.parametrize("zone", ["Pacific/Auckland", "Pacific/Kiritimati", "Pacific/Chatham"])
def test_regression_date_override_stays_on_its_local_date_far_from_utc(zone):
    saturday = date(2026, 6, 13)
    monday = date(2026, 6, 15)
    availability = Availability(zone, MON_FRI_SPLIT, {saturday: [(time(10), time(12))], monday: []})
    ws, we = local_dates_window(date(2026, 6, 11), date(2026, 6, 17), zone)
    slots = personal_slots(availability, ServiceRules(60), [], ws, we, LONG_AGO)
    by_date = {}
    for wall in walls(slots, zone):
        by_date.setdefault(wall[:10], []).append(wall[11:])
    assert by_date["2026-06-13"] == ["10:00", "11:00"]  # the extra Saturday hours, on Saturday
    assert "2026-06-15" not in by_date  # the day off is the expert's Monday
    assert "2026-06-12" in by_date and "2026-06-16" in by_date
    assert "2026-06-14" not in by_date
    # In UTC those Saturday hours are still Friday: the override must not be read as a UTC date.
    first_saturday = next(s for s in slots if walls([s], zone)[0].startswith("2026-06-13"))
    assert first_saturday.start.date() == date(2026, 6, 12)


def test_regression_todays_remaining_slots_come_from_the_instant_now():
    expert = "America/Los_Angeles"
    availability = Availability(expert, MON_FRI_SPLIT, {})
    now = at(expert, 2026, 3, 10, 10, 7)  # Tuesday 10:07 in LA, already Wednesday 02:07 in Tokyo
    ws, we = local_dates_window(date(2026, 3, 11), date(2026, 3, 11), "Asia/Tokyo")  # the client's today
    rules = ServiceRules(30, 15)

    saved = os.environ.get("TZ")
    try:  # whatever zone the server runs in must not matter
        results = []
        for server_zone in ("UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"):
            os.environ["TZ"] = server_zone
            systime.tzset()
            results.append(personal_slots(availability, rules, [], ws, we, now))
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        systime.tzset()

    slots = results[0]
    assert results[1] == slots and results[2] == slots
    assert walls(slots, expert)[0] == "2026-03-10 10:15"  # the rest of the expert's Tuesday
    assert walls(slots, expert)[-1] == "2026-03-10 16:30"
    assert {w[:10] for w in walls(slots, expert)} == {"2026-03-10"}


def test_regression_seat_limit_counts_each_sessions_own_seats():
    start = u(10)
    sessions = [
        SessionInfo("full", start, start + timedelta(hours=1), capacity=1, taken=1),
        SessionInfo("same-time-other", start, start + timedelta(hours=1), capacity=3, taken=1),
        SessionInfo("overbooked", start, start + timedelta(hours=1), capacity=2, taken=3),
    ]
    slots = session_slots(sessions, ServiceRules(60), u(0), u(23), LONG_AGO)
    assert slots == [SessionSlot("same-time-other", start, start + timedelta(hours=1), 2)]


# --------------------------------------------------------------------------- sessions


def _session(sid: str, start: datetime, capacity: int = 5, taken: int = 0) -> SessionInfo:
    return SessionInfo(sid, start, start + timedelta(hours=2), capacity, taken)


def test_session_slots_excludes_full_sessions_and_reports_seats_left():
    sessions = [_session("a", u(9), 5, 5), _session("b", u(11), 5, 4), _session("c", u(14), 5, 0)]
    slots = session_slots(sessions, ServiceRules(120), u(0), u(23), LONG_AGO)
    assert [(s.session_id, s.seats_left) for s in slots] == [("b", 1), ("c", 5)]


def test_session_slots_sorted_utc_and_in_the_window():
    paris = ZoneInfo("Europe/Paris")
    sessions = [_session("late", u(15).astimezone(paris)), _session("early", u(9).astimezone(paris)),
                _session("before-window", u(7)), _session("at-window-end", u(18))]
    slots = session_slots(sessions, ServiceRules(120), u(8), u(18), LONG_AGO)
    assert [s.session_id for s in slots] == ["early", "late"]
    assert slots[0].start == u(9) and slots[0].start.tzinfo is UTC and slots[0].end == u(11)


def test_session_slots_apply_notice_and_advance_at_their_boundaries():
    sessions = [_session("a", u(9)), _session("b", u(10)), _session("c", u(10) + timedelta(days=2))]
    rules = ServiceRules(120, min_notice_minutes=60, max_advance_days=2)
    slots = session_slots(sessions, rules, u(0), u(0) + timedelta(days=5), u(8, 30))
    assert [s.session_id for s in slots] == ["b"]  # a: 30 min notice; c: 2 days + 90 min ahead
    slots = session_slots(sessions, rules, u(0), u(0) + timedelta(days=5), u(9))
    assert [s.session_id for s in slots] == ["b"]  # b: exactly 60 min notice is fine
    slots = session_slots(sessions, rules, u(0), u(0) + timedelta(days=5), u(10) - timedelta(minutes=1))
    assert [s.session_id for s in slots] == []  # b: 59 min; c: 2 days + 1 min ahead
    slots = session_slots(sessions, ServiceRules(120, max_advance_days=2), u(0), u(0) + timedelta(days=5), u(10))
    assert [s.session_id for s in slots] == ["b", "c"]  # c is exactly 2 days ahead


def test_session_slots_never_offer_past_sessions():
    sessions = [_session("past", u(9)), _session("now", u(10))]
    assert [s.session_id for s in session_slots(sessions, ServiceRules(120), u(0), u(23), u(10))] == ["now"]
