"""End to end with --engine openai: the library API and the CLI against the fake OpenAI-compatible server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.openai_compat import FakeOpenAICompat
from tests.fakes.youtube import make_segments
from tests.guard.loopback import guarded_env
from tests.notes.test_openai_compat import _closed_port
from tests.test_pipeline import add_videos
from yt_study_buddy import YouTubeStudyNotes
from yt_study_buddy.batch.limits import ServiceLimits
from yt_study_buddy.config import Settings
from yt_study_buddy.errors import InputError
from yt_study_buddy.vault.render import split_front_matter


def lecture_file(folder: Path, name: str, words: list[str]) -> Path:
    lines = ["WEBVTT", f"Title: {name.title()} lecture", ""]
    for i, (_, _, text) in enumerate(make_segments(words, 12)):
        start = i * 10
        lines += [f"00:{start // 60:02d}:{start % 60:02d}.000 --> 00:{(start + 9) // 60:02d}:"
                  f"{(start + 9) % 60:02d}.000", text, ""]
    path = folder / f"{name}.vtt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def openai_app(tmp_path, server_url: str | None, **kwargs) -> YouTubeStudyNotes:
    settings = Settings(openai_base_url=server_url, youtube_base_url=kwargs.pop("youtube_url", None))
    kwargs.setdefault("engine", "openai")
    kwargs.setdefault("model", "llama3.2")
    kwargs.setdefault("delay", 0)
    kwargs.setdefault("limits", ServiceLimits(youtube_delay=0, youtube_cooldown=0.05))
    return YouTubeStudyNotes(base_dir=tmp_path / "notes", settings=settings, **kwargs)


def test_local_lectures_become_notes_naming_engine_and_model(tmp_path, fake_openai):
    files = [lecture_file(tmp_path, "descent", ["gradient", "descent", "learning", "rate", "loss"]),
             lecture_file(tmp_path, "cells", ["mitochondria", "respiration", "glucose", "energy", "cell"])]
    app = openai_app(tmp_path, fake_openai.base_url, parallel=True, max_workers=2)
    report = app.process_urls([str(f) for f in files])
    app.close()
    assert report.ok, [r.error for r in report.results]
    for result in report.results:
        meta, body = split_front_matter(Path(result.filepath).read_text(encoding="utf-8"))
        assert (meta["engine"], meta["model"]) == ("openai", "llama3.2")
        assert "## Core concepts" in body and "## Flashcards" in body
        assert any(Path(f).name.endswith("Assessment.md") for f in result.files)
    log = [json.loads(line) for line in
           (tmp_path / "notes" / ".study-buddy" / "jobs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {(r["engine"], r["model"]) for r in log} == {("openai", "llama3.2")}
    assert all(r["usage"]["output_tokens"] > 0 for r in log)
    assert fake_openai.paths.count("GET /v1/models") == 1  # asked once per batch, not per video


def test_youtube_videos_through_a_local_model(tmp_path, fake_youtube, fake_openai):
    urls = add_videos(fake_youtube, 2)
    app = openai_app(tmp_path, fake_openai.base_url, youtube_url=fake_youtube.base_url)
    report = app.process_urls(urls)
    assert report.ok, [r.error for r in report.results]
    text = Path(report.results[0].filepath).read_text(encoding="utf-8")
    assert "](https://youtu.be/vid00000000?t=" in text


def test_auto_uses_the_model_server_when_one_is_named(tmp_path, fake_openai):
    assert openai_app(tmp_path, fake_openai.base_url, engine="auto").resolve_engine() == "openai"
    assert openai_app(tmp_path, None, engine="auto").resolve_engine() == "offline"
    with pytest.raises(InputError, match="use it with --engine openai"):
        openai_app(tmp_path, None, engine="offline", base_url=fake_openai.base_url).resolve_engine()
    with pytest.raises(InputError, match="OPENAI_API_KEY"):
        openai_app(tmp_path, None, engine="openai").resolve_engine()
    with pytest.raises(InputError, match="http:// or https://"):
        openai_app(tmp_path, "localhost:11434", engine="openai").resolve_engine()


def test_server_not_running_stops_the_batch_once_and_every_video_can_be_retried(tmp_path):
    files = [lecture_file(tmp_path, f"l{i}", ["gradient", "descent", "loss"]) for i in range(3)]
    app = openai_app(tmp_path, f"http://127.0.0.1:{_closed_port()}/v1", parallel=True, max_workers=3)
    report = app.process_urls([str(f) for f in files])
    assert not report.ok
    assert "is the server running? (e.g. `ollama serve`)" in (report.stop_reason or "")
    assert len(report.results) == 3
    assert all(r.fatal and r.retryable and r.not_finished for r in report.results)
    assert len(app.retryable_failures()) == 3


def test_unknown_model_stops_the_batch_listing_the_models(tmp_path, fake_openai):
    files = [lecture_file(tmp_path, "descent", ["gradient", "descent", "loss"])]
    report = openai_app(tmp_path, fake_openai.base_url, model="llama9").process_urls([str(f) for f in files])
    assert "no model 'llama9'" in report.stop_reason and "llama3.2:latest" in report.stop_reason
    assert fake_openai.requests == []


def test_shared_backoff_holds_every_worker_on_429(tmp_path):
    fake = FakeOpenAICompat(max_concurrent=1, retry_after=0.1, latency=0.3).start()
    try:
        files = [lecture_file(tmp_path, f"l{i}", ["gradient", "descent", "loss", "rate"]) for i in range(3)]
        limits = ServiceLimits(youtube_delay=0, claude_concurrency=3)
        app = openai_app(tmp_path, fake.base_url, parallel=True, max_workers=3, limits=limits,
                         generate_assessments=False)
        report = app.process_urls([str(f) for f in files])
        assert report.ok, [r.error for r in report.results]
        assert fake.rate_limited >= 1 and limits.claude_backoff.pauses >= 1
        assert limits.claude_slots.limit < 3  # the limiter learned the server takes fewer at once
    finally:
        fake.stop()


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    code = ("import sys; from yt_study_buddy.cli.command import main; code = main(sys.argv[1:]); "
            "print('openai SDK loaded:', 'openai' in sys.modules); sys.exit(code)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env=guarded_env())


def test_cli_engine_openai_and_a_finished_rerun_never_loads_the_sdk(tmp_path, fake_openai):
    lecture = lecture_file(tmp_path, "descent", ["gradient", "descent", "learning", "rate", "loss"])
    args = ("--engine", "openai", "--base-url", fake_openai.base_url, "--model", "llama3.2",
            "-o", str(tmp_path / "vault"), str(lecture))
    first = run_cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "engine: openai" in first.stdout and "openai SDK loaded: True" in first.stdout
    again = run_cli(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "openai SDK loaded: False" in again.stdout


def test_cli_says_how_to_start_the_server(tmp_path):
    lecture = lecture_file(tmp_path, "descent", ["gradient", "descent", "loss"])
    proc = run_cli("--engine", "openai", "--base-url", f"http://127.0.0.1:{_closed_port()}/v1",
                   "-o", str(tmp_path / "vault"), str(lecture), cwd=tmp_path)
    assert proc.returncode == 1
    assert "is the server running? (e.g. `ollama serve`)" in proc.stdout
    assert "Traceback" not in proc.stderr
