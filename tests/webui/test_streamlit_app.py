"""The Streamlit app: its helpers directly, and its flows through streamlit.testing's AppTest.

AppTest runs streamlit_app.py in this process, so the app's YouTube and Claude
traffic goes to the loopback fakes through the real libraries.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from yt_study_buddy.errors import StudyBuddyError, VideoUnavailable
from yt_study_buddy.events import JobEvent, Stage
from yt_study_buddy.sources.inputs import Entry, read_list_file
from yt_study_buddy.webui.jobs import (
    BatchRunner,
    BatchView,
    Channel,
    entries_from_text,
    failure_rows,
    log_rows,
    save_uploads,
)
from yt_study_buddy.webui.library import (
    LibraryNote,
    build_graph_dot,
    dot_quote,
    load_library,
    read_note,
    read_note_body,
    safe_markdown,
)

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "streamlit_app.py")
EXAMPLES = REPO / "examples"
TIMEOUT = 180  # a busy 2-core machine; a normal run takes a few seconds

streamlit_testing = pytest.importorskip("streamlit.testing.v1")
AppTest = streamlit_testing.AppTest


def example_files() -> list[Path]:
    """The bundled lecture caption files listed in examples/lectures.txt."""
    return [Path(entry.base_dir or EXAMPLES) / entry.text for entry in read_list_file(EXAMPLES / "lectures.txt")]


def start_app() -> "AppTest":
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def busy(at: "AppTest") -> bool:
    """True while the page shows a running batch (Process disabled)."""
    return at.button(key="process").disabled


def finish(at: "AppTest", timeout: float = TIMEOUT) -> "AppTest":
    """Rerun the page, as the browser's progress timer does, until no batch runs."""
    deadline = time.monotonic() + timeout
    while busy(at):
        assert time.monotonic() < deadline, "the batch did not finish"
        time.sleep(0.1)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rendered_text(at: "AppTest") -> str:
    """Every string the page sent to the browser (all element protos, main and sidebar)."""
    out: list[str] = []

    def walk(node: object) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    walk(at.sidebar)
    return "\n".join(out)


def upload_examples(at: "AppTest") -> list[Path]:
    files = example_files()
    at.file_uploader(key="caption_files").set_value(
        [(f.name, f.read_bytes(), "text/plain") for f in files])
    return files


# --------------------------------------------------------------------------- helpers, no Streamlit


def test_safe_markdown_neutralises_raw_html_but_keeps_code_and_entities():
    text = ("# Title <script>alert(1)</script>\n"
            "Text <img src=x onerror=alert(1)> and <!-- hidden --> &nbsp; a < b\n"
            "See [[Other Note|the other note]] and [[Plain]].\n"
            "Inline `<b>code</b>` stays.\n"
            "```html\n<div>in a fence</div>\n```\n"
            "<iframe src=//evil></iframe>\n")
    out = safe_markdown(text)
    assert "<script" not in out and "<img" not in out and "<iframe" not in out and "<!--" not in out
    assert "&lt;script>" in out and "&lt;img src=x" in out and "&lt;!-- hidden" in out
    assert "&nbsp;" in out and "a < b" in out  # entities and lone '<' are not HTML
    assert "*the other note*" in out and "*Plain*" in out and "[[" not in out
    assert "`<b>code</b>`" in out
    assert "```html\n<div>in a fence</div>\n```" in out


def test_safe_markdown_turns_obsidian_callouts_into_bold_titles():
    out = safe_markdown("> [!success]- Answers\n> 1. ATP\n\n> [!note]\n> text\n")
    assert out == "> **Answers**\n> 1. ATP\n\n> **Note**\n> text\n"


def test_safe_markdown_escapes_after_a_closed_fence():
    out = safe_markdown("~~~\n<x>\n~~~\n<b>bold</b>\n")
    assert out == "~~~\n<x>\n~~~\n&lt;b>bold&lt;/b>\n"


