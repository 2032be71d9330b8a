"""Stage webui: run a batch in a background thread and turn its reports into what the page shows.

Worker threads never touch Streamlit: the library's callbacks only put
messages on a ``queue.Queue``. Script threads drain the queue with
``BatchRunner.poll`` and render ``BatchView``; several browser sessions may
follow one batch, so folding and reading the view happen under the runner's
lock. ``RunnerRegistry`` keeps the one running batch per vault, so a reloaded
page finds it again. No Streamlit import here.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from yt_study_buddy.vault.atomic import atomic_write_bytes
from yt_study_buddy.config import redact
from yt_study_buddy.errors import InputError, StudyBuddyError
from yt_study_buddy.events import JobEvent, Stage
from yt_study_buddy.models import ResultStatus
from yt_study_buddy.vault.filenames import safe_filename
from yt_study_buddy.sources.inputs import CAPTION_SUFFIXES, Entry, looks_like_a_list, read_list_file

__all__ = [
    "Channel",
    "JobRow",
    "BatchView",
    "BatchRunner",
    "RunnerRegistry",
    "STOP_HELP",
    "save_uploads",
    "save_caption_uploads",
    "read_uploaded_list",
    "entries_from_text",
    "log_rows",
    "failure_rows",
    "UPLOADS_FOLDER",
]

log = logging.getLogger(__name__)

UPLOADS_FOLDER = "uploads"

#: What Stop really does (see BatchRunner.cancel); shown as the button's tooltip.
STOP_HELP = ("Starts no new videos and cancels those waiting their turn; a request already in "
             "flight finishes first. Finished notes and paid work are kept: notes generated for a "
             "stopped video are reused when you retry it.")

_RUNNING_STATES = frozenset({"fetching transcript", "writing notes", "saving"})

_STATE_BY_STAGE = {
    Stage.QUEUED: "queued",
    Stage.STARTED: "fetching transcript",
    Stage.FETCHED: "writing notes",
    Stage.GENERATED: "saving",
    Stage.WRITTEN: "done",
    Stage.SKIPPED: "skipped (already in the vault)",
    Stage.FAILED: "failed",
}


class Channel:
    """Callbacks for the library that only enqueue messages (safe from any thread)."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[Any, ...]] = queue.Queue()

    def progress(self, status: str, completed: int, total: int) -> None:
        """progress_callback(status, completed, total)."""
        self.queue.put(("progress", status, completed, total))

    def result(self, result: Any, completed: int, total: int) -> None:
        """result_callback(ProcessingResult, completed, total)."""
        self.queue.put(("result", result, completed, total))

    def event(self, event: JobEvent) -> None:
        """event_sink(JobEvent)."""
        self.queue.put(("event", event))

    def put(self, *message: Any) -> None:
        """Enqueue a message of the runner itself."""
        self.queue.put(message)


@dataclass
class JobRow:
    """One line of the live table."""

    key: str
    url: str
    title: str = ""
    state: str = "queued"
    started: float | None = None
    seconds: float | None = None
    method: str = ""
    error: str = ""

    def as_dict(self, now: float) -> dict[str, Any]:
        """Return the table columns; a running job shows its time so far."""
        seconds = self.seconds
        if seconds is None and self.started is not None:
            seconds = max(0.0, now - self.started)
        # Text, so a video that has not started shows an empty cell rather than "None".
        return {"title": self.title or self.url, "state": self.state,
                "time (s)": "" if seconds is None else f"{seconds:.1f}",
                "method": self.method, "error": self.error}


