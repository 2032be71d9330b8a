"""Token buckets like the real Anthropic API's, for the fake Messages API.

Three buckets, each holding up to its per-minute limit and refilling
continuously at limit/60 per second: requests, input tokens (fresh input and
cache writes; cache reads don't count) and output tokens. As the real API
estimates output from ``max_tokens`` when a request starts and corrects it at
the end, a request takes its ``max_tokens`` (capped at the bucket's size) on
admission and gets back what it did not use when it finishes. A request a
bucket can't take gets a 429 with ``retry-after`` (whole seconds until it
could). Every answer carries ``anthropic-ratelimit-{requests,input-tokens,
output-tokens}-{limit,remaining,reset}`` (reset: RFC 3339, when the bucket
is full again).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

__all__ = ["FakeBuckets", "Admission"]

_FAMILIES = {"requests": "requests", "input": "input-tokens", "output": "output-tokens"}


@dataclass
class _Bucket:
    limit: float
    level: float
    updated: float

    def refill(self, now: float) -> None:
        self.level = min(self.limit, self.level + (now - self.updated) * self.limit / 60.0)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        deficit = min(amount, self.limit) - self.level
        return 0.0 if deficit <= 0 else deficit / (self.limit / 60.0)


@dataclass
class Admission:
    """The outcome of one request's admission."""

    admitted: bool
    retry_after: float = 0.0
    #: the output tokens taken on admission (given back, less the real output, at the end)
    output_reserved: float = 0.0
    #: which bucket refused it
    refused_by: str | None = None


class FakeBuckets:
    """Requests, input-token and output-token buckets; None for a limit means unlimited."""

    def __init__(self, *, rpm: int | None = None, itpm: int | None = None, otpm: int | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        self._buckets = {name: _Bucket(float(limit), float(limit), now)
                         for name, limit in (("requests", rpm), ("input", itpm), ("output", otpm))
                         if limit}
        #: what the buckets let through and refused, for benchmarks and tests
        self.admitted = 0
        self.refused = 0
        self.input_counted = 0
        self.output_counted = 0
        #: per finished request: output tokens held on admission beyond what it used
        self.unused_holds: list[float] = []
        #: when the first and the last request were let through (clock time)
        self.first_admitted: float | None = None
        self.last_admitted: float | None = None

    @property
    def enabled(self) -> bool:
        """True when at least one limit is set."""
        return bool(self._buckets)

    def limits(self) -> dict[str, float]:
        """The per-minute limit of each bucket that is set."""
        return {name: bucket.limit for name, bucket in self._buckets.items()}

    def admit(self, input_tokens: int, max_tokens: int) -> Admission:
        """Take one request, its input tokens and its max_tokens of output, or refuse."""
        with self._lock:
            now = self._clock()
            need = {"requests": 1.0, "input": float(input_tokens), "output": float(max_tokens)}
            waits = {}
            for name, bucket in self._buckets.items():
                bucket.refill(now)
                waits[name] = bucket.wait_for(need[name])
            worst = max(waits, key=waits.get) if waits else None
            if worst is not None and waits[worst] > 0:
                self.refused += 1
                return Admission(False, retry_after=waits[worst], refused_by=worst)
            reserved = 0.0
            for name, bucket in self._buckets.items():
                amount = min(need[name], bucket.limit) if name == "output" else need[name]
                bucket.level -= amount
                if name == "output":
                    reserved = amount
            self.admitted += 1
            self.input_counted += input_tokens
            self.first_admitted = now if self.first_admitted is None else self.first_admitted
            self.last_admitted = now
            return Admission(True, output_reserved=reserved)

    def finish(self, admission: Admission, output_tokens: int) -> None:
        """Correct the output bucket by what the answer really used."""
        with self._lock:
            self.output_counted += output_tokens
            if admission.admitted and "output" in self._buckets:
                self.unused_holds.append(admission.output_reserved - output_tokens)
            bucket = self._buckets.get("output")
            if bucket is not None and admission.admitted:
                bucket.refill(self._clock())
                bucket.level = min(bucket.limit, bucket.level + admission.output_reserved - output_tokens)

    def headers(self) -> dict[str, str]:
        """The anthropic-ratelimit-* headers as of now."""
        out: dict[str, str] = {}
        with self._lock:
            now = self._clock()
            wall = datetime.now(timezone.utc)
            for name, bucket in self._buckets.items():
                bucket.refill(now)
                family = _FAMILIES[name]
                remaining = max(0, math.floor(bucket.level))
                full_in = (bucket.limit - bucket.level) / (bucket.limit / 60.0)
                reset = (wall + timedelta(seconds=max(0.0, full_in))).isoformat(timespec="seconds")
                out[f"anthropic-ratelimit-{family}-limit"] = str(int(bucket.limit))
                out[f"anthropic-ratelimit-{family}-remaining"] = str(remaining)
                out[f"anthropic-ratelimit-{family}-reset"] = reset.replace("+00:00", "Z")
        return out
