"""Stage vault: the index of the vault's notes as plain data: load, save, look up, relate.

Stored at ``<root>/.study-buddy/index.json``. The notes' front matter is the
truth; the index is a cache of it that the store verifies by ``stat`` (path,
mtime, size) and repairs. This module never touches a note file and never
calls back into the vault: it only turns JSON into validated entries and back.

Everything in the file is untrusted (the folder is synced, shared, edited): an
entry whose path is absolute, climbs out with ``..``, points into a hidden
folder or is not a string is dropped, and the store finds its note again by
walking the vault.
"""

from __future__ import annotations

import json
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from yt_study_buddy.vault.atomic import atomic_write_bytes

__all__ = [
    "NoteIndex",
    "concept_key",
    "related_in",
    "load_index",
    "save_index",
    "safe_relative",
    "path_stem",
    "sort_key",
    "INDEX_VERSION",
    "MAX_CONCEPT_NOTES",
]

INDEX_VERSION = 2
#: A concept more notes than this hold says little about any two of them: it neither
#: relates notes nor links to one (it still counts in the statistics).
MAX_CONCEPT_NOTES = 40
_STRIP = " .,;:!?'\"()"


def fold(text: str) -> str:
    """Lower-case text without changing its length (so match positions map back)."""
    # "İ" is the one character whose lower case is two characters long.
    return text.replace("\u0130", "i").lower()


@lru_cache(maxsize=65536)  # pure, and asked for every concept of every note whenever the index is turned around
def concept_key(concept: str) -> str:
    """Return the form used to compare concepts (case- and spacing-insensitive)."""
    return " ".join(fold(str(concept)).split()).strip(_STRIP)


def safe_relative(value: Any, *, suffix: str = ".md") -> str | None:
    """Return value if it is a plain relative path inside the vault (no '..', no hidden part), else None."""
    if not isinstance(value, str) or not value.endswith(suffix) or "\x00" in value or "\\" in value:
        return None
    # No empty part (absolute, "a//b", "a/"), none starting with "." ("..", ".", hidden folders).
    if any(not part or part.startswith(".") for part in value.split("/")):
        return None
    return value


