"""The terminal progress names a long lecture's parts as they are written."""

from __future__ import annotations

import io

from yt_study_buddy.cli.progress import TerminalProgress
from yt_study_buddy.events import JobEvent, Stage


def test_a_long_lectures_line_counts_its_parts():
    with TerminalProgress(total=1, stream=io.StringIO(), live=True) as progress:
        url = "https://youtu.be/longvideo01"
        progress.on_event(JobEvent(Stage.FETCHED, "longvideo01", url, "Three Hours"))
        progress.on_event(JobEvent(Stage.PART, "longvideo01", url, "Three Hours", "part 3 of 12"))
        lines = [task.description for task in progress._progress.tasks]
    assert lines == ["  Three Hours · writing notes, part 3 of 12"]
