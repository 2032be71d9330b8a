"""Stage notes: study notes and assessments from Claude through the official anthropic SDK.

The engine builds the requests (``prompts.py``) and reads the answers
(``answers.py``); how a request travels is someone else's job:
``claude_calls.DirectCaller`` sends one call at a time, paced by the API's
rate-limit buckets and retried under the batch's shared limits, and
``claude_batches.MessageBatches`` (``--batch-api``) gathers the calls of all
videos into Message Batches at half price. Every SDK exception is mapped at
one place, ``claude_errors.claude_errors``.

The SDK is imported lazily (inside ``ClaudeEngine.__init__`` and the error
mapper), so importing this module is cheap and the CLI's ``--help`` stays fast.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

from yt_study_buddy.batch.limits import ServiceLimits
from yt_study_buddy.config import DEFAULT_MODEL, register_secret
from yt_study_buddy.errors import ClaudeAuthError, ClaudeResponseError, ClaudeTruncated
from yt_study_buddy.models import Assessment, NotesResult, Transcript, VideoMeta
from yt_study_buddy.notes import answers, prompts
from yt_study_buddy.notes.cards import card_range
from yt_study_buddy.notes.claude_calls import USAGE_FIELDS, Call, DirectCaller, add_usage
from yt_study_buddy.notes.claude_errors import StreamCut, convert_anthropic_error
from yt_study_buddy.notes.llm_parts import LLMPartCalls, assessment_input

if TYPE_CHECKING:  # pragma: no cover
    from yt_study_buddy.notes.claude_batches import BatchLedger, MessageBatches

__all__ = ["ClaudeEngine", "convert_anthropic_error", "USAGE_FIELDS", "MAX_CONTINUATIONS"]

#: How many times a note cut off at max_tokens is continued before giving up.
MAX_CONTINUATIONS = 3
# max_tokens of the tool calls: the API holds max_tokens of the output-token rate
# limit until an answer is in, so asking for far more than an answer needs slows a
# batch near its limits. The study data grows with the cards asked for.
_STUDY_TOKENS, _TOKENS_PER_CARD = 2048, 120
_ASSESSMENT_TOKENS = 4096
# The notes: about half the transcript's length at most (notes cut off at max_tokens
# are continued, so a tight limit costs a little, never the notes).
_NOTES_TOKENS, _NOTES_PER_TRANSCRIPT_TOKEN = 2048, 0.5


def _text_of(message: Any) -> str:
    return "".join(block.text for block in message.content if getattr(block, "type", None) == "text")


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


_VIDEO_ID = re.compile(r'video_id="([^"]*)"')


def _video_of(system: list[dict[str, Any]]) -> str:
    """The video a system prompt is about (its data block names it), for a call's name in a batch."""
    found = _VIDEO_ID.search(str(system[-1].get("text", ""))) if system else None
    return found.group(1) if found else "video"


