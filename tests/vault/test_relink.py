"""Incremental linking: the same bytes as a full relink, whatever the order, without reading the rest."""

from __future__ import annotations

import random
import shutil
import threading
from pathlib import Path

import pytest

import yt_study_buddy.vault.relink as relink_module
from tests.vault.test_store import make_job
from yt_study_buddy.vault.linker import (
    MAX_LINKS,
    RELATED_HEADING,
    ConceptTable,
    decode_signature,
    link_body,
    notes_to_relink,
    signature,
)
from yt_study_buddy.vault.index import MAX_CONCEPT_NOTES
from yt_study_buddy.vault.store import Vault

TOPICS = {
    "Machine Learning": ["gradient descent", "learning rate", "loss function", "backpropagation", "momentum",
                         "overfitting", "regularization", "neural network", "weight decay", "gradient"],
    "Biology": ["mitochondria", "glucose", "ATP synthase", "photosynthesis", "chlorophyll", "electron transport chain",
                "cell membrane", "gradient", "enzyme"],
    "Physics": ["entropy", "temperature", "heat engine", "energy", "gradient descent", "momentum", "friction"],
}


def lecture_jobs(count: int, seed: int = 3) -> list[dict]:
    """Small lectures whose concepts and texts overlap within and across subjects (same titles too)."""
    rng = random.Random(seed)
    jobs = []
    for i in range(count):
        subject = list(TOPICS)[i % len(TOPICS)]
        pool = TOPICS[subject]
        concepts = rng.sample(pool, 3)
        mentioned = rng.sample([c for words in TOPICS.values() for c in words], 6)
        text = (f"## Overview\n\nLecture {i} is about {', '.join(concepts)}.\n\n"
                f"Along the way it mentions {'; '.join(mentioned)}, and “quoted {mentioned[0]} stays plain”.\n\n"
                f"### {mentioned[1]} in a heading\n\n- a point on {mentioned[2]} and the {mentioned[3]}\n")
        title = f"Lecture {i % 7}" if i % 5 == 0 else f"{subject} {i}"
        jobs.append(make_job(f"vid{i:08d}", title, subject=subject, concepts=concepts, markdown=text,
                             assessment=i % 2 == 0))
    return jobs


def files(root: Path) -> dict[str, bytes]:
    """Every visible file's bytes, with the `created:` line (a clock reading) blanked."""
    out = {}
    for path in sorted(root.rglob("*.md")):
        rel = path.relative_to(root).as_posix()
        if not rel.startswith("."):
            lines = [b"created: X" if ln.startswith(b"created: ") else ln for ln in path.read_bytes().split(b"\n")]
            out[rel] = b"\n".join(lines)
    return out


