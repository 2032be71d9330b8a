"""Stage webui: read the vault for the web app: notes by subject, safe markdown, the graph as DOT text.

Standard library plus ``render`` only; nothing here calls Streamlit, so it is
tested directly. Reading is read-only: browsing a vault never writes to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, Iterable, Mapping

from yt_study_buddy.vault.render import ASSESSMENT_TYPE, NOTE_TYPE, split_front_matter

__all__ = [
    "LibraryNote",
    "scan_library",
    "merge_concepts",
    "read_note_body",
    "safe_markdown",
    "dot_quote",
    "build_graph_dot",
    "MAX_GRAPH_NOTES",
]

#: Beyond this many notes the picture is unreadable and slow to lay out in the browser.
MAX_GRAPH_NOTES = 150
_MAX_NOTE_BYTES = 5 * 1024 * 1024

# An HTML tag, comment, declaration or processing instruction as CommonMark sees one.
_RAW_HTML = re.compile(r"<(?=[A-Za-z/!?])")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_WIKI_LINK = re.compile(r"!?\[\[([^\[\]|]+?)(?:\|([^\[\]]+?))?\]\]")
# An Obsidian callout header: "> [!success]- Answers" (Streamlit would show the marker as text).
_CALLOUT = re.compile(r"^(\s{0,3}(?:>\s?)+)\[!([A-Za-z][\w-]*)\][+-]?[ \t]*(.*?)[ \t]*$", re.MULTILINE)


@dataclass
class LibraryNote:
    """One study note in the vault, with its assessment file when there is one."""

    video_id: str
    title: str
    subject: str
    path: Path
    url: str = ""
    channel: str = ""
    assessment: Path | None = None
    concepts: list[str] = field(default_factory=list)


def _read_text(path: Path) -> str | None:
    try:
        if path.stat().st_size > _MAX_NOTE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _tags(meta: Mapping[str, Any]) -> list[str]:
    tags = meta.get("tags") or []
    if not isinstance(tags, list):
        return []
    # The generic tags say what kind of file it is, not what it is about.
    return [str(t) for t in tags if str(t) not in ("study-notes", "assessment") and not str(t).startswith("subject/")]


def scan_library(root: str | Path) -> list[LibraryNote]:
    """Return the vault's notes (by front matter type), sorted by subject then title."""
    base = Path(root)
    if not base.is_dir():
        return []
    notes: dict[str, LibraryNote] = {}
    assessments: dict[str, Path] = {}
    for path in sorted(base.rglob("*.md")):
        rel = path.relative_to(base)
        # Hidden folders hold the index, caches and uploads, not notes.
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        text = _read_text(path)
        if text is None:
            continue
        meta, _ = split_front_matter(text)
        kind = meta.get("type")
        video_id = str(meta.get("video_id") or "")
        if not video_id:
            continue
        if kind == ASSESSMENT_TYPE:
            assessments.setdefault(video_id, path)
        elif kind == NOTE_TYPE and video_id not in notes:
            subject = str(meta.get("subject") or (rel.parts[0] if len(rel.parts) > 1 else ""))
            notes[video_id] = LibraryNote(
                video_id=video_id, title=str(meta.get("title") or path.stem), subject=subject,
                path=path, url=str(meta.get("url") or ""), channel=str(meta.get("channel") or ""),
                concepts=_tags(meta))
    for video_id, note in notes.items():
        note.assessment = assessments.get(video_id)
    return sorted(notes.values(), key=lambda n: (n.subject.casefold(), n.title.casefold(), n.video_id))


def merge_concepts(notes: Iterable[LibraryNote], graph_notes: Mapping[str, Mapping[str, Any]]) -> None:
    """Take each note's concepts from the knowledge graph index when it has them."""
    for note in notes:
        entry = graph_notes.get(note.video_id) or {}
        concepts = entry.get("concepts") if isinstance(entry, Mapping) else None
        if concepts:
            note.concepts = [str(c) for c in concepts]


def read_note_body(path: str | Path) -> str:
    """Return a note's markdown without its front matter ('' when unreadable)."""
    text = _read_text(Path(path))
    if text is None:
        return ""
    return split_front_matter(text)[1]


