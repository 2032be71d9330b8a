"""--batch-api: Claude calls through the Message Batches API of the fake, with the real SDK."""

from __future__ import annotations

import threading

import pytest

from tests.fakes.anthropic import DEFAULT_KEY, FakeAnthropic
from tests.notes.test_claude import LINES, META, make_transcript
from yt_study_buddy.batch.limits import ServiceLimits
from yt_study_buddy.errors import Cancelled, ClaudeResponseError
from yt_study_buddy.models import Segment, Transcript, VideoMeta
from yt_study_buddy.notes.claude import ClaudeEngine
from yt_study_buddy.notes.claude_batches import batch_params, custom_id_for
from yt_study_buddy.vault.paid import BatchLedger
from yt_study_buddy.vault.store import Vault


@pytest.fixture
def fake():
    with FakeAnthropic(batch_latency=0.2) as server:
        yield server


def batch_engine(fake, tmp_path, **kwargs) -> ClaudeEngine:
    kwargs.setdefault("limits", ServiceLimits())
    return ClaudeEngine(api_key=DEFAULT_KEY, base_url=fake.base_url,
                        batch_ledger=BatchLedger(Vault(tmp_path / "vault")), batch_poll=0.05,
                        batch_gather=2.0, **kwargs)


def video(n: int) -> tuple[VideoMeta, Transcript]:
    vid = f"batchvid{n:03d}"
    lines = LINES[n % len(LINES):] + LINES[: n % len(LINES)]
    return (VideoMeta(vid, f"Lecture {n}", "Ch", f"https://youtu.be/{vid}"),
            Transcript(vid, [Segment(i * 30.0, 30.0, t) for i, t in enumerate(lines)]))


