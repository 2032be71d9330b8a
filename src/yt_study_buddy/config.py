"""Settings from the environment and a ``.env`` file.

Precedence, highest first: explicit arguments (CLI flags, Streamlit sidebar),
the process environment, a ``.env`` file in the working directory.
The API key is kept out of ``repr`` and never logged; ``redact`` scrubs it
(and the Tor and proxy passwords) out of any text that is about to be shown or
stored, and ``install_redaction`` scrubs every log record of the process, so no
front end has to remember a filter. A bad setting is an ``InputError`` (a usage
error), raised once, before any batch starts.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from yt_study_buddy.errors import InputError

__all__ = [
    "RedactingFilter",
    "Settings",
    "install_redaction",
    "load_settings",
    "redact",
    "register_secret",
    "check_youtube_base_url",
    "check_output_folder",
    "DEFAULT_MODEL",
    "YOUTUBE_URL_ENV",
    "OPENAI_MODEL_ENV",
    "CONTEXT_TOKENS_ENV",
]

DEFAULT_MODEL = "claude-sonnet-5-5"
YOUTUBE_URL_ENV = "YT_STUDY_BUDDY_YOUTUBE_URL"
OPENAI_MODEL_ENV = "YT_STUDY_BUDDY_OPENAI_MODEL"
CONTEXT_TOKENS_ENV = "YT_STUDY_BUDDY_CONTEXT_TOKENS"

_secrets: set[str] = set()
# Anthropic keys look like sk-ant-..., OpenAI keys sk-... or sk-proj-...; scrub
# those even if never registered.
_KEY_PATTERN = re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9_\-]{20,}")


def register_secret(value: str | None) -> None:
    """Remember a secret so that redact() (and so every log record) removes it from any text."""
    if value and len(value) >= 4:
        _secrets.add(value)
        install_redaction()


def redact(text: str) -> str:
    """Return text with every known secret replaced by '***'."""
    if not text:
        return text
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return _KEY_PATTERN.sub("***", text)


def _scrub(record: logging.LogRecord) -> None:
    """Redact a record's message, traceback and stack in place (formatting them now)."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string: logging reports it at emit
        return
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


_install_lock = threading.Lock()
_installed = False


def install_redaction() -> None:
    """Scrub known secrets from every log record this process makes, whatever logger or handler.

    A record factory, not a handler filter: it covers loggers and handlers that
    front ends (Streamlit, pytest, a host application) add later. Idempotent.
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        make_record = logging.getLogRecordFactory()

        def scrubbed_record(*args, **kwargs) -> logging.LogRecord:  # noqa: ANN002, ANN003
            record = make_record(*args, **kwargs)
            _scrub(record)
            return record

        logging.setLogRecordFactory(scrubbed_record)
        _installed = True


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs known secrets from every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub(record)
        return True


def _hide_userinfo(url: str) -> str:
    return redact(re.sub(r"^([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#]*@", r"\1***@", url))


def check_youtube_base_url(url: str) -> str:
    """Return url if it can stand in for https://www.youtube.com (http(s)://host[:port][/path]); else InputError."""
    hint = (f"{YOUTUBE_URL_ENV} must be an http:// or https:// base URL such as "
            f"http://127.0.0.1:8765, got {_hide_userinfo(url)!r}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        raise InputError(hint) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise InputError(hint)
    return url


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
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    openai_model: str | None = None
    #: The model's context window in tokens when the server does not say (or says too much).
    context_tokens: int | None = None
    #: pace Claude calls by the rate-limit buckets the API reports (YT_STUDY_BUDDY_CLAUDE_PACING=0: off)
    claude_pacing: bool = True

    def __post_init__(self) -> None:
        if self.youtube_base_url:
            check_youtube_base_url(self.youtube_base_url)

    @property
    def has_api_key(self) -> bool:
        """Whether a Claude API key is configured."""
        return bool(self.api_key)


def check_output_folder(folder: str | Path) -> Path:
    """Return the vault folder as a Path; InputError when it is empty, or it or a folder above it is a file."""
    if not str(folder).strip():
        # Path("") is the working directory: never turn wherever the user stands into a vault.
        raise InputError("the notes folder is empty: name a folder (-o DIR)")
    path = Path(folder).expanduser()
    for candidate in (path, *path.parents):
        try:
            if not candidate.exists():
                continue
            if not candidate.is_dir():
                where = "is a file" if candidate == path else f"cannot be created: {candidate} is a file"
                raise InputError(f"the output folder {path} {where}, not a folder; name a folder for the notes")
        except OSError:
            pass  # unreadable or unwritable: the vault's own checks say so
        return path
    return path


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # lazy: keeps --help fast

    try:
        values = dotenv_values(path)
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text: save it as UTF-8, one NAME=value per line") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return {k: v for k, v in values.items() if v is not None}


def _context_tokens(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or not 512 <= int(raw) <= 10_000_000:
        # Settings are read by every front end before it can show a usage error: say so, go on.
        logging.getLogger(__name__).warning(
            "ignoring %s=%r: expected a number of tokens, 512 or more", CONTEXT_TOKENS_ENV, raw[:20])
        return None
    return int(raw)


def load_settings(env: dict[str, str] | None = None, dotenv_path: Path | None = None) -> Settings:
    """Read settings from env (default os.environ) over a .env file; InputError for a bad one."""
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
        openai_api_key=get("OPENAI_API_KEY"),
        openai_base_url=get("OPENAI_BASE_URL"),
        openai_model=get(OPENAI_MODEL_ENV, "OPENAI_MODEL"),
        context_tokens=_context_tokens(get(CONTEXT_TOKENS_ENV)),
        claude_pacing=(get("YT_STUDY_BUDDY_CLAUDE_PACING") or "on").lower() not in ("0", "off", "false", "no"),
    )
    register_secret(settings.api_key)
    register_secret(settings.openai_api_key)
    register_secret(settings.tor_control_password)
    for url in (settings.anthropic_base_url, settings.openai_base_url, settings.youtube_base_url):
        _register_url_password(url)
    return settings


def _register_url_password(url: str | None) -> None:
    """A password in a service URL (http://user:pass@host) is a secret, as typed and decoded."""
    try:
        password = urlsplit(url).password if url else None
    except ValueError:  # malformed: the URL's own check says so, without the credentials
        return
    if password:
        register_secret(password)
        register_secret(unquote(password))
