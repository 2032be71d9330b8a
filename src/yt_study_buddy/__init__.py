"""youtube-study-buddy: turn YouTube videos into Obsidian study notes.

The library API the CLI and the Streamlit app are built on.
"""

__version__ = "0.1.0"

from yt_study_buddy.app import BatchReport, YouTubeStudyNotes
from yt_study_buddy.errors import StudyBuddyError
from yt_study_buddy.events import JobEvent, Stage
from yt_study_buddy.batch.limits import ServiceLimits
from yt_study_buddy.batch.pool import ParallelVideoProcessor, ProcessingMetrics, ProcessingResult

__all__ = [
    "__version__",
    "YouTubeStudyNotes",
    "BatchReport",
    "ParallelVideoProcessor",
    "ProcessingResult",
    "ProcessingMetrics",
    "ServiceLimits",
    "StudyBuddyError",
    "JobEvent",
    "Stage",
]
