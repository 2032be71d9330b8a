"""Stage webui: read the vault for the web app: notes by subject, safe markdown, the graph as DOT text.

Nothing here calls Streamlit, so it is tested directly. Browsing is read-only
and lock-free: the notes come from the vault's index (verified by stat, cached
by the index file's mtime and size, so a rerun reads no note at all); only the
note being read is opened. Nothing is ever written, and a batch finishing in
the background never makes the page wait.

A big vault is not one picture: up to ``MAX_GRAPH_NOTES`` notes (a subject)
are drawn whole, and beyond that the neighbourhood of the chosen note. Edges
come from the concept index (no comparison of every pair), at most
``EDGES_PER_NOTE`` of the strongest per note.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from yt_study_buddy.vault.index import NoteIndex, concept_key, holders_of, load_index, related_in
from yt_study_buddy.vault.render import split_front_matter
from yt_study_buddy.vault.scan import read_text, stamp_of, sync_index, walk_markdown
from yt_study_buddy.vault.store import HIDDEN_DIR, INDEX_FILE

__all__ = [
    "link_url",
    "LibraryNote",
    "Library",
    "load_library",
    "folder_problem",
    "neighbourhood",
    "read_note",
    "read_note_body",
    "safe_markdown",
    "dot_quote",
    "build_graph_dot",
    "MAX_GRAPH_NOTES",
    "EDGES_PER_NOTE",
]

#: Beyond this many notes the picture is unreadable and slow to lay out in the browser.
MAX_GRAPH_NOTES = 150
#: Each note keeps its strongest links in the picture: a shared common word must not draw a hairball.
EDGES_PER_NOTE = 6
#: The neighbourhood of a note: the note, its related notes, and theirs, up to this many.
NEIGHBOURHOOD_NOTES = 40

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


@dataclass
class Library:
    """The notes of a vault as the index knows them, with the index's statistics."""

    notes: list[LibraryNote]
    stats: dict[str, Any]
    _concepts: tuple[dict, dict] | None = field(default=None, repr=False)

    def concept_index(self) -> tuple[dict[str, dict], dict[str, list[str]]]:
        """Return (video_id -> entry, concept -> holders) over every note, built once."""
        if self._concepts is None:
            entries = _entries(self.notes)
            self._concepts = (entries, holders_of(entries))
        return self._concepts


_cache: dict[str, tuple[object, Library]] = {}
_cache_lock = threading.Lock()


def folder_problem(root: str | Path) -> str | None:
    """Return why the output folder can't be read (a permission error, a file in the way), or None."""
    try:
        path = Path(root)
        if not path.exists():
            return None  # no notes yet: not a problem
        if not path.is_dir():
            return f"{root} is a file, not a folder: choose another output folder."
        with os.scandir(path):
            pass
    except OSError as exc:
        return f"Cannot open {root}: {exc.strerror or type(exc).__name__}. Choose another output folder."
    return None


def _library(root: Path, index: NoteIndex) -> Library:
    notes = [LibraryNote(video_id=vid, title=e["title"], subject=e["subject"], path=root / e["path"],
                         assessment=root / e["assessment"] if e["assessment"] else None,
                         concepts=list(e["concepts"]))
             for vid, e in index.notes.items()]
    notes.sort(key=lambda n: (n.subject.casefold(), n.title.casefold(), n.video_id))
    return Library(notes, index.stats())


def load_library(root: str | Path) -> Library:
    """Return the vault's notes from its index: no lock, no write, cached while the index file is unchanged.

    Without an index (a vault from elsewhere, a deleted hidden folder) the notes
    are read once and cached while no markdown file changes.
    """
    base = Path(root)
    if folder_problem(base) is not None or not base.is_dir():
        return Library([], {})
    index_file = base / HIDDEN_DIR / INDEX_FILE
    stamp = stamp_of(index_file)
    key: object = ("index", stamp) if stamp is not None else ("files", tuple(sorted(walk_markdown(base).items())))
    with _cache_lock:
        cached = _cache.get(str(base))
    if cached is not None and cached[0] == key:
        return cached[1]
    # Verified by stat, in memory only: a file changed since the index was saved is read, nothing else.
    index, _ = sync_index(base, load_index(index_file) if stamp is not None else None)
    library = _library(base, index)
    with _cache_lock:
        _cache[str(base)] = (key, library)
    return library


