"""Stage notes: Claude calls through the Message Batches API (``--batch-api``): half price, in rounds.

Every video of a batch runs in its own thread and asks for its calls as it
would directly; ``MessageBatches.run`` holds them and sends them together:
a round goes out when every video under way (``ServiceLimits.videos_under_way``)
is waiting for Claude (or when no new request has come for ``gather_window``
seconds). The calls a video
makes next (the assessment reads the notes; a continuation reads the cut
notes) go into the next round, so the rounds follow what the work needs.
While batches run, progress (requests done of all, time elapsed) goes to
the front end; each video carries on (and its notes are written) as soon as
its results are in.

Nothing is paid twice: the batch id and which request of which video it
carries (``custom_id`` = video id, call, model) go to the vault's ledger the
moment the API returns it; a re-run after Ctrl-C, SIGTERM or ``kill -9``
finds its requests there and collects that batch's results instead of
submitting them again. Requests that come back errored, expired or canceled
are sent once more in a new batch, then reported. The transcript prefix is
cached with the 1-hour TTL, as Anthropic advises for batches (they can take
longer than the default 5 minutes between rounds).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from yt_study_buddy.batch.limits import ServiceLimits
from yt_study_buddy.errors import Cancelled, ClaudeResponseError, NetworkError, StudyBuddyError
from yt_study_buddy.notes.claude_calls import Call
from yt_study_buddy.notes.claude_errors import claude_errors

__all__ = ["MessageBatches", "BatchLedger", "batch_params", "custom_id_for", "MAX_BATCH_REQUESTS"]

log = logging.getLogger(__name__)

#: The API takes up to 100,000 requests (256 MB) per batch; ours stay well below.
MAX_BATCH_REQUESTS = 10_000
#: Seconds without a new request before a round whose videos are all waiting goes out.
_SETTLE = 0.5
#: Failed polls (network) in a row before the waiting videos are given up on.
_MAX_POLL_FAILURES = 8
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class BatchLedger(Protocol):
    """Where the vault remembers which request went into which batch (``vault.paid.BatchLedger``)."""

    def record(self, batch_id: str, requests: Mapping[str, str]) -> None: ...

    def lookup(self, custom_id: str) -> str | None: ...

    def forget(self, custom_ids: list[str] | None = None, *, video_id: str | None = None) -> None: ...


def custom_id_for(video_id: str, label: str, model: str) -> str:
    """A request's id, the same in every run: its video, its call and the model (64 safe characters)."""
    tag = hashlib.sha256(model.encode()).hexdigest()[:6]
    name = _UNSAFE.sub("_", f"{video_id}-{label}-{tag}")
    if len(name) > 64:
        name = "h" + hashlib.sha256(name.encode()).hexdigest()[:40] + "-" + _UNSAFE.sub("_", label)[:20]
    return name


