"""Stage notes: the long-lecture methods every LLM engine shares (Claude, OpenAI-compatible).

Mixed into an engine that has ``max_tokens``, ``context_tokens``,
``_stream_notes(system, meta, usage, request=...)`` (streams Markdown,
continues a cut-off answer a few times, raises an ``AnswerTruncated`` when it
still does not fit) and ``_study_notes(system, markdown, existing_subjects,
usage, duration)`` (the study-data tool call, returning a ``NotesResult``). The parts'
notes stand in for the transcript in the overview, study-data and assessment
calls of a lecture written in parts.
"""

from __future__ import annotations

from typing import Any, Sequence

from yt_study_buddy.models import NotesResult, Transcript, VideoMeta
from yt_study_buddy.notes import part_prompts, prompts
from yt_study_buddy.notes.lecture import part_heading
from yt_study_buddy.notes.parts import ContextBudget, NotePart, Part
from yt_study_buddy.notes.sections import section, unlink_timestamps

__all__ = ["LLMPartCalls", "parts_digest", "assessment_input"]


def parts_digest(parts: Sequence[NotePart]) -> str:
    """The parts' notes in order under their headings, timestamps unlinked (fewer tokens)."""
    untitled = 0
    blocks = []
    for part in sorted(parts, key=lambda p: p.start):
        untitled += 0 if part.title else 1
        blocks.append(f"{part_heading(untitled, part)}\n\n{unlink_timestamps(part.markdown).strip()}")
    return "\n\n".join(blocks)


def assessment_input(meta: VideoMeta, transcript: Transcript,
                     notes: NotesResult) -> tuple[list[dict[str, Any]], str]:
    """System prompt and request of the assessment call: from the transcript, or from the parts' notes."""
    if not notes.parts:
        return prompts.system_blocks(meta, transcript), prompts.assessment_request(meta, notes.markdown)
    # Too long to read at once: the whole note stands in for the transcript, and its
    # summary sections are the "learner's notes" the gap questions compare against.
    summary = "\n\n".join(f"## {name}\n\n{body}" for name in ("Overview", "Core concepts", "Key points")
                          if (body := section(notes.markdown, name)))
    return (part_prompts.notes_blocks(meta, unlink_timestamps(notes.markdown)),
            prompts.assessment_request(meta, summary or notes.summary))


class LLMPartCalls:
    """Long-lecture methods of an LLM engine (see the module docstring for what it relies on)."""

    #: the model's context window in tokens
    context_tokens = 200_000

    def context_budget(self) -> ContextBudget:
        """The model's context window and this engine's answer limit."""
        output_tokens = self.max_tokens  # type: ignore[attr-defined]
        return ContextBudget(context_tokens=self.context_tokens, output_tokens=output_tokens)

    def generate_part(self, meta: VideoMeta, part: Part) -> NotePart:
        """Stream the notes of one part from its own captions."""
        usage: dict[str, int] = {}
        markdown = self._stream_notes(  # type: ignore[attr-defined]
            prompts.system_blocks(meta, part.transcript), meta, usage,
            request=part_prompts.part_request(meta, part))
        return NotePart(start=part.start, end=part.end, title=part.title, markdown=markdown, usage=usage)

    def generate_overview(self, meta: VideoMeta, transcript: Transcript, parts: Sequence[NotePart],
                          existing_subjects: Sequence[str] = ()) -> NotesResult:
        """Stream the overview sections, then take the study data, both from the parts' notes."""
        usage: dict[str, int] = {}
        system = part_prompts.notes_blocks(meta, parts_digest(parts))
        markdown = self._stream_notes(  # type: ignore[attr-defined]
            system, meta, usage, request=part_prompts.overview_request(meta, len(parts)))
        return self._study_notes(system, markdown, existing_subjects, usage,  # type: ignore[attr-defined]
                                 transcript.duration)
