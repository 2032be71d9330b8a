"""The batch's workers shared with a long video's parts: free slots only, order kept, failures raised."""

from __future__ import annotations

import threading
import time

import pytest

from yt_study_buddy.batch.fanout import WorkerShare
from yt_study_buddy.errors import Cancelled, ClaudeResponseError


class Gauge:
    """Counts tasks running at once; with ``meet``, tasks wait until that many are running."""

    def __init__(self, meet: int = 0):
        self.now = self.peak = 0
        self.lock = threading.Lock()
        # Tasks that meet are at once by design, not because threads started
        # within a sleep of each other (which a busy machine does not promise).
        self.meeting = threading.Barrier(meet) if meet else None

    def task(self, value, seconds=0.05):
        def run():
            with self.lock:
                self.now += 1
                self.peak = max(self.peak, self.now)
            if self.meeting is not None:
                try:
                    self.meeting.wait(10)
                except threading.BrokenBarrierError:
                    pass  # fewer ran at once: the peak tells
            time.sleep(seconds)
            with self.lock:
                self.now -= 1
            return value
        return run


def test_parts_of_one_video_use_every_free_worker_and_keep_their_order():
    share, gauge = WorkerShare(4), Gauge(meet=4)
    with share.held():
        results = share.run_all([gauge.task(i, 0.01) for i in range(12)])
    assert results == list(range(12))
    assert gauge.peak == 4 and share.peak == 4


def test_with_every_worker_busy_parts_run_in_turn_on_their_own_thread():
    share, gauge = WorkerShare(2), Gauge()
    other_video = threading.Event()
    release = threading.Event()

    def busy():
        with share.held():
            other_video.set()
            release.wait(5)

    thread = threading.Thread(target=busy)
    thread.start()
    other_video.wait(5)
    with share.held():
        assert share.run_all([gauge.task(i, 0.01) for i in range(5)]) == list(range(5))
    release.set()
    thread.join()
    assert gauge.peak == 1 and share.peak == 2


def test_a_waiting_video_gets_the_next_free_slot_before_more_helpers():
    share = WorkerShare(2)
    ran_on: dict[int, threading.Thread] = {}
    helper_busy = threading.Event()

    def part(i):
        def run():
            if threading.current_thread() is not runner:
                helper_busy.set()
            if i < 2:
                # The parts in hand end only once the video waits for a slot, so the
                # helper meets a waiting video however the threads were scheduled.
                deadline = time.monotonic() + 10
                while not share._video_waiting() and time.monotonic() < deadline:
                    time.sleep(0.01)
            time.sleep(0.01)
            ran_on[i] = threading.current_thread()
            return i
        return run

    got_in: list[int] = []
    with share.held():
        runner = threading.Thread(target=share.run_all, args=([part(i) for i in range(8)],))

        def video():
            with share.held():
                got_in.append(len(ran_on))
                runner.join(30)  # keep the slot: no helper may borrow it again

        runner.start()
        assert helper_busy.wait(10), "no helper borrowed the free slot"
        waiting = threading.Thread(target=video)
        waiting.start()
        waiting.join(60)
    # The helper wrote the one part it had in hand and gave its slot to the video;
    # every other part ran on the video's own (runner) thread.
    helpers = [i for i, thread in sorted(ran_on.items()) if thread is not runner]
    assert len(ran_on) == 8 and len(helpers) == 1, helpers
    assert got_in and got_in[0] < 8, "the video waited for all eight parts"
    assert share.peak == 2


def test_the_earliest_failure_is_raised_after_running_parts_finish_and_no_new_part_starts():
    share = WorkerShare(3)
    ran = []

    def failing():
        time.sleep(0.02)
        raise ClaudeResponseError("part 2 failed")

    def record(i):
        def run():
            ran.append(i)
            time.sleep(0.05)
            return i
        return run

    tasks = [record(0), failing, record(2)] + [record(i) for i in range(3, 20)]
    with pytest.raises(ClaudeResponseError, match="part 2 failed"):
        with share.held():
            share.run_all(tasks)
    assert len(ran) < 10
    with share.held(), share.held(), share.held():
        pass  # every slot was given back


def test_cancel_stops_starting_parts():
    share, cancel = WorkerShare(2), threading.Event()

    def stop_after(i):
        def run():
            cancel.set()
            return i
        return run

    with pytest.raises(Cancelled):
        share.run_all([stop_after(0), stop_after(1), stop_after(2), stop_after(3)], cancel)


def test_waiting_for_a_slot_ends_on_cancel():
    share, cancel = WorkerShare(1), threading.Event()
    with share.held():
        cancel.set()
        with pytest.raises(Cancelled):
            with share.held(cancel):
                pass
