"""Stage notes: how many flashcards a lecture gets, and the check every engine's cards pass.

Shared by every engine: the offline engine sizes its cards with ``card_range``;
model engines (Claude, OpenAI-compatible) fill the schema in ``prompts`` and
hand the raw answer to ``cards_from_answer``, which keeps only cards a learner
can use: one line each, a real answer (never a generic word), a cloze only
when it marks its answer, no duplicates.
"""

from __future__ import annotations

import re
from typing import Any

from yt_study_buddy.models import Flashcard
from yt_study_buddy.notes.text_analysis import is_generic_term

__all__ = ["card_range", "cards_from_answer", "clean_card", "card_side", "CLOZE_MARK", "MAX_CARD_CHARS"]

#: Cards per 30 minutes of lecture, and the bounds for short and very long ones.
_PER_HALF_HOUR = (8, 15)
_MIN_CARDS = (4, 6)
_MAX_CARDS = 60
MAX_CARD_CHARS = 400
#: The answer of a cloze card: ==marked== text (the Obsidian highlight the Spaced Repetition plugin reads).
CLOZE_MARK = re.compile(r"==([^=\n]+?)==")
_SPACE = re.compile(r"\s+")


def card_range(duration_seconds: float | None) -> tuple[int, int]:
    """Return (fewest, most) cards for a lecture this long: about 8-15 per 30 minutes."""
    half_hours = max(0.0, float(duration_seconds or 0)) / 1800.0
    low = max(_MIN_CARDS[0], round(_PER_HALF_HOUR[0] * half_hours))
    high = max(_MIN_CARDS[1], round(_PER_HALF_HOUR[1] * half_hours))
    return min(low, _MAX_CARDS), min(high, _MAX_CARDS)


def card_side(value: Any) -> str:
    """Return one side of a card as one clean line ('' for a non-string)."""
    if not isinstance(value, str):
        return ""
    # "::" separates front from back in the vault's card lines, so it never appears inside a side;
    # nor does a comment marker, which the Spaced Repetition plugin's schedule lives in.
    text = _SPACE.sub(" ", value).strip().replace(":::", ":").replace("::", ":")
    return text.replace("<!--", "").replace("-->", "")[:MAX_CARD_CHARS].strip()


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]+", " ", text.casefold()).split())


def clean_card(front: Any, back: Any, cloze: Any = None, timestamp: Any = None) -> Flashcard | None:
    """Return a usable card from raw parts, or None (empty side, generic answer, answer in the question)."""
    front_text, back_text = card_side(front), card_side(back)
    # "==" only means something in a cloze; in a plain side it would turn into a stray blank.
    front_text, back_text = front_text.replace("==", ""), back_text.replace("==", "")
    if not front_text or not back_text or is_generic_term(back_text):
        return None
    if _fold(front_text) == _fold(back_text):
        return None
    cloze_text = card_side(cloze) or None
    if cloze_text is not None:
        marked = CLOZE_MARK.findall(cloze_text)
        # One blank per card, on a real term, with words left around it to recall it from.
        rest = CLOZE_MARK.sub("", cloze_text)
        if len(marked) != 1 or is_generic_term(marked[0]) or len(rest.split()) < 4 \
                or cloze_text.count("==") != 2:
            cloze_text = None
    seconds = float(timestamp) if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool) \
        and 0 <= timestamp < 10 * 24 * 3600 else None
    return Flashcard(front=front_text, back=back_text, cloze=cloze_text, timestamp=seconds)


def cards_from_answer(raw: Any, *, limit: int = _MAX_CARDS) -> list[Flashcard]:
    """Return the usable cards of a model's ``flashcards`` answer; malformed items are dropped, not fatal."""
    if not isinstance(raw, list):
        return []
    cards: list[Flashcard] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, dict):
            continue
        card = clean_card(item.get("front"), item.get("back"), item.get("cloze"),
                          item.get("timestamp_seconds"))
        if card is None or _fold(card.front) in seen:
            continue
        seen.add(_fold(card.front))
        cards.append(card)
        if len(cards) >= limit:
            break
    return cards
