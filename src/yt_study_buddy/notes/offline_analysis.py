"""Stage notes: what the offline engine reads out of a transcript: sentences, key terms, scores, definitions.

Computed once per transcript and shared by the note, assessment and flashcard
writers; a pure function of the video's title and captions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

from yt_study_buddy.models import Transcript, VideoMeta
from yt_study_buddy.notes.text_analysis import Sentence, Term, extract_terms, split_sentences, term_pattern

__all__ = ["Analysis", "analyse", "defines", "definition_text", "article_of", "norm", "word_count", "nested", "SUBJECT_POSITION",
           "BACK_REFERENCE_RE", "MAX_QUOTE_WORDS", "DEFINITION_SEARCH"]

DEFINES_AFTER = re.compile(
    r"^\s*(?:,\s*)?(?:(?:which|that)\s+)?(?:is|are)\s+(?!(?:going|gonna|that|this|it|why|how|what|where|when|not|also|"
    r"just|so|too|very|really|the same|important|useful|here|there|now|then|still|always|never|half|one|two|three|"
    r"four|five|six|seven|eight|nine|ten|zero|minus|\d)\b)"
    r"|^\s*(?:means|refers to|is defined as|describes|stands for|is called|is known as|measures|controls|"
    r"determines|represents|tells (?:us|you)|happens when|occurs when|is when|are when)\b",
    re.IGNORECASE,
)
DEFINES_BEFORE = re.compile(
    r"\b(?:we call (?:this|that|it|these|them)|(?:is|are) called|(?:is|are) known as|referred to as|"
    r"what we call|this is called|that's called|defined as)\s+(?:an?\s+|the\s+)?$",
    re.IGNORECASE,
)
# "X is ..." only defines X when X opens the sentence, give or take a filler word.
SUBJECT_POSITION = re.compile(
    r"^\s*(?:(?:so|and|now|well|okay|ok|basically|remember|first|second|finally|formally|simply put)[,:]?\s+)*"
    r"(?:an?\s+|the\s+)?$",
    re.IGNORECASE,
)
# A sentence opening with a pronoun leans on the one before it; out of context it reads oddly.
BACK_REFERENCE_RE = re.compile(r"^\W*(?:it|its|it's|this|that|these|those|they|their|he|she)\b", re.IGNORECASE)
MAX_QUOTE_WORDS = 60
DEFINITION_SEARCH = 60
NORM_RE = re.compile(r"[^\w\s]+")


@dataclass
class Analysis:
    """Everything the note and assessment writers need, computed once per transcript."""

    sentences: list[Sentence]
    terms: list[Term]
    scores: list[float]
    words: list[int]
    patterns: dict[tuple[str, ...], re.Pattern[str]]
    definitions: dict[tuple[str, ...], int]
    grounding: dict[tuple[str, ...], int]
    #: each sentence's text folded for comparison: repeated captions say the same thing at many times
    norms: list[str]


def norm(text: str) -> str:
    """Return text folded to lowercase words, so "So, X is Y." and "so x is y" compare equal."""
    return " ".join(NORM_RE.sub(" ", text.lower()).split())


def word_count(text: str) -> int:
    """Return the number of whitespace-separated words."""
    return len(text.split())


def analyse(meta: VideoMeta, transcript: Transcript) -> Analysis:
    """Return the sentences, key terms, scores, definitions and grounding sentences of a transcript."""
    sentences = split_sentences(transcript.segments)
    terms = extract_terms(sentences, title=meta.title)
    words = [word_count(s.text) for s in sentences]
    scores = [0.0] * len(sentences)
    for term in terms:
        weight = math.sqrt(term.count) * (1.0 + 0.5 * (len(term.key) - 1))
        for i in term.sentences:
            scores[i] += weight
    for i, n in enumerate(words):
        # Fragments say too little and run-ons are hard to study from.
        if n < 6:
            scores[i] *= 0.3
        elif n > 45:
            scores[i] *= 45.0 / n
    patterns = {t.key: term_pattern(t) for t in terms}
    definitions: dict[tuple[str, ...], int] = {}
    grounding: dict[tuple[str, ...], int] = {}
    for term in terms:
        pattern = patterns[term.key]
        # "weight" in "it is called weight decay" is weight decay being defined, not weight.
        longer = [patterns[t.key] for t in terms if len(t.key) > len(term.key) and nested(term, t)]
        best = None
        # Speakers define a term when they introduce it, so the first mentions are enough to search.
        for i in term.sentences[:DEFINITION_SEARCH]:
            text = sentences[i].text
            if words[i] > MAX_QUOTE_WORDS:
                continue
            if defines(pattern, text, longer):
                definitions[term.key] = i
                break
            if best is None or scores[i] > scores[best]:
                best = i
        if term.key in definitions:
            grounding[term.key] = definitions[term.key]
        elif best is not None:
            grounding[term.key] = best
        else:
            grounding[term.key] = term.sentences[0]
    return Analysis(sentences, terms, scores, words, patterns, definitions, grounding,
                     [norm(s.text) for s in sentences])


def defines(pattern: re.Pattern[str], text: str, longer: Sequence[re.Pattern[str]] = ()) -> bool:
    """True when the sentence reads like a definition of the term ("X is ...", "we call this X").

    ``longer``: patterns of the longer terms holding this one; a mention inside one of them
    is that term's, not this one's.
    """
    spans = [m.span() for p in longer for m in p.finditer(text)]
    for match in pattern.finditer(text):
        if any(a <= match.start() and match.end() <= b for a, b in spans):
            continue
        before = text[: match.start()]
        if DEFINES_BEFORE.search(before):
            return True
        if SUBJECT_POSITION.match(before) and DEFINES_AFTER.match(text[match.end():]):
            return True
    return False


def nested(t1: Term, t2: Term) -> bool:
    """True when one term is part of the other ("network" in "neural network")."""
    a, b = " ".join(t1.key), " ".join(t2.key)
    return f" {a} " in f" {b} " or f" {b} " in f" {a} "


# "We call this X" names what the sentence before described: the definition is both sentences.
_NAMES_PREVIOUS = re.compile(r"^\W*(?:so\W+)?(?:we call (?:this|that|it|these|them)|this is called|that's called|"
                             r"that is called|this is known as)\b", re.IGNORECASE)
_ARTICLE = re.compile(r"\b(a|an|the)\s+$", re.IGNORECASE)


def definition_text(a: Analysis, key: tuple[str, ...]) -> tuple[str, float] | None:
    """Return the definition of a term and when it starts: its sentence, with the one before when it names that."""
    i = a.definitions.get(key)
    if i is None:
        return None
    sentence = a.sentences[i]
    if i > 0 and _NAMES_PREVIOUS.match(sentence.text) and a.words[i - 1] <= MAX_QUOTE_WORDS:
        before = a.sentences[i - 1]
        return f"{before.text} {sentence.text}", before.start
    return sentence.text, sentence.start


def article_of(a: Analysis, key: tuple[str, ...]) -> str:
    """Return the article the speaker puts before a term in its definition ('the loss function'), or ''."""
    i = a.definitions.get(key, a.grounding.get(key))
    if i is None:
        return ""
    match = a.patterns[key].search(a.sentences[i].text)
    found = _ARTICLE.search(a.sentences[i].text[:match.start()]) if match else None
    return found.group(1).lower() if found else ""
