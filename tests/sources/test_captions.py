"""Caption parsing and local caption files (Zoom, Teams, Coursera shapes)."""

from __future__ import annotations

import pytest

from yt_study_buddy.sources.captions import (
    load_caption_file,
    local_video_id,
    parse_json3,
    parse_plain_text,
    parse_srt,
    parse_vtt,
)
from yt_study_buddy.errors import InputError

YOUTUBE_AUTO_VTT = """WEBVTT
Kind: captions
Language: en

00:00:00.160 --> 00:00:02.230 align:start position:0%
 
hello<00:00:00.480><c> and</c><00:00:00.880><c> welcome</c>

00:00:02.230 --> 00:00:02.240 align:start position:0%
hello and welcome
 

00:00:02.240 --> 00:00:05.110 align:start position:0%
hello and welcome
today<00:00:02.800><c> we</c><00:00:03.000><c> study</c><00:00:03.400><c> graphs</c>

00:00:05.110 --> 00:00:05.120 align:start position:0%
today we study graphs
 
"""

TEAMS_VTT = """WEBVTT

NOTE Title: Weekly algorithms seminar

0f0a3c1e-1/12-0
00:00:01.000 --> 00:00:04.500
<v Ada Lovelace>Let's start with sorting.</v>

0f0a3c1e-1/13-0
00:00:04.500 --> 00:00:08.000
<v Alan Turing>Merge sort &amp; quicksort first.</v>
"""

ZOOM_VTT = """WEBVTT

1
00:00:00.000 --> 00:00:03.000
Jane Doe: Good morning everyone.

2
00:00:03.000 --> 00:00:07.250
Jane Doe: Today is about photosynthesis.
"""

COURSERA_SRT = """1
00:00:00,500 --> 00:00:03,000
Welcome to week <i>two</i>.

2
00:01:03,000 --> 00:01:06,000
Cells divide by mitosis
and by meiosis.
"""


def test_vtt_auto_captions_drop_rolling_duplicates_and_inline_tags():
    segments = parse_vtt(YOUTUBE_AUTO_VTT)
    assert [s.text for s in segments] == ["hello and welcome", "today we study graphs"]
    assert [s.start for s in segments] == [0.16, 2.24]
    assert segments[0].duration == pytest.approx(2.07)


def test_teams_vtt_voice_tags_become_speaker_prefixes():
    segments = parse_vtt(TEAMS_VTT)
    assert [s.text for s in segments] == [
        "Ada Lovelace: Let's start with sorting.",
        "Alan Turing: Merge sort & quicksort first.",
    ]
    assert segments[1].start == 4.5


def test_zoom_vtt_cue_numbers_are_not_text():
    segments = parse_vtt(ZOOM_VTT)
    assert [s.text for s in segments] == ["Jane Doe: Good morning everyone.",
                                          "Jane Doe: Today is about photosynthesis."]
    assert segments[1].duration == pytest.approx(4.25)


def test_srt_with_multiline_cues_and_tags():
    segments = parse_srt(COURSERA_SRT)
    assert [s.text for s in segments] == ["Welcome to week two.", "Cells divide by mitosis and by meiosis."]
    assert [s.start for s in segments] == [0.5, 63.0]


def test_srt_without_blank_lines_between_cues():
    text = "1\n00:00:01,000 --> 00:00:02,000\nfirst\n2\n00:00:02,000 --> 00:00:03,000\nsecond\n"
    assert [s.text for s in parse_srt(text)] == ["first", "second"]


def test_json3_joins_segs_and_skips_newline_events():
    data = {"events": [
        {"tStartMs": 0, "dDurationMs": 4000},
        {"tStartMs": 100, "dDurationMs": 3900, "segs": [{"utf8": "hello"}, {"utf8": " there", "tOffsetMs": 400}]},
        {"tStartMs": 3990, "dDurationMs": 10, "aAppend": 1, "segs": [{"utf8": "\n"}]},
        {"tStartMs": 4000, "dDurationMs": 2000, "segs": [{"utf8": "general kenobi"}]},
    ]}
    segments = parse_json3(data)
    assert [(s.start, s.duration, s.text) for s in segments] == [
        (0.1, 3.9, "hello there"), (4.0, 2.0, "general kenobi")]


