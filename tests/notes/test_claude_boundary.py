"""The Claude boundary: broken-off streams, long rate-limit waits, bugs kept apart from service errors."""

from __future__ import annotations

import logging
import threading

import pytest

from tests.fakes.anthropic import DEFAULT_KEY, FakeAnthropic, error_body
from tests.notes.test_claude import META, engine_for, make_transcript
from yt_study_buddy.batch.limits import ServiceLimits
from yt_study_buddy.errors import ClaudeRateLimited, InternalError, NetworkError, StudyBuddyError
from yt_study_buddy.notes.claude_errors import claude_errors, convert_anthropic_error


def _complete_notes() -> str:
    with FakeAnthropic() as fake:
        return engine_for(fake).generate_notes(META, make_transcript()).markdown


@pytest.mark.parametrize("clean", [False, True], ids=["connection-reset", "early-eof"])
def test_a_stream_cut_mid_answer_is_continued_from_the_kept_text(fake_anthropic, clean):
    complete = _complete_notes()
    fake_anthropic.cut_next_stream(after=8, clean=clean)
    limits = ServiceLimits()
    result = engine_for(fake_anthropic, limits=limits, backoff_base=0.01).generate_notes(
        META, make_transcript())

    assert result.markdown == complete  # nothing lost, nothing repeated
    first, second, study = fake_anthropic.requests
    assert first["stream"] and second["stream"]
    # The retry carries what was received before the cut and asks for the rest:
    # those output tokens are not paid for twice.
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["user", "assistant", "user"]
    kept = second["messages"][1]["content"]
    assert kept and complete.startswith(kept.strip()[:40]) and len(kept) < len(complete)
    assert "Continue exactly where they stopped" in second["messages"][2]["content"]
    assert limits.claude_backoff.pauses == 1  # a network hiccup: every worker paused briefly
    # The cut call's input was paid (message_start reported it): it is counted.
    assert result.usage["cache_creation_input_tokens"] > 0
    assert result.usage["cache_read_input_tokens"] >= 2 * result.usage["cache_creation_input_tokens"]


def test_a_stream_cut_before_any_text_is_simply_retried(fake_anthropic):
    fake_anthropic.cut_next_stream(after=1)  # only message_start arrives
    result = engine_for(fake_anthropic, backoff_base=0.01).generate_notes(META, make_transcript())
    assert result.markdown
    first, second, _study = fake_anthropic.requests
    assert first["messages"] == second["messages"]


def test_streams_that_keep_breaking_give_a_retryable_network_error(fake_anthropic):
    fake_anthropic.cut_next_stream(10, after=8)
    engine = engine_for(fake_anthropic, max_retries=2, backoff_base=0.01)
    with pytest.raises(NetworkError) as info:
        engine.generate_notes(META, make_transcript())
    assert info.value.retryable
    assert "stop reason" not in info.value.reason and "could not be read" not in info.value.reason


def test_a_retry_after_beyond_ten_minutes_stops_the_batch_at_once(fake_anthropic):
    fake_anthropic.enqueue(429, error_body(429), headers={"retry-after": "840"})
    limits = ServiceLimits()
    with pytest.raises(ClaudeRateLimited) as info:
        engine_for(fake_anthropic, limits=limits).generate_notes(META, make_transcript())
    err = info.value
    assert err.fatal and err.retryable  # stops the batch; --retry-failed later does the rest
    assert "14 min" in err.reason and "batch stopped" in err.reason
    assert fake_anthropic.count == 1 and limits.claude_backoff.remaining == 0


def test_a_long_wait_is_announced_and_cleared(fake_anthropic):
    notices: list[tuple[str | None, float | None]] = []
    limits = ServiceLimits(wait_notice=0.5, on_wait=lambda text, seconds: notices.append((text, seconds)))
    fake_anthropic.enqueue(429, error_body(429), headers={"retry-after": "1"})
    engine_for(fake_anthropic, limits=limits).generate_notes(META, make_transcript())
    text, seconds = notices[0]
    assert text == "waiting for Claude's rate limit" and 0.5 < seconds <= 1.0
    assert notices[-1] == (None, None)


def test_a_bug_inside_the_boundary_is_logged_and_called_internal(caplog):
    caplog.set_level(logging.ERROR)
    with pytest.raises(InternalError) as info:
        with claude_errors("reading an answer"):
            None.text  # noqa: B018 - the kind of slip that used to read as a Claude error
    assert info.value.kind == "internal" and not info.value.retryable
    assert "AttributeError" in info.value.reason and "Claude answer" not in info.value.reason
    [record] = caplog.records
    assert "reading an answer" in record.getMessage() and record.exc_info is not None
    assert isinstance(info.value.__cause__, AttributeError)


def test_project_errors_pass_the_boundary_unchanged():
    with pytest.raises(ClaudeRateLimited) as info:
        with claude_errors():
            raise ClaudeRateLimited("as it was")
    assert info.value.reason == "as it was"


def test_a_broken_connection_is_a_network_error():
    import httpx2

    err = convert_anthropic_error(httpx2.RemoteProtocolError("peer closed connection"))
    assert isinstance(err, NetworkError) and err.retryable
    assert isinstance(convert_anthropic_error(httpx2.ReadError("reset")), NetworkError)


def test_no_bucket_headers_means_no_pacing_and_no_hold_up(fake_anthropic):
    # A gateway that sends no anthropic-ratelimit-* headers: after the first
    # answer, calls go out as they come (only the concurrency limit applies).
    limits = ServiceLimits()
    engine = engine_for(fake_anthropic, limits=limits)
    errors: list[StudyBuddyError] = []

    def work():
        try:
            engine.generate_notes(META, make_transcript())
        except StudyBuddyError as exc:  # pragma: no cover - collected for the assert
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and fake_anthropic.count == 8
    assert not limits.claude_pacer.active
    # Only the very first call went alone (it found out there are no buckets).
    assert limits.claude_pacer.waited < 5


def test_wrong_key_still_never_reaches_an_error(fake_anthropic):
    secret = "sk-ant-api03-ANOTHER-WRONG-SECRET-KEY-value"
    engine = engine_for(fake_anthropic, api_key=secret)
    with pytest.raises(StudyBuddyError) as info:
        engine.generate_notes(META, make_transcript())
    assert secret not in str(info.value) and info.value.__cause__ is None
    assert DEFAULT_KEY != secret
