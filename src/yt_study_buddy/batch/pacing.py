"""Stage batch: pace calls by the service's own token buckets, shared by every worker of a batch.

Anthropic limits requests, input tokens and output tokens per minute with
token buckets: each holds up to its per-minute limit and refills continuously
at limit/60 per second. Every answer (a 429 too) reports each bucket's
``limit``, ``remaining`` and ``reset`` in ``anthropic-ratelimit-*`` headers.

``RatePacer`` keeps one local copy of those buckets for the whole batch. A
caller reserves what its call will take (one request, the input tokens its
prompt will count, its ``max_tokens`` of output, as the API itself reserves
them) and waits *before* the call while a bucket can't take it; callers are
served first come, first served, so a large prompt is not starved by small
ones (a later caller may go ahead only when that does not delay the first
in line). After the call the caller settles: the unused reservation goes back, a
larger actual use is taken. Headers correct the local view (the lower of the
two wins: other programs may share the key). The first call goes alone
until its answer starts (a stream's headers come at once) and shows the
buckets; a service that sends no such headers is not paced.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Mapping

from yt_study_buddy.errors import Cancelled

__all__ = ["TokenBucket", "RatePacer", "Reservation", "BUCKETS", "HEADER_PREFIX"]

Clock = Callable[[], float]
#: what a call takes from each bucket, or a function giving it (asked again at each try)
Amounts = Mapping[str, float] | Callable[[], Mapping[str, float]]

HEADER_PREFIX = "anthropic-ratelimit-"
#: Share of a bucket kept free beyond what a call needs (clock differences).
_MARGIN = 0.005
#: bucket name -> the header family that reports it
BUCKETS = {"requests": "requests", "input_tokens": "input-tokens", "output_tokens": "output-tokens"}


@dataclass
class TokenBucket:
    """A bucket of ``capacity`` that refills continuously at capacity per minute."""

    capacity: float
    level: float
    updated: float

    @property
    def rate(self) -> float:
        """Refill per second."""
        return self.capacity / 60.0

    def refill(self, now: float) -> None:
        """Add what flowed in since the last update."""
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
            self.updated = now

    def seconds_until(self, amount: float, now: float) -> float:
        """Seconds until the bucket holds ``amount`` (capped at its capacity)."""
        self.refill(now)
        deficit = min(amount, self.capacity) - self.level
        if deficit <= 0:
            return 0.0
        return deficit / self.rate if self.rate > 0 else float("inf")


@dataclass
class Reservation:
    """What one call took from the buckets; settled when the call is over."""

    amounts: dict[str, float] = field(default_factory=dict)
    #: taken before the buckets were known (nothing was taken locally)
    probe: bool = False
    waited: float = 0.0
    #: what the call asked for (a probe takes nothing locally: the buckets were unknown)
    requested: dict[str, float] = field(default_factory=dict)


def _evaluate(amounts: Amounts) -> Mapping[str, float]:
    return amounts() if callable(amounts) else amounts


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _seconds_to(stamp: str | None) -> float | None:
    """Seconds from now to an RFC 3339 time, or None."""
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, when.timestamp() - time.time())


class RatePacer:
    """The batch's shared view of the service's request and token buckets."""

    def __init__(self, *, enabled: bool = True, clock: Clock = time.monotonic):
        self.enabled = enabled
        self._clock = clock
        self._cond = threading.Condition()
        self._buckets: dict[str, TokenBucket] = {}
        self._answered = False  # an answer (or its headers) came: the buckets are known or absent
        self._probe_out = False  # the first call is out, finding out
        #: callers waiting: ticket -> (since, amounts to take, amounts expected to be used)
        self._queue: dict[int, tuple[float, Amounts, Amounts]] = {}
        self._tickets = itertools.count()
        #: how many calls had to wait for a bucket, and for how long in all
        self.waits = 0
        self.waited = 0.0

    @property
    def active(self) -> bool:
        """True once the service has reported its buckets (and pacing is on)."""
        with self._cond:
            return self.enabled and bool(self._buckets)

    def snapshot(self) -> dict[str, tuple[float, float]]:
        """Each known bucket as (level, capacity), refilled to now."""
        now = self._clock()
        with self._cond:
            out = {}
            for name, bucket in self._buckets.items():
                bucket.refill(now)
                out[name] = (bucket.level, bucket.capacity)
            return out

    def acquire(self, amounts: Amounts, cancel: threading.Event | None = None,
                on_wait: Callable[[float], None] | None = None,
                expected: Amounts | None = None, since: float | None = None) -> Reservation:
        """Wait until the buckets can take ``amounts`` (e.g. {'requests': 1, 'input_tokens': 900}); take them.

        Callers are served in order of ``since`` (when they first asked: a retry
        keeps its place), except that a later caller the buckets can take now
        goes ahead when that does not delay the first one in line, judged by
        what it will ``expected``-ly use (its reservation comes back when its
        call ends). ``amounts`` and ``expected`` may be functions, asked again
        at each try (an estimate that learns while the caller waits).
        ``on_wait`` is told the expected wait once.
        """
        reservation = Reservation()
        if not self.enabled:
            return reservation
        start = self._clock()
        told = False
        with self._cond:
            ticket = next(self._tickets)
            self._queue[ticket] = (start if since is None else since, amounts, expected or amounts)
            try:
                while True:
                    if cancel is not None and cancel.is_set():
                        raise Cancelled("the batch was interrupted")
                    wait = self._try_take(ticket, reservation)
                    if wait <= 0:
                        break
                    if on_wait is not None and not told and wait != float("inf"):
                        told = True
                        self._cond.release()
                        try:
                            on_wait(wait)
                        finally:
                            self._cond.acquire()
                    self._cond.wait(min(wait, 0.25))
            finally:
                del self._queue[ticket]
                self._cond.notify_all()
        reservation.waited = self._clock() - start
        if reservation.waited > 0.001:
            with self._cond:
                self.waits += 1
                self.waited += reservation.waited
        return reservation

    def _wait_for(self, amounts: Mapping[str, float], now: float,
                  less: Mapping[str, float] | None = None) -> float:
        """Under the lock: seconds until the buckets hold ``amounts`` (after ``less`` is taken out)."""
        wait = 0.0
        for name, bucket in self._buckets.items():
            bucket.refill(now)
            need = min(amounts.get(name, 0.0), bucket.capacity)
            # A hair of room: the API's clock and ours refill a little differently.
            need = min(bucket.capacity, need + _MARGIN * bucket.capacity) if need else 0.0
            deficit = need - (bucket.level - (less or {}).get(name, 0.0))
            if deficit > 0:
                wait = max(wait, deficit / bucket.rate if bucket.rate > 0 else float("inf"))
        return wait

    def _try_take(self, ticket: int, reservation: Reservation) -> float:
        """Under the lock: take and return 0.0, or return the seconds to wait (inf: until woken)."""
        head = min(self._queue, key=lambda t: (self._queue[t][0], t))
        amounts = _evaluate(self._queue[ticket][1])
        if not self._buckets:
            if self._answered:
                return 0.0  # the service sends no bucket headers: nothing to pace by
            if self._probe_out:
                return float("inf")  # the first call is finding out what the buckets hold
            # The first call goes alone until its answer starts (a stream's headers come
            # at once): a batch's opening burst must not run into buckets already low.
            self._probe_out = reservation.probe = True
            reservation.requested = dict(amounts)
            return 0.0
        now = self._clock()
        wait = self._wait_for(amounts, now)
        if wait > 0:
            return wait
        if ticket != head:
            first = _evaluate(self._queue[head][1])
            mine = _evaluate(self._queue[ticket][2])
            # Going ahead must not make the first in line wait longer than it would anyway.
            if self._wait_for(first, now, less=mine) > self._wait_for(first, now) + 0.05:
                return 0.25
        for name, bucket in self._buckets.items():
            amount = amounts.get(name, 0.0)
            bucket.level -= amount
            reservation.amounts[name] = amount
        return 0.0

    def settle(self, reservation: Reservation, used: Mapping[str, float] | None = None,
               headers: Mapping[str, str] | None = None) -> None:
        """Give back what a call did not use (all of it when ``used`` is None: refused) and read its headers."""
        with self._cond:
            for name, taken in reservation.amounts.items():
                actual = 0.0 if used is None else float(used.get(name, taken))
                bucket = self._buckets.get(name)
                if bucket is not None:
                    bucket.level = min(bucket.capacity, bucket.level + taken - actual)
            reservation.amounts.clear()
            self._answered = True
            if reservation.probe:
                self._probe_out = False
                if used is not None and not headers:
                    # Taken before the buckets were known: the headers seen as it started
                    # include what the API held for it; give back what it did not use.
                    for name, bucket in self._buckets.items():
                        held = min(reservation.requested.get(name, 0.0), bucket.capacity)  # as the API caps it
                        unused = held - float(used.get(name, 0.0))
                        bucket.level = min(bucket.capacity, bucket.level + max(0.0, unused))
            if headers:
                self._observe(headers)
            self._cond.notify_all()

    def observe(self, headers: Mapping[str, str]) -> None:
        """Correct the local buckets from an answer's rate-limit headers."""
        with self._cond:
            self._observe(headers)
            self._cond.notify_all()

    def _observe(self, headers: Mapping[str, str]) -> None:
        self._answered = True
        lower = {str(k).lower(): v for k, v in headers.items()}
        now = self._clock()
        for name, family in BUCKETS.items():
            limit = _number(lower.get(f"{HEADER_PREFIX}{family}-limit"))
            remaining = _number(lower.get(f"{HEADER_PREFIX}{family}-remaining"))
            if remaining is None:
                continue
            if limit is None or limit <= 0:
                # No limit header: infer the size from when the bucket is full again.
                # Refilling at C/60 per second from `remaining` reaches C after
                # `until_full` seconds: C = 60 * remaining / (60 - until_full).
                until_full = _seconds_to(lower.get(f"{HEADER_PREFIX}{family}-reset"))
                if until_full is None or until_full >= 60 or remaining <= 0:
                    continue
                limit = 60.0 * remaining / (60.0 - until_full)
            bucket = self._buckets.get(name)
            if bucket is None or bucket.capacity != limit:
                level = remaining if bucket is None else min(bucket.level, remaining)
                self._buckets[name] = TokenBucket(capacity=limit, level=level, updated=now)
            else:
                bucket.refill(now)
                # The lower view wins: the server sees other users of the key,
                # we see our calls it has not counted yet.
                bucket.level = min(bucket.level, remaining)
