"""Offline question quality: linked pairs answered by the linking sentence, rich practical answers, no generic terms."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from yt_study_buddy.models import Segment, Transcript, VideoMeta
from yt_study_buddy.notes.offline import OfflineEngine
from yt_study_buddy.notes.text_analysis import GENERIC_WORDS, split_sentences, tokenize, word_key
from yt_study_buddy.sources.captions import load_caption_file
from yt_study_buddy.sources.inputs import read_list_file

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = [Path(e.base_dir) / e.text for e in read_list_file(REPO / "examples" / "lectures.txt")]
QUOTED = re.compile(r"“([^”]+)”")


def _run(path: Path):
    _, meta, transcript = load_caption_file(path)
    engine = OfflineEngine()
    notes = engine.generate_notes(meta, transcript)
    return transcript, notes, engine.generate_assessment(meta, transcript, notes)


def _spoken(transcript: Transcript) -> set[str]:
    return {s.text for s in split_sentences(transcript.segments)}


def _mentions(term: str, text: str) -> bool:
    return re.search(r"\b" + re.escape(term.split()[0][:5]), text, re.I) is not None


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_pair_questions_are_answered_by_the_sentence_that_links_the_pair(path):
    transcript, notes, assessment = _run(path)
    spoken = _spoken(transcript)
    pairs = [q for q in assessment.questions if q.category in ("one_up", "connections") and len(q.key_concepts) == 2]
    assert pairs, "the example lectures all link some of their terms"
    answers = set()
    for q in pairs:
        [said] = QUOTED.findall(q.answer)  # one sentence: the link, nothing unrelated beside it
        assert said in spoken  # a sentence of the lecture, whole
        assert all(_mentions(term, said) for term in q.key_concepts), (q.key_concepts, said)
        answers.add(said)
    assert len(answers) == len(pairs), "each pair question has its own linking sentence"
    # The notes' "How does X relate to Y?" follow the same rule.
    block = notes.markdown.split("## Questions for further study", 1)[1]
    for number, a, b in re.findall(r"^(\d+)\. How does \*\*(.+?)\*\* relate to \*\*(.+?)\*\*\?", block, re.M):
        answer = re.search(rf"^> {number}\. See .*?“([^”]+)”", block, re.M).group(1)
        assert _mentions(a, answer) and _mentions(b, answer), (a, b, answer)


def test_one_up_questions_are_not_one_template_everywhere():
    wording = set()
    for path in EXAMPLES:
        _, _, assessment = _run(path)
        for q in assessment.questions:
            if q.category == "one_up":
                assert "combine" not in q.question
                wording.add(re.sub(r"\d+:\d\d", "T", q.question.split(" ")[0] + q.question[-30:]))
    assert len(wording) >= 2


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_practical_answers_say_more_than_the_definition(path):
    _, _, assessment = _run(path)
    practical = [q for q in assessment.questions if q.category == "practical_application"]
    assert practical
    for q in practical:
        quotes = QUOTED.findall(q.answer)
        assert len(quotes) >= 2 or "says little more" in q.answer, q.answer
        assert len(set(quotes)) == len(quotes)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_generic_words_are_never_key_terms_or_blanks(path):
    _, notes, assessment = _run(path)
    for concept in notes.concepts:
        words = tokenize(concept)
        assert not (len(words) == 1 and word_key(words[0].lower()) in GENERIC_WORDS), concept
    answers = re.findall(r"^> \d+\. \*\*(.+?)\*\*$", notes.markdown, re.M)
    assert answers and not [a for a in answers if word_key(a.lower()) in GENERIC_WORDS]
    for q in assessment.questions:
        for concept in q.key_concepts:
            assert word_key(concept.lower()) not in GENERIC_WORDS


def test_a_definition_is_quoted_only_for_the_term_it_defines():
    lines = ["Today we look at weight decay and the plant model.",
             "Weight decay adds a penalty to the loss.",
             "This penalty shrinks every weight a little at every step, which is why it is called weight decay.",
             "Every weight matters, and weight decay keeps each weight small.",
             "A weight is a number the model learns during training.",
             "The plant model fits the plant data, and the model fit is good."]
    transcript = Transcript("x" * 11, [Segment(i * 10.0, 10.0, t) for i, t in enumerate(lines)])
    notes = OfflineEngine().generate_notes(VideoMeta("x" * 11, "Weight decay"), transcript)
    definitions = notes.markdown.split("## Definitions", 1)[1].split("##", 1)[0]
    assert "**weight**: “A weight is a number the model learns during training.”" in definitions
    assert "**weight decay**:" in definitions
    assert "model" not in notes.concepts and "plant" not in notes.concepts and "fit" not in notes.concepts


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_a_gap_blank_takes_a_whole_key_term(path):
    _, notes, assessment = _run(path)
    multi = [c for c in notes.concepts if " " in c]
    for q in assessment.questions:
        if "fill the blank" in q.question:
            for concept in multi:
                first, rest = concept.split(" ", 1)
                # "the same _____ synthase enzyme": half of "ATP synthase" blanked.
                assert f"_____ {rest}" not in q.question and f"{first} _____" not in q.question, q.question
