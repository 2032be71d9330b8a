"""Plain data passed between the pipeline stages."""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from enum import Enum
from typing import Any

__all__ = [
    "Segment",
    "Chapter",
    "Transcript",
    "VideoMeta",
    "Source",
    "NotesResult",
    "Flashcard",
    "AssessmentQuestion",
    "Assessment",
    "ASSESSMENT_CATEGORIES",
    "ResultStatus",
    "ProcessingResult",
    "format_timestamp",
    "parse_timestamp",
    "youtube_link",
]


def format_timestamp(seconds: float) -> str:
    """Format seconds as H:MM:SS or M:SS."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def parse_timestamp(stamp: str) -> int:
    """Seconds of an 'H:MM:SS' or 'M:SS' stamp (the inverse of format_timestamp); ValueError otherwise."""
    parts = stamp.strip().split(":")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() and len(p) <= 3 for p in parts):
        raise ValueError(f"not a timestamp: {stamp!r}")
    numbers = [int(p) for p in parts]
    if any(n > 59 for n in numbers[1:]):
        raise ValueError(f"minutes and seconds go up to 59: {stamp!r}")
    total = 0
    for number in numbers:
        total = total * 60 + number
    return total


def youtube_link(video_id: str, seconds: float | None = None) -> str:
    """Return the short youtu.be link to a video, at a moment when given."""
    base = f"https://youtu.be/{video_id}"
    return base if seconds is None else f"{base}?t={max(0, int(seconds))}"


@dataclass(frozen=True)
class Segment:
    """One caption line with its start time in seconds."""

    start: float
    duration: float
    text: str


@dataclass(frozen=True)
class Chapter:
    """A titled stretch of a video, from its description's chapter list or a chapters file."""

    start: float
    title: str


