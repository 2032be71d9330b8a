"""Stage notes: flashcards from a transcript alone: definition cards and cloze deletions of key terms.

A definition card asks for a term the speaker defines and answers with the
defining sentence. A cloze card blanks a key term in a sentence that says
something about it; the term must be spoken once there, with enough words left
to recall it from, and never be a generic word. Cards come in lecture order,
each with the time its sentence is spoken.
"""

from __future__ import annotations

from yt_study_buddy.models import Flashcard
from yt_study_buddy.notes.cards import clean_card
from yt_study_buddy.notes.offline_analysis import (
    BACK_REFERENCE_RE,
    MAX_QUOTE_WORDS,
    Analysis,
    article_of,
    definition_text,
    nested,
)
from yt_study_buddy.notes.text_analysis import Term, is_generic_term, tokenize

__all__ = ["offline_flashcards"]

#: Words a cloze sentence keeps once its term is blanked: fewer and the blank is a guess.
_CLOZE_CONTEXT_WORDS = 6
_MIN_CARD_WORDS = 5
_LONG_WORDS = 30


def _ask(a: Analysis, term: Term) -> str:
    plural = term.display.endswith("s") and not term.display.endswith(("ss", "us", "is"))
    article = article_of(a, term.key)
    if article in ("a", "an"):
        article = "an" if term.display[:1].lower() in "aeiou" else "a"
    named = f"{article} {term.display}" if article else term.display
    return f"What {'are' if plural else 'is'} {named}?"


def _definition_card(a: Analysis, term: Term) -> Flashcard | None:
    found = definition_text(a, term.key)
    if found is None or not _MIN_CARD_WORDS <= len(found[0].split()) <= MAX_QUOTE_WORDS:
        return None
    return clean_card(_ask(a, term), found[0], None, found[1])


def _cloze_card(a: Analysis, term: Term, used: set[str]) -> tuple[Flashcard, str] | None:
    """The term blanked in its best sentence that mentions it once, reads alone and is not used yet."""
    pattern = a.patterns[term.key]
    # A word inside a longer key term ("gradient" in "gradient descent") would blank half a term.
    inside = {i for other in a.terms if len(other.key) > len(term.key) and nested(term, other)
              for i in other.sentences}
    # Its grounding sentence, then the strongest; long sentences last: a blank in a run-on is hard to recall.
    order = [a.grounding[term.key]] + sorted(term.sentences, key=lambda i: (a.words[i] > _LONG_WORDS,
                                                                          -a.scores[i], i))
    for i in order:
        text = a.sentences[i].text
        if a.norms[i] in used or i in inside or not _MIN_CARD_WORDS <= a.words[i] <= MAX_QUOTE_WORDS:
            continue
        if BACK_REFERENCE_RE.match(text) or text.rstrip().endswith("?"):
            continue
        matches = list(pattern.finditer(text))
        if len(matches) != 1:
            continue  # a second mention would give the answer away
        match = matches[0]
        rest = text[:match.start()] + text[match.end():]
        if len(tokenize(rest)) < _CLOZE_CONTEXT_WORDS:
            continue
        answer = match.group(0)
        card = clean_card(text[:match.start()] + "[...]" + text[match.end():], answer,
                          text[:match.start()] + f"=={answer}==" + text[match.end():], a.sentences[i].start)
        if card is not None and card.cloze is not None:
            return card, a.norms[i]
    return None


def offline_flashcards(a: Analysis, limit: int) -> list[Flashcard]:
    """Return up to ``limit`` cards: definitions of the defined terms, then clozes of the other key terms."""
    terms = [t for t in a.terms if not is_generic_term(t.display)]
    picked: list[Flashcard] = []
    used: set[str] = set()
    carded: set[tuple[str, ...]] = set()
    for term in terms:
        card = _definition_card(a, term)
        if card is not None and len(picked) < limit:
            picked.append(card)
            used.add(a.norms[a.definitions[term.key]])
            carded.add(term.key)
    for term in terms:
        if len(picked) >= limit:
            break
        if term.key in carded:
            continue
        found = _cloze_card(a, term, used)
        if found is not None:
            picked.append(found[0])
            used.add(found[1])
    # In lecture order: reviewing follows the talk, and the order never depends on term ranking ties.
    return sorted(picked, key=lambda c: (c.timestamp if c.timestamp is not None else 0.0, c.front))
