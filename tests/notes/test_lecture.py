"""Writing a lecture's notes: one go with chapters, or part by part (offline and Claude), drafts, cut-off parts."""

from __future__ import annotations

import re
import threading

import pytest

from tests.fakes.anthropic import DEFAULT_KEY
from tests.fakes.youtube import LECTURE_TOPICS, make_lecture, make_segments
from yt_study_buddy.batch.fanout import WorkerShare
from yt_study_buddy.errors import Cancelled, ClaudeResponseError
from yt_study_buddy.models import Chapter, Segment, Transcript, VideoMeta
from yt_study_buddy.notes.claude import ClaudeEngine
from yt_study_buddy.notes.lecture import write_lecture, write_notes
from yt_study_buddy.notes.offline import OfflineEngine
from yt_study_buddy.notes.parts import plan_parts
from yt_study_buddy.notes.sections import section, split_sections, stamp_seconds

VIDEO_ID = "lectureid01"
META = VideoMeta(VIDEO_ID, "Three Hour Lecture", "Course Channel", f"https://youtu.be/{VIDEO_ID}")
TOPICS = [topic[:4] for topic in LECTURE_TOPICS[:4]]
CHAPTERS = [Chapter(0, "Descent"), Chapter(2700, "Networks [and] *more*"), Chapter(5400, "Heat"),
            Chapter(8100, "Markets")]


class DictDrafts:
    """Drafts kept in memory: the DraftStore contract without the disk."""

    def __init__(self):
        self.data: dict[str, dict] = {}

    def get(self, key):
        return self.data.get(key)

    def put(self, key, data):
        self.data[key] = data


def lecture(minutes=180, chapters=(), topic_minutes=15.0) -> Transcript:
    lines = make_lecture(TOPICS, minutes, topic_minutes=topic_minutes)
    return Transcript(VIDEO_ID, [Segment(*line) for line in lines], chapters=list(chapters))


def headings(markdown: str) -> list[str]:
    return [h for h, _ in split_sections(markdown) if h]


def claude(fake, **kwargs) -> ClaudeEngine:
    return ClaudeEngine(api_key=DEFAULT_KEY, base_url=fake.base_url, backoff_base=0.01, **kwargs)


def part_requests(fake) -> list[dict]:
    return [b for b in fake.requests if "one part of a long lecture" in str(b["messages"][0]["content"])]


# -- offline -----------------------------------------------------------------------------


def test_a_long_lecture_note_opens_with_its_chapters_and_follows_them():
    transcript = lecture(chapters=CHAPTERS)
    notes = write_notes(OfflineEngine(), META, transcript)
    names = headings(notes.markdown)
    assert names[:4] == ["Chapters", "Overview", "Core concepts", "Key points"]
    assert names[-1] == "Questions for further study"
    # Each chapter links to where it starts; its title is text, not markup.
    outline = section(notes.markdown, "Chapters")
    assert "- [Descent](https://youtu.be/lectureid01?t=0) · 0:00" in outline
    assert "[Networks \\[and\\] \\*more\\*](https://youtu.be/lectureid01?t=2700) · 45:00" in outline
    # Then one section per part, each heading carrying its start time; 45-minute chapters in pieces.
    parts = [n for n in names if re.search(r" · \d+:\d\d", n)]
    assert parts[0] == "Descent (1/3) · 0:00" and "Heat (1/3) · 1:30:00" in parts
    assert len(parts) == notes.parts == len(plan_parts(transcript))


def test_key_points_cover_the_whole_lecture_not_its_first_half():
    transcript = lecture()
    notes = write_notes(OfflineEngine(), META, transcript)
    points = [stamp_seconds(line) for line in section(notes.markdown, "Key points").splitlines() if line]
    plan = plan_parts(transcript)
    # At least one key point from every part, in order, to the last quarter hour.
    for part in plan:
        assert any(part.start <= p < part.end for p in points), (part.start, points)
    assert points == sorted(points) and max(points) > transcript.duration - 15 * 60


