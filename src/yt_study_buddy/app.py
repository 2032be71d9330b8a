"""The library API: ``YouTubeStudyNotes`` runs the whole job for one video or a batch.

One job per video: source -> transcript -> notes + assessment -> vault write.
The CLI and the Streamlit app are thin shells over this class. Heavy
libraries (anthropic, youtube-transcript-api, yt-dlp) load on first use.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from yt_study_buddy.config import Settings, check_output_folder, load_settings, redact
from yt_study_buddy.errors import (
    Cancelled,
    InputError,
    StudyBuddyError,
    YouTubeBlocked,
)
from yt_study_buddy.events import EventSink, JobEvent, Stage, safe_emit
from yt_study_buddy.sources.inputs import Entry, Rejected, collect_entries, resolve_sources, source_for
from yt_study_buddy.batch.limits import ServiceLimits
from yt_study_buddy.notes.engine import NoteEngine
from yt_study_buddy.models import (
    ProcessingResult,
    ResultStatus,
    Source,
    Transcript,
    VideoMeta,
)
from yt_study_buddy.vault.linker import LinkReport
from yt_study_buddy.batch.pool import (
    ParallelVideoProcessor,
    ProcessingMetrics,
    check_workers,
    ProgressCallback,
    ResultCallback,
)

__all__ = ["YouTubeStudyNotes", "BatchReport", "ENGINES"]

log = logging.getLogger(__name__)

ENGINES = ("auto", "claude", "openai", "offline")
#: Videos in flight at once with --batch-api (they mostly wait for Message Batches).
BATCH_API_WORKERS = 200


@dataclass
class BatchReport:
    """What a batch did: one result per input, metrics, and the vault's stats."""

    results: list[ProcessingResult]
    metrics: ProcessingMetrics
    graph_stats: dict[str, Any] = field(default_factory=dict)
    links_written: int = 0
    interrupted: bool = False
    stop_reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when every video is done (now or in an earlier run)."""
        return bool(self.results) and all(r.ok for r in self.results) and not self.interrupted


class YouTubeStudyNotes:
    """Main application class for processing YouTube videos into study notes."""

    relink = False  # link every note after a batch, not only what changed (--relink)

    def __init__(
        self,
        subject: str | None = None,
        global_context: bool = True,
        base_dir: str | Path = "notes",
        generate_assessments: bool = True,
        auto_categorize: bool = True,
        parallel: bool = False,
        max_workers: int = 3,
        *,
        delay: float = 1.0,
        engine: str = "auto",
        model: str | None = None,
        base_url: str | None = None,
        languages: Sequence[str] = ("en",),
        force: bool = False,
        tor: bool = False,
        tor_config: Any = None,
        proxy: str | None = None,
        cookies: str | Path | None = None,
        settings: Settings | None = None,
        limits: ServiceLimits | None = None,
        progress_callback: ProgressCallback | None = None,
        result_callback: ResultCallback | None = None,
        event_sink: EventSink | None = None,
        note_engine: NoteEngine | None = None,
        youtube_client: Any = None,
        block_retries: int | None = None,
        budget: float | None = None,
        batch_api: bool = False,
    ):
        try:
            check_workers(max_workers)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if delay < 0:
            raise InputError(f"delay must be 0 or more seconds, got {delay}")
        if engine not in ENGINES:
            raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        if tor and proxy:
            raise InputError("use either --tor or --proxy, not both")
        if proxy:
            from yt_study_buddy.net.proxy import validate_proxy_url

            proxy = validate_proxy_url(proxy)
        self._cookies = None
        if cookies is not None:
            from yt_study_buddy.sources.youtube import load_youtube_cookies

            self._cookies = load_youtube_cookies(cookies)
        self.settings = settings or load_settings()
        self.subject = subject
        self.global_context = global_context
        self.generate_assessments = generate_assessments
        self.auto_categorize = auto_categorize
        self.parallel = parallel
        self.max_workers = int(max_workers) if parallel else 1
        self.delay = delay
        self.languages = tuple(languages) or ("en",)
        self.force = force
        self.progress_callback = progress_callback
        self.result_callback = result_callback
        self.event_sink = event_sink
        self.limits = limits or ServiceLimits(youtube_delay=delay, youtube_concurrency=min(3, self.max_workers),
                                              claude_pacing=self.settings.claude_pacing)
        self.block_retries = block_retries if block_retries is not None else (3 if (tor or proxy) else 1)
        self._engine_choice = engine
        self._model = model
        self._base_url = base_url
        self._engine = note_engine
        self._youtube = youtube_client
        self._tor_enabled = tor
        self._tor_config = tor_config
        self._tor = None
        self._proxy = proxy
        self._proxy_pool = None
        self._init_lock = threading.Lock()
        self._engine_lock = threading.Lock()
        # Held only to set up the proxy pool, never across the Tor check.
        self._net_lock = threading.Lock()
        self._resolved = False
        self._warming = False
        self._subjects_snapshot: list[str] = []
        self.batch_id = ""
        self.engine_notice: str | None = None

        from yt_study_buddy.vault.joblog import JobLog
        from yt_study_buddy.vault.leases import Leases
        from yt_study_buddy.sources.caches import MetaCache, TranscriptCache
        from yt_study_buddy.vault.store import Vault

        self.vault = Vault(check_output_folder(base_dir))
        self.knowledge_graph = self.vault.graph
        self.job_log = JobLog(self.vault)
        self.transcript_cache = TranscriptCache(self.vault)
        self.meta_cache = MetaCache(self.vault)
        from yt_study_buddy.notes.spend import Spending
        from yt_study_buddy.vault.paid import BatchLedger, GeneratedWork

        # Paid work is kept until its note is on disk: a crash, Ctrl-C or a failed later
        # call (or a Message Batch still running) never makes a re-run pay for it again.
        self.generated, self.batch_api = GeneratedWork(self.vault), batch_api
        self.batch_ledger = BatchLedger(self.vault) if batch_api else None
        self.spending = Spending(prices_file=self.settings.prices_file, budget=budget, batch_api=batch_api)
        self.limits.on_wait = self.limits.on_wait or self._announce_wait
        self.leases = Leases(self.vault)  # this app's claims: two runs never pay for one video
        self.metrics = ProcessingMetrics()
        # The spec's public attribute: the pool any front end can reuse.
        self.parallel_processor = ParallelVideoProcessor(
            max_workers=self.max_workers, rate_limit_delay=delay,
            progress_callback=progress_callback, result_callback=result_callback,
            cancel_event=self.limits.cancel,
        )

    # -- services, created on first use -------------------------------------------------

    @property
    def engine(self) -> NoteEngine:
        """The note engine (Claude, an OpenAI-compatible server or offline), created on first use."""
        # Its own lock: building Claude's client imports the SDK (seconds), and
        # the YouTube client (under _init_lock) must not wait for that.
        with self._engine_lock:
            if self._engine is None:
                self._engine = self._make_engine()
            return self._engine

    def _engine_name(self) -> str:
        """The engine a batch will use; raises InputError when it can't work (no key). Cheap."""
        if self._engine is not None:
            return self._engine.name
        from yt_study_buddy.notes.choice import choose_engine

        choice = choose_engine(self._engine_choice, self.settings, self._base_url)
        self.engine_notice = choice.notice or self.engine_notice
        return choice.name

    def _make_engine(self) -> NoteEngine:
        from yt_study_buddy.notes.choice import build_engine

        return build_engine(self._engine_name(), self.settings, self.limits, model=self._model,
                            batch_ledger=self.batch_ledger,
                            base_url=self._base_url)

    def resolve_engine(self) -> str:
        """Check the engine choice can work and return its name, without loading any LLM SDK.

        A run that generates nothing (every note exists) never pays the SDK's import.
        """
        return self._engine_name()

    def _warm_engine(self) -> None:
        """Build the engine in the background while this video's YouTube fetches run."""
        with self._init_lock:
            if self._engine is not None or self._warming:
                return
            self._warming = True

        def build() -> None:
            try:
                _ = self.engine
            except Exception:  # noqa: BLE001 - the worker that needs the engine raises it again
                log.debug("building the note engine in the background failed", exc_info=True)

        threading.Thread(target=build, name="engine-warmup", daemon=True).start()

    def prepare_network(self) -> Any:
        """Check Tor (once) or the proxy before a batch; return the per-thread proxy pool or None.

        Raises TorError when Tor can't be reached: the batch then stops once
        instead of failing every video separately.
        """
        with self._net_lock:
            if self._proxy_pool is not None or not (self._tor_enabled or self._proxy):
                return self._proxy_pool
            if not self._tor_enabled:
                from yt_study_buddy.net.proxy import ProxyPool

                self._proxy_pool = ProxyPool(self._proxy)
                return self._proxy_pool
            if self._tor is None:
                from yt_study_buddy.net.tor import TorConfig, TorController

                config = self._tor_config or TorConfig(password=self.settings.tor_control_password)
                self._tor = TorController(config)
            tor = self._tor
        tor.check(self.limits.cancel)  # outside the lock: Stop interrupts it, nobody queues behind it
        with self._net_lock:
            self._proxy_pool = self._proxy_pool or tor.proxy_pool()
            return self._proxy_pool

    @property
    def proxy_pool(self) -> Any:
        """Per-thread proxy URLs (Tor with a circuit per worker, or --proxy), or None."""
        return self.prepare_network()

    @property
    def youtube(self) -> Any:
        """The YouTube client, routed through Tor or a proxy when asked."""
        pool = self.proxy_pool  # outside _init_lock: it takes the lock itself
        with self._init_lock:
            if self._youtube is None:
                from yt_study_buddy.sources.youtube import YouTubeClient

                self._youtube = YouTubeClient(
                    base_url=self.settings.youtube_base_url,
                    proxy_for_thread=pool.for_current_thread if pool is not None else None,
                    cookies=self._cookies, delay=self.delay)
            return self._youtube

    # -- one video ----------------------------------------------------------------------

    def _emit(self, stage: str, source: Source, title: str | None = None, detail: str | None = None) -> None:
        safe_emit(self.event_sink, JobEvent(stage, source.video_id, source.url, title, detail))

    def _announce_wait(self, text: str | None, seconds: float | None) -> None:
        """A batch-wide wait (a rate limit, a Message Batch) for the progress view: an event of no video."""
        safe_emit(self.event_sink, JobEvent(Stage.WAITING, "", "", None, text, seconds=seconds))

    def _youtube_call(self, func: Callable[[], Any], *, spaced: bool = False) -> Any:
        """Run one YouTube request under the shared slots and circuit breaker.

        ``spaced``: this call starts a video's YouTube work, so it also waits its
        turn on the shared spacer — after taking a slot, so that the spacing
        holds for the requests themselves even when every slot was busy.
        """
        limits = self.limits
        attempt = 0
        while True:
            limits.youtube_breaker.wait(limits.cancel)
            if limits.cancel.is_set():
                raise Cancelled()
            try:
                with limits.youtube_slots:
                    if spaced:
                        limits.youtube_spacer.wait(limits.cancel)
                        spaced = False
                    value = func()
            except YouTubeBlocked as exc:
                attempt += 1
                pause = limits.youtube_breaker.record_failure()
                if attempt > self.block_retries:
                    raise
                log.warning("YouTube is blocking (%s): every worker waits %.0f s, then tries again", exc.reason, pause)
                if self._tor is not None:
                    # A fresh circuit usually means a fresh exit IP; rotate() also gives
                    # every worker new SOCKS credentials, which new connections pick up.
                    self._tor.rotate(limits.cancel)
                    self.youtube.reset_connections()
                continue
            limits.youtube_breaker.record_success()
            return value

    def _load_youtube(self, source: Source) -> tuple[VideoMeta, Transcript, str]:
        transcript = self.transcript_cache.get(source.video_id, self.languages)
        meta = self.meta_cache.get(source.video_id)
        # One spaced start per video's YouTube work (not per request): this is
        # where YouTube's rate limits bite. Cache hits skip it entirely.
        spaced = True
        method = "cache"
        if transcript is None:
            transcript = self._youtube_call(
                lambda: self.youtube.fetch_transcript(source.video_id, self.languages), spaced=spaced)
            spaced = False
            method = transcript.method
            self.transcript_cache.put(transcript)
        if meta is None:
            meta = self._youtube_call(lambda: self.youtube.fetch_metadata(source.video_id), spaced=spaced)
            self.meta_cache.put(meta)
        return meta, transcript, method

    def _load(self, source: Source) -> tuple[VideoMeta, Transcript, str]:
        if source.is_local:
            from yt_study_buddy.sources.chapters import load_lecture_file

            return load_lecture_file(source.path or source.url, content=source.content)
        return self._load_youtube(source)

    def process_source(self, source: Source) -> ProcessingResult:
        """Process one source end to end; never raises for a per-video failure."""
        start = time.perf_counter()
        timings: dict[str, float] = {}
        result = ProcessingResult(url=source.url, video_id=source.video_id, status=ResultStatus.FAILED)
        meta: VideoMeta | None = None
        hold = None
        self._emit(Stage.STARTED, source)
        self.limits.videos_under_way.join()  # a Message Batch round waits for its calls too
        try:
            existing = None if self.force else self.vault.find_note(source.video_id)
            if existing is None and self.leases.claim(source.video_id, self.limits.cancel):
                existing = self.vault.find_note(source.video_id)  # by the run we waited for
            if existing is not None:
                result.status = ResultStatus.SKIPPED
                result.filepath = str(existing)
                result.title = existing.stem
                result.method = "existing-note"
                self._emit(Stage.SKIPPED, source, result.title, "already in the vault")
                return result

            self.spending.check_open()  # a spent budget starts no new video, not even its fetch
            self._warm_engine()
            t = time.perf_counter()
            meta, transcript, method = self._load(source)
            timings["fetch"] = time.perf_counter() - t
            result.title, result.method = meta.title, method
            self._emit(Stage.FETCHED, source, meta.title, f"{len(transcript.segments)} caption lines via {method}")

            t = time.perf_counter()
            engine = self.engine
            result.engine, result.model = engine.name, engine.model
            notes, assessment, draft = (None, None, None) if self.force else \
                self.generated.load(source.video_id, engine.name, engine.model)
            hold = self.spending.reserve(engine, meta, transcript, notes=notes is None,
                                         assessment=self.generate_assessments and assessment is None)
            if notes is None:
                from yt_study_buddy.notes.lecture import write_lecture
                from yt_study_buddy.vault.drafts import PartDrafts

                notes, assessment = write_lecture(  # a long lecture: parts on the batch's free workers
                    engine, meta, transcript, self._subjects_snapshot, draft=draft, assess=self.generate_assessments,
                    on_draft=lambda markdown, usage: self.generated.save(
                        source.video_id, engine.name, engine.model, None, None, draft=markdown),
                    run_all=self.parallel_processor.share.run_all, cancel=self.limits.cancel,
                    drafts=PartDrafts.beside(self.generated.path(source.video_id), self.vault.root,
                                             read=not self.force),
                    on_part=lambda done, total: self._emit(Stage.PART, source, meta.title, f"part {done} of {total}"))
                self.generated.save(source.video_id, engine.name, engine.model, notes, assessment)
            from yt_study_buddy.notes.categorize import choose_subject

            subject = choose_subject(explicit=self.subject, auto_categorize=self.auto_categorize,
                                     suggestion=notes.subject, text=transcript.text,
                                     existing_subjects=self._subjects_snapshot)
            if not self.generate_assessments:
                assessment = None
            elif assessment is None:
                if self.limits.cancel.is_set():
                    raise Cancelled()
                assessment = engine.generate_assessment(meta, transcript, notes)
                self.generated.save(source.video_id, engine.name, engine.model, notes, assessment)
            timings["generate"] = time.perf_counter() - t
            result.usage = dict(notes.usage)
            if assessment is not None:
                for key, value in assessment.usage.items():
                    result.usage[key] = result.usage.get(key, 0) + value
            self._emit(Stage.GENERATED, source, meta.title)

            t = time.perf_counter()
            # write_note also records the note in the knowledge graph, under the vault lock.
            files = self.vault.write_note(meta=meta, subject=subject, notes=notes,
                                          assessment=assessment, transcript=transcript)
            timings["write"] = time.perf_counter() - t
            self.generated.drop(source.video_id)
            if self.batch_ledger is not None:
                self.batch_ledger.forget(video_id=source.video_id)
            result.status = ResultStatus.DONE
            result.subject = subject
            result.files = [str(p) for p in files]
            result.filepath = result.files[0]
            self._emit(Stage.WRITTEN, source, meta.title, result.filepath)
        except StudyBuddyError as exc:
            # A cancelled job gives the batch's one stop reason, not its own wording.
            reason = (self.parallel_processor.stop_reason or exc.reason) if isinstance(exc, Cancelled) \
                else exc.reason
            result.error = redact(reason)
            if isinstance(exc, Cancelled):
                result.status = ResultStatus.CANCELLED
            result.retryable = exc.retryable
            result.fatal = exc.fatal
            result.error_kind = exc.kind
            self._emit(Stage.FAILED, source, result.title, result.error)
        except Exception as exc:  # noqa: BLE001 - report, log, keep the batch going
            log.error("unexpected error processing %s", source.url, exc_info=True)
            result.error = redact(f"unexpected error: {type(exc).__name__}: {exc}")
            result.error_kind = "internal"
            self._emit(Stage.FAILED, source, result.title, result.error)
        finally:
            self.leases.release(source.video_id)
            self.limits.videos_under_way.leave()
            self.spending.settle(hold, result)
            result.duration_seconds = time.perf_counter() - start
            result.timings = {k: round(v, 3) for k, v in timings.items()}
            if not result.skipped:
                self._log_job(result)
            self._emit(Stage.DONE, source, result.title, result.status.value)
        return result

    def _log_job(self, result: ProcessingResult) -> None:
        record = {
            "batch": self.batch_id,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "video_id": result.video_id,
            "url": result.url,
            "title": result.title,
            "subject": result.subject,
            "status": "ok" if result.ok else "failed",
            "error": result.error,
            "error_kind": result.error_kind,
            "retryable": result.retryable,
            "timings": result.timings,
            "duration": round(result.duration_seconds, 3),
            "transcript_method": result.method,
            "engine": result.engine,
            "model": result.model,
            "files": [self._relative(p) for p in result.files],
            "usage": result.usage,
            **self.spending.record(result),
        }
        try:
            self.job_log.append(record)
        except StudyBuddyError as exc:
            log.warning("could not write the job log: %s", exc.reason)

    def _relative(self, path: str) -> str:
        try:
            return str(Path(path).resolve().relative_to(self.vault.root.resolve()))
        except ValueError:
            return path

    def process_single_url(self, url: str) -> ProcessingResult:
        """Process a single YouTube URL (or caption file) and generate study notes."""
        try:
            source = source_for(url)
        except StudyBuddyError as exc:
            return ProcessingResult(url=url, video_id="invalid", status=ResultStatus.REJECTED, error=exc.reason,
                                    error_kind=exc.kind, retryable=exc.retryable)
        if not self.batch_id:
            self._begin_batch()
        return self.process_source(source)

    # -- batches ------------------------------------------------------------------------

    def _begin_batch(self) -> None:
        self.batch_id = uuid.uuid4().hex[:12]
        self.spending.begin()
        # Subjects as they were before the batch: a video's subject must not
        # depend on which other videos of the batch finished first.
        self._subjects_snapshot = self.vault.subjects()

    def _rejected_result(self, rejected: Rejected) -> ProcessingResult:
        err = rejected.error
        return ProcessingResult(url=rejected.entry.text[:200], video_id="invalid", status=ResultStatus.REJECTED,
                                error=err.reason, error_kind=err.kind, retryable=err.retryable)

    def resolve(self, entries: Sequence[Entry]) -> tuple[list[Source], list[Rejected]]:
        """Start a batch: expand playlists and validate entries; return unique sources and rejects."""
        # A new batch starts here, so a Stop pressed while playlists expand is kept for run().
        self.limits.cancel.clear()
        self._resolved = True
        expand = (lambda url: self._youtube_call(lambda: self.youtube.expand_playlist(url)))
        return resolve_sources(entries, expand_playlist=expand)

    def process_entries(self, entries: Sequence[Entry]) -> BatchReport:
        """Process entries (links, ids, caption files, playlists) as one batch."""
        sources, rejected = self.resolve(entries)
        return self.run(sources, rejected)

    def _preflight(self, sources: Sequence[Source]) -> StudyBuddyError | None:
        """Fail once, up front, on what would fail every video: no key, no model server, Tor unreachable."""
        try:
            if sources and self._engine_choice != "offline":
                name = self.resolve_engine()
                self.spending.check(name, self._engine.model if self._engine is not None else self._model or (
                    self.settings.model if name == "claude" else self.settings.openai_model))
                if self.batch_api and name != "claude":
                    raise InputError(f"--batch-api needs the Claude engine (the {name} engine was chosen)")
                # A model server may not run or lack the model: ask it once, before any
                # video, unless nothing is left to generate. (Claude's SDK loads in the
                # background instead; a bad key shows on its first call.)
                if name == "openai" and any(self._needs_notes(s) for s in sources):
                    self.engine.prepare()
            if any(not s.is_local for s in sources):
                self.prepare_network()
        except StudyBuddyError as exc:
            return exc
        return None

    def _needs_notes(self, source: Source) -> bool:
        return self.force or self.vault.find_note(source.video_id) is None

    def run(self, sources: Sequence[Source], rejected: Sequence[Rejected] = ()) -> BatchReport:
        """Process resolved sources as one batch, then link the vault."""
        if not self._resolved:
            self.limits.cancel.clear()
        self._resolved = False
        self._begin_batch()
        start = time.perf_counter()
        self.parallel_processor.stop_reason = None
        self.parallel_processor.interrupted = False
        sources = list(sources)
        results = [self._rejected_result(r) for r in rejected]
        by_url = {s.url: s for s in sources}
        processor = self.parallel_processor
        urls = [s.url for s in sources]
        from yt_study_buddy.vault.preflight import vault_problem as check_vault  # before anything is paid for
        vault_problem = check_vault(self.vault, needed=bool(sources), allow_nested=self.force)
        problem = vault_problem or self._preflight(sources)
        if problem is not None:
            for source in sources:
                failed = ProcessingResult(url=source.url, video_id=source.video_id,
                                          status=ResultStatus.CANCELLED,
                                          error=redact(problem.reason), error_kind=problem.kind,
                                          retryable=problem.retryable, fatal=True)
                if vault_problem is None:  # a vault that can't be used can't keep a log either
                    self._log_job(failed)
                results.append(failed)
            processor.stop_reason = f"batch stopped: {redact(problem.reason)}"
            urls = []
        # With --batch-api every video waits for the batch's rounds at once (YouTube work
        # keeps its own slots and spacing).
        workers = min(len(urls), BATCH_API_WORKERS) if self.batch_api and urls else None
        batch = processor.process_videos_parallel(urls, lambda u: self.process_source(by_url[u]), workers=workers,
                                                  space_starts=False)
        for result in batch:
            if result.error_kind == "cancelled" and not result.video_id and result.url in by_url:
                # Never started (Ctrl-C, Stop, a fatal error): log it so --retry-failed finds it.
                result.video_id = by_url[result.url].video_id
                self._log_job(result)
        results += batch
        links = self.finalize() if any(r.ok for r in results) else 0
        try:  # not from a refused folder: reading stats may write its index
            graph_stats = self.knowledge_graph.get_stats() if vault_problem is None else {}
        except StudyBuddyError:
            graph_stats = {}
        metrics = ProcessingMetrics()
        metrics.prices_as_of, metrics.batch_api = self.spending.prices.as_of, self.batch_api
        for result in results:
            metrics.add_result(result)
            self.metrics.add_result(result)
        metrics.wall_time = time.perf_counter() - start
        return BatchReport(results=results, metrics=metrics, graph_stats=graph_stats,
                           links_written=links, interrupted=processor.interrupted,
                           stop_reason=processor.stop_reason or self.spending.stop_reason and
                           f"batch stopped: {self.spending.stop_reason}")

    def finalize(self) -> int:
        """Settle same-title names and cross-link what changed; return the links in place."""
        return self.link_vault().links

    def link_vault(self, *, full: bool = False) -> LinkReport:
        """Link what changed in the vault (every note when full or ``relink``); never raises."""
        return self.vault.finalize_quietly(subject_only=not self.global_context, relink=full or self.relink)

    def process_urls(self, urls: Sequence[str], file: str | Path | None = None) -> BatchReport:
        """Process a list of URLs (sequential or parallel) and link the vault."""
        return self.process_entries(collect_entries(urls, file))

    def retryable_failures(self) -> list[dict[str, Any]]:
        """Latest job-log record of each video whose last attempt failed and can be retried."""
        return [r for r in self.job_log.latest_by_video().values()
                if r.get("status") == "failed" and r.get("retryable") and isinstance(r.get("url"), str)]

    def retry_failed(self) -> BatchReport:
        """Re-process each failed, retryable job from the log once."""
        return self.process_urls([r["url"] for r in self.retryable_failures()])

    def close(self) -> None:
        """Release network clients and the Tor control connection."""
        for thing in (self._engine, self._youtube, self._tor):
            close = getattr(thing, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # noqa: BLE001
                    log.debug("close failed", exc_info=True)