def test_dot_quote_escapes_quotes_backslashes_and_control_characters():
    assert dot_quote('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c d"'
    assert dot_quote("x\\") == '"x\\\\"'  # a trailing backslash cannot escape the closing quote


def test_graph_dot_joins_notes_sharing_concepts_and_escapes_titles(tmp_path):
    notes = [
        LibraryNote("a", 'Quote " and \\ backslash', "ML", tmp_path / "a.md", concepts=["Gradient", "Loss"]),
        LibraryNote("b", "Second } { ; -- note", "ML", tmp_path / "b.md", concepts=["gradient"]),
        LibraryNote("c", "Unrelated", "Biology", tmp_path / "c.md", concepts=["ATP"]),
    ]
    dot = build_graph_dot(notes)
    assert dot.startswith("graph knowledge {") and dot.rstrip().endswith("}")
    assert 'n0 -- n1 [label="gradient"' in dot
    assert "n2 --" not in dot and "-- n2" not in dot
    assert 'label="ML"' in dot and 'label="Biology"' in dot
    assert 'tooltip="Quote \\" and \\\\ backslash"' in dot
    # Every quote in the text is either a delimiter or escaped: balanced per line.
    for line in dot.splitlines():
        assert line.replace('\\\\', '').replace('\\"', '').count('"') % 2 == 0, line


def test_graph_dot_caps_the_number_of_notes(tmp_path):
    notes = [LibraryNote(f"v{i}", f"Note {i}", "S", tmp_path / f"{i}.md", concepts=["x"]) for i in range(10)]
    dot = build_graph_dot(notes, max_notes=4)
    assert "n3 [" in dot and "n4 [" not in dot


def test_load_library_pairs_notes_with_assessments_and_skips_hidden_files(tmp_path):
    def write(rel: str, front: str, body: str = "body\n") -> None:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\n{front}---\n\n{body}", encoding="utf-8")

    write("Biology/Cells.md", "type: study-note\ntitle: Cells\nvideo_id: v1\nsubject: Biology\n"
          "url: https://youtu.be/v1\nconcepts: [mitosis]\nassessment: Cells - Assessment.md\n", "# Cells\n")
    write("Biology/Cells - Assessment.md", "type: assessment\ntitle: Cells - Assessment\nvideo_id: v1\n")
    write("Art/Colour.md", "type: study-note\ntitle: Colour\nvideo_id: v2\nsubject: Art\n")
    write(".study-buddy/uploads/x.md", "type: study-note\ntitle: Hidden\nvideo_id: v3\n")
    write("Art/My own page.md", "title: not ours\n")
    (tmp_path / "Art" / "plain.md").write_text("no front matter", encoding="utf-8")
    notes = load_library(tmp_path).notes
    assert [(n.subject, n.title, n.video_id) for n in notes] == [("Art", "Colour", "v2"), ("Biology", "Cells", "v1")]
    cells = notes[1]
    assert cells.assessment == tmp_path / "Biology" / "Cells - Assessment.md" and notes[0].assessment is None
    assert cells.concepts == ["mitosis"] and read_note(cells.path)[0]["url"] == "https://youtu.be/v1"
    assert read_note_body(cells.path) == "# Cells\n"
    assert load_library(tmp_path / "missing").notes == []
    assert not (tmp_path / ".study-buddy" / "index.json").exists()  # browsing never writes


def test_save_uploads_keeps_files_inside_the_folder_with_safe_names(tmp_path):
    folder = tmp_path / "vault" / ".study-buddy" / "uploads"
    paths = save_uploads(folder, [("../../evil.vtt", b"WEBVTT\n"), ("C:\\x\\CON.srt", b"1\n"),
                                  ("lecture.VTT", b"one"), ("lecture.vtt", b"two")])
    assert all(p.parent == folder for p in paths), paths
    assert [p.name for p in paths] == ["evil.vtt", "CON_.srt", "lecture.vtt", "lecture (2).vtt"]
    assert (folder / "lecture.vtt").read_bytes() == b"one" and (folder / "lecture (2).vtt").read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(p.name for p in paths)
    with pytest.raises(Exception, match="unsupported file type"):
        save_uploads(folder, [("movie.exe", b"MZ")])


def test_uploads_never_follow_a_link_out_of_the_vault(tmp_path):
    root = tmp_path / "vault"
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / ".study-buddy").mkdir(parents=True)
    (root / ".study-buddy" / "uploads").symlink_to(outside, target_is_directory=True)
    with pytest.raises(StudyBuddyError, match="link .*uploads"):
        save_uploads(root / ".study-buddy" / "uploads", [("lecture.vtt", b"WEBVTT\n")], root=root)
    assert list(outside.iterdir()) == []


def test_entries_from_text_skips_blanks_and_comments():
    entries = entries_from_text("  https://youtu.be/dQw4w9WgXcQ \n\n# a comment\nabc\n")
    assert [e.text for e in entries] == ["https://youtu.be/dQw4w9WgXcQ", "abc"]
    assert entries[1].origin == "line 4"


