"""A fake YouTube on 127.0.0.1 that the real youtube-transcript-api and yt-dlp talk to.

It speaks what youtube-transcript-api 1.2 requests: the ``/watch`` page (with
``INNERTUBE_API_KEY``, or the consent / captcha pages), ``POST
/youtubei/v1/player``, caption ``baseUrl``s at ``/api/timedtext`` (timedtext
XML, json3 or vtt) and ``/oembed``. Responses start from the real captured
pages shipped in ``youtube_transcript_api/test/assets``. ``/playlist?list=``
serves a page yt-dlp's own tab extractor can flat-extract, and
``/ytdlp/info`` feeds :func:`fake_ytdlp_extractor` (a small yt-dlp extractor
returning a YouTube-shaped info dict whose caption URLs point at this server).

Run ``python -m tests.fakes.youtube --port 8765 --videos 20 --latency 0.1``
for demos and benchmarks.
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import signal
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Sequence
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.http import InFlight, LoopbackServer

__all__ = [
    "FakeYouTube",
    "FakeVideo",
    "RequestRecord",
    "SCENARIOS",
    "make_segments",
    "make_lecture",
    "LECTURE_TOPICS",
    "fake_ytdlp_extractor",
    "fake_youtube",
    "main",
]

SCENARIOS = (
    "ok", "manual_and_auto", "auto_only", "other_language", "http_429", "captcha", "bot_check",
    "unavailable", "captions_disabled", "age_restricted", "po_token", "empty_body", "slow",
)
_BLOCKED = ("http_429", "captcha", "bot_check")
_ASSET_VIDEO_ID = "GJLlxj_dtq8"
# YouTube's words, as yt-dlp's YouTube extractor reports them (curly apostrophe included).
_BOT_CHECK_REASON = ("Sign in to confirm you\u2019re not a bot. Use --cookies-from-browser or --cookies "
                     "for the authentication. See  https://github.com/yt-dlp/yt-dlp/wiki/FAQ  for how to "
                     "manually pass cookies")
_LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "ja": "Japanese"}


@lru_cache(maxsize=None)
def _asset(name: str) -> str:
    import youtube_transcript_api

    folder = Path(youtube_transcript_api.__file__).parent / "test" / "assets"
    return (folder / name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _asset_json(name: str) -> dict[str, Any]:
    return json.loads(_asset(name))


def make_segments(topic_words: list[str] | tuple[str, ...] | str, n: int = 12,
                  seconds_each: float = 4.0) -> list[tuple[float, float, str]]:
    """Return n distinct (start, duration, text) caption lines about the given words."""
    words = topic_words.split() if isinstance(topic_words, str) else list(topic_words)
    words = words or ["topic"]
    frames = (
        "Today we look at {a} and why it matters.",
        "The key idea behind {a} is how it connects to {b}.",
        "A common mistake is to confuse {a} with {b}.",
        "Let us work through an example of {a} step by step.",
        "Notice how {b} changes when {a} grows.",
        "To summarise, {a} gives us a way to reason about {b}.",
    )
    lines = []
    for i in range(n):
        a, b = words[i % len(words)], words[(i * 3 + 1) % len(words)]
        lines.append((i * seconds_each, seconds_each, frames[i % len(frames)].format(a=a, b=b)))
    return lines


#: Six unrelated topics: a long lecture taking them in turn changes vocabulary at each.
LECTURE_TOPICS = (
    ("gradient", "descent", "learning", "rate", "loss"),
    ("neural", "network", "layer", "weights", "activation"),
    ("entropy", "heat", "temperature", "system", "energy"),
    ("supply", "demand", "price", "market", "equilibrium"),
    ("recursion", "base", "case", "stack", "function"),
    ("protein", "enzyme", "cell", "membrane", "receptor"),
)


def make_lecture(topics: Sequence[Sequence[str]], minutes: float, *, topic_minutes: float = 15.0,
                 seconds_each: float = 4.0) -> list[tuple[float, float, str]]:
    """Return caption lines of a long lecture that moves to the next topic every topic_minutes.

    A short pause (1.5 s) separates every fifth line, a longer one (4 s) each change of topic,
    as speakers do; the words of one topic are not used in the others.
    """
    most = int(minutes * 60 / seconds_each) + 1
    said = [make_segments(words, most) for words in topics]
    lines: list[tuple[float, float, str]] = []
    t, i = 0.0, 0
    while t < minutes * 60:
        topic = int(t // (topic_minutes * 60))
        lines.append((round(t, 2), seconds_each, said[topic % len(topics)][i][2]))
        i += 1
        t += seconds_each + (1.5 if i % 5 == 0 else 0.1)
        if int(t // (topic_minutes * 60)) != topic:
            t += 4.0
    return lines


@dataclass
class FakeVideo:
    """One video the fake knows about."""

    video_id: str
    title: str
    channel: str = "Fake Channel"
    scenario: str = "ok"
    segments: list[tuple[float, float, str]] = field(default_factory=list)
    language: str = "en"
    #: subtitle formats offered to yt-dlp, in the order the info dict lists them
    subtitle_formats: tuple[str, ...] = ("vtt", "json3")
    #: the description (where a ``0:00 Title`` list makes chapters), in the player response
    description: str = ""


@dataclass(frozen=True)
class RequestRecord:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    #: when it arrived, time.monotonic() (the clock of the app's limits and of the other fakes)
    time: float


class FakeYouTube:
    """The fake YouTube server; add videos, start it, point the app's base URL at it."""

    def __init__(self, port: int = 0, latency: float = 0.0):
        self.latency = latency
        #: extra seconds per request for videos in the 'slow' scenario
        self.slow_latency = 0.5
        #: host written into caption baseUrls (the client must rewrite it to this server)
        self.caption_host = "www.youtube.com"
        #: serve the EU cookie-consent page until the CONSENT cookie is sent
        self.consent_wall = False
        #: make /oembed answer 500 (to exercise the yt-dlp metadata fallback)
        self.fail_oembed = False
        #: the next N /watch requests answer 429 (a block that lifts), whatever the video
        self.block_next_watches = 0
        #: yt-dlp meets "Sign in to confirm you're not a bot" for every video
        self.ytdlp_bot_check = False
        #: video id -> event: that video's requests are not answered before the event is set
        self.holds: dict[str, threading.Event] = {}
        #: seconds a held request waits at most (then it is answered anyway)
        self.hold_timeout = 30.0
        self.videos: dict[str, FakeVideo] = {}
        self.playlists: dict[str, tuple[str, list[str]]] = {}
        self.requests: list[RequestRecord] = []
        self._in_flight = InFlight()
        self._lock = threading.Lock()
        self._server = LoopbackServer(self, port)
        self._started = False

    # -- setup

    def add_video(self, video_id: str, *, title: str, channel: str = "Fake Channel",
                  scenario: str = "ok", segments: list[tuple[float, float, str]] | None = None,
                  language: str = "en", subtitle_formats: tuple[str, ...] = ("vtt", "json3"),
                  description: str = "") -> FakeVideo:
        """Register a video with a scenario (see SCENARIOS)."""
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}")
        if segments is None:
            segments = make_segments(title.split() or [video_id], 8)
        video = FakeVideo(video_id, title, channel, scenario, list(segments), language,
                          tuple(subtitle_formats), description)
        with self._lock:
            self.videos[video_id] = video
        return video

    def add_playlist(self, playlist_id: str, video_ids: list[str], title: str = "Fake Playlist") -> None:
        """Register a playlist page listing these videos in order."""
        with self._lock:
            self.playlists[playlist_id] = (title, list(video_ids))

    def ytdlp_extractors(self) -> list[type]:
        """Extractor classes to pass as YouTubeClient(ytdlp_extractors=...)."""
        return [fake_ytdlp_extractor()]

    # -- lifecycle and inspection

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>"""
        return self._server.base_url

    def start(self) -> "FakeYouTube":
        """Start serving in a background thread."""
        self._server.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._started:
            self._server.stop()
            self._started = False

    def __enter__(self) -> "FakeYouTube":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def count(self, path_prefix: str = "/") -> int:
        """Number of requests whose path starts with path_prefix."""
        with self._lock:
            return sum(1 for r in self.requests if r.path.startswith(path_prefix))

    def reset_log(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self.requests.clear()
        self._in_flight.reset_peak()

    @property
    def peak_concurrency(self) -> int:
        """Most requests being answered at once."""
        return self._in_flight.peak

    # -- request handling

    def handle(self, handler: Any) -> None:
        """Answer one request (called by LoopbackServer on its thread)."""
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        body = handler.read_body() if handler.command == "POST" else b""
        record = RequestRecord(handler.command, parts.path, query,
                               {k: v for k, v in handler.headers.items()}, time.monotonic())
        with self._lock:
            self.requests.append(record)
        release = self._in_flight.enter(handler)
        try:
            video = self._video_for(parts.path, query, body)
            hold = self.holds.get(video.video_id) if video else None
            if hold is not None:
                handler.wait_for(hold, self.hold_timeout)
            delay = self.latency + (self.slow_latency if video and video.scenario == "slow" else 0)
            if delay > 0:
                handler.pause(delay)
            with self._lock:
                blocked = parts.path == "/watch" and self.block_next_watches > 0
                if blocked:
                    self.block_next_watches -= 1
            if blocked:
                # A temporary IP block: the next watch pages answer 429, then all is well.
                handler.send_bytes(429, b"<html><body>Too Many Requests</body></html>", "text/html")
                return
            self._dispatch(handler, parts.path, query, body, video)
        finally:
            release()

    def _video_for(self, path: str, query: dict[str, list[str]], body: bytes) -> FakeVideo | None:
        video_id = (query.get("v") or [""])[0]
        if path == "/youtubei/v1/player" and body:
            try:
                video_id = json.loads(body).get("videoId", "")
            except ValueError:
                video_id = ""
        elif path == "/oembed":
            video_id = parse_qs(urlsplit((query.get("url") or [""])[0]).query).get("v", [""])[0]
        return self.videos.get(video_id)

    def _dispatch(self, h: Any, path: str, query: dict[str, list[str]], body: bytes,
                  video: FakeVideo | None) -> None:
        if path == "/watch":
            self._watch(h, (query.get("v") or [""])[0], video)
        elif path == "/youtubei/v1/player":
            self._player(h, body, video)
        elif path == "/api/timedtext":
            self._timedtext(h, query, video)
        elif path == "/oembed":
            self._oembed(h, video)
        elif path == "/ytdlp/info":
            self._ytdlp_info(h, (query.get("v") or [""])[0], video)
        elif path == "/playlist":
            self._playlist(h, (query.get("list") or [""])[0])
        elif path == "/youtubei/v1/browse":
            # yt-dlp re-requests a playlist through the browse API (browseId "VL<list id>").
            try:
                browse_id = str(json.loads(body or b"{}").get("browseId", ""))
            except ValueError:
                browse_id = ""
            self._playlist(h, browse_id[2:] if browse_id.startswith("VL") else browse_id, as_json=True)
        else:
            h.send_bytes(404, b"Not Found")

    def _watch(self, h: Any, video_id: str, video: FakeVideo | None) -> None:
        scenario = video.scenario if video else "unavailable"
        if scenario == "http_429":
            h.send_bytes(429, b"<html><body>Too Many Requests</body></html>", "text/html")
            return
        if scenario == "captcha":
            h.send_bytes(200, _asset("youtube_too_many_requests.html.static").encode(), "text/html")
            return
        if self.consent_wall and "CONSENT=YES+" not in (h.headers.get("Cookie") or ""):
            h.send_bytes(200, _asset("youtube_consent_page.html.static").encode(), "text/html")
            return
        page = _asset("youtube.html.static").replace(_ASSET_VIDEO_ID, video_id or "unknown0000")
        h.send_bytes(200, page.encode(), "text/html; charset=utf-8")

    def _player(self, h: Any, body: bytes, video: FakeVideo | None) -> None:
        scenario = video.scenario if video else "unavailable"
        if scenario in ("http_429", "captcha"):
            h.send_bytes(429, b"Too Many Requests")
            return
        static = {
            "unavailable": "youtube_video_unavailable.innertube.json.static",
            "bot_check": "youtube_request_blocked.innertube.json.static",
            "age_restricted": "youtube_age_restricted.innertube.json.static",
            "captions_disabled": "youtube_transcripts_disabled.innertube.json.static",
        }.get(scenario)
        if static or video is None:
            h.send_json(200, _asset_json(static or "youtube_video_unavailable.innertube.json.static"))
            return
        data = copy.deepcopy(_asset_json("youtube.innertube.json.static"))
        details = data.setdefault("videoDetails", {})
        details.update({"videoId": video.video_id, "title": video.title, "author": video.channel,
                        "shortDescription": video.description, "lengthSeconds": str(_length(video))})
        data["captions"] = {"playerCaptionsTracklistRenderer": self._caption_tracks(video)}
        h.send_json(200, data)

    def _track_url(self, video: FakeVideo, lang: str, asr: bool, po_token: bool = False) -> str:
        url = (f"https://{self.caption_host}/api/timedtext?v={video.video_id}&ei=fake&caps=asr"
               f"&opi=112496729&xoaf=5&hl=en&lang={lang}")
        if asr:
            url += "&kind=asr"
        if po_token:
            url += "&exp=xpe"
        return url

    def _tracks(self, video: FakeVideo) -> list[tuple[str, bool]]:
        """(language, is_asr) tracks of a video."""
        lang = video.language
        return {
            "manual_and_auto": [(lang, False), (lang, True)],
            "auto_only": [(lang, True)],
            "other_language": [("de", False)],
        }.get(video.scenario, [(lang, False)])

    def _caption_tracks(self, video: FakeVideo) -> dict[str, Any]:
        tracks = []
        for lang, asr in self._tracks(video):
            name = _LANGUAGE_NAMES.get(lang, lang)
            track = {
                "baseUrl": self._track_url(video, lang, asr, video.scenario == "po_token") + "&fmt=srv3",
                "name": {"runs": [{"text": f"{name} (auto-generated)" if asr else name}]},
                "vssId": f"a.{lang}" if asr else f".{lang}",
                "languageCode": lang,
                "isTranslatable": True,
                "trackName": "",
            }
            if asr:
                track["kind"] = "asr"
            tracks.append(track)
        return {
            "captionTracks": tracks,
            "audioTracks": [{"captionTrackIndices": list(range(len(tracks)))}],
            "translationLanguages": [
                {"languageCode": code, "languageName": {"runs": [{"text": name}]}}
                for code, name in _LANGUAGE_NAMES.items()
            ],
            "defaultAudioTrackIndex": 0,
        }

    def _lines(self, video: FakeVideo, lang: str, asr: bool, tlang: str | None) -> list[tuple[float, float, str]]:
        lines = video.segments
        if asr:  # auto captions: lower case, no punctuation, so tests can tell them apart
            lines = [(s, d, "".join(c for c in t.lower() if c.isalnum() or c == " ")) for s, d, t in lines]
        if tlang:
            lines = [(s, d, f"[{tlang} from {lang}] {t}") for s, d, t in lines]
        return lines

    def _timedtext(self, h: Any, query: dict[str, list[str]], video: FakeVideo | None) -> None:
        if video is None:
            h.send_bytes(404, b"")
            return
        if video.scenario in ("http_429", "captcha"):
            h.send_bytes(429, b"Too Many Requests")
            return
        lang = (query.get("lang") or [video.language])[0]
        asr = (query.get("kind") or [""])[0] == "asr"
        tlang = (query.get("tlang") or [None])[0]
        fmt = (query.get("fmt") or ["srv1"])[0]
        if (lang, asr) not in self._tracks(video):
            h.send_bytes(404, b"")
            return
        lines = self._lines(video, lang, asr, tlang)
        if fmt == "json3":
            h.send_json(200, _json3(lines, asr))
        elif fmt == "vtt":
            h.send_bytes(200, _vtt(lines, asr).encode(), "text/vtt; charset=utf-8")
        elif video.scenario == "empty_body":
            h.send_bytes(200, b"", "text/xml; charset=UTF-8")
        else:
            h.send_bytes(200, _timedtext_xml(lines).encode(), "text/xml; charset=UTF-8")

    def _oembed(self, h: Any, video: FakeVideo | None) -> None:
        if self.fail_oembed:
            h.send_bytes(500, b"Internal Server Error")
        elif video is None or video.scenario == "unavailable":
            h.send_bytes(404, b"Not Found")
        elif video.scenario in ("http_429", "captcha"):
            h.send_bytes(429, b"Too Many Requests")
        else:
            h.send_json(200, {
                "title": video.title, "author_name": video.channel,
                "author_url": "https://www.youtube.com/@fakechannel", "type": "video",
                "height": 113, "width": 200, "version": "1.0", "provider_name": "YouTube",
                "provider_url": "https://www.youtube.com/",
                "thumbnail_url": f"https://i.ytimg.com/vi/{video.video_id}/hqdefault.jpg",
            })

    def _ytdlp_info(self, h: Any, video_id: str, video: FakeVideo | None) -> None:
        scenario = video.scenario if video else "unavailable"
        if video is not None and (scenario == "bot_check" or self.ytdlp_bot_check):
            # What yt-dlp's YouTube extractor meets: a playability status, no captions.
            h.send_json(200, {"id": video.video_id, "title": video.title, "channel": video.channel,
                              "subtitles": {}, "automatic_captions": {}, "formats": [],
                              "playability_reason": _BOT_CHECK_REASON})
            return
        if scenario in _BLOCKED:
            h.send_bytes(429, b"Too Many Requests")
            return
        if video is None or scenario in ("unavailable", "age_restricted"):
            h.send_bytes(404, b"Not Found")
            return
        subtitles: dict[str, list[dict[str, str]]] = {}
        automatic: dict[str, list[dict[str, str]]] = {}
        if scenario != "captions_disabled":
            for lang, asr in self._tracks(video):
                target = automatic if asr else subtitles
                target[lang] = [{"ext": fmt, "url": self._track_url(video, lang, asr) + f"&fmt={fmt}",
                                 "name": _LANGUAGE_NAMES.get(lang, lang)} for fmt in video.subtitle_formats]
        h.send_json(200, {
            "id": video.video_id, "title": video.title, "channel": video.channel,
            "uploader": video.channel, "duration": _length(video), "description": video.description,
            "webpage_url": f"https://www.youtube.com/watch?v={video.video_id}",
            "subtitles": subtitles, "automatic_captions": automatic, "formats": [],
        })

    def _playlist(self, h: Any, playlist_id: str, as_json: bool = False) -> None:
        entry = self.playlists.get(playlist_id)
        if entry is None:
            h.send_bytes(404, b"Not Found")
            return
        title, ids = entry
        data = _playlist_data(playlist_id, title, ids, self.videos)
        if as_json:
            h.send_json(200, data)
            return
        page = ("<!DOCTYPE html><html><head><title>" + html.escape(title) + " - YouTube</title></head>"
                "<body><script>var ytInitialData = " + json.dumps(data) + ";</script></body></html>")
        h.send_bytes(200, page.encode(), "text/html; charset=utf-8")


# --------------------------------------------------------------------------- payloads

def _length(video: FakeVideo) -> int:
    """The video's length in whole seconds, as the player response and yt-dlp give it."""
    return int(video.segments[-1][0] + video.segments[-1][1]) if video.segments else 0


