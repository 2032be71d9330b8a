"""Stage sources: the YouTube boundary's one exception mapper: library errors in, project errors out.

``youtube_errors()`` is the context manager every YouTube call runs in (as
httpx's ``map_exceptions``): youtube-transcript-api, yt-dlp, requests and
socket errors are converted *by type* into ``errors.py``'s hierarchy, each
with a reason that says what helps. Anything else is a bug on our side of the
boundary: its traceback is logged and it becomes an ``InternalError``, never
a disguised "YouTube failed".

The libraries are looked up in ``sys.modules`` rather than imported, so the
mapper costs nothing when they were never loaded.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from xml.etree.ElementTree import ParseError

from yt_study_buddy.config import redact
from yt_study_buddy.sources.captions import CaptionTimeError
from yt_study_buddy.errors import (
    AgeRestricted,
    CaptionsDisabled,
    InternalError,
    NetworkError,
    NoCaptionsInLanguage,
    PoTokenRequired,
    StudyBuddyError,
    VideoUnavailable,
    YouTubeBlocked,
    YouTubeError,
    YouTubeResponseError,
)

__all__ = ["youtube_errors", "convert_youtube_error", "is_bot_check", "BLOCKED_HINT",
           "BOT_CHECK_REASON", "PO_TOKEN_REASON"]

log = logging.getLogger(__name__)

#: What helps against blocks, in the order users should try it.
BLOCKED_HINT = ("wait a while, then use --cookies from a signed-in browser, --tor or --proxy, "
                "or a larger --delay")
BOT_CHECK_REASON = ("YouTube asked to confirm this is not a bot (this IP or session is flagged); "
                    "what helps: --cookies from a signed-in browser, --tor or --proxy, a larger --delay")
PO_TOKEN_REASON = ("YouTube wants a PO token for this video's captions and yt-dlp could not get them "
                   "either; what helps: a PO-token provider plugin for yt-dlp (e.g. "
                   "bgutil-ytdlp-pot-provider), --cookies from a signed-in browser, --tor or --proxy")


def is_bot_check(message: str) -> bool:
    """True for YouTube's "Sign in to confirm you're not a bot" as yt-dlp words it.

    The one place the boundary reads error text: yt-dlp reports the bot check
    only as an ExtractorError (or a warning) carrying YouTube's English reason
    (it asks for ``hl=en``), with no type or status of its own.
    """
    text = message.lower().replace("\u2019", "'")
    return "confirm you're not a bot" in text or "confirm that you're not a bot" in text


def _status_error(status: int | None, what: str) -> StudyBuddyError:
    if status == 429:
        return YouTubeBlocked(f"rate-limited by YouTube (HTTP 429); {BLOCKED_HINT}")
    if status == 403:
        return YouTubeBlocked(f"YouTube refused the request (HTTP 403); {BLOCKED_HINT}")
    if status in (404, 410):
        return VideoUnavailable(f"{what} not found on YouTube (HTTP {status})")
    if status is not None and status >= 500:
        return YouTubeResponseError(f"YouTube had a server error (HTTP {status})")
    return YouTubeResponseError(f"YouTube answered with HTTP {status}" if status else
                                YouTubeResponseError.default_reason)


def _convert_transcript_api(exc: BaseException, video_id: str) -> StudyBuddyError | None:
    mod = sys.modules.get("youtube_transcript_api._errors")
    if mod is None or not isinstance(exc, mod.YouTubeTranscriptApiException):
        return None
    if isinstance(exc, mod.IpBlocked):  # HTTP 429 or a captcha page
        return YouTubeBlocked(f"YouTube is rate-limiting this IP (HTTP 429 or captcha); {BLOCKED_HINT}")
    if isinstance(exc, mod.RequestBlocked):  # "Sign in to confirm you're not a bot"
        return YouTubeBlocked(BOT_CHECK_REASON)
    if isinstance(exc, mod.PoTokenRequired):
        return PoTokenRequired()
    if isinstance(exc, mod.AgeRestricted):
        return AgeRestricted()
    if isinstance(exc, mod.InvalidVideoId):
        return VideoUnavailable(f"not a valid YouTube video id: {video_id}")
    if isinstance(exc, mod.VideoUnavailable):
        return VideoUnavailable("video unavailable: removed, private or never existed")
    if isinstance(exc, mod.VideoUnplayable):
        detail = f": {exc.reason}" if getattr(exc, "reason", None) else ""
        return VideoUnavailable(redact(f"YouTube says the video cannot be played{detail}"))
    if isinstance(exc, mod.TranscriptsDisabled):
        return CaptionsDisabled()
    if isinstance(exc, (mod.NoTranscriptFound, mod.NotTranslatable, mod.TranslationLanguageNotAvailable)):
        return NoCaptionsInLanguage()
    if isinstance(exc, mod.YouTubeRequestFailed):
        # The library keeps only the text of the HTTPError; the error itself is the
        # implicit __context__ (raised inside its except block), which carries the status.
        http = exc.__cause__ or exc.__context__
        response = getattr(http, "response", None)
        return _status_error(getattr(response, "status_code", None), "video")
    if isinstance(exc, mod.FailedToCreateConsentCookie):
        return YouTubeResponseError("could not get past YouTube's cookie-consent page")
    if isinstance(exc, mod.YouTubeDataUnparsable):
        return YouTubeResponseError("YouTube's page could not be read (changed or incomplete)")
    return YouTubeResponseError()


def _convert_ytdlp(exc: BaseException, video_id: str) -> StudyBuddyError | None:
    utils = sys.modules.get("yt_dlp.utils")
    net = sys.modules.get("yt_dlp.networking.exceptions")
    if utils is None or net is None:
        return None
    if isinstance(exc, utils.DownloadError):
        inner = exc.exc_info[1] if exc.exc_info else None
        if inner is not None and inner is not exc:
            return convert_youtube_error(inner, video_id)
        return YouTubeResponseError("yt-dlp could not read this YouTube page")
    if isinstance(exc, net.HTTPError):
        return _status_error(exc.status, "video or caption track")
    if isinstance(exc, net.ProxyError):
        return NetworkError("the proxy for YouTube traffic is unreachable or refused the connection")
    if isinstance(exc, net.RequestError):  # TransportError, SSLError, IncompleteRead, ...
        return NetworkError("could not reach YouTube (connection failed or timed out)")
    if isinstance(exc, utils.GeoRestrictedError):
        return VideoUnavailable("video is not available in this country")
    if isinstance(exc, utils.UnsupportedError):
        return VideoUnavailable("yt-dlp does not recognise this as a YouTube video or playlist")
    if isinstance(exc, utils.ExtractorError):
        cause = exc.cause or (exc.exc_info[1] if exc.exc_info else None)
        if isinstance(cause, BaseException) and cause is not exc:
            converted = _known(cause, video_id)
            if converted is not None and type(converted) is not YouTubeError:
                return converted
        if is_bot_check(exc.orig_msg):
            return YouTubeBlocked(BOT_CHECK_REASON)
        # yt-dlp reports private, removed and age-gated videos as a plain
        # ExtractorError with only English text to tell them apart. We do not
        # parse that text; the caller keeps the precise youtube-transcript-api
        # error when it has one.
        return YouTubeResponseError("yt-dlp could not extract the video (unavailable, or blocked)")
    if isinstance(exc, utils.YoutubeDLError):
        return YouTubeResponseError("yt-dlp failed while reading YouTube")
    return None


def _convert_requests(exc: BaseException) -> StudyBuddyError | None:
    rex = sys.modules.get("requests.exceptions")
    if rex is None or not isinstance(exc, rex.RequestException):
        return None
    if isinstance(exc, rex.JSONDecodeError):
        return YouTubeResponseError("YouTube sent an answer that is not valid JSON")
    if isinstance(exc, rex.RetryError):  # urllib3 gave up retrying 429s
        return YouTubeBlocked(f"YouTube kept answering HTTP 429; {BLOCKED_HINT}")
    if isinstance(exc, rex.HTTPError):
        return _status_error(getattr(exc.response, "status_code", None), "video")
    if isinstance(exc, rex.ProxyError):
        return NetworkError("the proxy for YouTube traffic is unreachable or refused the connection")
    if isinstance(exc, rex.Timeout):
        return NetworkError("YouTube did not answer in time")
    if isinstance(exc, rex.SSLError):
        return NetworkError("secure connection to YouTube failed (TLS error)")
    if isinstance(exc, rex.ConnectionError):
        return NetworkError("could not reach YouTube (network unreachable or connection refused)")
    return NetworkError("request to YouTube failed")


def _known(exc: BaseException, video_id: str) -> StudyBuddyError | None:
    """The project error for an exception the boundary knows, or None."""
    if isinstance(exc, StudyBuddyError):
        return exc
    for converted in (_convert_transcript_api(exc, video_id), _convert_ytdlp(exc, video_id),
                      _convert_requests(exc)):
        if converted is not None:
            return converted
    if isinstance(exc, CaptionTimeError):  # yt-dlp's subtitles, parsed by captions.py
        return YouTubeResponseError(f"YouTube's captions have a time out of range ({exc})")
    if isinstance(exc, ParseError):  # the library parses an empty caption body as XML
        return YouTubeResponseError("YouTube sent an empty caption file")
    if isinstance(exc, json.JSONDecodeError):
        return YouTubeResponseError("YouTube sent an answer that is not valid JSON")
    if isinstance(exc, TimeoutError):
        return NetworkError("YouTube did not answer in time")
    if isinstance(exc, OSError):  # ConnectionError, socket and TLS errors below the libraries
        return NetworkError("could not reach YouTube (connection failed)")
    return None


def convert_youtube_error(exc: BaseException, video_id: str) -> StudyBuddyError:
    """Turn an exception from the YouTube boundary into a project error (a bug: InternalError, logged)."""
    converted = _known(exc, video_id)
    if converted is not None:
        return converted
    # Shown with -v: the traceback is what a bug report needs.
    log.info("internal error while reading YouTube (%s)", video_id, exc_info=exc)
    return InternalError(redact(f"internal error while reading YouTube ({type(exc).__name__}); "
                                "run with -v to see its traceback"))


@contextmanager
def youtube_errors(video_id: str) -> Iterator[None]:
    """Run a block of YouTube calls; re-raise whatever it raises as a project error."""
    try:
        yield
    except StudyBuddyError:
        raise
    except Exception as exc:  # noqa: BLE001 - converted by type, bugs logged as internal
        raise convert_youtube_error(exc, video_id) from exc