def relinked_copy(root: Path, where: Path, subject_only: bool = False) -> dict[str, bytes]:
    """Copy a vault and link every note of the copy (the full pass)."""
    shutil.copytree(root, where)
    Vault(where).finalize(relink=True, subject_only=subject_only)
    return files(where)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_linking_equals_a_full_relink_on_shuffled_orders(tmp_path, seed):
    jobs = lecture_jobs(14)
    order = list(range(len(jobs)))
    random.Random(seed).shuffle(order)
    vault = Vault(tmp_path / "inc")
    for n, i in enumerate(order):
        vault.write_note(**jobs[i])
        if n % 3 != 1:  # several notes per pass sometimes, one per pass otherwise
            vault.finalize()
    vault.finalize()
    incremental = files(tmp_path / "inc")
    assert incremental == relinked_copy(tmp_path / "inc", tmp_path / "full")
    # ...and the same as another order built in one batch, by threads
    other = Vault(tmp_path / "threads")
    threads = [threading.Thread(target=other.write_note, kwargs=jobs[i]) for i in reversed(order)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.finalize()
    assert files(tmp_path / "threads") == incremental
    assert sum(b"[[" in text and b"|" in text for text in incremental.values()) > 5


def test_incremental_linking_follows_hand_edits_renames_deletes_and_reprocessing(tmp_path):
    jobs = lecture_jobs(12, seed=9)
    vault = Vault(tmp_path / "v")
    for job in jobs:
        vault.write_note(**job)
    vault.finalize()
    root = tmp_path / "v"
    ml = root / "Machine Learning"
    # reprocessed with other concepts and a new title
    vault.write_note(**{**jobs[0], **make_job("vid00000000", "Renamed lecture", subject="Machine Learning",
                                               concepts=["friction", "enzyme", "weight decay"],
                                               markdown="## Overview\n\nFriction, enzyme and momentum.\n")})
    vault.finalize()
    assert files(root) == relinked_copy(root, tmp_path / "c1")
    # deleted, moved and renamed by hand, and a body edited by hand
    notes = sorted(p for p in ml.glob("*.md") if "Assessment" not in p.name)
    notes[1].unlink()
    (root / "Archive").mkdir()
    notes[2].rename(root / "Archive" / "kept.md")
    notes[3].rename(ml / "renamed by hand.md")
    bio = sorted(p for p in (root / "Biology").glob("*.md") if "Assessment" not in p.name)[0]
    bio.write_text(bio.read_text(encoding="utf-8") + "\nAdded by hand: backpropagation and entropy.\n",
                   encoding="utf-8")
    Vault(root).finalize()  # a new run: the index is verified by stat, the changes found
    assert files(root) == relinked_copy(root, tmp_path / "c2")
    kept = list((root / "Archive").glob("*.md"))  # settled back to its title's name, in its new folder
    assert len(kept) == 1 and "[[" in kept[0].read_text(encoding="utf-8")


def test_subject_only_switch_relinks_everything_the_same_way(tmp_path):
    vault = Vault(tmp_path / "v")
    for job in lecture_jobs(9):
        vault.write_note(**job)
    vault.finalize()
    vault.finalize(subject_only=True)
    only = files(tmp_path / "v")
    shutil.copytree(tmp_path / "v", tmp_path / "c")
    Vault(tmp_path / "c").finalize(subject_only=True, relink=True)
    assert files(tmp_path / "c") == only
    assert Vault(tmp_path / "v").finalize().links == Vault(tmp_path / "c").finalize(relink=True).links


def _count_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    real = relink_module.read_bytes

    def counting(path):
        reads.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(relink_module, "read_bytes", counting)
    return reads


def test_a_run_with_nothing_new_reads_and_writes_no_note(tmp_path, monkeypatch):
    vault = Vault(tmp_path)
    for job in lecture_jobs(10):
        vault.write_note(**job)
    first = vault.finalize()
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.md")}
    reads = _count_reads(monkeypatch)
    again = Vault(tmp_path).finalize()
    assert reads == [] and again.relinked == 0 and again.links == first.links > 0
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.md")} == stamps


def test_a_new_lecture_reads_only_the_notes_it_can_affect(tmp_path, monkeypatch):
    vault = Vault(tmp_path)
    for i in range(30):
        vault.write_note(**make_job(f"iso{i:08d}", f"Isolated {i}", subject="History",
                                    concepts=[f"dynasty {i}", f"treaty {i}"],
                                    markdown=f"## Overview\n\nThe dynasty {i} signed treaty {i}.\n"))
    vault.finalize()
    reads = _count_reads(monkeypatch)
    vault.write_note(**make_job("newnote0001", "New", subject="History", concepts=["treaty 4", "empire"],
                                markdown="## Overview\n\nAn empire and the dynasty 7 treaty 4.\n"))
    report = vault.finalize()
    # the new note and the one sharing "treaty 4"; not the other 29 (the one it links to included)
    assert sorted(reads) == ["Isolated 4.md", "New.md"]
    assert report.relinked == 2
    assert "[[New]]: treaty 4" in (tmp_path / "History" / "Isolated 4.md").read_text(encoding="utf-8")
    assert "[[Isolated 7|dynasty 7]]" in (tmp_path / "History" / "New.md").read_text(encoding="utf-8")
    # a later lecture whose concept the old notes' texts mention reaches them through their signatures
    vault.write_note(**make_job("newnote0002", "Newer", subject="History", concepts=["dynasty 9 treaty 9"],
                                markdown="## Overview\n\nNothing else.\n"))
    reads.clear()
    vault.finalize()
    assert sorted(reads) == ["Isolated 9.md", "Newer.md"]
    assert "[[Newer|dynasty 9 signed treaty 9]]" not in (tmp_path / "History" / "Isolated 9.md").read_text("utf-8")


def test_link_state_lost_or_corrupt_means_a_full_pass(tmp_path, monkeypatch):
    vault = Vault(tmp_path)
    for job in lecture_jobs(6):
        vault.write_note(**job)
    vault.finalize()
    before = files(tmp_path)
    state = tmp_path / ".study-buddy" / "links.json"
    for damage in (None, "{not json", '{"version": 1, "linker": 2, "subject_only": false, "notes": []}'):
        if damage is None:
            state.unlink()
        else:
            state.write_text(damage, encoding="utf-8")
        reads = _count_reads(monkeypatch)
        Vault(tmp_path).finalize()
        assert len(reads) == 6 and files(tmp_path) == before
        monkeypatch.undo()


def test_one_note_that_cannot_be_written_is_skipped_and_the_rest_linked(tmp_path, monkeypatch, caplog):
    import yt_study_buddy.vault.store as store_module

    vault = Vault(tmp_path)
    for job in lecture_jobs(6):
        vault.write_note(**job)
    real = store_module.atomic_write_text

    def failing(path, text, **kwargs):
        if Path(path).name == "Lecture 0.md":
            raise OSError(5, "Input/output error")
        real(path, text, **kwargs)

    monkeypatch.setattr(store_module, "atomic_write_text", failing)
    report = vault.finalize()
    assert report.skipped == ["Machine Learning/Lecture 0.md"]
    assert "skipped linking Machine Learning/Lecture 0.md" in caplog.text
    linked = [p for p in tmp_path.rglob("*.md") if RELATED_HEADING in p.read_text(encoding="utf-8")]
    assert len(linked) >= 3
    monkeypatch.undo()
    assert Vault(tmp_path).finalize().skipped == []  # tried again next time
    assert RELATED_HEADING in (tmp_path / "Machine Learning" / "Lecture 0.md").read_text(encoding="utf-8")


def test_finalize_quietly_never_raises(tmp_path, monkeypatch, caplog):
    import yt_study_buddy.vault.store as store_module

    vault = Vault(tmp_path)
    vault.write_note(**lecture_jobs(1)[0])

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(store_module, "link_pass", broken)
    assert vault.finalize_quietly().links == 0
    assert "internal error" in caplog.text and "RuntimeError: a bug" in caplog.text


# -- pure parts ---------------------------------------------------------------------------------


def _index(entries):
    return {vid: {"title": vid, "path": f"{subject}/{vid}.md", "subject": subject, "concepts": list(concepts),
                  "assessment": None} for vid, subject, concepts in entries}


def test_a_concept_held_by_too_many_notes_relates_and_links_nothing():
    crowd = [(f"n{i:03d}", "Physics", ["entropy", f"topic {i}"]) for i in range(MAX_CONCEPT_NOTES - 1)]
    text = "# T\n\nx\n\nEntropy and the heat engine.\n"
    notes = _index(crowd + [("me", "Physics", ["entropy"]), ("other", "Physics", ["heat engine"])])
    assert "|Entropy]]" in link_body(text, "other", notes)[0]  # as many holders as allowed: still linked
    assert len(ConceptTable(notes).related("me")) == MAX_CONCEPT_NOTES - 1
    notes = _index(crowd + [("me", "Physics", ["entropy"]), ("me2", "Physics", ["entropy"]),
                            ("other", "Physics", ["heat engine"])])
    body, _ = link_body(text, "other", notes)
    assert "[[" not in body and RELATED_HEADING not in body
    assert ConceptTable(notes).related("me") == []


def test_links_per_note_are_capped_in_reading_order():
    targets = [(f"t{i:03d}", "S", [f"term{i:03d}"]) for i in range(MAX_LINKS + 10)]
    notes = _index(targets + [("me", "S", ["mine"])])
    text = " ".join(f"term{i:03d}" for i in reversed(range(MAX_LINKS + 10)))
    body, count = link_body(f"# T\n\nx\n\n{text}\n", "me", notes)
    assert body.count("[[") == MAX_LINKS == count
    assert f"[[t{MAX_LINKS + 9:03d}|" in body and "[[t000|" not in body


def test_a_signature_never_misses_a_word():
    rng = random.Random(5)
    words = {"".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 9))) for _ in range(700)}
    size, bits = decode_signature(signature(words))
    assert size >= 7000
    sig = {"a": (size, bits)}
    a = {"path": "S/a.md", "subject": "S", "concepts": []}
    for word in list(words)[:200]:
        entry = {"path": "S/b.md", "subject": "S", "concepts": [word]}
        assert notes_to_relink({"a": a}, {"a": a, "b": entry}, [], sig) == {"a", "b"}
    alarms = sum(notes_to_relink({"a": a}, {"a": a, "b": {"path": "S/b.md", "subject": "S", "concepts": [f"zz{w}zz"]}},
                                 [], sig) == {"a", "b"} for w in range(300))
    assert alarms < 30  # a few false alarms are allowed: they cost a read, never a wrong link


