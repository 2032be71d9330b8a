"""The knowledge graph index: persistence, rebuild, merging, stats, related notes."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from tests.vault.test_store import make_job
from yt_study_buddy.vault.index import concept_key
from yt_study_buddy.vault.store import KnowledgeGraph, Vault


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


def test_two_vault_objects_see_each_others_notes(tmp_path):
    # Two Vault objects on one folder behave as two processes: each reloads what the other saved.
    one, two = Vault(tmp_path), Vault(tmp_path)
    one.write_note(**make_job("v1aaaaaaaaa", "A", concepts=["x"], assessment=False))
    two.write_note(**make_job("v2aaaaaaaaa", "B", concepts=["y"], assessment=False))
    one.write_note(**make_job("v3aaaaaaaaa", "C", concepts=["z"], assessment=False))
    assert sorted(two.graph.notes()) == ["v1aaaaaaaaa", "v2aaaaaaaaa", "v3aaaaaaaaa"]
    assert two.find_note("v3aaaaaaaaa") == tmp_path / "Machine Learning" / "C.md"
    (tmp_path / "Machine Learning" / "A.md").unlink()
    two.write_note(**make_job("v4aaaaaaaaa", "D", concepts=["w"], assessment=False))
    assert one.find_note("v1aaaaaaaaa") is None
    assert sorted(one.graph.notes()) == ["v2aaaaaaaaa", "v3aaaaaaaaa", "v4aaaaaaaaa"]


def _adder(root: str, prefix: str) -> None:
    vault = Vault(root)
    for i in range(40):
        vault.write_note(**make_job(f"{prefix}{i:010d}", f"{prefix}{i}", concepts=[f"c{i}"], assessment=False))


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


def test_index_records_the_assessment_and_the_folder_as_subject(tmp_path):
    vault = Vault(tmp_path)
    vault.write_note(**make_job("aaaaaaaaaaa", "Waves", subject="Physics"))
    vault.write_note(**make_job("bbbbbbbbbbb", "Optics", subject="physics"))
    before = KnowledgeGraph(vault).notes()
    # A fresh process verifying the same files finds the same entries.
    assert KnowledgeGraph(Vault(tmp_path)).notes() == before
    assert before["bbbbbbbbbbb"]["assessment"] == "Physics/Optics - Assessment.md"
    assert before["bbbbbbbbbbb"]["subject"] == "Physics"
