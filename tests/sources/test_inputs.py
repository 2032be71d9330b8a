"""List files, duplicates, caption-file entries and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from yt_study_buddy.errors import InputError
from yt_study_buddy.sources.inputs import Entry, collect_entries, read_list_file, resolve_sources

A, B = "aaaaaaaaaaa", "bbbbbbbbbbb"


def test_list_file_skips_blanks_and_comments(tmp_path):
    f = tmp_path / "urls.txt"
    f.write_text(f"# my playlist\n\nhttps://youtu.be/{A}\n   \n  # indented comment\n{B}\n", encoding="utf-8")
    entries = read_list_file(f)
    assert [e.text for e in entries] == [f"https://youtu.be/{A}", B]
    assert entries[1].origin == "urls.txt:6"


def test_duplicates_are_processed_once():
    entries = collect_entries([A, f"https://www.youtube.com/watch?v={A}&t=3", f"https://youtu.be/{A}", B])
    sources, rejected = resolve_sources(entries)
    assert [s.video_id for s in sources] == [A, B]
    assert not rejected


def test_bad_entries_are_rejected_and_good_ones_kept(tmp_path):
    f = tmp_path / "urls.txt"
    f.write_text(f"{A}\nhttps://vimeo.com/1\nnot a link\n{'x' * 5000}\n{B}\n", encoding="utf-8")
    sources, rejected = resolve_sources(read_list_file(f))
    assert [s.video_id for s in sources] == [A, B]
    assert len(rejected) == 3
    assert "urls.txt:2" in rejected[0].error.reason
    assert "too long" in rejected[2].error.reason


@pytest.mark.parametrize("content, fragment", [
    (b"", "has no links"),
    (b"# only comments\n\n", "has no links"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "binary"),
    (b"\xff\xfe\xfa not utf8", "not UTF-8"),
])
def test_unusable_list_files(tmp_path, content, fragment):
    f = tmp_path / "list.txt"
    f.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_list_file(f)
    assert fragment in info.value.reason


def test_missing_list_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_list_file(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="not a file"):
        read_list_file(tmp_path)


def test_ten_thousand_lines(tmp_path):
    import string
    alphabet = string.ascii_letters + string.digits
    ids = ["".join(alphabet[(i * 7 + k * 13) % len(alphabet)] for k in range(6)) + f"{i:05d}" for i in range(10_000)]
    f = tmp_path / "big.txt"
    f.write_text("\n".join(ids + ids[:50]), encoding="utf-8")
    sources, rejected = resolve_sources(read_list_file(f))
    assert len(sources) == 10_000 and not rejected


def test_playlist_expands_through_given_function():
    calls = []

    def expand(url):
        calls.append(url)
        return [A, B, A]

    sources, rejected = resolve_sources([Entry("https://www.youtube.com/playlist?list=PLabcdefghij")], expand)
    assert [s.video_id for s in sources] == [A, B] and calls and not rejected


def test_caption_file_entries_relative_to_list(tmp_path):
    lectures = tmp_path / "lectures"
    lectures.mkdir()
    (lectures / "one.vtt").write_text("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nHello there\n", encoding="utf-8")
    (lectures / "list.txt").write_text("one.vtt\nmissing.srt\n", encoding="utf-8")
    sources, rejected = resolve_sources(read_list_file(lectures / "list.txt"))
    assert len(sources) == 1 and sources[0].is_local
    assert sources[0].video_id.startswith("local-")
    assert "caption file not found" in rejected[0].error.reason


def test_link_list_given_as_a_caption_file_is_rejected_with_a_hint(tmp_path):
    f = tmp_path / "urls.txt"
    f.write_text(f"# mine\nhttps://youtu.be/{A}\n{B}\n", encoding="utf-8")
    sources, rejected = resolve_sources([Entry(str(f))])
    assert not sources
    assert "use --file" in rejected[0].error.reason


def test_malformed_playlist_link_is_rejected_by_name():
    sources, rejected = resolve_sources([Entry("https://www.youtube.com/playlist?list=bad!")],
                                        expand_playlist=lambda url: [A])
    assert not sources and "malformed playlist link" in rejected[0].error.reason


def test_a_list_of_caption_files_given_as_a_caption_file_is_rejected_with_a_hint(tmp_path):
    """`youtube-study-buddy examples/lectures.txt`: a list of paths, not a transcript."""
    import shutil

    examples = Path(__file__).resolve().parents[2] / "examples"
    listing = tmp_path / "lectures.txt"
    shutil.copy(examples / "lectures.txt", listing)
    (tmp_path / "paths.txt").write_text("/srv/lectures/week1.vtt\n../week2.srt\nC:\\captions\\week3.txt\n"
                                        "https://example.org/week4.vtt\n", encoding="utf-8")
    for name in ("lectures.txt", "paths.txt"):
        sources, rejected = resolve_sources([Entry(str(tmp_path / name))])
        assert not sources, name
        assert "use --file" in rejected[0].error.reason and name in rejected[0].error.reason


def test_a_transcript_with_short_lines_is_still_a_transcript(tmp_path):
    f = tmp_path / "talk.txt"
    f.write_text("Okay.\nSo.\nToday we look at gradient descent and why it works.\nRight?\n", encoding="utf-8")
    sources, rejected = resolve_sources([Entry(str(f))])
    assert len(sources) == 1 and not rejected


def test_a_huge_caption_file_is_refused_before_it_is_read(tmp_path):
    """The size is checked first: a 300 MB file never reaches memory (it once did, whole)."""
    import subprocess
    import sys

    from tests.guard.loopback import guarded_env

    huge = tmp_path / "huge.vtt"
    with huge.open("wb") as handle:
        handle.truncate(300 * 1024 * 1024)
    script = (
        "import resource, sys\n"
        "from yt_study_buddy.sources.inputs import Entry, resolve_sources\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"sources, rejected = resolve_sources([Entry({str(huge)!r})])\n"
        "grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(grew // 1024, rejected[0].error.reason)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env=guarded_env())
    assert proc.returncode == 0, proc.stderr
    grew_mb, reason = proc.stdout.split(" ", 1)
    assert "20 MB" in reason and "huge.vtt" in reason
    assert int(grew_mb) < 50, f"resolving the entry grew memory by {grew_mb} MB"


def test_a_caption_folder_or_pipe_is_not_called_missing(tmp_path):
    import os

    (tmp_path / "week1.vtt").mkdir()
    os.mkfifo(tmp_path / "live.srt")
    sources, rejected = resolve_sources([Entry(str(tmp_path / "week1.vtt")), Entry(str(tmp_path / "live.srt"))])
    assert not sources
    assert "folder" in rejected[0].error.reason and "pipe" in rejected[1].error.reason
    assert not any("not found" in r.error.reason for r in rejected)
