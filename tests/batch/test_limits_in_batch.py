"""Per-service limits hold in a real batch: YouTube few and spaced, Claude parallel with shared backoff.

test_limits.py checks the limiter objects on their own; these tests run a
parallel batch through YouTubeStudyNotes against the fake servers and read
what the servers saw. Timing assertions are lower bounds (or counts), with
margins that hold on a busy 2-core machine.
"""

from __future__ import annotations

import json
import re

# Imported up front, as a long-running app would have them: otherwise the first
# video alone pays for these imports between its spacer slot and its first request.
import requests  # noqa: F401
import youtube_transcript_api  # noqa: F401

from tests.fakes.anthropic import DEFAULT_KEY, error_body
from tests.fakes.youtube import make_segments
from yt_study_buddy import YouTubeStudyNotes
from yt_study_buddy.config import Settings
from yt_study_buddy.batch.limits import ServiceLimits

WORKERS = 4
DELAY = 0.3
#: Lower bound for the gap between two videos' YouTube starts (DELAY less scheduling slack).
MIN_START_GAP = 0.25
YOUTUBE_CONCURRENCY = 2

_TOPICS = (["entropy", "information", "bits"], ["gradient", "descent", "loss"],
           ["photosynthesis", "chlorophyll", "light"], ["mitochondria", "respiration", "energy"])
_VIDEO_IN_PROMPT = re.compile(r'<transcript video_id=\\"([^\\"]+)\\">')


def add_videos(fake, count=WORKERS):
    ids = [f"limit{i:06d}" for i in range(count)]
    for i, video_id in enumerate(ids):
        fake.add_video(video_id, title=f"Limits Lecture {i}", channel="Chan",
                       segments=make_segments(_TOPICS[i % len(_TOPICS)], 20))
    return ids, [f"https://youtu.be/{v}" for v in ids]


def make_app(tmp_path, youtube, claude=None):
    limits = ServiceLimits(youtube_delay=DELAY, youtube_concurrency=YOUTUBE_CONCURRENCY,
                           claude_concurrency=8, youtube_cooldown=0.05)
    settings = Settings(api_key=DEFAULT_KEY if claude else None,
                        anthropic_base_url=claude.base_url if claude else None,
                        youtube_base_url=youtube.base_url)
    app = YouTubeStudyNotes(base_dir=tmp_path / "notes", settings=settings,
                            engine="claude" if claude else "offline", parallel=True,
                            max_workers=WORKERS, delay=DELAY, limits=limits)
    # Build both clients (and import their libraries) before the batch, so a
    # first-use import does not delay one video's requests into the next one's slot.
    app.resolve_engine()
    assert app.youtube is not None
    return app


def first_watch_times(fake) -> dict[str, float]:
    """When each video's YouTube work reached the server: its first /watch request."""
    first: dict[str, float] = {}
    for record in fake.requests:
        if record.path == "/watch":
            video_id = record.query["v"][0]
            first[video_id] = min(first.get(video_id, record.time), record.time)
    return first


def claude_calls(fake) -> list[tuple[float, str]]:
    """(arrival time, video id) of every Messages API request, in arrival order."""
    calls = []
    for entry in fake.history:
        found = _VIDEO_IN_PROMPT.search(json.dumps(entry["body"]))
        calls.append((entry["at"], found.group(1) if found else "?"))
    return sorted(calls)


def test_youtube_starts_are_spaced_while_claude_calls_overlap(tmp_path, fake_youtube, fake_anthropic):
    ids, urls = add_videos(fake_youtube)
    fake_anthropic.latency = 0.6  # each video's 3 calls take >= 1.8 s; starts are 0.3 s apart
    report = make_app(tmp_path, fake_youtube, fake_anthropic).process_urls(urls)
    assert report.ok, [r.error for r in report.results]

    # (a) One spaced start per video's YouTube work.
    starts = first_watch_times(fake_youtube)
    assert sorted(starts) == sorted(ids)
    times = sorted(starts.values())
    gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
    assert all(gap >= MIN_START_GAP for gap in gaps), gaps

    # (b) Claude is not spaced: calls of different videos are at the server together.
    assert fake_anthropic.peak_concurrency >= 2
    calls = claude_calls(fake_anthropic)
    assert {v for _, v in calls} == set(ids)
    # Two calls that arrive less than one server latency apart were both in flight at once.
    overlapping = [(a, b) for (ta, a), (tb, b) in zip(calls, calls[1:])
                   if a != b and tb - ta < fake_anthropic.latency]
    assert overlapping, calls


def test_youtube_concurrency_never_exceeds_the_limit(tmp_path, fake_youtube):
    ids, urls = add_videos(fake_youtube)
    # Each video's YouTube work is 4 requests of >= 0.25 s (about 1 s), started 0.3 s
    # apart: without the limit, 3-4 videos' requests would be at the server at once.
    fake_youtube.latency = 0.25
    report = make_app(tmp_path, fake_youtube).process_urls(urls)
    assert report.ok, [r.error for r in report.results]
    assert set(first_watch_times(fake_youtube)) == set(ids)
    assert fake_youtube.peak_concurrency <= YOUTUBE_CONCURRENCY
    # The limit was reached, so the batch did put it under pressure.
    assert fake_youtube.peak_concurrency == YOUTUBE_CONCURRENCY


def test_claude_429_with_retry_after_pauses_every_worker(tmp_path, fake_youtube, fake_anthropic):
    ids, urls = add_videos(fake_youtube)
    retry_after = 2.5
    # The batch's first Claude call is told to back off; by the time that pause
    # ends every video has its transcript and is waiting to call Claude.
    fake_anthropic.enqueue(429, error_body(429, "rate limited"), headers={"retry-after": f"{retry_after:g}"})
    app = make_app(tmp_path, fake_youtube, fake_anthropic)
    report = app.process_urls(urls)
    assert report.ok, [r.error for r in report.results]
    assert fake_anthropic.rate_limited == 1
    assert app.limits.claude_backoff.pauses == 1

    calls = claude_calls(fake_anthropic)
    rejected_at, rejected_video = calls[0]
    later = calls[1:]
    # A worker already past the backoff gate when the client read the 429 may
    # still arrive just after it; nobody may arrive once the pause is in force.
    grace = 0.4
    during_pause = [(round(t - rejected_at, 3), v) for t, v in later
                    if rejected_at + grace <= t < rejected_at + retry_after - 0.05]
    assert not during_pause, f"requests during the {retry_after} s pause: {during_pause}"
    early = [v for t, v in later if t < rejected_at + grace]
    assert rejected_video not in early, "the rejected call was retried before its retry-after"
    assert len(early) <= len(ids) - 1
    # Every video, not only the rejected one, had calls held until the pause ended.
    resumed = {v for t, v in later if t >= rejected_at + retry_after - 0.05}
    assert resumed == set(ids)
