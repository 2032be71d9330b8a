"""youtube-study-buddy: turn YouTube videos into Obsidian study notes.

The library API the CLI and the Streamlit app are built on. Its names load on
first use (PEP 562), so importing the package (the console script does) costs
nothing and a Ctrl-C at start-up lands in the command's own handler.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.2.0"

_EXPORTS = {
    "YouTubeStudyNotes": "yt_study_buddy.app",
    "BatchReport": "yt_study_buddy.app",
    "ParallelVideoProcessor": "yt_study_buddy.batch.pool",
    "ProcessingMetrics": "yt_study_buddy.batch.pool",
    "ProcessingResult": "yt_study_buddy.models",
    "ResultStatus": "yt_study_buddy.models",
    "ServiceLimits": "yt_study_buddy.batch.limits",
    "StudyBuddyError": "yt_study_buddy.errors",
    "JobEvent": "yt_study_buddy.events",
    "Stage": "yt_study_buddy.events",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