def test_one_video_takes_two_rounds_and_matches_direct_notes(fake, tmp_path):
    with FakeAnthropic() as direct_fake:
        direct = ClaudeEngine(api_key=DEFAULT_KEY, base_url=direct_fake.base_url)
        expected = direct.generate_notes(META, make_transcript())
    engine = batch_engine(fake, tmp_path)
    notes = engine.generate_notes(META, make_transcript())
    assessment = engine.generate_assessment(META, make_transcript(), notes)
    engine.close()

    assert notes.markdown == expected.markdown and notes.concepts == expected.concepts
    assert len(assessment.questions) == 8
    # Round 1: notes and study data together (neither needs the other); round 2: the assessment.
    assert fake.batches.created == 2 and fake.count == 0  # nothing went through /v1/messages
    first, second = fake.batches.batches.values()
    assert [cid for cid, _ in first.requests] == [custom_id_for(META.video_id, "notes", engine.model),
                                                   custom_id_for(META.video_id, "study", engine.model)]
    assert [cid for cid, _ in second.requests] == [custom_id_for(META.video_id, "assessment", engine.model)]
    for _, params in first.requests + second.requests:
        assert "stream" not in params
        assert params["system"][-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    # The transcript was written to the 1-hour cache once, and read by the two other calls.
    assert notes.usage["cache_creation_1h_input_tokens"] == notes.usage["cache_creation_input_tokens"] > 0
    assert assessment.usage["cache_read_input_tokens"] == notes.usage["cache_creation_input_tokens"]


def test_videos_in_flight_together_share_each_round(fake, tmp_path):
    engine = batch_engine(fake, tmp_path)
    under_way = engine.limits.videos_under_way
    videos = [video(n) for n in range(3)]
    for _ in videos:
        under_way.join()
    errors: list[BaseException] = []

    def work(meta, transcript):
        try:
            notes = engine.generate_notes(meta, transcript)
            engine.generate_assessment(meta, transcript, notes)
        except BaseException as exc:  # noqa: BLE001 - collected for the assert
            errors.append(exc)
        finally:
            under_way.leave()

    threads = [threading.Thread(target=work, args=v) for v in videos]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    engine.close()
    assert not errors
    sizes = [len(b.requests) for b in fake.batches.batches.values()]
    assert sizes == [6, 3]  # notes + study data of all three, then their three assessments


def test_errored_and_expired_requests_are_sent_once_more(fake, tmp_path):
    fake.batches.script("-notes-", "errored")
    fake.batches.script("-study-", "expired")
    engine = batch_engine(fake, tmp_path)
    notes = engine.generate_notes(META, make_transcript())
    assert notes.markdown and notes.concepts
    assert fake.batches.created == 2
    notes_id = custom_id_for(META.video_id, "notes", engine.model)
    assert fake.batches.submissions[notes_id] == 2


def test_a_request_that_fails_twice_is_reported(fake, tmp_path):
    fake.batches.script("-notes-", "errored", times=2)
    engine = batch_engine(fake, tmp_path)
    with pytest.raises(ClaudeResponseError) as info:
        engine.generate_notes(META, make_transcript())
    assert info.value.retryable and "errored twice" in info.value.reason
    assert fake.batches.created == 2


def test_a_canceled_batch_is_sent_again(fake, tmp_path):
    fake.batches.latency = 30.0
    engine = batch_engine(fake, tmp_path)
    result: list = []
    worker = threading.Thread(target=lambda: result.append(engine.generate_notes(META, make_transcript())))
    worker.start()
    while not fake.batches.batches:
        worker.join(0.02)
    fake.batches.latency = 0.1  # the next batch is quick
    [batch_id] = fake.batches.batches
    engine._client.messages.batches.cancel(batch_id)  # someone cancels it in the Console
    worker.join(30)
    assert result and result[0].markdown
    assert fake.batches.created == 2


def test_a_rerun_collects_a_batch_already_submitted(fake, tmp_path):
    fake.batches.latency = 1.0
    ledger_vault = tmp_path / "vault"
    first = batch_engine(fake, tmp_path, limits=ServiceLimits())
    worker = threading.Thread(target=lambda: _swallow(first.generate_notes, META, make_transcript()))
    worker.start()
    while not (ledger_vault / ".study-buddy" / "message_batches.json").exists():
        worker.join(0.02)
    first.limits.cancel.set()  # Ctrl-C: the batch keeps running at Anthropic
    worker.join(10)
    assert fake.batches.created == 1

    again = batch_engine(fake, tmp_path)
    notes = again.generate_notes(META, make_transcript())
    assert notes.markdown
    assert fake.batches.created == 1  # nothing submitted again
    assert set(fake.batches.submissions.values()) == {1}
    assert again.batches.resumed == 2
    # Its results were paid for once; their usage still counts for this run's cost.
    assert notes.usage["output_tokens"] > 0


def _swallow(fn, *args):
    try:
        fn(*args)
    except Cancelled:
        pass


def test_progress_is_announced_while_waiting(fake, tmp_path):
    fake.batches.latency = 0.6
    notices: list[str | None] = []
    limits = ServiceLimits(on_wait=lambda text, seconds: notices.append(text))
    engine = batch_engine(fake, tmp_path, limits=limits)
    engine.generate_notes(META, make_transcript())
    engine.close()
    shown = [n for n in notices if n]
    assert any(n.startswith("Message Batch: 0/2 requests done") for n in shown)
    assert any("/2 requests done" in n and "elapsed" in n for n in shown)
    assert notices[-1] is None  # cleared once the results are in


def test_batch_params_and_custom_ids():
    params = {"model": "m", "stream": True, "system": [{"type": "text", "text": "a"},
                                                        {"type": "text", "text": "b",
                                                         "cache_control": {"type": "ephemeral"}}]}
    out = batch_params(params)
    assert "stream" not in out and out["system"][0] == {"type": "text", "text": "a"}
    assert out["system"][1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert params["system"][1]["cache_control"] == {"type": "ephemeral"}  # the original is untouched
    cid = custom_id_for("local-3f2a9c", "notes-c1", "claude-sonnet-5-5")
    assert cid == custom_id_for("local-3f2a9c", "notes-c1", "claude-sonnet-5-5")
    assert cid != custom_id_for("local-3f2a9c", "notes-c1", "claude-opus-5")
    long = custom_id_for("x" * 80 + "/../é", "assessment", "m")
    assert len(long) <= 64 and all(c.isalnum() or c in "_-" for c in long)
