"""Stage notes: study notes and assessments from Claude through the official anthropic SDK.

The SDK is imported lazily (inside ``ClaudeEngine.__init__`` and
``convert_anthropic_error``), so importing this module is cheap and the CLI's
``--help`` stays fast.

Retries are ours, not the SDK's (``max_retries=0``): one batch shares one
``ServiceLimits``, so a 429 seen by one worker pauses every worker via
``limits.claude_backoff`` instead of each thread hammering the API on its own
schedule.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from typing import Any, Callable, Sequence, TypeVar

from yt_study_buddy.notes import answers, prompts
from yt_study_buddy.notes.cards import card_range
from yt_study_buddy.config import DEFAULT_MODEL, redact, register_secret
from yt_study_buddy.errors import (
    Cancelled,
    ClaudeAuthError,
    ClaudeRateLimited,
    ClaudeResponseError,
    ClaudeSpendLimit,
    ClaudeTruncated,
    NetworkError,
    StudyBuddyError,
)
from yt_study_buddy.batch.limits import AdaptiveLimiter, ServiceLimits
from yt_study_buddy.notes.llm_parts import LLMPartCalls, assessment_input
from yt_study_buddy.models import Assessment, NotesResult, Transcript, VideoMeta

__all__ = ["ClaudeEngine", "convert_anthropic_error", "USAGE_FIELDS"]

T = TypeVar("T")

USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)

#: How many times a note cut off at max_tokens is continued before giving up.
MAX_CONTINUATIONS = 3

_THROTTLE_TYPES = {"rate_limit_error": "rate limit reached", "overloaded_error": "is overloaded"}


def _api_detail(exc: Any) -> str:
    """Return the API's own short explanation, scrubbed of secrets."""
    message = getattr(exc, "api_message", None)
    if not isinstance(message, str) or not message.strip():
        return ""
    return redact(message.strip())[:200]


def convert_anthropic_error(exc: BaseException) -> StudyBuddyError:
    """Turn an anthropic SDK exception into the project's error, by type."""
    import anthropic  # lazy: only reached once the engine is in use

    if isinstance(exc, StudyBuddyError):
        return exc
    # Spend and billing limits first: they are RateLimitError / 402 subclasses
    # that must stop the batch instead of being retried.
    if isinstance(exc, (anthropic.EnforcedSpendLimitReachedError,
                        anthropic.ContractSpendLimitReachedError,
                        anthropic.LinkedOrganizationSpendLimitReachedError)):
        return ClaudeSpendLimit()
    if isinstance(exc, anthropic.PaymentRequiredError):
        return ClaudeSpendLimit(
            "the Anthropic account has a billing problem (payment required); finished "
            "notes are kept, fix billing and re-run to do the rest")
    if isinstance(exc, anthropic.OrganizationOnHoldError):
        return ClaudeAuthError("the Anthropic organization is on hold; the API refuses requests")
    if isinstance(exc, anthropic.AuthenticationError):
        return ClaudeAuthError()
    if isinstance(exc, anthropic.PermissionDeniedError):
        return ClaudeAuthError("the Anthropic API key is not allowed to use this model or API "
                               "(permission denied)")
    if isinstance(exc, anthropic.RateLimitError):
        return ClaudeRateLimited("Claude API rate limit reached (HTTP 429)")
    if isinstance(exc, anthropic.OverloadedError):
        return ClaudeRateLimited("Claude API is overloaded (HTTP 529)")
    if isinstance(exc, anthropic.NotFoundError):
        detail = _api_detail(exc)
        return ClaudeResponseError("Claude model or endpoint not found (check the model name)"
                                   + (f": {detail}" if detail else ""))
    if isinstance(exc, anthropic.BadRequestError):
        detail = _api_detail(exc)
        return ClaudeResponseError("Claude rejected the request"
                                   + (f": {detail}" if detail else ""))
    if isinstance(exc, anthropic.InternalServerError):
        return ClaudeResponseError(f"Claude API server error (HTTP {exc.status_code})",
                                   retryable=True)
    if isinstance(exc, anthropic.APITimeoutError):
        return NetworkError("the Claude API did not answer in time")
    if isinstance(exc, anthropic.APIConnectionError):
        return NetworkError("could not reach the Claude API (network unreachable)")
    if isinstance(exc, anthropic.APIStatusError) and exc.type in _THROTTLE_TYPES:
        # An error event inside a 200 stream carries no telling status code;
        # the body's structured error type says what it is.
        return ClaudeRateLimited(f"Claude API {_THROTTLE_TYPES[exc.type]} (mid-answer)")
    if isinstance(exc, anthropic.APIStatusError) and exc.type == "api_error":
        return ClaudeResponseError("Claude API server error (mid-answer)", retryable=True)
    if isinstance(exc, anthropic.APIStatusError):
        detail = _api_detail(exc)
        return ClaudeResponseError(f"Claude API error (HTTP {exc.status_code})"
                                   + (f": {detail}" if detail else ""),
                                   retryable=exc.status_code in (408, 409))
    if isinstance(exc, anthropic.APIResponseValidationError):
        return ClaudeResponseError("Claude sent an answer that does not match the API schema")
    if isinstance(exc, anthropic.AnthropicError):
        return ClaudeResponseError("Claude API request failed")
    return ClaudeResponseError(f"Claude answer could not be read ({type(exc).__name__})")


