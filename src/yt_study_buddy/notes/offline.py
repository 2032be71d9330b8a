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
    AssessmentQuestion,
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
    nested,
    norm,
    word_count,
)
from yt_study_buddy.notes.text_analysis import Term, tokenize

__all__ = ["OfflineEngine"]

_BLANK = "_____"
_EXAMPLE_RE = re.compile(
    r"\b(?:for example|for instance|imagine|such as|suppose|let's say|let us say|say you|e\.g\.|picture this)\b",
    re.IGNORECASE,
)
# "Let me give you an example." introduces the example in the sentence that follows.
_EXAMPLE_INTRO_RE = re.compile(
    r"\b(?:give you an example|here is an example|here's an example|as an example|a good example|"
    r"an example that|take an example|consider an example)\b",
    re.IGNORECASE,
)
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


def _blank(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(_BLANK, text)


def _quote(text: str) -> str:
    return "“" + text.rstrip() + "”"


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
                             f"{_quote(a.sentences[i].text)}")
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
                parts.append(f"- **{term.display}**: {_quote(a.sentences[i].text)} ({stamp(a.sentences[i].start)})")
            parts.append("")
        else:
            parts.append("The speaker gives no explicit definitions; see Core concepts for how each term is used.\n")

        _moments_section(parts, "Examples", a, self._example_ids(a), stamp,
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
        a = self._analysis(meta, transcript)
        questions: list[AssessmentQuestion] = []
        questions.extend(self._gap_questions(a, notes))
        questions.extend(self._practical_questions(a))
        questions.extend(self._one_up_questions(a))
        questions.extend(self._connection_questions(a))
        return Assessment(questions=questions, usage={})

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
            match = a.patterns[term.key].search(a.sentences[i].text)
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

    @staticmethod
    def _example_ids(a: Analysis) -> list[int]:
        found = []
        for s in a.sentences:
            if word_count(s.text) > MAX_QUOTE_WORDS:
                continue
            if _EXAMPLE_RE.search(s.text):
                found.append(s.index)
            elif _EXAMPLE_INTRO_RE.search(s.text) and s.index + 1 < len(a.sentences):
                found.append(s.index + 1)
        distinct: dict[str, int] = {}
        for i in sorted(set(found)):
            distinct.setdefault(a.norms[i], i)
        found = sorted(distinct.values())
        if len(found) > 8:
            keep = sorted(found, key=lambda i: (-a.scores[i], i))[:8]
            found = sorted(keep)
        return found

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
                blanked = _blank(a.patterns[term.key], text)
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
        pairs = self._pairs(a, 2)
        if not cloze and not pairs:
            return ["The transcript is too short to draw questions from.\n"]
        lines = ["Fill in the blanks, then check the answers below.\n"]
        answers = []
        for n, (term, i) in enumerate(cloze, 1):
            sent = a.sentences[i]
            lines.append(f"{n}. {_blank(a.patterns[term.key], sent.text)} ({stamp(sent.start)})")
            answers.append(f"{n}. **{term.display}**")
        offset = len(cloze)
        for n, (t1, t2, i) in enumerate(pairs, offset + 1):
            lines.append(f"{n}. How does **{t1.display}** relate to **{t2.display}**?")
            answers.append(f"{n}. See {stamp(a.sentences[i].start)}: {_quote(a.sentences[i].text)}")
        lines.append("")
        lines.append("> [!success]- Answers")
        lines.extend(f"> {line}" for line in answers)
        lines.append("")
        return lines

    @staticmethod
    def _pairs(a: Analysis, limit: int) -> list[tuple[Term, Term, int]]:
        """Return pairs of key terms spoken in the same sentence, strongest first."""
        found = []
        for x in range(len(a.terms)):
            sx = set(a.terms[x].sentences)
            for y in range(x + 1, len(a.terms)):
                shared = sorted(sx.intersection(a.terms[y].sentences))
                shared = [i for i in shared if a.words[i] <= MAX_QUOTE_WORDS]
                if shared and not nested(a.terms[x], a.terms[y]):
                    best = max(shared, key=lambda i: (a.scores[i], -i))
                    found.append((len(shared), -x, -y, a.terms[x], a.terms[y], best))
        found.sort(key=lambda f: (-f[0], -f[1], -f[2]))
        out, used = [], set()
        for _, _, _, t1, t2, i in found:
            # Prefer fresh terms so the questions cover more ground.
            if t1.key in used and t2.key in used:
                continue
            used.update((t1.key, t2.key))
            out.append((t1, t2, i))
            if len(out) >= limit:
                break
        return out

    # -- assessment --------------------------------------------------------

    def _gap_questions(self, a: Analysis, notes: NotesResult) -> list[AssessmentQuestion]:
        ranked = sorted(range(len(a.sentences)), key=lambda i: (-a.scores[i], i))
        out = []
        asked: set[str] = set()
        for i in ranked:
            if len(out) >= 3 or a.scores[i] <= 0:
                break
            sent = a.sentences[i]
            if a.norms[i] in asked or sent.text in notes.markdown \
                    or not 8 <= word_count(sent.text) <= MAX_QUOTE_WORDS:
                continue
            terms = [t for t in a.terms if i in t.sentences]
            if not terms:
                continue
            term = terms[0]
            # A repeated sentence is one gap, asked about once.
            asked.add(a.norms[i])
            ts = format_timestamp(sent.start)
            if len(out) % 2 == 0:
                question = (f"Your notes skip what the lecture says about {term.display} at {ts}. "
                            f"Without looking, fill the blank: {_quote(_blank(a.patterns[term.key], sent.text))}")
            else:
                question = (f"At {ts} the lecture makes a point about {term.display} that your notes leave out. "
                            f"What is it, and why does it matter?")
            out.append(AssessmentQuestion(
                category="gap_analysis", question=question,
                answer=f"{_quote(sent.text)} (at {ts})",
                key_concepts=[t.display for t in terms[:3]], timestamp=sent.start))
        return out

    def _practical_questions(self, a: Analysis) -> list[AssessmentQuestion]:
        examples = self._example_ids(a)
        # Terms the speaker defines, then multi-word terms, make questions a learner can act on.
        ranked = sorted(range(len(a.terms)), key=lambda n: (a.terms[n].key not in a.definitions,
                                                           len(a.terms[n].key) == 1, n))
        out = []
        for n in ranked[:2]:
            term = a.terms[n]
            i = a.grounding[term.key]
            sent = a.sentences[i]
            ts = format_timestamp(sent.start)
            answer = f"The lecture grounds it at {ts}: {_quote(sent.text)}"
            example = next((e for e in examples if e in term.sentences and e != i), None)
            if example is not None:
                answer += (f" Its own example, at {format_timestamp(a.sentences[example].start)}: "
                           f"{_quote(a.sentences[example].text)}")
            out.append(AssessmentQuestion(
                category="practical_application",
                question=(f"Where would you meet or use {term.display} outside this lecture? Describe one concrete "
                          f"situation, what {term.display} does there, and how you would apply it step by step."),
                answer=answer, key_concepts=[term.display], timestamp=sent.start))
        return out

    def _one_up_questions(self, a: Analysis) -> list[AssessmentQuestion]:
        out = []
        for t1, t2, i in self._pairs(a, 2):
            sent = a.sentences[i]
            ts = format_timestamp(sent.start)
            g1 = a.sentences[a.grounding[t1.key]]
            g2 = a.sentences[a.grounding[t2.key]]
            answer = f"At {ts} the lecture ties them together: {_quote(sent.text)}"
            extra = [g for g in (g1, g2) if g.index != i]
            for g in sorted(set(extra), key=lambda s: s.index):
                answer += f" See also {format_timestamp(g.start)}: {_quote(g.text)}"
            out.append(AssessmentQuestion(
                category="one_up",
                question=(f"Go one step beyond the video: combine {t1.display} and {t2.display}. "
                          f"What happens to one when you change the other, and how would you test it?"),
                answer=answer, key_concepts=[t1.display, t2.display], timestamp=sent.start))
        return out

    def _connection_questions(self, a: Analysis) -> list[AssessmentQuestion]:
        # Pair early and late key terms: connecting distant parts of a lecture is the synthesis step.
        firsts = sorted(a.terms, key=lambda t: (t.first_sentence, t.key))
        out = []
        if len(firsts) >= 2:
            pairs = [(firsts[0], firsts[-1])]
            if len(firsts) >= 4:
                pairs.append((firsts[1], firsts[-2]))
            for t1, t2 in pairs:
                s1 = a.sentences[a.grounding[t1.key]]
                s2 = a.sentences[a.grounding[t2.key]]
                if s1.index > s2.index:
                    s1, s2 = s2, s1
                answer = (f"At {format_timestamp(s1.start)}: {_quote(s1.text)}"
                          + ("" if s1.index == s2.index else f" At {format_timestamp(s2.start)}: {_quote(s2.text)}"))
                out.append(AssessmentQuestion(
                    category="connections",
                    question=(f"The lecture introduces {t1.display} early and {t2.display} later. How do the two "
                              f"ideas connect, and which concept you have studied before does each build on?"),
                    answer=answer, key_concepts=[t1.display, t2.display], timestamp=s1.start))
        elif firsts:
            term = firsts[0]
            sent = a.sentences[a.grounding[term.key]]
            out.append(AssessmentQuestion(
                category="connections",
                question=f"Which idea you have studied before does {term.display} build on, and how?",
                answer=f"At {format_timestamp(sent.start)}: {_quote(sent.text)}",
                key_concepts=[term.display], timestamp=sent.start))
        return out


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
