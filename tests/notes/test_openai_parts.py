"""Long lectures through a small-context model: the OpenAI engine writes them part by part, every call fitting."""

from __future__ import annotations

from tests.fakes.openai_compat import FakeOpenAICompat
from tests.notes.test_lecture import META, lecture
from yt_study_buddy.notes.lecture import write_notes
from yt_study_buddy.notes.openai_compat import OpenAIEngine
from yt_study_buddy.notes.parts import plan_parts


def part_requests(fake: FakeOpenAICompat) -> list[dict]:
    return [b for b in fake.requests if "one part of a long lecture" in b["messages"][1]["content"]]


def test_an_8k_model_gets_a_long_lecture_in_parts_that_each_fit_its_context():
    fake = FakeOpenAICompat(flavour="plain").start()  # says nothing: the 8k default applies
    try:
        engine = OpenAIEngine(base_url=fake.base_url, model="llama3.2", backoff_base=0.01)
        transcript = lecture(minutes=40, topic_minutes=5)
        budget = engine.context_budget()
        assert (budget.context_tokens, budget.output_tokens) == (8192, 2048)
        plan = plan_parts(transcript, budget)
        assert len(plan) >= 3  # 40 minutes: more than the 30-minute limit, and than 8k reads at once
        notes = write_notes(engine, META, transcript)
        assert len(part_requests(fake)) == len(plan) == notes.parts
        # The fake refuses (HTTP 400) any prompt plus answer limit over its context: none was.
        assert all(b.get("max_tokens") for b in fake.requests)
        assert notes.concepts and notes.flashcards and notes.engine == "openai"
        assessment = engine.generate_assessment(META, transcript, notes)
        assert "<lecture_notes" in fake.requests[-1]["messages"][0]["content"]
        assert transcript.segments[7].text not in fake.requests[-1]["messages"][0]["content"]
        assert len(assessment.questions) >= 4
    finally:
        fake.stop()


def test_a_large_context_reads_a_long_lecture_in_fewer_parts():
    small = FakeOpenAICompat(flavour="vllm", context_tokens=4096).start()
    large = FakeOpenAICompat(flavour="vllm", context_tokens=131072).start()
    try:
        transcript = lecture(minutes=90)
        parts = [len(plan_parts(transcript, OpenAIEngine(base_url=f.base_url, model="llama3.2")
                                .context_budget())) for f in (small, large)]
        assert parts[0] > parts[1] >= 1
    finally:
        small.stop()
        large.stop()
