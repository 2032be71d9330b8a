"""Stage notes: write study notes and an assessment from a transcript alone, with no language model.

Standard library only, so it is cheap to import. The output depends on nothing
but the video's metadata and transcript: the same input always yields
byte-identical notes, whichever other videos are processed around it.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Any, Callable, Sequence

from yt_study_buddy.notes import categorize
from yt_study_buddy.notes.engine import DraftCallback
from yt_study_buddy.notes.offline_parts import OfflinePartCalls
from yt_study_buddy.models import (
    Assessment,
    NotesResult,
    Transcript,
    VideoMeta,
    format_timestamp,
    youtube_link,
)
from yt_study_buddy.notes.cards import card_range
from yt_study_buddy.notes.offline_cards import offline_flashcards
from yt_study_buddy.notes.offline_analysis import (
    BACK_REFERENCE_RE,
    DEFINITION_SEARCH,
    MAX_QUOTE_WORDS,
    SUBJECT_POSITION,
    Analysis,
    analyse,
    blank,
    definition_text,
    example_ids,
    linked_pairs,
    mention,
    nested,
    norm,
    quote,
)
from yt_study_buddy.notes.offline_questions import offline_questions
from yt_study_buddy.notes.text_analysis import Term, tokenize

__all__ = ["OfflineEngine"]

# How a speaker frames a talk: "today we look at", "in this lecture", "by the end you will be able to".
_FRAMING_RE = re.compile(
    r"\b(?:today|this (?:lecture|video|session|talk|lesson|class|course|hour|week)|in this|by the end|"
    r"(?:you|we)(?:'ll| will| should) be able to|the topic|is about|"
    r"(?:we|i)(?:'re| are|'ll| will|'m| am)? (?:going to |gonna )?"
    r"(?:look|learn|study|see|cover|talk|explore|discuss|open|follow|focus|introduce|explain)\b)",
    re.IGNORECASE,
)
_SUMMARY_MAX_WORDS = 45
_CACHE_SIZE = 4


def _is_local(meta: VideoMeta, transcript: Transcript) -> bool:
    return meta.source == "local" or transcript.method == "local-file"


def _stamp(meta: VideoMeta, transcript: Transcript, seconds: float) -> str:
    """Return a timestamp link into the video, or a plain stamp for a local recording with no URL to seek."""
    label = format_timestamp(seconds)
    if _is_local(meta, transcript):
        return f"[{label}]"
    return f"[{label}]({youtube_link(meta.video_id or transcript.video_id, seconds)})"


class OfflineEngine(OfflinePartCalls):
    """Note engine that works from the transcript alone: no network, no key, no model."""

    name = "offline"
    model = None

    def __init__(self) -> None:
        # The assessment re-reads the transcript the notes just analysed; keep the few latest analyses.
        # The analysis is a pure function of its key, so caching cannot change any output.
        self._cache: OrderedDict[tuple, Analysis] = OrderedDict()
        self._lock = threading.Lock()

    def _analysis(self, meta: VideoMeta, transcript: Transcript) -> Analysis:
        key = (meta.title, meta.source, transcript.method, tuple(transcript.segments))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        result = analyse(meta, transcript)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def close(self) -> None:
        """Nothing to release: the offline engine holds no connections."""

    def prepare(self) -> None:
        """Nothing to check: the offline engine needs no service."""

    def generate_notes(self, meta: VideoMeta, transcript: Transcript,
                       existing_subjects: Sequence[str] = (), *, draft: str | None = None,
                       on_draft: DraftCallback | None = None) -> NotesResult:
        """Return study notes built from the transcript's key terms, moments, definitions and examples."""
        a = self._analysis(meta, transcript)
        stamp = lambda seconds: _stamp(meta, transcript, seconds)  # noqa: E731
        concepts = [t.display for t in a.terms]
        summary_ids = self._summary_ids(a)
        # Caption windows of unpunctuated speech are marked as excerpts, not run together.
        summary = " ".join(a.sentences[i].text + ("" if a.sentences[i].text[-1:] in ".!?" else " …")
                           for i in summary_ids)
        parts: list[str] = []

        parts.append("## Overview\n")
        if not a.sentences:
            parts.append("The transcript of this video is empty, so there is nothing to summarise.\n")
        else:
            minutes = max(1, round(transcript.duration / 60)) if transcript.duration else None
            length = f"about {minutes} minute{'s' if minutes != 1 else ''} of speech" if minutes else "a short talk"
            parts.append(f"{summary}\n")
            if concepts:
                parts.append(f"*{length.capitalize()}; main topics: {', '.join(concepts[:6])}.*\n")

        parts.append("## Core concepts\n")
        if a.terms:
            quotes = self._concept_quotes(a)
            for term in a.terms:
                i = quotes[term.key]
                first = a.sentences[term.first_sentence]
                mentions = f"{term.count} mention{'s' if term.count != 1 else ''}"
                parts.append(f"- **{term.display}** ({mentions}, first at {stamp(first.start)}): "
                             f"{quote(a.sentences[i].text)}")
            parts.append("")
        else:
            parts.append("No recurring terms were found in this transcript.\n")

        # A sentence the Overview already quotes is not repeated as a key point.
        in_overview = {a.norms[i] for i in summary_ids}
        quoted_whole = bool(a.sentences) and all(norm in in_overview for norm in a.norms)
        _moments_section(parts, "Key points", a, self._moment_ids(a, in_overview), stamp,
                         "The Overview above already quotes the whole transcript." if quoted_whole
                         else "No key moments could be picked from this transcript.")

        parts.append("## Definitions\n")
        defined = [(t, a.definitions[t.key]) for t in a.terms if t.key in a.definitions]
        if defined:
            for term, i in sorted(defined, key=lambda ti: ti[1]):
                # "We call this X" quotes the sentence before it too: that one says what X is.
                text, start = definition_text(a, term.key) or (a.sentences[i].text, a.sentences[i].start)
                parts.append(f"- **{term.display}**: {quote(text)} ({stamp(start)})")
            parts.append("")
        else:
            parts.append("The speaker gives no explicit definitions; see Core concepts for how each term is used.\n")

        _moments_section(parts, "Examples", a, example_ids(a), stamp,
                         "The speaker gives no worked examples in this video.")

        parts.append("## Questions for further study\n")
        parts.extend(self._study_questions(a, stamp))

        markdown = "\n".join(parts).rstrip() + "\n"
        suggestion = categorize.keyword_subject(f"{meta.title}\n{meta.title}\n{transcript.text}")
        cards = offline_flashcards(a, card_range(transcript.duration)[1])
        return NotesResult(markdown=markdown, concepts=concepts, summary=summary, subject=suggestion,
                           engine=self.name, model=None, usage={}, flashcards=cards)

    def generate_assessment(self, meta: VideoMeta, transcript: Transcript, notes: NotesResult) -> Assessment:
        """Return gap-analysis, practical, one-up and connection questions answered from the transcript."""
        return Assessment(questions=offline_questions(self._analysis(meta, transcript), notes.markdown), usage={})

    # -- picking sentences -------------------------------------------------

    @staticmethod
    def _summary_ids(a: Analysis) -> list[int]:
        """Return the Overview's sentences in spoken order: the talk's framing, then its main points."""
        n = len(a.sentences)
        if n == 0:
            return []
        k = 3 if n < 40 else 5

        def fits(i: int) -> bool:
            # Whole statements of readable length: no fragments, run-ons or questions to the room.
            text = a.sentences[i].text.rstrip()
            return 6 <= a.words[i] <= _SUMMARY_MAX_WORDS and not text.endswith("?") and a.scores[i] > 0

        # The opening: the best early sentence, where a framing one ("today we look at ...") counts
        # double and later ones count less, so the Overview starts where the lecture does.
        window = min(n, max(5, n // 8))
        # The first framing sentence that says something ("today we look at ..."), else the best early one.
        opener = next((i for i in range(window) if fits(i) and _FRAMING_RE.search(a.sentences[i].text)), None)
        if opener is None:
            opener = max((i for i in range(window) if fits(i)), default=None,
                         key=lambda i: (a.scores[i] * (1.0 - 0.5 * i / window), -i))
        picked = [] if opener is None else [opener]
        seen = {a.norms[i] for i in picked}
        # Then the strongest sentence of each stretch of the rest, for coverage in order.
        rest_start = (opener + 1) if opener is not None else 0
        parts = k - len(picked)
        span = n - rest_start

        def strength(i: int) -> tuple[float, int]:
            lean = 0.5 if BACK_REFERENCE_RE.match(a.sentences[i].text) else 1.0
            return a.scores[i] * lean, -i

        for b in range(parts):
            lo, hi = rest_start + b * span // parts, rest_start + (b + 1) * span // parts
            # Repeated captions say one thing many times: each sentence once, else the next best.
            best = max((i for i in range(lo, hi) if fits(i) and a.norms[i] not in seen), key=strength, default=None)
            if best is not None:
                picked.append(best)
                seen.add(a.norms[best])
        if not picked:
            ranked = sorted(range(n), key=lambda i: (-a.scores[i], i))
            picked = [i for i in ranked if a.words[i] >= 6][:1] or ranked[:1]
        return sorted(picked)

    @staticmethod
    def _concept_quotes(a: Analysis) -> dict[tuple[str, ...], int]:
        """Return the sentence quoted for each term: its own where possible, shared only when none is left."""
        chosen: dict[tuple[str, ...], int] = {}
        used: set[str] = set()  # quoted sentences, by folded text

        def about(term: Term, i: int) -> bool:
            # The sentence is about the term when the term opens it ("Overfitting is when ...").
            match = mention(a, term, a.sentences[i].text)
            return match is not None and SUBJECT_POSITION.match(a.sentences[i].text[:match.start()]) is not None

        def claim(term: Term, i: int) -> None:
            chosen[term.key] = i
            used.add(a.norms[i])

        # Definitions first, then sentences that open with their term: each is its term's best quote.
        for term in a.terms:
            i = a.definitions.get(term.key)
            if i is not None and a.norms[i] not in used:
                claim(term, i)
        for term in a.terms:
            if term.key in chosen:
                continue
            first = a.grounding[term.key]
            if a.norms[first] not in used and about(term, first):
                claim(term, first)
                continue
            # One that opens with the term, unless it scores well below the term's best sentence.
            floor = 0.75 * a.scores[first]
            opening = [i for i in term.sentences[:DEFINITION_SEARCH]
                       if a.norms[i] not in used and 6 <= a.words[i] <= MAX_QUOTE_WORDS and a.scores[i] >= floor
                       and about(term, i)]
            if opening:
                claim(term, max(opening, key=lambda i: (a.scores[i], -i)))
        # Rarely mentioned terms choose first: a term spoken everywhere has sentences to spare.
        for term in sorted(a.terms, key=lambda t: len(t.sentences)):
            if term.key in chosen:
                continue
            first = a.grounding[term.key]
            if a.norms[first] not in used:
                claim(term, first)
                continue
            # Already quoted for another term: the term's best sentence not yet used, if any is left.
            fresh = [i for i in term.sentences[:DEFINITION_SEARCH * 4]
                     if a.norms[i] not in used and 6 <= a.words[i] <= MAX_QUOTE_WORDS]
            claim(term, max(fresh, key=lambda i: (a.scores[i] * (1.5 if about(term, i) else 1.0), -i), default=first))
        return chosen

    @staticmethod
    def _moment_ids(a: Analysis, shown: set[str]) -> list[int]:
        """Return the best sentence of each stretch of the talk that no other section already quotes."""
        n = len(a.sentences)
        if n == 0:
            return []
        # A short talk keeps some sentences out of the notes, for the assessment to ask what they missed.
        buckets = min(max(1, (n - len(shown)) // 2), 12, max(3, n // 8))
        picked = []
        seen = set(shown)
        for b in range(buckets):
            lo, hi = b * n // buckets, (b + 1) * n // buckets
            best = max((i for i in range(lo, hi) if a.norms[i] not in seen),
                       key=lambda i: (a.scores[i], -i), default=None)
            if best is not None and (a.scores[best] > 0 or buckets == 1):
                picked.append(best)
                seen.add(a.norms[best])
        return picked

    def _cloze_items(self, a: Analysis, limit: int) -> list[tuple[Term, int]]:
        items: list[tuple[Term, int]] = []
        used: set[str] = set()  # one question per distinct sentence
        for term in a.terms:
            # Blanking "gradient" inside "gradient descent" would make the answer ambiguous.
            inside = set()
            for other in a.terms:
                if len(other.key) > len(term.key) and nested(term, other):
                    inside.update(other.sentences)
            # The grounding sentence first, then the term's other sentences, each used once.
            order = [a.grounding[term.key]] + sorted(term.sentences, key=lambda i: (-a.scores[i], i))
            for i in order:
                text = a.sentences[i].text
                if a.norms[i] in used or i in inside or a.words[i] > MAX_QUOTE_WORDS:
                    continue
                blanked = blank(a.patterns[term.key], text)
                # A cloze needs context left over once the term is gone.
                if blanked != text and len(tokenize(blanked)) >= 5:
                    items.append((term, i))
                    used.add(a.norms[i])
                    break
            if len(items) >= limit:
                break
        return items

    def _study_questions(self, a: Analysis, stamp) -> list[str]:  # type: ignore[no-untyped-def]
        cloze = self._cloze_items(a, 6)
        pairs = linked_pairs(a, 2)
        if not cloze and not pairs:
            return ["The transcript is too short to draw questions from.\n"]
        lines = ["Fill in the blanks, then check the answers below.\n"]
        answers = []
        for n, (term, i) in enumerate(cloze, 1):
            sent = a.sentences[i]
            lines.append(f"{n}. {blank(a.patterns[term.key], sent.text)} ({stamp(sent.start)})")
            answers.append(f"{n}. **{term.display}**")
        offset = len(cloze)
        for n, (t1, t2, i) in enumerate(pairs, offset + 1):
            lines.append(f"{n}. How does **{t1.display}** relate to **{t2.display}**?")
            answers.append(f"{n}. See {stamp(a.sentences[i].start)}: {quote(a.sentences[i].text)}")
        lines.append("")
        lines.append("> [!success]- Answers")
        lines.extend(f"> {line}" for line in answers)
        lines.append("")
        return lines


def _moments_section(parts: list[str], heading: str, a: Any, ids: Sequence[int],
                     stamp: Callable[[float], str], empty: str) -> None:
    """Append a '## heading' list of timestamped sentences, or the empty-case line."""
    parts.append(f"## {heading}\n")
    if not ids:
        parts.append(f"{empty}\n")
        return
    for i in ids:
        parts.append(f"- {stamp(a.sentences[i].start)} {a.sentences[i].text}")
    parts.append("")
