"""Stage sources: YouTube access: transcripts, metadata and playlists, with errors converted by type.

This module imports requests, youtube-transcript-api and yt-dlp only inside
functions (yt-dlp through ``youtube_dlp``), so importing it stays cheap.

Transcripts come from youtube-transcript-api (one instance and one
``requests.Session`` per thread); when that fails in a way another method can
get around (blocked, PO token, empty or unreadable answer) yt-dlp's subtitles
are tried. With ``base_url`` set (``YT_STUDY_BUDDY_YOUTUBE_URL``) every request
meant for a YouTube host goes to that server instead, same path and query;
with ``proxy_for_thread`` every request goes through that thread's proxy.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote
from xml.etree.ElementTree import ParseError

from yt_study_buddy.config import redact
from yt_study_buddy.errors import (
    AgeRestricted,
    CaptionsDisabled,
    NetworkError,
    NoCaptionsInLanguage,
    PoTokenRequired,
    StudyBuddyError,
    VideoUnavailable,
    YouTubeBlocked,
    YouTubeError,
    YouTubeResponseError,
)
from yt_study_buddy.models import Segment, Transcript, VideoMeta
from yt_study_buddy.sources.urls import is_youtube_host, rewrite_youtube_url, watch_url

__all__ = ["YouTubeClient", "convert_youtube_error", "rewrite_youtube_url", "is_youtube_host"]

_BLOCKED_HINT = "wait a while, or use Tor or a proxy"


# --------------------------------------------------------------------------- errors

def _status_error(status: int | None, what: str) -> StudyBuddyError:
    if status == 429:
        return YouTubeBlocked(f"rate-limited by YouTube (HTTP 429); {_BLOCKED_HINT}")
    if status == 403:
        return YouTubeBlocked(f"YouTube refused the request (HTTP 403); {_BLOCKED_HINT}")
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
        return YouTubeBlocked(f"YouTube is rate-limiting this IP (HTTP 429 or captcha); {_BLOCKED_HINT}")
    if isinstance(exc, mod.RequestBlocked):  # "Sign in to confirm you're not a bot"
        return YouTubeBlocked(f"YouTube asked to confirm this is not a bot (IP flagged); {_BLOCKED_HINT}")
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
            converted = convert_youtube_error(cause, video_id)
            if type(converted) is not YouTubeError:
                return converted
        # The single narrow exception: yt-dlp's YouTube extractor reports private,
        # removed, age-gated and bot-checked videos all as a plain ExtractorError
        # with only English text to tell them apart. We do not parse that text;
        # the caller keeps the precise youtube-transcript-api error when it has one.
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
        return YouTubeBlocked(f"YouTube kept answering HTTP 429; {_BLOCKED_HINT}")
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


def convert_youtube_error(exc: BaseException, video_id: str) -> StudyBuddyError:
    """Turn a youtube-transcript-api, yt-dlp, requests or parse exception into a project error."""
    if isinstance(exc, StudyBuddyError):
        return exc
    for converted in (_convert_transcript_api(exc, video_id), _convert_ytdlp(exc, video_id),
                      _convert_requests(exc)):
        if converted is not None:
            return converted
    if isinstance(exc, ParseError):  # the library parses an empty caption body as XML
        return YouTubeResponseError("YouTube sent an empty caption file")
    if isinstance(exc, json.JSONDecodeError):
        return YouTubeResponseError("YouTube sent an answer that is not valid JSON")
    if isinstance(exc, TimeoutError):
        return NetworkError("YouTube did not answer in time")
    if isinstance(exc, ConnectionError):
        return NetworkError("could not reach YouTube (connection failed)")
    return YouTubeError(f"unexpected problem while talking to YouTube ({type(exc).__name__})")


# Errors after which another method (yt-dlp) has a real chance of success.
_FALLBACK_HELPS = (YouTubeBlocked, PoTokenRequired, YouTubeResponseError)


# --------------------------------------------------------------------------- client

class _ThreadState:
    def __init__(self, generation: int, session: Any, api: Any, proxy: str | None):
        self.generation = generation
        self.session = session
        self.api = api
        self.proxy = proxy


class YouTubeClient:
    """Fetch transcripts, metadata and playlists from YouTube (or a mirror / fake)."""

    def __init__(self, *, base_url: str | None = None,
                 proxy_for_thread: Callable[[], str | None] | None = None,
                 timeout: float = 20.0,
                 ytdlp_extractors: Sequence[object] | None = None):
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout
        self.ytdlp_extractors = list(ytdlp_extractors) if ytdlp_extractors is not None else None
        self._proxy_for_thread = proxy_for_thread
        self._local = threading.local()
        self._generation = 0
        self._lock = threading.Lock()

    # -- per-thread connections

    def _state(self) -> _ThreadState:
        state: _ThreadState | None = getattr(self._local, "state", None)
        generation = self._generation
        if state is not None and state.generation == generation:
            return state
        if state is not None:
            state.session.close()  # stale after reset_connections(): new circuit, new sockets
        proxy = self._proxy_for_thread() if self._proxy_for_thread else None
        session = self._new_session(proxy)
        from youtube_transcript_api import YouTubeTranscriptApi
        from youtube_transcript_api.proxies import GenericProxyConfig

        proxy_config = GenericProxyConfig(http_url=proxy, https_url=proxy) if proxy else None
        api = YouTubeTranscriptApi(proxy_config=proxy_config, http_client=session)
        state = _ThreadState(generation, session, api, proxy)
        self._local.state = state
        return state

    def _new_session(self, proxy: str | None) -> Any:
        import requests
        from requests.adapters import HTTPAdapter

        base_url, timeout = self.base_url, self.timeout

        class _YouTubeAdapter(HTTPAdapter):
            # The transport seam: cookies and headers are prepared for the real
            # YouTube URL, then the request is sent to the mirror with a timeout.
            def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
                target = rewrite_youtube_url(request.url, base_url)
                if target != request.url:
                    request = request.copy()
                    request.url = target
                if kwargs.get("timeout") is None:
                    kwargs["timeout"] = timeout
                return super().send(request, **kwargs)

        session = requests.Session()
        adapter = _YouTubeAdapter()
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        if proxy:
            session.proxies = {"http": proxy, "https": proxy}
            # Environment settings (NO_PROXY, *_PROXY) must not route around the proxy.
            session.trust_env = False
        return session

    def reset_connections(self) -> None:
        """Drop every thread's session so the next request opens new connections."""
        with self._lock:
            self._generation += 1

    # -- transcripts

    def fetch_transcript(self, video_id: str, languages: Sequence[str] = ("en",)) -> Transcript:
        """Fetch a video's captions: manual, then auto-generated, then translated; yt-dlp as fallback."""
        wanted = [lang for lang in languages if lang] or ["en"]
        try:
            return self._fetch_with_transcript_api(video_id, wanted)
        except BaseException as exc:  # noqa: BLE001 - converted by type right here
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            first = convert_youtube_error(exc, video_id)
        if not isinstance(first, _FALLBACK_HELPS):
            raise first
        try:
            return self._fetch_with_ytdlp(video_id, wanted)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            second = convert_youtube_error(exc, video_id)
        # Report the first method's error: yt-dlp's are vaguer (see _convert_ytdlp), and
        # "no subtitles" from yt-dlp after a PO-token or empty-body failure only means
        # it skipped tracks the first method proved exist.
        del second
        raise first

    def _fetch_with_transcript_api(self, video_id: str, languages: list[str]) -> Transcript:
        from youtube_transcript_api import NoTranscriptFound

        listing = self._state().api.list(video_id)
        translated_from = None
        try:
            chosen = listing.find_manually_created_transcript(languages)
        except NoTranscriptFound:
            try:
                chosen = listing.find_generated_transcript(languages)
            except NoTranscriptFound:
                target = languages[0]
                tracks = sorted(listing, key=lambda t: t.is_generated)  # manual sources first
                source = next((t for t in tracks if any(
                    lang.language_code == target for lang in t.translation_languages)), None)
                if source is None:
                    available = ", ".join(sorted({t.language_code for t in tracks})) or "none"
                    raise NoCaptionsInLanguage(
                        f"no captions in {', '.join(languages)} and none translatable "
                        f"(available: {available})") from None
                translated_from = source.language_code
                chosen = source.translate(target)
        fetched = chosen.fetch()
        segments = [Segment(float(s.start), float(s.duration), s.text.strip())
                    for s in fetched if s.text and s.text.strip()]
        if not segments:
            raise YouTubeResponseError("YouTube sent an empty transcript")
        return Transcript(video_id=video_id, segments=segments,
                          language_code=fetched.language_code, language=fetched.language,
                          is_generated=fetched.is_generated, method="youtube-transcript-api",
                          translated_from=translated_from)

    def _ytdlp_kwargs(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "proxy": self._state().proxy,
                "timeout": self.timeout, "extractors": self.ytdlp_extractors}

    def _fetch_with_ytdlp(self, video_id: str, languages: list[str]) -> Transcript:
        from yt_study_buddy.sources import youtube_dlp

        return youtube_dlp.fetch_subtitles(video_id, languages, **self._ytdlp_kwargs())

    # -- metadata and playlists

    def _oembed(self, video_id: str) -> VideoMeta:
        url = f"https://www.youtube.com/oembed?url={quote(watch_url(video_id), safe='')}&format=json"
        response = self._state().session.get(url)
        response.raise_for_status()
        data = response.json()
        title = str(data.get("title") or "").strip()
        if not title:
            raise YouTubeResponseError("YouTube's oEmbed answer had no title")
        return VideoMeta(video_id=video_id, title=title,
                         channel=str(data.get("author_name") or "").strip(), url=watch_url(video_id))

    def fetch_metadata(self, video_id: str) -> VideoMeta:
        """Return a video's title and channel (oEmbed, then yt-dlp)."""
        try:
            return self._oembed(video_id)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            first = convert_youtube_error(exc, video_id)
        if isinstance(first, NetworkError):
            raise first  # yt-dlp would only wait for the same dead network
        try:
            from yt_study_buddy.sources import youtube_dlp

            info = youtube_dlp.fetch_info(video_id, **self._ytdlp_kwargs())
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise first from None
        title = str(info.get("title") or "").strip()
        if not title:
            raise first
        channel = str(info.get("channel") or info.get("uploader") or "").strip()
        return VideoMeta(video_id=video_id, title=title, channel=channel,
                         url=watch_url(video_id))

    def expand_playlist(self, url: str) -> list[str]:
        """Return a playlist's video ids in order (yt-dlp flat extraction)."""
        from yt_study_buddy.sources import youtube_dlp

        try:
            return youtube_dlp.flat_playlist_ids(url, **self._ytdlp_kwargs())
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise convert_youtube_error(exc, "playlist") from None
