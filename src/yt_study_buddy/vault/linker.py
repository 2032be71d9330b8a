"""Stage vault: cross-links between notes: a deterministic pass over the whole vault.

For each note, links this tool made before are taken out first (an aliased
``[[Target|phrase]]`` goes back to ``phrase``; the ``## Related notes`` section
at the end is dropped), then made again from the index: the first mention of
another note's concept becomes ``[[Other note|phrase]]`` and a ``## Related
notes`` section lists the notes sharing concepts. A note's own concepts are
not linked inline (they are what the note is about). The result depends only on
the set of notes, so running it twice, or after writing notes in another
order, gives the same bytes.

A link must read as a pointer to the same idea, so the inline pass is careful:
the longest concept at a spot wins and a word inside a longer concept phrase is
never linked on its own ("gradient" in "gradient descent"); quoted speech is
left as spoken; a single word never links to a note of another subject
("gradient" in a biology note is not gradient descent) and very generic words
("data", "model") never link at all. Notes sharing concepts across subjects are
still listed under Related notes.

Aliased wiki links in a note body are treated as this tool's own; plain
``[[Note]]`` links (the assessment link, a user's links) are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from yt_study_buddy.vault.atomic import atomic_write_text
from yt_study_buddy.vault.index import concept_key, related_in
from yt_study_buddy.vault.render import NOTE_TYPE, split_front_matter, split_front_matter_raw
from yt_study_buddy.notes.text_analysis import word_key

if TYPE_CHECKING:  # pragma: no cover
    from yt_study_buddy.vault.index import KnowledgeGraph
    from yt_study_buddy.vault.store import Vault

__all__ = ["link_vault", "link_body", "unlink_body", "LinkReport", "RELATED_HEADING", "MAX_RELATED"]

RELATED_HEADING = "## Related notes"
MAX_RELATED = 12
_MIN_CONCEPT_LEN = 2
# Words too vague to point at one note, whatever subject they come from.
_GENERIC = frozenset("""
    data model training train step system value time way part process method function result output input
    example thing problem set level rate type form amount number information unit structure energy size
    change idea concept term case point test work use
""".split())

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
]


@dataclass
class LinkReport:
    """What a finalize pass did."""

    links: int = 0
    renamed: int = 0
    stats: dict = field(default_factory=dict)


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
    if i < len(lines) and lines[i].startswith("# "):
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


def _candidates(video_id: str, notes: dict[str, dict], subject_only: bool) -> list[tuple[str, str | None]]:
    """Return (concept as written, target stem or None), longest concept first.

    A None target is a phrase that is never linked but still claims its words, so a
    shorter concept inside it stays unlinked too.
    """
    me = notes[video_id]
    # A note's own concepts are its subject, not a pointer elsewhere: shared ones go to
    # the Related section instead of linking away the note's core terms.
    own = {concept_key(c): c for c in me["concepts"]}
    rank = {vid: pos for pos, (vid, _) in enumerate(related_in(notes, video_id, subject_only=subject_only))}
    best: dict[str, tuple[tuple, str, str]] = {}
    claims: dict[str, str] = {k: c for k, c in own.items() if len(k) >= _MIN_CONCEPT_LEN}
    for other_id, other in notes.items():
        if other_id == video_id or (subject_only and other["subject"] != me["subject"]):
            continue
        stem = Path(other["path"]).stem
        elsewhere = other["subject"] != me["subject"]
        for concept in other["concepts"]:
            key = concept_key(concept)
            if len(key) < _MIN_CONCEPT_LEN or key in own:
                continue
            claims.setdefault(key, concept)
            if _is_generic(key) or (elsewhere and " " not in key):
                continue
            # Prefer the note sharing the most concepts with this one, then by name.
            order = (rank.get(other_id, len(rank)), stem.casefold(), other["path"], concept)
            if key not in best or order < best[key][0]:
                best[key] = (order, concept, stem)
    return [(best[key][1], best[key][2]) if key in best else (concept, None)
            for key, concept in sorted(claims.items(), key=lambda item: _longest_first(item[0]))]


@lru_cache(maxsize=4096)
def _pattern(concept: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in concept.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def link_body(body: str, video_id: str, notes: dict[str, dict], *, subject_only: bool = False) -> tuple[str, int]:
    """Return (body with concept links and Related section, number of links)."""
    body = unlink_body(body)
    cut = _header_end(body)
    header, text = body[:cut], body[cut:]
    taken = _protected_mask(text)
    edits: list[tuple[int, int, str]] = []
    for concept, stem in _candidates(video_id, notes, subject_only):
        linked = False
        for match in _pattern(concept).finditer(text):
            start, end = match.span()
            if 1 in taken[start:end]:
                continue
            # Every mention claims its words, linked or not: the longest concept at a spot wins.
            taken[start:end] = b"\x01" * (end - start)
            if stem is not None and not linked:
                edits.append((match.start(), match.end(), f"[[{stem}|{match.group(0)}]]"))
                linked = True
    for start, end, link in sorted(edits, reverse=True):
        text = text[:start] + link + text[end:]
    out = (header + text).rstrip("\n") + "\n"
    related = related_in(notes, video_id, subject_only=subject_only)[:MAX_RELATED]
    if related:
        lines = [f"- [[{Path(notes[vid]['path']).stem}]]: {', '.join(shared)}" for vid, shared in related]
        out += "\n" + RELATED_HEADING + "\n\n" + "\n".join(lines) + "\n"
    return out, len(edits) + len(related)


def link_vault(vault: "Vault", graph: "KnowledgeGraph", *, subject_only: bool = False) -> int:
    """Re-link every note in the vault; return the number of links now in place."""
    total = 0
    with vault.lock():
        # Only notes whose files exist: every link must resolve.
        notes = {vid: e for vid, e in graph.notes().items() if (vault.root / e["path"]).is_file()}
        for video_id in sorted(notes, key=lambda v: notes[v]["path"]):
            path = vault.root / notes[video_id]["path"]
            text = path.read_text(encoding="utf-8")
            head, body = split_front_matter_raw(text)
            meta, _ = split_front_matter(text)
            if meta.get("type") != NOTE_TYPE or str(meta.get("video_id")) != video_id:
                continue  # the index is stale for this one; the next rebuild fixes it
            new_body, count = link_body(body, video_id, notes, subject_only=subject_only)
            total += count
            new_text = head + new_body
            if new_text != text:
                atomic_write_text(vault.contained(path), new_text)
    return total