@dataclass
class BatchView:
    """Everything the page shows about one batch; updated in the script thread only."""

    rows: dict[str, JobRow] = field(default_factory=dict)
    completed: int = 0
    total: int = 0
    status: str = "starting"
    finished: bool = False
    error: str | None = None
    summary: str = ""
    report: Any = None
    #: every video was already in the vault: nothing was processed (the page offers to force it)
    nothing_new: bool = False
    #: set by BatchRunner.cancel (script thread) when the user pressed Stop
    cancelled: bool = False
    #: the batch-wide wait in force (a rate limit, a Message Batch), or None
    waiting: JobEvent | None = None
    started_at: float = field(default_factory=time.monotonic)

    @property
    def fraction(self) -> float:
        """Share of videos finished, 0.0 to 1.0."""
        if self.finished:
            return 1.0
        return min(1.0, self.completed / self.total) if self.total else 0.0

    def counts(self) -> dict[str, int]:
        """Videos of the batch by outcome so far: done, running, failed, cancelled (rejects excluded)."""
        counts = {"done": 0, "running": 0, "failed": 0, "cancelled": 0}
        for row in self.rows.values():
            if row.state in ("done", _STATE_BY_STAGE[Stage.SKIPPED]):
                counts["done"] += 1
            elif row.state in _RUNNING_STATES:
                counts["running"] += 1
            elif row.state.startswith("failed"):
                counts["failed"] += 1
            elif row.state in ("cancelled", "not started"):
                counts["cancelled"] += 1
        return counts

    @property
    def status_text(self) -> str:
        """One line for under the progress bar."""
        if self.finished:
            return self.error or self.summary
        if not self.total:
            return "Resolving links (playlists are expanded)…"
        counts = self.counts()
        parts = [f"Processing: {counts['done']}/{self.total} done", f"{counts['running']} running"]
        parts += [f"{counts[k]} {k}" for k in ("failed", "cancelled") if counts[k]]
        text = " · ".join(parts)
        wait = self.waiting.wait_text() if self.waiting is not None else None
        if wait:
            text += f" · {wait}"
        if self.cancelled:
            text += " — stopping: waiting videos are cancelled, requests in flight finish"
        return text

    def table(self, now: float | None = None) -> list[dict[str, Any]]:
        """Rows of the live table, in input order."""
        at = time.monotonic() if now is None else now
        return [row.as_dict(at) for row in self.rows.values()]

    def _row(self, key: str, url: str) -> JobRow:
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = JobRow(key=key, url=url)
        return row

    def apply(self, message: tuple[Any, ...]) -> None:
        """Fold one queued message into the view."""
        kind = message[0]
        if kind == "resolved":
            sources, rejected = message[1], message[2]
            for number, item in enumerate(rejected):
                row = self._row(f"rejected-{number}", item.entry.text[:200])
                row.state, row.error = "rejected", redact(item.error.reason)
            for source in sources:
                self._row(source.url, source.url)
            self.total = len(sources)
        elif kind == "progress":
            _, self.status, self.completed, self.total = message
        elif kind == "event":
            self._apply_event(message[1])
        elif kind == "result":
            self._apply_result(message[1])
        elif kind == "report":
            self._apply_report(message[1])
        elif kind == "error":
            self.error = message[1]
        elif kind == "finished":
            self.finished = True

    def _apply_event(self, event: JobEvent) -> None:
        if event.stage == Stage.WAITING:
            self.waiting = event if event.detail else None
            return
        row = self._row(event.url, event.url)
        if event.title:
            row.title = event.title
        if event.stage == Stage.STARTED:
            row.started = event.at
        if event.stage == Stage.FAILED:
            row.error = redact(event.detail or "")
        if event.stage in _STATE_BY_STAGE and row.state not in ("done", "failed"):
            row.state = _STATE_BY_STAGE[event.stage]
        elif event.stage == Stage.PART and row.state not in ("done", "failed"):
            row.state = f"writing notes ({event.detail})"  # a long lecture, part by part

    def _apply_result(self, result: Any) -> None:
        row = self._row(result.url, result.url)
        row.title = result.title or row.title
        row.seconds = float(result.duration_seconds)
        row.method = result.method or row.method
        status = ResultStatus(result.status)
        if status is ResultStatus.SKIPPED:
            row.state = _STATE_BY_STAGE[Stage.SKIPPED]
        elif status is ResultStatus.DONE:
            row.state, row.error = "done", ""
        elif status is ResultStatus.CANCELLED:
            row.state, row.error = "cancelled", redact(result.error or "")
        else:
            row.state = "failed (can retry)" if result.retryable else "failed"
            row.error = redact(result.error or "")

    def _apply_report(self, report: Any) -> None:
        self.report = report
        videos = [r for r in report.results if not r.rejected]
        for result in videos:
            self._apply_result(result)
        # Counted from the results themselves: rejected inputs are not videos, stopped ones not failures.
        names = {ResultStatus.DONE: "done", ResultStatus.FAILED: "failed",
                 ResultStatus.SKIPPED: "already in the vault", ResultStatus.CANCELLED: "cancelled"}
        count = dict.fromkeys(names.values(), 0)
        for r in videos:
            count[names[r.status]] += 1
        rejected = len(report.results) - len(videos)
        wall = time.monotonic() - self.started_at
        parts = [f"{count['done']} done", f"{count['failed']} failed"]
        parts += [f"{n} {name}" for name, n in list(count.items())[2:] if n]
        if rejected:
            parts.append(f"{rejected} input{'s' if rejected != 1 else ''} rejected")
        self.summary = f"Finished: {len(videos)} videos in {wall:.1f} s — " + ", ".join(parts)
        self.nothing_new = bool(videos) and count["already in the vault"] == len(videos)
        if self.nothing_new:
            self.summary = (f"Nothing new: {'the video was' if len(videos) == 1 else f'all {len(videos)} videos were'}"
                            " already in the vault, so nothing was processed.")
        if report.interrupted or self.cancelled:
            self.summary += f". Stopped early: {report.stop_reason or 'stopped at your request'}"
        if report.links_written and count["done"]:
            # Only a run that wrote notes has written links; a no-op only found them in place.
            self.summary += f"; {report.links_written} cross-links written"
        usage = report.metrics.usage_lines()
        if usage:
            self.summary += "\n" + "\n".join(usage)


