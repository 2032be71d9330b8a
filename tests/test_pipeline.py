"""End to end through the library API: real clients against the fake YouTube and Anthropic servers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.fakes.anthropic import DEFAULT_KEY, error_body
from tests.fakes.youtube import make_segments
from yt_study_buddy import YouTubeStudyNotes
from yt_study_buddy.config import Settings
from yt_study_buddy.batch.limits import ServiceLimits

TOPICS = [
    ["gradient", "descent", "learning", "rate", "loss"],
    ["neural", "network", "layer", "weights", "activation"],
    ["photosynthesis", "chlorophyll", "light", "glucose", "energy"],
    ["overfitting", "regularization", "validation", "dropout", "loss"],
    ["mitochondria", "respiration", "glucose", "energy", "cell"],
    ["backpropagation", "gradient", "chain", "rule", "weights"],
]


def vid(i: int) -> str:
    return f"vid{i:08d}"


def add_videos(fake, count, *, title=None):
    for i in range(count):
        fake.add_video(vid(i), title=title or f"Lecture {i}: {TOPICS[i % len(TOPICS)][0].title()}",
                       channel="Test Channel", segments=make_segments(TOPICS[i % len(TOPICS)], 30))
    return [f"https://youtu.be/{vid(i)}" for i in range(count)]


def make_app(tmp_path, youtube, claude=None, *, key=DEFAULT_KEY, name="notes", **kwargs):
    settings = Settings(api_key=key if claude else None,
                        anthropic_base_url=claude.base_url if claude else None,
                        youtube_base_url=youtube.base_url)
    kwargs.setdefault("engine", "claude" if claude else "offline")
    kwargs.setdefault("delay", 0)
    kwargs.setdefault("limits", ServiceLimits(youtube_delay=kwargs["delay"], youtube_cooldown=0.05,
                                              youtube_concurrency=3))
    return YouTubeStudyNotes(base_dir=tmp_path / name, settings=settings, **kwargs)


def md_files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*.md")) if ".study-buddy" not in p.parts}


def wikilink_targets(text: str) -> list[str]:
    return [m.split("|")[0] for m in re.findall(r"\[\[([^\]]+)\]\]", text)]


def test_five_video_batch_with_claude(tmp_path, fake_youtube, fake_anthropic):
    urls = add_videos(fake_youtube, 5)
    app = make_app(tmp_path, fake_youtube, fake_anthropic, parallel=True, max_workers=3)
    report = app.process_urls(urls)
    assert report.ok, [r.error for r in report.results]
    vault = tmp_path / "notes"
    notes = {p for p in vault.rglob("*.md") if not p.name.endswith("Assessment.md")}
    assessments = {p for p in vault.rglob("*Assessment.md")}
    assert len(notes) == 5 and len(assessments) == 5
    stems = {p.stem for p in vault.rglob("*.md")}
    links = [t for p in notes for t in wikilink_targets(p.read_text(encoding="utf-8"))]
    assert links, "expected cross-links between related notes"
    assert all(t in stems for t in links), set(links) - stems
    text = next(iter(notes)).read_text(encoding="utf-8")
    assert re.search(r"https://youtu\.be/vid\d{8}\?t=\d+", text)
    assert "engine: claude" in text
    log_lines = (vault / ".study-buddy" / "jobs.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in log_lines]
    assert len(records) == 5 and all(r["status"] == "ok" for r in records)
    assert all(r["usage"].get("output_tokens", 0) > 0 for r in records)
    assert all(set(r["timings"]) >= {"fetch", "generate", "write"} for r in records)
    for path in vault.rglob("*"):
        if path.is_file():
            assert DEFAULT_KEY not in path.read_text(encoding="utf-8", errors="replace")
    assert report.graph_stats["total_notes"] == 5


def test_parallel_vault_is_byte_identical_to_sequential(tmp_path, fake_youtube):
    urls = add_videos(fake_youtube, 8)
    # Make the early videos slow so parallel workers finish out of order.
    for i in (0, 1):
        fake_youtube.add_video(vid(i), title=f"Lecture {i}: Slow", scenario="slow",
                               segments=make_segments(TOPICS[i], 30))
    fake_youtube.slow_latency = 0  # the reference needs no waiting: one video at a time anyway
    sequential = make_app(tmp_path, fake_youtube, name="seq").process_urls(urls)
    fake_youtube.slow_latency = 0.4
    parallel = make_app(tmp_path, fake_youtube, name="par", parallel=True, max_workers=5).process_urls(urls)
    assert sequential.ok and parallel.ok
    finish_order = sorted(parallel.results, key=lambda r: r.duration_seconds)
    assert finish_order[0].video_id not in (vid(0), vid(1))

    def normalise(files):
        return {k: re.sub(r"^created: .*$", "created: X", v, flags=re.M) for k, v in files.items()}

    seq, par = normalise(md_files(tmp_path / "seq")), normalise(md_files(tmp_path / "par"))
    assert seq.keys() == par.keys() and len(seq) == 16
    for name in seq:
        assert seq[name] == par[name], name


def test_rerun_skips_finished_videos_without_new_requests(tmp_path, fake_youtube, fake_anthropic):
    urls = add_videos(fake_youtube, 3)
    assert make_app(tmp_path, fake_youtube, fake_anthropic).process_urls(urls).ok
    youtube_before, claude_before = len(fake_youtube.requests), fake_anthropic.count
    report = make_app(tmp_path, fake_youtube, fake_anthropic).process_urls(urls)
    assert report.ok and all(r.skipped for r in report.results)
    assert len(fake_youtube.requests) == youtube_before
    assert fake_anthropic.count == claude_before
    forced = make_app(tmp_path, fake_youtube, fake_anthropic, force=True).process_urls(urls[:1])
    assert forced.ok and not forced.results[0].skipped
    # The transcript came from the vault's cache, not from YouTube.
    assert forced.results[0].method == "cache"
    assert len(fake_youtube.requests) == youtube_before


def test_retry_failed_retries_only_retryable_failures_once(tmp_path, fake_youtube):
    urls = add_videos(fake_youtube, 1)
    fake_youtube.add_video("blocked0001", title="Blocked", scenario="http_429")
    fake_youtube.add_video("gone0000001", title="Gone", scenario="unavailable")
    urls += ["https://youtu.be/blocked0001", "https://youtu.be/gone0000001"]
    first = make_app(tmp_path, fake_youtube, block_retries=0).process_urls(urls)
    assert [r.success for r in first.results] == [True, False, False]
    assert first.results[1].retryable and not first.results[2].retryable
    fake_youtube.add_video("blocked0001", title="Unblocked now", segments=make_segments(TOPICS[0], 20))
    app = make_app(tmp_path, fake_youtube)
    assert [r["video_id"] for r in app.retryable_failures()] == ["blocked0001"]
    again = app.retry_failed()
    assert [r.video_id for r in again.results] == ["blocked0001"] and again.ok
    records = app.job_log.read()
    assert [r["video_id"] for r in records].count("blocked0001") == 2
    assert [r["video_id"] for r in records].count(vid(0)) == 1
    assert app.retryable_failures() == []


def test_rejected_api_key_stops_the_batch_at_once(tmp_path, fake_youtube, fake_anthropic):
    urls = add_videos(fake_youtube, 4)
    app = make_app(tmp_path, fake_youtube, fake_anthropic, key="sk-ant-wrong-key-123456789")
    report = app.process_urls(urls)
    assert not any(r.success for r in report.results)
    assert fake_anthropic.count == 1
    assert "API key was rejected" in report.results[0].error
    assert "stopped" in (report.stop_reason or "")
    assert all("sk-ant-wrong" not in (r.error or "") for r in report.results)


def test_spend_limit_keeps_finished_work_and_stops(tmp_path, fake_youtube, fake_anthropic):
    urls = add_videos(fake_youtube, 3)
    body = error_body(429, "You have reached your specified workspace API usage limits.",
                      error_code="enforced_spend_limit_reached")

    def after_first(result, completed, total):
        if completed == 1:
            fake_anthropic.enqueue(429, body)

    app = make_app(tmp_path, fake_youtube, fake_anthropic, result_callback=after_first)
    report = app.process_urls(urls)
    assert [r.success for r in report.results] == [True, False, False]
    assert report.results[1].error_kind == "claude_spend_limit"
    assert "spend limit" in report.stop_reason
    assert Path(report.results[0].filepath).is_file()
    # The second video's transcript is cached: finishing later needs no YouTube call for it.
    before = fake_youtube.count("/api/timedtext")
    rerun = make_app(tmp_path, fake_youtube, fake_anthropic).process_urls(urls)
    assert rerun.ok and rerun.results[0].skipped
    assert rerun.results[1].method == "cache"
    assert fake_youtube.count("/api/timedtext") == before + 1  # only the never-started third video


def test_notes_paid_for_are_not_paid_again_after_assessment_failure(tmp_path, fake_youtube, fake_anthropic):
    from yt_study_buddy.notes.claude import ClaudeEngine
    from yt_study_buddy.errors import ClaudeRateLimited

    class AssessmentFailsOnce(ClaudeEngine):
        def generate_assessment(self, *args, **kwargs):
            raise ClaudeRateLimited()

    urls = add_videos(fake_youtube, 1)
    limits = ServiceLimits(youtube_delay=0)
    failing = AssessmentFailsOnce(api_key=DEFAULT_KEY, base_url=fake_anthropic.base_url, limits=limits)
    first = make_app(tmp_path, fake_youtube, fake_anthropic, note_engine=failing, limits=limits).process_urls(urls)
    assert not first.ok and first.results[0].retryable
    paid_for_notes = fake_anthropic.count
    assert paid_for_notes >= 2  # notes + study data
    again = make_app(tmp_path, fake_youtube, fake_anthropic).retry_failed()
    assert again.ok
    assert fake_anthropic.count == paid_for_notes + 1  # only the assessment this time
    assert not list((tmp_path / "notes" / ".study-buddy").glob("generated/*.json"))


def test_streamed_notes_are_not_paid_again_when_the_study_data_call_fails(tmp_path, fake_youtube,
                                                                            fake_anthropic):
    from yt_study_buddy.notes import prompts
    from yt_study_buddy.notes.claude import ClaudeEngine

    def streamed():
        return sum(1 for body in fake_anthropic.requests if body.get("stream"))

    urls = add_videos(fake_youtube, 1)
    limits = ServiceLimits(youtube_delay=0)
    # The study-data call is refused (overloaded) and, with no retries, fails the video.
    fake_anthropic.fail_tool(prompts.STUDY_TOOL, status=529)
    failing = ClaudeEngine(api_key=DEFAULT_KEY, base_url=fake_anthropic.base_url, limits=limits,
                           max_retries=0)
    first = make_app(tmp_path, fake_youtube, fake_anthropic, note_engine=failing, limits=limits).process_urls(urls)
    assert not first.ok and first.results[0].retryable
    assert streamed() == 1
    again = make_app(tmp_path, fake_youtube, fake_anthropic).retry_failed()
    assert again.ok
    assert streamed() == 1  # the notes paid for in the first run were reused
    note = Path(again.results[0].filepath).read_text(encoding="utf-8")
    assert "## Overview" in note or "Overview" in note


def test_youtube_block_trips_the_shared_circuit_breaker(tmp_path, fake_youtube):
    fake_youtube.add_video("blocked0002", title="Blocked", scenario="captcha")
    app = make_app(tmp_path, fake_youtube, block_retries=1)
    app.youtube.ytdlp_extractors = []  # no fallback: see the block itself
    report = app.process_urls(["https://youtu.be/blocked0002"])
    result = report.results[0]
    assert not result.success and result.retryable and result.error_kind == "blocked"
    assert app.limits.youtube_breaker.trips == 2
    assert "Traceback" not in result.error


def test_many_workers_one_vault_same_titles(tmp_path, fake_youtube):
    urls = add_videos(fake_youtube, 12, title="Intro Lecture")
    app = make_app(tmp_path, fake_youtube, parallel=True, max_workers=10)
    report = app.process_urls(urls)
    assert report.ok
    notes = [p for p in (tmp_path / "notes").rglob("*.md") if not p.name.endswith("Assessment.md")]
    assert len(notes) == 12
    ids = {re.search(r"^video_id: (\S+)$", p.read_text(encoding="utf-8"), re.M).group(1) for p in notes}
    assert ids == {vid(i) for i in range(12)}
    assert app.knowledge_graph.get_stats()["total_notes"] == 12
    assert len(app.job_log.read()) == 12


@pytest.mark.parametrize("title", ["../../escape", "CON", "a/b\\c:d", "😀 Emoji ✨ Title", "שלום עולם",
                                   "x" * 400, ".."])
def test_hostile_titles_stay_inside_the_vault(tmp_path, fake_youtube, title):
    fake_youtube.add_video("hostile0001", title=title, segments=make_segments(TOPICS[0], 10))
    report = make_app(tmp_path, fake_youtube).process_urls(["https://youtu.be/hostile0001"])
    assert report.ok, report.results[0].error
    vault = (tmp_path / "notes").resolve()
    written = [Path(p).resolve() for p in report.results[0].files]
    assert written and all(vault in p.parents for p in written)
    assert {p.resolve() for p in tmp_path.rglob("*") if p.is_file()} <= {
        p.resolve() for p in vault.rglob("*") if p.is_file()}


def test_playlist_expands_and_processes(tmp_path, fake_youtube):
    add_videos(fake_youtube, 3)
    fake_youtube.add_playlist("PLtestplaylist01", [vid(0), vid(1), vid(2)])
    report = make_app(tmp_path, fake_youtube).process_urls(
        ["https://www.youtube.com/playlist?list=PLtestplaylist01", f"https://youtu.be/{vid(1)}"])
    assert report.ok and [r.video_id for r in report.results] == [vid(0), vid(1), vid(2)]


def test_a_caption_file_is_read_once_so_id_and_note_agree(tmp_path, fake_youtube):
    """The file changes between resolving the batch and processing it: the note is of what was resolved."""
    from yt_study_buddy.sources.captions import local_video_id
    from yt_study_buddy.sources.inputs import Entry

    lecture = tmp_path / "lecture.vtt"
    first = b"WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nPhotosynthesis turns light into chemical energy.\n"
    lecture.write_bytes(first)
    app = make_app(tmp_path, fake_youtube)
    sources, rejected = app.resolve([Entry(str(lecture))])
    lecture.write_bytes(b"WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nSomething else entirely, about volcanoes.\n")
    report = app.run(sources, rejected)
    assert report.ok
    note = Path(report.results[0].filepath).read_text(encoding="utf-8")
    assert f"video_id: {local_video_id(first)}" in note
    assert "hotosynthesis" in note and "volcano" not in note


def test_closing_the_app_closes_its_youtube_connections(tmp_path, fake_youtube):
    """Kept-alive connections to YouTube end with the app, from whatever thread opened them."""
    import threading
    import time

    urls = add_videos(fake_youtube, 1)
    app = make_app(tmp_path, fake_youtube)
    assert app.process_urls(urls).ok
    held: list[object] = []
    # A thread that stays alive keeps its session (as the web app's batch thread does).
    opener = threading.Thread(target=lambda: held.append(app.youtube.fetch_metadata(urls[0][-11:])))
    opener.start()
    opener.join()
    server = fake_youtube._server
    assert server.open_connections >= 1
    app.close()
    deadline = time.monotonic() + 5
    while server.open_connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.open_connections == 0


def test_a_youtube_block_says_how_long_every_worker_waits(tmp_path, fake_youtube, caplog):
    """A bot check held the batch for the breaker's cool-down with nothing said, even with -v."""
    import logging

    fake_youtube.add_video("blocked0002", title="Blocked", scenario="bot_check")
    with caplog.at_level(logging.WARNING, logger="yt_study_buddy.app"):
        report = make_app(tmp_path, fake_youtube, block_retries=1).process_urls(["https://youtu.be/blocked0002"])
    assert not report.ok
    waits = [r.getMessage() for r in caplog.records if "every worker waits" in r.getMessage()]
    assert len(waits) == 1 and "YouTube is blocking" in waits[0] and " s, then tries again" in waits[0]
