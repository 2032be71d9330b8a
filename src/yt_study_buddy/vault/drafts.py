"""Stage vault: a long lecture's paid-for part notes, kept until its note is written.

``<vault>/.study-buddy/generated/<video_id>.parts/<key>.json``, one file per
part, written atomically the moment the part is paid for (parts finish on
several threads, so one file each needs no lock). The key names the part's
captions, title and writer (``notes.parts.Part.key``), so a re-run after a
crash finds exactly the parts it already has and buys only the rest. Files
read back are untrusted: anything but a JSON object under a well-formed key
is ignored.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from yt_study_buddy.errors import StudyBuddyError
from yt_study_buddy.vault.atomic import atomic_write_json, refuse_links

__all__ = ["PartDrafts", "drop_paid_work"]

log = logging.getLogger(__name__)

_KEY = re.compile(r"[0-9a-f]{8,64}")
_MAX_DRAFT_BYTES = 4 * 1024 * 1024


def drop_paid_work(generated_file: Path, root: Path) -> None:
    """Remove a video's kept notes and part drafts once its note is written; links are left alone."""
    try:
        refuse_links(generated_file, root).unlink(missing_ok=True)
    except (OSError, StudyBuddyError):
        pass  # a planted link: leave whatever it points to alone
    PartDrafts.beside(generated_file, root).clear()


class PartDrafts:
    """Part drafts of one video: get, put and clear by key, only below ``root`` with no link on the way."""

    def __init__(self, folder: Path, root: Path, *, read: bool = True):
        self.folder = Path(folder)
        self.root = Path(root)
        #: False with --force: write new drafts, never reuse old ones
        self.read = read

    @classmethod
    def beside(cls, generated_file: Path, root: Path, *, read: bool = True) -> "PartDrafts":
        """The drafts of the video whose kept notes are ``generated_file`` (``<id>.json`` -> ``<id>.parts/``)."""
        generated_file = Path(generated_file)
        return cls(generated_file.with_name(generated_file.stem + ".parts"), root, read=read)

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a draft key: {key!r}")
        return self.folder / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The draft stored under key, or None (missing, unreadable, linked elsewhere, or not an object)."""
        if not self.read:
            return None
        try:
            path = refuse_links(self._path(key), self.root)
            if not path.is_file() or path.stat().st_size > _MAX_DRAFT_BYTES:
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, StudyBuddyError):
            return None
        return data if isinstance(data, dict) else None

    def put(self, key: str, data: dict[str, Any]) -> None:
        """Keep a draft; a failed write is logged, the part is still used in this run."""
        try:
            atomic_write_json(self._path(key), data, root=self.root)
        except StudyBuddyError as exc:
            log.warning("could not keep a part draft: %s", exc.reason)

    def clear(self) -> None:
        """Remove the drafts (the note is written); only our own files, never what else is there."""
        try:
            entries = list(refuse_links(self.folder, self.root).iterdir())
        except (OSError, StudyBuddyError):
            return
        for entry in entries:
            if entry.suffix == ".json" and _KEY.fullmatch(entry.stem) and not entry.is_symlink() \
                    and entry.is_file():
                try:
                    entry.unlink()
                except OSError:
                    pass
        try:
            self.folder.rmdir()
        except OSError:
            pass  # not empty (someone else's file) or already gone