class BatchRunner:
    """Resolve and process entries with a YouTubeStudyNotes app in a daemon thread."""

    def __init__(self, app: Any, entries: Sequence[Entry], channel: Channel):
        self.app = app
        self.entries = list(entries)
        self.channel = channel
        self.view = BatchView()
        #: the registry key of the vault it writes to (set by RunnerRegistry.start)
        self.folder: str | None = None
        #: held while folding messages into the view or reading it (sessions share a runner)
        self.lock = threading.RLock()
        self._thread = threading.Thread(target=self._work, name="study-buddy-batch", daemon=True)

    def start(self) -> "BatchRunner":
        """Start the batch in the background."""
        self._thread.start()
        return self

    def _work(self) -> None:
        put = self.channel.put
        try:
            sources, rejected = self.app.resolve(self.entries)
            put("resolved", sources, rejected)
            put("report", self.app.run(sources, rejected))
        except StudyBuddyError as exc:
            put("error", f"Stopped: {redact(exc.reason)}")
        except Exception as exc:  # noqa: BLE001 - shown on the page instead of a silent dead thread
            log.error("batch failed", exc_info=True)
            put("error", redact(f"Stopped by an unexpected error: {type(exc).__name__}"))
        finally:
            close = getattr(self.app, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # noqa: BLE001
                    log.debug("close failed", exc_info=True)
            put("finished")

    def poll(self, timeout: float = 0.0) -> bool:
        """Fold queued messages into the view, waiting up to timeout for the first; True when finished."""
        try:
            message = self.channel.queue.get(timeout=timeout) if timeout > 0 else self.channel.queue.get_nowait()
        except queue.Empty:
            return self.view.finished
        # Under the lock: messages taken by two sessions must still be applied in queue order.
        with self.lock:
            while True:
                self.view.apply(message)
                try:
                    message = self.channel.queue.get_nowait()
                except queue.Empty:
                    return self.view.finished

    def cancel(self) -> None:
        """Stop starting videos and cancel those waiting on a limiter or between stages.

        A network call already in flight completes; finished notes stay in the
        vault and generated-but-unsaved notes stay cached for a retry.
        """
        self.view.cancelled = True
        self.app.limits.cancel.set()

    @property
    def finished(self) -> bool:
        """True once the final message has been folded into the view."""
        return self.view.finished

    @property
    def alive(self) -> bool:
        """True while the batch thread runs, whether or not anyone polls the view."""
        return self._thread.is_alive()


class RunnerRegistry:
    """The running batch of each vault in this process, so any browser session can find it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runners: dict[str, BatchRunner] = {}

    @staticmethod
    def key(folder: str | Path) -> str:
        """The registry key of an output folder: its resolved absolute path."""
        return str(Path(folder).expanduser().resolve())

    def active(self, folder: str | Path) -> BatchRunner | None:
        """The batch running on folder, or None."""
        with self._lock:
            runner = self._runners.get(self.key(folder))
            return runner if runner is not None and runner.alive else None

    def start(self, folder: str | Path, runner: BatchRunner) -> bool:
        """Start runner as folder's batch; False (not started) if another batch runs there."""
        key = self.key(folder)
        with self._lock:
            current = self._runners.get(key)
            if current is not None and current.alive:
                return False
            # Drop batches that ended so the registry holds only live ones and the newest.
            for old in [k for k, r in self._runners.items() if not r.alive]:
                del self._runners[old]
            runner.folder = key
            self._runners[key] = runner.start()
            return True


def entries_from_text(text: str) -> list[Entry]:
    """One entry per non-blank line of the text area; # starts a comment line."""
    return [Entry(line.strip(), f"line {number}") for number, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.strip().startswith("#")]


def _upload_name(name: str, allowed: Sequence[str]) -> str:
    base = Path(name.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    suffix = f".{suffix.lower()}" if dot else ""
    if suffix not in allowed:
        raise InputError(f"{base or 'upload'}: unsupported file type (use {', '.join(allowed)})")
    return (safe_filename(stem, max_bytes=120) or "upload") + suffix


def save_uploads(folder: str | Path, files: Iterable[tuple[str, bytes]],
                 allowed: Sequence[str] = CAPTION_SUFFIXES, *, root: Path | None = None) -> list[Path]:
    """Write uploaded (name, bytes) files atomically into folder with safe names; return their paths.

    ``root``: the vault the folder lies in; a link on the way below it is refused, never followed.
    """
    target = Path(folder)
    paths: list[Path] = []
    used: dict[str, bytes] = {}
    for name, data in files:
        safe = _upload_name(name, allowed)
        stem, suffix = safe.rsplit(".", 1)[0], Path(safe).suffix
        number = 1
        # Two different uploads with one name must not overwrite each other within a batch.
        while safe in used and used[safe] != data:
            number += 1
            safe = f"{stem} ({number}){suffix}"
        used[safe] = data
        path = target / safe
        atomic_write_bytes(path, data, root=root)
        if path not in paths:
            paths.append(path)
    return paths


def save_caption_uploads(folder: str | Path, files: Iterable[tuple[str, bytes]], *,
                         root: Path | None = None) -> list[Path]:
    """Save uploaded caption files; a .txt that is a list of links or files is refused by its own name."""
    files = list(files)
    for name, data in files:
        shown = Path(name.replace("\\", "/")).name
        if shown.lower().endswith(".txt") and looks_like_a_list(data):
            raise InputError(f"{shown} is a list of links or files, not a transcript: upload it as "
                             "a list of links instead")
    return save_uploads(folder, files, root=root)


def read_uploaded_list(folder: str | Path, name: str, data: bytes, *, root: Path | None = None) -> list[Entry]:
    """Store an uploaded list of links in folder and read its entries."""
    [path] = save_uploads(folder, [(name, data)], allowed=(".txt",), root=root)
    return read_list_file(path)

_LOG_COLUMNS = ("finished_at", "title", "subject", "status", "error", "retryable",
                "duration", "cost_usd", "transcript_method", "engine", "model", "url")
_TEXT_COLUMNS = frozenset(_LOG_COLUMNS) - {"retryable", "duration", "cost_usd"}


def _dollars(value: Any) -> str:
    """A cost cell: "$0.0123", or "" when unknown (no price, nothing paid yet)."""
    return f"${value:.4f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def _text(value: Any) -> str:
    """A table cell for a text field: "" for a missing value (never the string "None")."""
    return "" if value is None else redact(str(value))


def log_rows(records: Iterable[Mapping[str, Any]], limit: int = 500) -> list[dict[str, Any]]:
    """Newest-first table rows from job-log records (only display columns, redacted)."""
    rows = []
    for record in list(records)[-limit:][::-1]:
        row = {}
        for column in _LOG_COLUMNS:
            value = record.get(column)
            row[column] = _text(value) if column in _TEXT_COLUMNS else value
        row["cost_usd"] = _dollars(record.get("cost_usd"))
        # A video stopped before its page was read has no title: name it by its id.
        row["title"] = row["title"] or _text(record.get("video_id"))
        if record.get("status") == "failed" and record.get("error_kind") == "cancelled":
            row["status"] = "cancelled"
        rows.append(row)
    return rows


def failure_rows(latest: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Videos whose latest attempt failed, with the reason and whether a retry can help."""
    rows = []
    for video_id, record in latest.items():
        if record.get("status") != "failed":
            continue
        rows.append({"title": _text(record.get("title") or video_id or record.get("url")),
                     "reason": _text(record.get("error")),
                     "can retry": bool(record.get("retryable")),
                     "when": _text(record.get("finished_at")), "url": _text(record.get("url"))})
    return rows
