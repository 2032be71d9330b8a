"""The Anki export: a real .apkg opened with sqlite3: decks, notes, fields and stable GUIDs."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import genanki
import pytest

from tests.study.conftest import build_vault
from yt_study_buddy.cli.command import main
from yt_study_buddy.study.anki import MODEL_ID, PARENT_DECK_ID, deck_id, export_anki
from yt_study_buddy.study.deck import vault_cards


def read_apkg(path: Path, tmp_path: Path) -> dict:
    """Open a package's collection with sqlite3: decks by name, notes by GUID, note type ids."""
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == {"collection.anki2", "media"}
        db = tmp_path / f"{path.stem}.anki2"
        db.write_bytes(archive.read("collection.anki2"))
    conn = sqlite3.connect(db)
    try:
        decks = {d["name"]: int(d["id"]) for d in json.loads(conn.execute("select decks from col").fetchone()[0]).values()}
        models = {int(k) for k in json.loads(conn.execute("select models from col").fetchone()[0])}
        notes = {guid: (mid, flds.split("\x1f"), tags.split())
                 for guid, mid, flds, tags in conn.execute("select guid, mid, flds, tags from notes")}
        card_decks = dict(conn.execute("select n.guid, c.did from cards c join notes n on n.id = c.nid"))
    finally:
        conn.close()
    return {"decks": decks, "models": models, "notes": notes, "card_decks": card_decks}


def test_package_has_a_deck_per_subject_and_stable_guids(example_vault, tmp_path):
    cards = vault_cards(example_vault)
    assert len(cards) >= 20
    first = export_anki(example_vault, tmp_path / "one.apkg")
    second = export_anki(example_vault, tmp_path / "two.apkg")
    a, b = read_apkg(first.path, tmp_path), read_apkg(second.path, tmp_path)
    assert first.cards == len(cards) and first.decks == 2

    assert {n: i for n, i in a["decks"].items() if n != "Default"} == {
        "Study Buddy": PARENT_DECK_ID,
        "Study Buddy::Biology": deck_id("Biology"),
        "Study Buddy::Machine Learning": deck_id("Machine Learning"),
    }
    assert MODEL_ID in a["models"]
    # Re-importing updates instead of duplicating: the GUIDs, decks and fields are the same every time.
    assert a["decks"] == b["decks"] and a["notes"] == b["notes"]
    assert set(a["notes"]) == {genanki.guid_for(c.video_id, c.key) for c in cards}
    assert len(a["notes"]) == len(cards)

    by_guid = {genanki.guid_for(c.video_id, c.key): c for c in cards}
    for guid, (mid, (front, back, source), tags) in a["notes"].items():
        card = by_guid[guid]
        assert mid == MODEL_ID and a["card_decks"][guid] == deck_id(card.subject)
        assert front and back and card.title in source
        assert "study-buddy" in tags
        if card.card.cloze:
            assert "[...]" in front and 'class="cloze-term"' in back
    # Local caption files have no video to link to: the source is the title and moment, no link.
    assert not any("href" in fields[2] for _, fields, _ in a["notes"].values())


def test_a_forced_rerun_keeps_the_guids(example_vault, tmp_path):
    before = read_apkg(export_anki(example_vault, tmp_path / "before.apkg").path, tmp_path)
    build_vault(example_vault, force=True)
    after = read_apkg(export_anki(example_vault, tmp_path / "after.apkg").path, tmp_path)
    assert set(before["notes"]) == set(after["notes"])


def test_card_text_is_escaped_and_links_are_kept(tmp_path):
    note = tmp_path / "notes" / "Physics" / "Waves.md"
    note.parent.mkdir(parents=True)
    note.write_text(
        "---\ntype: study-note\ntitle: Waves <b>\nvideo_id: abcdefghijk\nsubject: Physics\n"
        "url: javascript:alert(1)\n---\n\n# Waves\n\n## Flashcards\n\n#flashcards/physics\n\n"
        "What is <script>alert(1)</script>?::A & B [1:05](https://youtu.be/abcdefghijk?t=65)\n\n"
        "No link here::none\n", encoding="utf-8")
    pkg = read_apkg(export_anki(tmp_path / "notes", tmp_path / "w.apkg").path, tmp_path)
    fields = sorted(f for _, f, _ in pkg["notes"].values())
    assert fields[0][0] == "No link here" and fields[0][2] == "Waves &lt;b&gt;"  # javascript: url dropped
    front, back, source = fields[1]
    assert front == "What is &lt;script&gt;alert(1)&lt;/script&gt;?" and back == "A &amp; B"
    assert source == '<a href="https://youtu.be/abcdefghijk?t=65">Waves &lt;b&gt; [1:05]</a>'


def test_cli_export_only_mode(example_vault, tmp_path, capsys):
    target = tmp_path / "out" / "deck.apkg"
    target.parent.mkdir()
    assert main(["-o", str(example_vault), "--anki", str(target)]) == 0
    out = capsys.readouterr().out
    assert f"written to {target}" in out and "2 subject decks" in out
    assert len(read_apkg(target, tmp_path)["notes"]) == len(vault_cards(example_vault))
    # Nothing else was written next to it: no temporary files left.
    assert sorted(p.name for p in target.parent.iterdir()) == ["deck.apkg"]


def test_cli_export_without_a_vault_is_a_usage_error(tmp_path, capsys):
    assert main(["-o", str(tmp_path / "missing"), "--anki", str(tmp_path / "x.apkg")]) == 2
    assert "nothing to export" in capsys.readouterr().err
    assert not (tmp_path / "x.apkg").exists() and not (tmp_path / "missing").exists()


@pytest.mark.parametrize("with_anki", [False, True])
def test_cli_closing_lines_say_how_to_study(tmp_path, capsys, with_anki):
    args = ["-o", str(tmp_path / "notes"), "--engine", "offline",
            str(Path(__file__).resolve().parents[2] / "examples" / "photosynthesis.vtt")]
    if with_anki:
        args += ["--anki", str(tmp_path / "cards.apkg")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Open folder as vault" in out and "Spaced Repetition" in out
    assert f"--anki flashcards.apkg" in out
    assert ("1 subject deck written to" in out) == with_anki


@pytest.mark.parametrize("where", ["a missing folder", "a folder"])
def test_cli_anki_target_is_checked_before_the_batch_and_no_folder_is_created(tmp_path, capsys, where):
    target = tmp_path / "typo" / "deck.apkg" if where == "a missing folder" else tmp_path
    lecture = str(Path(__file__).resolve().parents[2] / "examples" / "photosynthesis.vtt")
    assert main(["-o", str(tmp_path / "notes"), "--engine", "offline", lecture, "--anki", str(target)]) == 2
    assert "--anki" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists() and not (tmp_path / "notes").exists()  # no video was processed


def test_cli_anki_never_replaces_a_device_pipe_or_link(tmp_path, capsys, example_vault):
    """--anki /dev/null replaced the device node with a regular file (the write is an atomic rename)."""
    import os
    import stat

    pipe = tmp_path / "pipe.apkg"
    os.mkfifo(pipe)
    real = tmp_path / "real.apkg"
    real.write_bytes(b"keep")
    link = tmp_path / "link.apkg"
    link.symlink_to(real)
    for target in (pipe, link):
        assert main(["-o", str(example_vault), "--anki", str(target)]) == 2
        assert "not a regular file" in capsys.readouterr().err
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode) and link.is_symlink() and real.read_bytes() == b"keep"
