"""A fake OpenAI-compatible server on 127.0.0.1 for the real openai SDK (Ollama, vLLM, llama.cpp, OpenAI).

Serves ``GET /v1/models`` and ``POST /v1/chat/completions`` (plain JSON and
SSE streaming, with ``stream_options.include_usage``), plus the servers' own
endpoints the engine reads context sizes from: Ollama's ``POST /api/show``,
llama.cpp's ``GET /props``. Answers are computed from the transcript in the
request (``lecture.py``, as the fake Anthropic API does): the same request
always gets the same notes, concepts and questions.

Knobs: ``flavour`` ('ollama', 'vllm', 'llamacpp', 'plain': what ``owned_by``
and the context endpoints say), ``context_tokens``, ``supports`` (the
structured modes it accepts: 'json_schema', 'tools', 'json_object'; the rest
get HTTP 400 as real servers answer), ``stream_usage`` (False: a 400 for
``stream_options``), ``api_key`` (None: any key), ``latency``,
``max_concurrent`` (more at once get a 429 with ``retry-after``),
``enqueue()`` scripted HTTP responses, ``answer_next()`` scripted model text,
``truncate_next(n)``. Counters: ``history``, ``count``, ``rate_limited``,
``peak_concurrency``.

Run it on its own::

    python -m tests.fakes.openai_compat --port 11434 --flavour ollama --latency 1
"""

from __future__ import annotations

import argparse
import collections
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest

from tests.fakes.http import InFlight, LoopbackServer
from tests.fakes.lecture import TRANSCRIPT, Lecture, existing_subjects, from_schema, tokens

__all__ = ["FakeOpenAICompat", "fake_openai", "error_body", "MODEL", "main"]

MODEL = "llama3.2:latest"
_OWNERS = {"ollama": "library", "vllm": "vllm", "llamacpp": "llamacpp", "plain": "system"}
_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "not_found_error",
                429: "rate_limit_error", 500: "server_error", 503: "server_error"}


def error_body(status: int, message: str = "", code: str | None = None) -> dict[str, Any]:
    """An error body shaped like OpenAI's (Ollama, vLLM and llama.cpp answer alike)."""
    return {"error": {"message": message or f"fake error {status}",
                      "type": _ERROR_TYPES.get(status, "server_error"), "param": None, "code": code}}


