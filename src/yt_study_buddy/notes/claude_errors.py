"""Stage notes: the Claude boundary's one exception mapper: SDK and HTTP errors in, project errors out.

Every call into the anthropic SDK (requests, streams, batches) runs inside
``claude_errors()``, as httpx's ``map_exceptions`` does for its transports:
a known failure becomes an error of ``errors.py`` by its type, with a
user-facing reason and a retryable flag; a throttle carries the wait the
server asked for. Anything else is a bug of ours (or an SDK surprise): it is
logged with its traceback and reported as an ``InternalError``, never
disguised as a service error.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Any, Iterator

from yt_study_buddy.config import redact
from yt_study_buddy.notes.calls import retry_after_seconds
from yt_study_buddy.errors import (
    ClaudeAuthError,
    ClaudeError,
    ClaudeRateLimited,
    ClaudeResponseError,
    ClaudeSpendLimit,
    InternalError,
    NetworkError,
    StudyBuddyError,
)

__all__ = ["claude_errors", "convert_anthropic_error", "retry_after_of", "StreamCut"]

log = logging.getLogger("yt_study_buddy.notes.claude")

_THROTTLE_TYPES = {"rate_limit_error": "rate limit reached", "overloaded_error": "is overloaded"}


class StreamCut(NetworkError):
    """The answer stream broke off (connection reset, EOF) after part of the answer arrived."""

    default_reason = "the connection to the Claude API broke off mid-answer"
    kind = "network"

    def __init__(self, reason: str | None = None, *, partial: str = "", usage: Any = None):
        super().__init__(reason)
        #: the text received before the cut: a retry continues from it
        self.partial = partial
        #: the usage the stream reported before the cut (input and cache tokens)
        self.usage = usage


def _api_detail(exc: Any) -> str:
    """Return the API's own short explanation, scrubbed of secrets."""
    message = getattr(exc, "api_message", None)
    if not isinstance(message, str) or not message.strip():
        return ""
    return redact(message.strip())[:200]


def retry_after_of(exc: Any) -> float | None:
    """Seconds the server asked us to wait, from retry-after-ms or retry-after."""
    response = getattr(exc, "response", None)
    return None if response is None else retry_after_seconds(response.headers)


def _throttle(reason: str, exc: Any, *, overloaded: bool) -> ClaudeRateLimited:
    error = ClaudeRateLimited(reason)
    error.retry_after = retry_after_of(exc)
    error.overloaded = overloaded
    response = getattr(exc, "response", None)
    error.headers = dict(response.headers) if response is not None else {}
    return error


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's transport errors (httpx, or httpx2 in newer SDKs), as the SDK imported them."""
    found = []
    for name in ("httpx2", "httpx"):
        module = sys.modules.get(name)
        if module is not None and isinstance(getattr(module, "TransportError", None), type):
            found.append(module.TransportError)
    return tuple(found)


def convert_anthropic_error(exc: BaseException) -> StudyBuddyError:
    """Turn an anthropic SDK (or HTTP transport) exception into the project's error, by type."""
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
        return _throttle("Claude API rate limit reached (HTTP 429)", exc, overloaded=False)
    if isinstance(exc, anthropic.OverloadedError):
        return _throttle("Claude API is overloaded (HTTP 529)", exc, overloaded=True)
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
        return _throttle(f"Claude API {_THROTTLE_TYPES[exc.type]} (mid-answer)", exc,
                         overloaded=exc.type == "overloaded_error")
    if isinstance(exc, anthropic.APIStatusError) and exc.type == "api_error":
        return ClaudeResponseError("Claude API server error (mid-answer)", retryable=True)
    if isinstance(exc, anthropic.APIStatusError):
        detail = _api_detail(exc)
        return ClaudeResponseError(f"Claude API error (HTTP {exc.status_code})"
                                   + (f": {detail}" if detail else ""),
                                   retryable=exc.status_code in (408, 409))
    if isinstance(exc, anthropic.APIResponseValidationError):
        return ClaudeResponseError("Claude sent an answer that does not match the API schema")
    transport = _transport_errors()
    if transport and isinstance(exc, transport):
        # Raised while reading a body or a stream the SDK already handed over:
        # the connection broke (reset, EOF, timeout). A network error, retryable.
        return NetworkError(f"the connection to the Claude API broke off ({type(exc).__name__})")
    if isinstance(exc, anthropic.AnthropicError):
        return ClaudeResponseError("Claude API request failed")
    return InternalError(f"internal error while talking to Claude ({type(exc).__name__}); "
                         "see the log (-v) for its traceback")


@contextlib.contextmanager
def claude_errors(what: str = "a Claude API call") -> Iterator[None]:
    """Map every exception raised inside the block to the project's errors (see the module docstring)."""
    try:
        yield
    except StudyBuddyError:
        raise
    except Exception as exc:  # noqa: BLE001 - mapped by type; the unknown ones are logged
        error = convert_anthropic_error(exc)
        status = getattr(exc, "status_code", None)
        if isinstance(error, ClaudeError) and isinstance(status, int):
            error.status = status
        if isinstance(error, InternalError):
            log.error("internal error in %s", what, exc_info=True)
            raise error from exc
        # The SDK's exception holds the request; the project error says all a user needs.
        raise error from None
