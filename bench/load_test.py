"""The load test: gunicorn (4 workers) on PostgreSQL, 1,000 experts, page views and bookings in the
widget's mix, today's code and the baseline's in one run.

Each code gets a fresh database and its own gunicorn; ``tests/load.py`` seeds the experts and runs
the visitors: ``--users`` concurrent visitors for ``--seconds`` (``LOAD_SECONDS``), each visit the
expert page plus a week of slots, every 50th visit also a booking of a slot it was shown (experts
picked by Zipf-like popularity, so bookings race for the same times). A short warm-up of views comes
first and is not counted. Reported per request kind: requests/s, p50/p95/p99 in ms and errors (any
answer but 200 for a view, 201/409 for a booking, or none at all); then bookings created (201s, and
the rows in the database) and double bookings (overlapping confirmed bookings of one expert, by SQL).

Exits 1 when today's code answered anything unexpected, lost or invented a booking, or double-booked.
The baseline's figures are printed beside it for the ratio (``--no-baseline`` skips it).

Run from the repository root:  .venv/bin/python bench/load_test.py [--seconds 30] [--users 32]
(``make load``; ``LOAD_SECONDS=300 make load`` for a longer run).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.baseline import BASELINE_REF, baseline_root  # noqa: E402
from tests import pg  # noqa: E402
from tests.live import ROOT, GunicornApp  # noqa: E402
from tests.load import EXPECTED, KINDS, VIEWS_PER_BOOKING, Visitors, overlapping_bookings, percentile, seed_experts  # noqa: E402

WARM_UP_SECONDS = 3.0


@dataclass
class Result:
    """One code's run: its visitors, how long they ran, and what the database holds afterwards."""

    label: str
    visitors: Visitors
    seconds: float
    seed_seconds: float
    rows: int
    overlaps: int

    def errors(self) -> int:
        return sum(1 for s in self.visitors.samples if s.status not in EXPECTED[s.kind])

    def created(self) -> int:
        return sum(1 for b in self.visitors.bookings if b.status == 201)

    def rate(self, kind: str | None = None) -> float:
        return sum(1 for s in self.visitors.samples if kind in (None, s.kind)) / self.seconds

    def p50(self, kind: str) -> float:
        return percentile([s.seconds for s in self.visitors.samples if s.kind == kind], 0.5)

    def failed(self) -> list[str]:
        """Why this run breaks a promise (empty when it keeps them all)."""
        reasons = []
        if self.errors():
            first = next(s for s in self.visitors.samples if s.status not in EXPECTED[s.kind])
            reasons.append(f"{self.errors()} unexpected answers (first: {first.kind} {first.status} {first.error})")
        if self.created() != self.rows:
            reasons.append(f"{self.created()} bookings answered 201 but {self.rows} rows in the database")
        if self.overlaps:
            reasons.append(f"{self.overlaps} double bookings")
        return reasons


def run(label: str, root: Path, *, seconds: float, experts: int, users: int) -> Result:
    """Serve ``root``'s code on a fresh database, seed it, warm it up, load it; drop it afterwards."""
    url = pg.create_database(f"kairos_load_{uuid.uuid4().hex[:8]}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = GunicornApp(url, Path(tmp), workers=4, root=root).start()
            try:
                t0 = time.perf_counter()
                slugs = seed_experts(app, experts)
                seeded = time.perf_counter() - t0
                # Every worker imports and connects before the clock starts; views only, so no booking is lost.
                Visitors(app.url, slugs, users=users, views_per_booking=10**9, seed=99).run(WARM_UP_SECONDS)
                t0 = time.monotonic()
                visitors = Visitors(app.url, slugs, users=users).run(seconds)
                elapsed = time.monotonic() - t0
            finally:
                app.stop()
        with pg.connect(url) as conn:
            rows = conn.execute("SELECT count(*) FROM booking").fetchone()[0]
        return Result(label, visitors, elapsed, seeded, rows, len(overlapping_bookings(url)))
    finally:
        pg.drop_database(url)


def report(result: Result) -> None:
    samples = result.visitors.samples
    for kind in (*KINDS, None):
        times = [s.seconds for s in samples if kind in (None, s.kind)]
        errors = sum(1 for s in samples if kind in (None, s.kind) and s.status not in EXPECTED[s.kind])
        extra = ""
        if kind == "booking":
            statuses = [b.status for b in result.visitors.bookings]
            extra = f"  201: {statuses.count(201)}, 409: {statuses.count(409)}"
        print(f"{result.label:<9} {kind or 'all':<15} {len(times):>7} {result.rate(kind):>8.1f} "
              f"{percentile(times, .5) * 1000:>7.1f} {percentile(times, .95) * 1000:>7.1f} "
              f"{percentile(times, .99) * 1000:>7.1f} {errors:>6}{extra}")
    print(f"{result.label:<9} bookings created {result.created()} (rows in the database: {result.rows}), "
          f"double bookings {result.overlaps}; seeding took {result.seed_seconds:.1f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("LOAD_SECONDS", 30)))
    parser.add_argument("--experts", type=int, default=1000)
    parser.add_argument("--users", type=int, default=int(os.environ.get("LOAD_USERS", 32)))
    parser.add_argument("--no-baseline", action="store_true", help="only today's code")
    args = parser.parse_args()
    reason = pg.unreachable_reason()
    if reason:
        print(f"load test needs PostgreSQL: {reason}")
        return 1
    print(f"load test: gunicorn 4 workers on PostgreSQL, {args.experts:,} experts, {args.users} concurrent "
          f"visitors, {args.seconds:g} s, {VIEWS_PER_BOOKING} page views (expert page + 7 days of slots) per booking")
    print(f"{'code':<9} {'kind':<15} {'requests':>7} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}")
    new = run("new", ROOT, seconds=args.seconds, experts=args.experts, users=args.users)
    report(new)
    if not args.no_baseline:
        try:
            old_root = baseline_root()
        except subprocess.CalledProcessError as error:  # a shallow clone lacks the commit: say so, go on
            print(f"baseline {BASELINE_REF} skipped: {error.stderr.strip() if error.stderr else error}")
        else:
            old = run("baseline", old_root, seconds=args.seconds, experts=args.experts, users=args.users)
            report(old)
            ratios = ", ".join(f"{kind} {new.rate(kind) / max(old.rate(kind), 1e-9):.2f}x req/s "
                               f"(p50 {new.p50(kind) * 1000:.1f} vs {old.p50(kind) * 1000:.1f} ms)"
                               for kind in KINDS)
            print(f"new / baseline: all {new.rate() / max(old.rate(), 1e-9):.2f}x req/s; {ratios}")
    problems = new.failed()
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