def _timedtext_xml(lines: list[tuple[float, float, str]]) -> str:
    body = "".join(f'<text start="{s:g}" dur="{d:g}">{html.escape(t)}</text>' for s, d, t in lines)
    return f'<?xml version="1.0" encoding="utf-8" ?><transcript>{body}</transcript>'


def _json3(lines: list[tuple[float, float, str]], asr: bool) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    for start, duration, text in lines:
        if asr:
            words = text.split()
            segs = [{"utf8": words[0]}] + [{"utf8": " " + w, "tOffsetMs": 300 * i} for i, w in enumerate(words[1:], 1)]
            events.append({"tStartMs": int(start * 1000), "dDurationMs": int(duration * 1000), "wWinId": 1, "segs": segs})
            events.append({"tStartMs": int((start + duration) * 1000) - 10, "dDurationMs": 10, "wWinId": 1,
                           "aAppend": 1, "segs": [{"utf8": "\n"}]})
        else:
            events.append({"tStartMs": int(start * 1000), "dDurationMs": int(duration * 1000),
                           "segs": [{"utf8": text}]})
    return {"wireMagic": "pb3", "pens": [{}], "wsWinStyles": [{}], "wpWinPositions": [{}], "events": events}


def _vtt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _vtt(lines: list[tuple[float, float, str]], asr: bool) -> str:
    out = ["WEBVTT", "Kind: captions", "Language: en", ""]
    previous = ""
    for start, duration, text in lines:
        end = start + duration
        if not asr:
            out += [f"{_vtt_time(start)} --> {_vtt_time(end)}", text, ""]
            continue
        # YouTube's auto-caption shape: the previous line rolls up above the new one,
        # the new words carry inline timing tags, and a 10 ms cue holds the settled text.
        words = text.split()
        timed = words[0] + "".join(
            f"<{_vtt_time(start + 0.3 * i)}><c> {w}</c>" for i, w in enumerate(words[1:], 1))
        out += [f"{_vtt_time(start)} --> {_vtt_time(end - 0.01)} align:start position:0%",
                previous or " ", timed, ""]
        out += [f"{_vtt_time(end - 0.01)} --> {_vtt_time(end)} align:start position:0%",
                text, " ", ""]
        previous = text
    return "\n".join(out)


