"""Stage webui: the Streamlit page: sidebar options, Process, Library, Review and Logs tabs.

Imports Streamlit at the top: only ``streamlit_app.py`` imports this module,
never the CLI. Everything a worker thread does goes through ``jobs.Channel``;
only script threads call ``st.*``.

A running batch belongs to its output folder, not to a browser session: it is
kept in a process-wide ``RunnerRegistry`` so a reloaded page (or a second tab)
finds it, shows its progress and Stop, and cannot start another batch on the
same vault. Its progress is redrawn by a fragment that reruns on a timer, so
the rest of the page (buttons, Library, Logs) stays drawn and clickable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from yt_study_buddy.app import ENGINES, YouTubeStudyNotes
from yt_study_buddy.config import Settings, install_redaction, load_settings, redact
from yt_study_buddy.errors import StudyBuddyError
from yt_study_buddy.net.proxy import mask_proxy_url
from yt_study_buddy.vault.store import HIDDEN_DIR
from yt_study_buddy.sources.inputs import CAPTION_SUFFIXES, Entry
from yt_study_buddy.webui.jobs import (
    STOP_HELP,
    UPLOADS_FOLDER,
    BatchRunner,
    BatchView,
    Channel,
    RunnerRegistry,
    entries_from_text,
    failure_rows,
    log_rows,
    read_uploaded_list,
    save_caption_uploads,
)
from yt_study_buddy.webui.library import folder_problem
from yt_study_buddy.webui.library_tab import library_tab
from yt_study_buddy.webui.review_tab import review_tab

__all__ = ["main", "Options", "DEFAULT_OUTPUT", "RUNNER_KEY", "runners"]

DEFAULT_OUTPUT = "./notes"
RUNNER_KEY = "batch_runner"
_POLL_SECONDS = 0.5
OLLAMA_URL = "http://localhost:11434/v1"
TABS = ["Process", "Library", "Review", "Logs"]


@dataclass(frozen=True)
class Options:
    """What the sidebar asks for."""

    parallel: bool
    workers: int
    subject: str | None
    assessments: bool
    auto_categorize: bool
    engine: str
    model: str | None
    output: Path
    #: The OpenAI-compatible server for engine 'openai' (None: OPENAI_BASE_URL or OpenAI's API).
    base_url: str | None = None
    #: send Claude calls through the Message Batches API (half price, slower)
    batch_api: bool = False
    #: stop starting videos once the estimated spend would pass this many US dollars
    budget: float | None = None


def linked_vault(folder: str | None) -> str | None:
    """The folder a link's ``?output=`` names, if it is a vault (a link in a note is untrusted), else None."""
    # A note could link to "?output=/": the page would walk the whole disk and Process would
    # write there. Only a folder that already holds a vault may be opened by a link.
    if not folder:
        return None
    try:
        hidden = Path(folder).expanduser() / HIDDEN_DIR
        return folder if hidden.is_dir() and not hidden.is_symlink() else None
    except (OSError, ValueError):
        return None


