"""Settings from the environment and a ``.env`` file.

Precedence, highest first: explicit arguments (CLI flags, Streamlit sidebar),
the process environment, a ``.env`` file in the working directory.
The API key is kept out of ``repr`` and never logged; ``redact`` scrubs it
(and the Tor password) out of any text that is about to be shown or stored.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "RedactingFilter",
    "Settings",
    "load_settings",
    "redact",
    "register_secret",
    "DEFAULT_MODEL",
    "YOUTUBE_URL_ENV",
]

DEFAULT_MODEL = "claude-sonnet-5-5"
YOUTUBE_URL_ENV = "YT_STUDY_BUDDY_YOUTUBE_URL"

_secrets: set[str] = set()
# Anthropic keys look like sk-ant-...; scrub those even if never registered.
_KEY_PATTERN = re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}")


def register_secret(value: str | None) -> None:
    """Remember a secret so that redact() removes it from any text."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact(text: str) -> str:
    """Return text with every known secret replaced by '***'."""
    if not text:
        return text
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return _KEY_PATTERN.sub("***", text)


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs known secrets from every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


@dataclass
class Settings:
    """Configuration read once at start-up."""

    api_key: str | None = field(default=None, repr=False)
    anthropic_base_url: str | None = None
    model: str = DEFAULT_MODEL
    youtube_base_url: str | None = None
    tor_control_password: str | None = field(default=None, repr=False)
    #: a TOML/JSON file of model prices over the built-in table (notes/pricing.py)
    prices_file: str | None = None

    @property
    def has_api_key(self) -> bool:
        """Whether a Claude API key is configured."""
        return bool(self.api_key)


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # lazy: keeps --help fast

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load_settings(env: dict[str, str] | None = None, dotenv_path: Path | None = None) -> Settings:
    """Read settings from env (default os.environ) over a .env file."""
    environ = dict(os.environ if env is None else env)
    merged = _read_dotenv(dotenv_path or Path.cwd() / ".env")
    merged.update({k: v for k, v in environ.items() if v})

    def get(*names: str) -> str | None:
        for name in names:
            value = merged.get(name, "").strip()
            if value:
                return value
        return None

    settings = Settings(
        api_key=get("ANTHROPIC_API_KEY", "CLAUDE_API_KEY"),
        anthropic_base_url=get("ANTHROPIC_BASE_URL"),
        model=get("YT_STUDY_BUDDY_MODEL", "CLAUDE_MODEL") or DEFAULT_MODEL,
        youtube_base_url=get(YOUTUBE_URL_ENV),
        tor_control_password=get("TOR_CONTROL_PASSWORD"),
        prices_file=get("YT_STUDY_BUDDY_PRICES"),
    )
    register_secret(settings.api_key)
    register_secret(settings.tor_control_password)
    return settings
