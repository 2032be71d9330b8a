"""The price table: dated built-in prices, longest-prefix model match, batch discount, user overrides."""

from __future__ import annotations

import pytest

from yt_study_buddy.errors import InputError
from yt_study_buddy.notes.pricing import (
    BATCH_DISCOUNT,
    PRICES_AS_OF,
    PriceTable,
    load_price_table,
    standard_price,
)

USAGE = {"input_tokens": 1_000_000, "cache_creation_input_tokens": 1_000_000,
         "cache_read_input_tokens": 1_000_000, "output_tokens": 1_000_000}


def test_every_kind_of_token_is_priced():
    table = PriceTable()
    # Sonnet 5.5: $2 input, $2.50 cache write, $0.10 cache read, $10 output per million.
    assert table.estimate("claude-sonnet-5-5", USAGE).usd == pytest.approx(2 + 2.5 + 0.10 + 10)


def test_one_hour_cache_writes_cost_more_than_five_minute_ones():
    table = PriceTable()
    usage = {"cache_creation_input_tokens": 1_000_000, "cache_creation_1h_input_tokens": 400_000}
    # 600k at the 5-minute price ($2.50) and 400k at the 1-hour price ($4).
    assert table.estimate("claude-sonnet-5-5", usage).usd == pytest.approx(0.6 * 2.5 + 0.4 * 4)


def test_batch_api_is_half_price():
    table = PriceTable()
    full = table.estimate("claude-opus-5", USAGE).usd
    batch = table.estimate("claude-opus-5", USAGE, batch=True)
    assert batch.batch and batch.usd == pytest.approx(full * BATCH_DISCOUNT)


@pytest.mark.parametrize("model, expected_input", [
    ("claude-sonnet-5-5", 2.0),
    ("claude-sonnet-5-5-20261001", 2.0),       # a dated snapshot id
    ("claude-sonnet-5-5[1m]", 2.0),            # the 1M-context variant
    ("claude-sonnet-5", 2.0),
    ("claude-opus-4-1-20250805", 15.0),        # not priced as the newer, cheaper claude-opus-4-5..
    ("claude-opus-4-20250514", 15.0),
    ("claude-opus-4-5", 5.0),
    ("claude-haiku-4-5-20251001", 1.0),
    ("CLAUDE-HAIKU-4-5", 1.0),
])
def test_model_ids_match_the_longest_known_prefix(model, expected_input):
    price = PriceTable().price_for(model)
    assert price is not None and price.input == expected_input


@pytest.mark.parametrize("model", ["claude-sonnet-55", "claude-fake", "gpt-unknown", "", None])
def test_unknown_model_gives_tokens_only(model):
    estimate = PriceTable().estimate(model, USAGE)
    assert estimate.usd is None and not estimate.priced


def test_standard_multipliers():
    price = standard_price(4, 20)
    assert (price.cache_write, price.cache_write_1h, price.cache_read) == (5.0, 8.0, 0.4)


def test_default_table_is_dated():
    table = load_price_table(None)
    assert table.as_of == PRICES_AS_OF
    assert table.price_for("claude-sonnet-5-5") is not None


def test_user_file_adds_and_replaces_prices(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text('as_of = 2027-01-15\n'
                    '[models."claude-sonnet-5-5"]\ninput = 1.0\noutput = 5.0\n'
                    '[models."my-gateway-model"]\ninput = 0.5\noutput = 1.5\ncache_read = 0.5\n',
                    encoding="utf-8")
    table = load_price_table(path)
    assert "2027-01-15" in table.as_of and "prices.toml" in table.as_of
    sonnet = table.price_for("claude-sonnet-5-5")
    assert (sonnet.input, sonnet.output, sonnet.cache_write, sonnet.cache_read) == (1.0, 5.0, 1.25, 0.1)
    assert table.estimate("my-gateway-model", {"cache_read_input_tokens": 2_000_000}).usd == 1.0
    # Entries not in the file keep the built-in price.
    assert table.price_for("claude-opus-5").input == 5.0


def test_json_price_file(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text('{"models": {"claude-opus-5": {"input": 1, "output": 2}}}', encoding="utf-8")
    assert load_price_table(path).price_for("claude-opus-5").output == 2.0


@pytest.mark.parametrize("text, complaint", [
    ("models = 3", "'models' table"),
    ('[models."m"]\ninput = 1\n', "at least 'input' and 'output'"),
    ('[models."m"]\ninput = 1\noutput = 2\ncache_reads = 1\n', "unknown price field"),
    ('[models."m"]\ninput = "cheap"\noutput = 2\n', "must be a price"),
    ('[models."m"]\ninput = -1\noutput = 2\n', "must be a price"),
    ("[models\n", "not valid TOML"),
])
def test_bad_price_file_is_a_usage_error(tmp_path, text, complaint):
    path = tmp_path / "prices.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=complaint):
        load_price_table(path)


def test_missing_price_file_is_a_usage_error(tmp_path):
    with pytest.raises(InputError, match="cannot read the price file"):
        load_price_table(tmp_path / "nope.toml")
