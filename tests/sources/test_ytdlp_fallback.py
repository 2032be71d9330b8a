"""The yt-dlp fallback: a real YoutubeDL with a small extractor whose caption URLs point at the fake."""

from __future__ import annotations

from tests.fakes.youtube import fake_youtube, make_segments  # noqa: F401 - fixture
from yt_study_buddy.sources.youtube import YouTubeClient

LINES = make_segments(["photon", "wave", "particle"], 5)


def client_for(fake) -> YouTubeClient:
    return YouTubeClient(base_url=fake.base_url, timeout=10, ytdlp_extractors=fake.ytdlp_extractors())


def timedtext_formats(fake) -> list[str]:
    return [r.query.get("fmt", ["xml"])[0] for r in fake.requests if r.path == "/api/timedtext"]


def test_po_token_falls_back_to_ytdlp_json3(fake_youtube):
    fake_youtube.add_video("potoken0001", title="Light", scenario="po_token", segments=LINES)
    transcript = client_for(fake_youtube).fetch_transcript("potoken0001")
    assert transcript.method == "yt-dlp"
    assert [s.text for s in transcript.segments] == [line[2] for line in LINES]
    assert [s.start for s in transcript.segments] == [line[0] for line in LINES]
    # the youtube-transcript-api never requested the &exp=xpe URL; yt-dlp chose json3 over vtt
    assert timedtext_formats(fake_youtube) == ["json3"]
    assert fake_youtube.count("/ytdlp/info") == 1


def test_empty_body_falls_back_to_ytdlp(fake_youtube):
    fake_youtube.add_video("emptybody01", title="Light", scenario="empty_body", segments=LINES)
    transcript = client_for(fake_youtube).fetch_transcript("emptybody01")
    assert transcript.method == "yt-dlp"
    assert transcript.segments[0].text == LINES[0][2]
    assert timedtext_formats(fake_youtube) == ["xml", "json3"]


def test_vtt_auto_captions_lose_rolling_duplicates_and_inline_tags(fake_youtube):
    # Auto captions only, in VTT: YouTube's rolling two-line cues.
    fake_youtube.add_video("vttauto0001", title="Light", scenario="auto_only", segments=LINES,
                           subtitle_formats=("vtt",))
    from yt_study_buddy.sources import youtube_dlp
    transcript = youtube_dlp.fetch_subtitles(
        "vttauto0001", ["en"], base_url=fake_youtube.base_url, proxy=None, timeout=10,
        extractors=fake_youtube.ytdlp_extractors())
    expected = [line[2].lower().replace(".", "") for line in LINES]
    assert [s.text for s in transcript.segments] == expected
    assert all("<" not in s.text for s in transcript.segments)
    assert [s.start for s in transcript.segments] == [line[0] for line in LINES]
    assert transcript.is_generated is True
    assert timedtext_formats(fake_youtube) == ["vtt"]


def test_ytdlp_prefers_manual_over_auto(fake_youtube):
    fake_youtube.add_video("bothkinds01", title="Light", scenario="manual_and_auto", segments=LINES)
    from yt_study_buddy.sources import youtube_dlp
    transcript = youtube_dlp.fetch_subtitles(
        "bothkinds01", ["en"], base_url=fake_youtube.base_url, proxy=None, timeout=10,
        extractors=fake_youtube.ytdlp_extractors())
    assert transcript.is_generated is False
    assert transcript.segments[0].text == LINES[0][2]


def test_ytdlp_requests_go_to_the_fake_for_every_host(fake_youtube):
    fake_youtube.caption_host = "m.youtube.com"
    fake_youtube.add_video("mhost000001", title="Light", scenario="po_token", segments=LINES)
    transcript = client_for(fake_youtube).fetch_transcript("mhost000001")
    assert transcript.method == "yt-dlp"
    assert fake_youtube.count("/api/timedtext") == 1
