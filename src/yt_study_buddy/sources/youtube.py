"""Stage sources: YouTube access: transcripts, metadata and playlists, with errors converted by type.

This module imports requests, youtube-transcript-api and yt-dlp only inside
functions (yt-dlp through ``youtube_dlp``), so importing it stays cheap.

Transcripts come from youtube-transcript-api (one instance and one
``requests.Session`` per thread); when that fails in a way another method can
get around (blocked, PO token, empty or unreadable answer) yt-dlp's subtitles
are tried. With ``base_url`` set (``YT_STUDY_BUDDY_YOUTUBE_URL``) every request
meant for a YouTube host goes to that server instead, same path and query;
with ``proxy_for_thread`` every request goes through that thread's proxy; with
``cookies`` every request carries the user's YouTube cookies, as prepared for
the real YouTube URL. Every call runs inside ``youtube_errors()``, the
boundary's one exception mapper.
"""

from __future__ import annotations

import threading
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from yt_study_buddy.errors import (
    InternalError,
    NetworkError,
    NoCaptionsInLanguage,
    PoTokenRequired,
    StudyBuddyError,
    YouTubeBlocked,
    YouTubeResponseError,
)
from yt_study_buddy.models import Chapter, Segment, Transcript, VideoMeta
from yt_study_buddy.sources.urls import is_youtube_host, rewrite_youtube_url, watch_url
from yt_study_buddy.sources.youtube_errors import PO_TOKEN_REASON, convert_youtube_error, youtube_errors

if TYPE_CHECKING:
    from yt_study_buddy.net.cookies import CookieFile

__all__ = ["YouTubeClient", "convert_youtube_error", "youtube_errors", "rewrite_youtube_url",
           "is_youtube_host", "load_youtube_cookies", "PROBE_VIDEO_ID", "YOUTUBE_HOME"]

YOUTUBE_HOME = "https://www.youtube.com/"

#: A video that has been up since 2005: the doctor's one cheap oEmbed request asks for it.
PROBE_VIDEO_ID = "jNQXAC9IVRw"

# Errors after which another method (yt-dlp) has a real chance of success. An
# internal error is logged already; yt-dlp reads YouTube by other code entirely.
_FALLBACK_HELPS = (YouTubeBlocked, PoTokenRequired, YouTubeResponseError, InternalError)


