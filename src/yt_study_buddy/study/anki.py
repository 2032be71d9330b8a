"""Stage study: the vault's flashcards as an Anki package (.apkg), built with genanki.

One deck per subject under a parent deck "Study Buddy"; a note type with the
fields Front, Back and Source (the lecture's title, linked to the moment of
the video). Model and deck ids are fixed (a deck's id comes from its name) and
each note's GUID comes from its video id and card, so importing a newer export
updates the cards already in Anki instead of adding copies.

The package is built in memory (the collection is an in-memory SQLite
database) and written with one atomic replace: no temporary file is left
anywhere, and an interrupted export never leaves half a package.
"""

from __future__ import annotations

import hashlib
import html
import io
import itertools
import os
import sqlite3
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from yt_study_buddy.errors import InputError
from yt_study_buddy.models import format_timestamp
from yt_study_buddy.notes.cards import CLOZE_MARK
from yt_study_buddy.study.deck import DeckCard, subjects_of, vault_cards
from yt_study_buddy.vault.atomic import atomic_write_bytes
from yt_study_buddy.vault.render import subject_tag

__all__ = ["AnkiExport", "PARENT_DECK", "MODEL_ID", "PARENT_DECK_ID", "deck_id", "deck_name",
           "build_apkg", "export_anki", "check_anki_target"]

PARENT_DECK = "Study Buddy"
#: Fixed forever: Anki matches note types and decks by id on import.
MODEL_ID = 1_734_190_417
PARENT_DECK_ID = 1_734_190_418

_CSS = """\
.card { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 20px;
        text-align: left; color: #1f2328; background: #ffffff; max-width: 40em; margin: auto; }
.source { margin-top: 1.5em; font-size: 14px; color: #59636e; }
.cloze-term { font-weight: bold; color: #0969da; }
"""



@dataclass(frozen=True)
class AnkiExport:
    """What an export wrote: where, how many cards and in how many subject decks."""

    path: Path | None
    cards: int
    decks: int


def deck_name(subject: str) -> str:
    """Return the Anki deck of a subject: 'Study Buddy::<subject>'."""
    # "::" nests decks in Anki: a subject containing it must not create sub-decks.
    clean = " ".join(subject.replace("::", ":").split()) or "General"
    return f"{PARENT_DECK}::{clean}"


def deck_id(subject: str) -> int:
    """Return a subject deck's fixed id, derived from its name."""
    digest = hashlib.sha1(deck_name(subject).casefold().encode("utf-8")).digest()
    return (1 << 30) + int.from_bytes(digest[:4], "big") % (1 << 30)


def _model():  # type: ignore[no-untyped-def]
    import genanki  # lazy: only exports need it

    return genanki.Model(
        MODEL_ID, "Study Buddy card",
        fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Source"}],
        templates=[{
            "name": "Card",
            "qfmt": "{{Front}}",
            "afmt": '{{FrontSide}}<hr id="answer">{{Back}}<div class="source">{{Source}}</div>',
        }],
        css=_CSS,
    )


def _back_html(card: DeckCard) -> str:
    back = html.escape(card.card.back)
    if card.card.cloze:
        # The whole sentence with the answer marked, so the blank is seen in its context.
        sentence = CLOZE_MARK.sub(lambda m: f'<span class="cloze-term">{m.group(1)}</span>',
                              html.escape(card.card.cloze))
        return f"{back}<br><br>{sentence}"
    return back


def _source_html(card: DeckCard) -> str:
    label = html.escape(card.title)
    if card.card.timestamp is not None:
        label += f" [{format_timestamp(card.card.timestamp)}]"
    link = card.source_link
    if link:
        return f'<a href="{html.escape(link, quote=True)}">{label}</a>'
    return label


def _package(cards: Sequence[DeckCard]):  # type: ignore[no-untyped-def]
    import genanki  # lazy: only exports need it

    model = _model()
    decks = {PARENT_DECK: genanki.Deck(PARENT_DECK_ID, PARENT_DECK)}
    for subject in subjects_of(cards):
        decks[subject] = genanki.Deck(deck_id(subject), deck_name(subject))
    for card in cards:
        tags = [t for t in ("study-buddy", subject_tag(card.subject).replace("/", "-")) if t]
        decks[card.subject].add_note(genanki.Note(
            model=model,
            fields=[html.escape(card.card.front), _back_html(card), _source_html(card)],
            tags=tags,
            guid=genanki.guid_for(card.video_id, card.key),
        ))
    return genanki.Package(list(decks.values()))


def build_apkg(cards: Sequence[DeckCard], timestamp: float | None = None) -> bytes:
    """Return the .apkg bytes of these cards (a zip holding the collection database)."""
    package = _package(cards)
    conn = sqlite3.connect(":memory:")
    try:
        now = time.time() if timestamp is None else timestamp
        package.write_to_db(conn.cursor(), now, itertools.count(int(now * 1000)))
        conn.commit()
        database = conn.serialize()
    finally:
        conn.close()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("collection.anki2", database)
        archive.writestr("media", "{}")
    return out.getvalue()


def export_anki(root: str | Path, path: str | Path) -> AnkiExport:
    """Write every card of the vault at root to the .apkg file at path (atomically); return what was written."""
    if not Path(root).is_dir():
        raise InputError(f"there are no notes in {root} yet: nothing to export")
    target = check_anki_target(path)
    cards = vault_cards(root)
    atomic_write_bytes(target, build_apkg(cards))
    return AnkiExport(path=target, cards=len(cards), decks=len(subjects_of(cards)))


def check_anki_target(path: str | Path) -> Path:
    """Return the package path if it can be written (its folder exists, it is no folder), else InputError."""
    # Only the file the user named is written: a mistyped folder is an error, never created.
    if not str(path).strip():
        raise InputError("--anki needs a file name, e.g. --anki flashcards.apkg")
    target = Path(path).expanduser()
    if target.is_dir():
        raise InputError(f"--anki {target} is a folder: name a file in it, e.g. {target / 'flashcards.apkg'}")
    if os.path.lexists(target) and (target.is_symlink() or not target.is_file()):
        # The package replaces the file atomically: that would replace a link, or a device such as /dev/null.
        raise InputError(f"--anki {target} is not a regular file (a link, device or pipe): name a plain file")
    if not target.parent.is_dir():
        raise InputError(f"--anki {target}: the folder {target.parent} does not exist (create it first)")
    return target
