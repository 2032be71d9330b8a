"""--cookies: the user's YouTube cookies reach the fake on every request path, as the real host would get them."""

from __future__ import annotations

import time

from tests.fakes.youtube import fake_youtube, make_segments  # noqa: F401 - fixture
from yt_study_buddy.sources.youtube import YouTubeClient, load_youtube_cookies

LINES = make_segments(["cookie", "session", "browser"], 5)
FAR = int(time.time()) + 30 * 86400
SID, SECURE = "sid-cookie-value-7f3a9c2e51", "secure-psid-value-0b8d4e6a27"


def write_cookies(tmp_path):
    path = tmp_path / "cookies.txt"
    path.write_text(
        "# Netscape HTTP Cookie File\n"
        f".youtube.com\tTRUE\t/\tFALSE\t{FAR}\tSID\t{SID}\n"
        f"#HttpOnly_.youtube.com\tTRUE\t/\tTRUE\t{FAR}\t__Secure-3PSID\t{SECURE}\n"
        f".google.com\tTRUE\t/\tTRUE\t{FAR}\tNID\tgoogle-only-value-123456\n",
        encoding="utf-8")
    return path


def client_for(fake, cookies, **kwargs):
    return YouTubeClient(base_url=fake.base_url, timeout=10, cookies=cookies,
                         ytdlp_extractors=kwargs.pop("extractors", fake.ytdlp_extractors()), **kwargs)


def cookie_headers(fake, path):
    return [r.headers.get("Cookie", "") for r in fake.requests if r.path == path]


def carries_both(header: str) -> bool:
    return f"SID={SID}" in header and f"__Secure-3PSID={SECURE}" in header and "google-only" not in header


def test_transcript_api_and_oembed_send_the_cookies(fake_youtube, tmp_path):
    fake_youtube.add_video("cookies0001", title="Cookies", segments=LINES)
    client = client_for(fake_youtube, load_youtube_cookies(write_cookies(tmp_path)))
    assert client.fetch_transcript("cookies0001").method == "youtube-transcript-api"
    client.fetch_metadata("cookies0001")
    for path in ("/watch", "/youtubei/v1/player", "/api/timedtext", "/oembed"):
        headers = cookie_headers(fake_youtube, path)
        assert headers and all(carries_both(h) for h in headers), (path, headers)


def test_ytdlp_fallback_and_metadata_send_the_cookies(fake_youtube, tmp_path):
    fake_youtube.add_video("cookies0002", title="Cookies", scenario="po_token", segments=LINES)
    fake_youtube.fail_oembed = True
    path = write_cookies(tmp_path)
    before = path.read_bytes()
    client = client_for(fake_youtube, load_youtube_cookies(path))
    assert client.fetch_transcript("cookies0002").method == "yt-dlp"
    assert client.fetch_metadata("cookies0002").title == "Cookies"
    info = cookie_headers(fake_youtube, "/ytdlp/info")
    assert len(info) == 2 and all(carries_both(h) for h in info), info
    # the caption track yt-dlp chose (json3) was fetched with them too
    json3 = [r.headers.get("Cookie", "") for r in fake_youtube.requests
             if r.path == "/api/timedtext" and r.query.get("fmt") == ["json3"]]
    assert json3 and all(carries_both(h) for h in json3)
    # yt-dlp saves its jar into `cookiefile` on close; the user's file stays as it was
    assert path.read_bytes() == before


def test_playlist_expansion_sends_the_cookies(fake_youtube, tmp_path):
    ids = ["cookies0003", "cookies0004"]
    for video_id in ids:
        fake_youtube.add_video(video_id, title=f"Video {video_id}", segments=LINES)
    fake_youtube.add_playlist("PLcookies000000001", ids)
    client = client_for(fake_youtube, load_youtube_cookies(write_cookies(tmp_path)), extractors=None)
    assert client.expand_playlist("https://www.youtube.com/playlist?list=PLcookies000000001") == ids
    pages = [r.headers.get("Cookie", "") for r in fake_youtube.requests
             if r.path in ("/playlist", "/youtubei/v1/browse")]
    assert pages and all(carries_both(h) for h in pages), pages


def test_without_cookies_nothing_of_theirs_is_sent(fake_youtube):
    fake_youtube.add_video("cookies0005", title="Cookies", segments=LINES)
    client_for(fake_youtube, None).fetch_transcript("cookies0005")
    assert fake_youtube.requests
    assert all("SID=" not in r.headers.get("Cookie", "") for r in fake_youtube.requests)
