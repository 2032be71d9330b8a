"""Stage vault: reading the vault's files: note records, the walk, and verifying the index by stat.

Every byte read here is untrusted. A note is read only if it is a regular file
(never through a symbolic link, never a FIFO or a device) of at most
``MAX_NOTE_BYTES``; a symlinked note or folder is skipped with a warning and
the rest of the vault is used as usual. A note whose YAML front matter is
broken is still recognised by its raw ``type:`` and ``video_id:`` lines, so
its video is never processed (and paid for) again.

``sync_index`` turns a stored index into a trusted one: files whose
modification time and size match their entry are taken as they are, only what
changed, appeared or vanished is read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from yt_study_buddy.vault.filenames import clean_title, safe_filename, suffixed_name
from yt_study_buddy.vault.index import NoteIndex, safe_relative
from yt_study_buddy.vault.render import NOTE_TYPE, front_matter_block, link_target, split_front_matter

__all__ = ["NoteRecord", "read_text", "read_record", "record_from_text", "walk_markdown", "entry_for",
           "sync_index", "content_hash", "unique_concepts", "MAX_NOTE_BYTES", "Stamp"]

log = logging.getLogger(__name__)

MAX_NOTE_BYTES = 5 * 1024 * 1024
Stamp = tuple[int, int]  # (mtime in nanoseconds, size in bytes)
_RAW_LINE = re.compile(r"^(type|video_id|title|subject)[ \t]*:[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def warn_once(kind: str, path: Path | str, message: str) -> None:
    """Log a warning about a file once per process."""
    with _warned_lock:
        if (kind, str(path)) in _warned:
            return
        _warned.add((kind, str(path)))
    log.warning(message)


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
    broken: bool = False


def content_hash(data: bytes) -> str:
    """Return the short content hash the index keeps for a note file."""
    return hashlib.sha256(data).hexdigest()[:20]


def read_bytes(path: Path) -> bytes | None:
    """Return a regular file's bytes (never through a symlink, at most MAX_NOTE_BYTES), else None."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_NOTE_BYTES:
            return None
        chunks, left = [], MAX_NOTE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        return data if len(data) <= MAX_NOTE_BYTES else None
    except OSError:
        return None
    finally:
        os.close(fd)


def read_text(path: Path) -> str | None:
    """Return a markdown file's text (see read_bytes), or None when unreadable or not UTF-8."""
    data = read_bytes(path)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _scalar(value: Any) -> str | None:
    # Only plain values: a YAML alias bomb in a list must not become a huge string.
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = str(value).strip()
        return text if text and "\n" not in text and len(text) <= 1000 else None
    return None


def _video_id(value: Any) -> str | None:
    text = _scalar(value)
    return text if text and len(text) <= 200 and text.isprintable() else None


def unique_concepts(concepts: Any) -> list[str]:
    """Return concept names cleaned, each once (compared without case or spacing)."""
    seen: set[str] = set()
    out = []
    for concept in concepts if isinstance(concepts, list) else []:
        text = clean_title(_scalar(concept) or "")
        key = " ".join(text.casefold().split())
        if text and key not in seen:
            seen.add(key)
            out.append(text)
    return out


