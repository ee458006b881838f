"""Serving until the operator stops it: SIGTERM or SIGINT (main thread only) ends the wait; the previous
handlers come back afterwards, whatever happened."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

log = logging.getLogger("simtool.vpcd")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stop_requested() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT while the block runs."""
    requested = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: closing every card", signum)
        requested.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        yield requested
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
