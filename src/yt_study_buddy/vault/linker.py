"""Stage vault: cross-links between notes, as pure functions of a note's text and the index.

For each note, links this tool made before are taken out first (an aliased
``[[Target|phrase]]`` goes back to ``phrase``; the ``## Related notes`` section
at the end is dropped), then made again from the index: the first mention of
another note's concept becomes ``[[Other note|phrase]]`` and a ``## Related
notes`` section lists the notes sharing concepts. A note's own concepts are
not linked inline (they are what the note is about). The result depends only on
the note's text and the set of notes, so running it twice, or after writing
notes in another order, gives the same bytes.

A link must read as a pointer to the same idea, so the inline pass is careful:
the longest concept at a spot wins and a word inside a longer concept phrase is
never linked on its own ("gradient" in "gradient descent"); quoted speech is
left as spoken; a single word never links to a note of another subject
("gradient" in a biology note is not gradient descent) and very generic words
("data", "model") never link at all. Notes sharing concepts across subjects are
still listed under Related notes.

It scales with the vault: a ``ConceptTable`` turns the index around (concept ->
notes holding it, first word -> concepts), so a note is compared only with the
notes it shares a concept with and only the concepts whose words all occur in
its text are searched for. A concept held by more than ``MAX_CONCEPT_NOTES``
notes ("energy" in a physics vault) neither relates nor links notes, and a note
gets at most ``MAX_LINKS`` inline links and ``MAX_RELATED`` related notes.

``notes_to_relink`` says which notes a change can affect, from the index alone
and each note's word signature (a small Bloom filter of the words in its text),
so a new lecture is linked without reading the rest of the vault, and the
result is byte for byte what linking every note would give.

Aliased wiki links in a note body are treated as this tool's own; plain
``[[Note]]`` links (the assessment link, a user's links) are left alone.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable, Mapping

from yt_study_buddy.markdown import is_title
from yt_study_buddy.notes.text_analysis import word_key
from yt_study_buddy.vault.flashcards import FLASHCARDS_HEADING
from yt_study_buddy.vault.index import (
    MAX_CONCEPT_NOTES,
    concept_key,
    fold,
    holders_of,
    path_stem,
    related_in,
    sort_key,
)

__all__ = ["link_body", "link_note", "unlink_body", "ConceptTable", "LinkReport", "notes_to_relink",
           "signature", "decode_signature", "RELATED_HEADING", "MAX_RELATED", "MAX_LINKS", "LINKER_VERSION"]

#: Changes whenever the same inputs would give other links: a vault linked by an older version is relinked.
LINKER_VERSION = 3
RELATED_HEADING = "## Related notes"
MAX_RELATED = 12
MAX_LINKS = 25
_MIN_CONCEPT_LEN = 2
# Words too vague to point at one note, whatever subject they come from.
_GENERIC = frozenset("""
    data model training train step system value time way part process method function result output input
    example thing problem set level rate type form amount number information unit structure energy size
    change idea concept term case point test work use
