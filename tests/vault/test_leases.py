"""Claims on videos: live while their run lives, stale after a crash, a pid reused, or the TTL."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest

from yt_study_buddy.errors import Cancelled, VaultError
from yt_study_buddy.vault.leases import LEASE_TTL, Leases
from yt_study_buddy.vault.store import HIDDEN_DIR, Vault

VID = "aaaaaaaaaaa"


def plant(vault: Vault, **fields) -> None:
    record = {"host": socket.gethostname(), "pid": os.getpid(), "run": "elsewhere", "claimed_at": time.time()}
    record.update(fields)
    folder = vault.hidden / "leases"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{VID}.json").write_text(json.dumps(record), encoding="utf-8")


def test_claim_release_and_a_second_run_kept_out(tmp_path):
    vault = Vault(tmp_path)
    mine, theirs = Leases(vault), Leases(vault)
    assert mine.try_claim(VID) is None and mine.try_claim(VID) is None  # re-claiming is fine
    assert theirs.try_claim(VID)["run"] == mine.run
    theirs.release(VID)  # not theirs: a no-op
    assert mine.path_for(VID).exists()
    mine.release(VID)
    assert not mine.path_for(VID).exists() and theirs.try_claim(VID) is None


@pytest.mark.parametrize("fields, live", [
    ({}, True),                                                   # another run of this very process
    ({"started": "not when this process started"}, False),       # a crashed process whose pid we got
    ({"claimed_at": time.time() - LEASE_TTL - 1}, False),        # too old, whoever holds it
    ({"host": "another-machine"}, True),                         # can't be checked: trusted until the TTL
    ({"host": "another-machine", "claimed_at": 0}, False),
    ({"pid": "garbage"}, False),                                  # damaged: nobody's
])
def test_which_claims_are_live(tmp_path, fields, live):
    vault = Vault(tmp_path)
    me = Leases(vault)
    plant(vault, **{"started": me._record()["started"], **fields})
    assert (me.try_claim(VID) is not None) == live


def test_waiting_is_cancellable(tmp_path):
    vault = Vault(tmp_path)
    Leases(vault).try_claim(VID)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(Cancelled):
        Leases(vault).claim(VID, cancel)


def test_a_link_in_place_of_the_leases_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "vault"
    (root / HIDDEN_DIR).mkdir(parents=True)
    (root / HIDDEN_DIR / "leases").symlink_to(outside, target_is_directory=True)
    with pytest.raises(VaultError, match="link"):
        Leases(Vault(root)).try_claim(VID)
    assert list(outside.iterdir()) == []