def test_batch_view_folds_events_results_and_report_into_rows():
    from yt_study_buddy.app import BatchReport
    from yt_study_buddy.sources.inputs import resolve_sources
    from yt_study_buddy.batch.pool import ProcessingMetrics, ProcessingResult

    sources, rejected = resolve_sources([Entry("dQw4w9WgXcQ"), Entry("not a link")])
    view = BatchView()
    view.apply(("resolved", sources, rejected))
    assert view.total == 1 and view.fraction == 0.0
    assert view.table()[1]["time (s)"] == ""  # not started: an empty cell, never "None"
    url = sources[0].url
    view.apply(("event", JobEvent(Stage.STARTED, "dQw4w9WgXcQ", url, at=100.0)))
    view.apply(("event", JobEvent(Stage.FETCHED, "dQw4w9WgXcQ", url, "A Title", "via x", at=101.0)))
    row = view.table(now=103.0)[1]
    assert row["title"] == "A Title" and row["state"] == "writing notes" and row["time (s)"] == "3.0"
    view.apply(("event", JobEvent(Stage.PART, "dQw4w9WgXcQ", url, "A Title", "part 2 of 12", at=102.0)))
    assert view.table(now=103.0)[1]["state"] == "writing notes (part 2 of 12)"  # a long lecture
    result = ProcessingResult(url=url, video_id="dQw4w9WgXcQ", success=False, title="A Title",
                              error="blocked by YouTube", retryable=True, duration_seconds=4.25,
                              method="youtube-transcript-api")
    view.apply(("progress", "failed", 1, 1))
    view.apply(("result", result, 1, 1))
    metrics = ProcessingMetrics()
    metrics.add_result(result)
    view.apply(("report", BatchReport(results=[result], metrics=metrics)))
    view.apply(("finished",))
    rows = view.table()
    assert rows[0]["state"] == "rejected" and "not a link" in rows[0]["title"] and rows[0]["error"]
    assert rows[1] == {"title": "A Title", "state": "failed (can retry)", "time (s)": "4.2",
                       "method": "youtube-transcript-api", "error": "blocked by YouTube"}
    assert view.fraction == 1.0 and view.status_text.startswith("Finished: 1 videos")


class _FailingApp:
    """A stand-in for YouTubeStudyNotes whose resolve step fails (no library is faked)."""

    closed = False

    def resolve(self, entries):
        raise VideoUnavailable("playlist is private")

    def close(self):
        self.closed = True


def test_runner_reports_a_failed_batch_on_the_page_not_in_a_dead_thread():
    app = _FailingApp()
    runner = BatchRunner(app, [Entry("x")], Channel()).start()
    for _ in range(200):
        if runner.poll(timeout=0.1):
            break
    assert runner.finished and app.closed
    assert runner.view.error == "Stopped: playlist is private"
    assert runner.view.status_text == "Stopped: playlist is private"


def test_log_and_failure_rows_are_newest_first_and_redacted():
    from yt_study_buddy.config import register_secret

    register_secret("sk-ant-api03-SECRETSECRETSECRET")
    records = [{"video_id": "a", "status": "failed", "error": "bad key sk-ant-api03-SECRETSECRETSECRET",
                "retryable": False, "title": "A", "url": "u1"},
               {"video_id": "b", "status": "ok", "title": "B", "url": "u2"}]
    rows = log_rows(records)
    assert [r["title"] for r in rows] == ["B", "A"] and "SECRET" not in str(rows)
    failures = failure_rows({"a": records[0], "b": records[1]})
    assert [f["title"] for f in failures] == ["A"] and "SECRET" not in str(failures)


# --------------------------------------------------------------------------- AppTest flows


def test_sidebar_defaults():
    at = start_app()
    side = at.sidebar
    assert side.checkbox(key="parallel").label == "Enable Parallel Processing"
    assert side.checkbox(key="parallel").value is True
    slider = side.slider(key="workers")
    assert (slider.label, slider.value, slider.min, slider.max) == ("Max Workers", 3, 1, 5)
    assert side.checkbox(key="assessments").value is True
    assert side.checkbox(key="auto_categorize").value is True
    assert side.selectbox(key="engine").value == "auto"
    assert list(side.selectbox(key="engine").options) == ["auto", "claude", "openai", "offline"]
    assert side.text_input(key="output").value == "./notes"
    assert side.text_input(key="model").value
    assert any("No Claude API key" in i.value for i in side.info)
    assert at.button(key="process").label == "Process Videos"
    # Turning parallel off greys out the worker count.
    at.sidebar.checkbox(key="parallel").uncheck().run()
    assert at.sidebar.slider(key="workers").disabled