""".split())
_RUN = re.compile(r"\w+")
NO_CLAIM = object()
_SIGNATURE_HASHES = 3

_ALIASED_LINK = re.compile(r"\[\[([^\[\]|\n]+)\|([^\[\]\n]+)\]\]")
# Places a link must never go: code, existing links, URLs, HTML, headings, table rows.
_PROTECTED = [
    re.compile(r"^(```|~~~).*?(^\1[^\n]*$|\Z)", re.MULTILINE | re.DOTALL),
    re.compile(r"<!--.*?-->", re.DOTALL),
    re.compile(r"`[^`\n]+`"),
    re.compile(r"\[\[[^\]\n]*\]\]"),
    re.compile(r"!?\[[^\]\n]*\]\([^)\n]*\)"),
    re.compile(r"\[[^\]\n]*\]\[[^\]\n]*\]"),
    re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+"),
    re.compile(r"<[^<>\n]+>"),
    re.compile(r"^[ \t]*#{1,6}[ \t].*$", re.MULTILINE),
    re.compile(r"^[ \t]*\|.*$", re.MULTILINE),
    # Quoted speech is the speaker's words: links inside it would misquote them.
    re.compile(r"“(?:[^”\n]|\n(?![ \t]*\n))*”"),
    re.compile(r'"[^"\n]*"'),
    # Flashcards are recall prompts: a link in a card would give its answer away (and clutter review).
    re.compile(rf"^{re.escape(FLASHCARDS_HEADING)}[ \t]*$.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL),
]


def unlink_body(body: str) -> str:
    """Return a note body without the links and Related section this tool made."""
    lines = body.split("\n")
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].rstrip() == RELATED_HEADING:
            lines = lines[:i]
            break
    text = "\n".join(lines)
    text = _ALIASED_LINK.sub(lambda m: m.group(2), text)
    return text.rstrip("\n") + "\n"


def _header_end(body: str) -> int:
    # The header is "# Title" and the paragraph under it (video link, assessment link).
    lines = body.split("\n")
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and is_title(lines[i]):
        i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        while i < len(lines) and lines[i].strip():
            i += 1
    else:
        i = 0
    return len("\n".join(lines[:i]))


def _protected_mask(text: str) -> bytearray:
    # One flag per character: checking a match stays cheap however many spans are taken.
    mask = bytearray(len(text))
    for pattern in _PROTECTED:
        for m in pattern.finditer(text):
            mask[m.start():m.end()] = b"\x01" * (m.end() - m.start())
    return mask


def _is_generic(key: str) -> bool:
    return " " not in key and word_key(key) in _GENERIC


def _longest_first(key: str) -> tuple:
    return (-len(key.split()), -len(key), key)


@dataclass
class LinkReport:
    """What a finalize pass did: links in place, notes renamed and rewritten, notes skipped."""

    links: int = 0
    renamed: int = 0
    stats: dict = field(default_factory=dict)
    relinked: int = 0
    skipped: list[str] = field(default_factory=list)


def runs_of(key: str) -> tuple[str, ...]:
    """Return the word runs of a concept key: each must occur in a text for the concept to match."""
    return tuple(_RUN.findall(key))


def _keys(entry: Mapping | None) -> set[str]:
    return {concept_key(c) for c in entry["concepts"]} - {""} if entry is not None else set()


def _stem(entry: Mapping) -> str:
    return path_stem(entry["path"])


class ConceptTable:
    """The index turned around: concept -> notes holding it, first word -> concepts."""

    def __init__(self, notes: Mapping[str, Mapping], *, holders: dict[str, list[str]] | None = None,
                 order: dict[str, tuple] | None = None):
        self.notes = notes
        self.holders = holders if holders is not None else holders_of(notes)
        self.order = order if order is not None else {vid: sort_key(vid, entry) for vid, entry in notes.items()}
        self._subjects: dict[str, dict[str, int]] = {}
        self._by_run: dict[str, list[tuple[str, tuple[str, ...]]]] | None = None

    def variant(self, notes: Mapping[str, Mapping], changed: Iterable[str]) -> "ConceptTable":
        """Return the table of ``notes``, which differ from this table's notes only in ``changed``."""
        holders, order = dict(self.holders), dict(self.order)
        for vid in changed:
            for key in _keys(self.notes.get(vid)):
                rest = [h for h in holders[key] if h != vid]  # a new list: this table's stay as they are
                if rest:
                    holders[key] = rest
                else:
                    del holders[key]
            entry = notes.get(vid)
            for key in _keys(entry):
                holders[key] = [*holders.get(key, ()), vid]
            if entry is None:
                order.pop(vid, None)
            else:
                order[vid] = sort_key(vid, entry)
        return ConceptTable(notes, holders=holders, order=order)

    def popular(self, key: str) -> bool:
        """True when so many notes hold the concept that it relates and links nothing."""
        return len(self.holders.get(key, ())) > MAX_CONCEPT_NOTES

    def related(self, video_id: str, subject_only: bool = False) -> list[tuple[str, list[str]]]:
        """Return (other video_id, shared concepts), strongest first."""
        return related_in(self.notes, video_id, subject_only=subject_only, holders=self.holders, order=self.order)

    def mentioned(self, words: Iterable[str]) -> list[str]:
        """Return the concepts whose word runs all occur among words."""
        if self._by_run is None:
            self._by_run = {}
            for key in sorted(self.holders):
                runs = runs_of(key)
                # A concept without letters or digits can't be told apart from punctuation: never matched.
                if len(key) >= _MIN_CONCEPT_LEN and runs:
                    self._by_run.setdefault(runs[0], []).append((key, runs[1:]))
        words = set(words)
        return [key for run in words for key, rest in self._by_run.get(run, ()) if all(r in words for r in rest)]

    def _others_in(self, key: str, video_id: str, subject: str | None) -> bool:
        """True when a note other than video_id (in subject, when given) holds the concept."""
        if subject is None:
            return any(h != video_id for h in self.holders.get(key, ())[:2])
        counts = self._subjects.get(key)
        if counts is None:
            counts = self._subjects[key] = {}
            for h in self.holders.get(key, ()):
                counts[self.notes[h]["subject"]] = counts.get(self.notes[h]["subject"], 0) + 1
        mine = 1 if video_id in self.notes and self.notes[video_id]["subject"] == subject \
            and key in {concept_key(c) for c in self.notes[video_id]["concepts"]} else 0
        return counts.get(subject, 0) - mine > 0

    def target(self, video_id: str, key: str, rank: Mapping[str, int] | Callable[[], Mapping[str, int]],
               subject_only: bool = False) -> object:
        """Return where a mention of a concept held by other notes links: a stem, None (claimed, not
        linked) or NO_CLAIM (no other note holds it). ``rank`` may be a function, called only if needed."""
        me = self.notes[video_id]
        if not self._others_in(key, video_id, me["subject"] if subject_only else None):
            return NO_CLAIM
        if self.popular(key) or (" " not in key and word_key(key) in _GENERIC):
            return None
        holders = [h for h in self.holders[key]
                   if h != video_id and (not subject_only or self.notes[h]["subject"] == me["subject"])]
        if " " not in key:
            holders = [h for h in holders if self.notes[h]["subject"] == me["subject"]]
        if not holders:
            return None
        if len(holders) > 1:
            # Prefer the note sharing the most concepts with this one, then by name.
            ranks = rank() if callable(rank) else rank
            holders = [min(holders, key=lambda h: (ranks.get(h, len(ranks)), *self.order[h]))]
        return _stem(self.notes[holders[0]])

    def plan(self, video_id: str, words: Iterable[str], related: list[tuple[str, list[str]]],
             subject_only: bool = False) -> list[tuple[str, str | None]]:
        """Return (concept key, target stem or None) for the concepts a text mentions, longest first.

        A None target is a phrase that is never linked but still claims its words, so a
        shorter concept inside it stays unlinked too.
        """
        # A note's own concepts are its subject, not a pointer elsewhere: shared ones go to
        # the Related section instead of linking away the note's core terms.
        own = {concept_key(c) for c in self.notes[video_id]["concepts"]}
        rank = {vid: pos for pos, (vid, _) in enumerate(related)}
        out: list[tuple[str, str | None]] = []
        for key in self.mentioned(words):
            where = None if key in own else self.target(video_id, key, rank, subject_only)
            if where is not NO_CLAIM:
                out.append((key, where))  # type: ignore[arg-type]
        out.sort(key=lambda item: _longest_first(item[0]))
        return out


