"""Everything read from the vault is untrusted: paths in front matter and the index never lead outside it,
and files the app did not write (a user's copy of a note, their own pages) are never moved or deleted."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.vault.test_store import make_job
from yt_study_buddy.vault.render import dump_front_matter, split_front_matter
from yt_study_buddy.vault.store import HIDDEN_DIR, Vault

VID, OTHER = "aaaaaaaaaaa", "bbbbbbbbbbb"


def outside_assessment(tmp_path: Path, video_id: str = VID) -> Path:
    """A file outside the vault that even claims to be this video's assessment."""
    target = tmp_path / "outside" / "secret.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text(dump_front_matter({"type": "assessment", "video_id": video_id, "note": "Lecture"},
                                        "# precious, not the vault's\n"), encoding="utf-8")
    return target


def set_front_matter(note: Path, **changes) -> None:
    meta, body = split_front_matter(note.read_text(encoding="utf-8"))
    meta.update(changes)
    note.write_text(dump_front_matter(meta, body), encoding="utf-8")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- point 1: paths from front matter and the index --------------------------------------------


@pytest.mark.parametrize("style", ["absolute", "dotdot"])
def test_assessment_path_outside_the_vault_is_never_moved_by_settle(tmp_path, style):
    root = tmp_path / "vault"
    vault = Vault(root)
    note = vault.write_note(**make_job(VID, "Lecture", assessment=False))[0]
    target = outside_assessment(tmp_path)
    before = snapshot(target.parent)
    value = str(target) if style == "absolute" else "../../outside/secret.md"
    set_front_matter(note, assessment=value)
    # A second video with the same title makes settle rename the first, assessment included.
    vault.write_note(**make_job(OTHER, "Lecture", assessment=False))
    vault.finalize()
    assert snapshot(target.parent) == before
    assert not list(root.rglob("*Assessment*.md"))  # nothing was copied in either


def test_assessment_path_outside_is_never_moved_when_reprocessing(tmp_path):
    root = tmp_path / "vault"
    vault = Vault(root)
    note = vault.write_note(**make_job(VID, "Lecture", assessment=False))[0]
    target = outside_assessment(tmp_path)
    before = snapshot(target.parent)
    set_front_matter(note, assessment=str(target))
    vault.graph.rebuild()
    # A re-run without assessments "keeps the one already paid for": never a file outside.
    written = vault.write_note(**make_job(VID, "Lecture", assessment=False))
    assert snapshot(target.parent) == before
    assert written == [note]
    assert split_front_matter(note.read_text(encoding="utf-8"))[0]["assessment"] is None


def test_index_rebuild_survives_an_assessment_path_outside(tmp_path):
    root = tmp_path / "vault"
    vault = Vault(root)
    note = vault.write_note(**make_job(VID, "Lecture", assessment=False))[0]
    set_front_matter(note, assessment=str(outside_assessment(tmp_path)))
    vault.graph.rebuild()  # raised ValueError from Vault.relative
    assert vault.graph.notes()[VID]["assessment"] is None


def test_index_entry_pointing_outside_is_never_followed(tmp_path):
    root = tmp_path / "vault"
    vault = Vault(root)
    vault.write_note(**make_job(VID, "Lecture", assessment=False))
    # A hand-edited (or synced) index sends the video's note outside, to a file claiming it.
    outside = tmp_path / "outside"
    outside.mkdir()
    fake_note = outside / "Lecture.md"
    fake_note.write_text(dump_front_matter({"type": "study-note", "video_id": VID, "title": "Lecture",
                                            "assessment": "secret.md"}, "# mine\n"), encoding="utf-8")
    outside_assessment(tmp_path)
    index_path = root / HIDDEN_DIR / "index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    index["notes"][VID]["path"] = "../outside/Lecture.md"
    index_path.write_text(json.dumps(index), encoding="utf-8")
    before = snapshot(outside)
    assert vault.find_note(VID) == root / "Machine Learning" / "Lecture.md"
    vault.write_note(**make_job(VID, "Renamed Lecture", assessment=False))
    assert snapshot(outside) == before


def test_settle_never_moves_a_users_file_named_as_the_assessment(tmp_path):
    root = tmp_path / "vault"
    vault = Vault(root)
    note = vault.write_note(**make_job(VID, "Lecture", assessment=False))[0]
    mine = note.with_name("My own page.md")
    mine.write_text("my thoughts, no front matter\n", encoding="utf-8")
    set_front_matter(note, assessment="My own page.md")
    vault.write_note(**make_job(OTHER, "Lecture", assessment=False))
    vault.finalize()
    assert mine.read_text(encoding="utf-8") == "my thoughts, no front matter\n"


