"""Stage study: every flashcard in the vault, with the note, subject and video it belongs to.

The notes are the source of truth: cards are read from each note's
``## Flashcards`` section (which the learner may have edited), never from a
separate store. Everything read is untrusted: oversized files are skipped and
links are kept only when they are http(s).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from yt_study_buddy.vault.flashcards import VaultCard, card_key, parse_flashcards
from yt_study_buddy.vault.render import split_front_matter
from yt_study_buddy.vault.store import Vault

__all__ = ["DeckCard", "vault_cards", "subjects_of"]

_MAX_NOTE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class DeckCard:
    """One card of the vault, placed: its id, note, subject and source video."""

    key: str
    video_id: str
    subject: str
    title: str
    note: Path
    url: str
    card: VaultCard

    @property
    def source_link(self) -> str:
        """The moment of the video the card comes from, else the video, else ''."""
        return self.card.link or self.url


# Parsed cards by note path, checked against the file's size and mtime: the Review tab
# asks for the cards on every click, and reading only changed notes keeps that cheap.
_cache: dict[str, tuple[tuple[int, int], list[DeckCard]]] = {}
_cache_lock = threading.Lock()


def _http(url: object) -> str:
    text = str(url or "").strip()
    return text if text.startswith(("https://", "http://")) and len(text) < 2000 else ""


def _note_cards(path: Path, video_id: str, subject: str, title: str) -> list[DeckCard]:
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        with _cache_lock:
            hit = _cache.get(str(path))
        if hit is not None and hit[0] == stamp:
            return hit[1]
        if st.st_size > _MAX_NOTE_BYTES:
            return []
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    meta, body = split_front_matter(text)
    url = _http(meta.get("url"))
    cards = []
    seen: set[str] = set()
    for card in parse_flashcards(body):
        key = card_key(video_id, card)
        if key in seen:
            continue  # the same card twice in a note is one card to learn
        seen.add(key)
        cards.append(DeckCard(key=key, video_id=video_id, subject=subject, title=title, note=path,
                              url=url, card=card))
    with _cache_lock:
        _cache[str(path)] = (stamp, cards)
    return cards


def vault_cards(root: str | Path) -> list[DeckCard]:
    """Return every card of every study note in the vault, by subject, then title, then order in the note."""
    vault = Vault(root)
    if not vault.root.is_dir():
        return []
    out: list[DeckCard] = []
    for record in vault.iter_notes():
        out.extend(_note_cards(record.path, record.video_id, record.subject, record.title))
    out.sort(key=lambda c: (c.subject.casefold(), c.title.casefold(), c.video_id))
    return out


def subjects_of(cards: Iterable[DeckCard]) -> list[str]:
    """Return the subjects the cards belong to, sorted."""
    return sorted({c.subject for c in cards}, key=lambda s: (s.casefold(), s))
