"""Nothing lost: kill -9 and resume, concurrent runs on one vault, proxies, Tor rotation, secrets."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.socks import FakeSocks5Server
from tests.fakes.tor import tor_cookie  # noqa: F401 - fixture
from tests.fakes.youtube import FakeYouTube, make_segments
from tests.guard.loopback import guarded_env
from yt_study_buddy import YouTubeStudyNotes
from yt_study_buddy.config import Settings
from yt_study_buddy.batch.limits import ServiceLimits

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "lectures.txt"


def cli(*args):
    return [sys.executable, "-m", "yt_study_buddy.cli", *args]


def test_kill_9_then_rerun_completes_without_redoing_work(fake_youtube, tmp_path):
    fake_youtube.latency = 0.3
    urls = []
    for i in range(8):
        fake_youtube.add_video(f"killvideo{i:02d}", title=f"Kill Lecture {i}",
                               segments=make_segments(["atom", "bond"], 10))
        urls.append(f"https://youtu.be/killvideo{i:02d}")
    env = guarded_env(YT_STUDY_BUDDY_YOUTUBE_URL=fake_youtube.base_url, PYTHONUNBUFFERED="1")
    vault = tmp_path / "vault"
    proc = subprocess.Popen(cli(*urls, "-p", "-w", "2", "--delay", "0", "-o", str(vault)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    for line in proc.stdout:
        if "✓" in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done_before = {p.name for p in vault.rglob("Kill Lecture *.md")}
    assert done_before
    # Whatever the kill interrupted: the log is readable and no temp files are left as notes.
    for line in (vault / ".study-buddy" / "jobs.jsonl").read_text(encoding="utf-8").splitlines()[:-1]:
        json.loads(line)
    timedtext_before = fake_youtube.count("/api/timedtext")
    fake_youtube.latency = 0  # the kill is done: the re-run need not be slow
    rerun = subprocess.run(cli(*urls, "-p", "-w", "3", "--delay", "0", "-o", str(vault)),
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    notes = [p for p in vault.rglob("Kill Lecture *.md") if "Assessment" not in p.name]
    assert len(notes) == 8
    finished = len([n for n in done_before if "Assessment" not in n])
    assert f"skipped: {finished}" in rerun.stdout or finished == 0
    # Finished videos were not fetched again.
    assert fake_youtube.count("/api/timedtext") - timedtext_before <= 8 - finished
    assert not [p for p in vault.rglob("*") if p.name.startswith(".") and p.suffix == ".tmp"]


def test_two_runs_on_one_vault_at_once(tmp_path):
    vault = tmp_path / "vault"
    env = guarded_env()
    procs = [subprocess.Popen(cli("--file", str(EXAMPLES), "-p", "-w", "3", "--force", "-o", str(vault)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
             for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    index = json.loads((vault / ".study-buddy" / "index.json").read_text(encoding="utf-8"))
    assert len(index["notes"]) == 5
    lines = (vault / ".study-buddy" / "jobs.jsonl").read_text(encoding="utf-8").splitlines()
    # A video the other run had claimed is waited for and then skipped, not written twice
    # (--force redoes only what the other run had already finished and let go of).
    assert 5 <= len(lines) <= 10 and all(json.loads(line)["status"] == "ok" for line in lines)
    assert len({json.loads(line)["video_id"] for line in lines}) == 5
    notes = [p for p in vault.rglob("*.md") if "Assessment" not in p.name]
    assert len(notes) == 5
    for note in notes:
        for target in __import__("re").findall(r"\[\[([^\]|]+)", note.read_text(encoding="utf-8")):
            assert list(vault.rglob(f"{target}.md")), target


def test_proxy_carries_every_youtube_request(tmp_path):
    with FakeYouTube() as fake:
        fake.add_video("proxyvideo1", title="Through the proxy", segments=make_segments(["light"], 10))
        port = int(fake.base_url.rsplit(":", 1)[1])
        with FakeSocks5Server(routes={"youtube.fake": ("127.0.0.1", port)}) as socks:
            settings = Settings(youtube_base_url="http://youtube.fake")
            app = YouTubeStudyNotes(base_dir=tmp_path / "v", settings=settings, engine="offline",
                                    proxy=socks.url("socks5h"), delay=0)
            report = app.process_urls(["https://youtu.be/proxyvideo1"])
            assert report.ok, report.results[0].error
            # "youtube.fake" resolves nowhere but inside the proxy: every request below
            # (transcript and metadata) can only have come through it.
            assert {r.path for r in fake.requests} >= {"/watch", "/youtubei/v1/player", "/api/timedtext", "/oembed"}
            assert socks.connections and all(c.host == "youtube.fake" for c in socks.connections)


def test_tor_block_rotates_circuit_and_retries(tmp_path, tor_cookie):
    from yt_study_buddy.net.tor import TorConfig

    with FakeYouTube() as fake:
        port = int(fake.base_url.rsplit(":", 1)[1])
        fake.add_video("torblocked1", title="Blocked first", scenario="captcha")
        with FakeSocks5Server(routes={"youtube.fake": ("127.0.0.1", port)}, require_auth=True) as socks:
            config = TorConfig(socks_port=socks.port, control_port=tor_cookie.control_port)
            app = YouTubeStudyNotes(base_dir=tmp_path / "v", settings=Settings(youtube_base_url="http://youtube.fake"),
                                    engine="offline", tor=True, tor_config=config, delay=0,
                                    limits=ServiceLimits(youtube_delay=0, youtube_cooldown=0.05),
                                    block_retries=1)
            app.youtube.ytdlp_extractors = []  # no fallback: see the block itself
            report = app.process_urls(["https://youtu.be/torblocked1"])
            assert not report.results[0].success and report.results[0].error_kind == "blocked"
            assert app._tor.rotations == 1
            users = {c.username for c in socks.connections}
            assert len(users) >= 2, "a rotation must switch to fresh SOCKS credentials (a new circuit)"
            assert all(c.host == "youtube.fake" for c in socks.connections)


def test_secrets_never_reach_output_or_files(fake_youtube, fake_anthropic, tmp_path):
    fake_youtube.add_video("secretvid01", title="Secret test", segments=make_segments(["cell"], 10))
    secret = "sk-ant-api03-THIS-IS-SECRET-abcdefghijklmnop"
    env = guarded_env(YT_STUDY_BUDDY_YOUTUBE_URL=fake_youtube.base_url,
                      ANTHROPIC_BASE_URL=fake_anthropic.base_url, ANTHROPIC_API_KEY=secret,
                      TOR_CONTROL_PASSWORD="hunter2-tor-password")
    proc = subprocess.run(cli("https://youtu.be/secretvid01", "-v", "--delay", "0", "-o", str(tmp_path / "v")),
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1  # the fake rejects this key
    assert "API key was rejected" in proc.stdout
    everything = proc.stdout + proc.stderr
    for path in (tmp_path / "v").rglob("*"):
        if path.is_file():
            everything += path.read_text(encoding="utf-8", errors="replace")
    assert secret not in everything and "THIS-IS-SECRET" not in everything
    assert "hunter2" not in everything


def test_full_disk_fails_cleanly_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    import errno

    app = YouTubeStudyNotes(base_dir=tmp_path / "v", engine="offline")
    real_write = os.write

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    report = app.process_urls([str(ROOT / "examples" / "gradient_descent.vtt")])
    monkeypatch.setattr(os, "write", real_write)
    result = report.results[0]
    assert not result.success and "disk" in result.error.lower()
    assert not [p for p in (tmp_path / "v").rglob("*.md")]
    assert not [p for p in (tmp_path / "v").rglob("*") if p.is_file() and "tmp" in p.name]


def test_three_hour_transcript(tmp_path):
    lines = ["WEBVTT", ""]
    for i in range(10_800 // 4):
        start, end = i * 4, i * 4 + 4
        lines += [f"{start // 3600:02d}:{start // 60 % 60:02d}:{start % 60:02d}.000 --> "
                  f"{end // 3600:02d}:{end // 60 % 60:02d}:{end % 60:02d}.000",
                  f"Entropy measures disorder and heat flows from hot to cold in sentence {i}.", ""]
    path = tmp_path / "long_lecture.vtt"
    path.write_text("\n".join(lines), encoding="utf-8")
    report = YouTubeStudyNotes(base_dir=tmp_path / "v", engine="offline").process_urls([str(path)])
    assert report.ok, report.results[0].error
    assert "3:00:00" in Path(report.results[0].filepath).read_text(encoding="utf-8") or \
        "2:59:" in Path(report.results[0].filepath).read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("tor") is None, reason="tor is not installed")
def test_tor_flag_without_tor_running_fails_clearly(tmp_path):
    proc = subprocess.run(cli("https://youtu.be/abcdefghijk", "--tor", "--tor-control-port", "1",
                              "--tor-socks-port", "2", "-o", str(tmp_path / "v")),
                          capture_output=True, text=True, cwd=tmp_path, timeout=60, env=guarded_env())
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "tor" in (proc.stdout + proc.stderr).lower()