@dataclass
class Transcript:
    """A video's captions, with where they came from."""

    video_id: str
    segments: list[Segment]
    language_code: str = "en"
    language: str = "English"
    is_generated: bool = False
    #: 'youtube-transcript-api', 'yt-dlp', 'local-file' (a cache hit keeps the original method)
    method: str = "youtube-transcript-api"
    translated_from: str | None = None
    #: the video's chapters, in order; empty when it has none
    chapters: list[Chapter] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The caption text joined as one string."""
        return " ".join(s.text for s in self.segments)

    @property
    def duration(self) -> float:
        """Seconds from the start to the end of the last segment."""
        if not self.segments:
            return 0.0
        last = self.segments[-1]
        return last.start + last.duration

    def timestamped_text(self) -> str:
        """Lines of '[M:SS] text' used as model input."""
        return "\n".join(f"[{format_timestamp(s.start)}] {s.text}" for s in self.segments)

    def to_dict(self) -> dict[str, Any]:
        """Serialise for the transcript cache."""
        return {
            "video_id": self.video_id,
            "language_code": self.language_code,
            "language": self.language,
            "is_generated": self.is_generated,
            "method": self.method,
            "translated_from": self.translated_from,
            "segments": [[s.start, s.duration, s.text] for s in self.segments],
            "chapters": [[c.start, c.title] for c in self.chapters],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Transcript":
        """Rebuild a transcript stored with to_dict."""
        return cls(
            video_id=data["video_id"],
            segments=[Segment(float(a), float(b), str(c)) for a, b, c in data["segments"]],
            language_code=data.get("language_code", "en"),
            language=data.get("language", ""),
            is_generated=bool(data.get("is_generated", False)),
            method=data.get("method", "youtube-transcript-api"),
            translated_from=data.get("translated_from"),
            chapters=[Chapter(float(a), str(b)) for a, b in data.get("chapters") or []],
        )


@dataclass
class VideoMeta:
    """Title and channel of a video (or a local lecture file)."""

    video_id: str
    title: str
    channel: str = ""
    url: str = ""
    #: 'youtube' or 'local'
    source: str = "youtube"


@dataclass(frozen=True)
class Source:
    """One thing to process: a YouTube video or a local caption file."""

    video_id: str
    url: str
    #: 'youtube' or 'local'
    kind: str = "youtube"
    path: str | None = None
    #: a local file's bytes, read once when the batch was resolved (its id is their hash)
    content: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def is_local(self) -> bool:
        """True for a caption file on disk."""
        return self.kind == "local"


@dataclass
class Flashcard:
    """One card to review: a question and its answer, with where the video says it.

    ``cloze`` (optional) is the same fact as one sentence with the answer marked
    ``==like this==``; a card that has one is shown as that sentence with a blank.
    """

    front: str
    back: str
    cloze: str | None = None
    timestamp: float | None = None


@dataclass
class NotesResult:
    """What a note engine produced for one video, before it reaches the vault."""

    markdown: str
    concepts: list[str]
    summary: str = ""
    subject: str | None = None
    engine: str = "offline"
    model: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    flashcards: list[Flashcard] = field(default_factory=list)
    #: how many parts a long lecture was written in (0: in one go); the assessment then reads the notes
    parts: int = 0

    def __post_init__(self) -> None:
        # Rebuilt from JSON (the cache of paid-for work), cards arrive as plain dicts.
        self.flashcards = [Flashcard(**c) if isinstance(c, dict) else c for c in self.flashcards]


ASSESSMENT_CATEGORIES: dict[str, str] = {
    "gap_analysis": "Gap analysis",
    "practical_application": "Practical application",
    "one_up": "One-up challenges",
    "connections": "Connections and synthesis",
}


@dataclass
class AssessmentQuestion:
    """One self-test question with its model answer."""

    category: str
    question: str
    answer: str
    key_concepts: list[str] = field(default_factory=list)
    timestamp: float | None = None


@dataclass
class Assessment:
    """A set of questions for one video."""

    questions: list[AssessmentQuestion]
    usage: dict[str, int] = field(default_factory=dict)


class ResultStatus(str, Enum):
    """What happened to one input of a batch: the one value every front end reads."""

    DONE = "done"  # its note was written in this run
    SKIPPED = "skipped"  # its note was already in the vault
    FAILED = "failed"
    CANCELLED = "cancelled"  # the batch stopped before or while it ran
    REJECTED = "rejected"  # not a usable link or file

    def __str__(self) -> str:
        return self.value


@dataclass
class ProcessingResult:
    """Result from processing a single video.

    ``success`` is the spec's positional constructor argument; ``status`` is the
    one value that says what happened (it wins when both are given).
    """

    url: str
    video_id: str
    success: InitVar[bool | None] = None
    title: str | None = None
    filepath: str | None = None
    error: str | None = None
    duration_seconds: float = 0.0
    #: how the transcript was obtained: 'youtube-transcript-api', 'yt-dlp', 'local-file', 'cache'
    method: str | None = None
    retryable: bool = False
    #: this failure must stop the batch (a rejected key, an unreachable service)
    fatal: bool = False
    error_kind: str | None = None
    subject: str | None = None
    engine: str | None = None
    model: str | None = None
    files: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    status: ResultStatus | None = None
    #: estimated dollars this run paid for the video (None: the model has no price)
    cost_usd: float | None = None

    def __post_init__(self, success: bool | None) -> None:
        if self.status is None:
            self.status = ResultStatus.DONE if success else ResultStatus.FAILED
        self.status = ResultStatus(self.status)

    @property
    def ok(self) -> bool:
        """True when the video is done, now or in an earlier run."""
        return self.status in (ResultStatus.DONE, ResultStatus.SKIPPED)

    @property
    def skipped(self) -> bool:
        """True when the note was already in the vault."""
        return self.status is ResultStatus.SKIPPED

    @property
    def not_finished(self) -> bool:
        """True for a video a stopped batch did not start or cancelled midway."""
        return self.status is ResultStatus.CANCELLED

    @property
    def rejected(self) -> bool:
        """True for an input that was not a usable link or file."""
        return self.status is ResultStatus.REJECTED


def _get_success(self: ProcessingResult) -> bool:
    return self.ok


def _set_success(self: ProcessingResult, value: bool) -> None:
    self.status = ResultStatus.DONE if value else ResultStatus.FAILED


# The spec reads ``result.success``; it is derived from the status, never stored beside it.
ProcessingResult.success = property(_get_success, _set_success, doc="True when the video is done.")  # type: ignore[assignment,method-assign]
