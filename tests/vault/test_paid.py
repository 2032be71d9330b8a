"""Paid work kept in the vault: generated notes and the Message Batch ledger (untrusted on read)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from yt_study_buddy.models import NotesResult
from yt_study_buddy.vault.paid import BatchLedger, GeneratedWork
from yt_study_buddy.vault.store import Vault


def test_ledger_records_looks_up_and_forgets(tmp_path):
    ledger = BatchLedger(Vault(tmp_path))
    assert ledger.lookup("vid-notes-abc") is None
    ledger.record("msgbatch_1", {"vid-notes-abc": "vid", "vid-study-abc": "vid", "other-notes-abc": "other"})
    ledger.record("msgbatch_2", {"vid-notes-abc": "vid"})  # sent again after an error
    assert ledger.lookup("vid-notes-abc") == "msgbatch_2"  # the newest
    assert ledger.lookup("vid-study-abc") == "msgbatch_1"
    ledger.forget(video_id="vid")
    assert ledger.lookup("vid-notes-abc") is None and ledger.lookup("other-notes-abc") == "msgbatch_1"
    data = json.loads(ledger.path.read_text(encoding="utf-8"))
    assert list(data["batches"]) == ["msgbatch_1"]  # a batch with nothing left is dropped


def test_ledger_ignores_what_it_did_not_write(tmp_path):
    vault = Vault(tmp_path)
    ledger = BatchLedger(vault)
    vault.ensure_hidden()
    old = (datetime.now(timezone.utc) - timedelta(days=30)).isoformat()
    now = datetime.now(timezone.utc).isoformat()
    ledger.path.write_text(json.dumps({"batches": {
        "../../etc/passwd": {"created_at": now, "requests": {"a": "v"}},  # not an id: never followed
        "msgbatch_old": {"created_at": old, "requests": {"b": "v"}},      # results are gone after 29 days
        "msgbatch_ok": {"created_at": now, "requests": {"c": "v", "bad id!": "v", "d": 3}},
        "msgbatch_naive": {"created_at": "2026-01-01T00:00:00", "requests": {"e": "v"}},
    }}), encoding="utf-8")
    assert [ledger.lookup(k) for k in ("a", "b", "c", "bad id!", "d", "e")] == \
        [None, None, "msgbatch_ok", None, None, None]
    ledger.path.write_text("not json", encoding="utf-8")
    assert ledger.lookup("c") is None


def test_generated_work_round_trip_without_usage(tmp_path):
    work = GeneratedWork(Vault(tmp_path))
    notes = NotesResult(markdown="# x", concepts=["a"], engine="claude", model="m", usage={"output_tokens": 5})
    work.save("vid", "claude", "m", notes, None)
    loaded, assessment, draft = work.load("vid", "claude", "m")
    assert loaded.markdown == "# x" and loaded.usage == {} and assessment is None and draft is None
    assert work.load("vid", "claude", "other-model") == (None, None, None)
    work.drop("vid")
    assert work.load("vid", "claude", "m") == (None, None, None)
