"""Stage notes: study notes and assessments from any OpenAI-compatible server through the official openai SDK.

Ollama, LM Studio, vLLM, llama.cpp's server and OpenAI itself all speak the
chat-completions API; one engine serves them all, with the prompts and JSON
schemas of ``prompts.py`` (the same as Claude's).

- Notes are streamed; an answer cut off at the token limit is continued.
- Structured parts (study data, assessment) ask for the tool's arguments in
  the first way the server accepts: ``response_format`` json_schema, a forced
  tool call, ``json_object``, or plain instructions. A way the server rejects
  (HTTP 400/422) before any answer in it succeeded is dropped for the rest of
  the run. Answers are repaired and validated (``structured.py``); a
  malformed one is asked for once more, then the video fails with the reason.
- Calls share the batch's slots and back-off with every worker
  (``calls.LimitedCalls``): a 429 or 503 pauses them all.
- The server is asked once what it offers (``openai_server.py``): a refused
  connection or an unknown model stops the batch before its first video.

The SDK is imported lazily (first in ``OpenAIEngine.__init__``), so a run
that generates nothing never loads it.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence, TypeVar
from urllib.parse import urlsplit

from yt_study_buddy.batch.limits import ServiceLimits
from yt_study_buddy.config import redact, register_secret
from yt_study_buddy.errors import (
    InputError,
    InternalError,
    ModelAuthError,
    ModelNotFound,
    ModelRateLimited,
    ModelResponseError,
    ModelServerDown,
    ModelTruncated,
    NetworkError,
    StudyBuddyError,
)
from yt_study_buddy.models import Assessment, NotesResult, Transcript, VideoMeta
from yt_study_buddy.notes import answers, prompts
from yt_study_buddy.notes.calls import LimitedCalls, retry_after_seconds
from yt_study_buddy.notes.cards import card_range
from yt_study_buddy.notes.llm_parts import LLMPartCalls, assessment_input
from yt_study_buddy.notes.parts import ContextBudget, estimate_tokens
from yt_study_buddy.notes.openai_server import (
    ServerInfo,
    is_local_server,
    is_openai_host,
    config_problem,
    probe_server,
    server_label,
)
from yt_study_buddy.notes.structured import AnswerProblem, read_tool_answer

__all__ = ["OpenAIEngine", "openai_errors", "convert_openai_error", "MODES", "OPENAI_API_URL",
           "DEFAULT_OPENAI_MODEL"]

log = logging.getLogger(__name__)
T = TypeVar("T")

OPENAI_API_URL = "https://api.openai.com/v1"
#: Used only with OpenAI's own API when no model is named.
DEFAULT_OPENAI_MODEL = "gpt-4.1-mini"
#: Ways to ask for structured answers, most reliable first.
MODES = ("json_schema", "tools", "json_object", "prompt")
MAX_CONTINUATIONS = 3
#: Below this many tokens left for the answer, a prompt is too long for the context.
MIN_OUTPUT_TOKENS = 1024
_MAX_LISTED = 20
# Local servers ignore the key, but the SDK insists on one.
_NO_KEY = "no-key-needed"
_THINK = re.compile(r"\A\s*<think>.*?</think>\s*", re.DOTALL)
_WHO = "the model"


class _Rejected(ModelResponseError):
    """The server refused the request itself (HTTP 400/422): maybe a feature it lacks."""


# -- errors at the boundary ------------------------------------------------------------


def _detail(exc: Any) -> str:
    """The server's own short explanation, scrubbed of secrets."""
    message = getattr(exc, "message", None)
    if not isinstance(message, str) or not message.strip():
        return ""
    return redact(" ".join(message.split()))[:200]