def test_a_short_lecture_keeps_one_go_and_groups_its_key_points_by_chapter():
    lines = make_segments(TOPICS[0] + TOPICS[1], 150, seconds_each=4.0)  # 10 minutes
    chapters = [Chapter(0, "Start"), Chapter(200, "Middle"), Chapter(400, "End")]
    transcript = Transcript(VIDEO_ID, [Segment(*line) for line in lines], chapters=chapters)
    notes = write_notes(OfflineEngine(), META, transcript)
    assert notes.parts == 0
    assert headings(notes.markdown)[:2] == ["Chapters", "Overview"]
    key_points = section(notes.markdown, "Key points")
    assert [h for h, _ in split_sections(key_points, 3) if h] == ["Start · 0:00", "Middle · 3:20", "End · 6:40"]
    for heading, body in split_sections(key_points, 3):
        start = next(c.start for c in chapters if heading.startswith(c.title))
        end = next((c.start for c in chapters if c.start > start), 10 ** 6)
        assert all(start <= stamp_seconds(line) < end for line in body.splitlines() if line.startswith("- "))


def test_a_lecture_without_chapters_has_no_outline():
    notes = write_notes(OfflineEngine(), META, lecture(minutes=40))
    assert "Chapters" not in headings(notes.markdown)
    assert headings(notes.markdown)[3:5] == ["Part 1 · 0:00", "Part 2 · 15:06"]


# -- Claude ------------------------------------------------------------------------------


def test_claude_writes_each_part_from_its_own_captions_then_the_overview_from_the_parts(fake_anthropic):
    transcript = lecture(minutes=60)
    plan = plan_parts(transcript)
    engine = claude(fake_anthropic)
    share = WorkerShare(4)
    with share.held():
        notes = write_notes(engine, META, transcript, run_all=share.run_all)
    requests = part_requests(fake_anthropic)
    assert len(requests) == len(plan) == notes.parts and share.peak == 4
    for part in plan:
        # The request for a part carries that part's captions and no other part's.
        body = next(b for b in requests if part.transcript.segments[0].text in b["system"][1]["text"]
                    and f"from {part.start // 60:.0f}:" in b["messages"][0]["content"])
        others = [p for p in plan if p is not part]
        assert not any(p.transcript.segments[-1].text + "\n" in body["system"][1]["text"]
                       and p.transcript.segments[-1].text not in part.transcript.text for p in others)
    rest = [b for b in fake_anthropic.requests if b not in requests]
    assert len(rest) == 2  # the overview and the study data, both from the parts' notes
    assert all("<lecture_notes" in b["system"][1]["text"] for b in rest)
    assert notes.usage["output_tokens"] > 0 and notes.concepts and notes.subject
    # The assessment of a lecture written in parts reads the notes, not the 60-minute transcript.
    engine.generate_assessment(META, transcript, notes)
    assessment = fake_anthropic.requests[-1]
    assert "<lecture_notes" in assessment["system"][1]["text"]
    assert transcript.segments[7].text not in assessment["system"][1]["text"]


def test_a_part_cut_off_after_its_continuations_is_split_in_two_never_saved(fake_anthropic):
    transcript = lecture(minutes=40, topic_minutes=5)
    plan = plan_parts(transcript)
    drafts = DictDrafts()
    fake_anthropic.truncate_next(4)  # the first part's answer and its three continuations
    notes = write_notes(claude(fake_anthropic), META, transcript, drafts=drafts)
    assert notes.parts == len(plan) + 1
    assert drafts.data[plan[0].key("claude", notes.model)] == {"split": True}
    assert sum(1 for d in drafts.data.values() if "part" in d) == len(plan) + 1
    first_two = sorted((d["part"] for d in drafts.data.values() if "part" in d), key=lambda p: p["start"])[:2]
    assert first_two[0]["start"] == 0 and first_two[1]["start"] == pytest.approx(first_two[0]["end"])