def read_note(path: str | Path) -> tuple[dict[str, Any], str]:
    """Return (front matter, markdown body) of a note; ({}, '') when it can't be read."""
    text = read_text(Path(path))
    if text is None:
        return {}, ""
    return split_front_matter(text)


def read_note_body(path: str | Path) -> str:
    """Return a note's markdown without its front matter ('' when unreadable)."""
    return read_note(path)[1]


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


def link_url(url: object) -> str | None:
    """An http(s) URL from a note, made safe to stand inside a Markdown link's parentheses; None otherwise.

    Front matter is untrusted: a ')' would end the link and let the rest of the
    value add markup (a remote image, a tracking pixel) to the page.
    """
    from urllib.parse import quote

    text = str(url or "").strip()
    if not text.lower().startswith(("https://", "http://")) or len(text) > 2048:
        return None
    return quote(text, safe=":/?&=#%+@,;~.-_!$*'")


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


def _entries(notes: Iterable[LibraryNote]) -> dict[str, dict]:
    return {n.video_id: {"path": f"{n.subject}/{n.title}/{n.video_id}", "subject": n.subject,
                         "concepts": list(n.concepts)} for n in notes}


def _universe(notes: Iterable[LibraryNote] | Library) -> tuple[dict[str, dict], dict[str, list[str]]]:
    if isinstance(notes, Library):
        return notes.concept_index()
    entries = _entries(notes)
    return entries, holders_of(entries)


def neighbourhood(notes: Iterable[LibraryNote] | Library, video_id: str,
                  limit: int = NEIGHBOURHOOD_NOTES) -> list[LibraryNote]:
    """Return the note, the notes related to it, and theirs (strongest first), at most limit notes."""
    by_id = {n.video_id: n for n in (notes.notes if isinstance(notes, Library) else notes)}
    if video_id not in by_id:
        return []
    entries, holders = _universe(notes if isinstance(notes, Library) else list(by_id.values()))
    chosen, frontier = [video_id], [video_id]
    while frontier and len(chosen) < limit:
        nxt = []
        for vid in frontier:
            for other, _ in related_in(entries, vid, holders=holders)[:EDGES_PER_NOTE * 2]:
                if other not in chosen and len(chosen) < limit:
                    chosen.append(other)
                    nxt.append(other)
        frontier = nxt
    return [by_id[vid] for vid in chosen]


def _edges(chosen: list[LibraryNote], universe: Library | None) -> dict[tuple[int, int], list[str]]:
    """Return (i, j) -> shared concepts for each note's strongest links among the chosen, from the concept index."""
    entries, holders = _universe(universe if universe is not None else chosen)
    position = {note.video_id: i for i, note in enumerate(chosen)}
    edges: dict[tuple[int, int], list[str]] = {}
    for note in chosen:
        if note.video_id not in entries:
            continue
        related = [(o, shared) for o, shared in related_in(entries, note.video_id, holders=holders) if o in position]
        for other, shared in related[:EDGES_PER_NOTE]:
            a, b = sorted((position[note.video_id], position[other]))
            edges[(a, b)] = sorted({concept_key(c) for c in shared})
    return dict(sorted(edges.items()))


def build_graph_dot(notes: Iterable[LibraryNote], max_notes: int = MAX_GRAPH_NOTES, focus: str | None = None,
                    universe: Library | None = None) -> str:
    """Return a DOT graph: notes as boxes grouped by subject, joined where they share concepts.

    With ``universe`` (the whole library), a concept too common in the vault joins nothing.
    """
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
            extra = ', fillcolor="#ffe9a8"' if note.video_id == focus else ""
            lines.append(f"    {ids[note.video_id]} [label={_label(note.title)}, tooltip={dot_quote(note.title)}{extra}];")
        lines.append("  }")
    for (a, b), shared in _edges(chosen, universe).items():
        label = dot_quote(", ".join(shared[:2]) + (f" +{len(shared) - 2}" if len(shared) > 2 else ""))
        lines.append(f"  n{a} -- n{b} [label={label}, penwidth={min(1 + len(shared) * 0.5, 4):.1f}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