class ClaudeEngine(LLMPartCalls):
    """Generate notes and assessments with Claude, sharing limits across workers."""

    name = "claude"

    def __init__(self, *, api_key: str, base_url: str | None = None, model: str = DEFAULT_MODEL,
                 limits: ServiceLimits | None = None, max_retries: int = 6,
                 timeout: float = 600.0, max_tokens: int = 8192,
                 backoff_base: float = 1.0, backoff_max: float = 60.0,
                 batch_ledger: "BatchLedger | None" = None, batch_poll: float = 10.0,
                 batch_gather: float = 60.0):
        import anthropic  # lazy: see the module docstring

        if not api_key:
            raise ClaudeAuthError("no Anthropic API key is set (ANTHROPIC_API_KEY)")
        register_secret(api_key)
        self.model = model
        self.limits = limits or ServiceLimits()
        self.max_tokens = max_tokens
        # One client per engine: it is thread-safe and pools connections.
        self._client = anthropic.Anthropic(api_key=api_key, base_url=base_url,
                                           max_retries=0, timeout=timeout)
        self._caller = DirectCaller(self._client, self.limits, max_retries=max_retries,
                                    backoff_base=backoff_base, backoff_max=backoff_max)
        # When each video first asked: its later calls keep that place in the rate-limit line.
        self._since: dict[str, float] = {}
        self._lock = threading.Lock()
        #: the Message Batches transport (``--batch-api``), or None for direct calls
        self.batches: "MessageBatches | None" = None
        if batch_ledger is not None:
            from yt_study_buddy.notes.claude_batches import MessageBatches

            self.batches = MessageBatches(self._client, self.limits, batch_ledger, model=model,
                                          poll_interval=batch_poll, gather_window=batch_gather)

    @property
    def max_retries(self) -> int:
        """Retries of one call (and continuations of one broken-off stream)."""
        return self._caller.max_retries

    # -- public API ---------------------------------------------------------

    def prepare(self) -> None:
        """Nothing to ask up front: a bad key or model shows on the first call and stops the batch."""

    def generate_notes(self, meta: VideoMeta, transcript: Transcript,
                       existing_subjects: Sequence[str] = (), *, draft: str | None = None,
                       on_draft: Callable[[str, dict[str, int]], None] | None = None) -> NotesResult:
        """Write study notes and the structured study data for one video.

        ``draft``: notes markdown already paid for (the notes call is skipped);
        ``on_draft``: called with the markdown and its usage as soon as it is
        written, so a later failure does not lose it.
        """
        if not transcript.segments:
            raise ClaudeResponseError("the transcript is empty; there is nothing to take notes on")
        system = prompts.system_blocks(meta, transcript)
        usage: dict[str, int] = {}
        if draft or self.batches is None:
            markdown = draft or self._stream_notes(system, meta, usage)
            if not draft and on_draft is not None:
                on_draft(markdown, dict(usage))
            return self._study_notes(system, markdown, existing_subjects, usage, transcript.duration,
                                     video_id=meta.video_id)
        # One round of Message Batches for both: the study data does not need the notes.
        study_call = self._study_call(system, existing_subjects, transcript.duration)
        first, study_message = self._run(meta.video_id, [self._notes_call(system, meta, []), study_call])
        markdown = self._finish_notes(meta, system, usage, first)
        if on_draft is not None:
            on_draft(markdown, dict(usage))
        return self._study_result(study_message, markdown, existing_subjects, usage)

    def generate_assessment(self, meta: VideoMeta, transcript: Transcript,
                            notes: NotesResult) -> Assessment:
        """Write self-test questions in the four assessment categories."""
        if not transcript.segments:
            raise ClaudeResponseError("the transcript is empty; there is nothing to assess")
        # A lecture written in parts is assessed from its parts' notes (see llm_parts).
        system, request = assessment_input(meta, transcript, notes, self.context_budget())
        usage: dict[str, int] = {}
        call = Call("assessment", self._params(system, [_user(request)], tool=prompts.ASSESSMENT_TOOL,
                                               max_tokens=_ASSESSMENT_TOKENS))
        [message] = self._run(meta.video_id, [call])
        add_usage(usage, message.usage)
        data = self._tool_input(message, prompts.ASSESSMENT_TOOL)
        questions = answers.assessment_questions(data, who="Claude", error=ClaudeResponseError)
        return Assessment(questions=questions, usage=usage)

    def close(self) -> None:
        """Stop waiting for Message Batches and close the HTTP connections of the shared client."""
        if self.batches is not None:
            self.batches.close()
        self._client.close()

    # -- requests -------------------------------------------------------------

    def _params(self, system: list[dict[str, Any]], messages: list[dict[str, Any]],
                tool: str | None = None, max_tokens: int | None = None) -> dict[str, Any]:
        # The same tools on every call (also the text-only notes call): a change
        # in tools would invalidate the prompt cache. max_tokens near what a call
        # needs: the API holds that much of the output-token limit while it runs.
        # tool_choice "auto", never a forced tool: current models (Claude Sonnet 5.5) refuse
        # forced tool use with a 400. Each request opens with "Call <tool> ..." and an
        # answer without that call is reported (ClaudeResponseError), never guessed at.
        limit = self.max_tokens if max_tokens is None else min(self.max_tokens, max_tokens)
        return {"model": self.model, "max_tokens": limit, "system": system,
                "messages": messages, "tools": prompts.TOOLS,
                "tool_choice": {"type": "auto"} if tool else {"type": "none"}}

    def _stream_notes(self, system: list[dict[str, Any]], meta: VideoMeta, usage: dict[str, int],
                      request: str | None = None) -> str:
        """The notes for this system prompt (a lecture, a part of one, or its parts' notes), whole."""
        # A long lecture's parts and overview ask in parallel: each its own name in a batch.
        label = "notes" if request is None else "notes-" + hashlib.sha256(request.encode()).hexdigest()[:8]
        return self._finish_notes(meta, system, usage, None, request=request, label=label)

    def _study_call(self, system: list[dict[str, Any]], existing_subjects: Sequence[str],
                    duration: float | None) -> Call:
        cards = card_range(duration)
        request = prompts.study_data_request(existing_subjects, cards)
        return Call("study", self._params(system, [_user(request)], tool=prompts.STUDY_TOOL,
                                          max_tokens=_STUDY_TOKENS + _TOKENS_PER_CARD * cards[1]))

    def _study_notes(self, system: list[dict[str, Any]], markdown: str, existing_subjects: Sequence[str],
                     usage: dict[str, int], duration: float | None, *, video_id: str = "") -> NotesResult:
        """Take the study data and cards for these notes (same system prompt, so the cache is shared)."""
        [message] = self._run(video_id or _video_of(system), [self._study_call(system, existing_subjects,
                                                                                duration)])
        return self._study_result(message, markdown, existing_subjects, usage)

    def _study_result(self, message: Any, markdown: str, existing_subjects: Sequence[str],
                      usage: dict[str, int]) -> NotesResult:
        add_usage(usage, message.usage)
        data = self._tool_input(message, prompts.STUDY_TOOL)
        study = answers.study_data(data, existing_subjects, who="Claude", error=ClaudeResponseError)
        return NotesResult(markdown=markdown, concepts=study.concepts, summary=study.summary,
                           subject=study.subject, engine=self.name, model=self.model, usage=usage,
                           flashcards=study.flashcards)

    def _notes_call(self, system: list[dict[str, Any]], meta: VideoMeta, parts: list[str],
                    label: str = "notes", request: str | None = None) -> Call:
        spoken = len(system[-1]["text"]) / 4  # the transcript block, in tokens (about)
        limit = int(max(_NOTES_TOKENS, _NOTES_PER_TRANSCRIPT_TOKEN * spoken))
        messages = [_user(request or prompts.notes_request(meta))]
        if parts:
            # Ask for the rest in a new turn (not an assistant prefill, which
            # newer models reject), passing everything written so far.
            messages += [{"role": "assistant", "content": "".join(parts)},
                         _user(prompts.continue_request())]
        return Call(label, self._params(system, messages, max_tokens=limit), stream=True)

    def _run(self, video_id: str, calls: list[Call]) -> list[Any]:
        """Send calls (one round) and return their messages, in order."""
        if self.batches is not None:
            return self.batches.run(video_id, calls)
        with self._lock:
            since = self._since.setdefault(video_id, time.monotonic())
        for call in calls:
            call.since = since
        return [self._caller.call(call) for call in calls]

    def _finish_notes(self, meta: VideoMeta, system: list[dict[str, Any]], usage: dict[str, int],
                      message: Any, *, request: str | None = None, label: str = "notes") -> str:
        """Get the whole notes: continue an answer cut off at max_tokens, or broken off mid-stream.

        ``message`` is the first answer when it is already in hand (a batch round).
        """
        parts: list[str] = []
        continuations = cuts = 0
        while True:
            if message is None:
                name = label if not (continuations or cuts) else f"{label}-c{continuations + cuts}"
                try:
                    [message] = self._run(meta.video_id, [self._notes_call(system, meta, parts, name, request)])
                except StreamCut as cut:
                    add_usage(usage, cut.usage)
                    cuts += 1
                    if cut.fatal or not cut.partial.strip() or cuts > self.max_retries:
                        raise
                    parts.append(cut.partial)  # paid for: the retry continues from it
                    continue
            add_usage(usage, message.usage)
            parts.append(_text_of(message))
            if message.stop_reason in ("end_turn", "stop_sequence"):
                markdown = answers.clean_markdown("".join(parts), meta)
                if not markdown.strip():
                    raise ClaudeResponseError("Claude returned empty notes")
                return markdown
            if message.stop_reason != "max_tokens":
                raise ClaudeResponseError(
                    f"Claude stopped the notes early (stop reason: {message.stop_reason})")
            if not "".join(parts).strip():
                # Nothing to continue from (the API rejects an empty assistant turn).
                raise ClaudeTruncated(f"Claude's notes were cut off before any text "
                                      f"(max_tokens={self.max_tokens}); not saved")
            continuations += 1
            if continuations > MAX_CONTINUATIONS:
                raise ClaudeTruncated(
                    f"Claude's notes were still cut off after {MAX_CONTINUATIONS} continuations "
                    f"(max_tokens={self.max_tokens}); not saved")
            message = None

    @staticmethod
    def _tool_input(message: Any, tool: str) -> dict[str, Any]:
        """The input of the call to ``tool`` in ``message``."""
        if message.stop_reason == "max_tokens":
            raise ClaudeTruncated(f"Claude's {tool} answer was cut off at max_tokens")
        for block in message.content:
            if getattr(block, "type", None) == "tool_use" and block.name == tool:
                if not isinstance(block.input, dict):
                    raise ClaudeResponseError(f"Claude's {tool} answer is not an object")
                return block.input
        raise ClaudeResponseError(f"Claude did not call {tool}")
