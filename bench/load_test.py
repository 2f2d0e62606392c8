"""The load test: gunicorn (4 workers) on PostgreSQL, 1,000 experts, page views and bookings in the
widget's mix, today's code and the baseline's in one run.

Each code gets a fresh database and its own gunicorn, all started at once; ``tests/load.py`` seeds the
experts and runs the visitors: ``--users`` concurrent visitors for ``--seconds`` (``LOAD_SECONDS``) per
code, in ``--rounds`` phases that alternate between the codes (the machine is shared: a change in its
load falls on both alike, and only their ratio means much), each visit the
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

from bench import cpu  # noqa: E402
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
    cpu_ms: dict[str, float]  # CPU per request: the server's processes, the database's backends

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


def run(codes: list[tuple[str, Path]], *, seconds: float, experts: int, users: int, rounds: int) -> list[Result]:
    """Serve each code on its own fresh database, seed and warm them all, then load them in ``rounds``
    phases each, alternating between the codes (a change in the shared machine's load falls on all
    alike); drop the databases afterwards."""
    started: list[tuple[str, GunicornApp, str, list[str], float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for label, root in codes:
                url = pg.create_database(f"kairos_load_{uuid.uuid4().hex[:8]}")
                (Path(tmp) / label).mkdir()
                app = GunicornApp(url, Path(tmp) / label, workers=4, root=root)
                started.append((label, app, url, [], 0.0))
                app.start()
                t0 = time.perf_counter()
                slugs = seed_experts(app, experts)
                started[-1] = (label, app, url, slugs, time.perf_counter() - t0)
                # Every worker imports and connects before the clock starts; views only, so no booking is lost.
                Visitors(app.url, slugs, users=users, views_per_booking=10**9, seed=99).run(WARM_UP_SECONDS)
            visitors = {label: Visitors(app.url, slugs, users=users) for label, app, _, slugs, _ in started}
            elapsed = dict.fromkeys(visitors, 0.0)
            used = {label: {"server": 0.0, "database": 0.0} for label in visitors}
            for r in range(rounds):
                for label, app, url, _, _ in (started if r % 2 == 0 else started[::-1]):
                    server, database = cpu.server_pids(app), cpu.database_pids(url)
                    before = (cpu.seconds(server), cpu.seconds(database))
                    t0 = time.monotonic()
                    visitors[label].run(seconds / rounds)
                    elapsed[label] += time.monotonic() - t0
                    database |= cpu.database_pids(url)
                    used[label]["server"] += cpu.seconds(server) - before[0]
                    used[label]["database"] += cpu.seconds(database) - before[1]
            results = []
            for label, app, url, _, seeded in started:
                app.stop()
                with pg.connect(url) as conn:
                    rows = conn.execute("SELECT count(*) FROM booking").fetchone()[0]
                count = max(len(visitors[label].samples), 1)
                results.append(Result(label, visitors[label], elapsed[label], seeded, rows,
                                      len(overlapping_bookings(url)),
                                      {k: 1000 * v / count for k, v in used[label].items()}))
            return results
        finally:
            for _, app, url, _, _ in started:
                app.stop()
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
          f"double bookings {result.overlaps}; seeding took {result.seed_seconds:.1f} s; CPU per request: "
          f"server {result.cpu_ms['server']:.2f} ms, database {result.cpu_ms['database']:.2f} ms", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("LOAD_SECONDS", 30)))
    parser.add_argument("--experts", type=int, default=1000)
    parser.add_argument("--users", type=int, default=int(os.environ.get("LOAD_USERS", 32)))
    parser.add_argument("--rounds", type=int, default=4, help="load phases per code, alternating between them")
    parser.add_argument("--no-baseline", action="store_true", help="only today's code")
    args = parser.parse_args()
    reason = pg.unreachable_reason()
    if reason:
        print(f"load test needs PostgreSQL: {reason}")
        return 1
    print(f"load test: gunicorn 4 workers on PostgreSQL, {args.experts:,} experts, {args.users} concurrent "
          f"visitors, {args.seconds:g} s, {VIEWS_PER_BOOKING} page views (expert page + 7 days of slots) per booking")
    print(f"{'code':<9} {'kind':<15} {'requests':>7} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}")
    codes = [("new", ROOT)]
    if not args.no_baseline:
        try:
            codes.append(("baseline", baseline_root()))
        except subprocess.CalledProcessError as error:  # a shallow clone lacks the commit: say so, go on
            print(f"baseline {BASELINE_REF} skipped: {error.stderr.strip() if error.stderr else error}")
    results = run(codes, seconds=args.seconds, experts=args.experts, users=args.users, rounds=args.rounds)
    for result in results:
        report(result)
    new = results[0]
    if len(results) > 1:
        old = results[1]
        ratios = ", ".join(f"{kind} {new.rate(kind) / max(old.rate(kind), 1e-9):.2f}x req/s "
                           f"(p50 {new.p50(kind) * 1000:.1f} vs {old.p50(kind) * 1000:.1f} ms)"
                           for kind in KINDS)
        print(f"new / baseline: all {new.rate() / max(old.rate(), 1e-9):.2f}x req/s; {ratios}; CPU per request "
              f"(server + database) {sum(old.cpu_ms.values()):.2f} -> {sum(new.cpu_ms.values()):.2f} ms")
    problems = new.failed()
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