def load_youtube_cookies(path: str | Path) -> CookieFile:
    """Load a cookies.txt that must hold cookies for youtube.com (InputError otherwise)."""
    from yt_study_buddy.net.cookies import load_cookie_file

    return load_cookie_file(path, YOUTUBE_HOME)


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
                 ytdlp_extractors: Sequence[object] | None = None,
                 cookies: CookieFile | None = None,
                 delay: float = 0.0):
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout
        self.ytdlp_extractors = list(ytdlp_extractors) if ytdlp_extractors is not None else None
        self.cookies = cookies
        #: seconds between requests inside one yt-dlp extraction (--delay)
        self.delay = delay
        self._proxy_for_thread = proxy_for_thread
        self._local = threading.local()
        self._generation = 0
        self._lock = threading.Lock()
        self._sessions: list[Any] = []

    # -- per-thread connections

    def _state(self) -> _ThreadState:
        state: _ThreadState | None = getattr(self._local, "state", None)
        generation = self._generation
        if state is not None and state.generation == generation:
            return state
        if state is not None:
            self._close_session(state.session)  # stale after reset_connections(): new circuit, new sockets
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
        session.hooks["response"].append(self._remember_player_details)
        adapter = _YouTubeAdapter()
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        if self.cookies is not None:
            self.cookies.copy_into(session.cookies)  # a copy per session: threads never share a jar
        if proxy:
            session.proxies = {"http": proxy, "https": proxy}
            # Environment settings (NO_PROXY, *_PROXY) must not route around the proxy.
            session.trust_env = False
        with self._lock:
            self._sessions.append(session)
        return session

    def _close_session(self, session: Any) -> None:
        with self._lock:
            if session in self._sessions:
                self._sessions.remove(session)
        session.close()

    def _remember_player_details(self, response: Any, *args: Any, **kwargs: Any) -> None:
        # The player response youtube-transcript-api asks for holds the description, and
        # so the chapters: read it as it passes instead of asking YouTube again.
        request = response.request
        if request.method != "POST" or not request.path_url.startswith("/youtubei/v1/player") \
                or response.status_code != 200:
            return
        try:
            details = response.json().get("videoDetails") or {}
        except (ValueError, AttributeError):
            return
        if isinstance(details, dict):
            self._local.player_details = details

    def _chapters_seen(self, video_id: str) -> list[Chapter]:
        details = getattr(self._local, "player_details", None) or {}
        if details.get("videoId") != video_id:
            return []
        from yt_study_buddy.sources.chapters import chapters_from_description

        try:
            duration = float(details.get("lengthSeconds") or 0) or None
        except (TypeError, ValueError):
            duration = None
        description = details.get("shortDescription")
        return chapters_from_description(description if isinstance(description, str) else None, duration)

    def reset_connections(self) -> None:
        """Drop every thread's session so the next request opens new connections."""
        with self._lock:
            self._generation += 1

    def close(self) -> None:
        """Close every thread's HTTP session (their pooled connections)."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
            self._generation += 1
        for session in sessions:
            session.close()

    # -- transcripts

    def fetch_transcript(self, video_id: str, languages: Sequence[str] = ("en",)) -> Transcript:
        """Fetch a video's captions: manual, then auto-generated, then translated; yt-dlp as fallback."""
        wanted = [lang for lang in languages if lang] or ["en"]
        try:
            with youtube_errors(video_id):
                return self._fetch_with_transcript_api(video_id, wanted)
        except _FALLBACK_HELPS as exc:
            first: StudyBuddyError = exc
        try:
            with youtube_errors(video_id):
                return self._fetch_with_ytdlp(video_id, wanted)
        except StudyBuddyError as exc:
            second: StudyBuddyError = exc
        raise _after_fallback(first, second) from None

    def _fetch_with_transcript_api(self, video_id: str, languages: list[str]) -> Transcript:
        from youtube_transcript_api import NoTranscriptFound

        self._local.player_details = None
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
                          translated_from=translated_from, chapters=self._chapters_seen(video_id))

    def _ytdlp_kwargs(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "proxy": self._state().proxy,
                "timeout": self.timeout, "extractors": self.ytdlp_extractors,
                "cookiefile": str(self.cookies.path) if self.cookies is not None else None,
                "delay": self.delay}

    def _fetch_with_ytdlp(self, video_id: str, languages: list[str]) -> Transcript:
        from yt_study_buddy.sources import youtube_dlp

        return youtube_dlp.fetch_subtitles(video_id, languages, **self._ytdlp_kwargs())

    # -- metadata, playlists, reachability

    def _oembed(self, video_id: str) -> Any:
        watch = watch_url(video_id)
        url = f"https://www.youtube.com/oembed?url={quote(watch, safe='')}&format=json"
        return self._state().session.get(url)

    def fetch_metadata(self, video_id: str) -> VideoMeta:
        """Return a video's title and channel (oEmbed, then yt-dlp)."""
        try:
            with youtube_errors(video_id):
                response = self._oembed(video_id)
                response.raise_for_status()
                data = response.json()
                title = str(data.get("title") or "").strip()
                if not title:
                    raise YouTubeResponseError("YouTube's oEmbed answer had no title")
                return VideoMeta(video_id=video_id, title=title,
                                 channel=str(data.get("author_name") or "").strip(), url=watch_url(video_id))
        except NetworkError:
            raise  # yt-dlp would only wait for the same dead network
        except StudyBuddyError as exc:
            first: StudyBuddyError = exc
        try:
            with youtube_errors(video_id):
                from yt_study_buddy.sources import youtube_dlp

                info = youtube_dlp.fetch_info(video_id, **self._ytdlp_kwargs())
        except StudyBuddyError:
            raise first from None
        title = str(info.get("title") or "").strip()
        if not title:
            raise first
        channel = str(info.get("channel") or info.get("uploader") or "").strip()
        return VideoMeta(video_id=video_id, title=title, channel=channel, url=watch_url(video_id))

    def expand_playlist(self, url: str) -> list[str]:
        """Return a playlist's video ids in order (yt-dlp flat extraction)."""
        with youtube_errors("playlist"):
            from yt_study_buddy.sources import youtube_dlp

            return youtube_dlp.flat_playlist_ids(url, **self._ytdlp_kwargs())

    def probe(self) -> int:
        """Make one cheap request (an oEmbed lookup) the way videos are fetched; return its HTTP status."""
        with youtube_errors(PROBE_VIDEO_ID):
            return int(self._oembed(PROBE_VIDEO_ID).status_code)


def _after_fallback(first: StudyBuddyError, second: StudyBuddyError) -> StudyBuddyError:
    """The error to report once both methods failed."""
    if isinstance(first, PoTokenRequired):
        # A block seen by yt-dlp (a bot check, HTTP 429) says more than "a PO token was wanted".
        return second if isinstance(second, YouTubeBlocked) else PoTokenRequired(PO_TOKEN_REASON)
    # Otherwise the first method's error: yt-dlp's are vaguer (see youtube_errors), and
    # "no subtitles" from yt-dlp after an empty-body failure only means it skipped
    # tracks the first method proved exist.
    return first
