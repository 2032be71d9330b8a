"""Stage cli: SIGTERM and SIGHUP stop a batch as Ctrl-C does (docker stop, systemd, CI, a closed terminal).

Python turns SIGINT into KeyboardInterrupt; these handlers raise its subclass
``StopRequested`` in the main thread, so one path (the worker pool's) stops
starting videos, lets running steps end for a few seconds, logs unfinished
videos as retryable and prints the summary. A signal the parent set to be
ignored (``nohup``) stays ignored.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from yt_study_buddy.errors import StopRequested

__all__ = ["stop_on_signals", "STOP_SIGNALS", "GRACE_SECONDS"]

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
#: How long running steps may take to end after SIGTERM; docker stop waits 10 s before SIGKILL.
GRACE_SECONDS = 5.0


@contextmanager
def stop_on_signals(grace: float = GRACE_SECONDS) -> Iterator[None]:
    """While active, SIGTERM and SIGHUP raise StopRequested in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (and receives them)
        return

    def handle(signum: int, frame: object) -> None:
        raise StopRequested(f"terminated ({signal.Signals(signum).name})", grace=grace)

    previous = {}
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is signal.SIG_IGN:
            continue
        previous[signum] = signal.signal(signum, handle)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
