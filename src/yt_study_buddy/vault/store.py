"""Stage vault: the Obsidian vault on disk: subject folders, note and assessment files, the lock.

Layout::

    <root>/<Subject>/<Title>.md                 the study note (the proof a video is done)
    <root>/<Subject>/<Title> - Assessment.md    its self-test
    <root>/.study-buddy/                        index.json, links.json, jobs.jsonl, transcripts/, vault.lock

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

The store does the file I/O; the index (``index.py``) is plain data it loads
once per run and verifies by stat (``scan.py``), and the links are made by pure
functions (``linker.py``) driven by the link pass (``relink.py``).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from yt_study_buddy.errors import InputError, VaultError
from yt_study_buddy.models import Assessment, NotesResult, Transcript, VideoMeta
from yt_study_buddy.notes.categorize import DEFAULT_SUBJECT
from yt_study_buddy.vault.atomic import atomic_write_text, refuse_links, vault_error_from_oserror
from yt_study_buddy.vault.filenames import clean_title, safe_filename, suffixed_name
from yt_study_buddy.vault.flashcards import sr_comments
from yt_study_buddy.vault.index import NoteIndex, load_index, path_stem, related_in, save_index
from yt_study_buddy.vault.linker import LinkReport
from yt_study_buddy.vault.relink import LINKS_FILE, link_pass, load_state, save_state, up_to_date
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
from yt_study_buddy.vault.scan import (
    NoteRecord,
    content_hash,
    entry_for,
    read_record,
    read_text,
    record_from_text,
    stamp_of,
    sync_index,
    unique_concepts,
)

if TYPE_CHECKING:  # pragma: no cover
    import filelock

__all__ = ["HIDDEN_DIR", "Vault", "NoteRecord", "KnowledgeGraph", "ASSESSMENT_SUFFIX", "INDEX_FILE"]

log = logging.getLogger(__name__)

HIDDEN_DIR = ".study-buddy"
ASSESSMENT_SUFFIX = " - Assessment"
INDEX_FILE = "index.json"


def _claims(base: str) -> set[str]:
    # The file names a video may occupy, compared case-insensitively (macOS/Windows).
    return {base.casefold(), f"{base}{ASSESSMENT_SUFFIX}".casefold()}


def _suffixed(base: str, video_id: str) -> str:
    return suffixed_name(base, video_id)


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
        # The verified index, loaded once; re-verified only when another process saved it.
        self._index_guard = threading.RLock()
        self._index: NoteIndex | None = None
        self._index_stamp: tuple[int, int, int] | None = None
        self._index_dirty = False

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
        return KnowledgeGraph(self)

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
        # The app never makes links: a link is the user's, whatever it points to (read_text refuses it).
        text = read_text(Path(path))
        return split_front_matter(text)[0] if text is not None else {}

    def read_record(self, path: Path) -> NoteRecord | None:
        """Return the note record of a file, or None if it is not one of this tool's notes."""
        record = read_record(path)
        if record is None or record.assessment is None:
            return record
        # Untrusted: an assessment path leading out of the vault (absolute, ../) is no assessment.
        assessment = self.inside(record.assessment)
        return replace(record, assessment=assessment.absolute() if assessment else None)

    def owner(self, path: Path) -> str | None:
        """Return the video id in a markdown file's front matter (note or assessment), if any."""
        meta = self._read_meta(path)
        if meta.get("type") in (NOTE_TYPE, ASSESSMENT_TYPE) and meta.get("video_id"):
            return str(meta["video_id"])
        return None

    def iter_notes(self) -> list[NoteRecord]:
        """Return every study note in the vault, sorted by path (one per video id), from the verified index.

        Verified by stat: only files changed since the index last saw them are read.
        The records carry no ``created`` (read the file for that).
        """
        with self._index_guard:
            self._index, changed = sync_index(self.root, self.index())
            self._index_dirty |= changed
            entries = sorted(self._index.notes.items(), key=lambda item: item[1]["path"])
        return [NoteRecord(video_id=vid, title=e["title"], path=self.root / e["path"], subject=e["subject"],
                           concepts=list(e["concepts"]),
                           assessment=self.root / e["assessment"] if e["assessment"] else None,
                           broken=bool(e.get("broken")))
                for vid, e in entries]

    # -- the index -----------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        """Where the index is stored."""
        return self.hidden / INDEX_FILE

    def index(self) -> NoteIndex:
        """Return the verified index: loaded once, checked by stat, re-checked when another process saved it."""
        with self._index_guard:
            stamp = self._index_file_stamp()
            if self._index is None or stamp != self._index_stamp:
                stored = load_index(self.index_path)
                self._index, changed = sync_index(self.root, stored)
                self._index_stamp = stamp
                self._index_dirty = changed or stored is None
            return self._index

    def _index_file_stamp(self) -> tuple[int, int, int] | None:
        # The inode too: another process's save is a new file (atomic rename), whatever its size and time.
        try:
            info = os.stat(self.index_path)
        except OSError:
            return None
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    def rebuild_index(self) -> NoteIndex:
        """Verify every note again (as if the index were lost) and save the result."""
        with self.lock(), self._index_guard:
            self._index, _ = sync_index(self.root, None)
            self._index_dirty = True
            self._save_index()
            return self._index

    def _save_index(self) -> None:
        """Save the index if it changed (call with the vault lock held)."""
        with self._index_guard:
            if self._index is None or not self._index_dirty:
                return
            save_index(self.index_path, self._index, root=self.root)
            self._index_stamp = self._index_file_stamp()
            self._index_dirty = False

    def _save_index_if_free(self) -> None:
        """Save a repaired index when nobody holds the vault lock; else leave it for the next write."""
        if not self._index_dirty:
            return
        try:
            lock = self.lock()
            if not lock.acquire_now():
                return
        except VaultError:  # read-only or gone: the repair is only not remembered
            return
        try:
            self.index()  # another process may have saved meanwhile: verify against its file
            self._save_index()
        except VaultError as exc:
            log.debug("index not saved: %s", exc.reason)
        finally:
            lock.release()

    def _lookup(self, video_id: str) -> Path | None:
        with self._index_guard:
            index = self.index()
            entry = index.notes.get(video_id)
            if entry is None:
                return None
            path = self.inside(entry["path"])  # untrusted: a folder may have become a link since
            if path is not None and stamp_of(path) == (entry.get("mtime"), entry.get("size")):
                return path  # unchanged since it was verified: no need to read it
            # Edited, moved or deleted by hand: verify the vault again (reads only what changed).
            self._index, changed = sync_index(self.root, index)
            self._index_dirty |= changed
            entry = self._index.notes.get(video_id)
            return self.inside(entry["path"]) if entry is not None else None

    def find_note(self, video_id: str) -> Path | None:
        """Return the note file of this video if it exists (a lookup in the verified index)."""
        try:
            if not self.root.is_dir():
                return None  # reading never creates the vault
        except OSError as exc:
            raise vault_error_from_oserror(exc, self.root, "open") from exc
        path = self._lookup(video_id)
        self._save_index_if_free()
        return path

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
        concepts = unique_concepts(list(notes.concepts))
        # Local time without an offset: what Obsidian reads as a Date & time property.
        now = datetime.now().replace(microsecond=0).isoformat()
        with self.lock():
            folder = self._subject_dir(subject)
            # Its current files, even if the user moved them (the lookup verifies and rescans).
            old_note = self._lookup(video_id)
            old_record = self.read_record(old_note) if old_note is not None else None
            old_assess = old_record.assessment if old_record is not None else None
            # An update keeps the date the video was first studied and says when it changed.
            created = (old_record.created if old_record is not None else None) or now
            updated = now if old_record is not None else None
            with self._index_guard:
                others = {vid: e["title"] for vid, e in self.index().notes.items()}
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
            self._record_written(video_id, note_path, text, assess_path if has_assessment else None)
        return written

    def _record_written(self, video_id: str, note_path: Path, text: str, assessment: Path | None) -> None:
        """Put a note just written into the index and save it (the vault lock is held)."""
        record = record_from_text(note_path, text)
        if record is None:  # pragma: no cover - render_note always writes a note's front matter
            raise VaultError(f"could not record {note_path} in the index")
        with self._index_guard:
            index = self.index()
            entry = entry_for(self.root, record, stamp_of(note_path), content_hash(text.encode("utf-8")))
            old = index.notes.get(video_id)
            if old is not None and old["path"] != entry["path"]:
                index.others.pop(old["path"], None)
            index.others.pop(entry["path"], None)
            index.notes[video_id] = entry
            stamp = stamp_of(assessment) if assessment is not None else None
            if entry["assessment"] and stamp is not None:
                index.others[entry["assessment"]] = [stamp[0], stamp[1], ""]
            self._index_dirty = True
            self._save_index()

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
        text = read_text(old)
        if text is None:
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
        text = read_text(record.path)
        if text is None:
            raise VaultError(f"could not read {record.path}")
        meta, body = split_front_matter(text)
        if record.assessment is not None and self._move_assessment(record.assessment, new_assess, stem,
                                                                   record.video_id):
            body = body.replace(f"[[{record.assessment.stem}]]", f"[[{new_assess.stem}]]", 1)
            meta["assessment"] = wikilink(new_assess.stem)
        atomic_write_text(new_note, dump_front_matter(meta, body))
        self._unlink(record.path)

    def settle_names(self) -> int:
        """Give every video whose title clashes with another's the ' (<id>)' suffix; return renames.

        Decided from the index: only a note that is not already under the name it
        should have is looked at on disk. Call with the vault lock held.
        """
        with self._index_guard:
            notes = {vid: dict(e) for vid, e in self.index().notes.items() if not e.get("broken")}
        claims: dict[str, set[str]] = {}
        for vid, entry in notes.items():
            for key in _claims(safe_filename(entry["title"])):
                claims.setdefault(key, set()).add(vid)
        ours: set[Path] = set()
        renamed = 0
        for vid, entry in sorted(notes.items(), key=lambda item: item[1]["path"]):
            base = safe_filename(entry["title"])
            clash = any(claims[k] - {vid} for k in _claims(base))
            want = _suffixed(base, vid) if clash else base
            if path_stem(entry["path"]) == want:
                continue
            path = self.root / entry["path"]
            ours = ours or {self.root / e["path"] for e in notes.values()} | \
                {self.root / e["assessment"] for e in notes.values() if e["assessment"]}
            try:
                renamed += self._settle_one(vid, path, base, want, clash, ours)
            except (OSError, UnicodeDecodeError, ValueError, VaultError) as exc:
                reason = exc.reason if isinstance(exc, VaultError) else f"{type(exc).__name__}: {exc}"
                log.warning("could not rename %s: %s", entry["path"], reason)
        if renamed:
            with self._index_guard:
                self._index, changed = sync_index(self.root, self.index())
                self._index_dirty |= changed
        return renamed

    def _settle_one(self, vid: str, path: Path, base: str, want: str, clash: bool, ours: set[Path]) -> int:
        folder = path.parent
        if not clash:
            # The plain name unless a file that is not one of our notes sits there.
            blocked = [t for t in (folder / f"{base}.md", folder / f"{base}{ASSESSMENT_SUFFIX}.md")
                       if t.exists() and t.absolute() not in ours]
            want = base if not blocked else _suffixed(base, vid)
        if path.stem == want:
            return 0
        record = self.read_record(path)
        if record is None or record.video_id != vid or record.broken:
            return 0
        targets = [folder / f"{want}.md", folder / f"{want}{ASSESSMENT_SUFFIX}.md"]
        if not all(self._may_replace(t, vid, {record.path, record.assessment}) for t in targets):
            return 0  # never overwrite another video's or the user's file
        self._rename_note(record, want)
        return 1

    def finalize(self, *, subject_only: bool = False, relink: bool = False) -> LinkReport:
        """Settle clashing names and link what changed (every note with relink=True).

        One note that can't be read, renamed or written is skipped with a warning;
        the rest of the vault is linked. Raises VaultError only when the index
        itself can't be saved.
        """
        try:
            if not self.root.is_dir():
                return LinkReport()  # nothing written yet: don't create an empty vault
        except OSError as exc:
            raise vault_error_from_oserror(exc, self.root, "open") from exc
        state_path = self.hidden / LINKS_FILE
        with self.lock(), self._index_guard:
            # The files as they are now: the user may have edited, moved or deleted notes during the run.
            self._index, changed = sync_index(self.root, self.index())
            self._index_dirty |= changed
            state = None if relink else load_state(state_path)
            if up_to_date(self._index, state, subject_only):  # a re-run that added nothing
                self._save_index()
                return LinkReport(links=sum(e["links"] or 0 for e in state.notes.values()),  # type: ignore[union-attr]
                                  stats=self._index.stats())
            renamed = self.settle_names()
            index = self.index()
            result = link_pass(self.root, index, state=state, subject_only=subject_only,
                               write=lambda path, text: atomic_write_text(self.contained(path), text, root=self.root))
            self._index_dirty |= result.index_changed
            self._save_index()
            if state is None or result.read or result.state.notes != state.notes:
                save_state(state_path, result.state, root=self.root)
            stats = index.stats()
        return LinkReport(links=result.links, renamed=renamed, stats=stats, relinked=len(result.rewritten),
                          skipped=result.skipped)

    def finalize_quietly(self, *, subject_only: bool = False, relink: bool = False) -> LinkReport:
        """Run finalize() without ever raising: the paid work is on disk and the summary must print.

        A failure is logged (with its traceback when unexpected) and reported as no links.
        """
        try:
            return self.finalize(subject_only=subject_only, relink=relink)
        except VaultError as exc:
            log.warning("cross-linking failed: %s", exc.reason)
        except Exception:  # noqa: BLE001 - an internal error, logged as one
            log.error("cross-linking failed (internal error)", exc_info=True)
        return LinkReport()


