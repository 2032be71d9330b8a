"""Batch-level control: preflight failures, stop and retry after fixing the cause, bad proxy values."""

from __future__ import annotations

import pytest

from tests.fakes.anthropic import DEFAULT_KEY
from tests.test_pipeline import add_videos, make_app
from yt_study_buddy import YouTubeStudyNotes
from yt_study_buddy.cli.command import main
from yt_study_buddy.errors import InputError
from yt_study_buddy.sources.inputs import Entry


def test_rejected_key_then_fixed_key_retries_every_video(tmp_path, fake_youtube, fake_anthropic):
    urls = add_videos(fake_youtube, 4)
    bad = make_app(tmp_path, fake_youtube, fake_anthropic, key="sk-ant-wrong-key-123456789")
    report = bad.process_urls(urls)
    assert not any(r.success for r in report.results)
    # Every video is in the log (also those never started), so --retry-failed finds them all.
    assert sorted(r["video_id"] for r in bad.retryable_failures()) == sorted(u[-11:] for u in urls)
    good = make_app(tmp_path, fake_youtube, fake_anthropic, key=DEFAULT_KEY)
    again = good.retry_failed()
    assert again.ok and len(again.results) == 4
    assert good.retryable_failures() == []


def test_unreachable_tor_stops_the_batch_once(tmp_path, fake_youtube):
    from yt_study_buddy.net.tor import TorConfig

    urls = add_videos(fake_youtube, 3)
    app = make_app(tmp_path, fake_youtube, tor=True, tor_config=TorConfig(control_port=1, socks_port=2))
    report = app.process_urls(urls)
    assert [r.success for r in report.results] == [False, False, False]
    assert all(r.error_kind == "tor" for r in report.results)
    assert "batch stopped" in report.stop_reason
    assert fake_youtube.requests == []  # nothing bypassed the missing proxy


def test_stop_pressed_while_resolving_is_kept(tmp_path, fake_youtube):
    urls = add_videos(fake_youtube, 3)
    app = make_app(tmp_path, fake_youtube)
    sources, rejected = app.resolve([Entry(u) for u in urls])
    app.limits.cancel.set()  # the user pressed Stop before the batch started
    report = app.run(sources, rejected)
    assert not any(r.success for r in report.results)
    assert all(r.error_kind == "cancelled" for r in report.results)
    assert len(fake_youtube.requests) == 0


@pytest.mark.parametrize("proxy", ["bogus", "ftp://127.0.0.1:21", "http://", "socks5://host:notaport"])
def test_bad_proxy_is_a_usage_error(tmp_path, proxy, capsys):
    with pytest.raises(InputError):
        YouTubeStudyNotes(base_dir=tmp_path / "v", proxy=proxy)
    assert main(["abcdefghijk", "--proxy", proxy, "-o", str(tmp_path / "v")]) == 2
    err = capsys.readouterr().err
    assert "proxy" in err.lower()


def test_engine_claude_without_a_key_is_a_usage_error(tmp_path, capsys):
    code = main(["abcdefghijk", "--engine", "claude", "-o", str(tmp_path / "v")])
    assert code == 2
    assert "needs an API key" in capsys.readouterr().err


def test_unreachable_claude_stops_the_batch_after_the_first_video(tmp_path, fake_youtube):
    from tests.fakes.anthropic import FakeAnthropic
    from yt_study_buddy.notes.claude import ClaudeEngine
    from yt_study_buddy.batch.limits import ServiceLimits

    urls = add_videos(fake_youtube, 3)
    with FakeAnthropic() as gone:
        dead_url = gone.base_url
    limits = ServiceLimits(youtube_delay=0)
    engine = ClaudeEngine(api_key=DEFAULT_KEY, base_url=dead_url, limits=limits, max_retries=1,
                          backoff_base=0.01, timeout=5)
    app = make_app(tmp_path, fake_youtube, gone, note_engine=engine, limits=limits)
    report = app.process_urls(urls)
    first, *rest = report.results
    assert first.error_kind == "network" and "batch stopped" in first.error
    assert all(r.not_finished for r in rest)
    assert "Claude API" in report.stop_reason


def test_a_second_batch_on_the_same_app_runs_after_a_stop(tmp_path, fake_youtube):
    urls = add_videos(fake_youtube, 3)
    app = make_app(tmp_path, fake_youtube)
    assert app.process_urls(urls[:1]).ok
    app.limits.cancel.set()  # Stop pressed as the first batch ended
    report = app.process_urls(urls[1:])
    assert report.ok and not any(r.not_finished for r in report.results)


