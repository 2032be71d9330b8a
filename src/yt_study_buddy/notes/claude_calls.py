"""Stage notes: one Claude Messages call at a time, paced, limited and retried for the whole batch.

``DirectCaller.call`` sends one request (streamed or not) through the shared
``ServiceLimits``: it waits out a shared pause, reserves what the call takes
from the shared view of the API's buckets (``RatePacer``), holds a
concurrency slot only for the call itself, and retries what can be retried.
A 429 or 529 pauses every worker (retry-after, else exponential backoff); a
wait longer than ``MAX_CLAUDE_WAIT`` stops the batch instead of sitting in
silence. The adaptive concurrency limit shrinks on overloads, and on 429s
only while the API has not told us its buckets.

Retries are ours, not the SDK's (``max_retries=0`` on the client), so one
worker's 429 slows down all of them instead of each retrying on its own.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping

from yt_study_buddy.batch.limits import MAX_CLAUDE_WAIT, AdaptiveLimiter, ServiceLimits
from yt_study_buddy.errors import Cancelled, ClaudeRateLimited, NetworkError, StudyBuddyError
from yt_study_buddy.notes.calls import acquire_slot, backoff_delay
from yt_study_buddy.notes.claude_errors import StreamCut, claude_errors

__all__ = ["Call", "DirectCaller", "InputEstimate", "add_usage", "counted_input", "USAGE_FIELDS"]

USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
#: How long the API keeps a prompt-cache entry, by cache_control ttl.
_CACHE_TTL = {"5m": 300.0, "1h": 3600.0}


@dataclass
class Call:
    """One Messages API request of one video, named so a batch can match it across runs."""

    #: stable within a video: 'notes', 'notes+1' (a continuation), 'study', 'assessment'
    label: str
    #: keyword arguments of ``messages.create`` (model, max_tokens, system, messages, tools, ...)
    params: dict[str, Any]
    #: stream the answer (direct calls only; a batch answers whole messages)
    stream: bool = False
    #: when the video's first call asked (its later calls keep that place in the rate-limit line)
    since: float | None = None


def add_usage(total: dict[str, int], usage: Any) -> None:
    """Add an SDK ``Usage`` (or a dict of the same fields) into ``total``."""
    if usage is None:
        return
    get = usage.get if isinstance(usage, dict) else (lambda name: getattr(usage, name, None))
    for name in USAGE_FIELDS:
        value = get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            total[name] = total.get(name, 0) + value
    created = get("cache_creation")
    hour = created.get("ephemeral_1h_input_tokens") if isinstance(created, dict) \
        else getattr(created, "ephemeral_1h_input_tokens", None)
    if isinstance(hour, int) and hour > 0:
        total["cache_creation_1h_input_tokens"] = total.get("cache_creation_1h_input_tokens", 0) + hour


def counted_input(usage: Mapping[str, int]) -> int:
    """Input tokens a call counts against the input-token bucket: cache reads are free of it."""
    return int(usage.get("input_tokens", 0)) + int(usage.get("cache_creation_input_tokens", 0))


def _tokens(value: Any) -> float:
    """A rough token count of request JSON (about four characters a token)."""
    return len(json.dumps(value, sort_keys=True, ensure_ascii=False)) / 4.0


def _cache_ttl(params: Mapping[str, Any]) -> float:
    for block in params.get("system") or []:
        control = block.get("cache_control") if isinstance(block, dict) else None
        if control:
            return _CACHE_TTL.get(str(control.get("ttl", "5m")), 300.0)
    return 0.0


class InputEstimate:
    """Guess the input tokens a call will count, from its prompt; learn the error from answers.

    The prompt cache decides most of it: a call whose tools and system prompt
    (the transcript) were written to the cache minutes ago counts only its
    short message, a cold one counts the whole prompt.
    """

    def __init__(self, clock: Any = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._warm: dict[str, float] = {}
        #: actual / estimated, smoothed: our character count against the real tokenizer
        self.ratio = 1.0

    @staticmethod
    def _prefix_key(params: Mapping[str, Any]) -> str:
        prefix = [params.get("model"), params.get("tools"), params.get("system")]
        return hashlib.sha256(json.dumps(prefix, sort_keys=True, default=str).encode()).hexdigest()

    def _parts(self, params: Mapping[str, Any]) -> tuple[float, float]:
        prefix = _tokens(params.get("tools") or []) + _tokens(params.get("system") or [])
        rest = _tokens(params.get("messages") or [])
        return prefix, rest

    def estimate(self, params: Mapping[str, Any]) -> float:
        """Input tokens this call will count against the bucket (an estimate, a little high)."""
        prefix, rest = self._parts(params)
        with self._lock:
            warm = self._warm.get(self._prefix_key(params), 0.0) > self._clock()
            ratio = self.ratio
        raw = rest if warm else prefix + rest
        return math.ceil(raw * ratio * 1.05) + 8

    def learn(self, params: Mapping[str, Any], usage: Mapping[str, int]) -> None:
        """Correct the ratio from a real answer and remember that its prefix is cached."""
        prefix, rest = self._parts(params)
        read = int(usage.get("cache_read_input_tokens", 0))
        written = int(usage.get("cache_creation_input_tokens", 0))
        raw = rest if read else prefix + rest
        actual = counted_input(usage)
        with self._lock:
            if raw > 0 and actual > 0:
                self.ratio = min(4.0, max(0.25, 0.7 * self.ratio + 0.3 * actual / raw))
            ttl = _cache_ttl(params)
            if (read or written) and ttl:
                self._warm[self._prefix_key(params)] = self._clock() + ttl - 5.0


def _stream_message(client: Any, params: Mapping[str, Any], pacer: Any) -> Any:
    """Stream one answer (its rate-limit headers go to the pacer as it starts); raise StreamCut on a break."""
    texts: list[str] = []
    usage: dict[str, int] = {}
    finished = False
    with client.messages.stream(**params) as stream:
        headers = stream.response.headers
        pacer.observe(headers)  # the buckets as the call started
        try:
            with claude_errors("a Claude answer stream"):
                for event in stream:
                    kind = getattr(event, "type", None)
                    if kind == "message_start":
                        add_usage(usage, event.message.usage)
                    elif kind == "content_block_delta" and getattr(event.delta, "type", None) == "text_delta":
                        texts.append(event.delta.text)
                    elif kind == "message_delta" and event.usage is not None:
                        usage["output_tokens"] = int(event.usage.output_tokens or 0)
                    elif kind == "message_stop":
                        finished = True
        except NetworkError as error:
            raise StreamCut(error.reason, partial="".join(texts), usage=usage) from None
        if not finished:
            raise StreamCut("Claude's answer stream ended before the answer was complete",
                            partial="".join(texts), usage=usage)
        return stream.get_final_message()


class DirectCaller:
    """Send single calls under the batch's shared limits (see the module docstring)."""

    def __init__(self, client: Any, limits: ServiceLimits, *, max_retries: int = 6,
                 backoff_base: float = 1.0, backoff_max: float = 60.0):
        self._client = client
        self.limits = limits
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.estimate = InputEstimate()
        self._outputs: dict[str, float] = {}  # typical output tokens by kind of call
        self._rng = random.Random()
        self._rng_lock = threading.Lock()

    def call(self, call: Call) -> Any:
        """Send ``call`` and return the SDK's Message; raise a project error when it can't be done.

        A stream that broke off after some text raises ``StreamCut`` at once
        (after the shared pause): the caller continues from that text instead
        of paying for it again.
        """
        limits = self.limits
        slots = limits.claude_slots
        pacer = limits.claude_pacer
        # The API holds max_tokens of the output bucket while a call runs; what the call
        # will really use (recent answers of its kind) decides who may go ahead in line.
        # Functions: the estimates learn from other calls' answers while this one waits.
        max_tokens = float(call.params.get("max_tokens") or 0)

        def amounts() -> dict[str, float]:
            return {"requests": 1.0, "input_tokens": float(self.estimate.estimate(call.params)),
                    "output_tokens": max_tokens}

        def expected() -> dict[str, float]:
            return dict(amounts(), output_tokens=min(max_tokens, self._typical_output(call.label, max_tokens)))

        # A retry keeps its place in line, and so do a video's later calls: a video
        # started is finished first, while its transcript is still in the prompt cache.
        since = call.since if call.since is not None else time.monotonic()
        attempt = 0
        while True:
            self._sit_out_pause()
            reservation = pacer.acquire(amounts, limits.cancel, on_wait=self._pacing_notice,
                                        expected=expected, since=since)
            if reservation.waited >= limits.wait_notice:
                limits.announce_wait(None)
            used: dict[str, float] | None = None
            headers: Any = None
            try:
                self._acquire_slot()
            except Cancelled:
                pacer.settle(reservation)
                raise
            try:
                with claude_errors():
                    if call.stream:
                        # Its headers were read as it started (before the API gave back
                        # the unused max_tokens): reading them again now would undo that.
                        message = _stream_message(self._client, call.params, pacer)
                    else:
                        raw = self._client.messages.with_raw_response.create(**call.params)
                        message, headers = raw.parse(), raw.headers
                usage: dict[str, int] = {}
                add_usage(usage, message.usage)
                self.estimate.learn(call.params, usage)
                self._learn_output(call.label, usage.get("output_tokens", 0))
                used = {"requests": 1, "input_tokens": counted_input(usage),
                        "output_tokens": usage.get("output_tokens", 0)}
            except StudyBuddyError as error:
                failure = error
                if isinstance(error, StreamCut) and error.usage:
                    used = {"requests": 1, "input_tokens": counted_input(error.usage),
                            "output_tokens": error.usage.get("output_tokens", 0)}
                headers = getattr(error, "headers", None) or None
                if isinstance(error, ClaudeRateLimited) and isinstance(slots, AdaptiveLimiter) \
                        and (error.overloaded or not pacer.active):
                    # Still holding our slot: tells the limiter how many got through.
                    slots.record_overload()
            else:
                if isinstance(slots, AdaptiveLimiter):
                    slots.record_success()
                return message
            finally:
                # Release before any back-off sleep: the slot covers the call only.
                slots.release()
                pacer.settle(reservation, used, headers)
            self._after_failure(failure, attempt)
            attempt += 1

    def _typical_output(self, label: str, default: float) -> float:
        """Output a call of this kind is likely to use: recent answers with a margin, else ``default``."""
        with self._rng_lock:
            seen = self._outputs.get(label.split("-", 1)[0])
        return default if seen is None else seen * 1.5

    def _learn_output(self, label: str, tokens: int) -> None:
        kind = label.split("-", 1)[0]
        with self._rng_lock:
            seen = self._outputs.get(kind)
            self._outputs[kind] = float(tokens) if seen is None else max(float(tokens), 0.7 * seen + 0.3 * tokens)

    def _after_failure(self, error: StudyBuddyError, attempt: int) -> None:
        """Raise ``error`` when it is final; otherwise arrange the wait before the next attempt."""
        limits = self.limits
        if isinstance(error, ClaudeRateLimited) and (error.retry_after or 0) > MAX_CLAUDE_WAIT:
            minutes = math.ceil(error.retry_after / 60)
            error.fatal = True
            error.reason = (f"Claude's rate limit asks to wait {minutes} min (more than "
                            f"{MAX_CLAUDE_WAIT / 60:.0f} min); batch stopped, finished notes are kept: "
                            f"re-run later with --retry-failed")
            raise error
        if isinstance(error, NetworkError) and error.retryable and attempt >= self.max_retries:
            # Unreachable after every retry: the next video would only wait as long
            # again. Stop the batch; finished notes are kept.
            error.fatal = True
            error.reason = f"{error.reason}; batch stopped, re-run when the Claude API is reachable"
        if not error.retryable or error.fatal or attempt >= self.max_retries:
            raise error
        delay = self._backoff(attempt)
        if isinstance(error, ClaudeRateLimited):
            # The service is telling everyone to slow down: pause every worker.
            wait = error.retry_after if error.retry_after is not None else delay
            why = "Claude is overloaded" if error.overloaded else "Claude's rate limit"
            limits.claude_backoff.pause_for(wait, why=why)
        elif isinstance(error, NetworkError):
            # Unreachable for one worker is unreachable for all: everyone waits.
            limits.claude_backoff.pause_for(delay, why="the Claude API to be reachable again")
            if isinstance(error, StreamCut) and error.partial.strip():
                self._sit_out_pause()
                raise error  # the engine continues from the text it kept
        elif limits.cancel.wait(delay):
            raise Cancelled("the batch was interrupted")

    def _sit_out_pause(self) -> None:
        limits = self.limits
        remaining = limits.claude_backoff.remaining
        if remaining >= limits.wait_notice:
            limits.announce_wait(f"waiting for {limits.claude_backoff.why}", remaining)
        limits.claude_backoff.wait(limits.cancel)
        if remaining >= limits.wait_notice:
            limits.announce_wait(None)
        if limits.cancel.is_set():
            raise Cancelled("the batch was interrupted")

    def _pacing_notice(self, seconds: float) -> None:
        if seconds >= self.limits.wait_notice:
            self.limits.announce_wait("pacing calls to Claude's rate limit", seconds)

    def _acquire_slot(self) -> None:
        acquire_slot(self.limits)

    def _backoff(self, attempt: int) -> float:
        with self._rng_lock:
            return backoff_delay(attempt, self.backoff_base, self.backoff_max, self._rng)
