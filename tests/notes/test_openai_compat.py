"""OpenAIEngine with the real openai SDK over HTTP against the fake OpenAI-compatible server."""

from __future__ import annotations

import logging
import re
import socket

import pytest

from tests.fakes.openai_compat import MODEL, FakeOpenAICompat, error_body
from tests.notes.test_claude import LINES, META, VIDEO_ID, make_transcript
from yt_study_buddy.batch.limits import ServiceLimits
from yt_study_buddy.errors import (
    InternalError,
    ModelAuthError,
    ModelNotFound,
    ModelRateLimited,
    ModelResponseError,
    ModelServerDown,
    ModelTruncated,
)
from yt_study_buddy.models import ASSESSMENT_CATEGORIES
from yt_study_buddy.notes import prompts
from yt_study_buddy.notes.openai_compat import OpenAIEngine, openai_errors
from yt_study_buddy.notes.openai_server import DEFAULT_CONTEXT_TOKENS
from yt_study_buddy.notes.structured import tool_schema

CARD = '{"front": "What does gradient descent minimise?", "back": "A loss function, one step at a time.", "timestamp_seconds": 37}'
GOOD_STUDY = ('{"concepts": ["gradient descent", "learning rate"], "summary": "It explains descent.", '
              f'"subject": "ML", "flashcards": [{CARD}]}}')


def engine_for(fake: FakeOpenAICompat, **kwargs) -> OpenAIEngine:
    kwargs.setdefault("model", "llama3.2")
    kwargs.setdefault("backoff_base", 0.02)
    return OpenAIEngine(base_url=fake.base_url, **kwargs)


def served(**kwargs) -> FakeOpenAICompat:
    return FakeOpenAICompat(**kwargs).start()


def structured_requests(fake: FakeOpenAICompat) -> list[dict]:
    return [b for b in fake.requests if not b.get("stream")]


# -- notes and study data ------------------------------------------------------------


def test_notes_streamed_with_sections_links_and_the_model_named(fake_openai):
    engine = engine_for(fake_openai)
    result = engine.generate_notes(META, make_transcript(), existing_subjects=["machine learning"])
    engine.close()

    md = result.markdown
    positions = [md.index(f"## {name}") for name in prompts.NOTE_SECTIONS]
    assert positions == sorted(positions)
    assert f"[0:37](https://youtu.be/{VIDEO_ID}?t=37)" in md
    assert not re.search(r"^# ", md, re.M)
    assert (result.engine, result.model) == ("openai", "llama3.2")
    assert "gradient descent" in result.concepts and result.summary
    assert result.subject == "machine learning"  # the vault's spelling of a reused subject
    assert result.flashcards and all(c.front and c.back for c in result.flashcards)
    assert any(c.cloze and "==" in c.cloze for c in result.flashcards)
    notes_call = fake_openai.requests[0]
    assert notes_call["stream"] is True and notes_call["stream_options"] == {"include_usage": True}
    assert notes_call["messages"][0]["role"] == "system"
    assert "[0:37] Gradient descent minimises" in notes_call["messages"][0]["content"]
    # Usage from the stream's last chunk and the structured call, under the project's keys.
    assert result.usage["input_tokens"] > 0 and result.usage["output_tokens"] > 0


