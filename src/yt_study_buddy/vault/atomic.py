"""Stage vault: atomic file writes: a temp file in the same folder, flushed, then renamed.

A reader (Obsidian, a second run, a crash-restart) sees either the old file or
the new one, never a half-written one. OS errors become ``VaultError`` with a
reason that names the file, so a full disk reads as "disk full", not a traceback.

Given the vault's ``root``, a write first checks that the path stays below it
with no symbolic link on the way (``refuse_links``): a link planted in the
vault (``.study-buddy/transcripts -> /elsewhere``) is refused by name instead
of being followed out of the vault.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import tempfile
import time
from pathlib import Path

from yt_study_buddy.errors import VaultError

__all__ = ["atomic_write_text", "atomic_write_bytes", "atomic_write_json", "vault_error_from_oserror",
           "refuse_links", "TEMP_NAME", "LOADED_AT"]

#: Our temp files: "." + the target's name (up to 40 characters) + "." + mkstemp's 8 characters + ".tmp".
TEMP_NAME = re.compile(r"\A\.[^/]{1,40}\.[a-z0-9_]{8}\.tmp\Z")
#: When this process loaded the vault code: a temp file older than that is no write of ours in progress.
LOADED_AT = time.time()

_REASONS = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENAMETOOLONG: "file name too long",
    errno.EISDIR: "a folder is in the way",
    errno.ENOTDIR: "a file is in the way of a folder",
    errno.EIO: "input/output error",
}


def _read_umask() -> int:
    # Linux reports the umask without changing it; elsewhere os.umask can only be read by
    # setting it, so that is done once, at import, not on every write while threads run.
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)  # restrictive while briefly set, should another thread create a file
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _target_mode(path: Path) -> int:
    """Return the permission bits the file should end with: the old file's, else 0666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_UMASK


def vault_error_from_oserror(exc: OSError, path: Path, action: str = "write") -> VaultError:
    """Turn an OSError into a VaultError whose reason names the file."""
    what = _REASONS.get(exc.errno or 0) or (exc.strerror or type(exc).__name__)
    return VaultError(f"could not {action} {path}: {what}")


def refuse_links(path: Path, root: Path) -> Path:
    """Return path if it lies below root with no symbolic link on the way (itself included), else raise VaultError."""
    path, root = Path(path), Path(root)
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = ("..",)
    if ".." in parts:
        raise VaultError(f"refusing to write outside the notes folder: {path}")
    current = root
    for part in parts:
        current = current / part
        if os.path.islink(current):
            try:
                target = os.readlink(current)
            except OSError:
                target = "?"
            raise VaultError(f"refusing to follow the link {current} (it points to {target}): "
                             "the app writes only inside the notes folder")
    return path


def atomic_write_bytes(path: Path, data: bytes, *, root: Path | None = None) -> None:
    """Write bytes to path atomically; raise VaultError on any OS failure (or a link on the way below root)."""
    path = Path(path)
    if root is not None:
        refuse_links(path, root)
    tmp_name: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Same folder as the target: os.replace is only atomic within one file system.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.", suffix=".tmp")
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            # mkstemp makes 0600 files; a note must get the mode a plain open() would give
            # (or keep the mode of the file it replaces), or a shared vault turns private.
            if hasattr(os, "fchmod"):
                os.fchmod(fd, _target_mode(path))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp_name, path)
        tmp_name = None
        _fsync_dir(path.parent)
    except OSError as exc:
        raise vault_error_from_oserror(exc, path) from exc
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def atomic_write_text(path: Path, text: str, *, root: Path | None = None) -> None:
    """Write UTF-8 text to path atomically; raise VaultError on failure."""
    # Bytes, not text mode: no platform newline translation, identical files everywhere.
    atomic_write_bytes(path, text.encode("utf-8"), root=root)


def atomic_write_json(path: Path, data: object, *, root: Path | None = None) -> None:
    """Write data as pretty, key-sorted JSON atomically."""
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    atomic_write_text(path, text, root=root)


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable across power loss; not possible everywhere (Windows).
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