def test_symlinked_note_is_never_taken_for_ours(tmp_path):
    root = tmp_path / "vault"
    vault = Vault(root)
    vault.write_note(**make_job(VID, "Lecture"))
    outside = tmp_path / "outside.md"
    outside.write_text(dump_front_matter({"type": "study-note", "video_id": OTHER, "title": "Other"}, "x\n"),
                       encoding="utf-8")
    link = root / "Machine Learning" / "Other.md"
    link.symlink_to(outside)
    before = outside.read_bytes()
    vault.graph.rebuild()
    assert OTHER not in vault.graph.notes()
    vault.write_note(**make_job(OTHER, "Other"))
    vault.finalize()
    assert outside.read_bytes() == before and link.is_symlink()


# -- point 4: a user's own copy of a note ----------------------------------------------------------


@pytest.mark.parametrize("copy_rel", ["Machine Learning/Lecture copy.md", "Archive/Lecture.md",
                                      "A copy/Lecture.md"])
def test_users_copy_of_a_note_is_kept_and_never_rewritten(tmp_path, caplog, copy_rel):
    root = tmp_path / "vault"
    vault = Vault(root)
    note, assessment = vault.write_note(**make_job(VID, "Lecture"))
    copy = root / copy_rel
    copy.parent.mkdir(exist_ok=True)
    copy.write_text(note.read_text(encoding="utf-8") + "\nMy own summary, typed by hand.\n", encoding="utf-8")
    mine = copy.read_bytes()
    caplog.set_level(logging.WARNING)
    vault.write_note(**make_job(OTHER, "Lecture"))  # a clash: settle renames the note, not the copy
    vault.finalize()
    assert copy.read_bytes() == mine
    known = vault.find_note(VID)
    assert known is not None and known != copy and known.parent == note.parent
    # --force: the video is written again, to the file the index knows; the copy stays.
    vault.write_note(**make_job(VID, "Lecture"))
    vault.write_note(**make_job(VID, "Lecture, retitled"))
    vault.finalize()
    assert copy.read_bytes() == mine
    notes = [p for p in root.rglob("*.md") if p != copy and "Assessment" not in p.name
             and split_front_matter(p.read_text(encoding="utf-8"))[0].get("video_id") == VID]
    assert [p.name for p in notes] == ["Lecture, retitled.md"]
    warnings = [r for r in caplog.records if copy.name in r.getMessage() and VID in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]


def test_users_copy_does_not_make_every_lookup_rescan(tmp_path, monkeypatch):
    root = tmp_path / "vault"
    vault = Vault(root)
    note = vault.write_note(**make_job(VID, "Lecture"))[0]
    copy = note.with_name("Lecture copy.md")
    copy.write_text(note.read_text(encoding="utf-8"), encoding="utf-8")
    vault.find_note("nonexistent")  # learns about the copy once
    rebuilds = []
    monkeypatch.setattr(type(vault.graph), "rebuild", lambda self: rebuilds.append(1))
    for _ in range(3):
        assert vault.find_note("nonexistent") is None
    assert rebuilds == []


def test_index_entry_through_a_linked_folder_is_never_written(tmp_path):
    root = tmp_path / "vault"
    vault = Vault(root)
    vault.write_note(**make_job(VID, "Lecture"))
    vault.write_note(**make_job(OTHER, "Lecture"))  # a clash: settle wants to rename both
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Lecture.md").write_text(dump_front_matter(
        {"type": "study-note", "video_id": OTHER, "title": "Lecture", "concepts": ["Gradient descent"]},
        "# Lecture\n\nGradient descent, told elsewhere.\n"), encoding="utf-8")
    (root / "Linked").symlink_to(outside, target_is_directory=True)
    index_path = root / HIDDEN_DIR / "index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    index["notes"][OTHER]["path"] = "Linked/Lecture.md"
    index_path.write_text(json.dumps(index), encoding="utf-8")
    before = snapshot(outside)
    fresh = Vault(root)
    fresh.finalize()
    fresh.write_note(**make_job(OTHER, "Lecture", assessment=False))
    fresh.finalize()
    assert snapshot(outside) == before
