"""Stage cli: terminal progress: a live bar with a line per running video, or plain lines when piped."""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from yt_study_buddy.events import JobEvent, Stage
from yt_study_buddy.models import ProcessingResult

__all__ = ["TerminalProgress"]

_STAGE_LABEL = {
    Stage.STARTED: "fetching transcript",
    Stage.FETCHED: "writing notes",
    Stage.GENERATED: "saving",
    Stage.WRITTEN: "saved",
    Stage.SKIPPED: "already done",
    Stage.FAILED: "failed",
}


def _short(text: str | None, width: int = 48) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


class TerminalProgress:
    """Render job events and results for a terminal; use as a context manager."""

    def __init__(self, total: int, stream: TextIO | None = None, live: bool | None = None):
        self.total = total
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.done = self.failed = self.not_finished = 0
        self._lock = threading.Lock()
        self._progress: Any = None
        self._overall: Any = None
        self._rows: dict[str, Any] = {}
        self._live: Any = None
        self._overall_view: Any = None
        self._gone = False
        self._wait_text: str | None = None
        self._wait_row: Any = None

    def __enter__(self) -> "TerminalProgress":
        if self.live and self.total:
            from rich.console import Console, Group
            from rich.live import Live
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            console = Console(file=self.stream)
            # Two progress groups in one live view: the batch bar with counts and
            # ETA, and a spinner line per running video with its current stage.
            self._overall_view = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), console=console,
            )
            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                      TimeElapsedColumn(), console=console)
            self._overall = self._overall_view.add_task("Videos", total=self.total, counts="")
            self._live = Live(Group(self._overall_view, self._progress), console=console,
                              refresh_per_second=8, transient=False)
            self._live.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.stop()

    def on_event(self, event: JobEvent) -> None:
        """Show a video's stage change (live mode only: plain mode prints results) or a batch-wide wait."""
        if event.stage == Stage.WAITING:
            self._show_wait(event)
            return
        if self._progress is None:
            return
        key = event.video_id or event.url
        # A long lecture says which of its parts are written: minutes pass between stages.
        label = f"writing notes, {event.detail}" if event.stage == Stage.PART else _STAGE_LABEL.get(event.stage)
        with self._lock:
            row = self._rows.get(key)
            if event.stage == Stage.DONE:
                if row is not None:
                    self._progress.remove_task(row)
                    del self._rows[key]
                return
            if label is None:
                return
            description = f"  {_short(event.title or event.video_id, 40)} · {label}"
            if row is None:
                self._rows[key] = self._progress.add_task(description, total=None)
            else:
                self._progress.update(row, description=description)

    def _show_wait(self, event: JobEvent) -> None:
        """A line saying what the whole batch waits for (a rate limit, a Message Batch), or none."""
        text = event.wait_text()
        with self._lock:
            if text == self._wait_text:
                return
            self._wait_text = text
            if self._progress is None:
                if text:
                    print(f"… {text}", file=self.stream, flush=True)
                return
            if self._wait_row is not None:
                self._progress.remove_task(self._wait_row)
                self._wait_row = None
            if text:
                self._wait_row = self._progress.add_task(f"  {text}", total=None)

    def on_result(self, result: ProcessingResult, completed: int, total: int) -> None:
        """Count a finished video and print a line for it."""
        with self._lock:
            if result.ok:
                self.done += 1
            elif result.not_finished:
                self.not_finished += 1
            else:
                self.failed += 1
            counts = f"{self.done} done, {self.failed} failed"
            if self.not_finished:
                counts += f", {self.not_finished} not finished"
        name = _short(result.title or result.video_id or result.url, 60)
        if result.not_finished and self._live is not None:
            line = None  # the bar's count says it; the summary gives the one reason
        elif result.not_finished:
            line = f"[{completed}/{total}] - {name}: not finished"
        elif result.skipped:
            line = f"[{completed}/{total}] = {name} (already done)"
        elif result.ok:
            line = f"[{completed}/{total}] ✓ {name} ({result.method}, {result.duration_seconds:.1f}s)"
        else:
            line = f"[{completed}/{total}] ✗ {name}: {result.error}"
        if self._live is not None:
            self._overall_view.update(self._overall, completed=completed, counts=counts)
            if line:
                self._live.console.print(line, markup=False, highlight=False)
        elif line and not self._gone:
            try:
                print(line, file=self.stream, flush=True)
            except OSError:  # the reader left (`| head`) or the terminal closed: the batch goes on
                self._gone = True
