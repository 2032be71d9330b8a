"""Splitting long lectures into parts: a 3-hour caption file, chapters, budgets, re-splitting."""

from __future__ import annotations

import pytest

from tests.fakes.youtube import LECTURE_TOPICS, make_lecture, make_segments
from yt_study_buddy.models import Chapter, Segment, Transcript
from yt_study_buddy.notes.parts import (
    PART_SECONDS,
    ContextBudget,
    plan_parts,
    split_part,
)
from yt_study_buddy.sources.captions import load_caption_file

TOPICS = LECTURE_TOPICS


def vtt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def write_vtt(path, lines) -> None:
    cues = "".join(f"{vtt_time(s)} --> {vtt_time(s + d)}\n{text}\n\n" for s, d, text in lines)
    path.write_text("WEBVTT\n\n" + cues, encoding="utf-8")


def transcript_of(lines, chapters=()) -> Transcript:
    return Transcript("lecture0001", [Segment(*line) for line in lines], chapters=list(chapters))


def topic_starts(lines, topic_minutes):
    """Start times of the first caption line of each new topic."""
    span = topic_minutes * 60
    return [lines[i][0] for i in range(1, len(lines)) if lines[i][0] // span != lines[i - 1][0] // span]


def assert_covers(parts, transcript):
    """The parts hold every caption line once, in order, and each starts where the last ended."""
    assert [s for p in parts for s in p.transcript.segments] == transcript.segments
    for before, after in zip(parts, parts[1:]):
        assert before.end == pytest.approx(after.start, abs=0.01)


def test_a_three_hour_caption_file_is_cut_at_its_topic_changes(tmp_path):
    lines = make_lecture(TOPICS, 180, topic_minutes=12)
    captions = tmp_path / "three_hours.vtt"
    write_vtt(captions, lines)
    _, _, transcript = load_caption_file(captions)
    parts = plan_parts(transcript)
    assert len(parts) == 15
    assert_covers(parts, transcript)
    assert [p.index for p in parts] == list(range(1, 16)) and {p.total for p in parts} == {15}
    shortest, longest = PART_SECONDS
    assert all(shortest - 60 <= p.end - p.start <= longest * 1.2 for p in parts)
    # Every cut lands on the first line of a new topic (a pause and a change of vocabulary).
    assert [round(p.start, 2) for p in parts[1:]] == topic_starts(lines, 12)
    assert all(p.title == "" for p in parts)


def test_parts_follow_breaks_not_the_clock():
    # Topics of 14 minutes: an even 12.5-minute grid would cut each topic in two.
    lines = make_lecture(TOPICS, 70, topic_minutes=14)
    parts = plan_parts(transcript_of(lines))
    assert [round(p.start, 2) for p in parts[1:]] == topic_starts(lines, 14)


def test_short_lectures_are_written_in_one_go():
    assert plan_parts(transcript_of(make_lecture(TOPICS, 29))) == []
    assert len(plan_parts(transcript_of(make_lecture(TOPICS, 35)))) in (2, 3)


def test_same_transcript_same_parts_and_keys():
    transcript = transcript_of(make_lecture(TOPICS, 100))
    first, second = plan_parts(transcript), plan_parts(transcript)
    assert [p.key("claude", "m") for p in first] == [p.key("claude", "m") for p in second]
    assert len({p.key("claude", "m") for p in first}) == len(first)
    assert first[0].key("claude", "m") != first[0].key("claude", "other-model")


def test_a_transcript_over_the_budget_is_cut_by_size_even_when_short():
    lines = make_segments(["entropy", "information", "channel", "noise"], 300, seconds_each=4.0)  # 20 minutes
    transcript = transcript_of(lines)
    budget = ContextBudget(context_tokens=8000, output_tokens=600)
    parts = plan_parts(transcript, budget)
    assert len(parts) >= 3
    assert_covers(parts, transcript)
    assert all(p.tokens <= budget.transcript_tokens for p in parts)
    assert plan_parts(transcript) == []  # no budget to respect: 20 minutes is one go


def test_captions_without_times_are_cut_by_size():
    lines = [(0.0, 0.0, f"Sentence number {i} about entropy and information.") for i in range(3000)]
    transcript = transcript_of(lines)
    budget = ContextBudget(context_tokens=16000, output_tokens=2000)
    parts = plan_parts(transcript, budget)
    assert len(parts) > 1 and all(p.tokens <= budget.transcript_tokens for p in parts)
    assert_covers(parts, transcript)


def test_chapters_are_parts_long_ones_in_pieces_tiny_ones_joined():
    lines = make_lecture(TOPICS, 100, topic_minutes=25)
    chapters = [Chapter(0, "Descent"), Chapter(600, "Networks"), Chapter(3000, "Interlude"),
                Chapter(3030, "Heat"), Chapter(4500, "Markets")]
    parts = plan_parts(transcript_of(lines, chapters))
    titles = [p.title for p in parts]
    # Networks runs 40 minutes: three pieces; the 30-second Interlude is written with Heat.
    assert titles[0] == "Descent" and titles.count("Networks") == 3
    assert "Interlude · Heat" in titles and titles[-1] == "Markets"
    assert parts[0].start == 0 and parts[1].start == 600
    assert next(p for p in parts if p.title == "Interlude · Heat").start == 3000
    assert_covers(parts, transcript_of(lines, chapters))


def test_a_part_that_did_not_fit_is_cut_in_two_at_a_break():
    lines = make_lecture(TOPICS, 60, topic_minutes=6)
    part = plan_parts(transcript_of(lines))[0]
    halves = split_part(part)
    assert len(halves) == 2
    assert halves[0].transcript.segments + halves[1].transcript.segments == part.transcript.segments
    assert (halves[0].start, halves[1].end) == (part.start, part.end)
    assert round(halves[1].start, 2) in topic_starts(lines, 6)  # the 6-minute topic change inside it
    one_line = split_part(split_part(halves[0])[0]) if len(halves[0].transcript.segments) > 3 else []
    assert all(len(p.transcript.segments) >= 1 for p in one_line)
    single = plan_parts(transcript_of(lines))[0]
    assert split_part(type(single)(1, 1, 0, 4, "", transcript_of(lines[:1]))) == []
