"""YouTubeClient against the fake YouTube, through the real youtube-transcript-api and yt-dlp."""

from __future__ import annotations

import threading

import pytest

from tests.fakes.youtube import FakeYouTube, fake_youtube, make_segments  # noqa: F401 - fixture
from yt_study_buddy.errors import (
    AgeRestricted,
    CaptionsDisabled,
    NetworkError,
    NoCaptionsInLanguage,
    PoTokenRequired,
    StudyBuddyError,
    VideoUnavailable,
    YouTubeBlocked,
    YouTubeResponseError,
)
from yt_study_buddy.sources.youtube import YouTubeClient, convert_youtube_error, rewrite_youtube_url

LINES = make_segments(["entropy", "information", "channel"], 6)


def client_for(fake: FakeYouTube, **kwargs) -> YouTubeClient:
    kwargs.setdefault("ytdlp_extractors", fake.ytdlp_extractors())
    kwargs.setdefault("timeout", 10)
    return YouTubeClient(base_url=fake.base_url, **kwargs)


def add(fake: FakeYouTube, video_id: str, scenario: str = "ok", **kwargs):
    return fake.add_video(video_id, title=f"Video {video_id}", scenario=scenario,
                          segments=kwargs.pop("segments", LINES), **kwargs)


# --------------------------------------------------------------------------- happy paths

def test_manual_transcript_keeps_text_and_start_times(fake_youtube):
    add(fake_youtube, "okvideo0001")
    transcript = client_for(fake_youtube).fetch_transcript("okvideo0001")
    assert transcript.method == "youtube-transcript-api"
    assert transcript.is_generated is False
    assert transcript.language_code == "en"
    assert [s.text for s in transcript.segments] == [line[2] for line in LINES]
    assert [s.start for s in transcript.segments] == [line[0] for line in LINES]
    assert fake_youtube.count("/watch") == 1
    assert fake_youtube.count("/youtubei/v1/player") == 1
    assert fake_youtube.count("/api/timedtext") == 1


def test_manual_captions_win_over_auto_generated(fake_youtube):
    add(fake_youtube, "bothkinds01", "manual_and_auto")
    transcript = client_for(fake_youtube).fetch_transcript("bothkinds01")
    assert transcript.is_generated is False
    assert transcript.segments[0].text == LINES[0][2]  # the fake lower-cases auto captions
    timedtext = [r for r in fake_youtube.requests if r.path == "/api/timedtext"]
    assert [r.query.get("kind") for r in timedtext] == [None]


def test_manual_in_a_later_language_beats_auto_in_the_first(fake_youtube):
    add(fake_youtube, "autoonly001", "auto_only")
    transcript = client_for(fake_youtube).fetch_transcript("autoonly001", ["de", "en"])
    assert transcript.is_generated is True
    assert transcript.language_code == "en"
    assert transcript.segments[0].text == LINES[0][2].lower().replace(".", "")


def test_translation_used_when_only_another_language_exists(fake_youtube):
    add(fake_youtube, "germanonly1", "other_language")
    transcript = client_for(fake_youtube).fetch_transcript("germanonly1", ["en"])
    assert transcript.language_code == "en"
    assert transcript.translated_from == "de"
    assert transcript.segments[0].text.startswith("[en from de] ")
    timedtext = [r for r in fake_youtube.requests if r.path == "/api/timedtext"]
    assert timedtext[-1].query["tlang"] == ["en"]


def test_other_language_chosen_when_listed(fake_youtube):
    add(fake_youtube, "germanonly2", "other_language")
    transcript = client_for(fake_youtube).fetch_transcript("germanonly2", ["en", "de"])
    assert transcript.language_code == "de"
    assert transcript.translated_from is None
    assert transcript.segments[0].text == LINES[0][2]


def test_consent_page_is_passed_with_the_cookie(fake_youtube):
    fake_youtube.consent_wall = True
    add(fake_youtube, "consent0001")
    transcript = client_for(fake_youtube).fetch_transcript("consent0001")
    assert transcript.segments
    watches = [r for r in fake_youtube.requests if r.path == "/watch"]
    assert len(watches) == 2
    assert "CONSENT=YES+" in watches[1].headers.get("Cookie", "")


