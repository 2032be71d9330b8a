"""CLI flags, exit codes and usage errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.guard.loopback import guarded_env
from yt_study_buddy.cli.command import build_parser, main


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "yt_study_buddy.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, env=guarded_env())


HEAVY = ("anthropic", "openai", "yt_dlp", "youtube_transcript_api", "streamlit", "requests")


def test_help_is_fast_and_lists_flags():
    # --help run as `python -m yt_study_buddy.cli` runs it, then: which heavy libraries got loaded?
    probe = ("import sys, runpy; sys.argv = ['youtube-study-buddy', '--help']\n"
             "try:\n    runpy.run_module('yt_study_buddy.cli', run_name='__main__')\n"
             "except SystemExit as e:\n    code = e.code\n"
             f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
             "sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env=guarded_env())
    assert proc.returncode == 0, proc.stderr
    for flag in ("--parallel", "--workers", "--delay", "--file", "--output", "--lang", "--engine",
                 "--subject", "--subject-only", "--no-assessments", "--no-auto-categorize",
                 "--force", "--retry-failed", "--tor", "--proxy", "--base-url", "--model"):
        assert flag in proc.stdout
    # Fast because heavy libraries load lazily: none of them is needed for --help. (A
    # wall-clock bound here failed on busy machines; timing belongs in benchmarks.)
    assert "LOADED []" in proc.stdout, proc.stdout


@pytest.mark.parametrize("args, fragment", [
    (["-w", "0", "x"], "between 1 and 10"),
    (["-w", "11", "x"], "between 1 and 10"),
    (["-w", "three", "x"], "not a whole number"),
    (["--delay", "-1", "x"], "between 0 and 600"),
    (["--engine", "gpt"], "invalid choice"),
    (["--lang", ",,", "x"], "language codes"),
    (["--tor-socks-port", "70000", "x"], "port out of range"),
])
def test_bad_flag_values_are_usage_errors(args, fragment, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    assert fragment in capsys.readouterr().err


def test_no_input_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "no input" in capsys.readouterr().err


def test_missing_file_is_a_usage_error(capsys, tmp_path):
    assert main(["--file", str(tmp_path / "absent.txt"), "-o", str(tmp_path / "v")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_binary_file_is_a_usage_error(capsys, tmp_path):
    f = tmp_path / "x.txt"
    f.write_bytes(b"\x00\x01\x02")
    assert main(["--file", str(f), "-o", str(tmp_path / "v")]) == 2
    assert "binary" in capsys.readouterr().err


def test_tor_and_proxy_together_is_a_usage_error(capsys, tmp_path):
    assert main(["--tor", "--proxy", "http://127.0.0.1:1", "x", "-o", str(tmp_path / "v")]) == 2
    assert "either --tor or --proxy" in capsys.readouterr().err


def test_only_invalid_entries_fail_with_reasons(capsys, tmp_path):
    code = main(["https://vimeo.com/1", "not-a-link", "--engine", "offline", "-o", str(tmp_path / "v")])
    out = capsys.readouterr().out
    assert code == 1
    assert "vimeo.com" in out and "not a YouTube link" in out
    assert "Traceback" not in out


def test_parser_defaults():
    args = build_parser().parse_args(["x"])
    assert (args.workers, args.delay, args.output, args.lang, args.engine) == (3, 1.0, "notes", ["en"], "auto")
    assert not args.parallel


def _cli_env(fake_youtube):
    # Guarded: the CLI subprocess fails this test if it reaches beyond loopback.
    return guarded_env(YT_STUDY_BUDDY_YOUTUBE_URL=fake_youtube.base_url, PYTHONUNBUFFERED="1")


def test_cli_processes_youtube_videos_through_fake(fake_youtube, tmp_path):
    from tests.fakes.youtube import make_segments
    for i in range(3):
        fake_youtube.add_video(f"clivideo{i:03d}", title=f"CLI Lecture {i}", channel="Chan",
                               segments=make_segments(["gradient", "descent", "loss"], 20))
    fake_youtube.add_video("cligone0000", title="Gone", scenario="unavailable")
    urls = [f"https://youtu.be/clivideo{i:03d}" for i in range(3)] + ["https://youtu.be/cligone0000"]
    proc = subprocess.run([sys.executable, "-m", "yt_study_buddy.cli", *urls, "-p", "-w", "3", "--delay", "0",
                           "-o", str(tmp_path / "vault")], capture_output=True, text=True, timeout=120,
                          env=_cli_env(fake_youtube), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "No ANTHROPIC_API_KEY set: using the offline engine" in proc.stdout
    assert "Succeeded: 3" in proc.stdout and "Failed: 1" in proc.stdout
    assert "video unavailable" in proc.stdout
    assert "Knowledge Graph: 3 notes" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert len(list((tmp_path / "vault").rglob("CLI Lecture *.md"))) == 6


def test_ctrl_c_stops_cleanly_with_summary(fake_youtube, tmp_path):
    import signal
    from tests.fakes.youtube import make_segments
    fake_youtube.latency = 0.4
    urls = []
    for i in range(10):
        fake_youtube.add_video(f"intvideo{i:03d}", title=f"Interrupt Lecture {i}",
                               segments=make_segments(["cell", "energy"], 10))
        urls.append(f"https://youtu.be/intvideo{i:03d}")
    # A shell without job control starts background jobs with SIGINT ignored, and a
    # child inherits that; restore the default so Python turns SIGINT into Ctrl-C.
    proc = subprocess.Popen([sys.executable, "-m", "yt_study_buddy.cli", *urls, "-p", "-w", "2", "--delay", "0",
                             "-o", str(tmp_path / "vault")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_cli_env(fake_youtube), cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "✓" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    out = "".join(lines) + out
    assert proc.returncode == 1, out + err
    assert "Traceback" not in out + err
    assert "PROCESSING METRICS" in out and "interrupted" in out.lower()
    done = len([p for p in (tmp_path / "vault").rglob("Interrupt Lecture *.md") if "Assessment" not in p.name])
    assert 1 <= done < 10
    # A re-run completes the rest without redoing the finished ones (no need to wait for them now).
    fake_youtube.latency = 0
    rerun = subprocess.run([sys.executable, "-m", "yt_study_buddy.cli", *urls, "--delay", "0",
                            "-o", str(tmp_path / "vault")], capture_output=True, text=True, timeout=120,
                           env=_cli_env(fake_youtube), cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"(already done, skipped: {done})" in rerun.stdout


def test_a_run_that_generates_nothing_never_imports_an_llm_sdk(tmp_path):
    """Re-running a finished batch with a key set stays fast: no anthropic/openai import."""
    vault = tmp_path / "v"
    lecture = Path(__file__).resolve().parents[2] / "examples" / "gradient_descent.vtt"
    env = {**os.environ, "ANTHROPIC_API_KEY": "sk-ant-test-key", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
    first = subprocess.run([sys.executable, "-m", "yt_study_buddy.cli", str(lecture), "-o", str(vault),
                            "--engine", "offline"], capture_output=True, text=True, timeout=120, env=env)
    assert first.returncode == 0, first.stderr
    probe = ("import sys, runpy; sys.argv = ['youtube-study-buddy', *sys.argv[1:]]\n"
             "try:\n    runpy.run_module('yt_study_buddy.cli', run_name='__main__')\n"
             "except SystemExit as e:\n    code = e.code\n"
             "print('LOADED', sorted(m for m in ('anthropic', 'openai') if m in sys.modules))\n"
             "sys.exit(code)")
    rerun = subprocess.run([sys.executable, "-c", probe, str(lecture), "-o", str(vault)],
                           capture_output=True, text=True, timeout=120, env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert "already done" in rerun.stdout and "engine: claude" in rerun.stdout
    assert "LOADED []" in rerun.stdout, rerun.stdout


def _no_traceback(capsys) -> str:
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text
    return captured.err


@pytest.mark.parametrize("url", ["garbage", "ftp://x", "http://[::1"])
def test_a_malformed_youtube_url_setting_is_one_usage_error(url, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("YT_STUDY_BUDDY_YOUTUBE_URL", url)
    assert main(["abcdefghijk", "klmnopqrstu", "--engine", "offline", "-o", str(tmp_path / "v")]) == 2
    err = _no_traceback(capsys)
    assert "YT_STUDY_BUDDY_YOUTUBE_URL" in err and err.count("error:") == 1
    assert not (tmp_path / "v").exists()  # nothing ran, nothing logged


def test_an_unreadable_dotenv_is_a_usage_error(capsys, tmp_path):
    from tests.test_config import _unreadable

    _unreadable(tmp_path / ".env")  # the working directory's .env
    assert main(["abcdefghijk", "--engine", "offline", "-o", str(tmp_path / "v")]) == 2
    assert "cannot read" in _no_traceback(capsys)


def test_a_dotenv_that_is_not_utf8_is_a_usage_error(capsys, tmp_path):
    (tmp_path / ".env").write_bytes(b"\xff\xfeA\x00=\x00")
    assert main(["abcdefghijk", "--engine", "offline", "-o", str(tmp_path / "v")]) == 2
    assert "UTF-8" in _no_traceback(capsys)


@pytest.mark.parametrize("below", ["", "notes"])
def test_output_naming_an_existing_file_is_one_usage_error(below, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("YT_STUDY_BUDDY_YOUTUBE_URL", "http://127.0.0.1:9")  # never reached
    existing = tmp_path / "notes.md"
    existing.write_text("mine\n", encoding="utf-8")
    target = existing / below if below else existing
    assert main(["abcdefghijk", "klmnopqrstu", "--engine", "offline", "-o", str(target)]) == 2
    err = _no_traceback(capsys)
    assert "is a file" in err and str(existing) in err and err.count("error:") == 1
    assert existing.read_text(encoding="utf-8") == "mine\n"


@pytest.mark.parametrize("corrupt", ["a folder", "odd values"])
def test_retry_failed_with_a_corrupt_job_log_is_no_traceback(corrupt, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("YT_STUDY_BUDDY_YOUTUBE_URL", "http://127.0.0.1:9")  # never reached
    job_log = tmp_path / "v" / ".study-buddy" / "jobs.jsonl"
    job_log.parent.mkdir(parents=True)
    if corrupt == "a folder":
        job_log.mkdir()
    else:  # hand-edited or damaged: the vault is untrusted input
        job_log.write_text('{"video_id": "abcdefghijk", "status": "failed", "retryable": true, "url": 5}\n'
                           '{"video_id": ["x"], "status": "failed", "retryable": true, "url": {"a": 1}}\n'
                           '"a string"\n[1, 2]\n', encoding="utf-8")
    code = main(["--retry-failed", "--engine", "offline", "-o", str(tmp_path / "v")])
    err = _no_traceback(capsys)
    if corrupt == "a folder":
        assert code == 1 and "jobs.jsonl" in err
    else:
        assert code == 0


def _offline_lectures(tmp_path: Path) -> list[str]:
    examples = Path(__file__).resolve().parents[2] / "examples"
    return ["--engine", "offline", "--file", str(examples / "lectures.txt"), "-o", str(tmp_path / "v")]


def test_relink_alone_relinks_the_vault_and_summary_prints_when_linking_breaks(tmp_path, capsys, monkeypatch):
    import yt_study_buddy.vault.store as store_module

    assert main(_offline_lectures(tmp_path)) == 0
    notes = sorted((tmp_path / "v").rglob("*.md"))
    before = {p: p.read_bytes() for p in notes}
    for p in notes:  # links removed by hand come back
        p.write_text(p.read_text(encoding="utf-8").split("## Related notes")[0], encoding="utf-8")
    capsys.readouterr()
    assert main(["--relink", "-o", str(tmp_path / "v")]) == 0
    assert "Re-linked" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in notes} == before

    def broken(*args, **kwargs):
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    monkeypatch.setattr(store_module, "link_pass", broken)
    assert main([*_offline_lectures(tmp_path), "--force"]) == 0
    out = capsys.readouterr().out
    assert "Success rate: 100.0%" in out and "Knowledge Graph: 5 notes" in out


def test_relink_alone_on_a_missing_vault_is_a_usage_error(tmp_path, capsys):
    assert main(["--relink", "-o", str(tmp_path / "typo")]) == 2
    assert "no notes in" in capsys.readouterr().err and not (tmp_path / "typo").exists()
