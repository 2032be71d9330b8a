"""Ground floor: the Markdown shapes every stage reads the same way (front matter, the title line)."""

from __future__ import annotations

import re

__all__ = ["FRONT_MATTER", "strip_front_matter", "is_title", "strip_title"]

#: A '---' YAML block at the very start of a file; group 1 is its text (None when empty).
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def strip_front_matter(markdown: str) -> str:
    """The text without a leading front-matter block (blank lines before it allowed)."""
    text = markdown.lstrip()
    match = FRONT_MATTER.match(text)
    return text[match.end():] if match else markdown


def is_title(line: str) -> bool:
    """True for a top-level heading ('# Title'), the line a note's title stands on."""
    return line.startswith("# ")


def strip_title(markdown: str) -> str:
    """The text without a first '# Title' line: the vault writes each note's one title itself."""
    lines = markdown.strip("\n").split("\n")
    if lines and is_title(lines[0]):
        lines = lines[1:]
    return "\n".join(lines).strip("\n")
