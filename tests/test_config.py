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