def test_engine_openai_asks_for_the_server_and_model_and_writes_notes_with_them(tmp_path, fake_openai):
    at = start_app()
    at.sidebar.selectbox(key="engine").select("openai").run()
    assert at.sidebar.text_input(key="base_url").value == "http://localhost:11434/v1"
    assert not [t for t in at.sidebar.text_input if t.key == "model"]  # no "Claude model" box
    at.sidebar.text_input(key="base_url").input(fake_openai.base_url)
    at.sidebar.text_input(key="openai_model").input("llama3.2").run()
    lecture = example_files()[0]
    at.file_uploader(key="caption_files").set_value([(lecture.name, lecture.read_bytes(), "text/plain")])
    finish(at.button(key="process").click().run())
    notes = [p for p in (tmp_path / "notes").rglob("*.md") if not p.name.endswith(" - Assessment.md")]
    assert len(notes) == 1, [t.value for t in at.text]
    text = notes[0].read_text(encoding="utf-8")
    assert "engine: openai" in text and "model: llama3.2" in text
    assert fake_openai.requests, "the notes came from the model server"


def test_process_uploaded_example_captions_offline_then_library_and_logs(tmp_path):
    at = start_app()
    files = upload_examples(at)
    finish(at.button(key="process").click().run())
    assert not at.exception, [e.value for e in at.exception]

    vault = tmp_path / "notes"
    notes = [p for p in vault.rglob("*.md") if not p.name.endswith(" - Assessment.md")]
    assert len(notes) == len(files) >= 4
    assert len(list(vault.rglob("* - Assessment.md"))) == len(files)
    # Uploads went to the vault's hidden folder: nothing outside the output folder.
    assert sorted(p.name for p in (vault / ".study-buddy" / "uploads").iterdir()) == sorted(f.name for f in files)
    assert [p.name for p in tmp_path.iterdir()] == ["notes"]

    status = [t.value for t in at.text]
    assert any(s.startswith(f"Finished: {len(files)} videos") and f"{len(files)} done, 0 failed" in s
               for s in status), status
    # One notice about the missing key (the sidebar's), not a second one per batch.
    assert sum("offline engine" in i.value or "ANTHROPIC_API_KEY" in i.value for i in at.info) == 1
    assert at.get("progress")[0].proto.value == 100
    # The table of videos is the Process tab's; progress and Stop stay above the tabs.
    process_tab = next(t for t in at.tabs if t.label == "Process")
    assert len(process_tab.dataframe) == 1
    table = at.dataframe[0].value
    assert len(table) == len(files)
    assert set(table["state"]) == {"done"} and set(table["method"]) == {"local-file"}
    assert all(float(t) >= 0 for t in table["time (s)"]) and set(table["error"]) == {""}
    assert "Gradient Descent Explained" in set(table["title"])

    # Library: subjects, a note and its assessment, the graph and its stats.
    subjects = at.selectbox(key="library_subject").options
    assert subjects[0] == "All subjects" and len(subjects) >= 3
    assert len(at.selectbox(key="note").options) == len(files)
    bodies = [m.value for m in at.markdown]
    assert any(b.startswith("# ") and "## " in b for b in bodies)
    assert any(b.startswith("# Assessment:") for b in bodies)
    assert all(not m.proto.allow_html for m in at.markdown)
    graph = at.get("graphviz_chart")[0].proto.spec
    assert graph.startswith("graph knowledge {") and " -- " in graph
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Notes"] == str(len(files)) and int(metrics["Concepts"]) > 0
    assert metrics["Subjects"] == str(len(subjects) - 1)
    # Choosing a subject narrows the notes to it.
    biology = next(s for s in subjects if s.startswith("Biology"))
    at.selectbox(key="library_subject").select(biology).run()
    assert 0 < len(at.selectbox(key="note").options) < len(files)

    # Logs: one entry per processed video, no failures, no retry button.
    history = [d.value for d in at.dataframe if "finished_at" in d.value.columns]
    assert len(history) == 1 and len(history[0]) == len(files)
    assert set(history[0]["status"]) == {"ok"}
    assert not [b for b in at.button if b.key == "retry_failed"]

    # A second run skips what is already in the vault, says so plainly and offers to force it.
    finish(at.button(key="process").click().run())
    table = at.dataframe[0].value
    assert set(table["state"]) == {"skipped (already in the vault)"}
    status = " ".join(t.value for t in at.text)
    assert f"Nothing new: all {len(files)} videos were already in the vault" in status
    assert "cross-links written" not in status
    finish(at.button(key="force").click().run())
    assert set(at.dataframe[0].value["state"]) == {"done"}
    status = " ".join(t.value for t in at.text)
    assert f"{len(files)} done, 0 failed" in status and "cross-links written" in status
    assert not [b for b in at.button if b.key == "force"]


