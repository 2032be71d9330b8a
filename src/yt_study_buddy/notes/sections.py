"""Stage notes: read and reshape Markdown notes by section, for joining a long lecture's parts.

Engines answer in Markdown with ``## Section`` headings; a long lecture's note
is assembled from several such answers, so these helpers split an answer into
sections, move its headings down a level, pick its timestamped bullets and
shorten its timestamp links. Fenced code is left alone.
"""

from __future__ import annotations

import re
from typing import Iterator

from yt_study_buddy.models import parse_timestamp

__all__ = [
    "split_sections",
    "section",
    "demote",
    "bullets",
    "stamp_seconds",
    "unlink_timestamps",
    "escape_inline",
]

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,3}[.)])\s+\S")
# [12:30], [1:02:03], linked or not: the stamp a key point starts with.
_STAMP = re.compile(r"\[\\?\[?(\d{1,2}(?::\d{2}){1,2})\\?\]?\]")
_STAMP_LINK = re.compile(r"\[(\\?\[?\d{1,2}(?::\d{2}){1,2}\\?\]?)\]\((?:https?://[^)\s]+)\)")
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _lines(markdown: str) -> Iterator[tuple[str, bool]]:
    """Each line with whether it is outside a fenced code block."""
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            yield line, False
            continue
        yield line, not fenced


def split_sections(markdown: str, level: int = 2) -> list[tuple[str, str]]:
    """(heading, body) of each section at this heading level; text before the first has heading ''."""
    out: list[tuple[str, list[str]]] = [("", [])]
    for line, outside in _lines(markdown):
        match = _HEADING.match(line) if outside else None
        if match and len(match.group(1)) == level:
            out.append((match.group(2), []))
        else:
            out[-1][1].append(line)
    return [(heading, "\n".join(body).strip("\n")) for heading, body in out if heading or "".join(body).strip()]


def section(markdown: str, name: str, level: int = 2) -> str | None:
    """The body of the first section called ``name`` (case-insensitive), or None."""
    for heading, body in split_sections(markdown, level):
        if heading.casefold() == name.casefold():
            return body
    return None


def demote(markdown: str, top: int = 3) -> str:
    """Move every heading down so the highest one is at level ``top`` (at most level 6)."""
    levels = [len(m.group(1)) for line, outside in _lines(markdown)
              if outside and (m := _HEADING.match(line))]
    if not levels:
        return markdown.strip("\n")
    shift = max(0, top - min(levels))
    out = []
    for line, outside in _lines(markdown):
        match = _HEADING.match(line) if outside else None
        if match and shift:
            line = "#" * min(6, len(match.group(1)) + shift) + " " + match.group(2)
        out.append(line)
    return "\n".join(out).strip("\n")


def bullets(markdown: str) -> list[str]:
    """The list items of a Markdown text, each with its continuation lines."""
    items: list[list[str]] = []
    for line, outside in _lines(markdown):
        if outside and _BULLET.match(line):
            items.append([line.strip()])
        elif items and line.strip() and line.startswith((" ", "\t")):
            items[-1].append(line.strip())
        elif not line.strip():
            continue
        elif items:
            items.append([])  # a paragraph ends the list item before it
    return [" ".join(item) for item in items if item]


def stamp_seconds(text: str) -> int | None:
    """Seconds of the first [M:SS] or [H:MM:SS] stamp in text, linked or not; None without one."""
    match = _STAMP.search(text)
    if match is None:
        return None
    try:
        return parse_timestamp(match.group(1))
    except ValueError:
        return None


def unlink_timestamps(markdown: str) -> str:
    """Replace '[12:30](https://…)' by '[12:30]': the same facts in fewer tokens."""
    return _STAMP_LINK.sub(lambda m: f"[{m.group(1).strip(chr(92) + '[]')}]", markdown)


def escape_inline(text: str) -> str:
    """Text safe inside a Markdown line: one line, no link or emphasis syntax of its own."""
    return _INLINE_SPECIAL.sub(r"\\\1", " ".join(text.split()))
