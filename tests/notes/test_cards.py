"""Flashcards from both engines: sized by lecture length, timestamped, never a generic word as the answer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fakes.anthropic import DEFAULT_KEY
from yt_study_buddy.models import Flashcard, NotesResult, Segment, Transcript, VideoMeta
from yt_study_buddy.notes import prompts
from yt_study_buddy.notes.cards import card_range, cards_from_answer, clean_card
from yt_study_buddy.notes.claude import ClaudeEngine
from yt_study_buddy.notes.offline import OfflineEngine
from yt_study_buddy.notes.text_analysis import GENERIC_WORDS, is_generic_term, word_key
from yt_study_buddy.sources.captions import load_caption_file
from yt_study_buddy.sources.inputs import read_list_file

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = [Path(e.base_dir) / e.text for e in read_list_file(REPO / "examples" / "lectures.txt")]
VIDEO_ID = "dQw4w9WgXcQ"
META = VideoMeta(VIDEO_ID, "Gradient Descent 101", "ML Channel", f"https://youtu.be/{VIDEO_ID}")
LINES = [
    "Welcome to this lecture on gradient descent and neural networks.",
    "Gradient descent minimises a loss function one step at a time.",
    "The learning rate controls how big each step is.",
    "Backpropagation computes the gradient of the loss function.",
    "A learning rate that is too large makes the loss function diverge.",
]


def _transcript(lines=LINES, step=37.0) -> Transcript:
    return Transcript(VIDEO_ID, [Segment(i * step, step, t) for i, t in enumerate(lines)])


def test_card_range_is_about_8_to_15_per_half_hour():
    assert card_range(1800) == (8, 15)
    assert card_range(3600) == (16, 30)
    assert card_range(300) == (4, 6)  # short talks still get a few
    assert card_range(None) == (4, 6)
    assert card_range(10 * 3600) == (60, 60)  # capped


@pytest.mark.parametrize("word", ["model", "data", "plant", "valley", "fit", "cell", "Models", "the"])
def test_generic_words_are_no_answer(word):
    assert is_generic_term(word)
    assert clean_card("What fits here?", word) is None


def test_specific_answers_and_numbers_are_kept():
    assert not is_generic_term("cell membrane") and not is_generic_term("glycolysis")
    assert clean_card("How many ATP does glycolysis make?", "2").back == "2"


def test_model_cards_are_cleaned_not_trusted():
    raw = [
        {"front": "What does the learning rate control?", "back": "The size of each step.",
         "timestamp_seconds": 74, "cloze": "The ==learning rate== controls the size of each step."},
        {"front": "What does the learning rate control?", "back": "duplicate", "timestamp_seconds": 1},
        {"front": "Which word?", "back": "model", "timestamp_seconds": 3},        # generic answer
        {"front": "", "back": "empty front"},
        {"front": "Two\nlines::here", "back": "a ==b== c", "timestamp_seconds": -5,
         "cloze": "no mark at all in this sentence"},
        {"front": "Bad cloze", "back": "gradient", "cloze": "The ==model== is ==fit== twice here."},
        "not a card",
    ]
    cards = cards_from_answer(raw)
    assert [c.front for c in cards] == ["What does the learning rate control?", "Two lines:here", "Bad cloze"]
    first, second, third = cards
    assert first.cloze == "The ==learning rate== controls the size of each step." and first.timestamp == 74
    assert second.back == "a b c" and second.cloze is None and second.timestamp is None
    assert third.cloze is None  # two blanks, on generic words: dropped, the card stays a question
    assert cards_from_answer(None) == [] and cards_from_answer({"front": "x"}) == []


def test_claude_writes_cards_inside_the_study_data_call(fake_anthropic):
    engine = ClaudeEngine(api_key=DEFAULT_KEY, base_url=fake_anthropic.base_url, backoff_base=0.05)
    try:
        result = engine.generate_notes(META, _transcript())
    finally:
        engine.close()
    # No extra paid call: the notes stream and the one study-data tool call.
    assert len(fake_anthropic.requests) == 2
    data_call = fake_anthropic.requests[1]
    tool = next(t for t in data_call["tools"] if t["name"] == prompts.STUDY_TOOL)
    item = tool["input_schema"]["properties"]["flashcards"]["items"]
    assert item is prompts.FLASHCARD_SCHEMA or item == prompts.FLASHCARD_SCHEMA
    assert {"front", "back", "cloze", "timestamp_seconds"} <= set(item["properties"])
    assert "4 to 6 flashcards" in data_call["messages"][0]["content"]
    assert result.flashcards, "the fake answers with a card per concept it finds in the transcript"
    spoken = {i * 37.0 for i in range(len(LINES))}
    for card in result.flashcards:
        assert isinstance(card, Flashcard) and card.front and card.back
        assert card.timestamp in spoken
        if card.cloze:
            assert len(re.findall(r"==[^=]+==", card.cloze)) == 1


def test_claude_without_cards_still_gives_notes(fake_anthropic):
    engine = ClaudeEngine(api_key=DEFAULT_KEY, base_url=fake_anthropic.base_url, backoff_base=0.05)
    original = fake_anthropic._answer

    def answer(body):
        message = original(body)
        for block in message["content"]:
            if block.get("type") == "tool_use":
                block["input"].pop("flashcards", None)
        return message

    fake_anthropic._answer = answer
    try:
        result = engine.generate_notes(META, _transcript())
    finally:
        engine.close()
    assert result.concepts and result.flashcards == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_offline_cards_definitions_and_clozes_with_timestamps(path):
    _, meta, transcript = load_caption_file(path)
    notes = OfflineEngine().generate_notes(meta, transcript)
    cards = notes.flashcards
    low, high = card_range(transcript.duration)
    assert low <= len(cards) <= high, [c.front for c in cards]
    starts = {s.start for s in transcript.segments}
    kinds = {"definition": 0, "cloze": 0}
    for card in cards:
        assert card.timestamp is not None and card.timestamp <= transcript.duration
        assert card.timestamp in starts or any(abs(card.timestamp - s) < 1e-6 for s in starts)
        assert not is_generic_term(card.back), card
        assert word_key(card.back.lower()) not in GENERIC_WORDS
        if card.cloze:
            kinds["cloze"] += 1
            [answer] = re.findall(r"==([^=]+)==", card.cloze)
            assert answer == card.back and "[...]" in card.front
            # The answer is said once: the rest of the sentence does not give it away.
            assert card.back.lower() not in card.front.lower()
        else:
            kinds["definition"] += 1
            assert card.front.startswith("What ") and card.front.endswith("?")
    assert kinds["cloze"] >= 1
    assert [c.timestamp for c in cards] == sorted(c.timestamp for c in cards)


def test_offline_definition_card_is_about_the_term_it_defines():
    lines = ["Today we study regularization in practice.",
             "Weight decay adds a penalty to the loss.",
             "In the update rule, this penalty shrinks every weight a little, which is why it is called weight decay.",
             "Every weight matters here, and weight decay keeps each weight small.",
             "At the output layer we compute how much the loss changes when each output changes.",
             "We call this the error signal.",
             "The error signal flows backwards through the network, and weight decay acts on every step."]
    notes = OfflineEngine().generate_notes(VideoMeta("x" * 11, "Regularization"), _transcript(lines, 20.0))
    fronts = {c.front: c for c in notes.flashcards if c.cloze is None}
    assert "What is weight?" not in fronts  # "called weight decay" defines weight decay, not weight
    signal = fronts.get("What is the error signal?")
    assert signal is not None
    # "We call this ..." names the sentence before it: the card's answer holds both.
    assert signal.back.startswith("At the output layer") and signal.timestamp == 80.0


def test_offline_cards_are_the_same_for_the_same_lecture():
    _, meta, transcript = load_caption_file(EXAMPLES[0])
    first = OfflineEngine().generate_notes(meta, transcript).flashcards
    second = OfflineEngine().generate_notes(meta, transcript).flashcards
    assert first == second


def test_cards_survive_the_cache_of_paid_work_as_json():
    from dataclasses import asdict

    notes = NotesResult(markdown="x", concepts=["a"], flashcards=[Flashcard("Q", "A", None, 3.0)])
    again = NotesResult(**asdict(notes))
    assert again.flashcards == notes.flashcards and isinstance(again.flashcards[0], Flashcard)