def _str_list(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return list(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def clean_entry(entry: Any) -> dict | None:
    """Return a validated copy of an untrusted index entry, or None when it can't be trusted."""
    if not isinstance(entry, dict):
        return None
    path = safe_relative(entry.get("path"))
    concepts = _str_list(entry.get("concepts"))
    title, subject = entry.get("title"), entry.get("subject")
    if path is None or concepts is None or not isinstance(title, str) or not isinstance(subject, str):
        return None
    assessment = entry.get("assessment")
    out = {"title": title, "path": path, "subject": subject, "concepts": concepts,
           "assessment": safe_relative(assessment) if assessment is not None else None}
    for key in ("mtime", "size"):
        if _int(entry.get(key)) is not None:
            out[key] = entry[key]
    if isinstance(entry.get("hash"), str):
        out["hash"] = entry["hash"]
    if entry.get("broken") is True:
        out["broken"] = True
    return out


@dataclass
class NoteIndex:
    """video_id -> entry for every note, plus markdown files known not to be notes.

    An entry: ``title``, ``path`` (relative, forward slashes), ``subject``,
    ``concepts``, ``assessment`` (relative or None) and, once verified,
    ``mtime``/``size`` (nanoseconds, bytes) and ``hash`` of the file as last
    read or written. ``others`` maps the relative path of a markdown file that is
    not a note (an assessment, the user's own page, a second copy of a note) to
    ``[mtime, size, video_id or ""]``, so a verification need not read it again.
    """

    notes: dict[str, dict] = field(default_factory=dict)
    others: dict[str, list] = field(default_factory=dict)

    def copy(self) -> "NoteIndex":
        """Return an independent copy (entries copied one level deep)."""
        return NoteIndex({k: dict(v) for k, v in self.notes.items()}, {k: list(v) for k, v in self.others.items()})

    def by_path(self) -> dict[str, str]:
        """Return relative path -> video_id."""
        return {entry["path"]: vid for vid, entry in self.notes.items()}

    def to_json(self) -> dict:
        """Return the JSON document stored on disk."""
        return {"version": INDEX_VERSION, "notes": self.notes, "others": self.others}

    @classmethod
    def from_json(cls, data: Any) -> "NoteIndex | None":
        """Return the index in a stored document, or None when it is not one; bad entries are dropped."""
        if not isinstance(data, dict) or data.get("version") != INDEX_VERSION or not isinstance(data.get("notes"), dict):
            return None
        notes = {}
        for vid, entry in data["notes"].items():
            cleaned = clean_entry(entry)
            if isinstance(vid, str) and vid and cleaned is not None:
                notes[vid] = cleaned
        others: dict[str, list] = {}
        raw = data.get("others")
        for rel, stamp in (raw.items() if isinstance(raw, dict) else ()):
            if safe_relative(rel) and isinstance(stamp, list) and len(stamp) == 3 and _int(stamp[0]) is not None \
                    and _int(stamp[1]) is not None and isinstance(stamp[2], str):
                others[rel] = list(stamp)
        return cls(notes, others)

    def stats(self) -> dict:
        """Return {'total_notes', 'total_concepts', 'subjects': {name: count}}."""
        concepts = {concept_key(c) for e in self.notes.values() for c in e["concepts"]} - {""}
        subjects: dict[str, int] = {}
        for entry in self.notes.values():
            subjects[entry["subject"]] = subjects.get(entry["subject"], 0) + 1
        return {"total_notes": len(self.notes), "total_concepts": len(concepts),
                "subjects": dict(sorted(subjects.items()))}


def load_index(path: Path) -> NoteIndex | None:
    """Return the index stored at path, or None when it is missing, unreadable or not an index."""
    try:
        data = json.loads(Path(path).read_bytes())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return NoteIndex.from_json(data)


def save_index(path: Path, index: NoteIndex, *, root: Path | None = None) -> None:
    """Write the index atomically (compact: it is read on every run); no link below root is followed."""
    data = json.dumps(index.to_json(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    atomic_write_bytes(Path(path), data.encode("utf-8"), root=root)


def path_stem(path: str) -> str:
    """Return the file name of a relative path without its suffix (as PurePosixPath.stem, faster)."""
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def holders_of(notes: Mapping[str, Mapping]) -> dict[str, list[str]]:
    """Return concept key -> ids of the notes holding it (each once)."""
    holders: dict[str, list[str]] = {}
    for vid, entry in notes.items():
        for key in {concept_key(c) for c in entry["concepts"]} - {""}:
            holders.setdefault(key, []).append(vid)
    return holders


def sort_key(video_id: str, entry: Mapping) -> tuple[str, str, str]:
    """Return how notes are ordered when nothing else decides: file name (any case), path, video id."""
    return (path_stem(entry["path"]).casefold(), entry["path"], video_id)


def related_in(notes: Mapping[str, Mapping], video_id: str, *, subject_only: bool = False,
               holders: Mapping[str, Iterable[str]] | None = None,
               order: Mapping[str, tuple] | None = None) -> list[tuple[str, list[str]]]:
    """Return (other video_id, shared concepts) for notes sharing concepts, strongest first.

    Ties go by file name, then path. A concept held by more than MAX_CONCEPT_NOTES
    notes relates nothing. Pass ``holders`` (from ``holders_of``) to avoid a scan and
    ``order`` (video_id -> ``sort_key``) to avoid recomputing names.
    """
    me = notes.get(video_id)
    if me is None:
        return []
    if holders is None:
        holders = holders_of(notes)
    mine: dict[str, str] = {}
    for concept in me["concepts"]:
        mine.setdefault(concept_key(concept), concept)
    mine.pop("", None)
    shared: dict[str, list[str]] = {}
    for key in mine:
        owners = list(holders.get(key, ()))
        if len(owners) > MAX_CONCEPT_NOTES:
            continue
        for other in owners:
            if other != video_id and (not subject_only or notes[other]["subject"] == me["subject"]):
                shared.setdefault(other, []).append(key)
    ranked = sorted(shared.items(), key=lambda item: (-len(item[1]), *(
        order[item[0]] if order is not None else sort_key(item[0], notes[item[0]]))))
    return [(vid, [mine[k] for k in sorted(keys)]) for vid, keys in ranked]
