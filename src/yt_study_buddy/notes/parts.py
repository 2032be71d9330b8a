"""Stage notes: split a long lecture into parts, at its chapters or at natural breaks, for every engine.

A lecture longer than ``LONG_LECTURE_SECONDS``, or one whose transcript is more
than an engine reads or writes in one answer (its ``ContextBudget``), is
written part by part. With chapters, each chapter is a part (a long one in
pieces, a very short one joined to the next); without them the lecture is cut
into parts of about 10-15 minutes, each cut placed at the best break near its
ideal time: a pause, a shift of vocabulary between the minutes before and
after, the end of a sentence, a speaker's "okay, now let's ...". Any part
still over the budget is cut again by size. Planning is a pure function of the
transcript and the budget, so a re-run finds the same parts (and their drafts).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from yt_study_buddy.models import Chapter, Segment, Transcript
from yt_study_buddy.notes.text_analysis import STOPWORDS, tokenize, word_key

__all__ = [
    "ContextBudget",
    "UNLIMITED",
    "Part",
    "NotePart",
    "plan_parts",
    "split_part",
    "estimate_tokens",
    "LONG_LECTURE_SECONDS",
    "PART_SECONDS",
]

LONG_LECTURE_SECONDS = 30 * 60
#: the length parts aim for, in seconds (shortest, longest)
PART_SECONDS = (10 * 60, 15 * 60)
# Where a part would end with no break to prefer, in seconds from its start.
_AIM_SECONDS = 12.5 * 60
# A chapter shorter than this is written together with the next one.
_SHORT_CHAPTER = 90.0
# A chapter longer than this is written in pieces of 10-15 minutes.
_LONG_CHAPTER = 20 * 60
# How far a cut may move from its ideal place, as a share of a part's length.
_WINDOW_SHARE = 0.15
# Seconds of speech compared on each side of a candidate cut.
_TOPIC_SECONDS = 90.0
_CUE = re.compile(
    r"^\W*(?:okay|ok|alright|all right|right so|so now|now let's|next up|moving on"
    r"|(?:so )?let(?:'s| us) (?:move|turn|talk about|look at|start|switch|go on)"
    r"|the next (?:thing|topic|part|section|question)|our next|in this (?:part|section)|part \w+|section \w+"
    r"|chapter \w+|to summari[sz]e|in summary|finally)\b",
    re.IGNORECASE,
)
_ENDS_SENTENCE = re.compile(r"[.!?][\"'”’)]?\s*$")
# Instructions, headers and the answer's own words around a part's transcript.
_PROMPT_TOKENS = 1500


def estimate_tokens(text: str) -> int:
    """A safe over-estimate of the tokens in text (about 3.5 characters each)."""
    return math.ceil(len(text) / 3.5) if text else 0


@dataclass(frozen=True)
class ContextBudget:
    """How much one model call may read and write, in tokens."""

    context_tokens: int
    output_tokens: int

    @property
    def reading_tokens(self) -> int:
        """Most tokens of data one call may read when its answer is short (room for prompt and answer)."""
        return max(400, self.context_tokens - self.output_tokens - _PROMPT_TOKENS)

    @property
    def transcript_tokens(self) -> int:
        """Most transcript one call may read: room for the prompt and the answer, and notes that fit one answer."""
        room = self.context_tokens - self.output_tokens - _PROMPT_TOKENS
        # Notes run to about a third of the transcript they cover: a part whose notes fill
        # one answer leaves continuations for the rare dense part.
        return max(400, min(room, 3 * self.output_tokens))


#: the budget of an engine with no model behind it (the offline engine)
UNLIMITED = ContextBudget(context_tokens=10**12, output_tokens=10**9)


@dataclass(frozen=True)
class Part:
    """One part of a lecture: its captions (absolute times) and what its section is called."""

    index: int
    total: int
    start: float
    end: float
    #: the chapter title(s) it covers, "" for a part found at a natural break
    title: str
    transcript: Transcript

    def key(self, engine: str, model: str | None) -> str:
        """A name for this part's notes that changes when its captions, title or writer change."""
        data = [engine, model, self.title, round(self.start, 3), round(self.end, 3),
                [[s.start, s.text] for s in self.transcript.segments]]
        return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:24]

    @property
    def tokens(self) -> int:
        """Estimated tokens of the part's timestamped captions."""
        return estimate_tokens(self.transcript.timestamped_text())