def test_structured_data_asked_with_the_shared_json_schema(fake_openai):
    engine_for(fake_openai).generate_notes(META, make_transcript())
    (call,) = structured_requests(fake_openai)
    fmt = call["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == prompts.STUDY_TOOL
    assert fmt["json_schema"]["schema"] == tool_schema(prompts.STUDY_TOOL)  # one schema, not a fork
    assert "tools" not in call


def test_assessment_has_every_category_in_order(fake_openai):
    engine = engine_for(fake_openai)
    notes = engine.generate_notes(META, make_transcript())
    assessment = engine.generate_assessment(META, make_transcript(), notes)
    categories = [q.category for q in assessment.questions]
    assert set(categories) == set(ASSESSMENT_CATEGORIES)
    assert categories == sorted(categories, key=list(ASSESSMENT_CATEGORIES).index)
    assert assessment.usage["output_tokens"] > 0


def test_server_without_json_schema_falls_back_to_a_forced_tool_call_and_keeps_it():
    fake = served(supports=("tools", "json_object"))
    try:
        engine = engine_for(fake)
        notes = engine.generate_notes(META, make_transcript())
        engine.generate_assessment(META, make_transcript(), notes)
        calls = structured_requests(fake)
        assert calls[0]["response_format"]["type"] == "json_schema"  # rejected with a 400
        assert calls[1]["tool_choice"] == {"type": "function", "function": {"name": prompts.STUDY_TOOL}}
        assert {t["function"]["name"] for t in calls[1]["tools"]} == {prompts.STUDY_TOOL,
                                                                      prompts.ASSESSMENT_TOOL}
        # Learned once: the assessment goes straight to tools.
        assert len(calls) == 3 and calls[2]["tool_choice"]["function"]["name"] == prompts.ASSESSMENT_TOOL
        assert notes.concepts
    finally:
        fake.stop()


@pytest.mark.parametrize("supports, expected", [(("json_object",), "json_object"), ((), None)])
def test_json_object_then_plain_instructions_when_nothing_else_is_accepted(supports, expected):
    fake = served(supports=supports)
    try:
        result = engine_for(fake).generate_notes(META, make_transcript())
        last = structured_requests(fake)[-1]
        assert (last.get("response_format") or {}).get("type") == expected and "tools" not in last
        assert "reply with only the JSON object" in last["messages"][1]["content"]
        assert result.concepts
    finally:
        fake.stop()


def test_ollama_model_without_tool_support_is_never_sent_tools():
    fake = served(supports=("tools", "json_object"), tool_capable=False)
    try:
        engine_for(fake).generate_notes(META, make_transcript())
        assert not any("tools" in b for b in fake.requests)
        assert structured_requests(fake)[-1]["response_format"]["type"] == "json_object"
    finally:
        fake.stop()


# -- almost-JSON, retries -------------------------------------------------------------------


@pytest.mark.parametrize("answer", [
    f"```json\n{GOOD_STUDY[:-1]},\n}}\n```",  # code fence and a trailing comma
    f"Sure! Here is the JSON you asked for:\n{GOOD_STUDY}",
    "{'concepts': ['gradient descent'], 'summary': 'Descent.', 'subject': 'ML', 'flashcards': [],}",
])
def test_almost_json_is_repaired_without_asking_again(fake_openai, answer):
    fake_openai.answer_next(answer)
    result = engine_for(fake_openai).generate_notes(META, make_transcript())
    assert "gradient descent" in result.concepts and result.subject == "ML"
    assert len(structured_requests(fake_openai)) == 1


def test_a_malformed_answer_is_asked_for_once_more_with_the_problem(fake_openai):
    fake_openai.answer_next('{"concepts": "gradient descent", "summary": "x", "subject": "ML", "flashcards": []}')
    result = engine_for(fake_openai).generate_notes(META, make_transcript())
    first, second = structured_requests(fake_openai)
    assert second["messages"][2] == {"role": "assistant", "content": first and
                                     '{"concepts": "gradient descent", "summary": "x", "subject": "ML", '
                                     '"flashcards": []}'}
    assert "at concepts" in second["messages"][3]["content"]
    assert result.concepts  # the second (computed) answer was good


def test_two_malformed_answers_fail_the_video_with_the_reason(fake_openai):
    fake_openai.answer_next("I cannot answer that.", "Still no JSON, sorry.")
    with pytest.raises(ModelResponseError) as info:
        engine_for(fake_openai).generate_notes(META, make_transcript())
    assert "record_study_data answer was unusable after a retry" in info.value.reason
    assert "not a JSON object" in info.value.reason
    assert info.value.retryable and not info.value.fatal
    assert len(structured_requests(fake_openai)) == 2


def test_an_assessment_missing_a_category_counts_as_malformed(fake_openai):
    missing = ('{"questions": [{"category": "one_up", "question": "Q?", "answer": "A.", '
               '"key_concepts": ["x"]}]}')
    engine = engine_for(fake_openai)
    notes = engine.generate_notes(META, make_transcript())
    fake_openai.answer_next(missing, missing)
    with pytest.raises(ModelResponseError) as info:
        engine.generate_assessment(META, make_transcript(), notes)
    assert "has no questions for: Gap analysis" in info.value.reason


def test_cut_off_notes_are_continued(fake_openai):
    fake_openai.truncate_next(1)
    engine = engine_for(fake_openai)
    full = engine.generate_notes(META, make_transcript()).markdown
    streamed = [b for b in fake_openai.requests if b.get("stream")]
    assert len(streamed) == 2 and streamed[1]["messages"][-1]["content"] == prompts.continue_request()
    assert full.count("## Overview") == 1 and "## Questions for further study" in full


def test_cut_off_structured_answer_is_reported_as_truncated(fake_openai):
    engine = engine_for(fake_openai)
    notes = engine.generate_notes(META, make_transcript())
    fake_openai.truncate_next(1)
    with pytest.raises(ModelTruncated):
        engine.generate_assessment(META, make_transcript(), notes)


def test_server_rejecting_stream_options_streams_without_them():
    fake = served(stream_usage=False)
    try:
        engine = engine_for(fake)
        engine.generate_notes(META, make_transcript())
        engine.generate_notes(META, make_transcript())
        streamed = [b for b in fake.requests if b.get("stream")]
        assert "stream_options" in streamed[0] and "stream_options" not in streamed[1]
        assert len(streamed) == 3  # learned once
    finally:
        fake.stop()


# -- limits and errors --------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_throttle_pauses_every_worker_for_retry_after_then_succeeds(fake_openai, status):
    limits = ServiceLimits()
    fake_openai.enqueue(status, error_body(status), headers={"retry-after": "0.3"})
    result = engine_for(fake_openai, limits=limits).generate_notes(META, make_transcript())
    assert result.markdown
    assert limits.claude_backoff.pauses == 1
    assert limits.claude_slots.limit < limits.claude_slots.maximum or limits.claude_slots.maximum == 1


def test_persistent_rate_limit_gives_up_with_a_retryable_error(fake_openai):
    for _ in range(3):
        fake_openai.enqueue(429, error_body(429), headers={"retry-after": "0"})
    with pytest.raises(ModelRateLimited) as info:
        engine_for(fake_openai, max_retries=2).generate_notes(META, make_transcript())
    assert info.value.retryable and not info.value.fatal


def test_out_of_quota_stops_the_batch(fake_openai):
    fake_openai.enqueue(429, error_body(429, "You exceeded your current quota", "insufficient_quota"))
    with pytest.raises(ModelAuthError) as info:
        engine_for(fake_openai).generate_notes(META, make_transcript())
    assert info.value.fatal and "out of quota" in info.value.reason


def test_an_error_event_mid_stream_is_retried(fake_openai):
    fake_openai.enqueue(200, 'data: {"error": {"message": "model crashed", "type": "server_error"}}\n\n')
    result = engine_for(fake_openai).generate_notes(META, make_transcript())
    assert result.markdown and len([b for b in fake_openai.requests if b.get("stream")]) == 2


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_one_fatal_stop_naming_the_fix():
    limits = ServiceLimits()
    engine = OpenAIEngine(base_url=f"http://127.0.0.1:{_closed_port()}/v1", model="llama3.2",
                          limits=limits, backoff_base=0.02)
    with pytest.raises(ModelServerDown) as info:
        engine.prepare()
    assert info.value.fatal and info.value.retryable
    assert "is the server running? (e.g. `ollama serve`)" in info.value.reason
    assert limits.claude_backoff.pauses == 0  # no retries against a server that is not there


def test_unknown_model_lists_the_servers_models():
    fake = served(models=("llama3.2:latest", "qwen2.5:7b", "mistral:latest"))
    try:
        with pytest.raises(ModelNotFound) as info:
            engine_for(fake, model="llama3").prepare()
        assert info.value.fatal
        assert "no model 'llama3'" in info.value.reason
        assert "llama3.2:latest, mistral:latest, qwen2.5:7b" in info.value.reason
        assert fake.requests == []  # found out before any generation
    finally:
        fake.stop()


def test_no_model_named_takes_the_only_one_or_lists_them():
    one = served()
    two = served(models=("a-model", "b-model"))
    try:
        engine = engine_for(one, model=None)
        engine.prepare()
        assert engine.model == MODEL
        with pytest.raises(ModelNotFound) as info:
            engine_for(two, model=None).prepare()
        assert "name a model with --model" in info.value.reason and "a-model, b-model" in info.value.reason
    finally:
        one.stop()
        two.stop()


def test_api_key_is_sent_and_a_rejected_one_never_shows():
    key = "sk-test-secret-key-0123456789abcdef"
    fake = served(api_key=key)
    try:
        engine_for(fake, api_key=key).generate_notes(META, make_transcript())
        assert fake.history[-1]["headers"]["authorization"] == f"Bearer {key}"
        wrong = "sk-wrong-secret-key-0123456789abcdef"
        with pytest.raises(ModelAuthError) as info:
            engine_for(fake, api_key=wrong).prepare()
        assert info.value.fatal and wrong not in info.value.reason and "OPENAI_API_KEY" in info.value.reason
    finally:
        fake.stop()


def test_openai_api_without_a_key_is_a_usage_error():
    from yt_study_buddy.errors import InputError

    with pytest.raises(InputError, match="OPENAI_API_KEY"):
        OpenAIEngine(base_url="https://api.openai.com/v1", model="gpt-4o-mini")


def test_an_unexpected_exception_is_logged_with_traceback_and_classified_internal(caplog):
    with caplog.at_level(logging.ERROR), pytest.raises(InternalError) as info:
        with openai_errors("http://127.0.0.1:1/v1"):
            {}["missing"]  # noqa: B018 - a bug inside the boundary
    assert info.value.kind == "internal"
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)


