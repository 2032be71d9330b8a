"""Stage cli: command line: parse flags, show progress, print the summary. No pipeline logic here.

Exit codes: 0 every video done, 1 at least one failed (or interrupted),
2 usage error (bad flag value, missing file, no input at all).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import threading
from typing import Sequence

from yt_study_buddy import __version__  # noqa: I001
from yt_study_buddy.app import YouTubeStudyNotes
from yt_study_buddy.errors import InputError, StudyBuddyError
from yt_study_buddy.batch.pool import (
    MAX_WORKERS,
    MIN_WORKERS,
    ParallelVideoProcessor,
    ProcessingMetrics,
    ProcessingResult,
)

__all__ = ["main", "build_parser", "YouTubeStudyNotes", "ParallelVideoProcessor",
           "ProcessingResult", "ProcessingMetrics"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

DESCRIPTION = "YouTube Study Buddy: turn YouTube videos and lecture captions into Obsidian study notes."

EPILOG = """\
examples:
  youtube-study-buddy https://youtu.be/VIDEO_ID                 one video
  youtube-study-buddy --file examples/lectures.txt              offline demo (bundled lectures)
  youtube-study-buddy -p --file urls.txt                        parallel, 3 workers
  youtube-study-buddy -p -w 5 --file playlist.txt               parallel, 5 workers
  youtube-study-buddy "https://www.youtube.com/playlist?list=ID" -p
  youtube-study-buddy --retry-failed                            redo failed, retryable jobs
  youtube-study-buddy -o notes --anki flashcards.apkg           export the vault's flashcards to Anki
  youtube-study-buddy --doctor                                  check this machine when runs fail
  youtube-study-buddy --engine openai --base-url http://localhost:11434/v1 --model llama3.2 URL
                                                                a local model through Ollama

inputs: watch?v=, youtu.be/, shorts/, live/, embed/, /v/ links (www, m., music.),
  bare 11-character ids, playlist links, and .vtt/.srt/.txt caption files.

performance (measured by scripts/bench_parallel.py on a 2-core machine: 12 videos,
  fake YouTube 0.1 s/request, fake Claude 2.5 s/call, --delay 0.25):
  1 worker 98.6 s; -w 3: 33.1 s (2.98x); -w 6: 18.3 s (5.40x).
  More workers risk YouTube rate limits; 3-5 is a good balance.

environment: ANTHROPIC_API_KEY (or CLAUDE_API_KEY), ANTHROPIC_BASE_URL,
  YT_STUDY_BUDDY_MODEL (or CLAUDE_MODEL), OPENAI_BASE_URL, OPENAI_API_KEY,
  YT_STUDY_BUDDY_OPENAI_MODEL (or OPENAI_MODEL),
  YT_STUDY_BUDDY_CONTEXT_TOKENS, YT_STUDY_BUDDY_YOUTUBE_URL, TOR_CONTROL_PASSWORD,
  YT_STUDY_BUDDY_PRICES, YT_STUDY_BUDDY_CLAUDE_PACING;
  a .env file in the working directory is read too.

exit codes: 0 all done, 1 some video failed or interrupted, 2 usage error.
For the web app: streamlit run streamlit_app.py
"""


def _ranged(convert, low: float, high: float, noun: str, range_text: str):
    """Make an argparse type: a number of `convert` between low and high."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{range_text}, got {text}")
        return value

    return parse


_workers = _ranged(int, MIN_WORKERS, MAX_WORKERS, "a whole number",
                   f"must be between {MIN_WORKERS} and {MAX_WORKERS}")
_delay = _ranged(float, 0, 600, "a number of seconds", "must be between 0 and 600 seconds")
_port = _ranged(int, 1, 65535, "a port number", "port out of range")
_budget = _ranged(float, 0.0001, 1_000_000, "an amount in US dollars", "must be more than 0 US dollars")


