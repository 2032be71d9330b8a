"""Stage notes: the one interface every note engine implements (Claude, OpenAI-compatible, offline)."""

from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

from yt_study_buddy.models import Assessment, NotesResult, Transcript, VideoMeta
from yt_study_buddy.notes.parts import ContextBudget, NotePart, Part

__all__ = ["NoteEngine", "DraftCallback"]

#: Called with notes markdown already paid for and its usage, as soon as it exists.
DraftCallback = Callable[[str, dict[str, int]], None]


@runtime_checkable
class NoteEngine(Protocol):
    """What the app needs from an engine; app code never probes an engine for optional parts."""

    #: 'claude', 'openai', 'offline': written to the note's front matter.
    name: str
    #: The model id, or None when no model is involved.
    model: str | None

    def prepare(self) -> None:
        """Check the service once before a batch (reachable, model known); a no-op where nothing can fail."""
        ...

    def generate_notes(self, meta: VideoMeta, transcript: Transcript,
                       existing_subjects: Sequence[str] = (), *, draft: str | None = None,
                       on_draft: DraftCallback | None = None) -> NotesResult:
        """Write notes and study data; ``draft`` is markdown already paid for, ``on_draft`` keeps new drafts."""
        ...

    def generate_assessment(self, meta: VideoMeta, transcript: Transcript,
                            notes: NotesResult) -> Assessment:
        """Write self-test questions in the four assessment categories.

        When ``notes.parts`` is set the lecture was too long to read at once:
        work from ``notes.markdown`` (all its parts' notes), not the transcript.
        """
        ...

    # -- long lectures (see notes/parts.py and notes/lecture.py) --------------------

    def context_budget(self) -> ContextBudget:
        """How much one call may read and write; a lecture beyond it is written in parts."""
        ...

    def generate_part(self, meta: VideoMeta, part: Part) -> NotePart:
        """Write the notes of one part from its own captions; raise AnswerTruncated if they don't fit."""
        ...

    def generate_overview(self, meta: VideoMeta, transcript: Transcript, parts: Sequence[NotePart],
                          existing_subjects: Sequence[str] = ()) -> NotesResult:
        """Write the overview, core concepts, questions and study data of a lecture from its parts' notes."""
        ...

    def close(self) -> None:
        """Release network clients (a no-op for local engines)."""
        ...