@pytest.mark.parametrize("subject_only", [False, True])
def test_incremental_equals_full_with_common_concepts_and_moves_between_subjects(tmp_path, subject_only, monkeypatch):
    import yt_study_buddy.vault.index as index_module
    import yt_study_buddy.vault.linker as linker_module

    # A small cap, so concepts become too common and stop being so as notes come and go.
    monkeypatch.setattr(index_module, "MAX_CONCEPT_NOTES", 4)
    monkeypatch.setattr(linker_module, "MAX_CONCEPT_NOTES", 4)
    rng = random.Random(11 + subject_only)
    words = ["alpha", "beta gamma", "delta", "epsilon zeta", "eta", "theta", "iota kappa", "lambda"]
    vault = Vault(tmp_path / "v")
    live: list[str] = []
    for step in range(24):
        vid = f"step{step:07d}"
        if live and rng.random() < 0.25:  # reprocess an earlier video: new concepts, maybe another subject
            vid = rng.choice(live)
        subject = rng.choice(["Alpha", "Beta"])
        concepts = rng.sample(words, 2)
        text = f"## Overview\n\n{'. '.join(rng.sample(words, 4))}. And {rng.choice(words)} again.\n"
        vault.write_note(**make_job(vid, f"Note {step % 9}", subject=subject, concepts=concepts, markdown=text,
                                    assessment=False))
        live.append(vid)
        if step % 5 == 4:  # and a note deleted by hand
            gone = sorted(tmp_path.glob("v/*/*.md"))[0]
            gone.unlink()
        vault.finalize(subject_only=subject_only)
        snapshot = files(tmp_path / "v")
        assert snapshot == relinked_copy(tmp_path / "v", tmp_path / f"full{step}", subject_only), step