# -- context size -----------------------------------------------------------------------


@pytest.mark.parametrize("flavour, expected, source", [
    ("ollama", 16384, "Ollama num_ctx"),
    ("vllm", 16384, "vLLM max_model_len"),
    ("llamacpp", 16384, "llama.cpp n_ctx"),
    ("plain", DEFAULT_CONTEXT_TOKENS, "default"),
])
def test_context_size_comes_from_the_server_where_it_says(flavour, expected, source):
    fake = served(flavour=flavour, context_tokens=16384)
    try:
        info = engine_for(fake).info
        assert (info.context_tokens, info.context_source) == (expected, source)
    finally:
        fake.stop()


def test_ollama_without_num_ctx_stays_at_the_conservative_default():
    fake = served(context_tokens=None)
    try:
        assert engine_for(fake).info.context_tokens == DEFAULT_CONTEXT_TOKENS
    finally:
        fake.stop()


def test_answers_fit_a_small_context_and_too_long_a_transcript_is_refused_clearly():
    fake = served(context_tokens=3000)
    try:
        engine = engine_for(fake)
        engine.generate_notes(META, make_transcript())
        assert all(b["max_tokens"] < 3000 - 800 for b in fake.requests)
        sent = len(fake.requests)
        with pytest.raises(ModelResponseError) as info:
            engine.generate_notes(META, make_transcript(LINES * 20))
        assert "too long for the model's context" in info.value.reason and "3000 tokens" in info.value.reason
        assert len(fake.requests) == sent  # refused before the call, not by the server
    finally:
        fake.stop()


