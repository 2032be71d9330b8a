"""Every YouTube link form a person pastes is recognised; anything else is rejected by name."""

from __future__ import annotations

import pytest

from yt_study_buddy.errors import InputError
from yt_study_buddy.sources.urls import is_playlist_url, parse_playlist_id, parse_video_id

VID = "dQw4w9WgXcQ"


@pytest.mark.parametrize("text", [
    f"https://www.youtube.com/watch?v={VID}",
    f"http://youtube.com/watch?v={VID}",
    f"youtube.com/watch?v={VID}",
    f"www.youtube.com/watch?v={VID}",
    f"https://m.youtube.com/watch?v={VID}",
    f"https://music.youtube.com/watch?v={VID}&feature=share",
    f"https://www.youtube.com/watch?v={VID}&t=42s",
    f"https://www.youtube.com/watch?v={VID}&list=PL1234567890abc&index=3",
    f"https://www.youtube.com/watch?feature=youtu.be&v={VID}",
    f"https://youtu.be/{VID}",
    f"https://youtu.be/{VID}?si=AbCdEf123",
    f"https://youtu.be/{VID}?t=90",
    f"youtu.be/{VID}",
    f"https://www.youtube.com/shorts/{VID}",
    f"https://youtube.com/shorts/{VID}?feature=share",
    f"https://www.youtube.com/live/{VID}?si=xyz",
    f"https://www.youtube.com/embed/{VID}?start=10",
    f"https://www.youtube-nocookie.com/embed/{VID}",
    f"https://www.youtube.com/v/{VID}",
    f"  https://www.youtube.com/watch?v={VID}  ",
    VID,
    "a-b_c-d_e-f",
])
def test_accepts_every_pasted_form(text):
    expected = text.strip() if len(text.strip()) == 11 else VID
    assert parse_video_id(text) == expected


@pytest.mark.parametrize("text, fragment", [
    ("https://vimeo.com/123456", "not a YouTube link"),
    ("https://example.com/watch?v=" + VID, "not a YouTube link"),
    ("https://www.youtube.com/watch?v=short", "malformed"),
    ("https://www.youtube.com/watch?v=" + VID + "x", "malformed"),
    ("https://youtu.be/", "malformed"),
    ("https://www.youtube.com/channel/UC123", "without a video id"),
    ("https://www.youtube.com/watch", "without a video id"),
    ("hello world", "not a YouTube link"),
    ("dQw4w9WgXc!", "not a YouTube link"),
    ("", "empty input"),
    ("http://[::1", "not a YouTube link"),
])
def test_rejects_with_message_naming_input(text, fragment):
    with pytest.raises(InputError) as info:
        parse_video_id(text)
    assert fragment in info.value.reason
    if text.strip():
        assert text.strip()[:20] in info.value.reason


def test_long_junk_is_shortened_in_message():
    with pytest.raises(InputError) as info:
        parse_video_id("x" * 5000)
    assert len(info.value.reason) < 200


def test_playlist_links():
    assert parse_playlist_id("https://www.youtube.com/playlist?list=PLabcdefghij123") == "PLabcdefghij123"
    assert is_playlist_url("https://youtube.com/playlist?list=PLabcdefghij123&si=1")
    assert not is_playlist_url(f"https://www.youtube.com/watch?v={VID}&list=PLabcdefghij123")
    assert not is_playlist_url("https://example.com/playlist?list=PLabcdefghij123")
    with pytest.raises(InputError):
        parse_playlist_id("https://www.youtube.com/playlist?list=bad!")
