"""Library and Review as places to study: hidden answers, note links, search, FSRS review (AppTest)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.study.conftest import build_vault
from tests.webui.test_streamlit_app import start_app
from yt_study_buddy.vault.flashcards import parse_flashcards
from yt_study_buddy.vault.render import ANSWER_CALLOUT
from yt_study_buddy.webui.library import load_library
from yt_study_buddy.webui.study_view import (
    link_notes,
    link_targets,
    note_href,
    obsidian_url,
    search_notes,
    split_answers,
)

pytest.importorskip("streamlit.testing.v1")

ASSESSMENT = """# Assessment: X

Back to notes: [[X]]

## Gap analysis

1. What is ATP?

> [!success]- Answer
> The energy currency.
>
> In the video: [\\[0:49\\]](https://youtu.be/x?t=49)

2. Second?

> [!success]- Answer
> Two.
"""


# --------------------------------------------------------------------------- helpers, no Streamlit


def test_answers_are_split_out_of_the_page():
    parts = split_answers(ASSESSMENT)
    assert [p.hidden for p in parts] == [False, True, False, True]
    assert parts[1].text == "The energy currency.\n\nIn the video: [\\[0:49\\]](https://youtu.be/x?t=49)\n"
    assert "Answer" not in parts[0].text and parts[2].text == "2. Second?\n"
    # An assessment from before answers were folded: everything from "## Answers" on is one hidden part.
    old = split_answers("1. Q?\n\n---\n\n**Answers below**\n\n## Answers\n\n### 1. Q?\n\nA.\n")
    assert [p.hidden for p in old] == [False, True] and old[1].text.startswith("## Answers")
    # A callout that is not folded is not an answer to hide.
    assert split_answers("> [!note]\n> shown\n") == [split_answers("> [!note]\n> shown\n")[0]]
    assert not split_answers("> [!note]\n> shown\n")[0].hidden


def test_wiki_links_to_known_notes_become_in_app_links():
    targets = {"photosynthesis": ("vid1", None), "x - assessment": ("vid2", "assessment")}
    text = ("See [[Photosynthesis|light reactions]] and [[Photosynthesis]], [[X - Assessment]], "
            "[[Unknown note]], ![[Photosynthesis]] and `[[Photosynthesis]]`.\n```\n[[Photosynthesis]]\n```\n")
    out = link_notes(text, targets, output="/tmp/my vault")
    assert "[light reactions](?tab=Library&note=vid1&output=%2Ftmp%2Fmy%20vault)" in out
    assert "[Photosynthesis](?tab=Library&note=vid1&output=" in out
    assert "[X - Assessment](?tab=Library&note=vid2&view=assessment&output=" in out
    assert "[[Unknown note]]" in out and "![[Photosynthesis]]" in out  # left for safe_markdown
    assert "`[[Photosynthesis]]`" in out and "```\n[[Photosynthesis]]\n```" in out
    assert note_href("a&b=c") == "?tab=Library&note=a%26b%3Dc"


def test_obsidian_url_names_the_vault_and_file(tmp_path):
    root = tmp_path / "My Notes"
    url = obsidian_url(root, root / "Biology" / "Cells & ATP: Part 1.md")
    assert url == "obsidian://open?vault=My%20Notes&file=Biology%2FCells%20%26%20ATP%3A%20Part%201"


def test_search_ranks_titles_then_concepts_then_text():
    notes = [SimpleNamespace(title="Photosynthesis", concepts=["light reactions"], body="chlorophyll"),
             SimpleNamespace(title="Cellular respiration", concepts=["ATP"], body="light from the sun"),
             SimpleNamespace(title="Light and optics", concepts=[], body="")]
    found = search_notes(notes, "LIGHT", lambda n: n.body)
    assert [n.title for n in found] == ["Light and optics", "Photosynthesis", "Cellular respiration"]
    assert search_notes(notes, "light chlorophyll", lambda n: n.body) == [notes[0]]
    assert search_notes(notes, "  ", lambda n: n.body) == notes


# --------------------------------------------------------------------------- the page


@pytest.fixture
def vault(tmp_path) -> Path:
    return build_vault(tmp_path / "notes")  # the page's default output folder (the test runs in tmp_path)


def _by_title(vault: Path, title: str):
    return next(n for n in load_library(vault).notes if n.title.startswith(title))


def test_library_hides_each_answer_and_links_notes(vault):
    note = _by_title(vault, "Cellular Respiration")
    other = _by_title(vault, "Photosynthesis")
    at = start_app()
    at.selectbox(key="note").select(note.video_id).run()
    assert not at.exception

    questions = note.assessment.read_text(encoding="utf-8").count(ANSWER_CALLOUT)
    cards = parse_flashcards(note.path.read_text(encoding="utf-8"))
    answers = [e for e in at.expander if e.label == "Show answer"]
    assert len(answers) == questions + len(cards) and questions >= 8 and cards
    # What shows outside the folds never carries an answer block or a card's back.
    shown = [m.value for m in at.markdown if not _inside_expander(at, m)]
    assert not any("[!success]" in m or "> Answer" in m for m in shown)
    assert not any("::" in m for m in shown)
    assert all(not m.proto.allow_html for m in at.markdown)
    # The note's wiki links open the linked note in the app; Obsidian opens the file.
    bodies = "\n".join(m.value for m in at.markdown)
    assert f"(?tab=Library&note={other.video_id})" in bodies
    assert f"(?tab=Library&note={note.video_id}&view=assessment)" in bodies  # header link to the assessment
    [button] = at.get("link_button")
    assert button.proto.url == obsidian_url(vault, note.path)
    assert button.proto.url.startswith("obsidian://open?vault=notes&file=Biology%2FCellular%20Respiration")


def _inside_expander(at, element) -> bool:
    for expander in at.expander:
        if any(child is element for child in expander.markdown):
            return True
    return False


def test_a_note_link_opens_that_note_in_the_library(vault):
    other = _by_title(vault, "Photosynthesis")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "streamlit_app.py"), default_timeout=180)
    at.query_params["tab"] = "Library"
    at.query_params["note"] = other.video_id
    at.run()
    assert not at.exception
    assert at.selectbox(key="note").value == other.video_id
    assert any(m.value.startswith(f"# {other.title}") for m in at.markdown)


def test_library_search_over_titles_concepts_and_text(vault):
    at = start_app()
    total = len(at.selectbox(key="note").options)
    at.text_input(key="library_search").input("glycolysis").run()
    found = at.selectbox(key="note").options
    assert 0 < len(found) < total
    assert any(o.startswith("Cellular Respiration") for o in found), found
    at.text_input(key="library_search").input("no such words anywhere zzz").run()
    assert any("No note matches" in i.value for i in at.info)


def test_review_tab_shows_a_card_reveals_it_and_schedules_it(vault):
    at = start_app()
    assert not at.exception
    counts = next(d.value for d in at.dataframe if "due" in d.value.columns)
    assert set(counts["subject"]) == {"Biology", "Machine Learning"}
    assert (counts["due"] == 0).all() and (counts["new"] == counts["cards"]).all()
    subjects = at.selectbox(key="review_subject").options
    assert subjects[0].startswith("All subjects (") and len(subjects) == 3
    assert not [b for b in at.button if b.key.startswith("review_") and b.key != "review_show"]

    front = _card_front(at)
    at.button(key="review_show").click().run()
    ratings = [b.label for b in at.button if b.key in ("review_again", "review_hard", "review_good", "review_easy")]
    assert ratings == ["Again", "Hard", "Good", "Easy"]
    at.button(key="review_good").click().run()
    assert not at.exception
    assert any("comes back in 10 minutes" in i.value for i in at.info)
    assert _card_front(at) != front  # the next due card, its answer hidden again
    assert [b for b in at.button if b.key == "review_show"]
    state = json.loads((vault / ".study-buddy" / "review.json").read_text(encoding="utf-8"))
    [(key, entry)] = state["cards"].items()
    assert entry["reviews"] == 1 and entry["last_rating"] == "good"
    counts = next(d.value for d in at.dataframe if "due" in d.value.columns)
    assert int(counts["new"].sum()) == int(counts["cards"].sum()) - 1
    assert [b for b in at.get("download_button")], "the Anki package is offered as a download"


def _card_front(at) -> str:
    fronts = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert len(fronts) == 1, fronts
    return fronts[0]


def test_review_of_one_subject_only_shows_its_cards(vault):
    at = start_app()
    biology = next(s for s in at.selectbox(key="review_subject").options if s.startswith("Biology"))
    at.selectbox(key="review_subject").select(biology).run()
    caption = " ".join(c.value for c in at.caption)
    assert re.search(r"\d+ to study · Biology · ", caption)
