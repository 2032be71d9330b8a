"""The `## Flashcards` section: Obsidian Spaced Repetition format, read back, kept across re-runs and re-links."""

from __future__ import annotations

from pathlib import Path

from yt_study_buddy.models import Flashcard, NotesResult, Segment, Transcript, VideoMeta
from yt_study_buddy.vault.flashcards import (
    FLASHCARDS_HEADING,
    card_key,
    parse_flashcards,
    render_flashcards,
    sr_comments,
    strip_flashcards,
)
from yt_study_buddy.vault.render import split_front_matter
from yt_study_buddy.vault.store import Vault

VIDEO = "dQw4w9WgXcQ"
CARDS = [
    Flashcard("What does the learning rate control?", "The size of each step.", None, 74.0),
    Flashcard("The [...] sets the step size.", "learning rate", "The ==learning rate== sets the step size.", 125.0),
    Flashcard("Two\nlines::with a separator", "back::side", None, None),
]


def _ref(seconds: float) -> str:
    return f"[{int(seconds) // 60}:{int(seconds) % 60:02d}](https://youtu.be/{VIDEO}?t={int(seconds)})"


def test_section_is_sr_format_with_deck_tag_and_timestamp_links():
    section = render_flashcards(CARDS, subject_tag="machine-learning", time_ref=_ref)
    lines = section.split("\n")
    assert lines[:4] == [FLASHCARDS_HEADING, "", "#flashcards/machine-learning", ""]
    assert ("What does the learning rate control?::The size of each step. "
            f"[1:14](https://youtu.be/{VIDEO}?t=74)") in lines
    assert f"The ==learning rate== sets the step size. [2:05](https://youtu.be/{VIDEO}?t=125)" in lines
    # One line per card, "::" only between the sides, a blank line between cards (SR reads paragraphs).
    assert "Two lines:with a separator::back:side" in lines
    cards = [ln for ln in lines[4:] if ln]
    assert len(cards) == 3 and all(ln.count("::") <= 1 for ln in cards)
    assert section.count("\n\n") >= 4
    assert render_flashcards([], subject_tag="x", time_ref=_ref) == ""


def test_cards_read_back_as_written():
    body = "# T\n\n## Overview\n\ntext :: not a card\n\n" + render_flashcards(
        CARDS, subject_tag="ml", time_ref=_ref) + "\n## Related notes\n\n- [[Other]]: x\n"
    cards = parse_flashcards(body)
    assert [(c.front, c.back, c.timestamp) for c in cards] == [
        ("What does the learning rate control?", "The size of each step.", 74.0),
        ("The [...] sets the step size.", "learning rate", 125.0),
        ("Two lines:with a separator", "back:side", None)]
    assert cards[1].cloze == "The ==learning rate== sets the step size."
    assert cards[0].link == f"https://youtu.be/{VIDEO}?t=74"
    # The same identity whether the card is in hand or read back from the note.
    assert [card_key(VIDEO, c) for c in cards[:2]] == [card_key(VIDEO, c) for c in CARDS[:2]]


def test_hand_edited_section_is_read_safely():
    body = ("## Flashcards\n\n#flashcards/x\n\n"
            "Plain prose is not a card.\n\n"
            "A [[Other Note|linked phrase]] here::answer [0:05]\n<!--SR:!2026-01-02,3,250-->\n\n"
            "::no front\n\nno back::\n\n" + "Q::A\n" * 600 + "\n## Next\n\nZ::not in the section\n")
    cards = parse_flashcards(body)
    assert cards[0].front == "A linked phrase here" and cards[0].timestamp == 5.0
    assert len(cards) == 500 and all(c.front != "Z" for c in cards)
    assert sr_comments(body) == {"A linked phrase here::answer [0:05]": "<!--SR:!2026-01-02,3,250-->"}


def test_an_engine_written_section_is_replaced_not_doubled():
    md = "## Overview\n\nx\n\n## Flashcards\n\nold::card\n\n## Examples\n\ny\n"
    assert strip_flashcards(md) == "## Overview\n\nx\n\n## Examples\n\ny\n"


def _job(cards, markdown="## Overview\n\nGradient descent and the learning rate.\n"):
    return dict(meta=VideoMeta(VIDEO, "Gradient Descent", "Chan", f"https://youtu.be/{VIDEO}"),
                subject="Machine Learning",
                notes=NotesResult(markdown=markdown, concepts=["learning rate"], flashcards=list(cards)),
                assessment=None, transcript=Transcript(VIDEO, [Segment(0, 300, "x")]))


def test_rewrites_regenerate_cards_and_keep_their_review_schedule(tmp_path: Path):
    vault = Vault(tmp_path)
    [note] = vault.write_note(**_job(CARDS[:2], "## Overview\n\nx\n\n## Flashcards\n\nstale::card\n"))
    text = note.read_text(encoding="utf-8")
    assert text.count(FLASHCARDS_HEADING) == 1 and "stale::card" not in text
    # The Spaced Repetition plugin schedules the first card (its comment goes on the next line).
    first = f"What does the learning rate control?::The size of each step. {_ref(74)}"
    note.write_text(text.replace(first, first + "\n<!--SR:!2026-12-10,4,270-->"), encoding="utf-8")
    vault.finalize()  # cross-links must not change what the cards are

    # --force: the same cards again, plus a new one; one is gone.
    changed = [CARDS[0], Flashcard("What is momentum?", "A running average of gradients.", None, 200.0)]
    [note] = vault.write_note(**_job(changed))
    _, body = split_front_matter(note.read_text(encoding="utf-8"))
    assert body.count(FLASHCARDS_HEADING) == 1
    assert f"{first}\n<!--SR:!2026-12-10,4,270-->\n" in body
    assert [c.front for c in parse_flashcards(body)] == ["What does the learning rate control?",
                                                         "What is momentum?"]
    assert body.count("<!--SR:") == 1