def sidebar(settings: Settings) -> Options:
    """Draw the sidebar and return the chosen options."""
    bar = st.sidebar
    bar.header("Settings")
    parallel = bar.checkbox("Enable Parallel Processing", value=True, key="parallel",
                            help="Process several videos at once.")
    workers = bar.slider("Max Workers", min_value=1, max_value=5, value=3, key="workers",
                         disabled=not parallel, help="Videos processed at the same time.")
    subject = bar.text_input("Subject", value="", key="subject",
                             placeholder="blank: choose one per video",
                             help="Folder for the notes; leave blank to categorize automatically.")
    assessments = bar.checkbox("Generate assessments", value=True, key="assessments")
    auto_categorize = bar.checkbox("Auto-categorize by subject", value=True, key="auto_categorize",
                                   disabled=bool(subject.strip()))
    engine = bar.selectbox("Engine", ENGINES, index=0, key="engine",
                           help="auto: Claude when an API key is set, else an OpenAI-compatible server "
                                "when OPENAI_BASE_URL is set, otherwise the offline engine. openai: "
                                "Ollama, LM Studio, vLLM, llama.cpp or OpenAI itself.")
    base_url = None
    if engine == "openai":
        # The page is sent to the browser: a password in OPENAI_BASE_URL is shown masked, and
        # the masked text left as it is stands for the configured URL.
        configured = settings.openai_base_url
        shown = mask_proxy_url(configured) if configured else OLLAMA_URL
        base_url = bar.text_input("Server URL", value=shown,
                                  key="base_url", help="OpenAI-compatible API, e.g. Ollama's "
                                  f"{OLLAMA_URL}; empty: OpenAI's API (needs OPENAI_API_KEY).")
        if configured and base_url.strip() == shown:
            base_url = configured
        model = bar.text_input("Model", value=settings.openai_model or "", key="openai_model",
                               placeholder="blank: the server's only model",
                               help="As the server names it, e.g. llama3.2 for Ollama.")
    else:
        model = bar.text_input("Claude model", value=settings.model, key="model",
                               disabled=engine == "offline")
    batch_api = bar.checkbox("Message Batches API (half price, slower)", value=False, key="batch_api",
                             disabled=engine in ("offline", "openai"),
                             help="Claude answers a batch of requests within minutes to hours at half "
                                  "the price. Closing the page or a crash loses nothing: the next run "
                                  "collects the batch's results.")
    budget = bar.number_input("Budget (US$, 0 = no limit)", min_value=0.0, value=0.0, step=0.5,
                              key="budget", disabled=engine == "offline",
                              help="No new video is started once the batch's estimated Claude spend "
                                   "would pass this; finished notes are kept.")
    # A note link opened in a new browser tab names its vault (when not the default).
    output = bar.text_input("Output folder", value=linked_vault(st.query_params.get("output")) or DEFAULT_OUTPUT,
                            key="output",
                            help="The Obsidian vault the notes are written to.")
    if engine == "openai":
        bar.info("Notes come from the model server; a local server needs no API key.")
    elif settings.has_api_key:
        bar.success("Claude API key: configured")
    elif engine == "claude":
        bar.error("No Claude API key: set ANTHROPIC_API_KEY (or put it in a .env file).")
    else:
        bar.info("No Claude API key: the offline engine writes the notes (no LLM).")
    return Options(parallel=parallel, workers=int(workers) if parallel else 1,
                   subject=subject.strip() or None, assessments=assessments,
                   auto_categorize=auto_categorize, engine=engine,
                   model=(model or "").strip() or None,
                   base_url=(base_url or "").strip() or None,
                   output=Path((output or "").strip() or DEFAULT_OUTPUT).expanduser(),
                   batch_api=bool(batch_api) and engine not in ("offline", "openai"),
                   budget=float(budget) if budget and engine != "offline" else None)


@st.cache_resource(show_spinner=False)
def runners() -> RunnerRegistry:
    """The process-wide registry of running batches, one per output folder."""
    return RunnerRegistry()


def _runner() -> BatchRunner | None:
    return st.session_state.get(RUNNER_KEY)


def attach_runner(options: Options) -> BatchRunner | None:
    """The batch of the chosen output folder: the one running there (from any session), else this session's last."""
    key = RunnerRegistry.key(options.output)
    runner = runners().active(options.output)
    if runner is None:
        runner = _runner()
        if runner is not None and runner.folder != key:
            runner = None  # another vault's batch: it goes on, and is found again from its folder
    st.session_state[RUNNER_KEY] = runner
    if runner is not None:
        runner.poll()
    return runner


def _busy() -> bool:
    runner = _runner()
    return runner is not None and not runner.finished