def test_a_concept_becoming_common_reorders_related_notes_and_their_targets(tmp_path, monkeypatch):
    """A note's Related section can stay the same while the order of its other related notes (and so
    where one of its mentions links) changes: the incremental pass must still relink it."""
    import yt_study_buddy.vault.index as index_module
    import yt_study_buddy.vault.linker as linker_module

    for module in (index_module, linker_module):
        monkeypatch.setattr(module, "MAX_CONCEPT_NOTES", 4)
    monkeypatch.setattr(linker_module, "MAX_RELATED", 2)
    notes = [("me", "Me", ["kappa", "f1", "f2", "f3", "g1", "g2", "g3", "alef", "bet"],
              "Here the jay phrase shows up.\n"),
             ("fill1", "Filler one", ["f1", "f2", "f3"], "x\n"), ("fill2", "Filler two", ["g1", "g2", "g3"], "x\n"),
             ("aaa", "Zeta", ["kappa", "alef", "jay phrase"], "x\n"), ("bbb", "Beta", ["bet", "jay phrase"], "x\n"),
             ("c1", "Other one", ["kappa"], "x\n"), ("c2", "Other two", ["kappa"], "x\n")]
    vault = Vault(tmp_path / "v")
    for vid, title, concepts, text in notes:
        vault.write_note(**make_job(f"{vid:0<11}", title, concepts=concepts, markdown=text, assessment=False))
    vault.finalize()
    me = tmp_path / "v" / "Machine Learning" / "Me.md"
    assert "[[Zeta|jay phrase]]" in me.read_text(encoding="utf-8")
    # A fifth holder makes "kappa" too common: Zeta and Beta now share one concept each with Me.
    vault.write_note(**make_job("x0000000000", "Newcomer", concepts=["kappa"], markdown="x\n", assessment=False))
    vault.finalize()
    assert "[[Beta|jay phrase]]" in me.read_text(encoding="utf-8")
    assert files(tmp_path / "v") == relinked_copy(tmp_path / "v", tmp_path / "full")


def test_a_run_with_nothing_new_still_notices_a_freed_name(tmp_path):
    folder = tmp_path / "Machine Learning"
    folder.mkdir()
    (folder / "Lecture.md").write_text("my own page\n", encoding="utf-8")
    vault = Vault(tmp_path)
    vault.write_note(**make_job("aaaaaaaaaaa", "Lecture", assessment=False))
    vault.finalize()
    assert (folder / "Lecture (aaaaaaaaaaa).md").exists()
    assert Vault(tmp_path).finalize().renamed == 0  # nothing changed: nothing to settle
    (folder / "Lecture.md").unlink()
    assert Vault(tmp_path).finalize().renamed == 1
    assert (folder / "Lecture.md").exists() and not (folder / "Lecture (aaaaaaaaaaa).md").exists()