def _refused(exc: BaseException) -> bool:
    """True when the connection was refused: nothing listens at the address."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ConnectionRefusedError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def convert_openai_error(exc: BaseException, server: str) -> StudyBuddyError:
    """Turn an openai SDK exception into the project's error, by type."""
    import openai  # lazy: only reached once the engine is in use

    detail = _detail(exc)
    said = f": {detail}" if detail else ""
    if isinstance(exc, openai.APITimeoutError):
        return NetworkError(f"the model server at {server} did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        if _refused(exc):
            return ModelServerDown(f"could not connect to the model server at {server}: "
                                   f"is the server running? (e.g. `ollama serve`)")
        return NetworkError(f"could not reach the model server at {server} (network unreachable)")
    if isinstance(exc, openai.RateLimitError):
        if exc.code == "insufficient_quota":
            return ModelAuthError(f"the account at {server} is out of quota; finished notes are "
                                  f"kept, add credit and re-run to do the rest")
        error = ModelRateLimited(f"the model server at {server} is rate limiting (HTTP 429)")
        error.retry_after = retry_after_seconds(exc.response.headers)
        return error
    if isinstance(exc, openai.InternalServerError) and exc.status_code == 503:
        error = ModelRateLimited(f"the model server at {server} is overloaded (HTTP 503)")
        error.retry_after = retry_after_seconds(exc.response.headers)
        return error
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return ModelAuthError(f"the model server at {server} refused the API key "
                              f"(HTTP {exc.status_code}; check OPENAI_API_KEY){said}")
    if isinstance(exc, openai.NotFoundError):
        return ModelNotFound(f"the model server at {server} has no such model or endpoint "
                             f"(check --model and --base-url, e.g. http://localhost:11434/v1){said}")
    if isinstance(exc, (openai.BadRequestError, openai.UnprocessableEntityError)):
        return _Rejected(f"the model server at {server} rejected the request{said}")
    if isinstance(exc, openai.InternalServerError):
        return ModelResponseError(f"the model server at {server} failed (HTTP {exc.status_code}){said}",
                                  retryable=True)
    if isinstance(exc, openai.APIStatusError):
        return ModelResponseError(f"the model server at {server} answered HTTP {exc.status_code}{said}",
                                  retryable=exc.status_code in (408, 409))
    if isinstance(exc, openai.APIResponseValidationError):
        return ModelResponseError(f"the model server at {server} sent an answer the API does not allow")
    if isinstance(exc, openai.APIError):
        # An error event inside a 200 stream: the server failed mid-answer.
        return ModelResponseError(f"the model server at {server} failed mid-answer{said}", retryable=True)
    return ModelResponseError(f"the request to the model server at {server} failed "
                              f"({type(exc).__name__}){said}")


@contextmanager
def openai_errors(server: str) -> Iterator[None]:
    """Map everything the openai SDK raises inside to the project's errors; log anything else as a bug."""
    import openai  # lazy: see the module docstring

    try:
        yield
    except StudyBuddyError:
        raise
    except openai.OpenAIError as exc:
        raise convert_openai_error(exc, server) from None
    except Exception as exc:
        log.error("unexpected error talking to the model server at %s", server, exc_info=True)
        raise InternalError(f"internal error while talking to the model server "
                            f"({type(exc).__name__}); the log has the details") from exc


# -- the engine -----------------------------------------------------------------------


class _Modes:
    """Which way of asking for structured answers this server accepts, learned once per engine."""

    def __init__(self, modes: Sequence[str]):
        self._modes = list(modes)
        self._index = 0
        self._confirmed = False
        self._lock = threading.Lock()

    @property
    def current(self) -> str:
        """The way to ask now."""
        with self._lock:
            return self._modes[self._index]

    def confirm(self, mode: str) -> None:
        """An answer in ``mode`` came back: never fall back from it again."""
        with self._lock:
            if self._modes[self._index] == mode:
                self._confirmed = True

    def drop(self, mode: str) -> bool:
        """The server rejected ``mode``: move on; False when there is nothing left to try."""
        with self._lock:
            if self._modes[self._index] != mode:
                return True  # another worker already moved on
            if self._confirmed or self._index + 1 >= len(self._modes):
                return False
            self._index += 1
            log.info("model server rejected %s answers; asking with %s from now on",
                     mode, self._modes[self._index])
            return True


def _openai_tools() -> list[dict[str, Any]]:
    return [{"type": "function",
             "function": {"name": t["name"], "description": t["description"],
                          "parameters": t["input_schema"]}} for t in prompts.TOOLS]


def _add_usage(total: dict[str, int], usage: Any) -> None:
    """Count tokens under the project's usage keys (cached input apart, as Claude reports it)."""
    if usage is None:
        return
    prompt = getattr(usage, "prompt_tokens", None) or 0
    details = getattr(usage, "prompt_tokens_details", None)
    cached = (getattr(details, "cached_tokens", None) or 0) if details is not None else 0
    output = getattr(usage, "completion_tokens", None) or 0
    for key, value in (("input_tokens", prompt - cached), ("cache_read_input_tokens", cached),
                       ("output_tokens", output)):
        if isinstance(value, int) and value > 0:
            total[key] = total.get(key, 0) + value


def _system_message(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """The shared prompt's system blocks as one system message (no cache markers: servers cache prefixes)."""
    return {"role": "system", "content": "\n\n".join(block["text"] for block in blocks)}


def _estimate_tokens(messages: list[dict[str, Any]], extra_chars: int = 0) -> int:
    text = "".join(str(m.get("content") or "") for m in messages)
    return estimate_tokens(text) + math.ceil(extra_chars / 3.5) + 8 * len(messages)


class OpenAIEngine(LLMPartCalls):
    """Generate notes and assessments with a model behind an OpenAI-compatible API."""

    name = "openai"

    def __init__(self, *, model: str | None = None, base_url: str | None = None,
                 api_key: str | None = None, limits: ServiceLimits | None = None,
                 max_retries: int = 6, timeout: float = 600.0, max_tokens: int = 4096,
                 context_tokens: int | None = None, backoff_base: float = 1.0,
                 backoff_max: float = 60.0):
        import openai  # lazy: see the module docstring

        self.base_url = (base_url or OPENAI_API_URL).rstrip("/")
        self.server = server_label(self.base_url)
        problem = config_problem(self.base_url, api_key)
        if problem:
            raise InputError(problem)
        register_secret(api_key)
        register_secret(urlsplit(self.base_url).password)  # a proxy-style user:pass@host URL
        self.model = model or (DEFAULT_OPENAI_MODEL if is_openai_host(self.base_url) else None)
        self.limits = limits or ServiceLimits()
        self.max_tokens = max_tokens
        self._context_override = context_tokens
        #: True for a server on this machine or network: its calls cost nothing.
        self.local = is_local_server(self.base_url)
        self._openai_host = is_openai_host(self.base_url)
        # One client per engine: it is thread-safe and pools connections.
        self._client = openai.OpenAI(api_key=api_key or _NO_KEY, base_url=self.base_url,
                                     max_retries=0, timeout=timeout)
        self._calls = LimitedCalls(self.limits, service=f"the model server at {self.server}",
                                   throttle_errors=(ModelRateLimited,), max_retries=max_retries,
                                   backoff_base=backoff_base, backoff_max=backoff_max)
        self._info: ServerInfo | None = None
        self._modes = _Modes(MODES)
        self._stream_usage: bool | None = None  # whether stream_options is accepted

    # -- public API ---------------------------------------------------------

    def prepare(self) -> None:
        """Ask the server once for its models and the model's context size; stop early if it can't serve."""
        if self._info is not None:
            return
        listed = self._list_models()
        if self.model is None:
            if len(listed) != 1:
                names = ", ".join(str(m.get("id")) for m in listed[:_MAX_LISTED]) or "none"
                raise ModelNotFound(f"name a model with --model (or YT_STUDY_BUDDY_OPENAI_MODEL); "
                                    f"the server at {self.server} has: {names}")
            self.model = str(listed[0].get("id"))
        ids = {str(m.get("id")) for m in listed}
        if listed and self.model not in ids and f"{self.model}:latest" not in ids:
            names = ", ".join(sorted(ids)[:_MAX_LISTED])
            more = f" (and {len(ids) - _MAX_LISTED} more)" if len(ids) > _MAX_LISTED else ""
            raise ModelNotFound(f"the model server at {self.server} has no model {self.model!r}; "
                                f"it has: {names}{more}")
        info = probe_server(self.base_url, self.model, listed, self._fetch)
        if self._context_override:
            info.context_tokens, info.context_source = self._context_override, "YT_STUDY_BUDDY_CONTEXT_TOKENS"
        if info.tools is False:
            self._modes = _Modes([m for m in MODES if m != "tools"])
        log.info("model %s at %s: context %d tokens (%s)", self.model, self.server,
                 info.context_tokens, info.context_source)
        self._info = info

    @property
    def info(self) -> ServerInfo:
        """What the server said about itself (asked on first use)."""
        if self._info is None:
            self.prepare()
        assert self._info is not None
        return self._info

    def generate_notes(self, meta: VideoMeta, transcript: Transcript,
                       existing_subjects: Sequence[str] = (), *, draft: str | None = None,
                       on_draft: Callable[[str, dict[str, int]], None] | None = None) -> NotesResult:
        """Write study notes and the structured study data (concepts, summary, subject, flashcards)."""
        if not transcript.segments:
            raise ModelResponseError("the transcript is empty; there is nothing to take notes on")
        system = prompts.system_blocks(meta, transcript)
        usage: dict[str, int] = {}
        if draft:
            markdown = draft
        else:
            markdown = self._stream_notes(system, meta, usage)
            if on_draft is not None:
                on_draft(markdown, dict(usage))
        return self._study_notes(system, markdown, existing_subjects, usage, transcript.duration)

    def generate_assessment(self, meta: VideoMeta, transcript: Transcript,
                            notes: NotesResult) -> Assessment:
        """Write self-test questions in the four assessment categories."""
        if not transcript.segments:
            raise ModelResponseError("the transcript is empty; there is nothing to assess")
        # A lecture written in parts is assessed from its parts' notes (see llm_parts).
        system, request = assessment_input(meta, transcript, notes, self.context_budget())
        usage: dict[str, int] = {}
        questions = self._structured(
            system, request, prompts.ASSESSMENT_TOOL, usage,
            lambda data: answers.assessment_questions(data, who=_WHO, error=ModelResponseError))
        return Assessment(questions=questions, usage=usage)

    @property
    def context_tokens(self) -> int:  # type: ignore[override]
        """The model's context window in tokens, as the server says (asked on first use)."""
        return self.info.context_tokens

    def context_budget(self) -> ContextBudget:
        """The context window, and answers of at most a quarter of it: small windows get more, shorter parts."""
        return ContextBudget(context_tokens=self.context_tokens, output_tokens=self._notes_tokens())

    def close(self) -> None:
        """Close the HTTP connections of the shared client."""
        self._client.close()

    # -- the server ------------------------------------------------------------

    def _list_models(self) -> list[dict[str, Any]]:
        """The server's /v1/models entries; [] when it has no such endpoint."""
        def call() -> list[dict[str, Any]]:
            with openai_errors(self.server):
                return [m.to_dict() for m in self._client.models.list()]

        try:
            return self._calls.run(call)
        except ModelNotFound:
            log.info("the model server at %s does not list its models", self.server)
            return []

    def _fetch(self, url: str, body: dict[str, Any] | None) -> Any:
        """GET (body None) or POST JSON to one of the server's own endpoints."""
        with openai_errors(self.server):
            if body is None:
                return self._client.get(url, cast_to=object)
            return self._client.post(url, body=body, cast_to=object)

    # -- requests ----------------------------------------------------------------

    def _notes_tokens(self) -> int:
        return min(self.max_tokens, max(MIN_OUTPUT_TOKENS, self.context_tokens // 4))

    def _study_notes(self, system: list[dict[str, Any]], markdown: str,
                     existing_subjects: Sequence[str], usage: dict[str, int],
                     duration: float | None) -> NotesResult:
        """Take the study data and cards for these notes (same system prompt as the notes)."""
        study = self._structured(
            system, prompts.study_data_request(existing_subjects, card_range(duration)),
            prompts.STUDY_TOOL, usage,
            lambda data: answers.study_data(data, existing_subjects, who=_WHO, error=ModelResponseError))
        return NotesResult(markdown=markdown, concepts=study.concepts, summary=study.summary,
                           subject=study.subject, engine=self.name, model=self.model, usage=usage,
                           flashcards=study.flashcards)

    def _output_budget(self, messages: list[dict[str, Any]], extra_chars: int = 0) -> int:
        """Tokens left for the answer in the model's context; a clear error when the prompt won't fit."""
        info = self.info
        prompt = _estimate_tokens(messages, extra_chars)
        left = info.context_tokens - prompt - 64
        if left < MIN_OUTPUT_TOKENS:
            raise ModelResponseError(
                f"the transcript is too long for the model's context: about {prompt} tokens of "
                f"prompt, {info.context_tokens} tokens of context ({info.context_source}); use a "
                f"model with a larger context, or give the server a larger one and set "
                f"YT_STUDY_BUDDY_CONTEXT_TOKENS")
        return min(self.max_tokens, left)

    def _limit(self, tokens: int) -> dict[str, Any]:
        # OpenAI's newer models take only max_completion_tokens; other servers know max_tokens.
        return {"max_completion_tokens": tokens} if self._openai_host else {"max_tokens": tokens}

    def _stream_notes(self, system_blocks: list[dict[str, Any]], meta: VideoMeta, usage: dict[str, int],
                      request: str | None = None) -> str:
        """Stream the notes; continue an answer cut off at the token limit a bounded number of times."""
        system = _system_message(system_blocks)
        messages: list[dict[str, Any]] = [
            system, {"role": "user", "content": request or prompts.notes_request(meta)}]
        parts: list[str] = []
        for _ in range(MAX_CONTINUATIONS + 1):
            budget = min(self._notes_tokens(), self._output_budget(messages))
            text, finish, call_usage = self._calls.run(lambda: self._stream_once(messages, budget))
            _add_usage(usage, call_usage)
            parts.append(_THINK.sub("", text) if not parts else text)
            if finish in ("stop", None) and "".join(parts).strip():
                markdown = answers.clean_markdown("".join(parts), meta)
                if not markdown.strip():
                    raise ModelResponseError("the model returned empty notes")
                return markdown
            if finish != "length":
                raise ModelResponseError(f"the model stopped the notes early (finish reason: {finish})")
            if not "".join(parts).strip():
                raise ModelTruncated(f"the model's notes were cut off before any text "
                                     f"({budget} tokens allowed); not saved")
            messages = [system, messages[1], {"role": "assistant", "content": "".join(parts)},
                        {"role": "user", "content": prompts.continue_request()}]
        raise ModelTruncated(f"the model's notes were still cut off after {MAX_CONTINUATIONS} "
                             f"continuations; not saved")

    def _stream_once(self, messages: list[dict[str, Any]], budget: int) -> tuple[str, str | None, Any]:
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "stream": True,
                                  **self._limit(budget)}
        if self._stream_usage is not False:
            kwargs["stream_options"] = {"include_usage": True}
        try:
            return self._read_stream(kwargs)
        except _Rejected:
            if self._stream_usage is not None or "stream_options" not in kwargs:
                raise
        # Some servers reject stream_options: stream without token counts from now on.
        del kwargs["stream_options"]
        result = self._read_stream(kwargs)
        self._stream_usage = False
        return result

    def _read_stream(self, kwargs: dict[str, Any]) -> tuple[str, str | None, Any]:
        parts: list[str] = []
        finish: str | None = None
        usage = None
        with openai_errors(self.server):
            with self._client.chat.completions.create(**kwargs) as stream:
                for chunk in stream:
                    if chunk.usage is not None:
                        usage = chunk.usage
                    for choice in chunk.choices:
                        if choice.delta is not None and choice.delta.content:
                            parts.append(choice.delta.content)
                        if choice.finish_reason:
                            finish = choice.finish_reason
        if "stream_options" in kwargs:
            self._stream_usage = True
        return "".join(parts), finish, usage

    def _structured(self, system_blocks: list[dict[str, Any]], request: str, tool: str,
                    usage: dict[str, int], convert: Callable[[dict[str, Any]], T]) -> T:
        """Ask for ``tool``'s arguments, check them with ``convert``; one more try after a malformed answer."""
        system = _system_message(system_blocks)
        retry: list[dict[str, Any]] = []
        problem = ""
        malformed = 0
        while malformed < 2:
            mode = self._modes.current
            messages = [system, {"role": "user", "content": self._request_text(request, tool, mode)},
                        *retry]
            try:
                text, finish, budget = self._calls.run(lambda: self._ask(messages, tool, mode, usage))
            except _Rejected:
                if not self._modes.drop(mode):
                    raise
                continue  # the next way of asking; not the model's fault
            self._modes.confirm(mode)
            if finish == "length":
                # Asking again would hit the same limit: not a malformed answer.
                raise ModelTruncated(f"the model's {tool} answer was cut off at {budget} tokens")
            try:
                return convert(read_tool_answer(text, tool))
            except AnswerProblem as exc:
                problem = str(exc)
            except ModelResponseError as exc:
                problem = exc.reason
            malformed += 1
            log.info("malformed %s answer from %s (%s)%s", tool, self.model, problem,
                     "; asking again" if malformed < 2 else "")
            retry = [{"role": "assistant", "content": (text or "")[:4000]},
                     {"role": "user", "content": prompts.json_retry_request(problem)}]
        raise ModelResponseError(f"the model's {tool} answer was unusable after a retry "
                                 f"({problem}); a larger model may do better", retryable=True)

    def _request_text(self, request: str, tool: str, mode: str) -> str:
        if mode == "tools":
            return request
        return f"{request}\n\n{prompts.json_reply_instructions(tool)}"

    def _ask(self, messages: list[dict[str, Any]], tool: str, mode: str,
             usage: dict[str, int]) -> tuple[str | None, str | None, int]:
        """One structured call in ``mode``; return the answer's JSON text, finish reason and token limit."""
        extra: dict[str, Any] = {}
        schema_chars = 0
        if mode == "json_schema":
            schema = next(t["input_schema"] for t in prompts.TOOLS if t["name"] == tool)
            extra["response_format"] = {"type": "json_schema",
                                        "json_schema": {"name": tool, "schema": schema, "strict": False}}
            schema_chars = len(json.dumps(schema))
        elif mode == "tools":
            extra["tools"] = _openai_tools()
            extra["tool_choice"] = {"type": "function", "function": {"name": tool}}
            schema_chars = len(json.dumps(extra["tools"]))
        elif mode == "json_object":
            extra["response_format"] = {"type": "json_object"}
        budget = self._output_budget(messages, schema_chars)
        with openai_errors(self.server):
            completion = self._client.chat.completions.create(
                model=self.model, messages=messages, **self._limit(budget), **extra)
        _add_usage(usage, completion.usage)
        if not completion.choices:
            raise ModelResponseError(f"the model server at {self.server} sent no answer", retryable=True)
        choice = completion.choices[0]
        message = choice.message
        for call in message.tool_calls or []:
            function = getattr(call, "function", None)
            if function is not None and function.name == tool:
                return function.arguments, choice.finish_reason, budget
        return _THINK.sub("", message.content or ""), choice.finish_reason, budget
