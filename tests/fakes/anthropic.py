"""A fake Anthropic Messages API on 127.0.0.1 for the real anthropic SDK.

Serves ``POST /v1/messages``, plain JSON and SSE streaming, with answers
computed deterministically from the transcript in the request: the same
request always gets the same notes, concepts and questions.

Knobs: ``latency`` (seconds per call), ``max_concurrent`` (more calls at once
get a 429 with ``retry-after``), ``rpm``/``itpm``/``otpm`` (token buckets like
the real API's, see ``anthropic_limits.py``; every answer carries the
``anthropic-ratelimit-*`` headers), ``enqueue()`` scripted responses,
``truncate_next(n)``, ``gather(n)``, ``hold_after(n, release)``, ``cut_next_stream()`` (a stream broken off mid-answer),
``fail_tool()``, ``batch_latency`` and ``batches.script()`` for the Message
Batches endpoints (``anthropic_batches.py``). Prompt caching is accounted as
the API does: ``cache_creation_input_tokens`` (with its 5m/1h split in
``cache_creation``) when a prefix is written, ``cache_read_input_tokens``
while it lives. Counters: ``history``, ``count``, ``rate_limited``,
``peak_concurrency``, ``buckets.*``, ``batches.created``/``submissions``.

Run it on its own for benchmarks::

    python -m tests.fakes.anthropic --port 8766 --latency 2.5 --max-concurrent 2
    python -m tests.fakes.anthropic --rpm 50 --itpm 30000 --otpm 8000
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import re
import math
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest

from tests.fakes.anthropic_batches import FakeBatches
from tests.fakes.anthropic_limits import FakeBuckets
from tests.fakes.http import InFlight, LoopbackServer
from tests.fakes.lecture import TRANSCRIPT as _TRANSCRIPT
from tests.fakes.lecture import Lecture as _Lecture
from tests.fakes.lecture import from_schema as _from_schema
from tests.fakes.lecture import existing_subjects
from tests.fakes.lecture import tokens as _tokens

__all__ = ["FakeAnthropic", "ScriptedResponse", "error_body", "fake_anthropic", "main",
           "DEFAULT_KEY"]

DEFAULT_KEY = "sk-ant-fake-test-key-0123456789"

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}


#: Models that refuse a forced tool_choice with 400, as the real API does (Claude Sonnet 5.5).
NO_FORCED_TOOL = frozenset({"claude-sonnet-5-5"})
_CALL = re.compile(r"\s*Call (\w+)")


def chosen_tool(body: dict[str, Any]) -> str | None:
    """The tool a request asks for: forced by tool_choice, or named by 'Call X' under tool_choice auto."""
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "tool":
        return choice.get("name") or None
    if choice.get("type", "auto") != "auto":
        return None
    tools = {spec.get("name") for spec in body.get("tools") or []}
    users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
    found = _CALL.match("\n".join(_texts(users[-1].get("content")))) if users else None
    return found.group(1) if found and found.group(1) in tools else None


def error_body(status: int, message: str = "", error_code: str | None = None,
               error_type: str | None = None) -> dict[str, Any]:
    """Build an error body shaped like the real API's."""
    error: dict[str, Any] = {"type": error_type or _ERROR_TYPES.get(status, "api_error"),
                             "message": message or f"fake error {status}"}
    if error_code:
        error["details"] = {"error_code": error_code}
    return {"type": "error", "error": error, "request_id": "req_fake_error"}


