"""Stage notes: the offline engine's side of long lectures: part notes and the overview across parts.

The offline engine has no budget (it reads any length), but a long lecture is
still written part by part so its note has the same shape whichever engine
wrote it. A part's notes are the engine's own notes of the part's captions;
the overview is its notes of the whole lecture, kept to the sections that
speak for the whole (the key points come from the parts).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from yt_study_buddy.models import NotesResult, Transcript, VideoMeta
from yt_study_buddy.notes.parts import UNLIMITED, ContextBudget, NotePart, Part
from yt_study_buddy.notes.sections import bullets, split_sections

__all__ = ["OfflinePartCalls"]

_PART_SECTIONS = ("Key points", "Definitions", "Examples")
_OVERVIEW_SECTIONS = ("Overview", "Core concepts", "Questions for further study")


def _keep(markdown: str, names: Sequence[str], level: int, lists_only: bool = False) -> str:
    """The named sections at a new heading level; with lists_only, only those that list something."""
    found = {heading.casefold(): body for heading, body in split_sections(markdown)}
    blocks = [f"{'#' * level} {name}\n\n{found[name.casefold()].strip()}"
              for name in names if found.get(name.casefold(), "").strip()
              and (not lists_only or bullets(found[name.casefold()]))]
    return "\n\n".join(blocks)


class OfflinePartCalls:
    """Long-lecture methods of the offline engine (mixed into ``OfflineEngine``, whose notes they reuse)."""

    def context_budget(self) -> ContextBudget:
        """No model, no limit: only the lecture's length decides on parts."""
        return UNLIMITED

    def generate_part(self, meta: VideoMeta, part: Part) -> NotePart:
        """Notes of one part: its summary, key points, definitions and examples, from its captions."""
        notes = self.generate_notes(meta, part.transcript)
        # A part without definitions or examples says nothing about them: the note has many parts.
        body = _keep(notes.markdown, _PART_SECTIONS, level=3, lists_only=True)
        summary = notes.summary.strip()
        markdown = f"{summary}\n\n{body}" if summary else body
        return NotePart(start=part.start, end=part.end, title=part.title, markdown=markdown.strip() + "\n")

    def generate_overview(self, meta: VideoMeta, transcript: Transcript, parts: Sequence[NotePart],
                          existing_subjects: Sequence[str] = ()) -> NotesResult:
        """Overview, core concepts, questions and study data of the whole lecture."""
        notes = self.generate_notes(meta, transcript, existing_subjects)
        return replace(notes, markdown=_keep(notes.markdown, _OVERVIEW_SECTIONS, level=2) + "\n")