@dataclass
class NotePart:
    """The notes written for one part: Markdown whose headings start at level 3."""

    start: float
    end: float
    title: str
    markdown: str
    usage: dict[str, int] = field(default_factory=dict)


def _sub(transcript: Transcript, segments: Sequence[Segment]) -> Transcript:
    return replace(transcript, segments=list(segments), chapters=[])


class _Breaks:
    """Scores how good a place before each segment is for a cut."""

    def __init__(self, segments: Sequence[Segment]):
        self.segments = segments
        self.starts = [s.start for s in segments]
        steps = sorted(b - a for a, b in zip(self.starts, self.starts[1:]) if b >= a)
        self.step = steps[len(steps) // 2] if steps else 0.0
        # Compare about 90 seconds of speech each side, counted in caption lines.
        self.reach = max(6, min(60, round(_TOPIC_SECONDS / self.step))) if self.step > 0 else 20
        self._bags: dict[int, Counter[str]] = {}
        # Words said all through the lecture ("example", "remember") say nothing about a change of
        # topic: weigh each word by how few stretches of the lecture use it.
        blocks = [set().union(*(self._bag(i) for i in range(b, min(len(segments), b + self.reach))))
                  for b in range(0, len(segments), self.reach)]
        used = Counter(word for block in blocks for word in block)
        self.weight = {word: math.log((len(blocks) + 1) / (n + 0.5)) for word, n in used.items()}

    def _bag(self, i: int) -> Counter[str]:
        bag = self._bags.get(i)
        if bag is None:
            bag = Counter(word_key(w) for w in tokenize(self.segments[i].text)
                          if len(w) > 3 and w.lower() not in STOPWORDS)
            self._bags[i] = bag
        return bag

    def _window(self, lo: int, hi: int) -> Counter[str]:
        total: Counter[str] = Counter()
        for i in range(max(0, lo), min(len(self.segments), hi)):
            total.update(self._bag(i))
        return total

    def score(self, i: int) -> float:
        """How clearly the lecture breaks just before segment i (higher is better)."""
        before, here = self.segments[i - 1], self.segments[i]
        silence = here.start - (before.start + before.duration)
        stretch = (here.start - before.start) - 2 * self.step
        pause = 0.8 * min(1.0, max(0.0, silence, stretch) / 4.0)
        left, right = self._window(i - self.reach, i), self._window(i, i + self.reach)
        w = self.weight
        dot = sum(n * right.get(word, 0) * w[word] ** 2 for word, n in left.items())
        norm = math.sqrt(sum((n * w[word]) ** 2 for word, n in left.items())
                         * sum((n * w[word]) ** 2 for word, n in right.items()))
        shift = 1.0 - (dot / norm if norm else 0.0)
        ends = 0.3 if _ENDS_SENTENCE.search(before.text) else 0.0
        cue = 0.5 if _CUE.search(here.text) else 0.0
        # A change of topic counts most: pauses and "okay, so" also happen mid-topic.
        return 2.5 * shift + pause + ends + cue


def _cuts(breaks: _Breaks, lo: int, hi: int, pieces: int, coord: Callable[[int], float]) -> list[int]:
    """Indices in (lo, hi) where pieces 2..n of segments[lo:hi] start: near even shares, at the best breaks."""
    if pieces < 2 or hi - lo < 2:
        return []
    last = coord(hi)
    positions = [coord(i) for i in range(lo, hi + 1)]
    cuts: list[int] = []
    previous = lo
    for k in range(1, pieces):
        if previous >= hi - 1:
            break
        # Share out what is left after the last cut, so one cut moved to a break moves the rest along.
        share = (last - coord(previous)) / (pieces - k + 1)
        ideal, window = coord(previous) + share, share * _WINDOW_SHARE
        a = max(previous + 1, lo + bisect.bisect_left(positions, ideal - window))
        b = min(hi - 1, lo + bisect.bisect_right(positions, ideal + window) - 1)
        if a > b:  # no caption line near the ideal place: take the nearest one
            a = b = min(range(previous + 1, hi), key=lambda i: (abs(coord(i) - ideal), i))

        def merit(i: int) -> tuple[float, int]:
            distance = abs(coord(i) - ideal) / window if window > 0 else 0.0
            return breaks.score(i) - 0.3 * distance, -i

        best = max(range(a, b + 1), key=merit)
        cuts.append(best)
        previous = best
    return cuts


def _spans(segments: Sequence[Segment], chapters: Sequence[Chapter]) -> list[tuple[int, int, str]]:
    """(first, end, title) segment ranges: one per chapter, or the whole lecture untitled."""
    if not chapters:
        return [(0, len(segments), "")]
    starts = [s.start for s in segments]
    spans: list[tuple[int, int, str]] = []
    for n, chapter in enumerate(chapters):
        first = bisect.bisect_left(starts, chapter.start) if n else 0
        end = bisect.bisect_left(starts, chapters[n + 1].start) if n + 1 < len(chapters) else len(segments)
        if end > first:
            spans.append((first, end, chapter.title))
    # A very short chapter is written with the next one; a short last one with the one before.
    merged: list[tuple[int, int, str]] = []
    carry: tuple[int, str] | None = None
    for n, (first, end, title) in enumerate(spans):
        if carry is not None:
            first, title, carry = carry[0], f"{carry[1]} · {title}", None
        if n + 1 < len(spans) and _end_time(segments, end) - segments[first].start < _SHORT_CHAPTER:
            carry = (first, title)
            continue
        merged.append((first, end, title))
    if len(merged) >= 2 and _end_time(segments, merged[-1][1]) - segments[merged[-1][0]].start < _SHORT_CHAPTER:
        (a, _, title), (_, b, last) = merged[-2], merged[-1]
        merged[-2:] = [(a, b, f"{title} · {last}")]
    return merged


def _end_time(segments: Sequence[Segment], end: int) -> float:
    last = segments[end - 1]
    return max(last.start + last.duration, segments[end].start if end < len(segments) else 0.0)


def plan_parts(transcript: Transcript, budget: ContextBudget = UNLIMITED) -> list[Part]:
    """Return the parts to write a lecture in, or [] when it is written in one go."""
    segments = transcript.segments
    if len(segments) < 2:
        return []
    duration = transcript.duration
    cap = budget.transcript_tokens
    if duration <= LONG_LECTURE_SECONDS and estimate_tokens(transcript.timestamped_text()) <= cap:
        return []
    breaks = _Breaks(segments)
    ranges: list[tuple[int, int, str]] = []
    for first, end, title in _spans(segments, transcript.chapters):
        length = _end_time(segments, end) - segments[first].start
        # A chapter is one part unless it is long; an unchaptered lecture is cut when it is long.
        long = length > (_LONG_CHAPTER if title else LONG_LECTURE_SECONDS)
        bounds = [first, *(_time_cuts(breaks, first, end) if long else []), end]
        ranges += [(a, b, title) for a, b in zip(bounds, bounds[1:]) if b > a]
    sized: list[tuple[int, int, str]] = []
    for first, end, title in ranges:
        sized += _fit(breaks, transcript, first, end, title, cap)
    total = len(sized)
    # A chapter's first part starts where the chapter does, not at its first caption line.
    chapter_starts = {bisect.bisect_left([s.start for s in segments], c.start): c.start
                      for c in transcript.chapters}
    starts = [min(segments[a].start, chapter_starts.get(a, segments[a].start)) for a, _, _ in sized]
    ends = starts[1:] + [_end_time(segments, len(segments))]
    return [Part(index=n, total=total, start=start, end=end, title=title, transcript=_sub(transcript, segments[a:b]))
            for n, ((a, b, title), start, end) in enumerate(zip(sized, starts, ends), 1)]


def _time_cuts(breaks: _Breaks, lo: int, hi: int) -> list[int]:
    """Indices where the parts of segments[lo:hi] start: each at the best break 10-15 minutes on."""
    segments = breaks.segments
    shortest, longest = PART_SECONDS
    cuts: list[int] = []
    position, end = lo, _time(segments, hi)
    while True:
        here = segments[position].start
        left = end - here
        if left <= longest * 1.2:
            return cuts  # a last part a little over 15 minutes beats a stub
        if left < 2 * shortest:
            aim, low, high = here + left / 2, here + left / 2 - 120, here + left / 2 + 120
        else:
            # "About 10-15 minutes": a minute either way to reach a clear break.
            aim, low, high = here + _AIM_SECONDS, here + shortest - 60, min(here + longest + 60, end - shortest)
        a = max(position + 1, bisect.bisect_left(breaks.starts, low, lo, hi))
        b = min(hi - 1, bisect.bisect_right(breaks.starts, high, lo, hi) - 1)
        if a > b:  # no caption line in the window (a long silence): the nearest one after it
            a = b = min(max(a, position + 1), hi - 1)
        half = max(1.0, (high - low) / 2)
        best = max(range(a, b + 1), key=lambda i: (breaks.score(i) - 0.5 * abs(segments[i].start - aim) / half, -i))
        if best <= position:
            return cuts
        cuts.append(best)
        position = best


def _time(segments: Sequence[Segment], i: int) -> float:
    return segments[i].start if i < len(segments) else _end_time(segments, len(segments))


def _fit(breaks: _Breaks, transcript: Transcript, first: int, end: int, title: str,
         cap: int) -> list[tuple[int, int, str]]:
    """Cut segments[first:end] into ranges under the token cap, by size, at the best breaks."""
    lines = [f"[0:00:00] {s.text}" for s in transcript.segments[first:end]]
    sizes = [0]
    for line in lines:
        sizes.append(sizes[-1] + estimate_tokens(line) + 1)
    if sizes[-1] <= cap or end - first < 2:
        return [(first, end, title)]
    pieces = math.ceil(sizes[-1] / cap)
    # Even shares by size can still put one piece over the cap; one more piece fixes it.
    for extra in range(0, 4):
        cuts = _cuts(breaks, first, end, pieces + extra, lambda i: float(sizes[i - first]))
        bounds = [first, *cuts, end]
        if all(sizes[b - first] - sizes[a - first] <= cap for a, b in zip(bounds, bounds[1:])):
            break
    out: list[tuple[int, int, str]] = []
    for a, b in zip(bounds, bounds[1:]):
        if sizes[b - first] - sizes[a - first] > cap and b - a >= 2:
            out += _fit(breaks, transcript, a, b, title, cap)
        elif b > a:
            out.append((a, b, title))
    return out


def split_part(part: Part) -> list[Part]:
    """Cut a part in two at its best break (its notes did not fit one answer); [] when it can't be cut."""
    segments = part.transcript.segments
    if len(segments) < 2:
        return []
    cut = _cuts(_Breaks(segments), 0, len(segments), 2, lambda i: _time(segments, i))
    if not cut:
        return []
    halves = (segments[:cut[0]], segments[cut[0]:])
    return [Part(index=part.index, total=part.total, start=half[0].start,
                 end=part.end if n else halves[1][0].start, title=part.title,
                 transcript=_sub(part.transcript, half))
            for n, half in enumerate(halves)]
