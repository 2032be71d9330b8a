"""Stage notes: write one lecture's notes, in one go or part by part, the same way for every engine.

A lecture that fits the engine's budget (and is not long) keeps the engine's
usual calls; its chapters, if any, still open the note as an outline and
group its key points. A long one is planned into parts (``parts.py``), the
parts are written concurrently by ``run_all`` (the batch's shared workers),
each kept as a draft the moment it is paid for, a part whose answer was cut
off is cut in two and written again, and a last short call writes the
overview across the parts. The note then reads: chapters, overview, core
concepts, key points from every part, one section per part, questions.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, replace
from functools import partial
from typing import Any, Callable, Protocol, Sequence, TypeVar

from yt_study_buddy.errors import AnswerTruncated, Cancelled, StudyBuddyError
from yt_study_buddy.models import (
    Assessment,
    Chapter,
    NotesResult,
    Transcript,
    VideoMeta,
    format_timestamp,
    youtube_link,
)
from yt_study_buddy.notes.engine import DraftCallback, NoteEngine
from yt_study_buddy.notes.parts import NotePart, Part, plan_parts, split_part
from yt_study_buddy.notes.sections import bullets, demote, escape_inline, section, split_sections, stamp_seconds

__all__ = ["write_notes", "write_lecture", "DraftStore", "RunAll", "assemble", "follow_chapters", "chapter_outline",
           "part_heading", "MAX_SPLITS"]

log = logging.getLogger(__name__)

T = TypeVar("T")
RunAll = Callable[[Sequence[Callable[[], T]]], list[T]]

#: How many times a part whose notes were cut off is cut in two again.
MAX_SPLITS = 3
# Key points taken from each part for the whole lecture's list.
_POINTS_PER_PART = 2
_OVERVIEW_SECTIONS = ("Overview", "Core concepts")
_CLOSING_SECTIONS = ("Questions for further study",)


class DraftStore(Protocol):
    """Where paid-for part notes wait until the note is written (the vault's hidden folder)."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The draft stored under key, or None."""
        ...

    def put(self, key: str, data: dict[str, Any]) -> None:
        """Keep a draft under key (atomically)."""
        ...


def _in_turn(tasks: Sequence[Callable[[], T]]) -> list[T]:
    return [task() for task in tasks]


def write_notes(engine: NoteEngine, meta: VideoMeta, transcript: Transcript,
                existing_subjects: Sequence[str] = (), *, draft: str | None = None,
                on_draft: DraftCallback | None = None, run_all: RunAll | None = None,
                drafts: DraftStore | None = None, cancel: threading.Event | None = None) -> NotesResult:
    """Write a lecture's notes: the engine's usual calls, or part by part when it is long."""
    notes, _ = write_lecture(engine, meta, transcript, existing_subjects, draft=draft, on_draft=on_draft,
                             run_all=run_all, drafts=drafts, cancel=cancel)
    return notes


def write_lecture(engine: NoteEngine, meta: VideoMeta, transcript: Transcript,
                  existing_subjects: Sequence[str] = (), *, assess: bool = False, draft: str | None = None,
                  on_draft: DraftCallback | None = None, run_all: RunAll | None = None,
                  drafts: DraftStore | None = None, cancel: threading.Event | None = None,
                  on_part: Callable[[int, int], None] | None = None) -> tuple[NotesResult, Assessment | None]:
    """Write a lecture's notes and, for a long one when ``assess``, its assessment alongside the overview.

    The assessment of a lecture written in parts needs only the parts, so it is
    written at the same time as the overview (on the batch's free workers);
    when it fails the notes are still returned, with no assessment, for the
    caller to ask again. A short lecture's assessment is the caller's to ask for.
    ``on_part(done, total)`` is called as each part is written (from the worker that wrote it).
    """
    run_all = run_all or _in_turn
    plan = plan_parts(transcript, engine.context_budget())
    if not plan:
        notes = engine.generate_notes(meta, transcript, existing_subjects, draft=draft, on_draft=on_draft)
        notes.markdown = follow_chapters(notes.markdown, meta, transcript.chapters)
        return notes, None
    counter = _Counter(len(plan), on_part)
    written = run_all([partial(counter.count, partial(_write_part, engine, meta, part, drafts, cancel, 0))
                       for part in plan])
    parts = [note for group in written for note in group]
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    overview_task = partial(engine.generate_overview, meta, transcript, parts, existing_subjects)
    if not assess:
        return assemble(meta, transcript, overview_task(), parts), None
    # What the assessment reads: every part's notes under the key points drawn from them.
    first_draft = assemble(meta, transcript, NotesResult(markdown="", concepts=[], engine=engine.name,
                                                         model=engine.model), parts)
    overview, assessment = run_all([overview_task, partial(_try_assessment, engine, meta, transcript, first_draft)])
    return assemble(meta, transcript, overview, parts), assessment


class _Counter:
    """Counts finished parts across the threads writing them, and reports each."""

    def __init__(self, total: int, report: Callable[[int, int], None] | None):
        self.total, self.report, self.done = total, report, 0
        self.lock = threading.Lock()

    def count(self, task: Callable[[], T]) -> T:
        """Run one part's task, then report how many parts are done."""
        value = task()
        with self.lock:
            self.done += 1
            done = self.done
        if self.report is not None:
            self.report(done, self.total)
        return value


def _try_assessment(engine: NoteEngine, meta: VideoMeta, transcript: Transcript,
                    notes: NotesResult) -> Assessment | None:
    # Failing here must not throw away the overview paid for beside it: the caller asks again.
    try:
        return engine.generate_assessment(meta, transcript, notes)
    except StudyBuddyError as exc:
        log.info("assessment beside the overview failed (%s); it is asked for again", exc.reason)
        return None


def _write_part(engine: NoteEngine, meta: VideoMeta, part: Part, drafts: DraftStore | None,
                cancel: threading.Event | None, splits: int) -> list[NotePart]:
    """Notes of one part (more than one if it had to be cut), from its draft when already paid for."""
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    key = part.key(engine.name, engine.model)
    saved = drafts.get(key) if drafts is not None else None
    if saved and isinstance(saved.get("part"), dict):
        try:
            # Paid for in an earlier run: its tokens are not counted again.
            return [NotePart(**dict(saved["part"], usage={}))]
        except TypeError:
            saved = None
    pieces: list[Part] = split_part(part) if saved and saved.get("split") else []
    if not pieces:
        try:
            note = engine.generate_part(meta, part)
        except AnswerTruncated:
            pieces = split_part(part) if splits < MAX_SPLITS else []
            if not pieces:
                raise
            if drafts is not None:
                drafts.put(key, {"split": True})
        else:
            note.markdown = demote(note.markdown)
            if drafts is not None:
                drafts.put(key, {"part": asdict(note)})
            return [note]
    return [note for piece in pieces
            for note in _write_part(engine, meta, piece, drafts, cancel, splits + 1)]


def _link(meta: VideoMeta, seconds: float, label: str | None = None) -> str:
    """A stamp linking to that moment of the video; plain text for a local recording."""
    stamp = format_timestamp(seconds)
    if meta.source == "local":
        return f"[{stamp}]" if label is None else f"{label} [{stamp}]"
    return f"[{label if label is not None else stamp}]({youtube_link(meta.video_id, seconds)})"


def chapter_outline(meta: VideoMeta, chapters: Sequence[Chapter]) -> str:
    """'## Chapters' with each title linking to where it starts in the video ('' without chapters)."""
    if not chapters:
        return ""
    lines = ["## Chapters", ""]
    for chapter in chapters:
        # Local recordings have no video to link to: the title, then its plain stamp.
        after = "" if meta.source == "local" else f" · {format_timestamp(chapter.start)}"
        lines.append(f"- {_link(meta, chapter.start, escape_inline(chapter.title))}{after}")
    return "\n".join(lines)


def part_heading(number: int, part: NotePart, pieces: tuple[int, int] = (1, 1)) -> str:
    """A part's section heading, carrying its start time: '## Title · 12:30' or '## Part 3 · 29:41'."""
    name = escape_inline(part.title) if part.title else f"Part {number}"
    if part.title and pieces[1] > 1:
        name += f" ({pieces[0]}/{pieces[1]})"
    return f"## {name} · {format_timestamp(part.start)}"


def _part_sections(meta: VideoMeta, parts: Sequence[NotePart]) -> list[str]:
    untitled = 0
    out = []
    for n, part in enumerate(parts):
        same = [p for p in parts if p.title and p.title == part.title]
        pieces = (same.index(part) + 1, len(same)) if part.title else (1, 1)
        untitled += 0 if part.title else 1
        span = f"From {_link(meta, part.start)} to {format_timestamp(part.end)}."
        out.append(f"{part_heading(untitled, part, pieces)}\n\n{span}\n\n{part.markdown.strip()}")
    return out


def _key_points(parts: Sequence[NotePart]) -> list[str]:
    """A few timestamped points from every part, so the list covers the whole lecture."""
    points: list[str] = []
    for part in parts:
        own = bullets(section(part.markdown, "Key points", level=3) or "")
        stamped = [b for b in own if stamp_seconds(b) is not None] \
            or [b for b in bullets(part.markdown) if stamp_seconds(b) is not None]
        if not stamped:
            continue
        picks = sorted({0, len(stamped) // 2})[:_POINTS_PER_PART]
        points += [stamped[i] for i in picks]
    return points


def assemble(meta: VideoMeta, transcript: Transcript, overview: NotesResult,
             parts: Sequence[NotePart]) -> NotesResult:
    """One note from the overview call and the parts: its markdown, summed usage and part count."""
    parts = sorted(parts, key=lambda p: p.start)
    written = dict(split_sections(overview.markdown))
    blocks = [chapter_outline(meta, transcript.chapters)]
    for name in _OVERVIEW_SECTIONS:
        body = next((b for h, b in written.items() if h.casefold() == name.casefold()), None)
        if body:
            blocks.append(f"## {name}\n\n{body.strip()}")
    points = _key_points(parts)
    if points:
        blocks.append("## Key points\n\n" + "\n".join(points))
    blocks += _part_sections(meta, parts)
    for name in _CLOSING_SECTIONS:
        body = next((b for h, b in written.items() if h.casefold() == name.casefold()), None)
        if body:
            blocks.append(f"## {name}\n\n{body.strip()}")
    usage = dict(overview.usage)
    for part in parts:
        for key, value in part.usage.items():
            usage[key] = usage.get(key, 0) + value
    markdown = "\n\n".join(b for b in blocks if b).strip() + "\n"
    return replace(overview, markdown=markdown, usage=usage, parts=len(parts))


def follow_chapters(markdown: str, meta: VideoMeta, chapters: Sequence[Chapter]) -> str:
    """Open a one-go note with the chapter outline and group its key points under each chapter."""
    if not chapters:
        return markdown
    sections = split_sections(markdown)
    out = [chapter_outline(meta, chapters)]
    for heading, body in sections:
        if heading.casefold() == "key points" and "\n### " not in f"\n{body}":
            body = _grouped_points(meta, body, chapters)
        out.append(f"## {heading}\n\n{body}" if heading else body)
    return "\n\n".join(b.strip("\n") for b in out if b.strip()) + "\n"


def _grouped_points(meta: VideoMeta, body: str, chapters: Sequence[Chapter]) -> str:
    items = bullets(body)
    if not items or any(stamp_seconds(i) is None for i in items):
        return body  # not a plain list of timestamped points: leave it as written
    groups: dict[int, list[str]] = {}
    for item in items:
        seconds = stamp_seconds(item) or 0
        index = max(n for n, c in enumerate(chapters) if c.start <= seconds or n == 0)
        groups.setdefault(index, []).append(item)
    lines = []
    for index in sorted(groups):
        chapter = chapters[index]
        lines += [f"### {escape_inline(chapter.title)} · {format_timestamp(chapter.start)}", "", *groups[index], ""]
    return "\n".join(lines).strip()
