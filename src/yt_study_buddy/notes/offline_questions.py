"""Stage notes: the offline engine's assessment: gap analysis, practical application, one-up, connections.

Every answer is the lecture's own words. A question about two terms is asked
only when one sentence of the lecture links them, and that sentence is its
answer; a practical answer says more than the definition (what the lecture
adds about the term, and its example when it gives one). The wording of the
pair questions varies with the terms, so assessments don't all read alike.
"""

from __future__ import annotations

import zlib
from typing import Sequence

from yt_study_buddy.models import AssessmentQuestion, format_timestamp
from yt_study_buddy.notes.offline_analysis import (
    BACK_REFERENCE_RE,
    MAX_QUOTE_WORDS,
    Analysis,
    blank_alone,
    definition_text,
    example_ids,
    linked_pairs,
    mention,
    quote,
    word_count,
)
from yt_study_buddy.notes.text_analysis import Term

__all__ = ["offline_questions"]

_ONE_UP = (
    "At {ts} the lecture links {a} and {b}. Go one step further: if {a} changed, what would happen to {b}, "
    "and how could you check your prediction?",
    "Using the link the lecture draws at {ts}, explain what {a} contributes to {b}, then predict what a "
    "change in one would do to the other.",
    "The lecture connects {a} with {b} at {ts}. Design a small experiment or worked example that shows "
    "this link at work, and say what result you would expect.",
)
_CONNECT = (
    "{a} comes up at {ts_a} and {b} at {ts_b}. In your own words, how does the lecture tie them together?",
    "How does {a} (from {ts_a}) relate to {b} (from {ts_b})? Explain the link, then name an idea you "
    "studied before that it builds on.",
)


def _pick(templates: Sequence[str], *terms: Term, **values: str) -> str:
    # Deterministic: the same lecture always gets the same wording.
    text = templates[zlib.crc32("|".join(" ".join(t.key) for t in terms).encode()) % len(templates)]
    text = text.format(**values)
    return text[:1].upper() + text[1:]


def _said(a: Analysis, i: int) -> str:
    return f"{quote(a.sentences[i].text)} (at {format_timestamp(a.sentences[i].start)})"


def _gap_questions(a: Analysis, notes_markdown: str) -> list[AssessmentQuestion]:
    ranked = sorted(range(len(a.sentences)), key=lambda i: (-a.scores[i], i))
    out = []
    asked: set[str] = set()
    for i in ranked:
        if len(out) >= 3 or a.scores[i] <= 0:
            break
        sent = a.sentences[i]
        if a.norms[i] in asked or sent.text in notes_markdown \
                or not 8 <= word_count(sent.text) <= MAX_QUOTE_WORDS:
            continue
        terms = [t for t in a.terms if i in t.sentences]
        # The blank takes a whole term: "ATP" inside "ATP synthase" would leave half of one showing.
        term = next((t for t in terms if mention(a, t, sent.text) is not None), None)
        if term is None:
            continue
        # A repeated sentence is one gap, asked about once.
        asked.add(a.norms[i])
        ts = format_timestamp(sent.start)
        if len(out) % 2 == 0:
            question = (f"Your notes skip what the lecture says about {term.display} at {ts}. "
                        f"Without looking, fill the blank: {quote(blank_alone(a, term, sent.text))}")
        else:
            question = (f"At {ts} the lecture makes a point about {term.display} that your notes leave out. "
                        f"What is it, and why does it matter?")
        out.append(AssessmentQuestion(
            category="gap_analysis", question=question, answer=_said(a, i),
            key_concepts=[t.display for t in terms[:3]], timestamp=sent.start))
    return out


def _more_about(a: Analysis, term: Term, skip: set[int]) -> int | None:
    """The strongest other sentence about the term that reads on its own, for an answer beyond the definition."""
    candidates = [i for i in term.sentences if i not in skip and 6 <= a.words[i] <= MAX_QUOTE_WORDS
                  and not BACK_REFERENCE_RE.match(a.sentences[i].text)
                  and not a.sentences[i].text.rstrip().endswith("?")]
    return max(candidates, key=lambda i: (a.scores[i], -i), default=None)


