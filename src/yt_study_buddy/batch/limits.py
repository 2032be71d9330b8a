"""Stage batch: concurrency limits shared by the workers of one batch.

These are objects passed in, never module globals, so two batches (or two
tests) in one process do not share state.

- ``StartSpacer``: at most one start every ``interval`` seconds across all
  threads (YouTube: spread requests out so the IP is not flagged).
- ``SharedBackoff``: when one worker learns the service wants a pause (a 429
  with ``retry-after``, a 529), every worker waits until that deadline.
- ``CircuitBreaker``: after YouTube blocks us, all workers hold off for a
  cool-down that doubles on each further trip (blocks inside one window count
  once) and resets on success.
- ``ServiceLimits``: the bundle one batch uses; its ``claude_pacer``
  (``pacing.RatePacer``) is the shared view of Claude's request and token
  buckets, and ``announce_wait`` tells the front ends about a long wait.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from yt_study_buddy.batch.pacing import RatePacer
from yt_study_buddy.errors import Cancelled

__all__ = ["StartSpacer", "SharedBackoff", "CircuitBreaker", "AdaptiveLimiter", "ServiceLimits", "UnderWay",
           "MAX_CLAUDE_WAIT"]

Clock = Callable[[], float]

#: The longest rate-limit wait a batch sits out; a server asking for more stops the batch.
MAX_CLAUDE_WAIT = 600.0


def _sleep_until(deadline: float, clock: Clock, cancel: threading.Event | None) -> None:
    """Sleep until clock() >= deadline, waking early (and raising) on cancel."""
    while True:
        remaining = deadline - clock()
        if remaining <= 0:
            return
        if cancel is not None:
            if cancel.wait(min(remaining, 0.5)):
                raise Cancelled("the batch was interrupted")
        else:
            time.sleep(min(remaining, 0.5))


class StartSpacer:
    """Let callers through no closer together than ``interval`` seconds."""

    def __init__(self, interval: float, clock: Clock = time.monotonic):
        if interval < 0:
            raise ValueError("interval must be >= 0")
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._next_slot = 0.0

    def wait(self, cancel: threading.Event | None = None) -> float:
        """Block until this caller's turn; return the seconds waited."""
        if self.interval <= 0:
            return 0.0
        # Reserve a slot under the lock, sleep outside it, so waiting
        # callers queue up in order without holding anyone else up.
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        _sleep_until(slot, self._clock, cancel)
        return max(0.0, slot - now)


class SharedBackoff:
    """A pause deadline that every worker honours before its next call."""

    def __init__(self, clock: Clock = time.monotonic, max_pause: float = 120.0):
        self._clock = clock
        self._lock = threading.Lock()
        self._until = 0.0
        self.max_pause = max_pause
        self.pauses = 0
        #: what the current pause waits for, in words ("Claude's rate limit")
        self.why = "the service"

    def pause_for(self, seconds: float, why: str | None = None) -> None:
        """Ask every worker to wait at least ``seconds`` from now (``why``: shown to the user)."""
        seconds = min(max(0.0, seconds), self.max_pause)
        with self._lock:
            self._until = max(self._until, self._clock() + seconds)
            self.pauses += 1
            if why:
                self.why = why

    @property
    def remaining(self) -> float:
        """Seconds left before calls may resume."""
        return max(0.0, self._until - self._clock())

    def wait(self, cancel: threading.Event | None = None) -> float:
        """Block while a pause is in force; return the seconds waited."""
        start = self._clock()
        while True:
            with self._lock:
                until = self._until
            if self._clock() >= until:
                return self._clock() - start
            _sleep_until(until, self._clock, cancel)


class CircuitBreaker:
    """Hold every worker off a service that is blocking us, with growing cool-downs."""

    def __init__(self, base_cooldown: float = 30.0, max_cooldown: float = 600.0,
                 clock: Clock = time.monotonic):
        self.base_cooldown = base_cooldown
        self.max_cooldown = max_cooldown
        self._backoff = SharedBackoff(clock=clock, max_pause=max_cooldown)
        self._lock = threading.Lock()
        self.consecutive_failures = 0
        self.trips = 0

    @property
    def is_open(self) -> bool:
        """True while calls should wait."""
        return self._backoff.remaining > 0

    @property
    def remaining(self) -> float:
        """Seconds left in the current cool-down window (0 when closed)."""
        return self._backoff.remaining

    def record_failure(self, retry_after: float | None = None) -> float:
        """Open the circuit after a block; return the seconds until it closes.

        Blocks reported while a window is open are the same trip: requests that
        were in flight together when YouTube started blocking must not each
        double the cool-down (three at once would wait four times as long).
        """
        with self._lock:
            remaining = self._backoff.remaining
            if remaining > 0:
                if retry_after and retry_after > remaining:
                    self._backoff.pause_for(min(retry_after, self.max_cooldown))
                    return min(retry_after, self.max_cooldown)
                return remaining
            self.consecutive_failures += 1
            self.trips += 1
            cooldown = self.base_cooldown * (2 ** (self.consecutive_failures - 1))
            cooldown = min(max(cooldown, retry_after or 0.0), self.max_cooldown)
            # Under the lock, so a block racing this one sees the window open.
            self._backoff.pause_for(cooldown)
        return cooldown

    def record_success(self) -> None:
        """Reset the cool-down growth after a call went through."""
        with self._lock:
            self.consecutive_failures = 0

    def wait(self, cancel: threading.Event | None = None) -> float:
        """Block while the circuit is open."""
        return self._backoff.wait(cancel)


