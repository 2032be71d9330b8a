"""Stage batch: parallel video processing for batches of URLs.

A thread pool runs one job per video. Threads suit the work: it waits on
YouTube and Claude, not the CPU. What keeps the batch polite lives in the
job itself (per-service limits shared by the workers, see ``limits.py``), so
the submit loop never sleeps and results are collected as soon as they land.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Callable, Sequence, TextIO

from yt_study_buddy.config import redact
from yt_study_buddy.errors import Cancelled
from yt_study_buddy.models import ProcessingResult, ResultStatus
from yt_study_buddy.batch.fanout import WorkerShare
from yt_study_buddy.batch.limits import StartSpacer

__all__ = [
    "ProcessingResult",
    "ProcessingMetrics",
    "ParallelVideoProcessor",
    "ProgressCallback",
    "ResultCallback",
    "MIN_WORKERS",
    "MAX_WORKERS",
    "check_workers",
]

log = logging.getLogger(__name__)

MIN_WORKERS = 1
MAX_WORKERS = 10
NOT_STARTED = "not started: the batch was stopped"

ProgressCallback = Callable[[str, int, int], None]


def check_workers(value: int) -> int:
    """The worker count as an int; ValueError naming the allowed range when it is outside it."""
    if not MIN_WORKERS <= int(value) <= MAX_WORKERS:
        raise ValueError(f"workers must be between {MIN_WORKERS} and {MAX_WORKERS}, got {value}")
    return int(value)


def _callback_status(result: ProcessingResult) -> str:
    # The spec's progress callback says "success" for a video just done.
    return "success" if result.status is ResultStatus.DONE else result.status.value


ResultCallback = Callable[[ProcessingResult, int, int], None]


class ProcessingMetrics:
    """Track metrics across parallel processing runs."""

    def __init__(self) -> None:
        self.total_videos = 0
        self.successful = 0
        self.failed = 0
        self.skipped = 0
        self.not_finished = 0
        self.rejected: list[ProcessingResult] = []
        self.total_time = 0.0
        self.wall_time = 0.0
        self.method_counts: dict[str, int] = {}
        self.failures: list[ProcessingResult] = []
        self.usage: dict[str, int] = {}
        #: estimated dollars of the priced videos, and the models that had no price
        self.cost_usd = 0.0
        self.unpriced_models: set[str] = set()
        #: set by the app: the date of the prices, and whether the Message Batches API was used
        self.prices_as_of: str | None = None
        self.batch_api = False
        self._lock = threading.Lock()

    def add_result(self, result: ProcessingResult) -> None:
        """Add a processing result to metrics."""
        with self._lock:
            if result.rejected:
                # Not a video at all: listed, but kept out of the totals and the rate.
                self.rejected.append(result)
                return
            self.total_videos += 1
            self.total_time += result.duration_seconds
            if result.skipped:
                self.skipped += 1
                return
            if result.not_finished:
                self.not_finished += 1
            elif result.success:
                self.successful += 1
                if result.method:
                    # Methods not known in advance (a new fallback, 'cache') count too.
                    self.method_counts[result.method] = self.method_counts.get(result.method, 0) + 1
            else:
                self.failed += 1
                self.failures.append(result)
            for key, value in result.usage.items():
                self.usage[key] = self.usage.get(key, 0) + int(value)
            if result.cost_usd is not None:
                self.cost_usd += result.cost_usd
            elif any(result.usage.values()):
                self.unpriced_models.add(result.model or "unknown")

    @property
    def success_rate(self) -> float:
        """Share of videos done (processed now or earlier), 0.0 when there were none."""
        if not self.total_videos:
            return 0.0
        return (self.successful + self.skipped) / self.total_videos

    @property
    def average_time(self) -> float:
        """Mean seconds per processed video, 0.0 when there were none."""
        processed = self.total_videos - self.skipped - self.not_finished
        return self.total_time / processed if processed > 0 else 0.0

    @property
    def cache_read_share(self) -> float:
        """Share of all input tokens read from the prompt cache (0.0 when none)."""
        read = self.usage.get("cache_read_input_tokens", 0)
        total = read + self.usage.get("input_tokens", 0) + self.usage.get("cache_creation_input_tokens", 0)
        return read / total if total else 0.0

    def usage_lines(self) -> list[str]:
        """Tokens by kind, the cache-read share and the estimated cost ([] when no model was paid)."""
        u = self.usage
        if not any(u.get(k) for k in ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                                      "cache_read_input_tokens")):
            return []
        # Any engine's tokens (Claude, an OpenAI-compatible server): the engine is named above.
        parts = [f"{u.get('input_tokens', 0):,} in", f"{u.get('output_tokens', 0):,} out"]
        if u.get("cache_creation_input_tokens"):
            parts.append(f"{u['cache_creation_input_tokens']:,} written to cache")
        if u.get("cache_read_input_tokens"):
            parts.append(f"{u['cache_read_input_tokens']:,} read from cache "
                         f"({self.cache_read_share * 100:.0f}% of input)")
        lines = ["Model tokens: " + ", ".join(parts)]
        if self.cost_usd or not self.unpriced_models:
            notes = [f"prices as of {self.prices_as_of}"] if self.prices_as_of else []
            if self.batch_api:
                notes.append("Message Batches API at half price")
            lines.append(f"Estimated cost: ${self.cost_usd:.4f}" + (f" ({'; '.join(notes)})" if notes else ""))
        for model in sorted(self.unpriced_models):
            lines.append(f"No price known for model {model}: tokens only "
                         "(add its price in a file named by YT_STUDY_BUDDY_PRICES)")
        return lines

    def summary_lines(self) -> list[str]:
        """Human-readable summary, one line per fact."""
        lines = [
            f"Total videos: {self.total_videos}",
            f"Succeeded: {self.successful}"
            + (f"  (already done, skipped: {self.skipped})" if self.skipped else ""),
            f"Failed: {self.failed}",
        ]
        if self.not_finished:
            lines.append(f"Not finished (batch stopped): {self.not_finished}")
        if self.rejected:
            lines.append(f"Rejected inputs: {len(self.rejected)}")
        lines.append(f"Success rate: {self.success_rate * 100:.1f}%")
        if self.method_counts:
            lines.append("Transcript methods:")
            for method, count in sorted(self.method_counts.items()):
                share = count / self.successful * 100 if self.successful else 0.0
                lines.append(f"  {method}: {count} ({share:.0f}%)")
        if self.average_time:
            digits = 1 if self.average_time >= 1 else 2
            lines.append(f"Average time per video: {self.average_time:.{digits}f}s")
        if self.wall_time:
            lines.append(f"Wall time: {self.wall_time:.1f}s")
        lines += self.usage_lines()
        for failure in self.failures:
            hint = " (retryable)" if failure.retryable else ""
            lines.append(f"  FAILED {failure.title or failure.video_id or failure.url}: {failure.error}{hint}")
        for item in self.rejected:
            lines.append(f"  REJECTED {item.url}: {item.error}")
        return lines

    def print_summary(self, file: TextIO | None = None) -> None:
        """Print metrics summary."""
        import sys

        out = file or sys.stdout
        bar = "=" * 50
        print(f"\n{bar}\nPROCESSING METRICS\n{bar}", file=out)
        for line in self.summary_lines():
            print(line, file=out)
        print(bar, file=out)


class ParallelVideoProcessor:
    """Process multiple YouTube videos concurrently."""

    def __init__(
        self,
        max_workers: int = 3,
        rate_limit_delay: float = 1.0,
        progress_callback: ProgressCallback | None = None,
        result_callback: ResultCallback | None = None,
        cancel_event: threading.Event | None = None,
    ):
        check_workers(max_workers)
        if rate_limit_delay < 0:
            raise ValueError("rate_limit_delay must be >= 0")
        self.max_workers = int(max_workers)
        self.rate_limit_delay = rate_limit_delay
        self.progress_callback = progress_callback
        self.result_callback = result_callback
        self.cancel_event = cancel_event or threading.Event()
        self.interrupted = False
        self.stop_reason: str | None = None
        #: the workers as slots: each running video holds one, a long video's parts borrow the free ones
        self.share = WorkerShare(self.max_workers, self.cancel_event)

    def _stop(self, reason: str) -> None:
        # Set in the worker itself, so no other job starts in between
        # (e.g. a rejected API key: every other job would fail the same way).
        if not self.cancel_event.is_set():
            self.stop_reason = reason
            self.cancel_event.set()

    def _notify(self, result: ProcessingResult, completed: int, total: int) -> None:
        # Front-end callbacks run on the collecting thread; a bug in them
        # is logged and never fails the batch.
        for callback, args in (
            (self.progress_callback, (_callback_status(result), completed, total)),
            (self.result_callback, (result, completed, total)),
        ):
            if callback is None:
                continue
            try:
                callback(*args)
            except Exception:  # noqa: BLE001
                log.warning("progress callback failed", exc_info=True)

    def process_videos_parallel(
        self,
        urls: Sequence[str],
        process_func: Callable[[str], ProcessingResult],
        *,
        space_starts: bool = True,
        workers: int | None = None,
    ) -> list[ProcessingResult]:
        """Run process_func on every URL in a thread pool; return results in input order.

        ``workers`` overrides ``max_workers`` for this run (jobs that mostly wait,
        e.g. on Message Batches, may run many at once).
        With ``space_starts`` the starts of jobs are spaced by ``rate_limit_delay``
        inside the workers (never in the submit loop). Callers whose jobs
        space their own network work (``YouTubeStudyNotes``) pass False.
        """
        urls = list(urls)
        if not urls:
            return []
        self.interrupted = False
        self.stop_reason = None
        spacer = StartSpacer(self.rate_limit_delay if space_starts else 0.0)
        cancel = self.cancel_event
        shared = self.share
        if workers and workers != shared.workers:
            self.share = WorkerShare(workers, cancel)  # this run's slots; the usual ones come back after
        total = len(urls)
        results: dict[int, ProcessingResult] = {}
        completed = 0

        def run(url: str) -> ProcessingResult:
            spacer.wait(cancel)
            if cancel.is_set():
                raise Cancelled(self.stop_reason or NOT_STARTED)
            with self.share.held(cancel):
                result = process_func(url)
            if result.fatal:
                self._stop(f"batch stopped: {result.error}")
            return result

        executor = ThreadPoolExecutor(max_workers=max(1, workers or self.max_workers), thread_name_prefix="video")
        futures: dict[Future, int] = {}
        grace: float | None = None
        try:
            # Finished futures arrive on a queue (constant work per video; waiting on every
            # pending future each round grew with the square of the batch). The timeout
            # keeps the main thread waking up, so Ctrl-C is handled promptly.
            finished: queue.SimpleQueue[Future] = queue.SimpleQueue()
            for i, url in enumerate(urls):
                future = executor.submit(run, url)
                futures[future] = i
                future.add_done_callback(finished.put)
            while completed < total:
                try:
                    future = finished.get(timeout=0.5)
                except queue.Empty:
                    continue
                index = futures[future]
                result = self._result_of(future, urls[index])
                results[index] = result
                completed += 1
                self._notify(result, completed, total)
        except KeyboardInterrupt as exc:
            # Ctrl-C, or SIGTERM/SIGHUP turned into one by the front end (StopRequested).
            self.interrupted = True
            self._stop(getattr(exc, "reason", "interrupted (Ctrl-C)"))
            grace = getattr(exc, "grace", None)
            running = sum(1 for f in futures if f.running())
            if running:
                log.warning("stopping: letting %d running video(s) finish; press Ctrl-C again to quit now",
                            running)
        finally:
            # Not-yet-started jobs are cancelled; running ones see the cancel
            # event at their next checkpoint and finish quickly.
            try:
                if grace is None:
                    executor.shutdown(wait=True, cancel_futures=True)
                else:
                    # A service manager kills us soon after SIGTERM: give running steps
                    # `grace` seconds, then abandon them so the summary still gets out.
                    executor.shutdown(wait=False, cancel_futures=True)
                    wait(list(futures), timeout=grace)
            except KeyboardInterrupt:
                # A second Ctrl-C: stop waiting; what is still running is abandoned.
                self.interrupted = True
                self._stop("interrupted (Ctrl-C)")
                executor.shutdown(wait=False, cancel_futures=True)
            finally:
                self.share = shared
        for future, index in futures.items():
            if index in results:
                continue
            if not future.done():
                results[index] = self._cancelled_result(urls[index])
                results[index].error = f"abandoned while running ({self.stop_reason or 'stopped'})"
            else:
                results[index] = self._result_of(future, urls[index])
            completed += 1
            self._notify(results[index], completed, total)
        for index, url in enumerate(urls):
            if index not in results:  # never submitted
                results[index] = self._cancelled_result(url)
        return [results[i] for i in range(total)]

    def _cancelled_result(self, url: str) -> ProcessingResult:
        return ProcessingResult(
            url=url, video_id="", status=ResultStatus.CANCELLED, retryable=True, error_kind="cancelled",
            error=self.stop_reason or NOT_STARTED,
        )

    def _result_of(self, future: Future, url: str) -> ProcessingResult:
        if future.cancelled():
            return self._cancelled_result(url)
        try:
            return future.result()
        except Cancelled:
            return self._cancelled_result(url)
        except Exception as exc:  # noqa: BLE001 - one broken job must not sink the batch
            log.error("unexpected error processing %s", url, exc_info=True)
            return ProcessingResult(url=url, video_id="", success=False,
                                    error=redact(f"unexpected error: {type(exc).__name__}: {exc}"),
                                    error_kind="internal")