@dataclass
class ScriptedResponse:
    """One canned answer served before any computed one."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


#: How long a prompt-cache entry lives after its last use, by cache_control ttl.
_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


def _counted_input(usage: dict[str, Any]) -> int:
    """Input tokens the input bucket counts: fresh input and cache writes (cache reads are free)."""
    return int(usage["input_tokens"]) + int(usage["cache_creation_input_tokens"])


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    out = []
    for block in content or []:
        if isinstance(block, dict) and block.get("type") == "text":
            out.append(str(block.get("text", "")))
    return out


class FakeAnthropic:
    """A thread-safe fake of the Messages API with scriptable failures."""

    def __init__(self, *, api_key: str | None = DEFAULT_KEY, latency: float = 0.0,
                 max_concurrent: int | None = None, retry_after: float = 1.0,
                 port: int = 0, latency_per_1k_output: float = 0.0,
                 rpm: int | None = None, itpm: int | None = None, otpm: int | None = None,
                 batch_latency: float = 0.0):
        self.api_key = api_key
        self.latency = latency
        #: extra seconds per 1000 output tokens: a long answer takes longer, as on the real API
        self.latency_per_1k_output = latency_per_1k_output
        self.max_concurrent = max_concurrent
        self.retry_after = retry_after
        self.history: list[dict[str, Any]] = []
        self.count = 0
        self.rate_limited = 0
        self._in_flight = InFlight()
        #: the request, input-token and output-token buckets (unlimited unless rpm/itpm/otpm)
        self.buckets = FakeBuckets(rpm=rpm, itpm=itpm, otpm=otpm)
        #: the Message Batches endpoints
        self.batches = FakeBatches(self, latency=batch_latency)
        self._truncate = 0
        self._gather: tuple[threading.Barrier, float] | None = None
        self._gather_left = 0
        self._hold: tuple[int, threading.Event, float] | None = None
        self._cuts: collections.deque[tuple[int, bool]] = collections.deque()
        self._tool_failures: list[list[Any]] = []
        self._queue: collections.deque[ScriptedResponse] = collections.deque()
        self._cache: dict[str, float] = {}
        self._lock = threading.Lock()
        self._ids = 0
        self._server = LoopbackServer(self, port=port)

    # -- lifecycle ------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Base URL to give the SDK (``base_url=`` or ANTHROPIC_BASE_URL)."""
        return self._server.base_url

    def start(self) -> "FakeAnthropic":
        """Serve in a background thread."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._gather is not None:
            self._gather[0].abort()  # calls still waiting for the others are answered now
        self._server.stop()

    def __enter__(self) -> "FakeAnthropic":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- knobs ------------------------------------------------------------------

    def enqueue(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        """Serve this response to the next request (before any computed answer)."""
        if body is None:
            body = error_body(status)
        with self._lock:
            self._queue.append(ScriptedResponse(status, body, dict(headers or {})))

    def truncate_next(self, n: int = 1) -> None:
        """Stop the next n answers at max_tokens, half-way through."""
        with self._lock:
            self._truncate += n

    def gather(self, n: int, timeout: float = 10.0) -> None:
        """Answer the next n calls together: each waits until all n are in (at most timeout s).

        A test of "n calls at once" then holds on a machine of any speed: the
        calls meet however late the last one starts, and if the client never
        has n going at once the peak stays below n.
        """
        with self._lock:
            self._gather = (threading.Barrier(n), timeout)
            self._gather_left = n

    def hold_after(self, n: int, release: threading.Event, timeout: float = 30.0) -> None:
        """Answer the next n calls, then hold every later one until release is set (at most timeout s)."""
        with self._lock:
            self._hold = (n, release, timeout)

    def _wait_if_held(self, handler: Any) -> None:
        with self._lock:
            if self._hold is None:
                return
            free, release, timeout = self._hold
            self._hold = (free - 1, release, timeout)
        if free <= 0:
            handler.wait_for(release, timeout)

    def _wait_for_the_gathering(self) -> None:
        with self._lock:
            gather = self._gather if self._gather_left > 0 else None
            self._gather_left -= 1 if gather else 0
        if gather is not None:
            barrier, timeout = gather
            try:
                barrier.wait(timeout)
            except threading.BrokenBarrierError:
                pass  # not all came: answer anyway, the peak tells

    def cut_next_stream(self, n: int = 1, *, after: int = 6, clean: bool = False) -> None:
        """Break off the next n streamed answers after ``after`` events.

        ``clean=False`` drops the connection mid-body (a reset: the client sees
        an incomplete chunked body); ``clean=True`` ends the body properly but
        before ``message_stop`` (an early EOF).
        """
        with self._lock:
            self._cuts.extend([(after, clean)] * n)

    def fail_tool(self, tool: str, status: int = 529, times: int = 1) -> None:
        """Answer the next ``times`` requests that force ``tool`` with an error ``status``."""
        with self._lock:
            self._tool_failures.append([tool, status, times])

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The request bodies received so far."""
        with self._lock:
            return [h["body"] for h in self.history]

    # -- serving ----------------------------------------------------------------

    def authorised(self, handler: Any) -> bool:
        """True when the request carries the key this fake wants (any key if api_key is None)."""
        return self.api_key is None or self._presented_key(handler) == self.api_key

    def handle(self, handler: Any) -> None:
        """Answer one HTTP request (called by LoopbackServer)."""
        raw = handler.read_body()
        if self.batches.handle(handler, raw):
            return
        path = handler.path.split("?", 1)[0]
        if handler.command == "GET" and path.rstrip("/") == "/v1/models":
            self._list_models(handler)
            return
        if handler.command != "POST" or path.rstrip("/") != "/v1/messages":
            handler.send_json(404, error_body(404, f"no route {handler.command} {path}"))
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            handler.send_json(400, error_body(400, "body is not JSON"))
            return
        with self._lock:
            self.count += 1
            self.history.append({"body": body, "at": time.monotonic(),
                                 "headers": {k.lower(): v for k, v in handler.headers.items()}})
            scripted = self._queue.popleft() if self._queue else None
            failure = self._tool_failure(body)
        if scripted is not None:
            self._send_scripted(handler, scripted)
            return
        if not self.authorised(handler):
            handler.send_json(401, error_body(401, "invalid x-api-key"))
            return
        if failure is not None:
            handler.send_json(failure, error_body(failure), headers=self.buckets.headers())
            return
        if (body.get("tool_choice") or {}).get("type") in ("tool", "any") and body.get("model") in NO_FORCED_TOOL:
            handler.send_json(400, error_body(400, "tool_choice forcing tool use is not supported for this "
                                                   "model; use tool_choice auto"))
            return
        admission = self.buckets.admit(_counted_input(self._usage(body, commit=False)),
                                       int(body.get("max_tokens") or 0))
        if not admission.admitted:
            with self._lock:
                self.rate_limited += 1
            handler.send_json(429, error_body(429, f"This request would exceed the rate limit for your "
                                                   f"organization ({admission.refused_by} per minute)"),
                              headers={"retry-after": str(max(1, math.ceil(admission.retry_after))),
                                       **self.buckets.headers()})
            return
        leave = self._in_flight.enter(handler, self.max_concurrent)
        if leave is None:
            self.buckets.finish(admission, 0)
            with self._lock:
                self.rate_limited += 1
            handler.send_json(429, error_body(429, "Number of concurrent requests exceeded"),
                              headers={"retry-after": f"{self.retry_after:g}", **self.buckets.headers()})
            return
        try:
            message = self._answer(body)
            delay = self.latency + self.latency_per_1k_output * message["usage"]["output_tokens"] / 1000
            if body.get("stream"):
                with self._lock:
                    cut = self._cuts.popleft() if self._cuts else None
                # As the real API: the headers at once, then the answer as it is written.
                self._send_stream(handler, message, cut, delay)
                self.buckets.finish(admission, message["usage"]["output_tokens"])
            else:
                self._wait_for_the_gathering()
                self._wait_if_held(handler)
                if delay:
                    handler.pause(delay)
                self.buckets.finish(admission, message["usage"]["output_tokens"])
                handler.send_json(200, message, headers={"request-id": message["id"],
                                                         **self.buckets.headers()})
        finally:
            leave()

    def _tool_failure(self, body: dict[str, Any]) -> int | None:
        """Under the lock: the scripted error status for a request asking for a failing tool."""
        name = chosen_tool(body)
        for entry in self._tool_failures:
            if entry[0] == name and entry[2] > 0:
                entry[2] -= 1
                return int(entry[1])
        return None

    @property
    def peak_concurrency(self) -> int:
        """Most calls being answered at once."""
        return self._in_flight.peak

    def reset_peak(self) -> None:
        """Measure peak_concurrency afresh from now on."""
        self._in_flight.reset_peak()

    def _list_models(self, handler: Any) -> None:
        # GET /v1/models: free, and the cheapest way to learn whether a key is accepted.
        if self.api_key is not None and self._presented_key(handler) != self.api_key:
            handler.send_json(401, error_body(401, "invalid x-api-key"))
            return
        model = {"type": "model", "id": "claude-sonnet-5-5", "display_name": "Claude Sonnet 5.5",
                 "created_at": "2026-09-01T00:00:00Z"}
        handler.send_json(200, {"data": [model], "has_more": False, "first_id": model["id"],
                                "last_id": model["id"]})

    @staticmethod
    def _presented_key(handler: Any) -> str | None:
        # The SDK sends the key as x-api-key or, in newer versions, as a Bearer token.
        key = handler.headers.get("x-api-key")
        if key:
            return key
        auth = handler.headers.get("authorization") or ""
        return auth[len("Bearer "):] if auth.startswith("Bearer ") else None

    def _send_scripted(self, handler: Any, scripted: ScriptedResponse) -> None:
        if isinstance(scripted.body, (bytes, str)):
            data = scripted.body.encode() if isinstance(scripted.body, str) else scripted.body
            # Raw text starting with an SSE field is a scripted stream (e.g. an error event).
            kind = "text/event-stream" if data.startswith(b"event:") else "application/json"
            handler.send_bytes(scripted.status, data, kind, scripted.headers)
        else:
            handler.send_json(scripted.status, scripted.body, headers=scripted.headers)
        if scripted.status == 429:
            with self._lock:
                self.rate_limited += 1

    # -- content ------------------------------------------------------------------

    def answer_message(self, body: dict[str, Any]) -> dict[str, Any]:
        """The message this fake answers to a Messages request body (Message Batches use it too)."""
        return self._answer(body)

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        system_texts = _texts(body.get("system"))
        messages = body.get("messages") or []
        all_text = "\n".join(system_texts + [t for m in messages for t in _texts(m.get("content"))])
        found = _TRANSCRIPT.search(all_text)
        lecture = _Lecture(found.group(2), found.group(3)) if found else _Lecture("unknown", "")
        name = chosen_tool(body)
        max_tokens = int(body.get("max_tokens") or 1024)
        with self._lock:
            truncate = self._truncate > 0
            if truncate:
                self._truncate -= 1
            self._ids += 1
            msg_id = f"msg_fake_{self._ids:06d}"
        usage = self._usage(body)
        if name:
            tool_input = self._tool_input(name, body, lecture, all_text)
            out_tokens = _tokens(json.dumps(tool_input))
            if truncate or out_tokens > max_tokens:
                content = [{"type": "tool_use", "id": f"toolu_{msg_id}", "name": name, "input": {}}]
                stop, out_tokens = "max_tokens", max_tokens
            else:
                content = [{"type": "tool_use", "id": f"toolu_{msg_id}", "name": name,
                            "input": tool_input}]
                stop = "tool_use"
        else:
            link = "https://youtu.be/" in all_text
            request = " ".join(_texts(messages[0].get("content"))) if messages else ""
            # Follow the long-lecture requests' shape, as a model would (see notes/part_prompts.py).
            full = lecture.notes_for(request, link)
            prior = "".join(t for m in messages if m.get("role") == "assistant"
                            for t in _texts(m.get("content")))
            remaining = full[len(prior):] if prior and full.startswith(prior) else full
            stop = "end_turn"
            if truncate:
                remaining, stop = remaining[: max(1, len(remaining) // 2)], "max_tokens"
            if _tokens(remaining) > max_tokens:
                remaining, stop = remaining[: max_tokens * 4], "max_tokens"
            content = [{"type": "text", "text": remaining}]
            out_tokens = _tokens(remaining)
        usage["output_tokens"] = out_tokens
        return {"id": msg_id, "type": "message", "role": "assistant",
                "model": body.get("model", "claude-fake"), "content": content,
                "stop_reason": stop, "stop_sequence": None, "usage": usage}

    def _tool_input(self, name: str, body: dict[str, Any], lecture: _Lecture,
                    all_text: str) -> dict[str, Any]:
        if name == "record_study_data":
            last = _texts((body.get("messages") or [{}])[-1].get("content"))
            return lecture.study_data(existing_subjects(last[0]) if last else [])
        if name == "record_assessment":
            return lecture.assessment()
        for tool in body.get("tools") or []:
            if tool.get("name") == name:
                return _from_schema(tool.get("input_schema") or {})
        return {}

    def _usage(self, body: dict[str, Any], commit: bool = True) -> dict[str, Any]:
        """Account prompt caching: the prefix up to the last cache_control block.

        A cache entry lives for its ``ttl`` ("5m" by default, or "1h") from its
        last use. ``commit=False`` only looks (for the rate-limit check).
        """
        parts: list[Any] = []
        cached_upto = -1
        ttl = "5m"

        def mark(block: Any) -> None:
            nonlocal cached_upto, ttl
            if isinstance(block, dict) and "cache_control" in block:
                cached_upto = len(parts) - 1
                ttl = str((block.get("cache_control") or {}).get("ttl", "5m"))

        for tool in body.get("tools") or []:
            parts.append(tool)
            mark(tool)
        system = body.get("system")
        for block in ([{"type": "text", "text": system}] if isinstance(system, str) else system or []):
            parts.append(block)
            mark(block)
        for message in body.get("messages") or []:
            content = message.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
            for block in blocks:
                parts.append({"role": message.get("role"), **block} if isinstance(block, dict) else block)
                mark(block)

        def size(items: list[Any]) -> int:
            return _tokens(json.dumps(items, sort_keys=True)) if items else 0

        prefix, rest = parts[: cached_upto + 1], parts[cached_upto + 1:]
        usage: dict[str, Any] = {"input_tokens": size(rest), "output_tokens": 0,
                                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                                 "cache_creation": {"ephemeral_5m_input_tokens": 0,
                                                    "ephemeral_1h_input_tokens": 0}}
        if prefix:
            # The entry is keyed by its content, not by its ttl marker.
            plain = [{k: v for k, v in p.items() if k != "cache_control"} if isinstance(p, dict) else p
                     for p in prefix]
            key = hashlib.sha256(json.dumps([body.get("model"), plain], sort_keys=True).encode()).hexdigest()
            now = time.monotonic()
            with self._lock:
                hit = self._cache.get(key, 0.0) > now
                if commit:
                    self._cache[key] = max(self._cache.get(key, 0.0), now + _TTL_SECONDS.get(ttl, 300.0))
            tokens = size(prefix)
            if hit:
                usage["cache_read_input_tokens"] = tokens
            else:
                usage["cache_creation_input_tokens"] = tokens
                usage["cache_creation"]["ephemeral_1h_input_tokens" if ttl == "1h"
                                        else "ephemeral_5m_input_tokens"] = tokens
        return usage

    # -- streaming ------------------------------------------------------------------

    def _events(self, message: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        start = dict(message, content=[], stop_reason=None, stop_sequence=None,
                     usage=dict(message["usage"], output_tokens=1))
        yield "message_start", {"type": "message_start", "message": start}
        for index, block in enumerate(message["content"]):
            if block["type"] == "text":
                yield "content_block_start", {"type": "content_block_start", "index": index,
                                              "content_block": {"type": "text", "text": ""}}
                text = block["text"]
                for i in range(0, len(text), 64):
                    yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                                  "delta": {"type": "text_delta", "text": text[i:i + 64]}}
            else:
                yield "content_block_start", {"type": "content_block_start", "index": index,
                                              "content_block": dict(block, input={})}
                data = json.dumps(block["input"])
                for i in range(0, len(data), 64):
                    yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                                  "delta": {"type": "input_json_delta",
                                                            "partial_json": data[i:i + 64]}}
            yield "content_block_stop", {"type": "content_block_stop", "index": index}
        yield "message_delta", {"type": "message_delta",
                                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                                "usage": {"output_tokens": message["usage"]["output_tokens"]}}
        yield "message_stop", {"type": "message_stop"}

    def _send_stream(self, handler: Any, message: dict[str, Any],
                     cut: tuple[int, bool] | None = None, delay: float = 0.0) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("request-id", message["id"])
        for key, value in self.buckets.headers().items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.flush()
        self._wait_for_the_gathering()
        self._wait_if_held(handler)
        if delay:
            handler.pause(delay)
        # Being answered until the answer comes (the headers went ahead of it).
        handler.answering()
        for number, (name, data) in enumerate(self._events(message)):
            if cut is not None and number >= cut[0]:
                if cut[1]:
                    break  # a clean end of the body, before message_stop
                handler.wfile.flush()
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)  # a reset mid-answer
                return
            chunk = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
            handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """A started FakeAnthropic, stopped after the test."""
    fake = FakeAnthropic().start()
    try:
        yield fake
    finally:
        fake.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve the fake until killed (for benchmarks in another process)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--latency-per-1k-output", type=float, default=0.0)
    parser.add_argument("--max-concurrent", type=int, default=None)
    parser.add_argument("--retry-after", type=float, default=1.0)
    parser.add_argument("--rpm", type=int, default=None, help="requests per minute (token bucket)")
    parser.add_argument("--itpm", type=int, default=None, help="input tokens per minute")
    parser.add_argument("--otpm", type=int, default=None, help="output tokens per minute")
    parser.add_argument("--batch-latency", type=float, default=0.0)
    parser.add_argument("--api-key", default=None,
                        help="key to require in x-api-key (default: accept any)")
    args = parser.parse_args(argv)
    fake = FakeAnthropic(api_key=args.api_key, latency=args.latency,
                         latency_per_1k_output=args.latency_per_1k_output,
                         max_concurrent=args.max_concurrent, retry_after=args.retry_after,
                         rpm=args.rpm, itpm=args.itpm, otpm=args.otpm,
                         batch_latency=args.batch_latency, port=args.port).start()
    print(f"fake Anthropic API at {fake.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
