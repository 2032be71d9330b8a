"""A fake Anthropic Messages API on 127.0.0.1 for the real anthropic SDK.

Serves ``POST /v1/messages``, plain JSON and SSE streaming, with answers
computed deterministically from the transcript in the request: the same
request always gets the same notes, concepts and questions.

Knobs: ``latency`` (seconds per call), ``max_concurrent`` (more calls at once
get a 429 with ``retry-after``), ``enqueue()`` scripted responses,
``truncate_next(n)``, prompt-cache accounting. Counters: ``history``,
``count``, ``rate_limited``, ``peak_concurrency``.

Run it on its own for benchmarks::

    python -m tests.fakes.anthropic --port 8766 --latency 2.5 --max-concurrent 2
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest

from tests.fakes.http import LoopbackServer

__all__ = ["FakeAnthropic", "ScriptedResponse", "error_body", "fake_anthropic", "main",
           "DEFAULT_KEY"]

DEFAULT_KEY = "sk-ant-fake-test-key-0123456789"

# A transcript line, or a timestamped bullet of the part notes a long lecture's overview reads.
_LINE = re.compile(r"^(?:[-*]\s+)?\[(\d{1,2}:\d{2}(?::\d{2})?)\]\s*(.*)$")
_TRANSCRIPT = re.compile(r'<(transcript|lecture_notes) video_id="([^"]*)">(.*?)</\1>', re.DOTALL)
_WORD = re.compile(r"[A-Za-z][A-Za-z\-']+")
_STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each even every few
for from further get gets got had has have having he her here hers him his how however i if
in into is it its itself just know let like look lot make makes many may me might more most
much must my no nor not now of off often on once one only or other our out over own put
really right same say says see she should so some something such take than that the their
them then there these they thing things think this those through to today too two under
until up us very want was way we well were what when where which while who why will with
would you your going gonna okay yeah actually basically called call first next second
""".split())

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}


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


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _seconds(stamp: str) -> int:
    total = 0
    for part in stamp.split(":"):
        total = total * 60 + int(part)
    return total


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    out = []
    for block in content or []:
        if isinstance(block, dict) and block.get("type") == "text":
            out.append(str(block.get("text", "")))
    return out


