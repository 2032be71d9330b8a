"""The web Library reads the vault's index: no note read per rerun, no lock, no write; big vaults by neighbourhood."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import yt_study_buddy.vault.scan as scan
from tests.vault.test_store import make_job
from yt_study_buddy.vault.store import Vault
from yt_study_buddy.webui.library import (
    EDGES_PER_NOTE,
    Library,
    LibraryNote,
    build_graph_dot,
    folder_problem,
    load_library,
    neighbourhood,
)


def build(root: Path, count: int) -> Vault:
    vault = Vault(root)
    for i in range(count):
        vault.write_note(**make_job(f"vid{i:08d}", f"Lecture {i}", subject=f"Course {i % 3}", assessment=False,
                                    concepts=[f"topic {i}", f"topic {i + 1}", "everywhere"]))
    vault.finalize()
    return vault


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*") if p.is_file()}


def test_reruns_read_no_note_and_the_cache_follows_the_index(tmp_path, monkeypatch):
    vault = build(tmp_path, 12)
    reads: list[str] = []
    real = scan.read_bytes
    monkeypatch.setattr(scan, "read_bytes", lambda path: reads.append(Path(path).name) or real(path))
    first = load_library(tmp_path)
    assert len(first.notes) == 12 and first.stats["total_notes"] == 12
    assert reads == []  # the index is trusted by stat: no note opened
    assert load_library(tmp_path) is first  # a rerun with an unchanged index: the same object
    vault.write_note(**make_job("vidnew00001", "New lecture", subject="Course 0", concepts=["topic 4"]))
    again = load_library(tmp_path)
    assert again is not first and len(again.notes) == 13 and reads == []


def test_browsing_never_writes_and_never_waits_for_the_vault_lock(tmp_path):
    vault = build(tmp_path, 5)
    (tmp_path / ".study-buddy" / "index.json").unlink()  # even a repair is not written by the page
    before = snapshot(tmp_path)
    held, release = threading.Event(), threading.Event()

    def hold_lock():
        with vault.lock():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    held.wait(10)
    try:
        start = time.perf_counter()
        library = load_library(tmp_path)
        assert time.perf_counter() - start < 5  # did not wait for the batch's lock (held 30 s)
    finally:
        release.set()
        holder.join()
    assert len(library.notes) == 5
    assert snapshot(tmp_path) == before


def test_an_inaccessible_folder_gives_a_message(tmp_path, monkeypatch):
    assert folder_problem(tmp_path) is None and folder_problem(tmp_path / "not yet") is None
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert "is a file" in folder_problem(tmp_path / "file")

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "is_dir", denied)
    monkeypatch.setattr(Path, "exists", denied)
    assert "Permission denied" in folder_problem(tmp_path)
    assert load_library(tmp_path).notes == []


def test_a_big_vault_is_drawn_as_a_notes_neighbourhood(tmp_path):
    notes = [LibraryNote(f"v{i:04d}", f"Note {i}", f"S{i % 20}", tmp_path / f"{i}.md",
                         concepts=[f"c{i}", f"c{i + 1}", f"c{i + 2}", "common"]) for i in range(2000)]
    library = Library(notes, {})
    around = neighbourhood(library, "v1000")
    assert around == neighbourhood(notes, "v1000")
    assert around[0].video_id == "v1000" and 5 <= len(around) <= 40
    assert {n.video_id for n in around} >= {"v0999", "v1001", "v0998", "v1002"}
    dot = build_graph_dot(around, focus="v1000", universe=library)
    assert 'fillcolor="#ffe9a8"' in dot and dot.count(" -- ") <= EDGES_PER_NOTE * len(around)
    # "common" is held by every note: it joins nothing (no picture where everything touches everything)
    assert 'label="common"' not in dot


def test_graph_edges_are_capped_per_note(tmp_path):
    notes = [LibraryNote(f"v{i}", f"Note {i}", "S", tmp_path / f"{i}.md", concepts=["x", "y"]) for i in range(30)]
    dot = build_graph_dot(notes)
    assert 0 < dot.count(" -- ") <= EDGES_PER_NOTE * 30


def test_the_page_draws_a_big_vault_around_the_chosen_note(tmp_path):
    from streamlit.testing.v1 import AppTest

    from yt_study_buddy.webui.library import MAX_GRAPH_NOTES

    vault = Vault(tmp_path / "big")
    for i in range(MAX_GRAPH_NOTES + 10):
        vault.write_note(**make_job(f"big{i:08d}", f"Lecture {i}", subject="Physics", assessment=False,
                                    concepts=[f"idea {i}", f"idea {i + 1}"], markdown=f"Idea {i}.\n"))
    vault.finalize()
    app = Path(__file__).resolve().parents[2] / "streamlit_app.py"
    at = AppTest.from_file(str(app), default_timeout=120)
    at.run()
    at.sidebar.text_input(key="output").input(str(tmp_path / "big")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.selectbox(key="note").options) == MAX_GRAPH_NOTES + 10
    at.selectbox(key="note").select("big00000080").run()
    graph = at.get("graphviz_chart")[0].proto.spec
    assert graph.count("[label=") - graph.count(" -- ") <= 41  # the note and its neighbours, not 160 boxes
    assert "Lecture 80" in graph and "Lecture 20\"" not in graph
    assert any("too many for one picture" in c.value for c in at.caption)


def test_the_page_says_so_when_the_folder_cannot_be_opened(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    import yt_study_buddy.webui.library_tab as library_tab

    monkeypatch.setattr(library_tab, "folder_problem", lambda root: f"Cannot open {root}: Permission denied.")
    app = Path(__file__).resolve().parents[2] / "streamlit_app.py"
    at = AppTest.from_file(str(app), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Permission denied" in e.value for e in at.error)


def test_a_url_from_front_matter_cannot_add_markup_to_the_page():
    from yt_study_buddy.webui.library import link_url

    hostile = "https://youtu.be/abc)![pixel](https://tracker.example/p.png"
    safe = link_url(hostile)
    assert safe is not None and ")" not in safe and "(" not in safe and "[" not in safe
    assert f"[Watch the video]({safe})".count("](") == 1
    assert link_url("https://youtu.be/abcdefghijk?t=62") == "https://youtu.be/abcdefghijk?t=62"
    for bad in ("javascript:alert(1)", "", None, "ftp://x", "https://" + "a" * 3000):
        assert link_url(bad) is None


def test_the_review_tab_says_so_when_the_folder_cannot_be_opened(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    real_is_dir = Path.is_dir
    blocked = tmp_path / "locked"

    def is_dir(self):
        if self == blocked:  # what Python 3.11 raises for a folder under one we may not enter
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_dir(self)

    monkeypatch.setattr(Path, "is_dir", is_dir)
    monkeypatch.setattr(Path, "exists", lambda self: True if self == blocked else real_is_dir(self) or
                        Path.is_file(self))
    app = Path(__file__).resolve().parents[2] / "streamlit_app.py"
    at = AppTest.from_file(str(app), default_timeout=120)
    at.run()
    at.sidebar.text_input(key="output").input(str(blocked)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert sum("Permission denied" in e.value for e in at.error) >= 2  # the Library and the Review tabs
