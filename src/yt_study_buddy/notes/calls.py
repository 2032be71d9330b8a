"""Stage notes: one model API call at a time under a batch's shared limits, with retries.

An engine passes ``run`` a function that makes one API call and maps the
client library's exceptions to the project's errors (its boundary context
manager). ``run`` holds a slot of ``limits.claude_slots`` for the call only,
honours the shared back-off before each try, and on a throttle (a
``throttle_errors`` type: 429, 503, 529) pauses *every* worker for the
server's ``retry-after`` instead of each thread retrying on its own schedule.
The slots and back-off are the batch's LLM limits: a batch uses one engine.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from typing import Any, Callable, TypeVar

from yt_study_buddy.batch.limits import AdaptiveLimiter, ServiceLimits
from yt_study_buddy.errors import Cancelled, NetworkError, StudyBuddyError

__all__ = ["LimitedCalls", "retry_after_seconds", "acquire_slot", "backoff_delay"]

T = TypeVar("T")


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds a server asked us to wait, from retry-after-ms or retry-after (None if it did not say)."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:  # the HTTP-date form
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


def acquire_slot(limits: ServiceLimits) -> None:
    """Take one of the batch's model-call slots, waking regularly so an interrupted batch never waits."""
    slots = limits.claude_slots
    while not slots.acquire(timeout=0.5):
        if limits.cancel.is_set():
            raise Cancelled("the batch was interrupted")


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff for the attempt, capped, with jitter so workers don't retry in step."""
    return min(cap, base * (2 ** attempt)) * (0.5 + rng.random() / 2)


class LimitedCalls:
    """Run an engine's calls under the shared limits, retrying what the errors say can be retried."""

    def __init__(self, limits: ServiceLimits, *, service: str,
                 throttle_errors: tuple[type[StudyBuddyError], ...], max_retries: int = 6,
                 backoff_base: float = 1.0, backoff_max: float = 60.0):
        self.limits = limits
        self.service = service
        self.throttle_errors = throttle_errors
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._rng = random.Random()
        self._rng_lock = threading.Lock()

    def run(self, call: Callable[[], T]) -> T:
        """Run ``call`` (which raises only StudyBuddyError for service failures) until it succeeds or gives up."""
        limits = self.limits
        slots = limits.claude_slots
        attempt = 0
        while True:
            limits.claude_backoff.wait(limits.cancel)
            if limits.cancel.is_set():
                raise Cancelled("the batch was interrupted")
            self._acquire_slot()
            try:
                result = call()
            except StudyBuddyError as exc:
                error = exc
                throttled = isinstance(exc, self.throttle_errors)
                if throttled and isinstance(slots, AdaptiveLimiter):
                    # Still holding our slot: tells the limiter how many got through.
                    slots.record_overload()
            else:
                if isinstance(slots, AdaptiveLimiter):
                    slots.record_success()
                return result
            finally:
                # Release before any back-off sleep: the slot covers the call only.
                slots.release()
            if isinstance(error, NetworkError) and error.retryable and attempt >= self.max_retries:
                # Unreachable after every retry: the next video would only wait as long again.
                error.fatal = True
                error.reason = f"{error.reason}; batch stopped, re-run when {self.service} is reachable"
            if not error.retryable or error.fatal or attempt >= self.max_retries:
                raise error
            delay = self._backoff(attempt)
            if throttled:
                # The service tells everyone to slow down: pause every worker.
                server_wait = getattr(error, "retry_after", None)
                limits.claude_backoff.pause_for(server_wait if server_wait is not None else delay)
            elif isinstance(error, NetworkError):
                # Unreachable for one worker is unreachable for all: everyone waits.
                limits.claude_backoff.pause_for(delay)
            elif limits.cancel.wait(delay):
                raise Cancelled("the batch was interrupted")
            attempt += 1

    def _acquire_slot(self) -> None:
        acquire_slot(self.limits)

    def _backoff(self, attempt: int) -> float:
        with self._rng_lock:
            return backoff_delay(attempt, self.backoff_base, self.backoff_max, self._rng)
