"""Stage sources: yt-dlp side of YouTube access: subtitles fallback, metadata fallback, playlists.

Imports yt-dlp at the top, so it is itself only imported lazily (by
``youtube.py`` when a fallback or a playlist is actually needed).
Errors are left as yt-dlp raised them (``youtube_errors`` converts them by
type), except a bot check that yt-dlp only logs as a warning: that one is
raised as the ExtractorError yt-dlp would have raised.

yt-dlp runs at full strength: the JavaScript runtime found on this machine
(deno, node, quickjs or bun, see ``js_runtime``) is handed to it through its
``js_runtimes`` option, the user's cookies through ``cookiefile``, and
``--delay`` through its own sleep options.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yt_dlp
from yt_dlp.globals import supported_js_runtimes
from yt_dlp.networking import Request
from yt_dlp.utils import ExtractorError

from yt_study_buddy.sources.captions import parse_json3, parse_srt, parse_vtt
from yt_study_buddy.sources.chapters import chapters_from_info
from yt_study_buddy.errors import CaptionsDisabled, NoCaptionsInLanguage, YouTubeResponseError
from yt_study_buddy.models import Segment, Transcript
from yt_study_buddy.sources.urls import rewrite_youtube_url, watch_url
from yt_study_buddy.sources.youtube_errors import is_bot_check

__all__ = ["RedirectingYoutubeDL", "JsRuntime", "js_runtime", "js_runtimes_found", "fetch_subtitles",
           "fetch_info", "flat_playlist_ids", "rewrite_url", "ytdlp_params"]

# Preferred subtitle formats: json3 keeps YouTube's own timing and has no rolling
# duplicates; vtt is what every video has.
SUBTITLE_FORMATS = "json3/vtt/srt/best"


def rewrite_url(url: str, base_url: str | None) -> str:
    """Send a YouTube URL to base_url (same path and query); leave other URLs alone."""

    return rewrite_youtube_url(url, base_url)


# yt-dlp's order of preference (see its --js-runtimes help).
_RUNTIME_ORDER = ("deno", "node", "quickjs", "bun")


@dataclass(frozen=True)
class JsRuntime:
    """A JavaScript runtime yt-dlp can use for YouTube's challenges."""

    name: str
    path: str
    version: str
    supported: bool


def js_runtimes_found() -> list[JsRuntime]:
    """Every JavaScript runtime on this machine, in yt-dlp's order, as yt-dlp's own probes see it."""
    found = []
    for name in _RUNTIME_ORDER:
        probe = supported_js_runtimes.value.get(name)
        info = probe().info if probe is not None else None
        if info is not None:
            found.append(JsRuntime(name, info.path, info.version, bool(info.supported)))
    return found


@functools.cache
def js_runtime() -> JsRuntime | None:
    """The runtime handed to yt-dlp: the first supported one found (probed once per process)."""
    return next((r for r in js_runtimes_found() if r.supported), None)


class _QuietLogger:
    """Keep yt-dlp's console output off the terminal; errors still arrive as exceptions.

    Warnings are kept: with ``ignore_no_formats_error`` yt-dlp reports an
    unplayable video (a bot check among them) only as a warning.
    """

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        self.warnings.append(msg)

    def error(self, msg: str) -> None:
        pass

    def raise_bot_check(self) -> None:
        """Raise the bot check yt-dlp logged as a warning, if it did."""
        for message in self.warnings:
            if is_bot_check(message):
                raise ExtractorError(message, expected=True)


class RedirectingYoutubeDL(yt_dlp.YoutubeDL):
    """A YoutubeDL whose every request to a YouTube host goes to base_url instead."""

    def __init__(self, params: dict[str, Any], *, base_url: str | None = None,
                 extractors: Sequence[object] | None = None):
        self._redirect_base = base_url
        super().__init__(params, auto_init=extractors is None)
        for extractor in extractors or ():
            # A fresh instance per YoutubeDL: an extractor is bound to one downloader,
            # and clients build one YoutubeDL per call on many threads.
            cls = extractor if isinstance(extractor, type) else type(extractor)
            self.add_info_extractor(cls())

    def urlopen(self, req):  # type: ignore[no-untyped-def]
        # Every extractor and downloader request passes through here, which makes
        # it the one seam where the URL can be pointed at a mirror or fake.
        if self._redirect_base:
            if isinstance(req, str):
                req = Request(req)
            if isinstance(req, Request):
                target = rewrite_url(req.url, self._redirect_base)
                if target != req.url:
                    # Cookies are chosen for the real YouTube URL, as a browser would.
                    cookie = self.cookiejar.get_cookie_header(req.url)
                    if cookie and "Cookie" not in req.headers:
                        req.headers["Cookie"] = cookie
                    req.url = target
        return super().urlopen(req)

    def save_cookies(self) -> None:
        # yt-dlp writes its jar back to ``cookiefile`` on close. That file is the
        # user's; one YoutubeDL per call on many threads must never rewrite it.
        pass


