"""Run every benchmark in bench/ and print their figures."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("bench_engine.py", "bench_slots.py", "bench_reads.py", "bench_booking.py", "bench_widget.py",
               "bench_lighthouse.py", "load_test.py"):
    path = HERE / script
    if not path.exists():
        continue
    print(f"\n=== {script}", flush=True)
    subprocess.run([sys.executable, str(path)], cwd=HERE.parent, check=False)
