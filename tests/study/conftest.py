"""A vault of the bundled example lectures, written by the offline engine (no network)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from yt_study_buddy.app import YouTubeStudyNotes

REPO = Path(__file__).resolve().parents[2]


def build_vault(root: Path, *, force: bool = False) -> Path:
    """Process examples/lectures.txt into root with the offline engine; return root."""
    app = YouTubeStudyNotes(base_dir=root, engine="offline", force=force)
    try:
        report = app.process_urls([], file=REPO / "examples" / "lectures.txt")
    finally:
        app.close()
    assert report.ok, [r.error for r in report.results]
    return root


@pytest.fixture(scope="session")
def _example_vault(tmp_path_factory) -> Path:
    return build_vault(tmp_path_factory.mktemp("examples") / "notes")


@pytest.fixture
def example_vault(_example_vault, tmp_path) -> Path:
    """A fresh copy of the example vault for one test."""
    target = tmp_path / "notes"
    shutil.copytree(_example_vault, target)
    return target