# --------------------------------------------------------------------------- failures

FAILURES = [
    ("http_429", YouTubeBlocked, True),
    ("captcha", YouTubeBlocked, True),
    ("bot_check", YouTubeBlocked, True),
    ("unavailable", VideoUnavailable, False),
    ("captions_disabled", CaptionsDisabled, False),
    ("age_restricted", AgeRestricted, False),
]


@pytest.mark.parametrize("scenario, error, retryable", FAILURES)
def test_failure_scenarios_become_project_errors(fake_youtube, scenario, error, retryable):
    add(fake_youtube, "failing0001", scenario)
    with pytest.raises(error) as info:
        client_for(fake_youtube).fetch_transcript("failing0001")
    exc = info.value
    assert type(exc) is error
    assert exc.retryable is retryable
    assert exc.reason and "Traceback" not in exc.reason and "\n" not in exc.reason
    assert "github.com" not in exc.reason  # the library's long advice text stays out
    assert exc.__context__ is None or exc.__suppress_context__


def test_permanent_failures_do_not_try_ytdlp(fake_youtube):
    for index, scenario in enumerate(("unavailable", "captions_disabled", "age_restricted")):
        add(fake_youtube, f"permanent{index:02d}", scenario)
        with pytest.raises(StudyBuddyError):
            client_for(fake_youtube).fetch_transcript(f"permanent{index:02d}")
    assert fake_youtube.count("/ytdlp/info") == 0


def test_blocked_tries_ytdlp_then_reports_blocked(fake_youtube):
    add(fake_youtube, "blocked0001", "bot_check")
    with pytest.raises(YouTubeBlocked):
        client_for(fake_youtube).fetch_transcript("blocked0001")
    assert fake_youtube.count("/ytdlp/info") == 1


def test_unknown_video_is_unavailable(fake_youtube):
    with pytest.raises(VideoUnavailable) as info:
        client_for(fake_youtube).fetch_transcript("nosuchvideo")
    assert info.value.retryable is False


def test_no_captions_in_language_without_translation(fake_youtube):
    add(fake_youtube, "germanonly3", "other_language")
    with pytest.raises(NoCaptionsInLanguage) as info:
        client_for(fake_youtube).fetch_transcript("germanonly3", ["xx"])
    assert "de" in info.value.reason and info.value.retryable is False


def test_po_token_without_fallback_is_reported(fake_youtube):
    add(fake_youtube, "potoken0001", "po_token")
    # An extractor list without a YouTube extractor: yt-dlp cannot help.
    client = client_for(fake_youtube, ytdlp_extractors=[])
    with pytest.raises(PoTokenRequired) as info:
        client.fetch_transcript("potoken0001")
    assert info.value.retryable is True


def test_empty_body_without_fallback_is_a_response_error(fake_youtube):
    add(fake_youtube, "emptybody01", "empty_body")
    with pytest.raises(YouTubeResponseError) as info:
        client_for(fake_youtube, ytdlp_extractors=[]).fetch_transcript("emptybody01")
    assert info.value.retryable is True


def test_unreachable_server_is_a_network_error():
    fake = FakeYouTube().start()
    base = fake.base_url
    fake.stop()  # nothing listens on that port any more
    client = YouTubeClient(base_url=base, timeout=5, ytdlp_extractors=[])
    with pytest.raises(NetworkError) as info:
        client.fetch_transcript("okvideo0001")
    assert info.value.retryable is True
    with pytest.raises(NetworkError):
        client.fetch_metadata("okvideo0001")


def test_convert_by_type_covers_library_escapes():
    import requests
    from xml.etree.ElementTree import ParseError

    assert isinstance(convert_youtube_error(ParseError("no element found"), "x"), YouTubeResponseError)
    assert isinstance(convert_youtube_error(requests.exceptions.RetryError("429s"), "x"), YouTubeBlocked)
    assert isinstance(convert_youtube_error(requests.exceptions.ConnectionError("down"), "x"), NetworkError)
    assert isinstance(convert_youtube_error(requests.exceptions.ReadTimeout("slow"), "x"), NetworkError)
    proxy = convert_youtube_error(requests.exceptions.ProxyError("socks5h://user:secret@127.0.0.1:9050"), "x")
    assert isinstance(proxy, NetworkError) and "secret" not in proxy.reason
    already = YouTubeBlocked("kept")
    assert convert_youtube_error(already, "x") is already


