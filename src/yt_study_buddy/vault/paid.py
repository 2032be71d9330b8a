"""Stage vault: paid work kept in the vault's hidden folder until its note is written.

Two kinds: what an engine generated for a video (notes, a notes draft, the
assessment) in ``generated/<video_id>.json`` (a long lecture's part drafts beside
it: ``drafts.py``), so a crash, Ctrl-C or a failed
later call never makes a re-run pay for it again; and the Message Batches
submitted with ``--batch-api`` in ``message_batches.json`` (which request of
which video went into which batch), written the moment the API returns a
batch id, so a re-run after Ctrl-C, SIGTERM or ``kill -9`` collects that
batch's results instead of submitting the requests again.

Everything read back is untrusted (the vault is the user's, synced, hand
edited): malformed entries are ignored, never followed.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from yt_study_buddy.errors import StudyBuddyError
from yt_study_buddy.models import Assessment, AssessmentQuestion, NotesResult
from yt_study_buddy.vault.atomic import atomic_write_json
from yt_study_buddy.vault.drafts import drop_paid_work

if TYPE_CHECKING:  # pragma: no cover
    from yt_study_buddy.vault.store import Vault

__all__ = ["GeneratedWork", "BatchLedger", "RESULTS_KEPT_DAYS"]

log = logging.getLogger(__name__)

#: Anthropic keeps a batch's results this long after it was created.
RESULTS_KEPT_DAYS = 29
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class GeneratedWork:
    """Generated notes, drafts and assessments of videos whose notes are not written yet."""

    def __init__(self, vault: "Vault"):
        self.root = vault.root
        self.folder = vault.hidden / "generated"

    def path(self, video_id: str) -> Path:
        """The file of a video's generated work (its long-lecture part drafts sit beside it)."""
        return self.folder / f"{video_id}.json"

    def load(self, video_id: str, engine: str, model: str | None
             ) -> tuple[NotesResult | None, Assessment | None, str | None]:
        """What was paid for with this engine and model: (notes, assessment, draft), each may be None.

        Usage comes back empty: those tokens were counted when they were bought.
        """
        path = self.path(video_id)
        if not path.is_file():
            return None, None, None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if (data.get("engine"), data.get("model")) != (engine, model):
                return None, None, None
            raw_notes, raw = data.get("notes"), data.get("assessment")
            notes = None if raw_notes is None else NotesResult(**raw_notes)
            assessment = None if raw is None else Assessment(
                questions=[AssessmentQuestion(**q) for q in raw["questions"]], usage=raw.get("usage", {}))
            draft = data.get("draft")
        except (OSError, ValueError, TypeError, KeyError):
            return None, None, None
        if notes is not None:
            notes.usage = {}
        if assessment is not None:
            assessment.usage = {}
        return notes, assessment, draft if isinstance(draft, str) else None

    def save(self, video_id: str, engine: str, model: str | None, notes: NotesResult | None,
             assessment: Assessment | None, *, draft: str | None = None) -> None:
        """Keep what was generated; a failure to keep it is logged, not raised (the work goes on)."""
        payload = {"engine": engine, "model": model,
                   "notes": asdict(notes) if notes is not None else None,
                   "assessment": asdict(assessment) if assessment is not None else None,
                   "draft": draft}
        try:
            atomic_write_json(self.path(video_id), payload, root=self.root)
        except StudyBuddyError as exc:
            log.warning("could not keep generated notes for %s: %s", video_id, exc.reason)

    def drop(self, video_id: str) -> None:
        """Forget a video's generated work and part drafts (its note is written); links are left alone."""
        drop_paid_work(self.path(video_id), self.root)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class BatchLedger:
    """Which request (custom_id) of which video went into which Message Batch, for this vault."""

    def __init__(self, vault: "Vault"):
        self.vault = vault
        self.path = vault.hidden / "message_batches.json"
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict[str, Any]]:
        """The ledger's batches by id, keeping only well-formed entries whose results still exist."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return {}
        batches = data.get("batches") if isinstance(data, dict) else None
        if not isinstance(batches, dict):
            return {}
        oldest = _now() - timedelta(days=RESULTS_KEPT_DAYS)
        out: dict[str, dict[str, Any]] = {}
        for batch_id, entry in batches.items():
            if not isinstance(batch_id, str) or not _SAFE_ID.match(batch_id) or not isinstance(entry, dict):
                continue
            requests = entry.get("requests")
            try:
                created = datetime.fromisoformat(str(entry.get("created_at")))
            except ValueError:
                continue
            if created.tzinfo is None or created < oldest or not isinstance(requests, dict):
                continue
            clean = {k: v for k, v in requests.items()
                     if isinstance(k, str) and _SAFE_ID.match(k) and isinstance(v, str)}
            if clean:
                out[batch_id] = {"created_at": created.isoformat(), "requests": clean}
        return out

    def _write(self, batches: Mapping[str, Any]) -> None:
        atomic_write_json(self.path, {"batches": dict(batches)}, root=self.vault.root)

    def record(self, batch_id: str, requests: Mapping[str, str]) -> None:
        """Remember a new batch and its requests (custom_id -> video id); raises VaultError."""
        if not _SAFE_ID.match(batch_id):
            raise ValueError(f"unexpected Message Batch id {batch_id!r}")
        with self._lock, self.vault.lock():
            batches = self._read()
            batches[batch_id] = {"created_at": _now().isoformat(), "requests": dict(requests)}
            self._write(batches)

    def lookup(self, custom_id: str) -> str | None:
        """The newest batch this request went into (its results are still there), or None."""
        with self._lock:
            batches = self._read()
        found = [(entry["created_at"], batch_id) for batch_id, entry in batches.items()
                 if custom_id in entry["requests"]]
        return max(found)[1] if found else None

    def forget(self, custom_ids: list[str] | None = None, *, video_id: str | None = None) -> None:
        """Drop requests (by custom_id, or all of one video); a batch with none left goes."""
        if not self.path.exists():
            return
        try:
            with self._lock, self.vault.lock():
                batches = self._read()
                changed = False
                for batch_id in list(batches):
                    requests = batches[batch_id]["requests"]
                    drop = [k for k, v in requests.items()
                            if (custom_ids and k in custom_ids) or (video_id is not None and v == video_id)]
                    for key in drop:
                        del requests[key]
                        changed = True
                    if not requests:
                        del batches[batch_id]
                if changed:
                    self._write(batches)
        except StudyBuddyError as exc:
            log.warning("could not update the Message Batch ledger: %s", exc.reason)