def test_pasted_paths_with_a_bad_line_show_the_reason(tmp_path):
    at = start_app()
    good = example_files()[0]
    at.text_area(key="urls").input(f"{good}\nhttps://vimeo.com/12345\n").run()
    at.sidebar.selectbox(key="engine").select("offline").run()
    finish(at.button(key="process").click().run())
    table = at.dataframe[0].value
    assert list(table["state"]) == ["rejected", "done"]
    assert "vimeo.com" in table["title"][0] and table["error"][0]
    assert len(list((tmp_path / "notes").rglob("*.md"))) == 2  # note + assessment
    # The rejected line is not a video: reported apart from failures.
    assert any("Finished: 1 videos" in t.value and "1 done, 0 failed, 1 input rejected" in t.value
               for t in at.text), [t.value for t in at.text]


def test_nothing_to_process_warns():
    at = start_app()
    finish(at.button(key="process").click().run())
    assert any("Paste at least one link" in w.value for w in at.warning)
    assert not Path("notes").exists()


def test_claude_engine_without_key_is_refused_up_front():
    at = start_app()
    at.sidebar.selectbox(key="engine").select("claude").run()
    assert any("No Claude API key" in e.value for e in at.sidebar.error)
    at.text_area(key="urls").input(str(example_files()[0])).run()
    finish(at.button(key="process").click().run())
    assert any("needs an API key" in e.value for e in at.error)
    assert not list(Path("notes").rglob("*.md"))


def test_html_in_a_caption_file_is_shown_as_text(tmp_path):
    lecture = tmp_path / "hostile.vtt"
    lecture.write_text("WEBVTT\nTitle: Evil <img src=x onerror=alert(1)> lecture\n\n"
                       "00:00:01.000 --> 00:00:05.000\nGradient descent &lt;script&gt;alert(2)&lt;/script&gt; "
                       "minimises the loss function step by step.\n\n"
                       "00:00:05.000 --> 00:00:09.000\nThe learning rate controls the size of each step.\n",
                       encoding="utf-8")
    at = start_app()
    at.text_area(key="urls").input(str(lecture)).run()
    finish(at.button(key="process").click().run())
    assert any("1 done" in t.value for t in at.text)
    shown = [m.value for m in at.markdown if m.value.startswith("# ")]
    assert shown, [m.value for m in at.markdown]
    for body in shown:
        assert "<img" not in body and "<script" not in body
    assert all(not m.proto.allow_html for m in at.markdown)


def test_retry_button_reprocesses_a_retryable_failure(monkeypatch, tmp_path):
    from tests.fakes.youtube import FakeYouTube
    from yt_study_buddy.webui import page

    # A block fails at once, not after the 30 s cool-down and one more try (tested elsewhere);
    # no 1 s between YouTube starts either.
    app_class = page.YouTubeStudyNotes
    monkeypatch.setattr(page, "YouTubeStudyNotes", lambda *a, **kw: app_class(*a, block_retries=0, delay=0, **kw))
    with FakeYouTube() as fake:
        fake.add_video("aaaaaaaaaaa", title="Entropy and Information", scenario="http_429")
        fake.add_video("bbbbbbbbbbb", title="Removed Lecture", scenario="unavailable")
        monkeypatch.setenv("YT_STUDY_BUDDY_YOUTUBE_URL", fake.base_url)
        at = start_app()
        at.text_area(key="urls").input("https://youtu.be/aaaaaaaaaaa\nhttps://www.youtube.com/watch?v=bbbbbbbbbbb")
        finish(at.button(key="process").click().run())
        table = at.dataframe[0].value
        assert sorted(table["state"]) == ["failed", "failed (can retry)"], table
        assert all(table["error"]), table
        failures = next(d.value for d in at.dataframe if "can retry" in d.value.columns)
        assert sorted(failures["can retry"]) == [False, True]
        retry = at.button(key="retry_failed")
        assert retry.label == "Retry failed (1)"

        fake.videos["aaaaaaaaaaa"].scenario = "ok"
        finish(retry.click().run())
        assert not at.exception, [e.value for e in at.exception]
        table = at.dataframe[0].value
        assert list(table["state"]) == ["done"] and list(table["title"]) == ["Entropy and Information"]
        notes = [p.name for p in (tmp_path / "notes").rglob("*.md")]
        assert "Entropy and Information.md" in notes
        # Only the permanent failure is left, and it offers no retry.
        assert not [b for b in at.button if b.key == "retry_failed"]
        failures = next(d.value for d in at.dataframe if "can retry" in d.value.columns)
        assert list(failures["can retry"]) == [False]


