"""The job log: append-only JSON lines, safe across processes, crash-tolerant, secret-free."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import threading

import pytest

from yt_study_buddy.config import register_secret
from yt_study_buddy.errors import VaultError
from yt_study_buddy.vault.joblog import MAX_TEXT, JobLog
from yt_study_buddy.vault.store import Vault


def record(vid: str, status: str = "done", **extra) -> dict:
    base = {"video_id": vid, "url": f"https://youtu.be/{vid}", "title": "T", "subject": "S", "status": status,
            "error": None, "retryable": False, "timings": {"fetch": 0.5, "notes": 2.0},
            "transcript_method": "youtube-transcript-api", "engine": "claude", "model": "m",
            "files": ["S/T.md"], "usage": {"input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 5}}
    base.update(extra)
    return base


def test_append_and_read_round_trip(tmp_path):
    log = JobLog(Vault(tmp_path))
    assert log.read() == [] and log.latest_by_video() == {}
    log.append(record("aaaaaaaaaaa", "failed", error="blocked by YouTube", retryable=True))
    log.append(record("bbbbbbbbbbb"))
    log.append(record("aaaaaaaaaaa"))
    records = log.read()
    assert [r["video_id"] for r in records] == ["aaaaaaaaaaa", "bbbbbbbbbbb", "aaaaaaaaaaa"]
    assert records[0]["error"] == "blocked by YouTube" and records[0]["usage"]["output_tokens"] == 20
    assert "logged_at" in records[0]
    latest = log.latest_by_video()
    assert latest["aaaaaaaaaaa"]["status"] == "done" and set(latest) == {"aaaaaaaaaaa", "bbbbbbbbbbb"}
    lines = (tmp_path / ".study-buddy" / "jobs.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and all(json.loads(line) for line in lines)


def test_latest_by_video_accepts_id_key(tmp_path):
    log = JobLog(Vault(tmp_path))
    log.append({"id": "local-abc", "status": "done"})
    assert log.latest_by_video()["local-abc"]["status"] == "done"


def test_secrets_are_scrubbed(tmp_path):
    secret = "sk-ant-api03-SECRETSECRETSECRET"
    other = "my-tor-password-123"
    register_secret(other)
    log = JobLog(Vault(tmp_path))
    log.append(record("aaaaaaaaaaa", "failed", error=f"401 for key {secret} and {other}",
                      detail={"nested": [f"x {secret}"]}))
    raw = (tmp_path / ".study-buddy" / "jobs.jsonl").read_text(encoding="utf-8")
    assert secret not in raw and other not in raw and "***" in raw


@pytest.mark.parametrize("bad", [{"api_key": "x"}, {"ANTHROPIC_API_KEY": "x"}, {"password": "x"},
                                 {"meta": {"Authorization": "Bearer x"}}, {"transcript": "full text"},
                                 {"extra": [{"transcript_text": "..."}]}, {"secret": 1}])
def test_secret_or_transcript_keys_are_refused(tmp_path, bad):
    log = JobLog(Vault(tmp_path))
    with pytest.raises(ValueError, match="refusing to log"):
        log.append(record("aaaaaaaaaaa", **bad))
    assert log.read() == []


def test_huge_strings_are_cut(tmp_path):
    log = JobLog(Vault(tmp_path))
    log.append(record("aaaaaaaaaaa", error="x" * 100_000))
    assert len(log.read()[0]["error"]) <= MAX_TEXT + 1


def test_torn_last_line_is_tolerated_and_not_glued_to_the_next(tmp_path):
    vault = Vault(tmp_path)
    log = JobLog(vault)
    log.append(record("aaaaaaaaaaa"))
    with open(log.path, "ab") as fh:  # a crash in the middle of a write
        fh.write(b'{"video_id": "bbbbbbbbbbb", "status": "do')
    assert [r["video_id"] for r in log.read()] == ["aaaaaaaaaaa"]
    log.append(record("ccccccccccc"))
    assert [r["video_id"] for r in log.read()] == ["aaaaaaaaaaa", "ccccccccccc"]


def test_garbled_lines_are_skipped(tmp_path):
    vault = Vault(tmp_path)
    vault.ensure_hidden()
    path = vault.hidden / "jobs.jsonl"
    path.write_bytes(b'{"video_id": "a1"}\n\xff\xfe garbage\n[1, 2]\n\n{"video_id": "a2"}\n')
    assert [r["video_id"] for r in JobLog(vault).read()] == ["a1", "a2"]


def test_disk_full_on_append_is_a_vault_error(tmp_path, monkeypatch):
    log = JobLog(Vault(tmp_path))
    log.append(record("aaaaaaaaaaa"))

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(VaultError, match="disk full"):
        log.append(record("bbbbbbbbbbb"))
    monkeypatch.undo()
    assert [r["video_id"] for r in log.read()] == ["aaaaaaaaaaa"]


def _appender(root: str, prefix: str, count: int) -> None:
    log = JobLog(Vault(root))
    for i in range(count):
        # Long-ish lines make interleaving visible if writes were not whole and locked.
        log.append(record(f"{prefix}{i:05d}", note="y" * 1500))


def test_two_processes_appending_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_appender, args=(str(tmp_path), p, 150)) for p in ("p", "q")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    raw = (tmp_path / ".study-buddy" / "jobs.jsonl").read_bytes().splitlines()
    assert len(raw) == 300
    ids = [json.loads(line)["video_id"] for line in raw]  # every line valid JSON
    assert sorted(ids) == sorted([f"p{i:05d}" for i in range(150)] + [f"q{i:05d}" for i in range(150)])


def test_threads_appending_lose_nothing(tmp_path):
    log = JobLog(Vault(tmp_path))
    threads = [threading.Thread(target=lambda n=n: [log.append(record(f"t{n}-{i}")) for i in range(40)])
               for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log.read()) == 200 and len(log.latest_by_video()) == 200


def test_reading_an_unchanged_log_again_does_not_reread_the_file(tmp_path, monkeypatch):
    from pathlib import Path

    log = JobLog(Vault(tmp_path))
    log.append({"video_id": "a", "status": "ok"})
    reads: list[Path] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or real(self))
    first = log.read()
    assert log.read() == first and log.latest_by_video() == {"a": first[0]} and len(reads) == 1
    first[0]["status"] = "changed by the caller"
    assert log.read()[0]["status"] == "ok"  # callers get their own copies
    log.append({"video_id": "b", "status": "failed"})
    assert [r["video_id"] for r in log.read()] == ["a", "b"] and len(reads) == 2
