"""The spec's public module: re-exports the worker pool from ``yt_study_buddy.batch.pool``."""

from yt_study_buddy.batch.pool import (  # noqa: F401
    MAX_WORKERS,
    MIN_WORKERS,
    ParallelVideoProcessor,
    ProcessingMetrics,
    ProcessingResult,
)

__all__ = ["ParallelVideoProcessor", "ProcessingResult", "ProcessingMetrics", "MAX_WORKERS", "MIN_WORKERS"]
