"""Stage notes: what a batch spends on the model: each video's cost, and the ``--budget`` it must stay in.

Before a video's first paid call the batch reserves what the video will
probably cost; a video whose reservation would take the batch's spend (done
plus reserved) past the budget is not started, and from then on no video
starts: videos under way finish (their work is paid for), the others are
logged as retryable with the budget as their reason. When a video ends its
reservation is replaced by what it really cost.

The first estimate comes from the prompt the video will send (its transcript,
the fixed instructions and tool schemas, ``prompts.py``) and typical answer
sizes; once videos have finished, it is scaled by how their real cost
compared with their estimate, so a chatty model or a terse one is learned.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from yt_study_buddy.errors import BudgetReached, InputError
from yt_study_buddy.notes import prompts
from yt_study_buddy.notes.pricing import PriceTable, load_price_table

if TYPE_CHECKING:  # pragma: no cover
    from yt_study_buddy.models import ProcessingResult, Transcript, VideoMeta

__all__ = ["Spending", "Hold", "expected_usage"]

# Typical answer sizes in tokens (notes grow with the lecture: about a quarter of its
# transcript, which for a 30-minute lecture is some 2,000 tokens of notes).
_NOTES_BASE, _NOTES_PER_TRANSCRIPT = 400, 0.25
_STUDY_OUT, _ASSESSMENT_OUT, _REQUEST = 400, 1200, 400


def _tokens(text: str) -> int:
    return len(text) // 4 + 1


def expected_usage(meta: "VideoMeta", transcript: "Transcript", *, notes: bool = True,
                   assessment: bool = True, max_tokens: int = 8192, one_hour_cache: bool = False
                   ) -> dict[str, int]:
    """The usage a video's calls will probably have: the prompt is counted, answer sizes are typical."""
    prefix = _tokens(json.dumps(prompts.TOOLS)) + sum(
        _tokens(block["text"]) for block in prompts.system_blocks(meta, transcript))
    spoken = _tokens(transcript.timestamped_text())
    notes_out = min(max_tokens, int(_NOTES_BASE + _NOTES_PER_TRANSCRIPT * spoken))
    usage = {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                     "output_tokens": 0}
    plan = ([("notes", notes_out), ("study", _STUDY_OUT)] if notes else []) + \
        ([("assessment", _ASSESSMENT_OUT)] if assessment else [])
    for number, (name, out) in enumerate(plan):
        # The first call writes the transcript to the prompt cache, the others read it.
        usage["cache_creation_input_tokens" if number == 0 else "cache_read_input_tokens"] += prefix
        usage["input_tokens"] += _REQUEST + (notes_out if name == "assessment" else 0)
        usage["output_tokens"] += out
    if one_hour_cache:
        usage["cache_creation_1h_input_tokens"] = usage["cache_creation_input_tokens"]
    return usage


@dataclass
class Hold:
    """One video's reservation against the budget."""

    estimate: float
    prior: float


class Spending:
    """Prices, each video's cost and the batch's budget (shared by the batch's workers)."""

    def __init__(self, *, prices_file: str | None = None, budget: float | None = None,
                 batch_api: bool = False, prices: PriceTable | None = None):
        if budget is not None and not budget > 0:
            raise InputError(f"--budget must be a positive number of US dollars, got {budget}")
        self.prices = prices or load_price_table(prices_file)
        self.budget = budget
        self.batch_api = batch_api
        self._lock = threading.Lock()
        self.spent = 0.0
        self.reserved = 0.0
        #: why the budget stopped the batch (no new video starts), or None
        self.stop_reason: str | None = None
        self._observed = 0.0  # sum of real costs of finished videos...
        self._predicted = 0.0  # ...and of their first estimates

    def begin(self) -> None:
        """A new batch: nothing spent or reserved yet (what was learned about estimates is kept)."""
        with self._lock:
            self.spent = self.reserved = 0.0
            self.stop_reason = None

    def check(self, engine: str, model: str | None) -> None:
        """Refuse a budget that can't be kept: the model has no price (a usage error, before paying)."""
        if self.budget is not None and engine != "offline" and self.prices.price_for(model) is None:
            which = f"model {model!r}" if model else "the server's model (name it with --model)"
            raise InputError(f"--budget needs the price of {which}, which is not in the price "
                             f"table: add it in a file named by YT_STUDY_BUDDY_PRICES")

    def cost(self, model: str | None, usage: dict[str, int]) -> float | None:
        """Dollars for usage on model (None: no price); 0.0 when nothing was used."""
        if not any(int(v or 0) for v in usage.values()):
            return 0.0
        return self.prices.estimate(model, usage, batch=self.batch_api).usd

    def reserve(self, engine: Any, meta: "VideoMeta", transcript: "Transcript", *, notes: bool,
                assessment: bool) -> Hold | None:
        """Reserve a video's likely cost; raise BudgetReached when it would pass the budget."""
        if self.budget is None or engine.name == "offline" or not (notes or assessment):
            return None
        usage = expected_usage(meta, transcript, notes=notes, assessment=assessment,
                               one_hour_cache=self.batch_api)
        prior = self.prices.estimate(engine.model, usage, batch=self.batch_api).usd or 0.0
        with self._lock:
            self._check_open()
            scale = self._observed / self._predicted if self._predicted > 0 else 1.0
            estimate = prior * scale
            if self.spent + self.reserved + estimate > self.budget:
                self.stop_reason = (
                    f"budget of ${self.budget:.2f} reached: ${self.spent:.2f} spent"
                    + (f", ${self.reserved:.2f} on videos under way" if self.reserved else "")
                    + f", the next video would cost about ${estimate:.2f}; finished notes are kept")
                self._check_open()
            self.reserved += estimate
        return Hold(estimate, prior)

    def check_open(self) -> None:
        """Raise BudgetReached once the budget has stopped the batch: start no new video."""
        with self._lock:
            self._check_open()

    def _check_open(self) -> None:
        if self.stop_reason:
            raise BudgetReached(self.stop_reason)

    def settle(self, hold: Hold | None, result: "ProcessingResult") -> None:
        """Set the result's cost from its usage and replace the video's reservation by it."""
        cost = self.cost(result.model, result.usage) if result.usage else 0.0
        result.cost_usd = cost
        with self._lock:
            self.spent += cost or 0.0
            if hold is not None:
                self.reserved = max(0.0, self.reserved - hold.estimate)
                if result.ok and cost:
                    self._observed += cost
                    self._predicted += hold.prior

    def record(self, result: "ProcessingResult") -> dict[str, Any]:
        """Job-log fields for a result's cost."""
        fields: dict[str, Any] = {"cost_usd": result.cost_usd}
        if result.usage:
            fields["prices_as_of"] = self.prices.as_of
            fields["billing"] = "message-batches" if self.batch_api else "standard"
        return fields
