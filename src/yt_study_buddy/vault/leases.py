"""Stage vault: claims on videos, so two runs on one vault never pay twice for the same video.

Before a run fetches or pays for a video it claims it: a small JSON file
``<root>/.study-buddy/leases/<video id>.json``, written under the vault lock,
naming the process (host, pid and when it started) and the run. A second run
that finds a live claim waits until it goes, then looks for the note again:
written by the other run means skipped, not bought twice. A claim is released
when its video ends (written, failed or stopped). After a crash it is stale:
its process is gone (same machine), or it is older than ``LEASE_TTL`` (another
machine sharing the folder, whose processes can't be seen). The vault lock is
held only to read and write a claim, never while waiting.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from yt_study_buddy.errors import Cancelled, StudyBuddyError
from yt_study_buddy.vault.atomic import atomic_write_json, refuse_links
from yt_study_buddy.vault.filenames import id_file_name

if TYPE_CHECKING:  # pragma: no cover
    from yt_study_buddy.vault.store import Vault

__all__ = ["Leases", "LEASE_TTL"]

log = logging.getLogger(__name__)

#: A claim older than this is stale whoever holds it (no video takes that long).
LEASE_TTL = 6 * 3600.0
#: How often a waiting run looks again.
POLL_SECONDS = 0.25


def _process_start(pid: int) -> str | None:
    """When a process started (Linux: clock ticks since boot), or None when unknown or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is the state, fields[19] the start time (field 22 of the whole line).
    return None if fields[0] in ("Z", "X") else fields[19]


def _running(pid: int, started: object) -> bool:
    """True when process pid still runs and is the one that made the claim (pids get reused)."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would end the process on Windows: wait for the TTL instead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as another user's process
    if os.path.isdir("/proc"):
        mark = _process_start(pid)
        return mark is not None and (started is None or mark == started)
    return True


class Leases:
    """This run's claims on videos of one vault."""

    def __init__(self, vault: "Vault", run: str | None = None):
        self.vault = vault
        self.folder = vault.hidden / "leases"
        self.run = run or uuid.uuid4().hex
        self._held: set[str] = set()
        self._guard = threading.Lock()

    def path_for(self, video_id: str) -> Path:
        """Return the claim file of a video."""
        return self.folder / f"{id_file_name(video_id)}.json"

    def _record(self) -> dict:
        return {"host": socket.gethostname(), "pid": os.getpid(), "started": _process_start(os.getpid()),
                "run": self.run, "claimed_at": time.time()}

    def _holder(self, path: Path) -> dict | None:
        """The claim in path if it is another run's and still live, else None."""
        try:
            holder = json.loads(path.read_text(encoding="utf-8"))
            age = time.time() - float(holder["claimed_at"])
            pid = int(holder["pid"])
        except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError):
            return None  # missing or damaged: nobody's claim
        if not isinstance(holder, dict) or holder.get("run") == self.run or not 0 <= age < LEASE_TTL:
            return None
        if holder.get("host") != socket.gethostname():
            return holder  # another machine: its processes can't be seen, trust the claim until the TTL
        if pid == os.getpid():
            return holder if holder.get("started") == _process_start(pid) else None
        return holder if _running(pid, holder.get("started")) else None

    def try_claim(self, video_id: str) -> dict | None:
        """Claim the video; return None when it is ours now, else the live claim of another run."""
        path = self.path_for(video_id)
        with self.vault.lock():
            holder = self._holder(path)
            if holder is not None:
                return holder
            atomic_write_json(path, self._record(), root=self.vault.root)
        with self._guard:
            self._held.add(video_id)
        return None

    def claim(self, video_id: str, cancel: threading.Event | None = None) -> bool:
        """Claim the video, waiting while another run holds it; return True if it had to wait."""
        waited = False
        while (holder := self.try_claim(video_id)) is not None:
            if not waited:
                log.info("%s is being processed by another run (pid %s on %s): waiting for it",
                         video_id, holder.get("pid"), holder.get("host"))
            waited = True
            if cancel is None:
                time.sleep(POLL_SECONDS)
            elif cancel.wait(POLL_SECONDS):
                raise Cancelled()
        return waited

    def release(self, video_id: str) -> None:
        """Let go of a video this run claimed (a no-op otherwise); never raises."""
        with self._guard:
            if video_id not in self._held:
                return
            self._held.discard(video_id)
        path = self.path_for(video_id)
        try:
            with self.vault.lock():
                if self._holder(path) is None and path.exists():
                    refuse_links(path, self.vault.root).unlink()
        except (OSError, StudyBuddyError) as exc:
            # A claim left behind goes stale with this process; nothing is lost.
            log.debug("could not release the claim on %s: %s", video_id, exc)
