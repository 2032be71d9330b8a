"""Stage notes: what model calls cost: a dated per-model price table the user can override.

Prices are US dollars per million tokens, as Anthropic publishes them, for the
four kinds of input and output a call is billed for: fresh input, prompt-cache
writes (5-minute and 1-hour TTL), prompt-cache reads, and output. The Message
Batches API bills every kind at half price.

The built-in table was checked against platform.claude.com (pricing page and
model pages) on ``PRICES_AS_OF``. Prices change: a user's file named by
``YT_STUDY_BUDDY_PRICES`` (TOML or JSON) adds or replaces entries::

    as_of = "2027-01-15"
    [models."claude-sonnet-5-5"]
    input = 2.0
    output = 10.0
    cache_read = 0.10        # omitted cache prices follow input: x1.25, x2, x0.1

A model missing from both gives tokens only, and the summary says so: a cost
is never guessed. Engines of other providers add their own entries here
(OpenAI's models are below); a model on the user's own server costs nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from yt_study_buddy.errors import InputError

__all__ = [
    "PRICES_AS_OF",
    "PRICES_ENV",
    "BATCH_DISCOUNT",
    "USAGE_KEYS",
    "ModelPrice",
    "LOCAL_PRICE",
    "CostEstimate",
    "PriceTable",
    "standard_price",
    "load_price_table",
]

PRICES_AS_OF = "2026-12-01"
PRICES_ENV = "YT_STUDY_BUDDY_PRICES"
#: The Message Batches API bills every token at this share of the standard price.
BATCH_DISCOUNT = 0.5

#: Usage keys a cost is computed from; cache_creation_1h_input_tokens is the
#: part of cache_creation_input_tokens written with the 1-hour TTL.
USAGE_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_creation_1h_input_tokens",
              "cache_read_input_tokens", "output_tokens")

_MILLION = 1_000_000


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens of each kind."""

    input: float
    output: float
    cache_write: float
    cache_write_1h: float
    cache_read: float


def standard_price(input: float, output: float, *, cache_write: float | None = None,
                   cache_write_1h: float | None = None, cache_read: float | None = None) -> ModelPrice:
    """A price with Anthropic's usual cache multipliers (write x1.25, 1-hour write x2, read x0.1)."""
    return ModelPrice(
        input=input, output=output,
        cache_write=round(input * 1.25, 6) if cache_write is None else cache_write,
        cache_write_1h=round(input * 2, 6) if cache_write_1h is None else cache_write_1h,
        cache_read=round(input * 0.1, 6) if cache_read is None else cache_read,
    )


def _openai_price(input: float, cached: float, output: float) -> ModelPrice:
    """OpenAI's price: input, cached input and output; no charge for writing the cache."""
    return ModelPrice(input=input, output=output, cache_write=input, cache_write_1h=input,
                      cache_read=cached)


# Keys are model ids or id prefixes: "claude-opus-4" also prices the dated
# "claude-opus-4-20250514"; the longest matching key wins, so "claude-opus-4-1"
# is not priced as "claude-opus-4".
_BUILT_IN: dict[str, ModelPrice] = {
    "claude-fable-5-1": standard_price(10, 50, cache_read=0.25),
    "claude-mythos-5-1": standard_price(10, 50, cache_read=0.25),
    "claude-fable-5": standard_price(10, 50, cache_read=1.0),
    "claude-mythos-5": standard_price(10, 50, cache_read=1.0),
    "claude-opus-5-5": standard_price(4, 20, cache_read=0.20),
    "claude-opus-5": standard_price(5, 25),
    "claude-opus-4-8": standard_price(5, 25),
    "claude-opus-4-7": standard_price(5, 25),
    "claude-opus-4-6": standard_price(5, 25),
    "claude-opus-4-5": standard_price(5, 25),
    "claude-opus-4-1": standard_price(15, 75),
    "claude-opus-4": standard_price(15, 75),
    "claude-3-opus": standard_price(15, 75),
    # Sonnet 5.5 cache reads were cut from $0.20 to $0.10 on 2026-10-07.
    "claude-sonnet-5-5": standard_price(2, 10, cache_read=0.10),
    "claude-sonnet-5": standard_price(2, 10),
    "claude-sonnet-4": standard_price(3, 15),
    "claude-3-7-sonnet": standard_price(3, 15),
    "claude-3-5-sonnet": standard_price(3, 15),
    # Haiku 5.5 has two bands; this is the one for prompts up to 100k tokens
    # (a lecture's prompt is far below it). A longer prompt costs 5x.
    "claude-haiku-5-5": standard_price(0.10, 0.50, cache_read=0.01),
    "claude-haiku-4-5": standard_price(1, 5),
    "claude-3-5-haiku": standard_price(0.80, 4),
    "claude-3-haiku": standard_price(0.25, 1.25, cache_write=0.30, cache_write_1h=0.50,
                                     cache_read=0.03),
    # OpenAI's models (--engine openai against OpenAI's API), as OpenAI published them in
    # 2025 (not re-checked on PRICES_AS_OF: override them in a prices file when they move).
    # Cached input is the only cache price: writing the cache costs nothing extra.
    **{model: _openai_price(inp, cached, out) for model, (inp, cached, out) in {
        "gpt-5": (1.25, 0.125, 10.0),
        "gpt-5-mini": (0.25, 0.025, 2.0),
        "gpt-5-nano": (0.05, 0.005, 0.40),
        "gpt-4.1": (2.0, 0.50, 8.0),
        "gpt-4.1-mini": (0.40, 0.10, 1.60),
        "gpt-4.1-nano": (0.10, 0.025, 0.40),
        "gpt-4o": (2.50, 1.25, 10.0),
        "gpt-4o-mini": (0.15, 0.075, 0.60),
        "o3": (2.0, 0.50, 8.0),
        "o4-mini": (1.10, 0.275, 4.40),
    }.items()},
}

