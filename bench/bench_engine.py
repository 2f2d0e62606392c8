"""Benchmark of the slot engine alone (no Flask, no database).

Scenario (issue 3): one expert in America/New_York, Mon-Fri 09:00-12:00 and 13:00-17:00,
a 30-minute service every 15 minutes with 10/10-minute buffers, 50 date overrides and N existing
bookings spread over the next 90 days; slots are asked for a 62-day window. Bookings are loaded the
way the API does (only those in ``busy_window``), then ``personal_slots`` is timed.

Run from the repository root:  .venv/bin/python bench/bench_engine.py [--runs 50]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.slot_engine import (  # noqa: E402
    Availability,
    Busy,
    ServiceRules,
    busy_window,
    is_bookable,
    local_dates_window,
    personal_slots,
)

ZONE = "America/New_York"
TODAY = date(2026, 10, 1)  # the window crosses the November DST change on purpose
NOW = datetime(2026, 10, 1, 8, 0, tzinfo=ZoneInfo(ZONE)).astimezone(timezone.utc)
RULES = ServiceRules(duration_minutes=30, interval_minutes=15, buffer_before_minutes=10, buffer_after_minutes=10)


def availability(rng: random.Random) -> Availability:
    """Mon-Fri with a lunch break, plus 50 overrides (days off and other hours) in the next 90 days."""
    weekly = {wd: [(time(9), time(12)), (time(13), time(17))] for wd in range(5)}
    overrides: dict[date, list[tuple[time, time]]] = {}
    for day in rng.sample(range(90), 50):
        d = TODAY + timedelta(days=day)
        overrides[d] = [] if rng.random() < 0.4 else [(time(rng.choice([8, 10, 14])), time(rng.choice([18, 19, 20])))]
    return Availability(ZONE, weekly, overrides)


def bookings(rng: random.Random, n: int, evenings: bool = False) -> list[Busy]:
    """n bookings/holds over the next 90 days, at 15-minute local starts between 07:00 and 19:00.

    Sorted by start, as the database query returns them. 2,000 bookings in 90 days cannot fit
    in 7 working hours a day, so they overlap each other and leave few slots; at 10,000 the
    engine does not care, and it makes that row the worst case for the busy sweep. With
    ``evenings`` they fall between 17:30 and 03:15 instead: every slot survives and every booking
    must still be swept, the most work per call.
    """
    tz = ZoneInfo(ZONE)
    first, count = (time(17, 30), 40) if evenings else (time(7), 48)
    result = []
    for _ in range(n):
        d = TODAY + timedelta(days=rng.randrange(90))
        local = datetime.combine(d, first, tz) + timedelta(minutes=15 * rng.randrange(count))
        start = local.astimezone(timezone.utc)
        result.append(
            Busy(
                start,
                start + timedelta(minutes=rng.choice([15, 30, 30, 60])),
                buffer_before_minutes=rng.choice([0, 5, 10]),
                buffer_after_minutes=rng.choice([0, 5, 10, 15]),
                same_service=rng.random() < 0.5,
            )
        )
    result.sort(key=lambda b: b.start)
    return result


def timed(fn, runs: int) -> tuple[float, float, object]:
    """Median and p90 in milliseconds over ``runs`` calls (after one warm-up), and the last result."""
    result = fn()
    samples = []
    for _ in range(runs):
        t0 = clock.perf_counter()
        result = fn()
        samples.append((clock.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.9))], result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    rng = random.Random(20261001)
    avail = availability(rng)
    ws, we = local_dates_window(TODAY, TODAY + timedelta(days=61), ZONE)  # 62 local dates
    lo, hi = busy_window(RULES, ws, we)

    print(f"slot engine alone: 62-day window {TODAY} .. {TODAY + timedelta(days=61)} ({ZONE}), "
          f"30 min every 15 min, buffers 10/10, 50 overrides, median/p90 of {args.runs} runs")
    print()
    header = (f"{'bookings':>16} {'loaded':>7} {'slots':>6} {'median ms':>10} {'p90 ms':>8} "
              f"{'us/(slot+booking)':>18} {'x time vs 2k':>13} {'x (slots+bookings)':>19}")
    print(header)
    print("-" * len(header))
    rows = []
    for n, evenings in ((0, False), (500, False), (2_000, False), (10_000, False), (2_000, True)):
        busy = bookings(random.Random(n), n, evenings)
        loaded = [b for b in busy if b.start < hi and b.end > lo]  # what the DB query returns
        median, p90, slots = timed(lambda: personal_slots(avail, RULES, loaded, ws, we, NOW), args.runs)
        label = f"{n:,}" + (" evenings" if evenings else "")
        rows.append((label, len(loaded), len(slots), median, p90))  # type: ignore[arg-type]
    base = next(r for r in rows if r[0] == "2,000")
    for label, loaded, n_slots, median, p90 in rows:
        work = n_slots + loaded
        print(f"{label:>16} {loaded:>7,} {n_slots:>6,} {median:>10.2f} {p90:>8.2f} "
              f"{median * 1000 / max(work, 1):>18.2f} {median / base[3]:>13.2f} "
              f"{work / (base[1] + base[2]):>19.2f}")

    # The bare cost per booking: all 62 days off, so no candidate slot is ever generated.
    closed = Availability(ZONE, {}, {})
    busy = [b for b in bookings(random.Random(10_000), 10_000) if b.start < hi and b.end > lo]
    median, p90, _ = timed(lambda: personal_slots(closed, RULES, busy, ws, we, NOW), args.runs)
    print(f"\nbusy sweep only (no availability, {len(busy):,} bookings): median {median:.2f} ms, "
          f"p90 {p90:.2f} ms = {median * 1000 / len(busy):.2f} us/booking")

    # The booking check: one start, 2,000 bookings, as POST /bookings does inside its transaction.
    busy = bookings(random.Random(2_000), 2_000)
    slots = personal_slots(avail, RULES, [b for b in busy if b.start < hi and b.end > lo], ws, we, NOW)
    target = slots[len(slots) // 2].start
    blo, bhi = busy_window(RULES, target, target + timedelta(microseconds=1))
    near = [b for b in busy if b.start < bhi and b.end > blo]
    median, p90, slot = timed(lambda: is_bookable(avail, RULES, near, target, NOW), args.runs)
    assert slot is not None
    print(f"is_bookable (one start, {len(near)} bookings loaded by busy_window): "
          f"median {median:.3f} ms, p90 {p90:.3f} ms")


if __name__ == "__main__":
    main()
