"""The project's error hierarchy.

Every failure that reaches a user is one of these. Modules that talk to an
outside service convert that library's exceptions *by type* at their boundary
(see ``youtube.py``, ``claude.py``, ``vault.py``); nothing further up looks at
error text.

    StudyBuddyError                 reason: str, retryable: bool
    ├── InputError                  bad URL, file, flag value (usage)
    ├── YouTubeError
    │   ├── YouTubeBlocked          IP blocked, bot check, captcha, HTTP 429   (retryable)
    │   ├── VideoUnavailable        removed, private, bad id                   (permanent)
    │   ├── CaptionsDisabled                                                   (permanent)
    │   ├── NoCaptionsInLanguage                                               (permanent)
    │   ├── AgeRestricted                                                      (permanent)
    │   ├── PoTokenRequired         YouTube wants a PO token                   (retryable)
    │   └── YouTubeResponseError    empty / unparsable answer                  (retryable)
    ├── NetworkError                unreachable, DNS, proxy, timeout           (retryable)
    ├── AnswerTruncated             any model's answer cut off at its limit    (retryable)
    ├── ClaudeError
    │   ├── ClaudeAuthError         401/403: stops the batch                   (fatal, retryable later)
    │   ├── ClaudeSpendLimit        spend limit reached: stops the batch       (fatal, retryable later)
    │   ├── ClaudeRateLimited       429 / 529 after retries                    (retryable)
    │   ├── ClaudeTruncated         answer cut off at max_tokens (an AnswerTruncated too)
    │   └── ClaudeResponseError     other API errors / malformed answers
    ├── ModelServerError            an OpenAI-compatible server (Ollama, LM Studio, vLLM, OpenAI)
    │   ├── ModelServerDown         connection refused: stops the batch        (fatal, retryable later)
    │   ├── ModelNotFound           the server has no such model: stops it     (fatal)
    │   ├── ModelAuthError          401/403, or out of quota: stops the batch  (fatal, retryable later)
    │   ├── ModelRateLimited        429 / 503 after retries                    (retryable)
    │   ├── ModelTruncated          answer cut off at the token limit          (retryable)
    │   └── ModelResponseError      other API errors / malformed answers
    ├── VaultError                  disk full, permission, path outside vault
    ├── TorError                    control port / SOCKS problems
    ├── Cancelled                   the batch was interrupted                  (retryable)
    │   └── BudgetReached           --budget would be passed: no new videos    (retryable)
    └── InternalError               a bug: logged with its traceback, never a service's fault
"""

from __future__ import annotations

__all__ = [
    "StudyBuddyError",
    "InputError",
    "YouTubeError",
    "YouTubeBlocked",
    "VideoUnavailable",
    "CaptionsDisabled",
    "NoCaptionsInLanguage",
    "AgeRestricted",
    "PoTokenRequired",
    "YouTubeResponseError",
    "NetworkError",
    "AnswerTruncated",
    "ClaudeError",
    "ClaudeAuthError",
    "ClaudeSpendLimit",
    "ClaudeRateLimited",
    "ClaudeTruncated",
    "ClaudeResponseError",
    "ModelServerError",
    "ModelServerDown",
    "ModelNotFound",
    "ModelAuthError",
    "ModelRateLimited",
    "ModelTruncated",
    "ModelResponseError",
    "VaultError",
    "TorError",
    "Cancelled",
    "BudgetReached",
    "InternalError",
    "StopRequested",
]


class StudyBuddyError(Exception):
    """Base of every error the app reports to a user."""

    #: Default user-facing reason for the class; instances may override it.
    default_reason = "something went wrong"
    #: Whether trying the same job again later can succeed.
    retryable = False
    #: Whether the whole batch must stop (e.g. a bad API key).
    fatal = False
    #: Short machine-readable kind, stored in the job log.
    kind = "error"

    def __init__(self, reason: str | None = None, *, retryable: bool | None = None):
        self.reason = reason or self.default_reason
        if retryable is not None:
            self.retryable = retryable
        super().__init__(self.reason)

    def __str__(self) -> str:
        return self.reason


class InputError(StudyBuddyError):
    default_reason = "invalid input"
    kind = "input"


class YouTubeError(StudyBuddyError):
    default_reason = "YouTube request failed"
    kind = "youtube"


class YouTubeBlocked(YouTubeError):
    default_reason = "blocked or rate-limited by YouTube (too many requests from this IP)"
    retryable = True
    kind = "blocked"


class VideoUnavailable(YouTubeError):
    default_reason = "video unavailable, private or removed"
    kind = "unavailable"


class CaptionsDisabled(YouTubeError):
    default_reason = "captions are disabled for this video"
    kind = "captions_disabled"


class NoCaptionsInLanguage(YouTubeError):
    default_reason = "no captions in the requested languages"
    kind = "no_captions"