def _practical_questions(a: Analysis) -> list[AssessmentQuestion]:
    examples = example_ids(a)
    # Terms the speaker defines, then multi-word terms, make questions a learner can act on.
    ranked = sorted(range(len(a.terms)), key=lambda n: (a.terms[n].key not in a.definitions,
                                                       len(a.terms[n].key) == 1, n))
    out = []
    for n in ranked[:2]:
        term = a.terms[n]
        i = a.grounding[term.key]
        defined = definition_text(a, term.key)
        first = (f"What it is, at {format_timestamp(defined[1])}: {quote(defined[0])}" if defined
                 else f"The lecture on it, at {format_timestamp(a.sentences[i].start)}: {quote(a.sentences[i].text)}")
        parts = [first]
        used = {i}
        example = next((e for e in examples if e in term.sentences and e not in used), None)
        more = _more_about(a, term, used | ({example} if example is not None else set()))
        if more is not None:
            used.add(more)
            parts.append(f"What it does, at {format_timestamp(a.sentences[more].start)}: "
                         f"{quote(a.sentences[more].text)}")
        if example is not None:
            parts.append(f"The lecture's own example, at {format_timestamp(a.sentences[example].start)}: "
                         f"{quote(a.sentences[example].text)}")
        if len(parts) == 1:
            parts.append("The lecture says little more about it: build your situation on this statement.")
        out.append(AssessmentQuestion(
            category="practical_application",
            question=(f"Where would you meet or use {term.display} outside this lecture? Describe one concrete "
                      f"situation, what {term.display} does there, and how you would apply it step by step."),
            answer=" ".join(parts), key_concepts=[term.display], timestamp=a.sentences[i].start))
    return out


def _one_up_questions(a: Analysis, pairs: list[tuple[Term, Term, int]]) -> list[AssessmentQuestion]:
    out = []
    for t1, t2, i in pairs:
        ts = format_timestamp(a.sentences[i].start)
        out.append(AssessmentQuestion(
            category="one_up", question=_pick(_ONE_UP, t1, t2, a=t1.display, b=t2.display, ts=ts),
            answer=f"The lecture's link: {_said(a, i)}", key_concepts=[t1.display, t2.display],
            timestamp=a.sentences[i].start))
    return out


def _connection_questions(a: Analysis, asked: set[tuple[tuple[str, ...], tuple[str, ...]]],
                          quoted: set[int]) -> list[AssessmentQuestion]:
    # Terms introduced far apart, linked by one sentence: connecting distant parts is the synthesis step.
    out = []
    for t1, t2, i in linked_pairs(a, 2, skip=asked, spread=True, quoted=quoted):
        if t1.first_sentence > t2.first_sentence:
            t1, t2 = t2, t1
        ts_a = format_timestamp(a.sentences[t1.first_sentence].start)
        ts_b = format_timestamp(a.sentences[t2.first_sentence].start)
        out.append(AssessmentQuestion(
            category="connections",
            question=_pick(_CONNECT, t1, t2, a=t1.display, b=t2.display, ts_a=ts_a, ts_b=ts_b),
            answer=f"The lecture ties them together: {_said(a, i)}", key_concepts=[t1.display, t2.display],
            timestamp=a.sentences[i].start))
    if not out and a.terms:
        # No sentence links two terms: one term, and what the lecture says it is.
        term = a.terms[0]
        defined = definition_text(a, term.key)
        text, start = defined if defined else (a.sentences[a.grounding[term.key]].text,
                                               a.sentences[a.grounding[term.key]].start)
        out.append(AssessmentQuestion(
            category="connections",
            question=f"Which idea you have studied before does {term.display} build on, and how?",
            answer=f"Start from what the lecture says it is, at {format_timestamp(start)}: {quote(text)}",
            key_concepts=[term.display], timestamp=start))
    return out


def offline_questions(a: Analysis, notes_markdown: str) -> list[AssessmentQuestion]:
    """Return the assessment's questions in category order, every answer taken from the lecture."""
    pairs = linked_pairs(a, 2)
    one_up = _one_up_questions(a, pairs)
    # The connections ask about other pairs, answered by other sentences.
    asked = {(t1.key, t2.key) for t1, t2, _ in pairs}
    quoted = {i for _, _, i in pairs}
    return (_gap_questions(a, notes_markdown) + _practical_questions(a) + one_up
            + _connection_questions(a, asked, quoted))
