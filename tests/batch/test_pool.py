"""Tests for the worker pool, its results, metrics and callbacks."""

from __future__ import annotations

import threading
import time

import pytest

from yt_study_buddy.models import ResultStatus
from yt_study_buddy.batch.pool import (
    ParallelVideoProcessor,
    ProcessingMetrics,
    ProcessingResult,
)


def sleepy_job(seconds: float = 0.2):
    def job(url: str) -> ProcessingResult:
        time.sleep(seconds)
        success = not url.endswith("fail")
        return ProcessingResult(
            url=url, video_id=url.rsplit("/", 1)[-1], success=success,
            title=f"Video {url}" if success else None,
            error=None if success else "simulated failure",
            duration_seconds=seconds, method="youtube-transcript-api",
        )
    return job


def test_parallel_processor_basic():
    processor = ParallelVideoProcessor(max_workers=2, rate_limit_delay=0)
    urls = [f"https://youtube.com/watch?v=video{i}" for i in range(3)]
    results = processor.process_videos_parallel(urls, sleepy_job(0.05))
    assert [r.url for r in results] == urls  # input order, whatever finished first
    assert all(r.success for r in results)


def test_failures_are_results_not_exceptions():
    def job(url: str) -> ProcessingResult:
        if url == "boom":
            raise RuntimeError("kaput")
        return sleepy_job(0.01)(url)

    results = ParallelVideoProcessor(max_workers=3, rate_limit_delay=0).process_videos_parallel(
        ["a", "boom", "c-fail"], job)
    assert [r.success for r in results] == [True, False, False]
    assert "kaput" in results[1].error and results[1].error_kind == "internal"
    assert results[2].error == "simulated failure"


def test_parallel_faster_than_sequential():
    urls = [f"u{i}" for i in range(8)]
    job = sleepy_job(0.3)
    sequential = 0.3 * len(urls)  # one after another, the sleeps alone take this long
    processor = ParallelVideoProcessor(max_workers=4, rate_limit_delay=0)
    start = time.perf_counter()
    processor.process_videos_parallel(urls, job)
    parallel = time.perf_counter() - start
    # Ideal is 4x (0.6 s); demand only 2x so a loaded 2-core machine still passes.
    assert parallel < sequential / 2, (sequential, parallel)


def test_concurrency_never_exceeds_max_workers():
    lock = threading.Lock()
    running = peak = 0
    # Jobs wait until three run: three at once by design, not by how fast threads start.
    meeting = threading.Barrier(3)

    def job(url: str) -> ProcessingResult:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            meeting.wait(10)
        except threading.BrokenBarrierError:
            pass  # fewer ran at once: the peak tells
        time.sleep(0.01)
        with lock:
            running -= 1
        return ProcessingResult(url, url, True)

    ParallelVideoProcessor(max_workers=3, rate_limit_delay=0).process_videos_parallel(
        [str(i) for i in range(12)], job)
    assert peak == 3


def test_starts_are_spaced_without_blocking_collection():
    starts: list[float] = []
    lock = threading.Lock()

    def job(url: str) -> ProcessingResult:
        with lock:
            starts.append(time.monotonic())
        return ProcessingResult(url, url, True)

    completions: list[float] = []
    processor = ParallelVideoProcessor(
        max_workers=4, rate_limit_delay=0.2,
        progress_callback=lambda s, c, t: completions.append(time.monotonic()))
    begin = time.monotonic()  # no slot can come before this
    processor.process_videos_parallel(["a", "b", "c", "d"], job)
    starts.sort()
    # The k-th job starts at least k delays after the first slot (not "gaps of at
    # least the delay": one job woken late would make the next look too close).
    early = [round(begin + k * 0.2 - t, 3) for k, t in enumerate(starts) if t < begin + k * 0.2]
    assert not early, (early, [round(t - begin, 3) for t in starts])
    # The first result is reported long before the last video even starts.
    assert completions[0] < starts[-1]


def test_progress_callback():
    calls = []
    processor = ParallelVideoProcessor(max_workers=2, rate_limit_delay=0,
                                       progress_callback=lambda *a: calls.append(a))
    processor.process_videos_parallel(["url1", "url2", "url3-fail"], sleepy_job(0.01))
    assert len(calls) == 3
    assert [c[1] for c in calls] == [1, 2, 3]
    assert all(c[2] == 3 for c in calls)
    assert sorted(c[0] for c in calls) == ["failed", "success", "success"]


def test_broken_progress_callback_does_not_break_batch():
    def bad(*_):
        raise ValueError("ui bug")

    results = ParallelVideoProcessor(max_workers=2, rate_limit_delay=0, progress_callback=bad) \
        .process_videos_parallel(["a", "b"], sleepy_job(0.01))
    assert all(r.success for r in results)


def test_fatal_result_stops_the_batch():
    started = []

    def job(url: str) -> ProcessingResult:
        started.append(url)
        if url == "0":
            return ProcessingResult(url, url, False, error="API key rejected", fatal=True)
        time.sleep(0.05)
        return ProcessingResult(url, url, True)

    processor = ParallelVideoProcessor(max_workers=1, rate_limit_delay=0)
    results = processor.process_videos_parallel([str(i) for i in range(6)], job)
    assert started == ["0"]
    assert not any(r.success for r in results)
    assert "API key rejected" in results[3].error
    assert processor.stop_reason.startswith("batch stopped")


