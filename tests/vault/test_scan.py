"""The index is verified by stat and repaired from the files: edits, moves, renames, deletions, damage."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import yt_study_buddy.vault.scan as scan
from tests.vault.test_store import make_job
from yt_study_buddy.vault.index import NoteIndex, load_index, safe_relative
from yt_study_buddy.vault.render import dump_front_matter, split_front_matter
from yt_study_buddy.vault.store import Vault


def build(root: Path, count: int = 4) -> Vault:
    vault = Vault(root)
    for i in range(count):
        vault.write_note(**make_job(f"vid{i:08d}", f"Lecture {i}", concepts=[f"topic {i}", "shared idea"]))
    vault.finalize()
    return vault


def count_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    real = scan.read_bytes

    def counting(path):
        reads.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(scan, "read_bytes", counting)
    return reads


def stored(root: Path) -> NoteIndex:
    index = load_index(root / ".study-buddy" / "index.json")
    assert index is not None
    return index


def test_index_records_what_the_issue_asks_for(tmp_path):
    build(tmp_path, 1)
    entry = stored(tmp_path).notes["vid00000000"]
    path = tmp_path / "Machine Learning" / "Lecture 0.md"
    assert entry["path"] == "Machine Learning/Lecture 0.md" and entry["title"] == "Lecture 0"
    assert entry["subject"] == "Machine Learning" and entry["concepts"] == ["topic 0", "shared idea"]
    assert (entry["mtime"], entry["size"]) == (path.stat().st_mtime_ns, path.stat().st_size)
    assert entry["hash"] == scan.content_hash(path.read_bytes())


def test_a_new_run_reads_no_unchanged_file(tmp_path, monkeypatch):
    build(tmp_path)
    reads = count_reads(monkeypatch)
    fresh = Vault(tmp_path)
    assert fresh.find_note("vid00000002") == tmp_path / "Machine Learning" / "Lecture 2.md"
    assert fresh.find_note("unknown0000") is None
    assert fresh.graph.get_stats()["total_notes"] == 4
    assert reads == []


def test_a_note_edited_by_hand_is_read_again(tmp_path, monkeypatch):
    build(tmp_path)
    note = tmp_path / "Machine Learning" / "Lecture 1.md"
    meta, body = split_front_matter(note.read_text(encoding="utf-8"))
    note.write_text(dump_front_matter({**meta, "concepts": ["edited concept"]}, body), encoding="utf-8")
    reads = count_reads(monkeypatch)
    assert Vault(tmp_path).graph.notes()["vid00000001"]["concepts"] == ["edited concept"]
    assert reads == ["Lecture 1.md"]
    assert stored(tmp_path).notes["vid00000001"]["concepts"] == ["edited concept"]  # repaired on disk


def test_moved_renamed_and_deleted_notes(tmp_path):
    build(tmp_path)
    ml = tmp_path / "Machine Learning"
    (tmp_path / "Archive").mkdir()
    (ml / "Lecture 0.md").rename(tmp_path / "Archive" / "Lecture 0.md")
    (ml / "Lecture 1.md").rename(ml / "My name for it.md")
    (ml / "Lecture 2.md").unlink()
    fresh = Vault(tmp_path)
    assert fresh.find_note("vid00000000") == tmp_path / "Archive" / "Lecture 0.md"
    assert fresh.find_note("vid00000001") == ml / "My name for it.md"
    assert fresh.find_note("vid00000002") is None
    notes = fresh.graph.notes()
    assert sorted(notes) == ["vid00000000", "vid00000001", "vid00000003"]
    assert notes["vid00000000"]["subject"] == "Archive"  # the folder it now sits in
    # the same Vault object (a running batch) notices a move when it looks the note up
    (ml / "Lecture 3.md").rename(ml / "Moved during the run.md")
    assert fresh.find_note("vid00000003") == ml / "Moved during the run.md"


@pytest.mark.parametrize("damage", [None, "", "{not json", "[]", '{"version": 2, "notes": 5}', "\x00\xff garbage"])
def test_index_deleted_or_corrupt_is_rebuilt(tmp_path, damage):
    build(tmp_path)
    expected = Vault(tmp_path).graph.notes()
    index_file = tmp_path / ".study-buddy" / "index.json"
    if damage is None:
        index_file.unlink()
    else:
        index_file.write_text(damage, encoding="utf-8", errors="surrogateescape")
    fresh = Vault(tmp_path)
    assert fresh.find_note("vid00000001") == tmp_path / "Machine Learning" / "Lecture 1.md"
    assert fresh.graph.notes() == expected
    assert stored(tmp_path).notes == expected


@pytest.mark.parametrize("bad_path", ["../outside.md", "/etc/passwd.md", ".study-buddy/x.md", "a/../../b.md",
                                      "Machine Learning\\..\\x.md", "", 7, None])
def test_untrusted_index_entries_are_dropped_and_found_again(tmp_path, bad_path):
    build(tmp_path, 2)
    index_file = tmp_path / ".study-buddy" / "index.json"
    data = json.loads(index_file.read_text(encoding="utf-8"))
    data["notes"]["vid00000000"]["path"] = bad_path
    data["notes"]["intruder000"] = {"title": "x", "path": bad_path, "subject": "x", "concepts": []}
    index_file.write_text(json.dumps(data), encoding="utf-8")
    fresh = Vault(tmp_path)
    assert fresh.find_note("vid00000000") == tmp_path / "Machine Learning" / "Lecture 0.md"
    assert fresh.find_note("intruder000") is None
    assert safe_relative(bad_path) is None


def test_broken_yaml_note_is_still_found_by_its_video_id_and_left_alone(tmp_path, caplog):
    vault = build(tmp_path, 3)
    note = tmp_path / "Machine Learning" / "Lecture 1.md"
    text = note.read_text(encoding="utf-8").replace("title: Lecture 1", "title: [unclosed: {", 1)
    note.write_text(text, encoding="utf-8")
    assert split_front_matter(text)[0] == {}  # the YAML really is broken
    fresh = Vault(tmp_path)
    assert fresh.find_note("vid00000001") == note  # never processed (and paid for) again
    report = fresh.finalize(relink=True)
    assert note.read_text(encoding="utf-8") == text  # not rewritten
    assert report.stats["total_notes"] == 3
    assert caplog.text.count("not valid YAML") == 1
    Vault(tmp_path).find_note("vid00000001")
    assert caplog.text.count("not valid YAML") == 1  # warned once
    # re-writing the video (--force) replaces the broken file instead of adding a second one
    vault.write_note(**make_job("vid00000001", "Lecture 1", concepts=["topic 1"]))
    assert sorted(p.name for p in (tmp_path / "Machine Learning").glob("Lecture 1*.md")) == [
        "Lecture 1 - Assessment.md", "Lecture 1.md"]
    assert split_front_matter(note.read_text(encoding="utf-8"))[0]["title"] == "Lecture 1"


def test_symlinked_note_is_skipped_and_the_rest_linked(tmp_path, caplog):
    outside = tmp_path / "outside"
    outside.mkdir()
    build(outside, 1)
    root = tmp_path / "vault"
    vault = build(root, 3)
    (root / "Machine Learning" / "Linked.md").symlink_to(outside / "Machine Learning" / "Lecture 0.md")
    (root / "Elsewhere").symlink_to(outside / "Machine Learning", target_is_directory=True)
    (root / "Machine Learning" / "Lecture 2.md").unlink()
    before = (outside / "Machine Learning" / "Lecture 0.md").read_bytes()
    vault.write_note(**make_job("vid00000009", "Lecture 9", concepts=["topic 9", "shared idea"]))
    report = Vault(root).finalize()
    assert report.skipped == [] and report.stats["total_notes"] == 3
    assert "[[Lecture 9]]: shared idea" in (root / "Machine Learning" / "Lecture 0.md").read_text(encoding="utf-8")
    assert (outside / "Machine Learning" / "Lecture 0.md").read_bytes() == before
    assert "skipped Machine Learning/Linked.md: a symbolic link" in caplog.text
    assert "skipped Elsewhere: a symbolic link" in caplog.text


def test_a_fifo_named_like_a_note_is_never_opened(tmp_path):
    build(tmp_path, 1)
    os.mkfifo(tmp_path / "Machine Learning" / "Pipe.md")
    assert Vault(tmp_path).graph.get_stats()["total_notes"] == 1  # would hang if it were read
    assert Vault(tmp_path).finalize().skipped == []


def test_an_oversized_file_is_not_read(tmp_path, monkeypatch):
    build(tmp_path, 1)
    monkeypatch.setattr(scan, "MAX_NOTE_BYTES", 100)
    assert scan.read_record(tmp_path / "Machine Learning" / "Lecture 0.md") is None


def test_a_yaml_alias_bomb_in_the_front_matter_is_never_expanded_into_a_title(tmp_path):
    """Aliases nest lists cheaply in YAML; turned into text they grow ninefold per level."""
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    levels += [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(5)]
    note = tmp_path / "Physics" / "Bomb.md"
    note.parent.mkdir()
    note.write_text("---\n" + "\n".join(levels) + "\ntype: study-note\nvideo_id: vidbomb0001\n"
                    "title: *f\nsubject: *f\nconcepts: [*f, *e, real concept]\n---\n\n# Bomb\n", encoding="utf-8")
    record = scan.read_record(note)
    assert record is not None and record.video_id == "vidbomb0001"
    assert record.title == "vidbomb0001" and record.subject == "Physics"
    assert record.concepts == ["real concept"]


def test_a_note_is_never_read_through_a_symbolic_link(tmp_path):
    """Even a link to a real note of this vault: the walk skips links, and so does every direct read."""
    vault = build(tmp_path, 1)
    note = next(tmp_path.glob("*/*Lecture 0.md"))
    link = note.with_name("Linked.md")
    link.symlink_to(note)
    assert scan.read_bytes(note) is not None
    assert scan.read_bytes(link) is None and scan.read_record(link) is None
    assert vault.owner(link) is None
