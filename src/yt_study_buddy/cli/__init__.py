"""Stage cli: the command line, a thin shell over the library API (``yt_study_buddy.cli:main``)."""

from yt_study_buddy.cli.command import build_parser, main

__all__ = ["main", "build_parser"]
