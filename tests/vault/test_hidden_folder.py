"""The hidden folder is written only inside the vault: a symbolic link anywhere in it (the folder itself,
transcripts/, jobs.jsonl, vault.lock) is refused with a message naming the link; lock errors are VaultErrors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.vault.test_store import make_job
from tests.vault.test_containment import snapshot
from yt_study_buddy.errors import VaultError
from yt_study_buddy.models import Segment, Transcript
from yt_study_buddy.sources.caches import TranscriptCache
from yt_study_buddy.vault.atomic import atomic_write_json
from yt_study_buddy.vault.joblog import JobLog
from yt_study_buddy.vault.store import HIDDEN_DIR, Vault


@pytest.fixture
def outside(tmp_path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "keep.txt").write_text("someone else's file\n", encoding="utf-8")
    return folder


def hidden(tmp_path: Path) -> Path:
    folder = tmp_path / "vault" / HIDDEN_DIR
    folder.mkdir(parents=True)
    return folder


def test_job_log_that_is_a_link_is_refused(tmp_path, outside):
    target = outside / "keep.txt"
    (hidden(tmp_path) / "jobs.jsonl").symlink_to(target)
    before = snapshot(outside)
    with pytest.raises(VaultError, match=r"link .*jobs\.jsonl"):
        JobLog(Vault(tmp_path / "vault")).append({"video_id": "aaaaaaaaaaa", "status": "ok"})
    assert snapshot(outside) == before


def test_transcripts_folder_that_is_a_link_is_refused(tmp_path, outside):
    (hidden(tmp_path) / "transcripts").symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    cache = TranscriptCache(Vault(tmp_path / "vault"))
    with pytest.raises(VaultError, match=r"link .*transcripts"):
        cache.put(Transcript("aaaaaaaaaaa", [Segment(0, 1, "hello")]))
    assert snapshot(outside) == before


def test_hidden_folder_that_is_a_link_is_refused(tmp_path, outside):
    root = tmp_path / "vault"
    root.mkdir()
    (root / HIDDEN_DIR).symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    with pytest.raises(VaultError, match=r"link .*\.study-buddy"):
        Vault(root).write_note(**make_job("aaaaaaaaaaa", "Lecture"))
    assert snapshot(outside) == before


def test_lock_file_that_is_a_link_is_refused(tmp_path, outside):
    (hidden(tmp_path) / "vault.lock").symlink_to(outside / "keep.txt")
    before = snapshot(outside)
    with pytest.raises(VaultError, match=r"link .*vault\.lock"):
        with Vault(tmp_path / "vault").lock():
            pass
    assert snapshot(outside) == before


def test_unusable_lock_file_is_a_vault_error(tmp_path):
    (hidden(tmp_path) / "vault.lock").mkdir()  # as good as unwritable, even for root
    with pytest.raises(VaultError, match=r"vault\.lock"):
        with Vault(tmp_path / "vault").lock():
            pass


def test_atomic_write_under_a_root_refuses_links_on_the_way(tmp_path, outside):
    (hidden(tmp_path) / "metadata").symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    root = tmp_path / "vault"
    with pytest.raises(VaultError, match=r"link .*metadata"):
        atomic_write_json(root / HIDDEN_DIR / "metadata" / "deep" / "x.json", {"a": 1}, root=root)
    assert snapshot(outside) == before and not (outside / "deep").exists()
    with pytest.raises(VaultError, match="outside"):
        atomic_write_json(root / HIDDEN_DIR / ".." / ".." / "outside" / "x.json", {"a": 1}, root=root)
    assert snapshot(outside) == before
