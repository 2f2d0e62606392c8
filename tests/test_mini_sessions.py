"""Mini-session days are cut into slots exactly, at their edges too."""
from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.mini_sessions import cut_day

PARIS = ZoneInfo("Europe/Paris")


def local_times(slots, tz=PARIS):
    return [(s.astimezone(tz).strftime("%H:%M"), e.astimezone(tz).strftime("%H:%M")) for s, e in slots]


def test_a_morning_of_twenty_minute_slots_with_ten_minute_gaps():
    slots = cut_day(date(2026, 6, 6), time(10), time(12), 20, 10, "Europe/Paris")
    assert local_times(slots) == [("10:00", "10:20"), ("10:30", "10:50"), ("11:00", "11:20"), ("11:30", "11:50")]


def test_a_slot_that_would_run_past_the_end_is_not_made():
    slots = cut_day(date(2026, 6, 6), time(10), time(11, 10), 20, 10, "Europe/Paris")
    assert local_times(slots)[-1] == ("10:30", "10:50")  # 11:00–11:20 would end after 11:10
    exact = cut_day(date(2026, 6, 6), time(10), time(11, 20), 20, 10, "Europe/Paris")
    assert local_times(exact)[-1] == ("11:00", "11:20")  # ending exactly at the end is fine


def test_a_gap_of_zero_makes_back_to_back_slots():
    slots = cut_day(date(2026, 6, 6), time(9), time(10), 15, 0, "Europe/Paris")
    assert local_times(slots) == [("09:00", "09:15"), ("09:15", "09:30"), ("09:30", "09:45"), ("09:45", "10:00")]
    for (_, end), (start, _) in zip(slots, slots[1:]):
        assert end == start


def test_a_day_shorter_than_one_slot_has_none():
    assert cut_day(date(2026, 6, 6), time(10), time(10, 10), 20, 0, "Europe/Paris") == []


def test_the_spring_forward_gap_is_skipped_and_lengths_stay_real():
    # 2026-03-29 in Paris: 02:00 jumps to 03:00.
    slots = cut_day(date(2026, 3, 29), time(1), time(4), 30, 0, "Europe/Paris")
    assert local_times(slots) == [("01:00", "01:30"), ("01:30", "03:00"), ("03:00", "03:30"), ("03:30", "04:00")]
    assert all(e - s == timedelta(minutes=30) for s, e in slots)


def test_a_day_ending_at_midnight():
    slots = cut_day(date(2026, 6, 6), time(23), time(0), 30, 0, "Asia/Kathmandu")
    assert len(slots) == 2 and slots[-1][1].astimezone(ZoneInfo("Asia/Kathmandu")).strftime("%H:%M") == "00:00"


@pytest.mark.parametrize("slot, gap", [(0, 5), (20, -1)])
def test_nonsense_lengths_are_refused(slot, gap):
    with pytest.raises(ValueError):
        cut_day(date(2026, 6, 6), time(10), time(12), slot, gap, "UTC")