def test_cli_hands_its_flags_to_the_app(tmp_path, fake_youtube, monkeypatch):
    import yt_study_buddy.cli.command as cli

    made = []

    class Recording(cli.YouTubeStudyNotes):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(cli, "YouTubeStudyNotes", Recording)
    monkeypatch.setenv("YT_STUDY_BUDDY_YOUTUBE_URL", fake_youtube.base_url)
    urls = add_videos(fake_youtube, 1)
    code = main([*urls, "--delay", "0.3", "-p", "-w", "4", "--lang", "de,en", "--force", "--engine", "offline",
                 "--subject", "Physics", "--subject-only", "--no-assessments", "-o", str(tmp_path / "v")])
    assert code == 0
    app = made[0]
    assert (app.delay, app.limits.youtube_spacer.interval, app.max_workers) == (0.3, 0.3, 4)
    assert app.languages == ("de", "en") and app.force and app.subject == "Physics"
    assert not app.global_context and not app.generate_assessments
    assert list((tmp_path / "v" / "Physics").glob("*.md")) and not list((tmp_path / "v").rglob("*Assessment.md"))


@pytest.mark.parametrize("block_retries, blocks, ok", [(None, 2, True), (1, 2, False)])
def test_a_block_that_lifts_is_retried_through_a_proxy(tmp_path, block_retries, blocks, ok):
    """With --proxy the default allows 3 retries after a block; the breaker counts each block."""
    from tests.fakes.socks import FakeSocks5Server
    from tests.fakes.youtube import FakeYouTube, make_segments
    from yt_study_buddy.config import Settings
    from yt_study_buddy.batch.limits import ServiceLimits

    with FakeYouTube() as fake:
        fake.add_video("liftblock01", title="Blocked for a while", segments=make_segments(["orbit"], 10))
        port = int(fake.base_url.rsplit(":", 1)[1])
        with FakeSocks5Server(routes={"youtube.fake": ("127.0.0.1", port)}) as socks:
            options = {} if block_retries is None else {"block_retries": block_retries}
            app = YouTubeStudyNotes(base_dir=tmp_path / "v", settings=Settings(youtube_base_url="http://youtube.fake"),
                                    engine="offline", proxy=socks.url("socks5h"), delay=0,
                                    limits=ServiceLimits(youtube_delay=0, youtube_cooldown=0.05), **options)
            app.youtube.ytdlp_extractors = []  # no fallback: the retries must do it
            fake.block_next_watches = blocks
            report = app.process_urls(["https://youtu.be/liftblock01"])
    assert report.ok is ok
    assert app.limits.youtube_breaker.trips == blocks
    if not ok:
        assert report.results[0].error_kind == "blocked" and report.results[0].retryable


def test_stop_interrupts_a_hung_tor_check_and_nobody_queues_behind_it(tmp_path, fake_youtube):
    """A control port that never answers: Stop ends the batch at once, also for a thread waiting on the network."""
    import threading
    import time

    from tests.fakes.tor import SilentPort
    from yt_study_buddy.errors import Cancelled
    from yt_study_buddy.net.tor import TorConfig

    urls = add_videos(fake_youtube, 2)
    silent = SilentPort()
    try:
        app = make_app(tmp_path, fake_youtube, tor=True, tor_config=TorConfig(control_port=silent.port))
        reports, waiter = [], []
        batch = threading.Thread(target=lambda: reports.append(app.process_urls(urls)), daemon=True)
        batch.start()
        time.sleep(0.3)

        def other_thread() -> None:  # e.g. a worker asking for its proxy while the check runs
            try:
                app.prepare_network()
            except Cancelled:
                waiter.append("cancelled")

        second = threading.Thread(target=other_thread, daemon=True)
        second.start()
        time.sleep(0.3)
        app.limits.cancel.set()
        batch.join(timeout=5)
        second.join(timeout=5)
        assert not batch.is_alive() and not second.is_alive(), "Stop did not interrupt the Tor check"
        assert waiter == ["cancelled"]
        assert len(reports[0].results) == 2 and all(r.not_finished for r in reports[0].results)
        assert fake_youtube.requests == []
    finally:
        silent.close()