def make_app(options: Options, channel: Channel | None = None, *, force: bool = False) -> YouTubeStudyNotes:
    """Create the library app for the chosen options, reporting through channel."""
    return YouTubeStudyNotes(
        subject=options.subject, base_dir=options.output,
        generate_assessments=options.assessments, auto_categorize=options.auto_categorize,
        parallel=options.parallel, max_workers=options.workers,
        engine=options.engine, model=options.model, base_url=options.base_url, force=force,
        budget=options.budget, batch_api=options.batch_api,
        progress_callback=channel.progress if channel else None,
        result_callback=channel.result if channel else None,
        event_sink=channel.event if channel else None,
    )


def start_batch(options: Options, gather: Any, *, force: bool = False) -> BatchRunner | None:
    """Create the app, gather entries with gather(app), and start the batch; None on a problem."""
    channel = Channel()
    try:
        app = make_app(options, channel, force=force)
        entries = gather(app)
        if not entries:
            st.warning("Paste at least one link, or upload a list of links or caption files.")
            return None
        app.resolve_engine()  # a missing key is reported now, not once per video
    except StudyBuddyError as exc:
        st.error(redact(exc.reason))
        return None
    # No notice of the engine choice here: the sidebar already says when there is no key.
    runner = BatchRunner(app, entries, channel)
    if not runners().start(options.output, runner):
        app.close()
        st.warning(f"A batch is already running on {options.output}: wait for it or stop it.")
        return None
    st.session_state[RUNNER_KEY] = runner
    return runner


def render_view(view: BatchView, runner: BatchRunner | None = None) -> None:
    """Show the batch's progress, status line and Stop (given a running runner); the table is the Process tab's."""
    st.progress(view.fraction)
    if view.finished and view.error:
        st.error(view.error)
    else:
        st.text(view.status_text)
    if runner is not None and not view.finished:
        # on_click runs before this redraw, so a pressed Stop is drawn disabled at once.
        st.button("Stop", key="stop", help=STOP_HELP, disabled=view.cancelled,
                  on_click=_stop, args=(runner,))


def _table(runner: BatchRunner) -> None:
    with runner.lock:
        rows = runner.view.table() if runner.view.rows else []
    if rows:
        st.dataframe(rows, hide_index=True)


def live_table() -> None:
    """The running batch's table of videos (the Process tab's); redrawn on a timer."""
    runner = _runner()
    if runner is not None:
        _table(runner)


def batch_table(options: Options, runner: BatchRunner | None) -> None:
    """The Process tab's view of the batch: its table, and "Process again" when nothing was new."""
    if runner is None:
        return
    if not runner.finished:
        st.fragment(live_table, run_every=_POLL_SECONDS)()
        return
    _table(runner)
    if runner.view.nothing_new and not _busy():
        entries = list(runner.entries)
        if st.button("Process again", key="force", help="Write the notes of these videos anew, as --force "
                     "does: transcripts are reused, notes are generated again (with Claude, paid again)."):
            if start_batch(options, lambda _app: entries, force=True):
                st.rerun()


def _stop(runner: BatchRunner) -> None:
    runner.cancel()


def live_batch() -> None:
    """The running batch's progress and Stop; reruns on a timer, and reruns the page when it ends."""
    runner = _runner()
    if runner is None:
        return
    finished = runner.poll()
    with runner.lock:
        render_view(runner.view, runner)
    if finished:
        # Re-enable Process and show the new notes in Library and Logs.
        st.rerun(scope="app")


def batch_area(runner: BatchRunner | None) -> None:
    """Progress of this session's batch: live while it runs, the final summary after."""
    if runner is None:
        return
    if runner.finished:
        with runner.lock:
            render_view(runner.view)
    else:
        st.fragment(live_batch, run_every=_POLL_SECONDS)()


