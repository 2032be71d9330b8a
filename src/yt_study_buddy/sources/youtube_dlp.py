"""Stage sources: yt-dlp side of YouTube access: subtitles fallback, metadata fallback, playlists.

Imports yt-dlp at the top, so it is itself only imported lazily (by
``youtube.py`` when a fallback or a playlist is actually needed).
Errors are left as yt-dlp raised them; ``youtube.convert_youtube_error``
converts them by type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import yt_dlp
from yt_dlp.networking import Request

from yt_study_buddy.sources.captions import parse_json3, parse_srt, parse_vtt
from yt_study_buddy.errors import CaptionsDisabled, NoCaptionsInLanguage, YouTubeResponseError
from yt_study_buddy.models import Segment, Transcript
from yt_study_buddy.sources.urls import rewrite_youtube_url, watch_url

__all__ = ["RedirectingYoutubeDL", "fetch_subtitles", "fetch_info", "flat_playlist_ids", "rewrite_url"]

# Preferred subtitle formats: json3 keeps YouTube's own timing and has no rolling
# duplicates; vtt is what every video has.
SUBTITLE_FORMATS = "json3/vtt/srt/best"


def rewrite_url(url: str, base_url: str | None) -> str:
    """Send a YouTube URL to base_url (same path and query); leave other URLs alone."""

    return rewrite_youtube_url(url, base_url)


class _QuietLogger:
    """Swallow yt-dlp's console output; errors still arrive as exceptions."""

    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass

    def error(self, msg: str) -> None:
        pass


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
                    req.url = target
        return super().urlopen(req)


def _params(proxy: str | None, timeout: float, extra: dict[str, Any]) -> dict[str, Any]:
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
    if proxy:
        params["proxy"] = proxy
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
                    proxy: str | None, timeout: float,
                    extractors: Sequence[object] | None) -> Transcript:
    """Fetch a video's captions with yt-dlp: manual first, json3 preferred over vtt."""
    wanted = [lang for lang in languages if lang] or ["en"]
    params = _params(proxy, timeout, {
        "writesubtitles": True,
        "writeautomaticsub": True,
        # subtitleslangs are regexes in yt-dlp; language codes must match exactly.
        "subtitleslangs": [f"^{re.escape(lang)}$" for lang in wanted],
        "subtitlesformat": SUBTITLE_FORMATS,
        "ignore_no_formats_error": True,
    })
    with RedirectingYoutubeDL(params, base_url=base_url, extractors=extractors) as ydl:
        info = ydl.extract_info(watch_url(video_id), download=False)
        manual = info.get("subtitles") or {}
        automatic = info.get("automatic_captions") or {}
        chosen = info.get("requested_subtitles") or {}
        order = [lang for lang in wanted if lang in chosen and lang in manual]
        order += [lang for lang in wanted if lang in chosen and lang not in order]
        if not order:
            if not manual and not automatic:
                raise CaptionsDisabled()
            available = ", ".join(sorted(set(manual) | set(automatic))[:12])
            raise NoCaptionsInLanguage(
                f"no captions in {', '.join(wanted)} (available: {available})")
        lang = order[0]
        sub = chosen[lang]
        body = sub.get("data")
        if body is None:
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
                          method="yt-dlp")


def fetch_info(video_id: str, *, base_url: str | None, proxy: str | None, timeout: float,
               extractors: Sequence[object] | None) -> dict[str, Any]:
    """Return yt-dlp's unprocessed info dict for a video (title, channel, ...)."""
    params = _params(proxy, timeout, {"ignore_no_formats_error": True})
    with RedirectingYoutubeDL(params, base_url=base_url, extractors=extractors) as ydl:
        return ydl.extract_info(watch_url(video_id), download=False, process=False) or {}


def flat_playlist_ids(url: str, *, base_url: str | None, proxy: str | None, timeout: float,
                      extractors: Sequence[object] | None) -> list[str]:
    """Return the video ids of a playlist in order, via yt-dlp flat extraction."""
    params = _params(proxy, timeout, {"extract_flat": "in_playlist", "noplaylist": False})
    with RedirectingYoutubeDL(params, base_url=base_url, extractors=extractors) as ydl:
        info = ydl.extract_info(url, download=False) or {}
    ids: list[str] = []
    for entry in info.get("entries") or []:
        video_id = (entry or {}).get("id")
        if isinstance(video_id, str) and video_id not in ids:
            ids.append(video_id)
    return ids