def test_api_key_is_never_rendered(monkeypatch, tmp_path):
    from tests.fakes.anthropic import FakeAnthropic

    key = "sk-ant-api03-UIKEY" + "x" * 40
    with FakeAnthropic(api_key=key) as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", key)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        at = start_app()
        assert any("API key: configured" in s.value for s in at.sidebar.success)
        at.text_area(key="urls").input(str(example_files()[0]))
        finish(at.button(key="process").click().run())
        assert any("1 done, 0 failed" in t.value for t in at.text), [t.value for t in at.text]
        assert fake.count >= 1  # the notes really came from the (fake) Claude API
        page = rendered_text(at)
        assert "Finished: 1 videos" in page
        assert key not in page and "UIKEY" not in page
        for path in (tmp_path / "notes").rglob("*"):
            if path.is_file():
                assert b"UIKEY" not in path.read_bytes(), path
    assert os.environ.get("ANTHROPIC_API_KEY") == key


def test_stop_cancels_a_running_batch_and_keeps_what_is_done(tmp_path):
    from tests.fakes.youtube import FakeYouTube
    from yt_study_buddy.app import YouTubeStudyNotes
    from yt_study_buddy.config import load_settings

    ids = [f"stopvideo{n:02d}" for n in range(6)]
    with FakeYouTube() as fake:
        for n, video_id in enumerate(ids):
            fake.add_video(video_id, title=f"Lecture {n} on entropy")
        channel = Channel()
        # One worker, starts spaced 2 s apart: the first video ends long before the last could start.
        app = YouTubeStudyNotes(base_dir=tmp_path / "notes", parallel=False, delay=2.0, engine="offline",
                                settings=load_settings({"YT_STUDY_BUDDY_YOUTUBE_URL": fake.base_url}),
                                progress_callback=channel.progress, result_callback=channel.result,
                                event_sink=channel.event)
        runner = BatchRunner(app, [Entry(i) for i in ids], channel).start()
        deadline = 600
        while not any(row.state == "done" for row in runner.view.rows.values()) and deadline:
            runner.poll(timeout=0.1)
            deadline -= 1
        runner.cancel()
        while not runner.poll(timeout=0.1):
            pass
    view = runner.view
    assert view.report is not None and view.cancelled
    done = [row for row in view.rows.values() if row.state == "done"]
    assert 1 <= len(done) < len(ids)
    assert len(view.rows) == len(ids)
    assert {row.state for row in view.rows.values()} == {"done", "cancelled"}
    assert "Stopped early: stopped at your request" in view.status_text
    assert f"{len(done)} done, 0 failed" in view.status_text
    assert len([p for p in (tmp_path / "notes").rglob("*.md") if "Assessment" not in p.name]) == len(done)


def test_uploaded_list_of_links_with_a_playlist(monkeypatch, tmp_path):
    from tests.fakes.youtube import FakeYouTube

    with FakeYouTube() as fake:
        fake.add_video("listvideo01", title="Entropy Basics")
        fake.add_video("listvideo02", title="Entropy and Compression")
        fake.add_video("listvideo03", title="Huffman Coding")
        fake.add_playlist("PLlistupload01", ["listvideo02", "listvideo03"])
        monkeypatch.setenv("YT_STUDY_BUDDY_YOUTUBE_URL", fake.base_url)
        at = start_app()
        at.file_uploader(key="list_file").set_value(
            ("my links.txt", b"# week 1\nhttps://youtu.be/listvideo01\n\n"
                             b"https://www.youtube.com/playlist?list=PLlistupload01\nlistvideo03\n", "text/plain"))
        at.sidebar.slider(key="workers").set_value(2)
        finish(at.button(key="process").click().run())
        assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    # The playlist expanded to its two videos; the repeated id is processed once.
    assert list(table["title"]) == ["Entropy Basics", "Entropy and Compression", "Huffman Coding"]
    assert set(table["state"]) == {"done"}
    notes = sorted(p.stem for p in (tmp_path / "notes").rglob("*.md") if "Assessment" not in p.stem)
    assert notes == ["Entropy Basics", "Entropy and Compression", "Huffman Coding"]
    assert (tmp_path / "notes" / ".study-buddy" / "uploads" / "my links.txt").is_file()


