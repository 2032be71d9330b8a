"""Cost you can see: usage and dollars on every job-log record, the batch summary, --budget."""

from __future__ import annotations

import json

import pytest

from tests.fakes.anthropic import DEFAULT_KEY
from tests.fakes.youtube import make_segments
from tests.test_pipeline import add_videos, make_app, vid
from yt_study_buddy import YouTubeStudyNotes
from yt_study_buddy.cli import main
from yt_study_buddy.notes.pricing import PRICES_AS_OF, PriceTable


def records(tmp_path, name="notes"):
    path = tmp_path / name / ".study-buddy" / "jobs.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_record_carries_its_usage_and_cost(tmp_path, fake_youtube, fake_anthropic):
    urls = add_videos(fake_youtube, 2)
    report = make_app(tmp_path, fake_youtube, fake_anthropic, model="claude-sonnet-5-5").process_urls(urls)
    assert report.ok
    table = PriceTable()
    for record in records(tmp_path):
        usage = record["usage"]
        assert usage["cache_creation_input_tokens"] > 0 and usage["cache_read_input_tokens"] > 0
        assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
        # The dollars are the price table's, from this very usage (Sonnet 5.5, standard API).
        assert record["cost_usd"] == pytest.approx(table.estimate("claude-sonnet-5-5", usage).usd)
        assert record["cost_usd"] > 0
        assert record["prices_as_of"] == PRICES_AS_OF and record["billing"] == "standard"
    total = sum(r["cost_usd"] for r in records(tmp_path))
    assert report.metrics.cost_usd == pytest.approx(total)
    lines = "\n".join(report.metrics.summary_lines())
    assert "written to cache" in lines and "read from cache" in lines and "% of input)" in lines
    assert f"Estimated cost: ${total:.4f} (prices as of {PRICES_AS_OF})" in lines


def test_an_unknown_model_gives_tokens_only_and_says_so(tmp_path, fake_youtube, fake_anthropic):
    urls = add_videos(fake_youtube, 1)
    report = make_app(tmp_path, fake_youtube, fake_anthropic, model="claude-unreleased-9").process_urls(urls)
    assert report.ok
    [record] = records(tmp_path)
    assert record["cost_usd"] is None and record["usage"]["output_tokens"] > 0
    lines = report.metrics.summary_lines()
    assert not any(line.startswith("Estimated cost") for line in lines)
    assert any("No price known for model claude-unreleased-9: tokens only" in line for line in lines)


def test_a_price_file_overrides_the_table(tmp_path, fake_youtube, fake_anthropic, monkeypatch):
    prices = tmp_path / "prices.toml"
    prices.write_text('as_of = "2027-02-01"\n[models."claude-unreleased-9"]\ninput = 1\noutput = 1\n'
                      'cache_write = 1\ncache_read = 1\n', encoding="utf-8")
    monkeypatch.setenv("YT_STUDY_BUDDY_PRICES", str(prices))
    monkeypatch.setenv("ANTHROPIC_API_KEY", DEFAULT_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)
    monkeypatch.setenv("YT_STUDY_BUDDY_YOUTUBE_URL", fake_youtube.base_url)
    urls = add_videos(fake_youtube, 1)
    app = YouTubeStudyNotes(base_dir=tmp_path / "notes", engine="claude", model="claude-unreleased-9",
                            delay=0)
    report = app.process_urls(urls)
    [record] = records(tmp_path)
    usage = record["usage"]
    # $1 per million tokens of every kind.
    assert record["cost_usd"] == pytest.approx(sum(usage[k] for k in (
        "input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")) / 1e6)
    assert "2027-02-01" in record["prices_as_of"] and "2027-02-01" in "\n".join(report.metrics.summary_lines())


def test_a_broken_price_file_is_a_usage_error(tmp_path, monkeypatch, capsys):
    prices = tmp_path / "prices.toml"
    prices.write_text("[models\n", encoding="utf-8")
    monkeypatch.setenv("YT_STUDY_BUDDY_PRICES", str(prices))
    assert main(["examples/none.vtt", "-o", str(tmp_path / "v")]) == 2
    assert "price file prices.toml is not valid TOML" in capsys.readouterr().err


def test_budget_stops_starting_videos_and_keeps_finished_work(tmp_path, fake_youtube, fake_anthropic):
    urls = add_videos(fake_youtube, 6)
    # Learn what one video costs, in another vault.
    probe = make_app(tmp_path, fake_youtube, fake_anthropic, name="probe").process_urls(urls[:1])
    one = probe.results[0].cost_usd
    assert one and one > 0
    # The first estimate is rough (a typical answer, longer than the fake's); once a
    # video is done the estimate follows what videos really cost.
    app = make_app(tmp_path, fake_youtube, fake_anthropic, budget=one * 3.5)
    report = app.process_urls(urls)

    done = [r for r in report.results if r.ok]
    unfinished = [r for r in report.results if r.not_finished]
    assert 2 <= len(done) <= 3 and len(done) + len(unfinished) == 6
    assert report.metrics.cost_usd <= one * 3.5
    assert report.stop_reason.startswith("batch stopped: budget of $") and "spent" in report.stop_reason
    # Unfinished videos are in the log as retryable, so --retry-failed does the rest.
    logged = {r["video_id"]: r for r in records(tmp_path)}
    assert all(logged[r.video_id]["retryable"] for r in unfinished)
    assert len(app.retryable_failures()) == len(unfinished)
    # Finished notes are there.
    assert all(r.filepath and (tmp_path / "notes").exists() for r in done)


def test_budget_with_an_unpriced_model_is_refused_before_paying(tmp_path, fake_youtube, fake_anthropic):
    urls = add_videos(fake_youtube, 1)
    report = make_app(tmp_path, fake_youtube, fake_anthropic, model="claude-unreleased-9",
                      budget=1.0).process_urls(urls)
    assert not report.ok and fake_anthropic.count == 0
    assert "needs the price of model 'claude-unreleased-9'" in report.stop_reason


def test_cli_budget_flag_and_summary(tmp_path, fake_youtube, fake_anthropic, monkeypatch, capsys):
    fake_youtube.add_video(vid(0), title="Budget Lecture", segments=make_segments(["budget", "cost"], 30))
    monkeypatch.setenv("ANTHROPIC_API_KEY", DEFAULT_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)
    monkeypatch.setenv("YT_STUDY_BUDDY_YOUTUBE_URL", fake_youtube.base_url)
    code = main([f"https://youtu.be/{vid(0)}", "-o", str(tmp_path / "v"), "--delay", "0",
                 "--budget", "0.001"])
    out = capsys.readouterr().out
    assert code == 1
    assert "Stopped: batch stopped: budget of $0.00 reached" in out
    assert fake_anthropic.count == 0
    code = main([f"https://youtu.be/{vid(0)}", "-o", str(tmp_path / "v"), "--delay", "0", "--budget", "5"])
    out = capsys.readouterr().out
    assert code == 0 and "Estimated cost: $" in out and "read from cache" in out


@pytest.mark.parametrize("value", ["0", "-1", "free"])
def test_cli_bad_budget_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as info:
        main(["x", "--budget", value])
    assert info.value.code == 2 and "--budget" in capsys.readouterr().err