def _raw_fields(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in _RAW_LINE.findall(block):
        fields.setdefault(name, value.strip().strip("'\""))
    return fields


def record_from_text(path: Path, text: str) -> NoteRecord | None:
    """Return the note record in a file's text, or None if it is not one of this tool's notes."""
    path = Path(path).absolute()
    meta, _ = split_front_matter(text)
    if meta.get("type") == NOTE_TYPE and _video_id(meta.get("video_id")):
        video_id = _video_id(meta["video_id"]) or ""
        assessment = link_target(_scalar(meta.get("assessment")))
        return NoteRecord(
            video_id=video_id,
            title=clean_title(_scalar(meta.get("title")) or video_id),
            path=path,
            subject=_scalar(meta.get("subject")) or path.parent.name,
            concepts=unique_concepts(meta.get("concepts")),
            assessment=(path.parent / f"{assessment}.md").absolute() if assessment else None,
            created=_scalar(meta.get("created")),
        )
    block = front_matter_block(text)
    if meta or block is None:
        return None
    # The YAML does not parse: a hand edit broke it. The raw lines still say whose note it is.
    raw = _raw_fields(block)
    video_id = _video_id(raw.get("video_id"))
    if raw.get("type") != NOTE_TYPE or not video_id:
        return None
    warn_once("yaml", path, f"{path.name}: its front matter is not valid YAML; kept as the note of "
                            f"{video_id} (fix the YAML to have it linked again)")
    return NoteRecord(video_id=video_id, title=clean_title(raw.get("title") or path.stem) or video_id,
                      path=path, subject=raw.get("subject") or path.parent.name, broken=True)


def read_record(path: Path) -> NoteRecord | None:
    """Return the note record of a file, or None if it is not one of this tool's notes."""
    text = read_text(Path(path))
    return record_from_text(Path(path), text) if text is not None else None


def walk_markdown(root: Path) -> dict[str, Stamp]:
    """Return relative path -> (mtime_ns, size) of every visible markdown file (stat only, nothing read)."""
    found: dict[str, Stamp] = {}
    todo = [(Path(root), "")]
    while todo:
        folder, prefix = todo.pop()
        try:
            with os.scandir(folder) as entries:
                listed = list(entries)
        except OSError as exc:
            if prefix:
                warn_once("folder", folder, f"skipped folder {prefix}: {exc.strerror or exc}")
            continue
        for entry in listed:
            name = entry.name
            if name.startswith("."):
                continue  # hidden: the index, caches, the user's tool folders
            rel = f"{prefix}{name}"
            try:
                if entry.is_symlink():
                    if name.endswith(".md") or entry.is_dir():
                        warn_once("symlink", rel, f"skipped {rel}: a symbolic link (only real files are notes)")
                    continue
                if entry.is_dir(follow_symlinks=False):
                    todo.append((Path(entry.path), f"{rel}/"))
                elif name.endswith(".md"):
                    info = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(info.st_mode):
                        found[rel] = (info.st_mtime_ns, info.st_size)
            except OSError:
                continue
    return found


def stamp_of(path: Path) -> Stamp | None:
    """Return a regular file's (mtime_ns, size) without following a symlink, or None."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size) if stat.S_ISREG(info.st_mode) else None


def _relative_inside(root: Path, path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        rel = Path(os.path.normpath(path)).relative_to(Path(os.path.normpath(root))).as_posix()
    except ValueError:
        return None
    return safe_relative(rel)


def entry_for(root: Path, record: NoteRecord, stamp: Stamp | None, digest: str | None) -> dict:
    """Return the index entry of a note record (the folder a note sits in is its subject)."""
    rel = _relative_inside(root, record.path) or ""
    parts = PurePosixPath(rel).parts
    entry: dict[str, Any] = {
        "title": clean_title(record.title) or record.video_id,
        "path": rel,
        "subject": parts[0] if len(parts) == 2 else record.subject,
        "concepts": list(record.concepts),
        "assessment": _relative_inside(root, record.assessment),
    }
    if stamp is not None:
        entry["mtime"], entry["size"] = stamp
    if digest is not None:
        entry["hash"] = digest
    if record.broken:
        entry["broken"] = True
    return entry


def _canonical(record: NoteRecord) -> bool:
    """True when a note sits where the app would have put it (its title's name, its subject's folder)."""
    base = safe_filename(record.title)
    return (record.path.stem in (base, suffixed_name(base, record.video_id))
            and record.path.parent.name == safe_filename(record.subject, 100))


@dataclass
class _Read:
    rel: str
    stamp: Stamp
    entry: dict | None = None
    video_id: str = ""
    canonical: bool = False


def _read_entry(root: Path, rel: str) -> _Read | None:
    """Read one file: its stamp, and its index entry when it is a note (None when it vanished)."""
    path = root / rel
    data = read_bytes(path)
    stamp = stamp_of(path)
    if stamp is None:
        return None
    found = _Read(rel, stamp)
    try:
        record = record_from_text(path, data.decode("utf-8")) if data is not None else None
    except UnicodeDecodeError:
        record = None
    if record is not None and data is not None:
        found.entry = entry_for(root, record, stamp, content_hash(data))
        found.video_id, found.canonical = record.video_id, _canonical(record)
    return found


def sync_index(root: Path, index: NoteIndex | None, *, trust_stamps: bool = True) -> tuple[NoteIndex, bool]:
    """Return (the index made true to the files on disk, whether it changed).

    Unchanged files (same mtime and size as recorded) are trusted without being
    read (unless trust_stamps is False); changed, new and vanished ones are read
    or dropped. When two files claim one video, the one the index knew stays the
    note (else the one named and placed as the app names notes, else the first
    by path); the other is remembered as a copy, with a warning.
    """
    root = Path(root)
    known = index if index is not None else NoteIndex()
    files = walk_markdown(root)
    fresh = NoteIndex()
    for vid, entry in known.notes.items():
        if trust_stamps and files.get(entry["path"]) == (entry.get("mtime"), entry.get("size")):
            fresh.notes[vid] = entry
    taken = fresh.by_path()
    to_read: list[str] = []
    for rel, stamp in files.items():
        if rel in taken:
            continue
        other = known.others.get(rel)
        if trust_stamps and other is not None and (other[0], other[1]) == stamp \
                and (not other[2] or other[2] in fresh.notes):
            fresh.others[rel] = other
            continue
        to_read.append(rel)
    claims: dict[str, list[_Read]] = {}
    for rel in sorted(to_read):
        found = _read_entry(root, rel)
        if found is None:
            continue
        if found.entry is None:
            fresh.others[rel] = [found.stamp[0], found.stamp[1], ""]
        else:
            claims.setdefault(found.video_id, []).append(found)
    for vid, group in claims.items():
        was = (known.notes.get(vid) or {}).get("path")
        group.sort(key=lambda f: (f.rel != was, not f.canonical, f.rel))
        if vid not in fresh.notes:
            fresh.notes[vid] = group.pop(0).entry  # type: ignore[assignment]
        for copy in group:
            fresh.others[copy.rel] = [copy.stamp[0], copy.stamp[1], vid]
            warn_once("copy", f"{vid}:{copy.rel}", f"{copy.rel} claims video {vid} too: keeping both files, "
                                                   f"writing to {fresh.notes[vid]['path']} only")
    changed = fresh.notes != known.notes or fresh.others != known.others
    return fresh, changed
