"""Stage sources: a video's chapters, from its description, yt-dlp's info or a WebVTT chapters file.

YouTube turns a ``0:00 Title`` list in a description into chapters when the
list follows its rules: the first stamp is 0:00, there are at least three
stamps in ascending order, and every chapter lasts at least 10 seconds. We
apply the same rules, so the note shows the chapters the learner sees on
YouTube and nothing YouTube would ignore. The description comes with the
player response the transcript fetch already makes: no extra request.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from yt_study_buddy.models import Chapter, Transcript, VideoMeta
from yt_study_buddy.sources.captions import CAPTION_SUFFIXES, MAX_CAPTION_FILE_BYTES, load_caption_file, parse_vtt

__all__ = [
    "chapters_from_description",
    "chapters_from_info",
    "valid_chapters",
    "parse_chapters_vtt",
    "chapters_file_for",
    "captions_beside",
    "with_local_chapters",
    "load_lecture_file",
    "MIN_CHAPTERS",
    "MIN_CHAPTER_SECONDS",
]

MIN_CHAPTERS = 3
MIN_CHAPTER_SECONDS = 10.0
MAX_TITLE_CHARS = 120

# 0:00, 00:00, 1:02:03 - not part of a longer number, date or ratio (12:30:45:10, 3:4).
_STAMP = re.compile(r"(?<![\d:.])(?:(\d{1,2}):)?(\d{1,2}):(\d{2})(?![\d:])")
# A stamp with the brackets people put around it: "(0:00)", "[0:00]".
_BRACKETED_STAMP = re.compile(r"[(\[{]?\s*" + _STAMP.pattern + r"\s*[)\]}]?")
# Separators people put between a stamp and its title: "0:00 - ", "0:00 | ", "Title – 0:00".
_EDGE = re.compile(r"^[\s\-–—|:•·*>.,;]+|[\s\-–—|:•·*<,;]+$")
_LIST_NUMBER = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*•])\s+")
# Suffixes after which a chapters file belongs to the caption file next to it.
_CHAPTER_SUFFIXES = (".chapters.vtt", "-chapters.vtt", "_chapters.vtt", " chapters.vtt")


def _seconds(match: re.Match[str]) -> float | None:
    hours, minutes, seconds = match.group(1), int(match.group(2)), int(match.group(3))
    if seconds >= 60 or (hours is not None and minutes >= 60):
        return None
    return float(int(hours or 0) * 3600 + minutes * 60 + seconds)


def _clean_title(text: str) -> str:
    title = _BRACKETED_STAMP.sub(" ", text)
    title = _LIST_NUMBER.sub("", title)
    title = " ".join(title.split())
    previous = None
    while previous != title:
        previous, title = title, _EDGE.sub("", title).strip()
    return title[:MAX_TITLE_CHARS].strip()


def _stamped_lines(description: str) -> list[tuple[float, str]]:
    """(start, title) of every line that opens or ends with a timestamp and has a title."""
    found = []
    for line in description.splitlines():
        line = _LIST_NUMBER.sub("", line, count=1)
        match = _BRACKETED_STAMP.search(line)
        if match is None:
            continue
        # A stamp inside a sentence ("at 3:45 I misspoke") is prose, not a chapter.
        before, after = _EDGE.sub("", line[:match.start()]), _EDGE.sub("", line[match.end():])
        if before and after:
            continue
        start = _seconds(match)
        title = _clean_title(line)
        if start is not None and title:
            found.append((start, title))
    return found


def valid_chapters(items: Iterable[tuple[float, str]], duration: float | None = None) -> list[Chapter]:
    """Apply YouTube's rules to (start, title) pairs in order; return [] when they fail them."""
    chapters: list[Chapter] = []
    for start, title in items:
        if duration and start >= duration:
            break  # stamps past the end of the video are not chapters
        if not chapters:
            if start != 0:
                continue  # the list starts at the first 0:00
        elif start <= chapters[-1].start:
            break  # the list ends where the stamps stop ascending
        chapters.append(Chapter(start, title))
    if len(chapters) < MIN_CHAPTERS:
        return []
    ends = [c.start for c in chapters[1:]] + ([duration] if duration else [])
    if any(end - chapter.start < MIN_CHAPTER_SECONDS for chapter, end in zip(chapters, ends)):
        return []
    return chapters