def _languages(text: str) -> list[str]:
    codes = [c.strip() for c in text.split(",") if c.strip()]
    if not codes or any(not c.replace("-", "").isalnum() or len(c) > 12 for c in codes):
        raise argparse.ArgumentTypeError(f"expected language codes like 'en' or 'en,de', got {text!r}")
    return codes


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (its help is the CLI reference)."""
    p = argparse.ArgumentParser(prog="youtube-study-buddy", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("urls", nargs="*", metavar="URL", help="YouTube links, video ids, playlists or caption files")
    p.add_argument("--file", "-f", metavar="FILE", help="read entries from FILE, one per line (# comments ok)")
    p.add_argument("-o", "--output", default="notes", metavar="DIR", help="vault folder (default: ./notes)")
    g = p.add_argument_group("processing")
    g.add_argument("--parallel", "-p", action="store_true", help="enable parallel processing (faster for batches)")
    g.add_argument("--workers", "-w", type=_workers, default=3, metavar="N",
                   help=f"number of parallel workers, {MIN_WORKERS}-{MAX_WORKERS} (default: 3)")
    g.add_argument("--delay", type=_delay, default=1.0, metavar="SECONDS",
                   help="minimum spacing between videos' YouTube requests across workers, also yt-dlp's "
                        "sleep between its requests (default: 1.0; 0 = off)")
    g.add_argument("--lang", type=_languages, default=["en"], metavar="CODES",
                   help="caption language preference, comma-separated (default: en)")
    g.add_argument("--engine", choices=["auto", "claude", "openai", "offline"], default="auto",
                   help="note engine: claude, openai (any OpenAI-compatible server: Ollama, LM Studio, "
                        "vLLM, llama.cpp, OpenAI), offline (no LLM), or auto = claude when a key is set, "
                        "else openai when --base-url or $OPENAI_BASE_URL is set, else offline")
    g.add_argument("--model", metavar="NAME",
                   help="model name (claude: $YT_STUDY_BUDDY_MODEL or a current Sonnet; openai: "
                        "$YT_STUDY_BUDDY_OPENAI_MODEL, else the server's only model)")
    g.add_argument("--base-url", metavar="URL",
                   help="OpenAI-compatible server for --engine openai, e.g. http://localhost:11434/v1 "
                        "for Ollama (default: $OPENAI_BASE_URL, else OpenAI's API)")
    g.add_argument("--budget", type=_budget, metavar="USD",
                   help="stop starting new videos once the batch's estimated Claude spend would pass USD")
    g.add_argument("--batch-api", action="store_true",
                   help="send Claude calls through the Message Batches API: half price, results within "
                        "minutes to hours; a re-run resumes unfinished batches")
    g.add_argument("--force", action="store_true",
                   help="re-process videos that already have notes; also lets -o name a folder holding other vaults")
    g.add_argument("--retry-failed", action="store_true", help="re-process failed, retryable jobs from the job log")
    g.add_argument("--relink", action="store_true",
                   help="re-link every note of the vault, not only what changed (alone: just re-link)")
    g = p.add_argument_group("notes")
    g.add_argument("--subject", metavar="NAME", help="put notes in this subject folder")
    g.add_argument("--subject-only", action="store_true", help="cross-reference only within the subject")
    g.add_argument("--no-assessments", action="store_true", help="do not generate assessments")
    g.add_argument("--no-auto-categorize", action="store_true", help="do not choose subject folders automatically")
    g = p.add_argument_group("study")
    g.add_argument("--anki", metavar="FILE",
                   help="write every flashcard in the vault to FILE, an Anki package (.apkg); "
                        "with no inputs, only export")
    g = p.add_argument_group("network")
    g.add_argument("--tor", action="store_true", help="route all YouTube traffic through Tor (a circuit per worker)")
    g.add_argument("--tor-socks-port", type=_port, default=9050, metavar="PORT", help="Tor SOCKS port (default: 9050)")
    g.add_argument("--tor-control-port", type=_port, default=9051, metavar="PORT",
                   help="Tor control port (default: 9051; auth by cookie or $TOR_CONTROL_PASSWORD)")
    g.add_argument("--proxy", metavar="URL", help="route all YouTube traffic through this http/https/socks proxy")
    g.add_argument("--cookies", metavar="FILE",
                   help="send these browser cookies (Netscape cookies.txt) with every YouTube request")
    p.add_argument("--doctor", action="store_true",
                   help="check this machine (versions, JS runtime, YouTube, Claude key, Tor, vault) and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def _print_summary(report, app: YouTubeStudyNotes, out) -> None:  # noqa: ANN001
    report.metrics.print_summary(out)
    stats = report.graph_stats
    if stats:
        print(f"Knowledge Graph: {stats.get('total_notes', 0)} notes, "
              f"{stats.get('total_concepts', 0)} concepts, {report.links_written} links", file=out)
    print(f"Vault: {app.vault.root.resolve()}", file=out)
    if report.stop_reason:
        print(f"Stopped: {report.stop_reason}", file=out)
    if any(r.retryable and not r.ok for r in report.results):
        print("Some failures may succeed later: run again with --retry-failed.", file=out)
    if any(r.ok for r in report.results):
        _print_study_hints(app, out)


def _print_study_hints(app: YouTubeStudyNotes, out) -> None:  # noqa: ANN001
    root = app.vault.root.resolve()
    print(f"Study in Obsidian: \"Open folder as vault\" on {root}; the Spaced Repetition plugin "
          "finds the flashcards.", file=out)
    print(f"Study in Anki: youtube-study-buddy -o {shlex.quote(str(root))} --anki flashcards.apkg", file=out)


def _export_anki(app: YouTubeStudyNotes, path: str, out) -> int:  # noqa: ANN001
    """Write the vault's cards to an Anki package; return the exit code."""
    from yt_study_buddy.study.anki import export_anki

    try:
        done = export_anki(app.vault.root, path)
    except StudyBuddyError as exc:
        print(f"youtube-study-buddy: error: {exc.reason}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, InputError) else EXIT_FAILED
    decks = f"{done.decks} subject deck{'s' if done.decks != 1 else ''}"
    print(f"Anki: {done.cards} flashcard{'s' if done.cards != 1 else ''} in {decks} written to "
          f"{done.path} (import it in Anki: File > Import; a newer export updates the cards).", file=out)
    return EXIT_OK


def _tor_config(args: argparse.Namespace):  # noqa: ANN202 - TorConfig, imported lazily
    if not args.tor:
        return None
    from yt_study_buddy.config import load_settings
    from yt_study_buddy.net.tor import TorConfig

    return TorConfig(socks_port=args.tor_socks_port, control_port=args.tor_control_port,
                     password=load_settings().tor_control_password)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from yt_study_buddy.config import install_redaction

    install_redaction()  # no key or password ever reaches stderr
    out = sys.stdout
    if args.doctor:
        from yt_study_buddy.cli.doctor import run_doctor_cli

        return run_doctor_cli(args, _tor_config(args), out)
    try:
        tor_config = _tor_config(args)
        app = YouTubeStudyNotes(
            subject=args.subject, global_context=not args.subject_only, base_dir=args.output,
            generate_assessments=not args.no_assessments, auto_categorize=not args.no_auto_categorize,
            parallel=args.parallel, max_workers=args.workers, delay=args.delay, engine=args.engine,
            model=args.model, base_url=args.base_url, languages=args.lang, force=args.force,
            tor=args.tor, tor_config=tor_config, proxy=args.proxy, cookies=args.cookies,
            budget=args.budget, batch_api=args.batch_api,
        )
        if args.anki:
            from yt_study_buddy.study.anki import check_anki_target

            check_anki_target(args.anki)  # before any video is paid for, not after the batch
        if args.retry_failed:
            from yt_study_buddy.sources.inputs import Entry

            entries = [Entry(r["url"], "job log") for r in app.retryable_failures()]
            if not entries and not args.urls and not args.file:
                print("Nothing to retry: no failed, retryable jobs in the job log.", file=out)
                return _export_anki(app, args.anki, out) if args.anki else EXIT_OK
            from yt_study_buddy.sources.inputs import collect_entries

            entries += collect_entries(args.urls, args.file)
        else:
            from yt_study_buddy.sources.inputs import collect_entries

            entries = collect_entries(args.urls, args.file)
        app.relink = args.relink
        if not entries and args.relink:
            if not app.vault.root.is_dir():  # a mistyped -o must not read as "re-linked"
                raise InputError(f"there are no notes in {args.output} yet: nothing to re-link")
            linked = app.link_vault(full=True)
            print(f"Re-linked {args.output}: {linked.stats.get('total_notes', 0)} notes, {linked.links} links, "
                  f"{linked.relinked} rewritten, {len(linked.skipped)} skipped.", file=out)
            if not args.anki:
                return EXIT_OK
        if not entries and args.anki:
            return _export_anki(app, args.anki, out)  # export only: no videos to process
        if not entries:
            parser.print_usage(sys.stderr)
            print("youtube-study-buddy: error: no input: give URLs, --file FILE, --retry-failed or --anki FILE",
                  file=sys.stderr)
            return EXIT_USAGE
    except InputError as exc:
        print(f"youtube-study-buddy: error: {exc.reason}", file=sys.stderr)
        return EXIT_USAGE
    except StudyBuddyError as exc:  # e.g. an unreadable vault or job log, before anything ran
        print(f"youtube-study-buddy: error: {exc.reason}", file=sys.stderr)
        return EXIT_FAILED

    from yt_study_buddy.cli.progress import TerminalProgress

    try:
        sources, rejected = app.resolve(entries)
        for item in rejected:
            print(f"✗ {item.entry.text[:80]}: {item.error.reason}", file=out)
        if sources:
            from yt_study_buddy.vault.preflight import prepare_vault

            prepare_vault(app.vault, allow_nested=args.force)  # a usage error before any start-up line
            engine = app.resolve_engine()
            if app.engine_notice:
                print(app.engine_notice, file=out)
            mode = f"parallel, {app.max_workers} workers" if args.parallel else "sequential"
            if args.batch_api and engine == "claude":
                mode = "all at once, Claude through the Message Batches API (half price)"
            print(f"Processing {len(sources)} video(s) ({mode}, engine: {engine})…", file=out)
        with TerminalProgress(len(sources), out) as progress:
            app.event_sink = progress.on_event
            app.parallel_processor.result_callback = progress.on_result
            report = app.run(sources, rejected)
    except KeyboardInterrupt:
        print("\nInterrupted: finished notes are kept; re-run to do the rest.", file=out)
        return EXIT_FAILED
    except StudyBuddyError as exc:
        print(f"youtube-study-buddy: error: {exc.reason}", file=sys.stderr)
        return EXIT_FAILED if not isinstance(exc, InputError) else EXIT_USAGE
    finally:
        app.close()
    _print_summary(report, app, out)
    code = EXIT_OK if report.ok else EXIT_FAILED
    if args.anki and not report.interrupted:
        code = max(code, _export_anki(app, args.anki, out))
    if report.interrupted and _busy_threads():
        # Ctrl-C twice: workers are still inside a network call. The summary is
        # out and every finished file is complete; don't wait for them at exit.
        out.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _busy_threads() -> list:
    return [t for t in threading.enumerate()
            if t is not threading.main_thread() and t.is_alive() and not t.daemon]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
