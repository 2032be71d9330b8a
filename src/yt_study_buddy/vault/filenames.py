"""Stage vault: file names that are safe on Linux, macOS and Windows, and inside Obsidian links."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

__all__ = ["safe_filename", "suffixed_name", "clean_title", "id_file_name", "RESERVED_NAMES"]

#: Names Windows refuses as a file name, with or without an extension.
RESERVED_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"COM{i}" for i in "123456789¹²³"]
    + [f"LPT{i}" for i in "123456789¹²³"]
)

# Forbidden on Windows (\/:*?"<>|) plus what breaks an Obsidian [[link|alias]] (#^[]).
_REPLACEMENTS = {
    "/": "-",
    "\\": "-",
    "|": "-",
    ":": " -",
    "*": "",
    "?": "",
    '"': "'",
    "<": "",
    ">": "",
    "#": "",
    "^": "",
    "[": "(",
    "]": ")",
}
_TABLE = str.maketrans(_REPLACEMENTS)
# Bidi embedding/override/isolate controls can disguise a name ("exe.txt" shown as "txt.exe");
# right-to-left letters themselves are kept.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def id_file_name(video_id: str) -> str:
    """Return a file name (no extension) for a video id: the id itself when plain, else a hash of it."""
    return video_id if _SAFE_ID.fullmatch(video_id) else "h-" + hashlib.sha256(video_id.encode()).hexdigest()[:32]


def clean_title(title: str) -> str:
    """Return title NFC-normalised on one line, without control characters."""
    text = unicodedata.normalize("NFC", title or "")
    out = []
    for ch in text:
        if ch.isspace():
            out.append(" ")
        elif ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def _truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    # errors="ignore" drops a trailing partial character instead of splitting it.
    cut = encoded[:max_bytes].decode("utf-8", errors="ignore")
    # A dangling joiner or variation selector would leave half an emoji sequence.
    return cut.rstrip("\u200d\ufe0e\ufe0f")


def _strip_edges(text: str) -> str:
    return text.strip(" .\u200d")


def _avoid_reserved(name: str) -> str:
    stem, dot, rest = name.partition(".")
    if stem.rstrip(" ").upper() in RESERVED_NAMES:
        return f"{stem.rstrip(' ')}_{dot}{rest}"
    return name


@lru_cache(maxsize=8192)  # a pure function, asked for every note's name whenever names are settled
def safe_filename(title: str, max_bytes: int = 150) -> str:
    """Return a file name (no extension) made from title, safe on every OS."""
    text = clean_title(title).translate(_TABLE)
    # "..": no parent-folder look-alikes; an ellipsis keeps the meaning.
    text = re.sub(r"\.{2,}", "…", text)
    text = re.sub(r" {2,}", " ", text)
    text = _strip_edges(text)
    text = _truncate_utf8(text, max(8, max_bytes))
    text = _strip_edges(text)
    if not text:
        return "Untitled"
    text = _avoid_reserved(text)
    return text


def suffixed_name(base: str, video_id: str) -> str:
    """Return the file name a video takes when its title is shared: 'Title (<video id>)'."""
    return f"{base} ({safe_filename(video_id, 60)})"