def chapters_from_description(description: str | None, duration: float | None = None) -> list[Chapter]:
    """Return the chapters YouTube would show for a video description, or []."""
    if not description:
        return []
    return valid_chapters(_stamped_lines(description), duration)


def chapters_from_info(info: dict[str, Any]) -> list[Chapter]:
    """Return chapters from a yt-dlp info dict: its 'chapters', else its description's list."""
    duration = info.get("duration") if isinstance(info.get("duration"), (int, float)) else None
    raw = info.get("chapters")
    if isinstance(raw, list) and raw:
        items = []
        for entry in raw:
            start = entry.get("start_time") if isinstance(entry, dict) else None
            title = _clean_title(str(entry.get("title") or "")) if isinstance(entry, dict) else ""
            if isinstance(start, (int, float)) and title:
                items.append((float(start), title))
        chapters = valid_chapters(items, duration)
        if chapters:
            return chapters
    description = info.get("description")
    return chapters_from_description(description if isinstance(description, str) else None, duration)


def parse_chapters_vtt(text: str) -> list[Chapter]:
    """Parse a WebVTT chapters file: one cue per chapter, its text the title."""
    items = [(segment.start, _clean_title(segment.text)) for segment in parse_vtt(text)]
    chapters = [Chapter(start, title) for start, title in items if title]
    # A chapters file is written on purpose: one chapter, or a first one after 0:00, is still meant.
    ordered: list[Chapter] = []
    for chapter in chapters:
        if ordered and chapter.start <= ordered[-1].start:
            return []
        ordered.append(chapter)
    if ordered and ordered[0].start > 0:
        ordered.insert(0, Chapter(0.0, "Start"))
    return ordered if len(ordered) >= 2 else []


def chapters_file_for(caption_path: str | Path) -> Path | None:
    """Return the WebVTT chapters file beside a caption file (lecture.chapters.vtt, ...), if any."""
    path = Path(caption_path)
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    for suffix in _CHAPTER_SUFFIXES:
        candidate = path.with_name(stem + suffix)
        if candidate != path and candidate.is_file():
            return candidate
    return None


def captions_beside(chapters_path: str | Path) -> Path | None:
    """The caption file a chapters file belongs to (lecture.vtt for lecture.chapters.vtt), if there is one."""
    path = Path(chapters_path)
    for suffix in _CHAPTER_SUFFIXES:
        if path.name.lower().endswith(suffix):
            stem = path.name[: -len(suffix)]
            for caption_suffix in CAPTION_SUFFIXES:
                sibling = path.with_name(stem + caption_suffix)
                if stem and sibling.is_file():
                    return sibling
    return None


def with_local_chapters(transcript: Transcript, caption_path: str | Path) -> Transcript:
    """Attach the chapters of a chapters file beside a local caption file; unreadable files are ignored."""
    found = chapters_file_for(caption_path)
    if found is None:
        return transcript
    try:
        if found.stat().st_size > MAX_CAPTION_FILE_BYTES:
            return transcript
        text = found.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return transcript
    duration = transcript.duration
    chapters = [c for c in parse_chapters_vtt(text) if not duration or c.start < duration]
    if len(chapters) >= 2:
        transcript.chapters = chapters
    return transcript


def load_lecture_file(path: str | Path, content: bytes | None = None) -> tuple[VideoMeta, Transcript, str]:
    """Read a local caption file (or its bytes read already) with the chapters file beside it."""
    _, meta, transcript = load_caption_file(path, content=content)
    return meta, with_local_chapters(transcript, path), transcript.method
