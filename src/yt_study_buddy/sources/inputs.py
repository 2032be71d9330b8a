"""Stage sources: turn what the user gave (links, ids, a list file, caption files) into sources."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from yt_study_buddy.errors import InputError, StudyBuddyError
from yt_study_buddy.models import Source
from yt_study_buddy.sources.captions import CAPTION_SUFFIXES, local_video_id, read_caption_bytes
from yt_study_buddy.sources.chapters import captions_beside
from yt_study_buddy.sources.urls import VIDEO_ID_RE, is_playlist_url, parse_playlist_id, parse_video_id, watch_url

__all__ = [
    "Entry",
    "Rejected",
    "CAPTION_SUFFIXES",
    "read_list_file",
    "collect_entries",
    "source_for",
    "resolve_sources",
    "looks_like_a_list",
]

MAX_LIST_FILE_BYTES = 20 * 1024 * 1024
MAX_ENTRY_CHARS = 2048


@dataclass(frozen=True)
class Entry:
    """One line of input and where it came from (for error messages)."""

    text: str
    origin: str = "command line"
    base_dir: Path | None = None


@dataclass(frozen=True)
class Rejected:
    """An entry that could not become a source, with the reason."""

    entry: Entry
    error: StudyBuddyError


def read_list_file(path: str | Path) -> list[Entry]:
    """Read one entry per line, skipping blank lines and # comments; raise InputError on an unusable file."""
    file = Path(path)
    if not file.exists():
        raise InputError(f"file not found: {file}")
    if not file.is_file():
        raise InputError(f"not a file: {file}")
    try:
        size = file.stat().st_size
        if size > MAX_LIST_FILE_BYTES:
            raise InputError(f"{file} is too large for a list of links ({size // 1024 // 1024} MB)")
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror or exc}") from None
    if b"\x00" in data:
        raise InputError(f"{file} is a binary file, not a list of links (one per line)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{file} is not UTF-8 text: expected one link per line") from None
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            entries.append(Entry(stripped, f"{file.name}:{number}", file.parent))
    if not entries:
        raise InputError(f"{file} has no links in it (blank lines and # comments are skipped)")
    return entries


def collect_entries(args: Sequence[str] = (), file: str | Path | None = None) -> list[Entry]:
    """Gather entries from the command line and a list file, in that order."""
    entries = [Entry(a.strip()) for a in args if a and a.strip()]
    if file is not None:
        entries.extend(read_list_file(file))
    return entries


def _local_path(entry: Entry) -> Path | None:
    text = entry.text
    if text.startswith("file://"):
        text = text[len("file://"):]
    if not text.lower().endswith(CAPTION_SUFFIXES) or "://" in text:
        return None
    path = Path(text).expanduser()
    if not path.is_absolute() and entry.base_dir is not None:
        path = entry.base_dir / path
    return path


def _is_list_line(line: str) -> bool:
    """True for a line that names something to process (link, id, path), not words someone said."""
    if any(ch.isspace() for ch in line):
        return False
    try:
        parse_video_id(line)
        return True
    except InputError:
        pass
    return (is_playlist_url(line) or "://" in line or "/" in line or "\\" in line
            or line.lower().endswith(CAPTION_SUFFIXES))


def looks_like_a_list(content: bytes) -> bool:
    """True when most non-comment lines of a .txt file are links, ids or file paths: a list for --file."""
    lines = [line.strip() for line in content.decode("utf-8", "replace").splitlines()[:200]]
    lines = [line for line in lines if line and not line.startswith("#")]
    return bool(lines) and sum(map(_is_list_line, lines)) * 2 > len(lines)


def source_for(entry: Entry | str) -> Source:
    """Return the Source for one entry (YouTube link or id, or caption file), or raise InputError."""
    if isinstance(entry, str):
        entry = Entry(entry)
    text = entry.text
    where = "" if entry.origin == "command line" else f" ({entry.origin})"
    if len(text) > MAX_ENTRY_CHARS:
        raise InputError(f"entry too long ({len(text)} characters){where}: not a link")
    path = _local_path(entry)
    if path is not None:
        captions = captions_beside(path)
        if captions is not None:  # e.g. "*.vtt" picked up lecture.chapters.vtt beside lecture.vtt
            raise InputError(f"{text} is the chapters file of {captions.name}, not a lecture: it gives "
                             f"that lecture its chapters{where}")
        try:
            # Read once, here: the id and the notes come from the same bytes.
            content = read_caption_bytes(path, str(path))
        except InputError as exc:
            raise InputError(f"{exc.reason}{where}") from None
        if path.suffix.lower() == ".txt" and looks_like_a_list(content):
            raise InputError(f"{text} is a list of links or files, not a transcript: use --file {text}")
        return Source(video_id=local_video_id(content), url=str(path.resolve()), kind="local",
                      path=str(path.resolve()), content=content)
    try:
        video_id = parse_video_id(text)
    except InputError as exc:
        raise InputError(f"{exc.reason}{where}") from None
    return Source(video_id=video_id, url=watch_url(video_id))


def resolve_sources(
    entries: Sequence[Entry],
    expand_playlist: Callable[[str], list[str]] | None = None,
) -> tuple[list[Source], list[Rejected]]:
    """Map entries to unique sources (first occurrence wins); collect rejects with reasons."""
    sources: list[Source] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()

    def add(source: Source) -> None:
        if source.video_id not in seen:
            seen.add(source.video_id)
            sources.append(source)

    for entry in entries:
        try:
            if is_playlist_url(entry.text):
                parse_playlist_id(entry.text)  # a malformed playlist link is rejected here
                if expand_playlist is None:
                    raise InputError(f"playlists are not supported here: {entry.text}")
                ids = expand_playlist(entry.text)
                if not ids:
                    raise InputError(f"playlist has no videos: {entry.text}")
                for video_id in ids:
                    if VIDEO_ID_RE.match(video_id):
                        add(Source(video_id=video_id, url=watch_url(video_id)))
                continue
            add(source_for(entry))
        except StudyBuddyError as exc:
            rejected.append(Rejected(entry, exc))
    return sources, rejected