@dataclass
class _Scripted:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class FakeOpenAICompat:
    """A thread-safe fake chat-completions server with scriptable failures and features."""

    def __init__(self, *, models: tuple[str, ...] = (MODEL,), flavour: str = "ollama",
                 context_tokens: int | None = 32768, supports: tuple[str, ...] = ("json_schema", "tools",
                                                                                   "json_object"),
                 stream_usage: bool = True, api_key: str | None = None, latency: float = 0.0,
                 max_concurrent: int | None = None, retry_after: float = 0.2,
                 tool_capable: bool = True, port: int = 0):
        self.models = list(models)
        self.flavour = flavour
        self.context_tokens = context_tokens
        self.supports = set(supports)
        self.stream_usage = stream_usage
        self.api_key = api_key
        self.latency = latency
        self.max_concurrent = max_concurrent
        self.retry_after = retry_after
        self.tool_capable = tool_capable
        self.history: list[dict[str, Any]] = []
        self.count = 0
        self.rate_limited = 0
        self._in_flight = InFlight()
        self._truncate = 0
        self._queue: collections.deque[_Scripted] = collections.deque()
        self._answers: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self._ids = 0
        self._server = LoopbackServer(self, port=port)

    # -- lifecycle ------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The /v1 base URL to give the SDK (``base_url=`` or OPENAI_BASE_URL)."""
        return self._server.base_url + "/v1"

    def start(self) -> "FakeOpenAICompat":
        """Serve in a background thread."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    def __enter__(self) -> "FakeOpenAICompat":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- knobs ------------------------------------------------------------------

    def enqueue(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        """Serve this HTTP response to the next chat completion (before any computed answer)."""
        with self._lock:
            self._queue.append(_Scripted(status, error_body(status) if body is None else body,
                                         dict(headers or {})))

    def answer_next(self, *texts: str) -> None:
        """Have the model answer the next structured calls with these texts, verbatim, as content."""
        with self._lock:
            self._answers.extend(texts)

    def truncate_next(self, n: int = 1) -> None:
        """Stop the next n answers at the token limit, half-way through."""
        with self._lock:
            self._truncate += n

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The chat-completion request bodies received so far."""
        with self._lock:
            return [h["body"] for h in self.history if h["path"].endswith("/chat/completions")]

    @property
    def paths(self) -> list[str]:
        """Every request as 'METHOD /path', in order."""
        with self._lock:
            return [f"{h['method']} {h['path']}" for h in self.history]

    # -- serving ----------------------------------------------------------------

    def handle(self, handler: Any) -> None:
        """Answer one HTTP request (called by LoopbackServer)."""
        raw = handler.read_body()
        path = handler.path.split("?", 1)[0].rstrip("/")
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            handler.send_json(400, error_body(400, "body is not JSON"))
            return
        with self._lock:
            self.history.append({"method": handler.command, "path": path, "body": body,
                                 "headers": {k.lower(): v for k, v in handler.headers.items()}})
        if self.api_key is not None and handler.headers.get("authorization") != f"Bearer {self.api_key}":
            handler.send_json(401, error_body(401, "Incorrect API key provided", "invalid_api_key"))
            return
        route = (handler.command, path)
        if route == ("GET", "/v1/models"):
            handler.send_json(200, {"object": "list", "data": [self._model_entry(m) for m in self.models]})
        elif route == ("POST", "/api/show") and self.flavour == "ollama":
            self._show(handler, body)
        elif route == ("GET", "/props") and self.flavour == "llamacpp":
            handler.send_json(200, {"default_generation_settings": {"n_ctx": self.context_tokens}})
        elif route == ("POST", "/v1/chat/completions"):
            self._chat(handler, body)
        else:
            handler.send_json(404, error_body(404, f"no route {handler.command} {path}"))

    def _model_entry(self, model: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": model, "object": "model", "created": 1700000000,
                                 "owned_by": _OWNERS.get(self.flavour, "system")}
        if self.flavour == "vllm" and self.context_tokens:
            entry["max_model_len"] = self.context_tokens
        return entry

    def _show(self, handler: Any, body: dict[str, Any]) -> None:
        name = str(body.get("model") or "")
        if name not in self.models and f"{name}:latest" not in self.models:
            handler.send_json(404, {"error": f"model '{name}' not found"})
            return
        show: dict[str, Any] = {"model_info": {"llama.context_length": 131072},
                                "capabilities": ["completion"] + (["tools"] if self.tool_capable else [])}
        if self.context_tokens:
            show["parameters"] = f"temperature 0.7\nnum_ctx {self.context_tokens}"
        handler.send_json(200, show)

    def _known(self, model: str) -> bool:
        return model in self.models or f"{model}:latest" in self.models

    def _chat(self, handler: Any, body: dict[str, Any]) -> None:
        with self._lock:
            self.count += 1
            scripted = self._queue.popleft() if self._queue else None
        if scripted is not None:
            if scripted.status == 429:
                with self._lock:
                    self.rate_limited += 1
            data = scripted.body
            if isinstance(data, (str, bytes)):
                data = data.encode() if isinstance(data, str) else data
                handler.send_bytes(scripted.status, data, "text/event-stream"
                                   if data.startswith(b"data:") else "application/json", scripted.headers)
            else:
                handler.send_json(scripted.status, data, headers=scripted.headers)
            return
        model = str(body.get("model") or "")
        if not self._known(model):
            handler.send_json(404, error_body(404, f"model '{model}' not found", "model_not_found"))
            return
        problem = self._unsupported(body)
        if problem:
            handler.send_json(400, error_body(400, problem))
            return
        leave = self._in_flight.enter(handler, self.max_concurrent)
        if leave is None:
            with self._lock:
                self.rate_limited += 1
            handler.send_json(429, error_body(429, "Too many concurrent requests"),
                              headers={"retry-after": f"{self.retry_after:g}"})
            return
        try:
            if self.latency:
                handler.pause(self.latency)
            completion = self._answer(body)
            if body.get("stream"):
                self._send_stream(handler, completion, bool((body.get("stream_options") or {})
                                                            .get("include_usage")))
            else:
                handler.send_json(200, completion)
        finally:
            leave()

    @property
    def peak_concurrency(self) -> int:
        """Most chat calls being answered at once."""
        return self._in_flight.peak

    def _unsupported(self, body: dict[str, Any]) -> str | None:
        """What a real server with this feature set would reject, as its 400 says it."""
        fmt = (body.get("response_format") or {}).get("type")
        if fmt and fmt not in self.supports:
            return f"response_format type {fmt!r} is not supported"
        if body.get("tools") and ("tools" not in self.supports or not self.tool_capable):
            return f"{body.get('model')} does not support tools"
        if "stream_options" in body and not self.stream_usage:
            return "Unrecognized request argument supplied: stream_options"
        prompt = sum(tokens(str(m.get("content") or "")) for m in body.get("messages") or [])
        limit = body.get("max_tokens") or body.get("max_completion_tokens") or 0
        if self.context_tokens and prompt + int(limit) > self.context_tokens:
            return (f"This model's maximum context length is {self.context_tokens} tokens. However, "
                    f"you requested {prompt + int(limit)} tokens.")
        return None

    # -- content ------------------------------------------------------------------

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages") or []
        all_text = "\n".join(str(m.get("content") or "") for m in messages)
        found = TRANSCRIPT.search(all_text)
        lecture = Lecture(found.group(2), found.group(3)) if found else Lecture("unknown", "")
        limit = int(body.get("max_tokens") or body.get("max_completion_tokens") or 1024)
        tool = self._tool_asked(body)
        with self._lock:
            truncate = self._truncate > 0
            if truncate:
                self._truncate -= 1
            scripted = self._answers.popleft() if (tool and self._answers) else None
            self._ids += 1
            ident = f"chatcmpl-fake-{self._ids:06d}"
        message: dict[str, Any] = {"role": "assistant", "content": None}
        finish = "stop"
        if tool:
            data = scripted if scripted is not None else json.dumps(self._tool_input(tool, body, lecture))
            if truncate or tokens(data) > limit:
                data, finish = data[: max(1, len(data) // 2)], "length"
            if body.get("tools") and scripted is None:
                message["tool_calls"] = [{"id": f"call_{ident}", "type": "function",
                                          "function": {"name": tool, "arguments": data}}]
                finish = "tool_calls" if finish == "stop" else finish
            else:
                message["content"] = data
            out = tokens(data)
        else:
            request = next((str(m.get("content") or "") for m in messages if m.get("role") == "user"), "")
            full = lecture.notes_for(request, link="https://youtu.be/" in all_text)
            prior = "".join(str(m.get("content") or "") for m in messages if m.get("role") == "assistant")
            text = full[len(prior):] if prior and full.startswith(prior) else full
            if truncate:
                text, finish = text[: max(1, len(text) // 2)], "length"
            if tokens(text) > limit:
                text, finish = text[: limit * 4], "length"
            message["content"] = text
            out = tokens(text)
        prompt = sum(tokens(str(m.get("content") or "")) for m in messages)
        return {"id": ident, "object": "chat.completion", "created": 1700000000,
                "model": body.get("model"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": out,
                          "total_tokens": prompt + out}}

    @staticmethod
    def _tool_asked(body: dict[str, Any]) -> str | None:
        """The tool whose arguments the request wants, however it asks."""
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            return (choice.get("function") or {}).get("name")
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            return (fmt.get("json_schema") or {}).get("name")
        last = str((body.get("messages") or [{}])[-1].get("content") or "")
        first_user = next((str(m.get("content") or "") for m in body.get("messages") or []
                           if m.get("role") == "user"), "")
        for name in ("record_study_data", "record_assessment"):
            if f"as if calling {name}" in first_user or f"as if calling {name}" in last:
                return name
        return None

    def _tool_input(self, name: str, body: dict[str, Any], lecture: Lecture) -> dict[str, Any]:
        if name == "record_study_data":
            first_user = next((str(m.get("content") or "") for m in body.get("messages") or []
                               if m.get("role") == "user"), "")
            return lecture.study_data(existing_subjects(first_user.split("\n\nAnswer as if", 1)[0]))
        if name == "record_assessment":
            return lecture.assessment()
        fmt = body.get("response_format") or {}
        return from_schema((fmt.get("json_schema") or {}).get("schema") or {})

    # -- streaming ------------------------------------------------------------------

    def _chunks(self, completion: dict[str, Any], usage: bool) -> Iterator[dict[str, Any]]:
        base = {"id": completion["id"], "object": "chat.completion.chunk",
                "created": completion["created"], "model": completion["model"]}
        text = completion["choices"][0]["message"]["content"] or ""
        yield dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""},
                                   "finish_reason": None}])
        for i in range(0, len(text), 64):
            yield dict(base, choices=[{"index": 0, "delta": {"content": text[i:i + 64]},
                                       "finish_reason": None}])
        yield dict(base, choices=[{"index": 0, "delta": {},
                                   "finish_reason": completion["choices"][0]["finish_reason"]}])
        if usage:
            yield dict(base, choices=[], usage=completion["usage"])

    def _send_stream(self, handler: Any, completion: dict[str, Any], usage: bool) -> None:
        handler.answering()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        events = [f"data: {json.dumps(c)}\n\n" for c in self._chunks(completion, usage)]
        for event in events + ["data: [DONE]\n\n"]:
            chunk = event.encode()
            handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAICompat]:
    """A started FakeOpenAICompat (Ollama-flavoured, one model), stopped after the test."""
    fake = FakeOpenAICompat().start()
    try:
        yield fake
    finally:
        fake.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve the fake until killed (for trying the CLI or benchmarks in another process)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--flavour", default="ollama", choices=sorted(_OWNERS))
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--max-concurrent", type=int, default=None)
    parser.add_argument("--context-tokens", type=int, default=32768)
    args = parser.parse_args(argv)
    fake = FakeOpenAICompat(flavour=args.flavour, latency=args.latency, port=args.port,
                            max_concurrent=args.max_concurrent,
                            context_tokens=args.context_tokens).start()
    print(f"fake OpenAI-compatible server at {fake.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
