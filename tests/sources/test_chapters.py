"""Chapters: YouTube's description rules, yt-dlp's info, WebVTT chapter files, and the player response."""

from __future__ import annotations

import pytest

from tests.fakes.youtube import fake_youtube, make_segments  # noqa: F401 - fixture
from yt_study_buddy.models import Chapter, Transcript
from yt_study_buddy.sources.captions import load_caption_file
from yt_study_buddy.sources.chapters import (
    chapters_file_for,
    chapters_from_description,
    chapters_from_info,
    parse_chapters_vtt,
    with_local_chapters,
)
from yt_study_buddy.sources.youtube import YouTubeClient

# A description as lecturers write them: prose, links, then the list, then more prose.
DESCRIPTION = """\
Lecture 7 of the course. Slides: https://example.org/slides.pdf (see 12:30 for errata)

Chapters:
0:00 Introduction
2:15 - Gradient descent
(10:05) Learning rates
1. 25:40 | Momentum & Adam
Wrap-up and questions – 48:00

Recorded 12.03.2024 at 10:00. Thanks to everyone who came!
"""


def starts_titles(chapters):
    return [(c.start, c.title) for c in chapters]


def test_description_list_with_text_around_it():
    assert starts_titles(chapters_from_description(DESCRIPTION, duration=3600)) == [
        (0, "Introduction"), (135, "Gradient descent"), (605, "Learning rates"),
        (1540, "Momentum & Adam"), (2880, "Wrap-up and questions")]


@pytest.mark.parametrize("stamps, expected", [
    ("0:00 A\n1:00 B\n2:00 C", [0, 60, 120]),
    ("00:00 A\n01:00 B\n02:00 C", [0, 60, 120]),
    ("0:00:00 A\n0:45:00 B\n1:02:03 C", [0, 2700, 3723]),
    ("[00:00] A\n[05:00] B\n[1:02:03] C", [0, 300, 3723]),
    ("A 0:00\nB 1:00\nC 2:00", [0, 60, 120]),
])
def test_stamp_formats(stamps, expected):
    assert [c.start for c in chapters_from_description(stamps, duration=4000)] == expected


@pytest.mark.parametrize("description", [
    "0:00 Intro\n5:00 Outro",                     # fewer than three stamps
    "0:30 Intro\n5:00 Middle\n9:00 Outro",        # the first stamp is not 0:00
    "0:00 Intro\n0:05 Middle\n9:00 Outro",        # a chapter shorter than 10 seconds
    "0:00 Intro\n9:00 Middle\n5:00 Outro",        # not ascending: the list ends at 9:00
    "0:00\n5:00\n9:00",                           # stamps without titles
    "At 0:00 we start, at 5:00 we stop and at 9:00 we go home.",  # stamps in prose
    "",
])
def test_lists_youtube_would_not_show_give_no_chapters(description):
    assert chapters_from_description(description, duration=3600) == []


def test_stamps_past_the_end_of_the_video_are_dropped():
    chapters = chapters_from_description("0:00 A\n1:00 B\n2:00 C\n59:00 D", duration=600)
    assert [c.start for c in chapters] == [0, 60, 120]
    # ...and a last chapter under 10 seconds before the end makes the list invalid, as on YouTube
    assert chapters_from_description("0:00 A\n1:00 B\n9:55 C", duration=600) == []


def test_titles_are_kept_as_text_not_markup():
    chapters = chapters_from_description("0:00 [Intro](http://x)\n1:00 *B*\n2:00 C", duration=600)
    assert chapters[0].title == "[Intro](http://x)"  # escaped when rendered, never trusted as markup
    assert chapters[1].title == "B"


def test_ytdlp_info_chapters_then_description():
    info = {"duration": 600, "chapters": [{"start_time": 0.0, "end_time": 60, "title": "A"},
                                          {"start_time": 60.0, "end_time": 300, "title": "B"},
                                          {"start_time": 300.0, "end_time": 600, "title": "C"}]}
    assert starts_titles(chapters_from_info(info)) == [(0, "A"), (60, "B"), (300, "C")]
    assert [c.start for c in chapters_from_info({"duration": 600, "description": "0:00 a\n1:00 b\n2:00 c"})] \
        == [0, 60, 120]
    assert chapters_from_info({"duration": 600}) == []


