"""Ground-floor helpers shared by every stage."""

import pytest

from yt_study_buddy.models import format_timestamp, parse_timestamp


@pytest.mark.parametrize("stamp, seconds", [("0:00", 0), ("1:02", 62), ("12:30", 750), ("1:02:03", 3723),
                                            ("10:00:00", 36000)])
def test_parse_timestamp_is_the_inverse_of_format_timestamp(stamp, seconds):
    assert parse_timestamp(stamp) == seconds
    assert parse_timestamp(format_timestamp(seconds)) == seconds


@pytest.mark.parametrize("stamp", ["1:75", "1:60:00", "", "12", "a:bc", "1:2:3:4", "99999:00"])
def test_parse_timestamp_refuses_what_cannot_be_a_time(stamp):
    with pytest.raises(ValueError):
        parse_timestamp(stamp)


def test_a_note_stamp_that_is_not_a_time_stays_text():
    from yt_study_buddy.models import VideoMeta
    from yt_study_buddy.notes.answers import clean_markdown

    meta = VideoMeta(video_id="abcdefghijk", title="T")
    out = clean_markdown("- [1:02] fine\n- [1:75] odd\n", meta)
    assert "[1:02](https://youtu.be/abcdefghijk?t=62)" in out and "[1:75] odd" in out