@lru_cache(maxsize=16384)
def _pattern(key: str) -> re.Pattern[str]:
    # Matched against the folded text: case-insensitive by construction, positions unchanged.
    words = [re.escape(w) for w in key.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")


@dataclass(frozen=True)
class LinkedNote:
    """A note body with its links, how many links it has, and the words its text holds."""

    body: str
    links: int
    words: frozenset[str]


def link_note(body: str, video_id: str, table: ConceptTable, *, subject_only: bool = False) -> LinkedNote:
    """Return the body with concept links and a Related section, made from the concept table."""
    body = unlink_body(body)
    cut = _header_end(body)
    header, text = body[:cut], body[cut:]
    folded = fold(text)
    words = frozenset(_RUN.findall(folded))
    related = table.related(video_id, subject_only)
    taken = _protected_mask(text)
    edits: list[tuple[int, int, str]] = []
    for key, stem in table.plan(video_id, words, related, subject_only):
        linked = False
        for match in _pattern(key).finditer(folded):
            start, end = match.span()
            if 1 in taken[start:end]:
                continue
            # Every mention claims its words, linked or not: the longest concept at a spot wins.
            taken[start:end] = b"\x01" * (end - start)
            if stem is not None and not linked:
                edits.append((start, end, stem))
                linked = True
    # The first mentions in reading order, up to the cap: a long note is not a page of links.
    edits = sorted(edits)[:MAX_LINKS]
    for start, end, stem in reversed(edits):
        text = f"{text[:start]}[[{stem}|{text[start:end]}]]{text[end:]}"
    out = (header + text).rstrip("\n") + "\n"
    shown = related[:MAX_RELATED]
    if shown:
        lines = [f"- [[{_stem(table.notes[vid])}]]: {', '.join(shared)}" for vid, shared in shown]
        out += "\n" + RELATED_HEADING + "\n\n" + "\n".join(lines) + "\n"
    return LinkedNote(out, len(edits) + len(shown), words)


def link_body(body: str, video_id: str, notes: Mapping[str, Mapping], *, subject_only: bool = False) -> tuple[str, int]:
    """Return (body with concept links and Related section, number of links) for an index snapshot."""
    linked = link_note(body, video_id, ConceptTable(notes), subject_only=subject_only)
    return linked.body, linked.links


# -- what a change can affect ---------------------------------------------------------------


def _bits(word: str, size: int) -> list[int]:
    digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
    a, b = int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:], "little") | 1
    return [(a + i * b) % size for i in range(_SIGNATURE_HASHES)]


