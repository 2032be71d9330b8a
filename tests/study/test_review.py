"""FSRS review of the vault's cards: what is due, ratings, state on disk, concurrent raters."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import fsrs
import pytest

from tests.study.conftest import build_vault
from yt_study_buddy.errors import InputError, VaultError
from yt_study_buddy.study.review import RATINGS, ReviewQueue

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def queue(root) -> ReviewQueue:
    # No fuzz: intervals are exact, so the test can say when a card comes back.
    return ReviewQueue(root, scheduler=fsrs.Scheduler(enable_fuzzing=False))


def test_new_cards_are_due_and_counted_per_subject(example_vault):
    q = queue(example_vault)
    cards = q.cards()
    counts = {c.subject: c for c in q.counts(now=NOW)}
    assert set(counts) == {"Biology", "Machine Learning"}
    assert sum(c.total for c in counts.values()) == len(cards)
    assert all(c.new == c.total and c.due == 0 and c.to_study == c.total for c in counts.values())
    assert q.due(now=NOW) == cards
    assert all(c.subject == "Biology" for c in q.due("Biology", now=NOW))
    assert not (example_vault / ".study-buddy" / "review.json").exists()  # reading writes nothing


def test_ratings_schedule_cards_and_persist(example_vault):
    q = queue(example_vault)
    good, again, easy = q.due("Biology", now=NOW)[:3]
    next_good = q.rate(good, "good", now=NOW)
    next_again = q.rate(again, "again", now=NOW)
    next_easy = q.rate(easy, "easy", now=NOW)
    assert NOW < next_again < next_good < next_easy
    assert next_again - NOW <= timedelta(minutes=1) and next_easy - NOW >= timedelta(days=1)

    fresh = queue(example_vault)  # another session, same vault: the state is on disk
    due_now = fresh.due("Biology", now=NOW)
    assert good not in due_now and again not in due_now and easy not in due_now
    biology = next(c for c in fresh.counts(now=NOW) if c.subject == "Biology")
    assert biology.new == biology.total - 3 and biology.due == 0
    # When their time comes, reviewed cards come first, the longest overdue first.
    later = fresh.due("Biology", now=NOW + timedelta(minutes=30))
    assert later[:2] == [again, good]
    assert fresh.due("Biology", now=NOW + timedelta(days=400))[:3] == [again, good, easy]

    state = json.loads((example_vault / ".study-buddy" / "review.json").read_text())
    assert state["version"] == 1 and len(state["cards"]) == 3
    assert state["cards"][good.key]["reviews"] == 1 and state["cards"][good.key]["video_id"] == good.video_id
    assert [p.name for p in (example_vault / ".study-buddy").iterdir() if p.name.endswith(".tmp")] == []


def test_review_history_survives_a_forced_rerun(example_vault):
    q = queue(example_vault)
    card = q.due(now=NOW)[0]
    q.rate(card, "good", now=NOW)
    build_vault(example_vault, force=True)
    assert card.key in {c.key for c in q.cards()}
    assert card.key not in {c.key for c in q.due(now=NOW)}


def test_a_bad_rating_is_refused(example_vault):
    q = queue(example_vault)
    with pytest.raises(InputError, match="again, hard, good, easy"):
        q.rate(q.due(now=NOW)[0], "perfect")
    assert RATINGS == ("again", "hard", "good", "easy")


@pytest.mark.parametrize("junk", ["{not json", "[1, 2]", '{"cards": {"x": 5, "y": {"fsrs": {"bad": 1}}}}'])
def test_unreadable_state_starts_fresh_instead_of_failing(example_vault, junk):
    path = example_vault / ".study-buddy" / "review.json"
    path.write_text(junk)
    q = queue(example_vault)
    assert len(q.due(now=NOW)) == len(q.cards())
    q.rate(q.due(now=NOW)[0], "good", now=NOW)
    assert json.loads(path.read_text())["version"] == 1


def test_raters_in_parallel_never_lose_an_answer(example_vault):
    cards = queue(example_vault).due(now=NOW)[:16]
    barrier = threading.Barrier(len(cards))

    def rate(card):
        q = queue(example_vault)  # one queue per browser session
        barrier.wait()
        q.rate(card, "good", now=NOW)

    threads = [threading.Thread(target=rate, args=(c,)) for c in cards]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    state = json.loads((example_vault / ".study-buddy" / "review.json").read_text())
    assert set(state["cards"]) == {c.key for c in cards}


@pytest.mark.parametrize("name", ["review.lock", "review.json"])
def test_a_link_in_place_of_the_review_files_is_never_followed(example_vault, tmp_path, name):
    outside = tmp_path / "outside.txt"
    outside.write_text("someone else's file\n", encoding="utf-8")
    link = example_vault / ".study-buddy" / name
    link.unlink(missing_ok=True)
    link.symlink_to(outside)
    q = queue(example_vault)
    card = q.due(now=NOW)[0]
    with pytest.raises(VaultError, match="link"):
        q.rate(card, "good", now=NOW)
    assert outside.read_text(encoding="utf-8") == "someone else's file\n" and link.is_symlink()