#: What a model served on the user's own machine or network costs (Ollama, LM Studio, …).
LOCAL_PRICE = ModelPrice(input=0.0, output=0.0, cache_write=0.0, cache_write_1h=0.0, cache_read=0.0)

_DATE_SUFFIX = re.compile(r"-\d{8}$")


def _normalise(model: str) -> str:
    """'claude-sonnet-5-5[1m]' and 'claude-sonnet-5-5-20261001' -> 'claude-sonnet-5-5'."""
    name = model.strip().lower()
    name = name.split("[", 1)[0]
    return _DATE_SUFFIX.sub("", name)


@dataclass(frozen=True)
class CostEstimate:
    """The estimated cost of some usage; ``usd`` is None when the model has no price."""

    usd: float | None
    model: str | None
    batch: bool = False

    @property
    def priced(self) -> bool:
        """True when a price was found."""
        return self.usd is not None


class PriceTable:
    """Model prices: the built-in table, with a user's entries over it."""

    def __init__(self, prices: Mapping[str, ModelPrice] | None = None, as_of: str = PRICES_AS_OF):
        self.prices: dict[str, ModelPrice] = dict(_BUILT_IN if prices is None else prices)
        self.as_of = as_of

    def price_for(self, model: str | None) -> ModelPrice | None:
        """The price of a model id, matched exactly or by the longest id prefix."""
        if not model:
            return None
        name = _normalise(model)
        best: str | None = None
        for key in self.prices:
            if name == key or name.startswith(key + "-"):
                if best is None or len(key) > len(best):
                    best = key
        return self.prices[best] if best is not None else None

    def estimate(self, model: str | None, usage: Mapping[str, int], *, batch: bool = False,
                 local: bool = False) -> CostEstimate:
        """The cost of usage on model; batch=True applies the Message Batches discount.

        ``local``: the model runs on the user's own server (an engine's ``local``
        attribute, e.g. Ollama): it costs nothing, whatever its name.
        """
        price = LOCAL_PRICE if local else self.price_for(model)
        if price is None:
            return CostEstimate(None, model, batch)
        get = lambda key: max(0, int(usage.get(key, 0) or 0))  # noqa: E731
        written = get("cache_creation_input_tokens")
        written_1h = min(written, get("cache_creation_1h_input_tokens"))
        usd = (get("input_tokens") * price.input
               + (written - written_1h) * price.cache_write
               + written_1h * price.cache_write_1h
               + get("cache_read_input_tokens") * price.cache_read
               + get("output_tokens") * price.output) / _MILLION
        if batch:
            usd *= BATCH_DISCOUNT
        return CostEstimate(round(usd, 6), model, batch)

    def with_overrides(self, entries: Mapping[str, ModelPrice], as_of: str | None = None) -> "PriceTable":
        """A new table with entries added or replaced."""
        merged = dict(self.prices)
        merged.update({_normalise(k): v for k, v in entries.items()})
        return PriceTable(merged, as_of or self.as_of)


_PRICE_FIELDS = {f.name for f in fields(ModelPrice)}


def _entry(model: str, raw: Any, source: str) -> ModelPrice:
    if not isinstance(raw, dict):
        raise InputError(f"{source}: the price of {model!r} must be a table of numbers")
    unknown = set(raw) - _PRICE_FIELDS
    if unknown:
        raise InputError(f"{source}: unknown price field(s) for {model!r}: {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(_PRICE_FIELDS))})")
    values: dict[str, float] = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 10_000:
            raise InputError(f"{source}: {model!r} {name} must be a price in USD per million tokens, "
                             f"got {value!r}")
        values[name] = float(value)
    if "input" not in values or "output" not in values:
        raise InputError(f"{source}: {model!r} needs at least 'input' and 'output' prices")
    return standard_price(values.pop("input"), values.pop("output"), **values)


def load_price_table(path: str | Path | None = None) -> PriceTable:
    """The built-in prices, with the entries of a TOML or JSON file over them (InputError if unreadable)."""
    table = PriceTable()
    if not path:
        return table
    file = Path(path).expanduser()
    source = f"price file {file.name}"
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the price file {file} ({PRICES_ENV}): "
                         f"{getattr(exc, 'strerror', None) or type(exc).__name__}") from None
    try:
        if file.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError and JSONDecodeError are ValueErrors
        raise InputError(f"{source} is not valid {'JSON' if file.suffix.lower() == '.json' else 'TOML'}: "
                         f"{exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise InputError(f"{source}: expected a 'models' table of model ids to prices")
    as_of = data.get("as_of")
    if as_of is not None and not isinstance(as_of, str):
        as_of = str(as_of)  # TOML reads an unquoted date as a date
    entries = {str(model): _entry(str(model), raw, source) for model, raw in data["models"].items()}
    return table.with_overrides(entries, as_of=f"{as_of or 'undated'} (from {file.name})")
