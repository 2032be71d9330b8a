"""The YouTube boundary's one mapper: bot checks and PO tokens say what helps, bugs are internal and logged."""

from __future__ import annotations

import logging

import pytest

from tests.fakes.youtube import fake_youtube, make_segments  # noqa: F401 - fixture
from yt_study_buddy.errors import InternalError, PoTokenRequired, YouTubeBlocked
from yt_study_buddy.sources.youtube import YouTubeClient
from yt_study_buddy.sources.youtube_errors import is_bot_check, youtube_errors

LINES = make_segments(["token", "proof", "origin"], 5)


def client_for(fake, **kwargs):
    kwargs.setdefault("ytdlp_extractors", fake.ytdlp_extractors())
    return YouTubeClient(base_url=fake.base_url, timeout=10, **kwargs)


def test_po_token_falls_back_to_ytdlp_before_failing(fake_youtube):
    fake_youtube.add_video("potoken0101", title="Tokens", scenario="po_token", segments=LINES)
    transcript = client_for(fake_youtube).fetch_transcript("potoken0101")
    assert transcript.method == "yt-dlp"
    assert [s.text for s in transcript.segments] == [line[2] for line in LINES]
    # the transcript API listed the tracks, then yt-dlp fetched one
    assert fake_youtube.count("/youtubei/v1/player") == 1 and fake_youtube.count("/ytdlp/info") == 1


def test_po_token_when_ytdlp_cannot_help_says_what_helps(fake_youtube):
    fake_youtube.add_video("potoken0102", title="Tokens", scenario="po_token", segments=LINES)
    with pytest.raises(PoTokenRequired) as info:
        client_for(fake_youtube, ytdlp_extractors=[]).fetch_transcript("potoken0102")
    reason = info.value.reason
    assert info.value.retryable
    assert "bgutil-ytdlp-pot-provider" in reason and "--cookies" in reason and "--tor" in reason


def test_po_token_then_ytdlp_bot_check_reports_the_bot_check(fake_youtube):
    fake_youtube.add_video("potoken0103", title="Tokens", scenario="po_token", segments=LINES)
    fake_youtube.ytdlp_bot_check = True
    with pytest.raises(YouTubeBlocked) as info:
        client_for(fake_youtube).fetch_transcript("potoken0103")
    assert "not a bot" in info.value.reason and "--cookies" in info.value.reason
    assert info.value.retryable and info.value.kind == "blocked"
    assert "github.com" not in info.value.reason  # yt-dlp's advice text stays out


def test_ytdlp_bot_check_is_a_block_not_missing_captions(fake_youtube):
    from yt_study_buddy.sources import youtube_dlp

    # yt-dlp logs the bot check as a warning (ignore_no_formats_error) and finds no captions.
    fake_youtube.add_video("botcheck001", title="Bots", scenario="bot_check", segments=LINES)
    with pytest.raises(YouTubeBlocked) as info:
        with youtube_errors("botcheck001"):
            youtube_dlp.fetch_subtitles("botcheck001", ["en"], base_url=fake_youtube.base_url,
                                        proxy=None, timeout=10, extractors=fake_youtube.ytdlp_extractors())
    assert "confirm this is not a bot" in info.value.reason and info.value.retryable


def test_bot_check_wording():
    assert is_bot_check("Sign in to confirm you\u2019re not a bot. Use --cookies-from-browser")
    assert is_bot_check("[youtube] x: Sign in to confirm you're not a bot")
    assert not is_bot_check("Sign in to confirm your age")


def test_a_bug_inside_the_boundary_is_internal_and_logged(fake_youtube, caplog):
    fake_youtube.add_video("internal001", title="Bugs", segments=LINES)

    def broken_proxy() -> str:
        return {}["no proxy configured"]  # a KeyError: a bug, not YouTube's doing

    client = client_for(fake_youtube, proxy_for_thread=broken_proxy)
    with caplog.at_level(logging.INFO, logger="yt_study_buddy"):
        for call in (lambda: client.fetch_transcript("internal001"),
                     lambda: client.fetch_metadata("internal001"),
                     lambda: client.expand_playlist("https://www.youtube.com/playlist?list=PLx0000000001")):
            with pytest.raises(InternalError) as info:
                call()
            assert info.value.kind == "internal" and not info.value.retryable
            assert "KeyError" in info.value.reason and "-v" in info.value.reason
    traced = [r for r in caplog.records if r.exc_info and r.exc_info[0] is KeyError]
    assert traced and "broken_proxy" in caplog.text
    assert fake_youtube.requests == []  # nothing was disguised as a failed request


def test_youtube_errors_keeps_project_errors_and_converts_library_ones():
    import requests

    kept = YouTubeBlocked("kept")
    with pytest.raises(YouTubeBlocked) as info:
        with youtube_errors("x"):
            raise kept
    assert info.value is kept
    with pytest.raises(YouTubeBlocked) as info:
        with youtube_errors("x"):
            raise requests.exceptions.RetryError("too many 429s")
    assert isinstance(info.value.__cause__, requests.exceptions.RetryError)


def test_the_app_records_a_boundary_bug_as_internal_not_as_youtube(fake_youtube, tmp_path, caplog):
    import json

    from yt_study_buddy import YouTubeStudyNotes
    from yt_study_buddy.batch.limits import ServiceLimits
    from yt_study_buddy.config import Settings

    def broken_proxy() -> str:
        raise AttributeError("'NoneType' object has no attribute 'url'")  # a bug, not a network error

    fake_youtube.add_video("internal002", title="Bugs", segments=LINES)
    client = YouTubeClient(base_url=fake_youtube.base_url, timeout=10, proxy_for_thread=broken_proxy,
                           ytdlp_extractors=fake_youtube.ytdlp_extractors())
    app = YouTubeStudyNotes(base_dir=tmp_path / "vault", engine="offline", delay=0, youtube_client=client,
                            settings=Settings(youtube_base_url=fake_youtube.base_url),
                            limits=ServiceLimits(youtube_delay=0, youtube_cooldown=0.05))
    with caplog.at_level(logging.INFO, logger="yt_study_buddy"):
        report = app.process_urls(["https://youtu.be/internal002"])
    (result,) = report.results
    assert result.error_kind == "internal" and not result.retryable
    assert "AttributeError" in result.error and "YouTube failed" not in result.error
    assert any(r.exc_info and r.exc_info[0] is AttributeError for r in caplog.records)
    record = json.loads((tmp_path / "vault" / ".study-buddy" / "jobs.jsonl").read_text().splitlines()[-1])
    assert record["error_kind"] == "internal" and record["retryable"] is False


def test_a_caption_time_out_of_range_from_youtube_is_a_response_error_not_a_bug():
    from yt_study_buddy.errors import YouTubeResponseError
    from yt_study_buddy.sources.captions import CaptionTimeError
    from yt_study_buddy.sources.youtube_errors import convert_youtube_error

    converted = convert_youtube_error(CaptionTimeError("line 3: time out of range"), "abcdefghijk")
    assert isinstance(converted, YouTubeResponseError) and "out of range" in converted.reason
