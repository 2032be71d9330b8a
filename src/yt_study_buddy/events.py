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


@dataclass(frozen=True)
class JobEvent:
    """One step of one job, as shown in a progress bar or table."""

    stage: str
    video_id: str
    url: str
    title: str | None = None
    detail: str | None = None
    at: float = field(default_factory=time.monotonic)


EventSink = Callable[[JobEvent], None]


def safe_emit(sink: EventSink | None, event: JobEvent) -> None:
    """Deliver an event; a broken handler is logged, never breaks the job."""
    if sink is None:
        return
    try:
        sink(event)
    except Exception:  # noqa: BLE001 - a UI bug must not fail paid work
        log.warning("progress handler failed on %s event", event.stage, exc_info=True)
