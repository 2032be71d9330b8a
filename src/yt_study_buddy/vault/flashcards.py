"""Stage vault: a note's ``## Flashcards`` section in the Obsidian Spaced Repetition format, written and read back.

The section opens with a deck tag ``#flashcards/<subject-tag>`` (the plugin's
default tag, so it finds the cards with no setup) and holds one card per
paragraph: ``front::back`` for a question, or a sentence with its answer
marked ``==like this==`` for a cloze; each ends with a link to the moment in
the video. When the plugin has scheduled a card it adds ``<!--SR:...-->``
under it; a rewrite of the note keeps that comment for each card whose text is
unchanged, so regenerated cards replace the old ones without losing reviews.

Reading is the other way round and trusts nothing: the vault may have been
edited by hand. Card identity (``card_key``) ignores cross-links the linker
added and the scheduling comment, so it is stable across re-links and reviews.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from yt_study_buddy.models import Flashcard, parse_timestamp
from yt_study_buddy.notes.cards import CLOZE_MARK, card_side

__all__ = [
    "FLASHCARDS_HEADING",
    "VaultCard",
    "deck_tag",
    "render_flashcards",
    "parse_flashcards",
    "strip_flashcards",
    "sr_comments",
    "card_key",
    "MAX_CARDS_PER_NOTE",
]

FLASHCARDS_HEADING = "## Flashcards"
#: A hand-edited note may hold anything; beyond this many cards the rest are ignored.
MAX_CARDS_PER_NOTE = 500
_MAX_LINE = 2000

_SR_COMMENT = re.compile(r"\s*(<!--SR:[^\n]*?-->)\s*$")
_SR_LINE = re.compile(r"^\s*<!--SR:[^\n]*?-->\s*$")
_TIME_REF = re.compile(r"\s*\[(\d{1,3}:\d{2}(?::\d{2})?)\](?:\((https?://[^\s()]+)\))?\s*$")
_WIKI = re.compile(r"\[\[([^\[\]|\n]+?)(?:\|([^\[\]\n]+?))?\]\]")
_SECTION_END = re.compile(r"^#{1,2}\s")


@dataclass(frozen=True)
class VaultCard:
    """A card as it stands in a note: its sides, its moment in the video and the link to it."""

    front: str
    back: str
    cloze: str | None = None
    timestamp: float | None = None
    link: str = ""


def deck_tag(subject_tag: str) -> str:
    """Return the Spaced Repetition deck tag for a subject tag ('#flashcards/biology')."""
    return f"#flashcards/{subject_tag}" if subject_tag else "#flashcards"


def _plain(text: str) -> str:
    """Text with wiki links reduced to what they show."""
    return _WIKI.sub(lambda m: (m.group(2) or m.group(1)).strip(), text)


def _line_key(line: str) -> str:
    return " ".join(_plain(_SR_COMMENT.sub("", line)).split())


def _safe_start(text: str) -> str:
    # A card line must stay a paragraph: not a heading, tag, list item, quote or table row.
    return re.sub(r"^(?:[#>|*+-]+\s*|\d+[.)]\s+)+", "", text).strip()


def card_line(card: Flashcard, time_ref: Callable[[float], str]) -> str:
    """Return the single line of one card, ending with its timestamp link."""
    if card.cloze:
        body = _safe_start(card_side(card.cloze))
    else:
        body = f"{_safe_start(card_side(card.front))}::{card_side(card.back)}"
    ref = time_ref(card.timestamp) if card.timestamp is not None else ""
    return f"{body} {ref}".rstrip()


def render_flashcards(cards: Iterable[Flashcard], *, subject_tag: str, time_ref: Callable[[float], str],
                      keep: Mapping[str, str] | None = None) -> str:
    """Return the '## Flashcards' section ('' without cards); ``keep`` maps card lines to their SR comments."""
    lines: list[str] = []
    seen: set[str] = set()
    for card in cards:
        line = card_line(card, time_ref)
        key = _line_key(line)
        if not line or key in seen:
            continue
        seen.add(key)
        comment = (keep or {}).get(key)
        lines += [line, comment, ""] if comment else [line, ""]
    if not lines:
        return ""
    return "\n".join([FLASHCARDS_HEADING, "", deck_tag(subject_tag), "", *lines]).rstrip("\n") + "\n"


def _section(body: str) -> list[str]:
    lines = body.split("\n")
    for start, line in enumerate(lines):
        if line.rstrip() == FLASHCARDS_HEADING:
            out = []
            for nxt in lines[start + 1:]:
                if _SECTION_END.match(nxt):
                    break
                out.append(nxt)
            return out
    return []


def strip_flashcards(markdown: str) -> str:
    """Return markdown without its '## Flashcards' section (up to the next top or second-level heading)."""
    lines = markdown.split("\n")
    for start, line in enumerate(lines):
        if line.rstrip() == FLASHCARDS_HEADING:
            end = start + 1
            while end < len(lines) and not _SECTION_END.match(lines[end]):
                end += 1
            return "\n".join(lines[:start] + lines[end:]).rstrip("\n") + "\n"
    return markdown


def sr_comments(body: str) -> dict[str, str]:
    """Return the scheduling comment of each card line in a note's Flashcards section."""
    found: dict[str, str] = {}
    last: str | None = None
    for raw in _section(body)[:MAX_CARDS_PER_NOTE * 3]:
        line = raw[:_MAX_LINE]
        if _SR_LINE.match(line):
            if last:
                found[last] = line.strip()
            last = None
            continue
        same = _SR_COMMENT.search(line)
        if same and _parse_line(line) is not None:
            found[_line_key(line)] = same.group(1)
            last = None
        else:
            last = _line_key(line) if _parse_line(line) is not None else None
    return found


def _parse_line(line: str) -> VaultCard | None:
    text = _plain(_SR_COMMENT.sub("", line)).strip()
    timestamp, link = None, ""
    ref = _TIME_REF.search(text)
    if ref:
        try:
            timestamp = float(parse_timestamp(ref.group(1)))
        except ValueError:  # a hand-edited card: keep the card, drop the odd time
            timestamp = None
        link = ref.group(2) or ""
        text = text[:ref.start()].rstrip()
    if not text or text.startswith(("#", "<!--")):
        return None
    if "::" in text:
        front, _, back = text.partition(":::") if ":::" in text else text.partition("::")
        front, back = front.strip(), back.strip()
        return VaultCard(front, back, None, timestamp, link) if front and back else None
    answers = CLOZE_MARK.findall(text)
    if answers:
        front = CLOZE_MARK.sub("[...]", text)
        return VaultCard(front, ", ".join(a.strip() for a in answers), text, timestamp, link)
    return None


def parse_flashcards(body: str) -> list[VaultCard]:
    """Return the cards of a note's Flashcards section, in order (none when there is no section)."""
    cards: list[VaultCard] = []
    for raw in _section(body):
        card = _parse_line(raw[:_MAX_LINE])
        if card is not None:
            cards.append(card)
            if len(cards) >= MAX_CARDS_PER_NOTE:
                break
    return cards


def card_key(video_id: str, card: VaultCard | Flashcard) -> str:
    """Return a card's stable id: from its video and its two sides, whitespace and case folded."""
    front, back = (card.cloze or card.front), card.back
    text = "\x1f".join([video_id, " ".join(front.casefold().split()), " ".join(back.casefold().split())])
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