class _Lecture:
    """What the fake 'understands' of the transcript in a request."""

    def __init__(self, video_id: str, body: str):
        self.video_id = video_id
        self.lines: list[tuple[int, str, str]] = []
        for raw in body.splitlines():
            m = _LINE.match(raw.strip())
            if m:
                self.lines.append((_seconds(m.group(1)), m.group(1), m.group(2).strip()))
        self.concepts = self._concepts()

    def _concepts(self, limit: int = 8) -> list[str]:
        words_per_line = [[w.lower() for w in _WORD.findall(text)] for _, _, text in self.lines]
        unigrams: collections.Counter[str] = collections.Counter()
        bigrams: collections.Counter[str] = collections.Counter()
        for words in words_per_line:
            keep = [w for w in words if w not in _STOPWORDS and len(w) > 3]
            unigrams.update(keep)
            for a, b in zip(words, words[1:]):
                if a not in _STOPWORDS and b not in _STOPWORDS and len(a) > 2 and len(b) > 2:
                    bigrams[f"{a} {b}"] += 1
        chosen = [p for p, n in sorted(bigrams.items(), key=lambda kv: (-kv[1], kv[0])) if n >= 2]
        chosen = chosen[: limit // 2]
        covered = {w for p in chosen for w in p.split()}
        for word, _n in sorted(unigrams.items(), key=lambda kv: (-kv[1], kv[0])):
            if len(chosen) >= limit:
                break
            if word not in covered:
                chosen.append(word)
        return chosen or ["lecture"]

    def stamp(self, seconds: int, label: str, link: bool) -> str:
        if not link:
            return f"[{label}]"
        return f"[{label}](https://youtu.be/{self.video_id}?t={seconds})"

    def line_with(self, concept: str) -> tuple[int, str, str] | None:
        for line in self.lines:
            if concept.lower() in line[2].lower():
                return line
        return None

    def notes(self, link: bool) -> str:
        c = self.concepts
        first = self.lines[0][2] if self.lines else ""
        out = ["## Overview", "",
               f"This lecture covers {', '.join(c[:3])}. It opens with: \"{first}\"", "",
               "## Core concepts", ""]
        for concept in c:
            hit = self.line_with(concept)
            said = hit[2] if hit else "discussed throughout"
            out.append(f"- **{concept.title()}**: {said}")
        out += ["", "## Key points", ""]
        step = max(1, len(self.lines) // 10)
        for seconds, label, text in self.lines[::step][:12]:
            out.append(f"- {self.stamp(seconds, label, link)} {text}")
        out += ["", "## Definitions", ""]
        for concept in c[:4]:
            out.append(f"- **{concept.title()}**: a central idea of this lecture.")
        out += ["", "## Examples", ""]
        examples = [ln for ln in self.lines if re.search(r"\b(example|instance|imagine)\b", ln[2], re.I)]
        for seconds, label, text in (examples or self.lines[:2])[:4]:
            out.append(f"- {self.stamp(seconds, label, link)} {text}")
        out += ["", "## Questions for further study", ""]
        for a, b in zip(c, c[1:4]):
            out.append(f"- How does {a} relate to {b}?")
        return "\n".join(out) + "\n"

    def part_notes(self, link: bool) -> str:
        """What a model writes for one part of a long lecture: a summary and ### sections."""
        full = self.notes(link)
        summary = full.split("## Core concepts")[0].replace("## Overview", "").strip()
        body = full.split("## Key points", 1)[1].split("## Questions for further study")[0]
        return summary.replace("This lecture", "This part", 1) + "\n\n### Key points" \
            + body.replace("\n## ", "\n### ")

    def overview_notes(self, link: bool) -> str:
        """What a model writes across a long lecture's parts: the sections that speak for the whole."""
        full = self.notes(link)
        head = full.split("## Key points")[0]
        return head + "## Questions for further study" + full.split("## Questions for further study", 1)[1]

    def study_data(self, existing: list[str]) -> dict[str, Any]:
        words = {w for p in self.concepts for w in p.split()}
        subject = None
        for name in existing:
            if {w.lower() for w in _WORD.findall(name)} & words:
                subject = name
                break
        return {
            "concepts": list(self.concepts),
            "summary": f"The lecture explains {', '.join(self.concepts[:3])} "
                       f"over {len(self.lines)} transcript lines.",
            "subject": subject or self.concepts[0].title(),
            "flashcards": self.flashcards(),
        }

    def flashcards(self) -> list[dict[str, Any]]:
        """A card per concept the transcript says something about, with a cloze of that line."""
        cards = []
        for concept in self.concepts:
            hit = self.line_with(concept)
            if hit is None:
                continue
            seconds, _, text = hit
            card: dict[str, Any] = {"front": f"What does the lecture say about {concept}?",
                                    "back": text, "timestamp_seconds": seconds}
            marked = re.sub(re.escape(concept), lambda m: f"=={m.group(0)}==", text, count=1, flags=re.I)
            if marked != text:
                card["cloze"] = marked
            cards.append(card)
        return cards

    def assessment(self) -> dict[str, Any]:
        from yt_study_buddy.models import ASSESSMENT_CATEGORIES

        questions = []
        c = self.concepts
        for i, category in enumerate(ASSESSMENT_CATEGORIES):
            for j in range(2):
                concept = c[(2 * i + j) % len(c)]
                hit = self.line_with(concept)
                item: dict[str, Any] = {
                    "category": category,
                    "question": f"[{category}] What does the lecture say about {concept}?",
                    "answer": f"It says: {(hit[2] if hit else concept).rstrip('.')}.",
                    "key_concepts": [concept],
                }
                if hit:
                    item["timestamp_seconds"] = hit[0]
                questions.append(item)
        return {"questions": questions}


def _from_schema(schema: dict[str, Any]) -> Any:
    """Produce a value that satisfies a simple JSON schema."""
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        return {k: _from_schema(v) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [_from_schema(schema.get("items", {"type": "string"}))]
    if kind in ("number", "integer"):
        return 1
    if kind == "boolean":
        return True
    return "fake"


class FakeAnthropic:
    """A thread-safe fake of the Messages API with scriptable failures."""

    def __init__(self, *, api_key: str | None = DEFAULT_KEY, latency: float = 0.0,
                 max_concurrent: int | None = None, retry_after: float = 1.0,
                 port: int = 0, latency_per_1k_output: float = 0.0):
        self.api_key = api_key
        self.latency = latency
        #: extra seconds per 1000 output tokens: a long answer takes longer, as on the real API
        self.latency_per_1k_output = latency_per_1k_output
        self.max_concurrent = max_concurrent
        self.retry_after = retry_after
        self.history: list[dict[str, Any]] = []
        self.count = 0
        self.rate_limited = 0
        self.peak_concurrency = 0
        self._active = 0
        self._truncate = 0
        self._queue: collections.deque[ScriptedResponse] = collections.deque()
        self._cache: set[str] = set()
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

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The request bodies received so far."""
        with self._lock:
            return [h["body"] for h in self.history]

    # -- serving ----------------------------------------------------------------

    def handle(self, handler: Any) -> None:
        """Answer one HTTP request (called by LoopbackServer)."""
        raw = handler.read_body()
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
        if scripted is not None:
            self._send_scripted(handler, scripted)
            return
        if self.api_key is not None and self._presented_key(handler) != self.api_key:
            handler.send_json(401, error_body(401, "invalid x-api-key"))
            return
        with self._lock:
            if self.max_concurrent is not None and self._active >= self.max_concurrent:
                self.rate_limited += 1
                busy = True
            else:
                busy = False
                self._active += 1
                self.peak_concurrency = max(self.peak_concurrency, self._active)
        if busy:
            handler.send_json(429, error_body(429, "Number of concurrent requests exceeded"),
                              headers={"retry-after": f"{self.retry_after:g}"})
            return
        try:
            message = self._answer(body)
            delay = self.latency + self.latency_per_1k_output * message["usage"]["output_tokens"] / 1000
            if delay:
                time.sleep(delay)
            if body.get("stream"):
                self._send_stream(handler, message)
            else:
                handler.send_json(200, message, headers={"request-id": message["id"]})
        finally:
            with self._lock:
                self._active -= 1

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

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        system_texts = _texts(body.get("system"))
        messages = body.get("messages") or []
        all_text = "\n".join(system_texts + [t for m in messages for t in _texts(m.get("content"))])
        found = _TRANSCRIPT.search(all_text)
        lecture = _Lecture(found.group(2), found.group(3)) if found else _Lecture("unknown", "")
        choice = body.get("tool_choice") or {}
        max_tokens = int(body.get("max_tokens") or 1024)
        with self._lock:
            truncate = self._truncate > 0
            if truncate:
                self._truncate -= 1
            self._ids += 1
            msg_id = f"msg_fake_{self._ids:06d}"
        usage = self._usage(body)
        if choice.get("type") == "tool":
            name = choice.get("name", "")
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
            full = (lecture.part_notes(link) if "one part of a long lecture" in request
                    else lecture.overview_notes(link) if "opening and closing sections" in request
                    else lecture.notes(link))
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
            existing: list[str] = []
            if last and "Existing subjects" in last[0]:
                block = last[0].split("Existing subjects", 1)[1]
                existing = [ln[2:].strip() for ln in block.splitlines() if ln.startswith("- ")]
            return lecture.study_data(existing)
        if name == "record_assessment":
            return lecture.assessment()
        for tool in body.get("tools") or []:
            if tool.get("name") == name:
                return _from_schema(tool.get("input_schema") or {})
        return {}

    def _usage(self, body: dict[str, Any]) -> dict[str, int]:
        """Account prompt caching: the prefix up to the last cache_control block."""
        parts: list[Any] = []
        cached_upto = -1
        for tool in body.get("tools") or []:
            parts.append(tool)
            if isinstance(tool, dict) and "cache_control" in tool:
                cached_upto = len(parts) - 1
        system = body.get("system")
        for block in ([{"type": "text", "text": system}] if isinstance(system, str) else system or []):
            parts.append(block)
            if isinstance(block, dict) and "cache_control" in block:
                cached_upto = len(parts) - 1
        for message in body.get("messages") or []:
            content = message.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
            for block in blocks:
                parts.append({"role": message.get("role"), **block} if isinstance(block, dict) else block)
                if isinstance(block, dict) and "cache_control" in block:
                    cached_upto = len(parts) - 1

        def size(items: list[Any]) -> int:
            return _tokens(json.dumps(items, sort_keys=True)) if items else 0

        prefix, rest = parts[: cached_upto + 1], parts[cached_upto + 1:]
        usage = {"input_tokens": size(rest), "output_tokens": 0,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        if prefix:
            key = hashlib.sha256(json.dumps([body.get("model"), prefix], sort_keys=True)
                                 .encode()).hexdigest()
            with self._lock:
                hit = key in self._cache
                self._cache.add(key)
            usage["cache_read_input_tokens" if hit else "cache_creation_input_tokens"] = size(prefix)
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

    def _send_stream(self, handler: Any, message: dict[str, Any]) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("request-id", message["id"])
        handler.end_headers()
        for name, data in self._events(message):
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
    parser.add_argument("--api-key", default=None,
                        help="key to require in x-api-key (default: accept any)")
    args = parser.parse_args(argv)
    fake = FakeAnthropic(api_key=args.api_key, latency=args.latency,
                         latency_per_1k_output=args.latency_per_1k_output,
                         max_concurrent=args.max_concurrent, retry_after=args.retry_after,
                         port=args.port).start()
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