def test_plain_text_with_bracket_stamps():
    text = "[00:00:00] Intro to the course.\n[00:01:30] Vectors and matrices.\ncontinued line\n[1:02:03] The end."
    segments = parse_plain_text(text)
    assert [(s.start, s.text) for s in segments] == [
        (0.0, "Intro to the course."), (90.0, "Vectors and matrices. continued line"), (3723.0, "The end.")]
    assert segments[0].duration == 90.0


def test_plain_text_with_speaker_stamps_and_stamp_lines():
    text = "00:00:05 Prof. Kim: Hello.\n00:00:09 Student: Question?\n0:20\nA stamp on its own line."
    segments = parse_plain_text(text)
    assert [(s.start, s.text) for s in segments] == [
        (5.0, "Prof. Kim: Hello."), (9.0, "Student: Question?"), (20.0, "A stamp on its own line.")]


def test_plain_text_without_stamps_gets_estimated_times():
    sentence = "Entropy measures how uncertain we are about an outcome. "
    segments = parse_plain_text(sentence * 20)
    assert len(segments) > 1
    starts = [s.start for s in segments]
    assert starts[0] == 0.0 and starts == sorted(starts) and len(set(starts)) == len(starts)
    assert " ".join(s.text for s in segments).split() == (sentence * 20).split()


def test_local_video_id_is_stable_and_content_based():
    assert local_video_id(b"abc") == local_video_id(b"abc")
    assert local_video_id(b"abc") != local_video_id(b"abd")
    vid = local_video_id(b"abc")
    assert vid.startswith("local-") and len(vid) == 18 and vid[6:].isalnum()


def test_load_teams_file_uses_note_title(tmp_path):
    path = tmp_path / "meeting_recording.vtt"
    path.write_text(TEAMS_VTT, encoding="utf-8")
    source, meta, transcript = load_caption_file(path)
    assert meta.title == "Weekly algorithms seminar"
    assert source.kind == "local" and source.is_local and source.path == str(path)
    assert source.url == path.resolve().as_uri() == meta.url
    assert source.video_id == meta.video_id == transcript.video_id == local_video_id(path.read_bytes())
    assert transcript.method == "local-file" and meta.source == "local"
    assert len(transcript.segments) == 2


def test_load_file_title_from_stem_and_same_id_for_same_content(tmp_path):
    first = tmp_path / "lecture_03_intro-to-graphs.en.srt"
    second = tmp_path / "copy.srt"
    first.write_text(COURSERA_SRT, encoding="utf-8")
    second.write_text(COURSERA_SRT, encoding="utf-8")
    source, meta, transcript = load_caption_file(first)
    assert meta.title == "Lecture 03 intro to graphs"
    assert load_caption_file(second)[0].video_id == source.video_id
    assert transcript.segments[1].start == 63.0


def test_load_zoom_vtt_and_txt_with_title_header(tmp_path):
    zoom = tmp_path / "GMT20240311-140000_Recording.transcript.vtt"
    zoom.write_text(ZOOM_VTT, encoding="utf-8")
    assert load_caption_file(zoom)[1].title == "GMT20240311 140000 Recording"
    txt = tmp_path / "notes.txt"
    txt.write_text("Title: Cell biology, week 2\n\n[00:00:10] Mitosis first.\n", encoding="utf-8")
    _, meta, transcript = load_caption_file(txt)
    assert meta.title == "Cell biology, week 2"
    assert [(s.start, s.text) for s in transcript.segments] == [(10.0, "Mitosis first.")]