def test_paid_parts_are_kept_so_a_rerun_buys_only_the_missing_ones(fake_anthropic):
    transcript = lecture(minutes=60)
    plan = plan_parts(transcript)
    engine = claude(fake_anthropic)
    cancel = threading.Event()

    class StopAfterTwo(DictDrafts):
        """Stops the run once two parts are paid for, as a crash or Ctrl-C would."""

        def put(self, key, data):
            super().put(key, data)
            if len(self.data) == 2:
                cancel.set()

    drafts = StopAfterTwo()
    with pytest.raises(Cancelled):
        write_notes(engine, META, transcript, drafts=drafts, cancel=cancel)
    assert len(part_requests(fake_anthropic)) == 2 and len(drafts.data) == 2
    paid = sum(d["part"]["usage"]["output_tokens"] for d in drafts.data.values())
    cancel.clear()
    resumed = write_notes(engine, META, transcript, drafts=drafts, cancel=cancel)
    assert len(part_requests(fake_anthropic)) == len(plan)  # only the missing parts were bought
    assert resumed.parts == len(plan)
    # Parts paid for in the first run are not counted again.
    whole = write_notes(engine, META, transcript)
    assert whole.markdown == resumed.markdown
    assert whole.usage["output_tokens"] - resumed.usage["output_tokens"] == paid > 0


# -- the assessment beside the overview ----------------------------------------------------


def test_a_long_lectures_assessment_comes_with_its_notes_and_a_short_ones_does_not():
    notes, assessment = write_lecture(OfflineEngine(), META, lecture(minutes=40), assess=True)
    assert notes.parts and assessment is not None and assessment.questions
    short = Transcript(VIDEO_ID, [Segment(*line) for line in make_segments(TOPICS[0], 40)])
    notes, assessment = write_lecture(OfflineEngine(), META, short, assess=True)
    assert notes.parts == 0 and assessment is None  # the caller asks for it, as before


def test_a_failed_assessment_beside_the_overview_keeps_the_paid_overview():
    class AssessmentFails(OfflineEngine):
        """The offline engine whose assessment call fails, as a refused API call would."""

        def generate_assessment(self, meta, transcript, notes):
            raise ClaudeResponseError("Claude sent an unexpected answer")

    notes, assessment = write_lecture(AssessmentFails(), META, lecture(minutes=40), assess=True)
    assert assessment is None and notes.parts and section(notes.markdown, "Overview")


def test_a_long_lecture_fits_a_small_context_model_in_every_call():
    from tests.fakes.openai_compat import FakeOpenAICompat
    from yt_study_buddy.notes.openai_compat import OpenAIEngine

    fake = FakeOpenAICompat(flavour="plain", context_tokens=4096).start()  # refuses any prompt over 4k
    try:
        engine = OpenAIEngine(base_url=fake.base_url, model="llama3.2", backoff_base=0.01, context_tokens=4096)
        transcript = lecture(minutes=120)
        notes, assessment = write_lecture(engine, META, transcript, assess=True)
        assert notes.parts == len(plan_parts(transcript, engine.context_budget())) > 12
        assert assessment is not None and assessment.questions
        # The overview, study data and assessment read the parts' notes shrunk to fit the model.
        across = [b["messages"][0]["content"] for b in fake.requests if "<lecture_notes" in b["messages"][0]["content"]]
        assert len(across) == 3
        whole = "\n".join(section(notes.markdown, "Key points").splitlines())
        assert all(len(text) < len(notes.markdown) and whole not in text for text in across)
    finally:
        fake.stop()


def test_claude_is_told_a_short_videos_chapters_and_its_key_points_follow_them(fake_anthropic):
    lines = make_segments(TOPICS[0] + TOPICS[1], 150, seconds_each=4.0)  # 10 minutes
    chapters = [Chapter(0, "Start"), Chapter(200, "Middle"), Chapter(400, "End")]
    transcript = Transcript(VIDEO_ID, [Segment(*line) for line in lines], chapters=chapters)
    notes = write_notes(claude(fake_anthropic), META, transcript)
    assert notes.parts == 0 and len(fake_anthropic.requests) == 2  # the usual two calls
    assert "Chapters: 0:00 Start; 3:20 Middle; 6:40 End" in fake_anthropic.requests[0]["system"][1]["text"]
    assert headings(notes.markdown)[0] == "Chapters"
    key_points = section(notes.markdown, "Key points")
    assert [h for h, _ in split_sections(key_points, 3) if h] == ["Start · 0:00", "Middle · 3:20", "End · 6:40"]