def _playlist_data(playlist_id: str, title: str, ids: list[str], videos: dict[str, FakeVideo]) -> dict[str, Any]:
    renderers = []
    for index, video_id in enumerate(ids, 1):
        video = videos.get(video_id)
        renderers.append({"playlistVideoRenderer": {
            "videoId": video_id,
            "title": {"runs": [{"text": video.title if video else video_id}]},
            "index": {"simpleText": str(index)},
            "shortBylineText": {"runs": [{"text": video.channel if video else "Fake Channel"}]},
            "lengthSeconds": "60",
            "lengthText": {"simpleText": "1:00"},
            "isPlayable": True,
            "navigationEndpoint": {"watchEndpoint": {"videoId": video_id, "playlistId": playlist_id,
                                                     "index": index - 1}},
        }})
    data = {
        "contents": {"twoColumnBrowseResultsRenderer": {"tabs": [{"tabRenderer": {
            "selected": True,
            "title": "Videos",
            "content": {"sectionListRenderer": {"contents": [{"itemSectionRenderer": {"contents": [
                {"playlistVideoListRenderer": {"contents": renderers, "playlistId": playlist_id}},
            ]}}]}},
        }}]}},
        "metadata": {"playlistMetadataRenderer": {"title": title}},
        "microformat": {"microformatDataRenderer": {"title": title}},
        "header": {"playlistHeaderRenderer": {"playlistId": playlist_id, "title": {"simpleText": title}}},
    }
    return data


