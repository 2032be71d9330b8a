"""Stage cli: the command line, a thin shell over the library API (``yt_study_buddy.cli:main``)."""

from __future__ import annotations

import os
import sys
from typing import Any, Sequence

__all__ = ["main", "build_parser"]

INTERRUPTED = "\nInterrupted: finished notes are kept; re-run to do the rest."


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``youtube-study-buddy`` and return its exit code; no way out of it is a traceback.

    Ctrl-C, SIGTERM or SIGHUP anywhere exit 1; a project error no branch of the
    command caught is its message (exit 2 for a usage error); a reader that left
    the pipe (``| head``) ends the output quietly.
    """
    from yt_study_buddy.cli.signals import stop_on_signals
    from yt_study_buddy.errors import InputError, StudyBuddyError

    try:
        with stop_on_signals():
            # Imported inside: Ctrl-C while the command's libraries load is no traceback either.
            from yt_study_buddy.cli.command import main as run

            return run(argv)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 1
    except StudyBuddyError as exc:
        print(f"youtube-study-buddy: error: {exc.reason}", file=sys.stderr)
        return 2 if isinstance(exc, InputError) else 1
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def __getattr__(name: str) -> Any:
    if name == "build_parser":  # without importing the command when the package is imported
        from yt_study_buddy.cli.command import build_parser

        return build_parser
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