class AgeRestricted(YouTubeError):
    default_reason = "video is age-restricted (needs a signed-in account)"
    kind = "age_restricted"


class PoTokenRequired(YouTubeError):
    default_reason = "YouTube asked for a PO token for this video's captions"
    retryable = True
    kind = "po_token"


class YouTubeResponseError(YouTubeError):
    default_reason = "YouTube sent an empty or unreadable answer"
    retryable = True
    kind = "bad_response"


class NetworkError(StudyBuddyError):
    default_reason = "network unreachable"
    retryable = True
    kind = "network"


class AnswerTruncated(StudyBuddyError):
    """A model's answer was cut off at its output limit: never saved as complete.

    Engine-neutral, so a long lecture's part that did not fit one answer is cut
    in two whichever engine wrote it.
    """

    default_reason = "the model's answer was cut off before it was complete"
    retryable = True
    kind = "truncated"


class ClaudeError(StudyBuddyError):
    default_reason = "Claude API request failed"
    kind = "claude"
    #: the HTTP status of the API's answer, when there was one
    status: int | None = None


class ClaudeAuthError(ClaudeError):
    default_reason = "the Anthropic API key was rejected (check ANTHROPIC_API_KEY)"
    fatal = True
    # Stops the batch, but the videos can be retried once the key is fixed.
    retryable = True
    kind = "claude_auth"


class ClaudeSpendLimit(ClaudeError):
    default_reason = (
        "the Anthropic account reached its spend limit; finished notes are kept, "
        "raise the limit and re-run to do the rest"
    )
    fatal = True
    retryable = True
    kind = "claude_spend_limit"


class ClaudeRateLimited(ClaudeError):
    default_reason = "Claude API rate limit or overload persisted after retries"
    retryable = True
    kind = "claude_rate_limited"
    #: seconds the server asked to wait (retry-after), when it said
    retry_after: float | None = None
    #: True for an overload (529), False for a rate limit (429)
    overloaded = False
    #: the answer's headers (the rate-limit buckets), when there was an answer
    headers: dict[str, str] = {}


class ClaudeTruncated(ClaudeError, AnswerTruncated):
    default_reason = "Claude's answer was cut off before it was complete"
    retryable = True
    kind = "claude_truncated"


class ClaudeResponseError(ClaudeError):
    default_reason = "Claude sent an unexpected answer"
    kind = "claude_response"


class ModelServerError(StudyBuddyError):
    default_reason = "the model server request failed"
    kind = "model_server"


class ModelServerDown(ModelServerError):
    default_reason = "could not connect to the model server: is the server running? (e.g. `ollama serve`)"
    fatal = True
    # Stops the batch; the videos can be retried once the server runs.
    retryable = True
    kind = "model_server_down"


class ModelNotFound(ModelServerError):
    default_reason = "the model server has no such model (check --model)"
    fatal = True
    kind = "model_not_found"


class ModelAuthError(ModelServerError):
    default_reason = "the model server rejected the API key (check OPENAI_API_KEY)"
    fatal = True
    retryable = True
    kind = "model_auth"


class ModelRateLimited(ModelServerError):
    default_reason = "the model server's rate limit or overload persisted after retries"
    retryable = True
    kind = "model_rate_limited"
    #: Seconds the server asked every caller to wait, when it said.
    retry_after: float | None = None


class ModelTruncated(ModelServerError, AnswerTruncated):
    default_reason = "the model's answer was cut off before it was complete"
    retryable = True
    kind = "model_truncated"


class ModelResponseError(ModelServerError):
    default_reason = "the model server sent an unexpected answer"
    kind = "model_response"


class VaultError(StudyBuddyError):
    default_reason = "could not write to the notes folder"
    kind = "vault"


class TorError(StudyBuddyError):
    default_reason = "Tor is not reachable"
    retryable = True
    kind = "tor"


class Cancelled(StudyBuddyError):
    default_reason = "cancelled before it finished"
    retryable = True
    kind = "cancelled"


class BudgetReached(Cancelled):
    """The batch's estimated spend would pass the user's --budget: no new video is started.

    Not fatal: videos already under way finish (their work is paid for); only
    the ones not yet started stop, each with this reason.
    """

    default_reason = "the batch's budget is spent"


class InternalError(StudyBuddyError):
    default_reason = "an internal error (a bug): see the log for its traceback"
    kind = "internal"


class StopRequested(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread by a front end: stop the batch as Ctrl-C does.

    Not a StudyBuddyError: like Ctrl-C it unwinds whatever runs. ``grace`` is how
    long running steps may take to end before they are abandoned.
    """

    def __init__(self, reason: str, grace: float = 5.0):
        super().__init__(reason)
        self.reason = reason
        self.grace = grace
