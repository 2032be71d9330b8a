"""A batch-wide wait (a rate limit, a Message Batch) shows in the web status line and the terminal."""

from __future__ import annotations

import io
import time

from yt_study_buddy.cli.progress import TerminalProgress
from yt_study_buddy.events import JobEvent, Stage
from yt_study_buddy.sources.inputs import Entry, resolve_sources
from yt_study_buddy.webui.jobs import BatchView


def wait(text, seconds=None, at=None):
    return JobEvent(Stage.WAITING, "", "", None, text, at=time.monotonic() if at is None else at,
                    seconds=seconds)


def test_the_web_status_says_what_the_batch_waits_for_and_how_long():
    sources, rejected = resolve_sources([Entry("https://youtu.be/waitvideo01")])
    view = BatchView()
    view.apply(("resolved", sources, rejected))
    view.apply(("event", wait("waiting for Claude's rate limit", seconds=170)))
    assert view.status_text.endswith("waiting for Claude's rate limit: 3 min")
    view.apply(("event", wait("waiting for Claude's rate limit", seconds=40, at=time.monotonic() - 10)))
    assert view.status_text.endswith("waiting for Claude's rate limit: 30 s")
    view.apply(("event", wait(None)))  # over
    assert "waiting" not in view.status_text
    assert len(view.rows) == 1 and "" not in view.rows  # no row for a batch-wide event


def test_the_terminal_prints_a_wait_once_when_piped():
    out = io.StringIO()
    with TerminalProgress(2, out, live=False) as progress:
        progress.on_event(wait("Message Batch: 0/4 requests done, 0:00 elapsed"))
        progress.on_event(wait("Message Batch: 0/4 requests done, 0:00 elapsed"))
        progress.on_event(wait("waiting for Claude's rate limit", seconds=600))
        progress.on_event(wait(None))
    lines = out.getvalue().splitlines()
    assert lines == ["… Message Batch: 0/4 requests done, 0:00 elapsed",
                     "… waiting for Claude's rate limit: 10 min"]


def test_the_live_view_shows_a_wait_line_and_removes_it():
    out = io.StringIO()
    with TerminalProgress(1, out, live=True) as progress:
        progress.on_event(wait("waiting for Claude's rate limit", seconds=90))
        lines = [task.description.strip() for task in progress._progress.tasks]
        assert lines == ["waiting for Claude's rate limit: 2 min"]
        progress.on_event(wait(None))
        assert not progress._progress.tasks
