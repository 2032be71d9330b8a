"""Shared limiters: spacing, shared backoff, circuit breaker, adaptive concurrency."""

from __future__ import annotations

import threading
import time

import pytest

from yt_study_buddy.errors import Cancelled
from yt_study_buddy.batch.limits import AdaptiveLimiter, CircuitBreaker, SharedBackoff, StartSpacer


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_spacer_spaces_threads_apart():
    spacer = StartSpacer(0.15)
    stamps = []
    lock = threading.Lock()

    def go():
        spacer.wait()
        with lock:
            stamps.append(time.monotonic())

    threads = [threading.Thread(target=go) for _ in range(5)]
    begin = time.monotonic()  # no slot can come before this
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    # The k-th caller through is at least k intervals after the first slot. (Gaps
    # between stamps are not the measure: a thread woken late on a busy machine
    # stamps late, and the next one, on time, then looks too close to it.)
    early = [round(begin + k * 0.15 - t, 3) for k, t in enumerate(stamps) if t < begin + k * 0.15]
    assert not early, (early, [round(t - begin, 3) for t in stamps])


def test_spacer_zero_is_off_and_negative_rejected():
    assert StartSpacer(0).wait() == 0.0
    with pytest.raises(ValueError):
        StartSpacer(-1)


def test_spacer_wait_is_cancellable():
    spacer = StartSpacer(30)
    spacer.wait()
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    start = time.monotonic()
    with pytest.raises(Cancelled):
        spacer.wait(cancel)
    assert time.monotonic() - start < 5


def test_shared_backoff_holds_every_waiter():
    backoff = SharedBackoff()
    backoff.pause_for(0.3)
    waited = []

    def go():
        waited.append(backoff.wait())

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(waited) == 3 and all(w >= 0.2 for w in waited)
    assert backoff.remaining == 0


def test_shared_backoff_keeps_the_longest_pause_and_caps_it():
    clock = FakeClock()
    backoff = SharedBackoff(clock=clock, max_pause=60)
    backoff.pause_for(10)
    backoff.pause_for(2)
    assert backoff.remaining == pytest.approx(10)
    backoff.pause_for(10_000)
    assert backoff.remaining == pytest.approx(60)


def test_circuit_breaker_grows_and_resets():
    clock = FakeClock()
    breaker = CircuitBreaker(base_cooldown=5, max_cooldown=30, clock=clock)
    assert not breaker.is_open
    cooldowns = []
    for _ in range(4):
        cooldowns.append(breaker.record_failure())
        assert breaker.is_open
        clock.now += cooldowns[-1]  # the window passes; the retry is blocked again
    assert cooldowns == [5, 10, 20, 30]  # doubling, capped
    breaker.record_success()
    clock.now += 100
    assert not breaker.is_open
    assert breaker.record_failure() == 5
    clock.now += 5
    assert breaker.record_failure(retry_after=25) == 25


def test_simultaneous_blocks_are_one_trip():
    """Three workers blocked at once open one cool-down window, not three doublings."""
    clock = FakeClock()
    breaker = CircuitBreaker(base_cooldown=30, max_cooldown=600, clock=clock)
    assert [breaker.record_failure() for _ in range(3)] == [30, 30, 30]
    assert breaker.trips == 1
    assert breaker.remaining == pytest.approx(30)
    clock.now += 10  # a request that was in flight comes back blocked inside the window
    assert breaker.record_failure() == pytest.approx(20)
    assert breaker.trips == 1
    clock.now += 20  # the window is over: the next block is a new trip and doubles
    assert breaker.record_failure() == 60
    assert breaker.trips == 2


def test_adaptive_limiter_cuts_to_what_got_through_and_grows_back():
    limiter = AdaptiveLimiter(8, grow_after=3)
    for _ in range(3):
        limiter.acquire()
    limiter.record_overload()  # the third call got a 429: two were fine
    assert limiter.limit == 2
    for _ in range(3):
        limiter.release()
    for _ in range(3):
        limiter.record_success()
    assert limiter.limit == 3


def test_adaptive_limiter_bounds_concurrency():
    limiter = AdaptiveLimiter(2)
    running = peak = 0
    lock = threading.Lock()
    meeting = threading.Barrier(2)  # two at once by design, not by how fast threads start

    def go():
        nonlocal running, peak
        with limiter:
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

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2


def test_claude_slot_wait_ends_on_cancel():
    from yt_study_buddy.notes.claude import ClaudeEngine
    from yt_study_buddy.batch.limits import ServiceLimits

    limits = ServiceLimits(claude_concurrency=1)
    engine = ClaudeEngine(api_key="sk-ant-unused-key-000000", base_url="http://127.0.0.1:9", limits=limits)
    from yt_study_buddy.models import Segment, Transcript, VideoMeta

    limits.claude_slots.acquire()  # every slot taken
    threading.Timer(0.2, limits.cancel.set).start()
    start = time.monotonic()
    with pytest.raises(Cancelled):
        # Waits for a slot (nothing is sent: port 9 would refuse) until the cancel.
        engine.generate_notes(VideoMeta("x" * 11, "T"), Transcript("x" * 11, [Segment(0, 1, "hello")]))
    assert time.monotonic() - start < 5
