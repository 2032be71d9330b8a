"""Stage study: spaced-repetition review of the vault's flashcards, scheduled by FSRS (the ``fsrs`` package).

Review state lives in ``<vault>/.study-buddy/review.json``: per card id, the
FSRS card (stability, difficulty, due date) and a review count. A rating reads
the file, changes one card and writes it back atomically, under a lock of its
own held only for that read-modify-write, so two browser tabs never lose each
other's answers and a batch writing notes is never held up. A card the state
does not know yet is new and due now. Works offline: nothing here uses the
network.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from yt_study_buddy.errors import InputError
from yt_study_buddy.study.deck import DeckCard, vault_cards
from yt_study_buddy.vault.atomic import atomic_write_json, refuse_links
from yt_study_buddy.vault.store import Vault

__all__ = ["RATINGS", "ReviewQueue", "SubjectCounts", "REVIEW_FILE"]

log = logging.getLogger(__name__)

REVIEW_FILE = "review.json"
#: What the learner answers, in the order the buttons show them (FSRS ratings 1-4).
RATINGS = ("again", "hard", "good", "easy")
_VERSION = 1
_MAX_STATE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class SubjectCounts:
    """Cards of one subject: due now (reviewed before), new (never reviewed), all."""

    subject: str
    due: int
    new: int
    total: int

    @property
    def to_study(self) -> int:
        """Cards to go through now: due plus new."""
        return self.due + self.new


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


class ReviewQueue:
    """The due cards of one vault and the learner's ratings of them."""

    def __init__(self, root: str | Path, *, scheduler: Any = None):
        self.vault = Vault(root)
        self.path = self.vault.hidden / REVIEW_FILE
        self._scheduler = scheduler
        self._lock: Any = None

    @property
    def scheduler(self) -> Any:
        """The FSRS scheduler (default parameters, 90% desired retention)."""
        if self._scheduler is None:
            import fsrs  # lazy: only review needs it

            self._scheduler = fsrs.Scheduler()
        return self._scheduler

    # -- state on disk ----------------------------------------------------------------

    def _load(self) -> dict[str, dict[str, Any]]:
        """Return card id -> stored state; {} when there is none or it cannot be read."""
        try:
            if self.path.stat().st_size > _MAX_STATE_BYTES:
                log.warning("review state %s is too large; ignoring it", self.path)
                return {}
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("review state %s is unreadable (%s); starting fresh", self.path, exc)
            return {}
        cards = data.get("cards") if isinstance(data, dict) else None
        if not isinstance(cards, dict):
            return {}
        return {str(k): v for k, v in cards.items() if isinstance(v, dict)}

    def _fsrs_card(self, key: str, stored: dict[str, Any] | None) -> Any:
        import fsrs

        if stored and isinstance(stored.get("fsrs"), dict):
            try:
                return fsrs.Card.from_dict(stored["fsrs"])
            except (KeyError, TypeError, ValueError):
                log.warning("review state of card %s is malformed; it starts again as new", key)
        return fsrs.Card(card_id=int(key[:12], 16) if _is_hex(key) else None)

    def _file_lock(self) -> Any:
        if self._lock is None:
            import filelock

            self.vault.ensure_hidden()
            # A planted review.lock -> /elsewhere is refused by name, never opened.
            path = refuse_links(self.vault.hidden / "review.lock", self.vault.root)
            self._lock = filelock.FileLock(str(path), thread_local=True)
        return self._lock

    # -- questions --------------------------------------------------------------------

    def cards(self) -> list[DeckCard]:
        """Every card of the vault."""
        return vault_cards(self.vault.root)

    def _due_at(self, key: str, state: dict[str, dict[str, Any]]) -> datetime | None:
        """When a reviewed card is due again; None for a card never reviewed (new)."""
        stored = state.get(key)
        if not stored:
            return None
        return self._fsrs_card(key, stored).due

    def due(self, subject: str | None = None, *, now: datetime | None = None,
            cards: Sequence[DeckCard] | None = None) -> list[DeckCard]:
        """Cards to review now, optionally of one subject: overdue reviews first (oldest first), then new cards."""
        at = _utc(now)
        state = self._load()
        pool = [c for c in (self.cards() if cards is None else cards) if subject is None or c.subject == subject]
        reviews, new = [], []
        for position, card in enumerate(pool):
            due_at = self._due_at(card.key, state)
            if due_at is None:
                new.append(card)
            elif due_at <= at:
                reviews.append((due_at, position, card))
        return [c for _, _, c in sorted(reviews, key=lambda r: (r[0], r[1]))] + new

    def counts(self, *, now: datetime | None = None,
               cards: Sequence[DeckCard] | None = None) -> list[SubjectCounts]:
        """Due, new and total cards per subject, sorted by subject."""
        at = _utc(now)
        state = self._load()
        table: dict[str, list[int]] = {}
        for card in (self.cards() if cards is None else cards):
            row = table.setdefault(card.subject, [0, 0, 0])
            due_at = self._due_at(card.key, state)
            row[2] += 1
            if due_at is None:
                row[1] += 1
            elif due_at <= at:
                row[0] += 1
        return [SubjectCounts(s, *table[s]) for s in sorted(table, key=lambda s: (s.casefold(), s))]

    # -- answers ----------------------------------------------------------------------

    def rate(self, card: DeckCard, rating: str, *, now: datetime | None = None) -> datetime:
        """Record the learner's answer to a card; return when the card is due next."""
        import fsrs

        if rating not in RATINGS:
            raise InputError(f"rating must be one of {', '.join(RATINGS)}, got {rating!r}")
        at = _utc(now)
        with self._file_lock():
            # Read inside the lock: another tab may have rated a card since this page loaded.
            state = self._load()
            stored = state.get(card.key) or {}
            updated, _ = self.scheduler.review_card(self._fsrs_card(card.key, stored),
                                                    fsrs.Rating(RATINGS.index(rating) + 1), at)
            state[card.key] = {"fsrs": updated.to_dict(), "video_id": card.video_id,
                               "reviews": int(stored.get("reviews", 0) or 0) + 1, "last_rating": rating}
            self._save(state)
        return updated.due

    def _save(self, state: dict[str, dict[str, Any]]) -> None:
        self.vault.ensure_hidden()
        atomic_write_json(self.path, {"version": _VERSION, "cards": state}, root=self.vault.root)


def _is_hex(text: str) -> bool:
    try:
        int(text[:12], 16)
    except ValueError:
        return False
    return len(text) >= 12
