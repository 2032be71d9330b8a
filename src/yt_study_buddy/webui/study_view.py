"""Stage webui: what the study views show, as plain data: hidden answers, in-app note links, Obsidian URLs, search.

No Streamlit here, so it is tested directly. Everything comes from the vault
and is untrusted: links are built only to notes the library knows, with
quoted query values, and the text still goes through ``safe_markdown``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence
from urllib.parse import quote, urlencode

__all__ = [
    "Part",
    "split_answers",
    "note_href",
    "link_notes",
    "link_targets",
    "obsidian_url",
    "search_notes",
    "LINK_TAB",
]

#: The tab a note link opens (the main tabs are bound to the ``tab`` query parameter).
LINK_TAB = "Library"

# An Obsidian callout header: "> [!success]- Answer".
_CALLOUT = re.compile(r"^\s{0,3}>\s?\[!([A-Za-z][\w-]*)\][+-]?[ \t]*(.*?)[ \t]*$")
_QUOTED = re.compile(r"^\s{0,3}>\s?(.*)$")
_OLD_ANSWERS = re.compile(r"^\s{0,3}##\s+Answers\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_WIKI = re.compile(r"(?<!!)\[\[([^\[\]|\n]+?)(?:\|([^\[\]\n]+?))?\]\]")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


@dataclass(frozen=True)
class Part:
    """A piece of a page: shown text, or an answer shown only once the learner asks for it."""

    text: str
    hidden: bool = False
    label: str = ""


def split_answers(markdown: str) -> list[Part]:
    """Split a page into shown text and hidden answers (folded callouts; an older file's '## Answers' section)."""
    parts: list[Part] = []
    shown: list[str] = []
    lines = markdown.split("\n")
    i = 0

    def flush() -> None:
        if "".join(shown).strip():
            parts.append(Part("\n".join(shown).strip("\n") + "\n"))
        shown.clear()

    while i < len(lines):
        line = lines[i]
        callout = _CALLOUT.match(line)
        if callout and line.split("]", 1)[1].startswith("-"):
            flush()
            body = []
            i += 1
            while i < len(lines) and (quoted := _QUOTED.match(lines[i])):
                body.append(quoted.group(1))
                i += 1
            parts.append(Part("\n".join(body).strip("\n") + "\n", hidden=True,
                              label=callout.group(2) or "Answer"))
            continue
        if _OLD_ANSWERS.match(line):
            # Assessments written before answers were folded: the whole answer section is one.
            flush()
            parts.append(Part("\n".join(lines[i:]).strip("\n") + "\n", hidden=True, label="Answers"))
            return parts
        shown.append(line)
        i += 1
    flush()
    return parts


def note_href(video_id: str, *, output: str | None = None, view: str | None = None) -> str:
    """Return the in-app link to a note: its Library tab, the note selected (and the vault when not the default)."""
    params = {"tab": LINK_TAB, "note": video_id}
    if view:
        params["view"] = view
    if output:
        params["output"] = output
    return "?" + urlencode(params, quote_via=quote)


def _outside_code(text: str, replace: Callable[[str], str]) -> str:
    """Apply replace to the text outside fenced blocks and code spans."""
    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if fence is not None:
            out.append(line)
            if match and match.group(1).startswith(fence):
                fence = None
            continue
        if match:
            fence = match.group(1)[0] * 3
            out.append(line)
            continue
        pieces, last = [], 0
        for span in _CODE_SPAN.finditer(line):
            pieces += [replace(line[last:span.start()]), span.group(0)]
            last = span.end()
        out.append("".join(pieces) + replace(line[last:]))
    return "\n".join(out)


def link_notes(markdown: str, targets: Mapping[str, tuple[str, str | None]], *,
               output: str | None = None) -> str:
    """Turn [[wiki links]] to notes the library knows into in-app links; others are left for safe_markdown.

    ``targets`` maps a note or assessment name (casefolded) to (video id, view).
    """
    def one(match: re.Match[str]) -> str:
        target, alias = match.group(1), match.group(2)
        name = target.split("#", 1)[0].strip()
        found = targets.get(name.casefold())
        if found is None:
            return match.group(0)
        label = (alias or name).strip().replace("[", "(").replace("]", ")")
        return f"[{label}]({note_href(found[0], output=output, view=found[1])})"

    return _outside_code(markdown, lambda text: _WIKI.sub(one, text))


def obsidian_url(vault_root: str | Path, note: str | Path) -> str:
    """Return the obsidian://open link of a note: the vault by its folder name, the file by its path in it."""
    root = Path(vault_root).resolve()
    path = Path(note).resolve()
    try:
        rel = path.relative_to(root).with_suffix("").as_posix()
    except ValueError:
        rel = path.stem
    return f"obsidian://open?vault={quote(root.name, safe='')}&file={quote(rel, safe='')}"


def search_notes(notes: Sequence, query: str, text_of: Callable[[object], str]) -> list:
    """Return the notes matching every word of query in title, concepts or text: title hits first, then concepts."""
    words = [w for w in query.casefold().split() if w]
    if not words:
        return list(notes)
    ranked = []
    for position, note in enumerate(notes):
        title = str(getattr(note, "title", "")).casefold()
        concepts = " ".join(str(c) for c in getattr(note, "concepts", []) or []).casefold()
        if all(w in title for w in words):
            ranked.append((0, position, note))
        elif all(w in title or w in concepts for w in words):
            ranked.append((1, position, note))
        else:
            # The text is read only for notes the title and concepts do not match.
            text = f"{title} {concepts} {text_of(note).casefold()}"
            if all(w in text for w in words):
                ranked.append((2, position, note))
    return [note for _, _, note in sorted(ranked, key=lambda r: (r[0], r[1]))]


def link_targets(notes: Iterable) -> dict[str, tuple[str, str | None]]:
    """Return the names a wiki link may use for each note (file name, title) and its assessment."""
    targets: dict[str, tuple[str, str | None]] = {}
    for note in notes:
        video_id = str(note.video_id)
        for name in (Path(note.path).stem, str(note.title)):
            targets.setdefault(name.casefold(), (video_id, None))
        if getattr(note, "assessment", None) is not None:
            targets.setdefault(Path(note.assessment).stem.casefold(), (video_id, "assessment"))
    return targets

