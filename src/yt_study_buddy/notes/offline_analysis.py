"""Stage notes: what the offline engine reads out of a transcript: sentences, key terms, scores, definitions.

Computed once per transcript and shared by the note, assessment and flashcard
writers; a pure function of the video's title and captions.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Sequence

from yt_study_buddy.models import Transcript, VideoMeta
from yt_study_buddy.notes.text_analysis import Sentence, Term, extract_terms, split_sentences, term_pattern

__all__ = ["Analysis", "analyse", "defines", "definition_text", "article_of", "example_ids", "linked_pairs", "mention", "blank_alone",
           "quote", "blank", "BLANK", "norm", "word_count", "nested", "SUBJECT_POSITION",
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
#: A sentence that links two terms must be short enough to read as one statement about both.
_LINK_MAX_WORDS = 40
BLANK = "_____"
EXAMPLE_RE = re.compile(
    r"\b(?:for example|for instance|imagine|such as|suppose|let's say|let us say|say you|e\.g\.|picture this)\b",
    re.IGNORECASE,
)
# "Let me give you an example." introduces the example in the sentence that follows.
_EXAMPLE_INTRO_RE = re.compile(
    r"\b(?:give you an example|here is an example|here's an example|as an example|a good example|"
    r"an example that|take an example|consider an example)\b",
    re.IGNORECASE,
)
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
    #: per term, the patterns of the longer terms holding it ("light" -> "light reactions")
    longer: dict[tuple[str, ...], list[re.Pattern[str]]]


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
    holders = {t.key: [patterns[o.key] for o in terms if len(o.key) > len(t.key) and nested(t, o)] for t in terms}
    for term in terms:
        pattern = patterns[term.key]
        # "weight" in "it is called weight decay" is weight decay being defined, not weight.
        longer = holders[term.key]
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
                    [norm(s.text) for s in sentences], holders)


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


def blank(pattern: re.Pattern[str], text: str) -> str:
    """Return text with every mention of a term replaced by a blank."""
    return pattern.sub(BLANK, text)


def quote(text: str) -> str:
    """Return text in typographic quotes."""
    return "“" + text.rstrip() + "”"


def example_ids(a: Analysis) -> list[int]:
    """Return the sentences that give an example ("for instance ...", or the one after "here is an example")."""
    found = []
    for s in a.sentences:
        if word_count(s.text) > MAX_QUOTE_WORDS:
            continue
        if EXAMPLE_RE.search(s.text):
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


def _links(a: Analysis, i: int) -> bool:
    """True when sentence i can stand as the lecture's own statement of how two terms relate."""
    text = a.sentences[i].text.rstrip()
    return 6 <= a.words[i] <= _LINK_MAX_WORDS and not text.endswith("?") and not BACK_REFERENCE_RE.match(text)


def linked_pairs(a: Analysis, limit: int, *, skip: set[tuple[tuple[str, ...], tuple[str, ...]]] | None = None,
                 spread: bool = False, quoted: set[int] | None = None) -> list[tuple[Term, Term, int]]:
    """Return pairs of key terms that one sentence of the lecture links, with that sentence.

    Only a sentence that says something about both (both spoken in it, a statement
    that reads on its own) makes a pair: that sentence is the answer. Strongest
    links first, or with ``spread`` the terms introduced furthest apart first.
    ``skip`` holds pairs already asked about, ``quoted`` sentences already used as answers;
    no two pairs share a sentence either.
    """
    # Each sentence and each (term, sentence) is judged once, not once per pair: in a
    # three-hour lecture every pair shares thousands of sentences.
    can_link = functools.cache(lambda i: _links(a, i) and not (quoted and i in quoted))
    spoken = functools.cache(lambda x, i: mention(a, a.terms[x], a.sentences[i].text) is not None)
    found = []
    for x in range(len(a.terms)):
        sx = set(a.terms[x].sentences)
        for y in range(x + 1, len(a.terms)):
            t1, t2 = a.terms[x], a.terms[y]
            if nested(t1, t2) or (skip and (t1.key, t2.key) in skip):
                continue
            shared = [i for i in sorted(sx.intersection(t2.sentences)) if can_link(i) and spoken(x, i) and spoken(y, i)]
            if shared:
                best = max(shared, key=lambda i: (a.scores[i], -i))
                distance = abs(t1.first_sentence - t2.first_sentence) if spread else 0
                found.append((-distance, -len(shared), x, y, best))
    found.sort()
    out, used, said = [], set(), set(quoted or ())
    for _, _, x, y, i in found:
        t1, t2 = a.terms[x], a.terms[y]
        # Prefer fresh terms so the questions cover more ground.
        if (t1.key in used and t2.key in used) or a.norms[i] in said or i in said:
            continue
        used.update((t1.key, t2.key))
        said.update((i, a.norms[i]))
        out.append((t1, t2, i))
        if len(out) >= limit:
            break
    return out


def mention(a: Analysis, term: Term, text: str) -> re.Match[str] | None:
    """Return the first mention of the term in text that is not part of a longer key term, or None.

    "light" inside "light reactions" is the longer term being spoken, not this one.
    """
    spans = [m.span() for p in a.longer.get(term.key, ()) for m in p.finditer(text)]
    for match in a.patterns[term.key].finditer(text):
        if not any(s <= match.start() and match.end() <= e for s, e in spans):
            return match
    return None


def blank_alone(a: Analysis, term: Term, text: str) -> str:
    """Return text with the term's own mentions blanked; a mention inside a longer key term stays."""
    spans = [m.span() for p in a.longer.get(term.key, ()) for m in p.finditer(text)]
    return a.patterns[term.key].sub(
        lambda m: m.group(0) if any(s <= m.start() and m.end() <= e for s, e in spans) else BLANK, text)
