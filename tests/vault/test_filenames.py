"""safe_filename: hostile titles become names every OS accepts, and Obsidian can link to."""

from __future__ import annotations

import unicodedata

import pytest

from yt_study_buddy.vault.filenames import RESERVED_NAMES, clean_title, safe_filename

HOSTILE = [
    "../../x",
    "..",
    "...",
    "CON",
    "con",
    "aux.txt",
    "Nul.tar.gz",
    "COM1",
    "lpt9.md",
    "a/b\\c",
    'What? <Really> "yes" | no * maybe: ok',
    "C# [basics] ^1",
    "tab\there\nnewline\r\x00nul\x1fctl\x7f",
    "  .hidden file.  ",
    "\u202etxt.exe",
    "🚀 Rockets & 👩‍🔬 scientists",
    "שלום עולם: מבוא",
    "مقدمة في التعلم الآلي",
    "x" * 500,
    "é" * 500,
    "😀" * 200,
    "👩‍🔬" * 60,
    "",
    "   ",
    "???",
]


def _assert_safe(name: str, max_bytes: int = 150) -> None:
    assert name, "empty name"
    assert not set(name) & set('/\\:*?"<>|#^[]'), name
    assert ".." not in name
    assert name == name.strip(" ."), name
    assert len(name.encode("utf-8")) <= max_bytes + 1  # +1: a reserved-name suffix on a short name
    assert all(unicodedata.category(c) not in ("Cc", "Cs") for c in name)
    assert "\u202e" not in name
    assert name.split(".")[0].strip().upper() not in RESERVED_NAMES, name
    assert unicodedata.normalize("NFC", name) == name
    assert not name.endswith("\u200d")


@pytest.mark.parametrize("title", HOSTILE)
def test_hostile_titles_become_safe_names(title, tmp_path):
    name = safe_filename(title)
    _assert_safe(name)
    # The name works as a real file, inside the folder it was meant for.
    path = tmp_path / f"{name}.md"
    path.write_text("ok", encoding="utf-8")
    assert path.resolve().parent == tmp_path.resolve()
    assert safe_filename(title) == name  # deterministic


def test_traversal_cannot_escape():
    assert "/" not in safe_filename("../../x") and ".." not in safe_filename("../../x")
    assert safe_filename("..") not in ("..", ".", "")


@pytest.mark.parametrize("title,expected", [
    ("CON", "CON_"),
    ("aux.txt", "aux_.txt"),
    ("com1", "com1_"),
    ("Console", "Console"),  # only the exact reserved stem is special
    ("LPT1 notes", "LPT1 notes"),
])
def test_reserved_windows_names_get_a_suffix(title, expected):
    assert safe_filename(title) == expected


def test_emoji_and_rtl_are_kept():
    assert "🚀" in safe_filename("🚀 Rockets")
    assert "👩‍🔬" in safe_filename("👩‍🔬 lab")
    assert safe_filename("שלום עולם") == "שלום עולם"
    assert safe_filename("مقدمة") == "مقدمة"


def test_nfc_normalised():
    assert safe_filename("Cafe\u0301") == "Café"
    assert safe_filename("Cafe\u0301") == safe_filename("Caf\u00e9")


@pytest.mark.parametrize("title", ["é" * 500, "😀" * 200, "a" + "中" * 300, "👩‍🔬" * 60])
def test_length_capped_without_splitting_characters(title):
    for limit in (150, 37, 64, 101):
        name = safe_filename(title, max_bytes=limit)
        encoded = name.encode("utf-8")
        assert len(encoded) <= limit
        assert encoded.decode("utf-8") == name
        assert title.startswith(name)  # a clean prefix: no replacement characters


def test_empty_and_junk_become_untitled():
    for junk in ("", "   ", "???", "..", " . ", "\x00\x01", "<>"):
        assert safe_filename(junk) in ("Untitled", "…"), junk
    assert safe_filename("") == "Untitled"
    assert safe_filename("???") == "Untitled"


def test_readable_replacements():
    assert safe_filename("Part 1: Intro?") == "Part 1 - Intro"
    assert safe_filename("a/b\\c") == "a-b-c"
    assert safe_filename("Wait... what") == "Wait… what"


def test_clean_title_is_one_line():
    assert clean_title("  A\ttitle\nwith\r\nbreaks\x00 ") == "A title with breaks"
