"""Settings from the environment and .env, and secret scrubbing."""

from __future__ import annotations

from yt_study_buddy.config import DEFAULT_MODEL, load_settings, redact, register_secret


def test_env_wins_over_dotenv(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("ANTHROPIC_API_KEY=sk-ant-from-dotenv-123456\nYT_STUDY_BUDDY_MODEL=claude-x\n", encoding="utf-8")
    settings = load_settings({"ANTHROPIC_API_KEY": "sk-ant-from-env-654321"}, dotenv)
    assert settings.api_key == "sk-ant-from-env-654321"
    assert settings.model == "claude-x"


def test_claude_api_key_is_accepted_and_defaults(tmp_path):
    settings = load_settings({"CLAUDE_API_KEY": "sk-ant-claude-alias-99999"}, tmp_path / "none.env")
    assert settings.has_api_key and settings.api_key == "sk-ant-claude-alias-99999"
    assert settings.model == DEFAULT_MODEL
    empty = load_settings({}, tmp_path / "none.env")
    assert not empty.has_api_key and empty.youtube_base_url is None


def test_youtube_base_url_and_anthropic_base_url(tmp_path):
    settings = load_settings({"YT_STUDY_BUDDY_YOUTUBE_URL": "http://127.0.0.1:8765",
                              "ANTHROPIC_BASE_URL": "http://127.0.0.1:8766"}, tmp_path / "none.env")
    assert settings.youtube_base_url == "http://127.0.0.1:8765"
    assert settings.anthropic_base_url == "http://127.0.0.1:8766"


def test_key_is_not_in_repr_and_is_redacted(tmp_path):
    settings = load_settings({"ANTHROPIC_API_KEY": "my-custom-secret-value",
                              "TOR_CONTROL_PASSWORD": "tor-pass-xyz"}, tmp_path / "none.env")
    assert "my-custom-secret-value" not in repr(settings)
    assert "tor-pass-xyz" not in repr(settings)
    assert redact("key my-custom-secret-value and tor-pass-xyz") == "key *** and ***"
    assert redact("header sk-ant-api03-abcdefghijklmnop leaked") == "header *** leaked"
    register_secret("ab")  # too short to scrub safely: ignored
    assert redact("abc") == "abc"


def test_log_records_are_scrubbed(tmp_path):
    import io
    import logging

    from yt_study_buddy.config import RedactingFilter

    load_settings({"ANTHROPIC_API_KEY": "sk-ant-api03-logged-secret-0001"}, tmp_path / "none.env")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError("bad key sk-ant-api03-logged-secret-0001")
        except RuntimeError:
            logger.error("request with %s failed", "sk-ant-api03-logged-secret-0001", exc_info=True)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "logged-secret" not in text and "***" in text and "RuntimeError" in text


def _unreadable(path):
    """Make path a file that exists but cannot be read (root reads anything chmod'ed, so use /proc)."""
    import os

    if os.geteuid() == 0:
        path.symlink_to("/proc/self/mem")  # a regular file whose read fails with EIO
    else:
        path.write_text("ANTHROPIC_API_KEY=x\n", encoding="utf-8")
        path.chmod(0)


def test_an_unreadable_dotenv_is_a_usage_error(tmp_path):
    import pytest

    from yt_study_buddy.errors import InputError

    _unreadable(tmp_path / ".env")
    with pytest.raises(InputError, match=r"cannot read .*\.env"):
        load_settings({}, tmp_path / ".env")


def test_a_dotenv_that_is_not_utf8_is_a_usage_error(tmp_path):
    import pytest

    from yt_study_buddy.errors import InputError

    (tmp_path / ".env").write_bytes(b"ANTHROPIC_API_KEY=caf\xe9\xff\n")
    with pytest.raises(InputError, match=r"\.env.*UTF-8"):
        load_settings({}, tmp_path / ".env")


def test_a_malformed_youtube_url_is_a_usage_error(tmp_path):
    import pytest

    from yt_study_buddy.config import Settings
    from yt_study_buddy.errors import InputError

    for bad in ("garbage", "ftp://x", "http://[::1", "http://", "http://127.0.0.1:99999", "http://h/?q=1"):
        with pytest.raises(InputError, match="YT_STUDY_BUDDY_YOUTUBE_URL"):
            load_settings({"YT_STUDY_BUDDY_YOUTUBE_URL": bad}, tmp_path / "none.env")
        with pytest.raises(InputError, match="YT_STUDY_BUDDY_YOUTUBE_URL"):
            Settings(youtube_base_url=bad)
    for good in ("http://127.0.0.1:8765", "https://yt.example/mirror/", "http://[::1]:80"):
        assert load_settings({"YT_STUDY_BUDDY_YOUTUBE_URL": good}, tmp_path / "none.env").youtube_base_url == good
    # The message never repeats credentials put in the URL.
    with pytest.raises(InputError) as info:
        load_settings({"YT_STUDY_BUDDY_YOUTUBE_URL": "ftp://user:hunter2secret@host"}, tmp_path / "none.env")
    assert "hunter2secret" not in info.value.reason


def test_every_logger_is_scrubbed_once_a_secret_is_known(tmp_path):
    """No front end has to remember a filter: a plain handler on any logger never shows a secret."""
    import subprocess
    import sys

    from tests.guard.loopback import guarded_env

    script = (
        "import logging, sys\n"
        "from yt_study_buddy.config import load_settings\n"
        "load_settings({'ANTHROPIC_API_KEY': 'custom-secret-key-0042'}, None)\n"
        "logging.basicConfig(stream=sys.stdout, format='%(name)s %(message)s')\n"
        "log = logging.getLogger('streamlit.anything')\n"
        "log.warning('calling with %s', 'custom-secret-key-0042')\n"
        "try:\n"
        "    raise RuntimeError('rejected key custom-secret-key-0042')\n"
        "except RuntimeError:\n"
        "    log.exception('failed')\n"
        "logging.getLogger().handlers[0].setFormatter(logging.Formatter('%(message)s'))\n"
        "print('done')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env=guarded_env())
    assert proc.returncode == 0, proc.stderr
    assert "calling with ***" in proc.stdout and "RuntimeError: rejected key ***" in proc.stdout
    assert "custom-secret-key-0042" not in proc.stdout + proc.stderr


def test_passwords_in_service_urls_and_any_openai_key_are_secrets(tmp_path):
    load_settings({"ANTHROPIC_BASE_URL": "http://me:anthropic-url-pw%21@127.0.0.1:9",
                   "OPENAI_BASE_URL": "http://me:openai-url-pw@127.0.0.1:9/v1",
                   "YT_STUDY_BUDDY_YOUTUBE_URL": "http://me:youtube-url-pw@127.0.0.1:9",
                   "OPENAI_API_KEY": "local-server-token"}, tmp_path / "none.env")
    text = redact("anthropic-url-pw! anthropic-url-pw%21 openai-url-pw youtube-url-pw local-server-token")
    assert text == "*** *** *** *** ***"