def _escape_inline(text: str) -> str:
    """Escape raw HTML and turn [[links]] into plain emphasis, outside code spans."""
    out: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_escape_prose(text[last:match.start()]))
        out.append(match.group(0))  # code spans show '<' literally already
        last = match.end()
    out.append(_escape_prose(text[last:]))
    return "".join(out)


def _wiki(match: re.Match[str]) -> str:
    target, alias = match.group(1), match.group(2)
    label = (alias or target.split("#")[0]).strip()
    # No link target: the browser cannot open an Obsidian note path.
    return f"*{label}*" if label else ""


def _callout(match: re.Match[str]) -> str:
    title = match.group(3) or match.group(2).replace("-", " ").capitalize()
    return f"{match.group(1)}**{title}**"


def _escape_prose(text: str) -> str:
    return _CALLOUT.sub(_callout, _WIKI_LINK.sub(_wiki, _RAW_HTML.sub("&lt;", text)))


def safe_markdown(markdown: str) -> str:
    """Return markdown with raw HTML neutralised (shown as text), Obsidian links and callouts as plain markdown."""
    lines = markdown.splitlines(keepends=True)
    out: list[str] = []
    fence: str | None = None
    prose: list[str] = []

    def flush() -> None:
        if prose:
            out.append(_escape_inline("".join(prose)))
            prose.clear()

    for line in lines:
        match = _FENCE.match(line)
        if fence is None:
            if match:
                flush()
                fence = match.group(1)[0] * len(match.group(1))
                out.append(line)
            else:
                prose.append(line)
        else:
            out.append(line)
            if match and match.group(1).startswith(fence) and not line.strip()[len(match.group(1)):].strip():
                fence = None
    flush()
    return "".join(out)


def _dot_escape(text: str) -> str:
    cleaned = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return cleaned.replace("\\", "\\\\").replace('"', '\\"')


def dot_quote(text: str) -> str:
    """Return text as a DOT double-quoted string, safe for any input."""
    return f'"{_dot_escape(text)}"'


def _label(text: str, width: int = 28) -> str:
    """Wrap a title onto at most three lines, as a quoted DOT label."""
    words, lines, line = str(text).split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    shown = lines[:3]
    if len(lines) > 3:
        shown[-1] += "…"
    # A literal backslash-n (not a newline character) is DOT's line break inside a label.
    return '"' + "\\n".join(_dot_escape(line) for line in shown) + '"'


def build_graph_dot(notes: Iterable[LibraryNote], max_notes: int = MAX_GRAPH_NOTES) -> str:
    """Return a DOT graph: notes as boxes grouped by subject, joined where they share concepts."""
    chosen = list(notes)[:max_notes]
    ids = {note.video_id: f"n{i}" for i, note in enumerate(chosen)}
    lines = ["graph knowledge {",
             '  graph [rankdir=LR, fontname="Helvetica", fontsize=11];',
             '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize=10];',
             '  edge [color="#8a9bb5", fontname="Helvetica", fontsize=8];']
    by_subject: dict[str, list[LibraryNote]] = {}
    for note in chosen:
        by_subject.setdefault(note.subject or "Unsorted", []).append(note)
    for number, (subject, members) in enumerate(sorted(by_subject.items())):
        lines.append(f"  subgraph cluster_{number} {{")
        lines.append(f"    label={dot_quote(subject)}; style=rounded; color=\"#c5cfdd\";")
        for note in members:
            lines.append(f"    {ids[note.video_id]} [label={_label(note.title)}, tooltip={dot_quote(note.title)}];")
        lines.append("  }")
    for a, b in combinations(chosen, 2):
        shared = sorted({c.casefold() for c in a.concepts} & {c.casefold() for c in b.concepts})
        if not shared:
            continue
        label = dot_quote(", ".join(shared[:2]) + (f" +{len(shared) - 2}" if len(shared) > 2 else ""))
        lines.append(f"  {ids[a.video_id]} -- {ids[b.video_id]} [label={label}, penwidth={min(1 + len(shared) * 0.5, 4):.1f}];")
    lines.append("}")
    return "\n".join(lines) + "\n"

