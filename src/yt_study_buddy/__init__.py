"""youtube-study-buddy: turn YouTube videos into Obsidian study notes.

The library API the CLI and the Streamlit app are built on.
"""

__version__ = "0.1.0"

from .app import BatchReport, YouTubeStudyNotes
from .errors import StudyBuddyError
from .events import JobEvent, Stage
from .limits import ServiceLimits
from .parallel_processor import ParallelVideoProcessor, ProcessingMetrics, ProcessingResult

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
