"""Long lectures end to end: parts on the batch's workers, chapters from YouTube, drafts that survive kill -9."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

from tests.fakes.anthropic import DEFAULT_KEY, chosen_tool
from tests.fakes.youtube import LECTURE_TOPICS, make_lecture
from tests.guard.loopback import guarded_env
from yt_study_buddy import YouTubeStudyNotes
from yt_study_buddy.batch.limits import ServiceLimits
from yt_study_buddy.config import Settings
from yt_study_buddy.events import Stage
from yt_study_buddy.models import Segment, Transcript, format_timestamp
from yt_study_buddy.notes.parts import plan_parts
from yt_study_buddy.notes.sections import split_sections

TOPICS = [topic[:4] for topic in LECTURE_TOPICS[:4]]
DESCRIPTION = "Lecture 3.\n\n0:00 Descent\n15:00 Networks\n30:00 Heat\n45:00 Markets\n\nSlides on the site."


def add_lecture(fake, video_id, minutes=60, description=""):
    lines = make_lecture(TOPICS, minutes)
    fake.add_video(video_id, title=f"Long Lecture {video_id[-2:]}", segments=lines, description=description)
    return plan_parts(Transcript(video_id, [Segment(*line) for line in lines]))


def make_app(tmp_path, youtube, claude, **kwargs):
    settings = Settings(api_key=DEFAULT_KEY, anthropic_base_url=claude.base_url, youtube_base_url=youtube.base_url)
    return YouTubeStudyNotes(base_dir=tmp_path / "notes", settings=settings, engine="claude", delay=0,
                             limits=ServiceLimits(youtube_delay=0), **kwargs)


def part_calls(fake) -> int:
    return sum(1 for body in fake.requests if "one part of a long lecture" in str(body["messages"][0]["content"]))


def note_of(tmp_path):
    return next(p for p in (tmp_path / "notes").rglob("*.md") if "Assessment" not in p.name)


def test_one_long_video_writes_its_parts_at_once_on_the_batch_workers(tmp_path, fake_youtube, fake_anthropic):
    plan = add_lecture(fake_youtube, "longvideo01", description=DESCRIPTION)
    # The four parts' calls are answered only once all four are at the server: four
    # at once is then what the app does, not a race between thread starts and latency.
    fake_anthropic.gather(4)
    events = []
    app = make_app(tmp_path, fake_youtube, fake_anthropic, parallel=True, max_workers=4, event_sink=events.append)
    report = app.process_urls(["https://youtu.be/longvideo01"])
    assert report.ok, report.results[0].error
    # The front ends hear of each part as it is written (minutes pass between a long video's stages).
    assert [e.detail for e in events if e.stage == Stage.PART] == [f"part {n} of 4" for n in range(1, 5)]
    assert part_calls(fake_anthropic) == len(plan) == 4  # the description's four chapters
    assert fake_anthropic.peak_concurrency == 4 and app.parallel_processor.share.peak == 4
    text = note_of(tmp_path).read_text(encoding="utf-8")
    names = [h for h, _ in split_sections(text.split("\n---\n", 1)[1]) if h]
    assert names[:4] == ["Chapters", "Overview", "Core concepts", "Key points"]
    assert ["Descent · 0:00", "Networks · 15:00", "Heat · 30:00", "Markets · 45:00"] == names[4:8]
    assert "- [Networks](https://youtu.be/longvideo01?t=900) · 15:00" in text
    assert len(list((tmp_path / "notes").rglob("*Assessment.md"))) == 1
    # The assessment needs only the parts: it was asked for beside the overview, not after it.
    tools = [chosen_tool(body) for body in fake_anthropic.requests if chosen_tool(body)]
    assert tools == ["record_assessment", "record_study_data"]
    # The note is written: its paid-for drafts are gone.
    assert not list((tmp_path / "notes" / ".study-buddy" / "generated").glob("*.parts"))
    # No request beyond what a short video needs from YouTube: the chapters came with the player response.
    assert fake_youtube.count("/youtubei/v1/player") == 1 and fake_youtube.count("/watch") == 1


def test_a_full_batch_writes_each_videos_parts_in_turn(tmp_path, fake_youtube, fake_anthropic):
    for video_id in ("longvideo01", "longvideo02"):
        add_lecture(fake_youtube, video_id, minutes=40)
    fake_anthropic.latency = 0.1
    app = make_app(tmp_path, fake_youtube, fake_anthropic, parallel=True, max_workers=2,
                   generate_assessments=False)
    report = app.process_urls(["https://youtu.be/longvideo01", "https://youtu.be/longvideo02"])
    assert report.ok
    # Two videos on two workers: no slot was free for a helper until one of them finished.
    assert app.parallel_processor.share.peak == 2 and fake_anthropic.peak_concurrency <= 2


def test_parts_paid_for_before_kill_9_are_not_bought_again(tmp_path, fake_youtube, fake_anthropic):
    plan = add_lecture(fake_youtube, "longvideo01", minutes=75)
    # Two parts are answered, the third waits until the kill: the kill falls between
    # two parts however slow the machine, not within a latency's window.
    resume = threading.Event()
    fake_anthropic.hold_after(2, resume)
    vault = tmp_path / "vault"
    drafts = vault / ".study-buddy" / "generated" / "longvideo01.parts"
    env = guarded_env(YT_STUDY_BUDDY_YOUTUBE_URL=fake_youtube.base_url, ANTHROPIC_BASE_URL=fake_anthropic.base_url,
                      ANTHROPIC_API_KEY=DEFAULT_KEY, PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "yt_study_buddy.cli", "https://youtu.be/longvideo01", "--delay", "0",
               "--engine", "claude", "-o", str(vault)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(drafts.glob("*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    resume.set()
    kept = len(list(drafts.glob("*.json")))
    assert kept == 2 < len(plan), "the kill came after two parts and before the last"
    for path in drafts.glob("*.json"):
        assert "part" in json.loads(path.read_text(encoding="utf-8"))  # whole drafts only
    bought = part_calls(fake_anthropic)
    rerun = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert part_calls(fake_anthropic) - bought == len(plan) - kept
    assert not drafts.exists()
    text = next(p for p in vault.rglob("Long Lecture*.md") if "Assessment" not in p.name).read_text(encoding="utf-8")
    assert [h for h, _ in split_sections(text) if h.startswith("Part ")] == \
        [f"Part {p.index} · {format_timestamp(p.start)}" for p in plan]