# --------------------------------------------------------------------------- a batch while it runs


def test_status_line_counts_outcomes_not_the_last_status():
    from yt_study_buddy.sources.inputs import resolve_sources

    sources, rejected = resolve_sources([Entry(f"https://youtu.be/statusvid{n:02d}") for n in range(8)])
    view = BatchView()
    view.apply(("resolved", sources, rejected))
    states = ["done", "skipped (already in the vault)", "fetching transcript", "writing notes", "saving",
              "failed (can retry)", "queued", "queued"]
    for row, state in zip(view.rows.values(), states):
        row.state = state
    view.apply(("progress", "success", 3, 8))
    assert view.status_text == "Processing: 2/8 done · 3 running · 1 failed"
    assert "success" not in view.status_text
    view.cancelled = True
    assert view.status_text.startswith("Processing: 2/8 done · 3 running · 1 failed — stopping")


def test_tables_show_no_none_for_a_video_stopped_before_it_started():
    stopped = {"video_id": "stopvideo01", "url": "https://www.youtube.com/watch?v=stopvideo01",
               "status": "failed", "error_kind": "cancelled", "error": "stopped at your request",
               "retryable": True, "title": None, "subject": None, "transcript_method": None,
               "engine": None, "model": None, "finished_at": "2026-01-01T00:00:00+00:00",
               "duration": 0.0}
    [row] = log_rows([stopped])
    assert row["title"] == "stopvideo01" and row["status"] == "cancelled"
    assert row["subject"] == row["transcript_method"] == row["engine"] == row["model"] == ""
    assert "None" not in {str(v) for v in row.values()}
    [failure] = failure_rows({"stopvideo01": stopped})
    assert failure["title"] == "stopvideo01" and failure["can retry"] is True
    assert "None" not in {str(v) for v in failure.values()}


def test_registry_allows_one_running_batch_per_folder(tmp_path):
    import threading

    from yt_study_buddy.webui.jobs import RunnerRegistry

    release = threading.Event()

    class _SlowApp:
        def resolve(self, entries):
            release.wait(30)
            return [], []

        def run(self, sources, rejected):
            from yt_study_buddy.app import BatchReport
            from yt_study_buddy.batch.pool import ProcessingMetrics
            return BatchReport(results=[], metrics=ProcessingMetrics())

    registry = RunnerRegistry()
    first = BatchRunner(_SlowApp(), [Entry("x")], Channel())
    assert registry.start(tmp_path / "notes", first)
    second = BatchRunner(_SlowApp(), [Entry("y")], Channel())
    # The same folder spelled differently is the same vault.
    assert not registry.start(tmp_path / "sub" / ".." / "notes", second) and not second.alive
    assert registry.active(tmp_path / "notes") is first
    assert registry.start(tmp_path / "other", second)  # another vault may run at the same time
    release.set()
    while not (first.poll(timeout=0.1) and second.poll(timeout=0.1)):
        pass
    first._thread.join(10)
    assert registry.active(tmp_path / "notes") is None


def _slow_tube(count: int, held: int):
    """A fake YouTube whose answers for the held-th video wait for the returned event.

    The batch is then still running while the test looks, however slow the
    machine (a per-request latency only made that likely); set the event to let it end.
    """
    from tests.fakes.youtube import FakeYouTube

    fake = FakeYouTube()
    ids = [f"slowvideo{n:02d}" for n in range(count)]
    for n, video_id in enumerate(ids):
        fake.add_video(video_id, title=f"Slow lecture {n} on entropy")
    release = threading.Event()
    fake.holds = {ids[held]: release}
    return fake, ids, release


