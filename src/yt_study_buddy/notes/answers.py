"""Stage notes: checking and tidying what a language model answered, for every LLM engine.

Claude and OpenAI-compatible servers answer the same prompts (``prompts.py``)
with the same structured data; this module turns those answers into the
project's data the same way for both. ``who`` names the model in error text
("Claude", "the model"), ``error`` is the engine's error class for a
malformed answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from yt_study_buddy.errors import StudyBuddyError
from yt_study_buddy.markdown import is_title, strip_front_matter, strip_title
from yt_study_buddy.models import (
    ASSESSMENT_CATEGORIES,
    AssessmentQuestion,
    Flashcard,
    VideoMeta,
    parse_timestamp,
    youtube_link,
)
from yt_study_buddy.notes import prompts
from yt_study_buddy.notes.cards import cards_from_answer

__all__ = ["StudyData", "clean_markdown", "study_data", "assessment_questions",
           "MAX_CONCEPTS", "MAX_SUBJECT_CHARS"]

MAX_CONCEPTS = 30
MAX_SUBJECT_CHARS = 60

_TIMESTAMP = re.compile(r"\[(\d{1,2}:\d{2}(?::\d{2})?)\](?!\()")


@dataclass
class StudyData:
    """Concepts, summary, subject and flashcards of one video, checked."""

    concepts: list[str]
    summary: str
    subject: str
    flashcards: list[Flashcard] = field(default_factory=list)


def _possessive(who: str) -> str:
    return f"{who}'s"


def clean_markdown(markdown: str, meta: VideoMeta) -> str:
    """Drop front matter and a title line; link bare timestamps; demote stray H1s."""
    lines = strip_title(strip_front_matter(markdown).strip()).splitlines()
    out: list[str] = []
    in_fence = False
    for line in lines:
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence:
            if is_title(line):
                line = "#" + line  # the vault owns the only top-level heading
            if meta.source != "local":
                line = _TIMESTAMP.sub(lambda m: _linked(m, meta.video_id), line)
        out.append(line)
    return "\n".join(out).strip() + "\n"


def _linked(match: re.Match[str], video_id: str) -> str:
    """'[1:02]' as a link to that moment; a stamp that can't be a time ('[1:75]') stays as it is."""
    try:
        seconds = parse_timestamp(match.group(1))
    except ValueError:
        return match.group(0)
    return f"[{match.group(1)}]({youtube_link(video_id, seconds)})"


def _str_list(value: Any, field: str, tool: str, who: str, error: type[StudyBuddyError]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise error(f"{_possessive(who)} {tool} answer has no valid '{field}' list")
    seen: dict[str, str] = {}
    for item in value:
        item = " ".join(item.split())
        if item and item.casefold() not in seen:
            seen[item.casefold()] = item
    return list(seen.values())


def _text(value: Any, field: str, tool: str, who: str, error: type[StudyBuddyError]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise error(f"{_possessive(who)} {tool} answer is missing '{field}'")
    return value.strip()


def study_data(data: dict[str, Any], existing_subjects: Sequence[str], *, who: str,
               error: type[StudyBuddyError]) -> StudyData:
    """Check the study-data answer; keep the vault's spelling of a reused subject."""
    tool = prompts.STUDY_TOOL
    concepts = _str_list(data.get("concepts"), "concepts", tool, who, error)
    if not concepts:
        raise error(f"{who} returned no concepts for the video")
    summary = _text(data.get("summary"), "summary", tool, who, error)
    subject = " ".join(_text(data.get("subject"), "subject", tool, who, error).split())
    subject = subject[:MAX_SUBJECT_CHARS].strip()
    for existing in existing_subjects:
        if existing.casefold() == subject.casefold():
            subject = existing
            break
    # Cards are extras: a malformed card is dropped, and an answer without any still gives notes.
    return StudyData(concepts=concepts[:MAX_CONCEPTS], summary=summary, subject=subject,
                     flashcards=cards_from_answer(data.get("flashcards")))


def assessment_questions(data: dict[str, Any], *, who: str,
                         error: type[StudyBuddyError]) -> list[AssessmentQuestion]:
    """Check the assessment answer: every category present, questions in category order."""
    raw = data.get("questions")
    if not isinstance(raw, list) or not raw:
        raise error(f"{_possessive(who)} assessment has no questions")
    questions = [_question(item, who, error) for item in raw]
    missing = [c for c in ASSESSMENT_CATEGORIES if not any(q.category == c for q in questions)]
    if missing:
        raise error(f"{_possessive(who)} assessment has no questions for: "
                    + ", ".join(ASSESSMENT_CATEGORIES[c] for c in missing))
    order = list(ASSESSMENT_CATEGORIES)
    questions.sort(key=lambda q: order.index(q.category))  # stable within a category
    return questions


def _question(item: Any, who: str, error: type[StudyBuddyError]) -> AssessmentQuestion:
    tool = prompts.ASSESSMENT_TOOL
    if not isinstance(item, dict):
        raise error(f"{_possessive(who)} assessment has a malformed question")
    category = _text(item.get("category"), "category", tool, who, error)
    if category not in ASSESSMENT_CATEGORIES:
        raise error(f"{_possessive(who)} assessment has an unknown category {category!r}")
    stamp = item.get("timestamp_seconds")
    timestamp = float(stamp) if isinstance(stamp, (int, float)) and stamp >= 0 else None
    return AssessmentQuestion(
        category=category,
        question=_text(item.get("question"), "question", tool, who, error),
        answer=_text(item.get("answer"), "answer", tool, who, error),
        key_concepts=_str_list(item.get("key_concepts"), "key_concepts", tool, who, error),
        timestamp=timestamp,
    )