def signature(words: Iterable[str]) -> str:
    """Return a Bloom filter of a text's words (base64): it may say yes wrongly, never no wrongly."""
    words = list(words)
    size = 256
    while size < 10 * len(words):
        size *= 2
    value = 0
    for word in words:
        for bit in _bits(word, size):
            value |= 1 << bit
    return base64.b64encode(value.to_bytes(size // 8, "little")).decode("ascii")


def decode_signature(text: object) -> tuple[int, int] | None:
    """Return (bit count, bits) of a stored signature, or None when it is not one."""
    if not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return None
    size = len(raw) * 8
    if size < 256 or size & (size - 1):
        return None
    return size, int.from_bytes(raw, "little")


def _link_view(entry: Mapping | None) -> tuple | None:
    if entry is None:
        return None
    return (entry["path"], entry["subject"], tuple(entry["concepts"]))


def _unchanged(related: list[tuple[str, list[str]]], changed: set[str]) -> list[tuple[str, list[str]]]:
    return [(vid, shared) for vid, shared in related if vid not in changed]


def _shown(table: ConceptTable, related: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    return [(_stem(table.notes[vid]), shared) for vid, shared in related[:MAX_RELATED]]


def notes_to_relink(before: Mapping[str, Mapping], after: Mapping[str, Mapping], stale: Iterable[str],
                    signatures: Mapping[str, tuple[int, int] | None], *, subject_only: bool = False,
                    table: ConceptTable | None = None) -> set[str]:
    """Return the notes of ``after`` whose links may differ from when the vault was ``before``.

    ``stale`` are notes whose text changed (or was never linked); ``signatures``
    hold each note's words as of its last linking; ``table`` is ``after``'s
    concept table if one is built already. Everything is decided from the index,
    for the notes holding a concept of a changed note (old or new; unless it is
    too common to relate notes before and after) and the notes whose words may
    mention one: such a note is linked again if its Related section, the order of
    its other related notes, or the place a mention of such a concept links to
    (or whether it is claimed) differs before and after.
    """
    changed = {vid for vid in before.keys() | after.keys() if _link_view(before.get(vid)) != _link_view(after.get(vid))}
    todo = (set(stale) | changed) & after.keys()
    if not changed:
        return todo
    touched = sorted({concept_key(c) for vid in changed for entry in (before.get(vid), after.get(vid)) if entry
                      for c in entry["concepts"]} - {""})
    new = table if table is not None else ConceptTable(after)
    old = new.variant(before, changed)
    holding: set[str] = set()
    for key in touched:
        if not (old.popular(key) and new.popular(key)):
            holding.update(new.holders.get(key, ()))
    candidates = set(holding)
    mentions: dict[str, list[str]] = {}
    masks: dict[tuple[str, int], int] = {}
    for key in touched:
        runs = runs_of(key)
        if len(key) < _MIN_CONCEPT_LEN or not runs:
            continue  # never searched for in a text
        for vid in after:
            if vid in todo:
                continue
            sig = signatures.get(vid)
            if sig is None:
                todo.add(vid)
                continue
            size, bits = sig
            mask = masks.get((key, size))
            if mask is None:
                mask = 0
                for run in runs:
                    for bit in _bits(run, size):
                        mask |= 1 << bit
                masks[(key, size)] = mask
            if bits & mask == mask:
                mentions.setdefault(vid, []).append(key)
                candidates.add(vid)
    for vid in sorted(candidates - todo):
        if vid not in holding:
            # It holds no concept of a changed note that relates notes: its related notes, and so its
            # ranking of targets, are the same before and after (computed once, and only if needed).
            ranks: list[dict[str, int]] = []

            def rank(vid: str = vid) -> dict[str, int]:
                if not ranks:
                    ranks.append({v: i for i, (v, _) in enumerate(new.related(vid, subject_only))})
                return ranks[0]

            if any(old.target(vid, key, rank, subject_only) != new.target(vid, key, rank, subject_only)
                   for key in mentions.get(vid, ())):
                todo.add(vid)
            continue
        was, now = old.related(vid, subject_only), new.related(vid, subject_only)
        # Same Related section, and the unchanged notes in the same order: every mention of a
        # concept no changed note holds links where it did. Those of the changed notes' concepts:
        if _shown(old, was) != _shown(new, now) or _unchanged(was, changed) != _unchanged(now, changed):
            todo.add(vid)
            continue
        rank_was = {v: i for i, (v, _) in enumerate(was)}
        rank_now = {v: i for i, (v, _) in enumerate(now)}
        if any(old.target(vid, key, rank_was, subject_only) != new.target(vid, key, rank_now, subject_only)
               for key in mentions.get(vid, ())):
            todo.add(vid)
    return todo