def _is_throttle(exc: Any, anthropic: Any) -> bool:
    """True for a 429 or an overload, which every worker should back off from."""
    if isinstance(exc, (anthropic.RateLimitError, anthropic.OverloadedError)):
        return True
    return isinstance(exc, anthropic.APIStatusError) and exc.type in _THROTTLE_TYPES


def _retry_after(exc: Any) -> float | None:
    """Seconds the server asked us to wait, from retry-after-ms or retry-after."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
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


def _add_usage(total: dict[str, int], usage: Any) -> None:
    for name in USAGE_FIELDS:
        value = getattr(usage, name, None) if usage is not None else None
        if isinstance(value, int):
            total[name] = total.get(name, 0) + value


class ClaudeEngine(LLMPartCalls):
    """Generate notes and assessments with Claude, sharing limits across workers."""

    name = "claude"

    def __init__(self, *, api_key: str, base_url: str | None = None, model: str = DEFAULT_MODEL,
                 limits: ServiceLimits | None = None, max_retries: int = 6,
                 timeout: float = 600.0, max_tokens: int = 8192,
                 backoff_base: float = 1.0, backoff_max: float = 60.0):
        import anthropic  # lazy: see the module docstring

        if not api_key:
            raise ClaudeAuthError("no Anthropic API key is set (ANTHROPIC_API_KEY)")
        register_secret(api_key)
        self.model = model
        self.limits = limits or ServiceLimits()
        self.max_retries = max(0, max_retries)
        self.max_tokens = max_tokens
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._anthropic = anthropic
        # One client per engine: it is thread-safe and pools connections.
        self._client = anthropic.Anthropic(api_key=api_key, base_url=base_url,
                                           max_retries=0, timeout=timeout)
        self._rng = random.Random()
        self._rng_lock = threading.Lock()

    # -- public API ---------------------------------------------------------

    def prepare(self) -> None:
        """Nothing to ask up front: a bad key or model shows on the first call and stops the batch."""

    def generate_notes(self, meta: VideoMeta, transcript: Transcript,
                       existing_subjects: Sequence[str] = (), *, draft: str | None = None,
                       on_draft: Callable[[str, dict[str, int]], None] | None = None) -> NotesResult:
        """Write study notes and the structured study data for one video.

        ``draft``: notes markdown already paid for (the streaming call is skipped);
        ``on_draft``: called with the markdown and its usage as soon as it is
        streamed, so a later failure does not lose it.
        """
        if not transcript.segments:
            raise ClaudeResponseError("the transcript is empty; there is nothing to take notes on")
        system = prompts.system_blocks(meta, transcript)
        usage: dict[str, int] = {}
        if draft:
            markdown = draft
        else:
            markdown = self._stream_notes(system, meta, usage)
            if on_draft is not None:
                on_draft(markdown, dict(usage))
        return self._study_notes(system, markdown, existing_subjects, usage,
                                 transcript.duration)

    def generate_assessment(self, meta: VideoMeta, transcript: Transcript,
                            notes: NotesResult) -> Assessment:
        """Write self-test questions in the four assessment categories."""
        if not transcript.segments:
            raise ClaudeResponseError("the transcript is empty; there is nothing to assess")
        # A lecture written in parts is assessed from its parts' notes (see llm_parts).
        system, request = assessment_input(meta, transcript, notes, self.context_budget())
        usage: dict[str, int] = {}
        data = self._tool_call(system, request, prompts.ASSESSMENT_TOOL, usage)
        questions = answers.assessment_questions(data, who="Claude", error=ClaudeResponseError)
        return Assessment(questions=questions, usage=usage)

    def close(self) -> None:
        """Close the HTTP connections of the shared client."""
        self._client.close()

    # -- calls ----------------------------------------------------------------

    def _study_notes(self, system: list[dict[str, Any]], markdown: str,
                     existing_subjects: Sequence[str], usage: dict[str, int],
                     duration: float | None) -> NotesResult:
        """Take the study data and cards for these notes (same system prompt, so the cache is shared)."""
        data = self._tool_call(system, prompts.study_data_request(existing_subjects, card_range(duration)),
                               prompts.STUDY_TOOL, usage)
        study = answers.study_data(data, existing_subjects, who="Claude", error=ClaudeResponseError)
        return NotesResult(markdown=markdown, concepts=study.concepts, summary=study.summary,
                           subject=study.subject, engine=self.name, model=self.model, usage=usage,
                           flashcards=study.flashcards)

    def _stream_notes(self, system: list[dict[str, Any]], meta: VideoMeta,
                      usage: dict[str, int], request: str | None = None) -> str:
        """Stream the notes; continue an answer cut off at max_tokens a bounded number of times."""
        messages: list[dict[str, Any]] = [{"role": "user", "content": request or prompts.notes_request(meta)}]
        parts: list[str] = []
        for _ in range(MAX_CONTINUATIONS + 1):
            message = self._call(lambda: self._stream_once(system, messages))
            _add_usage(usage, message.usage)
            text = "".join(block.text for block in message.content
                           if getattr(block, "type", None) == "text")
            parts.append(text)
            if message.stop_reason in ("end_turn", "stop_sequence"):
                markdown = answers.clean_markdown("".join(parts), meta)
                if not markdown.strip():
                    raise ClaudeResponseError("Claude returned empty notes")
                return markdown
            if message.stop_reason != "max_tokens":
                raise ClaudeResponseError(
                    f"Claude stopped the notes early (stop reason: {message.stop_reason})")
            if not "".join(parts).strip():
                # Nothing to continue from (the API rejects an empty assistant turn).
                raise ClaudeTruncated(f"Claude's notes were cut off before any text "
                                      f"(max_tokens={self.max_tokens}); not saved")
            # Ask for the rest in a new turn (not an assistant prefill, which
            # newer models reject), passing everything written so far.
            messages = [messages[0],
                        {"role": "assistant", "content": "".join(parts)},
                        {"role": "user", "content": prompts.continue_request()}]
        raise ClaudeTruncated(
            f"Claude's notes were still cut off after {MAX_CONTINUATIONS} continuations "
            f"(max_tokens={self.max_tokens}); not saved")

    def _stream_once(self, system: list[dict[str, Any]], messages: list[dict[str, Any]]) -> Any:
        with self._client.messages.stream(
            model=self.model, max_tokens=self.max_tokens, system=system, messages=messages,
            tools=prompts.TOOLS, tool_choice={"type": "none"},
        ) as stream:
            for _ in stream.text_stream:
                pass  # drain: the final message accumulates the text
            return stream.get_final_message()

    def _tool_call(self, system: list[dict[str, Any]], request: str, tool: str,
                   usage: dict[str, int]) -> dict[str, Any]:
        """Force one tool call and return its input."""
        message = self._call(lambda: self._client.messages.create(
            model=self.model, max_tokens=self.max_tokens, system=system,
            messages=[{"role": "user", "content": request}],
            tools=prompts.TOOLS, tool_choice={"type": "tool", "name": tool},
        ))
        _add_usage(usage, message.usage)
        if message.stop_reason == "max_tokens":
            raise ClaudeTruncated(f"Claude's {tool} answer was cut off at max_tokens")
        for block in message.content:
            if getattr(block, "type", None) == "tool_use" and block.name == tool:
                if not isinstance(block.input, dict):
                    raise ClaudeResponseError(f"Claude's {tool} answer is not an object")
                return block.input
        raise ClaudeResponseError(f"Claude did not call {tool}")

    def _call(self, fn: Callable[[], T]) -> T:
        """Run one API call under the shared limits, retrying what can be retried."""
        anthropic = self._anthropic
        limits = self.limits
        slots = limits.claude_slots
        attempt = 0
        while True:
            limits.claude_backoff.wait(limits.cancel)
            if limits.cancel.is_set():
                raise Cancelled("the batch was interrupted")
            self._acquire_slot()
            try:
                result = fn()
            except Exception as exc:  # noqa: BLE001 - converted by type below
                failure: BaseException = exc
                if _is_throttle(exc, anthropic) and isinstance(slots, AdaptiveLimiter):
                    # Still holding our slot: tells the limiter how many got through.
                    slots.record_overload()
            else:
                if isinstance(slots, AdaptiveLimiter):
                    slots.record_success()
                return result
            finally:
                # Release before any back-off sleep: the slot covers the call only.
                slots.release()
            error = convert_anthropic_error(failure)
            if isinstance(error, NetworkError) and error.retryable and attempt >= self.max_retries:
                # Unreachable after every retry: the next video would only wait as long
                # again. Stop the batch; finished notes are kept.
                error.fatal = True
                error.reason = f"{error.reason}; batch stopped, re-run when the Claude API is reachable"
            if not error.retryable or error.fatal or attempt >= self.max_retries:
                raise error from None
            delay = self._backoff(attempt)
            if _is_throttle(failure, anthropic):
                # The service is telling everyone to slow down: pause every worker.
                server_wait = _retry_after(failure)
                limits.claude_backoff.pause_for(server_wait if server_wait is not None else delay)
            elif isinstance(error, NetworkError):
                # Unreachable for one worker is unreachable for all: everyone waits.
                limits.claude_backoff.pause_for(delay)
            elif limits.cancel.wait(delay):
                raise Cancelled("the batch was interrupted") from None
            attempt += 1

    def _acquire_slot(self) -> None:
        # Wake up regularly so an interrupted batch never waits for a slot.
        slots = self.limits.claude_slots
        while not slots.acquire(timeout=0.5):
            if self.limits.cancel.is_set():
                raise Cancelled("the batch was interrupted")

    def _backoff(self, attempt: int) -> float:
        with self._rng_lock:
            jitter = 0.5 + self._rng.random() / 2
        return min(self.backoff_max, self.backoff_base * (2 ** attempt)) * jitter
