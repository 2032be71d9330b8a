"""The web app refuses bad settings and list files with a message, and scrubs secrets from its logs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.guard.loopback import guarded_env
from tests.webui.test_streamlit_app import APP, EXAMPLES, TIMEOUT, finish, start_app

streamlit_testing = pytest.importorskip("streamlit.testing.v1")


@pytest.mark.parametrize("problem", ["youtube_url", "dotenv"])
def test_a_bad_setting_is_a_message_on_the_page(problem, monkeypatch, tmp_path):
    if problem == "youtube_url":
        monkeypatch.setenv("YT_STUDY_BUDDY_YOUTUBE_URL", "http://[::1")
        expected = "YT_STUDY_BUDDY_YOUTUBE_URL"
    else:
        (tmp_path / ".env").write_bytes(b"ANTHROPIC_API_KEY=caf\xe9\n")
        expected = "UTF-8"
    at = streamlit_testing.AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(expected in e.value for e in at.error), [e.value for e in at.error]


def test_a_list_uploaded_as_a_caption_file_is_refused_by_its_name(tmp_path):
    at = start_app()
    listing = (EXAMPLES / "lectures.txt").read_bytes()
    at.file_uploader(key="caption_files").set_value([("my lectures.txt", listing, "text/plain")])
    finish(at.button(key="process").click().run())
    errors = [e.value for e in at.error]
    assert any("my lectures.txt" in e and "list" in e for e in errors), errors
    assert not any(".study-buddy" in e for e in errors), errors
    assert not list((tmp_path / "notes").rglob("*.md"))


def test_the_web_app_scrubs_secrets_from_every_log(tmp_path):
    """A log line from any logger of the web app's process never shows the key (not only the CLI's)."""
    secret = "custom-web-secret-0099"
    script = (
        "import logging, sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout=120)\n"
        "at.run()\n"
        "assert not at.exception, at.exception\n"
        "logging.basicConfig(stream=sys.stdout, format='%(message)s')\n"
        f"logging.getLogger('yt_study_buddy.webui').warning('request with %s failed', {secret!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=TIMEOUT,
                          cwd=tmp_path, env=guarded_env(ANTHROPIC_API_KEY=secret))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "request with *** failed" in proc.stdout
    assert secret not in proc.stdout + proc.stderr
