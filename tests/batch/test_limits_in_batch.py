"""Per-service limits hold in a real batch: YouTube few and spaced, Claude parallel with shared backoff.

test_limits.py checks the limiter objects on their own; these tests run a
parallel batch through YouTubeStudyNotes against the fake servers and read
what the servers saw. Timing assertions hold on a machine of any speed: they
compare what the servers saw with the moment a limit was set, on the same
clock (time.monotonic), never with a margin for how fast the machine is.
"""

from __future__ import annotations

import json
import re
import threading
import time

# Imported up front, as a long-running app would have them: otherwise the first
# video alone pays for these imports between its spacer slot and its first request.
import requests  # noqa: F401
import youtube_transcript_api  # noqa: F401

from tests.fakes.anthropic import DEFAULT_KEY, error_body
from tests.fakes.youtube import make_segments
from yt_study_buddy import YouTubeStudyNotes
from yt_study_buddy.config import Settings
from yt_study_buddy.batch.limits import ServiceLimits, SharedBackoff, StartSpacer

WORKERS = 4
DELAY = 0.3
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


def make_app(tmp_path, youtube, claude=None, youtube_concurrency=YOUTUBE_CONCURRENCY):
    limits = ServiceLimits(youtube_delay=DELAY, youtube_concurrency=youtube_concurrency,
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


class FirstReading:
    """time.monotonic for a StartSpacer, remembering its first reading: the batch's first slot."""

    def __init__(self) -> None:
        self.first: float | None = None

    def __call__(self) -> float:
        now = time.monotonic()
        if self.first is None:  # the first reading is taken under the spacer's lock
            self.first = now
        return now


class PauseSignal(SharedBackoff):
    """The batch's Claude backoff, with an event set once a pause is in force."""

    def __init__(self) -> None:
        super().__init__()
        self.in_force = threading.Event()

    def pause_for(self, seconds: float, why: str | None = None) -> None:
        super().pause_for(seconds, why)
        self.in_force.set()


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
    app = make_app(tmp_path, fake_youtube, fake_anthropic)
    clock = FirstReading()
    app.limits.youtube_spacer = StartSpacer(DELAY, clock=clock)
    report = app.process_urls(urls)
    assert report.ok, [r.error for r in report.results]

    # (a) One spaced start per video's YouTube work: the k-th video's first request
    # reached YouTube no earlier than k delays after the first slot. (Gaps between
    # arrivals are not the measure: a request held up on a busy machine after its
    # slot arrives late, and the next one, on time, then looks too close to it.)
    starts = first_watch_times(fake_youtube)
    assert sorted(starts) == sorted(ids)
    assert clock.first is not None, "the YouTube work was never spaced"
    times = sorted(starts.values())
    early = [round(clock.first + k * DELAY - t, 3) for k, t in enumerate(times)
             if t < clock.first + k * DELAY - 1e-6]
    assert not early, f"starts before their slot by {early} s; arrivals {[round(t - clock.first, 3) for t in times]}"

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
    retry_after = 2.0
    # The batch's first Claude call is told to back off.
    fake_anthropic.enqueue(429, error_body(429, "rate limited"), headers={"retry-after": f"{retry_after:g}"})
    # A YouTube slot each: a held video must not keep the first one from its metadata.
    app = make_app(tmp_path, fake_youtube, fake_anthropic, youtube_concurrency=WORKERS)
    app.limits.claude_backoff = gate = PauseSignal()
    # The other videos get their transcripts only once the pause is in force, so
    # they meet it however slow the machine (none can be past the gate already).
    fake_youtube.holds = {video_id: gate.in_force for video_id in ids[1:]}
    report = app.process_urls(urls)
    assert report.ok, [r.error for r in report.results]
    assert fake_anthropic.rate_limited == 1
    assert gate.pauses == 1

    calls = claude_calls(fake_anthropic)
    rejected_at, rejected_video = calls[0]
    assert rejected_video == ids[0]
    # The pause began when the client read the 429, after the server sent it:
    # nothing may reach the server until retry_after after the rejection.
    during_pause = [(round(t - rejected_at, 3), v) for t, v in calls[1:] if t < rejected_at + retry_after]
    assert not during_pause, f"requests during the {retry_after} s pause: {during_pause}"
    # Every video, not only the rejected one, made its calls after the pause.
    assert {v for _, v in calls[1:]} == set(ids)