def test_context_override_wins(fake_openai):
    info = engine_for(fake_openai, context_tokens=4096).info
    assert (info.context_tokens, info.context_source) == (4096, "YT_STUDY_BUDDY_CONTEXT_TOKENS")


# -- cost --------------------------------------------------------------------------------


def test_local_servers_cost_nothing_and_openais_models_are_priced(fake_openai):
    from yt_study_buddy.notes.pricing import PriceTable

    engine = engine_for(fake_openai)
    result = engine.generate_notes(META, make_transcript())
    table = PriceTable()
    assert engine.local and table.estimate(engine.model, result.usage, local=engine.local).usd == 0.0
    assert table.estimate(engine.model, result.usage).usd is None  # an unknown model is never guessed
    hosted = OpenAIEngine(base_url="https://api.openai.com/v1", api_key="sk-test-0123456789abcdefghij")
    assert not hosted.local and hosted.model == "gpt-4.1-mini"
    usage = {"input_tokens": 1_000_000, "cache_read_input_tokens": 1_000_000, "output_tokens": 1_000_000}
    assert table.estimate("gpt-4.1-mini-2025-04-14", usage).usd == pytest.approx(0.40 + 0.10 + 1.60)
    assert table.estimate("gpt-4o-mini", usage).usd < table.estimate("gpt-4o", usage).usd


def test_a_password_in_the_server_url_never_shows(fake_openai):
    from yt_study_buddy.config import redact

    url = fake_openai.base_url.replace("http://", "http://me:url-secret-pw@")
    engine = OpenAIEngine(base_url=url, model="llama3.2")
    assert "url-secret-pw" not in engine.server
    assert redact(f"failed at {url}") == f"failed at {url.replace('url-secret-pw', '***')}"


@pytest.mark.parametrize("url", ["user:url-secret-pw@localhost:11434/v1", "ftp://me:url-secret-pw@localhost/v1",
                                 "http://me:url-secret-pw@localhost:99999/v1", "http://me:url-secret-pw@[::1/v1",
                                 "http://localhost:0/v1"])
def test_a_malformed_server_url_is_a_usage_error_that_never_shows_its_password(url):
    from yt_study_buddy.errors import InputError

    with pytest.raises(InputError, match="must be an http") as info:
        OpenAIEngine(base_url=url, model="llama3.2")
    assert "url-secret-pw" not in info.value.reason
