"""Stage batch: the batch's workers shared with the parts of a long video.

``-w N`` means at most N things at once. Each running video holds one of N
slots for as long as it runs; a long lecture's parts run on its own thread
and, besides it, on helper threads that borrow slots no video is using (a
batch of one long video at ``-w 4`` writes four parts at once; a full batch
writes each video's parts in turn on its own thread). A helper gives its slot
back after the part it is writing whenever a video is waiting to start.
"""

from __future__ import annotations

import threading
from collections import deque
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence, TypeVar

from yt_study_buddy.errors import Cancelled

__all__ = ["WorkerShare"]

T = TypeVar("T")


class WorkerShare:
    """N worker slots: videos hold one each, a long video's parts borrow the free ones."""

    def __init__(self, workers: int, cancel: threading.Event | None = None):
        self.workers = max(1, int(workers))
        #: the batch's stop signal: no new part starts once it is set
        self.cancel = cancel
        self._free = self.workers
        self._waiting = 0
        self._cond = threading.Condition()
        #: most slots in use at once (videos and helpers), for tests and benchmarks
        self.peak = 0

    def _take(self) -> None:
        self._free -= 1
        self.peak = max(self.peak, self.workers - self._free)

    @contextmanager
    def held(self, cancel: threading.Event | None = None) -> Iterator[None]:
        """Hold one slot while a video runs (waiting for a helper to give one back)."""
        with self._cond:
            self._waiting += 1
            try:
                while self._free <= 0:
                    if cancel is not None and cancel.is_set():
                        raise Cancelled("the batch was interrupted")
                    self._cond.wait(0.5)
                self._take()
            finally:
                self._waiting -= 1
        try:
            yield
        finally:
            self._give_back()

    def _borrow(self) -> bool:
        with self._cond:
            if self._free <= 0 or self._waiting:
                return False
            self._take()
            return True

    def _give_back(self) -> None:
        with self._cond:
            self._free += 1
            self._cond.notify_all()

    def _video_waiting(self) -> bool:
        with self._cond:
            return self._waiting > 0

    def run_all(self, tasks: Sequence[Callable[[], T]], cancel: threading.Event | None = None) -> list[T]:
        """Run tasks on this thread and on helpers with borrowed slots; return their results in order.

        After a task fails no new one starts; the running ones finish, then the
        failure of the earliest task is raised.
        """
        cancel = cancel if cancel is not None else self.cancel
        queue: deque[tuple[int, Callable[[], T]]] = deque(enumerate(tasks))
        results: dict[int, T] = {}
        errors: dict[int, BaseException] = {}
        lock = threading.Lock()
        stop = threading.Event()
        helpers: list[threading.Thread] = []

        def next_task() -> tuple[int, Callable[[], T]] | None:
            with lock:
                if stop.is_set() or (cancel is not None and cancel.is_set()) or not queue:
                    return None
                return queue.popleft()

        def work(borrowed: bool) -> None:
            try:
                while (item := next_task()) is not None:
                    index, task = item
                    try:
                        value = task()
                    except BaseException as exc:  # noqa: BLE001 - handed to the owner, raised there
                        with lock:
                            errors[index] = exc
                        stop.set()
                        return
                    with lock:
                        results[index] = value
                    if borrowed and self._video_waiting():
                        return  # a video is waiting for a slot: it goes first
            finally:
                if borrowed:
                    self._give_back()

        try:
            while True:
                with lock:
                    waiting = len(queue)
                running = sum(1 for h in helpers if h.is_alive())
                # One helper per task still queued beyond the one this thread takes next.
                while waiting - 1 > running and self._borrow():
                    helper = threading.Thread(target=work, args=(True,), name="video-part", daemon=True)
                    helper.start()
                    helpers.append(helper)
                    running += 1
                item = next_task()
                if item is None:
                    break
                index, task = item
                try:
                    results[index] = task()
                except BaseException as exc:  # noqa: BLE001 - raised below, once helpers stopped
                    with lock:
                        errors[index] = exc
                    stop.set()
                    break
        finally:
            stop.set()  # helpers finish the part in hand and take no more
            for helper in helpers:
                helper.join()
        if errors:
            raise errors[min(errors)]
        if len(results) < len(tasks):
            raise Cancelled("the batch was interrupted")
        return [results[i] for i in range(len(tasks))]