def test_convert_ytdlp_errors_by_type():
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.networking.common import Response
    from yt_dlp.utils import DownloadError, ExtractorError
    import io
    import sys

    def http_error(status: int) -> HTTPError:
        return HTTPError(Response(io.BytesIO(b""), "https://www.youtube.com/x", {}, status=status))

    assert isinstance(convert_youtube_error(http_error(429), "x"), YouTubeBlocked)
    assert isinstance(convert_youtube_error(http_error(404), "x"), VideoUnavailable)
    assert isinstance(convert_youtube_error(TransportError("reset"), "x"), NetworkError)
    wrapped = ExtractorError("Unable to download", cause=http_error(429))
    try:
        raise wrapped
    except ExtractorError:
        download = DownloadError("ERROR: ...", sys.exc_info())
    assert isinstance(convert_youtube_error(download, "x"), YouTubeBlocked)
    plain = convert_youtube_error(ExtractorError("Private video", expected=True), "x")
    assert isinstance(plain, YouTubeResponseError)


# --------------------------------------------------------------------------- metadata

def test_metadata_from_oembed(fake_youtube):
    fake_youtube.add_video("metadata001", title="Entropy, explained", channel="Info Channel")
    meta = client_for(fake_youtube).fetch_metadata("metadata001")
    assert (meta.title, meta.channel) == ("Entropy, explained", "Info Channel")
    assert meta.url.endswith("v=metadata001")
    oembed = [r for r in fake_youtube.requests if r.path == "/oembed"]
    assert len(oembed) == 1 and oembed[0].query["format"] == ["json"]
    assert "metadata001" in oembed[0].query["url"][0]


def test_metadata_falls_back_to_ytdlp(fake_youtube):
    fake_youtube.fail_oembed = True
    fake_youtube.add_video("metadata002", title="Gradients by hand", channel="Calc Club")
    meta = client_for(fake_youtube).fetch_metadata("metadata002")
    assert (meta.title, meta.channel) == ("Gradients by hand", "Calc Club")
    assert fake_youtube.count("/ytdlp/info") == 1


def test_metadata_of_unknown_video_raises(fake_youtube):
    with pytest.raises(VideoUnavailable):
        client_for(fake_youtube).fetch_metadata("nosuchvideo")


def test_metadata_blocked(fake_youtube):
    add(fake_youtube, "blockedmeta", "http_429")
    with pytest.raises(YouTubeBlocked):
        client_for(fake_youtube).fetch_metadata("blockedmeta")


# --------------------------------------------------------------------------- redirect

@pytest.mark.parametrize("host", ["www.youtube.com", "m.youtube.com", "youtube.com"])
def test_caption_urls_on_any_youtube_host_are_redirected(fake_youtube, host):
    fake_youtube.caption_host = host
    add(fake_youtube, "redirect001")
    transcript = client_for(fake_youtube).fetch_transcript("redirect001")
    assert transcript.segments
    assert fake_youtube.count("/api/timedtext") == 1


def test_rewrite_youtube_url_keeps_path_and_query():
    base = "http://127.0.0.1:8765"
    for host in ("www.youtube.com", "m.youtube.com", "youtube.com", "music.youtube.com", "youtu.be"):
        assert rewrite_youtube_url(f"https://{host}/watch?v=abc&t=1", base) == f"{base}/watch?v=abc&t=1"
    assert rewrite_youtube_url("https://example.com/watch?v=abc", base) == "https://example.com/watch?v=abc"
    assert rewrite_youtube_url("https://notyoutube.com/x", base) == "https://notyoutube.com/x"
    assert rewrite_youtube_url("https://www.youtube.com/x", None) == "https://www.youtube.com/x"


# --------------------------------------------------------------------------- playlists

