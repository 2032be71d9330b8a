"""Opt-in checks against real YouTube (skipped unless YT_STUDY_BUDDY_NETWORK_TESTS=1)."""

from __future__ import annotations

import pytest

from yt_study_buddy.sources.youtube import YouTubeClient

pytestmark = pytest.mark.network

# A long-lived public video with manual English captions.
VIDEO_ID = "jNQXAC9IVRw"


def test_real_transcript_and_title():
    client = YouTubeClient()
    transcript = client.fetch_transcript(VIDEO_ID, ["en"])
    assert transcript.segments and transcript.segments[0].start >= 0
    meta = client.fetch_metadata(VIDEO_ID)
    assert meta.title and meta.title != f"Video_{VIDEO_ID}"


def test_real_notes_offline_engine(tmp_path):
    from yt_study_buddy import YouTubeStudyNotes

    report = YouTubeStudyNotes(base_dir=tmp_path / "v", engine="offline").process_urls(
        [f"https://youtu.be/{VIDEO_ID}"])
    assert report.ok, report.results[0].error