# --------------------------------------------------------------------------- yt-dlp extractor

@lru_cache(maxsize=None)
def fake_ytdlp_extractor() -> type:
    """Return a yt-dlp extractor class that reads info dicts from the fake's /ytdlp/info."""
    from yt_dlp.extractor.common import InfoExtractor

    class FakeYouTubeIE(InfoExtractor):
        IE_NAME = "fakeyoutube"
        _VALID_URL = r"https?://(?:(?:www|m)\.)?youtube\.com/watch\?v=(?P<id>[0-9A-Za-z_-]{11})"

        def _real_extract(self, url: str) -> dict[str, Any]:
            video_id = self._match_id(url)
            # A YouTube host on purpose: the client must redirect it to the fake.
            info = self._download_json(f"https://www.youtube.com/ytdlp/info?v={video_id}", video_id)
            reason = info.pop("playability_reason", None)
            if reason:
                # As yt-dlp's YouTube extractor does with an unplayable video's reason.
                self.raise_no_formats(reason, expected=True, video_id=video_id)
            return info

    return FakeYouTubeIE


# --------------------------------------------------------------------------- fixture and CLI

@pytest.fixture
def fake_youtube() -> Iterator[FakeYouTube]:
    """A started FakeYouTube, stopped after the test."""
    fake = FakeYouTube().start()
    try:
        yield fake
    finally:
        fake.stop()


def _generated_id(index: int) -> str:
    return f"fakevid{index:04d}"[:11]


def main(argv: list[str] | None = None) -> int:
    """Serve N generated videos until killed."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.youtube", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--videos", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    args = parser.parse_args(argv)
    topics = ["graph", "entropy", "gradient", "protein", "market", "orbit", "sonnet", "enzyme",
              "matrix", "neuron", "tariff", "glacier", "algorithm", "photon", "syntax", "volcano"]
    fake = FakeYouTube(port=args.port, latency=args.latency)
    for i in range(args.videos):
        words = [topics[(i + k * 5) % len(topics)] for k in range(3)]
        fake.add_video(_generated_id(i), title=f"Lecture {i + 1}: {words[0].title()} and {words[1]}",
                       segments=make_segments(words, 15))
    fake.add_playlist("PLfake0000000000", [_generated_id(i) for i in range(args.videos)])
    fake.start()
    print(f"fake YouTube at {fake.base_url}", flush=True)
    for video_id in fake.videos:
        print(video_id, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
