"""Typed progress events that workers report to front ends."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Stage", "JobEvent", "EventSink", "safe_emit"]

log = logging.getLogger(__name__)


class Stage:
    """Names of the stages a job passes through."""

    QUEUED = "queued"
    STARTED = "started"
    FETCHED = "fetched"  # transcript in hand
    PART = "part"  # one part of a long lecture written (detail: "part 3 of 12")
    GENERATED = "generated"  # notes (and assessment) in hand
    WRITTEN = "written"  # files in the vault
    SKIPPED = "skipped"  # already done earlier (resume)
    FAILED = "failed"
    DONE = "done"
    #: batch-wide, not one video's (video_id ""): the batch waits (a rate limit, a Message
    #: Batch); ``detail`` says for what, ``seconds`` how long from ``at``; no detail: it's over
    WAITING = "waiting"


@dataclass(frozen=True)
class JobEvent:
    """One step of one job, as shown in a progress bar or table."""

    stage: str
    video_id: str
    url: str
    title: str | None = None
    detail: str | None = None
    at: float = field(default_factory=time.monotonic)
    #: for WAITING: the expected wait from ``at``, when known
    seconds: float | None = None

    def wait_text(self, now: float | None = None) -> str | None:
        """A WAITING event as the user reads it: 'waiting for Claude's rate limit: 3 min', or None."""
        if self.stage != Stage.WAITING or not self.detail:
            return None
        if self.seconds is None:
            return self.detail
        left = max(0.0, self.seconds - ((time.monotonic() if now is None else now) - self.at))
        return f"{self.detail}: {_duration(left)}"


def _duration(seconds: float) -> str:
    """'45 s', '3 min', '1 h 5 min': rounded up, so a wait is never shown shorter than it is."""
    whole = int(-(-seconds // 1))
    if whole < 60:
        return f"{whole} s"
    minutes = -(-whole // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


EventSink = Callable[[JobEvent], None]


def safe_emit(sink: EventSink | None, event: JobEvent) -> None:
    """Deliver an event; a broken handler is logged, never breaks the job."""
    if sink is None:
        return
    try:
        sink(event)
    except Exception:  # noqa: BLE001 - a UI bug must not fail paid work
        log.warning("progress handler failed on %s event", event.stage, exc_info=True)