def test_page_redraws_with_stop_and_process_disabled_while_a_batch_runs(monkeypatch, tmp_path):
    from yt_study_buddy.webui.jobs import STOP_HELP

    from yt_study_buddy.webui import page

    # No 1 s between YouTube starts: the held video alone keeps the batch running.
    app_class = page.YouTubeStudyNotes
    monkeypatch.setattr(page, "YouTubeStudyNotes", lambda *a, **kw: app_class(*a, delay=0, **kw))
    fake, ids, release = _slow_tube(6, held=0)
    with fake:
        monkeypatch.setenv("YT_STUDY_BUDDY_YOUTUBE_URL", fake.base_url)
        at = start_app()
        at.text_area(key="urls").input("\n".join(f"https://youtu.be/{i}" for i in ids))
        at.button(key="process").click().run()
        assert not at.exception, [e.value for e in at.exception]
        # The run that started the batch returned with the page redrawn for a running batch.
        assert busy(at)
        stop = at.button(key="stop")
        assert stop.label == "Stop" and not stop.disabled
        assert stop.help == STOP_HELP and "cancels those waiting" in stop.help
        page = rendered_text(at)
        assert "Finish running videos" not in page and "start no new ones" not in page
        assert any(t.value.startswith(("Processing: ", "Resolving links")) for t in at.text)
        release.set()
        finish(at)
    status = [t.value for t in at.text]
    assert any(s.startswith("Finished: 6 videos") and "6 done, 0 failed" in s for s in status), status
    assert not [b for b in at.button if b.key == "stop"] and not at.button(key="process").disabled


def test_a_second_session_on_the_same_folder_attaches_to_the_running_batch(monkeypatch, tmp_path):
    # One worker, held on the second video: the rest are still waiting when Stop is pressed.
    fake, ids, release = _slow_tube(8, held=1)
    with fake:
        monkeypatch.setenv("YT_STUDY_BUDDY_YOUTUBE_URL", fake.base_url)
        first = start_app()
        first.text_area(key="urls").input("\n".join(f"https://youtu.be/{i}" for i in ids))
        first.sidebar.slider(key="workers").set_value(1)
        first.button(key="process").click().run()
        assert busy(first)

        # A reload (or another tab) is a new session: it finds the batch, not a fresh page.
        second = start_app()
        assert busy(second), "Process must be disabled while a batch runs on this folder"
        assert second.button(key="stop").label == "Stop"
        assert any(t.value.startswith(("Processing: ", "Resolving links")) for t in second.text)
        # A session on another folder is not blocked.
        other = start_app()
        other.sidebar.text_input(key="output").input(str(tmp_path / "elsewhere")).run()
        assert not busy(other) and not [b for b in other.button if b.key == "stop"]

        second.button(key="stop").click().run()
        assert second.button(key="stop").disabled  # drawn pressed at once
        release.set()
        finish(second)
        finish(first)
    for at in (first, second):
        summary = next(t.value for t in at.text if t.value.startswith("Finished:"))
        assert "Stopped early: stopped at your request" in summary, summary
        assert "cancelled" in summary and " 0 failed" in summary, summary
    table = first.dataframe[0].value
    done = sum(table["state"] == "done")
    assert set(table["state"]) <= {"done", "cancelled"} and (table["state"] == "cancelled").any()
    notes = [p for p in (tmp_path / "notes").rglob("*.md") if ".study-buddy" not in p.parts
             and "Assessment" not in p.name]
    assert len(notes) == done
    # The batch is over: either session may start another.
    assert not busy(first) and not busy(second)


def test_a_password_in_openai_base_url_is_never_sent_to_the_browser(tmp_path, fake_openai, monkeypatch):
    url = fake_openai.base_url.replace("http://", "http://me:web-url-secret@")
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    at = start_app()
    at.sidebar.selectbox(key="engine").select("openai").run()
    shown = at.sidebar.text_input(key="base_url").value
    assert "web-url-secret" not in shown and shown.endswith(fake_openai.base_url.split("//", 1)[1])
    at.sidebar.text_input(key="openai_model").input("llama3.2").run()
    lecture = example_files()[0]
    at.file_uploader(key="caption_files").set_value([(lecture.name, lecture.read_bytes(), "text/plain")])
    finish(at.button(key="process").click().run())
    assert fake_openai.requests, "the masked box still stands for the configured server"


def test_a_link_opens_only_a_folder_that_is_a_vault(tmp_path):
    """A note may link to "?output=/": the page must not walk the disk nor offer to write there."""
    from streamlit.testing.v1 import AppTest

    vault = tmp_path / "other vault"
    (vault / ".study-buddy").mkdir(parents=True)
    for folder, shown in ((str(tmp_path), "./notes"), ("/", "./notes"), (str(vault), str(vault))):
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.query_params["output"] = folder
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.sidebar.text_input(key="output").value == shown, folder
