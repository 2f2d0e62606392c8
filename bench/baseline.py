"""Today's code beside the new: a copy of the repository at a baseline commit, so a bench can run the
same figures against both in one process (the machine is shared and noisy; only side-by-side ratios
mean something).

``baseline_root()`` extracts ``git archive BASELINE_REF`` once into a cache directory and returns its
path; start a server from it with ``GunicornApp(..., root=baseline_root())`` or with ``cwd`` and
``PYTHONPATH`` set to it. ``KAIROS_BASELINE_REF`` picks another commit (default: main before the
speed work of issue #19).
"""
from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# main just before issue #19 (speed and scale) started.
BASELINE_REF = os.environ.get("KAIROS_BASELINE_REF", "522cff7")


def baseline_root(ref: str = BASELINE_REF) -> Path:
    """The repository as it was at ``ref``, extracted once per commit; raises if git cannot find it."""
    sha = subprocess.run(["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    target = Path(tempfile.gettempdir()) / f"kairos-baseline-{sha[:12]}"
    if not (target / ".complete").exists():
        archive = subprocess.run(["git", "archive", "--format=tar", sha], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
        (target / ".complete").touch()
    return target
