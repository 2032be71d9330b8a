"""yt-dlp at full strength: the JavaScript runtime it is handed, and --delay feeding its sleep options."""

from __future__ import annotations

import pytest

from tests.fakes.youtube import fake_youtube, make_segments  # noqa: F401 - fixture
from yt_study_buddy.sources import youtube_dlp


@pytest.fixture
def runtimes_on_path(tmp_path, monkeypatch):
    """A PATH holding only the runtimes a test writes (shell scripts answering --version)."""
    import sysconfig

    folder = tmp_path / "bin"
    folder.mkdir()
    # yt-dlp looks in Python's scripts folder first (where the [deno] extra puts deno).
    real_get_path = sysconfig.get_path
    monkeypatch.setattr(sysconfig, "get_path", lambda name, *args, **kwargs:
                        str(tmp_path / "no-scripts") if name == "scripts" else real_get_path(name, *args, **kwargs))

    def add(name: str, answer: str) -> None:
        script = folder / name
        script.write_text(f"#!/bin/sh\necho '{answer}'\n", encoding="utf-8")
        script.chmod(0o755)

    monkeypatch.setenv("PATH", str(folder))
    youtube_dlp.js_runtime.cache_clear()
    yield add
    youtube_dlp.js_runtime.cache_clear()


def test_deno_is_found_and_handed_to_ytdlp(runtimes_on_path):
    import yt_dlp

    runtimes_on_path("node", "v22.12.0")
    runtimes_on_path("deno", "deno 2.5.6 (stable, release, x86_64-unknown-linux-gnu)")
    runtime = youtube_dlp.js_runtime()
    assert (runtime.name, runtime.version, runtime.supported) == ("deno", "2.5.6", True)
    params = youtube_dlp.ytdlp_params(proxy=None, timeout=5)
    assert params["js_runtimes"] == {"deno": {"path": runtime.path}}
    # yt-dlp itself accepts the option as given and sees the same runtime
    with yt_dlp.YoutubeDL(params) as ydl:
        assert ydl.params["js_runtimes"] == {"deno": {"path": runtime.path}}
        assert ydl._js_runtimes["deno"].info.version == "2.5.6"


def test_an_old_node_is_reported_but_not_handed_over(runtimes_on_path):
    runtimes_on_path("node", "v20.20.2")
    found = youtube_dlp.js_runtimes_found()
    assert [(r.name, r.version, r.supported) for r in found] == [("node", "20.20.2", False)]
    assert youtube_dlp.js_runtime() is None
    assert "js_runtimes" not in youtube_dlp.ytdlp_params(proxy=None, timeout=5)


def test_no_runtime_leaves_ytdlp_its_default(runtimes_on_path):
    assert youtube_dlp.js_runtimes_found() == []
    assert "js_runtimes" not in youtube_dlp.ytdlp_params(proxy=None, timeout=5)


def test_delay_feeds_ytdlp_sleep_options():
    params = youtube_dlp.ytdlp_params(proxy=None, timeout=5, delay=2.5)
    assert params["sleep_interval_requests"] == 2.5 and params["sleep_interval_subtitles"] == 2.5
    assert "sleep_interval_requests" not in youtube_dlp.ytdlp_params(proxy=None, timeout=5, delay=0)


def test_delay_spaces_the_caption_request_after_extraction(fake_youtube):
    fake_youtube.add_video("spacedsub01", title="Spacing", scenario="po_token",
                           segments=make_segments(["pace"], 4))
    youtube_dlp.fetch_subtitles("spacedsub01", ["en"], base_url=fake_youtube.base_url, proxy=None,
                                timeout=10, extractors=fake_youtube.ytdlp_extractors(), delay=0.3)
    times = {r.path: r.time for r in fake_youtube.requests}
    assert times["/api/timedtext"] - times["/ytdlp/info"] >= 0.3
