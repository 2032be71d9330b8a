"""Stage vault: the job log: one JSON line per job in ``<root>/.study-buddy/jobs.jsonl``.

Append-only. Each record goes out in one ``os.write`` on an ``O_APPEND``
descriptor under the vault lock, so lines from threads and processes never
interleave; a crash mid-write leaves at most one torn last line, which
``read()`` skips and the next append starts after. Text is scrubbed of known
secrets; keys that look like secrets or transcript text are refused.
"""

from __future__ import annotations

import json
import os
import re
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from yt_study_buddy.vault.atomic import refuse_links, vault_error_from_oserror
from yt_study_buddy.config import redact

if TYPE_CHECKING:  # pragma: no cover
    from yt_study_buddy.vault.store import Vault

__all__ = ["JobLog", "FORBIDDEN_KEY", "MAX_TEXT"]

# Key names that must never reach the log: credentials, and the transcript itself.
FORBIDDEN_KEY = re.compile(
    r"(api[_-]?key|password|passwd|secret|credential|authorization|auth[_-]?token|access[_-]?token"
    r"|bearer|cookie|session[_-]?token|^transcript$|transcript[_-]?text|^segments$)",
    re.IGNORECASE,
)
#: Longest string value kept; longer ones (a pasted transcript, a huge error page) are cut.
MAX_TEXT = 2000
# Records already parsed, by log file and (inode, mtime, size): a page that shows the log on
# every rerun reads it once per change, not three times per rerun.
_parsed: dict[str, tuple[tuple[int, int, int], list[dict]]] = {}
_parsed_lock = threading.Lock()


def _clean(value: Any, path: str = "") -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = str(key)
            if FORBIDDEN_KEY.search(name):
                raise ValueError(f"refusing to log the field {path}{name!r}: it looks like a secret or transcript")
            out[name] = _clean(item, f"{path}{name}.")
        return out
    if isinstance(value, (list, tuple, set)):
        items = sorted(value, key=str) if isinstance(value, set) else value
        return [_clean(item, path) for item in items]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = redact(str(value))
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "…"
    return text


class JobLog:
    """Append-only record of every job run against a vault."""

    def __init__(self, vault: "Vault"):
        self.vault = vault
        self.path = vault.hidden / "jobs.jsonl"

    def append(self, record: dict) -> None:
        """Append one job record as a JSON line (secrets scrubbed)."""
        clean = _clean(dict(record))
        clean.setdefault("logged_at", datetime.now(timezone.utc).isoformat(timespec="milliseconds"))
        line = (json.dumps(clean, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        with self.vault.lock():
            # Appends follow no link: a planted jobs.jsonl -> /elsewhere is refused by name.
            refuse_links(self.path, self.vault.root)
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
            except OSError as exc:
                raise vault_error_from_oserror(exc, self.path, "open") from exc
            try:
                if _ends_torn(fd):
                    # A crash left half a line: end it, so this record stays on a line of its own.
                    line = b"\n" + line
                written = os.write(fd, line)
                if written < len(line):  # only on a nearly full disk; finish the line
                    os.write(fd, line[written:])
                os.fsync(fd)
            except OSError as exc:
                raise vault_error_from_oserror(exc, self.path) from exc
            finally:
                os.close(fd)

    def read(self) -> list[dict]:
        """Return every readable record, oldest first; torn or garbled lines are skipped."""
        try:
            info = os.stat(self.path)
            stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
            with _parsed_lock:
                cached = _parsed.get(str(self.path))
            if cached is not None and cached[0] == stamp:
                return [dict(r) for r in cached[1]]
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise vault_error_from_oserror(exc, self.path, "read") from exc
        records = []
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                continue
            if isinstance(item, dict):
                records.append(item)
        if len(data) == stamp[2]:  # not appended to while it was read
            with _parsed_lock:
                _parsed[str(self.path)] = (stamp, [dict(r) for r in records])
        return records

    def latest_by_video(self) -> dict[str, dict]:
        """Return the last record of each video (keyed by 'video_id', or 'id')."""
        latest: dict[str, dict] = {}
        for record in self.read():
            key = record.get("video_id") or record.get("id")
            if key:
                latest[str(key)] = record
        return latest


def _ends_torn(fd: int) -> bool:
    size = os.fstat(fd).st_size
    if size == 0:
        return False
    return os.pread(fd, 1, size - 1) != b"\n"