def test_playlist_flat_extraction_with_real_tab_extractor(fake_youtube):
    for video_id in ("plvideo0001", "plvideo0002", "plvideo0003"):
        add(fake_youtube, video_id)
    fake_youtube.add_playlist("PLfakeplaylist01", ["plvideo0003", "plvideo0001", "plvideo0002"])
    client = YouTubeClient(base_url=fake_youtube.base_url, timeout=10)  # yt-dlp's own extractors
    ids = client.expand_playlist("https://www.youtube.com/playlist?list=PLfakeplaylist01")
    assert ids == ["plvideo0003", "plvideo0001", "plvideo0002"]
    assert fake_youtube.count("/playlist") == 1


def test_unknown_playlist_raises_project_error(fake_youtube):
    client = YouTubeClient(base_url=fake_youtube.base_url, timeout=10)
    with pytest.raises(VideoUnavailable):
        client.expand_playlist("https://www.youtube.com/playlist?list=PLdoesnotexist01")


# --------------------------------------------------------------------------- threads

def test_threads_share_one_client_safely(fake_youtube):
    fake_youtube.latency = 0.05
    ids = [f"threaded{n:03d}" for n in range(8)]
    for n, video_id in enumerate(ids):
        fake_youtube.add_video(video_id, title=f"T{n}", segments=make_segments([f"word{n}", "common"], 4))
    client = client_for(fake_youtube)
    results: dict[str, str] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(chunk: list[str]) -> None:
        try:
            barrier.wait(timeout=30)
            for video_id in chunk:
                results[video_id] = client.fetch_transcript(video_id).segments[0].text
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(ids[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert results == {vid: f"Today we look at word{n} and why it matters." for n, vid in enumerate(ids)}
    assert fake_youtube.peak_concurrency >= 2


def test_reset_connections_builds_new_sessions(fake_youtube):
    add(fake_youtube, "resetconn01")
    calls: list[int] = []

    def proxy_for_thread():
        calls.append(1)
        return None

    client = client_for(fake_youtube, proxy_for_thread=proxy_for_thread)
    client.fetch_transcript("resetconn01")
    client.fetch_metadata("resetconn01")
    assert len(calls) == 1  # once per thread, not per request
    client.reset_connections()
    client.fetch_transcript("resetconn01")
    assert len(calls) == 2


# --------------------------------------------------------------------------- proxy

def test_all_youtube_traffic_goes_through_the_thread_proxy(fake_youtube):
    from tests.fakes.socks import FakeSocks5Server

    add(fake_youtube, "proxied0001")
    add(fake_youtube, "proxied0002", "po_token")  # forces the yt-dlp fallback
    fake_youtube.add_playlist("PLproxied000001", ["proxied0001"])
    fake_port = int(fake_youtube.base_url.rsplit(":", 1)[1])
    with FakeSocks5Server() as proxy:
        client = YouTubeClient(base_url=fake_youtube.base_url, timeout=10,
                               proxy_for_thread=lambda: proxy.url().replace("://", "://alice:pw1@"))
        phases = {}
        for name, call in (
            ("transcript", lambda: client.fetch_transcript("proxied0001")),
            ("metadata", lambda: client.fetch_metadata("proxied0001")),
            ("ytdlp", lambda: YouTubeClient(
                base_url=fake_youtube.base_url, timeout=10,
                ytdlp_extractors=fake_youtube.ytdlp_extractors(),
                proxy_for_thread=lambda: proxy.url().replace("://", "://alice:pw1@"),
            ).fetch_transcript("proxied0002")),
            ("playlist", lambda: client.expand_playlist(
                "https://www.youtube.com/playlist?list=PLproxied000001")),
        ):
            client.reset_connections()  # new sockets, so every phase must open its own tunnel
            before = len(proxy.connections)
            call()
            phases[name] = proxy.connections[before:]
        for name, connections in phases.items():
            assert connections, f"{name}: no traffic went through the proxy"
            assert all(c.port == fake_port and c.username == "alice" for c in connections), name
        total = sum(len(c) for c in phases.values())
        assert total <= len(fake_youtube.requests)