@pytest.mark.parametrize("workers", [0, 11, -1])
def test_worker_count_is_validated(workers):
    with pytest.raises(ValueError):
        ParallelVideoProcessor(max_workers=workers)


def test_empty_input():
    assert ParallelVideoProcessor().process_videos_parallel([], sleepy_job()) == []


def test_processing_metrics():
    metrics = ProcessingMetrics()
    for result in [
        ProcessingResult("url1", "id1", True, method="tor", duration_seconds=1.0),
        ProcessingResult("url2", "id2", True, method="yt-dlp", duration_seconds=2.0),
        ProcessingResult("url3", "id3", False, error="Failed", duration_seconds=0.5),
        ProcessingResult("url4", "id4", True, method="a-method-never-seen", duration_seconds=1.5),
        ProcessingResult("url5", "id5", status=ResultStatus.SKIPPED),
    ]:
        metrics.add_result(result)
    assert (metrics.total_videos, metrics.successful, metrics.failed, metrics.skipped) == (5, 3, 1, 1)
    assert metrics.method_counts == {"tor": 1, "yt-dlp": 1, "a-method-never-seen": 1}
    assert metrics.average_time == pytest.approx(5.0 / 4)
    assert metrics.success_rate == pytest.approx(0.8)
    assert any("FAILED id3: Failed" in line for line in metrics.summary_lines())


def test_metrics_never_divide_by_zero(capsys):
    empty = ProcessingMetrics()
    empty.print_summary()
    assert empty.success_rate == 0.0 and empty.average_time == 0.0
    only_failures = ProcessingMetrics()
    only_failures.add_result(ProcessingResult("u", "i", False, error="x"))
    only_failures.print_summary()
    out = capsys.readouterr().out
    assert "Success rate: 0.0%" in out


def test_metrics_keep_rejected_inputs_and_unfinished_videos_apart():
    metrics = ProcessingMetrics()
    for result in [
        ProcessingResult("u1", "id1", True, method="yt-dlp", duration_seconds=2.0),
        ProcessingResult("junk", "invalid", status=ResultStatus.REJECTED, error="not a YouTube link", error_kind="input"),
        ProcessingResult("u2", "id2", False, error="video unavailable", error_kind="unavailable"),
        ProcessingResult("u3", "", status=ResultStatus.CANCELLED, error="interrupted (Ctrl-C)", error_kind="cancelled"),
        ProcessingResult("u4", "id4", status=ResultStatus.CANCELLED, error="interrupted (Ctrl-C)", error_kind="cancelled"),
    ]:
        metrics.add_result(result)
    assert (metrics.total_videos, metrics.successful, metrics.failed, metrics.not_finished) == (4, 1, 1, 2)
    assert [r.url for r in metrics.rejected] == ["junk"]
    assert metrics.success_rate == pytest.approx(0.25)
    lines = metrics.summary_lines()
    assert "Not finished (batch stopped): 2" in lines and "Rejected inputs: 1" in lines
    assert sum("FAILED" in line for line in lines) == 1
    assert any(line.startswith("  REJECTED junk") for line in lines)


def test_stopped_batch_gives_one_reason_for_every_unstarted_video():
    def job(url: str) -> ProcessingResult:
        if url == "0":
            return ProcessingResult(url, url, False, error="API key rejected", fatal=True)
        return ProcessingResult(url, url, True)

    results = ParallelVideoProcessor(max_workers=1, rate_limit_delay=0).process_videos_parallel(
        [str(i) for i in range(5)], job)
    assert {r.error for r in results[1:]} == {"batch stopped: API key rejected"}
    assert all(r.not_finished and r.status is ResultStatus.CANCELLED for r in results[1:])
    assert results[0].status == "failed" and results[1].status == "cancelled"


def test_a_result_has_one_status_and_success_is_derived_from_it():
    result = ProcessingResult("u", "id", False, error="boom")
    assert result.status is ResultStatus.FAILED and not result.success
    result.status = ResultStatus.SKIPPED
    assert result.success and result.skipped and not result.not_finished
    result.success = True  # the spec's flag still sets the one value
    assert result.status is ResultStatus.DONE
    assert ProcessingResult("u", "id", status="cancelled").not_finished
    assert "success" not in {f.name for f in __import__("dataclasses").fields(ProcessingResult)}


def test_token_line_names_no_particular_engine():
    """An OpenAI-compatible server's tokens were summed up as "Claude tokens"."""
    metrics = ProcessingMetrics()
    metrics.add_result(ProcessingResult("u1", "id1", True, usage={"input_tokens": 700, "output_tokens": 150}))
    lines = metrics.summary_lines()
    assert "Model tokens: 700 in, 150 out" in lines and not any("Claude" in line for line in lines)
    metrics.add_result(ProcessingResult("u2", "id2", True, usage={"input_tokens": 1, "cache_read_input_tokens": 9}))
    assert "Model tokens: 701 in, 150 out, 9 read from cache (1% of input)" in metrics.summary_lines()
