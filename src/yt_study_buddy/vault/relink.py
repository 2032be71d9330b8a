"""Stage vault: the link pass over note files: only what a change affects, or every note on request.

The last pass is remembered in ``<root>/.study-buddy/links.json``: for each
note, the path, subject and concepts the other notes were linked against, the
file's mtime and size after linking, its word signature and its link count.
The next pass compares that with the verified index: notes whose file changed
since, and the notes a changed entry can affect (``linker.notes_to_relink``),
are read and linked again; the rest is not read at all. Without that file (or
after ``--relink``, a change of ``--subject-only`` or of the linker) every note
is linked. Both ways give the same bytes.

One note that can't be read or written is skipped with a warning, and the rest
of the vault is linked.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from yt_study_buddy.errors import VaultError
from yt_study_buddy.vault.atomic import atomic_write_bytes
from yt_study_buddy.vault.index import NoteIndex, safe_relative
from yt_study_buddy.vault.linker import LINKER_VERSION, ConceptTable, decode_signature, link_note, notes_to_relink, signature
from yt_study_buddy.vault.render import split_front_matter_raw
from yt_study_buddy.vault.scan import content_hash, read_bytes, record_from_text, stamp_of

__all__ = ["LinkState", "PassResult", "load_state", "save_state", "link_pass", "up_to_date", "LINKS_FILE"]

log = logging.getLogger(__name__)

LINKS_FILE = "links.json"
STATE_VERSION = 1


@dataclass
class LinkState:
    """What the last link pass saw: per note its linked view, file stamp, word signature and links."""

    subject_only: bool = False
    notes: dict[str, dict] = field(default_factory=dict)
    #: Which other markdown files there were (a user's page can hold a name a note wants).
    others: str = ""

    def to_json(self) -> dict:
        """Return the JSON document stored on disk."""
        return {"version": STATE_VERSION, "linker": LINKER_VERSION, "subject_only": self.subject_only,
                "notes": self.notes, "others": self.others}


def _clean(entry: Any) -> dict | None:
    if not isinstance(entry, dict) or safe_relative(entry.get("path")) is None:
        return None
    concepts = entry.get("concepts")
    if not isinstance(entry.get("subject"), str) or not isinstance(concepts, list) \
            or not all(isinstance(c, str) for c in concepts):
        return None
    out = {"path": entry["path"], "subject": entry["subject"], "concepts": list(concepts)}
    for key in ("mtime", "size", "links"):
        value = entry.get(key)
        out[key] = value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
    out["sig"] = entry.get("sig") if decode_signature(entry.get("sig")) is not None else None
    return out


def load_state(path: Path) -> LinkState | None:
    """Return the stored state, or None when missing, corrupt or from another linker version."""
    try:
        data = json.loads(Path(path).read_bytes())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION or data.get("linker") != LINKER_VERSION \
            or not isinstance(data.get("notes"), dict) or not isinstance(data.get("subject_only"), bool):
        return None
    notes = {vid: cleaned for vid, entry in data["notes"].items()
             if isinstance(vid, str) and (cleaned := _clean(entry)) is not None}
    others = data.get("others") if isinstance(data.get("others"), str) else ""
    return LinkState(subject_only=data["subject_only"], notes=notes, others=others)


def save_state(path: Path, state: LinkState, *, root: Path | None = None) -> None:
    """Write the state atomically; no link below root is followed."""
    data = json.dumps(state.to_json(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    atomic_write_bytes(Path(path), data.encode("utf-8"), root=root)


def others_digest(index: NoteIndex) -> str:
    """Return a digest of the names of the markdown files that are not notes."""
    return hashlib.sha256("\n".join(sorted(index.others)).encode("utf-8")).hexdigest()[:20]


def up_to_date(index: NoteIndex, state: LinkState | None, subject_only: bool) -> bool:
    """True when nothing changed since the last pass: no name to settle, no note to link."""
    if state is None or state.subject_only != subject_only or state.others != others_digest(index):
        return False
    linkable = {vid: e for vid, e in index.notes.items() if not e.get("broken")}
    if linkable.keys() != state.notes.keys():
        return False
    for vid, entry in linkable.items():
        seen = state.notes[vid]
        if seen["links"] is None or _stamp(seen) != _stamp(entry) or _view(seen) != _view(entry):
            return False
    return True


@dataclass
class PassResult:
    """What one pass did."""

    links: int = 0
    rewritten: list[str] = field(default_factory=list)
    read: int = 0
    skipped: list[str] = field(default_factory=list)
    state: LinkState = field(default_factory=LinkState)
    index_changed: bool = False


def _view(entry: dict) -> dict:
    return {"path": entry["path"], "subject": entry["subject"], "concepts": list(entry["concepts"])}


def _stamp(entry: dict) -> tuple:
    return (entry.get("mtime"), entry.get("size"))


def _to_link(linkable: dict[str, dict], state: LinkState | None, subject_only: bool,
             table: ConceptTable) -> set[str]:
    if state is None or state.subject_only != subject_only:
        return set(linkable)
    stale = {vid for vid, entry in linkable.items()
             if vid not in state.notes or _stamp(state.notes[vid]) != _stamp(entry) or state.notes[vid]["links"] is None}
    before = {vid: e for vid, e in state.notes.items()}
    signatures = {vid: decode_signature(e.get("sig")) for vid, e in state.notes.items() if vid in linkable}
    return notes_to_relink(before, linkable, stale, signatures, subject_only=subject_only, table=table)


def link_pass(root: Path, index: NoteIndex, *, state: LinkState | None, subject_only: bool,
              write: Callable[[Path, str], None]) -> PassResult:
    """Link the notes a change affects (all of them when state is None); update the index's stamps.

    ``write(path, text)`` writes one note (atomically, inside the vault).
    """
    linkable = {vid: e for vid, e in index.notes.items() if not e.get("broken")}
    table = ConceptTable(linkable)
    todo = _to_link(linkable, state, subject_only, table)
    old = state.notes if state is not None and state.subject_only == subject_only else {}
    result = PassResult(state=LinkState(subject_only=subject_only, others=others_digest(index)))
    for vid in sorted(todo, key=lambda v: linkable[v]["path"]):
        entry = linkable[vid]
        try:
            done = _link_one(Path(root), vid, entry, table, subject_only, write)
        except (OSError, UnicodeDecodeError, ValueError, VaultError) as exc:
            reason = exc.reason if isinstance(exc, VaultError) else f"{type(exc).__name__}: {exc}"
            log.warning("skipped linking %s: %s", entry["path"], reason)
            result.skipped.append(entry["path"])
            done = None
        if done is None:
            # Linked against nothing yet: the next pass tries it again.
            result.state.notes[vid] = {**_view(entry), "mtime": None, "size": None, "links": None, "sig": None}
            continue
        links, sig, rewritten, stamp, digest = done
        result.read += 1
        if rewritten:
            result.rewritten.append(vid)
        if _stamp(entry) != stamp or entry.get("hash") != digest:
            entry["mtime"], entry["size"] = stamp
            entry["hash"] = digest
            result.index_changed = True
        result.state.notes[vid] = {**_view(entry), "mtime": entry.get("mtime"), "size": entry.get("size"),
                                   "links": links, "sig": sig}
    for vid, entry in linkable.items():
        if vid not in result.state.notes:
            result.state.notes[vid] = {**old[vid], **_view(entry)}
    result.links = sum(e["links"] or 0 for e in result.state.notes.values())
    return result


def _link_one(root: Path, vid: str, entry: dict, table: ConceptTable, subject_only: bool,
              write: Callable[[Path, str], None]) -> tuple[int, str, bool, tuple[int, int], str] | None:
    path = root / entry["path"]
    stamp = stamp_of(path)
    data = read_bytes(path)
    if data is None or stamp is None:
        raise ValueError("the file can't be read as a note (gone, too large, or not a regular file)")
    text = data.decode("utf-8")
    if stamp != _stamp(entry):
        # Changed since the index was verified: make sure it is still this video's note.
        record = record_from_text(path, text)
        if record is None or record.video_id != vid or record.broken:
            return None
    head, body = split_front_matter_raw(text)
    linked = link_note(body, vid, table, subject_only=subject_only)
    new_text = head + linked.body
    if new_text == text:
        return linked.links, signature(linked.words), False, stamp, content_hash(data)
    write(path, new_text)
    new_stamp = stamp_of(path)
    if new_stamp is None:
        raise ValueError("the file vanished right after it was written")
    return linked.links, signature(linked.words), True, new_stamp, content_hash(new_text.encode("utf-8"))
