"""--batch-api end to end: rounds, half price, a kill -9 mid-batch resumed without paying twice, --budget."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from tests.fakes.anthropic import DEFAULT_KEY, FakeAnthropic
from tests.guard.loopback import guarded_env
from tests.test_cost import records
from tests.test_pipeline import add_videos, make_app
from tests.test_reliability import cli
from yt_study_buddy.notes.pricing import PriceTable


@pytest.fixture
def batch_fake():
    with FakeAnthropic(batch_latency=0.3) as fake:
        yield fake


def test_a_batch_through_the_message_batches_api(tmp_path, fake_youtube, batch_fake):
    urls = add_videos(fake_youtube, 4)
    app = make_app(tmp_path, fake_youtube, batch_fake, batch_api=True, parallel=True, max_workers=2)
    app.engine.batches.poll_interval = 0.05
    report = app.process_urls(urls)
    app.close()
    assert report.ok, [r.error for r in report.results]
    # Every video's round-1 calls went in one batch, their assessments in a second.
    assert [len(b.requests) for b in batch_fake.batches.batches.values()] == [8, 4]
    assert batch_fake.count == 0
    table = PriceTable()
    for record in records(tmp_path):
        assert record["billing"] == "message-batches"
        assert record["usage"]["cache_creation_1h_input_tokens"] > 0
        half = table.estimate(app.engine.model, record["usage"]).usd / 2
        assert record["cost_usd"] == pytest.approx(half, abs=1e-6)
    assert "Message Batches API at half price" in "\n".join(report.metrics.summary_lines())
    # Notes are written: the ledger no longer needs their requests.
    ledger = json.loads((tmp_path / "notes" / ".study-buddy" / "message_batches.json").read_text())
    assert ledger == {"batches": {}}


def test_kill_9_mid_batch_resumes_it_and_pays_nothing_twice(tmp_path, fake_youtube):
    urls = add_videos(fake_youtube, 3)
    vault = tmp_path / "vault"
    ledger = vault / ".study-buddy" / "message_batches.json"
    with FakeAnthropic(batch_latency=2.0) as fake:
        env = guarded_env(YT_STUDY_BUDDY_YOUTUBE_URL=fake_youtube.base_url, ANTHROPIC_API_KEY=DEFAULT_KEY,
                          ANTHROPIC_BASE_URL=fake.base_url, PYTHONUNBUFFERED="1")
        args = [*urls, "--batch-api", "--delay", "0", "-o", str(vault)]
        proc = subprocess.Popen(cli(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env, cwd=tmp_path)
        deadline = time.monotonic() + 60
        while not (ledger.exists() and fake.batches.created) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert fake.batches.created == 1 and ledger.exists()
        assert not list(vault.rglob("Lecture *.md"))  # killed while the batch ran

        fake.batches.latency = 0.2
        rerun = subprocess.run(cli(*args), capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        notes = [p for p in vault.rglob("Lecture *.md") if "Assessment" not in p.name]
        assert len(notes) == 3
        # The first run's batch was collected, not submitted again: every request paid once.
        assert set(fake.batches.submissions.values()) == {1}
        assert fake.batches.created == 2  # round 1 (resumed) + the assessments' round
        assert fake.count == 0


def test_budget_works_with_the_batch_api(tmp_path, fake_youtube, batch_fake):
    urls = add_videos(fake_youtube, 6)
    probe = make_app(tmp_path, fake_youtube, batch_fake, name="probe", batch_api=True)
    probe.engine.batches.poll_interval = 0.05
    one = probe.process_urls(urls[:1]).results[0].cost_usd
    probe.close()
    assert one and one > 0
    app = make_app(tmp_path, fake_youtube, batch_fake, batch_api=True, budget=one * 3.5)
    app.engine.batches.poll_interval = 0.05
    report = app.process_urls(urls)
    app.close()
    done = [r for r in report.results if r.ok]
    # All videos are in flight at once, so the first estimate decides; it is a
    # rough one (typical answers are longer than the fake's), never over budget.
    assert 1 <= len(done) < 6 and report.metrics.cost_usd <= one * 3.5
    assert "budget of $" in report.stop_reason
    assert all(r.retryable for r in report.results if not r.ok)
