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
from yt_study_buddy.notes.parts import estimate_tokens
from yt_study_buddy.notes.sections import bullets, section, split_sections, unlink_timestamps

__all__ = ["LLMPartCalls", "parts_digest", "fit_notes", "assessment_input"]

# How many key points each section keeps, step by step, when notes must shrink to fit a model.
_POINTS_KEPT = (8, 4, 2, 1)


def _opening(body: str) -> str:
    """A section's first paragraph (its summary), cut to two sentences."""
    for block in body.split("\n\n"):
        block = block.strip()
        if block and not block.startswith(("#", "-", "*", "+")) and not block[0].isdigit():
            sentences = block.replace("\n", " ").split(". ")
            return ". ".join(sentences[:2]).rstrip(".") + "."
    return ""


def fit_notes(markdown: str, limit: int) -> str:
    """Notes shrunk to at most ``limit`` tokens: each section keeps its summary and fewer key points.

    A small-context model reads a long lecture's notes this way; a large one
    reads them whole.
    """
    if estimate_tokens(markdown) <= limit:
        return markdown
    sections = [(h, b) for h, b in split_sections(markdown) if h]
    text = markdown
    for keep in _POINTS_KEPT:
        blocks = []
        for heading, body in sections:
            summary, points = _opening(body), bullets(body)[:keep]
            blocks.append("\n\n".join(x for x in (f"## {heading}", summary, "\n".join(points)) if x))
        text = "\n\n".join(blocks)
        if estimate_tokens(text) <= limit:
            return text
    # Still too long: every other section, then every third..., evenly over the lecture.
    for step in range(2, len(blocks) + 1):
        shorter = "\n\n".join(blocks[::step])
        if estimate_tokens(shorter) <= limit:
            return shorter
    return blocks[0][: limit * 3] if blocks else text[: limit * 3]


def parts_digest(parts: Sequence[NotePart]) -> str:
    """The parts' notes in order under their headings, timestamps unlinked (fewer tokens)."""
    untitled = 0
    blocks = []
    for part in sorted(parts, key=lambda p: p.start):
        untitled += 0 if part.title else 1
        blocks.append(f"{part_heading(untitled, part)}\n\n{unlink_timestamps(part.markdown).strip()}")
    return "\n\n".join(blocks)


def assessment_input(meta: VideoMeta, transcript: Transcript, notes: NotesResult,
                     budget: ContextBudget | None = None) -> tuple[list[dict[str, Any]], str]:
    """System prompt and request of the assessment call: from the transcript, or from the parts' notes.

    With a ``budget`` the parts' notes are shrunk to what the model can read.
    """
    if not notes.parts:
        return prompts.system_blocks(meta, transcript), prompts.assessment_request(meta, notes.markdown)
    # Too long to read at once: the whole note stands in for the transcript, and its
    # summary sections are the "learner's notes" the gap questions compare against.
    summary = "\n\n".join(f"## {name}\n\n{body}" for name in ("Overview", "Core concepts", "Key points")
                          if (body := section(notes.markdown, name))) or notes.summary
    data = unlink_timestamps(notes.markdown)
    if budget is not None:
        summary = fit_notes(unlink_timestamps(summary), budget.reading_tokens // 3)
        data = fit_notes(data, budget.reading_tokens - estimate_tokens(summary))
    return part_prompts.notes_blocks(meta, data), prompts.assessment_request(meta, summary)


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
        digest = fit_notes(parts_digest(parts), self.context_budget().reading_tokens)
        system = part_prompts.notes_blocks(meta, digest)
        markdown = self._stream_notes(  # type: ignore[attr-defined]
            system, meta, usage, request=part_prompts.overview_request(meta, len(parts)))
        return self._study_notes(system, markdown, existing_subjects, usage,  # type: ignore[attr-defined]
                                 transcript.duration)
