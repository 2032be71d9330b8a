"""Stage sources: what YouTube sent, kept in the vault's hidden folder.

Transcripts in ``<root>/.study-buddy/transcripts/<video_id>.json``, video
metadata in ``<root>/.study-buddy/metadata/<video_id>.json``. A retry or a
re-run with ``--force`` reads them from here instead of asking YouTube again,
which is where rate limits bite. Writes never follow a link out of the vault.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from yt_study_buddy.vault.atomic import atomic_write_json
from yt_study_buddy.vault.filenames import id_file_name as _cache_name
from yt_study_buddy.models import Transcript, VideoMeta

if TYPE_CHECKING:  # pragma: no cover
    from yt_study_buddy.vault.store import Vault

__all__ = ["TranscriptCache", "MetaCache"]


def _language_fits(code: str, wanted: Sequence[str]) -> bool:
    code = code.casefold()
    for lang in wanted:
        lang = lang.casefold()
        # "en" asks for English of any region; "en-GB" asks for exactly that.
        if code == lang or ("-" not in lang and code.split("-")[0] == lang):
            return True
    return False


class TranscriptCache:
    """Cache of transcripts by video id, inside the vault's hidden folder."""

    def __init__(self, vault: "Vault"):
        self.vault = vault
        self.folder = vault.hidden / "transcripts"

    def path_for(self, video_id: str) -> Path:
        """Return the cache file of a video id (ids that are not plain get hashed)."""
        return self.folder / f"{_cache_name(video_id)}.json"

    def get(self, video_id: str, languages: Sequence[str]) -> Transcript | None:
        """Return the cached transcript if there is one in a requested language."""
        try:
            data = json.loads(self.path_for(video_id).read_text(encoding="utf-8"))
            transcript = Transcript.from_dict(data)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
            return None  # missing or damaged: fetch again
        if transcript.video_id != video_id or not transcript.segments:
            return None
        if languages and not _language_fits(transcript.language_code, languages):
            return None
        return transcript

    def put(self, transcript: Transcript) -> None:
        """Store a transcript atomically."""
        self.vault.ensure_hidden()
        atomic_write_json(self.path_for(transcript.video_id), transcript.to_dict(), root=self.vault.root)


class MetaCache:
    """Video metadata (title, channel) by video id, inside the vault's hidden folder."""

    def __init__(self, vault: "Vault"):
        self.vault = vault
        self.folder = vault.hidden / "metadata"

    def get(self, video_id: str) -> VideoMeta | None:
        """Return the kept metadata of a video, or None when missing or damaged."""
        try:
            meta = VideoMeta(**json.loads((self.folder / f"{_cache_name(video_id)}.json").read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError, TypeError):
            return None
        return meta if meta.video_id == video_id else None

    def put(self, meta: VideoMeta) -> None:
        """Keep a video's metadata atomically."""
        atomic_write_json(self.folder / f"{_cache_name(meta.video_id)}.json", meta.__dict__, root=self.vault.root)
