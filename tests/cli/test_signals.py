"""SIGTERM and SIGHUP stop a batch as Ctrl-C does; Ctrl-C in start-up is no traceback either."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.fakes.youtube import make_segments
from tests.guard.loopback import guarded_env


def _env(fake_youtube):
    return guarded_env(YT_STUDY_BUDDY_YOUTUBE_URL=fake_youtube.base_url, PYTHONUNBUFFERED="1")


def _cli(*args: str):
    return [sys.executable, "-m", "yt_study_buddy.cli", *args]


def _job_log(vault) -> dict[str, dict]:
    latest = {}
    for line in (vault / ".study-buddy" / "jobs.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        latest[record["video_id"]] = record
    return latest


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_termination_signal_stops_like_ctrl_c_and_retry_failed_finishes(signum, fake_youtube, tmp_path):
    fake_youtube.latency = 0.4
    ids = [f"sigvideo{i:03d}" for i in range(8)]
    for i, video_id in enumerate(ids):
        fake_youtube.add_video(video_id, title=f"Signal Lecture {i}", segments=make_segments(["cell", "energy"], 10))
    urls = [f"https://youtu.be/{v}" for v in ids]
    vault = tmp_path / "vault"
    proc = subprocess.Popen(_cli(*urls, "-p", "-w", "2", "--delay", "0", "-o", str(vault)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(fake_youtube), cwd=tmp_path)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "✓" in line:
            break
    sent = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    out = "".join(lines) + out
    assert proc.returncode == 1, out + err
    assert took < 15, took
    assert "Traceback" not in out + err
    assert "PROCESSING METRICS" in out and signal.Signals(signum).name in out
    # Every video is in the job log: the done ones ok, the rest retryable, so --retry-failed finds them.
    latest = _job_log(vault)
    assert sorted(latest) == sorted(ids)
    unfinished = [r for r in latest.values() if r["status"] != "ok"]
    assert unfinished and all(r["retryable"] for r in unfinished)
    fake_youtube.latency = 0
    retry = subprocess.run(_cli("--retry-failed", "--delay", "0", "-o", str(vault)), capture_output=True,
                           text=True, timeout=120, env=_env(fake_youtube), cwd=tmp_path)
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert all(r["status"] == "ok" for r in _job_log(vault).values())


def test_a_step_that_does_not_end_is_abandoned_within_seconds_of_sigterm(fake_youtube, tmp_path):
    fake_youtube.slow_latency = 60  # a request that hangs far longer than any service would wait
    fake_youtube.add_video("hungvideo01", title="Hung Lecture", scenario="slow",
                           segments=make_segments(["orbit"], 10))
    vault = tmp_path / "vault"
    proc = subprocess.Popen(_cli("https://youtu.be/hungvideo01", "--delay", "0", "-o", str(vault)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(fake_youtube), cwd=tmp_path)
    for line in proc.stdout:
        if "Processing" in line:
            break
    time.sleep(1.0)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    assert proc.returncode == 1, out + err
    assert took < 12, took
    assert "Traceback" not in out + err and "PROCESSING METRICS" in out
    assert _job_log(vault)["hungvideo01"]["retryable"]


def test_ctrl_c_while_starting_up_is_a_clean_exit(tmp_path):
    """Ctrl-C while start-up loads a library (before any batch): a message and exit 1, never a traceback."""
    script = (
        "import sys\n"
        "class CtrlC:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'dotenv':  # the first library the command loads on its own\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, CtrlC())\n"
        "from yt_study_buddy.cli import main\n"
        "sys.exit(main(['abcdefghijk', '-o', 'v']))\n"
    )
    (tmp_path / ".env").write_text("YT_STUDY_BUDDY_MODEL=claude-x\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env=guarded_env())
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "Interrupted" in proc.stdout + proc.stderr


def test_ctrl_c_while_the_app_opens_the_vault_is_a_clean_exit(tmp_path, monkeypatch, capsys):
    import yt_study_buddy.cli.command as command
    from yt_study_buddy.cli import main

    class SlowToOpen(command.YouTubeStudyNotes):
        def __init__(self, *args, **kwargs):
            raise KeyboardInterrupt  # the user pressed Ctrl-C while the vault's index loaded

    monkeypatch.setattr(command, "YouTubeStudyNotes", SlowToOpen)
    try:
        code = main(["abcdefghijk", "-o", str(tmp_path / "v")])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped the command line as a traceback")
    assert code == 1
    captured = capsys.readouterr()
    assert "Interrupted" in captured.out + captured.err


def test_a_bad_setting_with_doctor_is_a_message_not_a_traceback(tmp_path, monkeypatch, capsys):
    from yt_study_buddy.cli import main

    monkeypatch.setenv("YT_STUDY_BUDDY_YOUTUBE_URL", "garbage")
    assert main(["--doctor", "-o", str(tmp_path / "v")]) == 2
    captured = capsys.readouterr()
    assert "YT_STUDY_BUDDY_YOUTUBE_URL" in captured.err and "Traceback" not in captured.out + captured.err


def test_output_cut_short_by_a_closed_pipe_is_no_traceback(fake_youtube, tmp_path):
    """`youtube-study-buddy … | head -1`: the reader leaves early; the command still ends quietly."""
    fake_youtube.latency = 0.2  # the lines come after the reader has gone
    ids = [f"pipevideo{i:02d}" for i in range(3)]
    for video_id in ids:
        fake_youtube.add_video(video_id, title=f"Pipe Lecture {video_id}", segments=make_segments(["tide"], 10))
    proc = subprocess.Popen(_cli(*[f"https://youtu.be/{v}" for v in ids], "--delay", "0", "-o", str(tmp_path / "v")),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(fake_youtube), cwd=tmp_path)
    proc.stdout.readline()
    proc.stdout.close()  # as `head -1` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err, err
