"""Stage vault: the knowledge graph: which notes exist and which concepts they cover.

Stored at ``<root>/.study-buddy/index.json``. The notes' front matter is the
truth; the index is a cache of it, rebuilt when missing or unreadable. Every
update re-reads the file under the vault lock, so two processes adding notes
at once both end up in it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yt_study_buddy.vault.atomic import atomic_write_json
from yt_study_buddy.errors import VaultError
from yt_study_buddy.vault.filenames import clean_title

if TYPE_CHECKING:  # pragma: no cover
    from yt_study_buddy.vault.store import Vault

__all__ = ["KnowledgeGraph", "concept_key", "INDEX_VERSION"]

INDEX_VERSION = 1
_KEEP = object()


def concept_key(concept: str) -> str:
    """Return the form used to compare concepts (case- and spacing-insensitive)."""
    return " ".join(str(concept).casefold().split()).strip(" .,;:!?'\"()")


def _valid_entry(entry: Any) -> bool:
    return (isinstance(entry, dict) and isinstance(entry.get("title"), str)
            and isinstance(entry.get("path"), str) and isinstance(entry.get("subject"), str)
            and isinstance(entry.get("concepts"), list))


class KnowledgeGraph:
    """Index of the vault's notes and their concepts."""

    def __init__(self, vault: "Vault"):
        self.vault = vault
        self.path = vault.hidden / "index.json"

    # -- storage -------------------------------------------------------------------------

    def load_index(self) -> dict[str, dict] | None:
        """Return the stored index (video_id -> entry), or None when missing or corrupt."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("version") != INDEX_VERSION:
            return None
        notes = data.get("notes")
        if not isinstance(notes, dict) or not all(_valid_entry(e) for e in notes.values()):
            return None
        return notes

    def _save(self, notes: dict[str, dict]) -> None:
        atomic_write_json(self.path, {"version": INDEX_VERSION, "notes": notes})

    def _scan(self) -> dict[str, dict]:
        notes: dict[str, dict] = {}
        for record in self.vault.iter_notes():
            notes[record.video_id] = {
                "title": record.title,
                "path": self.vault.relative(record.path),
                "subject": record.subject,
                "concepts": list(record.concepts),
                "assessment": self.vault.relative(record.assessment) if record.assessment else None,
            }
        return notes

    def rebuild(self) -> None:
        """Rebuild the index from the notes' front matter."""
        with self.vault.lock():
            self._save(self._scan())

    def notes(self) -> dict[str, dict]:
        """Return video_id -> {title, path (relative), subject, concepts, assessment}."""
        notes = self.load_index()
        if notes is not None:
            return notes
        if not self.vault.root.is_dir():
            return {}  # reading never creates the vault
        try:
            with self.vault.lock():
                notes = self.load_index()  # another thread may have rebuilt it meanwhile
                if notes is None:
                    notes = self._scan()
                    self._save(notes)
        except VaultError:
            notes = self._scan()  # a read-only vault can still be browsed
        return notes

    def add_note(self, *, video_id: str, title: str, path: Path, subject: str, concepts: list[str],
                 assessment: Path | None | object = _KEEP) -> None:
        """Record a note in the index (merging with what other processes added)."""
        rel = self.vault.relative(path)
        parts = Path(rel).parts
        if len(parts) == 2:
            subject = parts[0]  # the folder is the subject ("physics" may live in "Physics")
        with self.vault.lock():
            notes = self.load_index()
            if notes is None:
                notes = self._scan()
            old = notes.get(video_id) or {}
            if assessment is _KEEP:
                # Not given: keep what write_note recorded for the same note file.
                kept = old.get("assessment") if old.get("path") == rel else None
            else:
                kept = self.vault.relative(assessment) if assessment else None  # type: ignore[arg-type]
            notes[video_id] = {
                "title": clean_title(title) or video_id,
                "path": rel,
                "subject": subject,
                "concepts": list(concepts),
                "assessment": kept,
            }
            self._save(notes)

    def remove_note(self, video_id: str) -> None:
        """Drop a note from the index (its files are left alone)."""
        with self.vault.lock():
            notes = self.load_index()
            if notes is None:
                notes = self._scan()
            notes.pop(video_id, None)
            self._save(notes)

    # -- queries -------------------------------------------------------------------------

    def get_stats(self) -> dict:
        """Return {'total_notes', 'total_concepts', 'subjects': {name: count}}."""
        notes = self.notes()
        concepts = {concept_key(c) for e in notes.values() for c in e["concepts"] if concept_key(c)}
        subjects: dict[str, int] = {}
        for entry in notes.values():
            subjects[entry["subject"]] = subjects.get(entry["subject"], 0) + 1
        return {"total_notes": len(notes), "total_concepts": len(concepts),
                "subjects": dict(sorted(subjects.items()))}

    def related(self, video_id: str, *, subject_only: bool = False) -> list[tuple[str, list[str]]]:
        """Return (other video_id, shared concepts) for notes sharing concepts, strongest first."""
        return related_in(self.notes(), video_id, subject_only=subject_only)


def related_in(notes: dict[str, dict], video_id: str, *, subject_only: bool = False) -> list[tuple[str, list[str]]]:
    """Return the related notes of video_id within an index snapshot."""
    me = notes.get(video_id)
    if me is None:
        return []
    mine: dict[str, str] = {}
    for concept in me["concepts"]:
        mine.setdefault(concept_key(concept), concept)
    mine.pop("", None)
    found = []
    for other_id, other in notes.items():
        if other_id == video_id or (subject_only and other["subject"] != me["subject"]):
            continue
        keys = {concept_key(c) for c in other["concepts"]} & mine.keys()
        if keys:
            shared = [mine[k] for k in sorted(keys)]
            found.append((other_id, shared, other))
    found.sort(key=lambda item: (-len(item[1]), Path(item[2]["path"]).stem.casefold(), item[2]["path"], item[0]))
    return [(vid, shared) for vid, shared, _ in found]