def test_webvtt_chapters_file_beside_a_caption_file(tmp_path):
    captions = tmp_path / "lecture.vtt"
    captions.write_text("WEBVTT\n\n" + "".join(
        f"00:{m:02d}:00.000 --> 00:{m:02d}:30.000\nline {m}\n\n" for m in range(0, 50, 5)), encoding="utf-8")
    chapters = tmp_path / "lecture.chapters.vtt"
    chapters.write_text("WEBVTT\n\nchapter-1\n00:00:00.000 --> 00:20:00.000\nWhy it matters\n\n"
                        "00:20:00.000 --> 00:40:00.000\nThe <b>method</b>\n\n"
                        "00:40:00.000 --> 00:50:00.000\nSummary\n", encoding="utf-8")
    assert chapters_file_for(captions) == chapters
    _, _, transcript = load_caption_file(captions)
    transcript = with_local_chapters(transcript, captions)
    assert starts_titles(transcript.chapters) == [(0, "Why it matters"), (1200, "The method"), (2400, "Summary")]
    assert chapters_file_for(tmp_path / "other.vtt") is None


def test_unusable_chapters_file_is_ignored(tmp_path):
    captions = tmp_path / "talk.srt"
    captions.write_text("1\n00:00:01,000 --> 00:00:04,000\nHello\n", encoding="utf-8")
    (tmp_path / "talk_chapters.vtt").write_text("not a vtt at all", encoding="utf-8")
    _, _, transcript = load_caption_file(captions)
    assert with_local_chapters(transcript, captions).chapters == []
    assert parse_chapters_vtt("WEBVTT\n\n00:05:00.000 --> 00:06:00.000\nB\n\n00:01:00.000 --> 00:02:00.000\nA\n") == []


def test_chapters_survive_the_transcript_cache_format():
    transcript = Transcript("abc", [], chapters=[Chapter(0.0, "A"), Chapter(90.0, "B")])
    assert Transcript.from_dict(transcript.to_dict()).chapters == transcript.chapters
    old = transcript.to_dict()
    del old["chapters"]  # cached by an earlier version
    assert Transcript.from_dict(old).chapters == []


def test_chapters_come_with_the_player_response_no_extra_request(fake_youtube):
    lines = make_segments(["entropy", "information"], 200, seconds_each=4.0)
    fake_youtube.add_video("chaptervid1", title="Entropy", segments=lines, description=DESCRIPTION)
    fake_youtube.add_video("plainvideo1", title="Entropy", segments=lines)
    client = YouTubeClient(base_url=fake_youtube.base_url, timeout=10)
    with_chapters = client.fetch_transcript("chaptervid1")
    requests_for_one = len(fake_youtube.requests)
    assert [c.title for c in with_chapters.chapters][:2] == ["Introduction", "Gradient descent"]
    # 800 s of video: the 25:40 and 48:00 stamps are past its end
    assert [c.start for c in with_chapters.chapters] == [0, 135, 605]
    fake_youtube.reset_log()
    assert client.fetch_transcript("plainvideo1").chapters == []
    assert len(fake_youtube.requests) == requests_for_one  # chapters cost no request


def test_ytdlp_fallback_reads_chapters_from_its_info(fake_youtube):
    lines = make_segments(["photon", "wave"], 200, seconds_each=4.0)
    fake_youtube.add_video("ytdlpchap01", title="Light", scenario="po_token", segments=lines,
                           description="0:00 Waves\n2:00 Particles\n5:00 Both")
    client = YouTubeClient(base_url=fake_youtube.base_url, timeout=10,
                           ytdlp_extractors=fake_youtube.ytdlp_extractors())
    transcript = client.fetch_transcript("ytdlpchap01")
    assert transcript.method == "yt-dlp"
    assert starts_titles(transcript.chapters) == [(0, "Waves"), (120, "Particles"), (300, "Both")]


def test_a_chapters_file_given_as_input_is_named_for_its_lecture_not_processed(tmp_path):
    from yt_study_buddy.errors import InputError
    from yt_study_buddy.sources.inputs import source_for

    (tmp_path / "lecture.vtt").write_text("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nHello\n", encoding="utf-8")
    chapters = tmp_path / "lecture.chapters.vtt"
    chapters.write_text("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nStart\n\n00:00:02.000 --> 00:00:04.000\nEnd\n",
                        encoding="utf-8")
    with pytest.raises(InputError, match="lecture.chapters.vtt is the chapters file of lecture.vtt"):
        source_for(str(chapters))
    # Without its lecture beside it, a file of that name is just captions.
    alone = tmp_path / "other" / "talk.chapters.vtt"
    alone.parent.mkdir()
    alone.write_bytes(chapters.read_bytes())
    assert source_for(str(alone)).kind == "local"
