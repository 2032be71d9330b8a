"""Stage sources: recognise the YouTube links people paste (the one home of YouTube host rules)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from yt_study_buddy.errors import InputError

__all__ = ["is_youtube_host", "rewrite_youtube_url", "parse_video_id", "parse_playlist_id", "is_playlist_url", "watch_url", "VIDEO_ID_RE"]

VIDEO_ID_RE = re.compile(r"^[A-Za-z0-9_-]{11}$")
_PLAYLIST_ID_RE = re.compile(r"^[A-Za-z0-9_-]{10,64}$")
_YOUTUBE_DOMAINS = ("youtube.com", "youtu.be", "youtube-nocookie.com")


def is_youtube_host(host: str) -> bool:
    """True for youtube.com, any of its subdomains, youtu.be and youtube-nocookie.com."""
    host = (host or "").lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in _YOUTUBE_DOMAINS)


def rewrite_youtube_url(url: str, base_url: str | None) -> str:
    """Point a YouTube URL at base_url, keeping path and query; other URLs are unchanged."""
    if not base_url:
        return url
    parts = urlsplit(url)
    if not is_youtube_host(parts.hostname or ""):
        return url
    target = base_url.rstrip("/") + (parts.path or "/")
    return f"{target}?{parts.query}" if parts.query else target


_SHORT_HOSTS = {"youtu.be", "www.youtu.be"}
# /shorts/ID, /live/ID, /embed/ID, /v/ID, /e/ID
_PATH_FORMS = re.compile(r"^/(?:shorts|live|embed|v|e)/([^/?#]+)")
_MAX_SHOWN = 80


def _shown(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _split(text: str):
    candidate = text.strip()
    if "://" not in candidate:
        candidate = "https://" + candidate
    try:
        parts = urlsplit(candidate)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None, None
    return parts, host


def watch_url(video_id: str) -> str:
    """Return the canonical watch URL of a video id."""
    return f"https://www.youtube.com/watch?v={video_id}"


def parse_video_id(text: str) -> str:
    """Return the 11-character video id in a pasted link or bare id, or raise InputError."""
    raw = (text or "").strip()
    if not raw:
        raise InputError("empty input: expected a YouTube link or video id")
    if VIDEO_ID_RE.match(raw):
        return raw
    parts, host = _split(raw)
    if parts is None:
        raise InputError(f"not a YouTube link: {_shown(raw)!r}")
    candidate: str | None = None
    if host in _SHORT_HOSTS:
        candidate = parts.path.lstrip("/").split("/")[0]
    elif is_youtube_host(host):
        if parts.path.rstrip("/") in ("/watch", ""):
            values = parse_qs(parts.query).get("v")
            candidate = values[0] if values else None
        else:
            match = _PATH_FORMS.match(parts.path)
            candidate = match.group(1) if match else None
        if candidate is None:
            raise InputError(f"YouTube link without a video id: {_shown(raw)!r}")
    else:
        raise InputError(f"not a YouTube link: {_shown(raw)!r}")
    if not candidate or not VIDEO_ID_RE.match(candidate):
        raise InputError(f"malformed YouTube video id in {_shown(raw)!r}")
    return candidate


def parse_playlist_id(text: str) -> str | None:
    """Return the playlist id of a playlist page link (not a watch link inside a list)."""
    parts, host = _split(text)
    if parts is None or not is_youtube_host(host):
        return None
    if parts.path.rstrip("/") != "/playlist":
        return None
    values = parse_qs(parts.query).get("list")
    if values and _PLAYLIST_ID_RE.match(values[0]):
        return values[0]
    raise InputError(f"malformed playlist link: {_shown(text)!r}")


def is_playlist_url(text: str) -> bool:
    """True for a youtube.com/playlist?list=... link."""
    try:
        return parse_playlist_id(text) is not None
    except InputError:
        return True
