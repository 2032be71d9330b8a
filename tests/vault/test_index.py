"""The knowledge graph index: persistence, rebuild, merging, stats, related notes."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from tests.vault.test_store import make_job
from yt_study_buddy.vault.index import KnowledgeGraph, concept_key
from yt_study_buddy.vault.store import Vault


@pytest.fixture
def vault(tmp_path):
    v = Vault(tmp_path)
    v.write_note(**make_job("aaaaaaaaaaa", "Gradients", concepts=["Gradient descent", "Learning rate", "Loss"]))
    v.write_note(**make_job("bbbbbbbbbbb", "Backprop", concepts=["backpropagation", "gradient  Descent", "Loss"]))
    v.write_note(**make_job("ccccccccccc", "Optimisers", concepts=["Learning rate", "Momentum"]))
    v.write_note(**make_job("ddddddddddd", "Cells", subject="Biology", concepts=["Mitochondria", "loss"]))
    return v


def test_index_lists_notes_with_relative_paths(vault, tmp_path):
    notes = KnowledgeGraph(vault).notes()
    assert sorted(notes) == ["aaaaaaaaaaa", "bbbbbbbbbbb", "ccccccccccc", "ddddddddddd"]
    entry = notes["aaaaaaaaaaa"]
    assert entry["path"] == "Machine Learning/Gradients.md"
    assert entry["subject"] == "Machine Learning" and entry["title"] == "Gradients"
    assert entry["concepts"] == ["Gradient descent", "Learning rate", "Loss"]
    stored = json.loads((tmp_path / ".study-buddy" / "index.json").read_text(encoding="utf-8"))
    assert stored["notes"] == notes


def test_stats(vault):
    stats = KnowledgeGraph(vault).get_stats()
    assert stats == {"total_notes": 4, "total_concepts": 6,
                     "subjects": {"Biology": 1, "Machine Learning": 3}}


def test_concept_key_ignores_case_and_spacing():
    assert concept_key("  Gradient   DESCENT ") == concept_key("gradient descent") == "gradient descent"


def test_related_sorted_by_shared_concepts_then_name(vault):
    graph = KnowledgeGraph(vault)
    assert graph.related("aaaaaaaaaaa") == [
        ("bbbbbbbbbbb", ["Gradient descent", "Loss"]),
        ("ddddddddddd", ["Loss"]),
        ("ccccccccccc", ["Learning rate"]),
    ]  # ties broken by file name: "Cells" < "Optimisers"
    assert graph.related("missing") == []


def test_related_subject_only(vault):
    graph = KnowledgeGraph(vault)
    assert [vid for vid, _ in graph.related("aaaaaaaaaaa", subject_only=True)] == ["bbbbbbbbbbb", "ccccccccccc"]
    assert graph.related("ddddddddddd", subject_only=True) == []
    # a tie on shared concepts is broken by file name: "Backprop" < "Gradients"
    assert [vid for vid, _ in graph.related("ddddddddddd")] == ["bbbbbbbbbbb", "aaaaaaaaaaa"]


@pytest.mark.parametrize("damage", [None, "", "{not json", '{"version": 1, "notes": []}',
                                    '{"version": 99, "notes": {}}', '{"version": 1, "notes": {"x": {"title": 1}}}',
                                    "\x00\xff garbage"])
def test_index_rebuilt_when_missing_or_corrupt(vault, tmp_path, damage):
    index = tmp_path / ".study-buddy" / "index.json"
    expected = KnowledgeGraph(vault).notes()
    if damage is None:
        index.unlink()
    else:
        index.write_text(damage, encoding="utf-8", errors="surrogateescape")
    fresh = KnowledgeGraph(Vault(tmp_path))
    assert fresh.load_index() is None
    assert fresh.notes() == expected
    assert json.loads(index.read_text(encoding="utf-8"))["notes"] == expected


def test_rebuild_drops_deleted_notes_and_finds_new_ones(vault, tmp_path):
    graph = KnowledgeGraph(vault)
    (tmp_path / "Machine Learning" / "Backprop.md").unlink()
    assert "bbbbbbbbbbb" in graph.notes()  # the cache does not notice by itself
    graph.rebuild()
    assert "bbbbbbbbbbb" not in graph.notes()


def test_add_note_merges_with_what_another_process_wrote(tmp_path):
    one, two = Vault(tmp_path), Vault(tmp_path)
    g1, g2 = KnowledgeGraph(one), KnowledgeGraph(two)
    g1.add_note(video_id="v1", title="A", path=tmp_path / "S" / "A.md", subject="S", concepts=["x"])
    g2.add_note(video_id="v2", title="B", path=tmp_path / "S" / "B.md", subject="S", concepts=["y"])
    g1.add_note(video_id="v3", title="C", path=tmp_path / "S" / "C.md", subject="S", concepts=["z"])
    assert sorted(g2.notes()) == ["v1", "v2", "v3"]
    g2.remove_note("v1")
    assert sorted(g1.notes()) == ["v2", "v3"]


def _adder(root: str, prefix: str) -> None:
    graph = KnowledgeGraph(Vault(root))
    for i in range(40):
        graph.add_note(video_id=f"{prefix}{i}", title=f"{prefix}{i}", path=Path(root) / "S" / f"{prefix}{i}.md",
                       subject="S", concepts=[f"c{i}"])


def test_concurrent_processes_lose_no_index_entries(tmp_path):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_adder, args=(str(tmp_path), p)) for p in ("p", "q", "r")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert len(KnowledgeGraph(Vault(tmp_path)).load_index()) == 120


def test_reading_a_missing_vault_creates_nothing(tmp_path):
    vault = Vault(tmp_path / "none")
    graph = KnowledgeGraph(vault)
    assert graph.notes() == {} and graph.get_stats()["total_notes"] == 0
    assert vault.finalize().links == 0
    assert not (tmp_path / "none").exists()


def test_add_note_after_write_note_keeps_the_assessment_and_folder_subject(tmp_path):
    vault = Vault(tmp_path)
    files = vault.write_note(**make_job("aaaaaaaaaaa", "Waves", subject="Physics"))
    vault.write_note(**make_job("bbbbbbbbbbb", "Optics", subject="physics"))
    before = KnowledgeGraph(vault).notes()
    # A caller that records the note again with the subject it asked for changes nothing.
    KnowledgeGraph(vault).add_note(video_id="bbbbbbbbbbb", title="Optics",
                                   path=tmp_path / "Physics" / "Optics.md", subject="physics",
                                   concepts=["Gradient descent"])
    KnowledgeGraph(vault).add_note(video_id="aaaaaaaaaaa", title="Waves", path=files[0], subject="Physics",
                                   concepts=["Gradient descent"])
    assert KnowledgeGraph(vault).notes() == before
    assert before["bbbbbbbbbbb"]["assessment"] == "Physics/Optics - Assessment.md"
    assert before["bbbbbbbbbbb"]["subject"] == "Physics"
