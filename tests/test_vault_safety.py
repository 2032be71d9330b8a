"""The app acts only inside the vault, whatever the vault contains: links in its hidden folder, other
vaults below it, a read-only disk, leftovers of a crash, a second run on the same videos."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.test_pipeline import add_videos, make_app, vid
from tests.vault.test_containment import snapshot
from yt_study_buddy import YouTubeStudyNotes
from yt_study_buddy.cli.command import main
from yt_study_buddy.errors import InputError
from yt_study_buddy.models import ResultStatus
from yt_study_buddy.sources.inputs import Entry
from yt_study_buddy.vault.store import HIDDEN_DIR


# -- point 2: links inside .study-buddy ------------------------------------------------------------


@pytest.mark.parametrize("folder", ["metadata", "generated"])
def test_links_in_the_hidden_folder_are_never_followed(tmp_path, fake_youtube, folder):
    urls = add_videos(fake_youtube, 1)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / f"{vid(0)}.json").write_text("{}", encoding="utf-8")  # would be deleted as "generated"
    hidden = tmp_path / "notes" / HIDDEN_DIR
    hidden.mkdir(parents=True)
    (hidden / folder).symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    report = make_app(tmp_path, fake_youtube).process_urls(urls)
    assert snapshot(outside) == before
    result = report.results[0]
    if folder == "metadata":  # needed for the note: the video fails, naming the link
        assert not result.success and "link" in result.error and folder in result.error, result.error
        assert result.error_kind == "vault"
    else:  # only a safety copy of paid work: the note is still written
        assert result.success, result.error


# -- point 3: an empty output path, other vaults below the chosen one ------------------------------

LECTURE = Path(__file__).resolve().parent.parent / "examples" / "photosynthesis.vtt"


def visible_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("output", ["", "   "])
def test_empty_output_folder_is_a_usage_error(tmp_path, capsys, output):
    before = visible_files(tmp_path)  # the working directory of the test
    assert main(["-o", output, "--engine", "offline", str(LECTURE)]) == 2
    assert "notes folder" in capsys.readouterr().err
    assert visible_files(tmp_path) == before
    with pytest.raises(InputError):
        YouTubeStudyNotes(base_dir=output)


def other_vaults(root: Path) -> dict[str, bytes]:
    for name in ("Physics", "Year 2/Biology"):
        hidden = root / name / HIDDEN_DIR
        hidden.mkdir(parents=True)
        (hidden / "index.json").write_text('{"version": 1, "notes": {}}\n', encoding="utf-8")
        (root / name / "Their note.md").write_text("theirs\n", encoding="utf-8")
    return snapshot(root)


def test_folder_holding_other_vaults_is_refused_without_force(tmp_path, capsys):
    root = tmp_path / "all"
    before = other_vaults(root)
    assert main(["-o", str(root), "--engine", "offline", str(LECTURE)]) == 2
    err = capsys.readouterr().err
    assert "other vaults" in err and "Physics" in err and "Year 2/Biology" in err and "--force" in err
    assert snapshot(root) == before
    # The library refuses the batch the same way, before writing anything.
    report = YouTubeStudyNotes(base_dir=root, engine="offline").process_urls([str(LECTURE)])
    assert not report.ok and "other vaults" in (report.stop_reason or "")
    assert snapshot(root) == before
    # --force: the user means it.
    assert main(["-o", str(root), "--engine", "offline", "--force", str(LECTURE)]) == 0
    assert (root / HIDDEN_DIR).is_dir()


# -- point 8: a vault that can't be written is found out once, before anything is paid for ----------


@pytest.fixture
def read_only(monkeypatch):
    """Make every write under a folder fail as on a read-only file system (tests run as root, so chmod can't)."""
    folders: list[str] = []
    real_open, real_mkdir = os.open, os.mkdir
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def under(path) -> bool:
        text = os.path.abspath(os.fspath(path))
        return any(text == f or text.startswith(f + os.sep) for f in folders)

    def fake_open(path, flags, *args, **kwargs):
        if flags & write_flags and under(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    def fake_mkdir(path, *args, **kwargs):
        if under(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)
    return lambda folder: folders.append(os.path.abspath(folder))


def vault_with_an_index(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    (root / HIDDEN_DIR).mkdir(parents=True)
    (root / HIDDEN_DIR / "index.json").write_text('{"version": 1, "notes": {}}\n', encoding="utf-8")
    return root


def test_read_only_vault_stops_the_batch_before_paying(tmp_path, fake_youtube, fake_anthropic, read_only):
    urls = add_videos(fake_youtube, 3)
    read_only(vault_with_an_index(tmp_path))
    report = make_app(tmp_path, fake_youtube, fake_anthropic).process_urls(urls)
    assert fake_anthropic.requests == [] and fake_youtube.count("/api/timedtext") == 0
    assert not report.ok and "read-only file system" in (report.stop_reason or "")
    assert len(report.results) == 3
    assert all(r.error_kind == "vault" and "read-only" in r.error for r in report.results), \
        [(r.error_kind, r.error) for r in report.results]


def test_unusable_lock_file_stops_the_batch_before_paying(tmp_path, fake_youtube, fake_anthropic):
    urls = add_videos(fake_youtube, 2)
    (vault_with_an_index(tmp_path) / HIDDEN_DIR / "vault.lock").mkdir()
    report = make_app(tmp_path, fake_youtube, fake_anthropic).process_urls(urls)
    assert fake_anthropic.requests == [] and fake_youtube.count("/api/timedtext") == 0
    assert "vault.lock" in (report.stop_reason or "")
    assert len(report.results) == 2 and all(r.error_kind == "vault" for r in report.results)


def test_read_only_vault_in_the_cli_is_one_clear_error(tmp_path, capsys, read_only):
    read_only(vault_with_an_index(tmp_path))
    code = main(["-o", str(tmp_path / "notes"), "--engine", "offline", str(LECTURE)])
    out, err = capsys.readouterr()
    assert code == 1 and "read-only file system" in err and "Traceback" not in out + err


# -- point 14: our temp files left by a crash are removed at start ----------------------------------


def test_stale_temp_files_of_a_crash_are_removed_at_start(tmp_path):
    root = tmp_path / "notes"
    old = time.time() - 3600
    stale = [root / "Biology" / ".Photosynthesis.md.k2j3h4g5.tmp",
             root / HIDDEN_DIR / ".index.json.ab_12cd3.tmp",
             root / HIDDEN_DIR / "transcripts" / ".local-0123456789ab.json.zzzzzzzz.tmp"]
    kept = [root / "Biology" / ".my-own.tmp",                         # not our naming
            root / "Biology" / "Photosynthesis.md.k2j3h4g5.tmp",     # not hidden: not ours
            root / ".obsidian" / ".workspace.json.abcdefgh.tmp",     # another app's folder
            root / "Biology" / ".Fresh.md.abcdefgh.tmp"]             # being written right now
    for path in stale + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half a file", encoding="utf-8")
        if path.name != ".Fresh.md.abcdefgh.tmp":
            os.utime(path, (old, old))
    report = YouTubeStudyNotes(base_dir=root, engine="offline").process_urls([str(LECTURE)])
    assert report.ok, [r.error for r in report.results]
    assert [p for p in stale if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []


# -- point 13: two runs on one vault never pay twice for the same video -------------------------------


def run_together(apps, urls) -> list:
    gate = threading.Barrier(len(apps))
    reports: list = [None] * len(apps)

    def work(i):
        gate.wait()
        reports[i] = apps[i].process_urls(urls)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(apps))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return reports


def test_two_runs_with_overlapping_lists_pay_once_per_video(tmp_path, fake_youtube, fake_anthropic):
    urls = add_videos(fake_youtube, 3)
    make_app(tmp_path, fake_youtube, fake_anthropic, name="alone").process_urls(urls)
    one_run = len(fake_anthropic.requests)
    fake_anthropic.latency = 0.2
    apps = [make_app(tmp_path, fake_youtube, fake_anthropic, parallel=True, max_workers=3) for _ in range(2)]
    reports = run_together(apps, urls)
    assert all(r.ok for r in reports), [[x.error for x in r.results] for r in reports]
    assert len(fake_anthropic.requests) - one_run == one_run  # the second run paid for nothing
    statuses = sorted(str(x.status) for r in reports for x in r.results)
    assert statuses.count(str(ResultStatus.DONE)) == 3 and statuses.count(str(ResultStatus.SKIPPED)) == 3
    assert not list((tmp_path / "notes" / HIDDEN_DIR / "leases").glob("*.json"))  # all released


def test_a_claimed_video_waits_for_its_run_then_is_skipped(tmp_path, fake_youtube, fake_anthropic):
    urls = add_videos(fake_youtube, 1)
    other = make_app(tmp_path, fake_youtube, fake_anthropic)  # a run that already claimed the video
    assert other.leases.try_claim(vid(0)) is None
    app = make_app(tmp_path, fake_youtube, fake_anthropic)
    reports = []
    worker = threading.Thread(target=lambda: reports.append(app.process_urls(urls)), daemon=True)
    worker.start()
    time.sleep(0.8)
    assert worker.is_alive() and fake_anthropic.requests == []  # waiting, not paying
    # The other run writes the note, which releases its claim.
    assert other.process_source(other.resolve([Entry(urls[0], "test")])[0][0]).status == ResultStatus.DONE
    paid = len(fake_anthropic.requests)
    worker.join(timeout=30)
    assert reports and reports[0].results[0].status == ResultStatus.SKIPPED
    assert len(fake_anthropic.requests) == paid


def test_a_claim_left_by_a_crashed_run_is_stale(tmp_path, fake_youtube):
    urls = add_videos(fake_youtube, 1)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    leases = tmp_path / "notes" / HIDDEN_DIR / "leases"
    leases.mkdir(parents=True)
    record = {"host": socket.gethostname(), "pid": int(gone.stdout), "run": "crashed", "claimed_at": time.time()}
    (leases / f"{vid(0)}.json").write_text(json.dumps(record), encoding="utf-8")
    start = time.monotonic()
    report = make_app(tmp_path, fake_youtube).process_urls(urls)
    assert report.ok and time.monotonic() - start < 10


def test_clearing_part_drafts_removes_only_our_draft_files(tmp_path):
    """The drafts folder is in the vault: a file the user (or a sync tool) put there, or a link, stays."""
    from yt_study_buddy.vault.drafts import PartDrafts

    generated = tmp_path / HIDDEN_DIR / "generated" / "vid00000001.json"
    drafts = PartDrafts.beside(generated, tmp_path)
    drafts.put("0123abcd", {"markdown": "part one"})
    outside = tmp_path.parent / f"{tmp_path.name}-outside.json"
    outside.write_text("{}", encoding="utf-8")
    folder = drafts.folder
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    (folder / "0123abce.json").symlink_to(outside)
    (folder / "not-a-key.json").write_text("{}", encoding="utf-8")
    drafts.clear()
    assert sorted(p.name for p in folder.iterdir()) == ["0123abce.json", "not-a-key.json", "notes.txt"]
    assert outside.read_text(encoding="utf-8") == "{}"
