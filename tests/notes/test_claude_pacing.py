"""Pacing by the real limits: the fake's token buckets and headers, and the engine waiting before a call."""

from __future__ import annotations

import threading

import anthropic

from tests.fakes.anthropic import DEFAULT_KEY, FakeAnthropic
from tests.notes.test_claude_batches import video
from tests.notes.test_claude import META, engine_for, make_transcript
from yt_study_buddy.batch.limits import ServiceLimits
from yt_study_buddy.errors import StudyBuddyError

FAMILIES = ("requests", "input-tokens", "output-tokens")


def test_every_answer_reports_the_buckets():
    with FakeAnthropic(rpm=50, itpm=20_000, otpm=4_000) as fake:
        client = anthropic.Anthropic(api_key=DEFAULT_KEY, base_url=fake.base_url, max_retries=0)
        raw = client.messages.with_raw_response.create(
            model="m", max_tokens=100, messages=[{"role": "user", "content": "hello"}])
        for family in FAMILIES:
            for part in ("limit", "remaining", "reset"):
                assert raw.headers.get(f"anthropic-ratelimit-{family}-{part}"), (family, part)
        assert raw.headers["anthropic-ratelimit-requests-remaining"] == "49"
        # max_tokens was taken at the start and what the answer did not use given back.
        out = raw.parse().usage.output_tokens
        assert int(raw.headers["anthropic-ratelimit-output-tokens-remaining"]) >= 4_000 - out - 1


def test_cache_reads_do_not_count_against_input_tokens():
    with FakeAnthropic(itpm=100_000) as fake:
        engine = engine_for(fake)
        notes = engine.generate_notes(META, make_transcript())
        usage = notes.usage
        assert usage["cache_read_input_tokens"] > 0
        assert fake.buckets.input_counted == usage["input_tokens"] + usage["cache_creation_input_tokens"]


def test_a_429_from_a_bucket_says_when_to_come_back():
    with FakeAnthropic(rpm=2) as fake:
        client = anthropic.Anthropic(api_key=DEFAULT_KEY, base_url=fake.base_url, max_retries=0)
        body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
        client.messages.create(**body)
        client.messages.create(**body)
        try:
            client.messages.create(**body)
        except anthropic.RateLimitError as exc:
            assert 1 <= int(exc.response.headers["retry-after"]) <= 30
            assert exc.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
        else:  # pragma: no cover - the assert below explains
            raise AssertionError("the third request in a minute should be refused")


def test_workers_wait_for_the_request_bucket_instead_of_being_refused():
    # 14 calls against 12 requests a minute: the last ones must wait ~5 s each.
    with FakeAnthropic(rpm=12, latency=0.05) as fake:
        limits = ServiceLimits(claude_concurrency=8)
        engine = engine_for(fake, limits=limits)
        errors: list[StudyBuddyError] = []

        def work(n: int) -> None:
            meta, transcript = video(n)
            try:
                engine.generate_notes(meta, transcript)
            except StudyBuddyError as exc:  # pragma: no cover - collected for the assert
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(7)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert not errors and fake.buckets.admitted == 14
    assert fake.rate_limited == 0, "pacing should have waited before the bucket ran dry"
    assert limits.claude_pacer.waits >= 2 and limits.claude_backoff.pauses == 0
