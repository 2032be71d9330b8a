"""The vault on disk: layout, front matter, hostile names, same titles, updates, atomicity, threads."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import re
import shutil
import threading
from datetime import datetime
from pathlib import Path

import pytest

from yt_study_buddy.vault.atomic import atomic_write_json, atomic_write_text
from yt_study_buddy.errors import VaultError
from yt_study_buddy.models import (
    ASSESSMENT_CATEGORIES,
    Assessment,
    AssessmentQuestion,
    NotesResult,
    Segment,
    Transcript,
    VideoMeta,
)
from yt_study_buddy.vault.render import ANSWER_CALLOUT, split_front_matter
from yt_study_buddy.vault.store import HIDDEN_DIR, Vault


def make_job(video_id: str, title: str, *, subject: str = "Machine Learning", concepts=("Gradient descent",),
             markdown: str | None = None, assessment: bool = True, source: str = "youtube") -> dict:
    """Return write_note keyword arguments for a small fake video."""
    md = markdown if markdown is not None else (
        f"## Overview\n\nThis lecture ({video_id}) covers {', '.join(concepts)}.\n\n"
        f"## Key points\n\n- [0:05](https://youtu.be/{video_id}?t=5) the start\n")
    questions = [
        AssessmentQuestion(cat, f"Question about {label.lower()} for {title}?", f"Answer {i}.",
                           key_concepts=list(concepts)[:1], timestamp=float(10 * i) if i % 2 else None)
        for i, (cat, label) in enumerate(ASSESSMENT_CATEGORIES.items())
    ]
    return dict(
        meta=VideoMeta(video_id=video_id, title=title, channel="Channel", source=source,
                       url="" if source == "local" else f"https://www.youtube.com/watch?v={video_id}"),
        subject=subject,
        notes=NotesResult(markdown=md, concepts=list(concepts), engine="offline"),
        assessment=Assessment(questions=questions) if assessment else None,
        transcript=Transcript(video_id, [Segment(0, 30, "hello"), Segment(30, 95, "world")], method="yt-dlp"),
    )


def vault_files(root: Path) -> dict[str, str]:
    """Return relative path -> content for every visible file, without the `created` line."""
    out = {}
    for path in sorted(root.rglob("*.md")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("."):
            continue
        out[rel] = re.sub(r"(?m)^created: .*$", "created: X", path.read_text(encoding="utf-8"))
    return out


def files_outside(tmp_path: Path, root: Path) -> list[Path]:
    return [p for p in tmp_path.rglob("*") if p.is_file() and root.resolve() not in p.resolve().parents]


# -- layout and front matter ---------------------------------------------------------------


def test_note_and_assessment_layout_and_front_matter(tmp_path):
    vault = Vault(tmp_path / "notes")
    written = vault.write_note(**make_job("dQw4w9WgXcQ", "Intro to Gradients"))
    note = tmp_path / "notes" / "Machine Learning" / "Intro to Gradients.md"
    assessment = note.with_name("Intro to Gradients - Assessment.md")
    assert written == [note, assessment]
    meta, body = split_front_matter(note.read_text(encoding="utf-8"))
    for key in ("title", "video_id", "url", "channel", "subject", "tags", "created", "source", "engine",
                "model", "concepts", "duration", "transcript_method", "assessment"):
        assert key in meta, key
    assert meta["video_id"] == "dQw4w9WgXcQ" and meta["title"] == "Intro to Gradients"
    assert meta["subject"] == "Machine Learning" and "machine-learning" in meta["tags"]
    assert meta["assessment"] == f"[[{assessment.stem}]]" and meta["duration"] == 125
    assert meta["transcript_method"] == "yt-dlp" and meta["source"] == "youtube"
    assert isinstance(meta["created"], datetime)  # a Date & time property, local time
    assert body.startswith("# Intro to Gradients\n")
    assert "https://www.youtube.com/watch?v=dQw4w9WgXcQ" in body
    assert "[[Intro to Gradients - Assessment]]" in body
    a_meta, a_body = split_front_matter(assessment.read_text(encoding="utf-8"))
    assert a_meta["video_id"] == "dQw4w9WgXcQ" and "[[Intro to Gradients]]" in a_body


def test_assessment_answers_hide_in_a_collapsed_callout_under_each_question(tmp_path):
    vault = Vault(tmp_path)
    vault.write_note(**make_job("abcdefghijk", "Spoilers"))
    text = (tmp_path / "Machine Learning" / "Spoilers - Assessment.md").read_text(encoding="utf-8")
    headings = [h for h in ASSESSMENT_CATEGORIES.values()]
    positions = [text.index(f"## {h}") for h in headings]
    assert positions == sorted(positions)  # the four categories, in order
    assert "&nbsp;" not in text and "## Answers" not in text and "###" not in text
    for i in range(len(headings)):
        question = text.index(f"Question about {list(ASSESSMENT_CATEGORIES.values())[i].lower()}")
        answer = text.index(f"> Answer {i}.")
        # Right under its question, inside a callout that Obsidian shows folded.
        assert question < text.index(ANSWER_CALLOUT, question) < answer
        assert text.count(f"Question about {list(ASSESSMENT_CATEGORIES.values())[i].lower()}") == 1
    assert text.count(ANSWER_CALLOUT) == len(headings)
    assert "> In the video: [\\[0:10\\]](https://youtu.be/abcdefghijk?t=10)" in text
    assert "> Key concepts: Gradient descent" in text


def test_front_matter_is_what_obsidian_reads_as_properties(tmp_path):
    vault = Vault(tmp_path)
    vault.write_note(**make_job("abcdefghijk", "Calculus: Limits"))
    note = tmp_path / "Machine Learning" / "Calculus - Limits.md"
    text = note.read_text(encoding="utf-8")
    meta, _ = split_front_matter(text)
    assert meta["aliases"] == ["Calculus: Limits"]
    # A local Date & time, unquoted; links in properties as quoted wiki links.
    assert re.search(r"(?m)^created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$", text)
    assert '\nassessment: "[[Calculus - Limits - Assessment]]"\n' in text
    a_text = note.with_name("Calculus - Limits - Assessment.md").read_text(encoding="utf-8")
    a_meta, _ = split_front_matter(a_text)
    assert '\nnote: "[[Calculus - Limits]]"\n' in a_text
    assert a_meta["subject"] == "Machine Learning" and a_meta["created"] == meta["created"]
    assert "machine-learning" in a_meta["tags"] and a_meta["aliases"] == ["Calculus: Limits - Assessment"]
    # The record still finds the assessment through the link.
    assert vault.read_record(note).assessment == note.with_name("Calculus - Limits - Assessment.md")
    # A caption file has no url or channel: no empty properties.
    vault.write_note(**make_job("local-1a2b3c", "Zoom lecture", source="local"))
    local = (tmp_path / "Machine Learning" / "Zoom lecture.md").read_text(encoding="utf-8")
    assert "\nurl:" not in local


def test_an_update_keeps_created_as_a_date_time(tmp_path):
    vault = Vault(tmp_path)
    job = make_job("abcdefghijk", "Kept")
    [note, _] = vault.write_note(**job)
    created = re.search(r"(?m)^created: (.*)$", note.read_text(encoding="utf-8")).group(1)
    vault.write_note(**job)
    vault.settle_names()
    text = note.read_text(encoding="utf-8")
    assert re.search(r"(?m)^created: (.*)$", text).group(1) == created
    assert re.search(r"(?m)^updated: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$", text)


def test_local_source_has_no_youtube_link(tmp_path):
    vault = Vault(tmp_path)
    vault.write_note(**make_job("local-1a2b3c", "Zoom lecture", source="local"))
    text = (tmp_path / "Machine Learning" / "Zoom lecture.md").read_text(encoding="utf-8")
    assessment = (tmp_path / "Machine Learning" / "Zoom lecture - Assessment.md").read_text(encoding="utf-8")
    assert "youtu" not in split_front_matter(text)[1].split("## Overview")[0]
    assert "youtu.be" not in assessment and "[0:10]" in assessment


def test_nothing_created_until_first_write(tmp_path):
    root = tmp_path / "notes"
    vault = Vault(root)
    assert vault.subjects() == [] and vault.find_note("abcdefghijk") is None
    assert not root.exists()
    vault.write_note(**make_job("abcdefghijk", "First"))
    assert (root / HIDDEN_DIR).is_dir()


def test_subjects_sorted_skip_hidden_and_reused_case_insensitively(tmp_path):
    vault = Vault(tmp_path)
    vault.write_note(**make_job("aaaaaaaaaaa", "One", subject="physics"))
    vault.write_note(**make_job("bbbbbbbbbbb", "Two", subject="Physics"))
    vault.write_note(**make_job("ccccccccccc", "Three", subject="Biology"))
    assert vault.subjects() == ["Biology", "physics"]
    assert (tmp_path / "physics" / "Two.md").exists()


# -- hostile names and containment ---------------------------------------------------------


@pytest.mark.parametrize("title", ["../../x", "..", "CON", "aux.txt", "a/b\\c", "/etc/passwd",
                                   "🚀 Rockets 👩‍🔬", "שלום עולם", "x" * 500, "\x00\n\t", "C:\\Windows\\evil"])
def test_hostile_titles_stay_inside_the_vault(tmp_path, title):
    root = tmp_path / "vault"
    vault = Vault(root)
    written = vault.write_note(**make_job("abcdefghijk", title))
    assert len(written) == 2
    for path in written:
        assert path.exists() and root.resolve() in path.resolve().parents
        assert path.parent == root / "Machine Learning"
        assert len(path.name.encode()) < 255
    assert files_outside(tmp_path, root) == []
    assert vault.find_note("abcdefghijk") == written[0]


@pytest.mark.parametrize("subject", ["../../evil", "..", "/abs", "NUL", ""])
def test_hostile_subjects_stay_inside_the_vault(tmp_path, subject):
    root = tmp_path / "vault"
    vault = Vault(root)
    note = vault.write_note(**make_job("abcdefghijk", "T", subject=subject))[0]
    assert note.parent.parent == root
    assert files_outside(tmp_path, root) == []


def test_symlinked_folder_pointing_outside_is_refused(tmp_path):
    root = tmp_path / "vault"
    outside = tmp_path / "outside"
    outside.mkdir()
    root.mkdir()
    (root / "Escape").symlink_to(outside, target_is_directory=True)
    vault = Vault(root)
    with pytest.raises(VaultError, match="outside the notes folder"):
        vault.write_note(**make_job("abcdefghijk", "T", subject="Escape"))
    assert list(outside.iterdir()) == []


# -- same title, re-processing ---------------------------------------------------------------


def test_same_title_never_overwrites_before_finalize(tmp_path):
    vault = Vault(tmp_path)
    first = vault.write_note(**make_job("aaaaaaaaaaa", "Lecture 1"))
    second = vault.write_note(**make_job("bbbbbbbbbbb", "Lecture 1"))
    assert set(first).isdisjoint(second)
    for path, vid in [(first[0], "aaaaaaaaaaa"), (second[0], "bbbbbbbbbbb")]:
        assert split_front_matter(path.read_text(encoding="utf-8"))[0]["video_id"] == vid


@pytest.mark.parametrize("order", [("aaaaaaaaaaa", "bbbbbbbbbbb"), ("bbbbbbbbbbb", "aaaaaaaaaaa")])
def test_same_title_settled_names_do_not_depend_on_order(tmp_path, order):
    vault = Vault(tmp_path)
    for vid in order:
        vault.write_note(**make_job(vid, "Lecture 1"))
    vault.finalize()
    names = sorted(p.name for p in (tmp_path / "Machine Learning").iterdir())
    assert names == ["Lecture 1 (aaaaaaaaaaa) - Assessment.md", "Lecture 1 (aaaaaaaaaaa).md",
                     "Lecture 1 (bbbbbbbbbbb) - Assessment.md", "Lecture 1 (bbbbbbbbbbb).md"]
    note = (tmp_path / "Machine Learning" / "Lecture 1 (aaaaaaaaaaa).md").read_text(encoding="utf-8")
    assert "[[Lecture 1 (aaaaaaaaaaa) - Assessment]]" in note
    meta = split_front_matter(note)[0]
    assert meta["assessment"] == "[[Lecture 1 (aaaaaaaaaaa) - Assessment]]"
    back = (tmp_path / "Machine Learning" / "Lecture 1 (aaaaaaaaaaa) - Assessment.md").read_text(encoding="utf-8")
    assert "[[Lecture 1 (aaaaaaaaaaa)]]" in back


def test_same_title_vaults_identical_whatever_the_order(tmp_path):
    jobs = [make_job("aaaaaaaaaaa", "Lecture 1"), make_job("bbbbbbbbbbb", "lecture 1", subject="Physics"),
            make_job("ccccccccccc", "Lecture 2"), make_job("ddddddddddd", "Lecture 2 - Assessment")]
    one, two = Vault(tmp_path / "one"), Vault(tmp_path / "two")
    for job in jobs:
        one.write_note(**job)
    for job in reversed(jobs):
        two.write_note(**job)
    one.finalize()
    two.finalize()
    assert vault_files(tmp_path / "one") == vault_files(tmp_path / "two")
    assert len(vault_files(tmp_path / "one")) == 8


def test_title_that_looks_like_another_notes_assessment(tmp_path):
    vault = Vault(tmp_path)
    vault.write_note(**make_job("aaaaaaaaaaa", "Topic"))
    vault.write_note(**make_job("bbbbbbbbbbb", "Topic - Assessment"))
    vault.finalize()
    owners = {p.name: split_front_matter(p.read_text(encoding="utf-8"))[0]["video_id"]
              for p in (tmp_path / "Machine Learning").iterdir()}
    assert len(owners) == 4
    assert sorted(owners.values()).count("aaaaaaaaaaa") == 2


def test_users_own_file_is_never_overwritten(tmp_path):
    folder = tmp_path / "Machine Learning"
    folder.mkdir()
    (folder / "Lecture.md").write_text("my own notes\n", encoding="utf-8")
    vault = Vault(tmp_path)
    note = vault.write_note(**make_job("aaaaaaaaaaa", "Lecture"))[0]
    vault.finalize()
    assert (folder / "Lecture.md").read_text(encoding="utf-8") == "my own notes\n"
    assert note.name == "Lecture (aaaaaaaaaaa).md" and note.exists()


def test_reprocessing_updates_own_files_in_place(tmp_path):
    vault = Vault(tmp_path)
    first = vault.write_note(**make_job("aaaaaaaaaaa", "Lecture", markdown="Old text.\n"))
    vault.write_note(**make_job("bbbbbbbbbbb", "Other"))
    again = vault.write_note(**make_job("aaaaaaaaaaa", "Lecture", markdown="New text.\n"))
    assert again == first
    assert "New text." in first[0].read_text(encoding="utf-8")
    assert len(list((tmp_path / "Machine Learning").glob("*.md"))) == 4


def test_reprocessing_with_new_title_and_subject_removes_old_files(tmp_path):
    vault = Vault(tmp_path)
    old = vault.write_note(**make_job("aaaaaaaaaaa", "Old title"))
    new = vault.write_note(**make_job("aaaaaaaaaaa", "New title", subject="Physics"))
    assert not any(p.exists() for p in old)
    assert all(p.exists() for p in new) and new[0].parent.name == "Physics"
    assert vault.find_note("aaaaaaaaaaa") == new[0]
    assert list(vault.graph.notes()) == ["aaaaaaaaaaa"]


def test_reprocessing_without_assessment_keeps_the_paid_one(tmp_path):
    vault = Vault(tmp_path)
    vault.write_note(**make_job("aaaaaaaaaaa", "Old"))
    written = vault.write_note(**make_job("aaaaaaaaaaa", "New", assessment=False))
    kept = tmp_path / "Machine Learning" / "New - Assessment.md"
    assert written == [tmp_path / "Machine Learning" / "New.md"]
    assert kept.exists() and "[[New]]" in kept.read_text(encoding="utf-8")
    assert not (tmp_path / "Machine Learning" / "Old - Assessment.md").exists()
    assert "[[New - Assessment]]" in written[0].read_text(encoding="utf-8")


def test_find_note_with_index_without_index_and_after_a_move(tmp_path):
    vault = Vault(tmp_path)
    note = vault.write_note(**make_job("aaaaaaaaaaa", "Lecture"))[0]
    assert vault.find_note("aaaaaaaaaaa") == note
    assert vault.find_note("zzzzzzzzzzz") is None
    (vault.hidden / "index.json").unlink()
    assert Vault(tmp_path).find_note("aaaaaaaaaaa") == note
    moved = tmp_path / "Elsewhere" / "Renamed by hand.md"
    moved.parent.mkdir()
    note.rename(moved)
    assert Vault(tmp_path).find_note("aaaaaaaaaaa") == moved
    moved.unlink()
    assert Vault(tmp_path).find_note("aaaaaaaaaaa") is None


def _drop_index_entry(vault: Vault, video_id: str) -> None:
    index_path = vault.hidden / "index.json"
    data = json.loads(index_path.read_text(encoding="utf-8"))
    del data["notes"][video_id]
    index_path.write_text(json.dumps(data), encoding="utf-8")


def test_find_note_finds_a_note_the_index_lost(tmp_path):
    vault = Vault(tmp_path)
    note = vault.write_note(**make_job("aaaaaaaaaaa", "Lecture"))[0]
    other = vault.write_note(**make_job("bbbbbbbbbbb", "Other"))[0]
    _drop_index_entry(vault, "aaaaaaaaaaa")
    assert "aaaaaaaaaaa" not in vault.graph.load_index()
    assert vault.find_note("aaaaaaaaaaa") == note
    assert "aaaaaaaaaaa" in vault.graph.load_index()  # repaired, so the next lookup is cheap
    assert Vault(tmp_path).find_note("bbbbbbbbbbb") == other


def test_find_note_without_the_hidden_folder_rebuilds_the_index_once(tmp_path):
    vault = Vault(tmp_path)
    note = vault.write_note(**make_job("aaaaaaaaaaa", "Lecture"))[0]
    shutil.rmtree(vault.hidden)  # e.g. a sync tool that skips dot-folders
    fresh = Vault(tmp_path)
    assert fresh.find_note("aaaaaaaaaaa") == note
    assert set(fresh.graph.load_index()) == {"aaaaaaaaaaa"}
    # rewriting the video updates its note in place instead of making a second one
    fresh.write_note(**make_job("aaaaaaaaaaa", "Lecture"))
    assert [r.path for r in fresh.iter_notes()] == [note]


def test_lookups_that_miss_do_not_reread_the_vault(tmp_path, monkeypatch):
    import yt_study_buddy.vault.scan as scan

    vault = Vault(tmp_path)
    for i in range(5):
        vault.write_note(**make_job(f"vid{i:08d}", f"Lecture {i}"))
    (tmp_path / "Machine Learning" / "My own page.md").write_text("my notes\n", encoding="utf-8")
    reads: list[str] = []
    real = scan.read_bytes

    def counting(path):
        reads.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(scan, "read_bytes", counting)
    for i in range(20):
        assert vault.find_note(f"new{i:08d}") is None
    assert reads == []  # a miss is a dictionary lookup
    # A new run verifies by stat: only the page it has never seen is read, once, and remembered.
    fresh = Vault(tmp_path)
    for i in range(20):
        assert fresh.find_note(f"new{i:08d}") is None
    assert fresh.find_note("vid00000003") == tmp_path / "Machine Learning" / "Lecture 3.md"
    assert reads == ["My own page.md"]
    assert Vault(tmp_path).find_note("vid00000001") is not None
    assert reads == ["My own page.md"]


def test_index_entry_lost_and_index_deleted_both_still_found_by_write_note(tmp_path):
    vault = Vault(tmp_path)
    note = vault.write_note(**make_job("aaaaaaaaaaa", "Old title"))[0]
    _drop_index_entry(vault, "aaaaaaaaaaa")
    new = vault.write_note(**make_job("aaaaaaaaaaa", "New title"))[0]
    assert not note.exists() and [r.path for r in vault.iter_notes()] == [new]
    (vault.hidden / "index.json").unlink()
    newer = vault.write_note(**make_job("aaaaaaaaaaa", "Newest title"))[0]
    assert not new.exists() and [r.path for r in vault.iter_notes()] == [newer]


def test_update_keeps_created_and_records_updated(tmp_path, monkeypatch):
    vault = Vault(tmp_path)
    note = vault.write_note(**make_job("aaaaaaaaaaa", "Lecture", markdown="Old text.\n"))[0]
    first = split_front_matter(note.read_text(encoding="utf-8"))[0]
    assert "updated" not in first  # a first write has no update time (fresh vaults stay identical)
    text = note.read_text(encoding="utf-8").replace(first["created"].isoformat(), "2020-01-02T03:04:05")
    note.write_text(text, encoding="utf-8")
    moved = vault.write_note(**make_job("aaaaaaaaaaa", "Renamed", subject="Physics", markdown="New.\n"))[0]
    meta = split_front_matter(moved.read_text(encoding="utf-8"))[0]
    assert meta["created"] == datetime(2020, 1, 2, 3, 4, 5)
    assert isinstance(meta["updated"], datetime) and meta["updated"] > meta["created"]
    lines = moved.read_text(encoding="utf-8").splitlines()
    assert sum(ln.startswith("created: ") for ln in lines) == 1
    assert lines.index(next(ln for ln in lines if ln.startswith("updated: "))) == \
        lines.index(next(ln for ln in lines if ln.startswith("created: "))) + 1


def test_hand_edited_created_date_is_kept(tmp_path):
    vault = Vault(tmp_path)
    note = vault.write_note(**make_job("aaaaaaaaaaa", "Lecture"))[0]
    text = re.sub(r"(?m)^created: .*$", "created: 2021-05-06", note.read_text(encoding="utf-8"))
    note.write_text(text, encoding="utf-8")
    vault.write_note(**make_job("aaaaaaaaaaa", "Lecture"))
    assert split_front_matter(note.read_text(encoding="utf-8"))[0]["created"] == "2021-05-06"


# -- atomic writes --------------------------------------------------------------------------


def test_atomic_write_disk_full_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "note.md"
    atomic_write_text(target, "old content\n")

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(VaultError) as info:
        atomic_write_text(target, "new content\n" * 1000)
    monkeypatch.undo()
    assert "disk full" in info.value.reason and "note.md" in info.value.reason
    assert target.read_text(encoding="utf-8") == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["note.md"]


def test_atomic_write_onto_a_folder_fails_cleanly(tmp_path):
    (tmp_path / "taken.json").mkdir()
    with pytest.raises(VaultError, match="taken.json"):
        atomic_write_json(tmp_path / "taken.json", {"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.json"]


def test_atomic_write_permission_denied_on_rename_removes_the_temp(tmp_path, monkeypatch):
    def denied(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", denied)
    with pytest.raises(VaultError, match="permission denied") as info:
        atomic_write_text(tmp_path / "x.md", "x")
    monkeypatch.undo()
    assert "x.md" in info.value.reason
    assert list(tmp_path.iterdir()) == []


def test_write_note_on_full_disk_keeps_previous_note(tmp_path, monkeypatch):
    vault = Vault(tmp_path)
    note = vault.write_note(**make_job("aaaaaaaaaaa", "Lecture", markdown="First version.\n"))[0]
    before = note.read_text(encoding="utf-8")
    real_write = os.write

    def full(fd, data):
        if len(data) > 200:  # the note, not the lock file
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(VaultError, match="disk full"):
        vault.write_note(**make_job("aaaaaaaaaaa", "Lecture", markdown="Second version.\n"))
    monkeypatch.undo()
    assert note.read_text(encoding="utf-8") == before
    leftovers = [p for p in tmp_path.rglob("*.tmp")]
    assert leftovers == []


# -- threads and processes ---------------------------------------------------------------------


def test_many_threads_writing_one_vault(tmp_path):
    vault = Vault(tmp_path)
    ids = [f"vid{i:08d}" for i in range(24)]
    errors: list[BaseException] = []

    def work(chunk):
        try:
            for vid in chunk:
                # Every third shares a title: same-title handling under contention.
                title = f"Lecture {int(vid[3:]) % 8}"
                vault.write_note(**make_job(vid, title, concepts=("Gradient descent", f"Topic {vid}")))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(ids[i::6],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    index = vault.graph.notes()
    assert sorted(index) == ids
    for vid, entry in index.items():
        assert split_front_matter((tmp_path / entry["path"]).read_text(encoding="utf-8"))[0]["video_id"] == vid
    report = vault.finalize()
    assert report.stats["total_notes"] == 24
    assert len(list(tmp_path.rglob("*.md"))) == 48
    assert sorted(vault.graph.notes()) == ids


def _process_writer(root: str, start: int) -> None:
    vault = Vault(root)
    for i in range(start, start + 8):
        vault.write_note(**make_job(f"proc{i:07d}", f"Shared title {i % 3}"))


def test_two_processes_writing_one_vault(tmp_path):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_process_writer, args=(str(tmp_path), start)) for start in (0, 100)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    vault = Vault(tmp_path)
    expected = sorted([f"proc{i:07d}" for i in range(8)] + [f"proc{i:07d}" for i in range(100, 108)])
    assert sorted(vault.graph.notes()) == expected
    assert sorted(r.video_id for r in vault.iter_notes()) == expected


def test_reprocessing_a_note_the_user_moved_replaces_it(tmp_path):
    vault = Vault(tmp_path)
    note, assessment = vault.write_note(**make_job("aaaaaaaaaaa", "Lecture"))
    moved = tmp_path / "Archive" / "Lecture.md"
    moved.parent.mkdir()
    note.rename(moved)
    written = vault.write_note(**make_job("aaaaaaaaaaa", "Lecture"))
    assert written == [note, assessment] and not moved.exists()
    assert [r.path for r in vault.iter_notes()] == [note]


def test_vault_modules_import_no_heavy_libraries():
    import subprocess
    import sys

    code = ("import sys, yt_study_buddy.vault.store, yt_study_buddy.vault.linker, yt_study_buddy.vault.joblog, "
            "yt_study_buddy.sources.caches, yt_study_buddy.vault.index; "
            "print(sorted(m for m in ('yaml', 'frontmatter', 'filelock', 'anthropic', 'requests') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_same_title_writers_collide_only_without_the_lock(tmp_path, monkeypatch):
    """Four threads write same-title notes at the same instant, each write slowed down."""
    import time

    import yt_study_buddy.vault.store as vault_module

    real_write = vault_module.atomic_write_text

    def slow_write(path, text):
        time.sleep(0.05)  # widen the window between choosing a file name and writing it
        real_write(path, text)

    monkeypatch.setattr(vault_module, "atomic_write_text", slow_write)
    vault = Vault(tmp_path)
    ids = [f"race{i:07d}" for i in range(4)]
    gate = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def work(vid):
        try:
            gate.wait()
            vault.write_note(**make_job(vid, "Same Title"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(vid,)) for vid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    notes = [p for p in tmp_path.rglob("*.md") if "Assessment" not in p.name]
    assert sorted(split_front_matter(p.read_text(encoding="utf-8"))[0]["video_id"] for p in notes) == ids
    assert len(list(tmp_path.rglob("*.md"))) == 8
