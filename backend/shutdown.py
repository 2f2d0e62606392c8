"""TERM and Ctrl-C as a stop request: one event, set by the signal handlers, that a long-running loop polls.

Standard library only, so ``backend/__main__.py`` can install the handlers before anything of the app loads.
"""
from __future__ import annotations

import signal
import threading

_stop = threading.Event()
_listening = False


def listen() -> threading.Event:
    """Make TERM and INT set the returned event instead of killing the process (idempotent).

    Call it from the main thread. The event is the process's one stop request: a second call returns the
    same event, so a TERM that arrived between two calls is not forgotten.
    """
    global _listening
    if not _listening:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: _stop.set())
        _listening = True
    return _stop