def process_tab(options: Options) -> None:
    """Inputs and the Process Videos button."""
    text = st.text_area("YouTube URLs (one per line)", key="urls", height=140,
                        placeholder="https://www.youtube.com/watch?v=...\nhttps://youtu.be/...\n"
                                    "https://www.youtube.com/playlist?list=...")
    left, right = st.columns(2)
    list_file = left.file_uploader("Or a list of links (.txt, one per line)", type=["txt"], key="list_file")
    captions = right.file_uploader("Or caption files (Zoom, Teams, Coursera: .vtt, .srt, .txt)",
                                   type=[s.lstrip(".") for s in CAPTION_SUFFIXES],
                                   accept_multiple_files=True, key="caption_files")
    busy = _busy()
    clicked = st.button("Process Videos", type="primary", disabled=busy, key="process",
                        help="A batch is running: wait for it or press Stop." if busy else None)
    if clicked and not busy:
        def gather(app: YouTubeStudyNotes) -> list[Entry]:
            # Uploads live in the vault's hidden folder: nothing is written outside the output folder.
            uploads = Path(app.vault.hidden) / UPLOADS_FOLDER
            entries = entries_from_text(text or "")
            if list_file is not None:
                entries += read_uploaded_list(uploads, list_file.name, list_file.getvalue(), root=app.vault.root)
            if captions:
                saved = save_caption_uploads(uploads, [(f.name, f.getvalue()) for f in captions],
                                             root=app.vault.root)
                entries += [Entry(str(path.resolve()), "uploaded file") for path in saved]
            return entries

        if start_batch(options, gather):
            # Redraw now: Process disabled, Stop and the live progress shown.
            st.rerun()
    batch_table(options, _runner())


def _open_vault_app(options: Options) -> YouTubeStudyNotes | None:
    if folder_problem(options.output) is not None or not options.output.is_dir():
        return None
    try:
        return make_app(Options(parallel=False, workers=1, subject=None, assessments=False,
                                auto_categorize=False, engine="offline", model=None,
                                output=options.output))
    except StudyBuddyError as exc:
        st.error(redact(exc.reason))
        return None


def logs_tab(options: Options) -> None:
    """Job history, failures with reasons, and a retry button for retryable failures."""
    app = _open_vault_app(options)
    if app is None:
        st.info("No job log yet: process some videos first.")
        return
    try:
        records = app.job_log.read()
        failures = failure_rows(app.job_log.latest_by_video())
        retryable = app.retryable_failures()
    except StudyBuddyError as exc:
        st.error(f"Cannot read the job log: {redact(exc.reason)}")
        return
    if retryable:
        label = f"Retry failed ({len(retryable)})"
        if st.button(label, key="retry_failed", disabled=_busy(),
                     help="Process again each failed video whose error can go away (e.g. a rate limit)."):
            urls = [str(r["url"]) for r in retryable]
            if start_batch(options, lambda _app: [Entry(u, "job log") for u in urls]):
                st.rerun()  # progress and Stop are drawn above the tabs
    st.subheader("Failures")
    if failures:
        st.dataframe(failures, hide_index=True)
    else:
        st.caption("No failed videos.")
    st.subheader("Job history")
    if records:
        st.dataframe(log_rows(records), hide_index=True)
    else:
        st.caption("The job log is empty.")


def main() -> None:
    """Draw the page; while a batch runs, its progress redraws on its own."""
    st.set_page_config(page_title="YouTube Study Buddy", page_icon="📚", layout="wide")
    install_redaction()  # the page's logs are scrubbed as the CLI's are
    try:
        settings = load_settings()
    except StudyBuddyError as exc:  # a malformed .env or YT_STUDY_BUDDY_YOUTUBE_URL: say so, run nothing
        st.error(f"Configuration error: {redact(exc.reason)}")
        return
    options = sidebar(settings)
    st.title("YouTube Study Buddy")
    st.caption("Turn YouTube videos and lecture captions into Obsidian study notes and self-tests.")
    # Progress stays above the tabs, visible (with Stop) from any tab.
    batch_area(attach_runner(options))
    # Bound to ?tab=: a note link opens the Library in a new browser tab.
    process, library, review, logs = st.tabs(TABS, key="tab", bind="query-params")
    with process:
        process_tab(options)
    with library:
        library_tab(options.output, DEFAULT_OUTPUT)
    with review:
        review_tab(options.output)
    with logs:
        logs_tab(options)