def test_load_utf16_and_bom_files(tmp_path):
    path = tmp_path / "teams.vtt"
    path.write_bytes(TEAMS_VTT.encode("utf-16"))
    assert len(load_caption_file(path)[2].segments) == 2
    bom = tmp_path / "bom.srt"
    bom.write_bytes(b"\xef\xbb\xbf" + COURSERA_SRT.encode())
    assert load_caption_file(bom)[2].segments[0].text == "Welcome to week two."


@pytest.mark.parametrize("name, content, words", [
    ("empty.vtt", b"", "empty"),
    ("blank.txt", b"  \n\n", "empty"),
    ("binary.srt", bytes(range(256)) * 4, "binary"),
    ("headers_only.vtt", b"WEBVTT\n\nNOTE nothing here\n", "no captions"),
    ("video.mp4", b"....", "unsupported"),
])
def test_bad_files_raise_input_error_naming_the_file(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_caption_file(path)
    assert name in info.value.reason and words in info.value.reason


def test_missing_and_huge_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_caption_file(tmp_path / "missing.vtt")
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:
        handle.truncate(20 * 1024 * 1024 + 1)
    with pytest.raises(InputError, match="20 MB"):
        load_caption_file(huge)


def _vtt(*cues: str) -> str:
    return "WEBVTT\n\n" + "".join(f"{timing}\nSome words about gradients.\n\n" for timing in cues)


@pytest.mark.parametrize("timing, words", [
    ("00:99:99.000 --> 01:00:00.000", "00:99:99"),             # minutes and seconds stop at 59
    ("00:00:01.000 --> 00:61:00.000", "00:61:00"),
    ("99999999:00:00.000 --> 99999999:00:05.000", "hours"),   # not "About 5999999940 minutes"
    ("9" * 400 + ":00:00.000 --> 00:00:05.000", "hours"),     # was an OverflowError
])
def test_cue_times_out_of_range_are_refused_naming_the_line(tmp_path, timing, words):
    path = tmp_path / "lecture.vtt"
    path.write_text(_vtt("00:00:00.000 --> 00:00:01.000", timing), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_caption_file(path)
    reason = info.value.reason
    assert "lecture.vtt" in reason and "line 6" in reason and words in reason and len(reason) < 300


def test_plain_text_and_json3_times_are_range_checked_too(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("[00:00:01] Welcome.\n[00:99:99] Gradients next.\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        load_caption_file(text)
    json3 = tmp_path / "captions.json"
    json3.write_text('{"events": [{"tStartMs": 1e300, "dDurationMs": 5, "segs": [{"utf8": "hi"}]}]}',
                     encoding="utf-8")
    with pytest.raises(InputError, match="hours"):
        load_caption_file(json3)


def test_a_long_but_real_lecture_is_fine(tmp_path):
    path = tmp_path / "marathon.srt"
    path.write_text("1\n12:34:56,789 --> 12:35:00,000\nStill going.\n", encoding="utf-8")
    [segment] = load_caption_file(path)[2].segments
    assert segment.start == pytest.approx(12 * 3600 + 34 * 60 + 56.789)


def test_a_folder_or_a_pipe_is_named_for_what_it_is(tmp_path):
    import os
    import threading

    folder = tmp_path / "week1.vtt"
    folder.mkdir()
    with pytest.raises(InputError, match="folder"):
        load_caption_file(folder)
    pipe = tmp_path / "stream.vtt"
    os.mkfifo(pipe)
    writer = os.open(pipe, os.O_RDWR | os.O_NONBLOCK)  # a writer that never writes: a read would hang
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: outcome.append(pytest.raises(InputError, load_caption_file, pipe).value),
                              daemon=True)
    try:
        reader.start()
        reader.join(timeout=5)
        assert not reader.is_alive(), "reading a FIFO blocked"
    finally:
        os.close(writer)
        reader.join(timeout=5)
    assert "pipe" in outcome[0].reason and "stream.vtt" in outcome[0].reason
