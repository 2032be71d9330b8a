"""Stage vault: the Obsidian vault on disk: subject folders, note and assessment files, the lock.

Layout::

    <root>/<Subject>/<Title>.md                 the study note (the proof a video is done)
    <root>/<Subject>/<Title> - Assessment.md    its self-test
    <root>/.study-buddy/                        index.json, jobs.jsonl, transcripts/, vault.lock

Naming is settled so that the vault does not depend on which video finished
first: a title shared by two videos gives both " (<video id>)" once
``finalize()`` has run; before that, a later writer never takes a name another
video already holds.

Everything read from the vault is untrusted: a path from front matter or the
index counts only if it resolves inside ``root``; a symbolic link is never
taken for one of our notes; a file is moved or deleted only when its front
matter says it is ours *and* names the same video. Two files claiming one video
(a user's copy) are both kept; the app writes to the one the index knows.
Nothing outside ``root`` is ever written, moved or deleted.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from yt_study_buddy.vault.atomic import atomic_write_text, refuse_links, vault_error_from_oserror
from yt_study_buddy.errors import InputError, VaultError
from yt_study_buddy.vault.filenames import clean_title, safe_filename
from yt_study_buddy.vault.flashcards import sr_comments
from yt_study_buddy.models import Assessment, NotesResult, Transcript, VideoMeta
from yt_study_buddy.notes.categorize import DEFAULT_SUBJECT
from yt_study_buddy.vault.render import (
    ASSESSMENT_TYPE,
    NOTE_TYPE,
    dump_front_matter,
    link_target,
    render_assessment,
    render_note,
    split_front_matter,
    wikilink,
)

if TYPE_CHECKING:  # pragma: no cover
    import filelock

    from yt_study_buddy.vault.index import KnowledgeGraph
    from yt_study_buddy.vault.linker import LinkReport

__all__ = ["HIDDEN_DIR", "Vault", "NoteRecord", "ASSESSMENT_SUFFIX"]

log = logging.getLogger(__name__)

HIDDEN_DIR = ".study-buddy"
ASSESSMENT_SUFFIX = " - Assessment"


@dataclass(frozen=True)
class NoteRecord:
    """A study note found on disk, read from its front matter."""

    video_id: str
    title: str
    path: Path
    subject: str
    concepts: list[str] = field(default_factory=list)
    assessment: Path | None = None
    created: str | None = None


def _claims(base: str) -> set[str]:
    # The file names a video may occupy, compared case-insensitively (macOS/Windows).
    return {base.casefold(), f"{base}{ASSESSMENT_SUFFIX}".casefold()}


def _suffixed(base: str, video_id: str) -> str:
    return f"{base} ({safe_filename(video_id, 60)})"


def _canonical(record: NoteRecord) -> bool:
    """True when a note sits where the app would have put it (its title's name, its subject's folder)."""
    base = safe_filename(record.title)
    return (record.path.stem in (base, _suffixed(base, record.video_id))
            and record.path.parent.name == safe_filename(record.subject, 100))


def _timestamp(value: object) -> str | None:
    # A hand-edited `created: 2024-01-02` comes back from YAML as a date, not a string.
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = str(value).strip() if value is not None else ""
    return text if text and "\n" not in text else None


def _unique_concepts(concepts: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for concept in concepts:
        text = clean_title(str(concept))
        key = " ".join(text.casefold().split())
        if text and key not in seen:
            seen.add(key)
            out.append(text)
    return out


class Vault:
    """A folder of study notes; safe for many threads and processes at once."""

    def __init__(self, root: str | Path):
        if not str(root).strip():
            # Path("") is the working directory: never turn wherever the user stands into a vault.
            raise InputError("the notes folder is empty: name a folder (-o DIR)")
        self.root = Path(root).expanduser().absolute()
        self.hidden = self.root / HIDDEN_DIR
        self._lock: _VaultLock | None = None
        self._guard = threading.Lock()
        self._graph: "KnowledgeGraph | None" = None
        # Markdown files seen not to be our notes (the user's own pages, assessments), by
        # path -> (mtime, size): a lookup that misses the index need not re-read them.
        self._not_notes: dict[str, tuple[int, int]] = {}
        # Videos already warned about for having two files (a user's copy): warn once.
        self._warned_copies: set[str] = set()

    # -- locking and paths ---------------------------------------------------------------

    def lock(self) -> "_VaultLock":
        """Return the vault's cross-process lock (re-entrant within a thread); its errors are VaultErrors."""
        path = self.hidden / "vault.lock"
        # Every time: the lock is taken before each write, so a planted link is met here first.
        refuse_links(path, self.root)
        with self._guard:
            if self._lock is None:
                import filelock  # lazy: only writers need it

                self.ensure_hidden()
                # thread_local: each thread gets its own descriptor, so flock also
                # excludes the other threads of this process, not only other processes.
                self._lock = _VaultLock(filelock.FileLock(str(path), thread_local=True), path)
            return self._lock

    def ensure_hidden(self) -> Path:
        """Create the hidden folder if needed and return it."""
        refuse_links(self.hidden, self.root)
        try:
            self.hidden.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise vault_error_from_oserror(exc, self.hidden, "create") from exc
        return self.hidden

    @property
    def graph(self) -> "KnowledgeGraph":
        """The knowledge graph (index) of this vault."""
        with self._guard:
            if self._graph is None:
                from yt_study_buddy.vault.index import KnowledgeGraph

                self._graph = KnowledgeGraph(self)
            return self._graph

    def contained(self, path: Path) -> Path:
        """Return path if it lies inside the vault, else raise VaultError."""
        root = self.root.resolve()
        target = Path(path).resolve()
        if target != root and root not in target.parents:
            raise VaultError(f"refusing to write outside the notes folder: {path}")
        return Path(path)

    def inside(self, path: str | Path) -> Path | None:
        """Return path (relative ones taken from the root) if it resolves inside the vault, else None."""
        try:
            target = self.root / path
            resolved = target.resolve()
            root = self.root.resolve()
        except (OSError, ValueError, RuntimeError):  # a NUL byte, a link loop
            return None
        return target if resolved != root and root in resolved.parents else None

    def relative(self, path: Path) -> str:
        """Return path relative to the root, with forward slashes."""
        return Path(path).absolute().relative_to(self.root).as_posix()

    # -- reading -------------------------------------------------------------------------

    def subjects(self) -> list[str]:
        """Return the existing subject folders, sorted, hidden ones skipped."""
        try:
            names = [p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")]
        except OSError:
            return []
        return sorted(names, key=lambda n: (n.casefold(), n))

    def _read_meta(self, path: Path) -> dict:
        # The app never makes links: a link is the user's, whatever it points to.
        try:
            if Path(path).is_symlink():
                return {}
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return {}
        return split_front_matter(text)[0]

    def read_record(self, path: Path) -> NoteRecord | None:
        """Return the note record of a file, or None if it is not one of this tool's notes."""
        meta = self._read_meta(path)
        if meta.get("type") != NOTE_TYPE or not meta.get("video_id"):
            return None
        assessment = link_target(meta.get("assessment"))
        # Untrusted: an assessment path leading out of the vault (absolute, ../) is no assessment.
        assessment = self.inside(Path(path).parent / f"{assessment}.md") if assessment else None
        return NoteRecord(
            video_id=str(meta["video_id"]),
            title=clean_title(str(meta.get("title") or meta["video_id"])),
            path=Path(path).absolute(),
            subject=str(meta.get("subject") or Path(path).parent.name),
            concepts=_unique_concepts(list(meta.get("concepts") or [])),
            assessment=assessment.absolute() if assessment else None,
            created=_timestamp(meta.get("created")),
        )

    def owner(self, path: Path) -> str | None:
        """Return the video id in a markdown file's front matter (note or assessment), if any."""
        meta = self._read_meta(path)
        if meta.get("type") in (NOTE_TYPE, ASSESSMENT_TYPE) and meta.get("video_id"):
            return str(meta["video_id"])
        return None

    def _markdown_files(self) -> list[Path]:
        """Return every visible markdown file in the vault (names only: nothing is read)."""
        paths: list[Path] = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            paths += [Path(folder) / f for f in files if f.endswith(".md") and not f.startswith(".")]
        return paths

    def iter_notes(self) -> list[NoteRecord]:
        """Return every study note in the vault, sorted by path (one per video id)."""
        claims: dict[str, list[NoteRecord]] = {}
        for path in sorted(self._markdown_files(), key=lambda p: self.relative(p)):
            record = self.read_record(path)
            if record is not None:
                claims.setdefault(record.video_id, []).append(record)
        index = self.graph.load_index() or {}
        found = []
        for video_id, records in claims.items():
            known = (index.get(video_id) or {}).get("path")
            # The file the index knows, else the one named and placed as the app names them:
            # a user's copy ("Lecture copy.md", "Archive/Lecture.md") is never taken for ours.
            records.sort(key=lambda r: (self.relative(r.path) != known, not _canonical(r)))
            if len(records) > 1:
                self._warn_copies(video_id, records[0].path, [r.path for r in records[1:]])
            found.append(records[0])
        return sorted(found, key=lambda r: self.relative(r.path))

    def _warn_copies(self, video_id: str, ours: Path, copies: list[Path]) -> None:
        with self._guard:
            if video_id in self._warned_copies:
                return
            self._warned_copies.add(video_id)
        log.warning("%d files claim video %s: keeping them all, writing to %s only (not %s)",
                    len(copies) + 1, video_id, self.relative(ours), ", ".join(self.relative(c) for c in copies))

    def _index_is_stale(self, index: dict[str, dict]) -> bool:
        """True when a note on disk is missing from the index (the cheap check: list, read only strangers)."""
        listed = {e["path"] for e in index.values()} | {e["assessment"] for e in index.values() if e.get("assessment")}
        for path in self._markdown_files():
            rel = self.relative(path)
            if rel in listed:
                continue
            try:
                st = path.stat()
            except OSError:
                continue
            stamp = (st.st_mtime_ns, st.st_size)
            with self._guard:
                if self._not_notes.get(rel) == stamp:
                    continue
            record = self.read_record(path)
            if record is not None and record.video_id not in index:
                return True
            if record is not None:
                # A second file claiming an indexed video: a user's copy, not a lost note.
                self._warn_copies(record.video_id, self.root / index[record.video_id]["path"], [path])
            with self._guard:
                self._not_notes[rel] = stamp
        return False

    def _fresh_index(self) -> dict[str, dict]:
        """Rebuild the index from the notes on disk and return it."""
        graph = self.graph
        try:
            graph.rebuild()
            index = graph.load_index()
        except VaultError:
            index = None  # read-only vault: the answer is still right, only not remembered
        return index if index is not None else graph._scan()

    def find_note(self, video_id: str) -> Path | None:
        """Return the note file of this video if it exists."""
        index = self.graph.load_index()
        if index is None:
            if not self.root.is_dir():
                return None  # reading never creates the vault
            # No usable index (its hidden folder was not synced, or it is corrupt): rebuild it
            # once, so a batch does not scan every note for every video.
            index = self._fresh_index()
        else:
            entry = index.get(video_id)
            if entry is not None:
                path = self.inside(entry["path"])  # untrusted: the index may be hand-edited
                record = self.read_record(path) if path is not None else None
                if record is not None and record.video_id == video_id:
                    return path
                index = self._fresh_index()  # the user moved or deleted the file
            elif self._index_is_stale(index):
                # A note on disk the index does not know: absent from the index is not absent
                # from the vault, and reprocessing would pay for the video again.
                index = self._fresh_index()
        entry = index.get(video_id)
        path = self.inside(entry["path"]) if entry is not None else None
        if path is None:
            return None
        record = self.read_record(path)
        return path if record is not None and record.video_id == video_id else None

    # -- writing -------------------------------------------------------------------------

    def _subject_dir(self, subject: str) -> Path:
        name = safe_filename(subject or DEFAULT_SUBJECT, 100)
        for existing in self.subjects():
            if existing.casefold() == name.casefold():
                name = existing  # reuse "Physics" for "physics": one folder on every OS
                break
        return self.contained(self.root / name)

    def _may_replace(self, target: Path, video_id: str, own: set[Path | None]) -> bool:
        """True when target is free, one of the video's own files, or an assessment of it left behind."""
        if not target.exists() and not target.is_symlink():
            return True
        if target.absolute() in own:
            return True
        # Never take over a file of another video or of the user: a note of this video that is
        # not the one the index knows is the user's copy.
        meta = self._read_meta(target)
        return meta.get("type") == ASSESSMENT_TYPE and str(meta.get("video_id")) == video_id

    def _stem_for(self, video_id: str, base: str, folder: Path, others: dict[str, str],
                  own: set[Path | None]) -> str:
        mine = _claims(base)
        clash = any(vid != video_id and _claims(safe_filename(title)) & mine for vid, title in others.items())
        candidates = [_suffixed(base, video_id)] if clash else [base, _suffixed(base, video_id)]
        for stem in candidates:
            targets = [folder / f"{stem}.md", folder / f"{stem}{ASSESSMENT_SUFFIX}.md"]
            if all(self._may_replace(t, video_id, own) for t in targets):
                return stem
        raise VaultError(f"cannot find a free file name for {base!r} in {folder}")

    def write_note(self, *, meta: VideoMeta, subject: str, notes: NotesResult, assessment: Assessment | None,
                   transcript: Transcript | None = None) -> list[Path]:
        """Write (or update) a video's note and assessment; return the files written."""
        video_id = meta.video_id
        if not video_id:
            raise VaultError("a note needs a video id")
        title = clean_title(meta.title) or video_id
        base = safe_filename(title)
        concepts = _unique_concepts(list(notes.concepts))
        # Local time without an offset: what Obsidian reads as a Date & time property.
        now = datetime.now().replace(microsecond=0).isoformat()
        graph = self.graph
        with self.lock():
            folder = self._subject_dir(subject)
            # Its current files, even if the user moved them (find_note verifies and rescans).
            old_note = self.find_note(video_id)
            old_record = self.read_record(old_note) if old_note is not None else None
            old_assess = old_record.assessment if old_record is not None else None
            # An update keeps the date the video was first studied and says when it changed.
            created = (old_record.created if old_record is not None else None) or now
            updated = now if old_record is not None else None
            others = {vid: e["title"] for vid, e in graph.notes().items()}
            stem = self._stem_for(video_id, base, folder, others, {old_note, old_assess})
            note_path = self.contained(folder / f"{stem}.md")
            assess_path = self.contained(folder / f"{stem}{ASSESSMENT_SUFFIX}.md")
            written: list[Path] = []
            keep_assessment = False
            if assessment is not None:
                atomic_write_text(assess_path, render_assessment(meta, assessment, note_name=stem,
                                                                 subject=folder.name, created=created))
                written.append(assess_path)
            elif old_assess is not None:
                # A run without assessments keeps the one already paid for, under the new name.
                keep_assessment = self._move_assessment(old_assess, assess_path, stem, video_id)
            has_assessment = assessment is not None or keep_assessment
            text = render_note(meta, folder.name, NotesResult(
                markdown=notes.markdown, concepts=concepts, summary=notes.summary, subject=notes.subject,
                engine=notes.engine, model=notes.model, usage=notes.usage, flashcards=notes.flashcards),
                created=created, updated=updated, card_comments=_card_comments(old_note),
                assessment_name=f"{stem}{ASSESSMENT_SUFFIX}" if has_assessment else None,
                transcript_method=transcript.method if transcript else None,
                duration=transcript.duration if transcript else None)
            # The note last: it is the proof the video is done, so it must not precede its parts.
            atomic_write_text(note_path, text)
            written.insert(0, note_path)
            for stale in (old_note, old_assess if assessment is not None else None):
                if stale is not None and stale.absolute() not in (note_path, assess_path):
                    self._remove_own(stale, video_id)
            graph.add_note(video_id=video_id, title=title, path=note_path, subject=folder.name,
                           concepts=concepts, assessment=assess_path if has_assessment else None)
        return written

    def _is_own(self, path: Path, video_id: str) -> bool:
        """True for a file inside the vault whose front matter says it is ours, for this video."""
        return self.inside(path) is not None and self.owner(path) == video_id

    def _unlink(self, path: Path) -> None:
        try:
            self.contained(path).unlink(missing_ok=True)
        except OSError as exc:
            raise vault_error_from_oserror(exc, path, "remove") from exc

    def _remove_own(self, path: Path, video_id: str) -> None:
        if self._is_own(path, video_id):
            self._unlink(path)

    def _move_assessment(self, old: Path, new: Path, note_stem: str, video_id: str) -> bool:
        """Move the video's assessment to new (pointing at note_stem); False if old is not ours to move."""
        if not self._is_own(old, video_id):
            return False
        try:
            text = old.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return False
        fixed = _retarget_assessment(text, note_stem)
        if old.absolute() == new.absolute():
            if fixed != text:
                atomic_write_text(self.contained(new), fixed)
            return True
        atomic_write_text(self.contained(new), fixed)
        self._unlink(old)
        return True

    def _rename_note(self, record: NoteRecord, stem: str) -> None:
        folder = record.path.parent
        new_note = self.contained(folder / f"{stem}.md")
        new_assess = self.contained(folder / f"{stem}{ASSESSMENT_SUFFIX}.md")
        text = record.path.read_text(encoding="utf-8")
        meta, body = split_front_matter(text)
        if record.assessment is not None and self._move_assessment(record.assessment, new_assess, stem,
                                                                   record.video_id):
            body = body.replace(f"[[{record.assessment.stem}]]", f"[[{new_assess.stem}]]", 1)
            meta["assessment"] = wikilink(new_assess.stem)
        atomic_write_text(new_note, dump_front_matter(meta, body))
        self._unlink(record.path)

    def settle_names(self) -> int:
        """Give every video whose title clashes with another's the ' (<id>)' suffix; return renames."""
        records = self.iter_notes()
        claims: dict[str, set[str]] = {}
        for rec in records:
            for key in _claims(safe_filename(rec.title)):
                claims.setdefault(key, set()).add(rec.video_id)
        ours = {r.path for r in records} | {r.assessment for r in records if r.assessment}
        renamed = 0
        for rec in records:
            base = safe_filename(rec.title)
            clash = any(claims[k] - {rec.video_id} for k in _claims(base))
            folder = rec.path.parent
            want = _suffixed(base, rec.video_id)
            if not clash:
                # The plain name unless a file that is not one of our notes sits there.
                blocked = [t for t in (folder / f"{base}.md", folder / f"{base}{ASSESSMENT_SUFFIX}.md")
                           if t.exists() and t.absolute() not in ours]
                want = base if not blocked else want
            if rec.path.stem == want:
                continue
            targets = [folder / f"{want}.md", folder / f"{want}{ASSESSMENT_SUFFIX}.md"]
            if not all(self._may_replace(t, rec.video_id, {rec.path, rec.assessment}) for t in targets):
                continue  # never overwrite another video's or the user's file
            self._rename_note(rec, want)
            renamed += 1
        return renamed

    def finalize(self, *, subject_only: bool = False) -> "LinkReport":
        """Settle clashing names, rebuild the index and re-link the whole vault."""
        from yt_study_buddy.vault.linker import LinkReport, link_vault

        if not self.root.is_dir():
            return LinkReport()  # nothing written yet: don't create an empty vault
        graph = self.graph
        with self.lock():
            renamed = self.settle_names()
            graph.rebuild()
            links = link_vault(self, graph, subject_only=subject_only)
            stats = graph.get_stats()
        return LinkReport(links=links, renamed=renamed, stats=stats)


def _card_comments(note: Path | None) -> dict[str, str]:
    """The Spaced Repetition scheduling comments in a note about to be rewritten."""
    if note is None:
        return {}
    try:
        text = note.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    return sr_comments(split_front_matter(text)[1])


class _VaultLock:
    """The vault's file lock as a context manager whose OS errors (read-only vault, a folder in the way)
    come out as VaultError."""

    def __init__(self, lock: "filelock.FileLock", path: Path):
        self._lock = lock
        self.path = path

    def __enter__(self) -> "_VaultLock":
        try:
            self._lock.acquire()
        except OSError as exc:
            raise vault_error_from_oserror(exc, self.path, "lock") from exc
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


def _retarget_assessment(text: str, note_stem: str) -> str:
    meta, body = split_front_matter(text)
    old = link_target(meta.get("note"))
    if old:
        body = body.replace(f"[[{old}]]", f"[[{note_stem}]]", 1)
    meta["note"] = wikilink(note_stem)
    return dump_front_matter(meta, body)