def ytdlp_params(*, proxy: str | None, timeout: float, cookiefile: str | None = None,
                 delay: float = 0.0, **extra: Any) -> dict[str, Any]:
    """YoutubeDL options for one call: quiet, no downloads, the runtime, cookies, proxy and delay."""
    params: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": _QuietLogger(),
        "skip_download": True,
        "cachedir": False,
        "noplaylist": True,
        "socket_timeout": timeout,
        "extractor_retries": 1,
        "retries": 1,
    }
    runtime = js_runtime()
    if runtime is not None:
        params["js_runtimes"] = {runtime.name: {"path": runtime.path}}
    if cookiefile:
        params["cookiefile"] = cookiefile
    if proxy:
        params["proxy"] = proxy
    if delay > 0:
        # --delay is the one knob: it spaces yt-dlp's own requests too.
        params["sleep_interval_requests"] = delay
        params["sleep_interval_subtitles"] = delay
    params.update(extra)
    return params


def _parse(ext: str, body: str) -> list[Segment]:
    if ext == "json3":
        return parse_json3(json.loads(body))
    if ext == "vtt":
        return parse_vtt(body)
    if ext == "srt":
        return parse_srt(body)
    raise YouTubeResponseError(f"yt-dlp offered captions only in an unsupported format ({ext})")


def fetch_subtitles(video_id: str, languages: Sequence[str], *, base_url: str | None,
                    proxy: str | None, timeout: float, extractors: Sequence[object] | None,
                    cookiefile: str | None = None, delay: float = 0.0) -> Transcript:
    """Fetch a video's captions with yt-dlp: manual first, json3 preferred over vtt."""
    wanted = [lang for lang in languages if lang] or ["en"]
    params = ytdlp_params(
        proxy=proxy, timeout=timeout, cookiefile=cookiefile, delay=delay,
        writesubtitles=True, writeautomaticsub=True,
        # subtitleslangs are regexes in yt-dlp; language codes must match exactly.
        subtitleslangs=[f"^{re.escape(lang)}$" for lang in wanted],
        subtitlesformat=SUBTITLE_FORMATS, ignore_no_formats_error=True)
    with RedirectingYoutubeDL(params, base_url=base_url, extractors=extractors) as ydl:
        info = ydl.extract_info(watch_url(video_id), download=False)
        manual = info.get("subtitles") or {}
        automatic = info.get("automatic_captions") or {}
        chosen = info.get("requested_subtitles") or {}
        order = [lang for lang in wanted if lang in chosen and lang in manual]
        order += [lang for lang in wanted if lang in chosen and lang not in order]
        if not order:
            params["logger"].raise_bot_check()
            if not manual and not automatic:
                raise CaptionsDisabled()
            available = ", ".join(sorted(set(manual) | set(automatic))[:12])
            raise NoCaptionsInLanguage(
                f"no captions in {', '.join(wanted)} (available: {available})")
        lang = order[0]
        sub = chosen[lang]
        body = sub.get("data")
        if body is None:
            # The track is fetched here, not by yt-dlp's subtitle downloader, so its
            # subtitle sleep is honoured here.
            time.sleep(params.get("sleep_interval_subtitles") or 0)
            with ydl.urlopen(sub["url"]) as response:
                body = response.read().decode("utf-8", "replace")
        try:
            segments = _parse(sub.get("ext", ""), body)
        except (ValueError, TypeError, AttributeError):
            raise YouTubeResponseError("yt-dlp fetched captions that could not be read") from None
        if not segments:
            raise YouTubeResponseError("yt-dlp fetched an empty caption track")
        is_generated = lang not in manual
        return Transcript(video_id=video_id, segments=segments, language_code=lang,
                          language=str(sub.get("name") or ""), is_generated=is_generated,
                          method="yt-dlp", chapters=chapters_from_info(info))


def fetch_info(video_id: str, *, base_url: str | None, proxy: str | None, timeout: float,
               extractors: Sequence[object] | None, cookiefile: str | None = None,
               delay: float = 0.0) -> dict[str, Any]:
    """Return yt-dlp's unprocessed info dict for a video (title, channel, ...)."""
    params = ytdlp_params(proxy=proxy, timeout=timeout, cookiefile=cookiefile, delay=delay,
                          ignore_no_formats_error=True)
    with RedirectingYoutubeDL(params, base_url=base_url, extractors=extractors) as ydl:
        info = ydl.extract_info(watch_url(video_id), download=False, process=False) or {}
    if not info.get("title"):
        params["logger"].raise_bot_check()
    return info


def flat_playlist_ids(url: str, *, base_url: str | None, proxy: str | None, timeout: float,
                      extractors: Sequence[object] | None, cookiefile: str | None = None,
                      delay: float = 0.0) -> list[str]:
    """Return the video ids of a playlist in order, via yt-dlp flat extraction."""
    params = ytdlp_params(proxy=proxy, timeout=timeout, cookiefile=cookiefile, delay=delay,
                          extract_flat="in_playlist", noplaylist=False)
    with RedirectingYoutubeDL(params, base_url=base_url, extractors=extractors) as ydl:
        info = ydl.extract_info(url, download=False) or {}
    ids: list[str] = []
    for entry in info.get("entries") or []:
        video_id = (entry or {}).get("id")
        if isinstance(video_id, str) and video_id not in ids:
            ids.append(video_id)
    return ids
