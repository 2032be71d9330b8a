"""Atomic file writes: a temp file in the same folder, flushed, then renamed.

A reader (Obsidian, a second run, a crash-restart) sees either the old file or
the new one, never a half-written one. OS errors become ``VaultError`` with a
reason that names the file, so a full disk reads as "disk full", not a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path

from .errors import VaultError

__all__ = ["atomic_write_text", "atomic_write_bytes", "atomic_write_json", "vault_error_from_oserror"]

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


def vault_error_from_oserror(exc: OSError, path: Path, action: str = "write") -> VaultError:
    """Turn an OSError into a VaultError whose reason names the file."""
    what = _REASONS.get(exc.errno or 0) or (exc.strerror or type(exc).__name__)
    return VaultError(f"could not {action} {path}: {what}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write bytes to path atomically; raise VaultError on any OS failure."""
    path = Path(path)
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


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 text to path atomically; raise VaultError on failure."""
    # Bytes, not text mode: no platform newline translation, identical files everywhere.
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: object) -> None:
    """Write data as pretty, key-sorted JSON atomically."""
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    atomic_write_text(path, text)


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