def batch_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A Messages request as a batch carries it: no streaming; the cached prefix lives an hour."""
    out = {k: v for k, v in params.items() if k != "stream"}
    system = params.get("system")
    if isinstance(system, list):
        out["system"] = [dict(block, cache_control={**block["cache_control"], "ttl": "1h"})
                         if isinstance(block, dict) and block.get("cache_control") else block
                         for block in system]
    return out


@dataclass
class _Request:
    custom_id: str
    video_id: str
    params: dict[str, Any]
    attempt: int = 0
    result: Any = None
    error: StudyBuddyError | None = None
    done: bool = False
    queued_at: float = field(default_factory=time.monotonic)


def _clock_text(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes}:{secs:02d}"


class MessageBatches:
    """Gather the calls of a batch's videos into Message Batches and hand back their results."""

    def __init__(self, client: Any, limits: ServiceLimits, ledger: BatchLedger, *, model: str,
                 poll_interval: float = 10.0, gather_window: float = 60.0):
        self._client = client
        self.limits = limits
        self.ledger = ledger
        self.model = model
        self.poll_interval = poll_interval
        self.gather_window = gather_window
        self._cond = threading.Condition()
        self._waiting = 0
        self._pending: list[_Request] = []
        self._tracked: dict[str, dict[str, _Request]] = {}
        self._started: dict[str, float] = {}
        self._counts: dict[str, tuple[int, int]] = {}
        self._poll_failures = 0
        self._submit_failures = 0
        self._retry_at = 0.0
        self._thread: threading.Thread | None = None
        self._closed = False
        self._notice: Any = None
        #: batches this run created, and requests it found already submitted (resumed)
        self.created = 0
        self.resumed = 0

    # -- what the app tells us ----------------------------------------------------

    def forget(self, video_id: str) -> None:
        """A video's note is written: its batch requests are no longer needed for a resume."""
        self.ledger.forget(video_id=video_id)

    def close(self) -> None:
        """Stop waiting; batches under way keep running at Anthropic and a re-run collects them."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- what the engine asks -----------------------------------------------------

    def run(self, video_id: str, calls: list[Call]) -> list[Any]:
        """Send one round of a video's calls; block until all their messages are in."""
        requests = [_Request(custom_id_for(video_id, call.label, self.model), video_id,
                             batch_params(call.params)) for call in calls]
        known = {r.custom_id: self.ledger.lookup(r.custom_id) for r in requests}
        with self._cond:
            for request in requests:
                batch_id = known[request.custom_id]
                if batch_id:  # submitted by an earlier run: collect it, don't pay again
                    self._tracked.setdefault(batch_id, {})[request.custom_id] = request
                    self._started.setdefault(batch_id, time.monotonic())
                    self.resumed += 1
                else:
                    self._pending.append(request)
            self._waiting += 1
            self._ensure_worker()
            self._cond.notify_all()
            try:
                while not all(r.done for r in requests):
                    if self.limits.cancel.is_set() or self._closed:
                        raise Cancelled("the batch was interrupted")
                    self._cond.wait(0.5)
            finally:
                self._waiting -= 1
                self._pending = [r for r in self._pending if r not in requests]
        for request in requests:
            if request.error is not None:
                raise request.error
        return [r.result for r in requests]

    # -- the worker -----------------------------------------------------------------

    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, name="message-batches", daemon=True)
            self._thread.start()

    def _round_ready(self, now: float) -> bool:
        """Under the lock: send the pending requests now?"""
        if not self._pending or now < self._retry_at:
            return False
        if len(self._pending) >= MAX_BATCH_REQUESTS:
            return True
        quiet = now - max(r.queued_at for r in self._pending)
        # A moment of quiet first: videos just starting have not been counted yet.
        everyone = self._waiting >= self.limits.videos_under_way.count and quiet >= _SETTLE
        return everyone or quiet >= self.gather_window

    def _work(self) -> None:
        next_poll = 0.0
        idle_since: float | None = None
        while True:
            with self._cond:
                if self._closed or self.limits.cancel.is_set():
                    return
                now = time.monotonic()
                busy = bool(self._pending or self._tracked)
                if not busy:
                    idle_since = idle_since or now
                    if now - idle_since > 5.0:
                        self._thread = None
                        return
                else:
                    idle_since = None
                send: list[_Request] = []
                if self._round_ready(now):
                    send, self._pending = self._pending[:MAX_BATCH_REQUESTS], self._pending[MAX_BATCH_REQUESTS:]
                poll = [b for b in self._tracked] if now >= next_poll else []
                gathering = len(self._pending), self.limits.videos_under_way.count - self._waiting
            if send:
                self._submit(send)
                next_poll = 0.0
            if poll:
                for batch_id in poll:
                    self._poll(batch_id)
                next_poll = time.monotonic() + self.poll_interval
            self._announce(*gathering)
            with self._cond:
                self._cond.wait(min(self.poll_interval, 0.25))

    def _submit(self, requests: list[_Request]) -> None:
        body = [{"custom_id": r.custom_id, "params": r.params} for r in requests]
        try:
            with claude_errors("creating a Message Batch"):
                batch = self._client.messages.batches.create(requests=body)
        except StudyBuddyError as error:
            self._submit_failures += 1
            with self._cond:
                if error.retryable and not error.fatal and self._submit_failures <= _MAX_POLL_FAILURES:
                    self._pending = requests + self._pending  # send them in the next round
                    self._retry_at = time.monotonic() + min(60.0, 2.0 ** self._submit_failures)
                else:
                    if isinstance(error, NetworkError):
                        error.fatal = True  # unreachable: every video would wait as long again
                    self._fail(requests, error)
            return
        self._submit_failures = 0
        try:
            self.ledger.record(batch.id, {r.custom_id: r.video_id for r in requests})
        except (StudyBuddyError, ValueError) as exc:
            log.error("could not note Message Batch %s in the vault (a re-run could not resume it): %s",
                      batch.id, getattr(exc, "reason", exc))
        with self._cond:
            self._tracked[batch.id] = {r.custom_id: r for r in requests}
            self._started[batch.id] = time.monotonic()
            self._counts[batch.id] = (0, len(requests))
            self.created += 1
        log.info("Message Batch %s: %d requests", batch.id, len(requests))

    def _poll(self, batch_id: str) -> None:
        try:
            with claude_errors("checking a Message Batch"):
                batch = self._client.messages.batches.retrieve(batch_id)
            self._poll_failures = 0
        except StudyBuddyError as error:
            if getattr(error, "status", None) == 404:
                self._requeue(batch_id, "is gone")  # deleted, or of another workspace
                return
            self._poll_failures += 1
            if not error.retryable or self._poll_failures > _MAX_POLL_FAILURES:
                error.fatal = error.fatal or isinstance(error, NetworkError)
                with self._cond:
                    self._fail(list(self._tracked.pop(batch_id, {}).values()), error)
            return
        counts = batch.request_counts
        total = counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired
        with self._cond:
            self._counts[batch_id] = (total - counts.processing, total)
        if batch.processing_status == "ended":
            self._collect(batch_id)

    def _collect(self, batch_id: str) -> None:
        """Hand out an ended batch's results; send what did not succeed once more."""
        with self._cond:
            waiting = dict(self._tracked.get(batch_id, {}))
        outcomes: dict[str, Any] = {}
        try:
            with claude_errors("reading Message Batch results"):
                for item in self._client.messages.batches.results(batch_id):
                    if item.custom_id in waiting:
                        outcomes[item.custom_id] = item.result
        except StudyBuddyError as error:
            self._poll_failures += 1
            if self._poll_failures > _MAX_POLL_FAILURES or not error.retryable:
                with self._cond:
                    self._fail(list(self._tracked.pop(batch_id, {}).values()), error)
            return  # else: read them again at the next poll
        with self._cond:
            self._tracked.pop(batch_id, None)
            self._counts.pop(batch_id, None)
            for custom_id, request in waiting.items():
                result = outcomes.get(custom_id)
                kind = getattr(result, "type", "missing")
                if kind == "succeeded":
                    request.result, request.done = result.message, True
                elif request.attempt == 0:
                    request.attempt, request.queued_at = 1, time.monotonic()
                    self._pending.append(request)  # once more, through a new batch
                else:
                    self._fail([request], ClaudeResponseError(
                        f"Claude's Message Batch request {kind} twice"
                        + (f" ({_error_type(result)})" if kind == "errored" else "")
                        + "; re-run later with --retry-failed", retryable=True))
            self._cond.notify_all()

    def _requeue(self, batch_id: str, why: str) -> None:
        log.warning("Message Batch %s %s: its requests are sent again", batch_id, why)
        with self._cond:
            requests = list(self._tracked.pop(batch_id, {}).values())
            self._counts.pop(batch_id, None)
            self._pending.extend(requests)
        self.ledger.forget([r.custom_id for r in requests])

    def _fail(self, requests: list[_Request], error: StudyBuddyError) -> None:
        """Under the lock: give these requests' videos the error."""
        for request in requests:
            request.error, request.done = error, True
        self._cond.notify_all()

    def _announce(self, pending: int, elsewhere: int) -> None:
        with self._cond:
            counts = list(self._counts.values())
            started = [self._started[b] for b in self._tracked if b in self._started]
        if counts:
            done, total = sum(c[0] for c in counts), sum(c[1] for c in counts)
            elapsed = time.monotonic() - min(started) if started else 0.0
            plural = "es" if len(counts) > 1 else ""
            text = (f"Message Batch{plural}: {done}/{total} requests done, "
                    f"{_clock_text(elapsed)} elapsed")
            key: Any = (done, total, int(elapsed // 30))  # a new line on progress, or every 30 s
        elif pending:
            text = f"gathering {pending} request(s) for a Message Batch" + (
                f" (waiting for {elsewhere} more video(s))" if elsewhere > 0 else "")
            key = text
        else:
            text = key = None
        if key != self._notice:
            self._notice = key
            self.limits.announce_wait(text, None)


def _error_type(result: Any) -> str:
    error = getattr(getattr(result, "error", None), "error", None)
    return str(getattr(error, "type", "error"))