class AdaptiveLimiter:
    """A concurrency limit that shrinks when the service says "too many" and creeps back up.

    Additive increase, multiplicative decrease (as TCP does): a 429 cuts the
    limit to what was running successfully at that moment, so the other
    workers queue here instead of each collecting their own 429; after a run
    of successes the limit grows by one to probe for more capacity.
    """

    def __init__(self, limit: int, minimum: int = 1, grow_after: int = 20):
        self.maximum = max(minimum, limit)
        self.minimum = minimum
        self.grow_after = grow_after
        self._limit = self.maximum
        self._in_flight = 0
        self._successes = 0
        self._cond = threading.Condition()

    @property
    def limit(self) -> int:
        """Current number of calls allowed at once."""
        return self._limit

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a slot, as threading.Semaphore.acquire does; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._in_flight >= self._limit:
                if not blocking:
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            self._in_flight += 1
            return True

    def release(self) -> None:
        """Free a slot."""
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def __enter__(self) -> "AdaptiveLimiter":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def record_success(self) -> None:
        """Count a call that went through; grow the limit after a steady run."""
        with self._cond:
            self._successes += 1
            if self._successes >= self.grow_after and self._limit < self.maximum:
                self._limit += 1
                self._successes = 0
                self._cond.notify_all()

    def record_overload(self) -> None:
        """Shrink the limit after a 429/529 seen by a call holding a slot."""
        with self._cond:
            # The caller still holds its slot: the others in flight got through.
            self._limit = max(self.minimum, min(self._limit, self._in_flight - 1))
            self._successes = 0


class UnderWay:
    """How many videos of the batch are being processed (a Message Batch round waits for all of them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    @property
    def count(self) -> int:
        """Videos started and not yet finished."""
        with self._lock:
            return self._count

    def join(self) -> None:
        """A video starts."""
        with self._lock:
            self._count += 1

    def leave(self) -> None:
        """A video is finished (done, failed, skipped or cancelled)."""
        with self._lock:
            self._count = max(0, self._count - 1)


@dataclass
class ServiceLimits:
    """Per-service limits for one batch: YouTube few and spaced, Claude more with shared backoff."""

    youtube_delay: float = 1.0
    youtube_concurrency: int = 2
    claude_concurrency: int = 8
    youtube_cooldown: float = 30.0
    cancel: threading.Event = field(default_factory=threading.Event)
    #: pace Claude calls by the buckets the API reports (off: only react to 429s)
    claude_pacing: bool = True
    #: told (text, seconds) when calls must wait a while, (None, None) when the wait is over
    on_wait: Callable[[str | None, float | None], None] | None = None
    #: waits at least this long are announced through on_wait
    wait_notice: float = 5.0

    def __post_init__(self) -> None:
        self.youtube_spacer = StartSpacer(self.youtube_delay)
        self.youtube_slots = threading.BoundedSemaphore(max(1, self.youtube_concurrency))
        self.youtube_breaker = CircuitBreaker(base_cooldown=self.youtube_cooldown)
        self.claude_slots = AdaptiveLimiter(max(1, self.claude_concurrency))
        # Up to the longest wait a batch sits out (a longer retry-after stops the batch).
        self.claude_backoff = SharedBackoff(max_pause=MAX_CLAUDE_WAIT)
        self.claude_pacer = RatePacer(enabled=self.claude_pacing)
        self.videos_under_way = UnderWay()

    def announce_wait(self, text: str | None, seconds: float | None = None) -> None:
        """Tell the front end why calls wait and for how long (None: the wait is over)."""
        if self.on_wait is None:
            return
        try:
            self.on_wait(text, seconds)
        except Exception:  # noqa: BLE001 - a display bug must not fail the batch
            logging.getLogger(__name__).warning("wait notice failed", exc_info=True)
