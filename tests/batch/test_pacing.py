"""RatePacer: the batch's shared view of the API's token buckets, read from anthropic-ratelimit-* headers."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from yt_study_buddy.batch.pacing import RatePacer, TokenBucket
from yt_study_buddy.errors import Cancelled


def headers(requests=(60, 60), input_tokens=(6000, 6000), output_tokens=(600, 600)) -> dict[str, str]:
    out = {}
    for family, (limit, remaining) in (("requests", requests), ("input-tokens", input_tokens),
                                       ("output-tokens", output_tokens)):
        out[f"anthropic-ratelimit-{family}-limit"] = str(limit)
        out[f"anthropic-ratelimit-{family}-remaining"] = str(remaining)
    return out


def known(**kw) -> RatePacer:
    pacer = RatePacer()
    pacer.settle(pacer.acquire({"requests": 1}), None, headers(**kw))
    return pacer


def test_bucket_refills_continuously_up_to_its_size():
    bucket = TokenBucket(capacity=600, level=0, updated=0.0)
    assert bucket.seconds_until(100, now=0.0) == pytest.approx(10.0)  # 600/min = 10 a second
    bucket.refill(5.0)
    assert bucket.level == pytest.approx(50)
    bucket.refill(500.0)
    assert bucket.level == 600
    assert bucket.seconds_until(10_000, now=500.0) == 0.0  # more than it holds: wait until full


def test_the_first_call_goes_alone_until_its_answer_starts():
    pacer = RatePacer()
    first = pacer.acquire({"requests": 1, "output_tokens": 500})
    assert first.probe
    got: list[float] = []
    second = threading.Thread(target=lambda: got.append(pacer.acquire({"requests": 1}).waited))
    second.start()
    second.join(0.3)
    assert second.is_alive()  # waits for the first answer's headers
    # The stream's headers (as it starts) count the first call's held output...
    pacer.observe(headers(output_tokens=(600, 100)))
    second.join(5)
    assert got and got[0] >= 0.25 and pacer.active
    # ...and what it did not use comes back when it ends.
    pacer.settle(first, {"requests": 1, "output_tokens": 100})
    assert pacer.snapshot()["output_tokens"][0] == pytest.approx(500, abs=3)


def test_a_service_without_bucket_headers_is_not_paced():
    pacer = RatePacer()
    pacer.settle(pacer.acquire({"requests": 1}), {"requests": 1})
    assert pacer.acquire({"requests": 1}).waited < 0.05 and not pacer.active


def test_a_call_the_bucket_cannot_take_waits_for_the_refill():
    pacer = known(input_tokens=(600, 0))  # empty, refilling 10 tokens a second
    reservation = pacer.acquire({"requests": 1, "input_tokens": 5})
    assert reservation.waited >= 0.45  # lower bound only: a busy machine is slower
    assert pacer.waits == 1


def test_settle_gives_back_what_was_not_used_and_all_of_a_refusal():
    pacer = known()
    taken = pacer.acquire({"requests": 1, "input_tokens": 1000, "output_tokens": 500})
    level = pacer.snapshot()["output_tokens"][0]
    assert level == pytest.approx(100, abs=2)
    pacer.settle(taken, {"requests": 1, "input_tokens": 800, "output_tokens": 120})
    after = pacer.snapshot()
    assert after["output_tokens"][0] == pytest.approx(480, abs=2)
    assert after["input_tokens"][0] == pytest.approx(5200, abs=5)
    refused = pacer.acquire({"requests": 1, "input_tokens": 1000})
    pacer.settle(refused, None)  # a 429: nothing was used
    assert pacer.snapshot()["input_tokens"][0] == pytest.approx(5200, abs=5)


def test_headers_lower_the_local_view_never_raise_it():
    pacer = known()
    pacer.observe(headers(input_tokens=(6000, 1000)))  # another program uses the key too
    assert pacer.snapshot()["input_tokens"][0] == pytest.approx(1000, abs=5)
    pacer.observe(headers(input_tokens=(6000, 5000)))
    assert pacer.snapshot()["input_tokens"][0] == pytest.approx(1000, abs=5)


def test_a_bucket_size_is_inferred_from_reset_when_no_limit_is_sent():
    pacer = RatePacer()
    full_at = (datetime.now(timezone.utc) + timedelta(seconds=30)).isoformat()
    pacer.observe({"anthropic-ratelimit-input-tokens-remaining": "3000",
                   "anthropic-ratelimit-input-tokens-reset": full_at})
    level, capacity = pacer.snapshot()["input_tokens"]
    assert capacity == pytest.approx(6000, rel=0.05) and level == pytest.approx(3000, abs=10)


def test_callers_are_served_in_order():
    pacer = known(input_tokens=(600, 0))
    order: list[str] = []

    def take(name: str, amount: int) -> None:
        pacer.acquire({"input_tokens": amount})
        order.append(name)

    big = threading.Thread(target=take, args=("big", 8))
    big.start()
    time.sleep(0.1)
    small = threading.Thread(target=take, args=("small", 1))
    small.start()
    big.join(10)
    small.join(10)
    assert order == ["big", "small"]  # the small one did not jump the queue


def test_cancel_ends_a_wait():
    pacer = known(requests=(60, 0))
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    start = time.monotonic()
    with pytest.raises(Cancelled):
        pacer.acquire({"requests": 1, "input_tokens": 0}, cancel)
    assert time.monotonic() - start < 2


def test_a_long_wait_is_told_once():
    pacer = known(input_tokens=(600, 0))
    told: list[float] = []
    pacer.acquire({"input_tokens": 3}, on_wait=told.append)
    assert len(told) == 1 and 0.2 < told[0] <= 0.7  # 3 tokens (and a hair of margin) at 10 a second


def test_disabled_pacer_never_waits():
    pacer = RatePacer(enabled=False)
    pacer.observe(headers(requests=(60, 0)))
    assert pacer.acquire({"requests": 1}).waited < 0.05 and not pacer.active


def test_a_later_call_goes_ahead_when_it_does_not_delay_the_first():
    pacer = known(input_tokens=(600, 0))  # the input bucket is empty, the output bucket full
    order: list[str] = []

    def take(name: str, amounts: dict) -> None:
        pacer.acquire(amounts)
        order.append(name)

    big = threading.Thread(target=take, args=("big prompt", {"input_tokens": 8}))
    big.start()
    time.sleep(0.1)
    # Needs no input tokens: taking output tokens does not make the big prompt wait longer.
    small = threading.Thread(target=take, args=("output only", {"output_tokens": 10}))
    small.start()
    small.join(10)
    big.join(10)
    assert order == ["output only", "big prompt"]