class KnowledgeGraph:
    """The vault's index as the app reads it: notes, statistics, related notes."""

    def __init__(self, vault: Vault):
        self.vault = vault
        self.path = vault.index_path

    def _index(self) -> NoteIndex:
        try:
            if not self.vault.root.is_dir():
                return NoteIndex()  # reading never creates the vault
        except OSError as exc:
            raise vault_error_from_oserror(exc, self.vault.root, "open") from exc
        index = self.vault.index()
        self.vault._save_index_if_free()
        return index

    def load_index(self) -> dict[str, dict] | None:
        """Return the notes of the stored index file as it is (None when missing or corrupt)."""
        stored = load_index(self.path)
        return stored.notes if stored is not None else None

    def notes(self) -> dict[str, dict]:
        """Return video_id -> {title, path (relative), subject, concepts, assessment, ...}, verified."""
        index = self._index()
        with self.vault._index_guard:
            return {vid: dict(entry) for vid, entry in index.notes.items()}

    def rebuild(self) -> None:
        """Verify every note again and save the index."""
        self.vault.rebuild_index()

    def get_stats(self) -> dict:
        """Return {'total_notes', 'total_concepts', 'subjects': {name: count}}."""
        return self._index().stats()

    def related(self, video_id: str, *, subject_only: bool = False) -> list[tuple[str, list[str]]]:
        """Return (other video_id, shared concepts) for notes sharing concepts, strongest first."""
        return related_in(self.notes(), video_id, subject_only=subject_only)


def _card_comments(note: Path | None) -> dict[str, str]:
    """The Spaced Repetition scheduling comments in a note about to be rewritten."""
    text = read_text(note) if note is not None else None
    return sr_comments(split_front_matter(text)[1]) if text is not None else {}


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

    def acquire_now(self) -> bool:
        """Take the lock only if nobody holds it; True when taken (then call release)."""
        import filelock

        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        except OSError as exc:
            raise vault_error_from_oserror(exc, self.path, "lock") from exc
        return True

    def release(self) -> None:
        """Release a lock taken with acquire_now."""
        self._lock.release()


def _retarget_assessment(text: str, note_stem: str) -> str:
    meta, body = split_front_matter(text)
    old = link_target(meta.get("note"))
    if old:
        body = body.replace(f"[[{old}]]", f"[[{note_stem}]]", 1)
    meta["note"] = wikilink(note_stem)
    return dump_front_matter(meta, body)
