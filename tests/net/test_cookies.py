"""Loading a browser's cookies.txt: what is accepted, what is refused, and that values stay secret."""

from __future__ import annotations

import logging
import os
import time

import pytest

from yt_study_buddy.config import RedactingFilter, redact
from yt_study_buddy.errors import InputError
from yt_study_buddy.net.cookies import load_cookie_file

SITE = "https://www.youtube.com/"
FAR = int(time.time()) + 30 * 86400
HEADER = "# Netscape HTTP Cookie File\n# exported for a test\n\n"


def cookies_txt(tmp_path, lines, name="cookies.txt", header=HEADER):
    path = tmp_path / name
    path.write_text(header + "\n".join("\t".join(str(f) for f in line) for line in lines) + "\n",
                    encoding="utf-8")
    return path


def line(name, value, domain=".youtube.com", expires=FAR, secure="TRUE"):
    return (domain, "TRUE", "/", secure, expires, name, value)


def test_loads_youtube_cookies_including_httponly_and_session_ones(tmp_path):
    path = cookies_txt(tmp_path, [
        line("#HttpOnly_SID".removeprefix("#HttpOnly_"), "sid-value-0123456789"),
        ("#HttpOnly_.youtube.com", "TRUE", "/", "TRUE", FAR, "HSID", "hsid-value-0123456789"),
        line("PREF", "f6=40000000&hl=en", expires=0),  # a session cookie
        line("NID", "google-only-value-0123", domain=".google.com"),
    ])
    cookies = load_cookie_file(path, SITE)
    assert sorted(c.name for c in cookies.cookies_for(SITE)) == ["HSID", "PREF", "SID"]
    assert cookies.expired_for(SITE) == []
    assert cookies.path == path.resolve()
    assert "value" not in repr(cookies) and "4 cookies" in repr(cookies)


def test_every_value_becomes_a_secret(tmp_path):
    path = cookies_txt(tmp_path, [line("SID", "sid-secret-abcdef123456"),
                                  line("NID", "other-secret-zyxw9876", domain=".google.com")])
    load_cookie_file(path, SITE)
    assert redact("cookie sid-secret-abcdef123456 and other-secret-zyxw9876") == "cookie *** and ***"
    record = logging.LogRecord("test.cookies", logging.WARNING, __file__, 1,
                               "sent %s", ("sid-secret-abcdef123456",), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "sent ***"


@pytest.mark.parametrize("content, fragment", [
    ("SID=abc; HSID=def\n", "not a Netscape cookies.txt"),
    ("", "not a Netscape cookies.txt"),
    ("# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\n", "a line that is not a cookie"),
])
def test_malformed_files_are_usage_errors(tmp_path, content, fragment):
    path = tmp_path / "cookies.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_cookie_file(path, SITE)
    assert fragment in info.value.reason and "cookies.txt" in info.value.reason


def test_a_malformed_line_prints_nothing(tmp_path, capfd):
    path = tmp_path / "cookies.txt"
    path.write_text(HEADER + ".youtube.com\tTRUE\t/\tTRUE\tsoon\tSID\tsid-in-a-bad-line-0123\n",
                    encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_cookie_file(path, SITE)
    assert "sid-in-a-bad-line-0123" not in info.value.reason
    assert capfd.readouterr().err == ""


def test_missing_file_folder_and_binary_are_usage_errors(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    for target, fragment in ((tmp_path / "nope.txt", "does not exist"), (tmp_path, "is a folder"),
                             (fifo, "is not a regular file")):
        with pytest.raises(InputError) as info:
            load_cookie_file(target, SITE)
        assert fragment in info.value.reason
    binary = tmp_path / "binary.txt"
    binary.write_bytes(HEADER.encode() + b"\xff\xfe\x00\x81" * 20)
    with pytest.raises(InputError):
        load_cookie_file(binary, SITE)


def test_no_cookies_for_the_site_is_a_usage_error(tmp_path):
    path = cookies_txt(tmp_path, [line("NID", "google-only-value-0123", domain=".google.com")])
    with pytest.raises(InputError) as info:
        load_cookie_file(path, SITE)
    assert "no cookies for https://www.youtube.com/" in info.value.reason


def test_all_expired_is_a_usage_error(tmp_path):
    path = cookies_txt(tmp_path, [line("SID", "sid-old-value-0123456", expires=int(time.time()) - 60)])
    with pytest.raises(InputError) as info:
        load_cookie_file(path, SITE)
    assert "expired" in info.value.reason
    assert "sid-old-value-0123456" not in info.value.reason


def test_copies_are_independent(tmp_path):
    import requests

    path = cookies_txt(tmp_path, [line("SID", "sid-value-0123456789")])
    cookies = load_cookie_file(path, SITE)
    one, two = requests.Session(), requests.Session()
    cookies.copy_into(one.cookies)
    cookies.copy_into(two.cookies)
    one.cookies.set("CONSENT", "YES+1", domain=".youtube.com")
    assert "CONSENT" not in two.cookies and "CONSENT" not in {c.name for c in cookies.jar}
    assert two.cookies.get("SID") == "sid-value-0123456789"
