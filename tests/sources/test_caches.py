"""The transcript cache in the vault's hidden folder."""

from __future__ import annotations

import json

import pytest

from yt_study_buddy.models import Segment, Transcript
from yt_study_buddy.sources.caches import TranscriptCache
from yt_study_buddy.vault.store import Vault


def transcript(vid="dQw4w9WgXcQ", lang="en", method="yt-dlp"):
    return Transcript(vid, [Segment(0.0, 1.5, "hello"), Segment(1.5, 2.0, "wörld 🚀")], language_code=lang,
                      language="English", is_generated=True, method=method)


def test_round_trip_keeps_everything(tmp_path):
    cache = TranscriptCache(Vault(tmp_path))
    original = transcript()
    cache.put(original)
    path = tmp_path / ".study-buddy" / "transcripts" / "dQw4w9WgXcQ.json"
    assert json.loads(path.read_text(encoding="utf-8")) == original.to_dict()
    again = TranscriptCache(Vault(tmp_path)).get("dQw4w9WgXcQ", ["en"])
    assert again == original and again.method == "yt-dlp"
    assert [p.name for p in path.parent.iterdir()] == ["dQw4w9WgXcQ.json"]  # no temp files left


def test_miss_when_absent(tmp_path):
    cache = TranscriptCache(Vault(tmp_path))
    assert cache.get("dQw4w9WgXcQ", ["en"]) is None
    assert not tmp_path.joinpath(".study-buddy").exists()


@pytest.mark.parametrize("cached,wanted,hit", [
    ("en", ["en"], True),
    ("en", ["de", "en"], True),
    ("en", ["de"], False),
    ("en-US", ["en"], True),
    ("en", ["en-GB"], False),
    ("EN", ["en"], True),
    ("de", [], True),
])
def test_only_a_fitting_language_is_returned(tmp_path, cached, wanted, hit):
    cache = TranscriptCache(Vault(tmp_path))
    cache.put(transcript(lang=cached))
    assert (cache.get("dQw4w9WgXcQ", wanted) is not None) is hit


@pytest.mark.parametrize("damage", ["", "{", "[]", '{"video_id": "dQw4w9WgXcQ"}',
                                    '{"video_id": "other", "segments": [[0, 1, "x"]]}',
                                    '{"video_id": "dQw4w9WgXcQ", "segments": []}'])
def test_damaged_or_foreign_entries_are_misses(tmp_path, damage):
    cache = TranscriptCache(Vault(tmp_path))
    cache.put(transcript())
    cache.path_for("dQw4w9WgXcQ").write_text(damage, encoding="utf-8")
    assert cache.get("dQw4w9WgXcQ", ["en"]) is None


def test_odd_ids_stay_inside_the_cache_folder(tmp_path):
    cache = TranscriptCache(Vault(tmp_path))
    for vid in ("../../escape", "local/abc", "a" * 300, "CON"):
        cache.put(transcript(vid=vid))
        path = cache.path_for(vid)
        assert path.parent == tmp_path / ".study-buddy" / "transcripts"
        assert cache.get(vid, ["en"]).video_id == vid
    assert not (tmp_path.parent / "escape.json").exists()


def test_metadata_round_trip_and_damage(tmp_path):
    from yt_study_buddy.models import VideoMeta
    from yt_study_buddy.sources.caches import MetaCache

    cache = MetaCache(Vault(tmp_path))
    assert cache.get("dQw4w9WgXcQ") is None
    meta = VideoMeta(video_id="dQw4w9WgXcQ", title="A <b>title</b>", channel="C", url="u")
    cache.put(meta)
    assert MetaCache(Vault(tmp_path)).get("dQw4w9WgXcQ") == meta
    (tmp_path / ".study-buddy" / "metadata" / "dQw4w9WgXcQ.json").write_text("[1, 2]", encoding="utf-8")
    assert cache.get("dQw4w9WgXcQ") is None  # damaged: fetch again
