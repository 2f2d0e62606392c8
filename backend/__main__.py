"""The ``kairos`` program (also ``python -m backend``): every command of ``backend/cli.py``.

``kairos worker`` listens for TERM and Ctrl-C before the app and its modules load: a deploy may stop a
worker that is still starting, and it must exit cleanly then too (``cli.worker`` polls the same event).
"""
from __future__ import annotations

import sys

from backend import shutdown


def main() -> None:
    """Run ``kairos ARGS``; for ``worker``, the stop handlers go in first."""
    if sys.argv[1:2] == ["worker"]:
        shutdown.listen()
    from backend.cli import cli  # after listen(): importing the CLI loads the whole app (see the docstring)
    cli(prog_name="kairos")


if __name__ == "__main__":
    main()
